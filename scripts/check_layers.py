"""The layers check (``make lint``): imports inside jupyter_amlrun only go down, never in a cycle.

Layers, lowest first; a module may import its own layer's package and any lower layer, never a higher one, and
packages that share a layer stay independent of each other:

    _util  <-  tracking  <-  runtime  <-  core  <-  view  <-  compute | data | train | porting
        <-  notebook | server | testing  <-  jupyter_amlrun (public)

``runtime`` holds the run engine's parts that need no v1 model class (errors, states, run folder, snapshots,
environment builds, lifecycle, supervision); ``porting`` is the v1 port tool.

``view`` (what to show of a run) sits above core and below train, so a run type's package (train/hyperdrive) can
provide its own view section; notebook and server draw from it.

Every import counts for the layers: module level, function-local, and ``if TYPE_CHECKING:`` ones (a type-only
import still ties the layers together). Cycles: the layers already forbid any cycle between packages, function-local
imports included; inside a package no cycle of module-level imports is allowed (the import-order hazard). Inside one
package, the v1 facade classes that name each other (Workspace.get_run -> Run, Run.experiment -> Experiment) may close a
loop through a function-local import; ``--graph`` lists those loops so they stay visible.
A private name (``_x``, module or attribute) may only be imported from inside the package that holds it, and a private
attribute (``obj._x``, ``_x`` defined only in other packages) may only be used inside the packages that define it.

``python scripts/check_layers.py --graph`` prints the import graph between packages (and the cycles, if any).
"""

from __future__ import annotations

import ast
import sys
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = "jupyter_amlrun"
LAYERS: list[list[str]] = [
    ["_util"],
    ["tracking"],
    ["runtime"],
    ["core"],
    ["view"],
    ["compute", "data", "train", "porting"],
    ["notebook", "server", "testing"],
]


def module_name(path: Path, root: Path = ROOT) -> str:
    parts = list(path.relative_to(root).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def is_package(path: Path) -> bool:
    return path.name == "__init__.py"


class Import:
    def __init__(self, target: str, name: str | None, line: int, type_only: bool, local: bool) -> None:
        self.target, self.name, self.line, self.type_only, self.local = target, name, line, type_only, local


def _type_checking_test(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def imports_of(path: Path, root: Path = ROOT) -> list[Import]:
    mod = module_name(path, root)
    pkg = mod if is_package(path) else mod.rpartition(".")[0]
    found: list[Import] = []

    def visit(node: ast.AST, type_only: bool, local: bool) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.If) and _type_checking_test(child):
                for stmt in child.body:
                    visit_stmt(stmt, True, local)
                for stmt in child.orelse:
                    visit_stmt(stmt, type_only, local)
                continue
            visit_stmt(child, type_only, local)

    def visit_stmt(node: ast.AST, type_only: bool, local: bool) -> None:
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = pkg.split(".")[: len(pkg.split(".")) - node.level + 1]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            if target == PACKAGE or target.startswith(PACKAGE + "."):
                for alias in node.names:
                    found.append(Import(target, alias.name, node.lineno, type_only, local))
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name == PACKAGE or alias.name.startswith(PACKAGE + "."):
                    found.append(Import(alias.name, None, node.lineno, type_only, local))
        inner = local or isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda)
        visit(node, type_only, inner)

    visit(ast.parse(path.read_text(encoding="utf-8"), str(path)), False, False)
    return found


def top_package(mod: str) -> str:
    parts = mod.split(".")
    return parts[1] if len(parts) > 1 else ""


def layer_of(sub: str) -> int | None:
    for i, names in enumerate(LAYERS):
        if sub in names:
            return i
    return None


def resolve(target: str, name: str | None, modules: set[str]) -> str:
    """``from a.b import c``: the module c when it is one, else a.b."""
    if name and f"{target}.{name}" in modules:
        return f"{target}.{name}"
    return target


def private_owner(target: str, name: str | None, modules: set[str]) -> str | None:
    """The package a private module or name belongs to (importers must be inside it), or None when public."""
    parts = target.split(".")
    for i, part in enumerate(parts):
        if part.startswith("_") and not part.startswith("__"):
            return ".".join(parts[:i])
    if name and name.startswith("_") and not name.startswith("__"):
        full = f"{target}.{name}"
        return target if full in modules else target.rpartition(".")[0] if target not in modules else _pkg(target)
    return None


def _pkg(mod: str) -> str:
    return mod.rpartition(".")[0]


def _private(name: str) -> bool:
    return name.startswith("_") and not name.startswith("__")


def private_names_defined(tree: ast.AST) -> set[str]:
    """Private names a module defines: ``self._x =`` / ``cls._x =``, private functions, methods, classes and
    module-level variables."""
    out: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef) and _private(node.name):
            out.add(node.name)
        elif isinstance(node, ast.Attribute) and isinstance(node.ctx, ast.Store) and _private(node.attr):
            if isinstance(node.value, ast.Name) and node.value.id in ("self", "cls"):
                out.add(node.attr)
        elif isinstance(node, ast.Assign | ast.AnnAssign):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            out.update(t.id for t in targets if isinstance(t, ast.Name) and _private(t.id))
    return out


