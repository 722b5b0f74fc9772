"""The compare view of two or more runs (what ``RunDetails([run_a, run_b]).show()`` draws): the scalar metrics
overlaid per name (one chart per metric, a line per run, on the shared step axis) and a parameters table whose
differing rows come first."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, TypedDict

from jupyter_amlrun.view.model import SYSTEM_PREFIX, TableView, chart_xs, format_value, series_color

if TYPE_CHECKING:
    from jupyter_amlrun.core.reader import RunReader

#: Runs one compare view holds at most (a chart with more lines is unreadable; the REST metrics route has the same).
MAX_RUNS = 20


class CompareRun(TypedDict):
    id: str
    name: str
    status: str
    color: str  # its line's colour in every chart (view/model.py series_color)


class CompareLine(TypedDict):
    """One run's line in a metric's chart."""

    run_id: str
    xs: list[float]
    ys: list[float]


class CompareChart(TypedDict):
    name: str
    lines: list[CompareLine]  # in the order of the view's runs; a run without the metric has no line


class CompareView(TypedDict):
    runs: list[CompareRun]
    charts: list[CompareChart]  # by metric name
    params: TableView  # "Parameter", then one column per run; the rows whose values differ first
    differing: int  # how many of the params rows differ


def compare_view(readers: Sequence[RunReader]) -> CompareView:
    """The compare view of the runs read by ``readers`` (2 to :data:`MAX_RUNS`, of one workspace).

    Parameters are the runs' MLflow params plus the script's arguments (``arguments``); a run without a parameter
    shows an empty cell. ``system/...`` samples are not charted here (they are each run's own System section).

    Raises
    ------
    ValueError
        With fewer than two runs, or more than :data:`MAX_RUNS`.
    """
    if not 2 <= len(readers) <= MAX_RUNS:
        raise ValueError(f"A compare view takes 2 to {MAX_RUNS} runs, got {len(readers)}: pass a list of runs.")
    from jupyter_amlrun.runtime import tags as T
    from jupyter_amlrun.runtime.status import status_of
    from jupyter_amlrun.runtime.tags import json_tag

    runs: list[CompareRun] = []
    params: list[dict[str, Any]] = []
    series: dict[str, dict[str, list[tuple[float, float]]]] = {}
    for reader in readers:
        rec = reader.refresh()
        color = series_color(len(runs))
        runs.append({"id": reader.run_id, "name": rec.run_name, "status": status_of(rec), "color": color})
        values: dict[str, Any] = dict(rec.params)
        args = json_tag(rec.tags.get(T.ARGUMENTS), None)
        if args is not None:
            values["arguments"] = " ".join(str(a) for a in args)
        params.append(values)
        for name, points in reader.scalar_series().items():
            if not name.startswith(SYSTEM_PREFIX):
                series.setdefault(name, {})[reader.run_id] = points
    charts: list[CompareChart] = []
    for name in sorted(series):
        lines: list[CompareLine] = []
        for run in runs:
            line = series[name].get(run["id"])
            if line:
                lines.append({"run_id": run["id"], "xs": chart_xs([s for s, _ in line]), "ys": [v for _, v in line]})
        charts.append({"name": name, "lines": lines})
    names = sorted({n for p in params for n in p})
    cells = {n: [format_value(p[n]) if n in p else "" for p in params] for n in names}
    differ = [n for n in names if len(set(cells[n])) > 1]
    same = [n for n in names if n not in differ]
    rows: list[list[Any]] = [[n, *cells[n]] for n in [*differ, *same]]
    table: TableView = {
        "name": "params",
        "title": "Parameters",
        "note": f"{len(differ)} of {len(names)} differ" if names else "",
        "columns": ["Parameter", *(r["name"] or r["id"] for r in runs)],
        "rows": rows,
    }
    return {"runs": runs, "charts": charts, "params": table, "differing": len(differ)}
