"""Submit-to-Running latency on local compute vs ``ray job submit`` and ``mlflow run`` (issue 2).

What it measures, with the same tiny script (it records when its first line runs, then sleeps) on every side:

* jupyter_amlrun: time from calling ``exp.submit(ScriptRunConfig(...))`` until ``run.get_status()`` returns
  ``'Running'`` (polled every 5 ms), N repetitions on local compute.
* Ray (SDK): ``JobSubmissionClient.submit_job(entrypoint, runtime_env={'working_dir': src})`` against a local Ray head
  this script starts on 127.0.0.1, until ``get_job_status`` returns ``RUNNING`` (polled every 5 ms).
* Ray (CLI): ``ray job submit --no-wait --working-dir src -- python train.py`` (a new process, as a user types it),
  until ``get_job_status`` returns ``RUNNING``.
* MLflow Projects: ``mlflow run <project> --env-manager local`` (a new process) until the MLflow run exists with status
  RUNNING in its sqlite store (polled every 5 ms with a read-only sqlite query).

For every side it also reports when the script's first line actually ran (wall clock, relative to the submit call),
because the three systems say "running" at different moments. The first submission of each side is a cold start and
is reported on its own row, not in the median. Everything lives in a temp folder that is removed at the end.

Run: ``.venv/bin/python benchmarks/submit_latency.py [--reps 20] [--ray-cli-reps 5] [--mlflow-reps 8]``
(needs ``pip install 'ray[default]'`` for the Ray rows: ``pip install -e '.[bench]'``; ``--skip-ray`` leaves them out).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import signal
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

POLL = 0.005  # seconds between status polls on every side
VENV_BIN = str(Path(sys.executable).parent)

SCRIPT = """\
import time

T0 = time.time()  # the first line of the user's script
import argparse

p = argparse.ArgumentParser()
p.add_argument("--marker", required=True)
p.add_argument("--sleep", type=float, default=1.0)
a = p.parse_args()
with open(a.marker, "w") as fh:
    fh.write(repr(T0))
time.sleep(a.sleep)
"""

MLPROJECT = """\
name: submit-latency
entry_points:
  main:
    parameters:
      marker: {type: string}
      sleep: {type: float, default: 1.0}
    command: "python train.py --marker {marker} --sleep {sleep}"
"""


# ---------------------------------------------------------------------------------------------------- helpers
def percentile(values: list[float], q: float) -> float:
    """Linear-interpolated percentile (q in 0..100) of a non-empty list."""
    xs = sorted(values)
    if len(xs) == 1:
        return xs[0]
    pos = (len(xs) - 1) * q / 100.0
    lo = int(pos)
    hi = min(lo + 1, len(xs) - 1)
    return xs[lo] + (xs[hi] - xs[lo]) * (pos - lo)


def wait_until(predicate: Callable[[], bool], timeout: float, interval: float = POLL) -> bool:
    """Poll ``predicate`` until it is true or ``timeout`` seconds pass."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(interval)
    return predicate()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def read_marker(path: Path, timeout: float = 30.0) -> float | None:
    """The wall-clock time the script's first line ran, or None if it never wrote it."""
    if not wait_until(lambda: path.exists() and path.stat().st_size > 0, timeout, 0.01):
        return None
    return float(path.read_text())


@dataclass
class Side:
    """Measurements of one side: seconds to 'running' and to the script's first line, per repetition."""

    name: str
    how: str
    cold: float | None = None
    cold_first_line: float | None = None
    running: list[float] = field(default_factory=list)
    first_line: list[float] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def add(self, running: float, first_line: float | None, cold: bool) -> None:
        if cold:
            self.cold, self.cold_first_line = running, first_line
        else:
            self.running.append(running)
            if first_line is not None:
                self.first_line.append(first_line)


def child_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    env = dict(os.environ)
    env["PATH"] = VENV_BIN + os.pathsep + env.get("PATH", "")
    env["MLFLOW_DISABLE_TELEMETRY"] = "true"
    env["RAY_USAGE_STATS_ENABLED"] = "0"
    env.update(extra or {})
    return env


