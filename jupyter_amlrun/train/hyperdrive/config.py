"""HyperDriveConfig (what a sweep runs and how) and PrimaryMetricGoal; ``Experiment.submit(config)`` starts it."""

from __future__ import annotations

import copy
import enum
import math
import numbers
import pickle
from pathlib import Path
from typing import TYPE_CHECKING, Any

from jupyter_amlrun.runtime.errors import UserErrorException
from jupyter_amlrun.train.hyperdrive.parameters import arg_name
from jupyter_amlrun.train.hyperdrive.policy import EarlyTerminationPolicy, NoTerminationPolicy
from jupyter_amlrun.train.hyperdrive.sampling import HyperParameterSampling

if TYPE_CHECKING:
    from jupyter_amlrun.core.experiment import Experiment
    from jupyter_amlrun.core.runconfig import ScriptRunConfig
    from jupyter_amlrun.train.hyperdrive.run import HyperDriveRun

__all__ = ["MAX_CONCURRENT_RUNS", "MAX_TOTAL_RUNS", "HyperDriveConfig", "PrimaryMetricGoal"]

MAX_TOTAL_RUNS = 1000  # v1's limits
MAX_CONCURRENT_RUNS = 100
DEFAULT_MAX_DURATION_MINUTES = 10080


class PrimaryMetricGoal(str, enum.Enum):
    """Whether the primary metric is to be maximized or minimized."""

    MAXIMIZE = "MAXIMIZE"
    MINIMIZE = "MINIMIZE"

    @classmethod
    def from_str(cls, goal: str) -> PrimaryMetricGoal:
        """v1's parser: ``"maximize"``/``"minimize"`` in any case."""
        return cls.parse(goal)

    @classmethod
    def parse(cls, value: Any) -> PrimaryMetricGoal:
        if isinstance(value, cls):
            return value
        if isinstance(value, str) and value.upper() in cls.__members__:
            return cls[value.upper()]
        raise UserErrorException(
            f"Unknown primary_metric_goal {value!r}: use PrimaryMetricGoal.MAXIMIZE or PrimaryMetricGoal.MINIMIZE."
        )


def _limit(what: str, value: Any, maximum: float) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= maximum:
        raise UserErrorException(f"{what} must be an integer from 1 to {maximum:g}, got {value!r}.")
    return value


