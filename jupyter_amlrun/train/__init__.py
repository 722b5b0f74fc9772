"""Training helpers above single runs: :mod:`jupyter_amlrun.train.hyperdrive` (v1 HyperDrive sweeps on Optuna)."""
