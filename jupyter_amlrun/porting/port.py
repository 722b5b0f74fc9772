"""Port Azure ML SDK v1 notebooks and scripts: rewrite ``azureml`` imports to ``jupyter_amlrun`` and report.

``jupyter amlrun port PATH...`` and ``%amlrun port PATH...`` call :func:`port_paths`. What it does to a file:

- ``import azureml.X.Y`` / ``from azureml.X.Y import ...`` become ``jupyter_amlrun.X.Y`` (the mirrored module; see
  :func:`mapped_module`), or, where that module does not hold the names yet, the module that does (the same fallback
  rules as the v1 coverage tool). Only the module name of the statement changes; the rest of the line is kept byte
  for byte.
- Uses of the root ``azureml`` bound by a plain ``import azureml.core`` (``azureml.core.VERSION``) are rewritten and
  reported as uses.
- Notebook lines that pip-install ``azureml-*`` are commented out (or lose their ``azureml-*`` arguments when they
  install other packages too), and reported: jupyter_amlrun provides those packages.

Nothing else changes. The report lists every change, every v1 call the project refuses (with what to use instead),
every v1 name it does not have, every environment pin the build will check and every ``azureml-*`` package it will
skip, and every cell or file that could not be parsed (such a file is left as it is). A second run changes nothing.
The module imports without Jupyter; IPython (a dependency) turns notebook magics into Python before parsing.
"""

from __future__ import annotations

import argparse
import ast
import difflib
import importlib
import io
import json
import os
import re
import shlex
import shutil
import tempfile
import tokenize
import typing
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from jupyter_amlrun.runtime.errors import UserErrorException, refusal_of

__all__ = [
    "FileReport",
    "Finding",
    "PortReport",
    "fallback_modules",
    "locate",
    "mapped_module",
    "port_parser",
    "port_paths",
    "port_python",
    "run_port",
]

V1_ROOT = "azureml"
OUR_ROOT = "jupyter_amlrun"

# v1 package prefix -> our modules tried (after the mirrored module) before the top-level package. The same rules
# as ../shared/tools/v1_coverage.py, which measures what a port gets: keep the two in step.
SUBMODULES: dict[str, list[str]] = {
    "azureml.train.hyperdrive": ["jupyter_amlrun.train.hyperdrive"],
    "azureml.opendatasets": ["jupyter_amlrun.opendatasets"],
    "azureml.tensorboard": ["jupyter_amlrun.tensorboard"],
    "azureml.exceptions": ["jupyter_amlrun.exceptions"],
    "azureml.widgets": ["jupyter_amlrun.widgets", "jupyter_amlrun"],
    "azureml.telemetry": ["jupyter_amlrun.telemetry"],
}

#: Finding kinds. The first group is what the port changed; ``ATTENTION`` kinds make the exit status non-zero.
CHANGE_KINDS = ("import", "use", "pip")
ATTENTION = ("refused", "missing", "unparsable", "error")
NOTE_KINDS = ("skip", "pin", "note")

# Cell magics whose body is Python run in the notebook's namespace, and those whose body is a file of its own.
_PY_CELL_MAGICS = {"time", "timeit", "capture", "prun"}
_FILE_CELL_MAGICS = {"writefile", "file", "submit"}
_SKIP_DIRS = {".ipynb_checkpoints", "__pycache__", "node_modules", "site-packages", ".git", ".venv", "venv"}
_PIP_LINE = re.compile(
    r"^(?P<indent>[ \t]*)(?P<prefix>[!%]?)[ \t]*"
    r"(?P<cmd>(?:(?:\{sys\.executable\}|\S*python[0-9.]*)[ \t]+-m[ \t]+)?pip3?|conda)[ \t]+install\b(?P<args>.*)$"
)
# pip/conda options that take a value (the value is not a package).
_OPTS_WITH_VALUE = {
    "-r", "--requirement", "-c", "--constraint", "-e", "--editable", "-i", "--index-url", "--extra-index-url",
    "-f", "--find-links", "-t", "--target", "--prefix", "--root", "--upgrade-strategy", "--trusted-host",
    "--progress-bar", "--python-version", "--platform", "--implementation", "--abi", "--src", "-n", "--name",
    "-p", "--channel", "--cache-dir", "--log",
}  # fmt: skip
_MARK = "amlrun port"
# An edit is made only where the parsed line is the file's own line, on one line.
_UNPLACED = "the name is split over lines, or IPython rewrote the line (an indented cell); edit it by hand"


# ---------------------------------------------------------------------------------------------------- the mapping
def mapped_module(v1_module: str) -> str:
    """The mirrored module of a v1 module: ``azureml.X.Y`` -> ``jupyter_amlrun.X.Y`` (``azureml`` -> the package)."""
    if v1_module == V1_ROOT:
        return OUR_ROOT
    if v1_module.startswith(V1_ROOT + "."):
        return OUR_ROOT + v1_module[len(V1_ROOT) :]
    return v1_module


def fallback_modules(v1_module: str) -> list[str]:
    """Where a name of ``v1_module`` is looked for, in order, when the mirrored module lacks it."""
    out: list[str] = []
    for prefix, mods in SUBMODULES.items():
        if v1_module == prefix or v1_module.startswith(prefix + "."):
            out.extend(mods)
    out.append(OUR_ROOT)
    return [m for m in dict.fromkeys(out) if m != mapped_module(v1_module)]


_MISSING = object()
_module_cache: dict[str, Any] = {}
_index: dict[str, str] | None = None


def _import(module: str) -> Any:
    """The module, or None when it does not import (cached; an error inside the module counts as absent)."""
    if module not in _module_cache:
        try:
            _module_cache[module] = importlib.import_module(module)
        except Exception:
            _module_cache[module] = None
    return _module_cache[module]


def _member(module: str, name: str) -> Any:
    """``module.name`` (an attribute or a submodule), or ``_MISSING``."""
    mod = _import(module)
    if mod is None:
        return _MISSING
    try:
        return getattr(mod, name)
    except AttributeError:
        pass
    except Exception:
        return _MISSING
    sub = _import(f"{module}.{name}")
    return _MISSING if sub is None else sub


