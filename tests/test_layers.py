"""The layers check (scripts/check_layers.py, run by ``make lint``): main passes, and each kind of break is caught."""

from __future__ import annotations

import importlib.util
import sys
import textwrap
from pathlib import Path
from types import ModuleType

import pytest

pytestmark = pytest.mark.unit

ROOT = Path(__file__).resolve().parent.parent


def _checker() -> ModuleType:
    spec = importlib.util.spec_from_file_location("check_layers", ROOT / "scripts" / "check_layers.py")
    assert spec and spec.loader
    mod = importlib.util.module_from_spec(spec)
    sys.modules["check_layers"] = mod
    spec.loader.exec_module(mod)
    return mod


def _tree(root: Path, files: dict[str, str]) -> Path:
    for rel, text in {"jupyter_amlrun/__init__.py": "", **files}.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text))
        for parent in path.relative_to(root).parents:
            init = root / parent / "__init__.py"
            if parent.parts and not init.exists():
                init.write_text("")
    return root


def test_the_package_keeps_its_layers() -> None:
    problems, graph, _loops = _checker().check()
    assert problems == []
    # core is below compute, data and the adapters: it names none of them
    assert not graph["core"] & {"compute", "data", "notebook", "server", "testing"}
    assert "core" not in graph["tracking"]


def test_upward_imports_are_caught_even_inside_functions_and_type_checking(tmp_path: Path) -> None:
    root = _tree(
        tmp_path,
        {
            "jupyter_amlrun/core/a.py": """
                from typing import TYPE_CHECKING
                if TYPE_CHECKING:
                    from jupyter_amlrun.data.x import X
                def f():
                    from jupyter_amlrun.compute import local
            """,
            "jupyter_amlrun/data/x.py": "X = 1\n",
            "jupyter_amlrun/compute/local.py": "",
            "jupyter_amlrun/tracking/t.py": "import jupyter_amlrun.core.a\n",
        },
    )
    problems, _graph, _loops = _checker().check(root)
    text = "\n".join(problems)
    assert "core/a.py:4: upward import" in text and "core must not import data" in text
    assert "core/a.py:6: upward import" in text and "core must not import compute" in text
    assert "tracking must not import core" in text
    assert len(problems) == 3


def test_siblings_private_names_and_cycles_are_caught(tmp_path: Path) -> None:
    root = _tree(
        tmp_path,
        {
            "jupyter_amlrun/compute/c.py": "from jupyter_amlrun.data.d import public\n",
            "jupyter_amlrun/data/d.py": "public = 1\n",
            "jupyter_amlrun/core/p.py": "from jupyter_amlrun.core._hidden import thing\nfrom . import q\n",
            "jupyter_amlrun/core/q.py": "from jupyter_amlrun.core import p\n",
            "jupyter_amlrun/core/_hidden.py": "thing = 1\n",
            "jupyter_amlrun/notebook/n.py": "from jupyter_amlrun.core._hidden import thing\n",
        },
    )
    problems, _graph, _loops = _checker().check(root)
    text = "\n".join(problems)
    assert "compute and data share a layer" in text
    assert "notebook.n imports the private jupyter_amlrun.core._hidden" in text
    assert "module-level import cycle among: jupyter_amlrun.core.p, jupyter_amlrun.core.q" in text
    assert "core.p imports the private" not in text  # inside its own package a private module is fine
    assert len(problems) == 3


def test_private_attributes_of_another_packages_objects_are_caught(tmp_path: Path) -> None:
    root = _tree(
        tmp_path,
        {
            "jupyter_amlrun/core/run.py": """
                class Run:
                    def __init__(self):
                        self._folder = 1
                    @property
                    def folder(self):
                        return self._folder
                def helper(run):
                    return run._folder  # the package that defines _folder may use it
            """,
            "jupyter_amlrun/notebook/w.py": """
                def show(run, other):
                    other._mine = 2
                    return run._folder, run.folder, other._mine, super().__init__
            """,
            "jupyter_amlrun/notebook/x.py": """
                class W:
                    def __init__(self):
                        self._mine = 1
            """,
        },
    )
    problems, _graph, _loops = _checker().check(root)
    assert problems == [
        "jupyter_amlrun/notebook/w.py:4: _folder is private to core; notebook must use a public accessor"
    ]
