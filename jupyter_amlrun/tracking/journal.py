"""The metrics journal: an append-only JSON-lines file in the run folder.

The training process appends one record per ``run.log*`` call (a single ``write(2)`` with O_APPEND: microseconds,
atomic between ranks, and safe when the process is killed since the bytes are already in the kernel). The driver
tails the journal and ships it to MLflow in batches; live readers read it by offset.
"""

from __future__ import annotations

import atexit
import contextlib
import errno
import json
import math
import numbers
import os
import sys
import time
import weakref
from pathlib import Path
from typing import Any

from jupyter_amlrun._util.fileio import file_lock, read_json, write_json_atomic
from jupyter_amlrun.tracking.metrics import INT64_MAX, MAX_EXACT_INT, as_metric_value, is_int64, name_problem

# Record kinds
SCALAR = "scalar"
LIST = "list"
ROW = "row"
TABLE = "table"
IMAGE = "image"

NONSCALAR_ARTIFACT = ".amlrun/nonscalar_metrics.jsonl"
SHIP_CHUNK_BYTES = 16 * 1024 * 1024


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


MAX_RECORD_BYTES = 64 * 1024 * 1024  # one run.log* call; a bigger value belongs in a file (run.upload_file)
REJECTED = "journal.rejected.jsonl"  # records the store refused, with the reason (they stay in journal.jsonl too)
_RECORD_START = b'{"t":'
# While the journal cannot be written (a full disk), records wait in memory up to this much, then are counted lost.
MAX_PENDING_BYTES = 64 * 1024 * 1024
STORAGE_NOTE = "journal.storage.json"  # what a writer went through when the disk refused its records


class RecordTooLargeError(ValueError):
    """One ``run.log*`` value is bigger than a journal record may be."""