def _name_index() -> dict[str, str]:
    """Public name -> the module of jupyter_amlrun that defines it (the coverage tool's last resort)."""
    global _index
    if _index is None:
        import pkgutil

        # By name, like every lookup here: the port resolves v1 names against the whole package at run time.
        root = _import(OUR_ROOT)
        _index = {}
        for info in pkgutil.walk_packages(root.__path__, OUR_ROOT + "."):
            parts = info.name.split(".")[1:]
            if any(p.startswith("_") for p in parts) or parts[0] == "testing":
                continue
            mod = _import(info.name)
            for n, obj in vars(mod or object()).items():
                if not n.startswith("_") and str(getattr(obj, "__module__", "")).startswith(OUR_ROOT):
                    _index.setdefault(n, info.name)
    return _index


def _best_module(v1_module: str, names: list[str]) -> str:
    """When no module holds every name: the candidate that holds the most (the mirrored module on a tie or none)."""
    candidates = [mapped_module(v1_module), *fallback_modules(v1_module)]
    counts = [sum(_member(m, n) is not _MISSING for n in names) for m in candidates]
    return candidates[counts.index(max(counts))] if max(counts) else candidates[0]


def _star_module(v1_module: str) -> str:
    """Where ``from v1_module import *`` should come from: the first candidate that exports names (``__all__``)."""
    for module in [mapped_module(v1_module), *fallback_modules(v1_module)]:
        if getattr(_import(module), "__all__", None):
            return module
    return mapped_module(v1_module)


def locate(v1_module: str, names: Iterable[str]) -> str | None:
    """The one module of ours that holds every name of ``names`` for the v1 module ``v1_module``, or None.

    The mirrored module first, then :func:`fallback_modules`, then the module that defines the name (one name only).
    ``names`` empty: whether the mirrored module itself imports.
    """
    wanted = list(names)
    mirrored = mapped_module(v1_module)
    if not wanted:
        return mirrored if _import(mirrored) is not None else None
    for module in [mirrored, *fallback_modules(v1_module)]:
        if all(_member(module, n) is not _MISSING for n in wanted):
            return module
    if len(wanted) == 1 and wanted[0] in _name_index():
        return _name_index()[wanted[0]]
    return None


# ---------------------------------------------------------------------------------------------------- report types
@dataclass
class Finding:
    """One line of the report."""

    kind: str  # import | use | pip (changes); refused | missing | unparsable | error (attention); skip | pin | note
    where: str  # "line 12" or "cell 4, line 2"
    message: str

    @property
    def attention(self) -> bool:
        return self.kind in ATTENTION


@dataclass
class FileReport:
    """What the port did to one file."""

    path: Path
    dest: Path | None = None
    status: str = "unchanged"  # changed | unchanged | unparsable | error | environment
    backup: Path | None = None
    findings: list[Finding] = field(default_factory=list)

    @property
    def attention(self) -> bool:
        return any(f.attention for f in self.findings)

    @property
    def changes(self) -> list[Finding]:
        return [f for f in self.findings if f.kind in CHANGE_KINDS]


@dataclass
class PortReport:
    """The report of one ``port`` call: a :class:`FileReport` per file, in the order visited."""

    files: list[FileReport] = field(default_factory=list)
    dry_run: bool = False

    @property
    def attention(self) -> bool:
        """Whether anything needs a person: a refused call, a missing name, an unparsable cell, an error."""
        return any(f.attention for f in self.files)

    @property
    def exit_code(self) -> int:
        """0: nothing needs attention; 1: something does (see the report)."""
        return 1 if self.attention else 0

    def format(self) -> str:
        """The report as text, one line per finding, files in the order visited."""
        lines: list[str] = []
        changed = [f for f in self.files if f.status == "changed"]
        ported = [f for f in self.files if f.status != "environment"]
        verb = "would change" if self.dry_run else "changed"
        for fr in self.files:
            head = f"{fr.path}: "
            if fr.status == "changed":
                head += f"{verb}" + (f" -> {fr.dest}" if fr.dest and fr.dest != fr.path else "")
                if fr.backup:
                    head += f" (backup: {fr.backup})"
            elif fr.status == "unchanged":
                head += "nothing to change" + (f" ({fr.dest} is up to date)" if fr.dest and fr.dest != fr.path else "")
            elif fr.status == "unparsable":
                head += "NOT CHANGED: could not be parsed (fix the cells below and run port again)"
            elif fr.status == "environment":
                head += "environment file (read, not changed)"
            else:
                head += "NOT CHANGED: error"
            lines.append(head)
            for f in sorted(fr.findings, key=_position):
                tag = {"refused": "REFUSED", "missing": "NOT AVAILABLE", "unparsable": "CANNOT PARSE", "error": "ERROR"}
                where = f"{f.where}: " if f.where else ""
                lines.append(f"  {where}{tag.get(f.kind, f.kind)}: {f.message}")
        n_att = sum(1 for f in self.files for x in f.findings if x.attention)
        summary = f"{len(ported)} notebook(s)/script(s), {len(changed)} {verb}"
        if not changed:
            summary += ": nothing to change (already ported)" if self.files else ""
        summary += f"; {n_att} finding(s) need attention" if n_att else "; nothing needs attention"
        lines.append(summary)
        return "\n".join(lines)


def _position(f: Finding) -> tuple[int, ...]:
    """Sort key: cell and line numbers in the order of the file; findings without a line last."""
    m = re.match(r"^(?:cell (\d+), )?line (\d+)$", f.where)
    if m:
        return (0, int(m.group(1) or 0), int(m.group(2)))
    m = re.match(r"^cell (\d+)", f.where)
    return (0, int(m.group(1)), 0) if m else (1,)


# ---------------------------------------------------------------------------------------------------- helpers
def _lines(text: str) -> list[str]:
    """Lines with their ends kept; only \\n, \\r\\n and \\r end a line (like the tokenizer)."""
    return io.StringIO(text, newline="").readlines()


def _char_col(line: str, byte_col: int) -> int:
    """ast columns count UTF-8 bytes; edits need characters."""
    return len(line.encode("utf-8")[:byte_col].decode("utf-8", errors="ignore"))


def _dotted(node: ast.AST) -> list[str] | None:
    """``a.b.c`` as ["a", "b", "c"], else None."""
    parts: list[str] = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if isinstance(node, ast.Name):
        parts.append(node.id)
        return parts[::-1]
    return None


def _is_ours(module: str) -> bool:
    return module == OUR_ROOT or module.startswith(OUR_ROOT + ".")


def _is_v1(module: str) -> bool:
    return module == V1_ROOT or module.startswith(V1_ROOT + ".")


@dataclass
class _Edit:
    row: int  # 0-based line of the original text
    start: int  # character columns on that line
    end: int
    new: str


