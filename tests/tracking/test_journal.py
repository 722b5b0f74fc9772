"""The metrics journal: torn lines, partial lines, idempotent shipping into a real sqlite MLflow store."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from jupyter_amlrun.tracking.journal import (
    SCALAR,
    JournalReader,
    JournalWriter,
    read_all,
    rejected,
    rejected_warning,
    ship_journal,
)
from jupyter_amlrun.tracking.store import TrackingStore


@pytest.mark.unit
def test_partial_last_line_waits_for_its_newline(tmp_path: Path) -> None:
    path = tmp_path / "journal.jsonl"
    w = JournalWriter(path)
    w.append(SCALAR, "a", 1)
    with open(path, "ab") as fh:
        fh.write(b'{"t":1,"k":"scalar","n":"b"')  # a writer mid-record
    reader = JournalReader(path)
    assert [r["n"] for r in reader.read_new()] == ["a"]
    with open(path, "ab") as fh:
        fh.write(b',"v":2,"s":0}\n')
    assert [r["v"] for r in reader.read_new()] == [2]
    assert reader.read_new() == []


@pytest.mark.unit
def test_torn_line_is_skipped_not_fatal(tmp_path: Path) -> None:
    path = tmp_path / "journal.jsonl"
    path.write_bytes(
        b'{"t":1,"k":"scalar","n":"a","v":1,"s":0}\n{"t":2,"k":"sca\n{"t":3,"k":"scalar","n":"c","v":3,"s":0}\n'
    )
    assert [r["n"] for r in read_all(path)] == ["a", "c"]


@pytest.mark.unit
def test_steps_and_numpy_values(tmp_path: Path) -> None:
    np = pytest.importorskip("numpy")
    path = tmp_path / "journal.jsonl"
    w = JournalWriter(path)
    w.append(SCALAR, "x", np.float32(0.5))
    w.append(SCALAR, "x", np.int64(3))
    w.append(SCALAR, "x", 7, step=10)
    w.append(SCALAR, "x", 8)
    recs = read_all(path)
    assert [r["v"] for r in recs] == [0.5, 3, 7, 8]
    assert [r["s"] for r in recs] == [0, 1, 10, 11]
    assert json.loads(path.read_text().splitlines()[0])["k"] == "scalar"


@pytest.mark.integration
def test_ship_is_incremental_and_idempotent(tmp_path: Path) -> None:
    store = TrackingStore(f"sqlite:///{tmp_path / 'mlflow.db'}", tmp_path / "artifacts")
    store.initialize()
    exp = store.get_or_create_experiment("e")
    run_id = store.create_run(exp, "r", {}).run_id
    run_dir = tmp_path / "run"
    w = JournalWriter(run_dir / "journal.jsonl")
    for i in range(2500):
        w.append(SCALAR, "m", i)
    w.append("list", "l", [1, 2])
    assert ship_journal(store, run_id, run_dir) == 2501
    assert ship_journal(store, run_id, run_dir) == 0
    w.append(SCALAR, "m", 2500)
    assert ship_journal(store, run_id, run_dir) == 1
    assert [v for _s, _t, v in store.metric_history(run_id, "m")] == [float(i) for i in range(2501)]
    assert ".amlrun/nonscalar_metrics.jsonl" in {p for p, _ in store.list_artifacts(run_id)}
    # A lost offset file re-ships everything; MLflow keeps one copy of each point.
    (run_dir / "journal.offset").unlink()
    ship_journal(store, run_id, run_dir)
    assert len(store.metric_history(run_id, "m")) == 2501


def _store(tmp_path: Path) -> tuple[TrackingStore, str]:
    store = TrackingStore(f"sqlite:///{tmp_path / 'mlflow.db'}", tmp_path / "artifacts")
    store.initialize()
    return store, store.create_run(store.get_or_create_experiment("e"), "r", {}).run_id


@pytest.mark.integration
def test_torn_last_record_loses_only_itself(tmp_path: Path) -> None:
    """A real journal file cut mid-record (a writer killed mid-write), then appended to by a new writer."""
    store, run_id = _store(tmp_path)
    run_dir = tmp_path / "run"
    path = run_dir / "journal.jsonl"
    w = JournalWriter(path)
    for i in range(3):
        w.append(SCALAR, "m", i)
    w.close()
    whole = path.read_bytes()
    w = JournalWriter(path)
    w.append(SCALAR, "m", 3)
    w.close()
    with open(path, "r+b") as fh:  # cut the last record in the middle: the crash
        fh.truncate(len(whole) + 20)
    # The torn line at the end of a finished journal: every record before it is kept.
    ship_journal(store, run_id, run_dir, final=True)
    assert [v for _s, _t, v in store.metric_history(run_id, "m")] == [0.0, 1.0, 2.0]
    # A later writer (a restarted script) does not glue its first record to the torn line.
    w = JournalWriter(path)
    w.append(SCALAR, "m", 4, step=4)
    w.close()
    ship_journal(store, run_id, run_dir, final=True)
    assert [v for _s, _t, v in store.metric_history(run_id, "m")] == [0.0, 1.0, 2.0, 4.0]
    (item,) = rejected(run_dir)
    assert item["offset"] == len(whole) and "torn" in item["reason"]
    assert "1 logged record(s) could not be stored" in str(rejected_warning(run_dir))


@pytest.mark.unit
def test_a_whole_record_glued_to_a_torn_one_is_recovered(tmp_path: Path) -> None:
    path = tmp_path / "journal.jsonl"
    path.write_bytes(b'{"t":1,"k":"scalar","n":"a","v":1,"s":0}\n{"t":2,"k":"sca{"t":3,"k":"scalar","n":"c","v":3}\n')
    reader = JournalReader(path)
    assert [r["n"] for r in reader.read_new()] == ["a", "c"]
    assert reader.torn == 0  # the cut one is gone, but its neighbour is not


@pytest.mark.unit
def test_a_record_longer_than_the_read_size_does_not_stall_the_rest(tmp_path: Path) -> None:
    path = tmp_path / "journal.jsonl"
    w = JournalWriter(path)
    w.append(SCALAR, "big", "x" * 3000)
    w.append(SCALAR, "after", 1)
    reader = JournalReader(path)
    got = [r["n"] for r in reader.read_new(max_bytes=1024)]
    got += [r["n"] for r in reader.read_new(max_bytes=1024)]
    assert got == ["big", "after"] and reader.read_new(max_bytes=1024) == []


@pytest.mark.integration
def test_a_bad_record_does_not_keep_its_batch_out(tmp_path: Path) -> None:
    """Bad records are written with JournalWriter directly: run.log refuses them at the call."""
    store, run_id = _store(tmp_path)
    run_dir = tmp_path / "run"
    w = JournalWriter(run_dir / "journal.jsonl")
    for i in range(100):
        w.append(SCALAR, "good", i)
    for bad in ("a/", ".", "a//b", "./x", "/lead", "x" * 251):
        w.append(SCALAR, bad, 1.0)
    w.append(SCALAR, "huge_int", 10**400)
    w.append(SCALAR, "huge_step", 2.5, step=2**70)
    for i in range(100, 200):
        w.append(SCALAR, "good", i)
    assert ship_journal(store, run_id, run_dir, final=True) == 208
    assert [v for _s, _t, v in store.metric_history(run_id, "good")] == [float(i) for i in range(200)]
    refused = {item["record"]["n"] for item in rejected(run_dir)}
    assert refused == {"a/", ".", "a//b", "./x", "/lead", "x" * 251}
    # What a metric cannot hold as logged travels in the non-scalar artifact, unchanged.
    got = store.download_artifacts(run_id, ".amlrun/nonscalar_metrics.jsonl", tmp_path / "dl")
    kept = {r["n"]: r for r in read_all(got)}
    assert kept["huge_int"]["v"] == 10**400 and kept["huge_step"]["s"] == 2**70


@pytest.mark.integration
def test_bulk_path_keeps_mlflows_latest_metric_and_nan_inf(tmp_path: Path) -> None:
    import math

    store, run_id = _store(tmp_path)
    points = [("m", float(i), 1000 + i, i) for i in range(5000)] + [
        ("n", math.nan, 1, 0),
        ("i", 1.7976931348623157e308, 1, 0),
    ]
    assert store.log_metric_points(run_id, points) == []
    assert store.log_metric_points(run_id, [("m", -1.0, 1, 2)]) == []  # an older step: not the latest
    rec = store.get_run(run_id)
    assert rec is not None and rec.metrics["m"] == 4999.0 and math.isnan(rec.metrics["n"])
    assert rec.metrics["i"] == 1.7976931348623157e308
    assert len(store.metric_history(run_id, "m")) == 5001
