"""Issue 11 units: distributions, samplings, policies and the config's errors (no processes)."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import optuna
import pytest

from jupyter_amlrun import ScriptRunConfig
from jupyter_amlrun.runtime.errors import UserErrorException
from jupyter_amlrun.train.hyperdrive import (
    BanditPolicy,
    BayesianParameterSampling,
    GridParameterSampling,
    HyperDriveConfig,
    MedianStoppingPolicy,
    NoTerminationPolicy,
    PrimaryMetricGoal,
    RandomParameterSampling,
    TruncationSelectionPolicy,
    choice,
    lognormal,
    loguniform,
    normal,
    qloguniform,
    qnormal,
    quniform,
    randint,
    uniform,
)
from jupyter_amlrun.train.hyperdrive.policy import policy_from_config
from jupyter_amlrun.train.hyperdrive.sampling import sampling_from_config

pytestmark = pytest.mark.unit


def _draw(space: dict[str, Any], n: int, seed: int = 0) -> list[dict[str, Any]]:
    sampling = RandomParameterSampling(space, properties={"rngSeed": seed})
    study = optuna.create_study(sampler=sampling.optuna_sampler())
    dists = {k: e.optuna_distribution() for k, e in space.items()}
    out = []
    for _ in range(n):
        t = study.ask(dists)
        out.append({k: e.transform(t.params[k]) for k, e in space.items()})
        study.tell(t, 0.0)
    return out


def test_random_draws_follow_v1_definitions() -> None:
    space = {
        "lr": loguniform(-6, -1),
        "q": quniform(0, 10, 2),
        "ql": qloguniform(0, 3, 1),
        "n": normal(5, 0.1),
        "qn": qnormal(0, 10, 5),
        "ln": lognormal(0, 0.5),
        "r": randint(3),
        "c": choice("a", "b"),
        "u": uniform(-1, 1),
    }
    draws = _draw(space, 200)
    assert all(math.exp(-6) <= d["lr"] <= math.exp(-1) for d in draws)
    assert all(d["q"] % 2 == 0 and 0 <= d["q"] <= 10 for d in draws)
    assert all(d["ql"] == round(d["ql"]) for d in draws)
    assert abs(sum(d["n"] for d in draws) / 200 - 5) < 0.05
    assert all(d["qn"] % 5 == 0 for d in draws)
    assert all(d["ln"] > 0 for d in draws)
    assert {d["r"] for d in draws} == {0, 1, 2}
    assert {d["c"] for d in draws} == {"a", "b"}
    assert _draw(space, 5, seed=7) == _draw(space, 5, seed=7), "a seeded sweep draws the same values again"


def test_bayesian_is_tpe_and_converges_on_a_simple_objective() -> None:
    space = {"x": uniform(-2, 2), "q": quniform(0, 10, 5), "c": choice("a", "b")}
    sampling = BayesianParameterSampling(space, properties={"rngSeed": 0})
    sampler = sampling.optuna_sampler()
    assert isinstance(sampler, optuna.samplers.TPESampler)
    study = optuna.create_study(direction="maximize", sampler=sampler)
    dists = {k: e.optuna_distribution() for k, e in space.items()}
    best = -math.inf
    for _ in range(30):
        t = study.ask(dists)
        p = {k: e.transform(t.params[k]) for k, e in space.items()}
        assert p["q"] in (0, 5, 10) and p["c"] in ("a", "b")
        value = -((p["x"] - 1) ** 2) + (1 if p["c"] == "b" else 0)
        best = max(best, value)
        study.tell(t, value)
    assert best > 0.9


def test_grid_enumerates_every_combination_once() -> None:
    grid = GridParameterSampling({"a": choice(1, 2, 3), "b": choice([True, False])})
    assert grid.total_runs() == 6
    points = grid.enqueued()
    assert len({tuple(sorted(p.items())) for p in points}) == 6
    again = sampling_from_config(grid.to_json())
    assert isinstance(again, GridParameterSampling) and again.enqueued() == points


def test_bandit_factor_and_amount_both_goals() -> None:
    bandit = BanditPolicy(evaluation_interval=1, slack_factor=0.1)
    reports = {"best": [1.0, 2.0], "ok": [0.95, 1.9], "bad": [0.5, 1.0]}
    assert bandit.decide("ok", 1, reports, maximize=True) is None
    reason = bandit.decide("bad", 2, reports, maximize=True)
    assert reason and reason.startswith("early termination by BanditPolicy")
    low = {"best": [1.0], "bad": [1.2]}
    assert bandit.decide("bad", 1, low, maximize=False)  # 1.2 > 1.0 * 1.1
    amount = BanditPolicy(slack_amount=0.3)
    assert amount.decide("ok", 1, {"best": [1.0], "ok": [0.75]}, maximize=True) is None
    assert amount.decide("bad", 1, {"best": [1.0], "bad": [0.65]}, maximize=True)
    assert policy_from_config(amount.to_json()).to_json() == amount.to_json()


def test_intervals_and_delay() -> None:
    policy = BanditPolicy(evaluation_interval=2, slack_factor=0.1, delay_evaluation=3)
    assert [n for n in range(1, 9) if policy.due(n)] == [4, 6, 8]


def test_median_and_truncation() -> None:
    median = MedianStoppingPolicy()
    reports = {"a": [1.0, 1.0], "b": [0.9, 0.9], "c": [0.1, 0.2]}
    assert median.decide("c", 2, reports, maximize=True)
    assert median.decide("a", 2, reports, maximize=True) is None
    trunc = TruncationSelectionPolicy(truncation_percentage=34)
    assert trunc.decide("c", 1, reports, maximize=True)
    assert trunc.decide("b", 1, reports, maximize=True) is None
    assert isinstance(policy_from_config(NoTerminationPolicy().to_json()), NoTerminationPolicy)


@pytest.fixture
def src(tmp_path: Path) -> ScriptRunConfig:
    (tmp_path / "train.py").write_text("print(1)\n")
    return ScriptRunConfig(source_directory=tmp_path, script="train.py")


def _hd(src: ScriptRunConfig, **kw: Any) -> HyperDriveConfig:
    args: dict[str, Any] = {
        "run_config": src,
        "hyperparameter_sampling": RandomParameterSampling({"--lr": uniform(0, 1)}),
        "primary_metric_name": "accuracy",
        "primary_metric_goal": PrimaryMetricGoal.MAXIMIZE,
        "max_total_runs": 4,
    }
    args.update(kw)
    return HyperDriveConfig(**args)


@pytest.mark.parametrize(
    ("make", "words"),
    [
        (lambda s: _hd(s, primary_metric_goal="BIGGER"), "Unknown primary_metric_goal"),
        (lambda s: _hd(s, hyperparameter_sampling=RandomParameterSampling({})), "parameter space is empty"),
        (lambda s: _hd(s, max_concurrent_runs=0), "max_concurrent_runs must be an integer from 1"),
        (lambda s: _hd(s, max_total_runs=None), "max_total_runs is required"),
        (lambda s: _hd(s, max_duration_minutes=-1), "max_duration_minutes must be a positive"),
        (lambda s: _hd(s, primary_metric_name=""), "primary_metric_name must name"),
        (lambda s: _hd(s, run_config=None), "exactly one of run_config"),
        (lambda s: GridParameterSampling({"lr": uniform(0, 1)}), "not discrete"),
        (lambda s: BayesianParameterSampling({"lr": normal(0, 1)}), "choice, uniform and quniform only"),
        (
            lambda s: _hd(
                s,
                hyperparameter_sampling=BayesianParameterSampling({"lr": uniform(0, 1)}),
                policy=BanditPolicy(slack_factor=0.1),
            ),
            "does not support early termination",
        ),
        (lambda s: BanditPolicy(slack_factor=0.1, slack_amount=0.2), "exactly one of slack_factor"),
        (lambda s: RandomParameterSampling({"lr": 0.1}), "use a distribution"),
        (lambda s: uniform(1, 0), "min_value < max_value"),
        (lambda s: choice(), "at least one option"),
        (lambda s: TruncationSelectionPolicy(truncation_percentage=100), "1..99"),
        (
            lambda s: _hd(s, run_config=ScriptRunConfig(s.source_directory, "train.py", arguments=["--lr", 1])),
            "already in the run_config's arguments",
        ),
    ],
)
def test_clear_errors_for_bad_configs(src: ScriptRunConfig, make: Any, words: str) -> None:
    with pytest.raises(UserErrorException, match=words):
        make(src)


def test_config_defaults_and_v1_json(src: ScriptRunConfig) -> None:
    grid = HyperDriveConfig(
        run_config=src,
        hyperparameter_sampling=GridParameterSampling({"a": choice(1, 2)}),
        primary_metric_name="loss",
        primary_metric_goal="minimize",
    )
    assert (grid.max_total_runs, grid.max_concurrent_runs) == (2, 2)
    doc = grid.to_json()
    assert doc["primary_metric_config"] == {"name": "loss", "goal": "minimize"}
    assert doc["generator_config"]["parameter_space"] == {"a": ["choice", [[1, 2]]]}
    assert doc["policy_config"]["name"] == "DEFAULT"
