"""Issue 25: a storage error while shipping is not a data error.

The tracking store's sqlite file sits on a real tmpfs of a few MiB, filled to the last byte (mounting it needs root;
elsewhere these tests skip). While the disk is full the shipper raises (the caller waits and retries) and sets no
record aside; once space returns every value is stored. Records an older shipper set aside for a full disk are
shipped again; ``journal.rejected.jsonl`` keeps only what the store refuses on the record's own merit.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest

from jupyter_amlrun.tracking.journal import REJECTED, SCALAR, rejected, ship_journal
from jupyter_amlrun.tracking.store import TrackingStore, storage_error
from tests.tracking.test_journal_disk_full import fill, tmpfs

pytestmark = pytest.mark.integration

POINTS = 3000


def _journal(run_dir: Path, n: int) -> None:
    run_dir.mkdir(parents=True, exist_ok=True)
    with open(run_dir / "journal.jsonl", "w", encoding="utf-8") as fh:
        for i in range(n):
            fh.write(json.dumps({"k": SCALAR, "n": "loss", "v": i * 0.5, "s": i, "t": 1_700_000_000_000 + i}) + "\n")


def test_a_full_store_disk_sets_nothing_aside_and_every_value_lands_when_space_returns(tmp_path: Path) -> None:
    with tmpfs(tmp_path / "disk", "4m") as disk:
        store = TrackingStore(f"sqlite:///{disk / 'mlflow.db'}", tmp_path / "artifacts")
        store.initialize()
        run_id = store.create_run(store.get_or_create_experiment("e"), "r", {}).run_id
        run_dir = tmp_path / "run"  # the journal is on another disk: only the store's is full
        _journal(run_dir, POINTS)
        filler = fill(disk)
        with pytest.raises(Exception) as info:
            ship_journal(store, run_id, run_dir, final=True)
        assert storage_error(info.value), f"not seen as a storage error: {info.value!r}"
        assert not (run_dir / REJECTED).exists(), rejected(run_dir)[:3]
        filler.unlink()
        assert shutil.disk_usage(disk).free > 1_000_000
        ship_journal(store, run_id, run_dir, final=True)
        assert not (run_dir / REJECTED).exists()
        assert len(store.metric_history(run_id, "loss")) == POINTS


def test_records_set_aside_by_a_storage_error_are_shipped_again(tmp_path: Path) -> None:
    store = TrackingStore(f"sqlite:///{tmp_path / 'mlflow.db'}", tmp_path / "artifacts")
    store.initialize()
    run_id = store.create_run(store.get_or_create_experiment("e"), "r", {}).run_id
    run_dir = tmp_path / "run"
    _journal(run_dir, 0)
    # What an older shipper left: two values set aside by a full disk, one refused on its merit (a bad name).
    old = [
        {
            "reason": "(sqlite3.OperationalError) database or disk is full",
            "record": {"k": SCALAR, "n": "acc", "v": 0.5, "s": 1, "t": 1},
        },
        {"reason": "[Errno 28] No space left on device", "record": {"k": SCALAR, "n": "acc", "v": 0.7, "s": 2, "t": 2}},
        {"reason": "metric name 'a//b': bad", "record": {"k": SCALAR, "n": "a//b", "v": 1.0, "s": 0, "t": 3}},
    ]
    (run_dir / REJECTED).write_text("".join(json.dumps(x) + "\n" for x in old))
    ship_journal(store, run_id, run_dir)
    assert [v for _s, _t, v in store.metric_history(run_id, "acc")] == [0.5, 0.7]
    left = rejected(run_dir)
    assert [x["record"]["n"] for x in left] == ["a//b"]
    ship_journal(store, run_id, run_dir)  # shipped once: a second ship changes nothing
    assert len(store.metric_history(run_id, "acc")) == 2
    assert os.path.exists(run_dir / REJECTED)