@dataclass
class _Segment:
    """Python text of one cell (or one file) and how its lines map back to the original text."""

    where: Any  # callable(row_in_original_text) -> "cell 4, line 2"
    orig_lines: list[str]  # the original text's lines (a cell, or a file)
    py_lines: list[str]  # the Python the tree was parsed from
    row_map: dict[int, int]  # 0-based py row -> 0-based original row (identical lines only)
    tree: ast.Module
    offset: int = 0  # rows before the segment in orig_lines (a cell magic's first line)
    indent: str = ""  # the indentation IPython removed from every line of an indented cell

    def shift(self, orow: int) -> int:
        """Columns to add on original row ``orow`` (the indentation IPython removed)."""
        return len(self.indent) if self.indent and self.orig_lines[orow].startswith(self.indent) else 0


class _Unit:
    """One namespace: a script, or a notebook's cells together (a %%writefile cell is a unit of its own)."""

    def __init__(self) -> None:
        self.bindings: dict[str, tuple[str, Any]] = {}  # name -> ("object"|"instance", value)
        self.plain_v1_modules: set[str] = set()  # `import azureml.core` (binds azureml)


# ---------------------------------------------------------------------------------------------------- parsing
def _transform(cell: str) -> str:
    """IPython's own transformation of a cell into Python (magics, ! lines, ? help)."""
    from IPython.core.inputtransformer2 import TransformerManager

    # A bare `pip install x` works in IPython through automagic; give the transformer the explicit form.
    pre = "".join(
        ("%" + ln.lstrip()) if re.match(r"^[ \t]*(pip3?|conda)[ \t]+install\b", ln) else ln for ln in _lines(cell)
    )
    return TransformerManager().transform_cell(pre)


def _parse(py: str, name: str) -> ast.Module:
    flags = ast.PyCF_ONLY_AST | ast.PyCF_ALLOW_TOP_LEVEL_AWAIT
    tree = compile(py, name, "exec", flags=flags, dont_inherit=True)
    assert isinstance(tree, ast.Module)
    return tree


def _row_map(py_lines: list[str], orig_lines: list[str]) -> dict[int, int]:
    """Map rows of the transformed text to rows of the original that are the same line."""
    a = [ln.rstrip("\r\n") for ln in py_lines]
    b = [ln.rstrip("\r\n") for ln in orig_lines]
    out: dict[int, int] = {}
    for block in difflib.SequenceMatcher(None, a, b, autojunk=False).get_matching_blocks():
        for k in range(block.size):
            out[block.a + k] = block.b + k
    return out


