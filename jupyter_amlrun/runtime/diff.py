"""What differs between two runs: parameters, last metric values, code, environment and inputs (``run_a.diff(run_b)``).

The code part compares the two content-addressed snapshot manifests (runtime/snapshot.py): a file whose sha256 is the
same on both sides is never read, so two 2,000-file snapshots differing in 3 files read 3 pairs of objects.
"""

from __future__ import annotations

import difflib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from jupyter_amlrun.runtime import tags as T
from jupyter_amlrun.runtime.errors import SnapshotException, UserErrorException

if TYPE_CHECKING:
    from jupyter_amlrun.runtime.runfolder import RunSpec
    from jupyter_amlrun.tracking.store import RunRecord

#: Above this size (either side) a changed file gets no unified diff, only its sizes (a diff would flood the view).
MAX_DIFF_BYTES = 1024 * 1024
#: Lines of context in each unified diff.
CONTEXT_LINES = 3


@dataclass(frozen=True)
class DiffSide:
    """One run as a diff reads it: its workspace (path and name), id, tracking record and run spec."""

    workspace_path: Path
    workspace_name: str
    run_id: str
    record: RunRecord
    spec: RunSpec | None


def diff_runs(side_a: DiffSide, side_b: DiffSide) -> dict[str, Any]:
    """What differs between two runs of one workspace (``run_a.diff(run_b)`` gives the sides).

    Returns
    -------
    dict
        ``runs``: the two run ids; ``params``: name -> ``[a, b]`` (differing names first; the script's arguments
        under ``"arguments"``); ``metrics``: name -> ``[last a, last b]`` (None where a run has no such metric);
        ``code``: see :func:`diff_snapshots`; ``environment``: name, Python, Docker image and packages added, removed
        and changed; ``inputs``: datasets by input name added, removed and changed (name, version).

    Raises
    ------
    UserErrorException
        When the runs belong to different workspaces (their snapshots and environments cannot be compared).
    """
    a, b = side_a, side_b
    if Path(a.workspace_path).resolve() != Path(b.workspace_path).resolve():
        raise UserErrorException(
            f"Cannot diff run {a.run_id} of workspace {a.workspace_name!r} ({a.workspace_path}) with run {b.run_id} "
            f"of workspace {b.workspace_name!r} ({b.workspace_path}): a diff compares runs of one workspace. Open "
            "both runs from the same Workspace (Run.get(ws, run_id))."
        )
    rec_a, rec_b, spec_a, spec_b = a.record, b.record, a.spec, b.spec
    params_a: dict[str, Any] = {**rec_a.params, "arguments": _json_list(rec_a.tags.get(T.ARGUMENTS))}
    params_b: dict[str, Any] = {**rec_b.params, "arguments": _json_list(rec_b.tags.get(T.ARGUMENTS))}
    return {
        "runs": [a.run_id, b.run_id],
        "params": side_by_side(params_a, params_b),
        "metrics": side_by_side(_script_metrics(rec_a.metrics), _script_metrics(rec_b.metrics), differing_first=False),
        "code": diff_snapshots(
            Path(a.workspace_path),
            rec_a.tags.get(T.SNAPSHOT_ID),
            rec_b.tags.get(T.SNAPSHOT_ID),
            names=(a.run_id, b.run_id),
        ),
        "environment": diff_environments(
            _environment(rec_a.tags, spec_a.environment_definition if spec_a else None, spec_a.extra if spec_a else {}),
            _environment(rec_b.tags, spec_b.environment_definition if spec_b else None, spec_b.extra if spec_b else {}),
        ),
        "inputs": diff_inputs(_json_list(rec_a.tags.get(T.INPUTS)), _json_list(rec_b.tags.get(T.INPUTS))),
    }


def side_by_side(a: dict[str, Any], b: dict[str, Any], differing_first: bool = True) -> dict[str, list[Any]]:
    """name -> ``[a's value, b's value]`` (None where absent); with ``differing_first`` the differing names come
    first (each group sorted by name), as a params table shows them."""
    names = sorted(set(a) | set(b))
    rows = {n: [a.get(n), b.get(n)] for n in names}
    if not differing_first:
        return rows
    return {n: rows[n] for n in sorted(names, key=lambda n: (rows[n][0] == rows[n][1], n))}


