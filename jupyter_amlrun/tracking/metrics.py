"""What MLflow can hold in a metric, checked without importing mlflow (the training script stays fast).

The rules follow ``mlflow/utils/validation.py`` (mlflow 3.17): a metric name uses only alphanumerics, ``_``, ``-``,
``.``, spaces and ``/`` (and ``:`` except on Windows), at most 250 characters (the width of MLflow's ``key`` column),
and must stay the same name when read as a path (``posixpath.normpath(name) == name``, not ``.``, not starting with
``..`` or ``/``). A metric value is a 64-bit float (NaN is kept; +-inf is stored as +-max float), its step and
timestamp 64-bit integers (SQLite's INTEGER).
"""

from __future__ import annotations

import math
import numbers
import posixpath
import re
import sys
from dataclasses import dataclass
from typing import Any

MAX_NAME_LENGTH = 250
INT64_MIN = -(2**63)
INT64_MAX = 2**63 - 1
# Integers a float64 keeps exactly; beyond this a value stored as a metric would read back changed.
MAX_EXACT_INT = 2**53
# MLflow stores +-inf as +-max float (SQL has no infinity); reading maps it back.
STORED_INF = sys.float_info.max

_NAME_RE = re.compile(r"^[/\w.\- ]*$" if sys.platform == "win32" else r"^[/\w.\- :]*$")
_ALLOWED = "letters, digits, '_', '-', '.', ' ' and '/'" + ("" if sys.platform == "win32" else " (and ':')")


def name_problem(name: Any) -> str | None:
    """Why MLflow would refuse ``name`` as a metric name, or None when it is fine.

    Parameters
    ----------
    name:
        The name a ``run.log*`` call was given.

    Returns
    -------
    str or None
        A sentence naming the rule that was broken and how to fix it.
    """
    if not isinstance(name, str):
        return f"a metric name must be a string, not {type(name).__name__}; pass str(name)."
    if not name:
        return "a metric name must not be empty."
    if len(name) > MAX_NAME_LENGTH:
        return f"a metric name has at most {MAX_NAME_LENGTH} characters (this one has {len(name)}); shorten it."
    if not _NAME_RE.match(name):
        bad = sorted({c for c in name if not _NAME_RE.match(c)})
        return f"a metric name may only use {_ALLOWED}; remove or replace {''.join(bad)!r}."
    norm = posixpath.normpath(name)
    if norm != name or norm == "." or norm.startswith("..") or norm.startswith("/"):
        return (
            "a metric name must read as one clean relative path (no leading '/', no trailing '/', no '//', "
            f"no '.' or '..' segments): MLflow would treat it as {norm!r}; use {_suggest(name)!r} instead."
        )
    return None


def _suggest(name: str) -> str:
    parts = [p for p in name.split("/") if p not in ("", ".", "..")]
    return "/".join(parts) or "metric"


def is_int64(value: Any) -> bool:
    """Whether ``value`` fits SQLite's INTEGER (a metric's step and timestamp); timestamps must also be >= 0."""
    return isinstance(value, int) and not isinstance(value, bool) and INT64_MIN <= value <= INT64_MAX


def as_metric_value(value: Any) -> float | None:
    """The float MLflow stores for a journal value, or None when a metric cannot hold it as logged.

    Strings, booleans, integers beyond what a float keeps exactly (2**53) and anything not a number return None:
    those travel in the run's non-scalar artifact instead, so ``get_metrics()`` returns them unchanged.
    """
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        return None
    if isinstance(value, int):
        if abs(value) > MAX_EXACT_INT:
            return None
        return float(value)
    v = float(value)
    if math.isinf(v):
        return math.copysign(STORED_INF, v)
    return v


def from_stored(value: float) -> float:
    """Undo MLflow's +-inf -> +-max float on read."""
    if abs(value) == STORED_INF:
        return math.copysign(math.inf, value)
    return value


@dataclass(frozen=True)
class SampledSeries:
    """A metric series cut for display: ``points`` ``[(step, value), ...]`` of ``total`` logged."""

    points: list[tuple[float, float]]
    total: int


def downsample(points: list[tuple[float, float]], budget: int) -> list[tuple[float, float]]:
    """At most ``budget`` (at least 4) of ``points``, in order: the first and the last, and in each of
    ``(budget - 2) // 2`` equal runs of the others the lowest and the highest value, so spikes and the series' min and
    max stay visible (NaN points are kept only where a bucket holds nothing else)."""
    budget = max(budget, 4)
    if len(points) <= budget:
        return list(points)
    inner = points[1:-1]
    buckets = (budget - 2) // 2
    size = len(inner) / buckets
    kept: list[tuple[float, float]] = [points[0]]
    for b in range(buckets):
        chunk = range(int(b * size), max(int((b + 1) * size), int(b * size) + 1))
        idx = [i for i in chunk if i < len(inner) and inner[i][1] == inner[i][1]] or [chunk[0]]
        lo = min(idx, key=lambda i: inner[i][1])
        hi = max(idx, key=lambda i: inner[i][1])
        kept.extend(inner[i] for i in sorted({lo, hi}))
    kept.append(points[-1])
    return kept