# ---------------------------------------------------------------------------------------------------- jupyter_amlrun
def bench_amlrun(tmp: Path, src: Path, reps: int, sleep: float) -> Side:
    os.environ["AMLRUN_HOME"] = str(tmp / "amlrun-home")
    os.environ["MLFLOW_DISABLE_TELEMETRY"] = "true"
    for var in ("AMLRUN_RUN_ID", "AMLRUN_WORKSPACE", "AMLRUN_TRACKING_URI"):
        os.environ.pop(var, None)
    from jupyter_amlrun import Experiment, ScriptRunConfig, Workspace

    ws = Workspace.create("bench", path=tmp / "ws")
    exp = Experiment(ws, "submit-latency")
    side = Side("jupyter_amlrun", "exp.submit -> run.get_status() == 'Running'")
    phases: list[dict[str, float]] = []
    terminal = {"Completed", "Failed", "Canceled"}
    for i in range(reps + 1):
        marker = tmp / "markers" / f"aml-{i}"
        cfg = ScriptRunConfig(
            source_directory=str(src), script="train.py", arguments=["--marker", str(marker), "--sleep", sleep]
        )
        wall0 = time.time()
        t0 = time.perf_counter()
        run = exp.submit(cfg)
        t_call = time.perf_counter() - t0
        status = ""
        deadline = t0 + 60
        while time.perf_counter() < deadline:
            status = run.get_status()
            if status != "NotStarted" and status not in ("Queued", "Preparing", "Starting"):
                break
            time.sleep(POLL)
        t_running = time.perf_counter() - t0
        if status != "Running":
            side.notes.append(f"rep {i}: first status after Starting was {status!r} (not 'Running')")
        first = read_marker(marker)
        side.add(t_running, None if first is None else first - wall0, cold=i == 0)
        if i > 0:
            phases.append(_phases(ws.path / "runs" / run.id / "state.json", wall0, t_call))
        if not wait_until(lambda r=run: r.get_status() in terminal, 120, 0.05):
            side.notes.append(f"rep {i}: did not finish within 120 s")
        if run.get_status() != "Completed":
            side.notes.append(f"rep {i}: ended {run.get_status()}")
    if phases:
        keys = [k for k in phases[0] if all(k in p for p in phases)]
        med = {k: statistics.median(p[k] for p in phases) for k in keys}
        side.notes.append(
            "median time at each status (s after the submit call): " + ", ".join(f"{k} {v:.3f}" for k, v in med.items())
        )
    return side


def _phases(state_path: Path, wall0: float, t_call: float) -> dict[str, float]:
    """Seconds from the submit call to each status transition (from the run folder's state.json history)."""
    out = {"submit() returned": t_call}
    with contextlib.suppress(OSError, ValueError):
        for status, when in json.loads(state_path.read_text()).get("history", []):
            out.setdefault(status, float(when) - wall0)
    return out


# ---------------------------------------------------------------------------------------------------- Ray
@contextlib.contextmanager
def ray_head(tmp_root: Path, settle: float = 10.0) -> Iterator[str]:
    """A local Ray head on 127.0.0.1 (``ray start --head --block``), stopped by pid; yields its dashboard URL."""
    # Ray's unix sockets need a short path, so its temp dir is a short /tmp folder of its own.
    ray_tmp = Path(tempfile.mkdtemp(prefix="rb", dir="/tmp"))
    port, dash = free_port(), free_port()
    log = open(tmp_root / "ray-head.log", "wb")  # noqa: SIM115 (closed in finally)
    cmd = [
        str(Path(VENV_BIN) / "ray"),
        "start",
        "--head",
        "--block",
        "--node-ip-address",
        "127.0.0.1",
        "--port",
        str(port),
        "--dashboard-host",
        "127.0.0.1",
        "--dashboard-port",
        str(dash),
        "--num-cpus",
        "2",
        "--disable-usage-stats",
        "--include-dashboard",
        "true",
        "--temp-dir",
        str(ray_tmp),
    ]
    # No 30 s "drain" on SIGTERM: nothing runs on this throw-away cluster when it is stopped. Ray 2.x turns
    # --node-ip-address 127.0.0.1 into the machine's routable address (and then its agents listen on all interfaces)
    # unless clusters are "disabled", as Ray does by default on macOS/Windows: that keeps every server on loopback.
    env = child_env({"RAY_GRACEFUL_SHUTDOWN_DRAIN_TIMEOUT_S": "0", "RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER": "0"})
    proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, env=env, start_new_session=True)
    url = f"http://127.0.0.1:{dash}"
    try:
        from ray.job_submission import JobSubmissionClient

        def up() -> bool:
            if proc.poll() is not None:
                raise RuntimeError(f"ray start exited with {proc.returncode}; see {tmp_root / 'ray-head.log'}")
            try:
                JobSubmissionClient(url).list_jobs()
                return True
            except Exception:
                return False

        t0 = time.perf_counter()
        if not wait_until(up, 90, 0.5):
            raise RuntimeError(f"Ray head not ready in 90 s; see {tmp_root / 'ray-head.log'}")
        print(f"  Ray head up on 127.0.0.1:{port}, dashboard {url} in {time.perf_counter() - t0:.1f} s", flush=True)
        _check_loopback(proc.pid)
        time.sleep(settle)  # let the head's start-up work (agents, dashboard modules) finish before timing it
        yield url
    finally:
        _stop_ray(proc, ray_tmp)
        log.close()
        shutil.rmtree(ray_tmp, ignore_errors=True)