def _script_metrics(metrics: dict[str, float]) -> dict[str, float]:
    from jupyter_amlrun.tracking import metrics as _metrics

    # The driver's samples (system/...) are the run's machine, not its results; the store keeps +-inf as +-max float.
    return {k: _metrics.from_stored(float(v)) for k, v in metrics.items() if not k.startswith("system/")}


def _json_list(text: str | None) -> list[Any]:
    if not text:
        return []
    try:
        value = json.loads(text)
    except ValueError:
        return [text]
    return value if isinstance(value, list) else [value]


# ---------------------------------------------------------------------------------------------------- code
def diff_snapshots(
    workspace_dir: Path, snapshot_a: str | None, snapshot_b: str | None, names: tuple[str, str] = ("a", "b")
) -> dict[str, Any]:
    """Files added, removed and changed from snapshot ``a`` to ``b`` of one workspace.

    Returns
    -------
    dict
        ``snapshots``: the two ids; ``missing``: the sides (``"a"``/``"b"``) without a snapshot, each with why, in
        ``missing_reason``; ``added``/``removed``: paths; ``changed``: a list of ``{"path", "size": [a, b],
        "diff"}`` where ``diff`` is the unified diff text, or None for a binary or too large file (``"binary"`` or
        ``"too_large"`` says which); ``unchanged``: how many files are the same.
    """
    from jupyter_amlrun.runtime.snapshot import SnapshotStore

    store = SnapshotStore(workspace_dir)
    out: dict[str, Any] = {
        "snapshots": [snapshot_a, snapshot_b],
        "missing": [],
        "missing_reason": {},
        "added": [],
        "removed": [],
        "changed": [],
        "unchanged": 0,
    }
    manifests: list[dict[str, dict[str, Any]]] = []
    for side, sid, run_id in (("a", snapshot_a, names[0]), ("b", snapshot_b, names[1])):
        if not sid:
            out["missing"].append(side)
            out["missing_reason"][side] = f"run {run_id} has no source snapshot (an interactive or child run)"
            manifests.append({})
            continue
        try:
            manifests.append(store.files(sid))
        except SnapshotException:
            out["missing"].append(side)
            out["missing_reason"][side] = f"snapshot {sid} of run {run_id} is no longer in the workspace (pruned)"
            manifests.append({})
    if out["missing"]:
        return out  # one side unknown: listing every file as added or removed would say nothing true
    files_a, files_b = manifests
    out["added"] = sorted(set(files_b) - set(files_a))
    out["removed"] = sorted(set(files_a) - set(files_b))
    for path in sorted(set(files_a) & set(files_b)):
        meta_a, meta_b = files_a[path], files_b[path]
        if meta_a["sha256"] == meta_b["sha256"]:
            out["unchanged"] += 1
            continue
        out["changed"].append(_file_change(store, path, meta_a, meta_b))
    return out


def _file_change(store: Any, path: str, meta_a: dict[str, Any], meta_b: dict[str, Any]) -> dict[str, Any]:
    change: dict[str, Any] = {"path": path, "size": [int(meta_a["size"]), int(meta_b["size"])], "diff": None}
    if max(change["size"]) > MAX_DIFF_BYTES:
        change["too_large"] = True
        return change
    texts: list[list[str]] = []
    for meta in (meta_a, meta_b):
        try:
            data = Path(store.object_path(meta["sha256"])).read_bytes()
        except OSError:
            change["object_missing"] = True  # the object was pruned though the manifest stayed
            return change
        if b"\0" in data:
            change["binary"] = True
            return change
        try:
            texts.append(data.decode("utf-8").splitlines(keepends=True))
        except UnicodeDecodeError:
            change["binary"] = True
            return change
    lines = difflib.unified_diff(texts[0], texts[1], f"a/{path}", f"b/{path}", n=CONTEXT_LINES)
    change["diff"] = "".join(line if line.endswith("\n") else line + "\n" for line in lines)
    return change


