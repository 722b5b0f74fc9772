"""The metrics journal: torn lines, partial lines, idempotent shipping into a real sqlite MLflow store."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from jupyter_amlrun.tracking.journal import SCALAR, JournalReader, JournalWriter, read_all, ship_journal
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
