"""The Jupyter server extension: REST handlers over core.

Enabled by ``jupyter_amlrun._jupyter_server_extension_points``.
"""

from __future__ import annotations

from jupyter_amlrun.server.app import AmlrunExtension

__all__ = ["AmlrunExtension"]
