"""The Slurm compute target against a real one-node Slurm cluster on 127.0.0.1 (tests/compute/conftest.py starts
munged, slurmctld and slurmd from a temp conf once per session and stops them by their pid files).

Without slurmdbd Slurm accepts any account (checked); test_an_account_slurm_refuses starts a second cluster with
accounting (MariaDB and slurmdbd, associations enforced) when their packages are here. What no cluster here can
show: GPUs (no gres: the sbatch options are checked, and Slurm's refusal of them)."""

from __future__ import annotations

import subprocess
from typing import Any

import psutil
import pytest

from jupyter_amlrun import ComputeTarget, Estimator, Experiment, ScriptRunConfig
from jupyter_amlrun.compute.slurm import SlurmBackend, _limit_minutes, run_gpus
from jupyter_amlrun.compute.slurmcompute import SlurmCompute
from jupyter_amlrun.compute.watchdog import WATCH_SECONDS
from jupyter_amlrun.core.runconfig import PyTorchConfiguration
from jupyter_amlrun.runtime.errors import ComputeTargetException, ExperimentExecutionException
from jupyter_amlrun.runtime.runfolder import RunFolder, RunSpec, liveness_seconds
from jupyter_amlrun.runtime.watchdog import watchdog_running
from jupyter_amlrun.testing import ComputeBackendContract
from jupyter_amlrun.testing import slurm_cluster as sc
from jupyter_amlrun.testing.slurm_cluster import SlurmCluster
from tests.conftest import wait_for

pytestmark = [pytest.mark.integration, pytest.mark.timeout(600)]

SLEEPER = "import time\nprint('started', flush=True)\ntime.sleep(600)\n"


def _attach(ws: Any, cluster: SlurmCluster, name: str = "hpc", **kw: Any) -> SlurmCompute:
    kw.setdefault("partition", cluster.partition)
    target = ComputeTarget.attach(ws, name, SlurmCompute.attach_configuration(slurm_conf=str(cluster.conf), **kw))
    assert isinstance(target, SlurmCompute)
    return target


def _submit(ws: Any, make_source: Any, target: str, script: str, **kw: Any) -> Any:
    src = make_source({"train.py": script}, name=kw.pop("name", "src"))
    return Experiment(ws, "slurm").submit(
        ScriptRunConfig(source_directory=src, script="train.py", compute_target=target, **kw)
    )


def _squeue(cluster: SlurmCluster, *args: str) -> str:
    return subprocess.run(["squeue", "-h", *args], env=cluster.env(), capture_output=True, text=True).stdout


@pytest.fixture
def hpc(ws: Any, slurm_cluster: SlurmCluster) -> SlurmCompute:
    return _attach(ws, slurm_cluster)


class TestSlurmBackend(ComputeBackendContract):
    @pytest.fixture
    def target(self, hpc: SlurmCompute) -> str:
        return hpc.name


def test_script_run_is_a_slurm_job(ws: Any, make_source: Any, hpc: SlurmCompute, slurm_cluster: SlurmCluster) -> None:
    status = hpc.get_status()
    assert status["type"] == "Slurm" and status["max_nodes"] == 1
    # the jobs of earlier tests (same session cluster) may still be completing: the node turns idle once they end
    assert wait_for(lambda: hpc.get_status()["idle_nodes"] == 1, timeout=60)
    run = _submit(
        ws,
        make_source,
        "hpc",
        "import os\nprint('job', os.environ['SLURM_JOB_ID'])\nprint(os.environ['AZUREML_TARGET_TYPE'])\n",
    )
    details = run.wait_for_completion()
    assert details["status"] == "Completed"
    handle = RunFolder(ws.path, run.id).read_state().handle
    assert handle and handle["kind"] == "Slurm"
    log = run.get_file_names()
    assert "logs/user_logs/std_log.txt" in log
    text = (RunFolder(ws.path, run.id).user_log).read_text() if RunFolder(ws.path, run.id).user_log.exists() else ""
    if not text:  # the run folder may be gone: read the uploaded log
        run.download_file("logs/user_logs/std_log.txt", str(ws.path / "std.txt"))
        text = (ws.path / "std.txt").read_text()
    assert f"job {handle['data']['job_id']}" in text and "slurm" in text


