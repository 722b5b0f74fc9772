"""The local backend passes the ComputeTarget contract, both as 'local' and as a named AmlCompute pool."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

from jupyter_amlrun import AmlCompute, ComputeTarget
from jupyter_amlrun.testing import ComputeBackendContract

pytestmark = pytest.mark.integration


class TestLocalContract(ComputeBackendContract):
    @pytest.fixture
    def target(self) -> str:
        return "local"


class TestAmlComputePoolContract(ComputeBackendContract):
    @pytest.fixture
    def target(self, ws: Any) -> str:
        ComputeTarget.create(ws, "cpu-cluster", AmlCompute.provisioning_configuration(max_nodes=2))
        return "cpu-cluster"


@pytest.mark.unit
def test_queue_readers_skip_a_marker_being_written(tmp_path: Path) -> None:
    """A writer's temp file in the queue (write_json_atomic, empty until its rename) is neither read nor removed."""

    from jupyter_amlrun.compute.local import _live_markers

    queue = tmp_path / "queue"
    queue.mkdir()
    (queue / "000000000001-run").write_text(json.dumps({"pid": os.getpid(), "run_id": "run"}))
    in_flight = queue / ".000000000002-other.abc.tmp"
    in_flight.write_text("")
    assert _live_markers(queue) == ["000000000001-run"]
    assert in_flight.exists()
