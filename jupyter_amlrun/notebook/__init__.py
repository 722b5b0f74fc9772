"""Notebook adapters: the ``%%submit`` / ``%submit`` / ``%amlrun`` magics and the ``RunDetails`` widget.

Nothing here holds business logic: the magics build a ``ScriptRunConfig`` and submit it through core, and the widget
draws what :mod:`jupyter_amlrun.view.watch` reads.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__all__ = ["AmlRunMagics", "RunDetails", "load_ipython_extension", "unload_ipython_extension"]

if TYPE_CHECKING:
    from jupyter_amlrun.notebook.magics import AmlRunMagics, load_ipython_extension, unload_ipython_extension
    from jupyter_amlrun.notebook.widget import RunDetails


def __getattr__(name: str) -> Any:
    # Lazy: importing the package must not pull in anywidget or IPython's magic machinery.
    if name == "RunDetails":
        from jupyter_amlrun.notebook.widget import RunDetails

        return RunDetails
    if name in ("AmlRunMagics", "load_ipython_extension", "unload_ipython_extension"):
        from jupyter_amlrun.notebook import magics

        return getattr(magics, name)
    raise AttributeError(f"module 'jupyter_amlrun.notebook' has no attribute {name!r}")
