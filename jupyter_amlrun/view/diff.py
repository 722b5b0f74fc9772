"""The diff view of two runs (what the sidebar's "Diff" shows): :func:`jupyter_amlrun.runtime.diff.diff_runs`'s answer
turned into tables of formatted cells and file changes with their unified diffs, so the front end only draws.

Every cell goes through the view model's one number rule (:func:`~jupyter_amlrun.view.model.format_value`); a value
a run does not have is shown as ``—``. A side whose snapshot or run folder is gone is said in a note, not an error.
"""

from __future__ import annotations

from typing import Any, TypedDict

from jupyter_amlrun.view.model import MISSING, TableView, format_value

__all__ = ["DiffFileView", "DiffView", "diff_view"]


class DiffFileView(TypedDict):
    """One file of the code diff: ``change`` is ``added``, ``removed`` or ``changed``; ``note`` says why a changed
    file has no unified diff (binary, too large, object pruned) and ``diff`` is the unified diff text ("" if none)."""

    path: str
    change: str
    note: str
    diff: str


class DiffCodeView(TypedDict):
    title: str
    note: str  # "3 changed, 1 added, 0 removed, 1997 unchanged", or why a side is missing
    missing: list[str]  # one sentence per side without a snapshot
    files: list[DiffFileView]


class DiffView(TypedDict):
    """Both runs' ids and labels, the tables (params, metrics, environment, inputs) and the code part."""

    runs: list[str]
    labels: list[str]  # the column titles of the two runs
    title: str
    tables: list[TableView]
    code: DiffCodeView


def _cell(value: Any) -> str:
    if value is None:
        return MISSING
    if isinstance(value, list):
        return " ".join(str(v) for v in value)
    return format_value(value)


def _pairs(name: str, title: str, pairs: dict[str, list[Any]], labels: list[str]) -> TableView:
    rows: list[list[Any]] = []
    differ = 0
    for key, (a, b) in pairs.items():
        ca, cb = _cell(a), _cell(b)
        differ += ca != cb
        rows.append([key, ca, cb, "≠" if ca != cb else ""])
    return {
        "name": name,
        "title": title,
        "note": f"{differ} of {len(rows)} differ" if rows else "none",
        "columns": [title.rstrip("s") if title != "Metrics" else "Metric", *labels, ""],
        "rows": rows,
    }


def diff_view(diff: dict[str, Any], labels: list[str] | None = None) -> DiffView:
    """The view of ``diff`` (``run_a.diff(run_b)``, or the REST route's JSON of it).

    Parameters
    ----------
    diff:
        The dict :func:`jupyter_amlrun.runtime.diff.diff_runs` returns.
    labels:
        Column titles for the two runs (their display names); the run ids when not given.
    """
    runs = [str(r) for r in diff["runs"]]
    labels = list(labels) if labels else list(runs)
    params = _pairs("params", "Parameters", diff["params"], labels)
    params["columns"][0] = "Parameter"
    metrics = _pairs("metrics", "Metrics", diff["metrics"], labels)
    metrics["note"] = (metrics["note"] + " (last values)") if metrics["rows"] else "none logged"

    env = diff["environment"]
    env_rows: dict[str, list[Any]] = {
        "environment": env["name"],
        "python": env["python"],
        "docker image": env["docker_image"],
        "definition hash": env["hash"],
    }
    for req in env["packages"]["added"]:
        env_rows[f"package {req}"] = [None, req]
    for req in env["packages"]["removed"]:
        env_rows[f"package {req}"] = [req, None]
    for pkg, pair in env["packages"]["changed"].items():
        env_rows[f"package {pkg}"] = pair
    environment = _pairs("environment", "Environment", env_rows, labels)
    environment["columns"][0] = "Item"
    notes = ["same definition" if env["same"] else environment["note"]]
    notes += [
        f"{labels[0 if s == 'a' else 1]} recorded no environment definition (an interactive run, or its run folder "
        "is gone): only its name and hash are known"
        for s in env["missing"]
    ]
    environment["note"] = "; ".join(notes)

    inp = diff["inputs"]
    in_rows: dict[str, list[Any]] = {}
    for key, label in inp["added"].items():
        in_rows[key] = [None, label]
    for key, label in inp["removed"].items():
        in_rows[key] = [label, None]
    for key, pair in inp["changed"].items():
        in_rows[key] = pair
    inputs = _pairs("inputs", "Inputs", in_rows, labels)
    inputs["columns"][0] = "Input"
    if not in_rows:
        inputs["note"] = f"{len(inp['same'])} the same" if inp["same"] else "none"

    code = diff["code"]
    side_label = {"a": labels[0], "b": labels[1]}
    missing = [f"{side_label[s]}: {code['missing_reason'].get(s, 'no snapshot')}" for s in code["missing"]]
    files: list[DiffFileView] = []
    for path in code["added"]:
        files.append({"path": path, "change": "added", "note": f"only in {labels[1]}", "diff": ""})
    for path in code["removed"]:
        files.append({"path": path, "change": "removed", "note": f"only in {labels[0]}", "diff": ""})
    for ch in code["changed"]:
        note = ""
        if ch.get("binary"):
            note = "binary file: no text diff"
        elif ch.get("too_large"):
            note = f"too large for a text diff ({format_value(ch['size'][0])} / {format_value(ch['size'][1])} bytes)"
        elif ch.get("object_missing"):
            note = "a side's content was pruned from the snapshot store"
        files.append({"path": ch["path"], "change": "changed", "note": note, "diff": ch.get("diff") or ""})
    if missing:
        # the sentences themselves are in ``missing``, one line each
        code_note = f"cannot compare the code: {len(missing)} of 2 snapshots missing"
    else:
        code_note = (
            f"{len(code['changed'])} changed, {len(code['added'])} added, {len(code['removed'])} removed, "
            f"{format_value(code['unchanged'])} unchanged"
        )
    return {
        "runs": runs,
        "labels": labels,
        "title": f"{labels[0]} → {labels[1]}",
        "tables": [params, metrics, environment, inputs],
        "code": {"title": "Code", "note": code_note, "missing": missing, "files": files},
    }
