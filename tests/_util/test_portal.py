"""Finding the Jupyter server a process belongs to from real runtime files and real process ancestry."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from jupyter_amlrun._util import portal

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def runtime(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "runtime"
    folder.mkdir()
    monkeypatch.setenv("JUPYTER_RUNTIME_DIR", str(folder))
    monkeypatch.delenv(portal.PORTAL_ENV, raising=False)
    return folder


def write_info(folder: Path, pid: int, port: int, base_url: str = "/", root_dir: str = "/") -> Path:
    path = folder / f"jpserver-{pid}.json"
    doc = {
        "url": f"http://127.0.0.1:{port}{base_url}",
        "hostname": "127.0.0.1",
        "port": port,
        "base_url": base_url,
        "token": "TOPSECRETTOKEN",
        "root_dir": root_dir,
        "pid": pid,
    }
    path.write_text(json.dumps(doc))
    return path


# The "server": writes its runtime file, then starts the "kernel" (a child) which asks for the portal URL.
SERVER = textwrap.dedent(
    """
    import json, os, subprocess, sys
    runtime, base_url, root = sys.argv[1], sys.argv[2], sys.argv[3]
    doc = {"url": "http://127.0.0.1:9999" + base_url, "port": 9999, "base_url": base_url, "token": "TOPSECRETTOKEN",
           "root_dir": root, "pid": os.getpid()}
    with open(os.path.join(runtime, f"jpserver-{os.getpid()}.json"), "w") as fh:
        json.dump(doc, fh)
    kernel = "from jupyter_amlrun._util.portal import run_link; l = run_link('r123'); print(l.url, l.found)"
    sys.exit(subprocess.run([sys.executable, "-c", kernel], cwd=os.path.expanduser("~")).returncode)
    """
)


def test_the_kernel_finds_its_own_server_among_several(runtime: Path, tmp_path: Path) -> None:
    # a decoy: another live "server" (a sleeping process) whose root holds the kernel's folder
    decoy = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        write_info(runtime, decoy.pid, 7777, root_dir=str(Path.home()))
        write_info(runtime, 999_999_999 if sys.maxsize > 2**32 else 65_000, 6666)  # stale: no such process
        env = {**os.environ, "PYTHONPATH": str(ROOT)}
        out = subprocess.run(
            [sys.executable, "-c", SERVER, str(runtime), "/user/ana/", str(tmp_path)],
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )
    finally:
        decoy.kill()
        decoy.wait()
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["http://127.0.0.1:9999/user/ana/lab?amlrun-run=r123", "True"]
    assert "TOPSECRETTOKEN" not in out.stdout


def test_an_ancestor_of_this_process_is_found(runtime: Path) -> None:
    write_info(runtime, os.getppid(), 8890, base_url="/jl/")
    server = portal.find_server()
    assert server is not None and server.pid == os.getppid()
    assert portal.run_link("abc").url == "http://127.0.0.1:8890/jl/lab?amlrun-run=abc"


def test_dead_servers_are_ignored_and_the_fallback_says_how_to_open(runtime: Path, tmp_path: Path) -> None:
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    write_info(runtime, dead.pid, 8891)
    (runtime / "jpserver-notapid.json").write_text("{}")
    (runtime / f"jpserver-{os.getpid()}.json").write_text("{half a file")  # torn: skipped, not fatal
    assert portal.running_servers() == []
    link = portal.run_link("abc")
    assert link.url == f"{portal.DEFAULT_LAB}?amlrun-run=abc" and not link.found
    assert "jupyter lab" in link.text() and "AML" in link.text()


def test_a_server_whose_root_holds_the_folder_wins_over_others(runtime: Path, tmp_path: Path) -> None:
    a = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    b = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        (tmp_path / "proj" / "sub").mkdir(parents=True)
        write_info(runtime, a.pid, 8001, root_dir=str(tmp_path))
        write_info(runtime, b.pid, 8002, root_dir=str(tmp_path / "proj"))
        found = portal.find_server(pid=a.pid, cwd=tmp_path / "proj" / "sub")  # a's ancestors are not servers
        assert found is not None and found.pid == b.pid  # the deepest root holding the folder
        assert portal.find_server(pid=a.pid, cwd=Path("/")) is None  # neither holds "/": no guess
        found = portal.find_server(pid=a.pid, cwd=Path("/"), near=[tmp_path / "ws"])  # the workspace's folder
        assert found is not None and found.pid == a.pid
    finally:
        for p in (a, b):
            p.kill()
            p.wait()


def test_the_environment_override_wins(runtime: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write_info(runtime, os.getppid(), 8890)
    monkeypatch.setenv(portal.PORTAL_ENV, "https://hub.example/user/x/lab/")
    assert portal.run_link("r 1").url == "https://hub.example/user/x/lab?amlrun-run=r+1"
    assert portal.experiment_link("exp").url == "https://hub.example/user/x/lab?amlrun-experiment=exp"


def test_run_and_experiment_portal_urls(runtime: Path, ws) -> None:  # type: ignore[no-untyped-def]
    from jupyter_amlrun import Experiment

    exp = Experiment(ws, "portal")
    run = exp.start_logging()
    try:
        write_info(runtime, os.getppid(), 8895, base_url="/b/")
        assert run.get_portal_url() == f"http://127.0.0.1:8895/b/lab?amlrun-run={run.id}"
        assert exp.get_portal_url() == "http://127.0.0.1:8895/b/lab?amlrun-experiment=portal"
        (runtime / f"jpserver-{os.getppid()}.json").unlink()
        assert run.get_portal_url() == f"{portal.DEFAULT_LAB}?amlrun-run={run.id}"
        assert "jupyter lab" in run._web_view()
    finally:
        run.complete()


def test_portal_and_the_server_service_import_no_jupyter_server() -> None:
    code = (
        "import sys, jupyter_amlrun._util.portal, jupyter_amlrun.server.service, jupyter_amlrun.core.run; "
        "bad = [m for m in sys.modules if m.split('.')[0] in ('jupyter_server', 'tornado', 'IPython')]; "
        "print(bad); sys.exit(1 if bad else 0)"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], env={**os.environ, "PYTHONPATH": str(ROOT)}, capture_output=True, text=True
    )
    assert out.returncode == 0, out.stdout + out.stderr
