"""System metrics of a running script: its driver samples the script's process tree every few seconds.

Each sample is a set of scalar points in the run's metrics journal, under ``system/...`` names as MLflow's own system
metrics sampler names them (``mlflow ui`` shows them in its System metrics tab once the journal is shipped):

* ``system/cpu_utilization_percentage``: CPU of the script's process tree, in percent of the whole machine (as
  MLflow's; one busy core of 4 reads 25).
* ``system/process_memory_rss_megabytes``: resident memory of the tree.
* ``system/disk_read_megabytes`` / ``system/disk_write_megabytes``: bytes read and written by the live tree so far.
* ``system/gpu_<i>_utilization_percentage`` / ``system/gpu_<i>_memory_usage_megabytes``: each visible GPU (the
  device as a whole, as MLflow's), through NVML (``nvidia-ml-py``) when importable, else ``nvidia-smi``.

The interval is ``AMLRUN_SYSTEM_METRICS_SECONDS`` (the run's ``environment_variables`` first, then the driver's
environment; default 5, 0 turns sampling off). ``Run.get_metrics()`` leaves these names out;
``Run.get_system_metrics()`` returns them.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import threading
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import psutil

PREFIX = "system/"
INTERVAL_ENV = "AMLRUN_SYSTEM_METRICS_SECONDS"
DEFAULT_INTERVAL = 5.0
_MB = 1024 * 1024


def interval_seconds(run_env: Mapping[str, str] | None = None) -> float:
    """The sampling interval: the run's setting, else the driver's environment, else 5 s; 0 means off.

    Raises
    ------
    ValueError
        When the setting is not a number >= 0 (the message names the variable and how to fix it).
    """
    raw = (run_env or {}).get(INTERVAL_ENV) or os.environ.get(INTERVAL_ENV)
    if raw is None or raw == "":
        return DEFAULT_INTERVAL
    try:
        value = float(raw)
    except ValueError:
        value = -1.0
    if not value >= 0:
        raise ValueError(f"{INTERVAL_ENV}={raw!r} is not valid: give the seconds between samples (e.g. 5), 0 for off.")
    return value


class GpuQuery:
    """Per-GPU utilisation and memory: NVML when ``pynvml`` (nvidia-ml-py) imports, else ``nvidia-smi``, else none.

    A query that fails once is logged once and GPU figures stop (the other samples go on).
    """

    def __init__(self, log: Callable[[str], None], smi: str | None = None) -> None:
        self.log = log
        self.failed = False
        self._nvml: Any = None
        self._smi = smi
        try:
            import pynvml  # type: ignore[import-not-found,unused-ignore]

            pynvml.nvmlInit()
            self._nvml = pynvml
        except Exception:  # not installed, or no driver: try the command line
            self._smi = smi or shutil.which("nvidia-smi")

    @property
    def source(self) -> str | None:
        """``"nvml"``, ``"nvidia-smi"`` or None (no GPU can be queried here)."""
        if self.failed:
            return None
        return "nvml" if self._nvml is not None else ("nvidia-smi" if self._smi else None)

    def sample(self) -> dict[str, float]:
        """``system/gpu_<i>_...`` points of every GPU (empty without GPUs or after a failure)."""
        if self.source is None:
            return {}
        try:
            rows = self._nvml_rows() if self._nvml is not None else self._smi_rows()
        except Exception as exc:
            self.failed = True
            self.log(f"Warning: querying the GPUs failed ({exc}); the run's system metrics go on without GPU figures.")
            return {}
        out: dict[str, float] = {}
        for i, (util, used_mb) in enumerate(rows):
            out[f"{PREFIX}gpu_{i}_utilization_percentage"] = util
            out[f"{PREFIX}gpu_{i}_memory_usage_megabytes"] = used_mb
        return out

    def _nvml_rows(self) -> list[tuple[float, float]]:
        nv = self._nvml
        rows = []
        for i in range(nv.nvmlDeviceGetCount()):
            handle = nv.nvmlDeviceGetHandleByIndex(i)
            util = nv.nvmlDeviceGetUtilizationRates(handle)
            mem = nv.nvmlDeviceGetMemoryInfo(handle)
            rows.append((float(util.gpu), float(mem.used) / _MB))
        return rows

    def _smi_rows(self) -> list[tuple[float, float]]:
        assert self._smi is not None
        done = subprocess.run(
            [self._smi, "--query-gpu=utilization.gpu,memory.used", "--format=csv,noheader,nounits"],
            capture_output=True,
            text=True,
            timeout=10,
            check=False,
        )
        if done.returncode != 0:
            raise RuntimeError(f"nvidia-smi exited with {done.returncode}: {done.stderr.strip()[:200]}")
        rows = []
        for line in done.stdout.strip().splitlines():
            util, used = (part.strip() for part in line.split(","))
            rows.append((float(util), float(used)))
        return rows


class TreeSampler:
    """CPU, memory and disk I/O of one process and its descendants (kept between samples, so that CPU percentages
    measure the time since the previous sample)."""

    def __init__(self, pid: int) -> None:
        self.root = psutil.Process(pid)
        self._procs: dict[int, psutil.Process] = {}
        self._cpus = psutil.cpu_count() or 1

    def sample(self) -> dict[str, float] | None:
        """The tree's figures now; None once the root process is gone."""
        try:
            tree = [self.root, *self.root.children(recursive=True)]
        except psutil.NoSuchProcess:
            return None
        cpu = rss = read = write = 0.0
        seen: dict[int, psutil.Process] = {}
        for proc in tree:
            known = self._procs.get(proc.pid, proc)  # the same object: cpu_percent measures since its last call
            seen[proc.pid] = known
            try:
                with known.oneshot():
                    cpu += known.cpu_percent(None)
                    rss += known.memory_info().rss
                    io = known.io_counters() if hasattr(known, "io_counters") else None
            except (psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess):
                continue
            if io is not None:
                read += io.read_bytes
                write += io.write_bytes
        self._procs = seen
        return {
            f"{PREFIX}cpu_utilization_percentage": cpu / self._cpus,
            f"{PREFIX}process_memory_rss_megabytes": rss / _MB,
            f"{PREFIX}disk_read_megabytes": read / _MB,
            f"{PREFIX}disk_write_megabytes": write / _MB,
        }


