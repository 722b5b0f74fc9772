"""Workspace: a folder plus an MLflow tracking URI."""

from __future__ import annotations

import contextlib
import json
import os
import re
import sys
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any

from jupyter_amlrun._util.fileio import file_lock, read_json, write_json_atomic
from jupyter_amlrun.runtime.errors import (
    DatastoreException,
    RunNotFoundException,
    UserErrorException,
    WorkspaceException,
    refuse_members,
)
from jupyter_amlrun.tracking.store import TrackingStore

if TYPE_CHECKING:
    from jupyter_amlrun.core.computetarget import ComputeTarget
    from jupyter_amlrun.core.environment import Environment
    from jupyter_amlrun.core.experiment import Experiment
    from jupyter_amlrun.core.model import Model
    from jupyter_amlrun.core.run import Run
    from jupyter_amlrun.runtime.keyvault import Keyvault

CONFIG_DIRS = (
    ".amlrun",
    ".azureml",
    None,
)  # searched in this order, like v1's ['.azureml', 'aml_config', None]
CONFIG_FILE = "config.json"
WORKSPACE_FILE = "workspace.json"
DEFAULT_NAME = "default"
LOCAL_LABEL = "local"  # what the Azure-only identity fields read as
_NAME_RE = re.compile(r"^[a-zA-Z0-9][\w\-]{0,32}$")
_said_default = False
_said_lock = threading.Lock()


def _owner_only(path: Path, mode: int) -> None:
    """Give ``path`` ``mode`` when this user owns it (someone else's folder is left as it is)."""
    try:
        if path.stat().st_uid == os.getuid():
            path.chmod(mode)
    except OSError:
        pass


def amlrun_home() -> Path:
    """``$AMLRUN_HOME`` or ``~/.amlrun``."""
    return Path(os.environ.get("AMLRUN_HOME") or Path.home() / ".amlrun").expanduser()


def _validate_name(name: str) -> None:
    if not isinstance(name, str) or not _NAME_RE.match(name):
        raise WorkspaceException(
            f"Invalid workspace name {name!r}: use 1-33 characters, starting with a letter or digit, then letters, "
            "digits, '-' or '_'."
        )


def _find_config(start: Path) -> Path | None:
    """v1's search: for each sub-folder kind, walk from ``start`` up to the root; the first hit wins."""
    if start.is_file():
        return start
    for sub in CONFIG_DIRS:
        current = start.resolve()
        while True:
            candidate = current / sub / CONFIG_FILE if sub else current / CONFIG_FILE
            if candidate.is_file():
                return candidate
            if current.parent == current:
                break
            current = current.parent
    return None


_NO_KEYS = "Datastore secrets live in <workspace>/secrets.json (0600); workspace secrets in ws.get_default_keyvault()."
_FOLDER_ONLY = "A local workspace is reached through its folder only."
_NO_CONNECTIONS = "Keep connection secrets in ws.get_default_keyvault().set_secret(name, value)."


