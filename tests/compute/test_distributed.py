"""Distributed runs on local targets: torch's elastic launcher (gloo on CPU) and Open MPI's mpirun, one log per rank,
a dying rank fails the run and stops the others, cancel leaves no process; the launch plan is a pure function."""

from __future__ import annotations

import json
import re
import shutil
import time
from pathlib import Path
from typing import Any

import pytest

from jupyter_amlrun import AmlCompute, ComputeTarget, Experiment, Run, ScriptRunConfig, Workspace
from jupyter_amlrun._util.procs import marked_processes
from jupyter_amlrun.compute import distributed
from jupyter_amlrun.compute.distributed import DistributedConfigError, LaunchPaths, plan, plan_node, topology
from jupyter_amlrun.compute.distributed_run import _failed_rank
from jupyter_amlrun.core.runconfig import MpiConfiguration, PyTorchConfiguration
from jupyter_amlrun.runtime.errors import RunConfigurationException
from jupyter_amlrun.runtime.runfolder import RUN_MARK_ENV, RunFolder, RunSpec
from tests.conftest import wait_for

try:
    import torch  # noqa: F401

    torch_missing = False
except ImportError:  # scripts/install-test-tools.sh installs torch==2.13.0
    torch_missing = True
needs_torch = pytest.mark.skipif(torch_missing, reason="torch is not installed (scripts/install-test-tools.sh)")

NAMES = ["RANK", "LOCAL_RANK", "WORLD_SIZE", "NODE_RANK", "MASTER_ADDR", "MASTER_PORT", "AZ_BATCHAI_TASK_INDEX"]
ALL_REDUCE = f"""
import json, os
import torch
import torch.distributed as dist
from jupyter_amlrun import Run
dist.init_process_group("gloo")
rank, world = dist.get_rank(), dist.get_world_size()
t = torch.tensor([float(rank + 1)])
dist.all_reduce(t)
print("ENV " + json.dumps({{k: os.environ.get(k) for k in {NAMES!r}}}), flush=True)
print(f"SUM {{t.item()}}", flush=True)
run = Run.get_context()
run.log("rank", rank)
run.log("world_size", world)
run.log("sum", t.item())
dist.destroy_process_group()
"""


def _spec(dist: Any, **kw: Any) -> RunSpec:
    from jupyter_amlrun.core._submit import _dist_spec

    base = dict(
        run_id="r1", experiment="e", experiment_id="1", workspace="w", script="train.py", snapshot_id="s",
        interpreter="/venv/bin/python", arguments=["--lr", "0.1"], node_count=dist.node_count,
    )  # fmt: skip
    base.update(kw)
    return RunSpec(**base, distributed=_dist_spec(dist))  # type: ignore[arg-type]


def _rank_env(rf: RunFolder, rank: int) -> dict[str, str]:
    text = rf.rank_log(rank).read_text()
    line = next(x for x in text.splitlines() if x.startswith("ENV "))
    return dict(json.loads(line[4:]))


def _submit_and_wait(
    ws: Workspace, make_source: Any, script: str, dist: Any, target: str = "local", experiment: str = "dist"
) -> tuple[Run, dict[str, Any]]:
    """Submit ``script`` as train.py with ``dist`` to ``target``; wait for its end (never raising)."""
    src = make_source({"train.py": script})
    cfg = ScriptRunConfig(source_directory=src, script="train.py", compute_target=target, distributed_job_config=dist)
    run = Experiment(ws, experiment).submit(cfg)
    return run, run.wait_for_completion(raise_on_error=False)


def _no_process_left(run_id: str) -> bool:
    return not marked_processes(RUN_MARK_ENV, run_id)


# ---------------------------------------------------------------------- the plan (pure, no processes)
@pytest.mark.unit
def test_plan_pytorch_two_nodes(tmp_path: Path) -> None:
    spec = _spec(PyTorchConfiguration("Gloo", process_count=4, node_count=2))
    paths = LaunchPaths.under(tmp_path)
    launches = plan(spec, "10.0.0.4", 29500, paths)
    assert [launch.node_rank for launch in launches] == [0, 1]
    one = launches[1]
    assert one.ranks == [2, 3]
    assert one.argv[:3] == ["/venv/bin/python", "-m", "torch.distributed.run"]
    for flag in ("--nnodes=2", "--node-rank=1", "--nproc-per-node=2", "--master-addr=10.0.0.4", "--master-port=29500"):
        assert flag in one.argv
    assert one.argv[-3:] == ["train.py", "--lr", "0.1"]
    assert one.env["NODE_RANK"] == "1" and one.env["WORLD_SIZE"] == "4"
    assert one.env["AZ_BATCH_MASTER_NODE"] == "10.0.0.4:29500" and one.env["AZ_BATCHAI_TASK_INDEX"] == "1"
    assert one.rank_logs[3] == tmp_path / "logs/user_logs/std_log_process_3.txt"
    # Pure: the same arguments give the same launch (a Ray actor on another node computes its own).
    assert plan_node(spec, 1, "10.0.0.4", 29500, paths) == one
    # The script's arguments after input replacement.
    assert plan_node(spec, 0, "h", 1, paths, command=["train.py", "/mnt/x"]).argv[-2:] == ["train.py", "/mnt/x"]


