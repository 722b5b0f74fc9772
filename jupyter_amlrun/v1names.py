"""The refused v1 names, read from the code: ``python -m jupyter_amlrun.v1names [--write]``.

Importing every public module fills :data:`jupyter_amlrun.runtime.errors.REFUSED` (each refusal registers itself where
it is defined); this renders it as the markdown table of docs/v1-surface.md, so the docs cannot drift from the code
(a test compares them). ``--write`` replaces the table between the markers in docs/v1-surface.md.
"""

from __future__ import annotations

import importlib
import pkgutil
import sys
from pathlib import Path

BEGIN = "<!-- refused:begin (generated: python -m jupyter_amlrun.v1names --write) -->"
END = "<!-- refused:end -->"


def load_all() -> dict[str, str]:
    """Import every public module of the package; returns the refused v1 names -> what to use instead."""
    from jupyter_amlrun.runtime.errors import REFUSED

    for info in pkgutil.walk_packages([str(Path(__file__).resolve().parent)], "jupyter_amlrun."):
        if any(part.startswith("_") for part in info.name.split(".")[1:]):
            continue
        if info.name.startswith(("jupyter_amlrun.server", "jupyter_amlrun.testing")):
            continue
        importlib.import_module(info.name)
    return dict(REFUSED)


def refused_markdown() -> str:
    """The refused names as a markdown table between the markers (sorted by name)."""
    rows = [BEGIN, "| v1 name | Instead |", "|---|---|"]
    for name, instead in sorted(load_all().items(), key=lambda kv: kv[0].lower()):
        cell = instead.replace("|", "\\|")
        rows.append(f"| `{name}` | {cell} |")
    rows.append(END)
    return "\n".join(rows)


def write(docs: Path) -> None:
    """Replace the generated table in ``docs`` (between the markers)."""
    text = docs.read_text(encoding="utf-8")
    start, end = text.index(BEGIN), text.index(END) + len(END)
    docs.write_text(text[:start] + refused_markdown() + text[end:], encoding="utf-8")


if __name__ == "__main__":
    if "--write" in sys.argv:
        write(Path(__file__).resolve().parent.parent / "docs" / "v1-surface.md")
    else:
        print(refused_markdown())
