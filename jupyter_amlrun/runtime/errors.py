"""Exceptions. Names follow Azure ML SDK v1 so ported ``except`` clauses keep working."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, NoReturn, TypeVar


class AmlRunError(Exception):
    """Base class of every error raised by jupyter_amlrun (v1: ``AzureMLException``).

    Parameters
    ----------
    exception_message : str
        What went wrong and how to fix it.
    inner_exception : BaseException, optional
        The error that caused this one (v1 keeps it; ``raise ... from`` sets it too).
    """

    def __init__(self, *args: Any, inner_exception: BaseException | None = None, **kwargs: Any) -> None:
        # v1 also takes target=, details=, error=...: accepted, they only decorate the message on Azure.
        super().__init__(*args)
        self._inner_exception = inner_exception

    @property
    def message(self) -> str:
        """The error message (v1 ``exception.message``)."""
        return str(self)

    @message.setter
    def message(self, value: str) -> None:
        self.args = (value,)

    @property
    def inner_exception(self) -> BaseException | None:
        """The error that caused this one, if any."""
        return self._inner_exception if self._inner_exception is not None else self.__cause__

    @inner_exception.setter
    def inner_exception(self, value: BaseException | None) -> None:
        self._inner_exception = value

    def print_stacktrace(self) -> None:
        """Print this error's traceback (with its cause) to stderr, as v1 does."""
        import traceback

        traceback.print_exception(type(self), self, self.__traceback__)


#: v1's base exception name; ``except AzureMLException`` catches every error of jupyter_amlrun.
AzureMLException = AmlRunError


class AzureMLAggregatedException(AmlRunError):
    """Several errors at once (v1); the message lists them."""


class ServiceException(AmlRunError):
    """v1: an Azure service call failed. Local workspaces call no service; kept so ``except`` clauses port."""


class AuthenticationException(AmlRunError):
    """v1: logging in to Azure failed. Nothing is logged in to here; kept so ``except`` clauses port."""


class ProjectSystemException(AmlRunError):
    """v1: a project folder/config problem."""


class TrainingException(AmlRunError):
    """v1: an estimator or training run could not be set up."""


class ParallelRunException(AmlRunError):
    """v1: ParallelRunStep (pipelines, not provided here)."""


class WebserviceException(AmlRunError):
    """v1: deployment errors (deployment is not provided here; kept so ``except`` clauses port)."""


class WorkspacePrivateEndpointException(AmlRunError):
    """v1: private endpoint errors (a local workspace has none)."""


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


class DiscoveryUrlNotFoundException(UserErrorException):
    """v1: the workspace's service discovery URL could not be found."""


class DatasetTimestampMissingError(UserErrorException):
    """A time filter (``time_before`` ...) was used on a TabularDataset without timestamp columns."""


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


#: Every refused v1 name defined so far (filled as modules define them): v1 name -> what to use instead.
#: docs/v1-surface.md's refused list is generated from it (``python -m jupyter_amlrun.v1names``).
REFUSED: dict[str, str] = {}


def refused(name: str, instead: str, *, record: bool = True) -> Callable[..., NoReturn]:
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
    if record:
        REFUSED[name] = instead
    return _refuse


def refused_property(name: str, instead: str) -> property:
    """A v1 property that raises :class:`NotSupportedLocallyError` when read (``hasattr`` on the class stays true)."""
    getter = refused(name, instead)
    return property(getter, doc=getter.__doc__)


_C = TypeVar("_C", bound=type)


def refuse_members(
    methods: Mapping[str, str] | None = None,
    properties: Mapping[str, str] | None = None,
    owner: str | None = None,
) -> Callable[[_C], _C]:
    """Class decorator: add the refused v1 members of a class from one table (member name -> what to use instead).

    ``owner`` is the v1 class name the messages use (default: the decorated class's; a mixin gives its host's).
    A name the class already defines is a mistake in the table (it would hide real code), so it raises.
    """

    def apply(cls: _C) -> _C:
        for table, make in ((methods or {}, refused), (properties or {}, refused_property)):
            for member, instead in table.items():
                if member in cls.__dict__:
                    raise TypeError(f"{cls.__name__}.{member} is implemented; remove it from the refusal table")
                setattr(cls, member, make(f"{owner or cls.__name__}.{member}", instead))
        return cls

    return apply


class _RefusedClassMeta(type):
    """Metaclass of a v1 class with no local meaning: every public attribute is a refused callable."""

    def __getattr__(cls, name: str) -> Any:
        if name.startswith("_"):
            raise AttributeError(name)
        return refused(f"{cls.__name__}.{name}", cls.__dict__["__amlrun_refused__"], record=False)


def refused_class(name: str, instead: str, module: str, base: type = object) -> type:
    """A v1 class with no local meaning: importable (so ports keep working up to the line that uses it), and
    creating it or calling any of its members raises :class:`NotSupportedLocallyError` naming what to do instead.

    Parameters
    ----------
    name : str
        The v1 class name.
    instead : str
        What to use instead.
    module : str
        The module that exports it (``__module__`` of the class).
    base : type
        A base class so ``isinstance`` checks against the family still work (e.g. ComputeTarget).
    """

    def __init__(self: Any, *args: Any, **kwargs: Any) -> None:
        raise not_supported(name, instead)

    def __new__(cls: Any, *args: Any, **kwargs: Any) -> Any:  # bases such as ComputeTarget look the workspace up
        raise not_supported(name, instead)

    ns: dict[str, Any] = {
        "__init__": __init__,
        "__new__": __new__,
        "__module__": module,
        "__doc__": f"Not provided by jupyter_amlrun. Instead: {instead}",
        REFUSED_MARK: instead,
    }
    meta = _RefusedClassMeta if type(base) is type else type("_Meta", (_RefusedClassMeta, type(base)), {})
    cls = meta(name, (base,), ns)
    REFUSED[name] = instead
    return cls


def refusal_of(obj: object) -> str | None:
    """What to use instead of ``obj`` when it is a refused v1 callable (see :func:`refused`), else None."""
    target = obj.fget if isinstance(obj, property) else getattr(obj, "__func__", obj)  # refused_property too
    value = getattr(target, REFUSED_MARK, None)
    return value if isinstance(value, str) else None
