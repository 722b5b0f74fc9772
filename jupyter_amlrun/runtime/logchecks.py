"""The rules a ``run.log*`` call must pass, checked at the call (a value MLflow would refuse fails there, with what
to do, rather than later when the journal is shipped). Used by every Run, in the notebook and in a script."""

from __future__ import annotations

import numbers
from typing import Any

from jupyter_amlrun.runtime.errors import MetricValidationException
from jupyter_amlrun.tracking import metrics as _metrics

__all__ = [
    "check_log_image",
    "check_log_list",
    "check_log_row",
    "check_log_scalar",
    "check_log_table",
    "check_metric_name",
]


def check_metric_name(name: Any) -> None:
    """Raise when MLflow would refuse ``name`` (its rules, checked here so the call fails, not the shipping)."""
    problem = _metrics.name_problem(name)
    if problem is not None:
        raise MetricValidationException(f"Invalid metric name {name!r}: {problem}")


def check_log_scalar(name: Any, value: Any, step: Any) -> Any:
    """Check a ``run.log`` call; returns the value to journal (number-likes such as 0-d tensors made floats)."""
    check_metric_name(name)
    if isinstance(value, list | tuple | range | set | dict) or (
        hasattr(value, "__iter__") and not isinstance(value, str | bytes) and not hasattr(value, "__float__")
    ):
        raise MetricValidationException("run.log does not support list type. Use run.log_list instead")
    if step is not None and (isinstance(step, bool) or not isinstance(step, numbers.Integral)):
        raise MetricValidationException(
            f"Metric {name!r}: step must be an integer, not {type(step).__name__} ({step!r}); pass step=int(...)."
        )
    if isinstance(value, str | bool | numbers.Real):
        return value
    if isinstance(value, bytes):
        raise MetricValidationException(
            f"Metric {name!r}: run.log takes a number or a string, not bytes; decode it first (value.decode())."
        )
    if hasattr(value, "__float__") and not isinstance(value, complex):
        try:
            return float(value)
        except (TypeError, ValueError):
            pass
    raise MetricValidationException(
        f"Metric {name!r}: run.log takes a number or a string, not {type(value).__name__} ({value!r:.80}); "
        "log float(value), or str(value) to keep it as text."
    )


def check_log_list(name: Any, value: Any) -> list[Any]:
    check_metric_name(name)
    if isinstance(value, str | bytes | dict) or not hasattr(value, "__iter__"):
        raise MetricValidationException(
            f"Metric {name!r}: log_list takes a list (or any iterable) of values, not {type(value).__name__}; "
            "use run.log for one value, run.log_table for a dict of columns."
        )
    return list(value)


def check_log_row(name: Any, row: dict[str, Any]) -> None:
    check_metric_name(name)
    if not row:
        raise MetricValidationException("log_row needs at least one column, e.g. run.log_row('t', epoch=1, loss=0.3).")


def check_log_table(name: Any, value: Any) -> dict[str, list[Any]]:
    check_metric_name(name)
    if not isinstance(value, dict):
        raise MetricValidationException("log_table expects a dict of column name -> list of values.")
    out = {}
    for col, values in value.items():
        if isinstance(values, str | bytes) or not hasattr(values, "__iter__"):
            raise MetricValidationException(
                f"Metric {name!r}: column {col!r} of log_table must be a list of values, not "
                f"{type(values).__name__}; wrap a single value as [value]."
            )
        out[str(col)] = list(values)
    return out


def check_log_image(name: Any, path: str | None, plot: Any) -> None:
    check_metric_name(name)
    if (path is None) == (plot is None):
        raise MetricValidationException("log_image takes exactly one of path= or plot=.")
