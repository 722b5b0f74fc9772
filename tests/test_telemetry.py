"""Telemetry switches are accepted no-ops that say nothing is sent; diagnostic_log captures log records."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest


@pytest.mark.unit
def test_telemetry_is_accepted_and_says_nothing_is_sent(capsys: pytest.CaptureFixture[str]) -> None:
    from jupyter_amlrun import telemetry

    telemetry.set_diagnostics_collection(send_diagnostics=True)
    assert "sends no telemetry" in capsys.readouterr().out
    telemetry.set_diagnostics_collection(send_diagnostics=False)
    assert capsys.readouterr().out == ""
    assert telemetry.get_diagnostics_collection_info()[0] is False
    assert telemetry.is_diagnostics_collection_info_available() is True
    telemetry.set_diagnostics_properties({"a": 1})
    telemetry.add_diagnostics_properties({"b": 2})
    assert telemetry.get_diagnostics_properties() == {"a": 1, "b": 2}
    assert isinstance(telemetry.get_telemetry_log_handler("key"), logging.NullHandler)
    assert telemetry.get_event_logger().name == "jupyter_amlrun.telemetry"


@pytest.mark.unit
def test_diagnostic_log_captures_records_into_a_file(tmp_path: Path) -> None:
    from jupyter_amlrun import diagnostic_log

    target = tmp_path / "sdk.log"
    with diagnostic_log(str(target), context_name="porting"):
        logging.getLogger("jupyter_amlrun.core.test").info("inside the capture")
    logging.getLogger("jupyter_amlrun.core.test").info("after the capture")
    text = target.read_text()
    assert "capture started: porting" in text and "inside the capture" in text
    assert "after the capture" not in text
