"""The REST routes on a real Jupyter server (pytest-jupyter) over a real workspace: each answers what core answers,
refuses paths that leave their root, and maps errors to 400/404/409 with a message."""

from __future__ import annotations

import json
import textwrap
import time
from pathlib import Path
from typing import Any, get_type_hints

import pytest
from tornado.httpclient import HTTPClientError

from jupyter_amlrun.server import models
from jupyter_amlrun.server import service as browse
from tests.server.conftest import MANY_FILES, World

pytestmark = pytest.mark.integration


async def get(jp_fetch: Any, route: str, **params: Any) -> Any:
    r = await jp_fetch("amlrun", "api", *route.split("/"), params=params)
    assert r.code == 200
    return json.loads(r.body)


async def post(jp_fetch: Any, route: str, body: bytes | str = b"", **params: Any) -> Any:
    r = await jp_fetch("amlrun", "api", *route.split("/"), method="POST", body=body, params=params)
    return json.loads(r.body)


async def error(jp_fetch: Any, route: str, method: str = "GET", body: bytes | str | None = None, **params: Any) -> Any:
    with pytest.raises(HTTPClientError) as info:
        await jp_fetch("amlrun", "api", *route.split("/"), method=method, body=body, params=params)
    assert info.value.response is not None
    answer = json.loads(info.value.response.body)
    assert answer["status"] == info.value.code and answer["error"]
    return info.value.code, answer["error"]


def keys_of(typed: Any) -> set[str]:
    return set(get_type_hints(typed))


async def test_workspace_and_lists_answer_what_core_answers(jp_fetch: Any, world: World) -> None:
    ws = world.ws
    info = await get(jp_fetch, "workspace")
    assert info == browse.workspace_info(ws) and info["name"] == "srv" and set(info) == keys_of(models.WorkspaceAnswer)

    stores = await get(jp_fetch, "datastores")
    assert stores == browse.datastores(ws, browse.PageQuery())
    by_name = {s["name"]: s for s in stores["items"]}
    assert by_name["workspaceblobstore"]["is_default"] and by_name["nested"]["container"] == "nested-store"
    assert set(by_name["nested"]) == keys_of(models.DatastoreItem)

    sets = await get(jp_fetch, "datasets")
    (item,) = sets["items"]
    assert item["name"] == "deepset" and item["versions"] == [1] and item["sources"] == ["('nested', 'a/**')"]
    assert set(item) == keys_of(models.DatasetItem)

    found = await get(jp_fetch, "models")
    (model,) = found["items"]
    assert model["latest_version"] == 2 and [v["version"] for v in model["versions"]] == [2, 1]
    assert model["versions"][1]["tags"] == {"k": "v"} and set(model["versions"][0]) == keys_of(models.ModelVersionItem)

    exps = await get(jp_fetch, "experiments")
    assert set(exps["items"][0]) == keys_of(models.ExperimentItem) and set(exps) == keys_of(models.PageAnswer)
    assert set(model) == keys_of(models.ModelItem)
    assert exps["items"] == [
        {"name": "exp-a", "id": exps["items"][0]["id"], "run_count": 1, "live_count": 0, "counts_text": "1 run"}
    ]


