"""The last steps of the one submit pipeline, shared by every kind of run (a script run, a sweep's parent).

``start_new_run`` creates the MLflow run, makes its folder, lets the caller write the run's own files, starts it and
keeps the launch handle in the run's state (the contract: readers pick the run's backend from it, core/reader.py).
On any failure nothing is left behind.
"""

from __future__ import annotations

import contextlib
import shutil
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from jupyter_amlrun.runtime.errors import ExperimentExecutionException
from jupyter_amlrun.runtime.runfolder import RunFolder

if TYPE_CHECKING:
    from jupyter_amlrun.tracking.store import RunRecord


def start_new_run(
    experiment: Any,
    run_name: str,
    tags: dict[str, str],
    params: dict[str, str] | None,
    prepare: Callable[[RunFolder], None],
    start: Callable[[RunFolder], Any],
    failure: str,
) -> RunRecord:
    """Create a run and start it; returns its MLflow record.

    Parameters
    ----------
    experiment:
        The run's experiment (a :class:`jupyter_amlrun.core.experiment.Experiment`: its ``workspace`` and ``id``).
    run_name, tags, params:
        The MLflow run's name, tags (the run's v1 fields) and params.
    prepare:
        Writes the run's own files into its new folder (a script run's ``spec.json``, a sweep's configuration),
        before the folder's state is created.
    start:
        Starts the run's process (a backend's ``launch``, a sweep's controller) and returns its launch handle (a
        :class:`jupyter_amlrun.core.contracts.LaunchHandle`).
    failure:
        What could not be done, for the error (``"Could not start the run on 'local'"``).

    Raises
    ------
    ExperimentExecutionException
        When a step failed; the MLflow run and the folder were removed.
    """
    ws = experiment.workspace
    record = ws.store.create_run(experiment.id, run_name, tags, params)
    rf = RunFolder(ws.path, record.run_id)
    try:
        rf.root.mkdir(parents=True, exist_ok=False, mode=0o700)  # owner only, like the workspace
        prepare(rf)
        rf.create()
        handle = start(rf)
        rf.update_state(handle=handle.to_dict())  # the caller keeps the handle: backends never write it themselves
    except Exception as exc:
        with contextlib.suppress(Exception):
            ws.store.delete_run(record.run_id)
        shutil.rmtree(rf.root, ignore_errors=True)
        raise ExperimentExecutionException(f"{failure}: {exc}") from exc
    return record
