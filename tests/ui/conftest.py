"""Browser fixtures: a real ``jupyter lab`` on 127.0.0.1 (temp dirs, token) and Debian Chromium via Playwright.

These tests run in their own pytest process (``pytest -m ui tests/ui``): Playwright's sync API and pytest-jupyter's
event loops do not mix in one process.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
REPO = Path(__file__).resolve().parents[2]
ARTIFACTS = REPO / "test-artifacts" / "ui"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class LabServer:
    url: str
    token: str
    root: Path
    workspace_path: Path
    amlrun_home: Path

    def lab_url(self, notebook: str) -> str:
        """A fresh JupyterLab workspace showing ``notebook`` (old tabs never reopen)."""
        return f"{self.url}/lab/workspaces/ui-{uuid.uuid4().hex[:8]}/tree/{notebook}?token={self.token}"

    def notebook7_url(self, notebook: str) -> str:
        return f"{self.url}/notebooks/{notebook}?token={self.token}"

    def api(self, path: str, method: str = "GET") -> Any:
        req = urllib.request.Request(
            f"{self.url}{path}", method=method, headers={"Authorization": f"token {self.token}"}
        )
        with urllib.request.urlopen(req, timeout=10) as resp:
            body = resp.read()
            return json.loads(body) if body else None

    def shut_down_kernels(self) -> None:
        """End every kernel (what closing the notebook and shutting its kernel down does)."""
        for kernel in self.api("/api/kernels"):
            self.api(f"/api/kernels/{kernel['id']}", method="DELETE")


def write_notebook(path: Path, cells: list[str]) -> None:
    import nbformat

    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(src) for src in cells]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3 (ipykernel)", "language": "python"}
    nbformat.write(nb, path)


LABEXTENSION_BUILD = REPO / "jupyter_amlrun" / "labextension"
SERVER_CONFIG = REPO / "jupyter-config" / "server-config" / "jupyter_amlrun.json"


def labextension_built() -> bool:
    """Whether this checkout holds a built sidebar (``make install`` / ``make labext`` build it)."""
    return (LABEXTENSION_BUILD / "static" / "style.js").is_file() and (LABEXTENSION_BUILD / "package.json").is_file()


def amlrun_extension_env(base: Path) -> dict[str, str]:
    """Make the lab load this checkout's sidebar and server extension, the way the wheel installs them.

    The built extension is linked into a temp data dir on JUPYTER_PATH (what ``jupyter labextension develop`` does
    in a venv), and the wheel's server config goes into the temp JUPYTER_CONFIG_DIR, so the test neither depends on
    nor changes what the venv has installed.
    """
    config_d = base / "jconfig" / "jupyter_server_config.d"
    config_d.mkdir(parents=True, exist_ok=True)
    shutil.copy(SERVER_CONFIG, config_d / SERVER_CONFIG.name)
    if not labextension_built():
        return {}
    labexts = base / "jdata" / "labextensions"
    labexts.mkdir(parents=True, exist_ok=True)
    (labexts / "jupyter_amlrun").symlink_to(LABEXTENSION_BUILD, target_is_directory=True)
    path = os.environ.get("JUPYTER_PATH")
    return {"JUPYTER_PATH": os.pathsep.join([str(base / "jdata"), *([path] if path else [])])}


@pytest.fixture(scope="session")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LabServer]:
    if not Path(CHROMIUM).exists():
        pytest.skip("Debian chromium is not installed (scripts/install-test-tools.sh installs it)")
    pytest.importorskip("jupyterlab")
    pytest.importorskip("playwright")
    base = tmp_path_factory.mktemp("lab")
    root, home = base / "root", base / "amlrun-home"
    root.mkdir()
    settings = base / "app-settings"
    settings.mkdir()
    (settings / "overrides.json").write_text(
        json.dumps({"@jupyterlab/apputils-extension:notification": {"fetchNews": "false", "checkForUpdates": False}})
    )
    env = dict(os.environ)
    env.update(
        {
            "AMLRUN_HOME": str(home),
            "JUPYTER_CONFIG_DIR": str(base / "jconfig"),
            "JUPYTER_RUNTIME_DIR": str(base / "jruntime"),
            "MLFLOW_DISABLE_TELEMETRY": "true",
            "AMLRUN_PORTAL_URL": "http://127.0.0.1/lab",
        }
    )
    for k in ("AMLRUN_RUN_ID", "AMLRUN_WORKSPACE", "AMLRUN_TRACKING_URI"):
        env.pop(k, None)
    env.update(amlrun_extension_env(base))
    # The kernel finds this workspace through .amlrun/config.json in the notebook folder.
    code = (
        "from jupyter_amlrun import Workspace;"
        f"ws = Workspace.create('ui', path={str(base / 'ws')!r});"
        f"ws.write_config({str(root)!r})"
    )
    subprocess.run([sys.executable, "-c", code], env=env, check=True, timeout=120)
    port, token = _free_port(), secrets.token_hex(16)
    log = open(base / "server.log", "wb")  # noqa: SIM115 - closed at teardown
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "jupyterlab",
            "--no-browser",
            "--ip",
            "127.0.0.1",
            "--port",
            str(port),
            f"--IdentityProvider.token={token}",
            f"--ServerApp.root_dir={root}",
            f"--LabApp.workspaces_dir={base / 'workspaces'}",
            f"--LabApp.app_settings_dir={settings}",
            "--ServerApp.open_browser=False",
            "--LabApp.extension_manager=readonly",  # no PyPI queries from the extension manager
            *(["--allow-root"] if os.geteuid() == 0 else []),
        ],
        cwd=root,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    server = LabServer(f"http://127.0.0.1:{port}", token, root, base / "ws", home)
    try:
        deadline = time.monotonic() + 90
        while True:
            try:
                server.api("/api/status")
                break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"jupyter lab did not start; see {base / 'server.log'}") from None
                time.sleep(0.5)
        yield server
    finally:
        with_suppress_kill(proc)
        log.close()
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        shutil.copy(base / "server.log", ARTIFACTS / "server.log")


def with_suppress_kill(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is not None:
        return
    try:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=20)
    except (ProcessLookupError, subprocess.TimeoutExpired):
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        proc.wait(timeout=10)


@pytest.fixture(scope="session")
def browser(lab: LabServer) -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        try:
            yield b
        finally:
            b.close()


@pytest.fixture
def page(browser: Any, request: pytest.FixtureRequest) -> Iterator[Any]:
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    pg = context.new_page()
    pg.set_default_timeout(30_000)
    try:
        yield pg
    finally:
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        try:
            pg.screenshot(path=str(ARTIFACTS / f"{request.node.name}-final.png"), full_page=True)
        except Exception:
            pass
        context.close()
