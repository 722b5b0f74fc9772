"""The AML sidebar in a real JupyterLab 4, driven in Debian Chromium.

One notebook drives the whole flow (one kernel start, a shared live run): open the sidebar, browse a datastore
folder, see a model's versions newest first, open a run and insert its RunDetails cell, compare two runs, cancel a
live run, and follow the URL ``run.get_portal_url()`` prints in the kernel. The README's screenshot
(docs/sidebar.png) is taken here.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from typing import Any

import pytest

from jupyter_amlrun.view.model import CLASS_COLORS, series_color
from tests.ui.conftest import ARTIFACTS, REPO, LabServer, labextension_built, write_notebook
from tests.ui.test_run_details_ui import LONG_SCRIPT, run_cells, wait_kernel_idle

pytestmark = pytest.mark.ui

SIDEBAR = "#jupyter-amlrun-sidebar"
SCREENSHOT = REPO / "docs" / "sidebar.png"

# Runs in a subprocess against the lab's workspace (found from its root like the kernel finds it).
SEED = textwrap.dedent(
    """
    import json, sys
    from pathlib import Path
    from jupyter_amlrun import Dataset, Experiment, Model, Workspace

    root = Path(sys.argv[1])
    ws = Workspace.from_config(path=str(root))
    src = root / "seed-files"
    for rel, size in [("train/images/cat.png", 2048), ("train/images/dog.png", 4096), ("train/labels.csv", 300),
                      ("readme.txt", 12)]:
        f = src / rel
        f.parent.mkdir(parents=True, exist_ok=True)
        f.write_bytes(b"x" * size)
    store = ws.get_default_datastore()
    store.upload(str(src), target_path="", overwrite=True, show_progress=False)
    Dataset.File.from_files((store, "train")).register(ws, "sb-images", description="Training images")

    runs = []
    for i, lr in enumerate([0.1, 0.01]):
        run = Experiment(ws, "ui-sidebar").start_logging(snapshot_directory=None, display_name=f"trial-{i}")
        run.log("lr", lr)
        for step in range(10):
            run.log("loss", (1.0 + i) / (step + 1))
        if i == 0:  # a log longer than a view's first read (64 KiB): "Load earlier output" fetches the rest
            logs = run._folder.logs_dir / "user_logs"
            logs.mkdir(parents=True, exist_ok=True)
            (logs / "std_log.txt").write_text("".join(f"line {n:05d} of the long log\\n" for n in range(4000)))
        run.complete()
        runs.append(run.id)
    # A sweep parent (its properties name it; HyperDrive's section draws its children) with two children.
    sweep = Experiment(ws, "ui-sweep").start_logging(snapshot_directory=None, display_name="sweep")
    sweep.add_properties({"azureml.runsource": "hyperdrive",
                          "primary_metric_config": json.dumps({"name": "acc", "goal": "maximize"})})
    for k, rate in enumerate([0.1, 0.3]):
        child = sweep.child_run(name=f"HD_{k}")
        child.tag("hyperparameters", json.dumps({"--lr": rate}))
        for step in range(3):
            child.log("acc", rate * (step + 1), step=step)
        child.complete()
    sweep.complete()
    weights = root / "seed-files" / "model.pkl"
    weights.write_bytes(b"weights")
    for n in range(2):
        Model.register(ws, str(weights), "sb-model", tags={"round": str(n + 1)}, description=f"round {n + 1}")
    print(json.dumps({"runs": runs, "datastore": store.name, "sweep": sweep.id}))
    """
)


@pytest.fixture(scope="module")
def seeded(lab: LabServer) -> Iterator[dict[str, Any]]:
    if not labextension_built():
        pytest.skip("the sidebar is not built: run `make labext` (or `make install`)")
    proc = subprocess.run(
        [sys.executable, "-c", SEED, str(lab.root)], capture_output=True, text=True, timeout=120, check=False
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    data: dict[str, Any] = json.loads(proc.stdout.strip().splitlines()[-1])
    (lab.root / "seed.json").write_text(json.dumps(data))
    yield data


def _rgb(hex_colour: str) -> str:
    """``#2e7d32`` as the browser's computed ``rgb(46, 125, 50)``."""
    r, g, b = (int(hex_colour[i : i + 2], 16) for i in (1, 3, 5))
    return f"rgb({r}, {g}, {b})"


def sidebar_item(page: Any, kind: str, name: str) -> Any:
    return page.locator(f'{SIDEBAR} .jp-amlrun-{kind}[data-name="{name}"]').first


def expand(page: Any, kind: str, name: str) -> Any:
    item = sidebar_item(page, kind, name)
    item.wait_for()
    if "jp-amlrun-open" not in (item.get_attribute("class") or ""):
        item.locator(".jp-amlrun-expander").first.click()
    return item


