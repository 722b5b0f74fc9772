"""v1's ``azureml.telemetry`` import path and diagnostic logging (``azureml.core.diagnostic_log``).

Telemetry: jupyter_amlrun sends nothing anywhere. v1's switches are accepted so notebooks run unchanged; turning
collection on prints one line saying nothing is sent. ``diagnostic_log`` keeps its local meaning: it captures this
package's log records into a file while it is active.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from types import TracebackType
from typing import Any

from jupyter_amlrun.runtime.errors import UserErrorException

__all__ = [
    "UserErrorException",
    "add_diagnostics_properties",
    "diagnostic_log",
    "get_diagnostics_collection_info",
    "get_diagnostics_properties",
    "get_event_logger",
    "get_telemetry_log_handler",
    "is_diagnostics_collection_info_available",
    "set_diagnostics_collection",
    "set_diagnostics_properties",
]

_NOTHING_SENT = "jupyter_amlrun sends no telemetry or diagnostics anywhere; this setting changes nothing."
_properties: dict[str, Any] = {}


def set_diagnostics_collection(
    send_diagnostics: bool = True, verbosity: Any = None, reason: str = "", path: str | None = None
) -> None:
    """Accepted; nothing is collected or sent. Says so when asked to send."""
    if send_diagnostics:
        print(_NOTHING_SENT)


def get_diagnostics_collection_info(
    component_name: str | None = None, path: str | None = None, proceed_in_hbi_mode: bool = False
) -> tuple[bool, str]:
    """``(False, reason)``: collection is always off here."""
    return False, _NOTHING_SENT


def is_diagnostics_collection_info_available() -> bool:
    """True: the answer (collection off) is always known."""
    return True


def add_diagnostics_properties(properties: dict[str, Any]) -> None:
    """Kept in this process only (readable with :func:`get_diagnostics_properties`); never sent."""
    _properties.update(properties or {})


def set_diagnostics_properties(properties: dict[str, Any]) -> None:
    """Replace the properties kept in this process; never sent."""
    _properties.clear()
    _properties.update(properties or {})


def get_diagnostics_properties() -> dict[str, Any]:
    """The properties set in this process (a copy)."""
    return dict(_properties)


def get_event_logger(*args: Any, **kwargs: Any) -> logging.Logger:
    """A standard logger (``jupyter_amlrun.telemetry``): events go to local logging handlers only."""
    return logging.getLogger("jupyter_amlrun.telemetry")


def get_telemetry_log_handler(
    instrumentation_key: str = "", component_name: str | None = None, path: str | None = None, **kwargs: Any
) -> logging.Handler:
    """A handler that drops records (v1's sent them to Application Insights; nothing is sent here)."""
    return logging.NullHandler()


class diagnostic_log:
    """Capture jupyter_amlrun's log records (DEBUG and up) into a file while active (v1 ``diagnostic_log``).

    Parameters
    ----------
    log_path : str, optional
        The file to write; default ``azureml_sdk.log`` in the current folder (v1's default name).
    namespaces : list of str, optional
        Logger names to capture; default ``["jupyter_amlrun"]``.
    context_name : str, optional
        A label written in the first line.
    """

    def __init__(
        self, log_path: str | None = None, namespaces: list[str] | None = None, context_name: str | None = None
    ) -> None:
        self.log_path = Path(log_path or os.path.join(os.getcwd(), "azureml_sdk.log"))
        self.namespaces = list(namespaces or ["jupyter_amlrun"])
        self.context_name = context_name or "diagnostic_log"
        self._handler: logging.FileHandler | None = None
        self._levels: dict[str, int] = {}

    def start_capture(self) -> None:
        """Start writing records to :attr:`log_path`."""
        if self._handler is not None:
            return
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        handler = logging.FileHandler(self.log_path, encoding="utf-8")
        handler.setFormatter(logging.Formatter("%(asctime)s %(name)s %(levelname)s %(message)s"))
        handler.setLevel(logging.DEBUG)
        for name in self.namespaces:
            logger = logging.getLogger(name)
            self._levels[name] = logger.level
            logger.setLevel(logging.DEBUG)
            logger.addHandler(handler)
        self._handler = handler
        logging.getLogger(self.namespaces[0]).debug("capture started: %s", self.context_name)

    def stop_capture(self) -> None:
        """Stop writing and close the file."""
        if self._handler is None:
            return
        for name in self.namespaces:
            logger = logging.getLogger(name)
            logger.removeHandler(self._handler)
            logger.setLevel(self._levels.get(name, logging.NOTSET))
        self._handler.close()
        self._handler = None

    def __enter__(self) -> diagnostic_log:
        self.start_capture()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop_capture()
