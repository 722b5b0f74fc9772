#!/usr/bin/env bash
# Installs what the tests need beyond Python packages. Idempotent; each section owns its tool.
set -euo pipefail
cd "$(dirname "$0")/.."
