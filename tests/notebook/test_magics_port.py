"""``%amlrun port``: the port command from a notebook (a real IPython shell; no workspace needed)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from IPython.core.error import UsageError

pytestmark = pytest.mark.unit

NOTEBOOK = Path(__file__).parents[1] / "porting" / "port_data" / "sklearn-hyperdrive"


def test_amlrun_port_prints_the_report(_ipython: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    src = NOTEBOOK / "train-hyperparameter-tune-deploy-with-sklearn.ipynb"
    out = tmp_path / "ported"
    _ipython.run_line_magic("amlrun", f"port {src} --out {out}")
    text = capsys.readouterr().out
    assert f"{src}: changed -> {out / src.name}" in text
    assert "cell 6, line 2: import: import azureml.core -> import jupyter_amlrun.core" in text
    cells = json.loads((out / src.name).read_text())["cells"]
    assert cells[5]["source"][1] == "import jupyter_amlrun.core\n"
    _ipython.run_line_magic("amlrun", f"port {out / src.name} --dry-run")
    assert "nothing to change (already ported)" in capsys.readouterr().out


def test_amlrun_port_bad_input(_ipython: Any, tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="no such file or folder"):
        _ipython.run_line_magic("amlrun", f"port {tmp_path / 'nope.ipynb'}")
    with pytest.raises(UsageError, match="usage above"):
        _ipython.run_line_magic("amlrun", "port")
