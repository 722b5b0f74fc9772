"""The sidebar's REST API under load (issue 25): concurrent GETs over every read route, including the metric series
of 4 ended runs of 100k values each, while 4 runs log.

A real ``jupyter server`` (127.0.0.1, free port, token; temporary root, config and runtime folders; stopped at the
end) with the extension, over a temporary workspace:

* 4 ended runs of ``--values`` values each (interactive runs, ended by ``run.complete()``); their journals are
  removed, so they are read from the tracking store, as a run from another machine (or whose run folder was cleaned)
  is. ``--keep-journals`` reads them from their journals instead;
* 4 live runs, each a process that logs a value every millisecond until the load ends;
* then ``--requests`` GETs, ``--concurrency`` at a time, round robin over the routes (workspace, datastores,
  datasets, models, experiments, runs, one run, its logs, its view, the metrics of each ended run and of the four
  together), each with a ``--timeout`` s client timeout.

Printed: per route count, errors, p50/p99/max seconds and the largest answer; overall errors, p50, p99 and largest
answer against the goals (0 errors, p99 < 1 s, no answer over 1 MB). ``--code`` runs the server on another checkout
(a ``git worktree`` of main: the before figures).

Run: ``.venv/bin/python benchmarks/rest_load.py [--requests 1000] [--concurrency 200] [--code /path/to/checkout]``
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import secrets
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]

LIVE = """
import sys, time
from jupyter_amlrun import Experiment, Workspace
ws = Workspace(path=sys.argv[1])
run = Experiment(ws, "live").start_logging()
stop = time.time() + float(sys.argv[2])
i = 0
while time.time() < stop and not __import__("os").path.exists(sys.argv[3]):
    run.log("loss", 1.0 / (i + 1)); i += 1
    time.sleep(0.001)
run.complete()
"""

ENDED = """
import sys
from jupyter_amlrun import Experiment, Workspace
ws = Workspace(path=sys.argv[1])
run = Experiment(ws, "big").start_logging()
for i in range(int(sys.argv[2])):
    run.log("loss", 1.0 / (i + 1))
