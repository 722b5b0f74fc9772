"""Submitting a ScriptRunConfig: validate, snapshot, create the MLflow run, launch the driver.

Everything that can reject the submission happens before the MLflow run exists, so a rejected submit leaves nothing
behind.
"""

from __future__ import annotations

import contextlib
import json
import numbers
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from jupyter_amlrun.core._runstate import RunFolder
from jupyter_amlrun.core.errors import ExperimentExecutionException, UserErrorException
from jupyter_amlrun.core.experiment import new_run_name
from jupyter_amlrun.core.status import RunStatus

if TYPE_CHECKING:
    from jupyter_amlrun.core.experiment import Experiment
    from jupyter_amlrun.core.run import Run
    from jupyter_amlrun.core.runconfig import ScriptRunConfig


def normalize_arguments(arguments: list[Any]) -> tuple[list[str], list[dict[str, Any]]]:
    """Turn arguments into strings; dataset/datastore references become placeholders plus an input spec.

    A reference is any object with ``_amlrun_input() -> (placeholder, spec)``; the driver swaps the placeholder for
    the real path on the target.
    """
    out: list[str] = []
    inputs: dict[str, dict[str, Any]] = {}
    for i, arg in enumerate(arguments):
        hook = getattr(arg, "_amlrun_input", None)
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


def _git_info(source: Path) -> dict[str, str]:
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
        "mlflow.source.git.commit": commit,
        "mlflow.source.git.branch": git("rev-parse", "--abbrev-ref", "HEAD"),
        "amlrun.git.dirty": str(bool(git("status", "--porcelain", "--untracked-files=no"))),
    }
    remote = git("config", "--get", "remote.origin.url")
    if remote:
        info["mlflow.source.git.repoURL"] = remote
    return info


def submit_script_run(experiment: Experiment, config: ScriptRunConfig, tags: dict[str, str] | None) -> Run:
    from jupyter_amlrun.compute.target import resolve_backend
    from jupyter_amlrun.core.run import TAG_TYPE, Run, _user
    from jupyter_amlrun.core.snapshot import SnapshotStore

    ws = experiment.workspace
    rc = config.run_config
    # 1. validate
    src = Path(config.source_directory).expanduser()
    if not src.is_dir():
        raise UserErrorException(
            f"source_directory {str(src)!r} does not exist (resolved: {src.resolve()}). Create it or fix the path."
        )
    src = src.resolve()
    script = rc.script
    if not script:
        raise UserErrorException("ScriptRunConfig needs script=, the entry script's path inside source_directory.")
    script_path = (src / script).resolve()
    if not script_path.is_relative_to(src):
        raise UserErrorException(
            f"script {script!r} is outside source_directory {src}; move it into the folder and pass its relative path."
        )
    if not script_path.is_file():
        present = sorted(p.name for p in src.glob("*.py"))[:20]
        raise UserErrorException(
            f"script {script!r} not found in source_directory {src}. Python files there: {present or 'none'}."
        )
    backend = resolve_backend(ws, rc.target)
    arguments, inputs = normalize_arguments(list(rc.arguments))
    # v1: inputs given in run_config.data (not only in arguments) are materialised too.
    for ref in (rc.data or {}).values():
        hook = getattr(ref, "_amlrun_input", None)
        if not callable(hook):
            raise UserErrorException(
                f"run_config.data values must be dataset inputs (dataset.as_named_input('x').as_mount()), got "
                f"{type(ref).__name__}."
            )
        _placeholder, spec = hook()
        if all(i.get("name") != spec.get("name") for i in inputs):
            inputs.append(spec)
    if tags is not None and not isinstance(tags, dict):
        raise UserErrorException("tags must be a dict of str -> str.")
    max_seconds = rc.max_run_duration_seconds
    if max_seconds is not None and (not isinstance(max_seconds, int | float) or max_seconds <= 0):
        raise UserErrorException(f"max_run_duration_seconds must be a positive number, got {max_seconds!r}.")
    env = rc.environment
    assert env is not None
    for key, value in rc.environment_variables.items():
        if not isinstance(key, str) or not isinstance(value, str):
            raise UserErrorException("environment_variables must map str -> str.")
    dist = rc.distributed_job_config
    backend.validate(rc)
    # 2. snapshot
    snapshot = SnapshotStore(ws.path).take(src)
    # 3. the run record
    rel_script = script_path.relative_to(src).as_posix()
    run_tags: dict[str, str] = {
        "amlrun.status": RunStatus.NOT_STARTED,
        TAG_TYPE: "azureml.scriptrun",
        "amlrun.target": rc.target,
        "amlrun.script": rel_script,
        "amlrun.arguments": json.dumps(arguments),
        "amlrun.snapshot_id": snapshot.id,
        "amlrun.source_directory": str(src),
        "amlrun.environment": env.name,
        "amlrun.environment_hash": env.content_hash(),
        "amlrun.node_count": str(rc.node_count),
        "mlflow.source.name": rel_script,
        "mlflow.source.type": "LOCAL",
        "mlflow.user": _user(),
        **_git_info(src),
    }
    if max_seconds is not None:
        run_tags["amlrun.max_run_duration_seconds"] = str(max_seconds)
    if inputs:
        lineage = (
            "name",
            "mode",
            "kind",
            "dataset_name",
            "dataset_version",
            "dataset_id",
            "datastore",
            "path_on_datastore",
        )
        run_tags["amlrun.inputs"] = json.dumps([{k: i[k] for k in lineage if i.get(k) is not None} for i in inputs])
    for k, v in (tags or {}).items():
        run_tags[str(k)] = str(v)
    params = {"script": rel_script, "arguments": " ".join(arguments), "compute_target": rc.target}
    record = ws.store.create_run(experiment.id, new_run_name(experiment.name), run_tags, params)
    rf = RunFolder(ws.path, record.run_id)
    try:
        rf.root.mkdir(parents=True, exist_ok=False)
        spec = {
            "run_id": record.run_id,
            "experiment": experiment.name,
            "experiment_id": experiment.id,
            "workspace": str(ws.path),
            "script": rel_script,
            "arguments": arguments,
            "inputs": inputs,
            "snapshot_id": snapshot.id,
            "interpreter": env.python.interpreter_path if env.python.user_managed_dependencies else sys.executable,
            "environment": env.name,
            "environment_variables": dict(rc.environment_variables),
            "target": rc.target,
            "node_count": rc.node_count,
            "distributed": _dist_spec(dist),
            "max_run_duration_seconds": max_seconds,
        }
        from jupyter_amlrun.core._files import write_json_atomic

        write_json_atomic(rf.spec_path, spec)
        rf.write_state({"created": time.time(), "status": RunStatus.NOT_STARTED, "history": []})
        backend.launch(rf)
    except Exception as exc:
        # Leave nothing half-made behind.
        with contextlib.suppress(Exception):
            ws.store.delete_run(record.run_id)
        shutil.rmtree(rf.root, ignore_errors=True)
        raise ExperimentExecutionException(f"Could not start the run on {rc.target!r}: {exc}") from exc
    return Run(experiment, record.run_id, _record=record)


def _dist_spec(dist: Any) -> dict[str, Any] | None:
    if dist is None:
        return None
    d = {k: v for k, v in vars(dist).items() if not k.startswith("_")}
    d["type"] = type(dist).__name__
    return d
