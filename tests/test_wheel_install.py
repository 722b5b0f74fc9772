"""``pip install`` of the wheel gives JupyterLab the prebuilt sidebar and enables the server extension, no Node needed.

Builds the wheel from this checkout once (the build hook reuses jupyter_amlrun/labextension/ when the checkout holds
a build; otherwise it runs ``jlpm build:prod``, which needs Node), installs it with JupyterLab into a clean venv (no
system site-packages; pip's wheel cache serves JupyterLab; the wheel goes in without its runtime dependencies, which
test_packaging.py covers), then, with no Node on PATH, asks
``jupyter labextension list`` and ``jupyter server extension list`` whether jupyter_amlrun is enabled and OK.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import venv
import zipfile
from pathlib import Path

import pytest

pytestmark = [pytest.mark.integration, pytest.mark.slow, pytest.mark.timeout(600)]

ROOT = Path(__file__).resolve().parents[1]
BUILD_TIMEOUT = 300
INSTALL_TIMEOUT = 420
LIST_TIMEOUT = 120
LABEXT = "share/jupyter/labextensions/jupyter_amlrun"
SERVER_CONFIG = "etc/jupyter/jupyter_server_config.d/jupyter_amlrun.json"
ANSI = re.compile(r"\x1b\[[0-9;]*m")


def _run(cmd: list[str], timeout: float, cwd: Path, env: dict[str, str] | None = None) -> str:
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, check=False, cwd=cwd, env=env)
    out = ANSI.sub("", proc.stdout + proc.stderr)
    assert proc.returncode == 0, f"{' '.join(cmd)} exited {proc.returncode}:\n{out[-6000:]}"
    return out


def _no_node_path(bin_dir: Path) -> str:
    """PATH with the venv first and every folder that holds node (or npm / yarn / jlpm's node) left out."""
    keep = [str(bin_dir)]
    for folder in os.environ.get("PATH", "").split(os.pathsep):
        if folder and not any((Path(folder) / exe).exists() for exe in ("node", "nodejs", "npm")):
            keep.append(folder)
    return os.pathsep.join(keep)


def test_wheel_ships_the_sidebar_and_enables_the_server_extension(tmp_path: Path) -> None:
    if shutil.which("node") is None and not (ROOT / "jupyter_amlrun/labextension/static/style.js").is_file():
        pytest.skip("building the wheel needs Node (or a built labextension in the checkout: make labext)")
    wheels = tmp_path / "wheels"
    _run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(wheels), str(ROOT)], BUILD_TIMEOUT, tmp_path
    )
    (wheel,) = wheels.glob("jupyter_amlrun-*.whl")

    # What the wheel holds: the prebuilt extension (its version is the package's) and the server config.
    with zipfile.ZipFile(wheel) as zf:
        names = zf.namelist()
        # Shared data lives under <name>-<version>.data/data/ (not the jupyter_amlrun/data package).
        data = next(n.split(".data/data/", 1)[0] for n in names if ".data/data/" in n) + ".data/data/"
        package = json.loads(zf.read(f"{data}{LABEXT}/package.json"))
        config = json.loads(zf.read(f"{data}{SERVER_CONFIG}"))
    version = re.search(r"^version = \"(.+)\"$", (ROOT / "pyproject.toml").read_text(), re.M)
    assert version and package["name"] == "jupyter_amlrun" and package["version"] == version.group(1), package
    assert any(n.startswith(f"{data}{LABEXT}/static/remoteEntry.") for n in names), names
    assert f"{data}{LABEXT}/install.json" in names and f"{data}{LABEXT}/schemas/jupyter_amlrun/plugin.json" in names
    assert config == {"ServerApp": {"jpserver_extensions": {"jupyter_amlrun": True}}}, config
    # A node_modules folder or a TypeScript source (the bundler names vendor chunks "vendors-node_modules_...": built
    # output, not the folder).
    shipped = [n for n in names if "/node_modules/" in f"/{n}" or n.endswith(".ts")]
    assert not shipped, f"the wheel ships sources or modules: {shipped[:5]}"

    env_dir = tmp_path / "venv"
    venv.EnvBuilder(with_pip=True, system_site_packages=False, clear=True).create(env_dir)
    bin_dir = env_dir / "bin"
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in {"PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV", "JUPYTER_PATH", "JUPYTER_CONFIG_DIR"}
        and not k.startswith("AMLRUN_")
    }
    env.update(
        {
            "PATH": _no_node_path(bin_dir),
            "PIP_DISABLE_PIP_VERSION_CHECK": "1",
            "JUPYTER_CONFIG_DIR": str(tmp_path / "jconfig"),  # not the user's ~/.jupyter
            "JUPYTER_DATA_DIR": str(tmp_path / "jdata"),
            "MLFLOW_DISABLE_TELEMETRY": "true",
        }
    )
    python = str(bin_dir / "python")
    # JupyterLab (with jupyter_server) from pip's cache, then the wheel without its runtime dependencies: listing and
    # validating the extensions imports only jupyter_amlrun's server app, and test_packaging.py installs the wheel
    # with all of its dependencies. --no-compile: byte-compiling JupyterLab's tree is much of the time on 2 cores.
    _run([python, "-m", "pip", "install", "-q", "--no-compile", "jupyterlab>=4.2"], INSTALL_TIMEOUT, tmp_path, env)
    _run(
        [python, "-m", "pip", "install", "-q", "--no-compile", "--no-deps", str(wheel)], INSTALL_TIMEOUT, tmp_path, env
    )
    assert shutil.which("node", path=env["PATH"]) is None, env["PATH"]

    labexts = _run([str(bin_dir / "jupyter"), "labextension", "list"], LIST_TIMEOUT, tmp_path, env)
    line = next((ln for ln in labexts.splitlines() if "jupyter_amlrun" in ln), "")
    assert re.search(rf"jupyter_amlrun v{re.escape(package['version'])} enabled\s+OK", line), labexts
    assert str(env_dir / "share" / "jupyter" / "labextensions") in labexts, labexts

    servers = _run([str(bin_dir / "jupyter"), "server", "extension", "list"], LIST_TIMEOUT, tmp_path, env)
    block = servers[servers.index("jupyter_amlrun enabled") :] if "jupyter_amlrun enabled" in servers else ""
    assert re.match(r"jupyter_amlrun enabled\s+- Validating jupyter_amlrun\.\.\.\s+jupyter_amlrun \S*\s*OK", block), (
        servers
    )
