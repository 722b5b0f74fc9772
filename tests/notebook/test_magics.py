"""%%submit / %submit / %amlrun through a real IPython shell (``run_cell_magic`` / ``run_line_magic``)."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest
from IPython.core.error import UsageError

from tests.conftest import wait_for

SCRIPT = """\
import sys
from jupyter_amlrun import Run
run = Run.get_context()
print("ARGV", sys.argv[1:], flush=True)
for i in range(3):
    run.log("loss", 1.0 / (i + 1))
"""


def _submit(quick_shell: Any, line: str, cell: str = SCRIPT) -> Any:
    quick_shell.run_cell_magic("submit", line, cell)
    return quick_shell.user_ns["run"]


# ---------------------------------------------------------------------- help and user mistakes (no run starts)
@pytest.mark.unit
def test_help_is_argparse_style(quick_shell: Any, capsys: pytest.CaptureFixture[str]) -> None:
    quick_shell.run_cell("%submit?")
    out = capsys.readouterr().out
    for flag in ("--experiment", "--compute", "--source-dir", "--script", "--env", "--input", "--name", "--wait"):
        assert flag in out
    assert "%submit [-e EXPERIMENT] [-c COMPUTE]" in out and "options:" in out
    assert "NAME=DATASET[:VERSION][:mount|:download]" in out
    quick_shell.run_cell("%amlrun?")
    out = capsys.readouterr().out
    assert "%amlrun runs [EXPERIMENT]" in out and "ACTION" in out


@pytest.mark.unit
def test_unknown_flag_says_script_arguments_go_after_double_dash(quick_shell: Any) -> None:
    with pytest.raises(UsageError, match=r"unrecognized arguments: --lr 0.1\. Arguments for the script go after `--`"):
        quick_shell.run_cell_magic("submit", "--experiment e --lr 0.1", SCRIPT)
    with pytest.raises(UsageError, match=r"unrecognized arguments: --epochs"):
        quick_shell.run_line_magic("submit", "train.py --epochs")


@pytest.mark.unit
@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("--compute gpu-cluster", r"Unknown compute target 'gpu-cluster'. Known: local"),
        ("--env no-such-env", r"Unknown environment 'no-such-env': No environment named 'no-such-env'"),
        ("--input mnist=no_such_dataset", r"Unknown dataset 'no_such_dataset' for --input mnist"),
        ("-- --data {mnist}", r"Placeholder \{mnist\} after -- names no input"),
        ("--experiment 'bad name'", r"Invalid experiment name"),
        ("--input 9x=ds", r'Invalid input name "9x"'),
        ("train.py", r"%%submit takes no SCRIPT \('train.py'\)"),
        ("--workspace nope", r"no variable 'nope'"),
        ("--max-seconds soon", r"argument --max-seconds: invalid int value"),
    ],
)
def test_usage_errors(quick_shell: Any, line: str, message: str) -> None:
    with pytest.raises(UsageError, match=message):
        quick_shell.run_cell_magic("submit", line, SCRIPT)
    assert "run" not in quick_shell.user_ns


@pytest.mark.unit
def test_cell_and_script_problems(quick_shell: Any, tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="the cell is empty"):
        quick_shell.run_cell_magic("submit", "", "   \n")
    with pytest.raises(UsageError, match="%submit needs a script"):
        quick_shell.run_line_magic("submit", "--experiment e")
    with pytest.raises(UsageError, match=r"Script 'missing.py' not found"):
        quick_shell.run_line_magic("submit", "missing.py")
    (tmp_path / "src").mkdir()
    with pytest.raises(UsageError, match=r"not found in --source-dir 'src'"):
        quick_shell.run_line_magic("submit", "train.py --source-dir src")
    with pytest.raises(UsageError, match="must be a path inside --source-dir"):
        quick_shell.run_cell_magic("submit", "--source-dir src --script ../escape.py", SCRIPT)
    quick_shell.user_ns["notws"] = 3
    with pytest.raises(UsageError, match="'notws' is a int, not a Workspace"):
        quick_shell.run_cell_magic("submit", "--workspace notws", SCRIPT)


@pytest.mark.unit
def test_amlrun_usage_errors(quick_shell: Any) -> None:
    with pytest.raises(UsageError, match="Unknown action 'frobnicate'"):
        quick_shell.run_line_magic("amlrun", "frobnicate")
    with pytest.raises(UsageError, match="needs a run id"):
        quick_shell.run_line_magic("amlrun", "logs")
    with pytest.raises(UsageError, match="No run with id 'nope'"):
        quick_shell.run_line_magic("amlrun", "details nope")
    with pytest.raises(UsageError, match="No experiment 'nope'"):
        quick_shell.run_line_magic("amlrun", "runs nope")


# ---------------------------------------------------------------------- Tab completion
@pytest.mark.unit
@pytest.mark.filterwarnings("ignore::PendingDeprecationWarning")
def test_tab_completion(quick_shell: Any) -> None:
    ws = quick_shell.user_ns["ws"]
    from jupyter_amlrun import AmlCompute, ComputeTarget, Environment

    ComputeTarget.create(ws, "cpu-cluster", AmlCompute.provisioning_configuration(max_nodes=2))
    Environment("tutorial-env").register(ws)
    Environment("other-env").register(ws)

    def complete(line: str) -> list[str]:
        _text, matches = quick_shell.complete("", line, len(line))
        return list(matches)

    assert "--compute" in complete("%%submit --comp")
    assert "--source-dir" in complete("%submit train.py --sou")
    assert set(complete("%%submit --compute ")) >= {"local", "cpu-cluster"}
    assert complete("%%submit --compute cpu") == ["cpu-cluster"]
    assert complete("%%submit --env tut") == ["tutorial-env"]
    assert complete("%%submit -- --comp") == [] or "--compute" not in complete("%%submit -- --comp")


@pytest.mark.integration
@pytest.mark.filterwarnings("ignore::PendingDeprecationWarning")
def test_tab_completion_of_datasets(quick_shell: Any, tmp_path: Path) -> None:
    ws = quick_shell.user_ns["ws"]
    from jupyter_amlrun.data.dataset import Dataset

    data = tmp_path / "digits"
    data.mkdir()
    (data / "a.csv").write_text("1,2\n")
    ws.get_default_datastore().upload(str(data), target_path="digits", show_progress=False)
    Dataset.File.from_files((ws.get_default_datastore(), "digits/**")).register(ws, "digits_ds")
    line = "%%submit --input digits=dig"
    _text, matches = quick_shell.complete("", line, len(line))
    assert any(m.endswith("digits_ds") for m in matches)


# ---------------------------------------------------------------------- real submissions
@pytest.mark.integration
def test_cell_submit_end_to_end(shell: Any, ws: Any, tmp_path: Path) -> None:
    run = _submit(shell, "--experiment mnist-e2e --tag team=vision --no-widget --wait -- --reg 0.5 '{{x}}'")
    assert (tmp_path / "mnist-e2e" / "train.py").read_text() == SCRIPT  # default --source-dir: the experiment
    assert run.get_status() == "Completed"
    assert run.experiment.name == "mnist-e2e"
    assert run.get_tags() == {"team": "vision"}
    assert run.get_metrics()["loss"] == [1.0, 0.5, 1.0 / 3]
    log = run.get_log_files()["logs/user_logs/std_log.txt"].read_text()
    assert "ARGV ['--reg', '0.5', '{x}']" in log


@pytest.mark.integration
def test_cell_submit_name_script_and_other_files_travel(shell: Any, tmp_path: Path) -> None:
    src = tmp_path / "proj"
    src.mkdir()
    (src / "helper.py").write_text("VALUE = 42\n")
    cell = "from helper import VALUE\nprint('helper says', VALUE)\n"
    shell.run_cell_magic("submit", "-e helpers -s proj --script main.py --name r2 --no-widget --wait", cell)
    run = shell.user_ns["r2"]
    assert (src / "main.py").read_text() == cell
    assert run.get_status() == "Completed"
    assert "helper says 42" in run.get_log_files()["logs/user_logs/std_log.txt"].read_text()
    assert run.get_details()["runDefinition"]["script"] == "main.py"


@pytest.mark.integration
def test_line_submit_existing_script(shell: Any, make_source: Any, tmp_path: Path) -> None:
    make_source({"train.py": SCRIPT}, name="src")
    shell.run_line_magic("submit", "train.py --source-dir src -e line --no-widget --wait -- --epochs 2")
    run = shell.user_ns["run"]
    assert run.get_status() == "Completed"
    assert "ARGV ['--epochs', '2']" in run.get_log_files()["logs/user_logs/std_log.txt"].read_text()
    # A path to the script works too: its folder is the source directory.
    shell.run_line_magic("submit", "src/train.py -e line --no-widget --wait")
    assert shell.user_ns["run"].get_status() == "Completed"


@pytest.mark.integration
def test_submit_with_environment_compute_and_dataset_input(
    shell: Any, ws: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from jupyter_amlrun import AmlCompute, ComputeTarget, Environment
    from jupyter_amlrun.data.dataset import Dataset

    ComputeTarget.create(ws, "cpu-cluster", AmlCompute.provisioning_configuration(max_nodes=1))
    Environment("tutorial-env").register(ws)
    data = tmp_path / "mnist"
    data.mkdir()
    (data / "train.csv").write_text("0,1\n")
    ws.get_default_datastore().upload(str(data), target_path="mnist", show_progress=False)
    Dataset.File.from_files((ws.get_default_datastore(), "mnist/**")).register(ws, "mnist_ds")
    cell = (
        "import os, sys\nfolder = sys.argv[sys.argv.index('--data-folder') + 1]\n"
        "print('FILES', sorted(os.listdir(folder)), flush=True)\n"
    )
    shell.run_cell_magic(
        "submit",
        "-e ds -c cpu-cluster --env tutorial-env --input mnist=mnist_ds:download --no-widget --wait "
        "-- --data-folder {mnist}",
        cell,
    )
    run = shell.user_ns["run"]
    details = run.get_details()
    assert details["status"] == "Completed", run.get_log_files()["logs/azureml/driver_log.txt"].read_text()
    assert details["target"] == "cpu-cluster"
    assert details["runDefinition"]["environment"]["name"] == "tutorial-env"
    assert [(i["name"], i["mode"]) for i in details["inputDatasets"]] == [("mnist", "download")]
    log = run.get_log_files()["logs/user_logs/std_log.txt"].read_text()
    assert "FILES" in log and "train.csv" in log
    # An input declared but not named after `--` is pointed out (the run cannot receive it otherwise).
    capsys.readouterr()
    shell.run_cell_magic("submit", "-e ds --input spare=mnist_ds --no-widget --wait", "print('no args')\n")
    err = capsys.readouterr().err
    reached = [i["name"] for i in shell.user_ns["run"].get_details()["inputDatasets"]]
    assert reached == ["spare"] or "input(s) spare are not used after `--`" in err  # the latter until core reads .data


@pytest.mark.integration
def test_submit_shows_run_details(shell: Any) -> None:
    from jupyter_amlrun.notebook import widget

    run = _submit(shell, "-e shown")
    shown = [w for w in widget._live if w.run.id == run.id]
    assert len(shown) == 1 and shown[0].status  # the header was filled before the cell returned
    assert wait_for(lambda: not shown[0].follower.alive, timeout=60)
    assert shown[0].status == "Completed"


@pytest.mark.integration
def test_amlrun_actions(shell: Any, ws: Any, capsys: pytest.CaptureFixture[str]) -> None:
    run = _submit(shell, "-e listing --no-widget --wait -- --hello")
    capsys.readouterr()
    shell.run_line_magic("amlrun", "runs")
    out = capsys.readouterr().out
    assert run.id in out and "Completed" in out and "listing" in out
    shell.run_line_magic("amlrun", "runs listing --limit 1")
    assert run.id in capsys.readouterr().out
    shell.run_line_magic("amlrun", f"details {run.id}")
    out = capsys.readouterr().out
    assert "train.py --hello" in out and "Completed" in out
    shell.run_line_magic("amlrun", f"logs {run.id}")
    assert "ARGV ['--hello']" in capsys.readouterr().out
    shell.run_line_magic("amlrun", f"logs {run.id} --file driver_log.txt")
    assert "After variable expansion" in capsys.readouterr().out
    shell.run_line_magic("amlrun", "workspace")
    assert str(ws.path) in capsys.readouterr().out
    run.register_model("digits", "logs/user_logs/std_log.txt")
    shell.run_line_magic("amlrun", "models")
    assert "digits" in capsys.readouterr().out
    shell.run_line_magic("amlrun", "datastores")
    assert "workspaceblobstore" in capsys.readouterr().out
    from jupyter_amlrun import CondaDependencies, Environment

    env = Environment("listed-env")
    env.python.conda_dependencies = CondaDependencies.create(pip_packages=["numpy"])
    env.register(ws)
    shell.run_line_magic("amlrun", "envs")
    out = capsys.readouterr().out
    assert "listed-env" in out and "numpy" in out and "Built env" in out
    shell.run_line_magic("amlrun", "envs prune --older-than 30")
    assert "Removed 0 cached environment(s)" in capsys.readouterr().out
    # Logs of a run whose local folder is gone come from its uploaded files.
    shutil.rmtree(run._folder.root)
    shell.run_line_magic("amlrun", f"logs {run.id}")
    assert "ARGV ['--hello']" in capsys.readouterr().out


@pytest.mark.integration
def test_amlrun_cancel(shell: Any, capsys: pytest.CaptureFixture[str]) -> None:
    run = _submit(shell, "-e cancel --no-widget", "import time\nfor _ in range(600):\n    time.sleep(0.1)\n")
    assert wait_for(lambda: run.get_status() == "Running", timeout=60)
    shell.run_line_magic("amlrun", f"cancel {run.id}")
    assert "Cancel requested" in capsys.readouterr().out
    assert wait_for(lambda: run.get_status() == "Canceled", timeout=60)


@pytest.mark.integration
def test_workspace_variable_and_from_config(shell: Any, ws: Any, tmp_path: Path) -> None:
    from jupyter_amlrun import Workspace

    other = Workspace.create("other", path=tmp_path / "other-ws")
    shell.user_ns["ws2"] = other
    shell.run_cell_magic("submit", "-e picked --workspace ws2 --no-widget", SCRIPT)
    assert shell.user_ns["run"]._ws == other
    shell.user_ns.pop("ws")
    ws.write_config(str(tmp_path))  # the notebook folder's .amlrun/config.json
    shell.run_cell_magic("submit", "-e fromconfig --no-widget --wait", SCRIPT)
    assert shell.user_ns["run"]._ws == ws
    shell.user_ns.pop("ws2")
