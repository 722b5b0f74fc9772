"""Issue 25: the experiment and run lists from the store's index answer what MLflow's search of every run answers
(run counts, runs not ended asked live, deleted runs and MLflow's Default left out, pages, filters), on a real sqlite
store with real runs."""

from __future__ import annotations

from typing import Any

import pytest

from jupyter_amlrun import Experiment, Workspace
from jupyter_amlrun.runtime import tags as T
from jupyter_amlrun.runtime.status import TERMINAL_STATUSES
from jupyter_amlrun.server import service
from jupyter_amlrun.tracking.runindex import experiment_index

pytestmark = pytest.mark.integration


def _steady(answer: dict[str, Any]) -> dict[str, Any]:
    """A run list without what moves between two reads (a live run's duration grows)."""
    for item in answer["items"]:
        if item["status"] == "Running":
            item.pop("duration_seconds"), item.pop("duration_text")
    return answer


def test_the_experiment_list_from_the_index_matches_the_search(ws: Workspace) -> None:
    done = Experiment(ws, "done")
    for i in range(3):
        run = done.start_logging()
        run.log("loss", 1.0 / (i + 1))
        run.complete()
    done.start_logging().fail(error_details="bad")
    mixed = Experiment(ws, "mixed")
    live = mixed.start_logging()  # this process owns it: live
    gone = mixed.start_logging()
    gone.complete()
    ws.store.delete_run(gone.id)  # deleted runs are not counted
    try:
        query = service.PageQuery.parse()
        indexed = service.experiments(ws, query)
        searched = service._experiments_searched(ws, query)
        assert indexed == searched
        by_name = {item["name"]: item for item in indexed["items"]}
        assert sorted(by_name) == ["done", "mixed"]  # MLflow's Default is not listed
        assert (by_name["done"]["run_count"], by_name["done"]["live_count"]) == (4, 0)
        assert (by_name["mixed"]["run_count"], by_name["mixed"]["live_count"]) == (1, 1)
        assert by_name["mixed"]["counts_text"] == "1 run · 1 live"
        index = experiment_index(ws.store.tracking_uri, T.STATUS, TERMINAL_STATUSES)
        assert index is not None
        assert {e.name: e.open_runs for e in index}["mixed"] == [live.id]  # only the open run is asked live
        filtered = service.experiments(ws, service.PageQuery.parse(filter="MIX"))
        assert [item["name"] for item in filtered["items"]] == ["mixed"]
        # The run list: cut from the index, only the page read whole; the same answer as the search's.
        for args in (
            (service.PageQuery.parse(), None, None),
            (service.PageQuery.parse(offset="1", limit="2"), None, None),
            (service.PageQuery.parse(filter="mix"), None, None),
            (service.PageQuery.parse(), "done", None),
            (service.PageQuery.parse(), None, "Failed"),
            (service.PageQuery.parse(), None, "Running"),
        ):
            assert _steady(service.runs(ws, *args)) == _steady(service._runs_searched(ws, *args)), args
        first = service.runs(ws, service.PageQuery.parse(limit="2"))
        assert first["total"] == 5 and first["live_count"] == 1 and len(first["items"]) == 2
        assert first["items"][0]["id"] == live.id  # newest first
        with pytest.raises(Exception, match="No experiment named 'nope'"):
            service.runs(ws, service.PageQuery.parse(), "nope")
    finally:
        live.complete()
    assert service.experiments(ws, service.PageQuery.parse())["items"][1]["live_count"] == 0


@pytest.mark.unit
def test_a_store_that_is_not_sqlite_is_searched_instead(tmp_path) -> None:  # type: ignore[no-untyped-def]
    assert experiment_index("http://127.0.0.1:5000", T.STATUS, TERMINAL_STATUSES) is None
    assert experiment_index(f"sqlite:///{tmp_path}/missing.db", T.STATUS, TERMINAL_STATUSES) is None
    (tmp_path / "junk.db").write_bytes(b"not a database")
    assert experiment_index(f"sqlite:///{tmp_path}/junk.db", T.STATUS, TERMINAL_STATUSES) is None
