"""Read-only FUSE mounts of a datastore folder (fusepy + fsspec), each served by its own helper process.

``python -m jupyter_amlrun.data._fuse <workspace> <datastore> <path> <mount_point> <owner_pid>`` serves the mount in
the foreground and unmounts itself when the owner process (the run's driver, or the notebook kernel) goes away, so a
killed driver never leaves a dead mount behind.
"""

from __future__ import annotations

import errno
import os
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from jupyter_amlrun.data.errors import DatastoreException

if TYPE_CHECKING:
    from jupyter_amlrun.core.workspace import Workspace

READY_SECONDS = 30.0


def _fusermount() -> str | None:
    return shutil.which("fusermount") or shutil.which("fusermount3")


def unavailable_reason() -> str | None:
    """Why FUSE mounts cannot be used here, or ``None`` when they can."""
    if os.environ.get("AMLRUN_DISABLE_FUSE"):
        return "AMLRUN_DISABLE_FUSE is set"
    if not sys.platform.startswith("linux"):
        return f"FUSE mounts are only used on Linux, not {sys.platform}"
    try:
        import fuse  # noqa: F401  (fusepy; raises OSError when libfuse2 is missing)
    except (ImportError, OSError) as exc:
        return f"fusepy with libfuse2 is not installed ({exc})"
    if not os.access("/dev/fuse", os.R_OK | os.W_OK):
        return "/dev/fuse is not available to this process"
    if _fusermount() is None:
        return "fusermount is not installed"
    return None


def unmount(mount_point: Path) -> None:
    tool = _fusermount()
    if tool and os.path.ismount(mount_point):
        subprocess.run([tool, "-u", "-z", str(mount_point)], capture_output=True, timeout=30, check=False)


class MountHandle:
    """A running FUSE helper; :meth:`stop` unmounts and waits for it."""

    def __init__(self, proc: subprocess.Popen[bytes], mount_point: Path) -> None:
        self.proc = proc
        self.mount_point = mount_point

    def stop(self) -> None:
        unmount(self.mount_point)
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=10)


def start_mount(workspace: Workspace, datastore: str, path: str, mount_point: Path) -> MountHandle:
    """Start the helper and wait (bounded) until the mount is live."""
    mount_point.mkdir(parents=True, exist_ok=True)
    log_path = mount_point.parent / f".{mount_point.name}.fuse.log"
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "jupyter_amlrun.data._fuse",
                str(workspace.path),
                datastore,
                path,
                str(mount_point),
                str(os.getpid()),
            ],
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    deadline = time.monotonic() + READY_SECONDS
    while time.monotonic() < deadline:
        if os.path.ismount(mount_point):
            return MountHandle(proc, mount_point)
        if proc.poll() is not None:
            break
        time.sleep(0.05)
    if proc.poll() is None:
        proc.kill()
        proc.wait()
    tail = log_path.read_text(errors="replace")[-600:] if log_path.exists() else ""
    raise DatastoreException(
        f"The FUSE mount of datastore {datastore!r} at {mount_point} did not start: {tail.strip() or 'no output'}. "
        "Set AMLRUN_DISABLE_FUSE=1 to use cached downloads instead."
    )


def _read_only_ops(fs: Any, root: str) -> Any:
    from fsspec.fuse import FUSEr
    from fuse import FuseOSError

    class ReadOnly(FUSEr):
        """fsspec's FUSE operations with every write refused (the mount is an input)."""

        def _refuse(self, *args: Any, **kwargs: Any) -> Any:
            raise FuseOSError(errno.EROFS)

        create = mkdir = rmdir = unlink = write = truncate = chmod = rename = _refuse

    return ReadOnly(fs, root)


def main(argv: list[str]) -> int:
    ws_dir, name, path, mount_point, owner = argv
    from fuse import FUSE

    from jupyter_amlrun.core.workspace import Workspace
    from jupyter_amlrun.data.datastore import Datastore

    store = Datastore.get(Workspace(path=ws_dir), name)
    root = "/".join(p for p in (store.fs_root, path) if p) + "/"
    point = Path(mount_point)

    def watch_owner() -> None:
        while True:
            try:
                os.kill(int(owner), 0)
            except ProcessLookupError:
                unmount(point)
                return
            except PermissionError:
                pass
            time.sleep(1.0)

    threading.Thread(target=watch_owner, daemon=True).start()
    FUSE(_read_only_ops(store.fs, root), mount_point, foreground=True, nothreads=False, ro=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
