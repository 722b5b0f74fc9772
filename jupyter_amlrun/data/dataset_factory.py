"""v1's ``azureml.data.dataset_factory``: the factories and ``DataType`` (column types for ``set_column_types``)."""

from __future__ import annotations

from jupyter_amlrun.data.dataset import FileDatasetFactory, TabularDatasetFactory
from jupyter_amlrun.runtime.errors import refused


class DataType:
    """Column types for ``Dataset.Tabular.from_*(set_column_types={"col": DataType.to_float()})``.

    Each returns the pandas dtype the column is converted to when the data is read.
    """

    @staticmethod
    def to_bool() -> str:
        return "bool"

    @staticmethod
    def to_float(decimal_mark: str = ".") -> str:
        return "float64"

    @staticmethod
    def to_long() -> str:
        return "Int64"  # pandas' nullable integer: missing values stay missing, as v1's long

    @staticmethod
    def to_string() -> str:
        return "string"

    @staticmethod
    def to_datetime(formats: list[str] | None = None) -> str:
        return "datetime64[ns]"

    to_stream = staticmethod(
        refused("DataType.to_stream", "Stream columns are not supported; keep files in a FileDataset.")
    )


__all__ = ["DataType", "FileDatasetFactory", "TabularDatasetFactory"]
