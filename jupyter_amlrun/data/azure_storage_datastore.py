"""v1's ``azureml.data.azure_storage_datastore``: the datastore classes by their v1 names.

Blob containers are real (``Datastore.register_azure_blob_container``); Azure file shares are refused with what to
use instead.
"""

from __future__ import annotations

from jupyter_amlrun.data._blob import AzureBlobDatastore
from jupyter_amlrun.data.datastore import Datastore
from jupyter_amlrun.runtime.errors import refused_class

#: v1's base of blob/file datastores; every datastore here has the whole v1 API.
AbstractAzureStorageDatastore = Datastore

AzureFileDatastore = refused_class(
    "AzureFileDatastore",
    "Azure file shares are not provided; register the folder (Datastore.register_folder) or a blob container "
    "(Datastore.register_azure_blob_container).",
    __name__,
    Datastore,
)

__all__ = ["AbstractAzureStorageDatastore", "AzureBlobDatastore", "AzureFileDatastore"]
