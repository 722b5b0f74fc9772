"""Experiment: a named group of runs (an MLflow experiment)."""

from __future__ import annotations

import builtins
import html
import re
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from jupyter_amlrun.runtime import tags as T
from jupyter_amlrun.runtime.errors import SnapshotException, UserErrorException
from jupyter_amlrun.runtime.lifecycle import mirror_status
from jupyter_amlrun.runtime.runfolder import RunFolder
from jupyter_amlrun.runtime.status import RunStatus

if TYPE_CHECKING:
    from jupyter_amlrun.core.run import Run
    from jupyter_amlrun.core.workspace import Workspace

_NAME_RE = re.compile(r"^[a-zA-Z0-9][\w\-]{0,254}$")
NAME_RULE = (
    "Experiment name must be between 1 and 255 characters long. Its first character has to be alphanumeric, and "
    "the rest may contain hyphens and underscores. No whitespace is allowed."
)


def validate_experiment_name(name: Any) -> str:
    if not isinstance(name, str) or not _NAME_RE.match(name):
        raise UserErrorException(f"Invalid experiment name {name!r}. {NAME_RULE}")
    return name


def new_run_name(experiment_name: str) -> str:
    """v1's run naming: ``<experiment>_<unix time>_<8 hex>``."""
    return f"{experiment_name}_{int(time.time())}_{uuid.uuid4().hex[:8]}"


class ViewType:
    """Which experiments ``Experiment.list`` shows (v1); archiving is not supported, so every view is all of them."""

    ActiveOnly = "ActiveOnly"
    ArchivedOnly = "ArchivedOnly"
    All = "All"


class Experiment:
    """A named collection of runs in a workspace.

    Parameters
    ----------
    workspace:
        The :class:`Workspace`.
    name:
        Experiment name (v1 rule: 1-255 characters, alphanumeric first, then letters, digits, '-' or '_').
    """

    def __init__(self, workspace: Workspace, name: str, _skip_name_validation: bool = False, **kwargs: Any) -> None:
        if not _skip_name_validation:
            validate_experiment_name(name)
        self._workspace = workspace
        self._name = name
        self._id: str | None = None

    @property
    def workspace(self) -> Workspace:
        return self._workspace

    @property
    def name(self) -> str:
        return self._name

    @property
    def id(self) -> str:
        if self._id is None:
            self._id = self._workspace.store.get_or_create_experiment(self._name)
        return self._id

    def submit(self, config: Any, tags: dict[str, str] | None = None, **kwargs: Any) -> Run:
        """Submit a run configuration (ScriptRunConfig or an estimator); returns the Run at once."""
        submit = getattr(config, "_submit", None)
        if submit is None:
            raise UserErrorException(
                f"Experiment.submit takes a ScriptRunConfig or an Estimator, got {type(config).__name__}."
            )
        if kwargs:
            return submit(self, tags, **kwargs)
        return submit(self, tags)

    def start_logging(
        self,
        *args: Any,
        name: str | None = None,
        outputs: Any = None,
        snapshot_directory: str | None = ".",
        display_name: str | None = None,
        **kwargs: Any,
    ) -> Run:
        """Start an interactive run in this process (``with exp.start_logging() as run:``)."""
        return start_run(self, name=display_name or name, outputs=outputs, snapshot_directory=snapshot_directory)

    def get_runs(
        self,
        type: str | None = None,
        tags: Any = None,
        properties: dict[str, str] | None = None,
        include_children: bool = False,
    ) -> Iterator[Run]:
        """Runs of this experiment, newest first."""
        from jupyter_amlrun.core.run import Run

        return Run.list(self, type=type, tags=tags, properties=properties, include_children=include_children)

    @staticmethod
    def list(workspace: Workspace, experiment_name: str | None = None, **kwargs: Any) -> builtins.list[Experiment]:
        return [
            Experiment(workspace, name, _skip_name_validation=True)
            for _id, name in workspace.store.list_experiments()
            if experiment_name is None or name == experiment_name
        ]

    # ------------------------------------------------------------------ v1 extras (issue 12)
    @property
    def tags(self) -> dict[str, str]:
        """The experiment's tags (MLflow experiment tags, ``mlflow.*`` ones left out)."""
        exp = self._workspace.store.client.get_experiment(self.id)
        return {k: v for k, v in (exp.tags or {}).items() if not k.startswith("mlflow.")}

    def tag(self, key: str, value: str | None = None) -> None:
        """Set one tag (``value`` ``None`` stores an empty string, as v1)."""
        self.set_tags({key: value})

    def set_tags(self, tags: dict[str, Any]) -> None:
        """Set several tags."""
        for key, value in tags.items():
            if not isinstance(key, str) or not key or key.startswith("mlflow."):
                raise UserErrorException(f"Tag name {key!r} must be a non-empty string not starting with 'mlflow.'.")
            self._workspace.store.client.set_experiment_tag(self.id, key, "" if value is None else str(value))

    def remove_tags(self, tags: builtins.list[str]) -> None:
        """Remove tags by name."""
        for key in tags:
            self._workspace.store.client.delete_experiment_tag(self.id, key)

    def refresh(self) -> None:
        """Nothing to refresh: every property reads the store."""

    @property
    def archived_time(self) -> None:
        """Always ``None``: archiving is not supported here."""
        return None

    def archive(self) -> None:
        raise UserErrorException(
            "Experiment.archive is not supported: archived experiments would hide their runs from every listing. "
            "Tag it instead (experiment.tag('archived', 'true')) and filter on the tag."
        )

    def reactivate(self, new_name: str | None = None) -> None:
        raise UserErrorException("Experiment.reactivate is not supported, since archive() is not; see archive().")

    @staticmethod
    def delete(workspace: Workspace, experiment_id: str) -> None:
        raise UserErrorException(
            "Experiment.delete is not supported (its runs, metrics and models would be lost). Tag the experiment, or "
            "use a new workspace for a fresh start."
        )

    @staticmethod
    def from_directory(path: str, auth: Any = None) -> Experiment:
        raise UserErrorException(
            "Experiment.from_directory (v1 project folders) is not supported: use "
            "Experiment(Workspace.from_config(path), name)."
        )

    # v1's path templates (service URLs there); here they name the local store's parts.
    DELIM = "/"
    WORKSPACE_FMT = "workspaces/{workspace_name}"
    EXPERIMENT_NAME_PATH = "experiments/{experiment_name}"
    EXPERIMENT_ID_PATH = "experiments/{experiment_id}"
    TID_FMT = "{run_id}"

    @property
    def workspace_object(self) -> Workspace:
        """v1's other name for :attr:`workspace`."""
        return self._workspace

    @property
    def identity(self) -> str:
        """A stable label for logs: ``Experiment#<name>``."""
        return f"Experiment#{self._name}"

    @property
    def portal_url(self) -> str:
        """Same as :meth:`get_portal_url`."""
        return self.get_portal_url()

    @staticmethod
    def get_docs_url() -> str:
        """Where the v1 names are explained for this project."""
        return "docs/v1-surface.md"

    def get_portal_url(self) -> str:
        """The URL that opens this experiment's runs in the AML sidebar of this kernel's Jupyter server (see
        :meth:`Run.get_portal_url`)."""
        from jupyter_amlrun._util.portal import experiment_link

        return experiment_link(self._name, near=[self._workspace.path]).url

    def __str__(self) -> str:
        return f"Experiment(Name: {self._name},\nWorkspace: {self._workspace.name})"

    __repr__ = __str__

    def _repr_html_(self) -> str:
        return (
            "<table><tr><th>Name</th><th>Workspace</th><th>Report Page</th></tr>"
            f"<tr><td>{html.escape(self._name)}</td><td>{html.escape(self._workspace.name)}</td>"
            f'<td><a href="{html.escape(self.get_portal_url())}" target="_blank">Link</a></td></tr></table>'
        )

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Experiment) and other._name == self._name and other._workspace == self._workspace

    def __hash__(self) -> int:
        return hash((self._name, self._workspace.path))


