"""The Ray backend: a run's driver is a Ray job, submitted through Ray's Job Submission API.

Ray is the engine (placement, runtime environments, job lifecycle); nothing here schedules. The job's entrypoint is the
same driver a local run gets (``<python> -m jupyter_amlrun.compute.driver <workspace> <run_id>``), so queueing,
environments, inputs, logs, metrics, outputs and cancel behave exactly as on ``local``. What Ray adds is read here:
a job that ends before its driver starts (a runtime_env that fails to install, a node that dies) or behind the
driver's back (``ray job stop``) still ends its run, with Ray's message and job log kept.

A head on this machine (loopback or one of this host's names) shares the workspace folder and its sqlite store with
the driver. A remote head needs the workspace on storage the cluster mounts at the same path and a tracking server
URI (``Workspace(..., tracking_uri="http://mlflow:5000")``); validate refuses a remote head with a sqlite store.

``start_local_head``/``stop_local_head`` run a development head (``RayCompute.provisioning_configuration``).
"""

from __future__ import annotations

import contextlib
import os
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.parse
from pathlib import Path
from typing import TYPE_CHECKING, Any

from jupyter_amlrun.core.contracts import ComputeBackend, LaunchHandle, RankHost, RankOutcome, RankTopology
from jupyter_amlrun.runtime.errors import ComputeTargetException
from jupyter_amlrun.runtime.lifecycle import error_tail, finalize, live_status, recovery_lock, request_cancel
from jupyter_amlrun.runtime.runfolder import RUN_MARK_ENV, RunFolder
from jupyter_amlrun.runtime.status import RunStatus

if TYPE_CHECKING:
    from ray.job_submission import JobDetails, JobSubmissionClient

    from jupyter_amlrun.core.runconfig import RunConfiguration
    from jupyter_amlrun.core.workspace import Workspace

DRIVER_MODULE = "jupyter_amlrun.compute.driver"
JOB_PREFIX = "amlrun-"
DEFAULT_ADDRESS = "http://127.0.0.1:8265"
INSTALL_HINT = 'pip install "jupyter_amlrun[ray]"'
RAY_JOB_LOG = "logs/azureml/ray_job_log.txt"
# After `ray job stop` Ray SIGKILLs the entrypoint after this long; the driver needs it to finalise a Canceled run.
STOP_WAIT_SECONDS = 30
# How long cancel() lets the driver end the run itself before it stops the Ray job.
CANCEL_GRACE_SECONDS = 20.0
_TERMINAL_JOB = ("SUCCEEDED", "FAILED", "STOPPED")
_LOCAL_HOSTS = {"127.0.0.1", "localhost", "::1", "0.0.0.0"}
_clients: dict[str, JobSubmissionClient] = {}


# ------------------------------------------------------------------------------------------------ addresses, clients
def check_address(address: Any) -> str:
    """The address normalised (``http://host:port``); a clear error for anything else."""
    if not isinstance(address, str) or not address.strip():
        raise ComputeTargetException(
            f"A Ray address must be the head's Job Submission (dashboard) URL such as {DEFAULT_ADDRESS!r}, got "
            f"{address!r}."
        )
    text = address.strip().rstrip("/")
    if "://" not in text:
        text = "http://" + text
    parts = urllib.parse.urlsplit(text)
    try:
        port = parts.port
    except ValueError:
        port = None
    if parts.scheme not in ("http", "https") or not parts.hostname or port is None or parts.path not in ("", "/"):
        raise ComputeTargetException(
            f"Bad Ray address {address!r}: give the head's dashboard URL, http://<host>:<dashboard port> (default "
            f"port 8265), e.g. {DEFAULT_ADDRESS!r}. ray:// client addresses (port 10001) are not used."
        )
    return f"{parts.scheme}://{parts.netloc}"


def is_local_address(address: str) -> bool:
    """Whether the head at ``address`` runs on this machine (so it shares the workspace folder and store)."""
    host = (urllib.parse.urlsplit(address).hostname or "").lower()
    if host in _LOCAL_HOSTS or host.startswith("127.") or host in (socket.gethostname().lower(), socket.getfqdn()):
        return True
    with contextlib.suppress(OSError):
        return host in socket.gethostbyname_ex(socket.gethostname())[2]
    return False


