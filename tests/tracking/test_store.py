"""TrackingStore: a new sqlite store starts from ``$AMLRUN_STORE_TEMPLATE`` when one is named, else MLflow migrates."""

from __future__ import annotations

from pathlib import Path

import pytest

from jupyter_amlrun.tracking.store import STORE_TEMPLATE_ENV, TrackingStore

pytestmark = pytest.mark.integration


def _template_with_marker(tmp_path: Path, mlflow_template_db: Path) -> Path:
    """A copy of the session's template holding an experiment that only a copy of it can have."""
    template = tmp_path / "template.db"
    template.write_bytes(mlflow_template_db.read_bytes())
    TrackingStore(f"sqlite:///{template}").get_or_create_experiment("from-the-template")
    return template


def test_new_store_is_a_copy_of_the_template(
    tmp_path: Path, mlflow_template_db: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(STORE_TEMPLATE_ENV, str(_template_with_marker(tmp_path, mlflow_template_db)))
    store = TrackingStore(f"sqlite:///{tmp_path / 'ws' / 'mlflow.db'}")
    (tmp_path / "ws").mkdir()
    store.initialize()
    assert store.get_experiment_id("from-the-template") is not None
    assert sorted(p.name for p in (tmp_path / "ws").iterdir()) == ["mlflow.db"]  # no partial copy left behind


def test_existing_store_is_never_overwritten(
    tmp_path: Path, mlflow_template_db: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(STORE_TEMPLATE_ENV, str(_template_with_marker(tmp_path, mlflow_template_db)))
    (tmp_path / "ws").mkdir()
    db = tmp_path / "ws" / "mlflow.db"
    db.write_bytes(mlflow_template_db.read_bytes())
    store = TrackingStore(f"sqlite:///{db}")
    store.get_or_create_experiment("mine")
    store.initialize()
    assert store.get_experiment_id("mine") is not None
    assert store.get_experiment_id("from-the-template") is None


@pytest.mark.parametrize("template", ["", "missing.db"])
def test_without_a_template_mlflow_migrates(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, template: str) -> None:
    monkeypatch.setenv(STORE_TEMPLATE_ENV, str(tmp_path / template) if template else "")
    store = TrackingStore(f"sqlite:///{tmp_path / 'new.db'}")
    store.initialize()
    assert store.get_experiment_id("Default") == "0" and store.list_experiments() == []


PRELOAD = """
import sys
from IPython.testing.globalipapp import start_ipython
assert "mlflow" not in sys.modules
ip = start_ipython()
ip.run_line_magic("load_ext", "jupyter_amlrun")
from jupyter_amlrun.tracking import store
assert store._preload is not None, "load_ext starts no MLflow preload"
s = store.TrackingStore("sqlite:///" + sys.argv[1])
s.initialize()  # waits for the preload, then uses the modules it imported
exp = s.get_or_create_experiment("e")
assert not store._preload.is_alive() and "mlflow.store.tracking.sqlalchemy_store" in sys.modules
print("ok", exp)
"""


def test_load_ext_preloads_mlflow_and_the_store_waits_for_it(tmp_path: Path) -> None:
    """``%load_ext jupyter_amlrun`` imports MLflow in the background (the first %%submit's ~2 s); the store waits."""
    import subprocess
    import sys

    proc = subprocess.run(
        [sys.executable, "-c", PRELOAD, str(tmp_path / "mlflow.db")], capture_output=True, text=True, timeout=300
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert proc.stdout.startswith("ok ")
