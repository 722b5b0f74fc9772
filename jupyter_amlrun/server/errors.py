"""The one place that turns exceptions into HTTP answers ``{"error", "status"}``.

core's exceptions say what was wrong and how to fix it; their type picks the status:

- 404: a name that does not exist (``NotFoundException``, ``RunNotFoundException``, ``ModelNotFoundException``: the
  ``LookupError`` members of the family);
- 409: the operation does not fit the state (``ConflictException``; ``ExperimentExecutionException``: a run that
  cannot be acted on from here);
- 502: the storage service refused the datastore's credentials or could not be reached
  (``DatastoreAuthenticationError``, ``DatastoreConnectionError``): the request was fine, the store behind it was not;
- 400: any other ``UserErrorException`` (bad input, a path that leaves its root, an unknown status);
- tornado/jupyter_server ``HTTPError``: its own status (403 unauthenticated or unauthorized, 404 no route, ...);
- 500: anything else, with a message that names the exception type only (its text may hold a secret; the server
  log has the traceback).
"""

from __future__ import annotations

from tornado.web import HTTPError

from jupyter_amlrun.runtime.errors import (
    DatastoreAuthenticationError,
    DatastoreConnectionError,
    ExperimentExecutionException,
    UserErrorException,
)
from jupyter_amlrun.server.models import ErrorAnswer
from jupyter_amlrun.server.service import ConflictException


def status_for(exc: BaseException) -> int:
    """The HTTP status of ``exc``."""
    if isinstance(exc, HTTPError):
        return exc.status_code
    if isinstance(exc, (DatastoreAuthenticationError, DatastoreConnectionError)):
        return 502
    if isinstance(exc, UserErrorException):
        if isinstance(exc, LookupError):
            return 404
        if isinstance(exc, ConflictException):
            return 409
        return 400
    if isinstance(exc, ExperimentExecutionException):
        return 409
    return 500


def is_expected(exc: BaseException) -> bool:
    """Whether ``exc`` is a user's or the state's doing (logged as a warning, without a traceback)."""
    return status_for(exc) < 500 or isinstance(exc, (DatastoreAuthenticationError, DatastoreConnectionError))


def answer_for(exc: BaseException | None, status: int) -> ErrorAnswer:
    """The JSON body for ``exc`` (``None``: a plain HTTP status)."""
    if isinstance(exc, HTTPError):
        text = exc.log_message or exc.reason or ""
        if exc.args and exc.log_message:
            try:
                text = exc.log_message % exc.args
            except (TypeError, ValueError):
                pass
        if not text:
            text = {
                401: "Not authenticated: open JupyterLab with its token, or log in.",
                403: "Not authenticated or not allowed: open JupyterLab with its token (or log in) and retry.",
                404: "No such route under /amlrun/api/: see docs/rest-api.md for the routes.",
                405: "This route does not take that HTTP method: see docs/rest-api.md.",
            }.get(status, f"HTTP {status}")
        return {"error": text, "status": status}
    if exc is not None and is_expected(exc):  # core's messages are scrubbed of secrets
        return {"error": str(exc), "status": status}
    kind = type(exc).__name__ if exc is not None else "error"
    return {
        "error": f"Unexpected {kind} in the jupyter_amlrun server extension; the Jupyter server's log has the details.",
        "status": status,
    }
