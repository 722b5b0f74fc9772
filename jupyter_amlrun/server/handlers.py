"""The REST handlers: each parses its request, calls one function of :mod:`jupyter_amlrun.server.service` in a worker
thread (core blocks on files and the tracking store) and writes its answer as JSON.

Every method is ``@tornado.web.authenticated`` and ``@authorized`` on the resource ``amlrun`` (GET reads, POST
writes); jupyter_server checks XSRF on POST for cookie-authenticated calls. Errors become JSON in one place
(:mod:`jupyter_amlrun.server.errors`).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import tornado.web
from jupyter_server.auth.decorator import authorized
from jupyter_server.base.handlers import APIHandler
from jupyter_server.extension.handler import ExtensionHandlerMixin

from jupyter_amlrun.core.workspace import Workspace
from jupyter_amlrun.runtime.errors import UserErrorException
from jupyter_amlrun.server import errors, service
from jupyter_amlrun.server.app import AmlrunExtension

AUTH_RESOURCE = "amlrun"  # what an Authorizer sees: is_authorized(handler, user, "read"|"write", "amlrun")
API = "/amlrun/api"
_SEG = r"([^/]+)"
R = TypeVar("R")


_inflight: dict[Any, asyncio.Future[Any]] = {}  # GETs being answered (touched on the IO loop only)


class AmlrunHandler(ExtensionHandlerMixin, APIHandler):
    """Base of every route: workspace access, query parsing, the worker thread, JSON answers and errors."""

    auth_resource = AUTH_RESOURCE

    @property
    def app(self) -> AmlrunExtension:
        app = self.extensionapp
        assert isinstance(app, AmlrunExtension)
        return app

    @property
    def workspace(self) -> Workspace:
        return self.app.workspace()

    @property
    def root_dir(self) -> Path:
        return self.app.root_dir

    def page_query(self) -> service.PageQuery:
        return service.PageQuery.parse(
            self.get_argument("offset", None), self.get_argument("limit", None), self.get_argument("filter", None)
        )

    def path_argument(self, name: str) -> str:
        """A path from the query string as sent: tornado's get_argument turns control characters (NUL) into
        spaces, which would hide a NUL from the path check."""
        values = self.request.query_arguments.get(name)
        return self.decode_argument(values[-1], name=name) if values else ""

    heavy = False  # routes that may read a lot (metric series, run views) run in their own small pool

    async def call(self, fn: Callable[..., R], *args: Any) -> R:
        """``fn(workspace, *args)`` in one of the extension's bounded worker pools, so the server keeps serving
        meanwhile; a 503 (busy: retry) when it has not answered within ``AmlrunExtension.request_timeout``."""
        app = self.app
        pool = app.heavy_pool if self.heavy else app.pool

        def work() -> R:
            return fn(app.workspace(), *args)

        # A GET asked again while the same GET is being answered shares that answer (read during the wait, so no
        # staler than waiting its turn): a burst of sidebars polling the same routes costs one read, not hundreds.
        key = (fn.__qualname__, repr(args)) if self.request.method == "GET" else None
        shared = _inflight.get(key) if key is not None else None
        if shared is None:
            future = pool.submit(work)
            shared = asyncio.wrap_future(future)
            if key is not None:
                _inflight[key] = shared
                shared.add_done_callback(lambda _f: _inflight.pop(key, None))
        try:
            return await asyncio.wait_for(asyncio.shield(shared), app.request_timeout)
        except asyncio.TimeoutError:
            if key is None:  # a shared GET may have other waiters: it runs on; its answer serves them
                shared.cancel()  # dropped if still queued; a running one ends in its thread, its answer unused
            raise tornado.web.HTTPError(
                503,
                f"The server could not answer within {app.request_timeout:g} s (busy reading runs); retry shortly. "
                "A Jupyter admin can raise AmlrunExtension.request_timeout or AmlrunExtension.workers.",
            ) from None

    def reply(self, answer: Any) -> None:
        self.finish(json.dumps(answer))

    def write_error(self, status_code: int, **kwargs: Any) -> None:
        exc_info = kwargs.get("exc_info")
        exc = exc_info[1] if exc_info else None
        status = errors.status_for(exc) if exc is not None else status_code
        self.set_status(status)
        self.set_header("Content-Type", "application/json")
        self.finish(json.dumps(errors.answer_for(exc, status)))

    def log_exception(self, typ: Any, value: Any, tb: Any) -> None:
        if value is not None and errors.is_expected(value):
            self.log.warning("%s %s: %s", self.request.method, self.request.uri, errors.answer_for(value, 0)["error"])
            return
        super().log_exception(typ, value, tb)


class WorkspaceHandler(AmlrunHandler):
    """GET workspace: name, location, default datastore, tracking URI (redacted)."""

    @tornado.web.authenticated
    @authorized
    async def get(self) -> None:
        self.reply(await self.call(service.workspace_info))


class DatastoresHandler(AmlrunHandler):
    """GET datastores: a page of datastores."""

    @tornado.web.authenticated
    @authorized
    async def get(self) -> None:
        self.reply(await self.call(service.datastores, self.page_query()))


class DatastoreFilesHandler(AmlrunHandler):
    """GET datastores/{name}/files: one folder level; POST: upload the raw body as a file."""

    @tornado.web.authenticated
    @authorized
    async def get(self, name: str) -> None:
        path = self.path_argument("path")
        self.reply(await self.call(service.list_folder, name, path, self.page_query()))

    @tornado.web.authenticated
    @authorized
    async def post(self, name: str) -> None:
        path = self.path_argument("path")
        overwrite = _flag("overwrite", self.get_argument("overwrite", "0"))
        self.reply(await self.call(service.upload_file, name, path, self.request.body, overwrite))


class DatasetsHandler(AmlrunHandler):
    """GET datasets: a page of registered datasets with their versions."""

    @tornado.web.authenticated
    @authorized
    async def get(self) -> None:
        self.reply(await self.call(service.datasets, self.page_query()))


class ModelsHandler(AmlrunHandler):
    """GET models: a page of registered models, versions newest first."""

    @tornado.web.authenticated
    @authorized
    async def get(self) -> None:
        self.reply(await self.call(service.models, self.page_query()))


class ModelDownloadHandler(AmlrunHandler):
    """POST models/{name}/versions/{version}/download: into a folder of the Jupyter root."""

    @tornado.web.authenticated
    @authorized
    async def post(self, name: str, version: str) -> None:
        body = self.get_json_body() or {}
        if not isinstance(body, dict):
            raise UserErrorException('The body must be a JSON object: {"target": "<folder>"}.')
        self.reply(await self.call(service.download_model, name, version, body.get("target"), self.root_dir))


class ExperimentsHandler(AmlrunHandler):
    """GET experiments: a page of experiments with run counts."""

    @tornado.web.authenticated
    @authorized
    async def get(self) -> None:
        self.reply(await self.call(service.experiments, self.page_query()))


class RunsHandler(AmlrunHandler):
    """GET runs: a page of runs, newest first, by experiment and status."""

    @tornado.web.authenticated
    @authorized
    async def get(self) -> None:
        experiment = self.get_argument("experiment", None)
        status = self.get_argument("status", None)
        self.reply(await self.call(service.runs, self.page_query(), experiment, status))


class RunHandler(AmlrunHandler):
    """GET runs/{id}: one run with its v1 details and log files."""

    @tornado.web.authenticated
    @authorized
    async def get(self, run_id: str) -> None:
        self.reply(await self.call(service.run_detail, run_id))


class RunLogsHandler(AmlrunHandler):
    """GET runs/{id}/logs: a part of one log from a byte offset, or the part before byte ``before``."""

    @tornado.web.authenticated
    @authorized
    async def get(self, run_id: str) -> None:
        arg = self.get_argument
        self.reply(
            await self.call(service.read_log, run_id, arg("name", None), arg("offset", None), arg("before", None))
        )


class RunViewHandler(AmlrunHandler):
    """GET runs/{id}/view?cursor=: the run's view model (a snapshot, then what is new after each cursor)."""

    heavy = True

    @tornado.web.authenticated
    @authorized
    async def get(self, run_id: str) -> None:
        self.reply(await self.call(service.run_view, run_id, self.get_argument("cursor", None), self.root_dir))


