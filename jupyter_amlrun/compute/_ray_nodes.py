"""The driver's side of a distributed run on a Ray target: a placement group, one node actor per bundle.

The driver (itself the entrypoint of the run's Ray job) reserves a placement group of ``node_count`` bundles of
``{"CPU": process_count_per_node}``, then starts one :class:`NodeAgent` actor inside each bundle. Each actor plans its
own node's launch with :func:`~jupyter_amlrun.compute.distributed.plan_node` (pure, so it is the same plan the
driver computes for the run's error) and runs it as a child process group; node 0's actor picks ``MASTER_ADDR`` (its
node's IP) and a free port, which the driver hands to the others. Watching, failure, cancel and the run's outcome are
the local path's (:func:`~jupyter_amlrun.compute.distributed_run.watch`); only starting, polling and stopping differ.

The placement group is removed when the run ends, in every case. One that Ray cannot place in
``AMLRUN_RAY_PLACEMENT_SECONDS`` (default 60) fails the run, naming what was asked and what the cluster has.
"""

from __future__ import annotations

import contextlib
import logging
import os
import subprocess
import time
from dataclasses import asdict
from typing import Any

from jupyter_amlrun._util.procs import kill_tree
from jupyter_amlrun.compute.distributed import LaunchPaths, NodeLaunch, free_port, plan_node
from jupyter_amlrun.compute.distributed_run import Outcome, watch
from jupyter_amlrun.core.contracts import RankHost, RankTopology
from jupyter_amlrun.runtime.runfolder import RUN_MARK_ENV, RunSpec
from jupyter_amlrun.runtime.status import RunStatus

PLACEMENT_ENV = "AMLRUN_RAY_PLACEMENT_SECONDS"
DEFAULT_PLACEMENT_SECONDS = 60.0
# Bound on one call to the node actors once placed (starting a worker on a loaded node is slow, never endless).
CALL_SECONDS = 120.0


def placement_group_name(run_id: str) -> str:
    """The name of a run's placement group (stable, so it can be found from the run alone)."""
    return f"amlrun-{run_id}"


class NodeAgent:
    """One node of a distributed run, as a Ray actor: runs that node's launch and answers polls and stops."""

    def __init__(self, run_id: str) -> None:
        self.mark = (RUN_MARK_ENV, run_id)
        self.proc: subprocess.Popen[bytes] | None = None

    def rendezvous(self) -> tuple[str, int]:
        """This node's IP and a port free on it now (node 0's answer is the run's MASTER_ADDR:MASTER_PORT)."""
        import ray

        ip = ray.util.get_node_ip_address()
        return ip, free_port(ip)

    def start(
        self,
        spec: dict[str, Any],
        node_rank: int,
        master: tuple[str, int],
        paths: dict[str, str],
        command: list[str],
        env: dict[str, str],
    ) -> int | None:
        """Plan and start this node's launch; its pid, or None for a node that starts nothing (MPI's others)."""
        from pathlib import Path

        where = LaunchPaths(**{k: Path(v) for k, v in paths.items()})
        launch = plan_node(RunSpec.from_dict(spec), node_rank, master[0], master[1], where, command)
        if launch is None:
            return None
        where.user_logs.mkdir(parents=True, exist_ok=True)
        where.system_logs.mkdir(parents=True, exist_ok=True)
        with open(launch.launcher_log, "ab") as out:
            self.proc = subprocess.Popen(
                launch.argv,
                cwd=where.workdir,
                env={**env, **launch.env},
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # its own group: stop() ends it and its ranks, never this actor
            )
        return self.proc.pid

    def poll(self) -> int | None:
        """The launch's exit code, None while it runs (0 for a node that started nothing)."""
        return 0 if self.proc is None else self.proc.poll()

    def stop(self, grace: float) -> int | None:
        """End the launch, its ranks and anything on this machine with the run's mark; its exit code."""
        if self.proc is None:
            kill_tree(None, [], grace=grace, mark=self.mark)
            return 0
        kill_tree(self.proc.pid, [self.proc.pid], grace=grace, mark=self.mark)
        return self.proc.wait()