async def test_runs_run_logs_and_metrics(jp_fetch: Any, world: World) -> None:
    runs = await get(jp_fetch, "runs", experiment="exp-a")
    assert runs["total"] == 1 and runs["live_count"] == 0 and set(runs) == keys_of(models.RunsAnswer)
    (run,) = runs["items"]
    assert run["id"] == world.run_id and run["status"] == "Completed" and run["metrics"]["loss"] == pytest.approx(0.2)
    assert run["duration_seconds"] > 0 and set(run) == keys_of(models.RunItem)
    assert (await get(jp_fetch, "runs", status="Failed"))["total"] == 0

    detail = await get(jp_fetch, f"runs/{world.run_id}")
    assert set(detail) == keys_of(models.RunDetailAnswer)
    assert detail["details"]["status"] == "Completed" and "logFiles" not in detail["details"]
    assert "logs/user_logs/std_log.txt" in detail["log_files"]

    log = await get(jp_fetch, f"runs/{world.run_id}/logs")
    assert log["name"] == "logs/user_logs/std_log.txt" and "hello from the run" in log["text"] and log["complete"]
    assert set(log) == keys_of(models.LogAnswer)
    again = await get(jp_fetch, f"runs/{world.run_id}/logs", name=log["name"], offset=log["offset"])
    assert again["text"] == "" and again["offset"] == log["offset"]
    # "Load earlier output" over REST: the part that ends where the view's text starts
    earlier = await get(jp_fetch, f"runs/{world.run_id}/logs", name=log["name"], before=log["offset"])
    assert earlier["start"] == 0 and earlier["offset"] == log["offset"] and earlier["text"] == log["text"]
    assert set(earlier) == keys_of(models.LogAnswer)

    # What the list draws comes formatted by the widget's rules (view/model.py)
    assert run["badge"]["css_class"] == "ok" and run["badge"]["label"] == "Completed"
    assert run["metrics_text"].startswith(("loss=0.2", "accuracy=0.9")) and run["duration_text"].endswith("s")

    series = await get(jp_fetch, "metrics", runs=world.run_id, name="loss")
    assert set(series) == keys_of(models.MetricsAnswer)
    assert series["runs"][world.run_id]["loss"] == [[i, pytest.approx(1.0 / (i + 1))] for i in range(5)]


async def test_folders_page_past_1000_and_paths_cannot_escape(jp_fetch: Any, world: World) -> None:
    root = await get(jp_fetch, "datastores/nested/files")
    assert set(root) == keys_of(models.FolderAnswer) and set(root["items"][0]) == keys_of(models.FileItem)
    assert [(i["name"], i["is_dir"]) for i in root["items"]] == [("a", True), ("many", True), ("top.csv", False)]
    deep = await get(jp_fetch, "datastores/nested/files", path="a/b")
    assert deep["items"][0]["path"] == "a/b/deep.txt" and deep["items"][0]["size"] == 4
    assert deep["snippet"] == "Dataset.File.from_files((Datastore.get(ws, 'nested'), 'a/b'))"

    first = await get(jp_fetch, "datastores/nested/files", path="many", limit=1000)
    rest = await get(jp_fetch, "datastores/nested/files", path="many", limit=1000, offset=1000)
    assert first["total"] == MANY_FILES and len(first["items"]) == 1000 and len(rest["items"]) == MANY_FILES - 1000
    names = [i["name"] for i in first["items"] + rest["items"]]
    assert names == sorted(names) and len(set(names)) == MANY_FILES
    assert (await get(jp_fetch, "datastores/nested/files", path="many", filter="F0120"))["total"] == 5

    for bad in ("../", "a/../../x", "/etc", "a/\x00b"):
        code, message = await error(jp_fetch, "datastores/nested/files", path=bad)
        assert code == 400, (bad, message)
    code, _ = await error(jp_fetch, "datastores/nested/files", limit=5000)
    assert code == 400
    code, message = await error(jp_fetch, "datastores/nested/files", path="nope")
    assert code == 404 and "nope" in message


async def test_symlink_out_of_a_datastore_is_refused(jp_fetch: Any, world: World, tmp_path: Path) -> None:
    (tmp_path / "secret").mkdir()
    (tmp_path / "secret" / "s.txt").write_text("s")
    link = world.folder / "escape"
    link.symlink_to(tmp_path / "secret")
    try:
        code, message = await error(jp_fetch, "datastores/nested/files", path="escape")
        assert code == 400 and "outside" in message and "'escape'" in message
        assert str(tmp_path) not in message  # the link is named, not where it points (was its absolute target)
        listed = await get(jp_fetch, "datastores/nested/files")
        assert "escape" not in [i["name"] for i in listed["items"]]
    finally:
        link.unlink()