def _ray_job_api() -> Any:
    try:
        import ray.job_submission as api
    except ImportError as exc:
        raise ComputeTargetException(
            f"Ray is not installed in this Python ({sys.executable}); install it with {INSTALL_HINT}."
        ) from exc
    return api


def client(address: str) -> JobSubmissionClient:
    """A Job Submission client for ``address`` (one per address in this process); clear errors when unreachable."""
    address = check_address(address)
    found = _clients.get(address)
    if found is not None:
        return found
    api = _ray_job_api()
    try:
        made = api.JobSubmissionClient(address)
    except Exception as exc:  # ConnectionError, or a RuntimeError that wraps it
        raise ComputeTargetException(
            f"Could not reach a Ray head at {address} ({_first_line(exc)}). Start one on that machine with `ray start "
            "--head --dashboard-host 0.0.0.0` (or, on this machine, ComputeTarget.create(ws, 'ray-dev', "
            "RayCompute.provisioning_configuration(num_cpus=2))), or fix the address."
        ) from exc
    _clients[address] = made
    return made


def submission_id(run_id: str) -> str:
    """The Ray job's submission id of a run (stable, so a job can be found from its run alone)."""
    return JOB_PREFIX + run_id


def _first_line(exc: BaseException) -> str:
    lines = str(exc).strip().splitlines()
    return (lines[0] if lines else type(exc).__name__)[:300]


