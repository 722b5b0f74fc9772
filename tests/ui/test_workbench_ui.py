"""The run workbench in a real JupyterLab 4, driven in Debian Chromium: the compare view of two runs
(``RunDetails([a, b]).show()``), a run's System section, the end-of-run notification of a run submitted from this
browser while the user looks at another tab (its action opens the run view; none after ``%amlrun notify off``),
the run view's link back to the notebook the run came from, "Re-run..." from the run view with the arguments
edited, and the sidebar's "Diff" of two selected runs. Screenshots go to test-artifacts/ui/workbench-*.png.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from typing import Any

import pytest

from tests.ui.conftest import ARTIFACTS, LabServer, labextension_built, write_notebook
from tests.ui.test_run_details_ui import run_cells, wait_kernel_idle
from tests.ui.test_sidebar_ui import SIDEBAR, expand

pytestmark = pytest.mark.ui

# Two finished runs of one experiment with snapshots that differ in train.py, different params, a loss curve each,
# and system/... samples on the first (what the driver's sampler logs).
SEED = textwrap.dedent(
    """
    import json, sys
    from pathlib import Path
    from jupyter_amlrun import Experiment, Workspace

    root = Path(sys.argv[1])
    ws = Workspace.from_config(path=str(root))
    runs = []
    for i, lr in enumerate([0.1, 0.02]):
        src = root / f"bench-src{i}"
        src.mkdir(exist_ok=True)
        (src / "train.py").write_text(f"lr = {lr}\\nprint('training with', lr)\\n")
        (src / "util.py").write_text("HELPER = 1\\n")
        run = Experiment(ws, "ui-bench").start_logging(snapshot_directory=str(src), display_name=f"bench-{i}")
        for step in range(12):
            run.log("loss", (1.0 + i) / (step + 1))
            run.log("accuracy", 0.5 + 0.04 * step * (1 - i / 2))
        if i == 0:
            for k in range(8):
                run.log("system/cpu_utilization_percentage", 20.0 + 5 * k)
                run.log("system/memory_usage_megabytes", 300.0 + 10 * k)
        ws.store.client.log_param(run.id, "lr", str(lr))
        ws.store.client.log_param(run.id, "optimizer", "adam")
        run.complete()
        runs.append(run.id)
    # a run without a source snapshot: its diff says that side is missing instead of failing
    with Experiment(ws, "ui-bench").start_logging(snapshot_directory=None, display_name="no-snapshot") as run:
        run.log("loss", 0.5)
    print(json.dumps({"runs": runs, "nosnap": run.id}))
    """
)

# A run that ends when the test says so (the file GO appears), so it ends while the user looks at another tab.
WAIT_SCRIPT = """\
import os, time
print("working", flush=True)
for _ in range(1500):  # at most 5 minutes
    if os.path.exists({go!r}):
        break
    time.sleep(0.2)
