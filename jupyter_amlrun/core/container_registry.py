"""v1's ``azureml.core.container_registry``: a registry for a private Docker base image
(``env.docker.base_image_registry``; the password goes to the container engine's login, never to a document)."""

from __future__ import annotations

from typing import Any

from jupyter_amlrun.core.environment import ContainerRegistry
from jupyter_amlrun.core.runconfig_sections import Record


class AzureContainerRegistry(ContainerRegistry):
    """v1's Azure Container Registry record: the same fields as :class:`ContainerRegistry`."""


class RegistryIdentity(Record):
    """A managed identity for pulling images (Azure only): kept as given; local pulls use the engine's login."""

    _FIELDS = ("resource_id", "client_id")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)


__all__ = ["AzureContainerRegistry", "ContainerRegistry", "RegistryIdentity"]
