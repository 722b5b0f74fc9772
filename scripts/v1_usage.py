"""Rank the v1 surface by real use: which v1 names and members the public v1 notebooks repository uses.

Reads every notebook (code cells) and Python script at HEAD of a git directory (a mirror of
Azure/MachineLearningNotebooks), parses it with ``ast`` and counts, per file, the v1 names it imports from
``azureml.*`` and the members of those names it uses (``Name.member`` and ``x.member`` where ``member`` belongs to an
imported class of the inventory). Prints a markdown table: name or ``Class.member``, number of files using it.

Usage: python scripts/v1_usage.py GIT_DIR INVENTORY_JSON [--top N]
"""

from __future__ import annotations

import ast
import collections
import json
import subprocess
import sys


def sources(git_dir: str) -> list[tuple[str, str]]:
    """(path, python source) of every notebook and script at HEAD; notebook magics and shell lines are dropped."""
    names = subprocess.run(
        ["git", "--git-dir", git_dir, "ls-tree", "-r", "--name-only", "HEAD"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    out = []
    for path in names:
        if not path.endswith((".py", ".ipynb")):
            continue
        text = subprocess.run(
            ["git", "--git-dir", git_dir, "show", f"HEAD:{path}"], capture_output=True, text=True, check=False
        ).stdout
        if path.endswith(".ipynb"):
            try:
                cells = json.loads(text).get("cells", [])
            except ValueError:
                continue
            code = []
            for cell in cells:
                if cell.get("cell_type") == "code":
                    src = cell.get("source", "")
                    src = "".join(src) if isinstance(src, list) else src
                    code.append(
                        "\n".join(line for line in src.splitlines() if not line.lstrip().startswith(("%", "!")))
                    )
            text = "\n".join(code)
        out.append((path, text))
    return out


def main() -> None:
    git_dir, inv_path = sys.argv[1], sys.argv[2]
    top = int(sys.argv[sys.argv.index("--top") + 1]) if "--top" in sys.argv else 10**6
    with open(inv_path) as fh:
        inv = json.load(fh)
    by_short: dict[str, set[str]] = collections.defaultdict(set)  # short name -> v1 keys
    for key in inv:
        by_short[key.rsplit(".", 1)[1]].add(key)
    files_per: collections.Counter[str] = collections.Counter()
    unparsed = 0
    for _path, text in sources(git_dir):
        try:
            tree = ast.parse(text)
        except SyntaxError:
            # cells with IPython-only syntax: count the file line by line is not worth it; report the number
            unparsed += 1
            continue
        used: set[str] = set()
        imported: dict[str, str] = {}  # local name -> v1 short name
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("azureml"):
                for a in node.names:
                    if a.name in by_short:
                        imported[a.asname or a.name] = a.name
                        used.add(a.name)
        members = {m for short in imported.values() for k in by_short[short] for m in inv[k].get("members", {})}
        owner = {}
        for short in imported.values():
            for k in by_short[short]:
                for m in inv[k].get("members", {}):
                    owner.setdefault(m, short)
        for node in ast.walk(tree):
            if isinstance(node, ast.Attribute) and node.attr in members and not node.attr.startswith("_"):
                base = node.value
                cls = imported.get(base.id) if isinstance(base, ast.Name) else None
                if cls and any(node.attr in inv[k].get("members", {}) for k in by_short[cls]):
                    used.add(f"{cls}.{node.attr}")
                else:
                    used.add(f"{owner[node.attr]}.{node.attr}")
        files_per.update(used)
    print("| v1 name or member | files using it |")
    print("|---|---|")
    for name, n in files_per.most_common(top):
        print(f"| `{name}` | {n} |")
    print(f"\n{unparsed} files could not be parsed as Python and are not counted.")


if __name__ == "__main__":
    main()
