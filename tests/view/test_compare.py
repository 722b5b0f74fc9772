"""The compare view of real runs: metrics overlaid per name (a line per run), params with the differing rows first."""

from __future__ import annotations

from typing import Any

import pytest

from jupyter_amlrun import Experiment
from jupyter_amlrun.core.reader import RunReader
from jupyter_amlrun.view.compare import compare_view

pytestmark = pytest.mark.integration


def test_compare_two_runs(ws: Any) -> None:
    exp = Experiment(ws, "cmp")
    ids = []
    for lr, extra in ((0.1, "a"), (0.2, "b")):
        with exp.start_logging(snapshot_directory=None) as run:
            for i in range(3):
                run.log("loss", lr * (3 - i), step=i)
            run.log(f"only_{extra}", 1.0)
            run.log("system/cpu_utilization_percentage", 5.0)  # a sample name: not charted in the compare view
        ws.store.client.log_param(run.id, "lr", str(lr))
        ws.store.client.log_param(run.id, "model", "resnet")
        ids.append(run.id)
    view = compare_view([RunReader(ws, i) for i in ids])
    assert [r["id"] for r in view["runs"]] == ids and all(r["status"] == "Completed" for r in view["runs"])
    charts = {c["name"]: c for c in view["charts"]}
    assert set(charts) == {"loss", "only_a", "only_b"}
    loss = charts["loss"]["lines"]
    assert [line["run_id"] for line in loss] == ids
    assert loss[0]["xs"] == [0.0, 1.0, 2.0] and loss[1]["ys"] == [pytest.approx(0.6), pytest.approx(0.4), 0.2]
    assert [line["run_id"] for line in charts["only_b"]["lines"]] == [ids[1]]
    rows = view["params"]["rows"]
    assert rows[0][0] == "lr" and rows[0][1:] == ["0.1", "0.2"] and rows[-1] == ["model", "resnet", "resnet"]
    assert view["differing"] == 1 and view["params"]["note"] == "1 of 2 differ"
    with pytest.raises(ValueError, match="2 to 20 runs"):
        compare_view([RunReader(ws, ids[0])])
