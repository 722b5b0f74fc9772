"""Rank launching is in the compute contract: the driver starts a distributed run's ranks through its target backend's
``launch_ranks`` (no backend named in the driver), and a backend from another distribution can take it over."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any

import pytest

from jupyter_amlrun import AmlCompute, ComputeTarget, Experiment, ScriptRunConfig, Workspace
from jupyter_amlrun.core.registry import compute_backends
from jupyter_amlrun.core.runconfig import PyTorchConfiguration
from jupyter_amlrun.runtime.runfolder import RunFolder

try:
    import torch  # noqa: F401

    torch_missing = False
except ImportError:  # scripts/install-test-tools.sh installs torch
    torch_missing = True

# An out-of-tree backend: the local pool, but its ranks go through its own launch_ranks, which leaves a mark.
PROBE = """
from jupyter_amlrun.compute.local import LocalBackend


class ProbeBackend(LocalBackend):
    kind = "Probe"

    def launch_ranks(self, host, topology, command, env):
        (host.rf.root / "probe_ranks.txt").write_text(f"{topology.nodes} {topology.per_node} {command[1]}")
        host.log("Probe backend launches the ranks")
        return super().launch_ranks(host, topology, command, env)
"""
RANKS = """
import os
print("RANK", os.environ["RANK"], "WORLD", os.environ["WORLD_SIZE"], flush=True)
"""


@pytest.fixture
def probe_kind(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """The ``Probe`` kind: registered here, and by entry point for the run's driver (a subprocess)."""
    site = tmp_path / "site"
    (site / "amlrun_rankprobe-0.1.dist-info").mkdir(parents=True)
    (site / "amlrun_rankprobe.py").write_text(PROBE)
    (site / "amlrun_rankprobe-0.1.dist-info" / "METADATA").write_text("Name: amlrun-rankprobe\nVersion: 0.1\n")
    (site / "amlrun_rankprobe-0.1.dist-info" / "entry_points.txt").write_text(
        "[jupyter_amlrun.compute_backends]\nProbe = amlrun_rankprobe:ProbeBackend\n"
    )
    monkeypatch.syspath_prepend(str(site))
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join([str(site), os.environ.get("PYTHONPATH", "")]))
    compute_backends.register("Probe", "amlrun_rankprobe:ProbeBackend", clobber=True)
    yield "Probe"
    sys.modules.pop("amlrun_rankprobe", None)


@pytest.mark.unit
def test_the_default_launch_ranks_hands_back_to_the_driver() -> None:
    """The contract's default runs the ranks on the driver's machine (its node slots), through the host."""
    from jupyter_amlrun.compute.local import LocalBackend

    class Host:
        def launch_local_ranks(self, topology: Any, command: list[str], env: dict[str, str]) -> Any:
            return ("Completed", None, 0, topology, command, env)

    backend = LocalBackend.__new__(LocalBackend)
    out = backend.launch_ranks(Host(), "topo", ["py", "t.py"], {"A": "1"})  # type: ignore[arg-type]
    assert out == ("Completed", None, 0, "topo", ["py", "t.py"], {"A": "1"})


@pytest.mark.integration
@pytest.mark.skipif(torch_missing, reason="torch is not installed (scripts/install-test-tools.sh)")
def test_a_backend_from_another_distribution_launches_the_ranks(
    ws: Workspace, make_source: Any, probe_kind: str
) -> None:
    ComputeTarget.create(ws, "probe", AmlCompute.provisioning_configuration(max_nodes=2))
    doc_path = ws.path / "compute" / "probe.json"
    doc = json.loads(doc_path.read_text())
    doc_path.write_text(json.dumps({**doc, "type": probe_kind}))
    src = make_source({"train.py": RANKS})
    cfg = ScriptRunConfig(
        source_directory=src,
        script="train.py",
        compute_target="probe",
        distributed_job_config=PyTorchConfiguration(process_count=2, node_count=1),
    )
    run = Experiment(ws, "ranks").submit(cfg)
    details = run.wait_for_completion(raise_on_error=False)
    assert details["status"] == "Completed", details
    rf = RunFolder(ws.path, run.id)
    assert (rf.root / "probe_ranks.txt").read_text() == "1 2 train.py"
    assert "Probe backend launches the ranks" in rf.driver_log.read_text()
    for rank in (0, 1):
        assert f"RANK {rank} WORLD 2" in rf.rank_log(rank).read_text()