class JournalWriter:
    """Append records to a run's journal file."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        self.path = path
        self._fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)  # metrics: the owner's only
        self._steps: dict[str, int] = {}
        # A full disk must not raise into the training loop: records wait here and are written when space frees.
        self._pending = bytearray()
        self._pending_records = 0
        self.late = 0  # records that waited in memory (the journal could not be written) and were written later
        self.dropped = 0  # records lost: the wait buffer was full, or the disk never freed before the end
        self.storage_error: str | None = None
        self._noted: tuple[int, int] | None = None
        self._seal_torn_tail()
        atexit.register(_close_writer, weakref.ref(self))

    def _seal_torn_tail(self) -> None:
        # A writer killed mid-record leaves a line without its newline; end it, so our first record starts a line
        # of its own instead of being glued to the torn one (and lost with it).
        try:
            with open(self.path, "rb") as fh:
                fh.seek(0, os.SEEK_END)
                if fh.tell() == 0:
                    return
                fh.seek(-1, os.SEEK_END)
                last = fh.read(1)
        except OSError:
            return
        if last != b"\n":
            os.write(self._fd, b"\n")

    @staticmethod
    def encode(kind: str, name: str, value: Any, step: int | None = None, description: str = "") -> dict[str, Any]:
        record: dict[str, Any] = {"t": int(time.time() * 1000), "k": kind, "n": name, "v": _jsonable(value)}
        if step is not None:
            record["s"] = int(step)
        if description:
            record["d"] = description
        return record

    def append(self, kind: str, name: str, value: Any, step: int | None = None, description: str = "") -> None:
        record = self.encode(kind, name, value, None, description)
        if kind == SCALAR:
            if step is None:
                step = self._steps.get(name, 0)
            self._steps[name] = int(step) + 1
            record["s"] = int(step)
        data = (json.dumps(record, separators=(",", ":"), allow_nan=True) + "\n").encode("utf-8")
        if len(data) > MAX_RECORD_BYTES:
            raise RecordTooLargeError(
                f"the value takes {len(data) / 2**20:.1f} MiB, over the {MAX_RECORD_BYTES // 2**20} MiB limit of "
                "one logged value. Save it to a file under ./outputs (uploaded when the run ends) or upload it "
                "with run.upload_file(name, path)."
            )
        self._write(data)

    def append_points(self, points: list[tuple[str, float, int, int]]) -> None:
        """Append scalar ``(name, value, timestamp_ms, step)`` points as they were logged elsewhere (MLflow's API),
        keeping their own time and step, in one write."""
        if not points:
            return
        lines = [
            json.dumps({"t": ts, "k": SCALAR, "n": name, "v": value, "s": step}, separators=(",", ":"), allow_nan=True)
            for name, value, ts, step in points
        ]
        self._write(("\n".join(lines) + "\n").encode("utf-8"))

    # ------------------------------------------------------------------ a disk that refuses writes
    def _write(self, data: bytes) -> None:
        if self._pending and not self._flush_pending():
            self._hold(data)
            return
        try:
            written = os.write(self._fd, data)
        except OSError as exc:
            self._trouble(exc)
            self._hold(data)
            return
        if written < len(data):  # a nearly full disk takes part of a record: the rest must follow it
            self._trouble(OSError(errno.ENOSPC, os.strerror(errno.ENOSPC)))
            self._pending[:0] = data[written:]
            self._pending_records += 1
        elif self.storage_error is not None:
            self._write_note()

    def _hold(self, data: bytes) -> None:
        if len(self._pending) + len(data) > MAX_PENDING_BYTES:
            self.dropped += 1
            return
        self._pending += data
        self._pending_records += 1

    def _flush_pending(self) -> bool:
        """Write what waits in memory; True when nothing waits any more."""
        try:
            written = os.write(self._fd, bytes(self._pending))
        except OSError:
            return False
        done = self._pending[:written].count(b"\n")
        self._pending_records -= done
        self.late += done
        del self._pending[:written]
        if self._pending:
            return False
        self._pending_records = 0
        self._write_note()
        return True

    def _trouble(self, exc: OSError) -> None:
        first = self.storage_error is None
        self.storage_error = f"{errno.errorcode.get(exc.errno or 0, 'OSError')}: {exc.strerror or exc}"
        if first:
            # stderr may sit on the same full disk: the notice is best effort, the note file says it later.
            with contextlib.suppress(Exception):
                sys.stderr.write(
                    f"jupyter_amlrun: the run's metrics journal {self.path} cannot be written ({self.storage_error}); "
                    f"logged values wait in memory (up to {MAX_PENDING_BYTES // 2**20} MiB) and are written when "
                    "space frees. Free disk space on that volume.\n"
                )
                sys.stderr.flush()

    def _write_note(self) -> None:
        """Say in the run folder what the disk did to this writer's records (read by :func:`storage_warning`)."""
        now = (self.late, self.dropped)
        if self._noted == now:
            return
        note = self.path.parent / STORAGE_NOTE
        doc = read_json(note, default={}) or {}
        writers = dict(doc.get("writers") or {})
        writers[str(os.getpid())] = {"error": self.storage_error, "late": now[0], "dropped": now[1]}
        try:
            write_json_atomic(note, {"writers": writers})
        except OSError:
            return
        self._noted = now

    def close(self) -> None:
        if self._fd >= 0:
            if self._pending:
                self._flush_pending()
            if self._pending:
                # The disk never freed: these records are gone; say so if anything can still be written.
                self.dropped += self._pending_records
                self._pending.clear()
                self._pending_records = 0
            if self.storage_error is not None:
                self._write_note()
            os.close(self._fd)
            self._fd = -1

    def __del__(self) -> None:
        try:
            self.close()
        except Exception:
            pass


def _close_writer(ref: weakref.ReferenceType[JournalWriter]) -> None:
    writer = ref()
    if writer is not None:
        with contextlib.suppress(Exception):
            writer.close()


def storage_warning(run_dir: Path) -> str | None:
    """One sentence for the run's warnings when a writer could not write the journal (a full disk), or None."""
    doc = read_json(run_dir / STORAGE_NOTE, default=None)
    if not isinstance(doc, dict) or not doc.get("writers"):
        return None
    writers = [w for w in doc["writers"].values() if isinstance(w, dict)]
    late = sum(int(w.get("late") or 0) for w in writers)
    dropped = sum(int(w.get("dropped") or 0) for w in writers)
    errors = sorted({str(w.get("error")) for w in writers if w.get("error")})
    said = (
        f"The run's metrics journal could not be written for a while ({'; '.join(errors) or 'a storage error'}; "
        "is the disk full?): "
    )
    if dropped:
        return said + (
            f"{dropped} logged value(s) are LOST (they could not be kept until space was free); {late} waited in "
            "memory and were recorded."
        )
    return said + f"{late} logged value(s) waited in memory and were recorded once space was free; none was lost."


def parse_line(line: bytes) -> dict[str, Any] | None:
    """One journal record, or None for a torn line.

    A line that does not parse may be a torn record (its writer was killed mid-write) with a whole record glued
    after it by the next writer: that whole record is recovered from the last record start in the line.
    """
    try:
        rec = json.loads(line)
    except ValueError:
        cut = line.rfind(_RECORD_START)
        if cut <= 0:
            return None
        try:
            rec = json.loads(line[cut:])
        except ValueError:
            return None
    return rec if isinstance(rec, dict) else None


class JournalReader:
    """Read complete records appended since the last call (a partial last line waits for its newline).

    ``torn`` counts lines that could not be read (a writer killed mid-record), ``torn_offsets`` says where.
    """

    def __init__(self, path: Path, offset: int = 0) -> None:
        self.path = path
        self.offset = offset
        self.torn = 0
        self.torn_offsets: list[int] = []

    def read_new(self, max_bytes: int | None = 64 * 1024 * 1024, final: bool = False) -> list[dict[str, Any]]:
        """Records appended since the last call.

        Parameters
        ----------
        max_bytes:
            Read about this much at a time (a longer single record is still read whole).
        final:
            The writers are gone: a last line without its newline is read too (kept if whole, counted as torn
            if cut), instead of waiting for a newline that will never come.
        """
        try:
            with open(self.path, "rb") as fh:
                fh.seek(self.offset)
                data = fh.read() if max_bytes is None else fh.read(max_bytes)
                # One record longer than max_bytes must not stall every record after it.
                while max_bytes is not None and data and b"\n" not in data:
                    more = fh.read(max_bytes)
                    if not more:
                        break
                    data += more
                at_eof = max_bytes is None or fh.read(1) == b""
        except FileNotFoundError:
            return []
        end = data.rfind(b"\n")
        chunk = data[: end + 1]
        tail = data[end + 1 :] if final and at_eof else b""
        records = self._parse_chunk(chunk)
        self.offset += len(chunk)
        if tail.strip():
            rec = parse_line(tail)
            if rec is None:
                self._torn(self.offset)
            else:
                records.append(rec)
        self.offset += len(tail)
        return records

    def _parse_chunk(self, chunk: bytes) -> list[dict[str, Any]]:
        lines = chunk.split(b"\n")
        if lines and not lines[-1]:
            lines.pop()
        try:
            # One parse for the whole chunk: several times faster than one json.loads per line.
            many = json.loads(b"[" + b",".join(lines) + b"]")
            if all(isinstance(r, dict) for r in many) and len(many) == len(lines):
                return many
        except ValueError:
            pass  # a torn or blank line somewhere: line by line below
        records = []
        pos = self.offset
        for line in lines:
            if line.strip():
                rec = parse_line(line)
                if rec is None:
                    self._torn(pos)
                else:
                    records.append(rec)
            pos += len(line) + 1
        return records

    def _torn(self, offset: int) -> None:
        self.torn += 1
        self.torn_offsets.append(offset)


def read_all(path: Path) -> list[dict[str, Any]]:
    """Every complete record of a journal."""
    return JournalReader(path).read_new(max_bytes=None)


def _classify(
    records: list[dict[str, Any]],
) -> tuple[list[tuple[str, float, int, int]], list[dict[str, Any]], list[dict[str, Any]], list[tuple[int, str]]]:
    """Split records into metric points, records for the non-scalar artifact, and refused ``(record, reason)``.

    ``point_records[i]`` is the record of ``points[i]``. A scalar MLflow cannot hold exactly (a string, a bool, an
    int beyond 2**53, a step or time outside 64-bit) goes to the artifact, so it reads back as logged; only a record
    whose name MLflow refuses (the call checks names, so it was written around ``run.log``) is refused.
    """
    points: list[tuple[str, float, int, int]] = []
    point_records: list[dict[str, Any]] = []
    nonscalar: list[dict[str, Any]] = []
    refused: list[tuple[int, str]] = []
    problems: dict[Any, str | None] = {}  # names repeat: check each once (this loop runs for every logged value)
    for i, rec in enumerate(records):
        name = rec.get("n")
        try:
            problem = problems[name]
        except (KeyError, TypeError):
            problem = name_problem(name)
            with contextlib.suppress(TypeError):
                problems[name] = problem
        if problem is not None:
            refused.append((i, f"metric name {name!r}: {problem}"))
            continue
        if rec.get("k") == SCALAR:
            v, step, ts = rec.get("v"), rec.get("s", 0), rec.get("t", 0)
            # The common cases inline (this runs once per logged value): a plain float or a small int.
            if type(v) is float and not math.isinf(v):
                value: float | None = v
            elif type(v) is int and -MAX_EXACT_INT <= v <= MAX_EXACT_INT:
                value = float(v)
            else:
                value = as_metric_value(v)
            if value is not None and type(step) is int and type(ts) is int and is_int64(step) and 0 <= ts <= INT64_MAX:
                points.append((name, value, ts, step))  # type: ignore[arg-type]
                point_records.append(rec)
                continue
        nonscalar.append(rec)
    return points, point_records, nonscalar, refused


def _keep_rejected(run_dir: Path, items: list[dict[str, Any]]) -> None:
    with open(run_dir / REJECTED, "a", encoding="utf-8") as fh:
        for item in items:
            fh.write(json.dumps(item, separators=(",", ":"), allow_nan=True, default=str) + "\n")


def rejected(run_dir: Path) -> list[dict[str, Any]]:
    """What shipping could not store: ``{"reason": ..., "record": ...}`` or ``{"reason": ..., "offset": ...}``."""
    path = run_dir / REJECTED
    if not path.exists():
        return []
    return [r for r in (parse_line(line) for line in path.read_bytes().splitlines() if line.strip()) if r]


def rejected_warning(run_dir: Path, limit: int = 5) -> str | None:
    """One sentence for the run's warnings naming what could not be stored, or None when everything was."""
    items = rejected(run_dir)
    if not items:
        return None
    named = []
    for item in items[:limit]:
        rec = item.get("record")
        if isinstance(rec, dict):
            named.append(f"{rec.get('n')!r} (step {rec.get('s', '-')}): {item.get('reason')}")
        else:
            named.append(f"journal bytes at offset {item.get('offset')}: {item.get('reason')}")
    more = f"; and {len(items) - limit} more" if len(items) > limit else ""
    return (
        f"{len(items)} logged record(s) could not be stored in the tracking store; every other value was. They are "
        f"kept in the run folder's journal.jsonl and listed in {REJECTED}: " + "; ".join(named) + more
    )


def _reship_set_aside(store: Any, run_id: str, run_dir: Path) -> None:
    """Ship again the records an earlier shipper set aside for a storage error (a full disk was once taken for a
    bad record); ``journal.rejected.jsonl`` keeps only what the store refuses on the record's own merit.

    A storage error now raises (the file is left as it was, for the next ship)."""
    from jupyter_amlrun.tracking.store import STORAGE_WORDS

    path = run_dir / REJECTED
    if not path.exists():
        return
    items = rejected(run_dir)
    again = [
        it
        for it in items
        if isinstance(it.get("record"), dict) and any(w in str(it.get("reason", "")).lower() for w in STORAGE_WORDS)
    ]
    if not again:
        return
    records = [it["record"] for it in again]
    points, point_records, nonscalar, refused = _classify(records)
    still: list[dict[str, Any]] = [{"reason": reason, "record": records[i]} for i, reason in refused]
    for i, reason in store.log_metric_points(run_id, points):
        still.append({"reason": reason, "record": point_records[i]})
    if nonscalar:
        local = run_dir / "nonscalar_metrics.jsonl"
        with open(local, "a", encoding="utf-8") as fh:
            for rec in nonscalar:
                fh.write(json.dumps(rec, separators=(",", ":"), allow_nan=True) + "\n")
        store.log_artifact(run_id, local, ".amlrun")
    keep = [it for it in items if not any(it is a for a in again)] + still
    tmp = path.with_suffix(".tmp")
    with open(tmp, "w", encoding="utf-8") as fh:
        for item in keep:
            fh.write(json.dumps(item, separators=(",", ":"), allow_nan=True, default=str) + "\n")
    if keep:
        os.replace(tmp, path)
    else:
        tmp.unlink()
        path.unlink()


def ship_journal(store: Any, run_id: str, run_dir: Path, *, final: bool = False) -> int:
    """Ship the not-yet-shipped part of ``run_dir/journal.jsonl`` to MLflow; returns records read.

    Safe to call from several processes: a lock serialises shippers and the shipped offset is persisted after each
    successful batch, so a crash re-ships at most one batch (MLflow drops exact duplicate points). A record the store
    refuses does not hold back the others: it is listed in ``journal.rejected.jsonl`` (see
    :func:`rejected_warning`). A storage error (a full disk, an I/O error) is not the record's fault: it raises, the
    shipped offset stays where it was and a later call ships the same records again. ``final`` (the writers are
    gone) also reads a last line left without its newline.
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
        _reship_set_aside(store, run_id, run_dir)
        reader = JournalReader(journal, offset)
        while True:
            before = reader.offset
            records = reader.read_new(max_bytes=SHIP_CHUNK_BYTES, final=final)
            if reader.offset == before:
                break
            points, point_records, nonscalar, refused = _classify(records)
            bad: list[dict[str, Any]] = [{"reason": reason, "record": records[i]} for i, reason in refused]
            for i, reason in store.log_metric_points(run_id, points):
                bad.append({"reason": reason, "record": point_records[i]})
            if nonscalar:
                local = run_dir / "nonscalar_metrics.jsonl"
                with open(local, "a", encoding="utf-8") as fh:
                    for rec in nonscalar:
                        fh.write(json.dumps(rec, separators=(",", ":"), allow_nan=True) + "\n")
                store.log_artifact(run_id, local, ".amlrun")
            bad.extend({"reason": "a cut (torn) journal line, unreadable", "offset": o} for o in reader.torn_offsets)
            reader.torn_offsets.clear()
            if bad:
                _keep_rejected(run_dir, bad)
            shipped += len(records)
            offset_file.write_text(str(reader.offset))
    return shipped
