"""``Run.get_context()``: the submitted run inside a training script, or an offline run that prints."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

from jupyter_amlrun.core.run import Run
from jupyter_amlrun.runtime.errors import RunEnvironmentException
from jupyter_amlrun.runtime.logchecks import (
    check_log_image,
)
from jupyter_amlrun.runtime.offline import OfflineRun
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
    return OfflineRun()
