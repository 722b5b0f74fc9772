"""v1's ``azureml.data.datapath``: ``DataPath`` (a path on a datastore) and ``DataPathComputeBinding`` (how a run
gets it: mount or download), which together make a :class:`DataReference`."""

from __future__ import annotations

from typing import Any

from jupyter_amlrun.data.errors import DatastoreException
from jupyter_amlrun.data.reference import DataPath as _DataPath
from jupyter_amlrun.data.reference import DataReference


class DataPathComputeBinding:
    """How a run receives a :class:`DataPath`: ``mode`` ``"mount"`` or ``"download"``, and where."""

    def __init__(self, mode: str = "mount", path_on_compute: str | None = None, overwrite: bool = False) -> None:
        if mode not in ("mount", "download"):
            raise DatastoreException(f"mode must be 'mount' or 'download', got {mode!r}.")
        self.mode = mode
        self.path_on_compute = path_on_compute
        self.overwrite = overwrite

    def create_data_reference(self, data_reference_name: str | None = None, datapath: Any = None) -> DataReference:
        """The DataReference of ``datapath`` bound this way."""
        if not isinstance(datapath, _DataPath):
            raise DatastoreException("create_data_reference needs datapath=DataPath(datastore, 'path').")
        return DataReference(
            datapath.datastore,
            data_reference_name,
            datapath.path_on_datastore or None,
            self.mode,
            self.path_on_compute,
            self.overwrite,
        )

    @staticmethod
    def create_from_data_reference(data_reference: DataReference) -> DataPathComputeBinding:
        """The binding part of an existing DataReference."""
        return DataPathComputeBinding(data_reference.mode, data_reference.path_on_compute, data_reference.overwrite)


class DataPath(_DataPath):
    """A path on a datastore (v1 ``azureml.data.datapath.DataPath``), with v1's reference helpers."""

    path_on_datastore: str = ""  # set per instance

    @property
    def datastore_name(self) -> str:
        """The datastore's name."""
        return str(self.datastore.name)

    def create_data_reference(
        self, data_reference_name: str | None = None, datapath_compute_binding: DataPathComputeBinding | None = None
    ) -> DataReference:
        """A DataReference to this path (mounted unless the binding says otherwise)."""
        binding = datapath_compute_binding or DataPathComputeBinding()
        return binding.create_data_reference(data_reference_name, self)

    @staticmethod
    def create_from_data_reference(data_reference: DataReference) -> DataPath:
        """The DataPath of an existing DataReference."""
        return DataPath(
            data_reference.datastore, data_reference.path_on_datastore or "", data_reference.data_reference_name
        )


__all__ = ["DataPath", "DataPathComputeBinding"]