async def test_upload_writes_the_body_and_refuses_overwrite(jp_fetch: Any, world: World) -> None:
    answer = await post(jp_fetch, "datastores/workspaceblobstore/files", b"\x00\x01payload", path="up/one.bin")
    assert answer == {"path": "up/one.bin", "size": 9, "size_text": "9 B"} and set(answer) == keys_of(
        models.UploadAnswer
    )
    store_root = Path(world.ws.path) / "datastores" / "workspaceblobstore" / "data"
    assert (store_root / "up" / "one.bin").read_bytes() == b"\x00\x01payload"
    code, message = await error(jp_fetch, "datastores/workspaceblobstore/files", "POST", b"x", path="up/one.bin")
    assert code == 409 and "overwrite=1" in message
    again = await post(jp_fetch, "datastores/workspaceblobstore/files", b"new", path="up/one.bin", overwrite=1)
    assert again["size"] == 3 and (store_root / "up" / "one.bin").read_bytes() == b"new"
    code, _ = await error(jp_fetch, "datastores/workspaceblobstore/files", "POST", b"x", path="../out.bin")
    assert code == 400 and not (store_root.parent / "out.bin").exists()


async def test_model_download_lands_in_the_root_and_not_outside(jp_fetch: Any, world: World, jp_root_dir: Path) -> None:
    answer = await post(jp_fetch, "models/clf/versions/1/download", json.dumps({"target": "models/v1"}))
    assert answer == {"path": "models/v1/model.pkl"} and set(answer) == keys_of(models.DownloadAnswer)
    assert (jp_root_dir / "models" / "v1" / "model.pkl").read_bytes() == b"weights-1"
    code, message = await error(jp_fetch, "models/clf/versions/1/download", "POST", json.dumps({"target": "models/v1"}))
    assert code == 409 and "already exists" in message
    for bad in ("..", "/tmp", "a/../../b"):
        code, _ = await error(jp_fetch, "models/clf/versions/1/download", "POST", json.dumps({"target": bad}))
        assert code == 400
    code, message = await error(jp_fetch, "models/clf/versions/9/download", "POST", json.dumps({"target": ""}))
    assert code == 404 and "clf" in message


async def test_compare_answers_the_compare_view(jp_fetch: Any, world: World) -> None:
    from jupyter_amlrun import Experiment
    from jupyter_amlrun.view.compare import compare_view

    with Experiment(world.ws, "exp-cmp").start_logging(snapshot_directory=None) as run:
        for i in range(3):
            run.log("loss", 0.5 / (i + 1), step=i)
    answer = await get(jp_fetch, "compare", runs=f"{world.run_id},{run.id}")
    assert set(answer) == keys_of(models.CompareAnswer)
    view = compare_view([browse.open_reader(world.ws, i) for i in (world.run_id, run.id)])
    assert answer["runs"] == view["runs"] and answer["params"] == view["params"]
    (loss,) = [c for c in answer["charts"] if c["name"] == "loss"]
    assert [line["run_id"] for line in loss["lines"]] == [world.run_id, run.id]
    assert loss["lines"][1]["ys"] == [pytest.approx(0.5), pytest.approx(0.25), pytest.approx(0.5 / 3)]
    assert answer["runs"][0]["color"] != answer["runs"][1]["color"]
    code, message = await error(jp_fetch, "compare", runs=world.run_id)
    assert code == 400 and "compare 2 to 20 runs" in message


async def test_unknown_names_are_404_with_a_message(jp_fetch: Any, world: World) -> None:
    code, message = await error(jp_fetch, "datastores/nosuch/files")
    assert code == 404 and "nosuch" in message and "nested" in message
    code, message = await error(jp_fetch, "runs/0123456789abcdef")
    assert code == 404 and "0123456789abcdef" in message
    code, _ = await error(jp_fetch, "runs/0123456789abcdef/logs")
    assert code == 404
    code, message = await error(jp_fetch, f"runs/{world.run_id}/logs", name="logs/nope.txt")
    assert code == 404 and "std_log.txt" in message
    code, _ = await error(jp_fetch, "runs", experiment="no-such-exp")
    assert code == 404
    code, message = await error(jp_fetch, "runs", status="Sleeping")
    assert code == 400 and "Completed" in message


