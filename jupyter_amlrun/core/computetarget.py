"""ComputeTarget and AmlCompute (v1 API): workspace documents; ``resolve_backend`` gives a target's backend.

The documents live here (core); the backend that runs on a target is looked up by the document's ``type`` in
:data:`jupyter_amlrun.core.registry.compute_backends`, and everything live (busy nodes, queue) comes from its contract.
"""

from __future__ import annotations

import builtins
import contextlib
import datetime as _dt
import re
import shutil
import sys
from typing import TYPE_CHECKING, Any

from jupyter_amlrun._util.fileio import file_lock, read_json, write_json_atomic
from jupyter_amlrun.core.registry import UnknownKindError, compute_backends
from jupyter_amlrun.runtime.errors import ComputeTargetException, refused

if TYPE_CHECKING:
    from jupyter_amlrun.core.contracts import ComputeBackend
    from jupyter_amlrun.core.workspace import Workspace

LOCAL = "local"

RESERVED_NAMES = ("amlcompute", LOCAL, "containerinstance")
_NAME_RE = re.compile(r"^[a-zA-Z][a-zA-Z0-9\-]{1,15}$")
NAME_RULE = "Compute names are 2-16 characters: a letter first, then letters, digits or hyphens."


def doc_path(ws: Workspace, name: str) -> Any:
    return ws.path / "compute" / f"{name}.json"


def now_iso() -> str:
    return _dt.datetime.now(tz=_dt.timezone.utc).isoformat()


class AmlComputeProvisioningConfiguration:
    """What ``AmlCompute.provisioning_configuration`` returns."""

    def __init__(self, **kwargs: Any) -> None:
        self.vm_size: str = kwargs.get("vm_size") or "STANDARD_DS2_V2"
        self.vm_priority: str = kwargs.get("vm_priority") or "dedicated"
        self.min_nodes: int = kwargs.get("min_nodes", 0)
        self.max_nodes: int | None = kwargs.get("max_nodes")
        self.idle_seconds_before_scaledown: int = kwargs.get("idle_seconds_before_scaledown", 1800)
        self.tags: dict[str, str] = dict(kwargs.get("tags") or {})
        self.description: str | None = kwargs.get("description")

    def validate_configuration(self) -> None:
        if self.max_nodes is None:
            raise ComputeTargetException("Invalid provisioning configuration, max nodes count is mandatory")
        for field in ("min_nodes", "max_nodes"):
            value = getattr(self, field)
            if not isinstance(value, int) or isinstance(value, bool) or value < 0:
                raise ComputeTargetException(f"Invalid provisioning configuration, {field} must be an integer >= 0.")
        if self.max_nodes < 1:
            raise ComputeTargetException("Invalid provisioning configuration, max nodes count must be at least 1.")
        if self.max_nodes < self.min_nodes:
            raise ComputeTargetException(
                "Invalid provisioning configuration, max nodes count must be greater than or equal to min nodes count"
            )
        if self.vm_priority not in ("dedicated", "lowpriority"):
            raise ComputeTargetException("vm_priority must be 'dedicated' or 'lowpriority'.")

    def to_doc(self) -> dict[str, Any]:
        return {
            "type": "AmlCompute",
            "vm_size": self.vm_size,
            "vm_priority": self.vm_priority,
            "min_nodes": self.min_nodes,
            "max_nodes": self.max_nodes,
            "idle_seconds_before_scaledown": self.idle_seconds_before_scaledown,
            "tags": self.tags,
            "description": self.description,
        }


