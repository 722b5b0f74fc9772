"""v1's ``azureml.data.sql_data_reference`` (SQL datastores are not provided): importable, refusing with an instead."""

from jupyter_amlrun.runtime.errors import refused_class

SqlDataReference = refused_class(
    "SqlDataReference",
    "SQL datastores are not provided; query with your database client, save the rows (pandas) and upload them to a "
    "datastore, or use Dataset.Tabular.register_pandas_dataframe.",
    __name__,
)

__all__ = ["SqlDataReference"]
