"""The Slurm backend: a run's driver is a Slurm batch job (``sbatch``), so queueing, priorities, limits and
accounting are the cluster's.

The job runs the same driver a local run gets (``<python> -m jupyter_amlrun.compute.driver <workspace> <run_id>``,
the absolute interpreter of the target), so environments, inputs, logs, metrics, outputs and cancel behave as on
``local``. What Slurm adds is read from ``scontrol show job`` (no ``sacct``: a cluster without slurmdbd has none).
Readers never write: :meth:`SlurmBackend.status` only reads the run folder. The workspace's watchdog (started at
launch, on the login node) asks :meth:`SlurmBackend.watch` about each live run: a pending job keeps its run Queued
with squeue's reason (Priority, Resources, JobHeldUser...) in the run's details; a job pending for a reason that
cannot clear by itself (InvalidAccount, PartitionTimeLimit...) is scancelled and its run ends Failed with Slurm's
words; a job that Slurm ends (time limit, preemption, node failure, scancel behind our back) ends its run with
Slurm's state and reason when its driver could not (the driver itself turns Slurm's SIGTERM into a cancel with
Slurm's reason: compute/_slurm_job.py). ``max_run_duration_seconds`` also bounds the job's ``--time`` (a minute after
the driver's own limit, so the driver's clear message wins when both apply). GPUs: ``--gpus-per-node`` from the
target's ``gpus_per_node``, else one per process on the node when the run asks for GPUs (an estimator's ``use_gpu``,
a CUDA base image).

The workspace folder (run folders, journals, snapshots) must be on a filesystem the login node and the compute nodes
see at the same path: ``SlurmCompute`` checks it at attach with a one-task ``srun``.
"""

from __future__ import annotations

import contextlib
import math
import os
import re
import shlex
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from jupyter_amlrun.core.contracts import ComputeBackend, LaunchHandle, RankHost, RankOutcome, RankTopology
from jupyter_amlrun.runtime.errors import ComputeTargetException
from jupyter_amlrun.runtime.lifecycle import error_tail, finalize, live_status, recover_dead_run, recovery_lock
from jupyter_amlrun.runtime.lifecycle import request_cancel as lifecycle_cancel
from jupyter_amlrun.runtime.runfolder import RUN_MARK_ENV, RunFolder, RunState
from jupyter_amlrun.runtime.status import RunStatus
from jupyter_amlrun.runtime.watchdog import ensure_watchdog

if TYPE_CHECKING:
    from jupyter_amlrun.core.runconfig import RunConfiguration
    from jupyter_amlrun.core.workspace import Workspace

KIND = "Slurm"
DRIVER_MODULE = "jupyter_amlrun.compute._slurm_job"  # the driver, with Slurm's reason for its SIGTERM
JOB_PREFIX = "amlrun-"
JOB_SCRIPT = "slurm_job.sh"
JOB_LOG = "logs/azureml/slurm_job_log.txt"
# How long cancel() lets the driver end the run itself before it scancels the job.
CANCEL_GRACE_SECONDS = 20.0
CALL_SECONDS = 30.0
# How long the watchdog waits for Slurm to end the job of a dead driver before the shared recovery ends the run.
ENDING_WAIT_SECONDS = 120.0
GPU_OPTIONS = ("--gpus", "--gres=gpu", "--gpus-per-node", "--gpus-per-task", "-G")
PENDING = ("PENDING", "REQUEUED", "REQUEUE_HOLD", "REQUEUE_FED", "RESV_DEL_HOLD", "SUSPENDED", "CONFIGURING")
# Slurm's end states that read as a cancel of the run (the rest end it Failed).
CANCELED_STATES = ("CANCELLED", "PREEMPTED", "REVOKED")
# Pending reasons that never clear by themselves (the job's own request is refused): the run ends Failed, the job is
# scancelled, rather than the run staying Queued for ever. A cluster that enforces associations refuses most of these
# at sbatch already; without enforcement at submit (EnforcePartLimits=NO), Slurm keeps such a job pending.
HOPELESS_REASONS = {
    "InvalidAccount": "Slurm does not accept the job's account (`sacctmgr show assoc user=$USER` lists yours)",
    "InvalidQOS": "Slurm does not accept the job's QOS (`sacctmgr show qos` lists them)",
    "QOSNotAllowed": "the job's QOS is not allowed in this partition or account",
    "AccountNotAllowed": "the job's account is not allowed in this partition",
    "PartitionTimeLimit": "the job's time limit is above the partition's MaxTime (`sinfo -o '%P %l'`)",
    "PartitionNodeLimit": "the job asks for more nodes than the partition allows",
    "BadConstraints": "the job's constraints (GPUs, features, memory) match no node of the partition",
}
# The environment of a run that asks for GPUs: an estimator's use_gpu, or an image whose name says CUDA/GPU.
GPU_IMAGE_WORDS = ("cuda", "gpu")
INSTALL_HINT = (
    "Install the Slurm client commands on this (login) node, e.g. `apt-get install slurm-client` or your site's "
    "module (`module load slurm`), and make sure `sbatch` is on PATH (or pass slurm_bin_dir=...)."
)


