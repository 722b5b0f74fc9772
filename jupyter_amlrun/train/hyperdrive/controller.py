"""The sweep's controller: a detached process per sweep (like a run's driver) that runs the children.

``python -m jupyter_amlrun.train.hyperdrive.controller <workspace_dir> <parent_run_id>`` owns the parent run's folder
(claim + heartbeat, so a dead controller is found by any reader and the parent ends Failed with its finished children
kept). It asks an in-memory Optuna study for each child's parameters (never a second sqlite writer on mlflow.db: the
children in our store are the record), submits each child as a normal run of the same snapshot and environment, keeps
at most ``max_concurrent_runs`` children live, reads each child's primary metric from its journal as it is logged,
applies the early termination policy, cancels the terminated children with the policy's reason, and tells Optuna how
each child ended. A cancel of the parent cancels every child.
"""

from __future__ import annotations

import contextlib
import copy
import json
import math
import os
import pickle
import socket
import sys
import time
import traceback
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from jupyter_amlrun._util.fileio import read_json, write_json_atomic
from jupyter_amlrun.core.contracts import LaunchHandle
from jupyter_amlrun.runtime import tags as T
from jupyter_amlrun.runtime.launch import start_new_run
from jupyter_amlrun.runtime.runfolder import RunFolder
from jupyter_amlrun.runtime.status import RunStatus, is_terminal
from jupyter_amlrun.runtime.supervisor import Supervisor, start_supervisor
from jupyter_amlrun.tracking.journal import SCALAR, JournalReader
from jupyter_amlrun.train.hyperdrive.parameters import HYPERPARAMETERS_TAG, arg_name, format_arg

if TYPE_CHECKING:
    from jupyter_amlrun.core.contracts import ComputeBackend
    from jupyter_amlrun.core.experiment import Experiment
    from jupyter_amlrun.core.run import Run
    from jupyter_amlrun.core.runconfig import ScriptRunConfig
    from jupyter_amlrun.train.hyperdrive.config import HyperDriveConfig
    from jupyter_amlrun.train.hyperdrive.run import HyperDriveRun

CONTROLLER_MODULE = "jupyter_amlrun.train.hyperdrive.controller"
CONFIG_FILE = "hyperdrive.json"
CHILD_CONFIG_FILE = "child_config.pkl"
RUN_TYPE = "hyperdrive"
POLL_SECONDS = 0.5
CANCEL_WAIT_SECONDS = 120.0  # how long a canceled sweep waits for its children to end


# ---------------------------------------------------------------------------------------------- the submitter side
def start_sweep(experiment: Experiment, config: HyperDriveConfig, tags: dict[str, str] | None) -> HyperDriveRun:
    """Create the parent run (NotStarted), write its folder and start the detached controller; return at once."""
    from jupyter_amlrun.core.computetarget import resolve_backend
    from jupyter_amlrun.core.run import current_user
    from jupyter_amlrun.runtime.errors import UserErrorException
    from jupyter_amlrun.runtime.snapshot import SnapshotStore
    from jupyter_amlrun.train.hyperdrive.run import HyperDriveRun

    ws = experiment.workspace
    child = config.run_config
    rc = child.run_config
    backend = resolve_backend(ws, rc.target)
    backend.validate(rc)
    if tags is not None and not isinstance(tags, dict):
        raise UserErrorException("tags must be a dict of str -> str.")
    pickled = config._child_config_bytes()
    snapshot = SnapshotStore(ws.path).take(child.source_directory)
    doc = config.to_json()
    props = {
        "primary_metric_config": json.dumps(doc["primary_metric_config"]),
        "generator_config": json.dumps(doc["generator_config"]),
        "policy_config": json.dumps(doc["policy_config"]),
        "max_total_jobs": str(doc["max_total_jobs"]),
        "max_concurrent_jobs": str(doc["max_concurrent_jobs"]),
        "max_duration_minutes": f"{doc['max_duration_minutes']:g}",
        "runTemplate": "HyperDrive",
        "azureml.runsource": RUN_TYPE,
        "platform": "AML",
    }
    run_tags: dict[str, str] = {
        T.STATUS: RunStatus.NOT_STARTED.value,
        T.RUN_TYPE: RUN_TYPE,
        T.TARGET: rc.target,
        T.SCRIPT: str(rc.script),
        T.SNAPSHOT_ID: snapshot.id,
        T.SOURCE_DIRECTORY: str(Path(child.source_directory).resolve()),
        T.SOURCE_NAME: str(rc.script),
        T.SOURCE_TYPE: "LOCAL",
        T.USER: current_user(),
        **{T.PROP_PREFIX + k: v for k, v in props.items()},
        **{str(k): str(v) for k, v in (tags or {}).items()},
    }
    name = config._custom_run_id or f"HD_{uuid.uuid4()}"

    def prepare(rf: RunFolder) -> None:
        write_json_atomic(
            rf.root / CONFIG_FILE,
            {
                **doc,
                "snapshot_id": snapshot.id,
                "experiment": experiment.name,
                "target": rc.target,
                "name": name,
                # the JSON file's keys come back sorted: the order the user gave the parameters in
                "parameter_names": list(config.hyperparameter_sampling.parameter_space),
            },
        )
        (rf.root / CHILD_CONFIG_FILE).write_bytes(pickled)

    def start(rf: RunFolder) -> LaunchHandle:
        # The controller is a supervisor on this machine whatever the children's target: the local backend's
        # handle (its status is the controller's liveness); the children go to their target through submit.
        proc = start_supervisor(CONTROLLER_MODULE, ws.path, rf)
        rf.claim(proc.pid)  # the submitter owns the run until the controller claims it
        rf.update_state(driver=True)
        return LaunchHandle("local", "local", {"pid": proc.pid})

    record = start_new_run(experiment, name, run_tags, None, prepare, start, "Could not start the sweep's controller")
    return HyperDriveRun(experiment, record.run_id, _record=record)


