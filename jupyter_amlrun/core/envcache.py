"""Materialised environments: one virtualenv per environment build key, cached and shared by every run.

The driver calls :func:`prepare_run_environment` during Preparing. An environment without packages (or with
``user_managed_dependencies``), or whose requirements the base interpreter already satisfies, runs on that
interpreter with no build. Otherwise a venv is built once per *build key* (a hash of the Python version, the base
interpreter, pip packages and options, conda packages and channels) under ``<workspace>/envs`` (or
``$AMLRUN_ENV_CACHE``):

* the venv sees the base interpreter's site-packages (``--system-site-packages`` plus a ``.pth`` for a base that is
  itself a venv), so torch and friends are never re-installed; pip adds only what is missing;
* builds of one key are serialised by a file lock, so concurrent runs build once and the others reuse;
* a build happens in ``.builds/<key>-<nonce>`` and is published by atomically replacing the ``<key>`` symlink
  (a venv cannot be moved after pip wrote absolute paths into it, so the link is what gets renamed into place);
  a failed build is deleted, so a half environment is never visible;
* each run's pip output goes to ``logs/azureml/20_image_build_log.txt`` (v1's image build log), live.

uv was measured (benchmarks/README.md): much faster for a tiny package, but it ignores site-packages added by a
``.pth``, so it would re-install what the base already has (torch). pip is the default; ``AMLRUN_ENV_INSTALLER=uv``
opts in to uv where it is on PATH.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import re
import shlex
import shutil
import site
import subprocess
import sys
import sysconfig
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from jupyter_amlrun._util.fileio import file_lock, read_json, write_json_atomic
from jupyter_amlrun.core.errors import UserErrorException
from jupyter_amlrun.core.status import RunStatus

CACHE_ENV = "AMLRUN_ENV_CACHE"
INSTALLER_ENV = "AMLRUN_ENV_INSTALLER"
BUILD_LOG = "logs/azureml/20_image_build_log.txt"
META_FILE = "amlrun-env.json"
ERROR_TAIL_LINES = 25
# conda names whose pip package is called differently (the conda -> pip fallback).
_CONDA_TO_PIP = {"pytorch": "torch", "py-xgboost": "xgboost", "pytorch-cpu": "torch", "tensorflow-gpu": "tensorflow"}
# conda-only packages that a venv already has or does not need.
_CONDA_SKIP = {"python", "pip", "setuptools", "wheel", "cpuonly", "cudatoolkit", "mkl", "nomkl"}

Log = Callable[[str], None]

# Use locks this driver holds while its run lives: prune skips an environment in use.
_held: list[int] = []


class EnvironmentBuildError(Exception):
    """The run's environment could not be prepared; ``status`` is the run's final status (Failed or Canceled)."""

    def __init__(self, message: str, status: str = RunStatus.FAILED) -> None:
        super().__init__(message)
        self.status = status


@dataclass
class Prepared:
    """What Preparing produced: the interpreter the script runs with, and how it was obtained."""

    interpreter: str
    how: str  # "current", "user_managed", "satisfied", "reused", "built"
    key: str | None = None
    warnings: list[str] = field(default_factory=list)


def cache_root(workspace_dir: Path) -> Path:
    """Where built environments live: ``$AMLRUN_ENV_CACHE`` or ``<workspace>/envs``."""
    override = os.environ.get(CACHE_ENV)
    return Path(override).expanduser() if override else Path(workspace_dir) / "envs"


# ------------------------------------------------------------------------------------------------ requirements
def conda_to_pip(spec: str) -> str | None:
    """The pip requirement for a conda package spec (``numpy=1.26`` -> ``numpy==1.26``); None when not needed."""
    spec = spec.split("::", 1)[-1].strip()  # channel::name
    m = re.match(r"^([A-Za-z0-9_.\-]+)\s*(.*)$", spec)
    if not m:
        return None
    name, rest = m.group(1), m.group(2).strip()
    if name.lower() in _CONDA_SKIP:
        return None
    name = _CONDA_TO_PIP.get(name.lower(), name)
    if rest and rest[0] == "=" and not rest.startswith("=="):
        rest = "==" + rest[1:].split("=", 1)[0]  # conda's name=ver=build -> name==ver
    return f"{name}{rest}"


def build_key(definition: dict[str, Any]) -> str:
    """The cache key of a definition on this base interpreter (order of package lists does not matter)."""
    doc = {
        "python": sys.version.split()[0],
        "base": sys.prefix,
        "pip": sorted(definition.get("pip") or []),
        "pip_options": list(definition.get("pip_options") or []),
        "conda": sorted(definition.get("conda") or []),
        "channels": sorted(definition.get("channels") or []),
    }
    return hashlib.sha256(json.dumps(doc, sort_keys=True).encode()).hexdigest()[:32]


def _satisfied(requirements: list[str]) -> dict[str, str] | None:
    """``{name: installed version}`` when the base interpreter already satisfies every requirement, else None."""
    from importlib import metadata

    from packaging.requirements import InvalidRequirement, Requirement

    found: dict[str, str] = {}
    for text in requirements:
        try:
            req = Requirement(text)
        except InvalidRequirement:
            return None
        if req.url or req.extras or (req.marker is not None and not req.marker.evaluate()):
            return None  # direct references and extras: let pip decide
        try:
            version = metadata.version(req.name)
        except metadata.PackageNotFoundError:
            return None
        if req.specifier and not req.specifier.contains(version, prereleases=True):
            return None
        found[req.name] = version
    return found


# ------------------------------------------------------------------------------------------------ prepare
def prepare_run_environment(
    workspace_dir: Path,
    run_root: Path,
    definition: dict[str, Any] | None,
    log: Log,
    cancel_requested: Callable[[], str | None] = lambda: None,
) -> Prepared:
    """Build or reuse the run's environment; the script then runs with ``Prepared.interpreter``.

    Raises
    ------
    EnvironmentBuildError
        The build failed (pip's output is in the run's build log and in the message) or the run was canceled.
    """
    name = (definition or {}).get("name", "default-environment")
    if not definition:
        log(f"Environment {name!r}: no definition recorded; using the interpreter {sys.executable}")
        return Prepared(sys.executable, "current")
    warnings = _runtime_warnings(definition)
    for w in warnings:
        log(f"Warning: {w}")
    if definition.get("user_managed"):
        path = str(definition.get("interpreter_path") or "python")
        interpreter = sys.executable if path == "python" else path
        log(f"Environment {name!r}: user_managed_dependencies=True; using the interpreter {interpreter} as it is")
        return Prepared(interpreter, "user_managed", warnings=warnings)
    pip_reqs = list(definition.get("pip") or [])
    conda = list(definition.get("conda") or [])
    if not pip_reqs and not conda:
        log(f"Environment {name!r} lists no packages: using the current interpreter {sys.executable} (no build)")
        return Prepared(sys.executable, "current", warnings=warnings)
    from_conda = [p for p in (conda_to_pip(c) for c in conda) if p]
    satisfied = _satisfied(pip_reqs + from_conda)
    if satisfied is not None:
        have = ", ".join(f"{k} {v}" for k, v in satisfied.items()) or "nothing to install"
        log(f"Environment {name!r}: the base interpreter already has every package ({have}); using {sys.executable}")
        return Prepared(sys.executable, "satisfied", warnings=warnings)
    key = build_key(definition)
    root = cache_root(workspace_dir)
    build_log = run_root / BUILD_LOG
    build_log.parent.mkdir(parents=True, exist_ok=True)
    link = root / key
    _hold_use_lock(root, key)
    if _complete(link):
        return _reuse(link, key, name, build_log, log, warnings)
    log(f"Environment {name!r}: building environment {key[:12]} (or waiting for the run that builds it)")
    with wait_lock(root / ".locks" / f"{key}.build", cancel_requested):
        if _complete(link):  # another run built it while this one waited for the lock
            return _reuse(link, key, name, build_log, log, warnings)
        started = time.time()
        venv = _build(root, key, definition, from_conda, build_log, log, cancel_requested)
        seconds = time.time() - started
        meta = {
            "key": key,
            "name": name,
            "python": sys.version.split()[0],
            "base_interpreter": sys.executable,
            "pip": pip_reqs,
            "pip_options": list(definition.get("pip_options") or []),
            "conda": conda,
            "created": time.time(),
            "build_seconds": round(seconds, 3),
        }
        write_json_atomic(venv / META_FILE, meta)
        # Publish: a symlink made beside the final name, then renamed over it (atomic).
        tmp_link = root / f".{key}.{uuid.uuid4().hex[:8]}.link"
        os.symlink(os.path.relpath(venv, root), tmp_link)
        os.replace(tmp_link, link)
    _touch_used(link)
    log(f"Environment {name!r}: built {key[:12]} in {seconds:.1f} s; using {venv / 'bin' / 'python'}")
    with open(build_log, "a", encoding="utf-8") as fh:
        fh.write(f"Built environment {key} in {seconds:.1f} s at {venv}\n")
    return Prepared(str(venv / "bin" / "python"), "built", key, warnings)


def _runtime_warnings(definition: dict[str, Any]) -> list[str]:
    warnings = []
    wanted = str(definition.get("python") or "")
    have = f"{sys.version_info.major}.{sys.version_info.minor}"
    if wanted and ".".join(wanted.split(".")[:2]) != have:
        warnings.append(
            f"The environment asks for Python {wanted}; this machine runs it with Python {sys.version.split()[0]} "
            "(the driver's interpreter). Remove python_version, or set it to "
            f"{have}, to silence this."
        )
    if definition.get("use_gpu") and not gpu_visible():
        warnings.append(
            "use_gpu=True but no GPU is visible on this machine (no /dev/nvidia* device, nvidia-smi lists none): "
            "the script runs on the CPU."
        )
    return warnings


def gpu_visible() -> bool:
    """Whether this machine shows an NVIDIA GPU to processes (and CUDA_VISIBLE_DEVICES does not hide them all)."""
    if os.environ.get("CUDA_VISIBLE_DEVICES", None) in ("", "-1"):
        return False
    if any(Path("/dev").glob("nvidia[0-9]*")):
        return True
    smi = shutil.which("nvidia-smi")
    if smi:
        with contextlib.suppress(OSError, subprocess.SubprocessError):
            out = subprocess.run([smi, "-L"], capture_output=True, text=True, timeout=10, check=False).stdout
            return "GPU" in out
    return False


def _complete(link: Path) -> bool:
    return link.is_symlink() and (link / META_FILE).is_file()


def _reuse(link: Path, key: str, name: str, build_log: Path, log: Log, warnings: list[str]) -> Prepared:
    meta = read_json(link / META_FILE, default={}) or {}
    when = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(float(meta.get("created") or 0)))
    line = f"Reusing cached environment {key} (built {when}; no pip install needed) at {link.resolve()}"
    with open(build_log, "a", encoding="utf-8") as fh:
        fh.write(line + "\n")
    _touch_used(link)
    log(f"Environment {name!r}: {line}")
    return Prepared(str(link.resolve() / "bin" / "python"), "reused", key, warnings)


def _touch_used(link: Path) -> None:
    with contextlib.suppress(OSError):
        os.utime(link.resolve() / META_FILE)


def _hold_use_lock(root: Path, key: str) -> None:
    """A shared lock held for the life of this process (the driver): prune leaves the environment alone."""
    path = root / ".locks" / f"{key}.use"
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    fcntl.flock(fd, fcntl.LOCK_SH)
    _held.append(fd)


def _base_site_dirs() -> list[str]:
    """The site-packages of the driver's interpreter when it is itself a venv (``--system-site-packages`` would
    only expose the venv's base, not the packages installed in the venv)."""
    if sys.prefix == sys.base_prefix:
        return []
    dirs = [sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"], *site.getsitepackages()]
    return list(dict.fromkeys(d for d in dirs if Path(d).is_dir()))


def _build(
    root: Path,
    key: str,
    definition: dict[str, Any],
    from_conda: list[str],
    build_log: Path,
    log: Log,
    cancel_requested: Callable[[], str | None],
) -> Path:
    builds = root / ".builds"
    builds.mkdir(parents=True, exist_ok=True)
    for stale in builds.glob(f"{key}-*"):  # left by a builder that died; we hold the build lock
        if not (root / key).is_symlink() or (root / key).resolve() != stale.resolve():
            shutil.rmtree(stale, ignore_errors=True)
    venv = builds / f"{key}-{uuid.uuid4().hex[:8]}"
    pip_reqs = list(definition.get("pip") or [])
    options: list[str] = []
    for opt in definition.get("pip_options") or []:
        options += shlex.split(str(opt))
    with open(build_log, "a", encoding="utf-8") as out:
        out.write(f"Building environment {key} for {definition.get('name')!r} in {venv}\n")
        if definition.get("conda"):
            tools = [t for t in ("micromamba", "mamba", "conda") if shutil.which(t)]
            reason = (
                f"{tools[0]} is on PATH but conda builds are not supported yet"
                if tools
                else "no conda, mamba or micromamba on PATH"
            )
            msg = f"conda_packages {definition['conda']}: {reason}; installing them with pip instead as {from_conda}\n"
            out.write(msg)
            log(msg.strip())
        out.flush()
        try:
            _step(
                [sys.executable, "-m", "venv", "--without-pip", "--system-site-packages", str(venv)],
                out,
                cancel_requested,
            )
            extra = _base_site_dirs()
            if extra:
                purelib = _venv_purelib(venv)
                lines = "".join(f"import site; site.addsitedir({d!r})\n" for d in extra)
                (purelib / "_amlrun_base.pth").write_text(lines, encoding="utf-8")
                out.write(f"Base interpreter's site-packages visible in the environment: {extra}\n")
            cmd = _install_command(venv, options, pip_reqs + from_conda)
            out.write("$ " + shlex.join(cmd) + "\n")
            out.flush()
            log(f"Installing {pip_reqs + from_conda} (output: {BUILD_LOG})")
            code = _step(cmd, out, cancel_requested)
        except EnvironmentBuildError:
            shutil.rmtree(venv, ignore_errors=True)
            raise
        except BaseException:
            shutil.rmtree(venv, ignore_errors=True)
            raise
    if code != 0:
        shutil.rmtree(venv, ignore_errors=True)
        tail = _tail(build_log)
        unknown = _unknown_packages(tail, definition.get("conda") or [], from_conda)
        hint = (
            "Check the package names and versions (pip install <name> must work on this machine), and the pip "
            "options (index URL, --find-links)."
        )
        if unknown:
            hint = unknown + " " + hint
        raise EnvironmentBuildError(
            f"Building the environment {definition.get('name')!r} failed: pip exited with code {code}. {hint}\n"
            f"Last lines of {BUILD_LOG}:\n{tail}"
        )
    return venv


def _venv_purelib(venv: Path) -> Path:
    found = sorted(venv.glob("lib/python*/site-packages"))
    if found:
        return found[0]
    return venv / "Lib" / "site-packages"  # Windows layout


def _install_command(venv: Path, options: list[str], requirements: list[str]) -> list[str]:
    python = venv / "bin" / "python"
    uv = shutil.which("uv")
    if os.environ.get(INSTALLER_ENV, "pip").lower() == "uv" and uv:
        return [uv, "pip", "install", "--python", str(python), *options, *requirements]
    return [
        sys.executable,
        "-m",
        "pip",
        "--python",
        str(python),
        "install",
        "--disable-pip-version-check",
        "--no-input",
        *options,
        *requirements,
    ]


def _step(cmd: list[str], out: Any, cancel_requested: Callable[[], str | None]) -> int:
    """Run one build command with its output appended to the build log; a cancel request stops it."""
    proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT)
    while True:
        try:
            return proc.wait(timeout=0.2)
        except subprocess.TimeoutExpired:
            reason = cancel_requested()
            if reason:
                proc.kill()
                proc.wait()
                raise EnvironmentBuildError(reason, RunStatus.CANCELED) from None


