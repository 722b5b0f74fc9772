"""server/service.py without a server: paging, filters, path checks, secrets, and the answers built from a real
workspace (folder datastore, datasets, models, runs, logs, metric series)."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest

from jupyter_amlrun.runtime.errors import UserErrorException
from jupyter_amlrun.server import service as browse
from jupyter_amlrun.server.service import ConflictException, NotFoundException, PageQuery
from jupyter_amlrun.view.model import format_time, status_view


# ---------------------------------------------------------------------------------------------------- paging
def test_page_query_parses_and_refuses_bad_numbers() -> None:
    assert PageQuery.parse() == PageQuery(0, 200, "")
    assert PageQuery.parse("5", "1000", "  Ab ") == PageQuery(5, 1000, "Ab")
    for offset, limit in (("-1", None), ("x", None), (None, "0"), (None, "1001"), (None, "2.5")):
        with pytest.raises(UserErrorException, match="whole number"):
            PageQuery.parse(offset, limit)


def test_page_filters_case_insensitively_then_cuts() -> None:
    items = [{"name": f"Run{i:04d}"} for i in range(2500)]
    first = browse.page(items, PageQuery(0, 1000, "run1"))
    assert first["total"] == 1000 and len(first["items"]) == 1000 and first["items"][0]["name"] == "Run1000"
    last = browse.page(items, PageQuery(2000, 1000))
    assert last["total"] == 2500 and [i["name"] for i in last["items"]][-1] == "Run2499" and len(last["items"]) == 500
    assert browse.page(items, PageQuery(3000, 10))["items"] == []


# ---------------------------------------------------------------------------------------------------- paths, secrets
@pytest.mark.parametrize("good,norm", [("", ""), ("a/b", "a/b"), ("a//b/./c/", "a/b/c"), ("a\\b", "a/b"), (None, "")])
def test_relative_paths_are_normalised(good: str | None, norm: str) -> None:
    assert browse.check_rel_path(good) == norm


@pytest.mark.parametrize("bad", ["..", "../x", "a/../../b", "a/..", "/etc/passwd", "C:/x", "\\\\srv\\x", "a\x00b"])
def test_paths_that_could_leave_the_root_are_refused(bad: str) -> None:
    with pytest.raises(UserErrorException) as info:
        browse.check_rel_path(bad)
    assert "path" in str(info.value)


def test_urls_lose_their_credentials() -> None:
    assert browse.redact_url("sqlite:////tmp/ws/mlflow.db") == "sqlite:////tmp/ws/mlflow.db"
    assert browse.redact_url("postgresql://bob:hunter2@db:5432/mlflow") == "postgresql://***@db:5432/mlflow"
    out = browse.redact_url("https://acct.blob.core.windows.net/c/f.csv?sv=2024&sig=abc%2Fdef&sp=r")
    assert "abc" not in out and "sig=***" in out and "sv=2024" in out
    assert browse.redact_url("https://x/y?a=1") == "https://x/y?a=1"


# ---------------------------------------------------------------------------------------------------- datastores
@pytest.fixture
def store_root(ws: Any, tmp_path: Path) -> Path:
    from jupyter_amlrun import Datastore

    root = tmp_path / "store"
    (root / "d1" / "d2").mkdir(parents=True)
    (root / "d1" / "d2" / "x.bin").write_bytes(b"12345")
    (root / "z.txt").write_text("z")
    Datastore.register_folder(ws, "files", str(root))
    return root


def test_workspace_and_datastore_listing(ws: Any, store_root: Path) -> None:
    info = browse.workspace_info(ws)
    assert info["name"] == "test" and info["default_datastore"] == "workspaceblobstore"
    assert info["tracking"].endswith("mlflow.db")
    stores = browse.datastores(ws, PageQuery())
    assert [(s["name"], s["kind"], s["is_default"]) for s in stores["items"]] == [
        ("workspaceblobstore", "Folder", True),
        ("files", "Folder", False),
    ]
    assert browse.datastores(ws, PageQuery(filter="FIL"))["total"] == 1


def test_folder_listing_folders_first_with_sizes_and_dates(ws: Any, store_root: Path) -> None:
    root = browse.list_folder(ws, "files", "", PageQuery())
    assert [(i["name"], i["is_dir"], i["size"]) for i in root["items"]] == [("d1", True, None), ("z.txt", False, 1)]
    z = root["items"][1]
    assert abs(browse_time(z["modified"]) - (store_root / "z.txt").stat().st_mtime) < 1
    # what the sidebar shows comes formatted (view/model.py): a folder has no size or date text
    assert z["size_text"] == "1 B" and z["modified_text"] == format_time(browse_time(z["modified"]))
    assert root["items"][0]["size_text"] == root["items"][0]["modified_text"] == ""
    deep = browse.list_folder(ws, "files", "d1/d2", PageQuery())
    assert deep["path"] == "d1/d2" and deep["items"][0]["path"] == "d1/d2/x.bin"
    assert deep["snippet"] == "Dataset.File.from_files((Datastore.get(ws, 'files'), 'd1/d2'))"
    with pytest.raises(NotFoundException, match="no-such"):
        browse.list_folder(ws, "files", "no-such", PageQuery())
    with pytest.raises(UserErrorException, match="not a folder"):
        browse.list_folder(ws, "files", "z.txt", PageQuery())
    with pytest.raises(NotFoundException, match="files"):
        browse.list_folder(ws, "nope", "", PageQuery())


def browse_time(iso: str) -> float:
    import datetime as dt

    return dt.datetime.fromisoformat(iso.replace("Z", "+00:00")).timestamp()


def test_symlinks_out_of_the_store_are_neither_listed_nor_followed(ws: Any, store_root: Path, tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.txt").write_text("s")
    (store_root / "link").symlink_to(outside)
    assert "link" not in [i["name"] for i in browse.list_folder(ws, "files", "", PageQuery())["items"]]
    with pytest.raises(UserErrorException, match="outside"):
        browse.list_folder(ws, "files", "link", PageQuery())
    with pytest.raises(UserErrorException, match="outside"):
        browse.upload_file(ws, "files", "link/new.txt", b"x", overwrite=False)
    assert not (outside / "new.txt").exists()


def test_upload_conflicts_and_overwrite(ws: Any, store_root: Path) -> None:
    assert browse.upload_file(ws, "files", "d1/new.txt", b"abc", overwrite=False) == {
        "path": "d1/new.txt",
        "size": 3,
        "size_text": "3 B",
    }
    assert (store_root / "d1" / "new.txt").read_bytes() == b"abc"
    with pytest.raises(ConflictException, match="overwrite=1"):
        browse.upload_file(ws, "files", "d1/new.txt", b"x", overwrite=False)
    browse.upload_file(ws, "files", "d1/new.txt", b"", overwrite=True)
    assert (store_root / "d1" / "new.txt").read_bytes() == b""
    with pytest.raises(ConflictException, match="folder"):
        browse.upload_file(ws, "files", "d1", b"x", overwrite=True)
    with pytest.raises(UserErrorException, match="empty"):
        browse.upload_file(ws, "files", "", b"x", overwrite=True)
    assert not [p for p in store_root.rglob("*") if ".amlrun-part-" in p.name]


# ---------------------------------------------------------------------------------------------------- datasets, models
def test_datasets_from_the_real_registry(ws: Any, store_root: Path) -> None:
    from jupyter_amlrun import Dataset, Datastore

    store = Datastore.get(ws, "files")
    Dataset.File.from_files((store, "d1/**")).register(ws, "alpha", description="first", tags={"a": "1"})
    Dataset.File.from_files((store, "z.txt")).register(ws, "alpha", create_new_version=True)
    Dataset.File.from_files([(store, "z.txt"), "https://h/x.csv?sig=SECRET"]).register(ws, "beta")
    answer = browse.dataset_page(
        Dataset.get_all(ws), lambda n: [d.version for d in Dataset.list_versions(ws, n)], PageQuery()
    )
    alpha, beta = answer["items"]
    assert alpha["name"] == "alpha" and alpha["versions"] == [1, 2] and alpha["latest_version"] == 2
    assert (
        alpha["sources"] == ["('files', 'z.txt')"] and alpha["snippet"] == "Dataset.get_by_name(ws, 'alpha', version=2)"
    )
    assert beta["sources"][1] == "https://h/x.csv?sig=***"
    asked: list[str] = []
    filtered = browse.dataset_page(Dataset.get_all(ws), lambda n: asked.append(n) or [1], PageQuery(filter="BET"))
    assert [d["name"] for d in filtered["items"]] == ["beta"] and asked == ["beta"]


def test_models_grouped_newest_first_and_download_stays_in_root(ws: Any, tmp_path: Path) -> None:
    from jupyter_amlrun import Model

    f = tmp_path / "m.pkl"
    for i in (1, 2, 3):
        f.write_bytes(b"w%d" % i)
        Model.register(ws, model_path=str(f), model_name="net", description=f"v{i}")
    f.write_bytes(b"o")
    Model.register(ws, model_path=str(f), model_name="other")
    answer = browse.models(ws, PageQuery())
    net = next(m for m in answer["items"] if m["name"] == "net")
    assert [v["version"] for v in net["versions"]] == [3, 2, 1] and net["latest_version"] == 3
    assert net["versions"][0]["snippet"] == "Model(ws, 'net', version=3)"
    assert browse.models(ws, PageQuery(filter="oth"))["total"] == 1

    root = tmp_path / "jroot"
    (root / "sub").mkdir(parents=True)
    out = browse.download_model(ws, "net", "2", "sub", root)
    assert out == {"path": "sub/m.pkl"} and (root / "sub" / "m.pkl").read_bytes() == b"w2"
    with pytest.raises(ConflictException):
        browse.download_model(ws, "net", 2, "sub", root)
    (root / "away").symlink_to(tmp_path)  # a link inside the root that leads out of it
    for bad in ("../x", "/abs", "away"):
        with pytest.raises(UserErrorException):
            browse.download_model(ws, "net", 1, bad, root)
    assert not (tmp_path / "m.pkl.1").exists() and (tmp_path / "m.pkl").read_bytes() == b"o"
    with pytest.raises(NotFoundException):
        browse.download_model(ws, "net", 7, "", root)
    with pytest.raises(UserErrorException, match="not a number"):
        browse.download_model(ws, "net", "latest", "", root)


# ---------------------------------------------------------------------------------------------------- runs
def test_interactive_runs_metrics_logs_and_cancel(ws: Any) -> None:
    from jupyter_amlrun import Experiment

    exp = Experiment(ws, "inter")
    live = exp.start_logging()
    for step in range(3):
        live.log("loss", 1.0 / (step + 1), step=step)
    live.log("note", "text")  # not a scalar series
    live.flush()
    done = exp.start_logging()
    done.log("acc", 0.5)
    done.complete()

    exps = browse.experiments(ws, PageQuery())
    assert exps["items"] == [
        {
            "name": "inter",
            "id": exps["items"][0]["id"],
            "run_count": 2,
            "live_count": 1,
            "counts_text": "2 runs · 1 live",
        }
    ]
    runs = browse.runs(ws, PageQuery(), experiment="inter")
    assert [r["id"] for r in runs["items"]] == [done.id, live.id] and runs["live_count"] == 1
    assert runs["items"][0]["status"] == "Completed" and runs["items"][0]["end"] is not None
    assert runs["items"][1]["end"] is None and runs["items"][1]["duration_seconds"] >= 0
    assert browse.runs(ws, PageQuery(), status="Completed")["total"] == 1
    assert browse.runs(ws, PageQuery(filter=live.id[:12]))["total"] == 1
    with pytest.raises(UserErrorException, match="Completed"):
        browse.runs(ws, PageQuery(), status="Done")
    with pytest.raises(NotFoundException):
        browse.runs(ws, PageQuery(), experiment="nope")

    series = browse.metric_series(ws, [live.id, done.id], None)["runs"]
    assert series[live.id] == {"loss": [[0, 1.0], [1, 0.5], [2, pytest.approx(1 / 3)]]}
    assert series[done.id] == {"acc": [[0, 0.5]]}
    assert browse.metric_series(ws, [live.id], "nope")["runs"][live.id] == {}
    with pytest.raises(UserErrorException, match="at most 20"):
        browse.metric_series(ws, [f"r{i}" for i in range(21)])
    with pytest.raises(NotFoundException):
        browse.metric_series(ws, ["missing-run"])

    detail = browse.run_detail(ws, done.id)
    assert detail["details"]["runId"] == done.id and detail["snippet"] == f"RunDetails(Run.get(ws, {done.id!r})).show()"

    with pytest.raises(ConflictException, match="already ended"):
        browse.cancel_run(ws, done.id)
    assert browse.cancel_run(ws, live.id) == {"id": live.id, "status": "CancelRequested"}  # asked; the owner ends it
    with pytest.raises(NotFoundException):
        browse.cancel_run(ws, "missing-run")


def test_logs_are_read_by_offset_without_cutting_characters(ws: Any, tmp_path: Path, monkeypatch: Any) -> None:
    from jupyter_amlrun import Experiment

    run = Experiment(ws, "logs").start_logging()
    try:
        logs = run._folder.logs_dir / "user_logs"
        logs.mkdir(parents=True, exist_ok=True)
        text = "é" * 10 + "\n"  # 2 bytes each
        (logs / "std_log.txt").write_text(text, encoding="utf-8")
        if not run.get_log_files():
            pytest.skip("an interactive run lists no log files on this backend")
        monkeypatch.setattr(browse, "MAX_LOG_BYTES", 5)
        got, offset, rounds = "", 0, 0
        while rounds < 20:
            part = browse.read_log(ws, run.id, None, offset)
            assert part["name"] == "logs/user_logs/std_log.txt" and not part["complete"]
            if part["offset"] == offset:
                break
            got, offset, rounds = got + part["text"], part["offset"], rounds + 1
        assert got == text and "\ufffd" not in got
        with pytest.raises(UserErrorException, match="offset"):
            browse.read_log(ws, run.id, None, "-3")
        later = browse.read_log(ws, run.id, "logs/later.txt", 7)  # live: it may still appear
        assert later == {"name": "logs/later.txt", "text": "", "start": 7, "offset": 7, "complete": False}
    finally:
        run.complete()
    with pytest.raises(NotFoundException, match="std_log"):
        browse.read_log(ws, run.id, "logs/none.txt", 0)


def test_logs_are_read_backwards_from_line_starts(ws: Any, monkeypatch: Any) -> None:
    """ "Load earlier output" over REST: each answer ends where the view's text starts and starts at a line start."""
    from jupyter_amlrun import Experiment

    run = Experiment(ws, "logs-back").start_logging()
    try:
        logs = run._folder.logs_dir / "user_logs"
        logs.mkdir(parents=True, exist_ok=True)
        lines = [f"line {i:02d} é\n" for i in range(12)]  # 11 bytes each
        text = "".join(lines)
        (logs / "std_log.txt").write_text(text, encoding="utf-8")
        if not run.get_log_files():
            pytest.skip("an interactive run lists no log files on this backend")
        size = len(text.encode())
        monkeypatch.setattr(browse, "MAX_LOG_BYTES", 25)
        got, before, rounds = "", size, 0
        while before > 0 and rounds < 20:
            part = browse.read_log(ws, run.id, None, None, before=before)
            assert part["offset"] == before and part["start"] < before and not part["complete"]
            assert part["text"].endswith("\n") and (part["start"] == 0 or text.encode()[part["start"] - 1] == 10)
            got, before, rounds = part["text"] + got, part["start"], rounds + 1
        assert got == text and rounds > 1
        with pytest.raises(UserErrorException, match="before"):
            browse.read_log(ws, run.id, None, None, before="-1")
        with pytest.raises(NotFoundException, match="std_log"):
            browse.read_log(ws, run.id, "logs/none.txt", None, before=10)
    finally:
        run.complete()


