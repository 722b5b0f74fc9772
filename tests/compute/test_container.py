"""Runs in containers with a real engine (podman here) and the locally built test image (scripts/build-test-image.sh).

Each test submits real runs; the runs of a test go concurrently to keep the seconds down. Skipped, saying why, when no
container engine answers or the image is missing.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from jupyter_amlrun import Dataset, DockerConfiguration, Environment, Experiment, ScriptRunConfig
from jupyter_amlrun.runtime.errors import UserErrorException
from jupyter_amlrun.runtime.runfolder import RunFolder
from jupyter_amlrun.testing.helpers import wait_for

pytestmark = pytest.mark.integration

SCRIPT = """
import json, os, sys
from jupyter_amlrun import Run

run = Run.get_context()
for i in range(5):
    run.log("loss", 1.0 / (i + 1))
run.log("acc", 0.9)
data = sys.argv[1]
seen = {
    "python": sys.version.split()[0],
    "executable": sys.executable,
    "in_container": os.path.exists("/run/.containerenv") or os.path.exists("/.dockerenv"),
    "files": sorted(os.listdir(data)),
    "greeting": os.environ.get("GREETING"),
    "cwd": os.getcwd(),
}
try:
    open(os.path.join(data, "new.txt"), "w").write("x")
    seen["write"] = "allowed"
except OSError as exc:
    seen["write"] = type(exc).__name__
os.makedirs("outputs", exist_ok=True)
open("outputs/model.txt", "w").write("weights")
print("SEEN " + json.dumps(seen))
"""

SLEEPER = """
import signal, time
signal.signal(signal.SIGTERM, signal.SIG_IGN)  # the hard case: only a kill of the container ends it
print("started", flush=True)
time.sleep(600)
"""


def docker_config(src: Path, image: str, script: str, **kwargs: Any) -> ScriptRunConfig:
    env = Environment("in-image")
    env.docker.base_image = image
    return ScriptRunConfig(
        source_directory=str(src),
        script=script,
        environment=env,
        docker_runtime_config=DockerConfiguration(use_docker=True),
        **kwargs,
    )


def containers_of(engine: Any, run_id: str) -> list[str]:
    return str(engine("ps", "-a", "-q", "--filter", f"label=amlrun.run_id={run_id}").stdout).split()


def user_log(run: Any) -> str:
    path = RunFolder(run.experiment.workspace.path, run.id).user_log
    return path.read_text() if path.exists() else ""


def test_a_run_in_the_image_logs_reads_its_input_and_writes_outputs(
    ws: Any, make_source: Any, tmp_path: Path, container_engine: Any, test_image: str
) -> None:
    data = tmp_path / "data"
    data.mkdir()
    (data / "a.txt").write_text("1")
    (data / "b.txt").write_text("2")
    store = ws.get_default_datastore()
    store.upload(str(data), "datasets/d", show_progress=False)
    ds = Dataset.File.from_files((store, "datasets/d"))
    src = make_source({"train.py": SCRIPT})
    config = docker_config(src, test_image, "train.py", arguments=[ds.as_named_input("data").as_mount()])
    config.run_config.environment_variables["GREETING"] = "hello"
    run = Experiment(ws, "in-container").submit(config)
    details = run.wait_for_completion(raise_on_error=False)
    driver = run.get_log_files()["logs/azureml/driver_log.txt"].read_text()
    assert details["status"] == "Completed", driver
    seen = next(json.loads(line[5:]) for line in user_log(run).splitlines() if line.startswith("SEEN "))
    # The image's own Python, not the host's, inside a container, in the snapshot's folder.
    assert seen["in_container"] is True
    assert seen["executable"] in ("/usr/bin/python", "/usr/bin/python3") and seen["executable"] != sys.executable
    assert seen["python"].startswith("3.") and "the script runs with its python" in driver
    assert seen["cwd"] == str(RunFolder(ws.path, run.id).workdir)
    assert seen["files"] == ["a.txt", "b.txt"] and seen["write"] != "allowed"  # the input is mounted read-only
    assert seen["greeting"] == "hello"
    assert run.get_metrics() == {"loss": [1.0, 0.5, 1 / 3, 0.25, 0.2], "acc": 0.9}
    assert "outputs/model.txt" in run.get_file_names()
    assert containers_of(container_engine, run.id) == []


def test_a_missing_image_fails_clearly_at_preparing(ws: Any, make_source: Any, container_engine: Any) -> None:
    from jupyter_amlrun import MpiConfiguration

    image = "localhost/amlrun-no-such-image:missing"
    src = make_source({"train.py": "print('never')\n"})
    run = Experiment(ws, "missing-image").submit(docker_config(src, image, "train.py"))
    # MPI ranks in containers are not supported: refused at Preparing too, never run outside the image.
    ranked = docker_config(src, "localhost/amlrun-no-such-image:missing", "train.py")
    ranked.run_config.distributed_job_config = MpiConfiguration(process_count_per_node=2)
    distributed = Experiment(ws, "missing-image").submit(ranked)
    refused = distributed.wait_for_completion(raise_on_error=False)
    assert refused["status"] == "Failed"
    assert "only PyTorchConfiguration runs one container per node" in str(refused["error"]["error"]["message"])
    details = run.wait_for_completion(raise_on_error=False)
    assert details["status"] == "Failed"
    error = str(details["error"]["error"]["message"])
    assert f"The image {image!r} is not on this machine and could not be pulled from the registry 'localhost'" in error
    statuses = [s for s, _t in RunFolder(ws.path, run.id).read_state().history]
    assert "Preparing" in statuses and "Running" not in statuses and "Queued" in statuses
    assert containers_of(container_engine, run.id) == []


def test_without_an_engine_the_submit_is_refused(ws: Any, make_source: Any, monkeypatch: Any, tmp_path: Path) -> None:
    monkeypatch.setenv("AMLRUN_CONTAINER_ENGINE", str(tmp_path / "no-engine"))
    src = make_source({"train.py": "print(1)\n"})
    exp = Experiment(ws, "no-engine")
    with pytest.raises(UserErrorException, match="asks for Docker .* no Docker or Podman engine answers .* podman"):
        exp.submit(docker_config(src, "python:3.11-slim", "train.py"))
    assert list(exp.get_runs()) == []


RANKS = """
import json, os, sys, time
import torch, torch.distributed as dist
from jupyter_amlrun import Run