# ------------------------------------------------------------------------------------------------ the backend
class RayBackend(ComputeBackend):
    """Runs each run's driver as a job on the Ray cluster whose Job Submission address the target names."""

    kind = "Ray"
    target_class = "jupyter_amlrun.compute.raycompute:RayCompute"

    def __init__(self, workspace: Workspace, name: str, config: dict[str, Any]) -> None:
        super().__init__(workspace, name, config)
        self.address = check_address(config.get("address", DEFAULT_ADDRESS))
        self.local = is_local_address(self.address)

    @property
    def client(self) -> JobSubmissionClient:
        return client(self.address)

    # ---------------------------------------------------------------- contract
    def validate(self, run_config: RunConfiguration) -> None:
        if type(run_config.distributed_job_config).__name__ == "MpiConfiguration":
            # PyTorch ranks rendezvous over TCP from each node's actor; mpirun would start every rank on node 0.
            raise ComputeTargetException(
                "MpiConfiguration runs are not yet on Ray (PyTorchConfiguration is): submit them to 'local' or an "
                "AmlCompute target for now (see docs/scaling.md)."
            )
        if not self.local:
            uri = self.workspace.get_mlflow_tracking_uri()
            if uri.startswith(("sqlite:", "file:")) or "://" not in uri:
                raise ComputeTargetException(
                    f"The Ray head {self.address} is not on this machine, so its jobs cannot write the workspace's "
                    f"local tracking store ({uri}). Point the workspace at an MLflow tracking server reachable from "
                    "the cluster (the workspace's tracking_uri, e.g. http://mlflow:5000) and keep the workspace folder "
                    "on storage the cluster mounts at the same path (docs/scaling.md)."
                )
        self.client  # noqa: B018 - a clear "unreachable" error now, before the run exists

    def launch(self, rf: RunFolder) -> LaunchHandle:
        spec = rf.read_spec()
        if spec is None:
            raise ComputeTargetException(f"Run {rf.run_id} has no spec.json in {rf.root}.")
        rf.driver_log.parent.mkdir(parents=True, exist_ok=True)
        sid = submission_id(rf.run_id)
        python = str(self.config.get("python") or sys.executable)  # absolute: a bare `python` may lack our packages
        driver = [python, "-m", DRIVER_MODULE, str(self.workspace.path), rf.run_id]
        # The driver's own log is the run's driver_log.txt (as on local); Ray's job log keeps what came before it.
        entrypoint = f"exec {shlex.join(driver)} >> {shlex.quote(str(rf.driver_log))} 2>&1"
        runtime_env = job_runtime_env(spec.environment_definition, local=self.local)
        try:
            self.client.submit_job(
                entrypoint=entrypoint,
                submission_id=sid,
                runtime_env=runtime_env,
                metadata={"amlrun_run_id": rf.run_id, "amlrun_experiment": spec.experiment},
            )
        except ComputeTargetException:
            raise
        except Exception as exc:
            raise ComputeTargetException(
                f"The Ray head at {self.address} refused the job for run {rf.run_id}: {_first_line(exc)}"
            ) from exc
        return LaunchHandle(self.kind, self.name, {"submission_id": sid, "address": self.address})

    def status(self, rf: RunFolder) -> str:
        state = rf.read_state()
        if state.terminal:
            return state.status
        if state.driver:
            # The driver runs (or ran) the run: the run folder is the truth while it lives; once it is gone the
            # shared recovery ends the run, with what Ray says about the job in the driver log for the error.
            if not rf.owner_alive(state):
                self._note_job_end(rf)
            return live_status(self.workspace.store, rf)
        info = self._job(rf)
        if info is None:
            return state.status
        job = str(info.status)
        if job in _TERMINAL_JOB:
            return self._end_without_driver(rf, info)
        return RunStatus.QUEUED.value if job == "PENDING" else state.status

    def log_sources(self, rf: RunFolder) -> dict[str, Path]:
        files = rf.log_files()
        if "logs/azureml/driver_log.txt" not in files and not rf.read_state().terminal:
            # Nothing from the driver yet: show what Ray has (runtime_env setup, a failure before the driver starts).
            self._save_job_log(rf)
            files = rf.log_files()
        return files

    def cancel(self, rf: RunFolder, reason: str = "Canceled by user") -> None:
        state = rf.read_state()
        if state.terminal:
            return
        if not state.driver:
            # No driver to end the tree yet: stop the job; a driver that starts meanwhile finds the cancel request.
            rf.request_cancel(reason)
            self._stop_job(rf)
            deadline = time.monotonic() + 10.0
            while time.monotonic() < deadline and not rf.read_state().driver:
                info = self._job(rf)
                if info is None or str(info.status) in _TERMINAL_JOB:
                    break
                time.sleep(0.2)
            self.status(rf)
            return
        # The driver's own cancel path ends the script's whole tree and finalises Canceled; the job then ends by
        # itself. stop_job is the fallback for a driver that does not answer.
        request_cancel(self.workspace.store, rf, reason)
        deadline = time.monotonic() + CANCEL_GRACE_SECONDS
        while time.monotonic() < deadline:
            if rf.read_state().terminal:
                return
            time.sleep(0.2)
        self._stop_job(rf)

    def launch_ranks(
        self, host: RankHost, topology: RankTopology, command: list[str], env: dict[str, str]
    ) -> RankOutcome:
        """The ranks go where Ray places them (one node actor per bundle of a placement group), not into the driver
        machine's node slots."""
        from jupyter_amlrun.compute._ray_nodes import run_on_ray

        return run_on_ray(host, topology, command, env)

    def describe(self) -> dict[str, Any]:
        info: dict[str, Any] = {
            "name": self.name,
            "type": self.kind,
            "address": self.address,
            "head_on_this_machine": self.local,
            "max_nodes": None,
            "busy_nodes": None,
            "queued_runs": 0,
            "active_runs": [],
        }
        try:
            jobs = [j for j in self.client.list_jobs() if str(j.submission_id or "").startswith(JOB_PREFIX)]
        except Exception as exc:
            info["error"] = _first_line(exc)
            return info
        info["queued_runs"] = sum(1 for j in jobs if str(j.status) == "PENDING")
        info["active_runs"] = sorted(
            str(j.submission_id)[len(JOB_PREFIX) :] for j in jobs if str(j.status) in ("PENDING", "RUNNING")
        )
        return info

    # ---------------------------------------------------------------- development heads (RayCompute.create/delete)
    @classmethod
    def provision(cls, workspace: Workspace, name: str, doc: dict[str, Any]) -> dict[str, Any]:
        """Start a development head for ``doc`` (``num_cpus``, ``num_gpus``); returns the fields its document keeps."""
        return start_local_head(doc.get("num_cpus"), doc.get("num_gpus"))

    @classmethod
    def check_attach(cls, workspace: Workspace, name: str, doc: dict[str, Any]) -> dict[str, Any]:
        """A bad address, an unreachable head or a missing Ray is refused before the target is written."""
        backend = cls(workspace, name, doc)
        backend.client  # noqa: B018 - connects (and imports Ray)
        return {"address": backend.address}

    @classmethod
    def deprovision(cls, workspace: Workspace, name: str, doc: dict[str, Any]) -> None:
        """Stop a development head this workspace started (an attached cluster is left alone)."""
        if doc.get("managed") and doc.get("temp_dir"):
            stop_local_head(str(doc["temp_dir"]), doc.get("gcs_port"))

    # ---------------------------------------------------------------- Ray's side of a run
    def _job(self, rf: RunFolder) -> JobDetails | None:
        try:
            return self.client.get_job_info(submission_id(rf.run_id))
        except Exception:
            return None  # an unreachable head: the run folder's status stands until it answers

    def _stop_job(self, rf: RunFolder) -> None:
        with contextlib.suppress(Exception):
            self.client.stop_job(submission_id(rf.run_id))

    def _save_job_log(self, rf: RunFolder) -> Path | None:
        try:
            text = self.client.get_job_logs(submission_id(rf.run_id))
        except Exception:
            return None
        if not text:
            return None
        path = rf.root / RAY_JOB_LOG
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        return path

    def _note_job_end(self, rf: RunFolder) -> None:
        """Before the shared recovery of a run whose driver died: say in its driver log what Ray says of the job
        (once), so that the run's error names it; a job stopped behind our back reads as a cancel."""
        marker = rf.root / "ray_job_noted"
        if marker.exists():
            return
        info = self._job(rf)
        if info is None or str(info.status) not in _TERMINAL_JOB:
            return
        marker.touch()
        message = (info.message or "").strip().splitlines()
        stamp = time.strftime("%Y-%m-%dT%H:%M:%S")
        with contextlib.suppress(OSError), open(rf.driver_log, "a", encoding="utf-8") as fh:
            fh.write(f"[{stamp}] Ray: job {info.submission_id} is {info.status}: {message[0] if message else ''}\n")
        if str(info.status) == "STOPPED" and not rf.cancel_requested():
            rf.request_cancel(f"The Ray job {info.submission_id} was stopped on {self.address} (ray job stop)")
        self._save_job_log(rf)

    def _end_without_driver(self, rf: RunFolder, info: JobDetails) -> str:
        """A job that ended before its driver took the run: end the run here, with Ray's reason and job log."""
        with recovery_lock(rf) as mine:
            state = rf.read_state()
            if not mine or state.terminal or state.driver:
                return state.status if not state.driver else live_status(self.workspace.store, rf)
            self._save_job_log(rf)
            canceled = rf.cancel_requested()
            status = RunStatus.CANCELED if (canceled or str(info.status) == "STOPPED") else RunStatus.FAILED
            message = (info.message or "").strip()
            error = (
                canceled
                or f"The Ray job {info.submission_id} on {self.address} ended {info.status} before the run's driver "
                f"started: {message or 'no message from Ray'}. Ray's job log is in {RAY_JOB_LOG}."
            )
            tail = error_tail(rf.driver_log, lines=10)
            if tail and not canceled:
                error += f"\nLast lines of logs/azureml/driver_log.txt:\n{tail}"
            try:
                return finalize(self.workspace.store, rf, status, error=error).status
            except Exception as exc:  # the store is down: the run still ends; MLflow catches up on a later read
                return rf.set_status(status, error=error, warnings=[f"recording the end failed: {exc}"]).status


