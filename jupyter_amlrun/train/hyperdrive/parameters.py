"""The v1 parameter expressions (``choice``, ``uniform``, ``loguniform``, ...) of a hyperparameter space.

Each expression is a :class:`ParameterExpression`: what v1 serialises (``[name, [args]]``) plus how to draw a value
through an Optuna trial. Every distribution is drawn as an *underlying* variable Optuna knows (a categorical, an
integer range, a float range; for the normal family a uniform ``u`` in (0, 1)) and then transformed exactly as v1
defines it (``exp`` for the log ones, ``round(x / q) * q`` for the quantised ones, the normal's inverse CDF for
``normal``), so random sampling is exact for every distribution and a seeded sweep draws the same values again.
"""

from __future__ import annotations

import json
import math
import numbers
from collections.abc import Sequence
from statistics import NormalDist
from typing import Any

from jupyter_amlrun.runtime.errors import UserErrorException

__all__ = [
    "ParameterExpression",
    "choice",
    "lognormal",
    "loguniform",
    "normal",
    "qlognormal",
    "qloguniform",
    "qnormal",
    "quniform",
    "randint",
    "uniform",
]

#: the child tag holding its sampled values as JSON (v1)
HYPERPARAMETERS_TAG = "hyperparameters"
_EPS = 1e-12  # keeps the normal's inverse CDF away from 0 and 1


