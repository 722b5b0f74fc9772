"""RunDetails in a real JupyterLab 4 and Notebook 7, driven in Debian Chromium."""

from __future__ import annotations

import json
import os
import shutil
import time
from pathlib import Path
from typing import Any

import pytest

from tests.ui.conftest import ARTIFACTS, REPO, LabServer, labextension_built, write_notebook

pytestmark = pytest.mark.ui

LIVE_SCRIPT = """\
import time
from jupyter_amlrun import Run
run = Run.get_context()
run.log("lr", 0.01)
for i in range(20):
    run.log("loss", 1.0 / (i + 1))
    run.log("accuracy", 1.0 - 0.5 / (i + 1))
    print(f"tick {i}", flush=True)
    time.sleep(0.4)
run.log_row("epochs", epoch=20, loss=0.05)
print("training done", flush=True)
"""

LONG_SCRIPT = """\
import time
for i in range(600):
    print(f"still working {i}", flush=True)
    time.sleep(0.5)
"""


def wait_kernel_idle(page: Any) -> None:
    # The idle dot shows before the kernel accepts input; the status bar text is the reliable signal.
    page.locator(".jp-StatusBar-TextItem", has_text="Python 3 (ipykernel) | Idle").first.wait_for(timeout=90_000)


def run_cells(page: Any, count: int) -> None:
    """Run the first ``count`` cells; the first one is retried until it shows an execution count, since the kernel
    can look idle before it accepts input (a known flake)."""
    cells = page.locator(".jp-Notebook .jp-Cell")
    done = "() => /\\[\\d+\\]/.test(document.querySelector('.jp-Notebook .jp-Cell .jp-InputPrompt').textContent)"
    for attempt in range(4):
        cells.nth(0).locator(".jp-InputArea-editor").click()
        page.keyboard.press("Escape")
        page.keyboard.press("Control+Enter")
        try:
            page.wait_for_function(done, timeout=20_000)
            break
        except Exception:
            if attempt == 3:
                raise
    for i in range(1, count):
        cells.nth(i).locator(".jp-InputArea-editor").click()
        page.keyboard.press("Escape")
        page.keyboard.press("Control+Enter")


def widget_state(page: Any, metric: str) -> dict[str, Any]:
    return page.evaluate(
        """(metric) => {
            const rd = document.querySelector('.amlrun-rd');
            const chart = rd && rd.querySelector(`.amlrun-chart[data-metric="${metric}"]`);
            return {status: rd ? rd.getAttribute('data-status') : null,
                    points: chart ? Number(chart.getAttribute('data-points')) : 0};
        }""",
        metric,
    )


def saved_outputs(path: Path) -> list[dict[str, Any]]:
    nb = json.loads(path.read_text())
    return [o for c in nb["cells"] for o in c.get("outputs", [])]


SUMMARY = ".jp-OutputArea-output .amlrun-summary"


def wait_ended(page: Any, status: str, timeout: float = 90_000) -> Any:
    """The interactive view of a run that ended: it stays while the kernel lives (no static summary on screen)."""
    view = page.locator(f'.amlrun-rd[data-status="{status}"]').first
    view.wait_for(timeout=timeout)
    assert page.locator(SUMMARY).count() == 0, "the live view must stay; the summary is for readers without a kernel"
    return view


