"""What JupyterLab's notice says when a run ends (view/notice.py), and that notify.ts reads the same fields."""

from __future__ import annotations

import typing

import pytest

from jupyter_amlrun.view.notice import EndNotice, end_notice
from tests.tswire import REPO, ts_types


@pytest.mark.unit
def test_the_notice_of_each_final_status() -> None:
    done = end_notice("r1", "bright_fox", "exp", "Completed")
    assert done["terminal"] and done["kind"] == "success"
    assert done["message"] == "Run bright_fox (exp) ended: Completed." and done["action"] == "Open run"
    assert end_notice("r1", "", "exp", "Failed")["kind"] == "error"
    assert end_notice("r1", "", "exp", "Failed")["message"].startswith("Run r1 (exp)")
    assert end_notice("r1", "n", "exp", "Canceled")["kind"] == "warning"
    assert not end_notice("r1", "n", "exp", "Running")["terminal"]


@pytest.mark.unit
def test_notify_ts_reads_the_notice() -> None:
    ts = ts_types((REPO / "labextension" / "src" / "notify.ts").read_text(encoding="utf-8"))
    assert ts["EndNotice"] == set(typing.get_type_hints(EndNotice))
