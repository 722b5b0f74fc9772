"""MLflow inside a submitted run: the run's driver serves MLflow's REST API on 127.0.0.1 for its script.

The driver points the script's ``MLFLOW_TRACKING_URI`` (and registry URI) at this endpoint and sets ``MLFLOW_RUN_ID``,
so ``mlflow.start_run()``, ``mlflow.log_*``, ``mlflow.autolog()`` and ``mlflow.<flavor>.log_model`` in the script land
in the submitted run. Why a REST endpoint rather than a tracking-store plugin (an entry point of group
``mlflow.tracking_store`` for a URI scheme of ours), measured in ``benchmarks/mlflow_in_run.py``:

- version independence: every MLflow client, of any version, speaks this REST API (it is how clients talk to an
  ``mlflow server``); a plugin is our code running inside the script's MLflow, subclassing that version's
  ``AbstractStore``, whose methods change between versions (MLflow 3 added logged models, inputs/outputs, traces), and
  it needs our package and its entry-point metadata importable in every run environment;
- the run environment's MLflow never opens the workspace's store files: only the driver does, with the MLflow the
  workspace was created with (a different MLflow opening the sqlite file fails on its schema, or migrates it);
- live display and exactly-once: a metric of the submitted run is validated as MLflow's server would, then appended
  to the run's metrics journal only (the widget reads it live; the driver ships it to the store once, as for
  ``run.log``); params, tags, inputs/outputs and logged models go to the store at once;
- cost: one HTTP request per ``mlflow.log_metric`` (about a millisecond on a loopback keep-alive connection), several
  times cheaper than the script's own MLflow writing to sqlite (one transaction per call), dearer than ``run.log``
  (a journal append) or an in-process plugin; ``log_batch`` and autologging send many points per request.

A model logged with MLflow 3 (``mlflow.<flavor>.log_model(model, name="model")``) is stored as a LoggedModel outside
the run's files; when its upload is finalised the endpoint copies its files into the run's artifacts under its name,
so ``run.get_file_names()`` lists ``model/...`` and ``run.register_model(model_path="model")`` works as it did with
azureml-mlflow. File artifacts (``mlflow.log_artifact``) are written by the script's client straight to the run's
artifact location when it is a local folder (as with any MLflow server that does not proxy artifacts); when the
workspace is a team ``mlflow server`` that serves them (``mlflow-artifacts:``), the calls are passed on to it.

Not covered: ranks of a distributed run that are on other machines (the endpoint listens on 127.0.0.1 of the
driver's), and every rank's MLflow metrics are the run's (``run.log`` keeps rank 0's only).
"""

from __future__ import annotations

import contextlib
import json
import re
import secrets
import shutil
import tempfile
import threading
import urllib.parse
from collections import OrderedDict
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import TYPE_CHECKING, Any

from jupyter_amlrun.tracking.journal import JournalWriter, ship_journal

if TYPE_CHECKING:
    from jupyter_amlrun.tracking.store import TrackingStore

API_PREFIX = "/api/2.0"
ARTIFACTS_PREFIX = "/api/2.0/mlflow-artifacts/"
Log = Callable[[str], None]
_SEEN_POINTS = 200_000  # recent points remembered to drop a retried request's repeats (about 30 MB at most)


