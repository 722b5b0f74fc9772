"""Submitting a ScriptRunConfig: validate, snapshot, create the MLflow run, launch the driver.

Everything that can reject the submission happens before the MLflow run exists, so a rejected submit leaves nothing
behind.
"""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from jupyter_amlrun.core.experiment import new_run_name
from jupyter_amlrun.runtime import tags as T
from jupyter_amlrun.runtime.errors import UserErrorException
from jupyter_amlrun.runtime.launch import start_new_run
from jupyter_amlrun.runtime.runfolder import RunFolder, RunSpec
from jupyter_amlrun.runtime.status import RunStatus
from jupyter_amlrun.runtime.submitchecks import check_docker, docker_spec, git_info, normalize_arguments

if TYPE_CHECKING:
    from jupyter_amlrun.core.contracts import ComputeBackend
    from jupyter_amlrun.core.experiment import Experiment
    from jupyter_amlrun.core.run import Run
    from jupyter_amlrun.core.runconfig import ScriptRunConfig


@dataclass
class _Validated:
    """A submission that passed every check: what the later steps need."""

    source: Path
    script: str  # relative to source, posix
    backend: ComputeBackend
    arguments: list[str]
    inputs: list[dict[str, Any]]
    tags: dict[str, str]


def submit_script_run(experiment: Experiment, config: ScriptRunConfig, tags: dict[str, str] | None) -> Run:
    """Validate, snapshot, create the MLflow run, launch its driver; return the Run at once."""
    from jupyter_amlrun.core.run import Run
    from jupyter_amlrun.runtime.snapshot import SnapshotStore

    ws = experiment.workspace
    checked = _validate(experiment, config, tags)
    snapshot = SnapshotStore(ws.path).take(checked.source)
    record = start_new_run(
        experiment,
        new_run_name(experiment.name),
        _run_tags(config, checked, snapshot.id),
        {
            "script": checked.script,
            "arguments": " ".join(checked.arguments),
            "compute_target": config.run_config.target,
        },
        prepare=lambda rf: _write_spec(experiment, config, checked, snapshot.id, rf),
        start=checked.backend.launch,
        failure=f"Could not start the run on {config.run_config.target!r}",
    )
    return Run(experiment, record.run_id, _record=record)


def _validate(experiment: Experiment, config: ScriptRunConfig, tags: dict[str, str] | None) -> _Validated:
    """Every check that can reject the submission, before anything is stored."""
    from jupyter_amlrun.core.computetarget import resolve_backend

    rc = config.run_config
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
    backend = resolve_backend(experiment.workspace, rc.target)
    arguments, inputs = normalize_arguments(list(rc.arguments))
    # A NUL cannot pass through exec(): refuse here, before a run record exists, not later in the driver.
    for i, arg in enumerate(arguments):
        if "\x00" in arg:
            raise UserErrorException(
                f"Argument {i} ({arg.replace(chr(0), '<NUL>')[:80]!r}) contains a NUL byte, which a process argument "
                "cannot hold. Remove it (pass binary data through a file or a dataset instead)."
            )
    for key, value in rc.environment_variables.items():
        if isinstance(key, str) and isinstance(value, str) and ("\x00" in key or "\x00" in value or "=" in key):
            raise UserErrorException(
                f"Environment variable {key.replace(chr(0), '<NUL>')!r}: names cannot hold '=' or NUL and values "
                "cannot hold NUL. Fix environment_variables."
            )
    # v1: inputs given in run_config.data (not only in arguments) are materialised too; so are outputs there.
    for ref in (rc.data or {}).values():
        hook = getattr(ref, "__amlrun_input__", None)
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
    for key, value in rc.environment_variables.items():
        if not isinstance(key, str) or not isinstance(value, str):
            raise UserErrorException("environment_variables must map str -> str.")
    check_docker(config)
    backend.validate(rc)
    user_tags = {str(k): str(v) for k, v in (tags or {}).items()}
    return _Validated(src, script_path.relative_to(src).as_posix(), backend, arguments, inputs, user_tags)


_LINEAGE_KEYS = (
    "name",
    "mode",
    "kind",
    "dataset_name",
    "dataset_version",
    "dataset_id",
    "datastore",
    "path_on_datastore",
)
_OUTPUT_LINEAGE_KEYS = ("name", "mode", "datastore", "path")


def _run_tags(config: ScriptRunConfig, checked: _Validated, snapshot_id: str) -> dict[str, str]:
    """The MLflow tags of a new script run: what was submitted, where, by whom, from which commit."""
    from jupyter_amlrun.core.run import current_user

    rc = config.run_config
    env = rc.environment
    assert env is not None
    run_tags: dict[str, str] = {
        T.STATUS: RunStatus.NOT_STARTED.value,
        T.RUN_TYPE: "azureml.scriptrun",
        T.TARGET: rc.target,
        T.SCRIPT: checked.script,
        T.ARGUMENTS: json.dumps(checked.arguments),
        T.SNAPSHOT_ID: snapshot_id,
        T.SOURCE_DIRECTORY: str(checked.source),
        T.ENVIRONMENT: env.name,
        T.ENVIRONMENT_HASH: env.content_hash(),
        T.NODE_COUNT: str(rc.node_count),
        T.SOURCE_NAME: checked.script,
        T.SOURCE_TYPE: "LOCAL",
        T.USER: current_user(),
        **git_info(checked.source),
    }
    if rc.max_run_duration_seconds is not None:
        run_tags[T.MAX_RUN_DURATION_SECONDS] = str(rc.max_run_duration_seconds)
    inputs = [i for i in checked.inputs if i.get("kind") != "output"]
    outputs = [i for i in checked.inputs if i.get("kind") == "output"]
    if inputs:
        lineage = [{k: i[k] for k in _LINEAGE_KEYS if i.get(k) is not None} for i in inputs]
        run_tags[T.INPUTS] = json.dumps(lineage)
    if outputs:
        # What was declared (path still a template); the driver replaces it with the resolved destinations.
        declared = [{k: o[k] for k in _OUTPUT_LINEAGE_KEYS if o.get(k) is not None} for o in outputs]
        run_tags[T.OUTPUTS] = json.dumps(declared)
    run_tags.update(checked.tags)
    return run_tags


def _write_spec(
    experiment: Experiment, config: ScriptRunConfig, checked: _Validated, snapshot_id: str, rf: RunFolder
) -> None:
    """Write the run's ``spec.json``: everything its driver needs (the submit pipeline then starts it)."""
    ws = experiment.workspace
    rc = config.run_config
    env = rc.environment
    assert env is not None
    spec = RunSpec(
        run_id=rf.run_id,
        experiment=experiment.name,
        experiment_id=experiment.id,
        workspace=str(ws.path),
        script=checked.script,
        arguments=checked.arguments,
        inputs=checked.inputs,
        snapshot_id=snapshot_id,
        interpreter=sys.executable,  # Preparing replaces it by the environment's (runtime/envcache.py)
        environment=env.name,
        environment_definition={**env._build_definition(), "use_gpu": bool(getattr(config, "use_gpu", False))},
        environment_variables=dict(rc.environment_variables),
        target=rc.target,
        node_count=rc.node_count,
        distributed=_dist_spec(rc.distributed_job_config),
        max_run_duration_seconds=rc.max_run_duration_seconds,
        extra={"docker": docker} if (docker := docker_spec(config)) else {},
    )
    rf.write_spec(spec)


def _dist_spec(dist: Any) -> dict[str, Any] | None:
    if dist is None:
        return None
    d = {k: v for k, v in vars(dist).items() if not k.startswith("_")}
    d["type"] = type(dist).__name__
    return d
