"""The run workbench's routes over a real Jupyter server: the diff as the sidebar draws it, the notice when a run
ends, and the view stream's chart parts naming their section."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path
from typing import Any

import pytest
from tornado.httpclient import HTTPClientError

from tests.server.conftest import World

pytestmark = pytest.mark.integration


async def _get(jp_fetch: Any, route: str) -> Any:
    r = await jp_fetch("amlrun", "api", *route.split("/"))
    assert r.code == 200
    return json.loads(r.body)


async def _error(jp_fetch: Any, route: str) -> tuple[int, str]:
    with pytest.raises(HTTPClientError) as info:
        await jp_fetch("amlrun", "api", *route.split("/"))
    assert info.value.response is not None
    return info.value.code, json.loads(info.value.response.body)["error"]


async def test_the_diff_view_route(jp_fetch: Any, world: World, tmp_path: Path) -> None:
    from jupyter_amlrun import Experiment, Run
    from jupyter_amlrun.view.diff import diff_view

    src = tmp_path / "diffsrc"
    src.mkdir()
    (src / "train.py").write_text(textwrap.dedent("print('changed')\n"))
    with Experiment(world.ws, "exp-diffview").start_logging(snapshot_directory=str(src)) as other:
        other.log("loss", 3.0)
    answer = await _get(jp_fetch, f"runs/{world.run_id}/diff/{other.id}/view")
    assert answer["runs"] == [world.run_id, other.id]
    assert [t["name"] for t in answer["tables"]] == ["params", "metrics", "environment", "inputs"]
    files = {f["path"]: f for f in answer["code"]["files"]}
    assert files["train.py"]["change"] == "changed" and "+print('changed')" in files["train.py"]["diff"]
    core = diff_view(Run.get(world.ws, world.run_id).diff(other), answer["labels"])
    assert answer == json.loads(json.dumps(core))
    code, message = await _error(jp_fetch, f"runs/{world.run_id}/diff/no-such-run/view")
    assert code == 404 and "no-such-run" in message


async def test_the_notice_route(jp_fetch: Any, world: World) -> None:
    from jupyter_amlrun import Experiment

    done = await _get(jp_fetch, f"runs/{world.run_id}/notice")
    assert done["terminal"] and done["kind"] == "success" and done["status"] == "Completed"
    assert done["message"].endswith("ended: Completed.") and done["action"] == "Open run"
    live = Experiment(world.ws, "exp-notice").start_logging(snapshot_directory=None)
    try:
        answer = await _get(jp_fetch, f"runs/{live.id}/notice")
        assert not answer["terminal"] and answer["status"] == "Running"
    finally:
        live.fail()
    failed = await _get(jp_fetch, f"runs/{live.id}/notice")
    assert failed["terminal"] and failed["kind"] == "error"
    code, _ = await _error(jp_fetch, "runs/no-such-run/notice")
    assert code == 404


async def test_view_chart_parts_name_their_section(jp_fetch: Any, world: World) -> None:
    from jupyter_amlrun import Experiment

    with Experiment(world.ws, "exp-system").start_logging(snapshot_directory=None) as run:
        run.log("loss", 1.0)
        run.log("loss", 0.5)
        run.log("system/cpu_utilization_percentage", 12.0)
        run.log("system/cpu_utilization_percentage", 30.0)
    answer = await _get(jp_fetch, f"runs/{run.id}/view")
    sections = {c["name"]: c["section"] for c in answer["charts"]}
    assert sections == {"loss": "metrics", "system/cpu_utilization_percentage": "system"}
    # the System section's charts are titled by the short name, their value axis by the unit
    titles = {c["name"]: (c["title"], c["axis"]) for c in answer["charts"]}
    assert titles == {
        "loss": ("loss", "loss"),
        "system/cpu_utilization_percentage": ("cpu_utilization_percentage", "%"),
    }