# ------------------------------------------------------------------------------------------------ the Slurm CLI
class SlurmCli:
    """The Slurm commands of a target: its ``bin`` folder and ``SLURM_CONF`` (both optional)."""

    def __init__(self, bin_dir: str | None = None, conf: str | None = None) -> None:
        self.bin_dir = bin_dir
        self.conf = conf

    def which(self, command: str) -> str:
        found = shutil.which(command, path=self.bin_dir) if self.bin_dir else shutil.which(command)
        if not found:
            where = f" in {self.bin_dir}" if self.bin_dir else " on PATH"
            raise ComputeTargetException(f"The Slurm command `{command}` is not found{where}. {INSTALL_HINT}")
        return found

    def env(self) -> dict[str, str]:
        env = dict(os.environ)
        env.pop(RUN_MARK_ENV, None)  # a job submitted from inside a run is not one of that run's processes
        for key in [k for k in env if k.startswith(("SLURM_", "SBATCH_", "SRUN_"))]:
            # Inside an allocation these would leak into sbatch (a job of the run that submits is its own job).
            if key != "SLURM_CONF":
                env.pop(key)
        if self.conf:
            env["SLURM_CONF"] = self.conf
        return env

    def run(self, command: str, *args: str, timeout: float = CALL_SECONDS) -> subprocess.CompletedProcess[str]:
        try:
            return subprocess.run(
                [self.which(command), *args],
                capture_output=True,
                text=True,
                timeout=timeout,
                env=self.env(),
                check=False,
                stdin=subprocess.DEVNULL,
            )
        except subprocess.TimeoutExpired as exc:
            raise ComputeTargetException(
                f"`{command} {shlex.join(args)}` did not answer in {timeout:.0f} s: is slurmctld reachable?"
            ) from exc

    def job(self, job_id: str, timeout: float = CALL_SECONDS) -> dict[str, str] | None:
        """``scontrol show job`` as a dict, or None when Slurm no longer knows the job (or does not answer)."""
        try:
            done = self.run("scontrol", "show", "job", "-o", job_id, timeout=timeout)
        except ComputeTargetException:
            return None
        if done.returncode != 0 or "JobId=" not in done.stdout:
            return None
        return dict(re.findall(r"(?:^|\s)(\w+)=(\S*)", done.stdout))


def _first_line(text: str) -> str:
    lines = [line for line in text.strip().splitlines() if line.strip()]
    return (lines[0] if lines else "").strip()[:400]


def job_name(run_id: str) -> str:
    """The Slurm job name of a run (so ``squeue`` shows which run a job is)."""
    return JOB_PREFIX + run_id


def format_time_limit(seconds: float) -> str:
    """Slurm's ``--time`` in whole minutes (its granularity), rounded up."""
    return str(max(1, math.ceil(seconds / 60.0)))


