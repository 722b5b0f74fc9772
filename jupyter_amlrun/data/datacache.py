"""v1's ``azureml.data.datacache`` (preview): not provided."""

from jupyter_amlrun.runtime.errors import refused_class

DatacacheStore = refused_class(
    "DatacacheStore", "Datacache is not provided; use dataset.as_download() (files are kept per run).", __name__
)

__all__ = ["DatacacheStore"]
