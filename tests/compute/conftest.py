"""Fixtures of the container tests: the engine that answers here and the locally built test image."""

from __future__ import annotations

import os

import pytest

TEST_IMAGE = os.environ.get("AMLRUN_TEST_IMAGE", "localhost/amlrun-test-python:bookworm")


@pytest.fixture(scope="session")
def container_engine():  # type: ignore[no-untyped-def]
    """The podman or docker that answers here; the test is skipped (saying why) when none does."""
    from jupyter_amlrun._util.engine import detect

    engine = detect()
    if engine is None:
        pytest.skip("no container engine answers here (install podman: scripts/install-test-tools.sh)")
    return engine


@pytest.fixture(scope="session")
def test_image(container_engine) -> str:  # type: ignore[no-untyped-def]
    """The Debian bookworm image with python3 that scripts/build-test-image.sh builds once per machine."""
    if container_engine("image", "inspect", TEST_IMAGE).returncode != 0:  # `image exists` is podman's only
        pytest.skip(f"the test image {TEST_IMAGE} is missing: run scripts/build-test-image.sh (about 1.5 min)")
    return TEST_IMAGE


@pytest.fixture(scope="session")
def slurm_cluster():  # type: ignore[no-untyped-def]
    """A one-node Slurm cluster on 127.0.0.1 (munged, slurmctld, slurmd; CPUs=2) from a temp conf, stopped at the
    end by its pid files; skipped, saying why, only when the binaries (or root) are missing."""
    from jupyter_amlrun.testing import slurm_cluster as sc

    why = sc.missing()
    if why:
        pytest.skip(why)
    cluster = sc.start(cpus=2)
    try:
        yield cluster
    finally:
        sc.stop(cluster)
    assert not cluster.folder.exists()
