"""A real PostgreSQL server for the team-tracking tests: Debian's `postgresql` package, started on 127.0.0.1.

The fixture makes a throw-away cluster (``initdb`` in a temp folder, trust auth on loopback only), starts it on a
free port with its socket in that folder, creates a database and stops the cluster at teardown. PostgreSQL refuses
to run as root, so as root the cluster belongs to the ``postgres`` system user of the package.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


def pg_bin() -> Path | None:
    """The newest installed server's bin folder (``/usr/lib/postgresql/<v>/bin``), or None."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(Path(p).parts[-3]))
    if found:
        return Path(found[-1]).parent
    initdb = shutil.which("initdb")
    return Path(initdb).parent if initdb else None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _as_owner(cmd: list[str], owner: str | None) -> list[str]:
    return ["runuser", "-u", owner, "--", *cmd] if owner else cmd


@contextmanager
def postgres_server(base: Path, timeout: float = 60.0) -> Iterator[str]:
    """Run a PostgreSQL cluster under ``base``; yields a SQLAlchemy URL (``postgresql+psycopg2://...@127.0.0.1:<port>/mlflow``)."""
    bindir = pg_bin()
    if bindir is None:
        raise RuntimeError("PostgreSQL is not installed: apt-get install -y postgresql (make install-test-tools does)")
    owner = None
    if os.geteuid() == 0:
        owner = "postgres"
        pwd.getpwnam(owner)  # KeyError if the package's user is missing
    data = base / "pgdata"
    base.mkdir(parents=True, exist_ok=True)
    if owner:
        base.chmod(0o755)
        # Every folder above must be passable for the postgres user (pytest's tmp folders are 0700).
        for parent in [base, *base.parents]:
            if parent == Path("/"):
                break
            mode = parent.stat().st_mode
            if not mode & 0o001:
                parent.chmod(mode | 0o001)
        shutil.chown(base, user=owner)
    port = _free_port()
    log = base / "postgres.log"
    subprocess.run(
        _as_owner([str(bindir / "initdb"), "-D", str(data), "-U", "mlflow", "--auth=trust", "-E", "UTF8"], owner),
        check=True,
        capture_output=True,
        timeout=timeout,
    )
    options = f"-c listen_addresses=127.0.0.1 -p {port} -k {base} -c fsync=off"
    pg_ctl = [str(bindir / "pg_ctl"), "-D", str(data), "-l", str(log), "-o", options]
    subprocess.run(_as_owner([*pg_ctl, "-w", "-t", str(int(timeout)), "start"], owner), check=True, timeout=timeout)
    try:
        deadline = time.monotonic() + timeout
        while True:
            done = subprocess.run(
                _as_owner(
                    [str(bindir / "createdb"), "-h", "127.0.0.1", "-p", str(port), "-U", "mlflow", "mlflow"], owner
                ),
                capture_output=True,
                text=True,
            )
            if done.returncode == 0:
                break
            if time.monotonic() > deadline:
                raise RuntimeError(f"createdb failed: {done.stderr}")
            time.sleep(0.3)
        yield f"postgresql+psycopg2://mlflow@127.0.0.1:{port}/mlflow"
    finally:
        subprocess.run(
            _as_owner([*pg_ctl[:3], "-m", "fast", "-w", "stop"], owner), capture_output=True, timeout=timeout
        )
