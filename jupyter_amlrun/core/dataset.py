"""v1's ``azureml.core.dataset`` import path: ``from jupyter_amlrun.core.dataset import Dataset``.

Dataset lives in the data layer (jupyter_amlrun.data), above the core; this module only forwards the name for ported
imports and is never used by the core itself, so it loads the data layer lazily, on first access.
"""

from __future__ import annotations

import importlib
from typing import Any

__all__ = ["Dataset"]  # noqa: F822 - resolved lazily by __getattr__


def __getattr__(name: str) -> Any:
    if name == "Dataset":
        return getattr(importlib.import_module("jupyter_amlrun.data.dataset"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