class AmlComputeStatus:
    """Live status of a local node pool."""

    def __init__(self, doc: dict[str, Any], busy: int, queued: int) -> None:
        self.vm_size = doc["vm_size"]
        self.vm_priority = doc["vm_priority"]
        self.creation_time = doc.get("created")
        self.modified_time = doc.get("modified", doc.get("created"))
        self.provisioning_state = "Succeeded"
        self.allocation_state = "Steady"
        self.current_node_count = max(int(doc["min_nodes"]), busy)
        self.target_node_count = self.current_node_count
        self.node_state_counts = {
            "idleNodeCount": self.current_node_count - busy,
            "runningNodeCount": busy,
            "preparingNodeCount": 0,
            "unusableNodeCount": 0,
            "leavingNodeCount": 0,
            "preemptedNodeCount": 0,
        }
        self.scale_settings = {
            "minNodeCount": doc["min_nodes"],
            "maxNodeCount": doc["max_nodes"],
            "nodeIdleTimeBeforeScaleDown": f"PT{doc['idle_seconds_before_scaledown']}S",
        }
        self.queued_run_count = queued
        self.errors: builtins.list[Any] = []

    def serialize(self) -> dict[str, Any]:
        return {
            "currentNodeCount": self.current_node_count,
            "targetNodeCount": self.target_node_count,
            "nodeStateCounts": dict(self.node_state_counts),
            "allocationState": self.allocation_state,
            "allocationStateTransitionTime": self.modified_time,
            "errors": self.errors,
            "creationTime": self.creation_time,
            "modifiedTime": self.modified_time,
            "provisioningState": self.provisioning_state,
            "provisioningStateTransitionTime": self.modified_time,
            "scaleSettings": dict(self.scale_settings),
            "vmPriority": self.vm_priority,
            "vmSize": self.vm_size,
            "queuedRunCount": self.queued_run_count,
        }

    @staticmethod
    def deserialize(object_dict: dict[str, Any]) -> AmlComputeStatus:
        """Rebuild a status from :meth:`serialize`'s dict."""
        scale = object_dict.get("scaleSettings") or {}
        counts = object_dict.get("nodeStateCounts") or {}
        doc = {
            "vm_size": object_dict.get("vmSize"),
            "vm_priority": object_dict.get("vmPriority"),
            "created": object_dict.get("creationTime"),
            "modified": object_dict.get("modifiedTime"),
            "min_nodes": scale.get("minNodeCount", 0),
            "max_nodes": scale.get("maxNodeCount"),
            "idle_seconds_before_scaledown": str(scale.get("nodeIdleTimeBeforeScaleDown", "PT0S"))[2:-1] or 0,
        }
        status = AmlComputeStatus(
            doc, int(counts.get("runningNodeCount") or 0), int(object_dict.get("queuedRunCount") or 0)
        )
        status.current_node_count = int(object_dict.get("currentNodeCount") or 0)
        status.target_node_count = int(object_dict.get("targetNodeCount") or 0)
        status.node_state_counts = dict(counts) or status.node_state_counts
        return status

    def __repr__(self) -> str:
        return f"AmlComputeStatus({self.serialize()!r})"