def run_on_ray(driver: RankHost, topo: RankTopology, cmd: list[str], env: dict[str, str]) -> Outcome:
    """Run ``driver``'s distributed run on the Ray cluster its job runs on; the outcome as
    :meth:`Driver.execute` returns it."""
    import ray
    from ray.util.placement_group import placement_group, remove_placement_group
    from ray.util.scheduling_strategies import PlacementGroupSchedulingStrategy

    rf, spec = driver.rf, driver.spec
    # The job's entrypoint has RAY_ADDRESS; the ranks' output goes to their own log files, not through Ray.
    ray.init(address="auto", log_to_driver=False, logging_level=logging.WARNING, configure_logging=False)
    bundles = [{"CPU": float(topo.per_node)} for _ in range(topo.nodes)]
    # SPREAD, not STRICT_SPREAD: one bundle per Ray node where the cluster has enough nodes, yet a one-machine
    # development head can still hold every bundle (STRICT_SPREAD would never place there).
    group = placement_group(bundles, strategy="SPREAD", name=placement_group_name(rf.run_id))
    agents: list[Any] = []
    try:
        problem = _wait_placed(driver, group, topo)
        if problem is not None:
            return problem
        agent_cls = ray.remote(NodeAgent)
        for node in range(topo.nodes):
            strategy = PlacementGroupSchedulingStrategy(placement_group=group, placement_group_bundle_index=node)
            agents.append(agent_cls.options(num_cpus=topo.per_node, scheduling_strategy=strategy).remote(rf.run_id))
        master = ray.get(agents[0].rendezvous.remote(), timeout=CALL_SECONDS)
        paths = LaunchPaths.under(rf.root)
        where = {k: str(v) for k, v in asdict(paths).items()}
        pids = ray.get(
            [a.start.remote(spec.to_dict(), n, master, where, cmd[1:], env) for n, a in enumerate(agents)],
            timeout=CALL_SECONDS,
        )
        # The same pure plan the actors made: the run's error reads the failed node's logs from it.
        launches: list[NodeLaunch] = []
        for node in range(topo.nodes):
            launch = plan_node(spec, node, master[0], master[1], paths, cmd[1:])
            launches.append(launch or _empty_launch(node, paths))
        driver.log(
            f"Distributed run on Ray: {topo.nodes} node(s) x {topo.per_node} process(es) ({topo.kind}, "
            f"{topo.backend}), world size {topo.world_size}, master {master[0]}:{master[1]}, placement group "
            f"{placement_group_name(rf.run_id)} (SPREAD). One log per rank: logs/user_logs/std_log_process_<rank>.txt."
        )
        started = [p for p in pids if p is not None]
        driver.set_status(RunStatus.RUNNING, script_pgid=started[0] if started else None, script_pids=started)

        def poll() -> list[int | None]:
            return list(ray.get([a.poll.remote() for a in agents], timeout=CALL_SECONDS))

        def stop_all(grace: float) -> list[int | None]:
            return list(ray.get([a.stop.remote(grace) for a in agents], timeout=CALL_SECONDS))

        return watch(driver, topo, launches, poll, stop_all)
    finally:
        # Every rank first (an actor's killed worker would leave its launch running), then the reservation.
        if agents:
            with contextlib.suppress(Exception):
                ray.get([a.stop.remote(1.0) for a in agents], timeout=30)
        for agent in agents:
            with contextlib.suppress(Exception):
                ray.kill(agent)
        try:
            remove_placement_group(group)
            driver.log(f"Removed placement group {placement_group_name(rf.run_id)}.")
        except Exception as exc:  # Ray removes a job's groups when the job ends; this only says it came later
            driver.log(f"Warning: removing placement group {placement_group_name(rf.run_id)} failed: {exc}")
        with contextlib.suppress(Exception):
            ray.shutdown()


def _wait_placed(driver: RankHost, group: Any, topo: RankTopology) -> Outcome | None:
    """Wait (bounded) for Ray to place ``group``; the run's outcome when it is not placed, or None once it is."""
    import ray

    seconds = float(os.environ.get(PLACEMENT_ENV) or DEFAULT_PLACEMENT_SECONDS)
    deadline = time.monotonic() + seconds
    started = time.time()
    while not group.wait(timeout_seconds=1):
        stop = driver.stop_reason(started)
        if stop is not None:
            return (RunStatus.CANCELED if stop[0] == "cancel" else RunStatus.FAILED), stop[1], None
        if time.monotonic() > deadline:
            total = ray.cluster_resources().get("CPU", 0)
            free = ray.available_resources().get("CPU", 0)
            error = (
                f"Ray could not place this run's {topo.nodes} node(s) x {topo.per_node} CPU(s) (a placement group of "
                f"{topo.nodes} bundle(s) of {{'CPU': {topo.per_node}}}, {topo.world_size} CPU(s) in all) within "
                f"{seconds:g} s: the cluster has {total:g} CPU(s), {free:g} free now. Lower node_count or "
                "process_count, add nodes to the cluster, or wait for other runs to end (the wait is "
                f"{PLACEMENT_ENV}, in seconds)."
            )
            driver.log(f"Error: {error}")
            return RunStatus.FAILED, error, None
    return None


def _empty_launch(node: int, paths: LaunchPaths) -> NodeLaunch:
    """A node that starts nothing itself (MPI: mpirun on node 0 starts every rank)."""
    return NodeLaunch(node, [], {}, [], {}, paths.system_logs / f"launcher_node_{node}.txt")
