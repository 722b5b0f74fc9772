"""v1's DataReference.create / DataPath reference helpers, and class-level names v1 code reads."""

from __future__ import annotations

from typing import Any

import pytest

from jupyter_amlrun.data import DataPath, DataReference, OutputFileDatasetConfig
from jupyter_amlrun.data.datapath import DataPathComputeBinding
from jupyter_amlrun.data.errors import DatastoreException
from jupyter_amlrun.tensorboard import Tensorboard


@pytest.mark.unit
def test_data_reference_create_from_a_datapath_and_a_binding(folder_store: Any) -> None:
    path = DataPath(folder_store, "datasets/mnist")
    mounted = DataReference.create("mnist", path)
    assert (mounted.mode, mounted.path_on_datastore, mounted.data_reference_name) == (
        "mount",
        "datasets/mnist",
        "mnist",
    )
    binding = DataPathComputeBinding(mode="download", path_on_compute="data", overwrite=True)
    downloaded = DataReference.create("mnist_dl", path, binding)
    assert (downloaded.mode, downloaded.path_on_compute, downloaded.overwrite) == ("download", "data", True)
    back = DataPath.create_from_data_reference(downloaded)
    assert (back.datastore_name, back.path_on_datastore) == (folder_store.name, "datasets/mnist")
    with pytest.raises(DatastoreException, match="DataPathComputeBinding"):
        DataReference.create("bad", path, datapath_compute_binding="download")
    with pytest.raises(DatastoreException, match="DataPath"):
        DataReference.create("bad", datapath=None)


@pytest.mark.unit
def test_class_level_names_v1_code_reads() -> None:
    assert Tensorboard.LOGS_ARTIFACT_PREFIX == "logs/"
    assert OutputFileDatasetConfig.name == ""
    assert OutputFileDatasetConfig(name="prepared").name == "prepared"
