"""The one error mapping: each exception type of core and data gets its status, and no 500 answer repeats an
exception's text (it may hold a secret)."""

from __future__ import annotations

import pytest
from tornado.web import HTTPError

from jupyter_amlrun.data.errors import DatasetException, DatasetValidationError
from jupyter_amlrun.runtime import errors as E
from jupyter_amlrun.server.errors import answer_for, status_for
from jupyter_amlrun.server.service import ConflictException, NotFoundException


@pytest.mark.parametrize(
    "exc,status",
    [
        (NotFoundException("no datastore 'x'"), 404),
        (E.RunNotFoundException("no run"), 404),
        (E.ModelNotFoundException("no model"), 404),
        (ConflictException("exists"), 409),
        (E.ExperimentExecutionException("no supervisor here"), 409),
        (E.DatastoreAuthenticationError("store 's' refused the credentials"), 502),
        (E.DatastoreConnectionError("store 's' unreachable"), 502),
        (E.UserErrorException("bad input"), 400),
        (E.DatastoreException("path escapes"), 400),
        (E.WorkspaceException("bad config"), 400),
        (E.NotSupportedLocallyError("Azure only"), 400),
        (DatasetException("bad dataset"), 400),
        (DatasetValidationError("matches nothing"), 400),
        (HTTPError(403), 403),
        (HTTPError(400, "Invalid JSON in body of request"), 400),
    ],
)
def test_each_type_gets_its_status_and_its_message(exc: BaseException, status: int) -> None:
    assert status_for(exc) == status
    answer = answer_for(exc, status)
    assert answer["status"] == status and answer["error"]
    if not isinstance(exc, HTTPError):
        assert answer["error"] == str(exc)


def test_unexpected_errors_are_500_without_their_text() -> None:
    exc = RuntimeError("connection string AccountKey=SECRETKEY== failed")
    assert status_for(exc) == 500
    answer = answer_for(exc, 500)
    assert answer["status"] == 500 and "SECRETKEY" not in answer["error"] and "RuntimeError" in answer["error"]
    assert "SECRETKEY" not in answer_for(KeyError("SECRETKEY"), 500)["error"]


def test_plain_http_statuses_get_a_message() -> None:
    assert "token" in answer_for(HTTPError(403), 403)["error"]
    assert answer_for(HTTPError(404), 404)["error"].startswith("No such route")
    assert answer_for(None, 503) == {
        "error": "Unexpected error in the jupyter_amlrun server extension; the Jupyter server's log has the details.",
        "status": 503,
    }