def save_until(page: Any, path: Path, found: Any, what: str) -> Any:
    """Save (Ctrl+S) until ``found(output)`` is true for an output of the notebook on disk; returns that output."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        page.keyboard.press("Control+s")
        time.sleep(1.0)
        for out in saved_outputs(path):
            if found(out):
                return out
    raise AssertionError(f"{what} never reached the saved notebook")


def save_until_summary_saved(page: Any, path: Path) -> tuple[str, str]:
    """Save until the ended run's output is on disk: the widget view, the run marker and, for readers without a kernel
    or the extension, the static summary as HTML. Returns (that HTML, the run id)."""
    out = save_until(
        page, path, lambda o: "static summary" in "".join(o.get("data", {}).get("text/html", "")), "the static summary"
    )
    assert WIDGET_MIME in out["data"] and RUN_MIME in out["data"], "the view stays; the marker reopens it"
    return "".join(out["data"]["text/html"]), str(out["data"][RUN_MIME]["run_id"])


def assert_reopens(page: Any, url: str, run_id: str, status: str, shot: str) -> None:
    """Open the saved notebook again on a fresh kernel: the extension shows the run, never the widget manager's
    error (without the built extension there is nothing of ours to show it: skipped)."""
    if not labextension_built():
        return
    page.goto(url)
    page.locator(".jp-Notebook .jp-Cell").first.wait_for(timeout=60_000)
    wait_fallback(page, run_id, status, shot)


WIDGET_MIME = "application/vnd.jupyter.widget-view+json"


def test_live_run_in_jupyterlab(lab: LabServer, page: Any) -> None:
    nb = "live.ipynb"
    write_notebook(
        lab.root / nb,
        [
            "%load_ext jupyter_amlrun",
            "%%submit --experiment ui-live --source-dir src_live --script train.py\n" + LIVE_SCRIPT,
        ],
    )
    page.goto(lab.lab_url(nb))
    wait_kernel_idle(page)
    run_cells(page, 2)

    page.locator('.amlrun-rd[data-status="Running"]').wait_for(timeout=90_000)
    # The chart gains points while the run is still Running.
    page.wait_for_function(
        """() => { const rd = document.querySelector('.amlrun-rd');
                   const c = rd.querySelector('.amlrun-chart[data-metric="loss"]');
                   return rd.getAttribute('data-status') === 'Running' && c && Number(c.dataset.points) >= 1; }""",
        timeout=60_000,
        polling=100,
    )
    first = widget_state(page, "loss")
    assert first["status"] == "Running" and 1 <= first["points"] < 20
    page.screenshot(path=str(ARTIFACTS / "live-running.png"))
    page.wait_for_function(
        f"""() => {{ const c = document.querySelector('.amlrun-chart[data-metric="loss"]');
                    return c && Number(c.dataset.points) > {first["points"]}; }}""",
        timeout=60_000,
        polling=100,
    )
    # Texts come formatted from the kernel's view model (.6g): "<last> (<n> pts)", the summary's number rule.
    label = page.locator('.amlrun-chart[data-metric="loss"] .amlrun-chart-value').text_content() or ""
    assert label.endswith(" pts)"), label
    # A metric logged once is a value, not an empty chart.
    lr = page.locator('.amlrun-chart[data-metric="lr"]')
    lr.wait_for(timeout=30_000)
    assert "amlrun-chart-single" in (lr.get_attribute("class") or "")
    assert lr.locator(".amlrun-chart-value").text_content() == "0.01" and lr.locator("canvas").count() == 0
    widget = page.locator(".amlrun-rd").first
    widget.scroll_into_view_if_needed()
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    widget.screenshot(path=str(ARTIFACTS / "run_details_live.png"))

    # The run ends: the interactive view stays (charts, log panel) with the final numbers.
    ended = wait_ended(page, "Completed")
    page.wait_for_function(
        "() => document.querySelector('.amlrun-log').textContent.includes('training done')", timeout=30_000
    )
    loss = ended.locator('.amlrun-chart[data-metric="loss"] .amlrun-chart-value').text_content() or ""
    accuracy = ended.locator('.amlrun-chart[data-metric="accuracy"] .amlrun-chart-value').text_content() or ""
    assert loss.startswith("0.05 ") and accuracy.startswith("0.975 "), (loss, accuracy)
    ended.scroll_into_view_if_needed()
    ended.screenshot(path=str(ARTIFACTS / "run_details_completed.png"))
    # The README's screenshot: refreshed on request only, so test runs leave the tracked file alone.
    docs_png = REPO / "docs" / "run_details.png"
    if os.environ.get("AMLRUN_UPDATE_SCREENSHOT") == "1" or not docs_png.exists():
        docs_png.parent.mkdir(exist_ok=True)
        shutil.copy(ARTIFACTS / "run_details_completed.png", docs_png)

    # The saved notebook holds the summary too, for readers without a kernel.
    saved, run_id = save_until_summary_saved(page, lab.root / nb)
    assert "Completed" in saved and "data:image/png;base64," in saved and "loss" in saved
    assert "<td>loss</td><td>0.05</td>" in saved and "<td>accuracy</td><td>0.975</td>" in saved
    # Reopened with a fresh kernel (the old one shut down): the run from the workspace, not "model not found".
    lab.shut_down_kernels()
    assert_reopens(page, lab.lab_url(nb), run_id, "Completed", "reopened_lab.png")
    # What a reader without a kernel (GitHub, nbviewer) sees.
    page.set_content(f"<html><body>{saved}</body></html>")
    page.screenshot(path=str(ARTIFACTS / "saved_summary.png"), full_page=True)


def test_cancel_button(lab: LabServer, page: Any) -> None:
    nb = "cancel.ipynb"
    write_notebook(
        lab.root / nb,
        ["%load_ext jupyter_amlrun", "%%submit --experiment ui-cancel --source-dir src_cancel\n" + LONG_SCRIPT],
    )
    page.goto(lab.lab_url(nb))
    wait_kernel_idle(page)
    run_cells(page, 2)
    page.locator('.amlrun-rd[data-status="Running"]').wait_for(timeout=90_000)
    page.wait_for_function(
        "() => document.querySelector('.amlrun-log').textContent.includes('still working')", timeout=30_000
    )
    # The header: a coloured status, a link to the run, a duration that ticks while it runs.
    assert page.locator(".amlrun-title .amlrun-status.amlrun-busy").text_content() == "Running"
    assert "amlrun-run=" in (page.locator(".amlrun-title a").get_attribute("href") or "")
    shown = page.locator(".amlrun-duration").text_content()
    page.wait_for_function(
        "(t) => document.querySelector('.amlrun-duration').textContent !== t", arg=shown, timeout=30_000
    )
    page.locator(".amlrun-cancel").click()
    ended = wait_ended(page, "Canceled", timeout=60_000)
    assert ended.locator(".amlrun-title .amlrun-status", has_text="Canceled").count() == 1
    assert "still working" in (ended.locator(".amlrun-log").text_content() or "")
    page.screenshot(path=str(ARTIFACTS / "canceled.png"))


def test_renders_in_notebook7(lab: LabServer, page: Any) -> None:
    nb = "nb7.ipynb"
    write_notebook(
        lab.root / nb,
        [
            "%load_ext jupyter_amlrun",
            "%%submit --experiment ui-nb7 --source-dir src_nb7\n"
            "from jupyter_amlrun import Run\nrun = Run.get_context()\n"
            "for i in range(5):\n    run.log('score', i * i)\nprint('nb7 says hi')\n",
        ],
    )
    page.goto(lab.notebook7_url(nb))
    page.locator(".jp-Notebook .jp-Cell").first.wait_for(timeout=60_000)
    page.locator(".jp-Notebook-ExecutionIndicator[data-status='idle']").first.wait_for(timeout=90_000)
    run_cells(page, 2)
    page.locator(".amlrun-rd").first.wait_for(timeout=90_000)  # the live view
    ended = wait_ended(page, "Completed")
    ended.locator('.amlrun-chart[data-metric="score"]').wait_for(timeout=30_000)
    page.wait_for_function(
        "() => document.querySelector('.amlrun-log').textContent.includes('nb7 says hi')", timeout=30_000
    )
    ended.screenshot(path=str(ARTIFACTS / "notebook7.png"))
    saved, run_id = save_until_summary_saved(page, lab.root / nb)
    assert "score" in saved and "nb7 says hi" in saved
    lab.shut_down_kernels()
    assert_reopens(page, lab.notebook7_url(nb), run_id, "Completed", "reopened_notebook7.png")


LOG_SCRIPT = """\
import time
for i in range(3000):
    print(f"line {i:05d} " + "x" * 60)
