"""The container runner: a run whose environment asks for Docker runs its script inside the image (podman or docker).

The driver calls :func:`prepare_container` at Preparing (engine, image found or pulled, a derived image with the
environment's packages built or reused) and :meth:`ContainerRun.command` where it starts the script: the same
process supervision then applies (the engine's client is the script's process; cancel and
``max_run_duration_seconds`` end it), and :meth:`ContainerRun.remove` after the script, whatever happened. A driver
that dies leaves the removal to its guard, which finds the run's containers by their label.

Inside the container the paths are the host's: the workspace is mounted at its own path (the run folder, its metrics
journal, the working folder = the snapshot), dataset inputs read-only at theirs, outputs read-write. The in-script
API (``Run.get_context()``) comes from the host, mounted read-only: this package and the few packages it imports
(:data:`IN_SCRIPT_DEPS`), nothing is installed into the user's image.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shlex
import shutil
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from importlib import util as importlib_util
from pathlib import Path
from typing import TYPE_CHECKING, Any

from jupyter_amlrun._util.engine import IMAGE_REPO, RUN_LABEL, Engine, EngineError, from_record, images_dir, require
from jupyter_amlrun.compute._gpus import CUDA_ENV
from jupyter_amlrun.runtime.status import RunStatus

if TYPE_CHECKING:
    from collections.abc import Callable

    from jupyter_amlrun.compute.driver import Driver

PACKAGE_DIR = Path(__file__).resolve().parents[1]  # this jupyter_amlrun, mounted into the container
LIB = "/opt/amlrun/lib"  # where the in-script API is mounted (read-only) inside the container
BOOT = f"{LIB}/jupyter_amlrun/compute/_container_boot.py"
BASE_LABEL = "amlrun.base_id"  # a derived image's label: the id of the base image it was built on
ENV_PREFIX = "/opt/amlrun-env"  # a derived image's virtualenv (the base image's packages stay visible)
# What `from jupyter_amlrun import Run; Run.get_context().log(...)` imports beyond the standard library: mounted from
# the host. psutil is compiled but abi3 (any CPython >= 3.6). tests/compute/test_container.py checks the list.
IN_SCRIPT_DEPS = ("psutil",)
# Host settings a package install inside a build container needs (index, proxy); values never reach a log.
BUILD_PASS_ENV = (
    "PIP_INDEX_URL",
    "PIP_EXTRA_INDEX_URL",
    "PIP_TRUSTED_HOST",
    "PIP_DEFAULT_TIMEOUT",
    "HTTP_PROXY",
    "HTTPS_PROXY",
    "NO_PROXY",
    "http_proxy",
    "https_proxy",
    "no_proxy",
)
CERTS = Path("/etc/ssl/certs")
PULL_SECONDS = 1800.0
POLL_SECONDS = 0.2


class ContainerError(Exception):
    """The run cannot start in its container (no engine, no image, a failed build); the message says why and what to
    do. ``status`` is Failed, or Canceled when a cancel request ended the preparation."""

    def __init__(self, message: str, status: str = RunStatus.FAILED) -> None:
        super().__init__(message)
        self.status = status


def container_name(run_id: str) -> str:
    """The run's container name (one per run: the name also keeps a second start of the same run from racing)."""
    return f"amlrun-{run_id}"


def registry_of(image: str) -> str:
    """The registry an image reference is pulled from (Docker's rule: a first part with '.', ':' or 'localhost')."""
    first, sep, _rest = image.partition("/")
    if sep and ("." in first or ":" in first or first == "localhost"):
        return first
    return "docker.io"


