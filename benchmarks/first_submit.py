"""The first submit in a fresh kernel (issue 20): how long the cell takes when nothing is imported yet.

Each round is a new Python process with an IPython shell (a fresh kernel): ``%load_ext jupyter_amlrun``, a pause
standing for the user writing the cell (``--think`` seconds), then the cell the ``%%submit`` magic runs
(``Workspace`` + ``Experiment.submit`` + ``RunDetails``), timed from its start until RunDetails exists. Two sides:
``preload`` (as shipped: ``%load_ext`` imports MLflow in a background thread) and ``no preload`` (the thread is
disabled, as before issue 20). The run itself is left to finish; its time is not counted.

Run: ``.venv/bin/python benchmarks/first_submit.py [--rounds 3] [--think 3]``
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

CELL = r"""
import sys, time
from IPython.testing.globalipapp import start_ipython
ip = start_ipython()
t_load = time.perf_counter()
ip.run_line_magic("load_ext", "jupyter_amlrun")
load = time.perf_counter() - t_load
time.sleep(float(sys.argv[2]))
t0 = time.perf_counter()
from jupyter_amlrun import Experiment, ScriptRunConfig, Workspace
from jupyter_amlrun.widgets import RunDetails
ws = Workspace(path=sys.argv[1])
run = Experiment(ws, "first").submit(ScriptRunConfig(source_directory=sys.argv[1] + "/src", script="t.py"))
RunDetails(run)
cell = time.perf_counter() - t0
print(f"{load:.3f} {cell:.3f}")
run.wait_for_completion()
"""


def one(ws: Path, think: float, preload: bool) -> tuple[float, float]:
    env = dict(os.environ)
    code = CELL
    if not preload:  # before issue 20: nothing imported MLflow ahead of the cell
        code = code.replace(
            'ip.run_line_magic("load_ext", "jupyter_amlrun")',
            "import jupyter_amlrun.tracking.store as _s\n_s.preload = lambda *a: None\n"
            'ip.run_line_magic("load_ext", "jupyter_amlrun")',
        )
    out = subprocess.run(
        [sys.executable, "-c", code, str(ws), str(think), "on"], env=env, capture_output=True, text=True, timeout=600
    )
    if out.returncode != 0:
        raise RuntimeError(out.stderr[-2000:])
    load, cell = (float(x) for x in out.stdout.strip().splitlines()[-1].split())
    return load, cell


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--think", type=float, default=3.0, help="seconds between %%load_ext and the cell (default 3)")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="amlrun-first-") as tmp:
        root = Path(tmp)
        os.environ["AMLRUN_HOME"] = str(root / "home")
        ws = root / "ws"
        subprocess.run(
            [
                sys.executable,
                "-c",
                f"from jupyter_amlrun import Workspace; Workspace.create('bench', path={str(ws)!r})",
            ],
            check=True,
        )
        (ws / "src").mkdir()
        (ws / "src" / "t.py").write_text("print('hi')\n")
        rows = []
        for side, preload in (("no preload", False), ("preload", True)):
            cells, loads = [], []
            for _ in range(args.rounds):
                load, cell = one(ws, args.think, preload)
                loads.append(load)
                cells.append(cell)
            rows.append((side, statistics.median(loads), statistics.median(cells), max(cells)))
    print(f"load average: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores; think time {args.think:g} s")
    print(f"{'side':<12} {'%load_ext s':>12} {'cell median s':>14} {'cell max s':>11}")
    for side, load, med, mx in rows:
        print(f"{side:<12} {load:>12.2f} {med:>14.2f} {mx:>11.2f}")
    print(f"ratio no preload / preload (median cell): {rows[0][2] / rows[1][2]:.1f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