for i in range(40):
    print(f"late {i}", flush=True)
    time.sleep(0.3)
"""


def test_log_panel_follows_unless_scrolled_up_and_loads_earlier_output(lab: LabServer, page: Any) -> None:
    nb = "logs.ipynb"
    write_notebook(
        lab.root / nb,
        ["%load_ext jupyter_amlrun", "%%submit --experiment ui-logs --source-dir src_logs\n" + LOG_SCRIPT],
    )
    page.goto(lab.lab_url(nb))
    wait_kernel_idle(page)
    run_cells(page, 2)
    has = (
        "(s) => document.querySelector('.amlrun-log') && document.querySelector('.amlrun-log').textContent.includes(s)"
    )
    page.wait_for_function(has, arg="late 1", timeout=90_000)
    at_bottom = (
        "() => { const p = document.querySelector('.amlrun-log');"
        " return p.scrollHeight - p.scrollTop - p.clientHeight < 10; }"
    )
    assert page.evaluate(at_bottom)
    # Scrolled up by the user: new lines arrive but the view stays where the user put it.
    page.evaluate("() => { document.querySelector('.amlrun-log').scrollTop = 0; }")
    page.wait_for_function(has, arg="late 8", timeout=60_000)
    assert page.evaluate("() => document.querySelector('.amlrun-log').scrollTop") == 0
    # Back at the bottom: it follows again.
    page.evaluate("() => { const p = document.querySelector('.amlrun-log'); p.scrollTop = p.scrollHeight; }")
    page.wait_for_function(has, arg="late 14", timeout=60_000)
    assert page.evaluate(at_bottom)
    # A large log starts at its tail; "Load earlier output" fetches the rest, piece by piece.
    text = page.locator(".amlrun-log").text_content() or ""
    assert not text.startswith("line 00000")
    more = page.locator(".amlrun-log-more")
    for _ in range(20):
        if not more.is_visible():
            break
        before = len(page.locator(".amlrun-log").text_content() or "")
        more.click()
        page.wait_for_function(
            f"() => document.querySelector('.amlrun-log').textContent.length > {before}", timeout=30_000
        )
    assert not more.is_visible()
    assert (page.locator(".amlrun-log").text_content() or "").startswith("line 00000")
    page.locator(".amlrun-cancel").click()
    wait_ended(page, "Canceled", timeout=60_000)


RUN_MIME = "application/vnd.amlrun.rundetails+json"
FALLBACK = ".jp-Notebook .jp-amlrun-fallback"


def gated_script(gate: Path) -> str:
    """Logs five points, then waits (bounded) for ``gate`` to exist: the run stays Running while the test needs it."""
    return (
        "import os, time\n"
        "from jupyter_amlrun import Run\n"
        "run = Run.get_context()\n"
        "for i in range(5):\n"
        "    run.log('loss', 1.0 / (i + 1))\n"
        "print('waiting for the gate', flush=True)\n"
        "for _ in range(3000):\n"
        f"    if os.path.exists({str(gate)!r}):\n"
        "        break\n"
        "    time.sleep(0.2)\n"
        "run.log('loss', 0.1)\n"
        "print('gate passed', flush=True)\n"
    )


def save_until_marker_saved(page: Any, path: Path) -> str:
    """Save until the notebook on disk holds the live output (widget view + run marker); returns the run id."""
    out = save_until(
        page,
        path,
        lambda o: RUN_MIME in o.get("data", {}) and WIDGET_MIME in o.get("data", {}),
        "the live RunDetails output",
    )
    return str(out["data"][RUN_MIME]["run_id"])


def wait_fallback(page: Any, run_id: str, status: str, shot: str) -> Any:
    """The extension's view of the run (not the widget manager's error) shows under the cell, with that status: the
    widget's own run renderer, fed over REST."""
    view = page.locator(FALLBACK).first
    view.wait_for(timeout=90_000)
    view.locator(f'.amlrun-rd[data-transport="rest"][data-status="{status}"]').wait_for(timeout=60_000)
    assert run_id in (view.text_content() or "")
    page.wait_for_timeout(1_000)
    text = page.locator(".jp-Notebook").text_content() or ""
    assert "Error displaying widget" not in text and "model not found" not in text
    view.scroll_into_view_if_needed()
    view.screenshot(path=str(ARTIFACTS / shot))
    return view