# ---------------------------------------------------------------------------------------------- the controller
@dataclass
class _Child:
    """One child run as the controller follows it."""

    number: int
    run: Run
    folder: RunFolder
    backend: ComputeBackend
    trial: Any  # the Optuna trial
    reader: JournalReader
    values: list[float] = field(default_factory=list)
    evaluated: int = 0
    terminated: str | None = None  # the policy's reason, once it canceled the child
    status: str = RunStatus.NOT_STARTED.value
    outcome: str | None = None  # how the script ended (known at Finalizing, before the final status)


class SweepController(Supervisor):
    """Runs one sweep (see the module docstring); :meth:`run` returns when the parent run has ended."""

    role = "sweep's controller"

    def __init__(self, ws_dir: Path, run_id: str) -> None:
        super().__init__(ws_dir, run_id)
        self.children: dict[str, _Child] = {}
        self.notes: list[str] = []

    def log(self, message: str) -> None:
        stamp = time.strftime("%Y-%m-%dT%H:%M:%S")
        with contextlib.suppress(OSError), open(self.rf.driver_log, "a", encoding="utf-8") as fh:
            fh.write(f"[{stamp}] {message}\n")

    def run(self) -> int:
        from jupyter_amlrun.core.workspace import Workspace
        from jupyter_amlrun.runtime.lifecycle import finalize, mirror_status

        rf = self.rf
        self.take_over()
        self.log(f"Sweep {rf.run_id}: controller pid {os.getpid()} on {socket.gethostname()}")
        self.ws = Workspace(path=self.ws_dir)
        store = self.ws.store
        status: str = RunStatus.FAILED
        error: str | None = None
        try:
            mirror_status(store, rf.run_id, rf.set_status(RunStatus.RUNNING))
            status, error = self.sweep()
        except Exception as exc:
            status, error = RunStatus.FAILED, f"The sweep's controller failed: {exc}"
            self.log("Controller error:\n" + traceback.format_exc())
            self.cancel_live(f"The sweep {rf.run_id} failed")
        with contextlib.suppress(Exception):
            self.record_best()
        self.log(f"Finalizing: final status {status}.")
        try:
            state = finalize(store, rf, status, error=error, outputs_dirs=[], log=self.log)
            if self.notes:
                rf.update_state(warnings=[*state.warnings, *self.notes])
        except Exception:
            self.log("Recording the end of the sweep failed:\n" + traceback.format_exc())
            with contextlib.suppress(Exception):
                rf.set_status(status, error=error)
        self.stop_beat.set()
        return 0

    # ------------------------------------------------------------------ the sweep
    def sweep(self) -> tuple[str, str | None]:
        import optuna

        from jupyter_amlrun.core.experiment import Experiment
        from jupyter_amlrun.runtime.snapshot import SnapshotStore
        from jupyter_amlrun.train.hyperdrive.policy import policy_from_config
        from jupyter_amlrun.train.hyperdrive.sampling import sampling_from_config

        doc = read_json(self.rf.root / CONFIG_FILE)
        self.doc = doc
        self.metric = doc["primary_metric_config"]["name"]
        self.maximize = doc["primary_metric_config"]["goal"] == "maximize"
        sampling = sampling_from_config(doc["generator_config"])
        self.policy = policy_from_config(doc["policy_config"])
        total, concurrent = int(doc["max_total_jobs"]), int(doc["max_concurrent_jobs"])
        deadline = time.monotonic() + float(doc["max_duration_minutes"]) * 60
        self.exp = Experiment(self.ws, doc["experiment"], _skip_name_validation=True)
        config: ScriptRunConfig = pickle.loads((self.rf.root / CHILD_CONFIG_FILE).read_bytes())
        # Every child runs the snapshot taken at submit, whatever happens to the source folder meanwhile.
        source = self.rf.root / "snapshot"
        SnapshotStore(self.ws_dir).restore(doc["snapshot_id"], source)
        config.source_directory = str(source)
        optuna.logging.set_verbosity(optuna.logging.WARNING)
        study = optuna.create_study(
            direction="maximize" if self.maximize else "minimize", sampler=sampling.optuna_sampler()
        )
        for point in sampling.enqueued():
            study.enqueue_trial(point)
        given = sampling.parameter_space
        space = {n: given[n] for n in doc.get("parameter_names") or given}
        distributions = {name: expr.optuna_distribution() for name, expr in space.items()}
        self.study = study
        self.log(
            f"Sweeping {len(space)} parameter(s) with {sampling.sampling_method_name} sampling, "
            f"policy {self.policy.name}: at most {total} runs, {concurrent} at once; primary metric {self.metric} "
            f"({'maximize' if self.maximize else 'minimize'})."
        )
        launched = 0
        while True:
            reason = self.rf.cancel_requested()
            if reason:
                self.log(f"Canceling the sweep: {reason}")
                self.cancel_live(f"The sweep {self.rf.run_id} was canceled")
                self.wait_children(CANCEL_WAIT_SECONDS)
                return RunStatus.CANCELED, reason
            if time.monotonic() > deadline:
                minutes = doc["max_duration_minutes"]
                note = f"The sweep reached max_duration_minutes={minutes:g}; live children were canceled."
                self.log(note)
                self.notes.append(note)
                self.cancel_live(f"The sweep {self.rf.run_id} reached max_duration_minutes={minutes:g}")
                self.wait_children(CANCEL_WAIT_SECONDS)
                if not any(c.status == RunStatus.COMPLETED for c in self.children.values()):
                    # out of time before any child finished: canceled by its limit, not failed
                    return RunStatus.CANCELED, note + " No child run had completed."
                break
            self.poll()
            while launched < total and len(self.running()) < concurrent:
                trial = study.ask(distributions)
                self.launch(launched, config, space, trial)
                launched += 1
            if launched >= total and not self.live():
                break
            self.wake.wait(POLL_SECONDS)
            self.wake.clear()
        done = [c for c in self.children.values() if c.status == RunStatus.COMPLETED]
        if not done:
            first = next(iter(self.children.values()), None)
            why = first.run.get_details().get("error", {}).get("error", {}).get("message", "") if first else ""
            return RunStatus.FAILED, (
                f"No child run of the sweep completed ({len(self.children)} started). The first child's error: "
                f"{why or 'none recorded'}"
            )
        return RunStatus.COMPLETED, None

    def live(self) -> list[_Child]:
        """Children not yet ended (the sweep ends only when every one has)."""
        return [c for c in self.children.values() if not is_terminal(c.status)]

    def running(self) -> list[_Child]:
        """Children whose script may still run: what max_concurrent_runs counts (Finalizing ones no longer)."""
        return [c for c in self.live() if c.outcome is None]

    def launch(self, number: int, config: ScriptRunConfig, space: dict[str, Any], trial: Any) -> None:
        from jupyter_amlrun.core.computetarget import resolve_backend

        params = {name: expr.transform(trial.params[name]) for name, expr in space.items()}
        child_config = copy.deepcopy(config)
        args = list(child_config.run_config.arguments)
        for name, value in params.items():
            args += [arg_name(name), format_arg(value)]
        child_config.run_config.arguments = args
        child_config.arguments = args
        tags = {T.PARENT_RUN_ID: self.rf.run_id, HYPERPARAMETERS_TAG: json.dumps(params)}
        run = self.exp.submit(child_config, tags=tags)
        with contextlib.suppress(Exception):
            self.ws.store.set_tags(run.id, {T.RUN_NAME: f"{self.doc['name']}_{number}"})
        folder = RunFolder(self.ws_dir, run.id)
        backend = resolve_backend(self.ws, child_config.run_config.target)
        self.children[run.id] = _Child(number, run, folder, backend, trial, JournalReader(folder.journal_path))
        self.log(f"Child {number} ({run.id}) submitted with {json.dumps(params)}")

    def read_values(self, child: _Child, final: bool = False) -> list[float]:
        new: list[float] = []
        for rec in child.reader.read_new(final=final):
            if rec.get("k") != SCALAR or rec.get("n") != self.metric:
                continue
            v = rec.get("v")
            if isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(float(v)):
                new.append(float(v))
        return new

    def poll(self) -> None:
        """Read every live child's status and new primary-metric values; apply the policy; tell Optuna the ends."""
        reports = {cid: c.values for cid, c in self.children.items()}
        finished = frozenset(cid for cid, c in self.children.items() if c.outcome is not None)
        for cid, child in self.children.items():
            if is_terminal(child.status):
                continue
            status = child.backend.status(child.folder)
            child.status = status
            outcome = status if is_terminal(status) else None
            if status == RunStatus.FINALIZING:
                outcome = child.folder.read_state().outcome  # the script ended; the driver is uploading
            if child.outcome is not None:
                continue  # already told Optuna; waiting for the final status
            ended = outcome is not None
            for v in self.read_values(child, final=ended):
                child.values.append(v)
                with contextlib.suppress(Exception):
                    child.trial.report(v, len(child.values))
            if ended:
                child.outcome = outcome
                self.tell(child)
                continue
            while child.evaluated < len(child.values) and child.terminated is None:
                child.evaluated += 1
                if not self.policy.due(child.evaluated):
                    continue
                reason = self.policy.decide(cid, child.evaluated, reports, self.maximize, finished)
                if reason:
                    child.terminated = reason
                    self.log(f"Child {child.number} ({cid}): {reason}; canceling it.")
                    self.cancel_child(child, reason)

    def tell(self, child: _Child) -> None:
        from optuna.trial import TrialState

        if not child.values and child.outcome == RunStatus.COMPLETED and not child.folder.journal_path.exists():
            # Not a folder this machine sees live (another host): the store has the metric.
            got = child.run.get_metrics(name=self.metric).get(self.metric)
            child.values = [float(v) for v in (got if isinstance(got, list) else [got]) if isinstance(v, int | float)]
        best = (max if self.maximize else min)(child.values) if child.values else None
        try:
            if child.outcome == RunStatus.COMPLETED and best is not None:
                self.study.tell(child.trial, best)
            elif child.terminated and child.values:
                self.study.tell(child.trial, state=TrialState.PRUNED)
            else:
                self.study.tell(child.trial, state=TrialState.FAIL)
        except Exception as exc:
            self.log(f"Optuna refused the result of child {child.number}: {exc}")
        if child.outcome == RunStatus.COMPLETED and best is None:
            note = (
                f"Child {child.number} ({child.run.id}) completed without logging the primary metric {self.metric!r}."
            )
            self.log(note)
            self.notes.append(note)
        self.log(f"Child {child.number} ({child.run.id}) ended {child.outcome}; best {self.metric}: {best}")

    def cancel_child(self, child: _Child, reason: str) -> None:
        child.backend.cancel(child.folder, reason)

    def cancel_live(self, reason: str) -> None:
        for child in self.running():
            with contextlib.suppress(Exception):
                self.cancel_child(child, reason)

    def wait_children(self, seconds: float) -> None:
        end = time.monotonic() + seconds
        while self.live() and time.monotonic() < end:
            self.poll()
            time.sleep(0.2)

    def record_best(self) -> None:
        """v1's parent properties once the sweep ends: the best child's id and its primary metric."""
        done = [c for c in self.children.values() if c.values and c.status == RunStatus.COMPLETED]
        if not done:
            return
        pick = max if self.maximize else min
        best = pick(done, key=lambda c: pick(c.values))
        score = pick(best.values)
        self.ws.store.set_tags(
            self.rf.run_id,
            {T.PROP_PREFIX + "best_child_run_id": best.run.id, T.PROP_PREFIX + "score": repr(score)},
        )


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if len(argv) != 2:
        print(f"usage: python -m {CONTROLLER_MODULE} <workspace_dir> <parent_run_id>", file=sys.stderr)
        return 2
    return SweepController(Path(argv[0]), argv[1]).run()


if __name__ == "__main__":
    sys.exit(main())
