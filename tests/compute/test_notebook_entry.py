"""A notebook as the entry script (issue 21): run cell by cell with nbclient in a kernel of the run's interpreter,
arguments as ``sys.argv``, output live in the run's log, the executed copy in outputs/, a failing cell fails the run
with its error. Real runs on the local target, real kernels."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import nbformat
import pytest

from jupyter_amlrun import Estimator, Experiment, ScriptRunConfig, Workspace
from jupyter_amlrun.compute.notebook_entry import INJECTED_TAG

pytestmark = pytest.mark.integration


def notebook(*cells: str) -> str:
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_markdown_cell("# A v1 training notebook")]
    nb.cells += [nbformat.v4.new_code_cell(c) for c in cells]
    return nbformat.writes(nb)


TRAIN = notebook(
    "import argparse, sys\nfrom jupyter_amlrun import Run\n"
    "parser = argparse.ArgumentParser()\nparser.add_argument('--alpha', type=float)\nargs = parser.parse_args()\n"
    "run = Run.get_context()",
    "print('ALPHA', args.alpha, 'ARGV', sys.argv)\nrun.log('alpha', args.alpha)",
    "args.alpha * 4",
    "open('outputs/model.txt', 'w').write('weights')",
)


def std_log(run: Any) -> str:
    return run.get_log_files()["logs/user_logs/std_log.txt"].read_text()


def test_a_notebook_entry_script_runs_with_its_arguments(ws: Workspace, make_source: Any, tmp_path: Path) -> None:
    src = make_source({"train.ipynb": TRAIN})
    config = ScriptRunConfig(source_directory=str(src), script="train.ipynb", arguments=["--alpha", 0.5])
    run = Experiment(ws, "notebook-entry").submit(config)
    details = run.wait_for_completion(raise_on_error=False)
    log = std_log(run)
    assert details["status"] == "Completed", log
    assert "ALPHA 0.5 ARGV ['train.ipynb', '--alpha', '0.5']" in log  # a cell's stdout in the run's log
    assert "\n2.0\n" in log and "[notebook] cell 4" in log  # a cell's result too
    assert run.get_metrics()["alpha"] == 0.5  # Run.get_context() in the kernel is the submitted run
    names = run.get_file_names()
    assert "outputs/train.ipynb" in names and "outputs/model.txt" in names
    copy = nbformat.read(run.download_file("outputs/train.ipynb", str(tmp_path / "copy.ipynb")), as_version=4)
    assert INJECTED_TAG in copy.cells[0].metadata["tags"]
    assert copy.cells[0].source.endswith(json.dumps(["train.ipynb", "--alpha", "0.5"]))
    printed = [o for o in copy.cells[3].outputs if o.output_type == "stream"]
    assert printed and "ALPHA 0.5" in printed[0].text  # the executed copy holds the outputs


def test_a_failing_cell_fails_the_run_with_its_error(ws: Workspace, make_source: Any, tmp_path: Path) -> None:
    src = make_source({"train.ipynb": notebook("print('before')", "x = {}\nx['missing']", "print('never')")})
    est = Estimator(source_directory=str(src), compute_target="local", entry_script="train.ipynb")
    run = Experiment(ws, "notebook-entry").submit(est)
    details = run.wait_for_completion(raise_on_error=False)
    assert details["status"] == "Failed"
    message = details["error"]["error"]["message"]
    assert "Error in cell 3 of train.ipynb: KeyError: 'missing'" in message
    log = std_log(run)
    assert "before" in log and "never" not in log
    copy = nbformat.read(run.download_file("outputs/train.ipynb", str(tmp_path / "failed.ipynb")), as_version=4)
    assert any(o.output_type == "error" for o in copy.cells[3].outputs)


def test_the_kernel_is_the_run_environments_interpreter(ws: Workspace, make_source: Any, tmp_path: Path) -> None:
    from jupyter_amlrun import CondaDependencies, Environment
    from jupyter_amlrun.runtime.envcache import cache_root
    from jupyter_amlrun.testing.helpers import make_wheel

    wheels = tmp_path / "wheels"
    make_wheel(wheels, "amlrun-tinypkg", "0.3")
    deps = CondaDependencies.create(pip_packages=["amlrun-tinypkg==0.3"])
    deps.set_pip_option("--no-index")
    deps.set_pip_option(f"--find-links {wheels}")
    env = Environment("nb-env")
    env.python.conda_dependencies = deps
    src = make_source({"train.ipynb": notebook("import sys, amlrun_tinypkg\nprint('KERNEL', sys.executable)")})
    run = Experiment(ws, "notebook-entry").submit(
        ScriptRunConfig(source_directory=str(src), script="train.ipynb", environment=env)
    )
    details = run.wait_for_completion(raise_on_error=False)
    log = std_log(run)
    assert details["status"] == "Completed", log
    kernel = next(line.split(" ", 1)[1] for line in log.splitlines() if line.startswith("KERNEL "))
    assert Path(kernel).is_relative_to(cache_root(ws.path))  # the built venv's python (not resolved: a symlink)
