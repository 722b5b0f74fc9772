#!/usr/bin/env bash
# Runs the issue-2 benchmarks one after another and prints everything (a few minutes on 2 cores).
# Usage: bash benchmarks/run_all.sh   (from the repository root; PYTHON defaults to .venv/bin/python)
# Extra arguments are not passed on; run a script directly to change its options (each has --help).
set -euo pipefail
cd "$(dirname "$0")/.."
PY="${PYTHON:-.venv/bin/python}"
export MLFLOW_DISABLE_TELEMETRY=true RAY_USAGE_STATS_ENABLED=0
echo "== $(date -u +%Y-%m-%dT%H:%M:%SZ) on $(nproc) cores, $("$PY" -V)"
for bench in submit_latency log_rate snapshot_resubmit; do
    echo
    echo "================================================================ benchmarks/${bench}.py"
    "$PY" "benchmarks/${bench}.py"
done