def test_compare_over_rest_is_the_compare_view_with_json_safe_points(ws: Any) -> None:
    from jupyter_amlrun import Experiment
    from jupyter_amlrun.view.compare import compare_view

    exp = Experiment(ws, "cmp-rest")
    ids = []
    for lr in (0.1, 0.2):
        with exp.start_logging(snapshot_directory=None) as run:
            run.log("loss", lr, step=0)
            run.log("loss", float("inf"), step=1)  # JSON cannot hold it: null, a gap in the line
        ids.append(run.id)
    answer = browse.compare(ws, ids)
    view = compare_view([browse.open_reader(ws, i) for i in ids])
    assert answer["runs"] == view["runs"] and answer["params"] == view["params"]
    assert [r["color"] for r in answer["runs"]] == ["#1f77b4", "#ff7f0e"]
    (loss,) = answer["charts"]
    assert loss["lines"][0] == {"run_id": ids[0], "xs": [0.0, 1.0], "ys": [0.1, None]}
    with pytest.raises(UserErrorException, match="compare 2 to 20 runs"):
        browse.compare(ws, ids[:1])
    with pytest.raises(NotFoundException):
        browse.compare(ws, [ids[0], "missing-run"])


def test_run_summary_durations() -> None:
    from jupyter_amlrun.tracking.store import RunRecord

    now = time.time()
    rec = RunRecord("id1", "1", "name", "RUNNING", int((now - 10) * 1000), None, "", {"mlflow.parentRunId": "p"})
    live = browse.run_summary(rec, "e", "Running", now=now)
    assert live["duration_seconds"] == pytest.approx(10, abs=0.01) and live["end"] is None and live["parent_id"] == "p"
    # what the list shows, by the widget's rules: the same duration text and badge the run's view has
    assert live["duration_text"] == "10s" and live["badge"] == status_view("Running")
    rec.tags["amlrun.end_time"] = str(now - 4)
    ended = browse.run_summary(rec, "e", "Completed", now=now + 100)
    assert ended["duration_seconds"] == pytest.approx(6, abs=0.01) and ended["end"].endswith("Z")
    assert ended["duration_text"] == "6s" and ended["badge"]["css_class"] == "ok"
    # the driver's system/... samples are no key metric: left out, wherever they come in the run's metrics
    rec.metrics.update({"system/cpu_utilization_percentage": 12.5, "loss": 0.123456789, "system/disk_read_mb": 3.0})
    rec.metrics.update({"acc": 1.0, "steps": 1e20, "extra": 2.0})
    assert browse.run_summary(rec, "e", "Completed")["metrics_text"] == "loss=0.123457 acc=1 steps=1e+20"
    assert (
        browse.run_summary(RunRecord("i", "1", "n", "FINISHED", None, None, ""), "e", "Completed")["duration_seconds"]
        is None
    )