def start_sampler(
    journal_file: Path,
    pid: int,
    stop: threading.Event,
    log: Callable[[str], None],
    run_env: Mapping[str, str] | None = None,
) -> threading.Thread | None:
    """Sample the tree of ``pid`` into the journal at ``journal_file`` until ``stop`` is set or the tree is gone.

    Returns the (daemon) thread, or None when sampling is off. A bad interval setting is logged and turns sampling
    off (the run itself goes on).
    """
    try:
        interval = interval_seconds(run_env)
    except ValueError as exc:
        log(f"Warning: {exc} System metrics are off for this run.")
        return None
    if interval <= 0:
        return None
    try:
        tree = TreeSampler(pid)
    except psutil.NoSuchProcess:
        return None
    thread = threading.Thread(
        target=_loop, args=(journal_file, tree, interval, stop, log), name="system-metrics", daemon=True
    )
    thread.start()
    return thread


def _loop(
    journal_file: Path, tree: TreeSampler, interval: float, stop: threading.Event, log: Callable[[str], None]
) -> None:
    from jupyter_amlrun.tracking.journal import JournalWriter

    gpus = GpuQuery(log)
    writer = JournalWriter(journal_file)
    tree.sample()  # primes the CPU counters: the first real figure covers the first interval
    step = 0
    try:
        while not stop.wait(interval):
            figures = tree.sample()
            if figures is None:
                return
            figures.update(gpus.sample())
            now = int(time.time() * 1000)
            try:
                writer.append_points([(name, value, now, step) for name, value in figures.items()])
            except Exception as exc:  # a full disk: the journal says so itself; stop adding to it
                log(f"Warning: writing system metrics stopped: {exc}")
                return
            step += 1
    finally:
        writer.close()
