#!/usr/bin/env bash
# Builds the container tests' base image without a registry: Debian bookworm (minbase) with python3, venv and pip,
# from Debian's own packages (debootstrap), imported into podman. About 1.5 min and ~300 MB the first time; a no-op
# when the image exists (the engine's image store is the cache across runs on one machine).
#   IMAGE  name to build (default localhost/amlrun-test-python:bookworm)
#   MIRROR Debian mirror (default http://deb.debian.org/debian)
set -euo pipefail
IMAGE="${IMAGE:-localhost/amlrun-test-python:bookworm}"
MIRROR="${MIRROR:-http://deb.debian.org/debian}"
ENGINE="${ENGINE:-podman}"

if "$ENGINE" image exists "$IMAGE" 2>/dev/null; then
  echo "build-test-image: $IMAGE exists"
  exit 0
fi
if ! command -v debootstrap >/dev/null; then
  echo "build-test-image: debootstrap is missing; as root: apt-get install -y debootstrap" >&2
  exit 1
fi
# One build at a time on a machine: a second caller waits for the first, then finds the image.
exec 9>"/tmp/amlrun-test-image.lock"
flock 9
if "$ENGINE" image exists "$IMAGE" 2>/dev/null; then
  echo "build-test-image: $IMAGE exists"
  exit 0
fi
ROOT="$(mktemp -d /tmp/amlrun-rootfs.XXXXXX)"
trap 'rm -rf "$ROOT"' EXIT
start=$(date +%s)
debootstrap --variant=minbase --include=python3,python3-venv,python3-pip,python-is-python3,ca-certificates \
  bookworm "$ROOT" "$MIRROR" >/tmp/amlrun-test-image.debootstrap.log 2>&1 \
  || { tail -20 /tmp/amlrun-test-image.debootstrap.log >&2; exit 1; }
# apt caches are not needed inside the image.
rm -rf "$ROOT"/var/cache/apt/archives/*.deb "$ROOT"/var/lib/apt/lists/*
tar -C "$ROOT" -c . | "$ENGINE" import --change 'CMD ["/usr/bin/python3"]' - "$IMAGE" >/dev/null
echo "build-test-image: built $IMAGE in $(( $(date +%s) - start )) s"