def _tail(path: Path, lines: int = ERROR_TAIL_LINES) -> str:
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except FileNotFoundError:
        return ""
    return "\n".join(text.splitlines()[-lines:])


def _unknown_packages(tail: str, conda: list[str], from_conda: list[str]) -> str:
    names = re.findall(r"No matching distribution found for (\S+)", tail)
    if not names:
        return ""
    conda_names = [c for c, p in zip([c for c in conda if conda_to_pip(c)], from_conda, strict=False) if p in names]
    if conda_names:
        return (
            f"No pip package exists for the conda package(s) {conda_names} and no conda is installed here: "
            "install micromamba/conda, or give the pip name in pip_packages."
        )
    return f"No package found for {', '.join(names)}."


# ------------------------------------------------------------------------------------------------ list / prune
def list_cache(workspace_dir: Path) -> list[dict[str, Any]]:
    """The built environments: key, name, python, packages, path, created, last_used, size_mb, in_use."""
    root = cache_root(workspace_dir)
    out: list[dict[str, Any]] = []
    if not root.is_dir():
        return out
    for link in sorted(root.iterdir()):
        if not _complete(link):
            continue
        meta = dict(read_json(link / META_FILE, default={}) or {})
        real = link.resolve()
        meta["path"] = str(real)
        meta["last_used"] = (real / META_FILE).stat().st_mtime
        meta["size_mb"] = round(sum(f.stat().st_size for f in real.rglob("*") if f.is_file()) / 2**20, 2)
        meta["in_use"] = _in_use(root, link.name)
        out.append(meta)
    from jupyter_amlrun._util.engine import list_images

    return out + list_images(root)  # a Docker environment's derived images (compute/container.py)


