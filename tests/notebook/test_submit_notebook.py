"""notebooks/submit-magics.ipynb runs headless under nbclient: %%submit, the widget without a front end, summary."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import nbformat
import pytest
from nbclient import NotebookClient

pytestmark = pytest.mark.integration
NOTEBOOK = Path(__file__).resolve().parents[2] / "notebooks" / "submit-magics.ipynb"
WIDGET_MIME = "application/vnd.jupyter.widget-view+json"


def test_submit_magics_notebook(ws: Any, tmp_path: Path) -> None:
    work = tmp_path / "nb"
    work.mkdir()
    ws.write_config(str(work))
    shutil.copy(NOTEBOOK, work)
    nb = nbformat.read(work / NOTEBOOK.name, as_version=4)
    # Bounded: a kernel without a front end must not hang on the widget's thread.
    client = NotebookClient(
        nb, timeout=120, startup_timeout=60, kernel_name="python3", resources={"metadata": {"path": str(work)}}
    )
    client.execute()
    code = [c for c in nb.cells if c.cell_type == "code"]
    submit_cell = next(c for c in code if c.source.startswith("%%submit"))
    assert (work / "magics-demo" / "train.py").read_text().startswith("import argparse")
    (out,) = [o for o in submit_cell.outputs if "static summary" in "".join(o.get("data", {}).get("text/html", ""))]
    # The run ended while a later cell ran: the output keeps the interactive widget (while the kernel lives) and
    # carries the static summary as its HTML, for front ends without the extension (GitHub, nbviewer).
    assert WIDGET_MIME in out["data"]
    html = out["data"]["text/html"]
    assert "static summary" in html and "Completed" in html and "data:image/png;base64," in html
    text = "\n".join(o.get("text", "") for c in code for o in c.outputs)
    assert "Execution Summary" in text and "epoch 14" in text
    results = [o["data"]["text/plain"] for c in code for o in c.outputs if o.get("output_type") == "execute_result"]
    assert "'Completed'" in results and "(15, 0.2059)" in results
    shown = next(c for c in code if c.source.startswith("RunDetails("))
    assert "static summary" in shown.outputs[0]["data"]["text/html"]
    assert "magics-demo" in next(c for c in code if c.source.startswith("%amlrun")).outputs[0]["data"]["text/plain"]
    # The widget state is saved with the notebook (model of each RunDetails).
    state = nb.metadata["widgets"]["application/vnd.jupyter.widget-state+json"]["state"]
    assert any(m["state"].get("status") == "Completed" for m in state.values())
