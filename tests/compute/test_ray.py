"""The Ray compute target against a real Ray head on 127.0.0.1 (started once per module by ``ComputeTarget.create``).

The head: ``RayCompute.provisioning_configuration(num_cpus=2)`` in a workspace of its own, its own temp dir under
/tmp, free ports, usage stats off; ``delete()`` at teardown stops it (by its processes' ids), checked there.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import socket
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from jupyter_amlrun import ComputeTarget, Dataset, Experiment, RayCompute, ScriptRunConfig, Workspace
from jupyter_amlrun._util.procs import marked_processes
from jupyter_amlrun.compute import _ray_nodes
from jupyter_amlrun.compute import ray as rayb
from jupyter_amlrun.core.runconfig import MpiConfiguration, PyTorchConfiguration
from jupyter_amlrun.runtime.errors import ComputeTargetException, ExperimentExecutionException
from jupyter_amlrun.runtime.runfolder import RUN_MARK_ENV, RunFolder
from jupyter_amlrun.testing import ComputeBackendContract
from tests.compute.test_distributed import (
    ALL_REDUCE,
    DYING_RANK_1,
    _no_process_left,
    _rank_env,
    _submit_and_wait,
    needs_torch,
)
from tests.conftest import process_alive, wait_for

# The module's head starts inside the first test's timeout: ~6 s on a quiet machine, over 60 s on 2 loaded cores.
pytestmark = [pytest.mark.integration, pytest.mark.timeout(600)]

pytest.importorskip("ray.job_submission")


@pytest.fixture(scope="module")
def head(tmp_path_factory: pytest.TempPathFactory, mlflow_template_db: Path) -> Iterator[dict[str, Any]]:
    """One development head for the module, made and removed through the public API."""
    root = tmp_path_factory.mktemp("ray-head-ws")
    shutil.copyfile(mlflow_template_db, root / "mlflow.db")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("AMLRUN_HOME", str(root / "home"))
        mp.setenv("RAY_USAGE_STATS_ENABLED", "0")
        head_ws = Workspace.create("ray-head", path=root)
        target = ComputeTarget.create(head_ws, "ray-dev", RayCompute.provisioning_configuration(num_cpus=2))
        doc = dict(target.serialize()["properties"])
        try:
            yield {"ws": head_ws, "target": target, **doc}
        finally:
            target.delete()
            rayb.stop_local_head(doc["temp_dir"], doc["gcs_port"])  # a no-op after delete(); the safety net
    assert rayb.head_processes(doc["temp_dir"], doc["gcs_port"]) == [], "the head's processes outlived delete()"
    assert not Path(doc["temp_dir"]).exists()


@pytest.fixture
def ray_target(ws: Any, head: dict[str, Any]) -> RayCompute:
    target = ComputeTarget.attach(ws, "ray", RayCompute.attach_configuration(address=head["address"]))
    assert isinstance(target, RayCompute)
    return target


class TestRayContract(ComputeBackendContract):
    @pytest.fixture
    def target(self, ray_target: RayCompute) -> str:
        return ray_target.name


def test_development_head_document(head: dict[str, Any]) -> None:
    assert head["type"] == "Ray" and head["managed"] is True and head["num_cpus"] == 2
    assert head["address"].startswith("http://127.0.0.1:")
    assert rayb.head_processes(head["temp_dir"], head["gcs_port"])  # it runs
    again = ComputeTarget.create(head["ws"], "ray-dev", RayCompute.provisioning_configuration(num_cpus=2))
    assert again.address == head["address"]  # the same configuration: the same head, no second one
    with pytest.raises(ComputeTargetException, match="different configuration"):
        ComputeTarget.create(head["ws"], "ray-dev", RayCompute.provisioning_configuration(num_cpus=1))
    with pytest.raises(ComputeTargetException, match="use delete"):
        head["target"].detach()


METRICS_SCRIPT = """
import os, sys
from jupyter_amlrun import Run
run = Run.get_context()
for i in range(5):
    run.log("loss", 1.0 / (i + 1))