def test_sidebar_flow(lab: LabServer, page: Any, seeded: dict[str, Any]) -> None:
    t0 = time.monotonic()
    # The lab fixture pins AMLRUN_PORTAL_URL for the RunDetails tests; drop it in this kernel so the URL comes from
    # the discovery of the kernel's own Jupyter server (its runtime file), as for a user.
    portal_cell = (
        "import json, os\n"
        "os.environ.pop('AMLRUN_PORTAL_URL', None)\n"
        "from jupyter_amlrun import Run, Workspace\n"
        "ws = Workspace.from_config()\n"
        "print('PORTAL', Run.get(ws, json.load(open('seed.json'))['runs'][0]).get_portal_url())"
    )
    write_notebook(
        lab.root / "sidebar.ipynb",
        [
            "%load_ext jupyter_amlrun",
            "%%submit --experiment ui-sidebar-live --source-dir src_sidebar\n" + LONG_SCRIPT,
            portal_cell,
        ],
    )
    page.goto(lab.lab_url("sidebar.ipynb"))
    wait_kernel_idle(page)
    run_cells(page, 3)

    # The AML tab in the left sidebar, with its own icon.
    tab = page.locator('.jp-SideBar.jp-mod-left li[data-id="jupyter-amlrun-sidebar"]')
    tab.wait_for()
    assert tab.locator("svg").count() == 1
    tab.click()
    page.locator(SIDEBAR).wait_for(state="visible")
    # A wider sidebar than the default, for the screenshot: drag the splitter between it and the notebook.
    handle = page.locator("#jp-main-split-panel > .lm-SplitPanel-handle").first
    box = handle.bounding_box()
    if box:
        page.mouse.move(box["x"] + box["width"] / 2, box["y"] + 200)
        page.mouse.down()
        page.mouse.move(box["x"] + 160, box["y"] + 200, steps=5)
        page.mouse.up()

    # Datastores: the default one, then into train/ and train/images/ (sizes shown).
    store = expand(page, "datastore", seeded["datastore"])
    store.locator('.jp-amlrun-entry[data-path="train"]').click()
    store.locator('.jp-amlrun-entry[data-path="train/images"]').click()
    cat = store.locator('.jp-amlrun-entry[data-path="train/images/cat.png"]')
    cat.wait_for()
    assert cat.locator(".jp-amlrun-size").inner_text() == "2.0 KB"
    assert store.locator(".jp-amlrun-entry").count() == 2
    assert store.locator(".jp-amlrun-crumbs").inner_text().replace(" ", "").endswith("/train/images")

    # Drop a file on the open folder: it uploads there (the same DragEvent a file dragged from the desktop fires).
    store.locator(".jp-amlrun-folder").evaluate(
        """el => {
            const dt = new DataTransfer();
            dt.items.add(new File(['hello from the browser'], 'dropped.txt', {type: 'text/plain'}));
            el.dispatchEvent(new DragEvent('drop', {dataTransfer: dt, bubbles: true, cancelable: true}));
        }"""
    )
    store.locator('.jp-amlrun-entry[data-path="train/images/dropped.txt"]').wait_for()
    # The embedded default datastore is a folder of the workspace.
    dropped = lab.workspace_path / "datastores" / "workspaceblobstore" / "data" / "train" / "images" / "dropped.txt"
    assert dropped.read_bytes() == b"hello from the browser"
    assert store.locator(".jp-amlrun-entry").count() == 3

    # Datasets: the registered one with its source.
    dataset = expand(page, "dataset", "sb-images")
    assert "Training images" in dataset.inner_text()

    # Models: versions newest first, with tags.
    model = expand(page, "model", "sb-model")
    model.locator(".jp-amlrun-model-version").first.wait_for()
    versions = [v.get_attribute("data-version") for v in model.locator(".jp-amlrun-model-version").all()]
    assert versions == ["2", "1"], versions
    assert "round=2" in model.locator(".jp-amlrun-model-version").first.inner_text()

    # Experiments and runs: each row drawn from the texts the server made by the widget's rules (view/model.py).
    experiment = expand(page, "experiment", "ui-sidebar")
    assert experiment.locator(".jp-amlrun-counts").first.inner_text().strip() == "2 runs"
    first, second = seeded["runs"]
    row = experiment.locator(f'.jp-amlrun-run[data-run-id="{first}"]')
    row.wait_for()
    assert set(row.locator(".jp-amlrun-metrics").inner_text().split()) == {"lr=0.1", "loss=0.1"}
    assert re.fullmatch(r"(\d+m )?\d+s", row.locator(".jp-amlrun-duration").inner_text())
    row_badge = row.locator(".jp-amlrun-status.amlrun-status")
    assert row_badge.inner_text() == "Completed"
    assert row_badge.evaluate("e => getComputedStyle(e).backgroundColor") == _rgb(CLASS_COLORS["ok"])

    # Open a finished run, insert its RunDetails cell into the notebook.
    row.click()
    view = page.locator(f"{SIDEBAR} .jp-amlrun-runview")
    # The run renderer of the RunDetails widget, fed over REST (labextension/src/runview/).
    view.locator('.amlrun-rd[data-transport="rest"][data-status="Completed"]').wait_for(timeout=60_000)
    assert first in view.inner_text()
    # Its long log shows its end first; "Load earlier output" reads the rest over REST (runs/{id}/logs?before=).
    log = view.locator("pre.amlrun-log")
    page.wait_for_function("el => el.textContent.includes('line 03999')", arg=log.element_handle(), timeout=30_000)
    assert "line 00000 " not in log.inner_text()
    more = view.locator("button.amlrun-log-more")
    assert more.is_visible()
    more.click()
    page.wait_for_function("el => el.textContent.startsWith('line 00000 ')", arg=log.element_handle(), timeout=30_000)
    assert log.inner_text().count("of the long log") == 4000 and more.is_hidden()
    page.screenshot(path=str(ARTIFACTS / "sidebar-load-earlier.png"))
    cells_before = page.locator(".jp-Notebook .jp-Cell").count()
    view.locator("button.jp-amlrun-insert").click()
    page.wait_for_function("n => document.querySelectorAll('.jp-Notebook .jp-Cell').length === n + 1", arg=cells_before)
    sources = page.locator(".jp-Notebook .jp-Cell .jp-InputArea-editor").all_inner_texts()
    assert any(f"RunDetails(Run.get(ws, '{first}')).show()" in s for s in sources), sources

    # Compare the two runs: the compare view (view/compare.py) drawn with the run view's charts (uPlot), a line per
    # run in the colour the view gives it.
    for run_id in (first, second):
        experiment.locator(f'.jp-amlrun-run[data-run-id="{run_id}"] input.jp-amlrun-select').check()
    experiment.locator("button.jp-amlrun-compare-button").click()
    chart = experiment.locator('.jp-amlrun-compare .amlrun-chart[data-metric="loss"]')
    chart.wait_for()
    assert chart.get_attribute("data-lines") == "2" and chart.locator("canvas").count() == 1
    legend = experiment.locator(".jp-amlrun-compare .amlrun-compare-run")
    assert legend.all_inner_texts() == ["trial-0", "trial-1"]
    swatches = legend.locator(".amlrun-swatch").evaluate_all("els => els.map(e => getComputedStyle(e).backgroundColor)")
    assert swatches == [_rgb(series_color(0)), _rgb(series_color(1))]
    assert experiment.locator("svg").count() == 0  # the hand-made SVG chart is gone
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    experiment.screenshot(path=str(ARTIFACTS / "sidebar-compare.png"))

    # The README screenshot: the sidebar with a folder, a model and an open run.
    SCREENSHOT.parent.mkdir(exist_ok=True)
    page.screenshot(path=str(SCREENSHOT))
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "sidebar-browse.png"))

    # A sweep parent's view: its children's lines in the colours the view gives them, the value axis labelled by
    # the view's number rule (train/hyperdrive/section.py, view/model.py value_axis); nothing formatted in TS.
    sweeps = expand(page, "experiment", "ui-sweep")
    sweeps.locator(f'.jp-amlrun-run[data-run-id="{seeded["sweep"]}"]').click()
    lines = view.locator("svg.amlrun-sweep-lines polyline")
    lines.nth(1).wait_for(timeout=60_000)
    assert [line.get_attribute("stroke") for line in lines.all()] == [series_color(0), series_color(1)]
    ticks = view.locator("svg.amlrun-sweep-lines text").all_text_contents()
    assert ticks[:2] == ["0.1", "0.9"], ticks  # the best child (0.9) first, its colour the first
    assert view.locator(".amlrun-sweep-table tr[data-run]").count() == 2
    view.screenshot(path=str(ARTIFACTS / "sidebar-sweep.png"))

    # Cancel the live run the notebook submitted (its experiment is newer than the list: refresh first).
    # The notebook's %%submit may run after the list loaded (the kernel runs the cells in turn): once its RunDetails
    # shows the run, its experiment exists, and one refresh must list it.
    page.locator('.amlrun-rd[data-status="Running"]').wait_for(timeout=90_000)
    page.locator(f"{SIDEBAR} button.jp-amlrun-refresh").click()
    live = expand(page, "experiment", "ui-sidebar-live")
    live_row = live.locator(".jp-amlrun-run").first
    live_row.wait_for(timeout=30_000)
    live_row.click()
    cancel = view.locator('.amlrun-rd[data-status="Running"] button.amlrun-cancel:enabled')
    cancel.wait_for(timeout=30_000)
    cancel.click()
    view.locator('.amlrun-rd[data-status="Canceled"]').wait_for(timeout=45_000)
    assert view.locator("button.amlrun-cancel").is_disabled()
    page.screenshot(path=str(ARTIFACTS / "sidebar-canceled.png"))

    # Follow the link run.get_portal_url() printed in the kernel: Lab opens with that run in the sidebar.
    out = page.locator(".jp-OutputArea-output", has_text="PORTAL ").first
    out.wait_for(timeout=30_000)
    url = out.inner_text().split("PORTAL ", 1)[1].strip().split()[0]
    assert url.startswith(lab.url), (url, lab.url)
    page.goto(url)
    opened = page.locator(f"{SIDEBAR} .jp-amlrun-runview")
    opened.locator('.amlrun-rd[data-status="Completed"]').wait_for(timeout=60_000)
    assert first in opened.inner_text()
    page.screenshot(path=str(ARTIFACTS / "sidebar-portal-link.png"))
    lab.shut_down_kernels()
    assert time.monotonic() - t0 < 150
