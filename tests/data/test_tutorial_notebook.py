"""notebooks/datasets-tutorial.ipynb runs top to bottom under nbclient (folder + Azurite blob, a real run)."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from tests.data.azurite import ACCOUNT_KEY

pytestmark = pytest.mark.integration
NOTEBOOK = Path(__file__).resolve().parents[2] / "notebooks" / "datasets-tutorial.ipynb"


def test_tutorial_notebook_runs(tmp_path: Path, azurite, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    import nbformat
    from nbclient import NotebookClient

    monkeypatch.setenv("AMLRUN_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("TUTORIAL_BLOB_ENDPOINT", azurite.endpoint)
    monkeypatch.setenv("TUTORIAL_BLOB_KEY", ACCOUNT_KEY)
    work = tmp_path / "nb"
    work.mkdir()
    shutil.copy(NOTEBOOK, work / NOTEBOOK.name)
    nb = nbformat.read(work / NOTEBOOK.name, as_version=4)
    NotebookClient(nb, timeout=240, kernel_name="python3", resources={"metadata": {"path": str(work)}}).execute()
    outputs = "\n".join(
        o.get("text", "") + str(o.get("data", {}).get("text/plain", ""))
        for cell in nb.cells
        if cell.cell_type == "code"
        for o in cell.outputs
    )
    assert "Uploaded 10 files" in outputs
    assert "AzureBlobDatastore(name='training'" in outputs and ACCOUNT_KEY not in outputs
    assert "cifar10 1 10 files" in outputs
    assert "files seen: 10" in outputs and "input_datasets: ['input']" in outputs
    assert "'files': 10" in outputs
    assert "test/img0.bin" in outputs
    assert os.environ.get("TUTORIAL_BLOB_KEY") == ACCOUNT_KEY
