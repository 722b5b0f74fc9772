"""``Run.get_context()``: the submitted run inside a training script, or an offline run that prints."""

from __future__ import annotations

import os
import sys
import uuid
from pathlib import Path
from typing import Any

from jupyter_amlrun.core.run import Run
from jupyter_amlrun.runtime.errors import RunEnvironmentException
from jupyter_amlrun.runtime.logchecks import (
    check_log_image,
    check_log_list,
    check_log_row,
    check_log_scalar,
    check_log_table,
)
from jupyter_amlrun.runtime.runfolder import RunFolder

_context: Run | None = None
# Set in every rank of a distributed run (compute/_rank.py); only rank 0's metrics are the run's.
RANK_ENV = "AMLRUN_RANK"
# Where ranks other than 0 say that they tried to log (the driver names them in the run's warnings).
REFUSED_METRICS_FILE = "rank_metrics_refused.txt"


class _SubmittedRun(Run):
    """The run a script was submitted as. ``log*`` only appends to the journal (microseconds); the driver ships it.

    MLflow is touched (and imported) only when something needs the store: tags, files, child runs.
    """

    def __init__(self, workspace_dir: Path, experiment_name: str, run_id: str) -> None:
        from jupyter_amlrun.core.experiment import Experiment
        from jupyter_amlrun.core.workspace import Workspace

        self._ws = Workspace(path=workspace_dir)
        self._experiment = Experiment(self._ws, experiment_name, _skip_name_validation=True)
        self._run_id = run_id
        self._rec: Any = None
        self._folder = RunFolder(self._ws.path, run_id)
        self._journal_writer = None
        self._owned = False
        self._outputs_dir = None
        self._refusal_said = False  # a rank other than 0 says once that its metrics are not recorded

    @property
    def _record(self) -> Any:
        if self._rec is None:
            self._rec = self._ws._get_run_record(self._run_id)
        return self._rec

    @_record.setter
    def _record(self, value: Any) -> None:
        self._rec = value

    @property
    def id(self) -> str:
        return self._run_id

    def _logged(self) -> None:
        pass  # the driver ships the journal

    def _refused_rank(self, name: str) -> bool:
        """Whether this process is a rank other than 0 of a distributed run, whose metrics are refused.

        Every rank would otherwise log the same names into one run (N copies of each loss); rank 0's are the run's.
        The first refusal is said once in this rank's log and recorded for the driver, which names the ranks in the
        run's warnings: nothing is dropped without a word.
        """
        rank = os.environ.get(RANK_ENV, "0")
        if rank == "0":
            return False
        if not self._refusal_said:
            self._refusal_said = True
            print(
                f"Warning: rank {rank} logged metric {name!r}, which is not recorded: only rank 0's metrics are the "
                "run's. Log from rank 0 only (if int(os.environ['RANK']) == 0: run.log(...)).",
                file=sys.stderr,
                flush=True,
            )
            try:
                with open(self._folder.root / REFUSED_METRICS_FILE, "a", encoding="utf-8") as fh:
                    fh.write(f"rank {rank} (first metric {name!r})\n")
            except OSError:
                pass
        return True

    def _append(self, kind: str, name: str, value: Any, step: int | None = None, description: str = "") -> None:
        if self._refused_rank(name):
            return
        super()._append(kind, name, value, step=step, description=description)

    def log_image(self, name: str, path: str | None = None, plot: Any = None, description: str = "") -> None:
        if self._refused_rank(name):
            check_log_image(name, path, plot)
            return
        super().log_image(name, path=path, plot=plot, description=description)

    @property
    def input_datasets(self) -> dict[str, Any]:
        """Inputs by name: the local path each file input was mounted or downloaded to; a TabularDataset for a
        tabular input (v1's direct mode)."""
        out: dict[str, Any] = {}
        for item in filter(None, os.environ.get("AZUREML_DATASET_ENVIRONMENT_VARS", "").split(",")):
            name = item.split(":", 1)[0]
            if name in os.environ:
                out[name] = os.environ[name]
        objects = _input_objects()
        for name, item in objects.items():
            out[name] = _load_input_object(self._ws, name, item)
        return out

    @property
    def output_datasets(self) -> dict[str, Any]:
        """Outputs by name (OutputFileDatasetConfig): the local folder the script writes each one to."""
        out: dict[str, Any] = {}
        for name in filter(None, os.environ.get("AZUREML_DATASET_FILE_OUTPUTS", "").split(";")):
            if name in os.environ:
                out[name] = os.environ[name]
        return out

    def complete(self, _set_status: bool = True) -> None:
        pass  # the driver sets the status when the script ends (as v1's _SubmittedRun)

    def fail(self, error_details: Any = None, error_code: str | None = None, _set_status: bool = True) -> None:
        pass

    def cancel(self) -> None:
        import warnings

        warnings.warn("cancel() has no effect on the run from inside its own script; exit instead.", stacklevel=2)