# ---------------------------------------------------------------------------------------------------- one unit
class _Porter:
    """Computes the edits and findings of one file."""

    def __init__(self, base_dir: Path) -> None:
        self.base_dir = base_dir
        self.findings: list[Finding] = []
        self.edits: dict[Any, list[_Edit]] = {}  # key (cell index or None) -> edits on that text
        self.env_files: set[Path] = set()  # environment files the code names (reported here, not again)
        self.written_files: set[str] = set()  # files written by %%writefile cells

    def add(self, kind: str, where: str, message: str) -> None:
        self.findings.append(Finding(kind, where, message))

    # ------------------------------------------------------------------ imports
    def imports(self, unit: _Unit, seg: _Segment, key: Any) -> None:
        for node in ast.walk(seg.tree):
            if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                self._import_from(unit, seg, key, node)
            elif isinstance(node, ast.Import):
                for alias in node.names:
                    self._import(unit, seg, key, node, alias)

    def _tokens(self, seg: _Segment, node: ast.stmt) -> list[tuple[tokenize.TokenInfo, int, int]]:
        """Tokens of a statement with (py row, char col) starts."""
        lineno, end_lineno = node.lineno - 1, (node.end_lineno or node.lineno) - 1
        first = seg.py_lines[lineno]
        start = _char_col(first, node.col_offset)
        last = seg.py_lines[end_lineno]
        end = _char_col(last, node.end_col_offset or len(last))
        if lineno == end_lineno:
            snippet = first[start:end]
        else:
            snippet = first[start:] + "".join(seg.py_lines[lineno + 1 : end_lineno]) + last[:end]
        out = []
        for tok in tokenize.generate_tokens(io.StringIO(snippet).readline):
            if tok.type in (tokenize.NAME, tokenize.OP):
                r, c = tok.start
                out.append((tok, lineno + r - 1, c + (start if r == 1 else 0)))
        return out

    def _span_edit(self, seg: _Segment, key: Any, toks: list[tuple[tokenize.TokenInfo, int, int]], new: str) -> bool:
        """Replace the dotted name spanned by ``toks`` with ``new``; False when it cannot be placed safely."""
        (_, row0, col0), (t1, row1, col1) = toks[0], toks[-1]
        if row0 != row1 or row0 not in seg.row_map:
            return False
        orow = seg.row_map[row0]
        end = col1 + (t1.end[1] - t1.start[1])
        sh = seg.shift(orow)
        if seg.orig_lines[orow][col0 + sh : end + sh] != seg.py_lines[row0][col0:end]:
            return False
        self.edits.setdefault(key, []).append(_Edit(orow + seg.offset, col0 + sh, end + sh, new))
        return True

    def _dotted_tokens(
        self, toks: list[tuple[tokenize.TokenInfo, int, int]], i: int
    ) -> list[tuple[tokenize.TokenInfo, int, int]]:
        """The NAME ('.' NAME)* run starting at toks[i]."""
        run = [toks[i]]
        j = i + 1
        while j + 1 < len(toks) and toks[j][0].string == "." and toks[j + 1][0].type == tokenize.NAME:
            run += [toks[j], toks[j + 1]]
            j += 2
        return run

    def _import_from(self, unit: _Unit, seg: _Segment, key: Any, node: ast.ImportFrom) -> None:
        module = node.module or ""
        where = seg.where(node.lineno - 1)
        names = [a.name for a in node.names if a.name != "*"]
        if _is_ours(module):
            for a in node.names:
                if a.name != "*":
                    self._bind_checked(unit, where, module, a, v1=None)
            return
        if not _is_v1(module):
            return
        target = locate(module, names) or _best_module(module, names)
        if any(a.name == "*" for a in node.names):
            target = _star_module(module)
        toks = self._tokens(seg, node)
        i = next((k for k, (t, _, _) in enumerate(toks) if t.type == tokenize.NAME and t.string == V1_ROOT), None)
        listed = ", ".join(a.name + (f" as {a.asname}" if a.asname else "") for a in node.names)
        old = f"from {module} import"
        if i is None or not self._span_edit(seg, key, self._dotted_tokens(toks, i), target):
            self.add("error", where, f"`{old} ...` not rewritten: {_UNPLACED}")
            return
        note = "" if target == mapped_module(module) else f" (not in {mapped_module(module)} yet)"
        self.add("import", where, f"{old} {listed} -> from {target} import {listed}{note}")
        for a in node.names:
            if a.name == "*":
                if _import(target) is None:
                    self.add("missing", where, f"{module}: jupyter_amlrun has no module {target}")
                continue
            self._bind_checked(unit, where, target, a, v1=module)

    def _bind_checked(self, unit: _Unit, where: str, module: str, alias: ast.alias, v1: str | None) -> None:
        obj = _member(module, alias.name)
        shown = f"{v1 or module}.{alias.name}"
        if obj is _MISSING:
            mod_ok = _import(module) is not None
            why = f"{module} has no {alias.name}" if mod_ok else f"there is no module {module}"
            self.add("missing", where, f"{shown}: {why} (jupyter_amlrun does not provide it)")
            return
        unit.bindings[alias.asname or alias.name] = ("object", obj)
        instead = refusal_of(obj)
        if instead is not None:
            self.add("refused", where, f"{shown}: {instead}")

    def _import(self, unit: _Unit, seg: _Segment, key: Any, node: ast.Import, alias: ast.alias) -> None:
        module = alias.name
        where = seg.where(node.lineno - 1)
        if _is_ours(module):
            mod = _import(module)
            if mod is None:
                self.add("missing", where, f"import {module}: there is no module {module}")
            elif alias.asname:
                unit.bindings[alias.asname] = ("object", mod)
            else:
                unit.bindings[OUR_ROOT] = ("object", _import(OUR_ROOT))
            return
        if not _is_v1(module):
            return
        target = mapped_module(module)
        toks = self._tokens(seg, node)
        # the alias's own tokens: find the dotted run that spells this module
        start = None
        for k, (t, _, _) in enumerate(toks):
            if t.string == V1_ROOT:
                run = self._dotted_tokens(toks, k)
                if ".".join(x[0].string for x in run if x[0].string != ".") == module:
                    start = run
                    break
        if start is None or not self._span_edit(seg, key, start, target):
            self.add("error", where, f"`import {module}` not rewritten: {_UNPLACED}")
            return
        asname = f" as {alias.asname}" if alias.asname else ""
        self.add("import", where, f"import {module}{asname} -> import {target}{asname}")
        mod = _import(target)
        if mod is None:
            self.add(
                "missing", where, f"import {module}: there is no module {target} (jupyter_amlrun does not have it)"
            )
            return
        if alias.asname:
            unit.bindings[alias.asname] = ("object", mod)
        else:
            unit.plain_v1_modules.add(module)

    # ------------------------------------------------------------------ uses of a plain `import azureml...`
    def uses(self, unit: _Unit, seg: _Segment, key: Any) -> None:
        if not unit.plain_v1_modules:
            return
        parents: dict[ast.AST, ast.AST] = {}
        for node in ast.walk(seg.tree):
            for child in ast.iter_child_nodes(node):
                parents[child] = node
        for node in ast.walk(seg.tree):
            if not (isinstance(node, ast.Name) and node.id == V1_ROOT and isinstance(node.ctx, ast.Load)):
                continue
            # the whole attribute chain azureml.a.b.c
            top: ast.AST = node
            while isinstance(parents.get(top), ast.Attribute):
                top = parents[top]
            chain = _dotted(top) or [V1_ROOT]
            where = seg.where(node.lineno - 1)
            # the longest imported module the chain starts with; the next part is the name used
            modules = [m for m in unit.plain_v1_modules if chain[: len(m.split("."))] == m.split(".")]
            module = max(modules, key=len) if modules else V1_ROOT
            depth = len(module.split("."))
            # `import azureml` then `azureml.core.VERSION`: the module part goes on while it names a module of ours
            while depth + 1 < len(chain) and _import(mapped_module(".".join(chain[: depth + 1]))) is not None:
                depth += 1
                module = ".".join(chain[:depth])
            name = chain[depth] if len(chain) > depth else None
            target = mapped_module(module)
            if name is not None:
                target = locate(module, [name]) or target
            # replace the module part of the chain (azureml.core) by where the name is
            mod_node: ast.expr = node
            for _ in range(depth - 1):
                parent = parents[mod_node]
                assert isinstance(parent, ast.Attribute)
                mod_node = parent
            row = node.lineno - 1
            if (mod_node.end_lineno or row + 1) - 1 != row or row not in seg.row_map:
                self.add("error", where, f"use of {'.'.join(chain)} not rewritten: {_UNPLACED}")
                continue
            line = seg.py_lines[row]
            start, end = _char_col(line, node.col_offset), _char_col(line, mod_node.end_col_offset or 0)
            old_text = line[start:end]
            if re.sub(r"\s+", "", old_text) != module:
                self.add("error", where, f"use of {'.'.join(chain)} not rewritten; edit it by hand")
                continue
            sh = seg.shift(seg.row_map[row])
            self.edits.setdefault(key, []).append(_Edit(seg.row_map[row] + seg.offset, start + sh, end + sh, target))
            shown = ".".join(chain)
            self.add("use", where, f"{shown} -> {target}{shown[len(module) :]}")
            if name is not None and _member(target, name) is _MISSING:
                self.add("missing", where, f"{module}.{name}: jupyter_amlrun does not provide it")
            elif name is not None:
                obj = _member(target, name)
                self._chain(where, f"{module}.{name}", obj, chain[depth + 1 :], is_instance=False)
        return

    # ------------------------------------------------------------------ refused and missing names
    def calls(self, unit: _Unit, seg: _Segment) -> None:
        """Attribute chains rooted at imported names (and simple instances of them): refused or missing members."""
        inner = {id(n.value) for n in ast.walk(seg.tree) if isinstance(n, ast.Attribute)}
        for node in _walk_in_order(seg.tree):
            if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
                cls = self._value_type(unit, node.value)
                if cls is not None:
                    unit.bindings[node.targets[0].id] = ("instance", cls)
                elif node.targets[0].id in unit.bindings and unit.bindings[node.targets[0].id][0] == "instance":
                    del unit.bindings[node.targets[0].id]  # rebound to something we cannot follow
            if not isinstance(node, ast.Attribute) or id(node) in inner or not isinstance(node.ctx, ast.Load):
                continue  # the whole chain a.b.c once, not a.b again; assignments are the code's own
            chain = _dotted(node)
            if not chain or chain[0] not in unit.bindings or chain[0] in (V1_ROOT,):
                continue
            kind, value = unit.bindings[chain[0]]
            self._chain(seg.where(node.lineno - 1), chain[0], value, chain[1:], is_instance=kind == "instance")

    def _chain(self, where: str, shown: str, obj: Any, attrs: list[str], is_instance: bool) -> None:
        for attr in attrs:
            label = f"{getattr(obj, '__name__', shown) if is_instance else shown}.{attr}"
            try:
                nxt = getattr(obj, attr)
            except AttributeError:
                # Attributes of instances may be set in __init__: only classes and modules are known to lack one.
                if not is_instance:
                    self.add("missing", where, f"{label}: jupyter_amlrun does not provide it")
                return
            except Exception:
                return
            instead = refusal_of(nxt)
            if instead is not None:
                self.add("refused", where, f"{label}: {instead}")
                return
            obj, shown, is_instance = nxt, label, False
            if not (isinstance(obj, type) or hasattr(obj, "__path__") or type(obj).__name__ == "module"):
                return  # a value: its attributes are the value's business

    def _value_type(self, unit: _Unit, value: ast.AST) -> type | None:
        """The class of ``Class(...)`` or ``Class.factory(...)`` (by its return annotation), else None."""
        if not isinstance(value, ast.Call):
            return None
        chain = _dotted(value.func)
        if not chain or chain[0] not in unit.bindings:
            return None
        kind, obj = unit.bindings[chain[0]]
        for attr in chain[1:]:
            obj = getattr(obj, attr, None)
            if obj is None:
                return None
        if isinstance(obj, type) and len(chain) == 1 and kind == "object":
            return obj
        if callable(obj) and not isinstance(obj, type):
            try:
                ret = typing.get_type_hints(obj).get("return")
            except Exception:
                # A forward reference to a class imported only for type checking: find it by name.
                ann = getattr(obj, "__annotations__", {}).get("return")
                name = ann.strip("'\" ") if isinstance(ann, str) else ""
                ret = _member(_name_index()[name], name) if name.isidentifier() and name in _name_index() else None
            return ret if isinstance(ret, type) and str(getattr(ret, "__module__", "")).startswith(OUR_ROOT) else None
        return None

    # ------------------------------------------------------------------ environment pins
    def pins_in_code(self, seg: _Segment) -> None:
        for node in ast.walk(seg.tree):
            if not isinstance(node, ast.Call):
                continue
            where = seg.where(node.lineno - 1)
            for kw in node.keywords:
                if kw.arg in ("pip_packages", "conda_packages") and isinstance(kw.value, ast.List | ast.Tuple):
                    for elt in kw.value.elts:
                        if isinstance(elt, ast.Constant) and isinstance(elt.value, str):
                            self.requirement(where, elt.value, conda=kw.arg == "conda_packages")
            func = node.func
            fname = func.attr if isinstance(func, ast.Attribute) else func.id if isinstance(func, ast.Name) else ""
            first = node.args[0] if node.args else None
            is_add = fname in ("add_pip_package", "add_conda_package")
            if is_add and isinstance(first, ast.Constant) and isinstance(first.value, str):
                self.requirement(where, first.value, conda=fname == "add_conda_package")
            if fname in ("from_pip_requirements", "from_conda_specification"):
                arg = next((k.value for k in node.keywords if k.arg == "file_path"), None)
                arg = arg if arg is not None else (node.args[1] if len(node.args) > 1 else None)
                if isinstance(arg, ast.Constant) and isinstance(arg.value, str):
                    self.env_file_ref(where, arg.value)

    def env_file_ref(self, where: str, name: str) -> None:
        path = (self.base_dir / name).resolve()
        if path.is_file():
            self.env_files.add(path)
            self.env_file(path, where_prefix=f"{where}: {name}")
        elif name not in self.written_files and Path(name).name not in self.written_files:
            self.add("note", where, f"{name}: not found next to the file; its pins are not checked here")

    def env_file(self, path: Path, where_prefix: str | None = None) -> None:
        """Report the azureml-* packages and exact pins of a conda .yml or a requirements .txt."""
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            self.add("note", path.name if where_prefix is None else where_prefix, f"cannot read {path.name}: {exc}")
            return
        self.env_text(text, path.name, path.name if where_prefix is None else where_prefix)

    def env_text(self, text: str, name: str, where: str) -> None:
        if name.endswith((".yml", ".yaml")):
            import yaml

            try:
                spec = yaml.safe_load(text)
            except yaml.YAMLError as exc:
                self.add("note", where, f"not a readable YAML file ({str(exc).splitlines()[0]})")
                return
            if not isinstance(spec, dict) or not isinstance(spec.get("dependencies"), list):
                return
            for dep in spec["dependencies"]:
                if isinstance(dep, str):
                    self.requirement(where, dep, conda=True)
                elif isinstance(dep, dict) and isinstance(dep.get("pip"), list):
                    for p in dep["pip"]:
                        if isinstance(p, str):
                            self.requirement(where, p, conda=False)
        else:
            for ln in text.splitlines():
                ln = ln.split(" #", 1)[0].strip()
                if ln and not ln.startswith(("#", "-")):
                    self.requirement(where, ln, conda=False)

    def requirement(self, where: str, spec: str, conda: bool) -> None:
        name, pinned, version = _classify(spec, conda)
        if name is None:
            return
        if name == "azureml" or name.startswith("azureml-"):
            extra = " (azureml-mlflow brings mlflow)" if name == "azureml-mlflow" else ""
            self.add("skip", where, f"{spec.strip()}: skipped, jupyter_amlrun provides it{extra}")
        elif conda and name == "python" and version:
            self.add("pin", where, f"{spec.strip()}: runs on the kernel's Python; a different version is a warning")
        elif pinned:
            self.add("pin", where, f"{spec.strip()}: pinned: checked at build (the pin policy picks the nearest)")

    # ------------------------------------------------------------------ pip lines in notebooks
    def pip_lines(self, key: Any, cell_lines: list[str], where: Any) -> None:
        for row, line in enumerate(cell_lines):
            body = line.rstrip("\r\n")
            m = _PIP_LINE.match(body)
            if not m or (m.group("cmd") == "conda" and not m.group("prefix")):
                continue
            try:
                args = shlex.split(m.group("args"), comments=True)
            except ValueError:
                continue
            pkgs, skip = [], False
            for a in args:
                if skip:
                    skip = False
                    continue
                if a.startswith("-"):
                    skip = a in _OPTS_WITH_VALUE
                    continue
                pkgs.append(a)
            azure = [p for p in pkgs if (_classify(p, False)[0] or "").startswith("azureml")]
            if not azure:
                continue
            keep = [p for p in pkgs if p not in azure]
            names = ", ".join(azure)
            if not keep:
                indent = m.group("indent")
                stripped = body[len(indent) :]
                if indent:  # the only statement of a block must stay a statement
                    new = f"{indent}pass  # {_MARK}: {stripped}  (jupyter_amlrun provides {names})"
                else:
                    new = f"# {stripped}  # {_MARK}: jupyter_amlrun provides {names}"
                msg = "commented out"
            else:
                new = body
                for p in azure:
                    new = re.sub(r"[ \t]+(['\"]?)" + re.escape(p) + r"\1(?=\s|$|#)", "", new, count=1)
                new += f"  # {_MARK}: removed {names} (jupyter_amlrun provides them)"
                msg = f"removed {names}, kept {', '.join(keep)}"
            self.edits.setdefault(key, []).append(_Edit(row, 0, len(body), new))
            self.add("pip", where(row), f"`{body.strip()}`: {msg}: jupyter_amlrun provides {names}")