def _check_loopback(head_pid: int) -> None:
    """Say so if any process of our Ray head listens on an address other than loopback."""
    import psutil

    try:
        procs = [psutil.Process(head_pid), *psutil.Process(head_pid).children(recursive=True)]
    except psutil.Error:
        return
    wide = set()
    for p in procs:
        with contextlib.suppress(psutil.Error):
            for c in p.net_connections(kind="inet"):
                ip = str(c.laddr.ip) if c.laddr else ""
                if c.status == psutil.CONN_LISTEN and not ip.removeprefix("::ffff:").startswith("127.") and ip != "::1":
                    wide.add(f"{p.name()}:{c.laddr.ip}:{c.laddr.port}")
    if wide:
        print(f"  Note: Ray processes listening beyond loopback: {sorted(wide)}", flush=True)
    else:
        print("  Ray head: every listening socket is on loopback", flush=True)


def _stop_ray(proc: subprocess.Popen[bytes], ray_tmp: Path) -> None:
    """Stop only the Ray processes this benchmark started: the head's process group, then stragglers by temp dir."""
    import psutil

    t0 = time.perf_counter()
    # Processes of our cluster: descendants of the head plus anything whose command line names our temp dir.
    ours: dict[int, psutil.Process] = {}
    with contextlib.suppress(psutil.Error):
        head = psutil.Process(proc.pid)
        ours.update({p.pid: p for p in head.children(recursive=True)})
    for p in psutil.process_iter(["pid", "cmdline"]):
        with contextlib.suppress(psutil.Error):
            if any(str(ray_tmp) in part for part in p.info["cmdline"] or []):
                ours[p.pid] = p
    ours.pop(os.getpid(), None)
    proc.terminate()  # `ray start --block` stops the processes it started on SIGTERM
    with contextlib.suppress(subprocess.TimeoutExpired):
        proc.wait(timeout=20)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGTERM)
    for p in ours.values():
        with contextlib.suppress(psutil.Error):
            p.terminate()
    _, alive = psutil.wait_procs(list(ours.values()), timeout=10)
    for p in alive:
        with contextlib.suppress(psutil.Error):
            p.kill()
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGKILL)
    with contextlib.suppress(subprocess.TimeoutExpired):
        proc.wait(timeout=5)
    print(f"  Ray head stopped in {time.perf_counter() - t0:.1f} s", flush=True)


