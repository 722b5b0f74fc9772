"""MLflow's metric rules, checked without mlflow: the same verdict as mlflow's own validation for every name."""

from __future__ import annotations

import math

import pytest

from jupyter_amlrun.tracking.metrics import MAX_EXACT_INT, STORED_INF, as_metric_value, from_stored, name_problem

NAMES = [
    "loss",
    "train/loss",
    "a b-c_d.e",
    "epoch:1",
    "ünïcode",
    "a/",
    ".",
    "..",
    "a//b",
    "./x",
    "x/./y",
    "x/../y",
    "/lead",
    "../x",
    "..x",
    "a.",
    "",
    "a\x00b",
    "semi;colon",
    "tab\tname",
    "new\nline",
    "quote'",
    "percent%",
]


@pytest.mark.unit
@pytest.mark.parametrize("name", NAMES)
def test_name_rules_match_mlflow(name: str) -> None:
    from mlflow.exceptions import MlflowException
    from mlflow.utils.validation import _validate_metric_name

    try:
        _validate_metric_name(name)
        mlflow_ok = True
    except MlflowException:
        mlflow_ok = False
    assert (name_problem(name) is None) == mlflow_ok, (name, name_problem(name))


@pytest.mark.unit
def test_name_problems_say_the_rule_and_the_fix() -> None:
    assert "would treat it as 'a'" in str(name_problem("a/")) and "use 'a'" in str(name_problem("a/"))
    assert "use 'a/b'" in str(name_problem("a//b"))
    assert "remove or replace ';'" in str(name_problem("a;b"))
    assert "at most 250 characters" in str(name_problem("x" * 251))
    assert name_problem("x" * 250) is None
    assert "must be a string" in str(name_problem(3))


@pytest.mark.unit
def test_metric_values_mlflow_can_hold_exactly() -> None:
    assert as_metric_value(3) == 3.0
    assert as_metric_value(MAX_EXACT_INT) == float(MAX_EXACT_INT)
    assert as_metric_value(MAX_EXACT_INT + 1) is None  # a float would round it
    assert as_metric_value(10**400) is None  # beyond float range
    assert as_metric_value(True) is None and as_metric_value("s") is None
    assert as_metric_value(math.inf) == STORED_INF and from_stored(-STORED_INF) == -math.inf
    assert math.isnan(as_metric_value(math.nan) or 0.0)
