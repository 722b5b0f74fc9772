"""Notices, help and tables a notebook user reads (issue 12), through a real IPython shell."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from IPython.core.error import UsageError

SCRIPT = "print('hi')\n"


@pytest.mark.unit
@pytest.mark.parametrize("cell", ["%submit?", "%%submit?", "%amlrun?"])
def test_help_reads_as_plain_text(quick_shell: Any, capsys: pytest.CaptureFixture[str], cell: str) -> None:
    quick_shell.run_cell(cell)
    out = capsys.readouterr().out
    assert "Usage:" in out and "options:" in out
    assert not [line for line in out.splitlines() if line.strip() == "::"]
    assert "``" not in out
    if "submit" in cell:
        assert re.search(r"--script train\.py \\\s*\n\s+--env tutorial-env", out), out


@pytest.mark.unit
def test_a_backslash_continues_the_submit_line(quick_shell: Any) -> None:
    # The continued line is parsed as options (its unknown target is reported), not written into the script.
    result = quick_shell.run_cell("%%submit --experiment e \\\n    --compute gpu-cluster\nprint('hi')\n")
    assert isinstance(result.error_in_exec, UsageError)
    assert "Unknown compute target 'gpu-cluster'" in str(result.error_in_exec)
    with pytest.raises(UsageError, match="no next line"):
        quick_shell.run_cell_magic("submit", "--experiment e \\", "--no-widget \\\n")


@pytest.mark.unit
def test_source_dir_that_is_a_file_is_a_clear_error(quick_shell: Any, tmp_path: Path) -> None:
    (tmp_path / "afile").write_text("not a folder")
    with pytest.raises(UsageError, match=r"--source-dir 'afile' is a file, not a folder"):
        quick_shell.run_cell_magic("submit", "--source-dir afile", SCRIPT)
    with pytest.raises(UsageError, match=r"--source-dir 'afile' is a file, not a folder"):
        quick_shell.run_line_magic("submit", "train.py --source-dir afile")
    (tmp_path / "exp").write_text("a file named like the experiment")
    with pytest.raises(UsageError, match=r"'exp' is a file, not a folder"):
        quick_shell.run_cell_magic("submit", "--experiment exp", SCRIPT)


@pytest.mark.unit
def test_first_use_notice_goes_to_stdout(
    _ipython: Any, amlrun_home: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: Any
) -> None:
    from jupyter_amlrun.core import workspace as workspace_mod

    monkeypatch.setattr(workspace_mod, "_said_default", False)
    monkeypatch.chdir(tmp_path)
    _ipython.run_cell("from jupyter_amlrun import Workspace\nnotice_ws = Workspace.from_config()")
    said = capsys.readouterr()
    assert "No config.json found" in said.out and said.err == ""
    _ipython.user_ns.pop("notice_ws", None)


@pytest.mark.integration
def test_runs_table_has_local_times_and_details_keep_the_traceback(
    shell: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    shell.run_cell_magic("submit", "-e tables --no-widget --wait", "def f():\n    return 1 / 0\nf()\n")
    run = shell.user_ns["run"]
    assert run.get_status() == "Failed"
    capsys.readouterr()
    shell.run_line_magic("amlrun", "runs tables")
    out = capsys.readouterr().out
    assert re.search(rf"{run.id}\s+Failed\s+\d{{4}}-\d\d-\d\d \d\d:\d\d:\d\d\s+\d+s\s+train\.py", out), out
    assert not re.search(r"T\d\d:\d\d:\d\d", out) and not re.search(r"\.\d{6}", out)
    shell.run_line_magic("amlrun", f"details {run.id}")
    out = capsys.readouterr().out
    lines = out.splitlines()
    assert any(line.strip().startswith("Traceback (most recent call last):") for line in lines), out
    assert any(line.strip().startswith("ZeroDivisionError") for line in lines), out
    # local time, with the zone's name (the view model's rule: one for the widget, the sidebar and %amlrun)
    assert re.search(r"Started\s+\d{4}-\d\d-\d\d \d\d:\d\d:\d\d( \S+)?\n", out), out
