"""What a submission checks and records before any run exists, with no v1 class needed: the script's arguments
(inputs become placeholders), the source's git state, and what the run's container needs (engine, image, registry
login). ``core/_submit.py`` calls these with the ScriptRunConfig it validates."""

from __future__ import annotations

import hashlib
import numbers
import subprocess
from pathlib import Path
from typing import Any

from jupyter_amlrun.runtime import tags as T
from jupyter_amlrun.runtime.errors import UserErrorException

__all__ = ["check_docker", "docker_engine", "docker_spec", "git_info", "normalize_arguments", "registry_login"]


def normalize_arguments(arguments: list[Any]) -> tuple[list[str], list[dict[str, Any]]]:
    """Turn arguments into strings; dataset/datastore references become placeholders plus an input spec.

    A reference is any object with ``__amlrun_input__() -> (placeholder, spec)``; the driver swaps the placeholder for
    the real path on the target.
    """
    out: list[str] = []
    inputs: dict[str, dict[str, Any]] = {}
    for i, arg in enumerate(arguments):
        hook = getattr(arg, "__amlrun_input__", None)
        if callable(hook):
            placeholder, spec = hook()
            name = spec.get("name")
            if name in inputs and inputs[name] != spec:
                raise UserErrorException(
                    f"Two different inputs are named {name!r}; give each as_named_input() a distinct name."
                )
            inputs[name] = spec
            out.append(placeholder)
        elif isinstance(arg, str):
            out.append(arg)
        elif isinstance(arg, numbers.Number) and not isinstance(arg, complex):
            out.append(str(arg))
        elif type(arg).__name__ in ("FileDataset", "TabularDataset"):
            raise UserErrorException(
                "Dataset cannot be used directly in a run. If you are using a FileDataset and would like to mount or "
                "download the dataset, please call the as_mount or the as_download methods on the dataset object, "
                "e.g. dataset.as_named_input('input').as_mount()."
            )
        else:
            raise UserErrorException(
                f"Argument {i} ({arg!r}, a {type(arg).__name__}) is not supported: arguments must be strings, numbers "
                "or dataset/datastore references (dataset.as_named_input('x').as_mount()). Convert it with str() if "
                "the script should see its text."
            )
    return out, list(inputs.values())


def git_info(source: Path) -> dict[str, str]:
    """Git commit/branch/dirty of the source folder, as MLflow's source tags (nothing when not in a repo)."""
    probe = source
    while not (probe / ".git").exists():
        if probe.parent == probe:
            return {}
        probe = probe.parent

    def git(*args: str) -> str:
        try:
            return subprocess.run(
                ["git", *args], cwd=source, capture_output=True, text=True, timeout=5, check=False
            ).stdout.strip()
        except (OSError, subprocess.SubprocessError):
            return ""

    commit = git("rev-parse", "HEAD")
    if not commit:
        return {}
    info = {
        T.GIT_COMMIT: commit,
        T.GIT_BRANCH: git("rev-parse", "--abbrev-ref", "HEAD"),
        T.GIT_DIRTY: str(bool(git("status", "--porcelain", "--untracked-files=no"))),
    }
    remote = git("config", "--get", "remote.origin.url")
    if remote:
        info[T.GIT_REPO_URL] = remote
    return info


def docker_engine() -> str | None:
    """The Docker or Podman CLI whose engine answers here, or None (probed once per process)."""
    from jupyter_amlrun._util.engine import detect

    engine = detect()
    return engine.cli if engine is not None else None


def docker_spec(config: Any) -> dict[str, Any] | None:
    """What the run's container needs (the run's ``spec.json`` ``extra["docker"]``), or None for a run without one.

    v1's switches: ``DockerConfiguration(use_docker=True)`` (``run_config.docker``) or the older
    ``env.docker.enabled``; an estimator's ``custom_docker_image`` sets the latter. The run's DockerConfiguration gives
    ``shm_size`` and ``arguments`` when it asks for Docker itself, else the environment's docker section does.
    """
    rc = config.run_config
    env = rc.environment
    from_rc = bool(rc.docker.use_docker)
    if not from_rc and not (env is not None and env.docker.enabled):
        return None
    section = env.docker if env is not None else None
    source: Any = rc.docker if from_rc else section
    from jupyter_amlrun._util.engine import detect

    engine = detect()  # probed once per process: the driver takes it from here instead of probing again
    dockerfile = section.base_dockerfile if section is not None else None
    if dockerfile and "\n" not in dockerfile and Path(dockerfile).expanduser().is_file():
        dockerfile = Path(dockerfile).expanduser().read_text(encoding="utf-8")  # v1: the text or a file's path
    return {
        "image": section.base_image if section is not None else None,
        "base_dockerfile": dockerfile,
        "shm_size": getattr(source, "shm_size", None),
        "arguments": [str(a) for a in getattr(source, "arguments", None) or []],
        "engine": [engine.cli, engine.name, engine.version] if engine is not None else None,
    }


_logged_in: set[tuple[str, str, str]] = set()


def registry_login(engine: Any, registry: Any) -> None:
    """Hand a private registry's password to the engine's own login (its credential store keeps it, never ours)."""
    key = (str(registry.address), str(registry.username or ""), hashlib.sha256(registry.password.encode()).hexdigest())
    if key in _logged_in:
        return
    if not registry.username:
        raise UserErrorException(
            f"env.docker.base_image_registry for {registry.address!r} has a password but no username: set username."
        )
    try:
        out = subprocess.run(
            [engine.cli, "login", "--username", str(registry.username), "--password-stdin", str(registry.address)],
            input=registry.password,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
    except (OSError, subprocess.SubprocessError) as exc:
        raise UserErrorException(f"Logging in to the registry {registry.address!r} failed: {exc}") from None
    if out.returncode != 0:
        said = (out.stderr or out.stdout).strip().splitlines()[-1:] or ["no output"]
        raise UserErrorException(
            f"Logging in to the registry {registry.address!r} as {registry.username!r} failed ({engine.name} login: "
            f"{said[0]}). Check env.docker.base_image_registry's address, username and password."
        )
    _logged_in.add(key)


def check_docker(config: Any) -> None:
    """A run that asks for Docker needs an engine that answers and an image to start from; refused here otherwise.

    Whether the image is on this machine (or can be pulled) is the driver's first step at Preparing: a pull may take
    minutes, and its failure ends the run Failed there with the engine's words.
    """
    docker = docker_spec(config)
    if docker is None:
        return
    from jupyter_amlrun._util.engine import EngineError, require

    try:
        engine = require(docker["image"])
    except EngineError as exc:
        raise UserErrorException(str(exc)) from None
    env = config.run_config.environment
    registry = getattr(env.docker, "base_image_registry", None) if env is not None else None
    if registry is not None and registry.address and registry.password:
        registry_login(engine, registry)
    if not docker["image"] and not docker["base_dockerfile"]:
        raise UserErrorException(
            "The run asks for Docker but its environment names no image: set env.docker.base_image "
            "(e.g. 'python:3.11-slim' or an image listed by `podman images`)."
        )
    for arg in docker["arguments"]:
        if "\x00" in arg:
            raise UserErrorException("DockerConfiguration(arguments=...) cannot hold a NUL byte.")
