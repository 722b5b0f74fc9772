"""Re-submitting an unchanged 2,000-file folder: bytes copied into the snapshot store and time (issue 2).

Builds a source folder of exactly 2,000 files (the v1 file limit; ``train.py`` plus 1,999 files of 1-8 KiB random
bytes in 20 sub-folders) and submits it with ``exp.submit(ScriptRunConfig(...))`` several times, waiting for each run
to finish before the next:

1. first submit (empty snapshot store),
2. second submit, folder unchanged (goal: 0 bytes copied),
3. every file's mtime touched, content unchanged (the stat cache misses, so every file is re-hashed; still 0 bytes),
4. one file edited (only that file is copied).

"Bytes copied" is measured from the outside: the total size of the files under ``<workspace>/snapshots/objects``
before and after each submit. Each row also gives the time of the ``exp.submit`` call and the time until the run reads
``Running`` (the driver materialises the 2,000 files before starting the script; "materialize s" is that copy, from
the run's status history). A warm-up submit of a one-file
folder comes first so the first row is not charged for one-time imports. For reference it also times a plain
``shutil.copytree`` of the folder. Everything lives in a temp folder removed at the end.

Run: ``.venv/bin/python benchmarks/snapshot_resubmit.py [--files 2000]``
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

TERMINAL = ("Completed", "Failed", "Canceled")


@dataclass
class Row:
    step: str
    submit_s: float
    running_s: float
    bytes_copied: int
    objects_added: int
    manifests: int
    status: str
    materialize_s: float


def store_usage(ws_path: Path) -> tuple[int, int, int]:
    """(bytes, object files, manifests) in the workspace's snapshot store."""
    objects = ws_path / "snapshots" / "objects"
    total = count = 0
    if objects.is_dir():
        for root, _, files in os.walk(objects):
            for f in files:
                if not f.endswith(".tmp"):
                    total += os.stat(os.path.join(root, f)).st_size
                    count += 1
    manifests = ws_path / "snapshots" / "manifests"
    return total, count, len(list(manifests.glob("*.json"))) if manifests.is_dir() else 0


def make_source(root: Path, n_files: int) -> int:
    """A folder of exactly ``n_files`` files; returns its total size in bytes."""
    rng = random.Random(2)
    root.mkdir(parents=True)
    (root / "train.py").write_text("print('hello from a 2,000-file snapshot')\n")
    total = (root / "train.py").stat().st_size
    for i in range(n_files - 1):
        sub = root / f"pkg{i % 20:02d}"
        sub.mkdir(exist_ok=True)
        data = rng.randbytes(rng.randint(1024, 8192))
        (sub / f"file{i:04d}.bin").write_bytes(data)
        total += len(data)
    return total


def submit_and_wait(exp: Any, src: Path, step: str, ws_path: Path) -> Row:
    from jupyter_amlrun import ScriptRunConfig

    before = store_usage(ws_path)
    t0 = time.perf_counter()
    run = exp.submit(ScriptRunConfig(source_directory=str(src), script="train.py"))
    submit_s = time.perf_counter() - t0
    after = store_usage(ws_path)  # the snapshot is taken inside submit(), before it returns
    status, running_s = "", float("nan")
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        status = run.get_status()
        if running_s != running_s and status in ("Running", "Finalizing", *TERMINAL):
            running_s = time.perf_counter() - t0
        if status in TERMINAL:
            break
        time.sleep(0.005)
    return Row(
        step,
        submit_s,
        running_s,
        after[0] - before[0],
        after[1] - before[1],
        after[2],
        status,
        _materialize_s(ws_path, run.id),
    )


def _materialize_s(ws_path: Path, run_id: str) -> float:
    """Seconds the driver spent between Preparing and Starting (copying the snapshot into the run's work folder)."""
    try:
        history = json.loads((ws_path / "runs" / run_id / "state.json").read_text()).get("history", [])
        when = {status: float(t) for status, t in history}
        return when["Starting"] - when["Preparing"]
    except (OSError, ValueError, KeyError):
        return float("nan")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--files", type=int, default=2000, help="files in the source folder (v1 limit: 2,000)")
    args = ap.parse_args()

    tmp = Path(tempfile.mkdtemp(prefix="amlrun-bench-snap-"))
    os.environ["AMLRUN_HOME"] = str(tmp / "amlrun-home")
    os.environ["MLFLOW_DISABLE_TELEMETRY"] = "true"
    for var in ("AMLRUN_RUN_ID", "AMLRUN_WORKSPACE", "AMLRUN_TRACKING_URI"):
        os.environ.pop(var, None)
    try:
        from jupyter_amlrun import Experiment, Workspace

        print(f"load average {os.getloadavg()[0]:.1f} ({os.cpu_count()} cores)", flush=True)
        src = tmp / "src"
        size = make_source(src, args.files)
        print(f"Source folder: {args.files:,} files, {size / 1024 / 1024:.1f} MiB", flush=True)
        t0 = time.perf_counter()
        shutil.copytree(src, tmp / "copy")
        copy_s = time.perf_counter() - t0
        shutil.rmtree(tmp / "copy")

        ws = Workspace.create("bench", path=tmp / "ws")
        exp = Experiment(ws, "snapshot-resubmit")
        warm = tmp / "warmup"
        warm.mkdir()
        (warm / "train.py").write_text("print('warm-up')\n")
        submit_and_wait(exp, warm, "warm-up", ws.path)
        base_manifests = store_usage(ws.path)[2]

        rows = [submit_and_wait(exp, src, "1st submit (empty store)", ws.path)]
        rows.append(submit_and_wait(exp, src, "2nd submit (unchanged)", ws.path))
        now = time.time() + 5
        for path in src.rglob("*"):
            if path.is_file():
                os.utime(path, (now, now))
        rows.append(submit_and_wait(exp, src, "3rd (all mtimes touched)", ws.path))
        edited = src / "pkg03" / "file0003.bin"
        edited.write_bytes(random.Random(3).randbytes(edited.stat().st_size))
        rows.append(submit_and_wait(exp, src, "4th (one file edited)", ws.path))

        head = (
            f"{'step':<26} {'bytes copied':>13} {'objects added':>13} {'snapshots':>9} {'submit() s':>10} "
            f"{'-> Running s':>12} {'materialize s':>13} {'status':>10}"
        )
        print(f"\nRe-submit of a {args.files:,}-file folder ({size:,} bytes)")
        print(head)
        print("-" * len(head))
        for r in rows:
            print(
                f"{r.step:<26} {r.bytes_copied:>13,} {r.objects_added:>13,} {r.manifests - base_manifests:>9} "
                f"{r.submit_s:>10.3f} {r.running_s:>12.3f} {r.materialize_s:>13.3f} {r.status:>10}"
            )
        first, second = rows[0], rows[1]
        print(f"\nReference: shutil.copytree of the folder {copy_s:.3f} s.")
        print(
            f"2nd vs 1st submit: {second.bytes_copied:,} vs {first.bytes_copied:,} bytes copied; submit() "
            f"{second.submit_s:.3f} s vs {first.submit_s:.3f} s ({first.submit_s / second.submit_s:.1f}x faster)."
        )
        print(f"Goal: 0 bytes copied on an unchanged re-submit -> {'met' if second.bytes_copied == 0 else 'MISSED'}")
        print(f"load average {os.getloadavg()[0]:.1f} at the end", flush=True)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
