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


def make_wheel(folder: Path, name: str, version: str, modules: dict[str, str] | None = None) -> Path:
    """Write a pure-Python wheel ``<name>-<version>-py3-none-any.whl`` into ``folder`` (no build backend needed).

    ``modules`` maps file paths inside the wheel to their text (default: ``<module>/__init__.py`` with
    ``VERSION = '<version>'``). Install it offline: ``pip install --no-index --find-links <folder> <name>``.
    """
    import base64
    import hashlib
    import zipfile

    module = name.replace("-", "_")
    dist_info = f"{module}-{version}.dist-info"
    files = dict(modules or {f"{module}/__init__.py": f"VERSION = {version!r}\n"})
    files[f"{dist_info}/METADATA"] = f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n"
    files[f"{dist_info}/WHEEL"] = (
        "Wheel-Version: 1.0\nGenerator: amlrun-tests\nRoot-Is-Purelib: true\nTag: py3-none-any\n"
    )
    record = []
    for path, text in files.items():
        digest = base64.urlsafe_b64encode(hashlib.sha256(text.encode()).digest()).rstrip(b"=").decode()
        record.append(f"{path},sha256={digest},{len(text.encode())}")
    record.append(f"{dist_info}/RECORD,,")
    folder.mkdir(parents=True, exist_ok=True)
    wheel = folder / f"{module}-{version}-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w") as zf:
        for path, text in files.items():
            zf.writestr(path, text)
        zf.writestr(f"{dist_info}/RECORD", "\n".join(record) + "\n")
    return wheel
