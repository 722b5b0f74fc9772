"""v1's ``azureml.data.output_dataset_config``: ``OutputFileDatasetConfig`` is real; the pipeline-only kinds are
refused with what to use instead."""

from jupyter_amlrun.core.runconfig_sections import MountOptions, Record, UploadOptions
from jupyter_amlrun.data.output import OutputFileDatasetConfig
from jupyter_amlrun.runtime.errors import refused_class

_PIPELINES = (
    "Pipelines are not provided; write files to an OutputFileDatasetConfig and read them after the run with "
    "Dataset.File.from_files((datastore, path)) or the name given to register_on_complete."
)

#: v1's base of output configurations.
OutputDatasetConfig = OutputFileDatasetConfig
HDFSOutputDatasetConfig = refused_class("HDFSOutputDatasetConfig", "HDFS is not provided. " + _PIPELINES, __name__)
LinkFileOutputDatasetConfig = refused_class("LinkFileOutputDatasetConfig", _PIPELINES, __name__)
LinkTabularOutputDatasetConfig = refused_class("LinkTabularOutputDatasetConfig", _PIPELINES, __name__)
OutputTabularDatasetConfig = refused_class("OutputTabularDatasetConfig", _PIPELINES, __name__)
TransformationMixin = refused_class("TransformationMixin", _PIPELINES, __name__)


class RegistrationConfiguration(Record):
    """How an output is registered (v1): ``name``, ``description``, ``tags`` (``register_on_complete`` takes them)."""

    _FIELDS = ("name", "description", "tags")


__all__ = [
    "HDFSOutputDatasetConfig",
    "LinkFileOutputDatasetConfig",
    "LinkTabularOutputDatasetConfig",
    "MountOptions",
    "OutputDatasetConfig",
    "OutputFileDatasetConfig",
    "OutputTabularDatasetConfig",
    "RegistrationConfiguration",
    "TransformationMixin",
    "UploadOptions",
]
