"""The driver's side of a distributed PyTorch run on a Slurm target: one ``srun`` step of node_count x
process_count_per_node tasks inside the run's own allocation (``sbatch --nodes --ntasks-per-node``).

Each task is one rank: ``python -m jupyter_amlrun.compute._slurm_ranks <logs> <cmd...>`` maps Slurm's environment to
PyTorch's (``SLURM_PROCID`` -> ``RANK``, ``SLURM_LOCALID`` -> ``LOCAL_RANK``, ``SLURM_NTASKS`` -> ``WORLD_SIZE``,
``SLURM_NODEID`` -> ``NODE_RANK``; ``MASTER_ADDR``/``MASTER_PORT`` from the driver, which runs on the allocation's
first node), sends its output to ``logs/user_logs/std_log_process_<rank>.txt`` and execs the script. ``srun
--kill-on-bad-exit=1`` ends the step when one rank fails; cancel and ``max_run_duration_seconds`` end the step.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from typing import TYPE_CHECKING

from jupyter_amlrun.compute.distributed import free_port
from jupyter_amlrun.runtime.status import RunStatus

if TYPE_CHECKING:
    from jupyter_amlrun.core.contracts import RankHost, RankTopology

Outcome = tuple[str, str | None, int | None]
POLL_SECONDS = 0.5


def run_on_slurm(driver: RankHost, topo: RankTopology, cmd: list[str], env: dict[str, str]) -> Outcome:
    """Run ``driver``'s PyTorch ranks as one srun step; the outcome as :meth:`Driver.execute` returns it."""
    rf = driver.rf
    if topo.kind != "pytorch":
        return RunStatus.FAILED, "Only PyTorchConfiguration ranks run through srun on Slurm (MPI: not yet).", None
    if not os.environ.get("SLURM_JOB_ID"):
        return (
            RunStatus.FAILED,
            "A distributed run on a Slurm target must run inside its Slurm job (no SLURM_JOB_ID).",
            None,
        )
    host = socket.gethostname()
    with contextlib.suppress(OSError):
        host = socket.gethostbyname(host)
    port = free_port(host)
    logs = rf.user_log.parent
    logs.mkdir(parents=True, exist_ok=True)
    argv = [
        "srun",
        f"--nodes={topo.nodes}",
        f"--ntasks={topo.world_size}",
        f"--ntasks-per-node={topo.per_node}",
        "--kill-on-bad-exit=1",
        "--export=ALL",
        sys.executable,
        "-m",
        __name__,
        str(logs),
        *cmd,
    ]
    step_env = {**env, "MASTER_ADDR": host, "MASTER_PORT": str(port), "LOCAL_WORLD_SIZE": str(topo.per_node)}
    driver.log(
        f"Distributed run on Slurm job {os.environ.get('SLURM_JOB_ID')}: {topo.nodes} node(s) x {topo.per_node} "
        f"process(es) through srun, world size {topo.world_size}, master {host}:{port}. One log per rank: "
        "logs/user_logs/std_log_process_<rank>.txt."
    )
    with open(logs / "srun_log.txt", "ab") as out:
        proc = subprocess.Popen(
            argv, cwd=rf.workdir, env=step_env, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT
        )
    started = time.time()
    driver.set_status(RunStatus.RUNNING, script_pgid=None, script_pids=[proc.pid])
    driver.start_sync()
    while proc.poll() is None:
        why = driver.stop_reason(started)
        if why is not None:
            _stop(proc)
            status = RunStatus.CANCELED if why[0] == "cancel" else RunStatus.FAILED
            return status, why[1], proc.returncode
        time.sleep(POLL_SECONDS)
    code = int(proc.returncode)
    driver.log(f"srun exited with code {code}.")
    if code == 0:
        return RunStatus.COMPLETED, None, 0
    reason = rf.cancel_requested()
    if reason:
        return RunStatus.CANCELED, reason, code
    from jupyter_amlrun.runtime.lifecycle import error_tail

    tails = []
    for rank in range(topo.world_size):
        tail = error_tail(logs / f"std_log_process_{rank}.txt", lines=5)
        if tail:
            tails.append(f"rank {rank}:\n{tail}")
    srun_tail = error_tail(logs / "srun_log.txt", lines=5)
    return (
        RunStatus.FAILED,
        f"srun of {topo.world_size} ranks exited with code {code}. srun: {srun_tail}\n" + "\n".join(tails),
        code,
    )


def _stop(proc: subprocess.Popen[bytes]) -> None:
    """srun forwards SIGTERM to its tasks; two SIGINTs within a second end the step at once."""
    for sig, wait in ((signal.SIGTERM, 5.0), (signal.SIGINT, 0.5), (signal.SIGINT, 5.0), (signal.SIGKILL, 5.0)):
        with contextlib.suppress(ProcessLookupError):
            proc.send_signal(sig)
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(wait)
            return


def _rank_main(argv: list[str]) -> None:
    """One task of the step: PyTorch's variables from Slurm's, output to the rank's log, exec the script."""
    logs, cmd = argv[0], argv[1:]
    rank = os.environ.get("SLURM_PROCID", "0")
    env = dict(os.environ)
    env.update(
        RANK=rank,
        LOCAL_RANK=os.environ.get("SLURM_LOCALID", "0"),
        WORLD_SIZE=os.environ.get("SLURM_NTASKS", "1"),
        NODE_RANK=os.environ.get("SLURM_NODEID", "0"),
        AZ_BATCHAI_TASK_INDEX=rank,
    )
    fd = os.open(os.path.join(logs, f"std_log_process_{rank}.txt"), os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    os.dup2(fd, 1)
    os.dup2(fd, 2)
    os.execvpe(cmd[0], cmd, env)


if __name__ == "__main__":
    _rank_main(sys.argv[1:])
