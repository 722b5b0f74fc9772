"""HyperDriveRun: the handle of a sweep's parent run (v1's ``azureml.train.hyperdrive.HyperDriveRun``)."""

from __future__ import annotations

import builtins
import contextlib
import json
import math
from typing import TYPE_CHECKING, Any

from jupyter_amlrun.core.run import Run
from jupyter_amlrun.runtime.errors import refused
from jupyter_amlrun.runtime.status import RunStatus, is_terminal
from jupyter_amlrun.train.hyperdrive.config import PrimaryMetricGoal
from jupyter_amlrun.train.hyperdrive.parameters import HYPERPARAMETERS_TAG

if TYPE_CHECKING:
    from jupyter_amlrun.core.experiment import Experiment

__all__ = ["HyperDriveRun"]


class HyperDriveRun(Run):
    """A sweep: the parent run whose children are the trials.

    ``Experiment.submit(hyperdrive_config)`` returns one; ``Run.get(ws, run_id)`` or ``HyperDriveRun(exp, run_id)``
    re-attach to a running or finished sweep (from another kernel too).

    Parameters
    ----------
    experiment:
        The sweep's experiment.
    run_id:
        The parent run's id.
    hyperdrive_config:
        Accepted for v1 compatibility; the sweep's settings are read from the run.
    """

    RUN_TYPE = "hyperdrive"
    HYPER_DRIVE_RUN_USER_AGENT = "sdk_run_hyper_drive"  # v1's constant; nothing is sent anywhere here

    def __init__(self, experiment: Experiment, run_id: str, hyperdrive_config: Any = None, **kwargs: Any) -> None:
        super().__init__(experiment, run_id, **kwargs)
        self._children_ended = False
        self._hyperdrive_config = hyperdrive_config

    @property
    def hyperdrive_config(self) -> Any:
        """The HyperDriveConfig given when this handle was made (``None`` when re-attached by id: the sweep's
        settings are then read from the run's properties)."""
        return self._hyperdrive_config

    get_diagnostics = refused(
        "HyperDriveRun.get_diagnostics",
        "The sweep's controller log and every trial's logs are local: hd_run.get_all_logs(destination) copies them.",
    )

    # ------------------------------------------------------------------ the sweep's settings
    def _primary(self) -> dict[str, str]:
        raw = self.get_properties().get("primary_metric_config") or "{}"
        try:
            doc = json.loads(raw)
        except ValueError:
            doc = {}
        return {"name": str(doc.get("name", "")), "goal": str(doc.get("goal", "maximize"))}

    @property
    def primary_metric_name(self) -> str:
        """The metric the sweep optimises."""
        return self._primary()["name"]

    def get_primary_metric_goal(self) -> PrimaryMetricGoal:
        """Whether the primary metric is maximized or minimized."""
        return PrimaryMetricGoal.parse(self._primary()["goal"])

    def _maximize(self) -> bool:
        return self.get_primary_metric_goal() == PrimaryMetricGoal.MAXIMIZE

    # ------------------------------------------------------------------ status and cancel
    def get_status(self) -> str:
        """The sweep's status; once it has ended, children it left live (a dead controller) are canceled."""
        status = super().get_status()
        if is_terminal(status) and not self._children_ended:
            self._children_ended = True
            self._end_live_children(f"The sweep {self.id} ended ({status})")
        return status

    def _end_live_children(self, reason: str) -> None:
        # Through each child's backend (a queued Ray child without a driver gets its job stopped too).
        for child in self.get_children():
            with contextlib.suppress(Exception):
                reader = child.reader
                if reader.folder.exists() and not is_terminal(reader.status()):
                    reader.backend().cancel(reader.folder, reason)

    def cancel(self) -> None:
        """Cancel the sweep: every live child is canceled, then the parent reads Canceled."""
        super().cancel()

    # ------------------------------------------------------------------ results
    def _best_of(self, child: Run) -> float | None:
        got = child.get_metrics(name=self.primary_metric_name).get(self.primary_metric_name)
        values = got if isinstance(got, builtins.list) else [got]
        nums = [float(v) for v in values if isinstance(v, int | float) and not isinstance(v, bool)]
        nums = [v for v in nums if math.isfinite(v)]
        if not nums:
            return None
        return max(nums) if self._maximize() else min(nums)

    def get_hyperparameters(self) -> dict[str, dict[str, Any]]:
        """``{child run id: {parameter: value}}`` for every child (values as the script received them)."""
        out: dict[str, dict[str, Any]] = {}
        for child in self.get_children():
            raw = child.record.tags.get(HYPERPARAMETERS_TAG)
            out[child.id] = json.loads(raw) if raw else {}
        return out

    def get_children_sorted_by_primary_metric(
        self, top: int = 0, reverse: bool = False, discard_no_metric: bool = False
    ) -> builtins.list[dict[str, Any]]:
        """Children, best first: ``[{"run_id", "hyperparameters", "best_primary_metric", "status"}]``.

        Parameters
        ----------
        top:
            How many to return (0: all).
        reverse:
            Worst first instead.
        discard_no_metric:
            Leave out children that logged no primary metric (else they come last).
        """
        if isinstance(top, bool) or not isinstance(top, int) or top < 0:
            from jupyter_amlrun.runtime.errors import UserErrorException

            raise UserErrorException(f"top must be an integer >= 0 (0: all children), got {top!r}.")
        rows: builtins.list[dict[str, Any]] = []
        params = self.get_hyperparameters()
        for child in self.get_children():
            best = self._best_of(child)
            if best is None and discard_no_metric:
                continue
            rows.append(
                {
                    "run_id": child.id,
                    "hyperparameters": json.dumps(params.get(child.id, {})),
                    "best_primary_metric": best,
                    "status": child.get_status(),
                }
            )
        sign = -1.0 if self._maximize() else 1.0
        with_metric = sorted(
            (r for r in rows if r["best_primary_metric"] is not None),
            key=lambda r: sign * float(r["best_primary_metric"] or 0.0),
        )
        if reverse:
            with_metric.reverse()
        ordered = with_metric + [r for r in rows if r["best_primary_metric"] is None]
        return ordered[:top] if top else ordered

    def get_best_run_by_primary_metric(
        self, include_failed: bool = True, include_canceled: bool = True, include_resume_from_runs: bool = True
    ) -> Run | None:
        """The child with the best primary metric (``None`` when no child logged it)."""
        for row in self.get_children_sorted_by_primary_metric(discard_no_metric=True):
            if row["status"] == RunStatus.FAILED and not include_failed:
                continue
            if row["status"] == RunStatus.CANCELED and not include_canceled:
                continue
            return Run(self._experiment, row["run_id"])
        return None

    def get_metrics(
        self, name: str | None = None, recursive: bool = False, run_type: str | None = None, populate: bool = False
    ) -> dict[str, Any]:
        """The metrics of every child: ``{child run id: {metric: value(s)}}`` (v1)."""
        return {child.id: child.get_metrics(name=name) for child in self.get_children()}