run.complete()
print(run.id)
"""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _env(code: Path, home: Path) -> dict[str, str]:
    env = dict(os.environ, PYTHONPATH=str(code), AMLRUN_HOME=str(home))
    for var in ("AMLRUN_RUN_ID", "AMLRUN_WORKSPACE", "AMLRUN_TRACKING_URI"):
        env.pop(var, None)
    return env


def _pct(xs: list[float], p: float) -> float:
    if not xs:
        return float("nan")
    xs = sorted(xs)
    return xs[min(len(xs) - 1, round(p / 100 * (len(xs) - 1)))]


async def _load(base: str, token: str, routes: list[str], requests: int, concurrency: int, timeout: float) -> Any:
    from tornado.httpclient import AsyncHTTPClient, HTTPClientError

    client = AsyncHTTPClient(force_instance=True, max_clients=concurrency)
    results: list[tuple[str, float, int, int]] = []  # route, seconds, status (599: no answer), bytes
    first_error: dict[int, str] = {}
    queue: asyncio.Queue[str] = asyncio.Queue()
    for i in range(requests):
        queue.put_nowait(routes[i % len(routes)])

    async def worker() -> None:
        while not queue.empty():
            route = queue.get_nowait()
            t0 = time.perf_counter()
            try:
                r = await client.fetch(
                    f"{base}{route}", headers={"Authorization": f"token {token}"}, request_timeout=timeout
                )
                code, size = r.code, len(r.body)
            except HTTPClientError as exc:
                code, size = exc.code, len(exc.response.body) if exc.response is not None else 0
                if exc.response is not None and code not in first_error:
                    first_error[code] = f"{route}: {exc.response.body[:300]!r}"
            except Exception:
                code, size = 599, 0
            results.append((route, time.perf_counter() - t0, code, size))

    t0 = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    client.close()
    for code, text in sorted(first_error.items()):
        print(f"first {code}: {text}")
    return results, time.perf_counter() - t0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--requests", type=int, default=1000)
    ap.add_argument("--concurrency", type=int, default=200)
    ap.add_argument("--values", type=int, default=100_000, help="values of each ended run")
    ap.add_argument("--timeout", type=float, default=120.0, help="client timeout of one request, seconds")
    ap.add_argument("--code", type=Path, default=ROOT, help="the checkout the server runs (default: this one)")
    ap.add_argument("--warm", action="store_true", help="one GET before the load (skips the cold-start race)")
    ap.add_argument("--keep-journals", action="store_true", help="read the ended runs from their journals")
    args = ap.parse_args()

    tmp = Path(tempfile.mkdtemp(prefix="amlrun-rest-load-"))
    procs: list[subprocess.Popen[bytes]] = []
    server: subprocess.Popen[bytes] | None = None
    stop_file = tmp / "stop"
    try:
        home, ws_dir, root = tmp / "home", tmp / "ws", tmp / "root"
        for d in (home, ws_dir, root):
            d.mkdir()
        env = _env(args.code, home)
        py = sys.executable
        subprocess.run(
            [py, "-c", f"from jupyter_amlrun import Workspace; Workspace.create('load', path={str(ws_dir)!r})"],
            env=env,
            cwd=root,
            check=True,
        )
        t0 = time.perf_counter()
        makers = [
            subprocess.Popen(
                [py, "-c", ENDED, str(ws_dir), str(args.values)], env=env, cwd=root, stdout=subprocess.PIPE
            )
            for _ in range(4)
        ]
        ended = [m.communicate()[0].decode().split()[-1] for m in makers]
        print(f"4 ended runs of {args.values} values made in {time.perf_counter() - t0:.1f} s")
        if not args.keep_journals:
            for run_id in ended:
                (ws_dir / "runs" / run_id / "journal.jsonl").unlink(missing_ok=True)
        for _ in range(4):
            procs.append(subprocess.Popen([py, "-c", LIVE, str(ws_dir), "1800", str(stop_file)], env=env, cwd=root))

        port, token = _free_port(), secrets.token_hex(16)
        server = subprocess.Popen(
            [
                py,
                "-m",
                "jupyter_server",
                "--no-browser",
                "--allow-root",
                f"--port={port}",
                "--ip=127.0.0.1",
                f"--IdentityProvider.token={token}",
                f"--ServerApp.root_dir={root}",
                "--ServerApp.jpserver_extensions={'jupyter_amlrun': True}",
                f"--AmlrunExtension.workspace_path={ws_dir}",
            ],
            env=dict(
                env,
                JUPYTER_CONFIG_DIR=str(tmp / "cfg"),
                JUPYTER_RUNTIME_DIR=str(tmp / "rt"),
                JUPYTER_DATA_DIR=str(tmp / "data"),
            ),
            cwd=root,  # `python -m` puts the working folder first on sys.path
            stdout=subprocess.DEVNULL,
            stderr=open(tmp / "server.log", "wb"),  # noqa: SIM115
        )
        base = f"http://127.0.0.1:{port}/amlrun/api/"
        deadline = time.time() + 300
        while True:
            try:
                req = urllib.request.Request(base + "workspace", headers={"Authorization": f"token {token}"})
                urllib.request.urlopen(req, timeout=60).read()
                break
            except Exception:
                if time.time() > deadline or server.poll() is not None:
                    raise SystemExit(f"the server did not start: see {tmp / 'server.log'}") from None
                time.sleep(0.5)
        if args.warm:  # one read first: the old code's first burst raced on mlflow's import (500s), hiding the rest
            req = urllib.request.Request(base + "experiments", headers={"Authorization": f"token {token}"})
            urllib.request.urlopen(req, timeout=300).read()
        one = ended[0]
        routes = [
            "workspace",
            "datastores",
            "datasets",
            "models",
            "experiments",
            "runs",
            f"runs/{one}",
            f"runs/{one}/view",
            *(f"metrics?runs={r}" for r in ended),
            f"metrics?runs={','.join(ended)}",
        ]
        results, wall = asyncio.run(_load(base, token, routes, args.requests, args.concurrency, args.timeout))
    finally:
        stop_file.touch()
        for p in procs:
            try:
                p.wait(timeout=60)
            except subprocess.TimeoutExpired:
                p.kill()
        if server is not None:
            server.send_signal(signal.SIGINT)
            try:
                server.wait(timeout=30)
            except subprocess.TimeoutExpired:
                server.kill()
        log = tmp / "server.log"
        text = log.read_text(errors="replace") if log.exists() else ""
        tracebacks = [line for line in text.splitlines() if "Error" in line][:5]
        print("server log errors:", *tracebacks, sep="\n  ")
        shutil.rmtree(tmp, ignore_errors=True)

    print(f"code: {args.code}  requests: {args.requests}  concurrency: {args.concurrency}  wall: {wall:.1f} s")
    print(f"{'route':<44} {'n':>4} {'err':>4} {'p50 s':>7} {'p99 s':>7} {'max s':>7} {'max bytes':>10}")
    by_route: dict[str, list[tuple[float, int, int]]] = {}
    for route, sec, code, size in results:
        key = route.split("?")[0] + ("?runs=4" if "," in route else "?runs=1" if "metrics" in route else "")
        key = key.replace(one, "{id}")
        by_route.setdefault(key, []).append((sec, code, size))
    for key, rows in by_route.items():
        secs = [r[0] for r in rows]
        errs = sum(1 for r in rows if r[1] != 200)
        print(
            f"{key:<44} {len(rows):>4} {errs:>4} {statistics.median(secs):>7.2f} {_pct(secs, 99):>7.2f} "
            f"{max(secs):>7.2f} {max(r[2] for r in rows):>10}"
        )
    secs = [r[1] for r in results]
    errors = sum(1 for r in results if r[2] != 200)
    codes = sorted({r[2] for r in results if r[2] != 200})
    biggest = max(r[3] for r in results)
    print(
        json.dumps(
            {
                "errors": errors,
                "error_codes": codes,
                "p50_s": round(statistics.median(secs), 3),
                "p99_s": round(_pct(secs, 99), 3),
                "max_s": round(max(secs), 3),
                "max_answer_bytes": biggest,
                "goals_met": errors == 0 and _pct(secs, 99) < 1.0 and biggest <= 1024 * 1024,
            }
        )
    )


if __name__ == "__main__":
    main()