def test_saved_while_live_shows_the_run_after_a_kernel_restart_and_a_reopen(lab: LabServer, page: Any) -> None:
    """A notebook saved while its run is live, reopened on a fresh kernel in JupyterLab and in Notebook 7 (and a
    kernel restart under the open notebook): the output shows the run from the workspace, live until it ends."""
    if not labextension_built():
        pytest.skip("the JupyterLab extension is not built (make install builds it)")
    nb = "reopen-live.ipynb"
    gate = lab.root / "reopen-gate"
    write_notebook(
        lab.root / nb,
        [
            "%load_ext jupyter_amlrun",
            "%%submit --experiment ui-reopen --source-dir src_reopen --script train.py\n" + gated_script(gate),
        ],
    )
    try:
        page.goto(lab.lab_url(nb))
        wait_kernel_idle(page)
        run_cells(page, 2)
        page.locator('.amlrun-rd[data-status="Running"]').wait_for(timeout=90_000)
        page.wait_for_function(
            """() => { const c = document.querySelector('.amlrun-chart[data-metric="loss"]');
                       return c && Number(c.dataset.points) >= 5; }""",
            timeout=60_000,
            polling=200,
        )
        run_id = save_until_marker_saved(page, lab.root / nb)

        # The kernel restarts under the open notebook (Kernel > Restart Kernel...): its widget models go with it.
        page.locator(".lm-MenuBar-itemLabel", has_text="Kernel").click()
        page.locator(".lm-Menu-itemLabel", has_text="Restart Kernel").first.click()
        page.locator(".jp-Dialog-button.jp-mod-accept").click()
        view = wait_fallback(page, run_id, "Running", "restarted_kernel_lab.png")
        assert page.locator(".amlrun-rd").count() == 0 or not page.locator(".amlrun-rd").first.is_visible()

        # Reopened on a fresh kernel: JupyterLab, then Notebook 7.
        lab.shut_down_kernels()
        page.goto(lab.lab_url(nb))
        view = wait_fallback(page, run_id, "Running", "reopened_live_lab.png")
        view.locator('.amlrun-chart[data-metric="loss"][data-points="5"]').wait_for(timeout=30_000)
        page.wait_for_function(
            f"() => (document.querySelector('{FALLBACK} .amlrun-log')?.textContent || '')"
            ".includes('waiting for the gate')",
            timeout=30_000,
        )

        lab.shut_down_kernels()
        page.goto(lab.notebook7_url(nb))
        view = wait_fallback(page, run_id, "Running", "reopened_live_notebook7.png")
        # The view is live: the run ends while it shows, and it says so without a kernel.
        gate.touch()
        view.locator('.amlrun-rd[data-status="Completed"]').wait_for(timeout=90_000)
        page.wait_for_function(
            """() => { const c = document.querySelector('.jp-amlrun-fallback .amlrun-chart[data-metric="loss"]');
                       return c && c.dataset.points === '6'; }""",
            timeout=30_000,
            polling=500,
        )
        view.screenshot(path=str(ARTIFACTS / "reopened_completed_notebook7.png"))
    finally:
        gate.touch()  # the run ends even when an assertion failed
