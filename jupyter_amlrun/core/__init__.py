"""The core: workspaces, experiments, runs, configs, snapshots, models. Imports without IPython or Jupyter."""