def _number(what: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not math.isfinite(float(value)):
        raise UserErrorException(f"{what} must be a finite number, got {value!r}.")
    return float(value)


def _positive(what: str, value: Any) -> float:
    v = _number(what, value)
    if v <= 0:
        raise UserErrorException(f"{what} must be greater than 0, got {value!r}.")
    return v


def _quantize(x: float, q: float) -> float:
    return round(x / q) * q


class ParameterExpression:
    """One distribution of a parameter space (v1's ``azureml.train.hyperdrive.parameter_expressions``).

    Parameters
    ----------
    name:
        The v1 distribution name (``"choice"``, ``"uniform"``, ...).
    args:
        Its arguments, in v1's order.
    """

    #: the distributions Bayesian sampling accepts (v1: choice, uniform and quniform only)
    BAYESIAN = frozenset({"choice", "uniform", "quniform"})

    def __init__(self, name: str, args: Sequence[Any]) -> None:
        self.name = name
        self.args = list(args)

    # v1 spelling: a list [name, [args]]
    def to_config(self) -> list[Any]:
        """The v1 serialised form, ``[name, [args]]`` (``choice`` wraps its options in one more list)."""
        return [self.name, [list(self.args)] if self.name == "choice" else list(self.args)]

    @property
    def is_discrete(self) -> bool:
        """Whether the expression is a finite list of values (only ``choice``: what grid sampling takes)."""
        return self.name == "choice"

    def optuna_distribution(self) -> Any:
        """The underlying variable's Optuna distribution (see the module docstring)."""
        from optuna.distributions import CategoricalDistribution, FloatDistribution, IntDistribution

        a = self.args
        if self.name == "choice":
            return CategoricalDistribution(list(range(len(a))))  # indices: options may be any JSON value
        if self.name == "randint":
            return IntDistribution(0, int(a[0]) - 1)
        if self.name in ("uniform", "quniform", "loguniform", "qloguniform"):
            return FloatDistribution(float(a[0]), float(a[1]))
        return FloatDistribution(_EPS, 1.0 - _EPS)  # the normal family: u in (0, 1)

    def transform(self, x: Any) -> Any:
        """The parameter's value for the underlying variable's value ``x``."""
        a = self.args
        if self.name == "choice":
            return a[int(x)]
        if self.name == "randint":
            return int(x)
        if self.name == "uniform":
            return float(x)
        if self.name == "quniform":
            return _quantize(float(x), a[2])
        if self.name == "loguniform":
            return math.exp(float(x))
        if self.name == "qloguniform":
            return _quantize(math.exp(float(x)), a[2])
        z = NormalDist(a[0], a[1]).inv_cdf(min(max(float(x), _EPS), 1.0 - _EPS))
        if self.name == "normal":
            return z
        if self.name == "qnormal":
            return _quantize(z, a[2])
        if self.name == "lognormal":
            return math.exp(z)
        return _quantize(math.exp(z), a[2])  # qlognormal

    def __repr__(self) -> str:
        return f"{self.name}({', '.join(repr(v) for v in self.args)})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, ParameterExpression) and (self.name, self.args) == (other.name, other.args)

    def __hash__(self) -> int:
        return hash((self.name, repr(self.args)))


def choice(*options: Any) -> ParameterExpression:
    """One of ``options`` (``choice(16, 32, 64)``, ``choice([16, 32, 64])`` or ``choice(range(1, 5))``)."""
    wrapped = len(options) == 1 and isinstance(options[0], list | tuple | range)
    values = list(options[0] if wrapped else options)
    if not values:
        raise UserErrorException("choice() needs at least one option, e.g. choice(16, 32, 64).")
    for v in values:
        if not (v is None or isinstance(v, str | bool | int | float)):
            raise UserErrorException(
                f"choice() options must be numbers, strings, booleans or None, got {v!r} ({type(v).__name__})."
            )
    return ParameterExpression("choice", values)


def randint(upper: int) -> ParameterExpression:
    """A random integer in ``[0, upper)``."""
    if isinstance(upper, bool) or not isinstance(upper, int) or upper < 1:
        raise UserErrorException(f"randint(upper) needs an integer upper >= 1, got {upper!r}.")
    return ParameterExpression("randint", [upper])


def _range(fn: str, min_value: Any, max_value: Any) -> list[float]:
    lo, hi = _number(f"{fn} min_value", min_value), _number(f"{fn} max_value", max_value)
    if lo >= hi:
        raise UserErrorException(f"{fn}(min_value, max_value) needs min_value < max_value, got {lo} >= {hi}.")
    return [lo, hi]


def uniform(min_value: float, max_value: float) -> ParameterExpression:
    """Uniform between ``min_value`` and ``max_value``."""
    return ParameterExpression("uniform", _range("uniform", min_value, max_value))


def quniform(min_value: float, max_value: float, q: float) -> ParameterExpression:
    """``round(uniform(min_value, max_value) / q) * q``."""
    return ParameterExpression("quniform", [*_range("quniform", min_value, max_value), _positive("quniform q", q)])


def loguniform(min_value: float, max_value: float) -> ParameterExpression:
    """``exp(uniform(min_value, max_value))``: the bounds are exponents (``loguniform(-6, -1)`` spans e^-6..e^-1)."""
    return ParameterExpression("loguniform", _range("loguniform", min_value, max_value))


def qloguniform(min_value: float, max_value: float, q: float) -> ParameterExpression:
    """``round(exp(uniform(min_value, max_value)) / q) * q``."""
    bounds = _range("qloguniform", min_value, max_value)
    return ParameterExpression("qloguniform", [*bounds, _positive("qloguniform q", q)])


def normal(mu: float, sigma: float) -> ParameterExpression:
    """Normally distributed with mean ``mu`` and standard deviation ``sigma``."""
    return ParameterExpression("normal", [_number("normal mu", mu), _positive("normal sigma", sigma)])


def qnormal(mu: float, sigma: float, q: float) -> ParameterExpression:
    """``round(normal(mu, sigma) / q) * q``."""
    return ParameterExpression(
        "qnormal", [_number("qnormal mu", mu), _positive("qnormal sigma", sigma), _positive("qnormal q", q)]
    )


def lognormal(mu: float, sigma: float) -> ParameterExpression:
    """``exp(normal(mu, sigma))``."""
    return ParameterExpression("lognormal", [_number("lognormal mu", mu), _positive("lognormal sigma", sigma)])


def qlognormal(mu: float, sigma: float, q: float) -> ParameterExpression:
    """``round(exp(normal(mu, sigma)) / q) * q``."""
    return ParameterExpression(
        "qlognormal",
        [_number("qlognormal mu", mu), _positive("qlognormal sigma", sigma), _positive("qlognormal q", q)],
    )


def arg_name(name: str) -> str:
    """How a parameter reaches the script: as given when it starts with '-', else ``--name`` (v1)."""
    return name if name.startswith("-") else f"--{name}"


def format_arg(value: Any) -> str:
    """A sampled value as a script argument (``None`` and booleans as JSON: ``null``, ``true``)."""
    return json.dumps(value) if value is None or isinstance(value, bool) else str(value)


def from_config(doc: Any) -> ParameterExpression:
    """The expression of a v1 serialised form (``[name, [args]]``), as :meth:`ParameterExpression.to_config` writes."""
    name, args = doc[0], doc[1]
    return ParameterExpression(name, args[0] if name == "choice" else args)