def private_attribute_uses(tree: ast.AST) -> list[tuple[int, str]]:
    """``obj._x`` where ``obj`` is not ``self``, ``cls`` or ``super()``: (line, ``_x``)."""
    out: list[tuple[int, str]] = []
    for node in ast.walk(tree):
        if not (isinstance(node, ast.Attribute) and _private(node.attr)):
            continue
        value = node.value
        if isinstance(value, ast.Name) and value.id in ("self", "cls"):
            continue
        if isinstance(value, ast.Call) and isinstance(value.func, ast.Name) and value.func.id == "super":
            continue
        out.append((node.lineno, node.attr))
    return out


def check(root: Path = ROOT) -> tuple[list[str], dict[str, set[str]], list[list[str]]]:
    """Return (problems, package graph, function-local loops inside packages)."""
    files = sorted((root / PACKAGE).rglob("*.py"))
    modules = {module_name(f, root) for f in files}
    packages = {module_name(f, root) for f in files if is_package(f)}
    problems: list[str] = []
    module_level: dict[str, set[str]] = defaultdict(set)
    runtime: dict[str, set[str]] = defaultdict(set)
    pkg_graph: dict[str, set[str]] = defaultdict(set)
    for f in files:
        mod = module_name(f, root)
        src_sub = top_package(mod)
        src_layer = layer_of(src_sub) if src_sub else len(LAYERS)
        if src_sub and src_layer is None:
            src_layer = len(LAYERS)  # top-level modules (jupyter_amlrun.opendatasets): the public layer
        own_pkg = mod if mod in packages else _pkg(mod)
        for imp in imports_of(f, root):
            dep = resolve(imp.target, imp.name, modules)
            where = f"{f.relative_to(root)}:{imp.line}"
            dst_sub = top_package(dep)
            dst_layer = layer_of(dst_sub) if dst_sub else len(LAYERS)
            if dst_sub and dst_layer is None:
                dst_layer = len(LAYERS)
            assert src_layer is not None and dst_layer is not None
            if dst_sub != src_sub:
                pkg_graph[src_sub or PACKAGE].add(dst_sub or PACKAGE)
                if dst_layer > src_layer:
                    problems.append(f"{where}: upward import {mod} -> {dep} ({src_sub} must not import {dst_sub})")
                elif dst_layer == src_layer:
                    problems.append(f"{where}: {mod} -> {dep}: {src_sub} and {dst_sub} share a layer; keep them apart")
            owner = private_owner(imp.target, imp.name, modules)
            if owner is not None and not (own_pkg == owner or own_pkg.startswith(owner + ".")):
                shown = f"{imp.target}:{imp.name}" if imp.name else imp.target
                problems.append(f"{where}: {mod} imports the private {shown} from outside {owner}")
            if not imp.type_only and dep != mod and dep not in packages:
                runtime[mod].add(dep)
                if not imp.local:
                    module_level[mod].add(dep)
    problems.extend(private_attribute_problems(files, root))
    for comp in strongly_connected(module_level):
        problems.append("module-level import cycle among: " + ", ".join(comp))
    return problems, pkg_graph, strongly_connected(runtime)


def private_attribute_problems(files: list[Path], root: Path = ROOT) -> list[str]:
    """``obj._x`` used in one package where ``_x`` is defined only in other packages: a private attribute of another
    package's object (``run._folder`` in notebook/). Give it a public read-only accessor, or move the code."""
    trees = {f: ast.parse(f.read_text(encoding="utf-8"), str(f)) for f in files}
    defined: dict[str, set[str]] = defaultdict(set)  # private name -> packages defining it
    for f, tree in trees.items():
        sub = top_package(module_name(f, root)) or PACKAGE
        for name in private_names_defined(tree):
            defined[name].add(sub)
    problems = []
    for f, tree in trees.items():
        sub = top_package(module_name(f, root)) or PACKAGE
        for line, name in private_attribute_uses(tree):
            owners = defined.get(name, set())
            if owners and sub not in owners:
                problems.append(
                    f"{f.relative_to(root)}:{line}: {name} is private to {', '.join(sorted(owners))}; "
                    f"{sub} must use a public accessor"
                )
    return problems


def strongly_connected(graph: dict[str, set[str]]) -> list[list[str]]:
    """Tarjan's algorithm; components with more than one module (or a self-loop) are cycles."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    out: list[list[str]] = []
    counter = [0]
    sys.setrecursionlimit(10000)

    def visit(v: str) -> None:
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph.get(v, ())):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return out


def main(argv: list[str]) -> int:
    problems, pkg_graph, loops = check()
    if "--graph" in argv:
        print("Imports between packages of jupyter_amlrun (every import, type-only included):")
        for src in sorted(pkg_graph):
            print(f"  {src:14} -> {', '.join(sorted(pkg_graph[src]))}")
        print("Loops closed by function-local imports:" if loops else "No loops through function-local imports.")
        for comp in loops:
            print("  " + ", ".join(comp))
    for p in problems:
        print(p)
    if problems:
        print(f"\n{len(problems)} layer problem(s); see the rules at the top of scripts/check_layers.py.")
        return 1
    print("layers: ok")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