class ComputeTarget:
    """A named compute target of a workspace. ``ComputeTarget(ws, name)`` returns the typed target."""

    type = "ComputeTarget"

    def __new__(cls, workspace: Workspace, name: str) -> ComputeTarget:
        doc = read_json(doc_path(workspace, name)) if isinstance(name, str) and _NAME_RE.match(name) else None
        if doc is None:
            raise ComputeTargetException(
                f"ComputeTargetNotFound: Compute Target with name {name} not found in provided workspace. "
                f"Known targets: {sorted(_list_names(workspace)) or 'none'}; create one with ComputeTarget.create(ws, "
                f"{name!r}, AmlCompute.provisioning_configuration(max_nodes=2))."
            )
        kind = _kind_of(doc)
        obj = object.__new__(kind)
        obj._init(workspace, name, doc)
        return obj

    def __init__(self, workspace: Workspace, name: str) -> None:
        pass  # __new__ did the work

    def _init(self, workspace: Workspace, name: str, doc: dict[str, Any]) -> None:
        self.workspace = workspace
        self.name = name
        self._doc = doc

    # ---------------------------------------------------------------- v1 class API
    @staticmethod
    def create(workspace: Workspace, name: str, provisioning_configuration: Any) -> ComputeTarget:
        """Create a compute target; re-creating one with the same configuration returns it."""
        check_name(name)
        if not isinstance(provisioning_configuration, AmlComputeProvisioningConfiguration):
            if callable(getattr(provisioning_configuration, "to_doc", None)):  # another kind's (RayCompute's)
                return _create_kind(workspace, name, provisioning_configuration.to_doc())
            raise ComputeTargetException(
                "provisioning_configuration must come from AmlCompute.provisioning_configuration(...) or "
                "RayCompute.provisioning_configuration(...)."
            )
        provisioning_configuration.validate_configuration()
        doc = provisioning_configuration.to_doc()
        path = doc_path(workspace, name)
        with file_lock(path.with_suffix(".lock")):
            existing = read_json(path)
            if existing is not None:
                same = {k: existing.get(k) for k in doc} == doc
                if not same:
                    raise ComputeTargetException(
                        f"Compute target {name!r} already exists with a different configuration "
                        f"(max_nodes={existing.get('max_nodes')}, vm_size={existing.get('vm_size')}). Use "
                        f"ComputeTarget(ws, {name!r}), or update()/delete() it first."
                    )
            else:
                doc["created"] = now_iso()
                write_json_atomic(path, doc)
        return ComputeTarget(workspace, name)

    @staticmethod
    def list(workspace: Workspace) -> builtins.list[ComputeTarget]:
        return [ComputeTarget(workspace, n) for n in sorted(_list_names(workspace))]

    @staticmethod
    def attach(workspace: Workspace, name: str, attach_configuration: Any) -> ComputeTarget:
        """Attach existing compute: a Ray cluster by its Job Submission address (RayCompute.attach_configuration)."""
        check_name(name)
        if hasattr(
            attach_configuration, "attach_target"
        ):  # SlurmCompute.attach_configuration (compute/slurmcompute.py)
            return attach_configuration.attach_target(workspace, name)
        if not callable(getattr(attach_configuration, "to_doc", None)):
            raise ComputeTargetException(
                "attach_configuration must come from RayCompute.attach_configuration(address='http://<head>:8265'); "
                "other kinds of existing compute cannot be attached yet (create a local pool with AmlCompute)."
            )
        doc = attach_configuration.to_doc()
        backend = _backend_of_kind(doc)
        doc.update(backend.check_attach(workspace, name, doc))  # refused here, before anything is written
        return _write_kind(workspace, name, doc, tuple(attach_configuration.to_doc()))

    def wait_for_completion(self, show_output: bool = False, is_delete_operation: bool = False, **kwargs: Any) -> None:
        """Provisioning a local pool is immediate; prints v1's messages with ``show_output``."""
        if show_output:
            print('InProgress.\nSucceededProvisioning operation finished, operation "Succeeded"')

    def get_status(self) -> Any:
        return None

    def _backend(self) -> ComputeBackend:
        return resolve_backend(self.workspace, self.name)

    def refresh_state(self) -> None:
        doc = read_json(doc_path(self.workspace, self.name))
        if doc is None:
            raise ComputeTargetException(f"Compute target {self.name!r} was deleted.")
        self._doc = doc

    def delete(self) -> None:
        """Delete the target; refused while it runs something."""
        status = self.get_status()
        busy = status.node_state_counts["runningNodeCount"] if status is not None else 0
        if busy:
            raise ComputeTargetException(
                f"Compute target {self.name!r} is running {busy} run(s); cancel them (run.cancel()) before deleting it."
            )
        with contextlib.suppress(UnknownKindError):  # a kind no longer installed has nothing of ours to undo
            compute_backends.load(str(self._doc.get("type"))).deprovision(self.workspace, self.name, self._doc)
        path = doc_path(self.workspace, self.name)
        with file_lock(path.with_suffix(".lock")):
            path.unlink(missing_ok=True)
        shutil.rmtree(self.workspace.path / "compute" / self.name, ignore_errors=True)

    def detach(self) -> None:
        raise ComputeTargetException("AmlCompute targets cannot be detached; use delete().")

    def serialize(self) -> dict[str, Any]:
        return {"name": self.name, "type": self.type, "properties": dict(self._doc)}

    @staticmethod
    def deserialize(workspace: Workspace, object_dict: dict[str, Any]) -> ComputeTarget:
        """The target a :meth:`serialize` dict names (read again from the workspace)."""
        name = object_dict.get("name") if isinstance(object_dict, dict) else None
        if not isinstance(name, str):
            raise ComputeTargetException("deserialize needs a dict from ComputeTarget.serialize() (with a 'name').")
        return ComputeTarget(workspace, name)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(workspace={self.workspace.name!r}, name={self.name!r}, type={self.type!r})"


class ClusterComputeTarget(ComputeTarget):
    """A target on a cluster this workspace attaches to (Ray, Slurm): its status is what its backend's
    ``describe()`` says now (``error`` when the cluster does not answer)."""

    def get_status(self) -> dict[str, Any]:
        self.refresh_state()
        return self._backend().describe()

    @property
    def status(self) -> dict[str, Any]:
        return self.get_status()

    def get_active_runs(self, **kwargs: Any) -> builtins.list[str]:
        return list(self.get_status().get("active_runs") or [])