# ---------------------------------------------------------------------------------------------------- environment
def _environment(tags: dict[str, str], definition: dict[str, Any] | None, extra: dict[str, Any]) -> dict[str, Any]:
    """The comparable parts of a run's environment, from its ``spec.json`` (None when the run folder is gone)."""
    definition = definition or {}
    docker = extra.get("docker") or {}
    return {
        "name": tags.get(T.ENVIRONMENT),
        "hash": tags.get(T.ENVIRONMENT_HASH),
        "python": definition.get("python"),
        "docker_image": docker.get("image"),
        "packages": _packages([*(definition.get("pip") or []), *(definition.get("conda") or [])]),
        "known": bool(definition),
    }


def _packages(specs: list[Any]) -> dict[str, str]:
    """Package name (normalised) -> its requirement text, e.g. ``{"numpy": "numpy==1.26"}``."""
    from packaging.requirements import InvalidRequirement, Requirement
    from packaging.utils import canonicalize_name

    out: dict[str, str] = {}
    for spec in specs:
        text = str(spec).strip()
        if not text or text.startswith("-"):
            continue  # pip options (--index-url ...) are not packages
        try:
            name = canonicalize_name(Requirement(text).name)
        except InvalidRequirement:  # a conda spec such as "numpy=1.26" or "conda-forge::numpy"
            name = canonicalize_name(text.split("::")[-1].split("=")[0].split("<")[0].split(">")[0].strip())
        out[name] = text
    return out


def diff_environments(a: dict[str, Any], b: dict[str, Any]) -> dict[str, Any]:
    """Environment name, hash, Python and Docker image as ``[a, b]``, and packages ``added``/``removed`` (requirement
    texts) and ``changed`` (name -> ``[a, b]``); ``same`` is true when the two definitions hash the same."""
    pa, pb = a["packages"], b["packages"]
    missing = [side for side, env in (("a", a), ("b", b)) if not env["known"]]
    return {
        "same": a["hash"] is not None and a["hash"] == b["hash"],
        "name": [a["name"], b["name"]],
        "hash": [a["hash"], b["hash"]],
        "python": [a["python"], b["python"]],
        "docker_image": [a["docker_image"], b["docker_image"]],
        "packages": {
            "added": sorted(pb[n] for n in set(pb) - set(pa)),
            "removed": sorted(pa[n] for n in set(pa) - set(pb)),
            "changed": {n: [pa[n], pb[n]] for n in sorted(set(pa) & set(pb)) if pa[n] != pb[n]},
        },
        "missing": missing,  # sides whose run folder (spec.json) is gone: only name and hash are known
    }


# ---------------------------------------------------------------------------------------------------- inputs
def _input_label(item: dict[str, Any]) -> str:
    name = item.get("dataset_name") or item.get("dataset_id") or item.get("path_on_datastore") or "?"
    version = item.get("dataset_version")
    return f"{name}:{version}" if version is not None else str(name)


def diff_inputs(a: list[Any], b: list[Any]) -> dict[str, Any]:
    """Input datasets by input name: ``added``/``removed`` (name -> dataset:version) and ``changed`` (name ->
    ``[a, b]``, when the dataset, its version or the mode differs); ``same``: names unchanged."""

    def by_name(items: list[Any]) -> dict[str, dict[str, Any]]:
        return {str(i.get("name") or i.get("dataset_name") or k): i for k, i in enumerate(items) if isinstance(i, dict)}

    ia, ib = by_name(a), by_name(b)
    changed = {}
    same = []
    for name in sorted(set(ia) & set(ib)):
        if ia[name] == ib[name]:
            same.append(name)
        else:
            la, lb = _input_label(ia[name]), _input_label(ib[name])
            if la == lb:  # same dataset and version, another mode or datastore
                la, lb = f"{la} ({ia[name].get('mode')})", f"{lb} ({ib[name].get('mode')})"
            changed[name] = [la, lb]
    return {
        "added": {n: _input_label(ib[n]) for n in sorted(set(ib) - set(ia))},
        "removed": {n: _input_label(ia[n]) for n in sorted(set(ia) - set(ib))},
        "changed": changed,
        "same": same,
    }
