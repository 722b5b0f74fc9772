"""ComputeTarget / AmlCompute: the v1 class API, name rules, and the shared slot pool."""

from __future__ import annotations

import signal
from typing import Any

import pytest

from jupyter_amlrun import AmlCompute, ComputeTarget, Experiment, ScriptRunConfig
from jupyter_amlrun.compute._slots import SlotPool
from jupyter_amlrun.runtime.errors import ComputeTargetException, UserErrorException
from tests.conftest import wait_for

pytestmark = pytest.mark.integration


def test_create_get_list_delete(ws: Any, capsys: pytest.CaptureFixture[str]) -> None:
    cfg = AmlCompute.provisioning_configuration(vm_size="STANDARD_D2_V2", max_nodes=2)
    cluster = ComputeTarget.create(ws, "cpu-cluster", cfg)
    assert isinstance(cluster, AmlCompute)
    cluster.wait_for_completion(show_output=True)
    assert "Succeeded" in capsys.readouterr().out
    status = cluster.get_status().serialize()
    assert status["scaleSettings"]["maxNodeCount"] == 2
    assert status["nodeStateCounts"]["runningNodeCount"] == 0
    assert status["provisioningState"] == "Succeeded"
    again = ComputeTarget(ws, "cpu-cluster")
    assert isinstance(again, AmlCompute) and again.vm_size == "STANDARD_D2_V2"
    # Re-running the notebook cell that creates it is harmless.
    assert ComputeTarget.create(ws, "cpu-cluster", cfg).name == "cpu-cluster"
    assert list(ws.compute_targets) == ["cpu-cluster"]
    cluster.delete()
    assert ws.compute_targets == {}
    with pytest.raises(ComputeTargetException, match="ComputeTargetNotFound"):
        ComputeTarget(ws, "cpu-cluster")


@pytest.mark.parametrize("name", ["local", "amlcompute", "ContainerInstance"])
def test_reserved_names_refused(ws: Any, name: str) -> None:
    with pytest.raises(ComputeTargetException, match="reserved"):
        ComputeTarget.create(ws, name, AmlCompute.provisioning_configuration(max_nodes=1))


@pytest.mark.parametrize("name", ["1abc", "a", "has space", "x" * 17, "under_score"])
def test_bad_names_refused(ws: Any, name: str) -> None:
    with pytest.raises(ComputeTargetException, match="Invalid compute target name"):
        ComputeTarget.create(ws, name, AmlCompute.provisioning_configuration(max_nodes=1))
    assert ws.compute_targets == {}


def test_bad_provisioning(ws: Any) -> None:
    with pytest.raises(ComputeTargetException, match="max nodes count is mandatory"):
        ComputeTarget.create(ws, "c1", AmlCompute.provisioning_configuration())
    with pytest.raises(ComputeTargetException, match="greater than or equal to min nodes"):
        ComputeTarget.create(ws, "c1", AmlCompute.provisioning_configuration(min_nodes=3, max_nodes=2))
    ComputeTarget.create(ws, "c1", AmlCompute.provisioning_configuration(max_nodes=2))
    with pytest.raises(ComputeTargetException, match="different configuration"):
        ComputeTarget.create(ws, "c1", AmlCompute.provisioning_configuration(max_nodes=3))


def test_unknown_target_rejected_at_submit_leaves_nothing(ws: Any, make_source: Any) -> None:
    src = make_source({"train.py": "print(1)\n"})
    exp = Experiment(ws, "x")
    with pytest.raises(ComputeTargetException, match="Unknown compute target 'gpu-cluster'"):
        exp.submit(ScriptRunConfig(source_directory=src, script="train.py", compute_target="gpu-cluster"))
    assert list(exp.get_runs()) == []
    assert not any((ws.path / "runs").iterdir())


def test_node_count_over_pool_size_rejected(ws: Any, make_source: Any) -> None:
    from jupyter_amlrun import MpiConfiguration

    ComputeTarget.create(ws, "small", AmlCompute.provisioning_configuration(max_nodes=1))
    src = make_source({"train.py": "print(1)\n"})
    cfg = ScriptRunConfig(
        source_directory=src,
        script="train.py",
        compute_target="small",
        distributed_job_config=MpiConfiguration(node_count=2),
    )
    with pytest.raises(UserErrorException, match="needs 2 nodes"):
        Experiment(ws, "x").submit(cfg)


def test_pool_queues_runs_beyond_max_nodes(ws: Any, make_source: Any) -> None:
    cluster = ComputeTarget.create(ws, "one-node", AmlCompute.provisioning_configuration(max_nodes=1))
    src = make_source({"train.py": "import time, pathlib\npathlib.Path('go').exists()\ntime.sleep(600)\n"})
    exp = Experiment(ws, "queue")
    cfg = ScriptRunConfig(source_directory=src, script="train.py", compute_target=cluster)
    first = exp.submit(cfg)
    assert wait_for(lambda: first.get_status() == "Running", timeout=60)
    second = exp.submit(cfg)
    assert wait_for(lambda: second.get_status() == "Queued" and cluster.get_status().queued_run_count == 1, timeout=30)
    status = cluster.get_status().serialize()
    assert status["nodeStateCounts"]["runningNodeCount"] == 1
    # the driver says why right after its reservation fails to get a node (a moment after the count shows it)
    assert wait_for(lambda: "free node" in second.get_detailed_status()["details"], timeout=10)
    first.cancel()
    assert wait_for(lambda: second.get_status() == "Running", timeout=60)
    second.cancel()
    assert wait_for(lambda: second.get_status() == "Canceled", timeout=30)
    assert wait_for(lambda: cluster.get_status().node_state_counts["runningNodeCount"] == 0, timeout=30)


def test_slot_freed_when_holder_dies(tmp_path: Any) -> None:
    import subprocess
    import sys

    pool = SlotPool(tmp_path / "slots", 1)
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            f"from jupyter_amlrun.compute._slots import SlotPool; import pathlib, time;"
            f"fds = SlotPool(pathlib.Path({str(tmp_path / 'slots')!r}), 1).try_acquire(1);"
            "print(bool(fds), flush=True);"
            "time.sleep(600)",
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "True"
        assert pool.busy() == 1
        assert pool.try_acquire(1) is None
    finally:
        holder.send_signal(signal.SIGKILL)
        holder.wait()
    fds = pool.try_acquire(1)
    assert fds is not None
    SlotPool.release(fds)
