"""Browser cost of a RunDetails update: a chart holding 100k points appends 100 points (issue 3).

The built bundle (jupyter_amlrun/notebook/static/run_details.js) runs in Debian Chromium (headless, via Playwright)
against a minimal in-page model (the anywidget model interface: get/on/off/send). Each measurement times, on the
page's main thread, applying one delta message and redrawing (``performance.now()`` around the message handler, the
draw, and the microtask in which uPlot commits its redraw).

* ours: the delta path (points appended to growable Float64Arrays, ``setData`` with views, one redraw per frame).
* baseline "concat": the usual naive path: concatenate plain JS arrays of the whole history and ``setData`` them.
* baseline "re-create": destroy and re-create the chart with the whole history (what re-rendering from full state
  costs).

Run: ``.venv/bin/python benchmarks/widget_frame.py [--points 100000] [--append 100] [--repeats 50]``
"""

from __future__ import annotations

import argparse
import re
import statistics
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
STATIC = ROOT / "jupyter_amlrun" / "notebook" / "static"
CHROMIUM = "/usr/bin/chromium"
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]

MODEL_JS = """
window.__model = (() => {
  const handlers = {};
  const state = {status: "Running", details: {runId: "bench", startTimeUtc: new Date().toISOString()},
                 log_files: [], children: [], run_id: "bench"};
  return {
    get: (k) => state[k],
    on: (ev, fn) => { (handlers[ev] = handlers[ev] || []).push(fn); },
    off: (ev, fn) => { handlers[ev] = (handlers[ev] || []).filter((f) => f !== fn); },
    send: () => {},
    emit: (ev, ...a) => { for (const f of handlers[ev] || []) f(...a); },
  };
})();
"""

BENCH_JS = """
async ({points, append, repeats}) => {
  const model = window.__model;
  const el = document.getElementById("root");
  window.__rd.render({model, el});
  const view = el.__amlrunView;
  const msg = (n, offset) => {
    const buf = new Float64Array(2 * n);
    for (let i = 0; i < n; i++) { buf[i] = offset + i; buf[n + i] = Math.sin((offset + i) / 500); }
    return [{type: "delta", reset: false, scalars: [{name: "loss", n, buffer: 0}], records: [], logs: []},
            [new DataView(buf.buffer)]];
  };
  const flush = () => new Promise((r) => setTimeout(r, 0));
  model.emit("msg:custom", ...msg(points, 0));
  view.draw();
  await flush();
  const chart = view.charts.get("loss");
  const ours = [], concat = [], recreate = [];
  let offset = points;
  for (let r = 0; r < repeats; r++) {
    const [m, b] = msg(append, offset);
    offset += append;
    const t0 = performance.now();
    model.emit("msg:custom", m, b);
    view.draw();
    await Promise.resolve();
    ours.push(performance.now() - t0);
    await flush();
  }
  // Naive: whole history as plain arrays, concatenated and set each update.
  let xs = Array.from(chart.series.xs.subarray(0, chart.series.n));
  let ys = Array.from(chart.series.ys.subarray(0, chart.series.n));
  for (let r = 0; r < repeats; r++) {
    const newX = [], newY = [];
    for (let i = 0; i < append; i++) { newX.push(offset + i); newY.push(Math.sin((offset + i) / 500)); }
    offset += append;
    const t0 = performance.now();
    xs = xs.concat(newX);
    ys = ys.concat(newY);
    chart.plot.setData([xs, ys]);
    await Promise.resolve();
    concat.push(performance.now() - t0);
    await flush();
  }
  // Re-create the chart from the whole history.
  for (let r = 0; r < Math.min(repeats, 20); r++) {
    const t0 = performance.now();
    chart.plot.destroy();
    chart.plot = null;
    chart.dirty = true;
    chart.draw();
    await Promise.resolve();
    recreate.push(performance.now() - t0);
    await flush();
  }
  return {ours, concat, recreate, n: chart.series.n};
}
"""


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--points", type=int, default=100_000)
    ap.add_argument("--append", type=int, default=100)
    ap.add_argument("--repeats", type=int, default=50)
    args = ap.parse_args()
    from playwright.sync_api import sync_playwright

    bundle = (STATIC / "run_details.js").read_text()
    # Expose the module's default export to the page: the bundle ends with `export{X as default};`.
    bundle, count = re.subn(r"export\s*\{\s*([\w$]+)\s+as\s+default\s*\}\s*;?\s*$", r"window.__rd=\1;", bundle.strip())
    assert count == 1, "unexpected bundle tail"
    css = (STATIC / "run_details.css").read_text()
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        page = browser.new_page(viewport={"width": 1200, "height": 900})
        page.set_content(f"<html><head><style>{css}</style></head><body><div id='root'></div></body></html>")
        page.add_script_tag(content=MODEL_JS)
        page.add_script_tag(content=bundle, type="module")
        page.wait_for_function("() => window.__rd !== undefined")
        result = page.evaluate(BENCH_JS, {"points": args.points, "append": args.append, "repeats": args.repeats})
        version = browser.version
        browser.close()
    assert result["n"] == args.points + args.append * args.repeats
    ours = statistics.median(result["ours"])
    concat = statistics.median(result["concat"])
    recreate = statistics.median(result["recreate"])
    print(f"Chromium {version}, headless; chart of {args.points:,} points, append {args.append} points per update")
    print(f"{'approach':<54}{'ms/update (median)':>20}{'ratio':>8}")
    print(f"{'RunDetails delta (typed arrays + setData views)':<54}{ours:>20.2f}{1.0:>8.2f}")
    print(f"{'plain-array concat of the history + setData':<54}{concat:>20.2f}{concat / ours:>8.2f}")
    print(f"{'re-create the chart from the whole history':<54}{recreate:>20.2f}{recreate / ours:>8.2f}")
    print(f"one frame at 60 Hz is 16.7 ms: ours {'fits' if ours < 16.7 else 'does NOT fit'}")


if __name__ == "__main__":
    main()