def job_runtime_env(environment: dict[str, Any] | None, *, local: bool) -> dict[str, Any]:
    """The Ray runtime_env of a run's job.

    On a head on this machine the driver builds the run's environment itself (the cached virtualenvs, as on local),
    so Ray only gets environment variables. On a remote cluster the environment's pip packages go to Ray
    (``runtime_env["pip"]``), which installs them on the worker node, unless the environment is user-managed.
    """
    env_vars = {
        "PYTHONUNBUFFERED": "1",
        "MLFLOW_DISABLE_TELEMETRY": "true",
        "RAY_JOB_STOP_WAIT_TIME_S": str(STOP_WAIT_SECONDS),
    }
    keys = ("AMLRUN_STORE_RETRY_SECONDS", "AMLRUN_LIVENESS_SECONDS", "AMLRUN_KEEP_WORKDIR")
    for key in (*keys, "AMLRUN_RAY_PLACEMENT_SECONDS"):  # the last: the bound on a distributed run's placement
        if os.environ.get(key):
            env_vars[key] = os.environ[key]
    runtime_env: dict[str, Any] = {"env_vars": env_vars}
    from jupyter_amlrun.runtime.envcache import provided_by_amlrun

    # azureml-* is the SDK this package replaces (the in-script API comes with the job): never installed by Ray.
    pip = [p for p in (environment or {}).get("pip") or [] if not provided_by_amlrun(_requirement_name(str(p)))]
    if not local and pip and not (environment or {}).get("user_managed"):
        runtime_env["pip"] = pip
    return runtime_env


