"""Registries of the pluggable parts: kind -> ``"module:Class"``, loaded lazily, plus entry points.

Built-in kinds are named here as strings (fsspec's ``known_implementations`` style), so core never imports the
backends; another distribution adds a kind with an entry point in one of the groups below (MLflow's
``mlflow.tracking_store`` style), e.g. in its pyproject.toml::

    [project.entry-points."jupyter_amlrun.compute_backends"]
    slurm = "amlrun_slurm:SlurmBackend"

or at run time with ``compute_backends.register("slurm", "amlrun_slurm:SlurmBackend")``.

A compute kind is the backend alone: its ``target_class`` names its v1 ``ComputeTarget`` class and its
``provision``/``deprovision``/``check_attach`` classmethods are its provisioning, so one registration adds all three.
"""

from __future__ import annotations

import importlib
import threading
from typing import Any, Generic, TypeVar, cast

from jupyter_amlrun.core.contracts import ComputeBackend, DatastoreBackend, InputMaterializer
from jupyter_amlrun.runtime.errors import UserErrorException

_T = TypeVar("_T")


class UnknownKindError(UserErrorException):
    """No backend is registered for a kind."""


class Registry(Generic[_T]):
    """Kinds of one pluggable part.

    Parameters
    ----------
    what:
        What the kinds are, for messages ("compute backend").
    group:
        The entry-point group other distributions register in.
    base:
        The contract every loaded class must subclass.
    builtins:
        Built-in kinds, ``kind -> "module:Class"``.
    """

    def __init__(self, what: str, group: str, base: type[_T], builtins: dict[str, str]) -> None:
        self.what = what
        self.group = group
        self.base = base
        self._targets: dict[str, str | type[_T]] = dict(builtins)
        self._loaded: dict[str, type[_T]] = {}
        self._entry_points_read = False
        self._lock = threading.Lock()

    def register(self, kind: str, target: str | type[_T], *, clobber: bool = False) -> None:
        """Add ``kind``: a class, or ``"module:Class"`` imported on first use."""
        with self._lock:
            self._read_entry_points()
            if kind in self._targets and not clobber and self._targets[kind] != target:
                raise ValueError(f"{self.what} kind {kind!r} is already registered; pass clobber=True to replace it")
            self._targets[kind] = target
            self._loaded.pop(kind, None)

    def kinds(self) -> list[str]:
        """Every registered kind."""
        with self._lock:
            self._read_entry_points()
            return sorted(self._targets)

    def load(self, kind: str) -> type[_T]:
        """The class of ``kind`` (imported now if needed)."""
        with self._lock:
            if kind in self._loaded:
                return self._loaded[kind]
            # Entry points never replace a kind already known (setdefault): a built-in loads without scanning
            # every installed distribution (importlib.metadata and the scan are most of a run driver's Queued step).
            if kind not in self._targets:
                self._read_entry_points()
            target = self._targets.get(kind)
            if target is None:
                raise UnknownKindError(
                    f"No {self.what} is registered for {kind!r}. Known: {sorted(self._targets)}. Install the package "
                    f"that provides it (entry-point group {self.group!r}) or register it."
                )
            obj = _import(target) if isinstance(target, str) else target
            if not (isinstance(obj, type) and issubclass(obj, cast(type, self.base))):
                raise TypeError(f"{self.what} {kind!r} ({target}) is not a {self.base.__name__}")
            cls = cast("type[_T]", obj)
            self._loaded[kind] = cls
            return cls

    def _read_entry_points(self) -> None:
        if self._entry_points_read:
            return
        self._entry_points_read = True
        from importlib import metadata

        for ep in metadata.entry_points(group=self.group):
            self._targets.setdefault(ep.name, ep.value)


def _import(target: str) -> Any:
    module, _, attr = target.partition(":")
    obj: Any = importlib.import_module(module)
    for part in attr.split(".") if attr else []:
        obj = getattr(obj, part)
    return obj


class ComputeKinds(Registry[ComputeBackend]):
    """The one table of compute kinds: a kind's backend, and through it (:class:`ComputeBackend` ClassVars and
    classmethods) its v1 ``ComputeTarget`` class and its provisioning. Registering a backend adds all three."""

    def target_class(self, kind: str) -> type[Any] | None:
        """The v1 ComputeTarget subclass for targets of ``kind``; None for an unknown kind or the generic class."""
        try:
            backend = self.load(kind)
        except UnknownKindError:
            return None
        name = backend.target_class
        return cast("type[Any]", _import(name)) if name else None


compute_backends: ComputeKinds = ComputeKinds(
    "compute backend",
    "jupyter_amlrun.compute_backends",
    ComputeBackend,  # type: ignore[type-abstract]
    {
        # by the compute target document's "type"; "local" is the embedded default target
        "local": "jupyter_amlrun.compute.local:LocalBackend",
        "AmlCompute": "jupyter_amlrun.compute.local:LocalBackend",
        "Ray": "jupyter_amlrun.compute.ray:RayBackend",
        "Slurm": "jupyter_amlrun.compute.slurm:SlurmBackend",
    },
)

datastore_backends: Registry[DatastoreBackend] = Registry(
    "datastore backend",
    "jupyter_amlrun.datastore_backends",
    DatastoreBackend,  # type: ignore[type-abstract]
    {
        # by the datastore document's "datastore_type" (v1's names)
        "Folder": "jupyter_amlrun.data._folder:FolderDatastore",
        "AzureBlob": "jupyter_amlrun.data._blob:AzureBlobDatastore",
    },
)

input_materializers: Registry[InputMaterializer] = Registry(
    "input materializer",
    "jupyter_amlrun.input_materializers",
    InputMaterializer,  # type: ignore[type-abstract]
    {
        # by the run input's "kind"
        "dataset": "jupyter_amlrun.data.consumption:DatasetMaterializer",
        "datareference": "jupyter_amlrun.data.consumption:DatasetMaterializer",
        "output": "jupyter_amlrun.data.output:OutputMaterializer",  # OutputFileDatasetConfig
    },
)
