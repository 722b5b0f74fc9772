"""Exceptions of the data package. Each message says what was wrong and how to fix it."""

from __future__ import annotations

# the datastore errors belong to core (its datastore catalog raises them); re-exported here for the data API
from jupyter_amlrun.runtime.errors import (
    DatastoreAuthenticationError,
    DatastoreConnectionError,
    DatastoreException,
    UserErrorException,
)


class DatasetException(UserErrorException):
    """A dataset definition, registration or lookup is invalid."""


class DatasetValidationError(DatasetException):
    """A dataset path matches no file."""


__all__ = [
    "DatasetException",
    "DatasetValidationError",
    "DatastoreAuthenticationError",
    "DatastoreConnectionError",
    "DatastoreException",
]