# ------------------------------------------------------------------------------------------------ a development head
def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


# Under load (2 busy cores) two fixed waits of `ray start` run out: the raylet's wait for its dashboard agent (a Python
# process with heavy imports; Ray's own setting raises it) and `ray start`'s 30 s wait for the raylet to register
# (hard-coded in ray._private.node; the CLI runs here with that module's clock slowed START_PATIENCE times).
AGENT_REGISTER_TIMEOUT_MS = "180000"
START_PATIENCE = 4.0
_RAY_START = """
import sys, time, types
import ray._private.node as node
scale = float(sys.argv.pop(1))
t0 = time.monotonic()
clock = types.SimpleNamespace(**{k: getattr(time, k) for k in dir(time) if not k.startswith("_")})
clock.monotonic = lambda: t0 + (time.monotonic() - t0) / scale
node.time = clock
from ray.scripts.scripts import main
sys.argv[0] = "ray"
sys.exit(main())
"""


def _ray_cli() -> list[str]:
    """The ``ray`` CLI of this Python, with the patient start-up wait."""
    try:
        import ray.scripts.scripts  # noqa: F401
    except ImportError as exc:
        raise ComputeTargetException(f"Ray is not installed (no `ray` CLI); install it with {INSTALL_HINT}.") from exc
    return [sys.executable, "-c", _RAY_START, str(START_PATIENCE)]


def start_local_head(num_cpus: int | None = None, num_gpus: int | None = None, attempts: int = 3) -> dict[str, Any]:
    """Start a Ray head on 127.0.0.1 with free ports and its own temp dir; returns its document fields.

    The temp dir is short (under ``/tmp``): Ray's unix socket paths must stay under 108 bytes. On a loaded machine
    Ray's own 30 s start-up wait can run out; the start is then retried (``attempts`` in all) with fresh ports.
    """
    _ray_job_api()
    cli = _ray_cli()
    failure = ""
    for _ in range(attempts):
        temp = tempfile.mkdtemp(prefix="amlray-")
        ports = (_free_port(), _free_port())  # the GCS and the dashboard
        try:
            return _start_head_once(cli, temp, ports, num_cpus, num_gpus)
        except ComputeTargetException as exc:
            failure = str(exc)
            stop_local_head(temp, ports[0])
    raise ComputeTargetException(f"The Ray head did not start ({attempts} attempts). Last error: {failure}")


