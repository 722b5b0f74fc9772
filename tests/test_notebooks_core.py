"""The seed tutorial notebook runs end to end under nbclient (a real kernel, a real run)."""

from __future__ import annotations

import shutil
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

pytestmark = pytest.mark.integration
NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"


def run_notebook(name: str, tmp_path: Path) -> str:
    """Execute notebooks/<name> in a copy under ``tmp_path``; the text of its stream outputs."""
    work = tmp_path / "nb"
    work.mkdir()
    shutil.copy(NOTEBOOKS / name, work)
    nb = nbformat.read(work / name, as_version=4)
    NotebookClient(nb, timeout=180, kernel_name="python3", resources={"metadata": {"path": str(work)}}).execute()
    return "\n".join(o.get("text", "") for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", []))


def test_quickstart_notebook(amlrun_home: Path, tmp_path: Path) -> None:
    outputs = run_notebook("quickstart.ipynb", tmp_path)
    assert "Execution Summary" in outputs
    assert "sklearn_digits\tsklearn_digits:1\t1" in outputs
    assert (amlrun_home / "workspaces" / "default" / "mlflow.db").exists()


@pytest.mark.slow  # builds a virtual environment with pip
def test_environment_estimator_notebook(amlrun_home: Path, tmp_path: Path) -> None:
    outputs = run_notebook("environment_estimator.ipynb", tmp_path)
    assert "tutorial-env version 1" in outputs and "same definition -> version 1" in outputs
    assert "already has every package" in outputs  # the Estimator run needed no build
    assert "Built environment" in outputs and "Reusing cached environment" in outputs
    assert "hello from a built environment" in outputs
    assert "Curated environment 'AzureML-sklearn-1.5' resolves to the local 'amlrun-sklearn'" in outputs


def test_sklearn_mnist_notebook(amlrun_home: Path, tmp_path: Path) -> None:
    """v1's img-classification-part1-training: MNIST (offline stand-in) registered, mounted into a pool run."""
    outputs = run_notebook("sklearn-mnist.ipynb", tmp_path)
    assert "SYNTHETIC stand-in" in outputs  # said, never passed off as the real data
    assert "Accuracy is" not in outputs  # the script's output is in its log, not the notebook
    assert "'accuracy': " in outputs and "'regularization rate': 0.5" in outputs
    assert "sklearn_mnist\tsklearn_mnist:1\t1" in outputs


@pytest.mark.slow  # trains a small PyTorch net
def test_cifar_upload_train_notebook(amlrun_home: Path, tmp_path: Path) -> None:
    """v1's get-started-day1 part 3: upload to the datastore, a FileDataset mounted into a PyTorch run."""
    pytest.importorskip("torch")  # the torch extra; make install-test-tools installs it
    outputs = run_notebook("cifar-upload-train.ipynb", tmp_path)
    assert "lab?amlrun-run=" in outputs or "amlrun-run=" in outputs  # the portal link is printed
    assert "loss values, first" in outputs and "outputs/cifar_net.pt" in outputs


def test_tensorboard_notebook(amlrun_home: Path, tmp_path: Path) -> None:
    pytest.importorskip("tensorboard")
    outputs = run_notebook("tensorboard.ipynb", tmp_path)
    assert "http://127.0.0.1:" in outputs
    assert "50 loss points, last 0.0074" in outputs
