"""Early-termination policies with v1's semantics (a small pruner of ours: Optuna has no Bandit or truncation).

Intervals: each value a child logs for the primary metric is one interval (v1). A policy is evaluated for a child at
interval ``n`` when ``n`` is a multiple of ``evaluation_interval`` and ``n >= delay_evaluation``; it compares the
child's value(s) up to interval ``n`` with those of every child that reached interval ``n``, finished ones included.
:meth:`EarlyTerminationPolicy.decide` returns the reason for the child's cancel, or ``None`` to let it go on.
"""

from __future__ import annotations

import math
import numbers
import statistics
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from jupyter_amlrun.runtime.errors import UserErrorException

__all__ = [
    "BanditPolicy",
    "EarlyTerminationPolicy",
    "Evaluation",
    "MedianStoppingPolicy",
    "NoTerminationPolicy",
    "TruncationSelectionPolicy",
    "policy_from_config",
]


def _count(owner: str, what: str, value: Any, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise UserErrorException(f"{owner}: {what} must be an integer >= {minimum}, got {value!r}.")
    return value


def _fmt(v: float) -> str:
    return f"{v:.6g}"


@dataclass(frozen=True)
class Evaluation:
    """One evaluation of a policy: child ``run_id`` at ``interval`` (1-based), against every child's ``reports``."""

    run_id: str
    interval: int
    reports: Mapping[str, Sequence[float]]
    maximize: bool
    finished: frozenset[str] = frozenset()

    @property
    def value(self) -> float:
        """The evaluated child's value at the interval."""
        return self.reports[self.run_id][self.interval - 1]

    def peers(self) -> list[tuple[str, float]]:
        """(run id, value at the interval) of every child that reached it, the evaluated one included."""
        return [(rid, vals[self.interval - 1]) for rid, vals in self.reports.items() if len(vals) >= self.interval]


class EarlyTerminationPolicy:
    """The base of the policies: when to evaluate, and the decision.

    Parameters
    ----------
    name:
        v1's policy name (``"BANDIT"``, ``"MEDIANSTOPPING"``, ``"TRUNCATIONSELECTION"``, ``"DEFAULT"``).
    evaluation_interval:
        Evaluate every this many intervals (logged values of the primary metric).
    delay_evaluation:
        Do not evaluate before this many intervals.
    """

    POLICY_NAME = "Default"  # v1's policy names (the service's); each subclass sets its own
    evaluation_interval = 1  # class-level defaults of what each instance sets
    delay_evaluation = 0

    def __init__(self, name: str, evaluation_interval: int = 1, delay_evaluation: int = 0) -> None:
        owner = type(self).__name__
        self.name = name
        self.evaluation_interval = _count(owner, "evaluation_interval", evaluation_interval, 1)
        self.delay_evaluation = _count(owner, "delay_evaluation", delay_evaluation, 0)

    def _extra(self) -> dict[str, Any]:
        return {}

    def to_json(self) -> dict[str, Any]:
        """v1's ``policy_config``: ``{"name": ..., "properties": {...}}``."""
        props = {"evaluation_interval": self.evaluation_interval, "delay_evaluation": self.delay_evaluation}
        return {"name": self.name, "properties": {**props, **self._extra()}}

    def due(self, interval: int) -> bool:
        """Whether the policy is evaluated at ``interval`` (1-based)."""
        return interval >= 1 and interval % self.evaluation_interval == 0 and interval >= self.delay_evaluation

    def decide(
        self,
        run_id: str,
        interval: int,
        reports: Mapping[str, Sequence[float]],
        maximize: bool,
        finished: frozenset[str] = frozenset(),
    ) -> str | None:
        """The reason to terminate ``run_id`` at ``interval`` (``reports``: every child's values in logged order)."""
        return self._judge(Evaluation(run_id, interval, reports, maximize, finished))

    def _judge(self, at: Evaluation) -> str | None:
        """The policy's rule (subclasses): the reason to end ``at.run_id`` now, or ``None``."""
        return None


class NoTerminationPolicy(EarlyTerminationPolicy):
    """No early termination: every child runs to its end."""

    POLICY_NAME = "Default"

    def __init__(self) -> None:
        super().__init__("DEFAULT")


class BanditPolicy(EarlyTerminationPolicy):
    """Ends a child whose primary metric at an interval is outside the slack of the best child's at that interval.

    Parameters
    ----------
    evaluation_interval, delay_evaluation:
        See :class:`EarlyTerminationPolicy`.
    slack_factor:
        Allowed ratio: with MAXIMIZE a child ends if its value is below ``best / (1 + slack_factor)``; with
        MINIMIZE if above ``best * (1 + slack_factor)``.
    slack_amount:
        Allowed absolute distance from the best instead (``best - slack_amount`` / ``best + slack_amount``).
        Exactly one of ``slack_factor`` and ``slack_amount``.
    """

    POLICY_NAME = "Bandit"
    slack_factor: float | None = None

    def __init__(
        self,
        evaluation_interval: int = 1,
        slack_factor: float | None = None,
        slack_amount: float | None = None,
        delay_evaluation: int = 0,
    ) -> None:
        super().__init__("BANDIT", evaluation_interval, delay_evaluation)
        if (slack_factor is None) == (slack_amount is None):
            raise UserErrorException(
                "BanditPolicy needs exactly one of slack_factor (a ratio, e.g. 0.1) and slack_amount (an absolute "
                f"distance); got slack_factor={slack_factor!r}, slack_amount={slack_amount!r}."
            )
        for what, v in (("slack_factor", slack_factor), ("slack_amount", slack_amount)):
            if v is not None and (
                isinstance(v, bool) or not isinstance(v, numbers.Real) or not math.isfinite(v) or v < 0
            ):
                raise UserErrorException(f"BanditPolicy: {what} must be a number >= 0, got {v!r}.")
        self.slack_factor = None if slack_factor is None else float(slack_factor)
        self.slack_amount = None if slack_amount is None else float(slack_amount)

    def _extra(self) -> dict[str, Any]:
        if self.slack_factor is not None:
            return {"slack_factor": self.slack_factor}
        return {"slack_amount": self.slack_amount}

    def _judge(self, at: Evaluation) -> str | None:
        interval, maximize = at.interval, at.maximize
        value = at.value
        peers = [v for _rid, v in at.peers()]
        best = max(peers) if maximize else min(peers)
        if self.slack_factor is not None:
            limit = best / (1 + self.slack_factor) if maximize else best * (1 + self.slack_factor)
            slack = f"slack_factor={self.slack_factor:g}"
        else:
            assert self.slack_amount is not None
            limit = best - self.slack_amount if maximize else best + self.slack_amount
            slack = f"slack_amount={self.slack_amount:g}"
        if (value < limit) if maximize else (value > limit):
            return (
                f"early termination by BanditPolicy: the primary metric {_fmt(value)} at interval {interval} is "
                f"{'below' if maximize else 'above'} {_fmt(limit)}, the best value {_fmt(best)} with {slack}"
            )
        return None


class MedianStoppingPolicy(EarlyTerminationPolicy):
    """Ends a child whose best primary metric so far is worse than the median of every child's running average.

    The running average of a child at interval ``n`` is the mean of its first ``n`` values; children that reached
    interval ``n`` take part (the evaluated one too).
    """

    POLICY_NAME = "MedianStopping"

    def __init__(self, evaluation_interval: int = 1, delay_evaluation: int = 0) -> None:
        super().__init__("MEDIANSTOPPING", evaluation_interval, delay_evaluation)

    def _judge(self, at: Evaluation) -> str | None:
        interval, maximize = at.interval, at.maximize
        mine = list(at.reports[at.run_id][:interval])
        best = max(mine) if maximize else min(mine)
        averages = [statistics.fmean(vals[:interval]) for vals in at.reports.values() if len(vals) >= interval]
        median = statistics.median(averages)
        if (best < median) if maximize else (best > median):
            return (
                f"early termination by MedianStoppingPolicy: the best primary metric {_fmt(best)} up to interval "
                f"{interval} is worse than {_fmt(median)}, the median of the running averages of {len(averages)} runs"
            )
        return None


class TruncationSelectionPolicy(EarlyTerminationPolicy):
    """At each evaluation, ends the child if it is among the worst ``truncation_percentage`` % at that interval.

    Parameters
    ----------
    truncation_percentage:
        The percentage of children to end at each evaluation, 1 to 99.
    evaluation_interval, delay_evaluation:
        See :class:`EarlyTerminationPolicy`.
    exclude_finished_jobs:
        Leave finished children out of the comparison.
    """

    POLICY_NAME = "TruncationSelection"
    truncation_percentage = 0

    def __init__(
        self,
        truncation_percentage: int,
        evaluation_interval: int = 1,
        delay_evaluation: int = 0,
        exclude_finished_jobs: bool = False,
    ) -> None:
        super().__init__("TRUNCATIONSELECTION", evaluation_interval, delay_evaluation)
        pct = _count("TruncationSelectionPolicy", "truncation_percentage", truncation_percentage, 1)
        if pct > 99:
            raise UserErrorException(f"TruncationSelectionPolicy: truncation_percentage must be 1..99, got {pct}.")
        self.truncation_percentage = pct
        self.exclude_finished_jobs = bool(exclude_finished_jobs)

    def _extra(self) -> dict[str, Any]:
        return {
            "truncation_percentage": self.truncation_percentage,
            "exclude_finished_jobs": self.exclude_finished_jobs,
        }

    def _judge(self, at: Evaluation) -> str | None:
        skip = at.finished if self.exclude_finished_jobs else frozenset()
        peers = [(v, rid) for rid, v in at.peers() if rid == at.run_id or rid not in skip]
        cut = len(peers) * self.truncation_percentage // 100
        # worst first; on a tie the later child goes first (the earlier one got there first)
        order = list(at.reports)
        ranked = sorted(peers, key=lambda p: (p[0] if at.maximize else -p[0], -order.index(p[1])))
        if at.run_id in {rid for _v, rid in ranked[:cut]}:
            return (
                f"early termination by TruncationSelectionPolicy: the primary metric {_fmt(at.value)}"
                f" at interval {at.interval} is among the worst {self.truncation_percentage}% of {len(peers)} runs"
            )
        return None


def policy_from_config(doc: dict[str, Any] | None) -> EarlyTerminationPolicy:
    """The policy :meth:`EarlyTerminationPolicy.to_json` describes (how the controller gets it)."""
    if not doc or doc.get("name") == "DEFAULT":
        return NoTerminationPolicy()
    props = dict(doc.get("properties") or {})
    name = doc["name"]
    if name == "BANDIT":
        return BanditPolicy(**props)
    if name == "MEDIANSTOPPING":
        return MedianStoppingPolicy(**props)
    if name == "TRUNCATIONSELECTION":
        return TruncationSelectionPolicy(**props)
    raise UserErrorException(f"Unknown early termination policy {name!r}.")