@dataclass
class ContainerRun:
    """A prepared container for one run: what :meth:`command` wraps the script's command with."""

    engine: Engine
    run_id: str
    image: str
    interpreter: str
    ws_dir: Path
    workdir: Path
    docker: dict[str, Any]
    gpus: list[str] | None = None  # the pool slot's GPUs to pass; None: no GPU flags
    pass_env: tuple[str, ...] = ()  # the run's own environment_variables: passed even when the host has them too
    name: str = field(init=False)
    started: list[str] = field(init=False, default_factory=list)  # every container name command() handed out

    def __post_init__(self) -> None:
        self.name = container_name(self.run_id)

    def command(
        self, cmd: list[str], env: dict[str, str], node: int | None = None, suffix: str = ""
    ) -> tuple[list[str], dict[str, str]]:
        """``engine run ... image python script args`` for the host command ``cmd`` (interpreter, script, args).

        ``env`` is the environment the script would get on the host; what differs from the driver's own environment
        (the run's variables, its inputs, its GPUs) is passed into the container by name (``-e NAME``: the values
        stay out of the command line), and the client gets the rest to run.

        Parameters
        ----------
        node
            For a distributed run, the node this container is (``<name>-node<N>``): its GPUs are that node's pool
            share (``env``'s ``CUDA_VISIBLE_DEVICES``), and host paths of this package in ``cmd`` (the rank
            starter) are rewritten to where the package is mounted.
        suffix
            Appended to the container's name, for a short-lived helper container (a probe).
        """
        engine, ws = self.engine, str(self.ws_dir)
        name = self.name + (f"-node{node}" if node is not None else "") + (f"-{suffix}" if suffix else "")
        self.started.append(name)
        gpus = self.gpus
        if node is not None and gpus is not None:
            gpus = [g for g in env.get(CUDA_ENV, "").split(",") if g.strip()]
        inner = {
            k: v
            for k, v in env.items()
            if os.environ.get(k) != v or k in self.pass_env or k.startswith(("AMLRUN_", "AZUREML_", "MLFLOW_"))
        }
        inner.pop("PATH", None)  # the image's own
        inner["PYTHONPATH"] = os.pathsep.join(p for p in (LIB, env.get("PYTHONPATH", "")) if p)
        inner.pop(CUDA_ENV, None)
        args = [engine.cli, "run", "--rm", "--name", name, "--label", f"{RUN_LABEL}={self.run_id}"]
        args += ["--init", "-w", str(self.workdir), "-v", f"{ws}:{ws}"]
        args += self._in_script_mounts()
        args += self._input_mounts(inner)
        user_args = [str(a) for a in self.docker.get("arguments") or []]
        if not any(a.startswith(("--network", "--net")) for a in [*engine.extra_args, *user_args]):
            args.append("--network=host")  # as a local run: the registries, a team's tracking server on 127.0.0.1
        if self.docker.get("shm_size"):
            args.append(f"--shm-size={self.docker['shm_size']}")
        if engine.name == "docker" and os.getuid() != 0:
            args += ["--user", f"{os.getuid()}:{os.getgid()}"]  # files in outputs/ stay the user's
        if gpus is not None:
            args += gpu_arguments(engine, gpus)
            inner[CUDA_ENV] = ",".join(str(i) for i in range(len(gpus)))  # renumbered from 0 inside
        for key in sorted(inner):
            args += ["-e", key]
        rest = [_inside(a) for a in cmd[1:]] if node is not None else cmd[1:]
        args += [*engine.extra_args, *user_args, self.image, self.interpreter, BOOT, *rest]
        return args, {**env, **inner}

    def probe(self, code: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
        """Run ``python -c code`` in the run's image, as its script would run (mounts, the run's variables)."""
        args, full = self.command([self.interpreter, "-c", code], env, suffix="probe")
        return subprocess.run(args, env=full, capture_output=True, text=True, timeout=300, stdin=subprocess.DEVNULL)

    def _in_script_mounts(self) -> list[str]:
        out = ["-v", f"{PACKAGE_DIR}:{LIB}/jupyter_amlrun:ro"]
        for dep in IN_SCRIPT_DEPS:
            found = importlib_util.find_spec(dep)
            if found is not None and found.origin:
                out += ["-v", f"{Path(found.origin).parent}:{LIB}/{dep}:ro"]
        return out

    def _input_mounts(self, env: dict[str, str]) -> list[str]:
        """Dataset inputs (mount or download) read-only at their own paths, outputs read-write."""
        out: list[str] = []
        seen: set[str] = set()
        for key, value in sorted(env.items()):
            if key.startswith(("AZURE_ML_INPUT_", "AZUREML_DATAREFERENCE_")):
                mode = ":ro"
            elif key.startswith("AZURE_ML_OUTPUT_"):
                mode = ""
            else:
                continue
            path = Path(value)
            if not path.is_absolute() or not path.exists() or value in seen:
                continue
            seen.add(value)
            out += ["-v", f"{value}:{value}{mode}"]
        return out

    def remove(self) -> None:
        """Kill and remove the run's containers (one, or one per node) if still there (a killed client leaves them
        running)."""
        # podman 4 removes none of the names when one is missing, unless --ignore; the script is over: no grace.
        flags = ["--ignore", "--time=0"] if self.engine.name == "podman" else []
        with contextlib.suppress(Exception):
            self.engine("rm", "-f", *flags, *dict.fromkeys([self.name, *self.started]), timeout=60)


def _inside(arg: str) -> str:
    """A host path under this package (the rank starter) as the container sees it (mounted under :data:`LIB`)."""
    for root in {str(PACKAGE_DIR), str(Path(__file__).parents[1])}:
        if arg.startswith(root + os.sep):
            return f"{LIB}/jupyter_amlrun{arg[len(root) :]}"
    return arg


# ------------------------------------------------------------------------------------------------ GPUs
def gpu_support(engine: Engine) -> str | None:
    """How the engine passes NVIDIA GPUs (``cdi`` for podman, ``gpus`` for docker), or None when it cannot."""
    if engine.name == "podman":
        for folder in (Path("/etc/cdi"), Path("/var/run/cdi")):
            for spec in sorted(folder.glob("*")) if folder.is_dir() else []:
                with contextlib.suppress(OSError):
                    if "nvidia.com/gpu" in spec.read_text(encoding="utf-8", errors="replace"):
                        return "cdi"
        return None
    info = engine("info", "--format", "{{json .Runtimes}}")
    return "gpus" if info.returncode == 0 and "nvidia" in info.stdout else None


def gpu_arguments(engine: Engine, gpus: list[str]) -> list[str]:
    """The engine's flags for these host GPUs (indexes or UUIDs): CDI devices for podman, ``--gpus`` for docker."""
    if not gpus:
        return []
    if engine.name == "podman":
        return [a for g in gpus for a in ("--device", f"nvidia.com/gpu={g}")]
    return ["--gpus", f'"device={",".join(gpus)}"']  # docker parses the value as CSV: the quotes keep the commas


# ------------------------------------------------------------------------------------------------ preparing
def prepare_container(driver: Driver) -> ContainerRun:
    """Everything before the script starts in its container: engine, image (found, pulled or derived), GPUs.

    Raises
    ------
    ContainerError
        No engine, no image, a failed build, a GPU the engine cannot pass, or a cancel (status Canceled).
    """
    spec, rf = driver.spec, driver.rf
    docker = dict(spec.extra.get("docker") or {})
    try:
        engine = from_record(docker.get("engine")) or require(docker.get("image"))
    except EngineError as exc:
        raise ContainerError(str(exc)) from None
    if spec.distributed:
        from jupyter_amlrun.compute.distributed import DistributedConfigError, topology

        with contextlib.suppress(DistributedConfigError):  # a bad config is said by the distributed step
            topo = topology(spec)
            if topo is not None and topo.kind != "pytorch":
                # mpirun starts every rank from node 0 over ssh-less fork: the image would need Open MPI itself.
                raise ContainerError(
                    f"Distributed runs ({spec.distributed.get('type')}) in containers are not supported: only "
                    "PyTorchConfiguration runs one container per node. Submit it without Docker "
                    "(DockerConfiguration(use_docker=False), env.docker.enabled = False), or use PyTorchConfiguration."
                )
    if driver._target_type() == "ray":
        raise ContainerError("Runs on a Ray cluster do not run in containers here: submit without Docker.")
    for path in (driver.ws_dir, PACKAGE_DIR):
        if ":" in str(path) or "," in str(path):
            raise ContainerError(
                f"The path {path} holds ':' or ',', which a container bind mount cannot express: move the workspace "
                "(or the installed package) to a path without them to run in a container."
            )
    image = str(docker.get("image") or "")
    dockerfile = str(docker.get("base_dockerfile") or "")
    if not image and not dockerfile:
        raise ContainerError("The run asks for Docker but names no image: set env.docker.base_image.")
    build_log = rf.root / "logs" / "azureml" / "20_image_build_log.txt"
    build_log.parent.mkdir(parents=True, exist_ok=True)
    driver.log(f"Container engine: {engine.describe()}")
    if not image:
        image = dockerfile_image(engine, dockerfile, driver.ws_dir, build_log, driver.log, rf.cancel_requested)
    definition = dict(spec.environment_definition or {})
    interpreter = str(definition.get("interpreter_path") or "python")
    packages = _packages(definition)
    if packages and not definition.get("user_managed"):
        image, interpreter = derived_image(
            engine, image, definition, packages, driver.ws_dir, build_log, driver.log, rf.cancel_requested
        )
    else:
        ensure_image(engine, image, build_log, driver.log, rf.cancel_requested)
    gpus = _slot_gpus(driver, engine, definition)
    driver.log(f"Container image {image}: the script runs with its {interpreter}")
    return ContainerRun(
        engine,
        rf.run_id,
        image,
        interpreter,
        driver.ws_dir,
        rf.workdir,
        docker,
        gpus,
        tuple(spec.environment_variables),
    )


def _slot_gpus(driver: Driver, engine: Engine, definition: dict[str, Any]) -> list[str] | None:
    share = driver.node_env(0).get(CUDA_ENV)
    if share is None:
        return None  # no pool GPUs on this machine
    gpus = [g for g in share.split(",") if g.strip()]
    if not gpus:
        return []
    if gpu_support(engine) is None:
        how = (
            "podman finds no NVIDIA CDI spec (/etc/cdi/nvidia.yaml: run `nvidia-ctk cdi generate --output "
            "/etc/cdi/nvidia.yaml`)"
            if engine.name == "podman"
            else "docker has no nvidia runtime (install the NVIDIA Container Toolkit)"
        )
        if definition.get("use_gpu"):
            raise ContainerError(f"The run asks for GPUs (its pool slot holds GPUs {share}) but {how}.")
        driver.log(f"Warning: the pool slot's GPUs {share} are not passed to the container: {how}.")
        return None
    return gpus


def _packages(definition: dict[str, Any]) -> list[str]:
    from jupyter_amlrun.runtime.envcache import conda_to_pip

    conda = [p for p in (conda_to_pip(str(c)) for c in definition.get("conda") or []) if p]
    return [str(p) for p in definition.get("pip") or []] + conda


def ensure_image(engine: Engine, image: str, build_log: Path, log: Callable[[str], None], cancel: Any) -> str:
    """The image's id: found locally, else pulled (output in the build log); a clear error naming the registry."""
    found = engine("image", "inspect", "--format", "{{.Id}}", image)
    if found.returncode == 0 and found.stdout.strip():
        log(f"Image {image} is on this machine ({found.stdout.strip()[:12]})")
        return found.stdout.strip()
    registry = registry_of(image)
    log(f"Image {image} is not on this machine: pulling it from {registry}")
    code = _stream([engine.cli, "pull", image], build_log, cancel, PULL_SECONDS)
    found = engine("image", "inspect", "--format", "{{.Id}}", image)
    if code == 0 and found.returncode == 0:
        return found.stdout.strip()
    tail = _tail(build_log, 3)
    raise ContainerError(
        f"The image {image!r} is not on this machine and could not be pulled from the registry {registry!r} "
        f"({engine.name} pull: {tail or 'no output'}). Pull or build it first ({engine.name} pull {image}, after "
        f"{engine.name} login {registry} for a private registry), or set env.docker.base_image to an image listed by "
        f"`{engine.name} images`."
    )


def _stream(cmd: list[str], out_path: Path, cancel: Callable[[], str | None], timeout: float) -> int:
    """Run ``cmd`` with its output appended to ``out_path``; a cancel request or the timeout kills it."""
    deadline = time.monotonic() + timeout
    with open(out_path, "ab") as out:
        out.write(("$ " + shlex.join(cmd) + "\n").encode())
        out.flush()
        proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT)
        while proc.poll() is None:
            reason = cancel()
            if reason or time.monotonic() > deadline:
                proc.kill()
                proc.wait()
                if reason:
                    raise ContainerError(reason, RunStatus.CANCELED)
                out.write(f"(stopped after {timeout:.0f} s)\n".encode())
                return -9
            time.sleep(POLL_SECONDS)
        return int(proc.returncode)