run.log("target_type", os.environ["AZUREML_TARGET_TYPE"])
os.makedirs("outputs", exist_ok=True)
open("outputs/model.txt", "w").write("weights")
print("python", sys.executable)
"""


def test_public_api_metrics_and_outputs(ws: Any, make_source: Any, ray_target: RayCompute, head: dict) -> None:
    assert isinstance(ComputeTarget(ws, "ray"), RayCompute)
    assert [t.name for t in ComputeTarget.list(ws)] == ["ray"]
    assert ray_target.serialize() == {
        "name": "ray",
        "type": "Ray",
        "properties": {**ray_target._doc},
    }
    assert ray_target.serialize()["properties"]["address"] == head["address"]
    src = make_source({"train.py": METRICS_SCRIPT})
    # compute_target= the RayCompute object (the name works too: the contract suite submits by name)
    run = Experiment(ws, "ray-metrics").submit(
        ScriptRunConfig(source_directory=src, script="train.py", compute_target=ray_target)
    )
    details = run.wait_for_completion(raise_on_error=False)
    driver = run.get_log_files()["logs/azureml/driver_log.txt"].read_text()
    assert details["status"] == "Completed", driver
    assert details["target"] == "ray"
    metrics = run.get_metrics()
    assert metrics["loss"] == [1.0, 0.5, 1.0 / 3, 0.25, 0.2]
    assert metrics["target_type"] == "ray"  # v1's AZUREML_TARGET_TYPE names the kind of target
    names = run.get_file_names()
    assert "outputs/model.txt" in names and "logs/azureml/driver_log.txt" in names
    handle = RunFolder(ws.path, run.id).read_state().handle or {}
    assert handle["data"]["submission_id"] == rayb.submission_id(run.id)
    client = rayb.client(head["address"])
    sid = rayb.submission_id(run.id)
    assert wait_for(lambda: str(client.get_job_status(sid)) == "SUCCEEDED", timeout=30)  # the driver exits after
    assert client.get_job_info(sid).metadata["amlrun_run_id"] == run.id
    info = ray_target.get_status()
    assert info["address"] == head["address"] and run.id not in info["active_runs"]


READ_SCRIPT = """
import json, os, sys
from jupyter_amlrun import Run
def listing(path):
    return sorted(os.path.relpath(os.path.join(r, f), path) for r, _d, fs in os.walk(path) for f in fs)
print("SEEN " + json.dumps({"argv": sys.argv[1:], "files": [listing(a) for a in sys.argv[1:]],
                             "inputs": Run.get_context().input_datasets}))