def _start_head_once(
    cli: list[str], temp: str, ports: tuple[int, int], num_cpus: int | None, num_gpus: int | None
) -> dict[str, Any]:
    gcs, dashboard = ports
    cmd = [
        *cli, "start", "--head", "--node-ip-address", "127.0.0.1", "--port", str(gcs),
        "--dashboard-host", "127.0.0.1", "--dashboard-port", str(dashboard),
        "--ray-client-server-port", str(_free_port()), "--dashboard-agent-listen-port", str(_free_port()),
        "--disable-usage-stats", "--temp-dir", temp,
    ]  # fmt: skip
    if num_cpus is not None:
        cmd += ["--num-cpus", str(num_cpus)]
    if num_gpus is not None:
        cmd += ["--num-gpus", str(num_gpus)]
    env = dict(os.environ)
    # Jobs start from the head's PATH: the venv's bin first, or `import ray` fails in them (TOOLCHAIN).
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    env["RAY_USAGE_STATS_ENABLED"] = "0"
    env.setdefault("RAY_agent_register_timeout_ms", AGENT_REGISTER_TIMEOUT_MS)
    env.pop(RUN_MARK_ENV, None)  # a head started from inside a run is not one of that run's processes
    try:
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=180, env=env, check=False)
    except subprocess.TimeoutExpired as exc:
        raise ComputeTargetException(f"`ray start --head` did not finish in 180 s: {exc}") from exc
    if done.returncode != 0:
        tail = "\n".join((done.stdout + done.stderr).strip().splitlines()[-6:])
        raise ComputeTargetException(f"`ray start --head` failed (exit {done.returncode}):\n{tail}")
    address = f"http://127.0.0.1:{dashboard}"
    deadline = time.monotonic() + 60
    while True:
        _clients.pop(address, None)
        try:
            client(address)
            break
        except ComputeTargetException:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.5)
    return {"address": address, "gcs_port": gcs, "temp_dir": temp, "managed": True}


def head_processes(temp_dir: str, gcs_port: int | None = None) -> list[int]:
    """Pids of the processes of the head that owns ``temp_dir`` (its command lines name it, or, for Ray's client
    server, the head's GCS port in its ``--address=``)."""
    import psutil

    gcs = f":{gcs_port}" if gcs_port else None

    def ours(cmdline: list[str]) -> bool:
        if any(temp_dir in part for part in cmdline):
            return True
        return gcs is not None and any(p.startswith("--address=") and p.endswith(gcs) for p in cmdline)

    pids: set[int] = set()
    for proc in psutil.process_iter(["pid", "cmdline"]):
        with contextlib.suppress(psutil.Error):
            if ours(proc.info["cmdline"] or []):
                pids.add(int(proc.info["pid"]))
                # The agents and workers rename themselves (ray::DashboardAgent): found as descendants instead.
                pids.update(child.pid for child in proc.children(recursive=True))
    # Never this process or its parents (a shell whose command line happens to hold the path).
    mine = {os.getpid(), *(p.pid for p in psutil.Process().parents())}
    return sorted(pids - mine)


def stop_local_head(temp_dir: str, gcs_port: int | None = None, grace: float = 5.0) -> None:
    """Stop the head that owns ``temp_dir`` by its processes' ids (``ray stop`` would stop every head here)."""
    import psutil

    def alive(pids: list[int]) -> list[int]:
        out = []
        for pid in pids:
            with contextlib.suppress(psutil.Error):
                if psutil.Process(pid).status() != psutil.STATUS_ZOMBIE:
                    out.append(pid)
        return out

    pids = head_processes(temp_dir, gcs_port)  # the whole tree first: children outlive a killed parent
    for sig, wait in ((signal.SIGTERM, grace), (signal.SIGKILL, 5.0)):
        for pid in alive(pids):
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(pid, sig)
        deadline = time.monotonic() + wait
        while alive(pids) and time.monotonic() < deadline:
            time.sleep(0.1)
        pids = alive(sorted(set(pids) | set(head_processes(temp_dir, gcs_port))))
        if not pids:
            break
    for address, _ in list(_clients.items()):
        _clients.pop(address, None)
    shutil.rmtree(temp_dir, ignore_errors=True)


def _requirement_name(text: str) -> str:
    """A pip requirement's project name (``azureml-core==1.48`` -> ``azureml-core``); a URL or path as given."""
    from packaging.requirements import InvalidRequirement, Requirement

    try:
        return Requirement(text).name
    except InvalidRequirement:
        return text