def _tail(path: Path, lines: int) -> str:
    with contextlib.suppress(OSError):
        text = path.read_text(encoding="utf-8", errors="replace").strip().splitlines()
        return " | ".join(line.strip() for line in text[-lines:] if line.strip())
    return ""


def image_key(base: str, definition: dict[str, Any], packages: list[str]) -> str:
    """A derived image's cache key: the base image's name and the packages (order does not matter). The base's id
    is a label of the derived image: a base pulled anew (another id) makes the next run rebuild under the same key."""
    doc = {"base": base, "packages": sorted(packages), "pip_options": list(definition.get("pip_options") or [])}
    return hashlib.sha256(json.dumps(doc, sort_keys=True).encode()).hexdigest()[:24]


def _built_on_current_base(engine: Engine, base: str, tag: str) -> bool:
    """Whether ``tag`` exists and was built on ``base``'s current id: one engine call for both images."""
    label = "{{index .Config.Labels " + json.dumps(BASE_LABEL) + "}}"
    out = engine("image", "inspect", "--format", "{{.Id}} " + label, base, tag)
    lines = [line.split(" ", 1) for line in out.stdout.splitlines() if line.strip()]
    return out.returncode == 0 and len(lines) == 2 and len(lines[1]) == 2 and lines[1][1].strip() == lines[0][0]


