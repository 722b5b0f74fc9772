"""DataReference and DataPath: a path in a datastore, consumable by a run (v1's ``$AZUREML_DATAREFERENCE_<name>``)."""

from __future__ import annotations

import posixpath
import re
import uuid
import warnings
from typing import TYPE_CHECKING, Any

from jupyter_amlrun.data.datastore import normalize_path
from jupyter_amlrun.data.errors import DatasetException, DatastoreException

if TYPE_CHECKING:
    from jupyter_amlrun.data.datastore import Datastore

_INPUT_NAME_RE = re.compile(r"^[a-zA-Z_]+[a-zA-Z0-9_]*$")
_PROHIBITED = {"path", "ld_library_path", "user", "logname", "home", "pwd", "shell"}
MODES = ("mount", "download")


def check_input_name(name: Any) -> str:
    """v1's input-name rule (``azureml/data/_config_helper.py``)."""
    if not isinstance(name, str) or not _INPUT_NAME_RE.match(name):
        raise DatasetException(
            f'Invalid input name "{name}". The name can only be alphanumeric characters and underscore, and must '
            "not begin with a number."
        )
    if name.lower() in _PROHIBITED:
        warnings.warn(
            f"Input name {name!r} is also the name of a common environment variable, which the run will overwrite; "
            "choose another name.",
            stacklevel=3,
        )
    return name


def check_path_on_compute(path: Any) -> str | None:
    if path is None:
        return None
    if not isinstance(path, str) or not path.strip():
        raise DatasetException(f"path_on_compute must be a non-empty string, got {path!r}.")
    return path


class DataReference:
    """A path in a datastore that a run mounts or downloads.

    ``str(ref)`` is ``$AZUREML_DATAREFERENCE_<name>``, the placeholder the driver replaces with the local path.

    Parameters
    ----------
    datastore:
        The datastore.
    data_reference_name:
        Name of the reference (default: the datastore's name for its root, else a random hex name).
    path_on_datastore:
        Folder or file in the datastore (default: the root).
    mode:
        ``"mount"`` or ``"download"``.
    path_on_compute:
        Where the data appears on the target (default: a folder of the run).
    overwrite:
        For downloads: replace existing files at ``path_on_compute``.
    """

    def __init__(
        self,
        datastore: Datastore,
        data_reference_name: str | None = None,
        path_on_datastore: str | None = None,
        mode: str = "mount",
        path_on_compute: str | None = None,
        overwrite: bool = False,
    ) -> None:
        from jupyter_amlrun.data.datastore import Datastore

        if not isinstance(datastore, Datastore):
            raise DatastoreException(f"DataReference needs a Datastore, got {type(datastore).__name__}.")
        if mode not in MODES:
            raise DatastoreException(f"mode must be one of {MODES}, got {mode!r}.")
        self.datastore = datastore
        self.path_on_datastore = normalize_path(path_on_datastore, what="path_on_datastore") or None
        if data_reference_name is None:
            data_reference_name = datastore.name if self.path_on_datastore is None else uuid.uuid4().hex
        if not isinstance(data_reference_name, str) or not re.match(r"^\w+$", data_reference_name):
            raise DatastoreException(
                f"Invalid data_reference_name {data_reference_name!r}: use letters, digits and underscores."
            )
        self.data_reference_name = data_reference_name
        self.mode = mode
        self.path_on_compute = check_path_on_compute(path_on_compute)
        self.overwrite = bool(overwrite)

    def _copy(self, **changes: Any) -> DataReference:
        args: dict[str, Any] = {
            "datastore": self.datastore,
            "data_reference_name": self.data_reference_name,
            "path_on_datastore": self.path_on_datastore,
            "mode": self.mode,
            "path_on_compute": self.path_on_compute,
            "overwrite": self.overwrite,
        }
        args.update(changes)
        return DataReference(**args)

    @staticmethod
    def create(
        data_reference_name: str | None = None, datapath: Any = None, datapath_compute_binding: Any = None
    ) -> DataReference:
        """v1's ``DataReference.create(name, datapath, datapath_compute_binding)``: a reference to a DataPath,
        mounted unless the binding (a ``DataPathComputeBinding``) says otherwise."""
        from jupyter_amlrun.data.datapath import DataPathComputeBinding

        binding = datapath_compute_binding or DataPathComputeBinding()
        if not isinstance(binding, DataPathComputeBinding):
            raise DatastoreException(
                "DataReference.create: datapath_compute_binding must be a DataPathComputeBinding(mode='mount' or "
                f"'download'), got {type(binding).__name__}."
            )
        return binding.create_data_reference(data_reference_name, datapath)

    def path(self, path: str | None = None, data_reference_name: str | None = None) -> DataReference:
        """A reference to ``path`` under this one."""
        joined = posixpath.join(self.path_on_datastore or "", path or "") or None
        return DataReference(self.datastore, data_reference_name, joined, self.mode, None, self.overwrite)

    def as_mount(self) -> DataReference:
        """This reference, mounted on the target."""
        return self._copy(mode="mount")

    def as_download(self, path_on_compute: str | None = None, overwrite: bool = False) -> DataReference:
        """This reference, downloaded on the target (to ``path_on_compute`` when given)."""
        return self._copy(mode="download", path_on_compute=path_on_compute, overwrite=overwrite)

    def as_upload(self, path_on_compute: str | None = None, overwrite: bool = False) -> DataReference:
        raise DatastoreException(
            "as_upload is not supported: write to ./outputs in the script (uploaded as run artifacts), then "
            "datastore.upload(...) from the notebook."
        )

    def to_config(self) -> dict[str, Any]:
        """The reference as a plain dict (what the run's spec stores)."""
        return {
            "kind": "datareference",
            "name": self.data_reference_name,
            "mode": self.mode,
            "datastore": self.datastore.name,
            "path_on_datastore": self.path_on_datastore,
            "path_on_compute": self.path_on_compute,
            "overwrite": self.overwrite,
        }

    def __amlrun_input__(self) -> tuple[str, dict[str, Any]]:
        return str(self), self.to_config()

    def __str__(self) -> str:
        return f"$AZUREML_DATAREFERENCE_{self.data_reference_name}"

    def __repr__(self) -> str:
        return (
            f"$AZUREML_DATAREFERENCE_{self.data_reference_name} -> ({self.datastore.name!r}, "
            f"{self.path_on_datastore or '/'!r}, mode={self.mode!r})"
        )


class DataPath:
    """A path in a datastore, for ``Dataset.File.from_files(DataPath(...))``.

    Parameters
    ----------
    datastore:
        The datastore.
    path_on_datastore:
        Folder, file or glob in the datastore.
    name:
        Optional name.
    """

    def __init__(
        self, datastore: Datastore | None = None, path_on_datastore: str | None = None, name: str | None = None
    ) -> None:
        if datastore is None:
            raise DatastoreException("DataPath needs a datastore: DataPath(datastore, 'folder/or/glob').")
        self.datastore = datastore
        self.path_on_datastore = path_on_datastore or ""
        self.name = name

    def __repr__(self) -> str:
        return f"DataPath({self.datastore.name!r}, {self.path_on_datastore!r})"


__all__ = ["DataPath", "DataReference", "check_input_name"]
