"""%%submit keeps the notebook it came from: path, cell index and source, the kernel's Python in the run's properties,
and a copy of the notebook (as saved at submit) under outputs/notebook/; over the cap the copy is skipped and said.

A real ipykernel (nbclient) with JPY_SESSION_NAME set as jupyter_server sets it for the kernels it starts."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import nbformat
import pytest
from nbclient import NotebookClient

from jupyter_amlrun import Run
from jupyter_amlrun.notebook import origin
from jupyter_amlrun.server import service
from jupyter_amlrun.view.model import RunView
from jupyter_amlrun.view.watch import RunWatcher

pytestmark = pytest.mark.integration

SUBMIT = "%%submit --experiment nb-origin --source-dir nbsrc --no-widget --wait\nprint('from the cell')"


def _notebook(work: Path, extra: str = "") -> Path:
    nb = nbformat.v4.new_notebook()
    nb.cells = [
        nbformat.v4.new_code_cell("%load_ext jupyter_amlrun"),
        nbformat.v4.new_markdown_cell("padding" + extra),
        nbformat.v4.new_code_cell(SUBMIT),
        nbformat.v4.new_code_cell("run.id"),
    ]
    path = work / "origin.ipynb"
    nbformat.write(nb, path)
    return path


def _execute(path: Path, work: Path) -> str:
    nb = nbformat.read(path, as_version=4)
    client = NotebookClient(
        nb, timeout=120, startup_timeout=60, kernel_name="python3", resources={"metadata": {"path": str(work)}}
    )
    client.execute()
    result = nb.cells[3].outputs[0]["data"]["text/plain"]
    return str(json.loads(result.replace("'", '"')))


def test_submit_records_and_copies_the_notebook(ws: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    work = tmp_path / "proj"
    work.mkdir()
    ws.write_config(str(work))
    path = _notebook(work)
    monkeypatch.setenv(origin.SESSION_ENV, "sub/origin.ipynb")  # relative to a server root; the kernel is in work/
    run = Run.get(ws, _execute(path, work))
    props = run.get_properties()
    assert props["notebook_path"] == str(path.resolve())
    assert props["notebook_cell_index"] == "2"
    assert props["notebook_cell_source"] == SUBMIT
    assert "python" in props["notebook_python"].lower() and props["notebook_copy"] == "outputs/notebook/origin.ipynb"
    assert "outputs/notebook/origin.ipynb" in run.get_file_names()
    copy = run.download_file("outputs/notebook/origin.ipynb", str(tmp_path / "copy.ipynb"))
    assert nbformat.read(copy, as_version=4).cells[2].source == SUBMIT
    assert run.get_status() == "Completed"
    # the run view links back to it: relative to the Jupyter root (here tmp_path, the notebook is proj/origin.ipynb)
    view = RunView(run.id, root_dir=str(tmp_path.resolve()))
    header = view.apply(RunWatcher(run).snapshot()).header
    want = {"path": "proj/origin.ipynb", "cell": 2, "text": "From proj/origin.ipynb (cell 2)"}
    assert header is not None and header["origin"] == want
    # the sidebar's view (REST) says the same, with the server's root
    assert service.run_view(ws, run.id, None, tmp_path)["header"]["origin"] == want
    # a notebook outside the root: named in full, no path to open
    outside = service.run_view(ws, run.id, None, tmp_path / "elsewhere")["header"]["origin"]
    assert outside == {"path": "", "cell": 2, "text": f"From {path.resolve()} (cell 2)"}


def test_over_the_cap_the_copy_is_skipped_and_said(ws: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    work = tmp_path / "proj"
    work.mkdir()
    ws.write_config(str(work))
    path = _notebook(work, extra="x" * 5000)
    monkeypatch.setenv(origin.SESSION_ENV, str(path))  # an absolute path works too
    monkeypatch.setenv(origin.MAX_COPY_ENV, "1000")
    run = Run.get(ws, _execute(path, work))
    note = run.get_properties()["notebook_copy"]
    assert note.startswith("skipped") and "1000-byte cap" in note
    assert not any(n.startswith("outputs/notebook/") for n in run.get_file_names())
    nb = nbformat.read(path, as_version=4)  # the notebook itself is unchanged on disk
    assert len(nb.cells) == 4


def test_outside_a_session_no_path(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(origin.SESSION_ENV, raising=False)
    assert origin.notebook_path() is None