class AmlCompute(ComputeTarget):
    """A pool of ``max_nodes`` node slots on this machine, shared by every kernel through file locks."""

    type = "AmlCompute"

    @staticmethod
    def provisioning_configuration(
        vm_size: str = "",
        vm_priority: str = "dedicated",
        min_nodes: int = 0,
        max_nodes: int | None = None,
        idle_seconds_before_scaledown: int = 1800,
        admin_username: str | None = None,
        admin_user_password: str | None = None,
        admin_user_ssh_key: str | None = None,
        vnet_resourcegroup_name: str | None = None,
        vnet_name: str | None = None,
        subnet_name: str | None = None,
        tags: dict[str, str] | None = None,
        description: str | None = None,
        **kwargs: Any,
    ) -> AmlComputeProvisioningConfiguration:
        """Describe a pool: ``max_nodes`` runs (or nodes of distributed runs) at once on this machine."""
        return AmlComputeProvisioningConfiguration(
            vm_size=vm_size,
            vm_priority=vm_priority,
            min_nodes=min_nodes,
            max_nodes=max_nodes,
            idle_seconds_before_scaledown=idle_seconds_before_scaledown,
            tags=tags,
            description=description,
        )

    @property
    def vm_size(self) -> str:
        return str(self._doc["vm_size"])

    @property
    def scale_settings(self) -> dict[str, Any]:
        return {"minimum_node_count": self._doc["min_nodes"], "maximum_node_count": self._doc["max_nodes"]}

    def get_status(self) -> AmlComputeStatus:
        self.refresh_state()
        info = self._backend().describe()
        return AmlComputeStatus(self._doc, int(info.get("busy_nodes") or 0), int(info.get("queued_runs") or 0))

    @property
    def status(self) -> AmlComputeStatus:
        return self.get_status()

    def wait_for_completion(  # type: ignore[override]
        self,
        show_output: bool = False,
        min_node_count: int | None = None,
        timeout_in_minutes: int = 25,
        is_delete_operation: bool = False,
        **kwargs: Any,
    ) -> None:
        if show_output:
            print('InProgress.\nSucceededProvisioning operation finished, operation "Succeeded"')
            print(
                f"Waiting for cluster to scale. {self._doc['min_nodes']} out of {self._doc['min_nodes']} nodes ready."
            )
            print("AmlCompute wait for completion finished\n")
            print("Minimum number of nodes requested have been provisioned")
        sys.stdout.flush()

    def update(
        self,
        min_nodes: int | None = None,
        max_nodes: int | None = None,
        idle_seconds_before_scaledown: int | None = None,
    ) -> None:
        doc = dict(self._doc)
        for key, value in (
            ("min_nodes", min_nodes),
            ("max_nodes", max_nodes),
            ("idle_seconds_before_scaledown", idle_seconds_before_scaledown),
        ):
            if value is not None:
                doc[key] = value
        cfg = AmlComputeProvisioningConfiguration(**{k: v for k, v in doc.items() if k != "type"})
        cfg.validate_configuration()
        doc["modified"] = now_iso()
        path = doc_path(self.workspace, self.name)
        with file_lock(path.with_suffix(".lock")):
            write_json_atomic(path, doc)
        self._doc = doc

    def get_active_runs(self, **kwargs: Any) -> builtins.list[str]:
        return list(self._backend().describe().get("active_runs") or [])

    def list_nodes(self) -> builtins.list[dict[str, Any]]:
        busy = self.get_status().node_state_counts["runningNodeCount"]
        return [
            {"nodeId": f"node-{i}", "nodeState": "running" if i < busy else "idle"}
            for i in range(self._doc["max_nodes"])
        ]

    @staticmethod
    def supported_vmsizes(workspace: Workspace, location: str | None = None) -> builtins.list[dict[str, Any]]:
        import os

        return [{"name": "LOCAL", "vCPUs": os.cpu_count() or 1, "gpus": 0}]

    def get(self) -> dict[str, Any]:
        """The pool's document as v1's REST form (``serialize()``), read again from the workspace."""
        self.refresh_state()
        return self.serialize()

    _QUOTA = "A local pool's limit is its max_nodes: use compute.update(max_nodes=N)."
    _IDENTITY = "A local pool runs as your user; give runs credentials through environment variables or the keyvault."
    list_quotas = staticmethod(refused("AmlCompute.list_quotas", _QUOTA))
    list_usages = staticmethod(refused("AmlCompute.list_usages", _QUOTA))
    update_quotas = staticmethod(refused("AmlCompute.update_quotas", _QUOTA))
    add_identity = refused("AmlCompute.add_identity", _IDENTITY)
    remove_identity = refused("AmlCompute.remove_identity", _IDENTITY)


