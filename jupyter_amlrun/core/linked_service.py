"""v1's Synapse linked services (out of scope): importable, and any use says what to do instead."""

from jupyter_amlrun.runtime.errors import refused_class

_INSTEAD = "Synapse links are Azure-only; register a datastore for the data (Datastore.register_azure_blob_container)."

LinkedService = refused_class("LinkedService", _INSTEAD, __name__)
SynapseWorkspaceLinkedServiceConfiguration = refused_class(
    "SynapseWorkspaceLinkedServiceConfiguration", _INSTEAD, __name__
)

__all__ = ["LinkedService", "SynapseWorkspaceLinkedServiceConfiguration"]
