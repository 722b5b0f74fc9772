"""v1 authentication classes (``azureml.core.authentication``): accepted, noted once, nothing to log in to.

A local workspace is a folder on this machine: it has no Azure identity, no tokens and no service to call. v1 code
builds these objects and passes them as ``auth=`` to ``Workspace(...)``/``Workspace.from_config(...)``; they are
accepted so that code runs unchanged, and the first one made in a process prints one line saying nothing is logged in
to. Asking one for a token is refused (there is none); the authentication header is empty.
"""

from __future__ import annotations

import sys
from typing import Any

from jupyter_amlrun.runtime.errors import refused

_NOTED: set[str] = set()

_NO_TOKEN = (
    "A local workspace has no Azure token. Call the local API directly (the workspace, its MLflow tracking URI "
    "ws.get_mlflow_tracking_uri()), or use azure-identity for real Azure services."
)


def _note(kind: str) -> None:
    """Say once per process that authentication is accepted and unused."""
    if not _NOTED:
        print(
            f"jupyter_amlrun: {kind} accepted; a local workspace has nothing to log in to (no credentials are read, "
            "stored or sent).",
            file=sys.stderr,
        )
    _NOTED.add(kind)


class Audience:
    """v1 token audiences (names only: no token is ever made here)."""

    ARM = "ARM"
    AZUREML = "AZUREML"


class AbstractAuthentication:
    """Base of the v1 authentication classes: accepted and unused by a local workspace.

    Parameters
    ----------
    cloud : str, optional
        Azure cloud name; accepted and ignored.
    """

    def __init__(self, cloud: str | None = None, **kwargs: Any) -> None:
        self.cloud = cloud
        _note(type(self).__name__)

    def get_authentication_header(self) -> dict[str, str]:
        """An empty header: local workspaces take no credentials."""
        return {}

    get_token = refused("AbstractAuthentication.get_token", _NO_TOKEN)

    def signed_session(self, session: Any = None) -> Any:
        """Return ``session`` (or a new ``requests.Session``) unchanged: there is nothing to sign with."""
        if session is None:
            import requests

            session = requests.Session()
        return session

    def __repr__(self) -> str:
        return f"{type(self).__name__}(local: nothing to log in to)"


class InteractiveLoginAuthentication(AbstractAuthentication):
    """v1 interactive (browser/device code) login: accepted, nothing to log in to."""

    def __init__(self, force: bool = False, tenant_id: str | None = None, cloud: str | None = None, **kw: Any):
        super().__init__(cloud)
        self.tenant_id = tenant_id


class AzureCliAuthentication(AbstractAuthentication):
    """v1 ``az login`` credentials: accepted, not read."""


class MsiAuthentication(AbstractAuthentication):
    """v1 managed identity: accepted, not used."""


class ServicePrincipalAuthentication(AbstractAuthentication):
    """v1 service principal: accepted; the secret is not kept on the object, written or sent anywhere."""

    def __init__(
        self,
        tenant_id: str = "",
        service_principal_id: str = "",
        service_principal_password: str = "",
        cloud: str | None = None,
        _enable_caching: bool = True,
        **kwargs: Any,
    ) -> None:
        super().__init__(cloud)
        self.tenant_id = tenant_id
        self.service_principal_id = service_principal_id  # not a secret; the password is dropped on purpose


class TokenAuthentication(AbstractAuthentication):
    """v1 token callback authentication: accepted; the callback is never called."""

    def __init__(self, get_token_for_audience: Any = None, cloud: str | None = None, **kwargs: Any) -> None:
        super().__init__(cloud)


class ArmTokenAuthentication(AbstractAuthentication):
    """v1 ARM access token: accepted; the token is not kept."""

    def __init__(self, arm_access_token: str = "", cloud: str | None = None, **kwargs: Any) -> None:
        super().__init__(cloud)

    def update_arm_access_token(self, new_arm_access_token: str) -> None:
        """Accepted and dropped (nothing uses a token here)."""


class AzureMLTokenAuthentication(AbstractAuthentication):
    """v1 run token authentication (what a submitted run used): accepted; the token is not kept."""

    EXPIRATION_THRESHOLD_IN_SECONDS = 300
    REFRESH_INTERVAL_IN_SECONDS = 30

    def __init__(self, azureml_access_token: str = "", expiry_time: Any = None, *args: Any, **kwargs: Any) -> None:
        super().__init__(kwargs.get("cloud"))
        self._expiry_time = expiry_time

    @staticmethod
    def create(azureml_access_token: str = "", expiry_time: Any = None, *args: Any, **kwargs: Any) -> Any:
        """v1 factory; same as the constructor."""
        return AzureMLTokenAuthentication(azureml_access_token, expiry_time)

    @property
    def expiry_time(self) -> Any:
        """The expiry time given (nothing expires here)."""
        return self._expiry_time

    @property
    def token(self) -> str:
        """Always empty: the token given is not kept."""
        return ""

    def set_token(self, token: str, expiry_time: Any) -> None:
        """Accepted and dropped."""
        self._expiry_time = expiry_time


__all__ = [
    "AbstractAuthentication",
    "ArmTokenAuthentication",
    "Audience",
    "AzureCliAuthentication",
    "AzureMLTokenAuthentication",
    "InteractiveLoginAuthentication",
    "MsiAuthentication",
    "ServicePrincipalAuthentication",
    "TokenAuthentication",
]