def test_run_view_sends_only_what_is_new_after_a_cursor(ws: Any) -> None:
    from jupyter_amlrun import Experiment

    run = Experiment(ws, "view").start_logging(snapshot_directory=None)
    for step in range(3):
        run.log("loss", 1.0 / (step + 1), step=step)
    run.log("edge", float("inf"))
    run.log("edge", 1.0)
    first = browse.run_view(ws, run.id)
    assert first["reset"] and not first["terminal"] and first["status"] == "Running"
    charts = {c["name"]: c for c in first["charts"]}
    assert charts["loss"]["ys"] == [1.0, 0.5, pytest.approx(1 / 3)]
    assert charts["edge"]["ys"] == [None, 1.0]  # JSON holds no inf: null, as the TypedDict says
    run.log("loss", 0.25, step=3)
    nxt = browse.run_view(ws, run.id, first["cursor"])
    assert not nxt["reset"] and [c["ys"] for c in nxt["charts"] if c["name"] == "loss"] == [[0.25]]
    assert nxt["header"] is None  # unchanged: not sent again
    run.complete()
    last = browse.run_view(ws, run.id, nxt["cursor"])
    assert last["terminal"] and last["status"] == "Completed" and last["header"] is not None


# ---------------------------------------------------------------------------------------------------- big runs
def _ended_run(ws: Any, values: dict[str, list[float]], drop_journal: bool) -> str:
    """A real interactive run that logged ``values`` and ended; without its journal (a run from another machine,
    or whose folder was cleaned) it is read from the tracking store."""
    from jupyter_amlrun import Experiment

    run = Experiment(ws, "big").start_logging()
    for name, series in values.items():
        for value in series:
            run.log(name, value)
    run.complete()
    if drop_journal:
        (ws.path / "runs" / run.id / "journal.jsonl").unlink()
    return str(run.id)