"""


def test_dataset_inputs_download_and_mount(ws: Any, make_source: Any, ray_target: RayCompute, tmp_path: Path) -> None:
    data = tmp_path / "data"
    for rel in ("a.txt", "sub/b.txt"):
        (data / rel).parent.mkdir(parents=True, exist_ok=True)
        (data / rel).write_text(rel)
    store = ws.get_default_datastore()
    store.upload(str(data), "datasets/ray", show_progress=False)
    ds = Dataset.File.from_files((store, "datasets/ray"))
    src = make_source({"read.py": READ_SCRIPT})
    run = Experiment(ws, "ray-data").submit(
        ScriptRunConfig(
            source_directory=src,
            script="read.py",
            compute_target="ray",
            arguments=[ds.as_named_input("dl").as_download(), ds.as_named_input("mnt").as_mount()],
        )
    )
    details = run.wait_for_completion(raise_on_error=False)
    logs = run.get_log_files()
    driver = logs["logs/azureml/driver_log.txt"].read_text()
    assert details["status"] == "Completed", driver
    user = logs["logs/user_logs/std_log.txt"].read_text()
    seen = next(json.loads(line[5:]) for line in user.splitlines() if line.startswith("SEEN "))
    assert seen["files"] == [["a.txt", "sub/b.txt"], ["a.txt", "sub/b.txt"]]
    assert set(seen["inputs"]) == {"dl", "mnt"}
    assert "Downloading dl to" in driver and "Mounting mnt to" in driver


LONG_SCRIPT = """
import os, subprocess, sys, time
from jupyter_amlrun import Run
Run.get_context().log("before_stop", 7)
child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"])
open("pids.txt", "w").write(f"{os.getpid()} {child.pid}")
print("started", flush=True)
time.sleep(600)
"""


def test_job_stopped_behind_our_back_ends_the_run(ws: Any, make_source: Any, ray_target: RayCompute) -> None:
    src = make_source({"train.py": LONG_SCRIPT})
    run = Experiment(ws, "ray-stop").submit(
        ScriptRunConfig(source_directory=src, script="train.py", compute_target="ray")
    )
    rf = RunFolder(ws.path, run.id)
    pids_file = rf.workdir / "pids.txt"
    assert wait_for(lambda: pids_file.exists() and len(pids_file.read_text().split()) == 2, timeout=90)
    pids = [int(p) for p in pids_file.read_text().split()]
    assert wait_for(lambda: rf.journal_path.exists() and rf.journal_path.stat().st_size > 0, timeout=30)
    rayb.client(ray_target.address).stop_job(rayb.submission_id(run.id))  # not through amlrun
    assert wait_for(lambda: run.get_status() in ("Canceled", "Failed"), timeout=60), run.get_status()
    assert wait_for(lambda: not any(process_alive(p) for p in pids), timeout=20)
    details = run.get_details()
    assert details["error"]["error"]["message"]  # the reason is said
    assert run.get_metrics()["before_stop"] == 7  # what it logged is kept
    assert "logs/azureml/driver_log.txt" in run.get_file_names()


def test_job_failing_before_the_driver_starts(ws: Any, make_source: Any, head: dict) -> None:
    missing = str(Path(sys.executable).parent / "no-such-python")
    ComputeTarget.attach(ws, "ray-bad", RayCompute.attach_configuration(address=head["address"], python=missing))
    src = make_source({"train.py": "print('never')\n"})
    run = Experiment(ws, "ray-bad").submit(
        ScriptRunConfig(source_directory=src, script="train.py", compute_target="ray-bad")
    )
    details = run.wait_for_completion(raise_on_error=False)
    assert details["status"] == "Failed"
    message = details["error"]["error"]["message"]
    assert "before the run's driver started" in message and "FAILED" in message
    assert "no-such-python" in message  # the shell's complaint, from the driver log the redirect made
    assert "logs/azureml/ray_job_log.txt" in run.get_file_names()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_attach_errors(ws: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    for bad in ("ftp://127.0.0.1:8265", "http://127.0.0.1", "http://127.0.0.1:8265/api", "", None):
        with pytest.raises(ComputeTargetException, match="Ray address"):
            ComputeTarget.attach(ws, "ray", RayCompute.attach_configuration(address=bad))  # type: ignore[arg-type]
    port = _free_port()
    with pytest.raises(
        ComputeTargetException, match=f"Could not reach a Ray head at http://127.0.0.1:{port}.*ray start"
    ):
        ComputeTarget.attach(ws, "ray", RayCompute.attach_configuration(address=f"127.0.0.1:{port}"))
    with pytest.raises(ComputeTargetException, match="attach_configuration must come from RayCompute"):
        ComputeTarget.attach(ws, "ray", {"address": "http://127.0.0.1:8265"})
    with pytest.raises(ComputeTargetException, match="reserved"):
        ComputeTarget.attach(ws, "local", RayCompute.attach_configuration())
    monkeypatch.setitem(sys.modules, "ray.job_submission", None)  # as if Ray were not installed
    monkeypatch.setattr(rayb, "_clients", {})
    with pytest.raises(ComputeTargetException, match=r'pip install "jupyter_amlrun\[ray\]"'):
        ComputeTarget.attach(ws, "ray", RayCompute.attach_configuration(address=f"127.0.0.1:{port}"))
    with pytest.raises(ComputeTargetException, match="unknown argument"):
        RayCompute.provisioning_configuration(vm_size="big")
    assert ComputeTarget.list(ws) == []  # nothing half-made


def test_validate_refuses_what_ray_cannot_run_yet(ws: Any, make_source: Any) -> None:
    remote = rayb.RayBackend(ws, "ray", {"type": "Ray", "address": "http://192.0.2.10:8265"})
    assert not remote.local
    cfg = ScriptRunConfig(source_directory=".", script="x.py")
    with pytest.raises(ComputeTargetException, match="not on this machine.*tracking server"):
        remote.validate(cfg.run_config)
    mpi = ScriptRunConfig(
        source_directory=".", script="x.py", distributed_job_config=MpiConfiguration(process_count_per_node=1)
    )
    with pytest.raises(ComputeTargetException, match="MpiConfiguration runs are not yet on Ray"):
        remote.validate(mpi.run_config)
    # through submit: refused before the run exists
    os.makedirs(ws.path / "compute", exist_ok=True)
    (ws.path / "compute" / "ray.json").write_text(json.dumps({"type": "Ray", "address": "http://192.0.2.10:8265"}))
    src = make_source({"train.py": "print(1)\n"})
    with pytest.raises((ComputeTargetException, ExperimentExecutionException), match="not yet on Ray"):
        Experiment(ws, "dist").submit(
            ScriptRunConfig(
                source_directory=src,
                script="train.py",
                compute_target="ray",
                distributed_job_config=MpiConfiguration(process_count_per_node=2, node_count=2),
            )
        )
    assert list(Experiment(ws, "dist").get_runs()) == []


# ---------------------------------------------------------------------- distributed runs (placement group, node actors)
def _placement_group_states(head: dict[str, Any], run_id: str) -> list[str]:
    from ray.util.state import list_placement_groups

    name = _ray_nodes.placement_group_name(run_id)
    return [str(g.state) for g in list_placement_groups(address=head["address"], filters=[("name", "=", name)])]


@needs_torch
@pytest.mark.slow  # torch ranks in a Ray placement group: half a minute or more each
@pytest.mark.parametrize(("nodes", "total"), [(2, 2), (1, 2)], ids=["2x1", "1x2"])
def test_distributed_gloo_all_reduce_on_ray(
    ws: Any, make_source: Any, ray_target: RayCompute, head: dict, nodes: int, total: int
) -> None:
    dist = PyTorchConfiguration("Gloo", process_count=total, node_count=nodes)
    run, details = _submit_and_wait(ws, make_source, ALL_REDUCE, dist, target="ray", experiment="ray-dist")
    driver = run.get_log_files()["logs/azureml/driver_log.txt"].read_text()
    assert details["status"] == "Completed", driver
    rf = RunFolder(ws.path, run.id)
    per_node = total // nodes
    for rank in range(total):
        env = _rank_env(rf, rank)
        assert env["RANK"] == str(rank) and env["WORLD_SIZE"] == str(total)
        assert env["NODE_RANK"] == str(rank // per_node) and env["LOCAL_RANK"] == str(rank % per_node)
        assert "SUM 3.0" in rf.rank_log(rank).read_text()  # 1 + 2 across the ranks
    assert {f"logs/user_logs/std_log_process_{r}.txt" for r in range(total)} <= set(run.get_file_names())
    metrics = run.get_metrics()  # rank 0's are the run's
    assert metrics["rank"] == 0 and metrics["world_size"] == total and metrics["sum"] == 3.0
    assert "placement group" in driver and "(SPREAD)" in driver
    assert wait_for(lambda: _no_process_left(run.id), timeout=10)
    assert set(_placement_group_states(head, run.id)) <= {"REMOVED"}


@needs_torch
@pytest.mark.slow  # torch ranks in a Ray placement group: half a minute or more each
def test_distributed_dying_rank_on_ray_names_the_rank(ws: Any, make_source: Any, ray_target: RayCompute) -> None:
    dist = PyTorchConfiguration("Gloo", process_count=2, node_count=2)
    run, details = _submit_and_wait(ws, make_source, DYING_RANK_1, dist, target="ray", experiment="ray-dist")
    assert details["status"] == "Failed", details
    message = details["error"]["error"]["message"]
    assert re.search(r"Rank 1 of 2 \(node 1\) of script train.py exited with code 3", message), message
    assert "boom: rank 1 gives up" in message
    assert wait_for(lambda: _no_process_left(run.id), timeout=10)


@needs_torch
@pytest.mark.slow  # torch ranks in a Ray placement group: half a minute or more each
def test_cancel_of_a_distributed_ray_run(ws: Any, make_source: Any, ray_target: RayCompute, head: dict) -> None:
    src = make_source(
        {"train.py": "import os, time\nprint('rank', os.environ['RANK'], 'started', flush=True)\ntime.sleep(600)\n"}
    )
    dist = PyTorchConfiguration("Gloo", process_count=2, node_count=1)
    cfg = ScriptRunConfig(source_directory=src, script="train.py", compute_target="ray", distributed_job_config=dist)
    run = Experiment(ws, "ray-dist").submit(cfg)
    rf = RunFolder(ws.path, run.id)

    def both_started() -> bool:
        return all(rf.rank_log(r).exists() and "started" in rf.rank_log(r).read_text() for r in (0, 1))

    assert wait_for(both_started, timeout=120)
    assert _placement_group_states(head, run.id) == ["CREATED"]
    assert len(marked_processes(RUN_MARK_ENV, run.id)) >= 3  # the launcher and its two ranks
    run.cancel()
    assert run.wait_for_completion(raise_on_error=False)["status"] == "Canceled"
    assert wait_for(lambda: _no_process_left(run.id), timeout=10)
    assert wait_for(lambda: set(_placement_group_states(head, run.id)) <= {"REMOVED"}, timeout=10)


@needs_torch
@pytest.mark.slow  # torch ranks in a Ray placement group: half a minute or more each
def test_unsatisfiable_placement_group_fails_clearly(
    ws: Any, make_source: Any, ray_target: RayCompute, head: dict, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(_ray_nodes.PLACEMENT_ENV, "3")  # reaches the driver through the job's runtime_env
    dist = PyTorchConfiguration("Gloo", process_count=3, node_count=3)  # the head has 2 CPUs
    run, details = _submit_and_wait(ws, make_source, ALL_REDUCE, dist, target="ray", experiment="ray-dist")
    assert details["status"] == "Failed", details
    message = details["error"]["error"]["message"]
    assert "could not place this run's 3 node(s) x 1 CPU(s)" in message, message
    assert "within 3 s: the cluster has 2 CPU(s)" in message
    assert set(_placement_group_states(head, run.id)) <= {"REMOVED"}


def test_runtime_env_of_a_job() -> None:
    env = {"pip": ["numpy==2.0"], "user_managed": False}
    assert "pip" not in rayb.job_runtime_env(env, local=True)  # the driver builds the venv itself, as on local
    assert rayb.job_runtime_env(env, local=False)["pip"] == ["numpy==2.0"]
    assert "pip" not in rayb.job_runtime_env({**env, "user_managed": True}, local=False)
    assert rayb.job_runtime_env(None, local=True)["env_vars"]["RAY_JOB_STOP_WAIT_TIME_S"] == "30"
    # The v1 SDK's packages are this package's to provide: Ray never installs them (nor an empty pip list).
    v1 = {"pip": ["azureml-core==1.48.0", "azureml_defaults", "AzureML.Dataprep[fuse]>=4", "numpy==2.0", "./x.whl"]}
    assert rayb.job_runtime_env(v1, local=False)["pip"] == ["numpy==2.0", "./x.whl"]
    assert "pip" not in rayb.job_runtime_env({"pip": ["azureml-sdk"]}, local=False)
