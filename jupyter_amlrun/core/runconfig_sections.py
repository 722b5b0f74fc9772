"""v1's run configuration value classes (``azureml.core.runconfig``): plain records of what a run asked for.

v1 serialised these into the run definition sent to Azure. Here they are kept on ``RunConfiguration`` and written
by ``RunConfiguration.save`` (so a saved file round-trips); the parts that drive a local run are the script,
arguments, target, environment, distribution and ``data`` (from ``dataset.as_named_input(...)``). Sections for
Azure-only compute (Spark, HDI, Kubernetes, ParallelTask) are kept as given and have no effect, as the docs say.
"""

from __future__ import annotations

from typing import Any


class Record:
    """A record whose fields are its constructor's parameters; ``to_dict`` gives them back."""

    _FIELDS: tuple[str, ...] = ()

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        values = dict(zip(self._FIELDS, args, strict=False))
        values.update(kwargs)
        for name in self._FIELDS:
            setattr(self, name, values.pop(name, None))
        for name, value in values.items():  # extra v1 fields: kept, so saving does not lose them
            setattr(self, name, value)

    def to_dict(self) -> dict[str, Any]:
        """The record's fields (nested records as dicts)."""
        out = {}
        for name, value in vars(self).items():
            if not name.startswith("_"):
                out[name] = value.to_dict() if isinstance(value, Record) else value
        return out

    @classmethod
    def from_dict(cls, d: dict[str, Any] | None) -> Any:
        """The record from :meth:`to_dict`'s output."""
        return cls(**dict(d or {}))

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Record) and type(other) is type(self) and self.to_dict() == other.to_dict()

    __hash__ = None  # type: ignore[assignment]  # records are mutable: unhashable, like dicts

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.to_dict()!r})"


class HistoryConfiguration(Record):
    """Run history settings (v1): ``output_collection``, ``snapshot_project``, ``directories_to_watch``.

    Runs here always collect ``outputs/`` and snapshot the source folder; the values are kept as given.
    """

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.output_collection = kwargs.get("output_collection", True)
        self.snapshot_project = kwargs.get("snapshot_project", True)
        self.directories_to_watch = list(kwargs.get("directories_to_watch", ["logs"]))


class SparkConfiguration(Record):
    """Spark settings of a v1 run (Azure Spark only): kept as given, no effect locally."""


class JarLibrary(Record):
    """A Spark JAR library (v1 Spark runs): kept as given, no effect locally."""

    _FIELDS = ("library",)


class MavenLibrary(Record):
    """A Spark Maven library (v1 Spark runs): kept as given, no effect locally."""

    _FIELDS = ("coordinates", "repo", "exclusions")


class PyPiLibrary(Record):
    """A Spark PyPI library (v1 Spark runs): add it with CondaDependencies.add_pip_package for local runs."""

    _FIELDS = ("package", "repo")


class RCranLibrary(Record):
    """A Spark CRAN library (v1 Spark runs): kept as given, no effect locally."""

    _FIELDS = ("package", "repo")


class HdiConfiguration(Record):
    """HDInsight settings (Azure only): kept as given, no effect locally."""


class AmlComputeConfiguration(Record):
    """v1's run-scoped (ephemeral) cluster settings: kept as given; a local run uses its named target's pool."""


class KubernetesComputeConfiguration(Record):
    """Kubernetes settings (Azure Arc only): kept as given, no effect locally."""


class ParallelTaskConfiguration(Record):
    """ParallelRunStep settings (pipelines, not provided): kept as given, no effect locally."""


class ApplicationEndpointConfiguration(Record):
    """An endpoint (Jupyter, SSH, ...) v1 could open on the compute: kept as given, nothing is opened locally."""

    _FIELDS = ("type", "port", "properties")


class DataPath(Record):
    """A path on a datastore, by datastore name (v1 run configuration form)."""

    _FIELDS = ("datastore_name", "relative_path")


class Uri(Record):
    """A URI as a run input (v1)."""

    _FIELDS = ("path", "is_file")


class Dataset(Record):
    """A dataset by id/name/version inside a run configuration (v1); use ``Dataset.get_by_name`` for data."""

    _FIELDS = ("dataset_id", "dataset_name", "dataset_version")


class DataLocation(Record):
    """Where a run input comes from: a dataset, a datastore path or a URI (v1)."""

    _FIELDS = ("dataset", "data_path", "uri")


class Data(Record):
    """A run input as v1 writes it into ``run_config.data`` (``Data.create(dataset.as_named_input('x'))``)."""

    _FIELDS = (
        "data_location",
        "create_output_directories",
        "mechanism",
        "environment_variable_name",
        "path_on_compute",
        "overwrite",
        "options",
    )

    @staticmethod
    def create(data: Any) -> Data:
        """The record of a ``DatasetConsumptionConfig`` (name, mode, path on compute)."""
        name = getattr(data, "name", None)
        return Data(
            data_location=DataLocation(
                dataset=Dataset(dataset_name=getattr(getattr(data, "dataset", None), "name", None))
            ),
            create_output_directories=False,
            mechanism=getattr(data, "mode", "direct"),
            environment_variable_name=name,
            path_on_compute=getattr(data, "path_on_compute", None),
            overwrite=False,
        )


class DataReferenceConfiguration(Record):
    """A datastore reference as a run input (v1); ``datastore.path(...).as_mount()`` makes one that runs."""

    _FIELDS = ("datastore_name", "mode", "path_on_datastore", "path_on_compute", "overwrite")


class DatacacheConfiguration(Record):
    """A datacache input (v1 preview): kept as given, no effect locally."""

    _FIELDS = (
        "dataset_id",
        "datacache_store",
        "datacache_id",
        "mode",
        "path_on_compute",
        "replica",
        "failure_fallback",
    )

    @staticmethod
    def create(data: Any) -> DatacacheConfiguration:
        return DatacacheConfiguration(dataset_id=getattr(data, "id", None))


class GlobsOptions(Record):
    """Which files of an output to upload (v1)."""

    _FIELDS = ("patterns",)


class UploadOptions(Record):
    """Upload settings of an output (v1): ``overwrite``, ``source_globs``."""

    _FIELDS = ("overwrite", "source_globs")


class MountOptions(Record):
    """Mount settings of an output (v1)."""

    _FIELDS = ("disable_metadata_cache",)


class DatasetRegistrationOptions(Record):
    """Transformations applied when an output is registered (v1)."""

    _FIELDS = ("additional_transformations",)


class RegistrationOptions(Record):
    """How an output is registered as a dataset (v1): ``name``, ``description``, ``tags``."""

    _FIELDS = ("name", "description", "tags", "dataset_registration_options")


class OutputOptions(Record):
    """Options of a run output (v1)."""

    _FIELDS = ("path_on_compute", "registration_options", "upload_options", "mount_options")


class OutputData(Record):
    """A run output as v1 writes it into ``run_config.output_data`` (``OutputFileDatasetConfig`` makes it here)."""

    _FIELDS = ("output_location", "mechanism", "additional_options")