def derived_image(
    engine: Engine,
    base: str,
    definition: dict[str, Any],
    packages: list[str],
    ws_dir: Path,
    build_log: Path,
    log: Callable[[str], None],
    cancel: Callable[[], str | None],
) -> tuple[str, str]:
    """The base image plus the environment's packages (a virtualenv in the image): built once per key, reused after.

    Concurrent runs of one environment build once: the first holds the key's file lock, the others wait for it and
    then reuse its image. Returns (image, interpreter inside it).
    """
    from jupyter_amlrun.runtime.envcache import EnvironmentBuildError, cache_root, wait_lock

    key = image_key(base, definition, packages)
    tag = f"{IMAGE_REPO}:{key}"
    interpreter = f"{ENV_PREFIX}/bin/python"
    folder = images_dir(cache_root(ws_dir))
    record = folder / f"{key}.json"
    name = str(definition.get("name") or "environment")

    def reuse() -> bool:
        if not (record.exists() and _built_on_current_base(engine, base, tag)):
            return False
        with contextlib.suppress(OSError):
            os.utime(record)  # last use, for prune_cache(older_than_days=...)
        log(f"Environment {name!r}: reusing image {tag} (packages: {', '.join(packages)})")
        with open(build_log, "a", encoding="utf-8") as fh:
            fh.write(f"Reused cached image {tag} for environment {name!r}.\n")
        return True

    if reuse():  # the common case, without the lock
        return tag, interpreter
    try:
        lock = wait_lock(folder / ".locks" / f"{key}.build", cancel)
        with lock:
            if reuse():  # another run built it while we waited
                return tag, interpreter
            base_id = ensure_image(engine, base, build_log, log, cancel)
            log(f"Environment {name!r}: building image {tag} on {base} (packages: {', '.join(packages)})")
            started = time.monotonic()
            _build(engine, base, base_id, tag, key, definition, packages, build_log, cancel)
            doc = {
                "key": key,
                "name": name,
                "image": tag,
                "base_image": base,
                "base_id": base_id,
                "packages": packages,
                "python": interpreter,
                "engine": engine.name,
            }
            _write_record(record, doc)
            log(f"Environment {name!r}: image {tag} built in {time.monotonic() - started:.1f} s")
            return tag, interpreter
    except EnvironmentBuildError as exc:  # canceled while another run built this image
        raise ContainerError(str(exc), exc.status) from None