async def test_cancel_live_run_then_ended_run_is_409(jp_fetch: Any, world: World, tmp_path: Path) -> None:
    from jupyter_amlrun import Experiment, ScriptRunConfig

    src = tmp_path / "slow"
    src.mkdir()
    (src / "train.py").write_text(
        textwrap.dedent(
            """
            import time
            from jupyter_amlrun import Run
            run = Run.get_context()
            run.log("tick", 1)
            time.sleep(120)
            """
        )
    )
    run = Experiment(world.ws, "exp-live").submit(ScriptRunConfig(source_directory=str(src), script="train.py"))
    # cancel it wherever it is on its way (queued, preparing or running): each is live and must end Canceled
    live = await get(jp_fetch, "runs", experiment="exp-live")
    assert live["live_count"] == 1 and live["items"][0]["status"] not in ("Completed", "Failed", "Canceled")
    answer = await post(jp_fetch, f"runs/{run.id}/cancel")
    assert answer["id"] == run.id and answer["status"] in ("CancelRequested", "Canceled")
    assert set(answer) == keys_of(models.CancelAnswer)
    deadline = time.monotonic() + 60
    while run.get_status() != "Canceled" and time.monotonic() < deadline:
        time.sleep(0.2)
    assert run.get_status() == "Canceled"
    code, message = await error(jp_fetch, f"runs/{run.id}/cancel", "POST", b"")
    assert code == 409 and "Canceled" in message
    code, _ = await error(jp_fetch, f"runs/{world.run_id}/cancel", "POST", b"")
    assert code == 409


async def test_run_view_answers_the_widgets_view_model_by_cursor(jp_fetch: Any, world: World) -> None:
    from jupyter_amlrun.core.reader import RunReader
    from jupyter_amlrun.view.model import RunView
    from jupyter_amlrun.view.watch import RunWatcher

    first = await get(jp_fetch, f"runs/{world.run_id}/view")
    assert set(first) == keys_of(models.RunViewAnswer) and first["reset"] and first["terminal"]
    assert set(first["charts"][0]) == keys_of(models.ChartPart)
    assert set(first["log_chunks"][0]) == keys_of(models.LogChunkPart)
    charts = {c["name"]: c for c in first["charts"]}
    assert charts["loss"]["ys"] == [pytest.approx(1.0 / (i + 1)) for i in range(5)]
    assert any("hello from the run" in c["text"] for c in first["log_chunks"])
    # The same view model the widget draws: the header, logs and texts come from view/model.py, not re-made here.
    widget_view = RunView(world.run_id).apply(RunWatcher(RunReader(world.ws, world.run_id)).snapshot())
    assert first["header"] is not None and widget_view.header is not None
    assert first["header"]["fields"] == widget_view.header["fields"]
    assert first["logs"] == widget_view.logs and first["status"] == "Completed"
    # After the cursor: only what is new (nothing, the run ended).
    nxt = await get(jp_fetch, f"runs/{world.run_id}/view", cursor=first["cursor"])
    assert not nxt["reset"] and nxt["charts"] == [] and nxt["log_chunks"] == [] and nxt["cursor"] != first["cursor"]
    # A cursor used twice, or unknown, starts over with a snapshot (nothing is shared between two readers).
    again = await get(jp_fetch, f"runs/{world.run_id}/view", cursor=first["cursor"])
    assert again["reset"] and again["charts"]
    assert (await get(jp_fetch, f"runs/{world.run_id}/view", cursor="nonsense"))["reset"]
    code, message = await error(jp_fetch, "runs/no-such-run/view")
    assert code == 404 and "no-such-run" in message


async def test_run_diff_answers_what_core_answers(jp_fetch: Any, world: World, tmp_path: Path) -> None:
    from jupyter_amlrun import Experiment, Run

    src = tmp_path / "diffsrc"
    src.mkdir()
    (src / "train.py").write_text(TRAIN_CHANGED)
    with Experiment(world.ws, "exp-diff").start_logging(snapshot_directory=str(src)) as other:
        other.log("loss", float("inf"))  # not finite: JSON carries null
    answer = await get(jp_fetch, f"runs/{world.run_id}/diff/{other.id}")
    assert set(answer) == keys_of(models.DiffAnswer)
    assert answer["runs"] == [world.run_id, other.id]
    assert answer["metrics"]["loss"] == [pytest.approx(0.2), None] and answer["metrics"]["accuracy"] == [0.9, None]
    (changed,) = answer["code"]["changed"]
    assert changed["path"] == "train.py" and '+print("hello from the other run")' in changed["diff"]
    core = Run.get(world.ws, world.run_id).diff(other)
    assert answer["code"] == core["code"] and answer["params"] == core["params"]
    code, message = await error(jp_fetch, f"runs/{world.run_id}/diff/no-such-run")
    assert code == 404 and "no-such-run" in message


