"""Run-type sections: what a kind of run adds to its view (a sweep parent: its children's sampled values, primary
metric and early ends, drawn as the sweep section).

A run type registers a :class:`RunSection` under the value of its ``azureml.runsource`` property, the way compute
backends register with :mod:`jupyter_amlrun.core.registry`: built-ins as ``"module:Class"`` strings imported on first
use (so this layer imports no run-type package), others through the entry-point group ``jupyter_amlrun.run_sections``
or :func:`register_section`. HyperDrive's section lives with HyperDrive (``train/hyperdrive/section.py``): core and
view know none of its tag names.
"""

from __future__ import annotations

import abc
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, ClassVar

from jupyter_amlrun.core.registry import Registry, UnknownKindError

if TYPE_CHECKING:
    from jupyter_amlrun.core.reader import RunReader
    from jupyter_amlrun.view.model import SweepView

__all__ = ["RUN_SOURCE", "RunSection", "register_section", "section_for", "sections"]

RUN_SOURCE = "azureml.runsource"  # the v1 property that names a run's type (its section's key)


class RunSection(abc.ABC):
    """What one run of a registered type adds to its view.

    Parameters
    ----------
    properties:
        The run's properties (v1 ``get_properties()``); the section reads its settings from them.
    """

    run_type: ClassVar[str] = ""

    def __init__(self, properties: Mapping[str, str]) -> None:
        self.properties = dict(properties)

    @abc.abstractmethod
    def child_fields(self, child: RunReader) -> dict[str, Any]:
        """Fields added to each child's entry in the watcher's children (plain JSON-ready values)."""

    @abc.abstractmethod
    def children_view(self, children: Sequence[Mapping[str, Any]]) -> SweepView | None:
        """The section's view of the children (with the fields of :meth:`child_fields`); ``None``: nothing to add."""


sections: Registry[RunSection] = Registry(
    "run view section",
    "jupyter_amlrun.run_sections",
    RunSection,  # type: ignore[type-abstract]
    {"hyperdrive": "jupyter_amlrun.train.hyperdrive.section:SweepSection"},
)


def register_section(run_type: str, target: str | type[RunSection]) -> None:
    """Add the section of ``run_type`` (the runs' ``azureml.runsource`` property): a class or ``"module:Class"``."""
    sections.register(run_type, target)


def section_for(properties: Mapping[str, str]) -> RunSection | None:
    """The section of a run with these properties, ``None`` for a run type without one."""
    run_type = properties.get(RUN_SOURCE)
    if not run_type:
        return None
    try:
        cls = sections.load(run_type)
    except UnknownKindError:
        return None
    return cls(properties)
