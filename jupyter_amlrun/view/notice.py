"""What JupyterLab's notice says when a run ends (``labextension/src/notify.ts`` shows it): the text and the kind of
notice (JupyterLab's Notification types), decided here so the front end picks no wording and no colour."""

from __future__ import annotations

from typing import TypedDict

from jupyter_amlrun.runtime.status import RunStatus, is_terminal
from jupyter_amlrun.view.model import status_view

__all__ = ["EndNotice", "end_notice"]

# The final status -> JupyterLab's Notification type (success, error, warning, info).
NOTICE_KIND: dict[str, str] = {
    RunStatus.COMPLETED: "success",
    RunStatus.FAILED: "error",
    RunStatus.CANCELED: "warning",
}


class EndNotice(TypedDict):
    """A run's notice: ``terminal`` says whether it ended; ``message`` and ``kind`` are what to show then."""

    run_id: str
    terminal: bool
    status: str
    kind: str
    message: str
    action: str  # the label of the action that opens the run view


def end_notice(run_id: str, name: str, experiment: str, status: str) -> EndNotice:
    """The notice of run ``run_id`` (display name ``name``) in ``experiment`` with status ``status``."""
    label = status_view(status)["label"]
    return {
        "run_id": run_id,
        "terminal": is_terminal(status),
        "status": status,
        "kind": NOTICE_KIND.get(status, "info"),
        "message": f"Run {name or run_id} ({experiment}) ended: {label}.",
        "action": "Open run",
    }