def _in_use(root: Path, key: str) -> bool:
    path = root / ".locks" / f"{key}.use"
    if not path.exists():
        return False
    fd = os.open(path, os.O_RDWR)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        return False
    except BlockingIOError:
        return True
    finally:
        os.close(fd)


def prune_cache(workspace_dir: Path, older_than_days: float | None = None, keys: list[str] | None = None) -> list[str]:
    """Delete built environments not in use: all, those unused for ``older_than_days``, or the given ``keys``.

    Returns the keys removed. An environment a live run uses is kept.
    """
    if older_than_days is not None and older_than_days < 0:
        raise UserErrorException(f"older_than_days must be >= 0, got {older_than_days}.")
    root = cache_root(workspace_dir)
    removed = []
    now = time.time()
    for entry in list_cache(workspace_dir):
        if entry.get("kind") == "image":
            continue  # pruned below, by the engine
        key = str(entry["key"])
        if keys is not None and key not in keys and not any(key.startswith(k) for k in keys):
            continue
        if older_than_days is not None and now - float(entry["last_used"]) < older_than_days * 86400:
            continue
        with file_lock(root / ".locks" / f"{key}.build"):
            if _in_use(root, key):
                continue
            link = root / key
            real = link.resolve()
            link.unlink()
            shutil.rmtree(real, ignore_errors=True)
        removed.append(key)
    builds = root / ".builds"
    if builds.is_dir():  # leftovers of builders that died (no link points at them, no build lock held)
        linked = {p.resolve() for p in root.iterdir() if p.is_symlink()}
        for stale in builds.iterdir():
            key = stale.name.split("-", 1)[0]
            if stale.resolve() in linked:
                continue
            with contextlib.suppress(BlockingIOError), _try_lock(root / ".locks" / f"{key}.build"):
                shutil.rmtree(stale, ignore_errors=True)
    from jupyter_amlrun._util.engine import prune_images

    return removed + prune_images(root, older_than_days, keys)


@contextlib.contextmanager
def wait_lock(path: Path, cancel_requested: Callable[[], str | None], poll: float = 0.2) -> Any:
    """An exclusive flock, waited for in steps so a cancel request ends the wait (another run may build for long)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                reason = cancel_requested()
                if reason:
                    raise EnvironmentBuildError(reason, RunStatus.CANCELED) from None
                time.sleep(poll)
        yield
    finally:
        os.close(fd)


@contextlib.contextmanager
def _try_lock(path: Path) -> Any:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        yield
    finally:
        os.close(fd)
