"""v1's shapes of a run's metrics (``Run.get_metrics``), from journal records (``k``, ``n``, ``v``, ``s``, ``t``)."""

from __future__ import annotations

from typing import Any

from jupyter_amlrun.tracking import journal as J

__all__ = ["v1_metrics"]


def v1_metrics(records: list[dict[str, Any]]) -> dict[str, Any]:
    """Metrics as v1 returns them, from the records of a journal (or the store's copy of them)."""
    return shape_metrics(*_split_records(records))


def _split_records(records: list[dict[str, Any]]) -> tuple[dict[str, list[Any]], list[dict[str, Any]]]:
    series: dict[str, list[tuple[int, int, Any]]] = {}
    others = []
    for rec in records:
        if rec.get("k") == J.SCALAR:
            series.setdefault(rec["n"], []).append((rec.get("s", 0), rec["t"], rec["v"]))
        else:
            others.append(rec)
    return {k: [v for _s, _t, v in sorted(pts, key=lambda p: (p[0], p[1]))] for k, pts in series.items()}, others


def shape_metrics(series: dict[str, list[Any]], others: list[dict[str, Any]]) -> dict[str, Any]:
    """v1 shapes: one value -> the value, several -> a list; rows/tables -> ``{column: value or list}``."""
    out: dict[str, Any] = {}
    for name, values in series.items():
        out[name] = values[0] if len(values) == 1 else list(values)
    lists: dict[str, list[Any]] = {}
    rows: dict[str, list[dict[str, Any]]] = {}
    for rec in sorted(others, key=lambda r: r.get("t", 0)):
        kind, name, value = rec.get("k"), str(rec.get("n")), rec.get("v")
        if kind == J.LIST:
            lists.setdefault(name, []).append(value)
        elif kind == J.ROW:
            rows.setdefault(name, []).append(dict(value or {}))
        elif kind == J.TABLE or kind == J.IMAGE:
            out[name] = value
    for name, logged in lists.items():
        out[name] = logged[0] if len(logged) == 1 else logged
    for name, table_rows in rows.items():
        columns: dict[str, list[Any]] = {}
        for i, row in enumerate(table_rows):
            for col, v in row.items():
                columns.setdefault(col, [None] * i).append(v)
            for col in columns:
                if len(columns[col]) < i + 1:
                    columns[col].append(None)
        out[name] = {c: (v[0] if len(table_rows) == 1 else v) for c, v in columns.items()}
    return out
