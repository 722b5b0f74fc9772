"""GPUs of a local pool: which GPUs this machine shows, and each slot's share (its ``CUDA_VISIBLE_DEVICES``).

A pool splits the GPUs it found when first used between its slots, without overlap: with ``G >= N`` GPUs and ``N``
slots, slot ``i`` gets the contiguous block ``[i*G//N, (i+1)*G//N)`` (neighbours stay together, as NVLink pairs
usually are); with ``G < N``, slot ``i < G`` gets GPU ``i`` and the other slots none (their runs see no GPU, and the
driver log says so). The list is kept in the pool's folder
(``gpus.json``), so every driver of the pool splits the same list whatever its own environment says.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
from collections.abc import Mapping
from pathlib import Path

from jupyter_amlrun._util.fileio import file_lock, read_json, write_json_atomic

CUDA_ENV = "CUDA_VISIBLE_DEVICES"


def visible_gpus(env: Mapping[str, str] | None = None) -> list[str]:
    """The GPUs processes of this machine may use: ``CUDA_VISIBLE_DEVICES`` when set (``""``/``-1``: none), else
    the indices ``nvidia-smi`` lists, else none."""
    env = os.environ if env is None else env
    if CUDA_ENV in env:
        value = env[CUDA_ENV].strip()
        if value in ("", "-1"):
            return []
        return [g.strip() for g in value.split(",") if g.strip()]
    smi = shutil.which("nvidia-smi", path=env.get("PATH"))
    if not smi:
        return []
    with contextlib.suppress(OSError, subprocess.SubprocessError):
        out = subprocess.run(
            [smi, "--query-gpu=index", "--format=csv,noheader"],
            capture_output=True,
            text=True,
            timeout=15,
            check=False,
        )
        if out.returncode == 0:
            return [line.strip() for line in out.stdout.splitlines() if line.strip().isdigit()]
    return []


def pool_gpus(folder: Path) -> list[str]:
    """The pool's GPU list: the one recorded in ``folder/gpus.json``, else what this machine shows now (recorded)."""
    path = folder / "gpus.json"
    doc = read_json(path)
    if isinstance(doc, dict) and isinstance(doc.get("gpus"), list):
        return [str(g) for g in doc["gpus"]]
    folder.mkdir(parents=True, exist_ok=True)
    with file_lock(folder / "gpus.lock"):
        doc = read_json(path)  # another driver may have recorded it meanwhile
        if isinstance(doc, dict) and isinstance(doc.get("gpus"), list):
            return [str(g) for g in doc["gpus"]]
        gpus = visible_gpus()
        write_json_atomic(path, {"gpus": gpus})
        return gpus


def slot_share(gpus: list[str], slot: int, size: int) -> list[str]:
    """The GPUs of slot ``slot`` of ``size`` (see the module docstring)."""
    count = len(gpus)
    if count < size:
        return gpus[slot : slot + 1]
    return gpus[slot * count // size : (slot + 1) * count // size]


def slot_env(gpus: list[str], slots: list[int], size: int) -> dict[str, str]:
    """The environment of a node holding ``slots`` of a pool with ``gpus``: {} for a pool without GPUs (so a pool on
    a CPU machine changes nothing), else ``CUDA_VISIBLE_DEVICES`` listing the slots' shares."""
    if not gpus:
        return {}
    mine = [g for s in sorted(slots) for g in slot_share(gpus, s, size)]
    return {CUDA_ENV: ",".join(mine)}