class RunDiffHandler(AmlrunHandler):
    """GET runs/{a}/diff/{b}: what differs between two runs (params, metrics, code, environment, inputs)."""

    @tornado.web.authenticated
    @authorized
    async def get(self, run_a: str, run_b: str) -> None:
        self.reply(await self.call(service.run_diff, run_a, run_b))


class RunDiffViewHandler(AmlrunHandler):
    """GET runs/{a}/diff/{b}/view: the diff as the sidebar draws it (view/diff.py: formatted tables, file diffs)."""

    @tornado.web.authenticated
    @authorized
    async def get(self, run_a: str, run_b: str) -> None:
        self.reply(await self.call(service.run_diff_view, run_a, run_b))


class RunNoticeHandler(AmlrunHandler):
    """GET runs/{id}/notice: whether the run ended and what JupyterLab's notice says then (view/notice.py)."""

    @tornado.web.authenticated
    @authorized
    async def get(self, run_id: str) -> None:
        self.reply(await self.call(service.run_notice, run_id))


class RunResubmitHandler(AmlrunHandler):
    """POST runs/{id}/resubmit: a new run from the run's snapshot, with the body's arguments, target, environment."""

    @tornado.web.authenticated
    @authorized
    async def post(self, run_id: str) -> None:
        self.reply(await self.call(service.resubmit_run, run_id, self.request.body))