@pytest.mark.unit
def test_plan_mpi_and_refusals(tmp_path: Path) -> None:
    paths = LaunchPaths.under(tmp_path)
    spec = _spec(MpiConfiguration(process_count_per_node=2, node_count=2))
    launches = plan(spec, "127.0.0.1", 1234, paths)
    assert len(launches) == 1 and launches[0].ranks == [0, 1, 2, 3]  # mpirun on node 0 starts every rank
    assert launches[0].argv[launches[0].argv.index("-np") + 1] == "4"
    assert plan_node(spec, 1, "127.0.0.1", 1234, paths) is None
    with pytest.raises(RunConfigurationException, match="must be a multiple of node_count=2"):
        PyTorchConfiguration("Gloo", process_count=3, node_count=2)
    edited = _spec(PyTorchConfiguration("Gloo", process_count=4, node_count=2))
    edited.distributed["process_count"] = 3  # type: ignore[index]  # changed after the config was checked
    with pytest.raises(DistributedConfigError, match="must be a multiple of node_count"):
        topology(edited)
    with pytest.raises(DistributedConfigError, match="node_rank must be in 0..1"):
        plan_node(spec, 2, "h", 1, paths)
    # process_count=None: one process per node, as v1.
    assert topology(_spec(PyTorchConfiguration("Gloo", node_count=3))) == distributed.Topology("pytorch", 3, 1, "gloo")


@pytest.mark.unit
def test_estimator_spelling_reaches_the_same_launch(tmp_path: Path, make_source: Any) -> None:
    from jupyter_amlrun.train.estimator import PyTorch

    src = make_source({"train.py": "print(1)\n"})
    est = PyTorch(str(src), entry_script="train.py", node_count=2, process_count_per_node=2, distributed_backend="gloo")
    via_estimator = _spec(est._config().distributed_job_config)
    via_config = _spec(PyTorchConfiguration("Gloo", process_count=4, node_count=2))
    assert via_estimator.distributed == via_config.distributed
    paths = LaunchPaths.under(tmp_path)
    assert plan(via_estimator, "h", 1, paths) == plan(via_config, "h", 1, paths)
    assert topology(via_estimator) == distributed.Topology("pytorch", 2, 2, "gloo")


@pytest.mark.unit
def test_failed_rank_is_read_from_the_launchers_report() -> None:
    torch_report = """
Failures:
[1]:
  rank      : 0 (local_rank: 0)
  exitcode  : -15 (pid: 11098)  (SIGTERM)
------------------------------------------------------------
Root Cause (first observed failure):
[0]:
  rank      : 1 (local_rank: 1)
  exitcode  : 3 (pid: 11099)
"""
    assert _failed_rank(torch_report) == (1, 3)
    mpi_report = "The first process to do so was:\n\n  Process name: [[58537,1],1]\n  Exit code:    4\n"
    assert _failed_rank(mpi_report) == (1, 4)
    assert _failed_rank("nothing here") == (None, None)


@pytest.mark.unit
def test_nccl_without_gpus_is_warned_about_gloo_is_not() -> None:
    nccl = topology(_spec(PyTorchConfiguration("Nccl", process_count=2, node_count=1)))
    gloo = topology(_spec(PyTorchConfiguration("Gloo", process_count=2, node_count=1)))
    assert nccl is not None and gloo is not None
    assert distributed.backend_warning(gloo) is None
    if any(Path("/dev").glob("nvidia[0-9]*")):
        assert distributed.backend_warning(nccl) is None
    else:
        assert "communication_backend='Gloo'" in (distributed.backend_warning(nccl) or "")


