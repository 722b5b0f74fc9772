"""HyperDrive's section of a run view: a sweep parent's children with their sampled values, primary metric and
early ends (registered with :mod:`jupyter_amlrun.view.sections` under the run type ``hyperdrive``)."""

from __future__ import annotations

import contextlib
import json
import math
import numbers
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from jupyter_amlrun.runtime import tags as T
from jupyter_amlrun.train.hyperdrive.parameters import HYPERPARAMETERS_TAG
from jupyter_amlrun.view.model import (
    MISSING,
    Cell,
    SweepAxisView,
    SweepChildView,
    SweepView,
    format_value,
    series_color,
    status_view,
    value_axis,
)
from jupyter_amlrun.view.sections import RunSection

if TYPE_CHECKING:
    from jupyter_amlrun.core.reader import RunReader

__all__ = ["EARLY_TERMINATION", "SweepSection", "sweep_view"]

# How a policy's cancel reason starts (train/hyperdrive/policy.py): the child was ended early.
EARLY_TERMINATION = "early termination by"


class SweepSection(RunSection):
    """The sweep section of a HyperDrive parent run (its properties name the primary metric and goal)."""

    run_type = "hyperdrive"

    def __init__(self, properties: Mapping[str, str]) -> None:
        super().__init__(properties)
        try:
            doc = json.loads(self.properties.get("primary_metric_config") or "{}")
        except ValueError:
            doc = {}
        doc = doc if isinstance(doc, dict) else {}
        self.metric: str | None = str(doc["name"]) if doc.get("name") else None
        self.goal = str(doc.get("goal") or "maximize").lower()

    def child_fields(self, child: RunReader) -> dict[str, Any]:
        """A child's sampled parameters, its primary metric in logged order, and whether a policy ended it."""
        if self.metric is None:
            return {}
        tags = child.record.tags
        try:
            params = json.loads(tags.get(HYPERPARAMETERS_TAG) or "{}")
        except ValueError:
            params = {}
        error = tags.get(T.ERROR) or ""
        if child.has_journal():
            error = child.folder.read_state().error or error
        values: list[float] = []
        with contextlib.suppress(Exception):
            values = [v for _s, v in child.scalar_series(self.metric).get(self.metric, [])]
        return {
            "parameters": params if isinstance(params, dict) else {},
            "primary": values,
            "terminated": error.startswith(EARLY_TERMINATION),
        }

    def children_view(self, children: Sequence[Mapping[str, Any]]) -> SweepView | None:
        if self.metric is None:
            return None
        return sweep_view(children, self.metric, self.goal)


def _axis(name: str, values: list[Any]) -> tuple[SweepAxisView, Callable[[Any], float | None]]:
    """A parallel-coordinates axis over ``values``: numbers spread min..max, anything else by category."""
    nums = [float(v) for v in values if isinstance(v, numbers.Real) and not isinstance(v, bool) and math.isfinite(v)]
    if nums and len(nums) == len([v for v in values if v is not None]):
        lo, hi = min(nums), max(nums)
        span = hi - lo

        def place(v: Any) -> float | None:
            if not isinstance(v, numbers.Real) or isinstance(v, bool) or not math.isfinite(v):
                return None
            return 0.5 if span == 0 else (float(v) - lo) / span

        ticks = [[0.0, format_value(lo)], [1.0, format_value(hi)]] if span else [[0.5, format_value(lo)]]
        return {"name": name, "ticks": ticks}, place
    cats: list[str] = []
    for v in values:
        if v is not None and json.dumps(v) not in cats:
            cats.append(json.dumps(v))

    def place_cat(v: Any) -> float | None:
        if v is None:
            return None
        i = cats.index(json.dumps(v))
        return 0.5 if len(cats) == 1 else i / (len(cats) - 1)

    ticks = [[0.5 if len(cats) == 1 else i / (len(cats) - 1), c.strip('"')] for i, c in enumerate(cats)]
    return {"name": name, "ticks": ticks}, place_cat


def sweep_view(children: Sequence[Mapping[str, Any]], metric: str, goal: str) -> SweepView:
    """The view of a sweep's children (the dicts :class:`~jupyter_amlrun.view.watch.RunWatcher` reads), best first.

    The best value of a child is its maximum (goal ``maximize``) or minimum primary metric; children without one
    come last, in submit order.
    """
    maximize = goal != "minimize"
    params: list[str] = []
    for kid in children:
        for p in kid.get("parameters") or {}:
            if p not in params:
                params.append(p)
    rows: list[tuple[Mapping[str, Any], list[float], float | None]] = []
    for kid in children:
        values = [float(v) for v in kid.get("primary") or [] if isinstance(v, int | float) and math.isfinite(v)]
        best = (max(values) if maximize else min(values)) if values else None
        rows.append((kid, values, best))
    sign = -1.0 if maximize else 1.0
    scored = sorted((r for r in rows if r[2] is not None), key=lambda r: sign * float(r[2] or 0.0))
    ordered = scored + [r for r in rows if r[2] is None]
    axes_fns = [_axis(p, [(k.get("parameters") or {}).get(p) for k, _v, _b in ordered]) for p in params]
    axes_fns.append(_axis(metric, [b for _k, _v, b in ordered]))
    out: list[SweepChildView] = []
    for index, (kid, values, best) in enumerate(ordered):
        ps = kid.get("parameters") or {}
        status = str(kid.get("status") or "")
        label = str(kid.get("name") or kid.get("runId") or "")
        cells: list[Cell] = [label, status_view(status), *(format_value(ps.get(p)) for p in params)]
        cells.append(format_value(best) if best is not None else MISSING)
        sort: list[float | str | None] = [label, status]
        for p in params:
            v = ps.get(p)
            sort.append(float(v) if isinstance(v, int | float) and not isinstance(v, bool) else json.dumps(v))
        sort.append(best)
        coords = [fn(ps.get(p)) for (_ax, fn), p in zip(axes_fns[:-1], params, strict=True)]
        coords.append(axes_fns[-1][1](best))
        out.append(
            {
                "run_id": str(kid.get("runId") or ""),
                "name": label,
                "status": status_view(status),
                "color": series_color(index),
                "terminated": bool(kid.get("terminated")),
                "values": values,
                "best": best,
                "cells": cells,
                "sort": sort,
                "coords": coords,
            }
        )
    ended = sum(1 for r in out if r["terminated"])
    title = f"Child runs ({len(out)})" + (f", {ended} ended early by the policy" if ended else "")
    return {
        "metric": metric,
        "goal": "minimize" if not maximize else "maximize",
        "title": title,
        "columns": ["Run", "Status", *params, f"{metric} ({'max' if maximize else 'min'})"],
        "children": out,
        "axes": [ax for ax, _fn in axes_fns],
        "value_axis": value_axis(v for _k, values, _b in ordered for v in values),
    }
