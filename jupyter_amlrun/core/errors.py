"""Exceptions. Names follow Azure ML SDK v1 so ported ``except`` clauses keep working."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NoReturn


class AmlRunError(Exception):
    """Base class of every error raised by jupyter_amlrun."""


class UserErrorException(AmlRunError, ValueError):
    """Bad input from the user: the message says what was wrong and how to fix it."""


class MetricValidationException(UserErrorException):
    """A ``run.log*`` call was given a name, value or step that the tracking store cannot keep as logged."""


class WorkspaceException(UserErrorException):
    """A workspace could not be found, opened or created."""


class ExperimentExecutionException(AmlRunError):
    """A run could not be submitted or followed."""


class RunConfigurationException(UserErrorException):
    """A run configuration is invalid."""


class SnapshotException(UserErrorException):
    """The source directory cannot be snapshotted (too big, too many files, unreadable)."""


class ComputeTargetException(UserErrorException):
    """A compute target is unknown, reserved, or badly configured."""


class RunNotFoundException(UserErrorException, LookupError):
    """No run with the given id exists in the workspace."""


class ModelNotFoundException(UserErrorException, LookupError):
    """No registered model matches the given name/version."""


class ModelPathNotFoundException(UserErrorException):
    """``register_model`` was given a path that the run did not upload."""


class ActivityFailedException(AmlRunError):
    """``wait_for_completion(raise_on_error=True)`` saw the run fail."""


class RunEnvironmentException(AmlRunError):
    """``Run.get_context(allow_offline=False)`` called outside a submitted run."""


class DatastoreException(UserErrorException):
    """A datastore is unknown, badly configured, or an operation on it was given bad input."""


class DatastoreAuthenticationError(DatastoreException):
    """The storage service rejected the datastore's credentials."""


class DatastoreConnectionError(DatastoreException):
    """The storage endpoint could not be reached (after bounded retries)."""


class NotSupportedLocallyError(UserErrorException, NotImplementedError):
    """A v1 name that only means something on Azure (billing, AKS/ACI deployment, cloud config): the message says
    what to use instead. Raised instead of AttributeError so a ported notebook stops with a reason."""


def not_supported(name: str, instead: str) -> NotSupportedLocallyError:
    """The error for the v1 name ``name`` that a local workspace cannot honour; ``instead`` says what to use."""
    return NotSupportedLocallyError(
        f"{name} is an Azure-only feature that jupyter_amlrun does not provide. Instead: {instead}"
    )


#: The attribute a refused v1 callable carries: what to use instead. ``jupyter amlrun port`` reads it to report
#: the refused v1 calls a notebook makes, so the refusals are written once, where they raise.
REFUSED_MARK = "__amlrun_refused__"


def refused(name: str, instead: str) -> Callable[..., NoReturn]:
    """A stand-in for the v1 callable ``name`` that raises :class:`NotSupportedLocallyError` when called.

    Parameters
    ----------
    name : str
        The v1 name as users write it, for example ``"Datastore.register_dbfs"``.
    instead : str
        What to use instead; shown in the error and in the port report.

    Returns
    -------
    Callable
        A function taking any arguments that raises; it carries ``__amlrun_refused__ = instead``.
    """

    def _refuse(*args: Any, **kwargs: Any) -> NoReturn:
        raise not_supported(name, instead)

    _refuse.__name__ = name.rsplit(".", 1)[-1]
    _refuse.__qualname__ = name
    _refuse.__doc__ = f"Not provided by jupyter_amlrun (Azure-only). Instead: {instead}"
    setattr(_refuse, REFUSED_MARK, instead)
    return _refuse


def refusal_of(obj: object) -> str | None:
    """What to use instead of ``obj`` when it is a refused v1 callable (see :func:`refused`), else None."""
    target = getattr(obj, "__func__", obj)
    value = getattr(target, REFUSED_MARK, None)
    return value if isinstance(value, str) else None
