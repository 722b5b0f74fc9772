"""One run renderer: the live RunDetails widget, the run that ended in a live kernel, the output reopened on a fresh
kernel and the sidebar's run view are the same DOM (labextension/src/runview/render.ts), in JupyterLab and Notebook 7;
only the transport differs (``data-transport``: the widget's comm, or REST). Screenshots: test-artifacts/ui/one-*.png.
"""

from __future__ import annotations

import time
from typing import Any

import pytest

from tests.ui.conftest import ARTIFACTS, LabServer, labextension_built, write_notebook
from tests.ui.test_run_details_ui import (
    FALLBACK,
    gated_script,
    run_cells,
    save_until_marker_saved,
    save_until_summary_saved,
    wait_kernel_idle,
)

# Two runs and five page loads on loaded cores: more than the suite's 300 s default.
pytestmark = [pytest.mark.ui, pytest.mark.timeout(600)]

SIDEBAR = "#jupyter-amlrun-sidebar"

# The structure of a run view: its root's children, and its header's (tag.class each).
SHAPE_JS = """(rd) => {
    const shape = (el) => [...el.children].map((c) => c.tagName + '.' + c.className);
    return {root: shape(rd), header: shape(rd.querySelector('.amlrun-header')),
            transport: rd.dataset.transport, status: rd.dataset.status};
}"""


def shape(view: Any) -> dict[str, Any]:
    return dict(view.evaluate(SHAPE_JS))


def shot(view: Any, name: str) -> None:
    """A screenshot of ``view`` (a locator: resolved again on each try). The front end may replace the output's
    element while it is taken (the ended run's output gets its saved summary), so a detached element is retried."""
    from playwright.sync_api import Error

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    for attempt in range(3):
        try:
            view.scroll_into_view_if_needed()
            view.screenshot(path=str(ARTIFACTS / name))
            return
        except Error as exc:
            if "not attached" not in str(exc) or attempt == 2:
                raise
            time.sleep(1.0)


def test_the_same_renderer_everywhere(lab: LabServer, page: Any) -> None:
    if not labextension_built():
        pytest.skip("the JupyterLab extension is not built (make install builds it)")
    nb = "one-renderer.ipynb"
    gate = lab.root / "one-renderer-gate"
    write_notebook(
        lab.root / nb,
        [
            "%load_ext jupyter_amlrun",
            "%%submit --experiment ui-one --source-dir src_one --script train.py\n" + gated_script(gate),
        ],
    )
    cell_view = '.jp-Notebook .amlrun-rd[data-transport="comm"]'
    shapes: dict[str, dict[str, Any]] = {}
    try:
        # 1. The live widget (JupyterLab), over its comm.
        page.goto(lab.lab_url(nb))
        wait_kernel_idle(page)
        run_cells(page, 2)
        live = page.locator(f'{cell_view}[data-status="Running"]').first
        live.locator('.amlrun-chart[data-metric="loss"][data-points="5"]').wait_for(timeout=90_000)
        shapes["live widget, Lab"] = shape(live)
        shot(live, "one-1-live-widget-lab.png")
        run_id = save_until_marker_saved(page, lab.root / nb)

        # 2. The sidebar's run view, opened from the experiment's run list beside the live widget.
        page.locator('.jp-SideBar.jp-mod-left li[data-id="jupyter-amlrun-sidebar"]').click()
        page.locator(f"{SIDEBAR} button.jp-amlrun-refresh").click()
        experiment = page.locator(f'{SIDEBAR} .jp-amlrun-experiment[data-name="ui-one"]').first
        experiment.wait_for(timeout=60_000)
        if "jp-amlrun-open" not in (experiment.get_attribute("class") or ""):
            experiment.locator(".jp-amlrun-expander").first.click()
        experiment.locator(f'.jp-amlrun-run[data-run-id="{run_id}"]').click()
        side = page.locator(f'{SIDEBAR} .amlrun-rd[data-transport="rest"][data-status="Running"]')
        side.locator('.amlrun-chart[data-metric="loss"][data-points="5"]').wait_for(timeout=90_000)
        assert run_id in (side.text_content() or "")
        shapes["sidebar, Lab"] = shape(side)
        shot(page.locator(SIDEBAR), "one-2-sidebar-lab.png")

        # 3. The run ends while the kernel lives: the widget stays this view (no static summary on screen).
        gate.touch()
        ended = page.locator(f'{cell_view}[data-status="Completed"]').first
        ended.locator('.amlrun-chart[data-metric="loss"][data-points="6"]').wait_for(timeout=90_000)
        page.locator(f'{SIDEBAR} .amlrun-rd[data-status="Completed"]').wait_for(timeout=60_000)
        shapes["ended run, live kernel, Lab"] = shape(ended)
        shot(ended, "one-3-ended-live-kernel-lab.png")
        save_until_summary_saved(page, lab.root / nb)

        # 4. Reopened on a fresh kernel: JupyterLab, then Notebook 7, over REST.
        for where, url in (("Lab", lab.lab_url(nb)), ("Notebook 7", lab.notebook7_url(nb))):
            lab.shut_down_kernels()
            page.goto(url)
            reopened = page.locator(f'{FALLBACK} .amlrun-rd[data-transport="rest"][data-status="Completed"]').first
            reopened.locator('.amlrun-chart[data-metric="loss"][data-points="6"]').wait_for(timeout=90_000)
            text = page.locator(".jp-Notebook").text_content() or ""
            assert "Error displaying widget" not in text and "model not found" not in text
            shapes[f"reopened output, {where}"] = shape(reopened)
            shot(reopened, f"one-4-reopened-{where.replace(' ', '').lower()}.png")

        # 5. Notebook 7's live widget: the cell run again (the gate is open: the run ends soon) in a live kernel.
        page.locator(".jp-Notebook-ExecutionIndicator[data-status='idle']").first.wait_for(timeout=90_000)
        run_cells(page, 2)
        nb7 = page.locator(f'{cell_view}[data-status="Completed"]').first
        nb7.locator('.amlrun-chart[data-metric="loss"][data-points="6"]').wait_for(timeout=120_000)
        shapes["ended run, live kernel, Notebook 7"] = shape(nb7)
        shot(nb7, "one-5-widget-notebook7.png")
    finally:
        gate.touch()  # the run ends even when an assertion failed
        lab.shut_down_kernels()

    reference = shapes["live widget, Lab"]
    assert reference["root"][0] == "DIV.amlrun-header", reference
    for where, got in shapes.items():
        assert (got["root"], got["header"]) == (reference["root"], reference["header"]), (where, got, reference)
    transports = {where: got["transport"] for where, got in shapes.items()}
    assert transports == {
        "live widget, Lab": "comm",
        "sidebar, Lab": "rest",
        "ended run, live kernel, Lab": "comm",
        "reopened output, Lab": "rest",
        "reopened output, Notebook 7": "rest",
        "ended run, live kernel, Notebook 7": "comm",
    }
