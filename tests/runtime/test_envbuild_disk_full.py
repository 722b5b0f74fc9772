"""A full disk during an environment build says so (issue 25), not "check the package names".

The environment cache sits on a real 2 MiB tmpfs (mounting it needs root, which CI has; elsewhere the test skips) and
pip installs a local 4 MiB wheel built offline by an in-tree backend, so pip itself fails with ENOSPC.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from jupyter_amlrun.runtime.envcache import CACHE_ENV, EnvironmentBuildError, prepare_run_environment
from tests.tracking.test_journal_disk_full import tmpfs

pytestmark = pytest.mark.integration

PYPROJECT = """
[build-system]
requires = []
build-backend = "big_backend"
backend-path = ["."]

[project]
name = "amlrun-bigpkg"
version = "0.1"
"""
# A wheel of 4 MiB of incompressible bytes, written with the standard library (pip needs no index).
BACKEND = """
import base64, hashlib, os, zipfile

def _digest(data):
    return "sha256=" + base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()

def build_wheel(wheel_directory, config_settings=None, metadata_directory=None):
    name = "amlrun_bigpkg-0.1-py3-none-any.whl"
    files = {
        "amlrun_bigpkg/__init__.py": b"",
        "amlrun_bigpkg/blob.bin": os.urandom(4 * 1024 * 1024),
        "amlrun_bigpkg-0.1.dist-info/METADATA": b"Metadata-Version: 2.1\\nName: amlrun-bigpkg\\nVersion: 0.1\\n",
        "amlrun_bigpkg-0.1.dist-info/WHEEL": (
            b"Wheel-Version: 1.0\\nGenerator: test\\nRoot-Is-Purelib: true\\nTag: py3-none-any\\n"
        ),
    }
    record = "".join(f"{p},{_digest(d)},{len(d)}\\n" for p, d in files.items())
    record += "amlrun_bigpkg-0.1.dist-info/RECORD,,\\n"
    with zipfile.ZipFile(os.path.join(wheel_directory, name), "w", zipfile.ZIP_STORED) as zf:
        for path, data in files.items():
            zf.writestr(path, data)
        zf.writestr("amlrun_bigpkg-0.1.dist-info/RECORD", record)
    return name
"""


def test_a_full_disk_during_a_build_says_the_disk_is_full(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    project = tmp_path / "bigpkg"
    project.mkdir()
    (project / "pyproject.toml").write_text(PYPROJECT)
    (project / "big_backend.py").write_text(BACKEND)
    with tmpfs(tmp_path / "disk", "2m") as disk:
        monkeypatch.setenv(CACHE_ENV, str(disk / "envs"))
        definition = {"name": "full-disk", "pip": [str(project)], "pip_options": ["--no-index"]}
        with pytest.raises(EnvironmentBuildError) as info:
            prepare_run_environment(tmp_path / "ws", tmp_path / "run", definition, lambda _m: None)
    message = str(info.value)
    assert "is full" in message and CACHE_ENV in message, message
    assert "Check the package names" not in message, message
