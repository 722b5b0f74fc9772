"""``RunDetails([run_a, run_b])``: the compare view widget over real runs, its errors, and ``%amlrun notify``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from jupyter_amlrun.runtime.errors import UserErrorException


def _runs(ws: Any, n: int = 2) -> list[Any]:
    from jupyter_amlrun import Experiment

    runs = []
    for k in range(n):
        with Experiment(ws, "cmp-widget").start_logging(snapshot_directory=None) as run:
            for i in range(3):
                run.log("loss", (k + 1) * (3 - i), step=i)
        ws.store.client.log_param(run.id, "lr", str(0.1 * (k + 1)))
        runs.append(run)
    return runs


@pytest.mark.integration
def test_a_list_of_runs_gives_the_compare_view(ws: Any) -> None:
    from jupyter_amlrun import RunDetails
    from jupyter_amlrun.notebook.compare import CompareDetails

    a, b = _runs(ws)
    widget = RunDetails([a, b])
    try:
        assert isinstance(widget, CompareDetails) and not isinstance(widget, RunDetails)
        view = widget.view
        assert [r["id"] for r in view["runs"]] == [a.id, b.id]
        assert view["runs"][0]["color"] != view["runs"][1]["color"]
        assert view["runs"][0]["status"] == "Completed" and not widget.live
        (loss,) = view["charts"]
        assert loss["name"] == "loss" and [line["run_id"] for line in loss["lines"]] == [a.id, b.id]
        assert loss["lines"][1]["ys"] == [6.0, 4.0, 2.0]
        assert view["params"]["rows"][0][:1] == ["lr"] and view["differing"] == 1
        bundle = widget._bundle()
        assert bundle["application/vnd.jupyter.widget-view+json"]["model_id"] == widget.model_id
        assert "lr" in bundle["text/html"] and "Compare 2 runs" in bundle["text/html"]
        # the anywidget bundle the widget loads is built
        from jupyter_amlrun.notebook.compare import STATIC

        assert (STATIC / "compare_details.js").is_file()
    finally:
        widget.close()
    # A list of one run is that run's own view.
    single = RunDetails([a])
    try:
        assert isinstance(single, RunDetails) and single.run.id == a.id
    finally:
        single.close()


@pytest.mark.integration
def test_bad_lists_say_what_to_pass(ws: Any, tmp_path: Path) -> None:
    from jupyter_amlrun import RunDetails, Workspace

    with pytest.raises(UserErrorException, match=r"RunDetails\(\[\]\) has no run to show"):
        RunDetails([])
    (a,) = _runs(ws, 1)
    with pytest.raises(TypeError, match="item 1 is a str"):
        RunDetails([a, "not a run"])
    other = Workspace.create("other", path=tmp_path / "other-ws")
    (b,) = _runs(other, 1)
    with pytest.raises(UserErrorException, match="compares runs of one workspace"):
        RunDetails([a, b])


@pytest.mark.unit
def test_amlrun_notify_sets_the_marker_of_the_runs_shown_after_it(quick_shell: Any) -> None:
    from IPython.core.error import UsageError

    from jupyter_amlrun.notebook import widget

    try:
        quick_shell.run_line_magic("amlrun", "notify off")
        assert widget.notify_enabled() is False
        quick_shell.run_line_magic("amlrun", "notify on")
        assert widget.notify_enabled() is True
        with pytest.raises(UsageError, match="on or off"):
            quick_shell.run_line_magic("amlrun", "notify maybe")
    finally:
        widget.set_notify(True)


@pytest.mark.integration
def test_the_marker_carries_the_notify_setting(ws: Any) -> None:
    from jupyter_amlrun import RunDetails
    from jupyter_amlrun.notebook import protocol as P
    from jupyter_amlrun.notebook import widget

    (run,) = _runs(ws, 1)
    shown_on = RunDetails(run)
    widget.set_notify(False)
    try:
        shown_off = RunDetails(run)
        assert shown_on._bundle()[P.RUN_MIME]["notify"] is True
        shown_on._prime()  # what show() does first: the run's status is read
        assert shown_on._bundle()[P.RUN_MIME]["live"] is False  # a finished run: no notice to wait for
        assert shown_off._bundle()[P.RUN_MIME]["notify"] is False
        shown_off.close()
    finally:
        widget.set_notify(True)
        shown_on.close()


@pytest.mark.integration
def test_the_compare_view_follows_live_runs(ws: Any) -> None:
    from jupyter_amlrun import Experiment, RunDetails

    (done,) = _runs(ws, 1)
    live = Experiment(ws, "cmp-widget").start_logging(snapshot_directory=None)
    widget = RunDetails([done, live], interval=0.2)
    try:
        assert widget.live and widget.view["runs"][1]["status"] == "Running"
        assert [line["run_id"] for line in widget.view["charts"][0]["lines"]] == [done.id]
        live.log("loss", 9.0, step=0)
        live.log("loss", 8.0, step=1)
        live.complete()
        widget.refresh()
        (loss,) = widget.view["charts"]
        assert [line["run_id"] for line in loss["lines"]] == [done.id, live.id] and loss["lines"][1]["ys"] == [9, 8]
        assert not widget.live and widget.view["runs"][1]["status"] == "Completed"
    finally:
        widget.close()
