"""``OutputFileDatasetConfig`` (v1: ``azureml.data.OutputFileDatasetConfig``): importable, refused with a clear error.

A run's output folder uploaded to a datastore at the run's end would need the driver to do the upload; here it does
not, so the class says what works today instead of accepting a config that would silently write nothing.
"""

from __future__ import annotations

from typing import Any

from jupyter_amlrun.data.errors import DatasetException

INSTEAD = (
    "OutputFileDatasetConfig (a run output uploaded to a datastore) is not supported yet. Instead, write the files "
    "to ./outputs in the script (they are uploaded as run artifacts when it ends), then in the notebook: "
    "run.download_files(prefix='outputs/x', output_directory='local_dir') and "
    "ws.get_default_datastore().upload('local_dir', target_path='x') (or Dataset.File.upload_directory)."
)


class OutputFileDatasetConfig:
    """Refused at construction: the message says how to get a run's output files into a datastore."""

    def __init__(self, name: str | None = None, destination: Any = None, source: str | None = None, **kwargs: Any):
        raise DatasetException(INSTEAD)


__all__ = ["INSTEAD", "OutputFileDatasetConfig"]
