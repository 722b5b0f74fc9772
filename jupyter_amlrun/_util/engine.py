"""The container engine's command line (podman or docker): which one answers here, and the few calls that core, the
run's driver and its guard share (containers of a run by label, derived images in the environment cache).

Settings (environment variables, read by the notebook's process and inherited by every run's driver):

- ``AMLRUN_CONTAINER_ENGINE``: ``podman``, ``docker`` or a path to either CLI; default: the first that answers,
  podman first (daemonless: nothing to keep running).
- ``AMLRUN_CONTAINER_ARGS``: extra arguments for every ``run`` (shell words), e.g. ``--security-opt label=disable``.
"""

from __future__ import annotations

import json
import os
import shlex
import shutil
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ENGINE_ENV = "AMLRUN_CONTAINER_ENGINE"
ARGS_ENV = "AMLRUN_CONTAINER_ARGS"
RUN_LABEL = "amlrun.run_id"  # every run container carries it: the guard and the cleanup find them by it
IMAGE_REPO = "localhost/amlrun-env"  # derived images (a base image plus an environment's packages)
IMAGES_DIR = "images"  # under the environment cache: one <key>.json per derived image
PROBE_SECONDS = 10.0


class EngineError(Exception):
    """No container engine answers, or the engine refused a call; the message says what to do."""


@dataclass(frozen=True)
class Engine:
    """A container engine's CLI that answered.

    Parameters
    ----------
    cli
        The CLI's path.
    name
        ``podman`` or ``docker`` (how its options differ).
    version
        The engine's (server's) version.
    extra_args
        ``AMLRUN_CONTAINER_ARGS``, added to every ``run``.
    """

    cli: str
    name: str
    version: str
    extra_args: tuple[str, ...] = ()

    def __call__(self, *args: str, timeout: float = 60.0) -> subprocess.CompletedProcess[str]:
        """Run ``<cli> args...`` and capture its output (never raises for a non-zero exit)."""
        return subprocess.run(
            [self.cli, *args], capture_output=True, text=True, timeout=timeout, check=False, stdin=subprocess.DEVNULL
        )

    def describe(self) -> str:
        return f"{self.name} {self.version} ({self.cli})"


_detected: dict[str, Engine | None] = {}


def _candidates() -> list[str]:
    wanted = os.environ.get(ENGINE_ENV, "").strip()
    return [wanted] if wanted else ["podman", "docker"]


def detect(refresh: bool = False) -> Engine | None:
    """The engine that answers here (``AMLRUN_CONTAINER_ENGINE`` picks one), or None; probed once per process."""
    key = os.environ.get(ENGINE_ENV, "") + "\0" + os.environ.get(ARGS_ENV, "")
    if key in _detected and not refresh:
        return _detected[key]
    found: Engine | None = None
    for cli in _candidates():
        path = shutil.which(cli)
        if not path:
            continue
        try:
            # A docker CLI without its daemon fails here (no server version); podman needs no daemon.
            probe = subprocess.run(
                [path, "version", "--format", "{{.Server.Version}}"],
                capture_output=True,
                text=True,
                timeout=PROBE_SECONDS,
                check=False,
                stdin=subprocess.DEVNULL,
            )
        except (OSError, subprocess.SubprocessError):
            continue
        if probe.returncode == 0 and probe.stdout.strip():
            name = "docker" if "docker" in Path(path).name else "podman"
            extra = tuple(shlex.split(os.environ.get(ARGS_ENV, "")))
            found = Engine(path, name, probe.stdout.strip().splitlines()[0], extra)
            break
    _detected[key] = found
    return found


def from_record(record: list[str] | None) -> Engine | None:
    """The engine a submit found (``[cli, name, version]``), with this process's extra arguments; None when its CLI
    is gone (then :func:`require` probes again)."""
    if not record or len(record) != 3 or not os.access(record[0], os.X_OK):
        return None
    return Engine(str(record[0]), str(record[1]), str(record[2]), tuple(shlex.split(os.environ.get(ARGS_ENV, ""))))


