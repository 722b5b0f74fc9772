"""The ComputeTarget contract: one interface, one backend per kind (local, Ray, ...)."""

from __future__ import annotations

from abc import ABC, abstractmethod
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from jupyter_amlrun.core._runstate import RunFolder
    from jupyter_amlrun.core.runconfig import RunConfiguration
    from jupyter_amlrun.core.workspace import Workspace


class ComputeBackend(ABC):
    """What a compute target must do for a run. Every backend passes ``tests/compute/contract.py``."""

    kind: str = ""

    def __init__(self, workspace: Workspace, name: str, config: dict[str, Any]) -> None:
        self.workspace = workspace
        self.name = name
        self.config = config

    @abstractmethod
    def validate(self, run_config: RunConfiguration) -> None:
        """Raise a clear UserErrorException if this target cannot run ``run_config``."""

    @abstractmethod
    def launch(self, rf: RunFolder) -> dict[str, Any]:
        """Start the run's driver for the run folder ``rf`` (spec.json written); return a handle description."""

    @abstractmethod
    def status(self, rf: RunFolder) -> str:
        """The run's v1 status, noticing a dead driver."""

    @abstractmethod
    def log_sources(self, rf: RunFolder) -> dict[str, Path]:
        """Log files readable while the run is live, by run file name (``logs/...``)."""

    @abstractmethod
    def cancel(self, rf: RunFolder) -> None:
        """Ask the run to stop; its whole process tree must end."""

    @abstractmethod
    def describe(self) -> dict[str, Any]:
        """Plain-data description of the target (type, size, usage)."""