@pytest.mark.parametrize("drop_journal", [False, True], ids=["journal", "store"])
def test_a_big_series_is_cut_for_display_and_paged_in_full(ws: Any, drop_journal: bool) -> None:
    n = 20_000
    values = [float(i % 1000) for i in range(n)]
    values[12_345], values[13_456] = 1e6, -1e6  # spikes a plain stride would miss
    values[-1] = 0.5
    run_id = _ended_run(ws, {"loss": values}, drop_journal)

    got = browse.metric_series(ws, [run_id], "loss")
    series = got["runs"][run_id]["loss"]
    assert got["total"] == {run_id: {"loss": n}} and got["points"] == 1000 and got["cursor"] is None
    assert 900 <= len(series) <= 1000  # was all 20,000 points
    steps = [s for s, _v in series]
    assert steps == sorted(steps) and series[0] == [0, 0.0] and series[-1] == [n - 1, 0.5]
    assert [12_345, 1e6] in series and [13_456, -1e6] in series
    assert len(browse.metric_series(ws, [run_id], None, points="50")["runs"][run_id]["loss"]) <= 50

    pages, cursor = [], "0"
    while cursor is not None:
        answer = browse.metric_series(ws, [run_id], "loss", cursor=cursor, limit="7000")
        pages.extend(answer["runs"][run_id]["loss"])
        cursor = answer["cursor"]
    assert pages == [[i, v] for i, v in enumerate(values)]
    with pytest.raises(UserErrorException, match="one run id"):
        browse.metric_series(ws, [run_id, run_id + "x"], "loss", cursor="0")
    with pytest.raises(UserErrorException, match="limit"):
        browse.metric_series(ws, [run_id], "loss", cursor="0", limit="20001")