def parse_time_limit(value: Any) -> str | None:
    """A target's ``time_limit``: Slurm's own format (``"30"``, ``"2:00:00"``, ``"1-00:00:00"``) or minutes."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, str)):
        raise ComputeTargetException(
            f"time_limit must be minutes (an int) or Slurm's --time format such as '2:00:00', got {value!r}."
        )
    text = str(value).strip()
    if not re.fullmatch(r"(\d+-)?\d+(:\d+){0,2}|UNLIMITED|INFINITE", text):
        raise ComputeTargetException(
            f"time_limit {value!r} is not in Slurm's --time format: minutes, 'MM:SS', 'HH:MM:SS' or 'D-HH:MM:SS'."
        )
    return text


def _minutes(text: str) -> float:
    """Minutes of a Slurm time string (``UNLIMITED`` is infinite)."""
    if text.upper() in ("UNLIMITED", "INFINITE"):
        return math.inf
    days = 0
    if "-" in text:
        d, text = text.split("-", 1)
        days = int(d)
    parts = [int(p) for p in text.split(":")]
    if len(parts) == 1:  # minutes
        seconds = parts[0] * 60
    elif len(parts) == 2:  # minutes:seconds
        seconds = parts[0] * 60 + parts[1]
    else:
        seconds = parts[0] * 3600 + parts[1] * 60 + parts[2]
    return days * 1440 + seconds / 60.0


# ------------------------------------------------------------------------------------------------ the backend
class SlurmBackend(ComputeBackend):
    """Runs each run's driver as a batch job on the Slurm cluster the target names (a partition and options)."""

    kind = KIND
    target_class = "jupyter_amlrun.compute.slurmcompute:SlurmCompute"

    def __init__(self, workspace: Workspace, name: str, config: dict[str, Any]) -> None:
        super().__init__(workspace, name, config)
        self.cli = SlurmCli(config.get("slurm_bin_dir"), config.get("slurm_conf"))
        self.partition: str | None = config.get("partition")

    # ---------------------------------------------------------------- contract
    def launch_ranks(
        self, host: RankHost, topology: RankTopology, command: list[str], env: dict[str, str]
    ) -> RankOutcome:
        """The ranks run as one ``srun`` step inside the run's own allocation (compute/_slurm_ranks.py)."""
        from jupyter_amlrun.compute._slurm_ranks import run_on_slurm

        return run_on_slurm(host, topology, command, env)

    def validate(self, run_config: RunConfiguration) -> None:
        self.cli.which("sbatch")
        if type(run_config.distributed_job_config).__name__ == "MpiConfiguration":
            raise ComputeTargetException(
                "MpiConfiguration runs are not yet on Slurm (PyTorchConfiguration is, through srun): submit them to "
                "'local' or an AmlCompute target for now (docs/scaling.md)."
            )
        nodes = int(getattr(run_config, "node_count", 1) or 1)
        if nodes > 1:
            # Slurm queues a job wider than its partition for ever (PartitionNodeLimit); refuse it before it exists.
            args = ["-h", "-o", "%D"] + ([f"--partition={self.partition}"] if self.partition else [])
            done = self.cli.run("sinfo", *args)
            have = sum(int(n) for n in done.stdout.split() if n.isdigit()) if done.returncode == 0 else 0
            if done.returncode == 0 and nodes > have:
                raise ComputeTargetException(
                    f"The run needs {nodes} nodes but Slurm partition {self.partition or '(default)'} of target "
                    f"{self.name!r} has {have}: lower node_count, or attach a partition with more nodes."
                )

    def launch(self, rf: RunFolder) -> LaunchHandle:
        spec = rf.read_spec()
        if spec is None:
            raise ComputeTargetException(f"Run {rf.run_id} has no spec.json in {rf.root}.")
        rf.driver_log.parent.mkdir(parents=True, exist_ok=True)
        python = str(self.config.get("python") or sys.executable)  # absolute: a bare `python` may lack our packages
        driver = [python, "-m", DRIVER_MODULE, str(self.workspace.path), rf.run_id]
        script = rf.root / JOB_SCRIPT
        script.write_text(
            "#!/bin/sh\n"
            "# The run's driver, as its Slurm job (written by jupyter_amlrun; the job log has what came before it).\n"
            "export PYTHONUNBUFFERED=1 MLFLOW_DISABLE_TELEMETRY=true\n"
            # when Slurm started the job (unix time), for the job log: queue wait vs the driver's start
            'echo "jupyter_amlrun: Slurm job $SLURM_JOB_ID started at $(date +%s.%N)"\n'
            f"exec {shlex.join(driver)} >> {shlex.quote(str(rf.driver_log))} 2>&1\n",
            encoding="utf-8",
        )
        script.chmod(0o755)
        nodes, per_node = spec.node_count or 1, 1
        if spec.distributed:
            from jupyter_amlrun.compute.distributed import DistributedConfigError, topology

            with contextlib.suppress(DistributedConfigError):  # the driver fails such a run with the clear error
                topo = topology(spec)
                if topo is not None:
                    nodes, per_node = topo.nodes, topo.per_node
        args = self.sbatch_args(rf, nodes, per_node, spec.max_run_duration_seconds, gpus=run_gpus(spec, per_node))
        done = self.cli.run("sbatch", *args, str(script))
        if done.returncode != 0:
            raise ComputeTargetException(self._refusal(done.stderr or done.stdout))
        job_id = done.stdout.strip().split(";")[0]
        if not job_id.isdigit():
            raise ComputeTargetException(f"sbatch answered {done.stdout.strip()!r}, not a job id.")
        # The job is in Slurm's queue: the run is Queued (its driver says so again when it starts).
        rf.set_status(
            RunStatus.QUEUED, queued_reason=f"Slurm job {job_id} submitted to partition {self.partition or '(default)'}"
        )
        # The watchdog (on this login node) follows the job: its pending reason, an end its driver could not record.
        ensure_watchdog(self.workspace.path, min_interval=2.0)
        return LaunchHandle(self.kind, self.name, {"job_id": job_id, "partition": self.partition})

    def sbatch_args(
        self,
        rf: RunFolder,
        nodes: int = 1,
        per_node: int = 1,
        max_seconds: float | None = None,
        gpus: int | None = None,
    ) -> list[str]:
        """The options of a run's ``sbatch``: the target's, the run's shape, its time limit, its GPUs.

        ``gpus``: GPUs per node the run asks for (None: none asked); the target's ``gpus_per_node`` wins, and GPU
        options in the target's ``extra_sbatch_args`` win over both.
        """
        cfg = self.config
        args = [
            "--parsable",
            f"--job-name={job_name(rf.run_id)}",
            f"--output={rf.root / JOB_LOG}",
            f"--chdir={rf.root}",
            f"--nodes={max(1, int(nodes or 1))}",
            f"--ntasks-per-node={max(1, int(per_node or 1))}",
            "--kill-on-invalid-dep=yes",
            # A run is one attempt: a node failure or preemption ends it with Slurm's reason rather than restarting
            # its driver over the same run folder (a user's own --requeue in extra_sbatch_args comes later and wins).
            "--no-requeue",
        ]
        for key in ("partition", "account", "qos"):
            if cfg.get(key):
                args.append(f"--{key}={cfg[key]}")
        limit = _limit_minutes(cfg.get("time_limit"), max_seconds)
        if limit is not None:
            args.append(f"--time={limit}")
        extra = [str(a) for a in cfg.get("extra_sbatch_args") or []]
        per_node_gpus = cfg["gpus_per_node"] if cfg.get("gpus_per_node") is not None else gpus  # 0: never
        if per_node_gpus and not any(a.startswith(GPU_OPTIONS) for a in extra):
            args.append(f"--gpus-per-node={int(per_node_gpus)}")
        return args + extra

    def _refusal(self, stderr: str) -> str:
        """sbatch's refusal, with what to change."""
        text = _first_line(stderr) or "no message"
        low = text.lower()
        fix = "Check the target's options (ComputeTarget.attach(ws, name, SlurmCompute.attach_configuration(...)))."
        if "account" in low or "association" in low:
            fix = (
                f"Slurm refuses account {self.config.get('account')!r} for this user: `sacctmgr show assoc user=$USER` "
                "lists yours; attach with account=<one of them> (or None for your default)."
            )
        elif "partition" in low:
            fix = f"Partition {self.partition!r} is not usable: `sinfo -s` lists the partitions; attach with one."
        elif "qos" in low:
            fix = f"QOS {self.config.get('qos')!r} is not allowed here: `sacctmgr show qos` lists them."
        elif "gres" in low or "gpu" in low:
            fix = (
                "The partition's nodes do not offer the GPUs asked for (`sinfo -o '%P %G'` lists each partition's "
                "gres): attach a GPU partition, or lower gpus_per_node (0: none) / the run's GPU needs."
            )
        elif "time limit" in low:
            fix = "Lower time_limit / max_run_duration_seconds to the partition's MaxTime (`sinfo -o '%P %l'`)."
        elif "node configuration" in low or "node count" in low:
            fix = "The job asks for more nodes/CPUs than the partition has: lower node_count/process_count_per_node."
        return f"Slurm refused the job (sbatch: {text}). {fix}"

    def status(self, rf: RunFolder) -> str:
        """The run's status, read from its folder only (a reader never ends a run: :meth:`watch` does, in the
        workspace's watchdog, which a read starts when none runs)."""
        state = rf.read_state()
        if state.terminal:
            return state.status
        if state.driver:
            return live_status(self.workspace.store, rf)  # read only; starts the watchdog for a dead owner
        ensure_watchdog(self.workspace.path, min_interval=2.0)  # a pending job is followed by the watchdog
        return state.status

    def watch(self, rf: RunFolder, state: RunState) -> bool | None:
        """What Slurm says of the run's job, for the workspace's watchdog (see the module docstring): True while
        the run lives, False when it was ended here, None when the driver's liveness decides."""
        job_id = self._job_id(rf)
        if not job_id or state.terminal:
            return None
        if state.driver:
            if rf.owner_alive(state):
                return True
            info = self.cli.job(job_id)
            if info is None:
                return None  # Slurm forgot the job (MinJobAge) or does not answer: the driver's death decides
            job_state = info.get("JobState", "")
            if job_state in ("SUSPENDED", "REQUEUED", "REQUEUE_HOLD"):
                return True  # stopped (or sent back to the queue) by Slurm, not dead: Slurm resumes or restarts it
            if job_state in (*PENDING, "RUNNING", "COMPLETING"):
                # Slurm is still ending the job's processes (KillWait): wait, bounded, for its final word.
                return True if rf.heartbeat_age(state) < ENDING_WAIT_SECONDS else None
            if job_state == "COMPLETED":
                return None  # the driver exited 0 without its final status: the shared recovery finishes the run
            self._end_killed(rf, info)
            return False
        info = self.cli.job(job_id)
        if info is None:
            if _gone(self.cli, job_id):
                self._end_without_driver(rf, None)
                return False
            return True  # Slurm does not answer: nothing to conclude
        job_state = info.get("JobState", "")
        if job_state in PENDING:
            reason = info.get("Reason", "None")
            if reason in HOPELESS_REASONS:
                self._end_refused(rf, info)
                return False
            text = f"Slurm job {job_id} is {job_state} (reason: {reason}) in partition {info.get('Partition', '?')}"
            if state.queued_reason != text:
                rf.update_state(queued_reason=text)
            return True
        if job_state in ("RUNNING", "COMPLETING", "CONFIGURING"):
            return True  # the driver is starting on the node
        self._end_without_driver(rf, info)
        return False

    def log_sources(self, rf: RunFolder) -> dict[str, Path]:
        return rf.log_files()

    def cancel(self, rf: RunFolder, reason: str = "Canceled by user") -> None:
        state = rf.read_state()
        if state.terminal:
            return
        job_id = self._job_id(rf)
        if not state.driver:
            # No driver yet (pending): scancel; a driver that starts meanwhile finds the cancel request.
            rf.request_cancel(reason)
            self._scancel(job_id)
            deadline = time.monotonic() + 10.0
            info = None
            while time.monotonic() < deadline and not rf.read_state().driver:
                info = self.cli.job(job_id) if job_id else None
                if info is None or info.get("JobState") not in (*PENDING, "RUNNING"):
                    break
                time.sleep(0.2)
            if not rf.read_state().driver:
                self._end_without_driver(rf, info)  # a cancel is a writer: the run ends Canceled now
            return
        # The driver's own cancel path ends the script's tree and finalises Canceled; the job then ends by itself.
        # scancel is the fallback for a driver that does not answer.
        lifecycle_cancel(self.workspace.store, rf, reason)
        deadline = time.monotonic() + CANCEL_GRACE_SECONDS
        while time.monotonic() < deadline:
            if rf.read_state().terminal:
                return
            time.sleep(0.2)
        self._scancel(job_id)

    def describe(self) -> dict[str, Any]:
        info: dict[str, Any] = {
            "name": self.name,
            "type": self.kind,
            "partition": self.partition,
            "max_nodes": None,
            "busy_nodes": None,
            "idle_nodes": None,
            "queued_runs": 0,
            "active_runs": [],
        }
        try:
            args = ["-h", "-o", "%D %t"] + ([f"--partition={self.partition}"] if self.partition else [])
            nodes = self.cli.run("sinfo", *args)
            jobs = self.cli.run("squeue", "-h", "-o", "%j|%T|%r")
        except ComputeTargetException as exc:
            info["error"] = str(exc)
            return info
        if nodes.returncode != 0 or jobs.returncode != 0:
            info["error"] = _first_line(nodes.stderr or jobs.stderr)
            return info
        counts: dict[str, int] = {}
        for line in nodes.stdout.splitlines():
            if len(line.split()) == 2:
                n, st = line.split()
                counts[st.rstrip("*~#!%$@^-")] = counts.get(st.rstrip("*~#!%$@^-"), 0) + int(n)
        info["node_states"] = counts
        info["max_nodes"] = sum(counts.values())
        info["idle_nodes"] = counts.get("idle", 0)
        info["busy_nodes"] = counts.get("alloc", 0) + counts.get("mix", 0) + counts.get("comp", 0)
        ours = [line.split("|") for line in jobs.stdout.splitlines() if line.startswith(JOB_PREFIX)]
        info["queued_jobs"] = sum(1 for line in jobs.stdout.splitlines() if "|PENDING|" in line)
        info["queued_runs"] = sum(1 for j in ours if len(j) > 1 and j[1] == "PENDING")
        info["active_runs"] = sorted(j[0][len(JOB_PREFIX) :] for j in ours if len(j) > 1)
        return info

    # ---------------------------------------------------------------- Slurm's side of a run
    def _job_id(self, rf: RunFolder) -> str:
        handle = rf.read_state().handle or {}
        return str((handle.get("data") or {}).get("job_id") or "")

    def _scancel(self, job_id: str) -> None:
        if job_id:
            with contextlib.suppress(ComputeTargetException):
                self.cli.run("scancel", job_id)

    def _end_killed(self, rf: RunFolder, info: dict[str, str]) -> str:
        """The job Slurm ended under a running driver: the shared recovery ends the run with Slurm's reason."""
        job_id = self._job_id(rf)
        why = slurm_reason(job_id, info)
        if info.get("JobState") in CANCELED_STATES and not rf.cancel_requested():
            rf.request_cancel(f"{why}: canceled by Slurm (scancel or preemption)")
        stamp = time.strftime("%Y-%m-%dT%H:%M:%S")
        with contextlib.suppress(OSError), open(rf.driver_log, "a", encoding="utf-8") as fh:
            fh.write(f"[{stamp}] Slurm: {why}\n")
        state = rf.read_state()
        if state.driver_host and state.driver_host != socket.gethostname():
            # The pids are a compute node's (Slurm ended them there): the recovery must not kill this host's.
            rf.update_state(script_pgid=None, script_pids=[])
        return recover_dead_run(self.workspace.store, rf, fate=f"was ended by Slurm ({why})")

    def _end_refused(self, rf: RunFolder, info: dict[str, str]) -> str:
        """A job Slurm keeps pending for a reason that cannot clear by itself: scancel it, the run ends Failed."""
        job_id, reason = self._job_id(rf), info.get("Reason", "?")
        self._scancel(job_id)
        error = (
            f"Slurm keeps job {job_id} pending with reason {reason}: {HOPELESS_REASONS.get(reason, reason)}. The job "
            f"was cancelled. Change the target's options (account, qos, partition, time_limit, extra_sbatch_args) "
            f"or the run's (node_count, max_run_duration_seconds) and submit again."
        )
        with recovery_lock(rf) as mine:
            state = rf.read_state()
            if not mine or state.terminal or state.driver:
                return state.status
            try:
                return finalize(self.workspace.store, rf, RunStatus.FAILED, error=error).status
            except Exception as exc:  # the store is down: the run still ends; MLflow catches up on a later read
                return rf.set_status(
                    RunStatus.FAILED, error=error, warnings=[f"recording the end failed: {exc}"]
                ).status

    def _end_without_driver(self, rf: RunFolder, info: dict[str, str] | None) -> str:
        """A job that ended before its driver took the run: end the run here, with Slurm's reason and job log."""
        with recovery_lock(rf) as mine:
            state = rf.read_state()
            if not mine or state.terminal or state.driver:
                return state.status if not state.driver else live_status(self.workspace.store, rf)
            job_id = self._job_id(rf)
            canceled = rf.cancel_requested()
            job_state = (info or {}).get("JobState", "")
            status = RunStatus.CANCELED if (canceled or job_state in CANCELED_STATES) else RunStatus.FAILED
            error = canceled or (
                f"{slurm_reason(job_id, info)} before the run's driver started. Slurm's job log is in {JOB_LOG}; "
                f"the compute nodes must see the workspace folder {self.workspace.path} at the same path."
            )
            tail = error_tail(rf.root / JOB_LOG, lines=10) or error_tail(rf.driver_log, lines=10)
            if tail and not canceled:
                error += f"\nLast lines of the job log:\n{tail}"
            try:
                return finalize(self.workspace.store, rf, status, error=error).status
            except Exception as exc:  # the store is down: the run still ends; MLflow catches up on a later read
                return rf.set_status(status, error=error, warnings=[f"recording the end failed: {exc}"]).status

    # ---------------------------------------------------------------- attach-time checks (SlurmCompute.attach)
    def check_cluster(self) -> None:
        """A clear error, before the target is written, for no Slurm commands, a partition that does not exist or
        an account/QOS that Slurm refuses (``sbatch --test-only`` asks the controller without queueing a job)."""
        self.cli.which("sbatch")
        if self.partition:
            done = self.cli.run("sinfo", "-h", "-o", "%P", f"--partition={self.partition}")
            if done.returncode != 0:
                raise ComputeTargetException(
                    f"sinfo failed: {_first_line(done.stderr)}. Is slurmctld reachable (SLURM_CONF, slurm_conf=)?"
                )
            if not done.stdout.strip():
                known = self.cli.run("sinfo", "-h", "-o", "%P").stdout.split()
                raise ComputeTargetException(
                    f"Slurm has no partition {self.partition!r}; known: {sorted(p.rstrip('*') for p in known)}. "
                    "Attach with partition=<one of them>."
                )
        probe = self.cli.run(
            "sbatch", "--test-only", *self.sbatch_args(RunFolder(self.workspace.path, "probe")), "--wrap", "true"
        )
        if probe.returncode != 0:
            raise ComputeTargetException(self._refusal(probe.stderr or probe.stdout))

    def check_shared_folder(self, timeout: float = 120.0) -> None:
        """The compute nodes see the workspace folder: a one-task job reads a token this node just wrote there."""
        token = os.urandom(8).hex()
        probe = self.workspace.path / "compute" / f".slurm-probe-{token}"
        probe.parent.mkdir(parents=True, exist_ok=True)
        probe.write_text(token)
        args = ["-N1", "-n1", f"--immediate={int(timeout)}", "--time=1", f"--job-name={JOB_PREFIX}probe"]
        for key in ("partition", "account", "qos"):
            if self.config.get(key):
                args.append(f"--{key}={self.config[key]}")
        try:
            done = self.cli.run("srun", *args, "cat", str(probe), timeout=timeout + 30)
        finally:
            probe.unlink(missing_ok=True)
        if done.returncode == 0 and done.stdout.strip() == token:
            return
        why = _first_line(done.stderr) or "the file was not there"
        if "immediate" in why.lower() or "unable to allocate" in why.lower():
            raise ComputeTargetException(
                f"Could not check that the compute nodes see the workspace folder: no node was free in {timeout:.0f} "
                f"s ({why}). Attach again when the partition has a free node, or pass check_shared_folder=False."
            )
        raise ComputeTargetException(
            f"The compute nodes of partition {self.partition!r} do not see the workspace folder {self.workspace.path} "
            f"({why}). Put the workspace on a filesystem the login and compute nodes share at the same path (an "
            "NFS/Lustre/GPFS home or project folder): Workspace.create(..., path=<shared folder>)."
        )


