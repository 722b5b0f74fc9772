"""Datastores (folder, Azure Blob) and FileDatasets, and how runs consume them (mount / download)."""

from __future__ import annotations

from jupyter_amlrun.data.datacache import DatacacheStore
from jupyter_amlrun.data.datapath import DataPath  # the reference DataPath plus v1's reference helpers
from jupyter_amlrun.data.dataset import (
    Dataset,
    DatasetConsumptionConfig,
    FileDataset,
    FileDatasetFactory,
    TabularDataset,
    TabularDatasetFactory,
)
from jupyter_amlrun.data.dataset_factory import DataType
from jupyter_amlrun.data.datastore import Datastore, FileEntry
from jupyter_amlrun.data.errors import (
    DatasetException,
    DatasetValidationError,
    DatastoreAuthenticationError,
    DatastoreConnectionError,
    DatastoreException,
)
from jupyter_amlrun.data.output import OutputFileDatasetConfig
from jupyter_amlrun.data.output_dataset_config import (
    HDFSOutputDatasetConfig,
    LinkFileOutputDatasetConfig,
    LinkTabularOutputDatasetConfig,
)
from jupyter_amlrun.data.reference import DataReference

__all__ = [
    "DataPath",
    "DataReference",
    "DataType",
    "DatacacheStore",
    "Dataset",
    "DatasetConsumptionConfig",
    "DatasetException",
    "DatasetValidationError",
    "Datastore",
    "DatastoreAuthenticationError",
    "DatastoreConnectionError",
    "DatastoreException",
    "FileDataset",
    "FileDatasetFactory",
    "FileEntry",
    "HDFSOutputDatasetConfig",
    "LinkFileOutputDatasetConfig",
    "LinkTabularOutputDatasetConfig",
    "OutputFileDatasetConfig",
    "TabularDataset",
    "TabularDatasetFactory",
]