def _classify(spec: str, conda: bool) -> tuple[str | None, bool, str | None]:
    """(normalised name, exact pin?, version) of a pip or conda requirement; name None when it is not one."""
    s = spec.strip()
    if not s or s.startswith(("-", "#", "git+", "http:", "https:", "file:", ".", "/")):
        return None, False, None
    if conda:
        s = s.split("::", 1)[-1]
        m = re.match(r"^([A-Za-z0-9_.\-]+)\s*(==?|>=|<=|>|<|!=|~=)?\s*([^\s,]*)", s)
        if not m:
            return None, False, None
        name, op, ver = m.group(1).lower(), m.group(2), m.group(3) or None
        exact = op in ("=", "==") and bool(ver) and "*" not in (ver or "")
        return name.replace("_", "-"), exact, ver
    from packaging.requirements import InvalidRequirement, Requirement

    try:
        req = Requirement(s)
    except InvalidRequirement:
        m = re.match(r"^([A-Za-z0-9_.\-]+)", s)
        return (m.group(1).lower().replace("_", "-"), False, None) if m else (None, False, None)
    pins = [sp for sp in req.specifier if sp.operator in ("==", "===") and "*" not in sp.version]
    return req.name.lower().replace("_", "-"), bool(pins), pins[0].version if pins else None


