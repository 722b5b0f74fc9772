

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
        assert not widget.live and widget.view["runs"][1]["badge"]["label"] == "Completed"
    finally:
        widget.close()
