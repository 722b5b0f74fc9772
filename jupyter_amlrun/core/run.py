"""Run: the handle of one tracked run (v1 API), in the notebook and inside the training script."""

from __future__ import annotations

import builtins
import contextlib
import getpass
import html
import importlib
import json
import os
import posixpath
import shutil
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from jupyter_amlrun._util.fileio import copy_to_named_file
from jupyter_amlrun.core.reader import DEFAULT_ERROR, RunReader
from jupyter_amlrun.core.run_v1 import InputDatasets, LinkOutput, OutputDatasets, RunV1Mixin, _OfflineRun, get_run  # noqa: F401 - v1 path
from jupyter_amlrun.runtime import tags as T
from jupyter_amlrun.runtime.errors import (
    ActivityFailedException,
    ExperimentExecutionException,
    MetricValidationException,
    ModelPathNotFoundException,
    RunNotFoundException,
    UserErrorException,
)
from jupyter_amlrun.runtime.lifecycle import finalize, mirror_status
from jupyter_amlrun.runtime.logchecks import (
    check_log_image,
    check_log_list,
    check_log_row,
    check_log_scalar,
    check_log_table,
)
from jupyter_amlrun.runtime.runfolder import RunFolder
from jupyter_amlrun.runtime.status import RunStatus, is_terminal, status_of
from jupyter_amlrun.runtime.supervisor import owner
from jupyter_amlrun.tracking import journal as _journal
from jupyter_amlrun.tracking.shapes import v1_metrics

if TYPE_CHECKING:
    from jupyter_amlrun.core.contracts import ComputeBackend
    from jupyter_amlrun.core.experiment import Experiment
    from jupyter_amlrun.core.model import Model
    from jupyter_amlrun.core.workspace import Workspace
    from jupyter_amlrun.tracking.store import RunRecord

# Run types whose handle is a Run subclass, by ``amlrun.run_type`` tag -> "module:Class" (imported on first use, so
# core does not import the packages above it).
RUN_TYPES: dict[str, str] = {"hyperdrive": "jupyter_amlrun.train.hyperdrive.run:HyperDriveRun"}


