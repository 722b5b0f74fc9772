"""A plain ``pip install jupyter_amlrun`` (no extras) gives the magics, RunDetails and Azure Blob datastores.

Builds the wheel from this checkout, installs it into a fresh venv (no system site-packages) and exercises it there
in a subprocess that cannot see the checkout. Needs the package registry (or a pip cache holding every dependency):
pip resolves and installs the wheel's dependencies. With a warm pip cache the whole test takes about a minute on
2 cores.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import venv
from pathlib import Path

import pytest

pytestmark = [pytest.mark.integration, pytest.mark.slow, pytest.mark.timeout(900)]

ROOT = Path(__file__).resolve().parents[1]
BUILD_TIMEOUT = 180
INSTALL_TIMEOUT = 600
CHECK_TIMEOUT = 180
# Distributions a plain install must not bring: torch (never), and what only the extras bring.
NOT_INSTALLED = ["torch", "ray", "mlflow", "fusepy", "adlfs"]

CHECK = textwrap.dedent(
    """
    import importlib.metadata as md
    import importlib.util
    import os
    import socket
    import sys
    from pathlib import Path

    for dist in NOT_INSTALLED:
        try:
            md.distribution(dist)
        except md.PackageNotFoundError:
            continue
        raise SystemExit(f"a plain install brought {dist} {md.version(dist)}")
    assert importlib.util.find_spec("torch") is None and importlib.util.find_spec("ray") is None

    import jupyter_amlrun

    # The installed wheel, not the checkout.
    assert Path(jupyter_amlrun.__file__).resolve().is_relative_to(Path(sys.prefix).resolve()), jupyter_amlrun.__file__

    # The magics, in a real IPython shell (IPython comes from the wheel's own dependencies).
    from IPython.core.interactiveshell import InteractiveShell

    shell = InteractiveShell.instance()
    shell.run_cell("%load_ext jupyter_amlrun").raise_error()
    magics = shell.magics_manager.magics
    assert "submit" in magics["cell"], sorted(magics["cell"])
    assert "submit" in magics["line"] and "amlrun" in magics["line"], sorted(magics["line"])

    # RunDetails for a quick interactive run: widget data and the static summary (with matplotlib's chart).
    from IPython.utils.capture import capture_output

    from jupyter_amlrun import Experiment, RunDetails, Workspace
    from jupyter_amlrun.notebook import widget

    ws = Workspace.create("packaging", path=Path(os.environ["AMLRUN_HOME"]) / "ws")
    run = Experiment(ws, "x").start_logging(snapshot_directory=None)
    for value in (1.0, 0.5, 0.25):
        run.log("loss", value)
    run.complete()
    assert (widget.STATIC / "run_details.js").stat().st_size > 0 and (widget.STATIC / "run_details.css").is_file()
    with capture_output() as captured:
        details = RunDetails(run)
        details.show()
    data = details.get_widget_data()
    assert data["status"] == "Completed" and data["run_id"] == run.id, data
    loss = [m for m in data["run_metrics"] if m["name"] == "loss"]
    assert loss and loss[0]["series"][0]["data"] == [1.0, 0.5, 0.25], data["run_metrics"]
    bundle = captured.outputs[0].data
    # an ended run: the interactive view while the kernel lives, its static summary as the output's HTML
    assert "application/vnd.jupyter.widget-view+json" in bundle
    summary = bundle["text/html"]
    assert "static summary" in summary and "Completed" in summary, summary
    assert "<td>loss</td><td>0.25</td>" in summary and "data:image/png;base64," in summary, summary
    details.close()

    # Azure Blob datastores: the SDK is there (registration validates against a closed port and fails to connect,
    # not for a missing package).
    import azure.storage.blob  # noqa: F401

    from jupyter_amlrun import Datastore
    from jupyter_amlrun.data._blob import AzureBlobDatastore
    from jupyter_amlrun.data.errors import DatastoreConnectionError

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    try:
        Datastore.register_azure_blob_container(
            ws, "blobs", "training-data", account_name="devstoreaccount1", sas_token="sv=2020-01-01&sig=x",
            endpoint=f"http://127.0.0.1:{port}/devstoreaccount1",
        )
    except DatastoreConnectionError:
        pass
    else:
        raise AssertionError("registering against a closed port should fail to connect")
    store = Datastore.register_azure_blob_container(
        ws, "blobs", "training-data", account_name="devstoreaccount1", sas_token="sv=2020-01-01&sig=x",
        endpoint=f"http://127.0.0.1:{port}/devstoreaccount1", skip_validation=True,
    )
    assert isinstance(store, AzureBlobDatastore) and store.datastore_type == "AzureBlob"
    print("PACKAGING-OK")
    """
)


def _run(
    cmd: list[str], timeout: float, cwd: Path, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, check=False, cwd=cwd, env=env)
    assert proc.returncode == 0, (
        f"{' '.join(cmd)} exited {proc.returncode}:\n{proc.stdout[-4000:]}\n{proc.stderr[-4000:]}"
    )
    return proc


def _clean_env(home: Path) -> dict[str, str]:
    """The caller's environment minus anything that would let the venv see the checkout or the caller's venv."""
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in {"PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV", "PYTHONSTARTUP"} and not k.startswith("AMLRUN_")
    }
    env["AMLRUN_HOME"] = str(home)
    env["MLFLOW_DISABLE_TELEMETRY"] = "true"
    env["PIP_DISABLE_PIP_VERSION_CHECK"] = "1"
    return env


def test_plain_install_gives_magics_run_details_and_blob_datastores(tmp_path: Path) -> None:
    wheels = tmp_path / "wheels"
    _run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(wheels), str(ROOT)],
        BUILD_TIMEOUT,
        cwd=tmp_path,
    )
    (wheel,) = wheels.glob("jupyter_amlrun-*.whl")

    env_dir = tmp_path / "venv"
    venv.EnvBuilder(with_pip=True, system_site_packages=False, clear=True).create(env_dir)
    python = env_dir / "bin" / "python"
    env = _clean_env(tmp_path / "amlrun-home")
    _run([str(python), "-m", "pip", "install", "-q", str(wheel)], INSTALL_TIMEOUT, cwd=tmp_path, env=env)

    script = tmp_path / "check_install.py"
    script.write_text(f"NOT_INSTALLED = {NOT_INSTALLED!r}\n{CHECK}")
    work = tmp_path / "work"
    work.mkdir()
    proc = _run([str(python), str(script)], CHECK_TIMEOUT, cwd=work, env=env)
    assert "PACKAGING-OK" in proc.stdout
