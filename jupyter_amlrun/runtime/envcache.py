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
* every build process (pip, its build backends, the pin probes) carries the run's mark (``AMLRUN_RUN_ID``), so the
  run's guard or the workspace's watchdog ends them with the run's other processes when the driver dies mid-build;
  the run folder names the build under way (``env-building``) and that recovery deletes the half build;
* each run's pip output goes to ``logs/azureml/20_image_build_log.txt`` (v1's image build log), live.

uv was measured (benchmarks/README.md): much faster for a tiny package, but it ignores site-packages added by a
``.pth``, so it would re-install what the base already has (torch). pip is the default; ``AMLRUN_ENV_INSTALLER=uv``
opts in to uv where it is on PATH.

v1 specs are planned before pip sees them (:func:`plan_requirements`, :func:`resolve_pins`):

* ``azureml-*`` packages are provided by jupyter_amlrun: skipped, one line each in the build log;
* a package the base interpreter already has at a version the spec allows is used as it is (conda names mapped to
  pip's: ``pytorch`` is ``torch``); a build never replaces the base's torch unless the spec pins another version
  (pip gets a constraint ``torch==<base version>``);
* a pin with no build for this Python follows the pin policy (``Environment.pin_policy`` or
  ``$AMLRUN_ENV_PIN_POLICY``): ``nearest`` (default) installs the closest version that has one, or keeps the base's
  version when the base has the package (old wheels were built for older numpy/ABI and break against the base's), with
  a warning in the build log and the run's details; ``strict`` fails at Preparing. Availability is asked of pip once
  per such pin (``pip install --dry-run --no-deps --only-binary :all:``, about 1 s; ``pip index versions`` ignores
  ``--only-binary`` and lists sdists that cannot build here), and the outcome is cached per build key, so a warm run
  asks nothing.
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
import socket
import subprocess
import sys
import sysconfig
import time
import uuid
from collections.abc import Callable
from contextvars import ContextVar
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from jupyter_amlrun._util.fileio import file_lock, read_json, write_json_atomic
from jupyter_amlrun.runtime.errors import UserErrorException
from jupyter_amlrun.runtime.runfolder import RUN_MARK_ENV
from jupyter_amlrun.runtime.status import RunStatus

CACHE_ENV = "AMLRUN_ENV_CACHE"
INSTALLER_ENV = "AMLRUN_ENV_INSTALLER"
BUILD_LOG = "logs/azureml/20_image_build_log.txt"
META_FILE = "amlrun-env.json"
ERROR_TAIL_LINES = 25
PIN_POLICY_ENV = "AMLRUN_ENV_PIN_POLICY"
PIN_POLICIES = ("nearest", "strict")
PLANS_DIR = ".plans"
# In the run folder while a build of this run is under way: the build's folder, for a recovery to delete if the driver
# dies mid-build (the next build of the key deletes it too, but that may never come).
BUILDING_FILE = "env-building"
# conda names whose pip package is called differently (the conda -> pip fallback), as v1 specs use them.
_CONDA_TO_PIP = {
    "pytorch": "torch",
    "pytorch-cpu": "torch",
    "pytorch-gpu": "torch",
    "py-xgboost": "xgboost",
    "py-xgboost-cpu": "xgboost",
    "tensorflow-gpu": "tensorflow",
    "pillow-simd": "pillow",
    "matplotlib-base": "matplotlib",
    "pyyaml": "PyYAML",
    "msgpack-python": "msgpack",
    "pytables": "tables",
    "lightgbm-cpu": "lightgbm",
    "opencv": "opencv-python-headless",
    "py-opencv": "opencv-python-headless",
    "tensorboardx": "tensorboardX",
}
# conda-only packages that a venv already has or does not need.
_CONDA_SKIP = {
    "python",
    "pip",
    "setuptools",
    "wheel",
    "cpuonly",
    "cudatoolkit",
    "cudnn",
    "nccl",
    "mkl",
    "nomkl",
    "mkl-service",
    "blas",
    "libblas",
    "openblas",
    "pytorch-cuda",
    "pytorch-mutex",
}
# pip names v1 specs use that were renamed since (the old name now only raises an install error).
_PIP_RENAMED = {"tensorflow-gpu": "tensorflow"}
# Packages a build must not replace in the base (huge, with CUDA variants): pip gets a constraint to the base's version
# unless the spec names them itself.
_GUARDED = ("torch",)

Log = Callable[[str], None]

# Use locks this driver holds while its run lives: prune skips an environment in use.
_held: list[int] = []
# The folder of the run whose environment is being prepared: every build process carries that run's mark, so the
# run's guard or the watchdog ends pip (and its build backends) with the run's other processes if the driver dies.
_run_root: ContextVar[Path | None] = ContextVar("amlrun_env_run_root", default=None)


def _proc_env(base: dict[str, str] | None = None) -> dict[str, str] | None:
    """The environment of a build process: ``base`` (or this one) plus the run's mark, if a run is being prepared."""
    root = _run_root.get()
    if root is None:
        return base
    return {**(base if base is not None else os.environ), RUN_MARK_ENV: root.name}


class EnvironmentBuildError(Exception):
    """The run's environment could not be prepared; ``status`` is the run's final status (Failed or Canceled)."""

    def __init__(self, message: str, status: str = RunStatus.FAILED) -> None:
        super().__init__(message)
        self.status = status
        self.warnings: list[str] = []  # what Preparing warned about before it failed (the run's details keep it)


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
        "pin_policy": str(definition.get("pin_policy") or os.environ.get(PIN_POLICY_ENV) or "nearest").lower(),
    }
    return hashlib.sha256(json.dumps(doc, sort_keys=True).encode()).hexdigest()[:32]


@dataclass
class Plan:
    """What a spec asks of pip once v1's names are mapped and the base interpreter is taken into account.

    Attributes
    ----------
    install:
        The requirements pip still has to install (pip names).
    notes:
        One line per decision (skipped, used from the base, mapped), for the build log.
    constraints:
        ``name==version`` lines that keep the base's guarded packages (torch) in place.
    used:
        ``{name: base version}`` of what the base provides.
    """

    install: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    constraints: list[str] = field(default_factory=list)
    used: dict[str, str] = field(default_factory=dict)
    from_conda: dict[str, str] = field(default_factory=dict)  # install line -> the conda spec it came from


def provided_by_amlrun(name: str) -> bool:
    """Whether a package is part of the v1 SDK that jupyter_amlrun replaces (``azureml-*``)."""
    norm = re.sub(r"[-_.]+", "-", name).lower()
    return norm == "azureml" or norm.startswith("azureml-")


def _base_version(name: str) -> str | None:
    from importlib import metadata

    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return None


def plan_requirements(pip_reqs: list[str], conda: list[str]) -> Plan:
    """Map a v1 spec onto this interpreter without the network: skip ``azureml-*``, use what the base has.

    Parameters
    ----------
    pip_reqs:
        The pip requirement strings of the spec.
    conda:
        The conda package specs (mapped to pip names; conda-only packages such as ``cudatoolkit`` dropped).
    """
    from packaging.requirements import InvalidRequirement, Requirement

    plan = Plan()
    items: list[tuple[str, str]] = [(p, p) for p in pip_reqs]
    conda_of: dict[str, str] = {}
    for c in conda:
        pip_form = conda_to_pip(c)
        if pip_form is None:
            continue
        items.append((c, pip_form))
        conda_of[pip_form] = c
        if _spec_name(c) != _spec_name(pip_form):
            plan.notes.append(f"conda package {c!r} is the pip package {pip_form!r}")
    for given, text in items:
        try:
            req = Requirement(text)
        except InvalidRequirement:
            plan.install.append(text)  # a URL or a path: pip reads it
            continue
        if provided_by_amlrun(req.name):
            extra = ""
            if req.name.lower().replace("_", "-") == "azureml-mlflow":
                have = _base_version("mlflow")
                extra = f" (it brings mlflow, which the base has: mlflow {have})" if have else " (it brings mlflow)"
            plan.notes.append(f"Skipping {given!r}: provided by jupyter_amlrun{extra}")
            continue
        renamed = _PIP_RENAMED.get(req.name.lower())
        if renamed is not None:
            plan.notes.append(f"{req.name!r} is now {renamed!r} on PyPI (the old name only fails): using {renamed}")
            req.name = renamed
            text = str(req)
        if req.marker is not None and not req.marker.evaluate():
            plan.notes.append(f"Skipping {given!r}: its marker does not apply to this interpreter")
            continue
        have = _base_version(req.name)
        if req.url is None and have is not None and (not req.specifier or req.specifier.contains(have, True)):
            if req.extras:
                plan.install.append(text)  # the extras' own packages may be missing: pip checks (base kept)
                continue
            plan.used[req.name] = have
            plan.notes.append(f"Using {req.name} {have} from the base interpreter for {given!r}")
            continue
        plan.install.append(text)
    plan.from_conda = {t: conda_of[t] for t in plan.install if t in conda_of}
    for name in _GUARDED:
        have = _base_version(name)
        wanted_other = any(_spec_name(t) == name for t in plan.install)  # the spec pins another version: allowed
        if have and not wanted_other and plan.install:
            plan.constraints.append(f"{name}=={have.split('+', 1)[0]}")
    return plan


def _spec_name(text: str) -> str:
    """The lower-case project name of a pip or conda spec (``channel::name=1`` -> ``name``)."""
    m = re.match(r"^\s*([A-Za-z0-9_.\-]+)", text.split("::", 1)[-1])
    return m.group(1).lower() if m else text.lower()


@dataclass
class Resolved:
    """The install list after the pin policy: what pip installs, what the run is warned about."""

    install: list[str]
    warnings: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    substituted: dict[str, str] = field(default_factory=dict)  # install line -> the spec's pin it replaces
    source_only: list[str] = field(default_factory=list)  # pins with no wheel for this Python (pip builds them)


def pin_policy(definition: dict[str, Any]) -> str:
    """The definition's pin policy, else ``$AMLRUN_ENV_PIN_POLICY``, else ``nearest``."""
    value = str(definition.get("pin_policy") or os.environ.get(PIN_POLICY_ENV) or "nearest").lower()
    if value not in PIN_POLICIES:
        raise EnvironmentBuildError(
            f"Unknown pin policy {value!r} (from the environment's pin_policy or ${PIN_POLICY_ENV}); use one of "
            f"{', '.join(PIN_POLICIES)}."
        )
    return value


def _pip(args: list[str], options: list[str], no_config: bool = False) -> subprocess.CompletedProcess[str]:
    cmd = [sys.executable, "-m", "pip", *args, "--disable-pip-version-check", "--no-input", *options]
    env = _proc_env(dict(os.environ, PIP_CONFIG_FILE=os.devnull) if no_config else None)
    return subprocess.run(
        cmd, capture_output=True, text=True, stdin=subprocess.DEVNULL, check=False, timeout=600, env=env
    )


def _wheel_versions(req_text: str, options: list[str]) -> tuple[bool, list[str], str]:
    """(installable as a wheel for this Python, versions that have one, pip's output) for one requirement."""
    from packaging.specifiers import InvalidSpecifier, SpecifierSet

    args = ["install", "--dry-run", "--no-deps", "--only-binary", ":all:", "--ignore-installed", req_text]
    done = _pip(args, options)
    out = (done.stdout or "") + (done.stderr or "")
    if done.returncode == 0:
        return True, [], out
    # A pip config constraint on the same package (this machine caps torch/torchvision) makes pip report a conflict
    # instead of the versions: ask again without the config files, then keep only what the constraint allows.
    capped = re.findall(r"The user requested \(constraint\) [A-Za-z0-9_.\-\[\]]+?([<>=!~].*)", out)
    if capped:
        again = _pip(args, options, no_config=True)
        out += (again.stdout or "") + (again.stderr or "")
    m = re.search(r"\(from versions: ([^)]*)\)", out)
    versions = [] if not m or m.group(1).strip() == "none" else [v.strip() for v in m.group(1).split(",")]
    for cap in capped:
        try:
            allowed = SpecifierSet(cap.strip())
        except InvalidSpecifier:
            continue
        versions = [v for v in versions if allowed.contains(v, prereleases=True)]
    return False, versions, out


def _nearest(anchor: str, versions: list[str], allow_pre: bool) -> str | None:
    """The lowest version at or above ``anchor``, else the highest below it."""
    from packaging.version import InvalidVersion, Version

    parsed = []
    for v in versions:
        try:
            pv = Version(v)
        except InvalidVersion:
            continue
        if pv.is_prerelease and not allow_pre:
            continue
        parsed.append(pv)
    if not parsed:
        return None
    try:
        target = Version(anchor)
    except InvalidVersion:
        return str(max(parsed))
    above = [v for v in parsed if v >= target]
    return str(min(above) if above else max(parsed))


def resolve_pins(
    install: list[str], options: list[str], policy: str, record: Log, from_conda: dict[str, str] | None = None
) -> Resolved:
    """Apply the pin policy to each pinned requirement that has no build for this Python (asks pip once each).

    ``record`` gets pip's answers (for the build log).

    Raises
    ------
    EnvironmentBuildError
        A package does not exist on the index, or (``strict``) a pin has no build for this Python.
    """
    from packaging.requirements import InvalidRequirement, Requirement

    py = f"{sys.version_info.major}.{sys.version_info.minor}"
    result = Resolved([])
    for text in install:
        try:
            req = Requirement(text)
        except InvalidRequirement:
            result.install.append(text)
            continue
        if req.url is not None or not req.specifier:
            result.install.append(text)
            continue
        ok, versions, out = _wheel_versions(text, options)
        record(f"$ pip install --dry-run --no-deps --only-binary :all: {text!r}: " + ("ok" if ok else "no wheel"))
        if ok:
            result.install.append(text)
            continue
        if not versions:
            listed = _pip(["index", "versions", req.name], options)
            if listed.returncode != 0 or "No matching distribution" in (listed.stdout + listed.stderr):
                record(out.strip())
                conda_spec = (from_conda or {}).get(text)
                if conda_spec is not None:
                    raise EnvironmentBuildError(
                        f"No pip package exists for the conda package(s) {[conda_spec]} (No matching distribution "
                        f"found for {req.name}) and no conda is installed here: give the pip name in pip_packages, or "
                        "remove it from conda_packages."
                    )
                raise EnvironmentBuildError(
                    f"Package {req.name!r} (from {text!r}) was not found on the package index: No matching "
                    f"distribution found for {req.name}. Check its pip name (conda names differ: pytorch is torch), "
                    "or remove it from the environment; for a private index, add set_pip_option('--extra-index-url "
                    "URL')."
                )
            result.notes.append(f"{text!r}: no wheel for Python {py}; pip will try to build it from source")
            result.source_only.append(text)
            result.install.append(text)
            continue
        anchors = [s.version for s in req.specifier if s.operator in ("==", "===", "~=", ">=", "<=")]
        anchor = max(anchors, key=_version_key) if anchors else versions[-1]
        allow_pre = any(_is_pre(a) for a in anchors)
        have = _base_version(req.name)
        if policy == "strict":
            raise EnvironmentBuildError(
                f"{text!r} cannot install on Python {py}: no version that satisfies it has a build for this Python "
                f"(versions that have one: {', '.join(versions[-8:])}). Relax the pin, or use the pin policy "
                f"'nearest' (env.pin_policy = 'nearest' or ${PIN_POLICY_ENV}=nearest) to install the closest one."
            )
        if have is not None:
            warning = (
                f"{text!r} cannot install on Python {py}; using the base interpreter's {req.name} {have} instead "
                f"(pin policy 'nearest': old builds break against the base's libraries). Pin {req.name}=={have} "
                "to silence this."
            )
            result.warnings.append(warning)
            continue
        chosen = _nearest(anchor, versions, allow_pre)
        if chosen is None:
            result.install.append(text)
            continue
        result.warnings.append(
            f"{text!r} cannot install on Python {py}; installing {req.name}=={chosen}, the nearest version that can "
            f"(pin policy 'nearest'). Pin {req.name}=={chosen} to silence this."
        )
        line = f"{req.name}{'[' + ','.join(sorted(req.extras)) + ']' if req.extras else ''}=={chosen}"
        result.install.append(line)
        result.substituted[line] = text
    return result


def _relaxed(resolved: Resolved) -> Resolved | None:
    """The nearest versions left to pip (name only) after they conflicted with the rest (the base's torch, say)."""
    if not resolved.substituted:
        return None
    from packaging.requirements import Requirement

    out = Resolved([], list(resolved.warnings), list(resolved.notes))
    py = f"{sys.version_info.major}.{sys.version_info.minor}"
    for line in resolved.install:
        if line in resolved.substituted:
            req = Requirement(line)
            loose = req.name + ("[" + ",".join(sorted(req.extras)) + "]" if req.extras else "")
            out.install.append(loose)
            out.warnings = [w for w in out.warnings if not w.startswith(repr(resolved.substituted[line]))]
            out.warnings.append(
                f"{resolved.substituted[line]!r} cannot install on Python {py}, and the nearest version conflicted "
                f"with the base interpreter's packages; pip chose the {req.name} version that fits (pin policy "
                f"'nearest'; the build log names it)."
            )
        else:
            out.install.append(line)
    return out


def _version_key(v: str) -> Any:
    from packaging.version import InvalidVersion, Version

    try:
        return (1, Version(v))
    except InvalidVersion:
        return (0, v)


def _is_pre(v: str) -> bool:
    from packaging.version import InvalidVersion, Version

    try:
        return Version(v).is_prerelease
    except InvalidVersion:
        return False


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
        The build failed (pip's output is in the run's build log and in the message) or the run was canceled;
        its ``warnings`` are what Preparing warned about before.
    """
    name = (definition or {}).get("name", "default-environment")
    if not definition:
        log(f"Environment {name!r}: no definition recorded; using the interpreter {sys.executable}")
        return Prepared(sys.executable, "current")
    warnings = _runtime_warnings(definition)
    for w in warnings:
        log(f"Warning: {w}")
    token = _run_root.set(Path(run_root))
    try:
        return _prepare(workspace_dir, run_root, definition, log, cancel_requested, name, warnings)
    except EnvironmentBuildError as exc:
        exc.warnings = [*warnings, *exc.warnings]
        raise
    finally:
        _run_root.reset(token)


def _prepare(
    workspace_dir: Path,
    run_root: Path,
    definition: dict[str, Any],
    log: Log,
    cancel_requested: Callable[[], str | None],
    name: str,
    warnings: list[str],
) -> Prepared:
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
    build_log = run_root / BUILD_LOG
    build_log.parent.mkdir(parents=True, exist_ok=True)
    plan = plan_requirements(pip_reqs, conda)
    _note(build_log, log, [f"Environment {name!r}: {n}" for n in plan.notes])
    if not plan.install:
        have = ", ".join(f"{k} {v}" for k, v in plan.used.items()) or "nothing to install"
        log(f"Environment {name!r}: the base interpreter already has every package ({have}); using {sys.executable}")
        return Prepared(sys.executable, "satisfied", warnings=warnings)
    policy = pin_policy(definition)
    key = build_key(definition)
    root = cache_root(workspace_dir)
    link = root / key
    plan_file = root / PLANS_DIR / f"{key}.json"
    _hold_use_lock(root, key)
    if _complete(link):
        return _reuse(link, key, name, build_log, log, warnings)
    known = read_json(plan_file, default=None)
    if isinstance(known, dict) and not known.get("install"):
        return _satisfied_after_pins(name, known, build_log, log, warnings, replay=True)
    log(f"Environment {name!r}: building environment {key[:12]} (or waiting for the run that builds it)")
    with wait_lock(root / ".locks" / f"{key}.build", cancel_requested), _building(Path(run_root)):
        if _complete(link):  # another run built it while this one waited for the lock
            return _reuse(link, key, name, build_log, log, warnings)
        options = _options(definition)
        try:
            resolved = resolve_pins(
                plan.install, options, policy, lambda text: _append(build_log, text), plan.from_conda
            )
        except EnvironmentBuildError as exc:
            message = f"Building the environment {name!r} failed: {exc}"
            _note(build_log, log, [message])
            raise EnvironmentBuildError(message, exc.status) from None
        _note(build_log, log, resolved.notes)
        _note(build_log, log, [f"Warning: {w}" for w in resolved.warnings])
        doc = {"install": resolved.install, "warnings": resolved.warnings, "constraints": plan.constraints}
        if not resolved.install:
            write_json_atomic(plan_file, doc)
            return _satisfied_after_pins(name, doc, build_log, log, warnings, replay=False)
        started = time.time()
        try:
            venv = _build(
                root, key, definition, resolved.install, plan.constraints, from_conda, build_log, log, cancel_requested
            )
        except EnvironmentBuildError as exc:
            relaxed = _relaxed(resolved)
            if exc.status == RunStatus.FAILED and resolved.source_only and relaxed is None:
                py = f"{sys.version_info.major}.{sys.version_info.minor}"
                raise EnvironmentBuildError(
                    f"{', '.join(resolved.source_only)}: no wheel for Python {py} (only sources, which did not "
                    f"build here); choose a version that has one, or remove it. {exc}",
                    exc.status,
                ) from None
            if exc.status != RunStatus.FAILED or relaxed is None or "conflict" not in str(exc).lower():
                raise
            _note(build_log, log, ["The nearest versions conflict with the base's packages; letting pip choose them"])
            resolved = relaxed
            venv = _build(
                root, key, definition, resolved.install, plan.constraints, from_conda, build_log, log, cancel_requested
            )
        seconds = time.time() - started
        meta = {
            "key": key,
            "name": name,
            "python": sys.version.split()[0],
            "base_interpreter": sys.executable,
            "pip": pip_reqs,
            "pip_options": list(definition.get("pip_options") or []),
            "conda": conda,
            "installed": resolved.install,
            "warnings": resolved.warnings,
            "pin_policy": policy,
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
    return Prepared(str(venv / "bin" / "python"), "built", key, [*warnings, *resolved.warnings])


@contextlib.contextmanager
def _building(run_root: Path) -> Any:
    """While a build of this run may be under way; on the way out (published, failed or canceled) the run folder's
    record of the half build goes (a build that is published must not be taken for a half one)."""
    try:
        yield
    finally:
        with contextlib.suppress(OSError):
            (run_root / BUILDING_FILE).unlink(missing_ok=True)


def remove_half_build(run_root: Path) -> Path | None:
    """Delete the environment build the run folder says was under way when its driver died; returns it if deleted.

    Called by a dead run's recovery once the run's processes (pip among them) are gone. A build that was published
    (its key's link points at it) is kept; so is anything that is not a ``.builds/<key>-<nonce>`` folder.
    """
    record = Path(run_root) / BUILDING_FILE
    try:
        venv = Path(record.read_text(encoding="utf-8").strip())
    except (OSError, ValueError):
        return None
    removed: Path | None = None
    key = venv.name.rsplit("-", 1)[0]
    link = venv.parent.parent / key
    published = link.is_symlink() and link.resolve() == venv.resolve()
    if venv.parent.name == ".builds" and key and not published and venv.exists():
        shutil.rmtree(venv, ignore_errors=True)
        removed = venv
    with contextlib.suppress(OSError):
        record.unlink()
    return removed


def _append(build_log: Path, text: str) -> None:
    with open(build_log, "a", encoding="utf-8") as fh:
        fh.write(text.rstrip("\n") + "\n")


def _note(build_log: Path, log: Log, lines: list[str]) -> None:
    """Lines for both the driver log and the run's build log (v1's image build log)."""
    if not lines:
        return
    with open(build_log, "a", encoding="utf-8") as fh:
        for line in lines:
            fh.write(line + "\n")
            log(line)


def _satisfied_after_pins(
    name: str, doc: dict[str, Any], build_log: Path, log: Log, warnings: list[str], replay: bool
) -> Prepared:
    """No venv: the pin policy settled every unmet pin on the base's own versions (said again on each run)."""
    again = [str(w) for w in doc.get("warnings") or []]
    if replay:
        _note(build_log, log, [f"Warning: {w}" for w in again])
    line = f"Environment {name!r}: nothing left to install after the pin policy; using {sys.executable}"
    _note(build_log, log, [line])
    return Prepared(sys.executable, "satisfied", warnings=[*warnings, *again])


def _options(definition: dict[str, Any]) -> list[str]:
    options: list[str] = []
    for opt in definition.get("pip_options") or []:
        options += shlex.split(str(opt))
    return options


def _runtime_warnings(definition: dict[str, Any]) -> list[str]:
    warnings = []
    wanted = str(definition.get("python") or "").strip().lstrip("=")
    have = f"{sys.version_info.major}.{sys.version_info.minor}"
    # Only the parts given count: python=3 is met by 3.11, python=3.6.2 is not.
    parts = [p for p in re.split(r"[.*]", wanted)[:2] if p]
    if parts and parts != have.split(".")[: len(parts)]:
        warnings.append(
            f"The environment asks for Python {wanted}; this machine runs it with Python {sys.version.split()[0]} "
            "(the driver's interpreter), so packages are chosen for that Python. Remove python_version (or "
            f"python= from the conda spec), or set it to {have}, to silence this; a container image gives the exact "
            "Python."
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
    again = [str(w) for w in meta.get("warnings") or []]
    _note(build_log, log, [f"Warning: {w}" for w in again])
    return Prepared(str(link.resolve() / "bin" / "python"), "reused", key, [*warnings, *again])


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
    install: list[str],
    constraints: list[str],
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
    run_root = _run_root.get()
    if run_root is not None:  # removed by _prepare once the build is published or deleted
        with contextlib.suppress(OSError):
            (run_root / BUILDING_FILE).write_text(str(venv), encoding="utf-8")
    options = _options(definition)
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
            if constraints:
                pinned = venv / "amlrun-constraints.txt"
                pinned.write_text("".join(c + "\n" for c in constraints), encoding="utf-8")
                out.write(f"Keeping the base's {', '.join(constraints)} (a constraint for pip)\n")
                options = [*options, "-c", str(pinned)]
            options = _torch_index(install, options, out)
            cmd = _install_command(venv, options, install)
            out.write("$ " + shlex.join(cmd) + "\n")
            out.flush()
            log(f"Installing {install} (output: {BUILD_LOG})")
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
        full = _disk_full(tail, venv)
        if full:
            hint = full  # not the packages' fault: saying "check the names" would send the user the wrong way
        raise EnvironmentBuildError(
            f"Building the environment {definition.get('name')!r} failed: pip exited with code {code}. {hint}\n"
            f"Last lines of {BUILD_LOG}:\n{tail}"
        )
    problem = _check_torch_family(venv, install, build_log)
    if problem:
        shutil.rmtree(venv, ignore_errors=True)
        raise EnvironmentBuildError(f"Building the environment {definition.get('name')!r} failed: {problem}")
    return venv


def _disk_full(tail: str, venv: Path) -> str | None:
    """What to do when pip's output says the disk is full (``[Errno 28]``), or None."""
    if "No space left on device" not in tail and "[Errno 28]" not in tail:
        return None
    where = venv.parent
    try:
        free = f"{shutil.disk_usage(where).free / 1e6:.1f} MB free now"
    except OSError:
        free = "free space unknown"
    return (
        f"The disk holding the environment cache ({where}; {free}) is full: the packages could not be written. "
        f"Free space there, or set ${CACHE_ENV} to a folder on a bigger disk, then run again."
    )


_TORCH_FAMILY = ("torchvision", "torchaudio")
TORCH_CPU_INDEX = "https://download.pytorch.org/whl/cpu"


def _torch_family(install: list[str]) -> list[str]:
    return [n for n in (_spec_name(t) for t in install) if n in _TORCH_FAMILY]


def _torch_index(install: list[str], options: list[str], out: Any) -> list[str]:
    """PyPI's torchvision/torchaudio are built for PyPI's (CUDA) torch and do not load with a ``+cpu`` base torch:
    their CPU builds come from PyTorch's CPU index, added when it answers."""
    base = _base_version("torch") or ""
    if "+cpu" not in base or not _torch_family(install) or any("download.pytorch.org" in o for o in options):
        return options
    try:
        socket.create_connection(("download.pytorch.org", 443), timeout=3).close()
    except OSError:
        out.write(
            f"Note: the base's torch is {base} (CPU build) and {TORCH_CPU_INDEX} cannot be reached: "
            f"{', '.join(_torch_family(install))} come from the configured index instead\n"
        )
        return options
    out.write(f"The base's torch is {base}: adding --extra-index-url {TORCH_CPU_INDEX} for the matching CPU builds\n")
    return [*options, "--extra-index-url", TORCH_CPU_INDEX]


def _check_torch_family(venv: Path, install: list[str], build_log: Path) -> str | None:
    """Import what was installed of the torch family in the new environment: a build that cannot load fails here."""
    names = _torch_family(install)
    if not names:
        return None
    code = "; ".join(f"import {n}" for n in names)
    done = subprocess.run(
        [str(venv / "bin" / "python"), "-c", code],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
        env=_proc_env(),
    )
    if done.returncode == 0:
        _append(build_log, f"Checked: {', '.join(names)} load with torch {_base_version('torch')}")
        return None
    last = (done.stderr.strip().splitlines() or ["(no output)"])[-1]
    _append(build_log, done.stderr)
    return (
        f"{', '.join(names)} installed but cannot load with the base's torch {_base_version('torch')} ({last}). "
        f"PyPI's builds are for PyPI's CUDA torch; the CPU builds are on {TORCH_CPU_INDEX}: make it reachable or "
        f"add set_pip_option('--extra-index-url {TORCH_CPU_INDEX}'), or pin torch to the version PyPI's "
        f"{names[0]} wants (pip then installs that torch into the environment)."
    )


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
    proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT, env=_proc_env())
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
    return (
        f"No package found for {', '.join(names)}: it does not exist on the package index (or has no version for "
        "this Python). Check the pip name (conda names differ: pytorch is torch) or remove it from the environment."
    )


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
