"""Hyperparameter sweeps (v1's ``azureml.train.hyperdrive``) on Optuna.

``from azureml.train.hyperdrive import ...`` ports by changing the import::

    from jupyter_amlrun.train.hyperdrive import (HyperDriveConfig, RandomParameterSampling, BanditPolicy,
        PrimaryMetricGoal, choice, loguniform)
    sampling = RandomParameterSampling({"--lr": loguniform(-6, -1), "--batch": choice(16, 32, 64)})
    hd = HyperDriveConfig(run_config=src, hyperparameter_sampling=sampling,
                          policy=BanditPolicy(evaluation_interval=1, slack_factor=0.1),
                          primary_metric_name="accuracy", primary_metric_goal=PrimaryMetricGoal.MAXIMIZE,
                          max_total_runs=20, max_concurrent_runs=4)
    hd_run = exp.submit(hd)
    RunDetails(hd_run).show()
    best = hd_run.get_best_run_by_primary_metric()

Modules: :mod:`.parameters` (the distributions), :mod:`.sampling`, :mod:`.policy`, :mod:`.config`,
:mod:`.controller` (the detached process that runs a sweep) and :mod:`.run` (:class:`HyperDriveRun`).
"""

from jupyter_amlrun.train.hyperdrive.config import HyperDriveConfig, HyperDriveRunConfig, PrimaryMetricGoal
from jupyter_amlrun.train.hyperdrive.parameters import (
    choice,
    lognormal,
    loguniform,
    normal,
    qlognormal,
    qloguniform,
    qnormal,
    quniform,
    randint,
    uniform,
)
from jupyter_amlrun.train.hyperdrive.policy import (
    BanditPolicy,
    EarlyTerminationPolicy,
    MedianStoppingPolicy,
    NoTerminationPolicy,
    TruncationSelectionPolicy,
)
from jupyter_amlrun.train.hyperdrive.run import HyperDriveRun
from jupyter_amlrun.train.hyperdrive.sampling import (
    BayesianParameterSampling,
    GridParameterSampling,
    HyperParameterSampling,
    RandomParameterSampling,
)

__all__ = [
    "BanditPolicy",
    "BayesianParameterSampling",
    "EarlyTerminationPolicy",
    "GridParameterSampling",
    "HyperDriveConfig",
    "HyperDriveRun",
    "HyperDriveRunConfig",
    "HyperParameterSampling",
    "MedianStoppingPolicy",
    "NoTerminationPolicy",
    "PrimaryMetricGoal",
    "RandomParameterSampling",
    "TruncationSelectionPolicy",
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
