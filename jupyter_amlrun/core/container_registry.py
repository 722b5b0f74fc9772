"""v1's ``azureml.core.container_registry``: registry records for Docker base images (used by a local engine)."""

from __future__ import annotations

from typing import Any

from jupyter_amlrun.core.runconfig_sections import ContainerRegistry, Record


class RegistryIdentity(Record):
    """A managed identity for pulling images (Azure only): kept as given; local pulls use the engine's login."""

    _FIELDS = ("resource_id", "client_id")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)


__all__ = ["ContainerRegistry", "RegistryIdentity"]