@pytest.mark.unit
def test_torch_missing_in_the_runs_interpreter_is_said_with_the_fix() -> None:
    python = shutil.which("python3") or "/usr/bin/python3"
    probe = RunSpec.from_dict(_spec(PyTorchConfiguration("Gloo", node_count=1)).to_dict())
    probe.interpreter = python
    import subprocess

    if subprocess.run([python, "-c", "import torch"], capture_output=True).returncode == 0:
        pytest.skip(f"{python} has torch")
    problem = distributed.check_launchable(probe)
    assert problem and "torch is not installed" in problem and "torch==2.13.0" in problem


# ---------------------------------------------------------------------- real runs
@needs_torch
@pytest.mark.integration
def test_gloo_two_nodes_one_process_each_on_a_pool(ws: Workspace, make_source: Any) -> None:
    ComputeTarget.create(ws, "cpu-cluster", AmlCompute.provisioning_configuration(max_nodes=2))
    dist = PyTorchConfiguration("Gloo", process_count=2, node_count=2)
    run, details = _submit_and_wait(ws, make_source, ALL_REDUCE, dist, target="cpu-cluster")
    assert details["status"] == "Completed", details
    rf = RunFolder(ws.path, run.id)
    for rank in (0, 1):
        env = _rank_env(rf, rank)
        assert env["RANK"] == str(rank) and env["NODE_RANK"] == str(rank) and env["LOCAL_RANK"] == "0"
        assert env["WORLD_SIZE"] == "2" and env["MASTER_ADDR"] == "127.0.0.1" and int(env["MASTER_PORT"]) > 0
        assert env["AZ_BATCHAI_TASK_INDEX"] == str(rank)
        assert "SUM 3.0" in rf.rank_log(rank).read_text()  # 1 + 2 across the two nodes
    names = run.get_file_names()
    assert {"logs/user_logs/std_log_process_0.txt", "logs/user_logs/std_log_process_1.txt"} <= set(names)
    # Rank 0's metrics are the run's; rank 1's were refused, said in its log and in the run's warnings.
    metrics = run.get_metrics()
    assert metrics["rank"] == 0 and metrics["world_size"] == 2 and metrics["sum"] == 3.0
    assert "rank 1 logged metric 'rank', which is not recorded" in rf.rank_log(1).read_text()
    warnings = " ".join(w["message"] for w in details.get("warnings", []))
    assert "rank 1 (first metric 'rank')" in warnings
    assert _no_process_left(run.id)


@needs_torch
@pytest.mark.integration
def test_gloo_one_node_two_processes_streams_rank_0(ws: Workspace, make_source: Any) -> None:
    import io

    src = make_source({"train.py": ALL_REDUCE})
    cfg = ScriptRunConfig(
        source_directory=src,
        script="train.py",
        distributed_job_config=PyTorchConfiguration("Gloo", process_count=2, node_count=1),
    )
    run = Experiment(ws, "dist").submit(cfg)
    out = io.StringIO()
    import contextlib

    with contextlib.redirect_stdout(out):
        details = run.wait_for_completion(show_output=True, raise_on_error=False)
    assert details["status"] == "Completed", details
    rf = RunFolder(ws.path, run.id)
    for rank in (0, 1):
        env = _rank_env(rf, rank)
        assert env["RANK"] == env["LOCAL_RANK"] == str(rank) and env["NODE_RANK"] == "0"
        assert env["WORLD_SIZE"] == "2"
        assert "SUM 3.0" in rf.rank_log(rank).read_text()
    assert rf.user_log == rf.rank_log(0)
    streamed = out.getvalue()
    assert '"RANK": "0"' in streamed and '"RANK": "1"' not in streamed  # rank 0's log is the one that streams


DYING_RANK_1 = """
import os, sys, time
print("rank", os.environ["RANK"], "started", flush=True)
if os.environ["RANK"] == "1":
    print("boom: rank 1 gives up", flush=True)
    sys.exit(3)
time.sleep(600)  # rank 0 on the other node would wait forever
"""


@needs_torch
@pytest.mark.integration
def test_a_dying_rank_fails_the_run_and_stops_the_others(ws: Workspace, make_source: Any) -> None:
    ComputeTarget.create(ws, "cpu-cluster", AmlCompute.provisioning_configuration(max_nodes=2))
    start = time.monotonic()
    dist = PyTorchConfiguration("Gloo", process_count=2, node_count=2)
    run, details = _submit_and_wait(ws, make_source, DYING_RANK_1, dist, target="cpu-cluster")
    # not a speed check: the other rank sleeps 600 s, so ending well before that means it was stopped
    assert time.monotonic() - start < 300
    assert details["status"] == "Failed", details
    message = details["error"]["error"]["message"]
    assert re.search(r"Rank 1 of 2 \(node 1\) of script train.py exited with code 3", message), message
    assert "boom: rank 1 gives up" in message  # the tail of that rank's log
    assert _no_process_left(run.id)
    # The pool's two slots are free again.
    # (the guard lets the slots go after its last sweep for leftover processes, a moment after the final status)
    assert wait_for(
        lambda: ComputeTarget(ws, "cpu-cluster").get_status().serialize()["nodeStateCounts"]["runningNodeCount"] == 0,
        timeout=30,
        interval=0.2,
    )


