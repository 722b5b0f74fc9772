"""Models on MLflow's registry: versions, lookup, filters, download, and clean rejections."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from jupyter_amlrun import Experiment, Model, Workspace
from jupyter_amlrun.runtime.errors import ModelNotFoundException, ModelPathNotFoundException, UserErrorException

pytestmark = pytest.mark.integration


@pytest.fixture
def run_with_outputs(ws: Workspace, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Any:
    monkeypatch.chdir(tmp_path)
    run = Experiment(ws, "models").start_logging(snapshot_directory=None)
    Path("outputs/model.pkl").write_bytes(b"v1")
    Path("outputs/bundle").mkdir()
    Path("outputs/bundle/a.txt").write_text("a")
    run.complete()
    return run


def test_register_from_run_versions_and_download(ws: Workspace, run_with_outputs: Any, tmp_path: Path) -> None:
    run = run_with_outputs
    m1 = run.register_model(
        model_name="m",
        model_path="outputs/model.pkl",
        tags={"area": "cv"},
        properties={"acc": 0.9},
        description="first",
    )
    assert (m1.id, m1.version, m1.run_id) == ("m:1", 1, run.id)
    assert m1.tags == {"area": "cv"} and m1.properties == {"acc": "0.9"} and m1.description == "first"
    m2 = run.register_model(model_name="m", model_path="outputs/model.pkl")
    assert m2.version == 2
    assert Model(ws, "m").version == 2
    assert Model(ws, "m", version=1).tags == {"area": "cv"}
    assert Model(ws, id="m:1").version == 1
    path = Path(m1.download(str(tmp_path / "dl")))
    assert path.name == "model.pkl" and path.read_bytes() == b"v1"
    with pytest.raises(UserErrorException, match="already exists"):
        m1.download(str(tmp_path / "dl"))
    m1.download(str(tmp_path / "dl"), exist_ok=True)
    folder = run.register_model(model_name="bundle", model_path="outputs/bundle")
    got = Path(folder.download(str(tmp_path / "b")))
    assert (got / "a.txt").read_text() == "a"
    assert set(ws.models) == {"m", "bundle"} and ws.models["m"].version == 2


def test_list_filters(ws: Workspace, run_with_outputs: Any) -> None:
    run = run_with_outputs
    run.register_model(model_name="a", model_path="outputs/model.pkl", tags={"k": "1"})
    run.register_model(model_name="a", model_path="outputs/model.pkl", tags={"k": "2"})
    run.register_model(model_name="b", model_path="outputs/model.pkl")
    assert [m.id for m in Model.list(ws)] == ["a:2", "a:1", "b:1"]
    assert [m.id for m in Model.list(ws, latest=True)] == ["a:2", "b:1"]
    assert [m.id for m in Model.list(ws, name="a", tags=[["k", "1"]])] == ["a:1"]
    assert [m.id for m in Model.list(ws, tags=["k"])] == ["a:2", "a:1"]
    assert [m.id for m in Model.list(ws, run_id="nope")] == []


def test_missing_path_lists_files_and_registers_nothing(ws: Workspace, run_with_outputs: Any) -> None:
    with pytest.raises(ModelPathNotFoundException, match=r"outputs/nope.*outputs/model.pkl"):
        run_with_outputs.register_model(model_name="m", model_path="outputs/nope")
    assert Model.list(ws) == []


def test_not_found_and_bad_names(ws: Workspace, run_with_outputs: Any) -> None:
    with pytest.raises(ModelNotFoundException, match="No model 'nope'"):
        Model(ws, "nope")
    run_with_outputs.register_model(model_name="m", model_path="outputs/model.pkl")
    with pytest.raises(ModelNotFoundException, match="No version 7 of model 'm'.*Registered models: \\['m'\\]"):
        Model(ws, "m", version=7)
    for bad in ("", "has space", "-x", "a/b"):
        with pytest.raises(UserErrorException, match="Invalid model name"):
            run_with_outputs.register_model(model_name=bad, model_path="outputs/model.pkl")
    assert [m.id for m in Model.list(ws)] == ["m:1"]


def test_register_local_file_and_folder(ws: Workspace, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "w.bin").write_bytes(b"local")
    m = Model.register(ws, model_path=str(tmp_path / "w.bin"), model_name="local-model", tags={"src": "disk"})
    assert "Registering model local-model" in capsys.readouterr().out
    assert m.id == "local-model:1" and m.run_id is None
    (tmp_path / "w.bin").write_bytes(b"changed later")  # the registered copy is immutable
    assert Path(m.download(str(tmp_path / "out"))).read_bytes() == b"local"
    (tmp_path / "dir").mkdir()
    (tmp_path / "dir" / "x.txt").write_text("x")
    m2 = Model.register(ws, model_path=str(tmp_path / "dir"), model_name="local-model")
    assert m2.version == 2 and (Path(m2.download(str(tmp_path / "o2"))) / "x.txt").exists()
    with pytest.raises(UserErrorException, match="does not exist"):
        Model.register(ws, model_path=str(tmp_path / "missing"), model_name="local-model")
    assert len(Model.list(ws, name="local-model")) == 2


def test_tags_properties_update(ws: Workspace, run_with_outputs: Any) -> None:
    m = run_with_outputs.register_model(model_name="m", model_path="outputs/model.pkl", properties={"p": "1"})
    m.add_tags({"stage": "prod"})
    m.update(description="better")
    again = Model(ws, "m")
    assert again.tags == {"stage": "prod"} and again.description == "better"
    with pytest.raises(UserErrorException, match="immutable"):
        m.add_properties({"p": "2"})
    assert "name=m, id=m:1" in repr(m)
