"""Device check (issue 23): the run driver's GPU query (compute/sysmetrics.GpuQuery) on a machine with an NVIDIA GPU.

Loads compute/sysmetrics.py alone (psutil stubbed when absent: only the GPU part is exercised), queries through NVML
when nvidia-ml-py imports and through nvidia-smi, while a GPU load runs (torch when importable), and prints both.
"""

from __future__ import annotations

import importlib.util
import subprocess
import sys
import time
import types
from pathlib import Path

try:
    import psutil  # noqa: F401
except ImportError:
    sys.modules["psutil"] = types.ModuleType("psutil")
spec = importlib.util.spec_from_file_location(
    "sysmetrics", Path(__file__).parent.parent / "jupyter_amlrun/compute/sysmetrics.py"
)
assert spec is not None and spec.loader is not None
mod = importlib.util.module_from_spec(spec)
spec.loader.exec_module(mod)

print(subprocess.run(["nvidia-smi", "-L"], capture_output=True, text=True).stdout)
load = None
try:
    import torch

    if torch.cuda.is_available():
        code = (
            "import torch,time\nx=torch.randn(8192,8192,device='cuda')\nend=time.time()+20\n"
            "while time.time()<end:\n  y=x@x\n  torch.cuda.synchronize()\n"
        )
        load = subprocess.Popen([sys.executable, "-c", code])
        time.sleep(6)
except ImportError:
    print("torch not importable: no GPU load, idle figures only")
logs: list[str] = []
q = mod.GpuQuery(logs.append)
print("source:", q.source)
for _ in range(3):
    print(q.sample())
    time.sleep(1)
smi = mod.GpuQuery(logs.append, smi="nvidia-smi")
smi._nvml = None
print("forced nvidia-smi:", smi.source, smi.sample())
print("log lines:", logs)
if load is not None:
    load.wait()