def test_pending_reason_then_cancel(ws: Any, make_source: Any, hpc: SlurmCompute, slurm_cluster: SlurmCluster) -> None:
    # A held job stays pending with Slurm's reason; cancel scancels it and the run ends Canceled, the job gone.
    held = ComputeTarget.attach(
        ws,
        "held",
        SlurmCompute.attach_configuration(
            partition=slurm_cluster.partition,
            slurm_conf=str(slurm_cluster.conf),
            extra_sbatch_args=["--hold"],
            check_shared_folder=False,
        ),
    )
    run = _submit(ws, make_source, held.name, SLEEPER)
    assert wait_for(lambda: "JobHeldUser" in run.get_detailed_status()["details"], timeout=60)
    assert run.get_detailed_status()["status"] == "Queued"
    assert held.get_status()["queued_runs"] == 1
    job_id = RunFolder(ws.path, run.id).read_state().handle["data"]["job_id"]
    run.cancel()
    assert wait_for(lambda: run.get_status() == "Canceled", timeout=60)
    assert job_id not in _squeue(slurm_cluster, "-t", "PENDING,RUNNING")


def test_time_limit_kill_ends_the_run_with_slurms_reason(
    ws: Any, make_source: Any, slurm_cluster: SlurmCluster
) -> None:
    _attach(ws, slurm_cluster, "short", time_limit=1, check_shared_folder=False)
    run = _submit(ws, make_source, "short", SLEEPER)
    details = run.wait_for_completion(raise_on_error=False)
    # Slurm's SIGTERM reaches the driver, which ends the run Canceled (as max_run_duration_seconds does) with Slurm's
    # reason; a driver killed outright ends Failed by the workspace's watchdog (SlurmBackend.watch), same reason.
    assert details["status"] in ("Canceled", "Failed")
    message = details["error"]["error"]["message"]
    assert "TIMEOUT" in message and "time limit 00:01:00 was reached" in message, message


