"""The driver's side of a distributed run on a local target: start every node's launch, watch them, end them.

On a local target the run's "nodes" are process groups on this machine, one per node slot the driver holds (node
``i`` keeps slot ``i`` open for as long as its processes live, so the slot stays taken even if the driver dies).
Each group is one launcher (torch's elastic agent, or ``mpirun`` for the whole run) with its ranks under it; every
process carries the run's mark (``AMLRUN_RUN_ID``), so cancel and the guard's sweeps reach all of them.

The run ends Completed when every launcher exits 0. The first launcher to exit otherwise fails the run: the others
are stopped at once, and the error names the rank that failed first (from the launcher's failure report) with the
tail of that rank's log.
"""

from __future__ import annotations

import contextlib
import re
import signal
import subprocess
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from jupyter_amlrun._util.procs import kill_tree
from jupyter_amlrun.compute.distributed import LaunchPaths, NodeLaunch, free_port, plan
from jupyter_amlrun.core.contracts import RankHost, RankOutcome, RankTopology
from jupyter_amlrun.runtime.runfolder import RUN_MARK_ENV, user_umask
from jupyter_amlrun.runtime.status import RunStatus

if TYPE_CHECKING:
    from jupyter_amlrun.compute.distributed import Topology
    from jupyter_amlrun.compute.driver import Driver

MASTER_ADDR = "127.0.0.1"  # local nodes rendezvous on loopback only
_TORCH_ROOT = re.compile(r"Root Cause.*?rank\s*:\s*(\d+).*?exitcode\s*:\s*(-?\d+)", re.S)
_MPI_FAILED = re.compile(r"Process name:\s*\[\[\d+,\d+\],(\d+)\]\s*Exit code:\s*(-?\d+)")
# (status, error, exit code), as Driver.execute returns them
Outcome = RankOutcome
_MPI_SIGNALED = re.compile(r"rank\s+(\d+)\s+with PID\s+\d+\s+on node\s+\S+\s+exited on signal\s+(\d+)")


def run_distributed(
    driver: Driver,
    topo: Topology,
    cmd: list[str],
    env: dict[str, str],
    launcher: Callable[[RankHost, RankTopology, list[str], dict[str, str]], Outcome] | None = None,
) -> Outcome:
    """Run the plan of ``driver``'s run (``cmd`` = [interpreter, script, *args] after input replacement) and return
    its outcome (status, error, exit code) as :meth:`Driver.execute` does.

    ``launcher`` starts and watches the nodes (the target backend's
    :meth:`~jupyter_amlrun.core.contracts.ComputeBackend.launch_ranks`); the default, :func:`run_local`, runs them as
    process groups on this machine."""
    try:
        return (launcher or run_local)(driver, topo, cmd, env)
    finally:
        _say_refused_metrics(driver)


def run_local(driver: RankHost, topo: RankTopology, cmd: list[str], env: dict[str, str]) -> Outcome:
    """Every node as a process group on this machine, node ``i`` holding node slot ``i`` (local targets)."""
    rf, spec = driver.rf, driver.spec
    paths = LaunchPaths.under(rf.root)
    paths.user_logs.mkdir(parents=True, exist_ok=True)
    paths.system_logs.mkdir(parents=True, exist_ok=True)
    port = free_port(MASTER_ADDR)
    launches = plan(spec, MASTER_ADDR, port, paths, command=cmd[1:])
    driver.log(
        f"Distributed run: {topo.nodes} node(s) x {topo.per_node} process(es) ({topo.kind}, {topo.backend}), "
        f"world size {topo.world_size}, master {MASTER_ADDR}:{port}. One log per rank: "
        "logs/user_logs/std_log_process_<rank>.txt."
    )
    fds = driver.node_fds()
    procs: list[tuple[NodeLaunch, subprocess.Popen[bytes]]] = []
    for launch in launches:
        # Node i holds slot i; with fewer slots than nodes (an unlimited target) every node holds them all.
        node_fds = [fds[launch.node_rank]] if len(fds) == topo.nodes else fds
        argv, node_env = launch.argv, {**env, **driver.node_env(launch.node_rank), **launch.env}
        if driver.container is not None:  # one container per node, on the host's network: ranks meet on 127.0.0.1
            argv, node_env = driver.container.command(argv, node_env, node=launch.node_rank)
        with open(launch.launcher_log, "ab") as out:
            proc = subprocess.Popen(
                argv,
                cwd=rf.workdir,
                env=node_env,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                pass_fds=node_fds,
                umask=user_umask(),  # the driver's own is owner-only
            )
        procs.append((launch, proc))
    pids = [p.pid for _, p in procs]
    driver.set_status(RunStatus.RUNNING, script_pgid=pids[0], script_pids=pids)
    mark = (RUN_MARK_ENV, rf.run_id)

    def stop_all(grace: float) -> list[int | None]:
        for _, p in procs:
            kill_tree(p.pid, [p.pid], grace=grace, mark=mark)
        return [p.wait() for _, p in procs]

    return watch(driver, topo, launches, lambda: [p.poll() for _, p in procs], stop_all)


