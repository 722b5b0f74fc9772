"""v1's ``azureml.core.compute_target``: the legacy (pre-ComputeTarget) target API.

``LocalTarget`` is this machine (``"local"``); the legacy attach/prepare functions are refused with the current API.
"""

from __future__ import annotations

from typing import Any

from jupyter_amlrun.runtime.errors import ComputeTargetException, refused

_LEGACY = (
    "Use ComputeTarget.create(ws, name, AmlCompute.provisioning_configuration(max_nodes=N)) or compute_target='local'."
)


class AbstractComputeTarget:
    """A legacy compute target: a name and a type."""

    _TYPE = "abstract"

    def __init__(self, name: str = "local", **kwargs: Any) -> None:
        self._name = name

    @property
    def name(self) -> str:
        return self._name

    @property
    def type(self) -> str:
        return self._TYPE

    @staticmethod
    def deserialize_from_dict(compute_target_name: str, compute_target_dict: dict[str, Any]) -> AbstractComputeTarget:
        """A legacy target from its dict; only ``local`` exists here."""
        if str(compute_target_dict.get("type", "local")).lower() != "local":
            _legacy_target(compute_target_dict.get("type"))
        return LocalTarget(compute_target_name)

    def __str__(self) -> str:
        return self._name


class LocalTarget(AbstractComputeTarget):
    """This machine (v1 ``LocalTarget``); ``str(LocalTarget())`` is ``"local"``, accepted as a compute target."""

    _TYPE = "local"

    def __init__(self, name: str = "local", **kwargs: Any) -> None:
        super().__init__(name)


_legacy_target = refused("AbstractComputeTarget.deserialize_from_dict", _LEGACY)
attach_legacy_compute_target = refused("attach_legacy_compute_target", _LEGACY)
remove_legacy_compute_target = refused("remove_legacy_compute_target", _LEGACY)
prepare_compute_target = refused(
    "prepare_compute_target", "Environments are built when a run starts (and cached); nothing to prepare ahead."
)
is_compute_target_prepared = refused(
    "is_compute_target_prepared", "Environments are built when a run starts (and cached); nothing to prepare ahead."
)

__all__ = [
    "AbstractComputeTarget",
    "ComputeTargetException",  # v1 notebooks import it from here
    "LocalTarget",
    "attach_legacy_compute_target",
    "is_compute_target_prepared",
    "prepare_compute_target",
    "remove_legacy_compute_target",
]
