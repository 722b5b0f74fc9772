"""The local backend passes the ComputeTarget contract, both as 'local' and as a named AmlCompute pool."""

from __future__ import annotations

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
