"""The run engine's parts below the v1 model: errors, run states and tags, the run folder, snapshots, environment
builds, a run's lifecycle (finalizing, recovery) and supervision. Knows no Workspace, Run or backend."""