def require(image: str | None = None) -> Engine:
    """The engine that answers, else :class:`EngineError` saying what was tried and how to get one."""
    engine = detect()
    if engine is not None:
        return engine
    tried = _candidates()
    which = ", ".join(f"{c} ({'not installed' if not shutil.which(c) else 'does not answer'})" for c in tried)
    raise EngineError(
        f"The run asks for Docker (image {image!r}) but no Docker or Podman engine answers on this machine (tried "
        f"{which}). Install podman "
        "(apt-get install podman, no daemon needed) or start Docker's daemon; pick one with "
        f"{ENGINE_ENV}=podman|docker. Or run without a container: DockerConfiguration(use_docker=False) and "
        "env.docker.enabled = False (the environment's packages then go into a cached virtualenv)."
    )


def run_containers(engine: Engine, run_id: str) -> list[str]:
    """The ids of every container (running or not) labelled with ``run_id``."""
    out = engine("ps", "-a", "-q", "--filter", f"label={RUN_LABEL}={run_id}")
    return out.stdout.split() if out.returncode == 0 else []


def remove_run_containers(engine: Engine, run_id: str) -> list[str]:
    """Kill and remove every container of the run; returns their ids (none: nothing to do)."""
    ids = run_containers(engine, run_id)
    if ids:
        engine("rm", "-f", *ids)
    return ids


# ------------------------------------------------------------------------------------------------ derived images
def images_dir(cache_root: Path) -> Path:
    return Path(cache_root) / IMAGES_DIR


def list_images(cache_root: Path) -> list[dict[str, Any]]:
    """The derived images this environment cache recorded: key, name, image, base_image, packages, last_used, ...

    The records are small JSON files (written by the run's driver after a build); ``kind`` is ``image``.
    """
    folder = images_dir(cache_root)
    out: list[dict[str, Any]] = []
    if not folder.is_dir():
        return out
    for path in sorted(folder.glob("*.json")):
        try:
            meta = json.loads(path.read_text(encoding="utf-8"))
            meta["last_used"] = path.stat().st_mtime
        except (OSError, ValueError):
            continue
        meta.update(kind="image", path=str(meta.get("image", "")), pip=list(meta.get("packages") or []))
        meta["python"] = f"{meta.get('python', '')} in {meta['path']}"
        meta["size_mb"], meta["in_use"] = 0.0, False
        out.append(meta)
    engine = detect() if out else None
    if engine is not None:  # two calls for all records: the images' sizes, and which ones a container runs
        images = [str(m["path"]) for m in out]
        sizes = engine("image", "inspect", "--format", "{{.Size}}", *images).stdout.split()
        running = set(engine("ps", "--format", "{{.Image}}").stdout.split())
        for meta, size in zip(out, sizes if len(sizes) == len(out) else [], strict=False):
            meta["size_mb"] = round(int(size) / 2**20, 2) if size.isdigit() else 0.0
        for meta in out:
            meta["in_use"] = meta["path"] in running
    return out


def prune_images(cache_root: Path, older_than_days: float | None = None, keys: list[str] | None = None) -> list[str]:
    """Remove derived images (all, unused for ``older_than_days``, or ``keys``); one a container uses is kept."""
    removed: list[str] = []
    entries = list_images(cache_root)
    if not entries:
        return removed
    engine = detect()
    now = time.time()
    for entry in entries:
        key = str(entry.get("key", ""))
        if keys is not None and key not in keys and not any(key.startswith(k) for k in keys):
            continue
        if older_than_days is not None and now - float(entry["last_used"]) < older_than_days * 86400:
            continue
        image = str(entry.get("image", ""))
        if engine is not None and image:
            if engine("ps", "-q", "--filter", f"ancestor={image}").stdout.strip():
                continue  # a live run's container uses it
            gone = engine("rmi", image)
            if gone.returncode != 0 and engine("image", "inspect", image).returncode == 0:
                continue  # still there (e.g. a stopped container holds it): keep its record
        (images_dir(cache_root) / f"{key}.json").unlink(missing_ok=True)
        removed.append(key)
    return removed
