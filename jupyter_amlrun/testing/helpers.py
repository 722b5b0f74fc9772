"""Small helpers of the contract suites and the project's tests: bounded polling and test trees."""

from __future__ import annotations

import textwrap
import time
from collections.abc import Callable
from pathlib import Path


def wait_for(predicate: Callable[[], bool], timeout: float = 60.0, interval: float = 0.1) -> bool:
    """Poll ``predicate`` until it is true or ``timeout`` seconds pass; the last answer is returned."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(interval)
    return predicate()


def write_tree(root: Path, files: dict[str, str]) -> Path:
    """Write ``{relative path: text}`` under ``root`` (text is dedented) and return ``root``."""
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text))
    return root


def sample_tree(root: Path) -> Path:
    """A small tree under ``root``: 3 top-level text files, images in nested folders."""
    for i in range(3):
        (root / f"file{i}.txt").parent.mkdir(parents=True, exist_ok=True)
        (root / f"file{i}.txt").write_text(f"content {i}\n")
    for rel in ("images/a/1.png", "images/a/2.png", "images/b/deep/3.png", "images/readme.md"):
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_bytes(rel.encode() * 10)
    return root
