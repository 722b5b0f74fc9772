"""Estimators port v1 notebooks: script_params flattening, validation messages, submit overrides."""

from __future__ import annotations

from typing import Any

import pytest

from jupyter_amlrun import Estimator, Experiment, PyTorch, SKLearn, Workspace
from jupyter_amlrun.core.errors import RunConfigurationException, UserErrorException
from jupyter_amlrun.core.estimator import script_params_to_arguments


@pytest.mark.unit
def test_script_params_flatten_like_v1() -> None:
    assert script_params_to_arguments({"--a": 1, "--flag": "", "--list": [1, 2], "--none": None}) == [
        "--a",
        1,
        "--flag",
        "--list",
        1,
        2,
        "--none",
    ]


@pytest.mark.unit
def test_validation_messages(tmp_path: Any) -> None:
    with pytest.raises(RunConfigurationException, match="Node count should be at least 1"):
        Estimator(str(tmp_path), entry_script="t.py", node_count=0)
    with pytest.raises(RunConfigurationException, match="'distributed_backend' or 'distributed_training' must be"):
        Estimator(str(tmp_path), entry_script="t.py", node_count=2)
    with pytest.raises(RunConfigurationException, match="not a supported distributed backend"):
        Estimator(str(tmp_path), entry_script="t.py", node_count=2, distributed_backend="nccl")
    from jupyter_amlrun import Environment

    with pytest.raises(RunConfigurationException, match="do not also pass pip_packages"):
        Estimator(str(tmp_path), entry_script="t.py", environment_definition=Environment("e"), pip_packages=["x"])
    with pytest.raises(UserErrorException, match="single node"):
        SKLearn(str(tmp_path), entry_script="t.py", node_count=2)
    pt = PyTorch(str(tmp_path), entry_script="t.py", node_count=2, distributed_backend="gloo")
    assert pt.run_config.framework == "PyTorch" and pt.run_config.node_count == 2
    assert pt.run_config.environment_variables["NCCL_TREE_THRESHOLD"] == "0"


@pytest.mark.integration
def test_estimator_submits_and_overrides(ws: Workspace, make_source: Any) -> None:
    src = make_source({"train.py": "import sys\nprint('ARGS', sys.argv[1:])\n"})
    est = SKLearn(str(src), entry_script="train.py", script_params={"--C": 0.5}, pip_packages=["scikit-learn"])
    exp = Experiment(ws, "est")
    run = exp.submit(est)
    assert run.wait_for_completion()["runDefinition"]["arguments"] == ["--C", "0.5"]
    run2 = exp.submit(est, script_params={"--C": 2})
    assert run2.wait_for_completion()["runDefinition"]["arguments"] == ["--C", "2"]
    with pytest.raises(UserErrorException, match="cannot be overridden"):
        exp.submit(est, compute_target="x")
