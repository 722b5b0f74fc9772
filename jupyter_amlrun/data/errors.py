"""Exceptions of the data package. Each message says what was wrong and how to fix it."""

from __future__ import annotations

from jupyter_amlrun.core.errors import UserErrorException


class DatastoreException(UserErrorException):
    """A datastore is unknown, badly configured, or an operation on it was given bad input."""


class DatastoreAuthenticationError(DatastoreException):
    """The storage service rejected the datastore's credentials."""


class DatastoreConnectionError(DatastoreException):
    """The storage endpoint could not be reached (after bounded retries)."""


class DatasetException(UserErrorException):
    """A dataset definition, registration or lookup is invalid."""


class DatasetValidationError(DatasetException):
    """A dataset path matches no file."""
