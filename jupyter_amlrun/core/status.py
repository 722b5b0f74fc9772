"""The v1 run status strings and how they map onto MLflow's coarse run status."""

from __future__ import annotations


class RunStatus:
    """v1 status strings, in transition order."""

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

    @classmethod
    def list(cls) -> list[str]:
        return [
            cls.NOT_STARTED,
            cls.QUEUED,
            cls.PREPARING,
            cls.STARTING,
            cls.RUNNING,
            cls.CANCEL_REQUESTED,
            cls.FINALIZING,
            cls.COMPLETED,
            cls.FAILED,
            cls.CANCELED,
        ]


TERMINAL_STATUSES = frozenset({RunStatus.COMPLETED, RunStatus.FAILED, RunStatus.CANCELED})

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


def is_terminal(status: str) -> bool:
    """Return True for Completed, Failed and Canceled."""
    return status in TERMINAL_STATUSES
