"""The metrics journal: an append-only JSON-lines file in the run folder.

The training process appends one record per ``run.log*`` call (a single ``write(2)`` with O_APPEND: microseconds,
atomic between ranks, and safe when the process is killed since the bytes are already in the kernel). The driver
tails the journal and ships it to MLflow in batches; live readers read it by offset.
"""

from __future__ import annotations

import json
import math
import numbers
import os
import time
from pathlib import Path
from typing import Any

from jupyter_amlrun._util.fileio import file_lock

# Record kinds
SCALAR = "scalar"
LIST = "list"
ROW = "row"
TABLE = "table"
IMAGE = "image"

NONSCALAR_ARTIFACT = ".amlrun/nonscalar_metrics.jsonl"


def _jsonable(value: Any) -> Any:
    """Turn numpy scalars/arrays and other number-likes into plain JSON types."""
    if isinstance(value, bool | str) or value is None:
        return value
    if isinstance(value, numbers.Integral):
        return int(value)
    if isinstance(value, numbers.Real):
        return float(value)
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple | range):
        return [_jsonable(v) for v in value]
    tolist = getattr(value, "tolist", None)
    if callable(tolist):
        return _jsonable(tolist())
    return str(value)


def is_numeric(value: Any) -> bool:
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


class JournalWriter:
    """Append records to a run's journal file."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        self._steps: dict[str, int] = {}

    def append(self, kind: str, name: str, value: Any, step: int | None = None, description: str = "") -> None:
        record: dict[str, Any] = {"t": int(time.time() * 1000), "k": kind, "n": name, "v": _jsonable(value)}
        if kind == SCALAR:
            if step is None:
                step = self._steps.get(name, 0)
            self._steps[name] = int(step) + 1
            record["s"] = int(step)
        if description:
            record["d"] = description
        line = json.dumps(record, separators=(",", ":"), allow_nan=True) + "\n"
        os.write(self._fd, line.encode("utf-8"))

    def close(self) -> None:
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1

    def __del__(self) -> None:
        try:
            self.close()
        except Exception:
            pass


class JournalReader:
    """Read complete records appended since the last call (a partial last line waits for its newline)."""

    def __init__(self, path: Path, offset: int = 0) -> None:
        self.path = path
        self.offset = offset

    def read_new(self, max_bytes: int | None = 64 * 1024 * 1024) -> list[dict[str, Any]]:
        try:
            with open(self.path, "rb") as fh:
                fh.seek(self.offset)
                data = fh.read() if max_bytes is None else fh.read(max_bytes)
        except FileNotFoundError:
            return []
        end = data.rfind(b"\n")
        if end < 0:
            return []
        chunk = data[: end + 1]
        self.offset += len(chunk)
        records = []
        for line in chunk.splitlines():
            if line.strip():
                try:
                    records.append(json.loads(line))
                except ValueError:
                    continue  # a torn line from a killed writer; never block the rest
        return records


def read_all(path: Path) -> list[dict[str, Any]]:
    """Every complete record of a journal."""
    return JournalReader(path).read_new(max_bytes=None)


def ship_journal(store: Any, run_id: str, run_dir: Path) -> int:
    """Ship the not-yet-shipped part of ``run_dir/journal.jsonl`` to MLflow; returns records shipped.

    Safe to call from several processes: a lock serialises shippers and the shipped offset is persisted after each
    successful batch, so a crash re-ships at most one batch (MLflow drops exact duplicate points).
    """
    journal = run_dir / "journal.jsonl"
    if not journal.exists():
        return 0
    offset_file = run_dir / "journal.offset"
    shipped = 0
    with file_lock(run_dir / "journal.lock"):
        try:
            offset = int(offset_file.read_text() or 0)
        except (FileNotFoundError, ValueError):
            offset = 0
        reader = JournalReader(journal, offset)
        while True:
            records = reader.read_new(max_bytes=8 * 1024 * 1024)
            if not records:
                break
            points = []
            nonscalar = []
            for rec in records:
                value = rec.get("v")
                if rec.get("k") == SCALAR and isinstance(value, int | float) and not isinstance(value, bool):
                    v = float(value)
                    points.append(
                        (
                            rec["n"],
                            v if not math.isinf(v) else math.copysign(1.7e308, v),
                            rec["t"],
                            rec.get("s", 0),
                        )
                    )
                else:
                    nonscalar.append(rec)
            store.log_metrics(run_id, points)
            if nonscalar:
                local = run_dir / "nonscalar_metrics.jsonl"
                with open(local, "a", encoding="utf-8") as fh:
                    for rec in nonscalar:
                        fh.write(json.dumps(rec, separators=(",", ":")) + "\n")
                store.log_artifact(run_id, local, ".amlrun")
            shipped += len(records)
            offset_file.write_text(str(reader.offset))
    return shipped
