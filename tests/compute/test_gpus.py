"""GPUs of a local pool: each slot's share of the machine's GPUs reaches its runs as CUDA_VISIBLE_DEVICES, never
overlapping another slot's.

This machine has no GPU. The runs below are real (real pool slots, real drivers, real scripts that print what they
see); only the GPU list is given, through CUDA_VISIBLE_DEVICES in the submitting process (how users restrict GPUs
too) or a stand-in ``nvidia-smi`` on PATH that prints indices like the real one (a mock, since no driver exists here).
"""

from __future__ import annotations

import itertools
import json
import os
import re
import stat
from pathlib import Path
from typing import Any

import pytest

from jupyter_amlrun import AmlCompute, ComputeTarget, Experiment, ScriptRunConfig, Workspace
from jupyter_amlrun.compute._gpus import pool_gpus, slot_env, slot_share, visible_gpus
from jupyter_amlrun.core.runconfig import PyTorchConfiguration
from jupyter_amlrun.runtime.runfolder import RunFolder

try:
    import torch  # noqa: F401

    torch_missing = False
except ImportError:  # scripts/install-test-tools.sh installs torch
    torch_missing = True
needs_torch = pytest.mark.skipif(torch_missing, reason="torch is not installed (scripts/install-test-tools.sh)")

SHOW = """
import os, time
print("GPUS=" + os.environ.get("CUDA_VISIBLE_DEVICES", "<unset>") + ";RANK=" + os.environ.get("RANK", "-"), flush=True)
time.sleep(float(os.environ.get("HOLD", "0")))
"""


def _fake_smi(folder: Path, indices: list[int]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    smi = folder / "nvidia-smi"
    lines = "\\n".join(str(i) for i in indices)
    smi.write_text(f'#!/bin/sh\n[ "$1" = "--query-gpu=index" ] && printf "{lines}\\n" && exit 0\nexit 9\n')
    smi.chmod(smi.stat().st_mode | stat.S_IEXEC)
    return folder


@pytest.mark.unit
def test_visible_gpus_from_the_environment_and_nvidia_smi(tmp_path: Path) -> None:
    assert visible_gpus({"CUDA_VISIBLE_DEVICES": "2, 5"}) == ["2", "5"]
    assert visible_gpus({"CUDA_VISIBLE_DEVICES": "GPU-aa,GPU-bb"}) == ["GPU-aa", "GPU-bb"]
    assert visible_gpus({"CUDA_VISIBLE_DEVICES": ""}) == []
    assert visible_gpus({"CUDA_VISIBLE_DEVICES": "-1"}) == []
    assert visible_gpus({"PATH": str(tmp_path / "empty")}) == []  # no nvidia-smi: no GPU
    bin_dir = _fake_smi(tmp_path / "bin", [0, 1, 2])
    assert visible_gpus({"PATH": str(bin_dir)}) == ["0", "1", "2"]


@pytest.mark.unit
@pytest.mark.parametrize(("gpus", "size"), list(itertools.product(range(0, 9), range(1, 6))))
def test_slot_shares_never_overlap_and_cover_every_gpu(gpus: int, size: int) -> None:
    names = [str(i) for i in range(gpus)]
    shares = [slot_share(names, s, size) for s in range(size)]
    flat = [g for share in shares for g in share]
    assert flat == names  # disjoint, in order, every GPU used
    if gpus >= size:
        assert all(shares), "a slot without a GPU although there are enough"
    assert slot_env([], [0], size) == {}  # a CPU machine: the environment is left alone
    if gpus:
        assert slot_env(names, list(range(size)), size) == {"CUDA_VISIBLE_DEVICES": ",".join(names)}


@pytest.mark.unit
def test_the_pool_records_its_list_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "4,6")
    assert pool_gpus(tmp_path / "pool") == ["4", "6"]
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "7")  # a later driver with another view splits the same list
    assert pool_gpus(tmp_path / "pool") == ["4", "6"]
    assert json.loads((tmp_path / "pool" / "gpus.json").read_text()) == {"gpus": ["4", "6"]}


def _seen(ws: Workspace, run: Any) -> dict[str, str]:
    """{rank: CUDA_VISIBLE_DEVICES} as the run's script(s) printed them."""
    logs = sorted((RunFolder(ws.path, run.id).root / "logs" / "user_logs").glob("std_log*.txt"))
    text = "".join(p.read_text() for p in logs)
    return dict((rank, gpus) for gpus, rank in re.findall(r"GPUS=([^;]*);RANK=(\S+)", text))


