"""The first ``%%submit`` in a fresh kernel (issue 20): how long the cell takes when nothing is imported yet.

Each round is a new Python process with an IPython shell (a fresh kernel): ``%load_ext jupyter_amlrun``, a pause
standing for the user writing the cell (``--think`` seconds; 0 is "Run All"), then a ``%%submit`` cell (a one-line
script, the live RunDetails shown: its first tick runs in the cell), timed from the cell's start until the magic
returns. The run itself is left to finish; its time is not counted. Three sides, the same code with parts switched off:

* ``mlflow no preload``: before issue 20, the submit imports MLflow itself (the store operations through MLflow, no
  background import);
* ``mlflow + preload``: ``%load_ext`` imports MLflow in a background thread and the submit waits for it;
* ``sqlite3 + preload`` (as shipped): the same thread, but the submit's store rows go through the standard library
  while MLflow loads (tracking/sqlite_direct.py), so the submit never waits for it.

``--warm N`` adds a warm kernel: one process, the preload finished, ``N`` ``%%submit`` cells on each store path in
turn (each run waited for before the next cell; the first cell of each path is left out).

``--profile`` adds one ``python -X importtime`` round per store path with the preload off and prints what the cell
itself imports, by package (the shares are load-independent in proportion, unlike the times).

Run: ``.venv/bin/python benchmarks/first_submit.py [--rounds 5] [--think 0,3] [--warm 12] [--profile]``
"""

from __future__ import annotations

import argparse
import collections
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

SIDES = {
    "mlflow no preload": "store.preload = lambda *a, **k: None\nstore.TrackingStore._direct = lambda self: None\n",
    "mlflow + preload": "store.TrackingStore._direct = lambda self: None\n",
    "sqlite3 + preload": "",
}

CELL = r"""
import sys, time
from IPython.testing.globalipapp import start_ipython
ip = start_ipython()
from jupyter_amlrun.tracking import store
{switches}
t_load = time.perf_counter()
ip.run_line_magic("load_ext", "jupyter_amlrun")
load = time.perf_counter() - t_load
time.sleep(float(sys.argv[1]))
print("=== cell starts", file=sys.stderr, flush=True)
t0 = time.perf_counter()
ip.run_cell_magic("submit", "--experiment first", "print('hi')\n")
cell = time.perf_counter() - t0
print("=== cell ends", file=sys.stderr, flush=True)
print(f"TIMES {{load:.3f}} {{cell:.3f}}")
ip.user_ns["run"].wait_for_completion()
"""


def one(root: Path, side: str, think: float, profile: bool = False) -> tuple[float, float, str]:
    switches = SIDES[side]
    if profile:  # what the cell imports by itself: nothing loaded ahead (the preload's thread would mix in)
        switches += "store.preload = lambda *a, **k: None\n"
    cmd = [sys.executable, *(["-X", "importtime"] if profile else []), "-c", CELL.format(switches=switches), str(think)]
    out = subprocess.run(cmd, cwd=root, capture_output=True, text=True, timeout=600)
    if out.returncode != 0:
        raise RuntimeError(out.stderr[-3000:])
    line = next(x for x in out.stdout.splitlines() if x.startswith("TIMES "))
    load, cell = (float(x) for x in line.split()[1:])
    return load, cell, out.stderr


WARM = r"""
import statistics, sys, time
from IPython.testing.globalipapp import start_ipython
ip = start_ipython()
from jupyter_amlrun.tracking import store
ip.run_line_magic("load_ext", "jupyter_amlrun")
store._wait_preload()
direct = store.TrackingStore._direct
cells = {"mlflow": [], "sqlite3": []}
for _ in range(int(sys.argv[1]) + 1):
    for path in cells:
        store.TrackingStore._direct = direct if path == "sqlite3" else (lambda self: None)
        t0 = time.perf_counter()
        ip.run_cell_magic("submit", "--experiment first", "print('hi')\n")
        cells[path].append(time.perf_counter() - t0)
        ip.user_ns["run"].wait_for_completion()
for path, times in cells.items():
    print("WARM", path, statistics.median(times[1:]), max(times[1:]))
"""