class Run(RunV1Mixin):
    """A tracked run.

    Parameters
    ----------
    experiment:
        The run's :class:`Experiment`.
    run_id:
        The run id (the MLflow run id).
    """

    def __init__(self, experiment: Experiment, run_id: str, outputs: Any = None, **kwargs: Any) -> None:
        self._experiment = experiment
        self._ws: Workspace = experiment.workspace
        self._record: RunRecord = kwargs.get("_record") or self._ws._get_run_record(run_id)
        if self._record.experiment_id != experiment.id:
            raise RunNotFoundException(
                f"Run {run_id!r} belongs to experiment {self._ws.store.experiment_name(self._record.experiment_id)!r}, "
                f"not {experiment.name!r}. Use Run.get(ws, run_id) to open a run by id alone."
            )
        self._folder = RunFolder(self._ws.path, self._record.run_id)
        self._journal_writer: _journal.JournalWriter | None = None
        self._owned = False
        self._outputs_dir: Path | None = None

    # ------------------------------------------------------------------ lookup
    @staticmethod
    def get(workspace: Workspace, run_id: str) -> Run:
        """Open a run of ``workspace`` by id."""
        from jupyter_amlrun.core.experiment import Experiment

        record = workspace._get_run_record(run_id)
        exp = Experiment(workspace, workspace.store.experiment_name(record.experiment_id))
        # A run of a special type (a sweep's parent) gets its own handle class (v1: a HyperDriveRun).
        target = RUN_TYPES.get(record.tags.get(T.RUN_TYPE, ""))
        if target is not None:
            module, _, name = target.partition(":")
            cls: type[Run] = getattr(importlib.import_module(module), name)
            return cls(exp, run_id, _record=record)
        return Run(exp, run_id, _record=record)

    @classmethod
    def get_context(cls, allow_offline: bool = True, used_for_context_manager: bool = False, **kwargs: Any) -> Run:
        """The run this script was submitted as; offline (prints what it would log) when not submitted."""
        from jupyter_amlrun.core.context import get_context

        return get_context(allow_offline=allow_offline)

    @staticmethod
    def list(
        experiment: Experiment,
        type: str | None = None,
        tags: Any = None,
        properties: dict[str, str] | None = None,
        status: str | None = None,
        include_children: bool = False,
    ) -> Iterator[Run]:
        """Runs of ``experiment``, newest first, filtered like v1."""
        records = experiment.workspace.store.search_runs([experiment.id])
        for rec in records:
            if not include_children and T.PARENT_RUN_ID in rec.tags:
                continue
            if type is not None and rec.tags.get(T.RUN_TYPE) != type:
                continue
            if status is not None and status_of(rec) != status:
                continue
            if tags is not None and not T.match_tags(T.user_tags(rec.tags), tags):
                continue
            if properties is not None and not T.match_tags(T.properties(rec.tags), properties):
                continue
            yield Run(experiment, rec.run_id, _record=rec)

    # ------------------------------------------------------------------ identity
    @property
    def id(self) -> str:
        return self._record.run_id

    @property
    def name(self) -> str:
        return self._record.run_name

    @property
    def display_name(self) -> str:
        return self._record.run_name

    @display_name.setter
    def display_name(self, value: str) -> None:
        self._ws.store.set_tags(self.id, {T.RUN_NAME: value})
        self._record.run_name = value

    @property
    def experiment(self) -> Experiment:
        return self._experiment

    @property
    def type(self) -> str:
        return self._record.tags.get(T.RUN_TYPE, "azureml.scriptrun")

    @property
    def description(self) -> str:
        return self._refresh().tags.get(T.NOTE, "")

    @property
    def parent(self) -> Run | None:
        pid = self._record.tags.get(T.PARENT_RUN_ID)
        return Run(self._experiment, pid) if pid else None

    @property
    def status(self) -> str:
        return self.get_status()

    @property
    def tags(self) -> dict[str, str]:
        return self.get_tags()

    @property
    def properties(self) -> dict[str, str]:
        return self.get_properties()

    @property
    def reader(self) -> RunReader:
        """The run's :class:`~jupyter_amlrun.core.reader.RunReader` (made once): what reads status, logs, metrics."""
        reader: RunReader | None = self.__dict__.get("_reader")
        if reader is None:
            reader = self.__dict__["_reader"] = RunReader(self._ws, self.id, record=self._record)
        return reader

    @property
    def workspace(self) -> Workspace:
        """The run's workspace."""
        return self._ws

    @property
    def folder(self) -> RunFolder:
        """The run's folder on this machine (it may not exist: a run made elsewhere, or cleaned)."""
        return self._folder

    @property
    def record(self) -> RunRecord:
        """The run's tracking record as last read."""
        return self._record

    def _refresh(self) -> RunRecord:
        self._record = self.reader.refresh()
        return self._record

    # ------------------------------------------------------------------ status
    def _backend(self) -> ComputeBackend:
        """The compute backend of the run: live status, logs and cancel go through its contract (resolved once)."""
        return self.reader.backend()

    def get_status(self) -> str:
        """The v1 status string; a live run whose supervisor died is found and marked Failed here."""
        status = self.reader.status()
        self._record = self.reader.record  # a run without its folder here was read anew from the store
        return status

    def get_detailed_status(self) -> dict[str, Any]:
        status = self.get_status()
        state = self._folder.read_state()
        return {"status": status, "details": state.queued_reason or ""}

    def get_details(self) -> dict[str, Any]:
        """Details with v1 keys: runId, target, status, startTimeUtc, endTimeUtc, properties, runDefinition, ..."""
        details = self.reader.details()
        self._record = self.reader.record
        return details.to_v1()

    def get_log_files(self) -> dict[str, Path]:
        """Log files of the run readable on this machine, by name (``logs/...``); live while the run runs."""
        return self.reader.live_logs()

    def wait_for_completion(
        self, show_output: bool = False, wait_post_processing: bool = False, raise_on_error: bool = True
    ) -> dict[str, Any]:
        """Block until the run ends; with ``show_output`` stream its output, then an execution summary."""
        out = sys.stdout
        try:
            if show_output:
                out.write(f"RunId: {self.id}\nWeb View: {self._web_view()}\n\n")
                self._stream_until_done(out)
            else:
                delay = 0.1
                while not is_terminal(self.get_status()):
                    time.sleep(delay)
                    delay = min(delay * 1.5, 2.0)
        except KeyboardInterrupt:
            raise ExperimentExecutionException(
                "The output streaming for the run interrupted.\nBut the run is still executing on the compute "
                f"target. \nCancel it with run.cancel() (run id {self.id})."
            ) from None
        details = self.get_details()
        if show_output:
            out.write(f"\nExecution Summary\n=================\nRunId: {self.id}\nWeb View: {self._web_view()}\n")
            for w in details.get("warnings", []):
                out.write(f"\nWarnings:\n{w['message']}\n")
            if "error" in details:
                out.write(f"\nError:\n{json.dumps(details['error'], indent=4)}\n")
            out.write("\n")
            out.flush()
        if raise_on_error and details["status"] == RunStatus.FAILED:
            raise ActivityFailedException("Activity Failed:\n" + json.dumps(details.get("error", {}), indent=4))
        return details

    def _stream_until_done(self, out: Any) -> None:
        reader = self.reader
        name: str | None = None
        offset = 0
        delay = 0.1
        while True:
            status = reader.status()
            if name is None and self._folder.user_log.exists():
                # rank 0's log for distributed runs
                name = "logs/" + self._folder.user_log.relative_to(self._folder.logs_dir).as_posix()
                header = f"Streaming {name}"
                out.write(f"{header}\n{'=' * (len(header) + 10)}\n\n")
            if name is not None:
                chunk = reader.read_log(name, offset, 1 << 20)
                if chunk is not None and chunk.data:
                    offset = chunk.end
                    out.write(chunk.text)
                    out.flush()
                    delay = 0.1
                    continue
            if is_terminal(status):
                break
            time.sleep(delay)
            delay = min(delay * 1.5, 1.0)
        if name is None:
            # Not a local run folder: print the uploaded log at the end.
            with contextlib.suppress(Exception):
                names = reader.log_names()
                for candidate in ("logs/user_logs/std_log.txt", "logs/user_logs/std_log_process_0.txt"):
                    if candidate in names:
                        whole = reader.read_log(candidate)
                        out.write(whole.text if whole is not None else "")
                        break

    def cancel(self) -> None:
        """Cancel the run: its whole process tree ends and the run reads Canceled."""
        status = self.get_status()
        if is_terminal(status):
            return
        rf = self._folder
        if not rf.exists():
            raise ExperimentExecutionException(
                f"Run {self.id} has no supervisor on this machine (was it started by plain MLflow?); it cannot be "
                "canceled from here."
            )
        if self._owned:
            rf.request_cancel("Canceled by user")
            self._finish(RunStatus.CANCELED, error="Canceled by user")
            return
        self._backend().cancel(rf)

    # ------------------------------------------------------------------ interactive lifecycle
    def _take_ownership(self, outputs_dir: Path | None) -> None:
        self._owned = True
        self._outputs_dir = outputs_dir
        self._folder.claim()
        if outputs_dir is not None:
            self._folder.update_state(outputs_dir=str(outputs_dir))
        owner.add(self.id, self._folder, self._ws.store)

    def _finish(self, status: str, error: str | None = None) -> None:
        if not self._owned:
            raise ExperimentExecutionException(
                f"Run {self.id} is supervised by its compute target; its status is set when the script ends. "
                "complete()/fail() apply to runs from start_logging() or child_run()."
            )
        if is_terminal(self.get_status()):
            return
        outputs = [self._outputs_dir] if self._outputs_dir is not None else []
        finalize(self._ws.store, self._folder, status, error=error, outputs_dirs=outputs)
        owner.discard(self.id)

    def complete(self, _set_status: bool = True) -> None:
        """Mark an interactive or child run Completed (after flushing metrics and uploading outputs)."""
        self._finish(RunStatus.COMPLETED)

    def fail(self, error_details: Any = None, error_code: str | None = None, _set_status: bool = True) -> None:
        """Mark the run Failed with ``error_details`` (text or an exception) and ``error_code``.

        An interactive or child run is finalised here; a submitted run still running is stopped (its process tree
        ends) and then reads Failed with this error.
        """
        if isinstance(error_details, BaseException):
            text = f"{type(error_details).__name__}: {error_details}"
        else:
            text = str(error_details) if error_details is not None else DEFAULT_ERROR
        if error_code:
            text = f"{error_code}: {text}"
        if not self._owned:
            self._fail_supervised(text)
            return
        self._finish(RunStatus.FAILED, error=text)

    def start(self) -> None:
        rf = self._folder
        state = rf.set_status(RunStatus.RUNNING)
        mirror_status(self._ws.store, self.id, state)

    def __enter__(self) -> Run:
        return self

    def __exit__(self, exc_type: Any, exc: Any, tb: Any) -> None:
        if exc_type is None or (exc_type is SystemExit and exc.code in (0, None)):
            self.complete()
        else:
            self.fail(error_details=exc)

    def flush(self, timeout_seconds: int = 300) -> None:
        """Ship logged metrics to the store now."""
        _journal.ship_journal(self._ws.store, self.id, self._folder.root)

    # ------------------------------------------------------------------ logging
    def _writer(self) -> _journal.JournalWriter:
        if self._journal_writer is None:
            self._journal_writer = _journal.JournalWriter(self._folder.journal_path)
        return self._journal_writer

    def _logged(self) -> None:
        # Owned runs are shipped by the owner thread, live submitted runs by their driver; a run that already ended
        # (or has no folder here) has neither, so ship at once.
        if self._owned:
            return
        if not self._folder.exists() or self._folder.read_state().terminal:
            self.flush()

    def log(self, name: str, value: Any, description: str = "", step: int | None = None) -> None:
        """Log a scalar (a number or a string) under ``name``; repeated calls make a series.

        Raises
        ------
        MetricValidationException
            When the name, value or step cannot be kept as logged (the message names the rule and the fix).
        """
        value = check_log_scalar(name, value, step)
        self._append(_journal.SCALAR, name, value, step=step, description=description)

    def log_list(self, name: str, value: Any, description: str = "") -> None:
        """Log a list of values under ``name``."""
        self._append(_journal.LIST, name, check_log_list(name, value), description=description)

    def log_row(self, name: str, description: str | None = None, **kwargs: Any) -> None:
        """Append one row (columns as keyword arguments) to the table ``name``."""
        check_log_row(name, kwargs)
        self._append(_journal.ROW, name, kwargs, description=description or "")

    def log_table(self, name: str, value: dict[str, Any], description: str = "") -> None:
        """Log a table given as ``{column: list of values}``."""
        self._append(_journal.TABLE, name, check_log_table(name, value), description=description)

    def _append(self, kind: str, name: str, value: Any, step: int | None = None, description: str = "") -> None:
        try:
            self._writer().append(kind, name, value, step=step, description=description)
        except _journal.RecordTooLargeError as exc:
            raise MetricValidationException(f"Metric {name!r} was not logged: {exc}") from None
        self._logged()

    def log_image(self, name: str, path: str | None = None, plot: Any = None, description: str = "") -> None:
        """Log an image from a file (``path``) or a matplotlib figure/pyplot (``plot``)."""
        check_log_image(name, path, plot)
        if (path is None) == (plot is None):
            raise UserErrorException("log_image takes exactly one of path= or plot=.")
        tmp = Path(tempfile.mkdtemp(prefix="amlrun-img-"))
        try:
            if plot is not None:
                local = tmp / f"{name}_{int(time.time())}.png"
                plot.savefig(local, format="png")
            else:
                src = Path(path)  # type: ignore[arg-type]
                if not src.is_file():
                    raise UserErrorException(f"log_image: {src} is not a file.")
                local = tmp / src.name
                shutil.copyfile(src, local)
            self._ws.store.log_artifact(self.id, local, "images")
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
        self._append(_journal.IMAGE, name, f"images/{local.name}", description=description)

    def log_confusion_matrix(self, name: str, value: Any, description: str = "") -> None:
        self.log_table(name, value if isinstance(value, dict) else {"matrix": list(value)}, description)

    log_accuracy_table = log_confusion_matrix
    log_residuals = log_confusion_matrix
    log_predictions = log_confusion_matrix

    def get_metrics(
        self,
        name: str | None = None,
        recursive: bool = False,
        run_type: str | None = None,
        populate: bool = False,
    ) -> dict[str, Any]:
        """Metrics in v1 shapes: one value -> scalar, several -> list; rows and tables -> ``{column: values}``."""
        if recursive:
            out: dict[str, Any] = {}
            for run in [self, *self.get_children(recursive=True)]:
                m = run.get_metrics(name=name)
                if m:
                    out[run.id] = m
            return out
        metrics = v1_metrics([r for r in self.reader.metrics().records if not str(r.get("n")).startswith("system/")])
        if name is not None:
            return {name: metrics[name]} if name in metrics else {}
        return metrics

    # ------------------------------------------------------------------ files
    def get_file_names(self) -> builtins.list[str]:
        """Paths of every file uploaded to the run (``outputs/...``, ``logs/...``)."""
        return [p for p, _ in self._ws.store.list_artifacts(self.id) if not p.startswith(".amlrun/")]

    def download_file(self, name: str, output_file_path: str | None = None, _validate_checksum: bool = False) -> Path:
        """Download one file of the run; ``output_file_path`` defaults to its base name in the current folder."""
        names = self.get_file_names()
        if name not in names:
            raise UserErrorException(
                f"Run {self.id} has no file {name!r}. Its files: {', '.join(names) or '(none yet)'}."
            )
        target = Path(output_file_path) if output_file_path else Path(Path(name).name)
        if target.is_dir():
            target = target / Path(name).name
        target.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory() as tmp:
            got = self._ws.store.download_artifacts(self.id, name, Path(tmp))
            shutil.move(str(got), target)
        return target

    def download_files(
        self,
        prefix: str | None = None,
        output_directory: str | None = None,
        output_paths: builtins.list[str] | None = None,
        batch_size: int = 100,
        append_prefix: bool = True,
        timeout_seconds: int | None = None,
    ) -> builtins.list[Path]:
        """Download every file under ``prefix`` into ``output_directory`` (keeping the prefix unless told not to)."""
        base = Path(output_directory or ".")
        pre = (prefix or "").strip("/")
        out = []
        for name in self.get_file_names():
            if pre and not (name == pre or name.startswith(pre + "/")):
                continue
            rel = name if append_prefix or not pre else name[len(pre) :].lstrip("/") or Path(name).name
            out.append(self.download_file(name, str(base / rel)))
        return out

    def upload_file(self, name: str, path_or_stream: Any, datastore_name: str | None = None) -> None:
        """Upload a local file (or a binary stream) as the run file ``name``."""
        _check_artifact_name(name)
        folder, base = os.path.split(name)
        if isinstance(path_or_stream, str | os.PathLike):
            src = Path(path_or_stream)
            if not src.is_file():
                raise UserErrorException(f"upload_file: {src} is not a file.")
            tmp, local = copy_to_named_file(src, base)
        else:
            tmp = Path(tempfile.mkdtemp(prefix="amlrun-upload-"))
            local = tmp / base
            data = path_or_stream.read()
            local.write_bytes(data.encode() if isinstance(data, str) else data)
        try:
            self._ws.store.log_artifact(self.id, local, folder or None)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)

    def upload_files(self, names: builtins.list[str], paths: builtins.list[str], **kwargs: Any) -> None:
        if len(names) != len(paths):
            raise UserErrorException("upload_files needs as many names as paths.")
        for n, p in zip(names, paths, strict=True):
            self.upload_file(n, p)

    def upload_folder(self, name: str, path: str, datastore_name: str | None = None) -> None:
        """Upload a local folder under the run path ``name``."""
        _check_artifact_name(name)
        if not Path(path).is_dir():
            raise UserErrorException(f"upload_folder: {path} is not a folder.")
        self._ws.store.log_artifacts(self.id, Path(path), name.strip("/") or None)

    # ------------------------------------------------------------------ models
    def register_model(
        self,
        model_name: str,
        model_path: str | None = None,
        tags: dict[str, str] | None = None,
        properties: dict[str, str] | None = None,
        model_framework: str | None = None,
        model_framework_version: str | None = None,
        description: str | None = None,
        datasets: Any = None,
        **kwargs: Any,
    ) -> Model:
        """Register a file or folder uploaded by this run (e.g. ``outputs/model.pkl``) as a new model version."""
        from jupyter_amlrun.core.model import Model, validate_model_name

        validate_model_name(model_name)
        path = _artifact_path(model_path or model_name)
        names = self.get_file_names()
        if path not in names and not any(n.startswith(path + "/") for n in names):
            raise ModelPathNotFoundException(
                f"Could not locate the provided model_path {path} in the set of files uploaded to the run: "
                f"{names}. See run.get_file_names(); files the script writes to ./outputs are uploaded when it ends."
            )
        source = self._record.artifact_uri.rstrip("/") + "/" + path
        return Model._create_version(
            self._ws,
            model_name,
            source,
            run_id=self.id,
            tags=tags,
            properties=properties,
            description=description,
            framework=model_framework,
            framework_version=model_framework_version,
            experiment_name=self._experiment.name,
        )

    # ------------------------------------------------------------------ children
    def child_run(self, name: str | None = None, run_id: str | None = None, outputs: str | None = None) -> Run:
        """Start a child run, owned by this process until ``complete()``/``fail()``."""
        from jupyter_amlrun.core.experiment import start_run

        return start_run(self._experiment, name=name, parent=self, outputs=outputs, snapshot_directory=None)

    def create_children(
        self, count: int | None = None, tag_key: str | None = None, tag_values: Any = None
    ) -> builtins.list[Run]:
        if count is None and tag_values is None:
            raise UserErrorException("create_children needs count or tag_values.")
        values = list(tag_values) if tag_values is not None else [None] * int(count or 0)
        if len(values) > 100:
            raise UserErrorException("create_children makes at most 100 children at once.")
        children = []
        for v in values:
            child = self.child_run()
            if tag_key is not None and v is not None:
                child.tag(tag_key, v)
            children.append(child)
        return children

    def get_children(
        self,
        recursive: bool = False,
        tags: Any = None,
        properties: Any = None,
        type: Any = None,
        status: str | None = None,
        _rehydrate_runs: bool = True,
    ) -> builtins.list[Run]:
        """Child runs (and their children with ``recursive=True``)."""
        out = []
        for rec in self.reader.children():  # oldest first, like the order they were made
            if status is not None and status_of(rec) != status:
                continue
            if tags is not None and not T.match_tags(T.user_tags(rec.tags), tags):
                continue
            child = Run(self._experiment, rec.run_id, _record=rec)
            out.append(child)
            if recursive:
                out.extend(child.get_children(recursive=True))
        return out

    # ------------------------------------------------------------------ tags and properties
    def tag(self, key: str, value: str | None = None) -> None:
        self.set_tags({key: "" if value is None else value})

    def set_tags(self, tags: dict[str, Any]) -> None:
        for k in tags:
            if not isinstance(k, str) or T.is_system(k):
                raise UserErrorException(f"Tag name {k!r} is reserved or not a string.")
        self._ws.store.set_tags(self.id, {k: "" if v is None else str(v) for k, v in tags.items()})
        self._refresh()

    def get_tags(self) -> dict[str, str]:
        return T.user_tags(self._refresh().tags)

    def remove_tags(self, tags: builtins.list[str]) -> None:
        for k in tags:
            self._ws.store.delete_tag(self.id, k)
        self._refresh()

    def add_properties(self, properties: dict[str, Any]) -> None:
        """Add immutable properties; changing an existing one raises."""
        current = self.get_properties()
        for k, v in properties.items():
            if k in current and current[k] != str(v):
                raise UserErrorException(f"Property {k!r} is already set to {current[k]!r}; properties are immutable.")
        self._ws.store.set_tags(self.id, {T.PROP_PREFIX + k: str(v) for k, v in properties.items()})
        self._refresh()

    def get_properties(self) -> dict[str, str]:
        return T.properties(self._refresh().tags)

    # ------------------------------------------------------------------ v1 extras (issue 12): kept in one block
    def _fail_supervised(self, text: str) -> None:
        """fail() on a run its compute target supervises: stop it, then record Failed with ``text``."""
        status = self.get_status()
        if is_terminal(status):
            raise ExperimentExecutionException(
                f"Run {self.id} already ended ({status}); fail() applies to a run that is still going. Tag the run "
                "instead, e.g. run.tag('verdict', 'failed')."
            )
        rf = self._folder
        if not rf.exists():
            raise ExperimentExecutionException(
                f"Run {self.id} has no supervisor on this machine; it cannot be failed from here."
            )
        self._backend().cancel(rf)
        deadline = time.monotonic() + 60
        while not is_terminal(self.get_status()):
            if time.monotonic() > deadline:
                raise ExperimentExecutionException(
                    f"Run {self.id} did not stop within 60 s after fail(); check run.get_details() and retry."
                )
            time.sleep(0.2)
        state = rf.read_state()
        history = [*state.history, [RunStatus.FAILED.value, time.time()]]
        state = rf.update_state(status=RunStatus.FAILED.value, error=text, history=history)
        mirror_status(self._ws.store, self.id, state)
        self._refresh()

    def get_details_with_logs(self) -> dict[str, Any]:
        """:meth:`get_details` plus ``logFiles`` mapping each log name to its text (v1 shape)."""
        details = self.get_details()
        reader = self.reader
        details["logFiles"] = {n: got.text for n in reader.log_names() if (got := reader.read_log(n)) is not None}
        return details

    def get_snapshot_id(self) -> str | None:
        """The id of the source snapshot taken at submit (``None`` for a run without one)."""
        return self._refresh().tags.get(T.SNAPSHOT_ID)

    def restore_snapshot(self, snapshot_id: str | None = None, path: str | os.PathLike[str] | None = None) -> str:
        """Write the run's source snapshot (or ``snapshot_id``) into a folder and return its path.

        Parameters
        ----------
        snapshot_id:
            A snapshot id of this workspace; default: the run's own.
        path:
            Target folder; default ``./<snapshot id>`` (v1 writes a zip; here the files are restored as they were).
        """
        from jupyter_amlrun.runtime.errors import SnapshotException
        from jupyter_amlrun.runtime.snapshot import SnapshotStore

        sid = snapshot_id or self.get_snapshot_id()
        if not sid:
            raise SnapshotException(
                f"Run {self.id} has no source snapshot (start_logging(snapshot_directory=None) or a child run). "
                "Pass snapshot_id= of another run's snapshot (run.get_snapshot_id())."
            )
        target = Path(path).expanduser() if path is not None else Path.cwd() / sid
        if target.is_file():
            raise SnapshotException(f"restore_snapshot: {target} is a file; pass a folder path.")
        SnapshotStore(self._ws.path).restore(sid, target)
        return str(target.resolve())

    def get_all_logs(self, destination: str | os.PathLike[str] | None = None) -> builtins.list[str]:
        """Copy the run's log files under ``destination`` (default ``./logs_<run id>``) and return their paths."""
        base = Path(destination).expanduser() if destination is not None else Path.cwd() / f"logs_{self.id}"
        out = []
        for name, src in self.get_log_files().items():
            dst = base / name
            dst.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(src, dst)
            out.append(str(dst))
        return out

    @property
    def number(self) -> int:
        """The run's position in its experiment (1 for the first run)."""
        ids = [r.run_id for r in reversed(self._ws.store.search_runs([self._experiment.id]))]
        return ids.index(self.id) + 1 if self.id in ids else 0

    def get_secret(self, name: str) -> str:
        """The secret ``name`` from the workspace's keyvault (``ws.get_default_keyvault()``: its 0600 secrets file,
        or the environment variable ``AMLRUN_SECRET_<NAME>``), as v1 read it from the workspace's Key Vault."""
        return self._ws.get_default_keyvault().get_secret(name)

    def get_secrets(self, secrets: builtins.list[str]) -> dict[str, str]:
        return {name: self.get_secret(name) for name in secrets}

    def submit_child(self, config: Any, tags: dict[str, Any] | None = None, **kwargs: Any) -> Run:
        raise UserErrorException(
            "Run.submit_child is not supported: submit the child with experiment.submit(config) and tag it with the "
            "parent's id (tags={'parent': run.id}), or use run.child_run() for an interactive child."
        )

    def clean(self) -> None:
        """Remove the run's working folder on this machine (logs, metrics and outputs stay in the store)."""
        if not is_terminal(self.get_status()):
            raise ExperimentExecutionException(f"Run {self.id} is still going; clean() applies to ended runs.")
        shutil.rmtree(self._folder.workdir, ignore_errors=True)

    # ------------------------------------------------------------------ display
    def get_portal_url(self) -> str:
        """The URL that opens this run in the AML sidebar of the Jupyter server this kernel belongs to.

        Found from the server's runtime file (its real host, port and base URL; never its token); the
        ``AMLRUN_PORTAL_URL`` environment variable (a lab URL) wins. Outside Jupyter it is the URL of a default
        ``jupyter lab`` (port 8888), and ``wait_for_completion``'s "Web View" line says how to open it.
        """
        from jupyter_amlrun._util.portal import run_link

        return run_link(self.id, near=[self._ws.path]).url

    def _web_view(self) -> str:
        """The "Web View" line: the portal URL, and how to open it when no Jupyter server was found."""
        from jupyter_amlrun._util.portal import run_link

        return run_link(self.id, near=[self._ws.path]).text()

    def get_environment(self) -> Any:
        from jupyter_amlrun.core.environment import Environment

        name = self._record.tags.get(T.ENVIRONMENT) or "default-environment"
        try:
            return Environment.get(self._ws, name)
        except UserErrorException:
            return Environment(name)

    def __str__(self) -> str:
        return (
            f"Run(Experiment: {self._experiment.name},\nId: {self.id},\nType: {self.type},\n"
            f"Status: {self.get_status()})"
        )

    __repr__ = __str__

    def _repr_html_(self) -> str:
        rows = {
            "Experiment": self._experiment.name,
            "Id": self.id,
            "Type": self.type,
            "Status": self.get_status(),
            "Details Page": f'<a href="{html.escape(self.get_portal_url())}" target="_blank">Link</a>',
        }
        head = "".join(f"<th>{k}</th>" for k in rows)
        cells = "".join(f"<td>{v if k == 'Details Page' else html.escape(str(v))}</td>" for k, v in rows.items())
        return f"<table><tr>{head}</tr><tr>{cells}</tr></table>"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Run) and other.id == self.id

    def __hash__(self) -> int:
        return hash(self.id)


# ---------------------------------------------------------------------- helpers
def _artifact_path(path: str) -> str:
    """A run-relative artifact path: v1 accepts ``./outputs/x.pkl`` and ``outputs/x.pkl`` alike."""
    clean = posixpath.normpath(path.replace("\\", "/")).lstrip("/")
    return "" if clean == "." else clean


def _check_artifact_name(name: Any) -> None:
    if not isinstance(name, str) or not name or name.startswith("/") or ".." in Path(name).parts:
        raise UserErrorException(f"Invalid run file name {name!r}: use a relative path like 'outputs/model.pkl'.")


def current_user() -> str:
    """The OS user submitting (``mlflow.user``), ``unknown`` when it can't be told."""
    with contextlib.suppress(Exception):
        return getpass.getuser()
    return "unknown"