def dockerfile_image(
    engine: Engine,
    dockerfile: str,
    ws_dir: Path,
    build_log: Path,
    log: Callable[[str], None],
    cancel: Callable[[], str | None],
) -> str:
    """v1's ``env.docker.base_dockerfile``: the image built from that Dockerfile text (an empty build context), once
    per text; later runs reuse it. Returns its tag."""
    from jupyter_amlrun.runtime.envcache import EnvironmentBuildError, cache_root, wait_lock

    key = "df-" + hashlib.sha256(dockerfile.encode()).hexdigest()[:21]
    tag = f"{IMAGE_REPO}:{key}"
    folder = images_dir(cache_root(ws_dir))
    record = folder / f"{key}.json"
    try:
        with wait_lock(folder / ".locks" / f"{key}.build", cancel):
            if record.exists() and engine("image", "inspect", "--format", "{{.Id}}", tag).returncode == 0:
                with contextlib.suppress(OSError):
                    os.utime(record)
                log(f"Reusing image {tag} built from env.docker.base_dockerfile")
                with open(build_log, "a", encoding="utf-8") as fh:
                    fh.write(f"Reused cached image {tag} (base_dockerfile).\n")
                return tag
            log(f"Building image {tag} from env.docker.base_dockerfile")
            started = time.monotonic()
            context = Path(tempfile.mkdtemp(prefix="amlrun-dockerfile-"))
            try:
                (context / "Dockerfile").write_text(dockerfile, encoding="utf-8")
                cmd = [
                    engine.cli,
                    "build",
                    "--network=host",
                    "-t",
                    tag,
                    "-f",
                    str(context / "Dockerfile"),
                    str(context),
                ]
                code = _stream(cmd, build_log, cancel, PULL_SECONDS)
            finally:
                shutil.rmtree(context, ignore_errors=True)
            if code != 0:
                raise ContainerError(
                    f"Building the image from env.docker.base_dockerfile failed (exit code {code}); the end of "
                    f"logs/azureml/20_image_build_log.txt: {_tail(build_log, 5)}. Fix the Dockerfile (its FROM image "
                    "must be on this machine or pullable)."
                )
            _write_record(
                record,
                {"key": key, "name": "base_dockerfile", "image": tag, "packages": [], "python": "python"},
            )
            log(f"Image {tag} built in {time.monotonic() - started:.1f} s")
            return tag
    except EnvironmentBuildError as exc:
        raise ContainerError(str(exc), exc.status) from None