def _walk_in_order(tree: ast.AST) -> Iterator[ast.AST]:
    """Nodes in source order (assignments before the uses below them)."""

    def key(n: Any) -> tuple[int, int, int]:
        return (n.lineno, n.col_offset, -((n.end_lineno or 0) * 10000 + (n.end_col_offset or 0)))

    return iter(sorted((n for n in ast.walk(tree) if hasattr(n, "lineno")), key=key))


def _apply(lines: list[str], edits: list[_Edit]) -> list[str]:
    out = list(lines)
    for e in sorted(edits, key=lambda e: (e.row, e.start), reverse=True):
        ln = out[e.row]
        out[e.row] = ln[: e.start] + e.new + ln[e.end :]
    return out


# ---------------------------------------------------------------------------------------------------- files
def port_python(text: str, name: str = "<script>", base_dir: Path | None = None) -> tuple[str, list[Finding]]:
    """Port one Python source: (new text, findings). Unparsable: the text unchanged and an ``unparsable`` finding."""
    porter = _Porter(base_dir or Path.cwd())
    lines = _lines(text)
    try:
        tree = _parse(text, name)
    except SyntaxError as exc:
        porter.add("unparsable", f"line {exc.lineno or '?'}", f"{exc.msg}; nothing changed in this file")
        return text, porter.findings
    seg = _Segment(lambda r: f"line {r + 1}", lines, lines, {i: i for i in range(len(lines))}, tree)
    unit = _Unit()
    _run_unit(porter, unit, [(None, seg)])
    new = "".join(_apply(lines, porter.edits.get(None, [])))
    return new, sorted(porter.findings, key=_position)


def _run_unit(porter: _Porter, unit: _Unit, segs: list[tuple[Any, _Segment]]) -> None:
    for key, seg in segs:
        porter.imports(unit, seg, key)
    for key, seg in segs:
        porter.uses(unit, seg, key)
    for _key, seg in segs:
        porter.calls(unit, seg)
        porter.pins_in_code(seg)


def _cell_source(cell: dict[str, Any]) -> str:
    src = cell.get("source", "")
    return "".join(src) if isinstance(src, list) else str(src)


