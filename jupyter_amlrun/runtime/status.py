"""The v1 run status and how it maps onto MLflow's coarse run status."""

from __future__ import annotations

from enum import Enum
from typing import TYPE_CHECKING

from jupyter_amlrun.runtime import tags as T

if TYPE_CHECKING:
    from jupyter_amlrun.tracking.store import RunRecord


class RunStatus(str, Enum):
    """A v1 run status; members compare equal to their strings (``RunStatus.RUNNING == "Running"``)."""

    NOT_STARTED = "NotStarted"
    QUEUED = "Queued"
    PREPARING = "Preparing"
    STARTING = "Starting"
    RUNNING = "Running"
    CANCEL_REQUESTED = "CancelRequested"
    FINALIZING = "Finalizing"
    COMPLETED = "Completed"
    FAILED = "Failed"
    CANCELED = "Canceled"

    def __str__(self) -> str:  # the v1 string in f-strings, tags and logs, not "RunStatus.RUNNING"
        return str(self.value)

    def is_terminal(self) -> bool:
        """True for Completed, Failed and Canceled."""
        return self in _TERMINAL

    @property
    def mlflow_status(self) -> str:
        """MLflow's coarse status for this v1 status."""
        return MLFLOW_STATUS[self]

    @classmethod
    def list(cls) -> list[str]:
        """Every v1 status string, in transition order."""
        return [m.value for m in cls]

    @classmethod
    def parse(cls, value: str | None, default: RunStatus | None = None) -> RunStatus:
        """The member for ``value``; an unknown or missing value gives ``default`` (else ValueError)."""
        try:
            return cls(value)
        except ValueError:
            if default is None:
                raise ValueError(f"{value!r} is not a run status; one of {cls.list()}") from None
            return default


_TERMINAL = frozenset({RunStatus.COMPLETED, RunStatus.FAILED, RunStatus.CANCELED})
TERMINAL_STATUSES = frozenset(s.value for s in _TERMINAL)

# MLflow only knows RUNNING/SCHEDULED/FINISHED/FAILED/KILLED; the v1 status rides beside it as a tag.
MLFLOW_STATUS = {
    RunStatus.NOT_STARTED: "SCHEDULED",
    RunStatus.QUEUED: "SCHEDULED",
    RunStatus.PREPARING: "SCHEDULED",
    RunStatus.STARTING: "SCHEDULED",
    RunStatus.RUNNING: "RUNNING",
    RunStatus.CANCEL_REQUESTED: "RUNNING",
    RunStatus.FINALIZING: "RUNNING",
    RunStatus.COMPLETED: "FINISHED",
    RunStatus.FAILED: "FAILED",
    RunStatus.CANCELED: "KILLED",
}

# For runs written by plain MLflow (no v1 tag): the best v1 reading of their status.
FROM_MLFLOW_STATUS = {
    "SCHEDULED": RunStatus.QUEUED,
    "RUNNING": RunStatus.RUNNING,
    "FINISHED": RunStatus.COMPLETED,
    "FAILED": RunStatus.FAILED,
    "KILLED": RunStatus.CANCELED,
}


def is_terminal(status: str | None) -> bool:
    """Return True for Completed, Failed and Canceled (members or their strings)."""
    return status in TERMINAL_STATUSES


def status_of(rec: RunRecord) -> str:
    """The status a run's record holds (its ``STATUS`` tag, else MLflow's own status)."""
    return rec.tags.get(T.STATUS) or FROM_MLFLOW_STATUS.get(rec.mlflow_status, RunStatus.RUNNING).value