def test_a_metrics_answer_stays_under_a_megabyte(ws: Any) -> None:
    import json

    values = {f"m{k:02d}": [float(i) + k / 7 for i in range(2000)] for k in range(40)}
    run_id = _ended_run(ws, values, drop_journal=True)
    got = browse.metric_series(ws, [run_id], None, points="10000")
    size = len(json.dumps(got))
    assert size <= browse.MAX_ANSWER_BYTES, size  # was 40 x 2,000 points, about 2 MB
    assert len(got["runs"][run_id]) == 40 and all(t == 2000 for t in got["total"][run_id].values())
    assert all(s[-1] == [1999, pytest.approx(1999 + k / 7)] for k, s in enumerate(got["runs"][run_id].values()))


def test_names_longer_than_a_file_system_allows_are_a_400_not_a_crash(ws: Any, store_root: Path) -> None:
    for path in ("x" * 256, f"d1/{'é' * 128}/f.txt"):
        with pytest.raises(UserErrorException, match="at most 255 bytes"):
            browse.list_folder(ws, "files", path, PageQuery())
        with pytest.raises(UserErrorException, match="at most 255 bytes"):
            browse.upload_file(ws, "files", path, b"x", overwrite=False)
    assert browse.check_rel_path("y" * 255) == "y" * 255