def bench_ray(tmp: Path, src: Path, url: str, reps: int, cli_reps: int, sleep: float, poll: float) -> list[Side]:
    from ray.job_submission import JobStatus, JobSubmissionClient

    client = JobSubmissionClient(url)
    done = {JobStatus.SUCCEEDED, JobStatus.FAILED, JobStatus.STOPPED}
    every = f"polled every {poll * 1000:.0f} ms"
    sdk = Side("Ray job (SDK)", f"submit_job(working_dir=src) -> get_job_status == RUNNING, {every}")
    cli = Side("Ray job (CLI)", f"`ray job submit --no-wait` process -> get_job_status == RUNNING, {every}")

    def wait_running(job_id: str, t0: float, side: Side, i: int) -> float:
        deadline = t0 + 120
        status = None
        while time.perf_counter() < deadline:
            with contextlib.suppress(Exception):  # the CLI may not have created the job yet
                status = client.get_job_status(job_id)
                if status != JobStatus.PENDING:
                    break
            time.sleep(poll)
        if status != JobStatus.RUNNING:
            side.notes.append(f"rep {i}: first status after PENDING was {status}")
        return time.perf_counter() - t0

    def finish(job_id: str, side: Side, i: int) -> None:
        if not wait_until(lambda: client.get_job_status(job_id) in done, 120, 0.05):
            side.notes.append(f"rep {i}: job did not finish in 120 s")
        elif client.get_job_status(job_id) != JobStatus.SUCCEEDED:
            side.notes.append(
                f"rep {i}: job ended {client.get_job_status(job_id)}: {client.get_job_logs(job_id)[-500:]}"
            )

    for i in range(reps + 1):
        marker = tmp / "markers" / f"ray-{i}"
        wall0 = time.time()
        t0 = time.perf_counter()
        job_id = client.submit_job(
            entrypoint=f"{sys.executable} train.py --marker {marker} --sleep {sleep}",
            runtime_env={"working_dir": str(src)},
        )
        t_running = wait_running(job_id, t0, sdk, i)
        first = read_marker(marker)
        sdk.add(t_running, None if first is None else first - wall0, cold=i == 0)
        finish(job_id, sdk, i)

    for i in range(cli_reps + 1):
        marker = tmp / "markers" / f"raycli-{i}"
        job_id = f"bench_cli_{i}_{os.getpid()}"
        cmd = [
            str(Path(VENV_BIN) / "ray"),
            "job",
            "submit",
            "--address",
            url,
            "--no-wait",
            "--submission-id",
            job_id,
            "--working-dir",
            str(src),
            "--",
            sys.executable,
            "train.py",
            "--marker",
            str(marker),
            "--sleep",
            str(sleep),
        ]
        wall0 = time.time()
        t0 = time.perf_counter()
        proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=child_env())
        t_running = wait_running(job_id, t0, cli, i)
        first = read_marker(marker)
        cli.add(t_running, None if first is None else first - wall0, cold=i == 0)
        try:
            proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        finish(job_id, cli, i)
    return [sdk, cli]


# ---------------------------------------------------------------------------------------------------- mlflow run
def bench_mlflow_run(tmp: Path, src: Path, reps: int, sleep: float) -> Side:
    project = tmp / "mlproject"
    shutil.copytree(src, project)
    (project / "MLproject").write_text(MLPROJECT)
    db = tmp / "mlflow-run" / "mlflow.db"
    db.parent.mkdir()
    env = child_env({"MLFLOW_TRACKING_URI": f"sqlite:///{db}"})
    side = Side("mlflow run (local env)", "`mlflow run --env-manager local` -> run status RUNNING in sqlite")
    experiment = "submit-latency"
    seen: set[str] = set()

    def new_running() -> bool:
        if not db.exists():
            return False
        try:
            con = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=1)
            try:
                rows = con.execute(
                    "SELECT r.run_uuid, r.status FROM runs r JOIN experiments e ON r.experiment_id = e.experiment_id "
                    "WHERE e.name = ?",
                    (experiment,),
                ).fetchall()
            finally:
                con.close()
        except sqlite3.Error:
            return False  # tables not created yet
        return any(uuid not in seen and status == "RUNNING" for uuid, status in rows)

    for i in range(reps + 1):
        marker = tmp / "markers" / f"mlflow-{i}"
        cmd = [
            str(Path(VENV_BIN) / "mlflow"),
            "run",
            str(project),
            "--env-manager",
            "local",
            "--experiment-name",
            experiment,
            "-P",
            f"marker={marker}",
            "-P",
            f"sleep={sleep}",
        ]
        out_log = open(tmp / f"mlflow-run-{i}.log", "wb")  # noqa: SIM115 (closed below)
        wall0 = time.time()
        t0 = time.perf_counter()
        proc = subprocess.Popen(cmd, stdout=out_log, stderr=subprocess.STDOUT, env=env, cwd=tmp)
        ok = wait_until(new_running, 120)
        t_running = time.perf_counter() - t0
        if not ok:
            side.notes.append(f"rep {i}: no RUNNING run seen in 120 s")
        first = read_marker(marker)
        side.add(t_running, None if first is None else first - wall0, cold=i == 0)
        try:
            proc.wait(timeout=120)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        out_log.close()
        if proc.returncode != 0:
            side.notes.append(f"rep {i}: mlflow run exited {proc.returncode}, see {out_log.name}")
        con = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=5)
        seen.update(r[0] for r in con.execute("SELECT run_uuid FROM runs"))
        con.close()
    return side


