"""Parameter sampling (v1's Random, Grid and Bayesian sampling) on Optuna samplers.

- :class:`RandomParameterSampling`: Optuna's ``RandomSampler`` over each expression's underlying variable, then v1's
  transform (:mod:`.parameters`): exact for every distribution.
- :class:`GridParameterSampling`: every combination of the ``choice`` values, each exactly once, in order (enqueued
  into the Optuna study); the sweep ends when the grid is exhausted.
- :class:`BayesianParameterSampling`: Optuna's TPE sampler (Tree-structured Parzen Estimator), told every finished
  child's primary metric; like v1 it takes ``choice``, ``uniform`` and ``quniform`` only and no early termination.
"""

from __future__ import annotations

import itertools
from typing import Any

from jupyter_amlrun.runtime.errors import UserErrorException
from jupyter_amlrun.train.hyperdrive.parameters import ParameterExpression, from_config

__all__ = [
    "BayesianParameterSampling",
    "GridParameterSampling",
    "HyperParameterSampling",
    "RandomParameterSampling",
    "sampling_from_config",
]


class HyperParameterSampling:
    """A parameter space and how to sample it (the base of the three v1 samplings).

    Parameters
    ----------
    sampling_method_name:
        ``"RANDOM"``, ``"GRID"`` or ``"BAYESIANOPTIMIZATION"`` (v1's names).
    parameter_space:
        ``{argument name: expression}``, e.g. ``{"--lr": loguniform(-6, -1)}``; a name without a leading ``-``
        reaches the script as ``--name``.
    properties:
        v1's extra properties; ``{"rngSeed": n}`` seeds the sampler.
    """

    def __init__(
        self, sampling_method_name: str, parameter_space: dict[str, Any], properties: dict[str, Any] | None = None
    ) -> None:
        self.sampling_method_name = sampling_method_name
        self._parameter_space = _check_space(type(self).__name__, parameter_space)
        self._properties = dict(properties or {})
        seed = self._properties.get("rngSeed")
        if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int)):
            raise UserErrorException(f"properties['rngSeed'] must be an integer, got {seed!r}.")
        self.seed: int | None = seed

    @property
    def parameter_space(self) -> dict[str, ParameterExpression]:
        return dict(self._parameter_space)

    def to_json(self) -> dict[str, Any]:
        """v1's ``generator_config``: ``{"name": ..., "parameter_space": {name: [dist, [args]]}, "properties"}``."""
        return {
            "name": self.sampling_method_name,
            "parameter_space": {k: v.to_config() for k, v in self._parameter_space.items()},
            "properties": self._properties,
        }

    def total_runs(self) -> int | None:
        """How many distinct runs the space holds (grid only; ``None``: unbounded)."""
        return None

    def supports_policy(self) -> bool:
        return True

    def optuna_sampler(self) -> Any:
        """The Optuna sampler that asks for each child's parameters."""
        import optuna

        return optuna.samplers.RandomSampler(seed=self.seed)

    def enqueued(self) -> list[dict[str, Any]]:
        """Underlying values to try first, in order (the grid)."""
        return []


class RandomParameterSampling(HyperParameterSampling):
    """Random sampling: each child's values drawn independently from every distribution."""

    SAMPLING_NAME = "RANDOM"

    def __init__(self, parameter_space: dict[str, Any], properties: dict[str, Any] | None = None) -> None:
        super().__init__("RANDOM", parameter_space, properties)


class GridParameterSampling(HyperParameterSampling):
    """Grid sampling: every combination of the ``choice`` values once (only ``choice`` expressions)."""

    SAMPLING_NAME = "GRID"

    def __init__(self, parameter_space: dict[str, Any], properties: dict[str, Any] | None = None) -> None:
        super().__init__("GRID", parameter_space, properties)
        continuous = [f"{k}={v!r}" for k, v in self._parameter_space.items() if not v.is_discrete]
        if continuous:
            raise UserErrorException(
                f"GridParameterSampling takes choice() expressions only; {', '.join(continuous)} is not discrete. "
                "Use choice(...) with the values to try, or RandomParameterSampling for continuous ranges."
            )

    def total_runs(self) -> int:
        total = 1
        for expr in self._parameter_space.values():
            total *= len(expr.args)
        return total

    def enqueued(self) -> list[dict[str, Any]]:
        names = list(self._parameter_space)
        ranges = [range(len(self._parameter_space[n].args)) for n in names]
        return [dict(zip(names, combo, strict=True)) for combo in itertools.product(*ranges)]


class BayesianParameterSampling(HyperParameterSampling):
    """Bayesian sampling on Optuna's TPE sampler (v1 limits: choice, uniform and quniform; no early termination)."""

    SAMPLING_NAME = "BayesianOptimization"

    def __init__(self, parameter_space: dict[str, Any], properties: dict[str, Any] | None = None) -> None:
        super().__init__("BAYESIANOPTIMIZATION", parameter_space, properties)
        other = [f"{k}={v!r}" for k, v in self._parameter_space.items() if v.name not in ParameterExpression.BAYESIAN]
        if other:
            raise UserErrorException(
                f"BayesianParameterSampling supports choice, uniform and quniform only; {', '.join(other)} is not "
                "one of them. Use RandomParameterSampling for the other distributions."
            )

    def supports_policy(self) -> bool:
        return False

    def optuna_sampler(self) -> Any:
        import optuna

        # A few random trials first (TPE's default is 10; small sweeps need to start modelling sooner).
        return optuna.samplers.TPESampler(seed=self.seed, n_startup_trials=5)


def _check_space(owner: str, space: Any) -> dict[str, ParameterExpression]:
    if not isinstance(space, dict):
        raise UserErrorException(
            f"{owner} needs a dict of {{argument name: expression}}, e.g. {{'--lr': uniform(0.01, 0.1)}}; got "
            f"{type(space).__name__}."
        )
    if not space:
        raise UserErrorException(
            f"{owner}: the parameter space is empty. Give at least one parameter, e.g. {{'--lr': uniform(0.01, 0.1)}}."
        )
    out: dict[str, ParameterExpression] = {}
    for name, expr in space.items():
        if not isinstance(name, str) or not name.strip("-") or any(c.isspace() for c in name):
            raise UserErrorException(f"{owner}: parameter name {name!r} must be a non-empty string without spaces.")
        if not isinstance(expr, ParameterExpression):
            raise UserErrorException(
                f"{owner}: parameter {name!r} is {expr!r}; use a distribution from "
                "jupyter_amlrun.train.hyperdrive (choice, uniform, loguniform, normal, ...)."
            )
        out[name] = expr
    return out


_KINDS: dict[str, type[RandomParameterSampling | GridParameterSampling | BayesianParameterSampling]] = {
    "RANDOM": RandomParameterSampling,
    "GRID": GridParameterSampling,
    "BAYESIANOPTIMIZATION": BayesianParameterSampling,
}


def sampling_from_config(doc: dict[str, Any]) -> HyperParameterSampling:
    """The sampling :meth:`HyperParameterSampling.to_json` describes (how the controller gets it)."""
    cls = _KINDS[doc["name"]]
    space = {k: from_config(v) for k, v in doc["parameter_space"].items()}
    return cls(space, doc.get("properties") or None)