def port_notebook(raw: str, name: str, base_dir: Path) -> tuple[str, list[Finding]]:
    """Port a notebook's JSON text: (new JSON text, findings); only the changed source lines differ."""
    porter = _Porter(base_dir)
    try:
        nb = json.loads(raw)
    except json.JSONDecodeError as exc:
        porter.add("unparsable", f"line {exc.lineno}", f"not a notebook: invalid JSON ({exc.msg})")
        return raw, porter.findings
    if not isinstance(nb, dict) or not isinstance(nb.get("cells"), list):
        fmt = nb.get("nbformat") if isinstance(nb, dict) else None
        hint = " (convert it: jupyter nbconvert --to notebook --nbformat 4)" if fmt == 3 else ""
        porter.add("unparsable", "", f"not an nbformat 4 notebook{hint}")
        return raw, porter.findings
    lang = str(((nb.get("metadata") or {}).get("kernelspec") or {}).get("language") or "python")
    if lang.lower() != "python":
        porter.add("note", "", f"a {lang} notebook: only Python notebooks are ported; nothing changed")
        return raw, porter.findings

    main = _Unit()
    main_segs: list[tuple[Any, _Segment]] = []
    file_units: list[tuple[_Unit, list[tuple[Any, _Segment]]]] = []
    broken = False
    for idx, cell in enumerate(nb["cells"]):
        if not isinstance(cell, dict) or cell.get("cell_type") != "code":
            continue
        src = _cell_source(cell)
        lines = _lines(src)

        def where(r: int, _i: int = idx) -> str:
            return f"cell {_i + 1}, line {r + 1}"

        first = lines[0].strip() if lines else ""
        magic = re.match(r"^%%\s*(\w+)\s*(.*)$", first)
        if magic and magic.group(1) in _FILE_CELL_MAGICS:
            target = magic.group(2).split()[-1] if magic.group(2).split() else ""
            body = lines[1:]
            porter.written_files.add(Path(target).name)
            if magic.group(1) == "submit" or target.endswith(".py"):
                seg = _parse_segment(porter, "".join(body), body, where, idx, offset=1, transform=False)
                if seg is None:
                    broken = True
                else:
                    file_units.append((_Unit(), [(idx, seg)]))
            elif target.endswith((".yml", ".yaml", ".txt")):
                porter.env_text("".join(body), target, f"cell {idx + 1}: {target}")
            continue
        if magic and magic.group(1) not in _PY_CELL_MAGICS:
            continue  # %%bash, %%html, ...: not Python
        porter.pip_lines(idx, lines, where)
        if magic:
            seg = _parse_segment(porter, "".join(lines[1:]), lines[1:], where, idx, offset=1, transform=True)
        else:
            seg = _parse_segment(porter, src, lines, where, idx, offset=0, transform=True)
        if seg is None:
            broken = True
        else:
            main_segs.append((idx, seg))
    if broken:
        bad = [f for f in porter.findings if f.kind == "unparsable"]
        return raw, bad
    _run_unit(porter, main, main_segs)
    for unit, segs in file_units:
        _run_unit(porter, unit, segs)
    if not porter.edits:
        return raw, sorted(porter.findings, key=_position)

    new_sources: dict[int, str] = {}
    for idx, edits in porter.edits.items():
        lines = _lines(_cell_source(nb["cells"][idx]))
        new_sources[idx] = "".join(_apply(lines, edits))
    return _write_json(raw, nb, new_sources, porter), sorted(porter.findings, key=_position)


def _parse_segment(
    porter: _Porter, text: str, orig: list[str], where: Any, idx: int, offset: int, transform: bool
) -> _Segment | None:
    try:
        py = _transform(text) if transform else text
        tree = _parse(py, f"cell {idx + 1}")
    except SyntaxError as exc:
        row = (exc.lineno or 1) - 1 + offset
        porter.add("unparsable", where(row), f"{exc.msg}; nothing changed in this notebook")
        return None
    except Exception as exc:  # IPython's transformer on odd input
        porter.add("unparsable", where(offset), f"{type(exc).__name__}: {exc}; nothing changed in this notebook")
        return None
    py_lines = _lines(py)
    # IPython removes the first line's indentation from every line of an indented cell: compare without it.
    first = next((ln for ln in orig if ln.strip()), "")
    indent = first[: len(first) - len(first.lstrip(" \t"))] if transform else ""
    bare = [ln[len(indent) :] if indent and ln.startswith(indent) else ln for ln in orig]
    rows = _row_map(py_lines, bare) if transform else {i: i for i in range(len(orig))}

    def seg_where(r: int) -> str:
        return str(where(rows.get(r, r) + offset))

    return _Segment(seg_where, orig, py_lines, rows, tree, offset, indent)


def _write_json(raw: str, nb: dict[str, Any], new_sources: dict[int, str], porter: _Porter) -> str:
    """Replace only the changed source strings in the JSON text; reformat the notebook only if that fails."""
    expected = json.loads(raw)
    replacements: list[tuple[str, str]] = []
    for idx in sorted(new_sources):
        cell = expected["cells"][idx]
        old_src = cell["source"]
        new = new_sources[idx]
        if isinstance(old_src, list):
            new_list = _lines(new)
            if len(new_list) == len(old_src) and "".join(old_src) == _cell_source(nb["cells"][idx]):
                for a, b in zip(old_src, new_list, strict=True):
                    if a != b:
                        replacements.append((a, b))
                cell["source"] = new_list
                continue
            cell["source"] = new_list
            replacements.append(("\0", "\0"))  # force the fallback
        else:
            replacements.append((old_src, new))
            cell["source"] = new
    out = _replace_strings(raw, replacements)
    if out is not None:
        try:
            if json.loads(out) == expected:
                return out
        except json.JSONDecodeError:
            pass
    porter.add("note", "", "the notebook's JSON layout could not be kept; it was rewritten in nbformat's layout")
    return json.dumps(expected, indent=1, sort_keys=True, ensure_ascii=False) + "\n"


_JSON_STRING = re.compile(r'"(?:[^"\\]|\\.)*"', re.S)


def _replace_strings(raw: str, pairs: list[tuple[str, str]]) -> str | None:
    """Replace, in document order, the JSON string literals that decode to each old value."""
    parts: list[str] = []
    pos = 0
    for old, new in pairs:
        for m in _JSON_STRING.finditer(raw, pos):
            try:
                value = json.loads(m.group(0))
            except json.JSONDecodeError:
                continue
            if value == old:
                ascii_only = m.group(0).isascii() and not old.isascii()
                parts.append(raw[pos : m.start()])
                parts.append(json.dumps(new, ensure_ascii=ascii_only))
                pos = m.end()
                break
        else:
            return None
    parts.append(raw[pos:])
    return "".join(parts)


# ---------------------------------------------------------------------------------------------------- paths
def _targets(paths: list[Path], out: Path | None) -> Iterator[tuple[Path, Path]]:
    """(file, its path relative to the output folder) for the notebooks and scripts under ``paths``."""
    out_resolved = out.resolve() if out else None
    for p in paths:
        if p.is_file():
            yield p, Path(p.name)
        elif p.is_dir():
            for dirpath, dirnames, filenames in os.walk(p):
                here = Path(dirpath)
                dirnames[:] = sorted(
                    d
                    for d in dirnames
                    if d not in _SKIP_DIRS
                    and not d.startswith(".")
                    and (out_resolved is None or (here / d).resolve() != out_resolved)
                )
                for f in sorted(filenames):
                    if f.endswith((".ipynb", ".py")):
                        yield here / f, Path(p.name) / (here / f).relative_to(p)


def _env_siblings(folder: Path) -> list[Path]:
    found = []
    for f in sorted(folder.iterdir()):
        if f.is_file() and (
            f.suffix in (".yml", ".yaml") or (f.name.startswith("requirements") and f.suffix == ".txt")
        ):
            found.append(f)
    return found


def _backup_path(path: Path) -> Path:
    candidate = path.with_name(path.name + ".bak")
    n = 1
    while candidate.exists():
        candidate = path.with_name(f"{path.name}.bak{n}")
        n += 1
    return candidate