# ---------------------------------------------------------------------------------------------------- report
def note_load(sides: list[Side], before: float) -> None:
    """Record the 1-minute load average around a side: other work on the machine slows every side."""
    text = f"1-min load average {before:.1f} before, {os.getloadavg()[0]:.1f} after ({os.cpu_count()} cores)"
    for s in sides:
        s.notes.append(text)


def report(sides: list[Side]) -> None:
    base = next(s for s in sides if s.name == "jupyter_amlrun")
    base_med = statistics.median(base.running)
    head = (
        f"{'side':<24} {'N':>3} {'median':>8} {'p90':>8} {'min':>7} {'max':>7} {'cold 1st':>9} "
        f"{'1st line med':>12} {'ratio med':>10}"
    )
    print("\nSubmit-to-Running latency (seconds; 'ratio med' = side median / jupyter_amlrun median)")
    print(head)
    print("-" * len(head))
    for s in sides:
        if not s.running:
            continue
        med = statistics.median(s.running)
        first = f"{statistics.median(s.first_line):.3f}" if s.first_line else "n/a"
        cold = f"{s.cold:.3f}" if s.cold is not None else "n/a"
        print(
            f"{s.name:<24} {len(s.running):>3} {med:>8.3f} {percentile(s.running, 90):>8.3f} {min(s.running):>7.3f} "
            f"{max(s.running):>7.3f} {cold:>9} {first:>12} {med / base_med:>9.2f}x"
        )
    print()
    for s in sides:
        print(f"* {s.name}: {s.how}")
        for note in s.notes:
            print(f"    - {note}")
    ray = next((s for s in sides if s.name == "Ray job (SDK)" and s.running), None)
    goal = f"Goal: median < 0.5 s -> {'met' if base_med < 0.5 else 'MISSED'} ({base_med:.3f} s)"
    if ray is not None:
        ray_med = statistics.median(ray.running)
        goal += (
            f"; < 1/3 of Ray's median ({ray_med / 3:.3f} s) -> {'met' if base_med < ray_med / 3 else 'MISSED'} "
            f"(jupyter_amlrun is {ray_med / base_med:.1f}x faster)"
        )
    print(goal)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--reps", type=int, default=20, help="warm repetitions for jupyter_amlrun and the Ray SDK")
    ap.add_argument("--ray-cli-reps", type=int, default=5)
    ap.add_argument("--mlflow-reps", type=int, default=8)
    ap.add_argument("--sleep", type=float, default=1.0, help="seconds the script sleeps after its first line")
    ap.add_argument(
        "--ray-poll",
        type=float,
        default=POLL,
        help="seconds between get_job_status calls (each is an HTTP request to the dashboard)",
    )
    ap.add_argument("--skip-ray", action="store_true")
    ap.add_argument("--skip-mlflow", action="store_true")
    ap.add_argument("--json", type=Path, help="also write the raw measurements here")
    args = ap.parse_args()

    tmp = Path(tempfile.mkdtemp(prefix="amlrun-bench-submit-"))
    try:
        src = tmp / "src"
        src.mkdir()
        (src / "train.py").write_text(textwrap.dedent(SCRIPT))
        (tmp / "markers").mkdir()
        sides: list[Side] = []
        print(f"jupyter_amlrun: {args.reps} warm submits (+1 cold) ...", flush=True)
        load0 = os.getloadavg()[0]
        sides.append(bench_amlrun(tmp, src, args.reps, args.sleep))
        note_load(sides[-1:], load0)
        if not args.skip_ray:
            try:
                import ray  # noqa: F401
            except ImportError:
                print("Ray is not installed (pip install -e '.[bench]'); skipping the Ray rows.")
            else:
                print(f"Ray: {args.reps} SDK submits + {args.ray_cli_reps} CLI submits (+1 cold each) ...", flush=True)
                with ray_head(tmp) as url:
                    load0 = os.getloadavg()[0]
                    sides.extend(bench_ray(tmp, src, url, args.reps, args.ray_cli_reps, args.sleep, args.ray_poll))
                    note_load(sides[-2:], load0)
        if not args.skip_mlflow:
            print(f"mlflow run: {args.mlflow_reps} runs (+1 cold) ...", flush=True)
            load0 = os.getloadavg()[0]
            sides.append(bench_mlflow_run(tmp, src, args.mlflow_reps, args.sleep))
            note_load(sides[-1:], load0)
        report(sides)
        if args.json:
            args.json.write_text(json.dumps([s.__dict__ for s in sides], indent=1))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