class RunCancelHandler(AmlrunHandler):
    """POST runs/{id}/cancel: cancel a live run."""

    @tornado.web.authenticated
    @authorized
    async def post(self, run_id: str) -> None:
        self.reply(await self.call(service.cancel_run, run_id))


class MetricsHandler(AmlrunHandler):
    """GET metrics: scalar series of up to 20 runs cut for display (``points``), or one page of a series' full
    history (``cursor``, ``limit``)."""

    heavy = True

    @tornado.web.authenticated
    @authorized
    async def get(self) -> None:
        ids = [i.strip() for i in self.get_argument("runs", "").split(",")]
        arg = self.get_argument
        answer = await self.call(
            service.metric_series, ids, arg("name", None), arg("points", None), arg("cursor", None), arg("limit", None)
        )
        self.reply(answer)


class CompareHandler(AmlrunHandler):
    """GET compare?runs=a,b,...: the compare view of 2 to 20 runs (a chart per metric, the parameters table)."""

    heavy = True

    @tornado.web.authenticated
    @authorized
    async def get(self) -> None:
        ids = [i.strip() for i in self.get_argument("runs", "").split(",")]
        self.reply(await self.call(service.compare, ids))


def _flag(name: str, value: str) -> bool:
    if value.lower() in ("1", "true", "yes"):
        return True
    if value.lower() in ("", "0", "false", "no"):
        return False
    raise UserErrorException(f"{name}={value!r} is not valid: use {name}=1 or {name}=0.")


def routes() -> list[tuple[str, type[AmlrunHandler]]]:
    """Every route of the API (patterns relative to the server's base_url)."""
    return [
        (f"{API}/workspace", WorkspaceHandler),
        (f"{API}/datastores", DatastoresHandler),
        (f"{API}/datastores/{_SEG}/files", DatastoreFilesHandler),
        (f"{API}/datasets", DatasetsHandler),
        (f"{API}/models", ModelsHandler),
        (f"{API}/models/{_SEG}/versions/{_SEG}/download", ModelDownloadHandler),
        (f"{API}/experiments", ExperimentsHandler),
        (f"{API}/runs", RunsHandler),
        (f"{API}/runs/{_SEG}", RunHandler),
        (f"{API}/runs/{_SEG}/logs", RunLogsHandler),
        (f"{API}/runs/{_SEG}/view", RunViewHandler),
        (f"{API}/runs/{_SEG}/diff/{_SEG}", RunDiffHandler),
        (f"{API}/runs/{_SEG}/diff/{_SEG}/view", RunDiffViewHandler),
        (f"{API}/runs/{_SEG}/resubmit", RunResubmitHandler),
        (f"{API}/runs/{_SEG}/notice", RunNoticeHandler),
        (f"{API}/runs/{_SEG}/cancel", RunCancelHandler),
        (f"{API}/metrics", MetricsHandler),
        (f"{API}/compare", CompareHandler),
    ]