def _span(ws: Workspace, run: Any) -> tuple[float, float]:
    history = RunFolder(ws.path, run.id).read_state().to_dict()["history"]
    start = min(t for s, t in history if s == "Running")
    return start, min(t for s, t in history if s in ("Finalizing", "Completed", "Failed"))


def _submit(ws: Workspace, src: Path, target: str, hold: float = 0.0, **kw: Any) -> Any:
    config = ScriptRunConfig(source_directory=src, script="show.py", compute_target=target, **kw)
    config.run_config.environment_variables["HOLD"] = str(hold)
    return Experiment(ws, "gpus").submit(config)


@pytest.mark.integration
def test_concurrent_runs_of_a_pool_see_disjoint_gpus(
    ws: Workspace, make_source: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "3,5,7,9")  # the drivers inherit it: four GPUs for this pool
    ComputeTarget.create(ws, "gpu3", AmlCompute.provisioning_configuration(max_nodes=3))
    src = make_source({"show.py": SHOW})
    runs = [_submit(ws, src, "gpu3", hold=8.0) for _ in range(3)]
    for run in runs:
        run.wait_for_completion(raise_on_error=True)
    shares = {r.id: set(_seen(ws, r)["-"].split(",")) for r in runs}
    # slot 0 gets GPU 3, slot 1 GPU 5, slot 2 GPUs 7 and 9 (module docstring of compute/_gpus.py)
    assert sorted(map(sorted, shares.values())) == [["3"], ["5"], ["7", "9"]], shares
    spans = {r.id: _span(ws, r) for r in runs}
    overlapping = [
        (a, b) for a, b in itertools.combinations(shares, 2) if spans[a][0] < spans[b][1] and spans[b][0] < spans[a][1]
    ]
    assert overlapping, "the runs never ran at the same time: nothing was shown"
    for a, b in overlapping:
        assert not shares[a] & shares[b], f"runs at the same time share GPUs: {shares}"
    log = "".join(RunFolder(ws.path, r.id).driver_log.read_text() for r in runs)
    assert "(CUDA_VISIBLE_DEVICES), its pool slot's share" in log


@pytest.mark.integration
def test_nvidia_smi_gpus_more_slots_than_gpus_and_the_runs_own_setting(
    ws: Workspace, make_source: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("CUDA_VISIBLE_DEVICES", raising=False)
    bin_dir = _fake_smi(tmp_path / "bin", [0])  # one GPU, by a stand-in nvidia-smi (no GPU on this machine)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    ComputeTarget.create(ws, "gpu2", AmlCompute.provisioning_configuration(max_nodes=2))
    src = make_source({"show.py": SHOW})
    first, second = _submit(ws, src, "gpu2", hold=8.0), _submit(ws, src, "gpu2", hold=8.0)
    for run in (first, second):
        run.wait_for_completion(raise_on_error=True)
    seen = sorted(_seen(ws, r)["-"] for r in (first, second))
    assert seen == ["", "0"], seen  # the slot without a GPU share sees none, never the other slot's
    log = "".join(RunFolder(ws.path, r.id).driver_log.read_text() for r in (first, second))
    assert "no GPU (its pool slot has no share" in log
    # a run that sets CUDA_VISIBLE_DEVICES itself keeps it (and the log says the pool's share was not applied)
    own = ScriptRunConfig(source_directory=src, script="show.py", compute_target="gpu2")
    own.run_config.environment_variables["CUDA_VISIBLE_DEVICES"] = "0"
    run = Experiment(ws, "gpus").submit(own)
    run.wait_for_completion(raise_on_error=True)
    assert _seen(ws, run)["-"] == "0"
    assert "from the run's environment_variables" in RunFolder(ws.path, run.id).driver_log.read_text()


@needs_torch
@pytest.mark.integration
def test_each_node_of_a_distributed_run_gets_its_slots_gpus(
    ws: Workspace, make_source: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "0,1")
    ComputeTarget.create(ws, "gpu-nodes", AmlCompute.provisioning_configuration(max_nodes=2))
    src = make_source({"show.py": SHOW})
    dist = PyTorchConfiguration(communication_backend="Gloo", node_count=2, process_count=2)
    run = _submit(ws, src, "gpu-nodes", distributed_job_config=dist)
    run.wait_for_completion(raise_on_error=True)
    assert _seen(ws, run) == {"0": "0", "1": "1"}  # node i holds slot i: GPU i