@needs_torch
@pytest.mark.integration
def test_cancel_of_a_distributed_run_leaves_no_process(ws: Workspace, make_source: Any) -> None:
    src = make_source(
        {"train.py": "import os, time\nprint('rank', os.environ['RANK'], 'started', flush=True)\ntime.sleep(600)\n"}
    )
    cfg = ScriptRunConfig(
        source_directory=src,
        script="train.py",
        distributed_job_config=PyTorchConfiguration("Gloo", process_count=2, node_count=1),
    )
    run = Experiment(ws, "dist").submit(cfg)
    rf = RunFolder(ws.path, run.id)

    def both_started() -> bool:
        return all(rf.rank_log(r).exists() and "started" in rf.rank_log(r).read_text() for r in (0, 1))

    assert wait_for(both_started, timeout=60)
    assert len(marked_processes(RUN_MARK_ENV, run.id)) >= 3  # the launcher and its two ranks
    run.cancel()
    assert run.wait_for_completion(raise_on_error=False)["status"] == "Canceled"
    assert wait_for(lambda: _no_process_left(run.id), timeout=10)


MPI_SCRIPT = f"""
import json, os
print("ENV " + json.dumps({{k: os.environ.get(k) for k in {[*NAMES, "OMPI_COMM_WORLD_RANK"]!r}}}), flush=True)
"""


@pytest.mark.integration
@pytest.mark.skipif(shutil.which("mpirun") is None, reason="Open MPI is not installed (scripts/install-test-tools.sh)")
def test_mpi_run_with_mpirun(ws: Workspace, make_source: Any) -> None:
    dist = MpiConfiguration(process_count_per_node=2, node_count=1)
    run, details = _submit_and_wait(ws, make_source, MPI_SCRIPT, dist, experiment="mpi")
    assert details["status"] == "Completed", details
    rf = RunFolder(ws.path, run.id)
    for rank in (0, 1):
        env = _rank_env(rf, rank)
        assert env["RANK"] == env["OMPI_COMM_WORLD_RANK"] == env["LOCAL_RANK"] == str(rank)
        assert env["WORLD_SIZE"] == "2" and env["NODE_RANK"] == "0" and env["MASTER_ADDR"] == "127.0.0.1"
    assert _no_process_left(run.id)


@pytest.mark.integration
def test_mpi_without_mpirun_fails_at_preparing_with_how_to_install(
    ws: Workspace, make_source: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    empty = tmp_path / "no-mpi-bin"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))  # the driver inherits it: no mpirun anywhere on its PATH
    dist = MpiConfiguration(process_count_per_node=2, node_count=1)
    run, details = _submit_and_wait(ws, make_source, "print('never runs')\n", dist, experiment="mpi")
    assert details["status"] == "Failed", details
    message = details["error"]["error"]["message"]
    assert "`mpirun` is not on PATH" in message and "apt-get install openmpi-bin" in message
    history = [h[0] for h in json.loads(RunFolder(ws.path, run.id).state_path.read_text())["history"]]
    assert "Preparing" in history and "Running" not in history and "Starting" not in history


@pytest.mark.integration
@pytest.mark.skipif(shutil.which("mpirun") is None, reason="Open MPI is not installed (scripts/install-test-tools.sh)")
def test_mpi_dying_rank_is_named_from_mpiruns_report(ws: Workspace, make_source: Any) -> None:
    script = DYING_RANK_1.replace("boom: rank 1 gives up", "mpi rank 1 fails").replace("exit(3)", "exit(4)")
    dist = MpiConfiguration(process_count_per_node=1, node_count=2)
    run, details = _submit_and_wait(ws, make_source, script, dist, experiment="mpi")
    assert details["status"] == "Failed", details
    message = details["error"]["error"]["message"]
    assert "Rank 1 of 2" in message and "exited with code 4" in message and "mpi rank 1 fails" in message, message
    assert _no_process_left(run.id)
