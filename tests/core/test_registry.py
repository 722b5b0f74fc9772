"""The registry of pluggable parts: built-in kinds load lazily, unknown kinds fail clearly, and a kind another
distribution declares by entry point is found and passes the contract suite."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from jupyter_amlrun.core import catalog
from jupyter_amlrun.core.contracts import ComputeBackend, DatastoreBackend
from jupyter_amlrun.core.registry import (
    Registry,
    UnknownKindError,
    compute_backends,
    datastore_backends,
    input_materializers,
)
from jupyter_amlrun.runtime.errors import DatastoreException

OUT_OF_TREE = Path(__file__).parent / "outoftree"
ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.unit
def test_builtin_kinds_load_lazily_and_subclass_the_contract() -> None:
    assert {"local", "AmlCompute"} <= set(compute_backends.kinds())
    assert {"Folder", "AzureBlob"} <= set(datastore_backends.kinds())
    assert {"dataset", "datareference"} <= set(input_materializers.kinds())
    assert issubclass(compute_backends.load("local"), ComputeBackend)
    assert issubclass(datastore_backends.load("Folder"), DatastoreBackend)
    assert input_materializers.load("dataset") is input_materializers.load("datareference")


@pytest.mark.unit
def test_a_builtin_kind_loads_without_scanning_entry_points() -> None:
    """A run's driver loads its backend: scanning every installed distribution is not paid for a built-in."""
    code = (
        "import sys; from jupyter_amlrun.core.registry import compute_backends; compute_backends.load('local'); "
        "print(compute_backends._entry_points_read, 'importlib.metadata' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT)
    assert out.stdout.split() == ["False", "False"], out.stderr
    reg: Registry[DatastoreBackend] = Registry("thing", "no.such.group", DatastoreBackend, {})  # type: ignore[type-abstract]
    with pytest.raises(UnknownKindError):
        reg.load("plugin")  # an unknown kind is looked for among the entry points
    assert reg._entry_points_read


@pytest.mark.unit
def test_unknown_kind_names_the_known_ones_and_the_group() -> None:
    with pytest.raises(UnknownKindError) as err:
        datastore_backends.load("Gopher")
    text = str(err.value)
    assert "'Gopher'" in text and "AzureBlob" in text and "jupyter_amlrun.datastore_backends" in text


@pytest.mark.unit
def test_register_refuses_clobber_and_checks_the_base() -> None:
    reg: Registry[DatastoreBackend] = Registry("thing", "no.such.group", DatastoreBackend, {"a": "json:JSONDecoder"})  # type: ignore[type-abstract]
    with pytest.raises(ValueError, match="already registered"):
        reg.register("a", "json:JSONEncoder")
    with pytest.raises(TypeError, match="is not a DatastoreBackend"):
        reg.load("a")  # json.JSONDecoder is not a datastore
    reg.register("a", "jupyter_amlrun.data._folder:FolderDatastore", clobber=True)
    assert reg.load("a").__name__ == "FolderDatastore"


@pytest.mark.unit
def test_a_registration_of_an_uninstalled_kind_is_a_clear_error(ws: Any) -> None:
    folder = catalog.folder(ws) / "gone"
    folder.mkdir(parents=True)
    (folder / catalog.DOC_NAME).write_text(json.dumps({"name": "gone", "datastore_type": "Gopher"}))
    with pytest.raises(DatastoreException, match="type 'Gopher', which no installed package provides"):
        ws.datastores  # noqa: B018 - listing leaves it out...
        catalog.open_datastore(ws, "gone")  # ...opening it says why
    assert "gone" not in ws.datastores
    assert "workspaceblobstore" in ws.datastores


@pytest.mark.integration
def test_entry_point_kind_passes_the_contract_suite(tmp_path: Path) -> None:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(OUT_OF_TREE), str(ROOT)])}
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:cacheprovider",
            "--rootdir",
            str(ROOT),
            "-c",
            str(ROOT / "pyproject.toml"),
            str(OUT_OF_TREE / "memstore_suite.py"),
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-2000:]
    assert " passed" in proc.stdout and "failed" not in proc.stdout


# A new compute kind, added by registering its backend alone: its v1 ComputeTarget class and its provisioning come
# with it (the one kind table; README "Adding a backend").
class _TubeCompute:  # filled in by the test (a ComputeTarget subclass needs core's class at hand)
    pass


@pytest.mark.unit
def test_a_registered_kind_brings_its_v1_class_and_its_provisioning(ws: Any) -> None:
    from jupyter_amlrun import ComputeTarget
    from jupyter_amlrun.compute.local import LocalBackend

    calls: list[str] = []

    class TubeCompute(ComputeTarget):
        type = "Tube"

    class TubeConfiguration:
        def to_doc(self) -> dict[str, Any]:
            return {"type": "Tube", "max_nodes": 1, "pipes": 3}

    class TubeBackend(LocalBackend):
        kind = "Tube"
        target_class = f"{__name__}:_TubeCompute"

        @classmethod
        def provision(cls, workspace: Any, name: str, doc: dict[str, Any]) -> dict[str, Any]:
            calls.append(f"provision {name} {doc['pipes']}")
            return {"address": "tube://here"}

        @classmethod
        def deprovision(cls, workspace: Any, name: str, doc: dict[str, Any]) -> None:
            calls.append(f"deprovision {name} {doc['address']}")

    globals()["_TubeCompute"] = TubeCompute
    compute_backends.register("Tube", TubeBackend, clobber=True)
    try:
        target = ComputeTarget.create(ws, "tube", TubeConfiguration())
        assert type(target) is TubeCompute and calls == ["provision tube 3"]
        assert type(ComputeTarget(ws, "tube")) is TubeCompute
        assert target._doc["address"] == "tube://here"
        assert ComputeTarget.create(ws, "tube", TubeConfiguration())._doc["created"]  # the same config: no provision
        assert calls == ["provision tube 3"]
        # the target runs through its backend, found by kind
        from jupyter_amlrun.core.computetarget import resolve_backend

        assert isinstance(resolve_backend(ws, "tube"), TubeBackend)
        assert compute_backends.target_class("AmlCompute").__name__ == "AmlCompute"
        assert compute_backends.target_class("Gopher") is None
        target.delete()
        assert calls == ["provision tube 3", "deprovision tube tube://here"]
    finally:
        compute_backends._targets.pop("Tube", None)
        compute_backends._loaded.pop("Tube", None)
        globals()["_TubeCompute"] = _TubeCompute_placeholder


_TubeCompute_placeholder = _TubeCompute