class HyperDriveConfig:
    """A hyperparameter sweep: a script run many times with sampled arguments, the best kept (v1's HyperDriveConfig).

    Parameters
    ----------
    hyperparameter_sampling:
        :class:`RandomParameterSampling`, :class:`GridParameterSampling` or :class:`BayesianParameterSampling`.
    primary_metric_name:
        The metric every child logs (``run.log(name, value)``); each logged value is one evaluation interval.
    primary_metric_goal:
        :class:`PrimaryMetricGoal` (or ``"MAXIMIZE"`` / ``"MINIMIZE"``).
    max_total_runs:
        How many children at most (a grid's size when not given; required otherwise). 1 to 1000.
    max_concurrent_runs:
        How many children may run at once (default: ``max_total_runs``): a child counts from its submit until its
        script has ended (its Finalizing upload no longer holds back the next child); a pool queues beyond its nodes.
    max_duration_minutes:
        The sweep's time limit; when it passes, live children are canceled and the sweep ends (default 10080).
    policy:
        An early termination policy (default: :class:`NoTerminationPolicy`).
    run_config:
        The :class:`ScriptRunConfig` every child runs (its snapshot and environment); the sampled values are appended
        to its arguments as ``name value``.
    estimator:
        An estimator instead of ``run_config`` (v1's older form).
    """

    def __init__(
        self,
        hyperparameter_sampling: HyperParameterSampling,
        primary_metric_name: str,
        primary_metric_goal: PrimaryMetricGoal | str,
        max_total_runs: int | None = None,
        max_concurrent_runs: int | None = None,
        max_duration_minutes: float = DEFAULT_MAX_DURATION_MINUTES,
        policy: EarlyTerminationPolicy | None = None,
        estimator: Any = None,
        run_config: ScriptRunConfig | None = None,
        resume_from: Any = None,
        resume_child_runs: Any = None,
        pipeline: Any = None,
        debug_flag: Any = None,
        custom_run_id: str | None = None,
    ) -> None:
        if not isinstance(hyperparameter_sampling, HyperParameterSampling):
            raise UserErrorException(
                "hyperparameter_sampling must be RandomParameterSampling, GridParameterSampling or "
                f"BayesianParameterSampling, got {type(hyperparameter_sampling).__name__}."
            )
        if not isinstance(primary_metric_name, str) or not primary_metric_name.strip():
            raise UserErrorException(
                f"primary_metric_name must name the metric the script logs (run.log('accuracy', ...)), got "
                f"{primary_metric_name!r}."
            )
        self._goal = PrimaryMetricGoal.parse(primary_metric_goal)
        policy = policy if policy is not None else NoTerminationPolicy()
        if not isinstance(policy, EarlyTerminationPolicy):
            raise UserErrorException(
                "policy must be BanditPolicy, MedianStoppingPolicy, TruncationSelectionPolicy or NoTerminationPolicy, "
                f"got {type(policy).__name__}."
            )
        if not hyperparameter_sampling.supports_policy() and not isinstance(policy, NoTerminationPolicy):
            raise UserErrorException(
                f"BayesianParameterSampling does not support early termination ({type(policy).__name__}); pass "
                "policy=None (or NoTerminationPolicy()), or use RandomParameterSampling with the policy."
            )
        grid = hyperparameter_sampling.total_runs()
        if max_total_runs is None:
            if grid is None:
                raise UserErrorException(
                    "max_total_runs is required with random or Bayesian sampling (how many children to run), e.g. "
                    "max_total_runs=20."
                )
            max_total_runs = min(grid, MAX_TOTAL_RUNS)
        total = _limit("max_total_runs", max_total_runs, MAX_TOTAL_RUNS)
        if grid is not None:
            total = min(total, grid)  # a grid runs each point once
        concurrent = _limit(
            "max_concurrent_runs", total if max_concurrent_runs is None else max_concurrent_runs, MAX_CONCURRENT_RUNS
        )
        if (
            isinstance(max_duration_minutes, bool)
            or not isinstance(max_duration_minutes, numbers.Real)
            or not math.isfinite(max_duration_minutes)
            or max_duration_minutes <= 0
        ):
            raise UserErrorException(
                f"max_duration_minutes must be a positive number of minutes, got {max_duration_minutes!r}."
            )
        if (run_config is None) == (estimator is None):
            raise UserErrorException(
                "HyperDriveConfig needs exactly one of run_config (a ScriptRunConfig) and estimator: what each child "
                "runs."
            )
        if estimator is not None:
            make = getattr(estimator, "_config", None)
            if not callable(make):
                raise UserErrorException(f"estimator must be an Estimator, got {type(estimator).__name__}.")
            run_config = make(None, None)
        from jupyter_amlrun.core.runconfig import ScriptRunConfig

        if not isinstance(run_config, ScriptRunConfig):
            raise UserErrorException(f"run_config must be a ScriptRunConfig, got {type(run_config).__name__}.")
        for name in hyperparameter_sampling.parameter_space:
            if arg_name(name) in [str(a) for a in run_config.run_config.arguments]:
                raise UserErrorException(
                    f"Parameter {name!r} is already in the run_config's arguments; the sweep appends it with each "
                    "sampled value. Remove it from ScriptRunConfig(arguments=...)."
                )
        for what, value in (("resume_from", resume_from), ("resume_child_runs", resume_child_runs)):
            if value is not None:
                raise UserErrorException(f"{what} (warm-starting a sweep) is not supported; start a new sweep.")
        if pipeline is not None:
            raise UserErrorException("Sweeping a pipeline is not supported; give run_config (a ScriptRunConfig).")
        self._sampling: HyperParameterSampling = hyperparameter_sampling
        self._primary_metric_name: str = primary_metric_name
        self._max_total_runs: int = total
        self._max_concurrent_runs: int = min(concurrent, total)
        self._max_duration_minutes: float = float(max_duration_minutes)
        self._policy: EarlyTerminationPolicy = policy
        self._run_config: ScriptRunConfig = run_config
        self._custom_run_id: str | None = custom_run_id
        self._estimator: Any = estimator

    # v1 read-only attributes
    @property
    @property
    def estimator(self) -> Any:
        """The Estimator the sweep was built from (``None`` when given ``run_config``)."""
        return self._estimator

    @property
    def source_directory(self) -> str:
        """The folder each child run snapshots."""
        return str(self._run_config.source_directory)

    @property
    def pipeline(self) -> None:
        """Always ``None``: sweeping pipelines is not supported (the constructor refuses ``pipeline=``)."""
        return None

    def primary_metric_name(self) -> str:
        return self._primary_metric_name

    @property
    def primary_metric_goal(self) -> PrimaryMetricGoal:
        return self._goal

    @property
    def max_total_runs(self) -> int:
        return self._max_total_runs

    @property
    def max_concurrent_runs(self) -> int:
        return self._max_concurrent_runs

    @property
    def max_duration_minutes(self) -> float:
        return self._max_duration_minutes

    @property
    def policy(self) -> EarlyTerminationPolicy:
        return self._policy

    @property
    def hyperparameter_sampling(self) -> HyperParameterSampling:
        return self._sampling

    @property
    def run_config(self) -> ScriptRunConfig:
        return self._run_config

    def to_json(self) -> dict[str, Any]:
        """What the controller reads (``hyperdrive.json`` in the parent's run folder), in v1's vocabulary."""
        return {
            "primary_metric_config": {"name": self._primary_metric_name, "goal": self._goal.value.lower()},
            "generator_config": self._sampling.to_json(),
            "policy_config": self._policy.to_json(),
            "max_total_jobs": self._max_total_runs,
            "max_concurrent_jobs": self._max_concurrent_runs,
            "max_duration_minutes": self._max_duration_minutes,
        }

    def _child_config_bytes(self) -> bytes:
        """The children's ScriptRunConfig, pickled for the controller process."""
        try:
            return pickle.dumps(copy.deepcopy(self._run_config))
        except Exception as exc:
            raise UserErrorException(
                f"The run_config cannot be handed to the sweep's controller process ({type(exc).__name__}: {exc}). "
                "Give arguments, environment and inputs as plain values and dataset references."
            ) from exc

    def _submit(self, experiment: Experiment, tags: dict[str, str] | None = None) -> HyperDriveRun:
        from jupyter_amlrun.train.hyperdrive.controller import start_sweep

        _check_child_config(self._run_config)
        return start_sweep(experiment, self, tags)

    def __repr__(self) -> str:
        return (
            f"HyperDriveConfig({type(self._sampling).__name__}, primary_metric={self._primary_metric_name!r} "
            f"({self._goal.value}), max_total_runs={self._max_total_runs}, "
            f"max_concurrent_runs={self._max_concurrent_runs}, policy={type(self._policy).__name__})"
        )


def _check_child_config(config: ScriptRunConfig) -> None:
    """What can be checked before the parent run exists: the folder and script (the rest fails the first child)."""
    src = Path(config.source_directory).expanduser()
    if not src.is_dir():
        raise UserErrorException(f"run_config.source_directory {str(src)!r} does not exist; create it or fix the path.")
    script = config.run_config.script
    if not script or not (src / script).is_file():
        raise UserErrorException(f"run_config: script {script!r} not found in source_directory {src.resolve()}.")


#: v1's deprecated name of :class:`HyperDriveConfig`.
HyperDriveRunConfig = HyperDriveConfig
