"""The per-run driver: ``python -m jupyter_amlrun.compute.driver <workspace> <run_id>``.

A detached supervisor (own session) that takes a run from Queued to a terminal status: waits for node slots,
materialises the snapshot and inputs, starts the script with its output going straight to ``logs/`` files, ships the
metrics journal to MLflow while it runs, enforces cancel and max_run_duration_seconds, then uploads ``outputs/`` and
``logs/`` and records the exit code and the tail of the log. The script is started before mlflow is imported, so
submit-to-Running is not paid for MLflow's import.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import traceback
from pathlib import Path
from typing import TYPE_CHECKING, Any

from jupyter_amlrun._util.procs import kill_tree
from jupyter_amlrun.compute._gpus import CUDA_ENV
from jupyter_amlrun.core.contracts import InputMaterializer, MaterializedInputs, NodeReservation, RankHost, RankTopology
from jupyter_amlrun.runtime.runfolder import RUN_MARK_ENV, RunFolder, RunSpec, owner_only_umask, user_umask
from jupyter_amlrun.runtime.status import RunStatus
from jupyter_amlrun.runtime.supervisor import Supervisor

if TYPE_CHECKING:
    from collections.abc import Callable

    from jupyter_amlrun.compute.container import ContainerRun
    from jupyter_amlrun.compute.distributed_run import Outcome
    from jupyter_amlrun.core.workspace import Workspace
    from jupyter_amlrun.tracking.runendpoint import RunEndpoint
    from jupyter_amlrun.tracking.store import TrackingStore

GUARD_MODULE = "jupyter_amlrun.compute._guard"
DISK_LOW_BYTES = 256 * 1024  # free space below this under the run folder counts as a full disk
POLL_SECONDS = 0.1
SHIP_SECONDS = 1.0


class Driver(Supervisor):
    """Takes one run from Queued to its end; talks to its compute backend and input materializers by contract."""

    role = "run's driver"

    def __init__(self, workspace_dir: Path, run_id: str, spec: RunSpec) -> None:
        super().__init__(workspace_dir, run_id)
        self.spec = spec
        self.stop_sync = threading.Event()
        self.lost: str | None = None  # why the run's folder or journal can no longer be trusted
        self.disk_full: str | None = None  # what a full disk under the run folder did, for the run's warnings
        self._journal_seen = False
        self._guard_pipe: int | None = None  # the write end; its closing (or our death) tells the guard we are done
        self.proc: subprocess.Popen[bytes] | None = None
        self.reservation: NodeReservation | None = None
        self.materializers: list[InputMaterializer] = []
        self._node_envs: dict[int, dict[str, str]] = {}
        self._mirrored: str | None = None
        self._ws: Workspace | None = None
        self._sync: threading.Thread | None = None
        self._folder_checked = 0.0  # when stop_reason last looked at the run folder
        self.container: ContainerRun | None = None  # set at Preparing when the run's environment asks for Docker
        self.mlflow_endpoint: RunEndpoint | None = None  # the script's MLflow talks to it (see mlflow_env)

    def start_sync(self) -> None:
        # Started once the script runs (or once queued): importing mlflow here would slow the start of the script.
        if self._sync is None:
            self._sync = threading.Thread(target=self._sync_loop, name="sync", daemon=True)
            self._sync.start()

    # ------------------------------------------------------------------ logging
    def log(self, message: str) -> None:
        stamp = time.strftime("%Y-%m-%dT%H:%M:%S")
        # The log sits in the run folder: on a full disk a line is lost, never the driver (the run's end says why).
        with contextlib.suppress(OSError):
            print(f"[{stamp}] {message}", flush=True)

    def set_status(self, status: str, **extra: Any) -> None:
        self.rf.set_status(status, **extra)
        self.log(f"Status: {status}")
        self.wake.set()

    # ------------------------------------------------------------------ background: MLflow sync
    def _workspace(self) -> Workspace:
        if self._ws is None:
            from jupyter_amlrun.core.workspace import Workspace

            self._ws = Workspace(path=self.ws_dir)
        return self._ws

    def _store(self) -> TrackingStore:
        return self._workspace().store

    def _sync_once(self) -> None:
        from jupyter_amlrun.runtime.lifecycle import mirror_status
        from jupyter_amlrun.tracking.journal import ship_journal

        store = self._store()
        state = self.rf.read_state()  # the last known state if the file vanished: never a fresh NotStarted
        if state.status != self._mirrored and not state.terminal:
            mirror_status(store, self.rf.run_id, state)
            self._mirrored = state.status
        ship_journal(store, self.rf.run_id, self.rf.root)

    def _sync_loop(self) -> None:
        while not self.stop_sync.is_set():
            try:
                self._sync_once()
            except Exception as exc:  # the store may be busy; the final sync retries
                self.log(f"Warning: syncing to the tracking store failed (will retry): {exc}")
            self.wake.wait(SHIP_SECONDS)
            self.wake.clear()

    # ------------------------------------------------------------------ steps
    def acquire_nodes(self) -> str | None:
        """Wait in the target's queue for the run's nodes; returns a cancel reason if canceled while queued."""
        from jupyter_amlrun.core.computetarget import resolve_backend

        target = self.spec.target
        nodes = int(self.spec.node_count or 1)
        self.reservation = resolve_backend(self._workspace(), target).reserve_nodes(self.rf.run_id, nodes)
        said = False
        while not self.reservation.try_acquire():
            if not said:
                self.log(f"Waiting for {nodes} free node(s) on compute target {target!r}.")
                self.rf.update_state(queued_reason=f"Waiting for {nodes} free node(s) on {target}")
                self.start_sync()
                said = True
            reason = self.rf.cancel_requested()
            if reason:
                return reason
            self.wake.wait(0.5)
            self.wake.clear()
        if said:
            self.log(f"Acquired {nodes} node(s) on {target}.")
        return None

    def start_guard(self) -> None:
        """Start the run's guard (:mod:`jupyter_amlrun.compute._guard`): it ends the run's processes and frees its
        nodes if this driver dies or hangs, and holds copies of the node locks until every process is gone."""
        read_end, self._guard_pipe = os.pipe()
        fds = self.node_fds()
        args = [str(self.ws_dir), self.rf.run_id, str(os.getpid()), str(read_end), ",".join(map(str, fds))]
        try:
            with open(self.rf.driver_log, "ab") as err:
                subprocess.Popen(
                    [sys.executable, "-m", GUARD_MODULE, *args],
                    stdin=subprocess.DEVNULL,
                    stdout=err,
                    stderr=subprocess.STDOUT,
                    pass_fds=[read_end, *fds],
                    start_new_session=True,  # out of the driver's group: what ends the driver does not end its guard
                    close_fds=True,
                    env={k: v for k, v in os.environ.items() if k != RUN_MARK_ENV},
                )
        finally:
            os.close(read_end)

    def node_fds(self) -> list[int]:
        """Descriptors that hold the run's nodes; every process of the run inherits them."""
        return self.reservation.inheritable_fds() if self.reservation is not None else []

    def check_disk(self) -> None:
        """Notice a full disk under the run folder: the script's values may then wait in memory or be lost, and the
        run's end must say so (the script cannot always: its own notes need the same disk)."""
        try:
            free = shutil.disk_usage(self.rf.root).free
        except OSError:
            return
        if free < DISK_LOW_BYTES and self.disk_full is None:
            self.disk_full = (
                f"The disk holding the run folder {self.rf.root} filled up during the run ({free} bytes free, "
                "No space left on device): values logged while it was full waited in memory and may be lost if "
                "they could not be written before the script ended; the script's output may be cut too. Free space "
                "on that volume (or point AMLRUN_HOME at a bigger one)."
            )
            self.log(f"Warning: {self.disk_full}")

    def wait_for_disk(self) -> None:
        """Before recording the end: wait (bounded, like a locked store) for space to write it."""
        from jupyter_amlrun.runtime.lifecycle import store_retry_seconds

        deadline = time.monotonic() + store_retry_seconds()
        said = False
        while time.monotonic() < deadline:
            try:
                if shutil.disk_usage(self.rf.root).free >= DISK_LOW_BYTES:
                    return
            except OSError:
                return
            if not said:
                self.log("Waiting for free disk space to record the end of the run.")
                said = True
            time.sleep(1.0)

    def check_folder(self) -> str | None:
        """Why the run's records are gone (its state.json or its journal deleted under it), or None."""
        rf = self.rf
        self.check_disk()
        if not rf.state_path.exists():
            self.lost = (
                f"The run's folder {rf.root} (its state.json) disappeared while the run was running, so its live "
                "state, metrics journal and logs are gone; the script was ended. Leave runs/<run id> alone until "
                "the run has ended."
            )
        elif rf.journal_path.exists():
            self._journal_seen = True
        elif self._journal_seen:
            self.lost = (
                f"The run's metrics journal {rf.journal_path} disappeared while the run was running: metrics logged "
                "after the last shipment are lost. Leave runs/<run id> alone until the run has ended."
            )
        return self.lost

    def stop_reason(self, started: float) -> tuple[str, str] | None:
        """Why a running script must stop now, for every launch loop (one script, local ranks, Ray ranks).

        Parameters
        ----------
        started
            ``time.time()`` when the script started (for ``max_run_duration_seconds``).

        Returns
        -------
        tuple[str, str] | None
            ``("lost", message)`` when the run's folder is gone (looked at once a second at most: it walks the
            disk), ``("cancel", reason)`` for a cancel request or an exceeded ``max_run_duration_seconds``, or None.
        """
        if time.monotonic() - self._folder_checked > 1.0:
            self._folder_checked = time.monotonic()
            if self.check_folder() and not self.rf.state_path.exists():
                return "lost", str(self.lost)
        reason = self.rf.cancel_requested()
        max_seconds = self.spec.max_run_duration_seconds
        if reason is None and max_seconds and time.time() - started > float(max_seconds):
            reason = (
                f"The run exceeded max_run_duration_seconds={max_seconds} and was canceled. Raise the limit in "
                "ScriptRunConfig(max_run_duration_seconds=...) if it needs longer."
            )
        return ("cancel", reason) if reason else None

    def materialize_inputs(self) -> MaterializedInputs:
        """Each input kind's materializer (from the registry) turns its inputs into local paths."""
        from jupyter_amlrun.core.registry import input_materializers

        result = MaterializedInputs()
        by_kind: dict[str, list[dict[str, Any]]] = {}
        for spec in self.spec.inputs:
            by_kind.setdefault(str(spec.get("kind", "dataset")), []).append(spec)
        loaded: dict[type[InputMaterializer], list[dict[str, Any]]] = {}
        for kind, specs in by_kind.items():
            loaded.setdefault(input_materializers.load(kind), []).extend(specs)
        for cls, specs in loaded.items():
            materializer = cls(self._workspace())
            self.materializers.append(materializer)
            result.merge(materializer.materialize(specs, self.rf.root, self.log))
        return result

    def complete_inputs(self, status: str, error: str | None) -> tuple[str, str | None]:
        """Each materializer's end-of-script step (outputs are uploaded here), before the outcome is recorded.

        A problem turns a Completed run Failed: an output that was not saved must never read Completed. A run that
        already failed keeps its own error first.
        """
        problems: list[str] = []
        if self.materializers:
            # Uploading outputs is part of Finalizing (as v1); the outcome is only recorded after it, so a driver
            # that dies mid-upload leaves no Completed behind (the recovery ends the run Failed).
            with contextlib.suppress(Exception):
                self.set_status(RunStatus.FINALIZING)
        for materializer in self.materializers:
            try:
                problem = materializer.complete(status, self.log)
            except Exception as exc:
                self.log(f"{type(materializer).__name__}.complete failed:\n" + traceback.format_exc())
                problem = f"Finishing the run's inputs/outputs failed: {exc}"
            if problem:
                problems.append(problem)
        if not problems:
            return status, error
        if status == RunStatus.COMPLETED:
            return RunStatus.FAILED, "\n".join(problems)
        return status, "\n".join([error, *problems] if error else problems)

    def build_command(self) -> tuple[list[str], dict[str, str]]:
        spec = self.spec
        args = list(spec.arguments)
        env = dict(os.environ)
        if spec.inputs:
            inputs = self.materialize_inputs()
            args = [_replace_all(a, inputs.replacements) for a in args]
            env.update(inputs.env)
        ws = self._workspace()
        env.update(
            {
                "AMLRUN_WORKSPACE": str(self.ws_dir),
                "AMLRUN_RUN_ID": self.rf.run_id,
                "AMLRUN_EXPERIMENT": spec.experiment,
                "AZUREML_RUN_ID": self.rf.run_id,
                "AZUREML_ARM_PROJECT_NAME": spec.experiment,
                "AZUREML_ARM_WORKSPACE_NAME": ws.name,
                "AZUREML_OUTPUT_DIRECTORY": "./outputs",
                "AZUREML_TARGET_TYPE": self._target_type(),
                "MLFLOW_RUN_ID": self.rf.run_id,
                "MLFLOW_EXPERIMENT_ID": str(spec.experiment_id),
                "PYTHONUNBUFFERED": "1",
            }
        )
        env.update(self.mlflow_env())
        env.update(spec.environment_variables)
        env.update(self.node_env(0))
        if spec.script.lower().endswith(".ipynb"):
            # A notebook entry script runs cell by cell in a kernel of the same interpreter (nbclient).
            return [spec.interpreter, "-m", "jupyter_amlrun.compute.notebook_entry", spec.script, *args], env
        return [spec.interpreter, spec.script, *args], env

    def mlflow_env(self) -> dict[str, str]:
        """Where the script's own MLflow logs: this run, through the endpoint this driver serves
        (:mod:`jupyter_amlrun.tracking.runendpoint`), never the workspace's store files (the run's environment may
        hold another MLflow version; with a team server too, so that its metrics are live); its metrics go to the
        journal, live in RunDetails and stored once."""
        if self.mlflow_endpoint is None:
            from jupyter_amlrun.tracking.runendpoint import RunEndpoint

            self.mlflow_endpoint = RunEndpoint(self._store, self.rf.run_id, self.rf.root, self.log)
            self.mlflow_endpoint.start()
        uri = self.mlflow_endpoint.uri
        # The endpoint serves no UI: MLflow's "View run at <uri>" lines would point nowhere.
        return {
            "MLFLOW_TRACKING_URI": uri,
            "MLFLOW_REGISTRY_URI": uri,
            "MLFLOW_SUPPRESS_PRINTING_URL_TO_STDOUT": "true",
        }

    def node_env(self, node: int) -> dict[str, str]:
        """What node ``node``'s processes get from the nodes held (their GPUs), said in the log once per node."""
        if node in self._node_envs:
            return dict(self._node_envs[node])
        extra = self.reservation.node_env(node) if self.reservation is not None else {}
        self._node_envs[node] = extra
        if CUDA_ENV in extra and CUDA_ENV in self.spec.environment_variables:
            # the run's own setting wins; it may share GPUs with other slots' runs, so say so
            self.log(f"Node {node}: {CUDA_ENV} from the run's environment_variables, not the pool's share")
            extra.pop(CUDA_ENV)
        gpus = extra.get(CUDA_ENV)
        if gpus is not None:
            self.log(
                f"Node {node}: GPUs {gpus} ({CUDA_ENV}), its pool slot's share"
                if gpus
                else f"Node {node}: no GPU (its pool slot has no share of this machine's GPUs: more slots than GPUs)"
            )
        return dict(extra)

    def launch_local_ranks(self, topology: RankTopology, command: list[str], env: dict[str, str]) -> Outcome:
        """Every rank as a process group on this machine (:meth:`ComputeBackend.launch_ranks`' default)."""
        from jupyter_amlrun.compute.distributed_run import run_local

        return run_local(self, topology, command, env)

    def _rank_launcher(self) -> Callable[[RankHost, RankTopology, list[str], dict[str, str]], Outcome]:
        """The target backend's :meth:`~jupyter_amlrun.core.contracts.ComputeBackend.launch_ranks`."""
        from jupyter_amlrun.core.computetarget import resolve_backend

        return resolve_backend(self._workspace(), self.spec.target).launch_ranks

    def _target_type(self) -> str:
        """v1's AZUREML_TARGET_TYPE: ``local``, ``amlcompute`` for a pool, else the backend's kind (``ray``)."""
        if self.spec.target == "local":
            return "local"
        try:
            from jupyter_amlrun.core.computetarget import resolve_backend

            kind = resolve_backend(self._workspace(), self.spec.target).kind
        except Exception:
            return "amlcompute"
        return "amlcompute" if kind == "local" else kind.lower()

    def run(self) -> int:
        rf = self.rf
        self.take_over()
        self.log(f"Run {rf.run_id}: driver pid {os.getpid()} on {socket.gethostname()}")
        status: str = RunStatus.FAILED
        error, exit_code = None, None
        try:
            reason = rf.cancel_requested()
            if not reason:
                self.set_status(RunStatus.QUEUED)
                reason = self.acquire_nodes()
            if reason:
                status, error = RunStatus.CANCELED, reason
            else:
                self.start_guard()
                status, error, exit_code = self.execute()
        except Exception as exc:
            status = RunStatus.FAILED
            error = f"The run's driver failed: {exc}"
            self.log("Driver error:\n" + traceback.format_exc())
        finally:
            if self.container is not None:
                self.container.remove()  # no container outlives its run (a killed engine client leaves it running)
            if self.lost or self.check_folder():
                status, error = RunStatus.FAILED, self.lost
            else:
                status, error = self.complete_inputs(status, error)
            # The outcome is decided: record it first, so that a recovery after our death ends the run the same way.
            with contextlib.suppress(Exception):
                rf.update_state(outcome=status, error=error, exit_code=exit_code)
            # The script is done: say so now, while the journal's tail is still being shipped.
            with contextlib.suppress(Exception):
                self.set_status(RunStatus.FINALIZING)
            if self.mlflow_endpoint is not None:  # the script is gone: nothing more joins the journal after this
                self.mlflow_endpoint.close()
            self.stop_sync.set()
            self.wake.set()
            if self._sync is not None:
                self._sync.join(timeout=30)
        self.log(f"Finalizing: uploading outputs and logs, final status {status}.")
        from jupyter_amlrun.runtime.lifecycle import end_lost_run, finalize, store_retry_seconds, with_store_retries

        self.check_disk()
        if self.disk_full is not None:
            self.wait_for_disk()
            with contextlib.suppress(Exception):
                rf.update_state(warnings=[*rf.read_state().warnings, self.disk_full])
        try:
            # A locked or unreachable store is waited out (bounded, said in this log), never taken for the end.
            deadline = time.monotonic() + store_retry_seconds()
            store = with_store_retries(self._store, "opening the tracking store", deadline, self.log)
            self.end_orphaned_children()
            if self.lost:
                end_lost_run(store, rf, self.lost)
            else:
                finalize(
                    store,
                    rf,
                    status,
                    error=error,
                    exit_code=exit_code,
                    outputs_dirs=[rf.workdir / "outputs"],
                    log=self.log,
                )
        except Exception:
            self.log("Recording the end of the run in the tracking store failed:\n" + traceback.format_exc())
            # The run still ends (the state file); its journal stays in the run folder for a later run.flush().
            with contextlib.suppress(Exception):
                rf.set_status(
                    status,
                    error=error,
                    exit_code=exit_code,
                    warnings=[
                        f"The tracking store could not be reached; the metrics journal is kept in {rf.journal_path}."
                    ],
                )
        # The heartbeat lives until the final status is written, so no reader takes a long finalise for a death.
        self.stop_beat.set()
        if self._guard_pipe is not None:
            os.close(self._guard_pipe)  # the guard sweeps for processes that outlived the run, then lets its slots go
        # No log line after this: readers stop at the final status, and the uploaded copy of the log is made there.
        for materializer in self.materializers:
            # Unmount inputs before their folders go (the materializer's atexit would do it too, but after rmtree).
            with contextlib.suppress(Exception):
                materializer.release()
        if not os.environ.get("AMLRUN_KEEP_WORKDIR"):
            shutil.rmtree(rf.workdir, ignore_errors=True)
        if self.reservation is not None:
            self.reservation.release()
        return 0

    def end_orphaned_children(self) -> None:
        """Child runs the script started but never completed end with it (as Failed, their data kept)."""
        from jupyter_amlrun.core.reader import RunReader
        from jupyter_amlrun.runtime.lifecycle import recover_dead_run

        try:
            parent = RunReader(self._workspace(), self.rf.run_id)
            for record in parent.children():
                child = parent.child(record)
                if not child.folder.exists():
                    continue
                state = child.folder.read_state()
                # A reader no longer ends runs (the watchdog does, later): the parent's driver, a writer, ends the
                # children its script left open now, so MLflow says Failed before anyone reads them.
                if not state.terminal and not child.folder.owner_alive(state):
                    recover_dead_run(self._store(), child.folder)
                    # another recovery (the workspace's watchdog) may hold the child: wait for it, bounded (its
                    # finalizing ships the child's journal; 30 s is plenty on a loaded machine, and the parent's own
                    # end waits on nothing else)
                    deadline = time.monotonic() + 30.0
                    while not child.folder.read_state().terminal and time.monotonic() < deadline:
                        time.sleep(0.1)
        except Exception as exc:
            self.log(f"Warning: could not check child runs: {exc}")

    def execute(self) -> tuple[str, str | None, int | None]:
        rf, spec = self.rf, self.spec
        self.set_status(RunStatus.PREPARING)
        from jupyter_amlrun.runtime.snapshot import SnapshotStore

        count = SnapshotStore(self.ws_dir).restore(spec.snapshot_id, rf.workdir)
        (rf.workdir / "outputs").mkdir(exist_ok=True)
        self.log(f"Materialized snapshot {spec.snapshot_id[:12]} ({count} files) in {rf.workdir}")
        if spec.extra.get("docker"):  # the image is the run's environment (compute/container.py): no venv here
            from jupyter_amlrun.compute.container import ContainerError, prepare_container

            try:
                self.container = prepare_container(self)
            except ContainerError as exc:
                self.log(f"Error: {exc}")
                return exc.status, str(exc), None
        from jupyter_amlrun.runtime.envcache import EnvironmentBuildError, Prepared, prepare_run_environment

        try:
            prepared = (
                Prepared(self.container.interpreter, "container")
                if self.container is not None
                else prepare_run_environment(
                    self.ws_dir, rf.root, spec.environment_definition, self.log, rf.cancel_requested
                )
            )
        except EnvironmentBuildError as exc:
            if exc.warnings:
                rf.update_state(warnings=[*rf.read_state().warnings, *exc.warnings])
            return exc.status, str(exc), None
        spec.interpreter = prepared.interpreter
        if prepared.warnings:
            rf.update_state(warnings=[*rf.read_state().warnings, *prepared.warnings])
        topo = None
        if spec.distributed:
            from jupyter_amlrun.compute import distributed

            try:
                topo = distributed.topology(spec)
            except distributed.DistributedConfigError as exc:
                return RunStatus.FAILED, str(exc), None
            problem = distributed.check_launchable(spec, self.container) if topo is not None else None
            if problem:
                self.log(f"Error: {problem}")
                return RunStatus.FAILED, problem, None  # ends Failed at Preparing: nothing was started
            if topo is None:
                self.log(
                    f"Note: distributed_job_config {spec.distributed.get('type')} is recorded; it runs one process."
                )
            elif (warning := distributed.backend_warning(topo)) is not None:
                self.log(f"Warning: {warning}")
                rf.update_state(warnings=[*rf.read_state().warnings, warning])
        self.set_status(RunStatus.STARTING)
        cmd, env = self.build_command()
        self.log(
            f"After variable expansion, calling script [ {spec.script} ] with arguments: "
            f"{cmd[cmd.index(spec.script) + 1 :]}"
        )
        reason = rf.cancel_requested()
        if reason:
            return RunStatus.CANCELED, reason, None
        if topo is not None:
            from jupyter_amlrun.compute.distributed_run import run_distributed

            # The target's backend starts the ranks (process groups here by default; Ray in a placement group).
            return run_distributed(self, topo, cmd, env, launcher=self._rank_launcher())
        rf.user_log.parent.mkdir(parents=True, exist_ok=True)
        if self.container is not None:
            cmd, env = self.container.command(cmd, env)
        with open(rf.user_log, "ab") as out:
            self.proc = subprocess.Popen(
                cmd,
                cwd=rf.workdir,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                pass_fds=self.node_fds(),  # the nodes stay held while the script lives, even if we die
                umask=user_umask(),
            )
        started = time.time()
        self.set_status(RunStatus.RUNNING, script_pgid=self.proc.pid, script_pids=[self.proc.pid])
        self.start_sync()
        from jupyter_amlrun.compute.sysmetrics import start_sampler  # system/... metrics until stop_sync

        start_sampler(rf.journal_path, self.proc.pid, self.stop_sync, self.log, spec.environment_variables)
        mark = (RUN_MARK_ENV, rf.run_id)
        while self.proc.poll() is None:
            stop = self.stop_reason(started)
            if stop is not None and stop[0] == "lost":
                self.log(f"Error: {self.lost}")
                kill_tree(self.proc.pid, [self.proc.pid], grace=2.0, mark=mark)
                self.proc.wait()
                return RunStatus.FAILED, self.lost, self.proc.returncode
            if stop is not None:
                reason = stop[1]
                self.set_status(RunStatus.CANCEL_REQUESTED)
                self.log(f"Canceling: {reason}")
                # The whole tree, and every process with the run's mark (daemons that left the group or session).
                kill_tree(self.proc.pid, [self.proc.pid], grace=2.0, mark=mark)
                self.proc.wait()
                with contextlib.suppress(OSError):
                    rf.update_state(exit_code=self.proc.returncode)
                return RunStatus.CANCELED, reason, self.proc.returncode
            self.wake.wait(POLL_SECONDS)
            self.wake.clear()
        code = int(self.proc.returncode)
        # Recorded the moment the script ends: a recovery after our death still knows how it ended.
        with contextlib.suppress(OSError):
            rf.update_state(exit_code=code)
        self.log(f"Script exited with code {code}.")
        # Children the script left behind (in its group, or marked with the run id anywhere) do not outlive the run.
        kill_tree(self.proc.pid, [], grace=1.0, mark=mark)
        if code == 0:
            return RunStatus.COMPLETED, None, 0
        reason = rf.cancel_requested()
        if reason:
            # A cancel that reached the script before us (e.g. Ray's stop_job signals the whole job): Canceled.
            return RunStatus.CANCELED, reason, code
        from jupyter_amlrun.runtime.lifecycle import error_tail

        how = f"was killed by signal {signal.Signals(-code).name}" if code < 0 else f"exited with code {code}"
        tail = error_tail(rf.user_log)
        return (
            RunStatus.FAILED,
            f"Script {spec.script} {how}. Last lines of logs/user_logs/std_log.txt:\n{tail}",
            code,
        )


def _replace_all(arg: str, replacements: dict[str, str]) -> str:
    if arg in replacements:
        return replacements[arg]
    for placeholder, path in replacements.items():
        arg = arg.replace(placeholder, path)
    return arg


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    owner_only_umask()  # the run's folder, logs and records are the owner's only; the script gets the user's umask
    if len(argv) != 2:
        print("usage: python -m jupyter_amlrun.compute.driver <workspace_dir> <run_id>", file=sys.stderr)
        return 2
    spec = RunFolder(Path(argv[0]), argv[1]).read_spec()
    if spec is None:
        print(f"No spec.json for run {argv[1]} in {argv[0]}", file=sys.stderr)
        return 2
    return Driver(Path(argv[0]), argv[1], spec).run()


if __name__ == "__main__":
    sys.exit(main())
