"""In-script ``Run.get_context()``: an offline run checks every ``log*`` call exactly as a submitted run does."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from jupyter_amlrun import Run
from jupyter_amlrun.runtime.errors import MetricValidationException, UserErrorException

BAD_NAMES = ["a/", ".", "a//b", "./x", "/lead", "..", "../x", "", "x" * 251, "semi;colon"]


@pytest.mark.unit
@pytest.mark.parametrize("name", BAD_NAMES)
def test_offline_log_refuses_names_mlflow_refuses(name: str, amlrun_home: Path) -> None:
    run = Run.get_context()
    for call in (
        lambda: run.log(name, 1.0),
        lambda: run.log_list(name, [1]),
        lambda: run.log_row(name, a=1),
        lambda: run.log_table(name, {"a": [1]}),
        lambda: run.log_accuracy_table(name, {"a": [1]}),
        lambda: run.log_image(name, path="x.png"),
    ):
        with pytest.raises(MetricValidationException, match="Invalid metric name") as info:
            call()
        assert isinstance(info.value, UserErrorException)
    assert run.get_metrics() == {}


@pytest.mark.unit
@pytest.mark.parametrize(
    ("value", "step", "says"),
    [
        (1 + 2j, None, "takes a number or a string, not complex"),
        (object(), None, "takes a number or a string, not object"),
        (b"raw", None, "decode it first"),
        ([1, 2], None, "Use run.log_list instead"),
        ({"a": 1}, None, "Use run.log_list instead"),
        (1.0, 1.5, "step must be an integer"),
        (1.0, True, "step must be an integer"),
    ],
)
def test_offline_log_refuses_values_it_cannot_keep(value: Any, step: Any, says: str, amlrun_home: Path) -> None:
    run = Run.get_context()
    with pytest.raises(MetricValidationException, match=says):
        run.log("m", value, step=step)


@pytest.mark.unit
def test_offline_log_keeps_what_mlflow_cannot_hold_as_logged(amlrun_home: Path, capsys: Any) -> None:
    import math

    run = Run.get_context()
    run.log("big", 10**400)
    run.log("nan", math.nan)
    run.log("text", "s" * 1000)
    run.log("far", 1.0, step=2**70)
    run.log_list("nested", [[1, [2]], {"a": 3}])
    got = run.get_metrics()
    assert got["big"] == 10**400 and math.isnan(got["nan"]) and got["nested"] == [[1, [2]], {"a": 3}]
    with pytest.raises(MetricValidationException, match="log_list takes a list"):
        run.log_list("l", "not a list")
    with pytest.raises(MetricValidationException, match="column 'a' of log_table must be a list"):
        run.log_table("t", {"a": 3})