dist.init_process_group("gloo")
rank = dist.get_rank()
total = torch.tensor([rank + 1.0])
dist.all_reduce(total)
names = ("RANK", "LOCAL_RANK", "WORLD_SIZE", "NODE_RANK", "MASTER_ADDR", "MASTER_PORT")
seen = {k: os.environ.get(k) for k in names}
seen.update(sum=float(total), python=sys.version.split()[0], in_container=os.path.exists("/run/.containerenv"))
print("RANKINFO " + json.dumps(seen), flush=True)
if rank == 0:
    Run.get_context().log("sum", float(total))
dist.destroy_process_group()
if sys.argv[1:] == ["sleep"]:
    print("started", flush=True)
    time.sleep(600)
"""


def test_a_pytorch_run_runs_one_container_per_node(
    ws: Any, make_source: Any, container_engine: Any, test_image: str
) -> None:
    """2 nodes x 1 process, gloo: each node a container on the host's network, ranks meeting on 127.0.0.1.

    The test image has no torch and no registry answers here: the host venv's site-packages (CPU torch, the same
    Python minor as the image's 3.11) is mounted read-only into the image by the run's own DockerConfiguration
    arguments, as a user would mount a library; the image's own Python runs it.
    """
    import torch

    from jupyter_amlrun import PyTorchConfiguration

    site = str(Path(torch.__file__).parents[1])
    src = make_source({"train.py": RANKS})
    exp = Experiment(ws, "ranks-in-containers")

    def config(*args: str, mount: bool = True) -> ScriptRunConfig:
        env = Environment("ranks")
        env.docker.base_image = test_image
        return ScriptRunConfig(
            source_directory=str(src),
            script="train.py",
            arguments=list(args),
            environment=env,
            docker_runtime_config=DockerConfiguration(
                use_docker=True, arguments=["-v", f"{site}:/opt/hostsite:ro"] if mount else []
            ),
            distributed_job_config=PyTorchConfiguration("Gloo", process_count=2, node_count=2),
        )

    done = config()
    done.run_config.environment_variables["PYTHONPATH"] = "/opt/hostsite"
    sleeper = config("sleep")
    sleeper.run_config.environment_variables["PYTHONPATH"] = "/opt/hostsite"
    ran, canceled, no_torch = exp.submit(done), exp.submit(sleeper), exp.submit(config(mount=False))
    rf = RunFolder(ws.path, canceled.id)
    assert wait_for(
        lambda: all(p.exists() and "started" in p.read_text() for p in (rf.rank_log(0), rf.rank_log(1))), timeout=300
    ), canceled.get_details()
    assert len(containers_of(container_engine, canceled.id)) == 2  # one container per node
    canceled.cancel()
    details = ran.wait_for_completion(raise_on_error=False)
    driver = ran.get_log_files()["logs/azureml/driver_log.txt"].read_text()
    assert details["status"] == "Completed", driver
    folder = RunFolder(ws.path, ran.id)
    for rank in (0, 1):
        line = next(x for x in folder.rank_log(rank).read_text().splitlines() if x.startswith("RANKINFO "))
        seen = json.loads(line[len("RANKINFO ") :])
        assert seen["in_container"] is True and seen["python"] != sys.version.split()[0]  # the image's 3.11.2
        assert seen["RANK"] == seen["NODE_RANK"] == str(rank) and seen["LOCAL_RANK"] == "0"
        assert seen["WORLD_SIZE"] == "2" and seen["MASTER_ADDR"] == "127.0.0.1" and seen["sum"] == 3.0
    assert ran.get_metrics()["sum"] == 3.0  # rank 0's
    assert {"logs/user_logs/std_log_process_0.txt", "logs/user_logs/std_log_process_1.txt"} <= set(ran.get_file_names())
    assert canceled.wait_for_completion(raise_on_error=False)["status"] == "Canceled"
    refused = no_torch.wait_for_completion(raise_on_error=False)
    assert refused["status"] == "Failed"
    assert f"torch is not installed in the run's image {test_image}" in str(refused["error"]["error"]["message"])
    assert "Running" not in [s for s, _t in RunFolder(ws.path, no_torch.id).read_state().history]
    for run in (ran, canceled, no_torch):
        assert containers_of(container_engine, run.id) == [], run.id


def test_cancel_time_limit_and_a_killed_driver_leave_no_container(
    ws: Any, make_source: Any, container_engine: Any, test_image: str
) -> None:
    src = make_source({"sleep.py": SLEEPER})
    exp = Experiment(ws, "supervised")
    canceled = exp.submit(docker_config(src, test_image, "sleep.py"))
    limited = exp.submit(docker_config(src, test_image, "sleep.py", max_run_duration_seconds=4))
    orphaned = exp.submit(docker_config(src, test_image, "sleep.py"))
    for run in (canceled, limited, orphaned):
        assert wait_for(lambda run=run: "started" in user_log(run), timeout=120), run.get_details()
        assert containers_of(container_engine, run.id)  # it runs in its container
    canceled.cancel()
    driver_pid = RunFolder(ws.path, orphaned.id).read_state().owner_pid
    assert driver_pid
    os.kill(driver_pid, signal.SIGKILL)  # its guard must remove the container
    for run in (canceled, limited, orphaned):
        run.wait_for_completion(raise_on_error=False)
    assert canceled.get_status() == "Canceled"
    assert limited.get_status() == "Canceled" and "max_run_duration_seconds=4" in str(limited.get_details())
    assert orphaned.get_status() == "Failed"
    for run in (canceled, limited, orphaned):
        assert containers_of(container_engine, run.id) == [], run.id


def test_a_derived_image_is_built_once_for_two_concurrent_runs_and_reused(
    ws: Any, make_source: Any, container_engine: Any, test_image: str
) -> None:
    env = Environment("six-env")
    env.python.conda_dependencies.add_pip_package("six==1.16.0")
    env.docker.base_image = test_image
    env.docker.enabled = True
    src = make_source({"use.py": "import six, sys\nprint('SIX', six.__version__, sys.executable)\n"})
    exp = Experiment(ws, "derived")

    def config() -> ScriptRunConfig:
        return ScriptRunConfig(source_directory=str(src), script="use.py", environment=env)

    def build_log(run: Any) -> str:
        return str(run.get_log_files()["logs/azureml/20_image_build_log.txt"].read_text())

    first, second = exp.submit(config()), exp.submit(config())
    for run in (first, second):
        details = run.wait_for_completion(raise_on_error=False)
        assert details["status"] == "Completed", build_log(run)
        assert "SIX 1.16.0 /opt/amlrun-env/bin/python" in user_log(run)
    logs = [build_log(first), build_log(second)]
    assert sum("Successfully installed six-1.16.0" in text for text in logs) == 1, logs
    assert sum("Reused cached image" in text for text in logs) == 1, logs
    third = exp.submit(config())
    assert third.wait_for_completion(raise_on_error=False)["status"] == "Completed"
    assert "Reused cached image" in build_log(third)
    images = [c for c in Environment.list_cache(ws) if c.get("kind") == "image"]
    assert len(images) == 1 and images[0]["pip"] == ["six==1.16.0"] and images[0]["size_mb"] > 0
    tag = images[0]["image"]
    assert Environment.prune_cache(ws) == [images[0]["key"]]
    assert container_engine("image", "inspect", tag).returncode != 0  # removed from the engine too
    assert [c for c in Environment.list_cache(ws) if c.get("kind") == "image"] == []


@pytest.mark.unit
def test_the_in_script_api_imports_only_what_is_mounted() -> None:
    """What ``Run.get_context().log()`` imports beyond the standard library is in IN_SCRIPT_DEPS (mounted from the
    host into the container): a new import there would break every container run."""
    from jupyter_amlrun.compute.container import IN_SCRIPT_DEPS

    probe = (
        "import sys\n"
        "from jupyter_amlrun import Run\n"
        "import jupyter_amlrun.core.context, jupyter_amlrun.tracking.journal\n"
        "Run.get_context().log('x', 1)\n"
        "print(sorted({m.split('.')[0] for m in sys.modules} - set(sys.stdlib_module_names)))\n"
    )
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True, timeout=60)
    imported = set(json.loads(out.stdout.strip().splitlines()[-1].replace("'", '"')))
    assert imported - {"jupyter_amlrun", "_distutils_hack", "__main__"} <= set(IN_SCRIPT_DEPS)


@pytest.mark.unit
def test_gpu_flags_per_engine() -> None:
    """A pool slot's host GPUs become the engine's device flags; inside they are renumbered from 0."""
    from jupyter_amlrun._util.engine import Engine
    from jupyter_amlrun.compute.container import ContainerRun

    env = {**os.environ, "CUDA_VISIBLE_DEVICES": "1,3", "AMLRUN_RUN_ID": "r1"}
    for name, flags in (
        ("podman", ["--device", "nvidia.com/gpu=1", "--device", "nvidia.com/gpu=3"]),
        ("docker", ["--gpus", '"device=1,3"']),
    ):
        engine = Engine(f"/usr/bin/{name}", name, "1")
        container = ContainerRun(engine, "r1", "img", "python", Path("/ws"), Path("/ws/runs/r1/wd"), {}, ["1", "3"])
        cmd, inner = container.command(["/host/python", "train.py", "--lr", "0.1"], env)
        assert cmd[cmd.index("img") :][:4] == ["img", "python", cmd[cmd.index("img") + 2], "train.py"]
        assert cmd[-2:] == ["--lr", "0.1"]
        text = " ".join(cmd)
        assert " ".join(flags) in text and "CUDA_VISIBLE_DEVICES=" not in text  # values go by name only
        assert inner["CUDA_VISIBLE_DEVICES"] == "0,1" and "-e CUDA_VISIBLE_DEVICES" in text
        assert "--label amlrun.run_id=r1" in text and "--name amlrun-r1" in text


def test_a_gpu_run_is_refused_where_the_engine_cannot_pass_gpus(
    ws: Any, make_source: Any, monkeypatch: Any, container_engine: Any, test_image: str
) -> None:
    from jupyter_amlrun import AmlCompute, ComputeTarget, Estimator
    from jupyter_amlrun.compute.container import gpu_support

    if gpu_support(container_engine) is not None:
        pytest.skip("this engine passes GPUs: scripts/container-gpu-check.py shows it")
    # The pool records the GPUs its first driver sees: here one, from CUDA_VISIBLE_DEVICES (no real GPU needed).
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "0")
    ComputeTarget.create(ws, "gpu-pool", AmlCompute.provisioning_configuration(max_nodes=1))
    src = make_source({"train.py": "print('never')\n"})
    est = Estimator(
        str(src), entry_script="train.py", compute_target="gpu-pool", use_gpu=True, custom_docker_image=test_image
    )
    run = Experiment(ws, "gpu").submit(est)
    details = run.wait_for_completion(raise_on_error=False)
    message = str(details["error"]["error"]["message"])
    assert details["status"] == "Failed" and "The run asks for GPUs (its pool slot holds GPUs 0) but" in message
    assert "Running" not in [s for s, _t in RunFolder(ws.path, run.id).read_state().history]


def test_docker_environment_notebook(
    amlrun_home: Path, tmp_path: Path, monkeypatch: Any, container_engine: Any, test_image: str
) -> None:
    """notebooks/docker-environment.ipynb under nbclient (skipped with the other container tests without an engine)."""
    from tests.test_notebooks_core import run_notebook

    monkeypatch.setenv("AMLRUN_TUTORIAL_IMAGE", test_image)
    outputs = run_notebook("docker-environment.ipynb", tmp_path)
    assert "status: Completed" in outputs and "hello from /usr/bin/python" in outputs
    assert "first run (builds) -> Completed | built" in outputs
    assert "second run (reuses) -> Completed | reused" in outputs and "six 1.16.0 in the derived image" in outputs
    assert "pruned: 1 cached environment(s)" in outputs


def test_a_private_registry_password_goes_to_the_engine_login_only(
    ws: Any, make_source: Any, container_engine: Any
) -> None:
    """v1's base_image_registry: the password reaches `podman login` at submit, never a document, a hash or a repr."""
    env = Environment("private")
    env.docker.base_image = "127.0.0.1:1/team/image:1"
    env.docker.base_image_registry.address = "127.0.0.1:1"  # nothing listens there: the login fails at once
    env.docker.base_image_registry.username = "me"
    env.docker.base_image_registry.password = "s3cret-pw"
    config = ScriptRunConfig(
        source_directory=str(make_source({"t.py": "print(1)\n"})),
        script="t.py",
        environment=env,
        docker_runtime_config=DockerConfiguration(use_docker=True),
    )
    exp = Experiment(ws, "private-registry")
    with pytest.raises(UserErrorException, match="Logging in to the registry '127.0.0.1:1' as 'me' failed") as info:
        exp.submit(config)
    assert list(exp.get_runs()) == []
    shown = [str(info.value), repr(env.docker.base_image_registry), json.dumps(env._definition())]
    assert all("s3cret-pw" not in text for text in shown)
    assert env.clone("copy").docker.base_image_registry.password == "s3cret-pw"  # kept in memory for the login