def watch(
    driver: RankHost,
    topo: RankTopology,
    launches: Sequence[NodeLaunch],
    poll: Callable[[], list[int | None]],
    stop_all: Callable[[float], list[int | None]],
) -> Outcome:
    """Watch a distributed run's node launches until it ends; shared by local targets and Ray.

    Parameters
    ----------
    driver
        The run's driver (its run folder, log, cancel requests and max_run_duration_seconds).
    topo, launches
        The run's topology and its node launches, in the order ``poll`` reports them.
    poll
        Each launch's exit code, None while it runs.
    stop_all
        Stops every launch and each rank under it (the argument is the grace before SIGKILL, in seconds);
        returns their exit codes.

    Returns
    -------
    Outcome
        (status, error, exit code) as :meth:`Driver.execute` returns them. The first launch to exit non-zero fails
        the run (the others are stopped at once) with the failed rank and the tail of its log.
    """
    rf = driver.rf
    started = time.time()
    driver.start_sync()
    mark = (RUN_MARK_ENV, rf.run_id)
    while True:
        codes = poll()
        failed = next(((launch, c) for launch, c in zip(launches, codes, strict=True) if c not in (None, 0)), None)
        if failed is not None:
            launch, code = failed[0], int(failed[1] or 0)
            stop_all(1.0)
            with contextlib.suppress(OSError):
                rf.update_state(exit_code=code)
            error = _failure(launch, code, topo, driver.spec.script)
            driver.log(f"Error: {error}")
            return RunStatus.FAILED, error, code
        if all(c == 0 for c in codes):
            break
        stop = driver.stop_reason(started)
        if stop is not None and stop[0] == "lost":
            driver.log(f"Error: {stop[1]}")
            stop_all(2.0)
            return RunStatus.FAILED, stop[1], None
        if stop is not None:
            reason = stop[1]
            driver.set_status(RunStatus.CANCEL_REQUESTED)
            driver.log(f"Canceling: {reason} (every rank of every node)")
            code = next((int(c) for c in stop_all(2.0) if c), 0)
            with contextlib.suppress(OSError):
                rf.update_state(exit_code=code)
            return RunStatus.CANCELED, reason, code
        driver.wake.wait(0.1)
        driver.wake.clear()
    with contextlib.suppress(OSError):
        rf.update_state(exit_code=0)
    driver.log(f"All {topo.world_size} rank(s) exited with code 0.")
    kill_tree(None, [], grace=1.0, mark=mark)  # daemons a rank left behind do not outlive the run
    return RunStatus.COMPLETED, None, 0


def _failure(launch: NodeLaunch, code: int, topo: RankTopology, script: str) -> str:
    """The run's error when node ``launch`` ended with ``code``: the first failed rank and the tail of its log."""
    from jupyter_amlrun.runtime.lifecycle import error_tail

    text = _read_tail(launch.launcher_log)
    rank, rank_code = _failed_rank(text)
    if rank is not None and rank in launch.rank_logs:
        how = _how(rank_code if rank_code is not None else code)
        name = f"logs/user_logs/{launch.rank_logs[rank].name}"
        return (
            f"Rank {rank} of {topo.world_size} (node {launch.node_rank}) of script {script} {how}; the other ranks "
            f"were stopped. Last lines of {name}:\n{error_tail(launch.rank_logs[rank])}"
        )
    name = f"logs/azureml/{launch.launcher_log.name}"
    return (
        f"The launcher of node {launch.node_rank} (ranks {launch.ranks[0]}-{launch.ranks[-1]}) {_how(code)}; the "
        f"other ranks were stopped. Last lines of {name}:\n{error_tail(launch.launcher_log)}"
    )


def _failed_rank(text: str) -> tuple[int | None, int | None]:
    """The first failed rank and its exit code, from torch's failure report or mpirun's."""
    for pattern, signaled in ((_TORCH_ROOT, False), (_MPI_FAILED, False), (_MPI_SIGNALED, True)):
        found = pattern.search(text)
        if found:
            code = int(found.group(2))
            return int(found.group(1)), -code if signaled else code
    return None, None


def _how(code: int) -> str:
    if code < 0:
        with contextlib.suppress(ValueError):
            return f"was killed by signal {signal.Signals(-code).name}"
    return f"exited with code {code}"


def _read_tail(path: Path, size: int = 65536) -> str:
    try:
        with open(path, "rb") as fh:
            fh.seek(0, 2)
            fh.seek(max(0, fh.tell() - size))
            return fh.read().decode("utf-8", errors="replace")
    except OSError:
        return ""


def _say_refused_metrics(driver: RankHost) -> None:
    """Name, in the run's warnings, the ranks whose metrics were refused (only rank 0's are the run's)."""
    from jupyter_amlrun.core.context import REFUSED_METRICS_FILE  # written by ranks other than 0, one line each

    path = driver.rf.root / REFUSED_METRICS_FILE
    try:
        lines = sorted(set(path.read_text(encoding="utf-8").splitlines()))
    except OSError:
        return
    if not lines:
        return
    warning = (
        "Only rank 0's metrics are the run's; these ranks tried to log metrics, which were not recorded: "
        + "; ".join(lines)
        + ". Log from rank 0 only (if int(os.environ['RANK']) == 0: run.log(...)), or reduce the values to rank 0."
    )
    with contextlib.suppress(OSError):
        driver.rf.update_state(warnings=[*driver.rf.read_state().warnings, warning])
    driver.log(f"Warning: {warning}")
