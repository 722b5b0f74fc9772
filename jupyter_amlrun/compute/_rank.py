"""Run one rank of a distributed run with its output in its own log file, then become the user's script.

``python /path/to/_rank.py <user_logs_dir> <script> [args...]`` is what torch's elastic launcher (or ``mpirun``)
starts once per rank. It works out the rank (torch sets ``RANK``; Open MPI sets ``OMPI_COMM_WORLD_RANK``), fills in
the names the other launcher does not set (``RANK``, ``LOCAL_RANK``, ``WORLD_SIZE``, ``NODE_RANK``, ...), points
stdout and stderr at ``<user_logs_dir>/std_log_process_<rank>.txt`` and ``exec``s the script under this interpreter,
so the rank's pid, signals and exit code are the script's own.

Standard library only and run as a file, not a module: the run's environment may be a venv without jupyter_amlrun.
"""

from __future__ import annotations

import os
import sys

# Every rank's environment also carries AMLRUN_RANK: Run.get_context() refuses metrics from ranks other than 0.
RANK_ENV = "AMLRUN_RANK"
# Set by the driver for MPI launches: ranks per node, from which NODE_RANK follows.
PER_NODE_ENV = "AMLRUN_PROCESSES_PER_NODE"


def _fill_names(env: dict[str, str]) -> str:
    """Set the rank names a script may read, from whichever launcher started us; returns the global rank."""
    rank = env.get("RANK") or env.get("OMPI_COMM_WORLD_RANK") or env.get("PMI_RANK") or "0"
    env.setdefault("RANK", rank)
    if "OMPI_COMM_WORLD_SIZE" in env:
        env.setdefault("WORLD_SIZE", env["OMPI_COMM_WORLD_SIZE"])
        env.setdefault("LOCAL_RANK", env.get("OMPI_COMM_WORLD_LOCAL_RANK", "0"))
        env.setdefault("LOCAL_WORLD_SIZE", env.get("OMPI_COMM_WORLD_LOCAL_SIZE", "1"))
    per_node = int(env.get(PER_NODE_ENV) or env.get("LOCAL_WORLD_SIZE") or 1)
    # torchrun calls the node rank GROUP_RANK; v1 scripts read NODE_RANK (and AZ_BATCHAI_TASK_INDEX).
    node = env.get("GROUP_RANK") or str(int(rank) // max(per_node, 1))
    env["NODE_RANK"] = node
    env["AZ_BATCHAI_TASK_INDEX"] = node
    env[RANK_ENV] = rank
    return rank


def main(argv: list[str]) -> int:
    if len(argv) < 2:
        print("usage: _rank.py <user_logs_dir> <script> [args...]", file=sys.stderr)
        return 2
    logs_dir, script, args = argv[0], argv[1], argv[2:]
    env = dict(os.environ)
    rank = _fill_names(env)
    os.makedirs(logs_dir, exist_ok=True)
    fd = os.open(os.path.join(logs_dir, f"std_log_process_{rank}.txt"), os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    sys.stdout.flush()
    sys.stderr.flush()
    os.dup2(fd, 1)
    os.dup2(fd, 2)
    os.close(fd)
    env["PYTHONUNBUFFERED"] = "1"
    os.execve(sys.executable, [sys.executable, script, *args], env)
    return 0  # not reached


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
