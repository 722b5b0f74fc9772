"""Submissions that can never run are refused at submit, before any run record exists (issue 13)."""

from __future__ import annotations

from typing import Any

import pytest

from jupyter_amlrun import Experiment, ScriptRunConfig, Workspace
from jupyter_amlrun.runtime.errors import UserErrorException


@pytest.mark.unit
@pytest.mark.parametrize("arguments", [["--name", "a\x00b"], ["ok", "\x00"]])
def test_nul_byte_argument_is_refused_with_no_run_left(ws: Workspace, make_source: Any, arguments: list[str]) -> None:
    src = make_source({"train.py": "print('never')\n"})
    exp = Experiment(ws, "nul")
    with pytest.raises(UserErrorException, match=r"contains a NUL byte.*Remove it"):
        exp.submit(ScriptRunConfig(source_directory=src, script="train.py", arguments=arguments))
    assert list(exp.get_runs()) == []
    assert not any((ws.path / "runs").iterdir())


@pytest.mark.unit
def test_nul_byte_in_environment_variables_is_refused(ws: Workspace, make_source: Any) -> None:
    src = make_source({"train.py": "print('never')\n"})
    config = ScriptRunConfig(source_directory=src, script="train.py")
    config.run_config.environment_variables["X"] = "a\x00b"
    with pytest.raises(UserErrorException, match="NUL"):
        Experiment(ws, "nul-env").submit(config)
    assert not any((ws.path / "runs").iterdir())