print("done", flush=True)
"""


@pytest.fixture(scope="module")
def seeded(lab: LabServer) -> Iterator[dict[str, Any]]:
    if not labextension_built():
        pytest.skip("the sidebar is not built: run `make labext` (or `make install`)")
    proc = subprocess.run(
        [sys.executable, "-c", SEED, str(lab.root)], capture_output=True, text=True, timeout=120, check=False
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    data: dict[str, Any] = json.loads(proc.stdout.strip().splitlines()[-1])
    (lab.root / "bench-seed.json").write_text(json.dumps(data))
    yield data


def api(lab: LabServer, path: str) -> Any:
    """``lab.api(path)``, asked again while the server is too busy to answer in time (a loaded CI machine)."""
    for attempt in range(6):
        try:
            return lab.api(path)
        except OSError:
            if attempt == 5:
                raise
            time.sleep(1.0)


def shot(target: Any, name: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    target.screenshot(path=str(ARTIFACTS / f"workbench-{name}.png"))


def test_workbench_flow(lab: LabServer, page: Any, seeded: dict[str, Any]) -> None:
    first, second = seeded["runs"]
    load = (
        "import json\n"
        "from jupyter_amlrun import Run, RunDetails, Workspace\n"
        "ws = Workspace.from_config()\n"
        "ids = json.load(open('bench-seed.json'))['runs']"
    )
    notify_go, quiet_go = lab.root / "notify.go", lab.root / "quiet.go"
    write_notebook(
        lab.root / "workbench.ipynb",
        [
            "%load_ext jupyter_amlrun",
            load,
            "RunDetails([Run.get(ws, i) for i in ids]).show()",
            "RunDetails(Run.get(ws, ids[0])).show()",
            "%%submit --experiment ui-bench-notify --source-dir src_notify\n" + WAIT_SCRIPT.format(go=str(notify_go)),
            # after `%amlrun notify off` a run shown here raises no notice (it ends before the one above)
            "%amlrun notify off",
            "%%submit --experiment ui-bench-quiet --source-dir src_quiet\n" + WAIT_SCRIPT.format(go=str(quiet_go)),
        ],
    )
    page.goto(lab.lab_url("workbench.ipynb"))
    wait_kernel_idle(page)
    run_cells(page, 7)

    # 1. The compare view: one chart per metric with a line per run, the params table with the differing row first.
    compare = page.locator(".amlrun-compare")
    compare.locator('.amlrun-chart[data-metric="loss"][data-lines="2"]').wait_for(timeout=90_000)
    assert compare.locator('.amlrun-chart[data-metric="accuracy"][data-lines="2"]').count() == 1
    assert compare.locator(".amlrun-chart").count() == 2  # system/... samples are each run's own section
    assert compare.locator(".amlrun-compare-run").count() == 2
    assert "bench-0" in compare.inner_text() and "bench-1" in compare.inner_text()
    rows = compare.locator('table[data-table="params"] tr')
    assert rows.nth(1).locator("td").all_inner_texts() == ["lr", "0.1", "0.02"]
    assert rows.nth(2).locator("td").all_inner_texts() == ["optimizer", "adam", "adam"]
    assert compare.locator("canvas").count() == 2  # drawn by uPlot
    compare.scroll_into_view_if_needed()
    shot(compare, "compare")

    # 2. The System section: the system/... samples under their own heading, apart from the script's metrics.
    single = page.locator('.amlrun-rd[data-transport="comm"][data-status="Completed"]').first
    system = single.locator(".amlrun-system")
    system.locator('.amlrun-chart[data-metric="system/cpu_utilization_percentage"]').wait_for(timeout=60_000)
    assert single.locator(".amlrun-system-head").is_visible()
    assert system.locator(".amlrun-chart").count() == 2
    assert single.locator('.amlrun-charts:not(.amlrun-system) .amlrun-chart[data-metric^="system/"]').count() == 0
    # titled by the short name (the section says "System"); the value axis (drawn on the canvas: see the
    # screenshot) is labelled by the unit, as the view model says (tests/view/test_model.py)
    cpu = system.locator('.amlrun-chart[data-metric="system/cpu_utilization_percentage"]')
    assert cpu.locator(".amlrun-chart-title b").inner_text() == "cpu_utilization_percentage"
    single.scroll_into_view_if_needed()
    shot(single, "system")

    # 3. The notification: the %%submit run ends while the user looks at another tab (a new Launcher).
    page.locator('.amlrun-rd[data-transport="comm"][data-status="Running"]').first.wait_for(timeout=90_000)
    page.locator(".jp-mod-current .lm-TabBar-addButton, .lm-DockPanel-tabBar .lm-TabBar-addButton").first.click()
    page.locator(".jp-Launcher").first.wait_for()
    # The quiet run (shown after `%amlrun notify off`) ends first, then the other; the watcher polls the runs in the
    # order they were shown, so a notice for the quiet run would come no later than the other's.
    page.locator('.amlrun-rd[data-transport="comm"][data-status="Running"]').nth(1).wait_for(state="attached")
    quiet_go.touch()
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        quiet = api(lab, "/amlrun/api/runs?experiment=ui-bench-quiet")["items"]
        if quiet and quiet[0]["status"] == "Completed":
            break
        time.sleep(0.5)
    notify_go.touch()
    toast = page.locator(".Toastify__toast", has_text="ui-bench-notify")
    toast.wait_for(timeout=90_000)
    assert "ended: Completed" in toast.inner_text()
    assert len(quiet) == 1 and quiet[0]["status"] == "Completed", quiet  # it ended first, and said nothing
    assert page.locator(".Toastify__toast", has_text="ui-bench-quiet").count() == 0
    # the toast slides in from the right: shoot once it is whole on screen
    page.wait_for_function(
        "() => { const t = document.querySelector('.Toastify__toast');"
        " return t && t.getBoundingClientRect().right <= window.innerWidth; }"
    )
    shot(page, "notification")
    toast.locator("button", has_text="Open run").click()
    view = page.locator(f"{SIDEBAR} .jp-amlrun-runview")
    view.locator('.amlrun-rd[data-transport="rest"][data-status="Completed"]').wait_for(timeout=60_000)
    notify_runs = api(lab, "/amlrun/api/runs?experiment=ui-bench-notify")["items"]
    assert len(notify_runs) == 1
    notified = notify_runs[0]["id"]
    assert notified in view.inner_text()
    # The run view links back to the notebook the %%submit run came from: the widget by a lab/tree URL, the
    # sidebar through JupyterLab's document manager (here: back to the notebook's tab, at that cell).
    widget_link = page.locator('.amlrun-rd[data-transport="comm"] a.amlrun-origin-link').first
    assert (widget_link.get_attribute("href") or "").endswith("/lab/tree/workbench.ipynb")
    origin = view.locator("a.amlrun-origin-link")
    assert origin.inner_text() == "From workbench.ipynb (cell 4)"
    assert page.locator(".jp-Launcher").first.is_visible()  # the user still looks at the other tab
    origin.click()
    page.wait_for_function(
        "() => { const nb = [...document.querySelectorAll('.jp-NotebookPanel')].find(p => p.offsetParent);"
        " return nb && nb.querySelectorAll('.jp-Cell')[4]?.classList.contains('jp-mod-active'); }",
        timeout=30_000,
    )
    assert not page.locator(".jp-Launcher").first.is_visible()
    shot(page, "origin")

    # 4. Re-run... from the run view with the arguments edited: a new run from the same snapshot opens.
    view.locator("button.jp-amlrun-rerun-button").click()
    form = page.locator(f"{SIDEBAR} .jp-amlrun-rerun")
    form.wait_for()
    form.locator("textarea.jp-amlrun-rerun-args").fill("--epochs\n3")
    shot(page.locator(SIDEBAR), "rerun-form")
    form.locator("button.jp-amlrun-rerun-submit").click()
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        items = api(lab, "/amlrun/api/runs?experiment=ui-bench-notify")["items"]
        if len(items) == 2:
            break
        time.sleep(0.5)
    (new,) = [r["id"] for r in items if r["id"] != notified]
    page.wait_for_function(
        "([sel, id]) => (document.querySelector(sel)?.innerText || '').includes(id)",
        arg=[f"{SIDEBAR} .jp-amlrun-runview", new],
        timeout=30_000,
    )
    detail = api(lab, f"/amlrun/api/runs/{new}")
    assert detail["details"]["runDefinition"]["arguments"] == ["--epochs", "3"]
    assert detail["details"]["tags"].get("resubmit_of") == notified
    shot(page.locator(SIDEBAR), "rerun-opened")

    # 5. The sidebar's Diff of the two seeded runs: params, metrics, environment, inputs, code with its unified diff.
    # A wider sidebar for the screenshot: drag the splitter between it and the main area.
    handle = page.locator("#jp-main-split-panel > .lm-SplitPanel-handle").first
    box = handle.bounding_box()
    if box:
        page.mouse.move(box["x"] + box["width"] / 2, box["y"] + 200)
        page.mouse.down()
        page.mouse.move(box["x"] + 360, box["y"] + 200, steps=5)
        page.mouse.up()
    page.locator(f"{SIDEBAR} button.jp-amlrun-refresh").click()
    experiment = expand(page, "experiment", "ui-bench")
    for run_id in (first, second):
        experiment.locator(f'.jp-amlrun-run[data-run-id="{run_id}"] input.jp-amlrun-select').check()
    experiment.locator("button.jp-amlrun-diff-button").click()
    diff = experiment.locator(".jp-amlrun-diff")
    diff.wait_for(timeout=30_000)
    params = diff.locator('[data-section="params"] tr.jp-amlrun-differs')
    assert params.first.locator("td").all_inner_texts()[:3] == ["lr", "0.1", "0.02"]
    assert diff.locator('[data-section="metrics"] tr').count() == 3  # header, accuracy, loss
    code = diff.locator('[data-section="code"]')
    assert "1 changed, 0 added, 0 removed, 1 unchanged" in code.inner_text()
    changed = code.locator('.jp-amlrun-diff-file[data-path="train.py"][data-change="changed"]')
    assert changed.locator(".jp-amlrun-diff-add").first.inner_text().startswith("+lr = 0.02")
    assert changed.locator(".jp-amlrun-diff-del").first.inner_text().startswith("-lr = 0.1")
    diff.scroll_into_view_if_needed()
    shot(page.locator(SIDEBAR), "diff")

    # A side without a snapshot: the code part says so, the other parts still compare.
    experiment.locator(f'.jp-amlrun-run[data-run-id="{second}"] input.jp-amlrun-select').uncheck()
    experiment.locator(f'.jp-amlrun-run[data-run-id="{seeded["nosnap"]}"] input.jp-amlrun-select').check()
    experiment.locator("button.jp-amlrun-diff-button").click()
    missing = experiment.locator(f'.jp-amlrun-diff[data-runs="{first},{seeded["nosnap"]}"] .jp-amlrun-diff-missing')
    missing.wait_for(timeout=30_000)
    assert "no-snapshot: run " in missing.inner_text() and "has no source snapshot" in missing.inner_text()
    assert experiment.locator('.jp-amlrun-diff [data-section="metrics"] tr').count() == 3
    shot(page.locator(SIDEBAR), "diff-missing")
    lab.shut_down_kernels()