def test_bad_input(ws: Any, make_source: Any, slurm_cluster: SlurmCluster, monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(ComputeTargetException, match="no partition 'nope'.*known: \\['debug'\\]"):
        _attach(ws, slurm_cluster, "bad", partition="nope")
    with pytest.raises(ComputeTargetException, match="time_limit 'soon' is not in Slurm's --time format"):
        _attach(ws, slurm_cluster, "bad", time_limit="soon", check_shared_folder=False)
    # Refused at submit: more nodes than the partition has (Slurm would queue it for ever). No run is left behind.
    _attach(ws, slurm_cluster, "hpc", check_shared_folder=False)
    with pytest.raises(
        ComputeTargetException, match="needs 2 nodes but Slurm partition debug.*has 1: lower node_count"
    ):
        _submit(ws, make_source, "hpc", "print(1)\n", distributed_job_config=PyTorchConfiguration(node_count=2))
    assert list(Experiment(ws, "slurm").get_runs()) == []
    # Without slurmdbd (AccountingStorageEnforce needs it) Slurm does not check accounts: any is accepted.
    _attach(ws, slurm_cluster, "acct", account="no-such-account", check_shared_folder=False).detach()
    monkeypatch.setenv("PATH", "/nonexistent")
    with pytest.raises(ComputeTargetException, match="`sbatch` is not found on PATH.*slurm-client"):
        _attach(ws, slurm_cluster, "bad")
    assert [t.name for t in ComputeTarget.list(ws)] == ["hpc"]


@pytest.mark.unit
def test_refusals_name_the_fix(ws: Any) -> None:
    # An account Slurm refuses needs slurmdbd (associations), which the one-node test cluster lacks: the mapping of
    # Slurm's own message (22.05's text) to the fix is checked here instead.
    backend = SlurmBackend(ws, "hpc", {"type": "Slurm", "partition": "gpu", "account": "chem"})
    text = backend._refusal(
        "sbatch: error: Batch job submission failed: Invalid account or account/partition combination specified"
    )
    assert "account 'chem'" in text and "sacctmgr show assoc" in text
    assert _limit_minutes("2:00:00", 90) == "3"  # a run's max_run_duration_seconds lowers the target's limit
    assert _limit_minutes(5, None) == "5" and _limit_minutes(None, 600) == "11"


def test_sweep_children_are_slurm_jobs_at_concurrency_2(ws: Any, make_source: Any, hpc: SlurmCompute) -> None:
    from jupyter_amlrun.train.hyperdrive import GridParameterSampling, HyperDriveConfig, PrimaryMetricGoal, choice

    src = make_source(
        {"train.py": "import sys\nfrom jupyter_amlrun import Run\nRun.get_context().log('acc', float(sys.argv[2]))\n"}
    )
    cfg = ScriptRunConfig(source_directory=src, script="train.py", compute_target=hpc.name)
    hd = HyperDriveConfig(
        run_config=cfg,
        hyperparameter_sampling=GridParameterSampling({"--x": choice(1, 2, 3, 4)}),
        primary_metric_name="acc",
        primary_metric_goal=PrimaryMetricGoal.MAXIMIZE,
        max_total_runs=4,
        max_concurrent_runs=2,
    )
    sweep = Experiment(ws, "sweep").submit(hd)
    assert sweep.wait_for_completion(raise_on_error=False)["status"] == "Completed"
    kids = sweep.get_children()
    assert len(kids) == 4 and all(k.get_status() == "Completed" for k in kids)
    states = [RunFolder(ws.path, k.id).read_state() for k in kids]
    jobs = {(s.handle or {}).get("data", {}).get("job_id") for s in states}
    assert len(jobs) == 4 and None not in jobs  # each child its own Slurm job
    # at most 2 children between submit and end at any moment
    ends = ("Finalizing", "Completed", "Failed", "Canceled")
    spans = [(float(s.created or 0), min(t for st, t in s.history if st in ends)) for s in states]
    events = sorted([(a, 1) for a, _ in spans] + [(b, -1) for _, b in spans])
    live = peak = 0
    for _, d in events:
        live += d
        peak = max(peak, live)
    assert peak <= 2, [s.history for s in states]


def test_pytorch_1x2_gloo_through_srun(ws: Any, make_source: Any, hpc: SlurmCompute) -> None:
    pytest.importorskip("torch")
    from tests.compute.test_distributed import ALL_REDUCE

    run = _submit(ws, make_source, hpc.name, ALL_REDUCE, distributed_job_config=PyTorchConfiguration(process_count=2))
    details = run.wait_for_completion(raise_on_error=False)
    assert details["status"] == "Completed", details.get("error")
    names = run.get_file_names()
    assert {"logs/user_logs/std_log_process_0.txt", "logs/user_logs/std_log_process_1.txt"} <= set(names)
    sums = run.get_metrics()["sum"]
    assert 3.0 in (sums if isinstance(sums, list) else [sums])  # 1 + 2: the all_reduce over both ranks
    for rank in (0, 1):
        path = ws.path / f"rank{rank}.txt"
        run.download_file(f"logs/user_logs/std_log_process_{rank}.txt", str(path))
        text = path.read_text()
        assert "SUM 3.0" in text and f'"RANK": "{rank}"' in text and '"WORLD_SIZE": "2"' in text


def _job_of(ws: Any, run: Any) -> str:
    handle = RunFolder(ws.path, run.id).read_state().handle or {}
    return str(handle.get("data", {}).get("job_id", ""))


def _ended(ws: Any, run: Any, timeout: float = 120) -> Any:
    """The run's state once ended, read from its folder only: no reader (no backend status) is asked meanwhile."""
    rf = RunFolder(ws.path, run.id)
    assert wait_for(lambda: rf.read_state().terminal, timeout=timeout), rf.read_state()
    return rf.read_state()


def test_scancel_behind_our_back_ends_the_run_without_a_reader(
    ws: Any, make_source: Any, slurm_cluster: SlurmCluster
) -> None:
    """A job that Slurm ends while nobody reads the run: the watchdog (SlurmBackend.watch) ends the run with
    Slurm's reason, pending (no driver yet) or running (its driver killed with the job, so it cannot say it)."""
    _attach(ws, slurm_cluster, "held", extra_sbatch_args=["--hold"], check_shared_folder=False)
    run = _submit(ws, make_source, "held", SLEEPER)
    rf = RunFolder(ws.path, run.id)
    # the watchdog records the pending reason (a reader only reads it)
    assert wait_for(lambda: "JobHeldUser" in (rf.read_state().queued_reason or ""), timeout=60)
    job = _job_of(ws, run)
    subprocess.run(["scancel", job], env=slurm_cluster.env(), check=True)
    state = _ended(ws, run)
    assert state.status == "Canceled", state
    assert f"The Slurm job {job} ended CANCELLED" in (state.error or "") and "before the run's driver started" in (
        state.error or ""
    )

    # Running: Slurm's SIGTERM reaches the driver, which ends the run Canceled with Slurm's words itself.
    _attach(ws, slurm_cluster, "hpc", check_shared_folder=False)
    run = _submit(ws, make_source, "hpc", SLEEPER, name="src2")
    rf = RunFolder(ws.path, run.id)
    assert wait_for(lambda: rf.read_state().status == "Running", timeout=120)
    job = _job_of(ws, run)
    subprocess.run(["scancel", job], env=slurm_cluster.env(), check=True)
    state = _ended(ws, run)
    assert state.status == "Canceled", state
    # while its processes are signalled Slurm says only COMPLETING (CANCELLED comes once the driver is gone)
    assert f"The Slurm job {job} was ended by Slurm (scancel or a signal" in (state.error or ""), state.error
    assert wait_for(lambda: job not in _squeue(slurm_cluster, "-t", "PENDING,RUNNING,COMPLETING"), timeout=60)


def test_a_job_ended_under_a_dead_driver_ends_with_slurms_reason(
    ws: Any, make_source: Any, hpc: SlurmCompute, slurm_cluster: SlurmCluster
) -> None:
    """The driver and its guard are killed outright (as a node failure would: nothing of the run can record its
    end); the job ends FAILED; the watchdog ends the run with Slurm's state. Nobody reads the run meanwhile."""
    run = _submit(ws, make_source, hpc.name, SLEEPER)
    rf = RunFolder(ws.path, run.id)
    assert wait_for(lambda: rf.read_state().status == "Running", timeout=120)
    job, driver = _job_of(ws, run), int(rf.read_state().owner_pid or 0)
    guards = [p for p in psutil.process_iter(["cmdline"]) if _is_guard(p.info["cmdline"] or [], run.id)]
    assert driver and guards
    for proc in [*guards, psutil.Process(driver)]:
        proc.kill()
    state = _ended(ws, run)
    assert state.status == "Failed", state
    assert f"was ended by Slurm (The Slurm job {job} ended FAILED" in (state.error or ""), state.error
    assert job not in _squeue(slurm_cluster, "-t", "PENDING,RUNNING")


def test_a_suspended_job_keeps_its_run(
    ws: Any, make_source: Any, hpc: SlurmCompute, slurm_cluster: SlurmCluster
) -> None:
    """``scontrol suspend`` stops every process of the job: the driver's heartbeat goes stale, which by liveness
    alone reads as a dead owner; the watchdog asks Slurm (SUSPENDED) and leaves the run, which completes once
    resumed."""
    script = "import time\nprint('started', flush=True)\ntime.sleep(15)\n"
    run = _submit(ws, make_source, hpc.name, script)
    rf = RunFolder(ws.path, run.id)
    assert wait_for(lambda: rf.read_state().status == "Running", timeout=120)
    job = _job_of(ws, run)
    subprocess.run(["scontrol", "suspend", job], env=slurm_cluster.env(), check=True)
    try:
        stale = liveness_seconds() + 3 * WATCH_SECONDS  # past liveness, and the watchdog has asked Slurm since
        assert wait_for(lambda: rf.heartbeat_age(rf.read_state()) > stale, timeout=120)
        assert watchdog_running(ws.path)
        assert rf.read_state().status == "Running", rf.read_state()
    finally:
        subprocess.run(["scontrol", "resume", job], env=slurm_cluster.env(), check=True)
    details = run.wait_for_completion(raise_on_error=False)
    assert details["status"] == "Completed", details.get("error")


def _is_guard(cmdline: list[str], run_id: str) -> bool:
    return "jupyter_amlrun.compute._guard" in cmdline and run_id in cmdline


def test_a_job_slurm_keeps_pending_for_ever_fails_the_run(
    ws: Any, make_source: Any, slurm_cluster: SlurmCluster
) -> None:
    """A pending reason that cannot clear by itself (here the partition's MaxTime, lowered under the target's
    time_limit after attach; Slurm 22.05 keeps such a job PENDING) ends the run Failed with Slurm's words, the job
    cancelled, instead of a run Queued for ever. Nobody reads the run meanwhile."""
    _attach(ws, slurm_cluster, "long", time_limit=5, check_shared_folder=False)
    part = f"PartitionName={slurm_cluster.partition}"
    subprocess.run(["scontrol", "update", part, "MaxTime=1"], env=slurm_cluster.env(), check=True)
    try:
        run = _submit(ws, make_source, "long", SLEEPER)
        state = _ended(ws, run)
    finally:
        subprocess.run(["scontrol", "update", part, "MaxTime=UNLIMITED"], env=slurm_cluster.env(), check=True)
    assert state.status == "Failed", state
    job = _job_of(ws, run)
    assert f"Slurm keeps job {job} pending with reason PartitionTimeLimit" in (state.error or ""), state.error
    assert "MaxTime" in (state.error or "") and "submit again" in (state.error or "")
    assert job not in _squeue(slurm_cluster, "-t", "PENDING,RUNNING")


@pytest.mark.unit
def test_gpus_per_node_in_the_sbatch_arguments(ws: Any) -> None:
    """No GPUs here: the options are checked (a real GPU run needs the nodes' gres, GresTypes=gpu)."""
    rf = RunFolder(ws.path, "r1")

    def spec(**kw: Any) -> RunSpec:
        return RunSpec(
            run_id="r1", experiment="e", experiment_id="1", workspace=str(ws.path), script="t.py", snapshot_id="s",
            interpreter="python", **kw,
        )  # fmt: skip

    plain, asks = spec(), spec(environment_definition={"use_gpu": True})
    cuda = spec(extra={"docker": {"image": "mcr.microsoft.com/azureml/openmpi4.1.0-cuda11.8-cudnn8-ubuntu22.04"}})
    assert run_gpus(plain, 2) is None and run_gpus(asks, 1) == 1 and run_gpus(cuda, 1) == 1
    assert run_gpus(asks, 4) == 4  # one per process on the node (PyTorch process_count_per_node)

    def gpu_args(config: dict[str, Any], gpus: int | None, per_node: int = 1) -> list[str]:
        args = SlurmBackend(ws, "hpc", {"type": "Slurm", **config}).sbatch_args(rf, 2, per_node, gpus=gpus)
        assert "--nodes=2" in args and f"--ntasks-per-node={per_node}" in args
        return [a for a in args if a.startswith(("--gpu", "--gres"))]

    assert gpu_args({}, None) == []
    assert gpu_args({}, run_gpus(asks, 4), per_node=4) == ["--gpus-per-node=4"]
    assert gpu_args({"gpus_per_node": 8}, None) == ["--gpus-per-node=8"]  # the target's (a GPU node type) wins
    assert gpu_args({"gpus_per_node": 0}, 1) == []  # 0: never ask
    extra = {"extra_sbatch_args": ["--gres=gpu:a100:2"]}
    assert gpu_args({**extra, "gpus_per_node": 4}, 1) == ["--gres=gpu:a100:2"]  # the user's own GPU option wins
    with pytest.raises(ComputeTargetException, match="gpus_per_node must be a whole number"):
        SlurmCompute.attach_configuration(gpus_per_node=-1)


def test_gpus_slurm_cannot_give_are_refused_with_its_words(
    ws: Any, make_source: Any, slurm_cluster: SlurmCluster
) -> None:
    """This cluster has no GPU gres: Slurm refuses --gpus-per-node, at attach (sbatch --test-only) for a target's
    gpus_per_node, at submit (sbatch's stderr) for a run that asks for GPUs; no run is left behind."""
    with pytest.raises(ComputeTargetException, match="Invalid generic resource.*do not offer the GPUs"):
        _attach(ws, slurm_cluster, "gpu", gpus_per_node=1, check_shared_folder=False)
    _attach(ws, slurm_cluster, "hpc", check_shared_folder=False)
    src = make_source({"train.py": "print(1)\n"})
    est = Estimator(source_directory=src, entry_script="train.py", compute_target="hpc", use_gpu=True)
    with pytest.raises(ExperimentExecutionException, match="sbatch: error: Invalid generic resource"):
        Experiment(ws, "gpu").submit(est)
    assert list(Experiment(ws, "gpu").get_runs()) == []


def test_an_account_slurm_refuses(ws: Any, make_source: Any) -> None:
    """A cluster that enforces associations (its own slurmdbd over MariaDB, started here): an account the user has
    no association with is refused at attach (sbatch --test-only) with Slurm's words and the fix; an association
    the site removes after attach is refused at submit, with no run left Queued (or at all)."""
    why = sc.missing_accounting()
    if why:
        pytest.skip(why)
    cluster = sc.start(cpus=1, accounts={"lab": ["root"], "other": ["root"]})
    try:

        def attach(name: str, account: str) -> Any:
            config = SlurmCompute.attach_configuration(
                account=account, slurm_conf=str(cluster.conf), check_shared_folder=False
            )
            return ComputeTarget.attach(ws, name, config)

        with pytest.raises(ComputeTargetException, match="Invalid account.*account 'nosuch'.*sacctmgr show assoc"):
            attach("nosuch", "nosuch")
        attach("other", "other")
        env = cluster.env()
        subprocess.run(["sacctmgr", "-i", "remove", "user", "root", "account=other"], env=env, check=True)

        def refused() -> bool:
            probe = ["sbatch", "--test-only", "--account=other", "--wrap", "true"]
            return subprocess.run(probe, env=env, capture_output=True).returncode != 0

        assert wait_for(refused, timeout=30)  # slurmdbd tells slurmctld
        with pytest.raises(ExperimentExecutionException, match="sbatch: error: .*Invalid account.*account 'other'"):
            _submit(ws, make_source, "other", "print(1)\n")
        assert list(Experiment(ws, "slurm").get_runs()) == []
        assert [t.name for t in ComputeTarget.list(ws)] == ["other"]
    finally:
        sc.stop(cluster)
    assert not cluster.folder.exists()