def check_name(name: Any) -> None:
    if not isinstance(name, str):
        raise ComputeTargetException(f"Compute target name must be a string, got {type(name).__name__}.")
    if name.lower() in RESERVED_NAMES:
        raise ComputeTargetException(
            f"{name!r} is a reserved compute target name ({', '.join(RESERVED_NAMES)}); choose another name, "
            "e.g. 'cpu-cluster'."
        )
    if not _NAME_RE.match(name):
        raise ComputeTargetException(f"Invalid compute target name {name!r}. {NAME_RULE}")


def _kind_of(doc: dict[str, Any]) -> type[ComputeTarget]:
    """The class of a target document: its v1 ``kind`` (a ComputeInstance is a one-node AmlCompute pool), else the
    ``target_class`` of the backend registered for its type (the one kind table: ``registry.compute_backends``)."""
    if doc.get("kind") == "ComputeInstance":
        from jupyter_amlrun.core.computeinstance import ComputeInstance

        return ComputeInstance
    cls = compute_backends.target_class(str(doc.get("type", "")))
    return cls if cls is not None and issubclass(cls, ComputeTarget) else ComputeTarget


def _backend_of_kind(doc: dict[str, Any]) -> type[ComputeBackend]:
    try:
        return compute_backends.load(str(doc.get("type")))
    except UnknownKindError as exc:
        raise ComputeTargetException(f"Compute type {doc.get('type')!r} is not available: {exc}") from exc


def _create_kind(workspace: Workspace, name: str, doc: dict[str, Any]) -> ComputeTarget:
    """Create a target of a registered kind from its configuration's document: its backend provisions it (a
    development head), the document is written, and a failed write undoes the provisioning."""
    keys = tuple(doc)
    backend = _backend_of_kind(doc)
    existing = read_json(doc_path(workspace, name))
    if existing is not None and {k: existing.get(k) for k in doc} == doc:
        return ComputeTarget(workspace, name)
    if existing is not None:
        _write_kind(workspace, name, doc, keys)  # the clear "different configuration" error
    doc.update(backend.provision(workspace, name, doc))
    try:
        return _write_kind(workspace, name, doc, keys)
    except BaseException:
        backend.deprovision(workspace, name, doc)
        raise


def _write_kind(workspace: Workspace, name: str, doc: dict[str, Any], keys: tuple[str, ...]) -> ComputeTarget:
    path = doc_path(workspace, name)
    with file_lock(path.with_suffix(".lock")):
        existing = read_json(path)
        if existing is not None:
            if {k: existing.get(k) for k in keys} != {k: doc.get(k) for k in keys}:
                raise ComputeTargetException(
                    f"Compute target {name!r} already exists with a different configuration (type "
                    f"{existing.get('type')}, address {existing.get('address')}). Use ComputeTarget(ws, {name!r}), "
                    "or delete()/detach() it first."
                )
        else:
            doc["created"] = now_iso()
            write_json_atomic(path, doc)
    return ComputeTarget(workspace, name)


def _list_names(workspace: Workspace) -> builtins.list[str]:
    folder = workspace.path / "compute"
    return [p.stem for p in folder.glob("*.json")] if folder.is_dir() else []


def resolve_backend(workspace: Workspace, target: str) -> ComputeBackend:
    """The backend that runs on ``target`` (``"local"`` or a named compute target), by the target's type."""
    if target == LOCAL:
        doc: dict[str, Any] | None = {"type": LOCAL, "max_nodes": None}
    else:
        doc = read_json(doc_path(workspace, target)) if isinstance(target, str) and _NAME_RE.match(target) else None
    if doc is None:
        known = [LOCAL, *sorted(_list_names(workspace))]
        raise ComputeTargetException(
            f"Unknown compute target {target!r}. Known targets: {known}. Create it with ComputeTarget.create(ws, "
            f"{target!r}, AmlCompute.provisioning_configuration(max_nodes=2)) or use 'local'."
        )
    try:
        cls = compute_backends.load(str(doc.get("type")))
    except UnknownKindError as exc:
        raise ComputeTargetException(
            f"Compute target {target!r} has unsupported type {doc.get('type')!r}: {exc}"
        ) from exc
    return cls(workspace, target, doc)
