"""%amlrun tensorboard through a real IPython shell, over a real run's event files."""

from __future__ import annotations

from typing import Any

import pytest

from jupyter_amlrun import Experiment, ScriptRunConfig
from tests.conftest import wait_for
from tests.core.test_tensorboard import SCRIPT, scalars

pytest.importorskip("tensorboard")


@pytest.mark.integration
def test_magic_starts_and_stops(shell: Any, ws: Any, make_source: Any, capsys: pytest.CaptureFixture[str]) -> None:
    src = make_source({"train.py": SCRIPT.replace('pathlib.Path("go").exists()', "True")})
    run = Experiment(ws, "tb-magic").submit(ScriptRunConfig(str(src), "train.py"))
    run.wait_for_completion()
    capsys.readouterr()
    shell.run_line_magic("amlrun", f"tensorboard {run.id}")
    out = capsys.readouterr().out
    assert "TensorBoard for 1 run(s) at http://127.0.0.1:" in out
    url = out.split(" at ")[-1].strip()
    assert wait_for(lambda: len(scalars(url, run.id)) == 10, timeout=60)
    shell.run_line_magic("amlrun", "tensorboard stop")
    assert "TensorBoard stopped." in capsys.readouterr().out
    assert scalars(url, run.id) == []
