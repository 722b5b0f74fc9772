"""The v1 ``Run`` members beyond tracking (constants, snapshots, listing by compute), as a mixin ``Run`` inherits.

Kept apart from run.py so the run's read/write code stays small; everything here uses Run's public API.
"""

from __future__ import annotations

import builtins
import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from jupyter_amlrun.runtime.errors import UserErrorException

if TYPE_CHECKING:
    from jupyter_amlrun.core.run import Run

DOCS_URL = "docs/v1-surface.md"  # what each v1 name means here

#: Run types a program registered with ``Run.add_type_provider`` (v1 hook): run type -> factory.
TYPE_PROVIDERS: dict[str, Callable[..., Any]] = {}


class RunV1Mixin:
    """v1 members of ``Run`` that need no access to its internals."""

    # v1's path templates (used to build service URLs there); here they name the local store's parts.
    DELIM = "/"
    WORKSPACE_FMT = "workspaces/{workspace_name}"
    EXPERIMENT_NAME_PATH = "experiments/{experiment_name}"
    EXPERIMENT_ID_PATH = "experiments/{experiment_id}"
    RUN_PATH = "runs/{run_id}"
    TID_FMT = "{run_id}"
    RUN_TYPE = "azureml.scriptrun"  # v1's run type of a submitted script (ScriptRun)

    @classmethod
    def add_type_provider(cls, runtype: str, run_factory: Callable[..., Any]) -> None:
        """Register ``run_factory`` for runs of ``runtype`` (kept in :data:`TYPE_PROVIDERS`)."""
        if not isinstance(runtype, str) or not runtype or not callable(run_factory):
            raise UserErrorException("add_type_provider(runtype, run_factory) takes a run type name and a callable.")
        TYPE_PROVIDERS[runtype] = run_factory

    @staticmethod
    def get_docs_url() -> str:
        """Where the v1 names are explained for this project (docs/v1-surface.md)."""
        return DOCS_URL

    @staticmethod
    def get_submitted_run(**kwargs: Any) -> Run:
        """v1's deprecated name for :meth:`Run.get_context`."""
        from jupyter_amlrun.core.run import Run

        return Run.get_context(**kwargs)

    @property
    def identity(self: Any) -> str:
        """A stable label for logs: ``Run#<run id>``."""
        return f"{type(self).__name__}#{self.id}"

    @property
    def portal_url(self: Any) -> str:
        """The URL that opens this run in the sidebar (same as :meth:`get_portal_url`)."""
        return str(self.get_portal_url())

    @staticmethod
    def list_by_compute(
        compute: Any,
        type: str | None = None,
        tags: Any = None,
        properties: dict[str, str] | None = None,
        status: str | None = None,
    ) -> Iterator[Run]:
        """Runs of every experiment of the compute target's workspace that ran on ``compute`` (newest first per
        experiment), filtered like :meth:`Run.list`."""
        from jupyter_amlrun.core.experiment import Experiment
        from jupyter_amlrun.core.run import Run

        workspace = getattr(compute, "workspace", None)
        name = getattr(compute, "name", None)
        if workspace is None or not isinstance(name, str):
            raise UserErrorException("list_by_compute needs a ComputeTarget, e.g. ComputeTarget(ws, 'cpu-cluster').")
        for exp in Experiment.list(workspace):
            for run in Run.list(exp, type=type, tags=tags, properties=properties, status=status):
                if run.get_details().get("target") == name:
                    yield run

    def diff(self: Any, other: Run) -> dict[str, Any]:
        """What differs between this run and ``other``: ``params``, ``metrics`` (last values side by side),
        ``code`` (files added, removed, changed, with a unified diff per changed text file), ``environment`` and
        ``inputs``. See :func:`jupyter_amlrun.runtime.diff.diff_runs` for the shape.

        Raises
        ------
        UserErrorException
            When ``other`` is not a run, or is a run of another workspace.
        """
        from jupyter_amlrun.core.run import Run
        from jupyter_amlrun.runtime.diff import DiffSide, diff_runs

        if not isinstance(other, Run):
            raise UserErrorException(f"run.diff(other) takes another Run, got {type(other).__name__}.")
        sides = [
            DiffSide(
                Path(r.experiment.workspace.path),
                r.experiment.workspace.name,
                r.id,
                r.reader.refresh(),
                r.folder.read_spec(),
            )
            for r in (self, other)
        ]
        return diff_runs(sides[0], sides[1])

    def get_system_metrics(self: Any) -> dict[str, builtins.list[tuple[int, float, float]]]:
        """The samples the run's driver took of the script's process tree (``system/...`` names, as MLflow's
        system metrics): name -> ``[(step, epoch seconds, value), ...]`` in sample order.

        ``get_metrics()`` leaves these out; the interval is ``AMLRUN_SYSTEM_METRICS_SECONDS`` (default 5, 0: off),
        see :mod:`jupyter_amlrun.compute.sysmetrics`.
        """
        out: dict[str, builtins.list[tuple[int, float, float]]] = {}
        for rec in self.reader.metrics().records:
            name = str(rec.get("n"))
            if rec.get("k") == "scalar" and name.startswith("system/"):
                out.setdefault(name, []).append(
                    (int(rec.get("s") or 0), float(rec.get("t") or 0) / 1000, float(rec["v"]))
                )
        return {k: sorted(v) for k, v in sorted(out.items())}

    def resubmit(
        self: Any,
        arguments: builtins.list[Any] | None = None,
        environment: Any = None,
        compute_target: Any = None,
    ) -> Run:
        """Submit a new run of this run's script from this run's source snapshot (not the folder as it is now),
        with the changes given (``None`` keeps this run's); the new run has the tag ``resubmit_of`` = this run's id.
        A HyperDrive child is re-run the same way (with its sampled arguments, or the ones given).

        Parameters
        ----------
        arguments:
            The script's arguments, replacing this run's.
        environment:
            An :class:`Environment`; default: the one this run was submitted with.
        compute_target:
            A compute target or its name; default: this run's.
        """
        from jupyter_amlrun.core.resubmit import resubmit

        return resubmit(self, arguments, environment, compute_target)

    def take_snapshot(self: Any, file_or_folder_path: str | os.PathLike[str]) -> str:
        """Snapshot a folder (or one file) into the workspace's snapshot store; returns its id, which
        ``run.restore_snapshot(snapshot_id)`` restores."""
        import tempfile

        from jupyter_amlrun.runtime.snapshot import SnapshotStore

        path = Path(file_or_folder_path)
        if not path.exists():
            raise UserErrorException(f"take_snapshot: {path} does not exist.")
        store = SnapshotStore(self.experiment.workspace.path)
        if path.is_dir():
            return str(store.take(path).id)
        with tempfile.TemporaryDirectory() as tmp:  # one file: snapshot a folder holding just it
            (Path(tmp) / path.name).write_bytes(path.read_bytes())
            return str(store.take(tmp).id)