class _Refused(Exception):
    """An MLflow REST error answered to the script: ``(error_code, message, http status)``."""

    def __init__(self, code: str, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.code, self.message, self.status = code, message, status


class RunEndpoint:
    """MLflow's tracking and registry REST API for one submitted run, on 127.0.0.1.

    Parameters
    ----------
    store:
        Returns the workspace's tracking store (called on the first request: importing mlflow is not paid before
        the script starts).
    run_id:
        The submitted run; its metrics go to ``run_dir/journal.jsonl``.
    run_dir:
        The run's folder (journal, shipping lock).
    log:
        Where notes go (the driver log).
    """

    def __init__(self, store: Callable[[], TrackingStore], run_id: str, run_dir: Path, log: Log | None = None) -> None:
        self._store_factory = store
        self.run_id = run_id
        self.run_dir = run_dir
        self._log = log or (lambda _m: None)
        # A secret path: other local processes cannot write into the run by guessing the port.
        self.token = secrets.token_urlsafe(16)
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self._api: _Api | None = None
        self._writer: JournalWriter | None = None
        self._journal_lock = threading.Lock()
        self._seen: OrderedDict[tuple[str, str, int, int], None] = OrderedDict()  # recent points, for retries
        self._closed = False
        self.requests = 0

    # ------------------------------------------------------------------ lifecycle
    def start(self) -> str:
        """Listen on a free loopback port; returns the tracking URI to give the script."""
        endpoint = self

        class Handler(_Handler):
            owner = endpoint

        server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        server.daemon_threads = True
        self._server = server
        self._thread = threading.Thread(target=server.serve_forever, name="mlflow-endpoint", daemon=True)
        self._thread.start()
        return self.uri

    @property
    def uri(self) -> str:
        if self._server is None:
            raise RuntimeError("the endpoint is not started")
        return f"http://127.0.0.1:{self._server.server_address[1]}/{self.token}"

    def close(self) -> None:
        """Stop serving and close the journal writer (every record written is already in the file)."""
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        with self._journal_lock:
            self._closed = True
            if self._writer is not None:
                self._writer.close()
                self._writer = None

    # ------------------------------------------------------------------ used by the API
    def api(self) -> _Api:
        with self._lock:
            if self._api is None:
                self._api = _Api(self, self._store_factory())
            return self._api

    def journal(self, points: list[tuple[str, float, int, int]]) -> None:
        """Append ``(name, value, timestamp_ms, step)`` points to the run's journal, in one write."""
        with self._journal_lock:
            if self._closed:  # the run's journal is being shipped for the last time: nothing joins it now
                raise _Refused("INVALID_STATE", f"Run {self.run_id} has ended; its metrics are closed.")
            # A point MLflow's client sends twice (its HTTP layer retries a request whose answer was slow or lost)
            # is the same (name, value, timestamp, step): the store keeps one such point, so the journal, which
            # RunDetails and get_metrics read while the run folder lives, keeps one too.
            fresh = []
            for point in points:
                key = (point[0], repr(point[1]), point[2], point[3])
                if key in self._seen:
                    continue
                self._seen[key] = None
                fresh.append(point)
            while len(self._seen) > _SEEN_POINTS:
                self._seen.popitem(last=False)
            if not fresh:
                return
            if self._writer is None:
                self._writer = JournalWriter(self.run_dir / "journal.jsonl")
            self._writer.append_points(fresh)

    def ship(self, store: TrackingStore) -> None:
        """Ship the journal now, so a read through the API sees every metric the script logged before it."""
        ship_journal(store, self.run_id, self.run_dir)


class _Handler(BaseHTTPRequestHandler):
    owner: RunEndpoint
    protocol_version = "HTTP/1.1"  # keep-alive: MLflow's client reuses one connection for every call
    # Each answer is one small write: without TCP_NODELAY, Nagle's algorithm and the client's delayed ACK cost
    # ~40 ms per call (measured: 51 ms per log_metric, against under 2 ms with it).
    disable_nagle_algorithm = True

    def log_message(self, format: str, *args: Any) -> None:
        pass  # the driver log is for the run, not for every request

    def do_GET(self) -> None:
        self._serve("GET")

    def do_POST(self) -> None:
        self._serve("POST")

    def do_PATCH(self) -> None:
        self._serve("PATCH")

    def do_DELETE(self) -> None:
        self._serve("DELETE")

    def do_PUT(self) -> None:  # artifact uploads (mlflow-artifacts), passed on to a team server
        self._serve("PUT")

    def _serve(self, method: str) -> None:
        owner = self.owner
        owner.requests += 1
        parsed = urllib.parse.urlsplit(self.path)
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        prefix = f"/{owner.token}"
        if not parsed.path.startswith(prefix + "/"):
            self._answer(404, {"error_code": "ENDPOINT_NOT_FOUND", "message": "Not found."})
            return
        path = parsed.path[len(prefix) :]
        if path.startswith(ARTIFACTS_PREFIX):
            self._proxy(method, path, parsed.query, body)
            return
        try:
            status, doc = owner.api().call(method, path, parsed.query, body)
        except _Refused as exc:
            status, doc = exc.status, {"error_code": exc.code, "message": exc.message}
        except Exception as exc:
            status, doc = _error_doc(exc)
        self._answer(status, doc)

    def _proxy(self, method: str, path: str, query: str, body: bytes) -> None:
        """Artifact calls (``mlflow-artifacts:`` locations) go on to the team server that serves them."""
        try:
            status, content_type, data = self.owner.api().forward_artifacts(method, path, query, body)
        except _Refused as exc:
            self._answer(exc.status, {"error_code": exc.code, "message": exc.message})
            return
        except Exception as exc:
            self._answer(*_error_doc(exc))
            return
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        self._headers_buffer.append(b"\r\n" + data)  # type: ignore[attr-defined]
        self.flush_headers()

    def _answer(self, status: int, doc: Any) -> None:
        data = (doc if isinstance(doc, str) else json.dumps(doc)).encode("utf-8")
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        # Headers and body in one write (end_headers would send the headers on their own).
        self._headers_buffer.append(b"\r\n" + data)  # type: ignore[attr-defined]
        self.flush_headers()


def _error_doc(exc: Exception) -> tuple[int, Any]:
    from mlflow.exceptions import MlflowException

    if isinstance(exc, MlflowException):
        return exc.get_http_status_code(), exc.serialize_as_json()
    # 4xx, not 5xx: MLflow's client retries a 5xx for minutes, and a failure here is not transient (the store's
    # own lock contention is retried inside TrackingStore).
    text = " ".join(str(exc).split())[:500]
    return 400, {
        "error_code": "INTERNAL_ERROR",
        "message": f"jupyter_amlrun's in-run MLflow endpoint failed on this call: {type(exc).__name__}: {text}",
    }


class _Api:
    """The routes, built from MLflow's own service descriptors, and one handler per RPC this endpoint serves."""

    def __init__(self, owner: RunEndpoint, store: TrackingStore) -> None:
        from mlflow.protos import databricks_pb2
        from mlflow.protos.model_registry_pb2 import ModelRegistryService
        from mlflow.protos.service_pb2 import MlflowService

        self.owner = owner
        self.store = store
        self.run_id = owner.run_id
        client = store.client
        self.tracking = client._tracking_client.store
        self._registry_client = client
        self._registry: Any = None
        self._experiment_id: str | None = None
        self._copied: set[str] = set()  # names of logged models copied into the run's files
        self.routes: list[tuple[str, re.Pattern[str], str, Any, Any]] = []
        for service in (MlflowService, ModelRegistryService):
            for method in service.DESCRIPTOR.methods:
                for ep in method.GetOptions().Extensions[databricks_pb2.rpc].endpoints:
                    path = "/" + ep.path.lstrip("/")
                    pattern = re.compile("^" + re.sub(r"\\\{(\w+)\\\}", r"(?P<\1>[^/]+)", re.escape(path)) + "$")
                    self.routes.append(
                        (
                            ep.method,
                            pattern,
                            method.name,
                            service().GetRequestClass(method),
                            service().GetResponseClass(method),
                        )
                    )

    @property
    def registry(self) -> Any:
        if self._registry is None:
            self._registry = self._registry_client._get_registry_client().store
        return self._registry

    # ------------------------------------------------------------------ dispatch
    def call(self, method: str, path: str, query: str, body: bytes) -> tuple[int, Any]:
        from mlflow.utils.proto_json_utils import message_to_json, parse_dict

        if not path.startswith(API_PREFIX + "/"):
            raise _Refused("ENDPOINT_NOT_FOUND", f"No MLflow REST API at {path}.", 404)
        rest = path[len(API_PREFIX) :]
        for verb, pattern, name, request_cls, response_cls in self.routes:
            match = pattern.match(rest)
            if match is None or verb != method:
                continue
            handler = getattr(self, f"rpc_{name}", None)
            if handler is None:
                raise _Refused(
                    "ENDPOINT_NOT_FOUND",
                    f"MLflow's {name} ({method} {rest}) is not served inside a submitted run by jupyter_amlrun: the "
                    "script's MLflow talks to its run's driver, which serves tracking (runs, metrics, params, tags, "
                    "logged models, datasets) and the model registry. Call it from the notebook instead, with "
                    "mlflow.set_tracking_uri(ws.get_mlflow_tracking_uri()).",
                    404,
                )
            doc = self._request_doc(request_cls, method, query, body)
            doc.update(match.groupdict())
            request = request_cls()
            parse_dict(doc, request)
            response = response_cls()
            handler(request, response)
            return 200, message_to_json(response, pretty=False)
        raise _Refused("ENDPOINT_NOT_FOUND", f"No MLflow REST API at {method} {path}.", 404)

    @staticmethod
    def _request_doc(request_cls: Any, method: str, query: str, body: bytes) -> dict[str, Any]:
        if method in ("POST", "PATCH") or (body and method == "DELETE"):
            try:
                doc = json.loads(body or b"{}")
            except ValueError as exc:
                raise _Refused("MALFORMED_REQUEST", f"The request body is not JSON: {exc}") from None
            if not isinstance(doc, dict):
                raise _Refused("MALFORMED_REQUEST", "The request body must be a JSON object.")
            return doc
        fields = request_cls.DESCRIPTOR.fields_by_name
        out: dict[str, Any] = {}
        for key, values in urllib.parse.parse_qs(query, keep_blank_values=True).items():
            field = fields.get(key)
            if field is None:
                continue
            repeated = _is_repeated(field)
            if field.type == field.TYPE_BOOL:
                values = [v.lower() == "true" for v in values]  # type: ignore[misc]
            out[key] = list(values) if repeated else values[0]
        return out

    def forward_artifacts(self, method: str, path: str, query: str, body: bytes) -> tuple[int, str, bytes]:
        """Pass an ``mlflow-artifacts`` call to the workspace's tracking server (with the driver's credentials)."""
        get_creds = getattr(self.tracking, "get_host_creds", None)
        if get_creds is None:
            raise _Refused(
                "ENDPOINT_NOT_FOUND",
                "This workspace's store keeps artifacts in local folders, not behind an MLflow server "
                f"(mlflow-artifacts): {method} {path} has nowhere to go.",
                404,
            )
        from mlflow.utils.rest_utils import http_request

        response = http_request(
            get_creds(),
            endpoint=path + (f"?{query}" if query else ""),
            method=method,
            data=body or None,
            raise_on_status=False,
        )
        return response.status_code, response.headers.get("Content-Type", "application/octet-stream"), response.content

    # ------------------------------------------------------------------ helpers
    def _mine(self, run_id: str) -> bool:
        return run_id == self.run_id

    def _run_id(self, request: Any) -> str:
        run_id = request.run_id or getattr(request, "run_uuid", "")
        if not run_id:
            raise _Refused("INVALID_PARAMETER_VALUE", "Missing value for required parameter 'run_id'.")
        return str(run_id)

    def _experiment_of_run(self) -> str:
        if self._experiment_id is None:
            self._experiment_id = str(self.tracking.get_run(self.run_id).info.experiment_id)
        return self._experiment_id

    def _journal_metrics(self, metrics: list[Any]) -> None:
        """The submitted run's metrics: checked as MLflow's store checks them, then journaled (never stored here)."""
        from mlflow.utils.validation import _validate_metric

        points: list[tuple[str, float, int, int]] = []
        for m in metrics:
            _validate_metric(m.key, m.value, m.timestamp, m.step)
            points.append((m.key, float(m.value), int(m.timestamp), int(m.step)))
        self.owner.journal(points)
        linked = [m for m in metrics if getattr(m, "model_id", None)]
        if linked:
            # A metric of a logged model (MLflow 3) is also the model's: only that link is stored here, the run's
            # point itself comes from the journal (once).
            log_model_metrics = getattr(self.tracking, "_log_model_metrics", None)
            if log_model_metrics is not None:
                with contextlib.suppress(Exception):
                    log_model_metrics(self.run_id, linked, self._experiment_of_run())

    # ------------------------------------------------------------------ experiments
    def rpc_getExperiment(self, req: Any, resp: Any) -> None:
        resp.experiment.MergeFrom(self.tracking.get_experiment(req.experiment_id).to_proto())

    def rpc_getExperimentByName(self, req: Any, resp: Any) -> None:
        exp = self.tracking.get_experiment_by_name(req.experiment_name)
        if exp is None:
            raise _Refused(
                "RESOURCE_DOES_NOT_EXIST", f"Could not find experiment with name '{req.experiment_name}'", 404
            )
        resp.experiment.MergeFrom(exp.to_proto())

    def rpc_createExperiment(self, req: Any, resp: Any) -> None:
        from mlflow.entities import ExperimentTag

        location = req.artifact_location or None
        if location is None and self.store.artifact_root is not None:
            # Beside the workspace's other experiments, never under the driver's working folder.
            location = (self.store.artifact_root / req.name).as_uri()
        tags = [ExperimentTag(t.key, t.value) for t in req.tags]
        resp.experiment_id = str(self.tracking.create_experiment(req.name, artifact_location=location, tags=tags))

    def rpc_searchExperiments(self, req: Any, resp: Any) -> None:
        from mlflow.entities import ViewType

        found = self.tracking.search_experiments(
            view_type=req.view_type or ViewType.ACTIVE_ONLY,
            max_results=req.max_results or 1000,
            filter_string=req.filter or None,
            order_by=list(req.order_by) or None,
            page_token=req.page_token or None,
        )
        resp.experiments.extend(e.to_proto() for e in found)
        if found.token:
            resp.next_page_token = found.token

    def rpc_setExperimentTag(self, req: Any, resp: Any) -> None:
        from mlflow.entities import ExperimentTag

        self.tracking.set_experiment_tag(req.experiment_id, ExperimentTag(req.key, req.value))

    # ------------------------------------------------------------------ runs
    def rpc_getRun(self, req: Any, resp: Any) -> None:
        run_id = self._run_id(req)
        if self._mine(run_id):
            self.owner.ship(self.store)
        resp.run.MergeFrom(self.tracking.get_run(run_id).to_proto())

    def rpc_createRun(self, req: Any, resp: Any) -> None:
        from mlflow.entities import RunTag

        run = self.tracking.create_run(
            experiment_id=req.experiment_id,
            user_id=req.user_id or None,
            start_time=req.start_time or None,
            tags=[RunTag(t.key, t.value) for t in req.tags],
            run_name=req.run_name or None,
        )
        resp.run.MergeFrom(run.to_proto())

    def rpc_updateRun(self, req: Any, resp: Any) -> None:
        run_id = self._run_id(req)
        if self._mine(run_id):
            # The driver owns the submitted run's status and end (mlflow.end_run() in the script must not end it
            # FINISHED before its outputs are uploaded); only a new name is taken.
            if req.HasField("run_name") and req.run_name:
                self.tracking.update_run_info(run_id, None, None, req.run_name)
            resp.run_info.MergeFrom(self.tracking.get_run(run_id).info.to_proto())
            return
        status = req.status if req.HasField("status") else None  # the enum's number, as the store takes it
        info = self.tracking.update_run_info(
            run_id, status, req.end_time if req.HasField("end_time") else None, req.run_name or None
        )
        resp.run_info.MergeFrom(info.to_proto())

    def rpc_logMetric(self, req: Any, resp: Any) -> None:
        from mlflow.entities import Metric

        run_id = self._run_id(req)
        metric = Metric(
            req.key,
            req.value,
            req.timestamp,
            req.step,
            model_id=req.model_id or None,
            dataset_name=req.dataset_name or None,
            dataset_digest=req.dataset_digest or None,
            run_id=run_id,
        )
        if self._mine(run_id):
            self._journal_metrics([metric])
        else:
            self.tracking.log_metric(run_id, metric)

    def rpc_logParam(self, req: Any, resp: Any) -> None:
        from mlflow.entities import Param

        self.tracking.log_param(self._run_id(req), Param(req.key, req.value))

    def rpc_setTag(self, req: Any, resp: Any) -> None:
        from mlflow.entities import RunTag

        self.tracking.set_tag(self._run_id(req), RunTag(req.key, req.value))

    def rpc_deleteTag(self, req: Any, resp: Any) -> None:
        self.tracking.delete_tag(req.run_id, req.key)

    def rpc_logBatch(self, req: Any, resp: Any) -> None:
        from mlflow.entities import Metric, Param, RunTag

        run_id = self._run_id(req)
        metrics = [Metric.from_proto(m) for m in req.metrics]
        params = [Param.from_proto(p) for p in req.params]
        tags = [RunTag.from_proto(t) for t in req.tags]
        if self._mine(run_id):
            if params or tags:
                self.tracking.log_batch(run_id, metrics=[], params=params, tags=tags)
            if metrics:
                self._journal_metrics(metrics)
            return
        self.tracking.log_batch(run_id, metrics=metrics, params=params, tags=tags)

    def rpc_logModel(self, req: Any, resp: Any) -> None:
        from mlflow.models import Model

        self.tracking.record_logged_model(self._run_id(req), Model.from_dict(json.loads(req.model_json)))

    def rpc_logInputs(self, req: Any, resp: Any) -> None:
        from mlflow.entities import DatasetInput, LoggedModelInput

        self.tracking.log_inputs(
            self._run_id(req),
            datasets=[DatasetInput.from_proto(d) for d in req.datasets] or None,
            models=[LoggedModelInput.from_proto(m) for m in req.models] or None,
        )

    def rpc_logOutputs(self, req: Any, resp: Any) -> None:
        from mlflow.entities import LoggedModelOutput

        self.tracking.log_outputs(req.run_id, [LoggedModelOutput.from_proto(m) for m in req.models])

    def rpc_getMetricHistory(self, req: Any, resp: Any) -> None:
        run_id = self._run_id(req)
        if self._mine(run_id):
            self.owner.ship(self.store)
        found = self.tracking.get_metric_history(
            run_id, req.metric_key, max_results=req.max_results or None, page_token=req.page_token or None
        )
        resp.metrics.extend(m.to_proto() for m in found)
        if getattr(found, "token", None):
            resp.next_page_token = found.token

    def rpc_searchRuns(self, req: Any, resp: Any) -> None:
        from mlflow.entities import ViewType

        found = self.tracking.search_runs(
            experiment_ids=list(req.experiment_ids),
            filter_string=req.filter,
            run_view_type=req.run_view_type or ViewType.ACTIVE_ONLY,
            max_results=req.max_results or 1000,
            order_by=list(req.order_by),
            page_token=req.page_token or None,
        )
        resp.runs.extend(r.to_proto() for r in found)
        if found.token:
            resp.next_page_token = found.token

    # ------------------------------------------------------------------ logged models (MLflow 3)
    def rpc_createLoggedModel(self, req: Any, resp: Any) -> None:
        from mlflow.entities import LoggedModelParameter, LoggedModelTag

        model = self.tracking.create_logged_model(
            experiment_id=req.experiment_id,
            name=req.name or None,
            source_run_id=req.source_run_id or None,
            tags=[LoggedModelTag(t.key, t.value) for t in req.tags],
            params=[LoggedModelParameter(p.key, p.value) for p in req.params],
            model_type=req.model_type or None,
        )
        resp.model.MergeFrom(model.to_proto())

    def rpc_getLoggedModel(self, req: Any, resp: Any) -> None:
        resp.model.MergeFrom(self.tracking.get_logged_model(req.model_id).to_proto())

    def rpc_finalizeLoggedModel(self, req: Any, resp: Any) -> None:
        from mlflow.entities import LoggedModelStatus

        model = self.tracking.finalize_logged_model(req.model_id, LoggedModelStatus.from_int(req.status))
        if model.status == LoggedModelStatus.READY and model.source_run_id == self.run_id:
            self._copy_into_run(model)
        resp.model.MergeFrom(model.to_proto())

    def _copy_into_run(self, model: Any) -> None:
        """A finished LoggedModel of the submitted run becomes the run's files under its name (``model/...``)."""
        from jupyter_amlrun.tracking.store import file_uri_to_path

        if not model.name:
            return
        if model.name in self._copied:
            # A later model of the same name replaces the earlier one (autolog's, then the script's own), instead
            # of mixing their files in one folder (where the run's files are local folders).
            run_root = file_uri_to_path(self.tracking.get_run(self.run_id).info.artifact_uri)
            target = None if run_root is None else run_root / model.name
            if target is not None and target.resolve().is_relative_to(run_root.resolve()):  # type: ignore[union-attr]
                shutil.rmtree(target, ignore_errors=True)
        src = file_uri_to_path(model.artifact_location)
        if src is not None:
            if not src.is_dir():
                return
            self.store.log_artifacts(self.run_id, src, model.name)
        else:  # behind a tracking server: through this machine
            with tempfile.TemporaryDirectory() as tmp:
                got = self.store.download_uri(model.artifact_location, Path(tmp))
                self.store.log_artifacts(self.run_id, got, model.name)
        self._copied.add(model.name)
        self.owner._log(f"MLflow model {model.name!r} ({model.model_id}) is also the run's files under {model.name}/")

    def rpc_setLoggedModelTags(self, req: Any, resp: Any) -> None:
        from mlflow.entities import LoggedModelTag

        self.tracking.set_logged_model_tags(req.model_id, [LoggedModelTag(t.key, t.value) for t in req.tags])

    def rpc_deleteLoggedModelTag(self, req: Any, resp: Any) -> None:
        self.tracking.delete_logged_model_tag(req.model_id, req.tag_key)

    def rpc_LogLoggedModelParams(self, req: Any, resp: Any) -> None:
        from mlflow.entities import LoggedModelParameter

        self.tracking.log_logged_model_params(req.model_id, [LoggedModelParameter(p.key, p.value) for p in req.params])

    def rpc_searchLoggedModels(self, req: Any, resp: Any) -> None:
        from google.protobuf.json_format import MessageToDict

        found = self.tracking.search_logged_models(
            experiment_ids=list(req.experiment_ids),
            filter_string=req.filter or None,
            datasets=[MessageToDict(d, preserving_proto_field_name=True) for d in req.datasets] or None,
            max_results=req.max_results or None,
            order_by=[MessageToDict(o, preserving_proto_field_name=True) for o in req.order_by] or None,
            page_token=req.page_token or None,
        )
        resp.models.extend(m.to_proto() for m in found)
        if found.token:
            resp.next_page_token = found.token

    # ------------------------------------------------------------------ model registry
    def rpc_createRegisteredModel(self, req: Any, resp: Any) -> None:
        from mlflow.entities.model_registry import RegisteredModelTag

        model = self.registry.create_registered_model(
            req.name, tags=[RegisteredModelTag(t.key, t.value) for t in req.tags], description=req.description
        )
        resp.registered_model.MergeFrom(model.to_proto())

    def rpc_getRegisteredModel(self, req: Any, resp: Any) -> None:
        resp.registered_model.MergeFrom(self.registry.get_registered_model(req.name).to_proto())

    def rpc_searchRegisteredModels(self, req: Any, resp: Any) -> None:
        found = self.registry.search_registered_models(
            filter_string=req.filter or None,
            max_results=req.max_results or 100,
            order_by=list(req.order_by) or None,
            page_token=req.page_token or None,
        )
        resp.registered_models.extend(m.to_proto() for m in found)
        if found.token:
            resp.next_page_token = found.token

    def rpc_createModelVersion(self, req: Any, resp: Any) -> None:
        from mlflow.entities.model_registry import ModelVersionTag

        version = self.registry.create_model_version(
            req.name,
            req.source,
            run_id=req.run_id or None,
            tags=[ModelVersionTag(t.key, t.value) for t in req.tags],
            run_link=req.run_link or None,
            description=req.description or None,
            model_id=req.model_id or None,
        )
        resp.model_version.MergeFrom(version.to_proto())

    def rpc_getModelVersion(self, req: Any, resp: Any) -> None:
        resp.model_version.MergeFrom(self.registry.get_model_version(req.name, req.version).to_proto())

    def rpc_searchModelVersions(self, req: Any, resp: Any) -> None:
        found = self.registry.search_model_versions(
            filter_string=req.filter or None,
            max_results=req.max_results or 10000,
            order_by=list(req.order_by) or None,
            page_token=req.page_token or None,
        )
        resp.model_versions.extend(m.to_proto() for m in found)
        if found.token:
            resp.next_page_token = found.token

    def rpc_getModelVersionDownloadUri(self, req: Any, resp: Any) -> None:
        resp.artifact_uri = self.registry.get_model_version_download_uri(req.name, req.version)

    def rpc_setModelVersionTag(self, req: Any, resp: Any) -> None:
        from mlflow.entities.model_registry import ModelVersionTag

        self.registry.set_model_version_tag(req.name, req.version, ModelVersionTag(req.key, req.value))

    def rpc_setRegisteredModelTag(self, req: Any, resp: Any) -> None:
        from mlflow.entities.model_registry import RegisteredModelTag

        self.registry.set_registered_model_tag(req.name, RegisteredModelTag(req.key, req.value))


def _is_repeated(field: Any) -> bool:
    # protobuf >= 5 says so with is_repeated; older versions with the field's label
    flag = getattr(field, "is_repeated", None)
    if flag is not None:
        return bool(flag)
    return bool(field.label == field.LABEL_REPEATED)
