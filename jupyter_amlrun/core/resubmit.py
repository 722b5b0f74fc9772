"""Re-run with changes: a new run from an ended or live run's own source snapshot (not its folder as it is now), with
other arguments, environment or compute target (``run.resubmit(...)``), tagged with the run it came from."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

from jupyter_amlrun.runtime import tags as T
from jupyter_amlrun.runtime.errors import SnapshotException, UserErrorException

if TYPE_CHECKING:
    from jupyter_amlrun.core.environment import Environment
    from jupyter_amlrun.core.run import Run
    from jupyter_amlrun.runtime.runfolder import RunSpec

#: The user tag a re-run carries: the id of the run it came from.
RESUBMIT_OF = "resubmit_of"


def _environment_of(spec: RunSpec) -> Environment:
    """The environment the run was submitted with, rebuilt from its ``spec.json`` definition."""
    from jupyter_amlrun.core.environment import CondaDependencies, Environment

    d = spec.environment_definition or {}
    env = Environment(str(d.get("name") or spec.environment or "resubmitted"))
    env.version = d.get("version")
    deps = CondaDependencies()
    for package in d.get("pip") or []:
        deps.add_pip_package(str(package))
    for option in d.get("pip_options") or []:
        deps.set_pip_option(str(option))
    for package in d.get("conda") or []:
        deps.add_conda_package(str(package))
    for channel in d.get("channels") or []:
        deps.add_channel(str(channel))
    if d.get("python"):
        deps.set_python_version(str(d["python"]))
    env.python.conda_dependencies = deps
    env.python.user_managed_dependencies = bool(d.get("user_managed"))
    if d.get("interpreter_path"):
        env.python.interpreter_path = str(d["interpreter_path"])
    if d.get("pin_policy"):
        env.pin_policy = str(d["pin_policy"])
    docker = spec.extra.get("docker") or {}
    if docker.get("image"):
        env.docker.enabled = True
        env.docker.base_image = str(docker["image"])
    return env


def resubmit(
    run: Run,
    arguments: list[Any] | None = None,
    environment: Environment | None = None,
    compute_target: Any = None,
) -> Run:
    """Submit a new run of ``run``'s script from ``run``'s snapshot; ``None`` keeps what ``run`` had.

    Raises
    ------
    UserErrorException
        When ``run`` was not submitted from a script (an interactive run, a sweep's parent: its children can be re-run),
        its run folder is gone, or it had dataset inputs (they are not re-bound yet: submit a ScriptRunConfig with
        them).
    SnapshotException
        When ``run``'s snapshot is no longer in the workspace.
    """
    from jupyter_amlrun.core.runconfig import ScriptRunConfig
    from jupyter_amlrun.runtime.snapshot import SnapshotStore

    spec = run.folder.read_spec()
    if spec is None or not spec.snapshot_id:
        if run.type == "hyperdrive":  # its children ran the script, it did not
            raise UserErrorException(
                f"Run {run.id} is a sweep (HyperDrive) parent, which ran no script itself: re-run one of its "
                "children (run.get_children(), or run.get_best_run_by_primary_metric()) with resubmit, or submit "
                "the HyperDriveConfig again."
            )
        raise UserErrorException(
            f"Run {run.id} cannot be re-run: it was not submitted from a script (an interactive run, or a child "
            "started with run.child_run()), or its run folder was removed. Submit a ScriptRunConfig instead."
        )
    if spec.inputs:
        raise UserErrorException(
            f"Run {run.id} has dataset inputs or outputs ({', '.join(str(i.get('name')) for i in spec.inputs)}), "
            "which resubmit does not re-bind yet. Submit a ScriptRunConfig with the datasets in its arguments."
        )
    if arguments is not None and not isinstance(arguments, list | tuple):
        raise UserErrorException(f"arguments must be a list (like ['--lr', 0.1]), got {type(arguments).__name__}.")
    ws = run.experiment.workspace
    store = SnapshotStore(Path(ws.path))
    if not store.manifest_path(spec.snapshot_id).exists():
        raise SnapshotException(
            f"Run {run.id}'s snapshot {spec.snapshot_id} is no longer in the workspace (pruned), so it cannot be "
            "re-run from it. Submit a ScriptRunConfig from the source folder instead."
        )
    target = compute_target if compute_target is not None else spec.target
    with tempfile.TemporaryDirectory(prefix="amlrun-resubmit-") as tmp:
        src = Path(tmp) / "src"
        store.restore(spec.snapshot_id, src)
        config = ScriptRunConfig(
            source_directory=str(src),
            script=spec.script,
            arguments=list(arguments) if arguments is not None else list(spec.arguments),
            compute_target=target,
            environment=environment if environment is not None else _environment_of(spec),
        )
        rc = config.run_config
        rc.environment_variables = dict(spec.environment_variables)
        rc.node_count = spec.node_count
        if spec.max_run_duration_seconds is not None:
            rc.max_run_duration_seconds = int(spec.max_run_duration_seconds)
        new = run.experiment.submit(config, tags={RESUBMIT_OF: run.id})
    # The snapshot is the same; its source folder is the original run's, not the temporary copy it was read from.
    original = run.reader.refresh().tags.get(T.SOURCE_DIRECTORY)
    if original:
        ws.store.set_tags(new.id, {T.SOURCE_DIRECTORY: original})
    return new