def start_run(
    experiment: Experiment,
    *,
    name: str | None = None,
    parent: Run | None = None,
    outputs: Any = None,
    snapshot_directory: str | None = None,
) -> Run:
    """Create a Running run owned by this process (interactive runs and child runs)."""
    from jupyter_amlrun.core.run import Run, current_user
    from jupyter_amlrun.runtime.snapshot import SnapshotStore

    ws = experiment.workspace
    tags: dict[str, str] = {
        T.STATUS: RunStatus.RUNNING,
        T.RUN_TYPE: "experiment" if parent is None else "azureml.childrun",
        T.TARGET: "local",
        T.USER: current_user(),
        T.SOURCE_TYPE: "NOTEBOOK" if parent is None else "LOCAL",
    }
    if parent is not None:
        tags[T.PARENT_RUN_ID] = parent.id
        tags[T.TARGET] = parent._record.tags.get(T.TARGET, "local")
    if snapshot_directory is not None:
        try:
            snap = SnapshotStore(ws.path).take(snapshot_directory)
        except SnapshotException as exc:
            raise SnapshotException(
                f"Failed to take a snapshot of {snapshot_directory}. Pass snapshot_directory=None to start_logging "
                f"to skip taking a snapshot of the given directory.\n{exc}"
            ) from exc
        tags[T.SNAPSHOT_ID] = snap.id
        tags[T.SOURCE_DIRECTORY] = str(Path(snapshot_directory).resolve())
    record = ws.store.create_run(experiment.id, name or new_run_name(experiment.name), tags)
    rf = RunFolder(ws.path, record.run_id)
    rf.root.mkdir(parents=True, exist_ok=True, mode=0o700)  # owner only, like the workspace
    rf.create()
    state = rf.set_status(RunStatus.RUNNING)
    run = Run(experiment, record.run_id, _record=record)
    if outputs is False:
        outputs_dir = None
    elif parent is not None and outputs is None:
        outputs_dir = None  # a child's files go through upload_file; the parent uploads ./outputs
    else:
        outputs_dir = Path(outputs if isinstance(outputs, str) else "./outputs").resolve()
        outputs_dir.mkdir(parents=True, exist_ok=True)
    run._take_ownership(outputs_dir)
    mirror_status(ws.store, record.run_id, state)
    return run