def warm(root: Path, n: int) -> list[tuple[str, float, float]]:
    out = subprocess.run([sys.executable, "-c", WARM, str(n)], cwd=root, capture_output=True, text=True, timeout=1200)
    if out.returncode != 0:
        raise RuntimeError(out.stderr[-3000:])
    rows = [line.split()[1:] for line in out.stdout.splitlines() if line.startswith("WARM ")]
    return [(path, float(med), float(mx)) for path, med, mx in rows]


def imports_in_cell(stderr: str) -> tuple[float, list[tuple[str, float]]]:
    """Seconds of imports (self time) between the cell's markers, in total and by top-level package."""
    lines = stderr.splitlines()
    try:
        start, end = lines.index("=== cell starts"), lines.index("=== cell ends")
    except ValueError:
        return 0.0, []
    by_pkg: collections.Counter[str] = collections.Counter()
    for line in lines[start + 1 : end]:
        if not line.startswith("import time:") or "self [us]" in line:
            continue
        self_us, _cum, name = line[len("import time:") :].split("|")
        name = name.strip()
        top = name.split(".")[0]
        key = ".".join(name.split(".")[:2]) if top == "jupyter_amlrun" else top
        by_pkg[key] += int(self_us) / 1e6
    return sum(by_pkg.values()), by_pkg.most_common(8)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--think", default="0,3", help="seconds between %%load_ext and the cell, comma-separated")
    ap.add_argument("--warm", type=int, default=0, help="warm %%submit cells per store path in one kernel")
    ap.add_argument("--profile", action="store_true", help="one -X importtime round per side: the cell's imports")
    ap.add_argument("--sides", default=",".join(SIDES), help="comma-separated subset of: " + ", ".join(SIDES))
    args = ap.parse_args()
    thinks = [float(t) for t in args.think.split(",")]
    sides = [s.strip() for s in args.sides.split(",")]
    with tempfile.TemporaryDirectory(prefix="amlrun-first-") as tmp:
        root = Path(tmp)
        os.environ["AMLRUN_HOME"] = str(root / "home")
        for key in ("AMLRUN_RUN_ID", "AMLRUN_WORKSPACE", "AMLRUN_TRACKING_URI"):
            os.environ.pop(key, None)
        # the notebook's folder holds config.json, as a user's does (the magic finds it with Workspace.from_config)
        ws = str(root / "ws")
        code = f"from jupyter_amlrun import Workspace; Workspace.create('bench', path={ws!r}).write_config({tmp!r})"
        subprocess.run([sys.executable, "-c", code], check=True, timeout=300)
        one(root, "sqlite3 + preload", 0.0)  # makes the experiment; warms the disk cache for every side alike
        rows = []
        loads_before = os.getloadavg()[0]
        for think in thinks:
            for side in sides:
                cells, loads = [], []
                for _ in range(args.rounds):
                    load, cell, _err = one(root, side, think)
                    loads.append(load)
                    cells.append(cell)
                rows.append((think, side, statistics.median(loads), statistics.median(cells), max(cells)))
        warm_rows = warm(root, args.warm) if args.warm else []
        paths = ("mlflow no preload", "sqlite3 + preload") if args.profile else ()
        profiles = [(side.split()[0], imports_in_cell(one(root, side, 0.0, profile=True)[2])) for side in paths]
    print(
        f"load average {loads_before:.1f} -> {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores; "
        f"{args.rounds} rounds per row, each a fresh process"
    )
    print(f"{'think s':>7}  {'side':<20} {'%load_ext s':>11} {'cell median s':>14} {'cell max s':>11} {'vs first':>9}")
    for think in thinks:
        group = [r for r in rows if r[0] == think]
        base = group[0][3]
        for _t, side, load, med, mx in group:
            print(f"{think:>7g}  {side:<20} {load:>11.3f} {med:>14.3f} {mx:>11.3f} {med / base:>8.2f}x")
    for path, med, mx in warm_rows:
        print(f"warm kernel, {path} path: cell median {med:.3f} s, max {mx:.3f} s ({args.warm} cells)")
    for side, (total, top) in profiles:
        parts = ", ".join(f"{name} {secs:.3f}" for name, secs in top)
        print(f"imports in the cell, {side} path, no preload: {total:.3f} s ({parts})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
