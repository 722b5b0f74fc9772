#!/usr/bin/env bash
# Installs what the tests need beyond Python packages. Idempotent; each section owns its tool.
set -euo pipefail
cd "$(dirname "$0")/.."

# --- Browser tests (tests/ui): Debian's chromium, driven by Python Playwright (a pip package of the dev extra) ---
# Playwright never downloads a browser here: the tests launch /usr/bin/chromium. Idempotent; runs as root in CI.
install_chromium() {
    if [ -x /usr/bin/chromium ]; then
        return 0
    fi
    if [ "$(id -u)" -ne 0 ]; then
        echo "install-test-tools: /usr/bin/chromium is missing; run as root: apt-get update && apt-get install -y chromium" >&2
        return 0
    fi
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium
}
install_chromium

# --- Azurite (Azure Storage emulator) and FUSE, for the datastore tests (owner: data/) ---
# Azurite is pinned in package.json/package-lock.json and lands in ./node_modules.
[ -x node_modules/.bin/azurite-blob ] || npm ci --no-audit --no-fund
# FUSE lets blob datasets mount instead of downloading (fusepy needs libfuse2 and fusermount); the tests also run
# without it (then mounts fall back to cached downloads), so a machine without apt or root just skips this.
if ! { [ -e /usr/lib/x86_64-linux-gnu/libfuse.so.2 ] || ldconfig -p 2>/dev/null | grep -q 'libfuse.so.2'; } \
    || ! command -v fusermount >/dev/null; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    (apt-get install -y -qq libfuse2 fuse >/dev/null 2>&1 \
      || { apt-get update -qq >/dev/null 2>&1 && apt-get install -y -qq libfuse2 fuse >/dev/null 2>&1; }) \
      || echo "install-test-tools: libfuse2/fuse not installed; blob mounts will use cached downloads" >&2
  fi
fi

# --- Open MPI and torch, for the distributed-run tests (owner: compute/distributed.py) ---
# openmpi-bin is small (~7 MB download, ~22 MB installed, ~6 s): the MPI tests then run the real mpirun path; without
# it they check the clear "install Open MPI" failure instead.
if ! command -v mpirun >/dev/null; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    (DEBIAN_FRONTEND=noninteractive apt-get install -y -qq openmpi-bin >/dev/null 2>&1 \
      || { apt-get update -qq >/dev/null 2>&1 \
           && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq openmpi-bin >/dev/null 2>&1; }) \
      || echo "install-test-tools: openmpi-bin not installed; the MPI tests check the missing-mpirun error only" >&2
  else
    echo "install-test-tools: mpirun is missing; as root: apt-get install -y openmpi-bin" >&2
  fi
fi
# torch runs the PyTorch distributed tests (gloo on CPU). Always this exact version: it is a CPU wheel; a bare `torch`
# would pull several GB of CUDA packages. Kept out of the package's core dependencies.
PY="${PY:-${VENV:-.venv}/bin/python}"
# Only into a virtual environment (never a system or pyenv interpreter that a stray PY points at).
if [ -x "$PY" ] && "$PY" -c 'import sys; sys.exit(sys.prefix == sys.base_prefix)' \
    && ! "$PY" -c 'import torch' >/dev/null 2>&1; then
  "$PY" -m pip install -q torch==2.13.0
fi

# --- PostgreSQL (Debian's package) for the team-tracking test: an MLflow server over a real PostgreSQL that the
# fixture (tests/tracking/postgres.py) starts on 127.0.0.1 in a temp folder and stops. The package's own cluster is
# not used or started. ---
if ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    (DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null 2>&1 \
      || { apt-get update -qq >/dev/null 2>&1 \
           && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null 2>&1; }) \
      || echo "install-test-tools: postgresql not installed; the PostgreSQL team-tracking test will fail" >&2
  else
    echo "install-test-tools: PostgreSQL is missing; as root: apt-get install -y postgresql" >&2
  fi
fi

# --- Containers (owner: compute/container.py): podman + runc + debootstrap, and the test base image ---
# Installs only as root with apt (a CI box like this one); a workstation that has podman or docker keeps its setup.
# The containers.conf is written only as root, when none exists, on a hybrid cgroup v1/v2 layout (these machines:
# crun refuses it, runc works, and their default ulimits cannot be raised); a normal workstation needs neither.
if ! command -v podman >/dev/null; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    (DEBIAN_FRONTEND=noninteractive apt-get install -y -qq podman runc debootstrap >/dev/null 2>&1 \
      || { apt-get update -qq >/dev/null 2>&1 \
           && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq podman runc debootstrap >/dev/null 2>&1; }) \
      || echo "install-test-tools: podman not installed; the container tests will skip" >&2
  else
    echo "install-test-tools: podman is missing; as root: apt-get install -y podman runc debootstrap" >&2
  fi
fi
if command -v podman >/dev/null && [ "$(id -u)" = 0 ] && [ ! -e /etc/containers/containers.conf ] \
    && [ -d /sys/fs/cgroup/unified ] && command -v runc >/dev/null; then
  mkdir -p /etc/containers
  printf '[containers]\ndefault_ulimits = []\n\n[engine]\nruntime = "runc"\n' > /etc/containers/containers.conf
fi
# The test image (Debian bookworm with python3), built once and cached by the engine: skipped when it exists.
if command -v podman >/dev/null; then
  bash scripts/build-test-image.sh || echo "install-test-tools: test image not built; the container tests will skip" >&2
fi

# --- Slurm (owner: compute/slurm.py): munge + slurmctld + slurmd + client commands for the one-node test cluster that
# tests/compute/conftest.py (jupyter_amlrun/testing/slurm_cluster.py) starts on 127.0.0.1 from a temp conf. Only as
# root with apt; the packages' own services are not used (the fixture starts its daemons and stops them). ---
# slurmdbd + MariaDB: the accounting the account-refusal test starts (associations enforced).
SLURM_PKGS="slurmctld slurmd slurm-client munge slurmdbd mariadb-server"
if ! command -v sbatch >/dev/null || { ! command -v slurmctld >/dev/null && [ ! -x /usr/sbin/slurmctld ]; } \
   || [ ! -x /usr/sbin/slurmdbd ] || [ ! -x /usr/sbin/mariadbd ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    # shellcheck disable=SC2086
    (DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $SLURM_PKGS >/dev/null 2>&1 \
      || { apt-get update -qq >/dev/null 2>&1 \
           && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $SLURM_PKGS >/dev/null 2>&1; }) \
      || echo "install-test-tools: Slurm not installed; the Slurm tests will skip" >&2
  else
    echo "install-test-tools: Slurm is missing; as root: apt-get install -y $SLURM_PKGS" >&2
  fi
fi