def _write_atomic(path: Path, data: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as fh:
            fh.write(data)
        if path.exists():
            shutil.copymode(path, tmp)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def port_paths(
    paths: Iterable[str | os.PathLike[str]],
    out: str | os.PathLike[str] | None = None,
    backup: bool = True,
    dry_run: bool = False,
) -> PortReport:
    """Port the notebooks (.ipynb) and scripts (.py) at ``paths`` (folders recurse) and report.

    Parameters
    ----------
    paths : iterable of str or PathLike
        Files and folders. Folders are searched recursively (hidden folders, checkpoints and virtualenvs skipped).
    out : str or PathLike, optional
        Write the ported files under this folder (a folder argument keeps its name and layout) and leave the sources
        untouched. Default: rewrite in place.
    backup : bool
        In place: copy a changed file to ``<name>.bak`` (``.bak1``, ... when that exists) before writing it.
    dry_run : bool
        Report what would change; write nothing.

    Returns
    -------
    PortReport
        ``format()`` is the text report; ``exit_code`` is 1 when something needs attention.

    Raises
    ------
    UserErrorException
        A path does not exist, or ``out`` is one of the source folders.
    """
    plist = [Path(p) for p in paths]
    if not plist:
        raise UserErrorException("port needs at least one notebook, script or folder: port PATH [PATH ...]")
    for p in plist:
        if not p.exists():
            raise UserErrorException(f"{p}: no such file or folder. Give notebooks (.ipynb), scripts (.py) or folders.")
    out_dir = Path(out) if out is not None else None
    if out_dir is not None and any(out_dir.resolve() == p.resolve() for p in plist if p.is_dir()):
        raise UserErrorException(f"--out {out_dir} is a source folder; give another folder (or leave --out off).")
    report = PortReport(dry_run=dry_run)
    seen_env: set[Path] = set()
    dests: dict[Path, Path] = {}
    for path, rel in _targets(plist, out_dir):
        dest = (out_dir / rel) if out_dir else None
        if dest is not None and dest.resolve() in dests:
            other = dests[dest.resolve()]
            msg = f"--out would write {dest} twice (also from {other}); port their folders instead, or one at a time"
            report.files.append(FileReport(path=path, dest=dest, status="error", findings=[Finding("error", "", msg)]))
            continue
        if dest is not None:
            dests[dest.resolve()] = path
        report.files.append(_port_file(path, dest, backup, dry_run))
        # The environment files next to it (once per folder): read, reported, never changed.
        folder = path.parent.resolve()
        if folder not in seen_env:
            seen_env.add(folder)
            for env in _env_siblings(path.parent):
                porter = _Porter(path.parent)
                porter.env_file(env, where_prefix="")
                if porter.findings:
                    report.files.append(FileReport(path=env, status="environment", findings=porter.findings))
    return report


def _port_file(path: Path, dest: Path | None, backup: bool, dry_run: bool) -> FileReport:
    fr = FileReport(path=path, dest=dest)
    try:
        raw_bytes = path.read_bytes()
        raw = raw_bytes.decode("utf-8-sig" if raw_bytes.startswith(b"\xef\xbb\xbf") else "utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        fr.status = "error"
        fr.findings.append(Finding("error", "", f"cannot read it as UTF-8 text: {exc}"))
        return fr
    bom = "\ufeff" if raw_bytes.startswith(b"\xef\xbb\xbf") else ""
    if path.suffix == ".ipynb":
        new, findings = port_notebook(raw, path.name, path.parent)
    else:
        new, findings = port_python(raw, path.name, path.parent)
    fr.findings = findings
    if any(f.kind == "unparsable" for f in findings):
        fr.status = "unparsable"
        return fr
    changed = new != raw
    if dest is not None and dest.is_file() and dest.read_bytes() == (bom + new).encode("utf-8"):
        changed = False  # already ported into --out: nothing to write
        fr.status = "unchanged"
        return fr
    fr.status = "changed" if changed else "unchanged"
    if dry_run:
        return fr
    try:
        if dest is not None:
            _write_atomic(dest, bom + new)
        elif changed:
            if backup:
                fr.backup = _backup_path(path)
                shutil.copy2(path, fr.backup)
            _write_atomic(path.resolve(), bom + new)  # through a symlink: the file it points to
    except OSError as exc:
        fr.status = "error"
        fr.findings.append(Finding("error", "", f"cannot write: {exc}; the source is unchanged"))
    return fr


# ---------------------------------------------------------------------------------------------------- command line
def port_parser(prog: str = "jupyter amlrun port") -> argparse.ArgumentParser:
    """The arguments of ``jupyter amlrun port`` and ``%amlrun port`` (one parser for both)."""
    parser = argparse.ArgumentParser(
        prog=prog,
        description=(
            "Rewrite the azureml imports of Azure ML SDK v1 notebooks (.ipynb) and scripts (.py) to jupyter_amlrun "
            "(folders are searched recursively) and report: the lines changed, the v1 calls jupyter_amlrun "
            "refuses (with what to use instead), the v1 names it does not have, the azureml-* packages and exact "
            "pins of the environments, and the cells that could not be parsed (such a file is left as it is). "
            "Running it again changes nothing."
        ),
        epilog=(
            "Exit status: 0 when nothing needs attention; 1 when the report has REFUSED, NOT AVAILABLE, "
            "CANNOT PARSE or ERROR lines; 2 for bad arguments."
        ),
    )
    parser.add_argument("paths", nargs="+", metavar="PATH", help="notebooks, scripts or folders")
    parser.add_argument("--out", metavar="FOLDER", help="write the ported files here; leave the sources untouched")
    parser.add_argument("--no-backup", action="store_true", help="in place: keep no <file>.bak copy")
    parser.add_argument("--dry-run", action="store_true", help="report what would change; write nothing")
    return parser


def run_port(argv: list[str], prog: str = "jupyter amlrun port") -> tuple[str, int]:
    """Parse ``argv`` (what follows ``port``) and port: (report text, exit status).

    Raises
    ------
    SystemExit
        Bad arguments (argparse prints the usage), status 2.
    UserErrorException
        A path that does not exist, or ``--out`` is a source folder.
    """
    args = port_parser(prog).parse_args(argv)
    report = port_paths(args.paths, out=args.out, backup=not args.no_backup, dry_run=args.dry_run)
    return report.format(), report.exit_code
