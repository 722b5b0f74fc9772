"""Diabetes open dataset (issue 12): a mirror through the real loader, and offline sources said on stdout.

The tests never reach the internet: the mirror is a local HTTP server; "offline" is a URL where nothing listens.
"""

from __future__ import annotations

import functools
import http.server
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from jupyter_amlrun.data import DatasetException
from jupyter_amlrun.opendatasets import Diabetes
from tests.data.azurite import free_port

pytestmark = pytest.mark.unit

TAB = "AGE\tSEX\tBMI\tBP\tS1\tS2\tS3\tS4\tS5\tS6\tY\n59\t2\t32.1\t101\t157\t93.2\t38\t4\t4.8598\t87\t151\n"
TAB += "48\t1\t21.6\t87\t183\t103.2\t70\t3\t3.8918\t69\t75\n"


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def mirror(tmp_path: Path) -> Iterator[str]:
    root = tmp_path / "mirror"
    root.mkdir()
    (root / "diabetes.tab.txt").write_text(TAB)
    (root / "page.html").write_text("<html>moved</html>")
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(_Quiet, directory=str(root)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}/"
    server.shutdown()
    server.server_close()


def _offline() -> str:
    return f"http://127.0.0.1:{free_port()}/diabetes.tab.txt"


def test_mirror_from_the_environment(ws, mirror: str, monkeypatch, capsys) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("AMLRUN_DIABETES_URL", mirror + "diabetes.tab.txt")
    df = Diabetes.get_tabular_dataset(workspace=ws).to_pandas_dataframe()
    assert list(df.columns) == ["AGE", "SEX", "BMI", "BP", "S1", "S2", "S3", "S4", "S5", "S6", "Y"]
    assert df["Y"].tolist() == [151, 75]
    assert "2 rows downloaded from http://127.0.0.1" in capsys.readouterr().out
    monkeypatch.setenv("AMLRUN_DIABETES_URL", _offline())  # kept in the datastore: no second download
    assert len(Diabetes.get_pandas_dataframe(workspace=ws)) == 2
    assert capsys.readouterr().out == ""
    assert Diabetes.get_file_dataset(workspace=ws).to_path() == ["/diabetes.csv"]


def test_offline_uses_the_copy_scikit_learn_ships(ws, capsys) -> None:  # type: ignore[no-untyped-def]
    pytest.importorskip("sklearn")
    df = Diabetes.get_pandas_dataframe(workspace=ws, url=_offline())
    assert df.shape == (442, 11) and df["Y"].iloc[0] == 151 and df["AGE"].iloc[0] == 59
    out = capsys.readouterr().out
    assert "could not download" in out and "scikit-learn ships (442 rows, the same data)" in out


def test_offline_without_scikit_learn_says_it_is_a_stand_in(ws, capsys, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    import sys

    monkeypatch.setitem(sys.modules, "sklearn", None)  # scikit-learn not installed (the import fails)
    monkeypatch.setitem(sys.modules, "sklearn.datasets", None)
    df = Diabetes.get_pandas_dataframe(workspace=ws, url=_offline())
    assert len(df) == 40 and list(df.columns)[-1] == "Y"
    assert "SYNTHETIC stand-in of 40 rows" in capsys.readouterr().out
    assert Diabetes.get_file_dataset(workspace=ws, url=_offline()).to_path() == ["/diabetes-standin.csv"]


def test_a_source_serving_something_else_falls_back_and_says_why(ws, mirror: str, capsys) -> None:  # type: ignore[no-untyped-def]
    pytest.importorskip("sklearn")
    assert len(Diabetes.get_pandas_dataframe(workspace=ws, url=mirror + "page.html")) == 442
    assert "expected ['AGE'" in capsys.readouterr().out
    with pytest.raises(DatasetException, match="not 11 numbers"):
        from jupyter_amlrun.data.opendatasets import parse_diabetes

        parse_diabetes("AGE,SEX,BMI,BP,S1,S2,S3,S4,S5,S6,Y\n1,2,x,4,5,6,7,8,9,10,11\n")