@refuse_members(
    methods={
        "delete": "To remove a local workspace, stop its runs and delete its folder (ws.path).",
        "update": "Local workspaces have no cloud settings; set the tracking URI with "
        "Workspace.create(tracking_uri=...).",
        "sync_keys": _NO_KEYS,
        "list_keys": _NO_KEYS,
        "add_private_endpoint": _FOLDER_ONLY,
        "delete_private_endpoint_connection": _FOLDER_ONLY,
        "setup": "Use Workspace.create(name) to make a local workspace.",
        "diagnose_workspace": "Nothing to diagnose on Azure; ws.get_details() shows the local workspace's folder "
        "and store.",
        "update_dependencies": "A local workspace has no dependent Azure resources (storage, ACR, Key Vault, "
        "insights).",
        "get_connection": _NO_CONNECTIONS,
        "set_connection": _NO_CONNECTIONS,
        "list_connections": _NO_CONNECTIONS,
        "delete_connection": _NO_CONNECTIONS,
    },
    properties={
        "service_context": "Use ws.get_mlflow_tracking_uri() or ws.path to reach the workspace's store.",
        "images": "Register models with Model.register() and serve them yourself, e.g. "
        "`mlflow models serve -m <folder>`.",
        "webservices": "Serve a registered model locally, e.g. `mlflow models serve -m <model.download() folder>`.",
        "linked_services": "Register a datastore for the data instead.",
        "private_endpoints": _FOLDER_ONLY,
    },
)
class Workspace:
    """A local-first Azure ML workspace: a folder holding the MLflow store, snapshots, run folders and documents.

    Use :meth:`from_config`, :meth:`get` or :meth:`create` rather than the constructor. For porting,
    ``Workspace(subscription_id, resource_group, workspace_name)`` opens the local workspace of that name.

    Parameters
    ----------
    subscription_id, resource_group:
        Accepted for v1 compatibility and ignored.
    workspace_name:
        Name of a workspace under ``$AMLRUN_HOME/workspaces``.
    path:
        Folder of the workspace (wins over ``workspace_name``).
    """

    # v1 names of the default clusters; Workspace.create(...) never makes clusters here (create an AmlCompute pool).
    DEFAULT_CPU_CLUSTER_NAME = "cpu-cluster"
    DEFAULT_GPU_CLUSTER_NAME = "gpu-cluster"
    DEFAULT_CPU_CLUSTER_CONFIGURATION: Any = None
    DEFAULT_GPU_CLUSTER_CONFIGURATION: Any = None

    def __init__(
        self,
        subscription_id: str | None = None,
        resource_group: str | None = None,
        workspace_name: str | None = None,
        auth: Any = None,
        *,
        path: str | os.PathLike[str] | None = None,
        **kwargs: Any,
    ) -> None:
        # auth (an authentication object) and v1's other keywords (sku, tags, _location, ...) are accepted: a local
        # workspace has nothing to log in to and no cloud settings.
        if path is None:
            if workspace_name is None:
                raise WorkspaceException(
                    "Workspace needs a workspace_name or a path. Use Workspace.from_config() to find one, or "
                    "Workspace.create(name) to make one."
                )
            _validate_name(workspace_name)
            path = amlrun_home() / "workspaces" / workspace_name
        self._path = Path(path).expanduser().resolve()
        doc = read_json(self._path / WORKSPACE_FILE)
        if doc is None:
            raise WorkspaceException(
                f"No workspace at {self._path}. Create it with "
                f"Workspace.create(name={workspace_name or self._path.name!r}, path={str(self._path)!r})."
            )
        self._doc: dict[str, Any] = doc
        self._store: TrackingStore | None = None

    # ------------------------------------------------------------------ constructors
    @staticmethod
    def create(
        name: str,
        path: str | os.PathLike[str] | None = None,
        exist_ok: bool = False,
        tracking_uri: str | None = None,
        show_output: bool = False,
        **kwargs: Any,
    ) -> Workspace:
        """Create a workspace folder (default ``$AMLRUN_HOME/workspaces/<name>``).

        Parameters
        ----------
        name:
            Workspace name.
        path:
            Folder to create it in.
        exist_ok:
            Return the existing workspace instead of raising when one is already there.
        tracking_uri:
            MLflow tracking URI; default ``sqlite:///<path>/mlflow.db``. Point it at an MLflow server for a team.
        """
        _validate_name(name)
        target = Path(path).expanduser().resolve() if path else amlrun_home() / "workspaces" / name
        target.mkdir(parents=True, exist_ok=True)
        with file_lock(target / ".workspace.lock"):
            if (target / WORKSPACE_FILE).exists():
                if not exist_ok:
                    raise WorkspaceException(
                        f"A workspace already exists at {target}. Pass exist_ok=True to open it, or choose another "
                        "path."
                    )
            else:
                doc: dict[str, Any] = {"name": name, "version": 1}
                if tracking_uri:
                    doc["tracking_uri"] = tracking_uri
                write_json_atomic(target / WORKSPACE_FILE, doc)
            ws = Workspace(path=target)
            ws._initialize()
        if show_output:
            print(f"Workspace {name!r} at {target}")
        return ws

    @staticmethod
    def get(name: str, **kwargs: Any) -> Workspace:
        """Open the workspace named ``name`` under ``$AMLRUN_HOME/workspaces``."""
        return Workspace(workspace_name=name)

    @staticmethod
    def from_config(path: str | os.PathLike[str] | None = None, **kwargs: Any) -> Workspace:
        """Find ``config.json`` like v1 (``.amlrun/``, ``.azureml/``, then the folder itself, walking up).

        With no config anywhere, opens (creating if needed) the embedded default workspace and says where, once.
        """
        global _said_default
        start = Path(path or ".").expanduser()
        config = _find_config(start)
        if config is None:
            ws = Workspace.create(DEFAULT_NAME, exist_ok=True)
            with _said_lock:
                if not _said_default:
                    _said_default = True
                    # stdout: a notice, not an error (stderr shows as a red box in the notebook's first cell)
                    print(
                        f"No config.json found in {start.resolve()} or its parents: using the default workspace at "
                        f"{ws.path}. Call ws.write_config() to pin a workspace to this folder.",
                        file=sys.stdout,
                    )
            return ws
        try:
            doc = json.loads(config.read_text(encoding="utf-8"))
        except ValueError as exc:
            raise WorkspaceException(f"The config file {config} is not valid JSON: {exc}") from exc
        ws_path = doc.get("workspace_path") or doc.get("path")
        if ws_path:
            ws_path = (config.parent / ws_path) if not Path(ws_path).is_absolute() else Path(ws_path)
            if not (Path(ws_path) / WORKSPACE_FILE).exists():
                return Workspace.create(doc.get("workspace_name") or Path(ws_path).name, path=ws_path, exist_ok=True)
            return Workspace(path=ws_path)
        if "subscription_id" in doc or "Scope" in doc or "resource_group" in doc:
            raise WorkspaceException(
                f"The config file {config} describes an Azure cloud workspace "
                f"({doc.get('workspace_name', '?')!r}), which jupyter_amlrun does not reach. Make a local one with "
                "`Workspace.create('<name>').write_config()` (it writes .amlrun/config.json, which is found first), "
                f'or add "workspace_path" to {config}.'
            )
        name = doc.get("workspace_name")
        if name:
            return Workspace.create(name, exist_ok=True)
        raise WorkspaceException(
            f"The config file {config} has neither workspace_path nor workspace_name. Write one with ws.write_config()."
        )

    def write_config(self, path: str | os.PathLike[str] | None = None, file_name: str | None = None) -> Path:
        """Write ``.amlrun/config.json`` under ``path`` (default: the current folder) pointing at this workspace."""
        base = Path(path or ".").expanduser().resolve()
        target = base / ".amlrun" / (file_name or CONFIG_FILE)
        write_json_atomic(target, {"workspace_name": self.name, "workspace_path": str(self._path)})
        return target

    def _initialize(self) -> None:
        # Owner only (like secrets.json): on a shared machine (a JupyterHub node) another user must not read the
        # metrics, logs and store of this workspace.
        _owner_only(self._path, 0o700)
        for sub in ("runs", "snapshots", "compute", "artifacts", "datastores"):
            (self._path / sub).mkdir(exist_ok=True, mode=0o700)
            _owner_only(self._path / sub, 0o700)
        self.store.initialize()
        if self.store.tracking_uri.startswith("sqlite:///"):
            _owner_only(Path(self.store.tracking_uri[len("sqlite:///") :]), 0o600)  # sqlite's -wal/-shm follow it

    # ------------------------------------------------------------------ basics
    @property
    def name(self) -> str:
        return str(self._doc.get("name", self._path.name))

    @property
    def path(self) -> Path:
        """The workspace folder."""
        return self._path

    # v1 prints these in the first cell ('Subscription id: ' + ws.subscription_id): always strings, never None.
    @property
    def location(self) -> str:
        """``"local"``: the workspace is a folder on this machine."""
        return LOCAL_LABEL

    @property
    def subscription_id(self) -> str:
        """``"local"`` (there is no Azure subscription); a string so v1 string concatenation works."""
        return LOCAL_LABEL

    @property
    def resource_group(self) -> str:
        """``"local"`` (there is no Azure resource group); a string so v1 string concatenation works."""
        return LOCAL_LABEL

    @property
    def sku(self) -> str:
        """``"local"`` (no Azure pricing tier)."""
        return LOCAL_LABEL

    @property
    def tags(self) -> dict[str, str]:
        """Workspace tags (kept in ``workspace.json``)."""
        return dict(self._doc.get("tags") or {})

    @property
    def discovery_url(self) -> str:
        """The MLflow tracking URI: where this workspace's runs are found."""
        return self.get_mlflow_tracking_uri()

    @property
    def datasets(self) -> Any:
        # core cannot build data-layer objects (the layers go down only); say the call that does.
        raise UserErrorException(
            "ws.datasets is not available on a jupyter_amlrun Workspace. Use Dataset.get_all(ws) (a dict by name) or "
            "Dataset.get_by_name(ws, name)."
        )

    def get_default_compute_target(self, type: str = "CPU") -> str:
        """``"local"`` (this machine) whatever ``type``; ScriptRunConfig(compute_target=...) accepts it."""
        return "local"

    @staticmethod
    def list(subscription_id: str | None = None, auth: Any = None, resource_group: str | None = None) -> dict[str, Any]:
        """The workspaces under ``$AMLRUN_HOME/workspaces`` by name (v1: a dict of name -> [Workspace])."""
        root = amlrun_home() / "workspaces"
        found: dict[str, Any] = {}
        if root.is_dir():
            for folder in sorted(root.iterdir()):
                if (folder / WORKSPACE_FILE).is_file():
                    found[folder.name] = [Workspace(path=folder)]
        return found

    def get_default_keyvault(self) -> Keyvault:
        """The workspace's secrets (v1 Key Vault), kept in its 0600 ``secrets.json``."""
        from jupyter_amlrun.runtime.keyvault import Keyvault

        return Keyvault(self)

    def get_mlflow_tracking_uri(self, _with_auth: bool = False) -> str:
        """The MLflow tracking URI (``mlflow ui --backend-store-uri <this>`` opens the store)."""
        uri = self._doc.get("tracking_uri") or os.environ.get("AMLRUN_TRACKING_URI")
        return str(uri) if uri else f"sqlite:///{self._path / 'mlflow.db'}"

    @property
    def store(self) -> TrackingStore:
        if self._store is None:
            uri = self.get_mlflow_tracking_uri()
            local = uri.startswith("sqlite:") or uri.startswith("file:")
            self._store = TrackingStore(uri, self._path / "artifacts" if local else None)
        return self._store

    def get_details(self) -> dict[str, Any]:
        return {"name": self.name, "path": str(self._path), "tracking_uri": self.get_mlflow_tracking_uri()}

    # ------------------------------------------------------------------ collections
    @property
    def experiments(self) -> dict[str, Experiment]:
        from jupyter_amlrun.core.experiment import Experiment

        return {name: Experiment(self, name) for _id, name in self.store.list_experiments()}

    @property
    def compute_targets(self) -> dict[str, ComputeTarget]:
        from jupyter_amlrun.core.computetarget import ComputeTarget

        return {t.name: t for t in ComputeTarget.list(self)}

    @property
    def environments(self) -> dict[str, Environment]:
        from jupyter_amlrun.core.environment import Environment

        return Environment.list(self)

    @property
    def models(self) -> dict[str, Model]:
        from jupyter_amlrun.core.model import Model

        return {m.name: m for m in Model.list(self, latest=True)}

    @property
    def datastores(self) -> dict[str, Any]:
        """Every datastore by name (the embedded ``workspaceblobstore`` included); unreadable ones are left out."""
        from jupyter_amlrun.core import catalog

        out: dict[str, Any] = {}
        for name in catalog.names(self):
            with contextlib.suppress(DatastoreException):
                out[name] = catalog.open_datastore(self, name)
        return out

    def get_default_datastore(self) -> Any:
        """The default datastore (``workspaceblobstore``, a folder in the workspace, unless changed)."""
        from jupyter_amlrun.core import catalog

        try:
            return catalog.open_datastore(self, catalog.default_name(self))
        except DatastoreException:
            return catalog.open_datastore(self, catalog.EMBEDDED_NAME)  # the default can no longer be opened

    def set_default_datastore(self, name: str) -> None:
        """Make the registered datastore ``name`` the default."""
        from jupyter_amlrun.core import catalog

        catalog.set_default(self, name)

    def get_run(self, run_id: str) -> Run:
        """Open any run of this workspace by id."""
        from jupyter_amlrun.core.run import Run

        return Run.get(self, run_id)

    def _get_run_record(self, run_id: str) -> Any:
        record = self.store.get_run(run_id) if isinstance(run_id, str) and run_id else None
        if record is None:
            raise RunNotFoundException(
                f"No run with id {run_id!r} in workspace {self.name!r} ({self._path}). "
                "List runs with Experiment(ws, name).get_runs()."
            )
        return record

    # ------------------------------------------------------------------ display
    def __repr__(self) -> str:
        return f"Workspace.create(name={self.name!r}, path={str(self._path)!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Workspace) and other._path == self._path

    def __hash__(self) -> int:
        return hash(self._path)


def check_user_name(kind: str, name: Any, pattern: re.Pattern[str], rule: str) -> str:
    """Validate a user-chosen name; the error says the rule."""
    if not isinstance(name, str) or not pattern.match(name):
        raise UserErrorException(f"Invalid {kind} name {name!r}. {rule}")
    return name
