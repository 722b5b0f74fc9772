"""The Jupyter server extension: REST handlers (:mod:`.handlers`) over the service module (:mod:`.service`).

Enabled by ``jupyter_amlrun._jupyter_server_extension_points``. The service imports no jupyter_server (it is tested
without a server), so the extension class is imported on first use.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__all__ = ["AmlrunExtension"]

if TYPE_CHECKING:
    from jupyter_amlrun.server.app import AmlrunExtension


def __getattr__(name: str) -> Any:
    if name == "AmlrunExtension":
        from jupyter_amlrun.server.app import AmlrunExtension

        return AmlrunExtension
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