async def test_resubmit_makes_a_new_run_from_the_snapshot(jp_fetch: Any, world: World) -> None:
    from jupyter_amlrun import Run

    answer = await post(jp_fetch, f"runs/{world.run_id}/resubmit", json.dumps({"arguments": ["--again", "1"]}))
    assert set(answer) == keys_of(models.ResubmitAnswer) and answer["resubmit_of"] == world.run_id
    new = Run.get(world.ws, answer["id"])
    new.wait_for_completion(raise_on_error=True)
    old = Run.get(world.ws, world.run_id)
    assert new.get_snapshot_id() == old.get_snapshot_id() and new.tags["resubmit_of"] == world.run_id
    assert new.get_details()["runDefinition"]["arguments"] == ["--again", "1"]
    assert new.get_metrics()["accuracy"] == 0.9
    for body in (b"not json", json.dumps({"arguments": "x"}), json.dumps({"bogus": 1})):
        code, message = await error(jp_fetch, f"runs/{world.run_id}/resubmit", "POST", body)
        assert code == 400, message
    code, _ = await error(jp_fetch, "runs/no-such-run/resubmit", "POST", b"{}")
    assert code == 404


TRAIN_CHANGED = textwrap.dedent(
    """
    from jupyter_amlrun import Run
    run = Run.get_context()
    for i in range(5):
        run.log("loss", 1.0 / (i + 1))
    run.log("accuracy", 0.9)
    print("hello from the other run")
    """
)


async def test_slow_reads_hold_no_other_route_and_answer_503_by_their_deadline(
    jp_fetch: Any, jp_serverapp: Any, jp_http_port: int, jp_base_url: str, jp_auth_header: dict[str, str], world: World
) -> None:
    """40 metric reads that never finish (a stand-in for reads of huge runs: ``metric_series`` is replaced by one that
    waits on an event, so the threads are held for sure) must neither stop other routes nor hang: before, they took
    every thread of the server's default executor and a GET of the workspace waited behind them."""
    import asyncio
    import threading

    from tornado.httpclient import AsyncHTTPClient

    ext = jp_serverapp.extension_manager.extension_apps["jupyter_amlrun"]
    (app,) = ext if isinstance(ext, set) else [ext]
    release = threading.Event()
    held = []

    def stuck(*_args: Any) -> dict[str, Any]:
        held.append(1)
        release.wait(60)
        return {"runs": {}}

    original, browse.metric_series = browse.metric_series, stuck  # type: ignore[assignment]
    old_timeout, app.request_timeout = app.request_timeout, 3.0
    client = AsyncHTTPClient(force_instance=True, max_clients=64)
    url = f"http://127.0.0.1:{jp_http_port}{jp_base_url}amlrun/api/metrics?runs={world.run_id}"
    try:
        slow = [
            asyncio.ensure_future(client.fetch(url, headers=jp_auth_header, raise_error=False, request_timeout=30))
            for _ in range(40)
        ]
        while not held:  # the first read is in its thread
            await asyncio.sleep(0.05)
        light = await get(jp_fetch, "workspace")  # before: waited for the held threads (timed out at 20 s)
        assert light["name"] == "srv"
        answers = await asyncio.gather(*slow)
        assert {a.code for a in answers} == {503} and len(held) <= app.heavy_workers
        body = json.loads(answers[0].body)
        assert body["status"] == 503 and "retry" in body["error"] and "request_timeout" in body["error"]
    finally:
        release.set()
        browse.metric_series = original  # type: ignore[assignment]
        app.request_timeout = old_timeout
        client.close()
    assert (await get(jp_fetch, "metrics", runs=world.run_id, name="loss"))["total"] == {world.run_id: {"loss": 5}}


async def test_names_longer_than_255_bytes_are_400(jp_fetch: Any, world: World) -> None:
    long = "n" * 300
    code, message = await error(jp_fetch, "datastores/nested/files", path=long)
    assert code == 400 and "at most 255 bytes" in message  # was a 500 (OSError: File name too long)
    code, message = await error(jp_fetch, "datastores/nested/files", method="POST", body=b"x", path=f"up/{long}.txt")
    assert code == 400 and "at most 255 bytes" in message