def slurm_reason(job_id: str, info: dict[str, str] | None) -> str:
    """What Slurm says of an ended job, for a run's error."""
    if info is None:
        return f"Slurm no longer knows job {job_id} (it ended before its state could be read)"
    state, reason = info.get("JobState", "?"), info.get("Reason", "None")
    if state == "COMPLETING" and reason == "TimeLimit":  # what scontrol says while the job's processes are signalled
        state = "TIMEOUT"
    elif state == "COMPLETING":  # its processes are being signalled: scancel, a signal to the job, a node going down
        return f"The Slurm job {job_id} was ended by Slurm (scancel or a signal to the job; it is COMPLETING)"
    text = f"The Slurm job {job_id} ended {state}"
    if state == "TIMEOUT":
        text += f" (its time limit {info.get('TimeLimit', '?')} was reached)"
    elif reason and reason != "None":
        text += f" (reason: {reason})"
    exit_code = info.get("ExitCode")
    if exit_code and exit_code != "0:0":
        text += f", exit code {exit_code}"
    return text


def run_gpus(spec: Any, per_node: int = 1) -> int | None:
    """GPUs per node a run asks for: one per process on the node when its environment needs GPUs (an estimator's
    ``use_gpu``, or a container image whose name says CUDA/GPU), else None (no GPU option)."""
    definition = getattr(spec, "environment_definition", None) or {}
    docker = (getattr(spec, "extra", None) or {}).get("docker") or {}
    image = str(docker.get("image") or "").lower()
    if definition.get("use_gpu") or any(word in image for word in GPU_IMAGE_WORDS):
        return max(1, int(per_node or 1))
    return None


def _gone(cli: SlurmCli, job_id: str) -> bool:
    """Slurm says the job id is unknown (not merely that it did not answer)."""
    with contextlib.suppress(ComputeTargetException):
        done = cli.run("squeue", "-h", "-j", job_id, "-o", "%T")
        return done.returncode != 0 and "invalid job id" in (done.stderr or "").lower()
    return False


def _limit_minutes(time_limit: Any, max_seconds: float | None) -> str | None:
    """The job's ``--time``: the target's limit, lowered to a minute past the run's max_run_duration_seconds."""
    target = parse_time_limit(time_limit)
    if not max_seconds:
        return target
    run = format_time_limit(float(max_seconds) + 60.0)
    if target is None or _minutes(target) > float(run):
        return run
    return target