def test_a_base_dockerfile_is_built_into_the_runs_image(
    ws: Any, make_source: Any, container_engine: Any, test_image: str
) -> None:
    """v1's env.docker.base_dockerfile: the image is built from that text (its output in the build log), then used."""
    env = Environment("from-dockerfile")
    env.docker.base_dockerfile = f"FROM {test_image}\nRUN echo built-from-dockerfile > /marker.txt\n"
    assert env.docker.base_image is None
    src = make_source({"t.py": "print('MARKER', open('/marker.txt').read().strip())\n"})
    config = ScriptRunConfig(
        source_directory=str(src),
        script="t.py",
        environment=env,
        docker_runtime_config=DockerConfiguration(use_docker=True),
    )
    run = Experiment(ws, "dockerfile").submit(config)
    details = run.wait_for_completion(raise_on_error=False)
    build = run.get_log_files()["logs/azureml/20_image_build_log.txt"].read_text()
    assert details["status"] == "Completed", build
    assert "MARKER built-from-dockerfile" in user_log(run) and "built-from-dockerfile" in build
    cached = [c for c in Environment.list_cache(ws) if c.get("kind") == "image"]
    assert [c["name"] for c in cached] == ["base_dockerfile"]
    assert Environment.prune_cache(ws) == [cached[0]["key"]]