def get_run(experiment: Any, run_id: str, rehydrate: bool = True, clean_up: bool = True) -> Run:
    """The run ``run_id`` of ``experiment`` (v1's module function; same as ``Run(experiment, run_id)``)."""
    from jupyter_amlrun.core.run import Run

    return Run(experiment, run_id)


class _OfflineRunMeta(type):
    def __instancecheck__(cls, obj: object) -> bool:
        from jupyter_amlrun.runtime.offline import OfflineRun as offline

        return isinstance(obj, offline)


class _OfflineRun(metaclass=_OfflineRunMeta):
    """v1's (private) class of the offline run: ``isinstance(Run.get_context(), _OfflineRun)`` is true outside a
    submitted run, as v1 scripts test it."""


class InputDatasets(dict[str, Any]):
    """The named input datasets of a run (v1 type of ``run.input_datasets``): name -> dataset or path."""

    def __init__(self, workspace: Any = None, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.workspace = workspace


class OutputDatasets(dict[str, Any]):
    """The named output datasets of a run (v1 type of ``run.output_datasets``): name -> local folder."""

    def __init__(self, workspace: Any = None, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.workspace = workspace


class LinkOutput:
    """A named link to a run's output (v1 pipelines' link outputs): carries the name only."""

    def __init__(self, workspace: Any = None, name: str = "") -> None:
        self.workspace = workspace
        self.name = name

    def link(self, *args: Any, **kwargs: Any) -> Any:
        """Pipelines' link outputs are not provided here."""
        from jupyter_amlrun.runtime.errors import not_supported

        raise not_supported(
            "LinkOutput.link", "Pipelines are not provided; pass an OutputFileDatasetConfig to the run instead."
        )


__all__: builtins.list[str] = [
    "TYPE_PROVIDERS",
    "InputDatasets",
    "LinkOutput",
    "OutputDatasets",
    "RunV1Mixin",
    "get_run",
]
