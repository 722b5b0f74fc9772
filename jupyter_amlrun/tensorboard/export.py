"""v1's ``azureml.tensorboard.export.export_to_tensorboard``: a run's metrics as TensorBoard event files.

Each run's numeric metrics become scalar series (a list metric: one point per value, step = its index; a single
value: step 0), written to ``<logsdir>/<run id>/`` with the ``tensorboard`` package's own event file writer
(``tensorboard.summary.writer.event_file_writer``; no TensorFlow or PyTorch needed; install it with
``pip install jupyter_amlrun[tensorboard]``). Non-numeric metrics (tables, images, strings) are skipped and named
through ``logger``. ``recursive=True`` exports the children too, each in its own folder.
"""

from __future__ import annotations

import logging
import math
import os
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from jupyter_amlrun.tensorboard import TensorboardException  # the package shim: one place names its home

__all__ = ["export_to_tensorboard"]


def _scalar(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    number = float(value)
    return number if math.isfinite(number) else None


def _write(folder: Path, metrics: dict[str, Any], logger: logging.Logger) -> int:
    from tensorboard.compat.proto.event_pb2 import Event
    from tensorboard.compat.proto.summary_pb2 import Summary
    from tensorboard.summary.writer.event_file_writer import EventFileWriter

    folder.mkdir(parents=True, exist_ok=True)
    writer = EventFileWriter(str(folder))
    points = 0
    now = time.time()
    try:
        for name, value in metrics.items():
            values = value if isinstance(value, list) else [value]
            numbers = [_scalar(v) for v in values]
            if not values or any(n is None for n in numbers):
                logger.info("export_to_tensorboard: skipped %r (not a number or a list of numbers)", name)
                continue
            for step, number in enumerate(numbers):
                summary = Summary(value=[Summary.Value(tag=name, simple_value=number)])
                writer.add_event(Event(wall_time=now, step=step, summary=summary))
                points += 1
    finally:
        writer.close()
    return points


def export_to_tensorboard(
    run_data: Any, logsdir: str | os.PathLike[str], logger: logging.Logger | None = None, recursive: bool = True
) -> None:
    """Write the metrics of ``run_data`` (a Run or a list of Runs) as TensorBoard event files under ``logsdir``.

    Parameters
    ----------
    run_data : Run or list of Run
        The runs to export.
    logsdir : str or path
        The folder to write; each run gets ``<logsdir>/<run id>/``. Point TensorBoard at it
        (``tensorboard --logdir <logsdir>``, or ``Tensorboard`` over the runs).
    logger : logging.Logger, optional
        Where skipped metrics and written points are reported (default: this module's logger).
    recursive : bool
        Also export every child run (v1's default).

    Raises
    ------
    TensorboardException
        The tensorboard package is not installed, or ``run_data`` holds something that is not a run.
    """
    try:
        import tensorboard.summary.writer.event_file_writer  # noqa: F401
    except ImportError:
        raise TensorboardException(
            "export_to_tensorboard needs the tensorboard package: pip install 'jupyter_amlrun[tensorboard]'."
        ) from None
    log = logger or logging.getLogger(__name__)
    runs: Iterable[Any] = run_data if isinstance(run_data, list | tuple) else [run_data]
    root = Path(logsdir)
    todo = []
    for run in runs:
        if not hasattr(run, "get_metrics") or not hasattr(run, "id"):
            raise TensorboardException(f"export_to_tensorboard takes runs, got {type(run).__name__}.")
        todo.append(run)
        if recursive:
            todo.extend(run.get_children(recursive=True))
    for run in todo:
        points = _write(root / run.id, run.get_metrics(), log)
        log.info("export_to_tensorboard: %s: %d points", run.id, points)