def _write_record(record: Path, doc: dict[str, Any]) -> None:
    record.parent.mkdir(parents=True, exist_ok=True)
    tmp = record.with_suffix(".tmp")
    tmp.write_text(json.dumps({**doc, "created": time.time()}, indent=1), encoding="utf-8")
    tmp.replace(record)


def _build(
    engine: Engine,
    base: str,
    base_id: str,
    tag: str,
    key: str,
    definition: dict[str, Any],
    packages: list[str],
    build_log: Path,
    cancel: Callable[[], str | None],
) -> None:
    py = str(definition.get("interpreter_path") or "python")
    options = [str(o) for o in definition.get("pip_options") or []]
    install = shlex.join(
        [
            f"{ENV_PREFIX}/bin/python",
            "-m",
            "pip",
            "install",
            "--no-input",
            "--disable-pip-version-check",
            "--no-cache-dir",
            *options,
            *packages,
        ]
    )
    script = f"set -e; {shlex.quote(py)} -m venv --system-site-packages {ENV_PREFIX}; {install}"
    builder = f"amlrun-build-{key[:16]}-{os.getpid()}"
    cmd = [engine.cli, "run", "--name", builder, "--label", f"amlrun.build={key}", "--network=host"]
    if (CERTS / "ca-certificates.crt").is_file():
        cmd += ["-v", f"{CERTS}:{CERTS}:ro", "-e", f"PIP_CERT={CERTS / 'ca-certificates.crt'}"]
    cmd += [a for k in BUILD_PASS_ENV if k in os.environ for a in ("-e", k)]
    cmd += [*engine.extra_args, base, "sh", "-c", script]
    try:
        code = _stream(cmd, build_log, cancel, PULL_SECONDS)
        if code != 0:
            raise ContainerError(
                f"Building the image for the environment's packages failed (exit code {code}); the end of "
                f"logs/azureml/20_image_build_log.txt: {_tail(build_log, 5)}. Fix the package list, or use a base "
                "image that has python3 with venv and pip."
            )
        committed = engine("commit", "--change", f"LABEL {BASE_LABEL}={base_id}", builder, tag, timeout=600)
        if committed.returncode != 0:
            raise ContainerError(f"Saving the built image {tag} failed: {committed.stderr.strip()[-500:]}")
    finally:
        engine("rm", "-f", builder, timeout=60)