class _OfflineRun:
    """What ``Run.get_context()`` returns outside a submitted run: it prints what it would log."""

    def __init__(self) -> None:
        self.id = f"OfflineRun_{uuid.uuid4()}"
        self.name = self.id
        self.display_name = self.id
        self.type = "offline"
        self.experiment = None
        self.parent = None
        self.input_datasets: dict[str, Any] = {}
        self.output_datasets: dict[str, Any] = {}
        self._metrics: dict[str, list[Any]] = {}
        self._tags: dict[str, str] = {}
        self._props: dict[str, str] = {}

    def _say(self, kind: str, name: str, value: Any) -> None:
        self._metrics.setdefault(name, []).append(value)
        print(f"Attempted to log {kind} metric {name}:\n{value}")

    # The same checks as a submitted run: a script that runs offline fails the same way once submitted.
    def log(self, name: str, value: Any, description: str = "", step: int | None = None) -> None:
        self._say("scalar", name, check_log_scalar(name, value, step))

    def log_list(self, name: str, value: Any, description: str = "") -> None:
        self._say("list", name, check_log_list(name, value))

    def log_row(self, name: str, description: str | None = None, **kwargs: Any) -> None:
        check_log_row(name, kwargs)
        self._say("row", name, kwargs)

    def log_table(self, name: str, value: Any, description: str = "") -> None:
        self._say("table", name, check_log_table(name, value))

    def log_image(self, name: str, path: str | None = None, plot: Any = None, description: str = "") -> None:
        check_log_image(name, path, plot)
        self._say("image", name, path or "<plot>")

    def log_confusion_matrix(self, name: str, value: Any, description: str = "") -> None:
        self.log_table(name, value if isinstance(value, dict) else {"matrix": list(value)}, description)

    log_accuracy_table = log_confusion_matrix
    log_residuals = log_confusion_matrix
    log_predictions = log_confusion_matrix

    def get_metrics(self, name: str | None = None, **kwargs: Any) -> dict[str, Any]:
        shaped = {k: v[0] if len(v) == 1 else list(v) for k, v in self._metrics.items()}
        return shaped if name is None else {name: shaped[name]} if name in shaped else {}

    def upload_file(self, name: str, path_or_stream: Any, datastore_name: str | None = None) -> None:
        print(f"Attempted to track file {name} at {path_or_stream}")

    def upload_files(self, names: list[str], paths: list[str], **kwargs: Any) -> None:
        for n, p in zip(names, paths, strict=False):
            self.upload_file(n, p)

    def upload_folder(self, name: str, path: str, datastore_name: str | None = None) -> None:
        print(f"Attempted to track folder {name} at {path}")

    def tag(self, key: str, value: str | None = None) -> None:
        self._tags[key] = "" if value is None else str(value)

    def set_tags(self, tags: dict[str, Any]) -> None:
        for k, v in tags.items():
            self.tag(k, v)

    def get_tags(self) -> dict[str, str]:
        return dict(self._tags)

    def add_properties(self, properties: dict[str, Any]) -> None:
        self._props.update({k: str(v) for k, v in properties.items()})

    def get_properties(self) -> dict[str, str]:
        return dict(self._props)

    def get_status(self) -> str:
        return "Running"

    def child_run(self, name: str | None = None, run_id: str | None = None, outputs: Any = None) -> _OfflineRun:
        return _OfflineRun()

    def complete(self, _set_status: bool = True) -> None:
        pass

    def fail(self, error_details: Any = None, error_code: str | None = None, _set_status: bool = True) -> None:
        pass

    def flush(self, timeout_seconds: int = 300) -> None:
        pass

    def __enter__(self) -> _OfflineRun:
        return self

    def __exit__(self, *exc: Any) -> None:
        return None

    def __repr__(self) -> str:
        return f"Run(Experiment: None,\nId: {self.id},\nType: offline,\nStatus: Running)"


def _input_objects() -> dict[str, Any]:
    import json

    try:
        value = json.loads(os.environ.get("AMLRUN_INPUT_OBJECTS") or "{}")  # set by the data layer's materializer
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def _load_input_object(workspace: Any, name: str, item: dict[str, Any]) -> Any:
    """Rebuild an object input with the loader its materializer named (a string: core never imports data)."""
    import importlib

    loader = str(item.get("loader") or "")
    module, _, attr = loader.partition(":")
    if not module.startswith("jupyter_amlrun.") or not attr:
        raise RunEnvironmentException(f"Input {name!r} names no loader of jupyter_amlrun ({loader!r}).")
    target: Any = importlib.import_module(module)
    for part in attr.split("."):
        target = getattr(target, part)
    return target(workspace, item.get("doc") or {})


def get_context(allow_offline: bool = True) -> Any:
    """The submitted run when called inside one (env set by the driver), else an offline run."""
    global _context
    run_id = os.environ.get("AMLRUN_RUN_ID")
    ws_dir = os.environ.get("AMLRUN_WORKSPACE")
    if run_id and ws_dir:
        if _context is None or _context.id != run_id:
            _context = _SubmittedRun(Path(ws_dir), os.environ.get("AMLRUN_EXPERIMENT", ""), run_id)
        return _context
    if not allow_offline:
        raise RunEnvironmentException(
            "Run.get_context(allow_offline=False) was called outside a submitted run (AMLRUN_RUN_ID is not set). "
            "Submit the script with Experiment.submit(ScriptRunConfig(...)), or allow an offline run."
        )
    return _OfflineRun()
