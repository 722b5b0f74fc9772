"""Shows a pool slot's GPUs reaching a run's container: ``python scripts/container-gpu-check.py [IMAGE]``.

For a machine with an NVIDIA GPU and podman (with a CDI spec: ``nvidia-ctk cdi generate --output
/etc/cdi/nvidia.yaml``) or docker (with the NVIDIA Container Toolkit). It submits one run on a one-slot pool, in IMAGE
(default: the test image of scripts/build-test-image.sh), and prints what the run saw: the GPU devices, its
``CUDA_VISIBLE_DEVICES`` (renumbered from 0 inside), ``nvidia-smi -L`` when the image or CDI provides it. Where the
engine cannot pass GPUs, the run ends Failed at Preparing and the script prints the refusal. Uses a throwaway
workspace under /tmp; changes nothing else.
"""

from __future__ import annotations

import shutil
import sys
import tempfile
from pathlib import Path

from jupyter_amlrun import AmlCompute, ComputeTarget, Estimator, Experiment, Workspace
from jupyter_amlrun._util.engine import detect
from jupyter_amlrun.compute._gpus import visible_gpus
from jupyter_amlrun.compute.container import gpu_support

SCRIPT = """
import glob, os, shutil, subprocess
print("CUDA_VISIBLE_DEVICES =", os.environ.get("CUDA_VISIBLE_DEVICES"))
print("devices:", sorted(glob.glob("/dev/nvidia*")))
smi = shutil.which("nvidia-smi")
print(subprocess.run([smi, "-L"], capture_output=True, text=True).stdout if smi else "no nvidia-smi in the container")
"""


def main() -> int:
    image = sys.argv[1] if len(sys.argv) > 1 else "localhost/amlrun-test-python:bookworm"
    engine = detect()
    print(f"engine: {engine.describe() if engine else 'none answers'}")
    if engine is None:
        return 1
    print(f"GPU support: {gpu_support(engine) or 'none'}; host GPUs: {visible_gpus() or 'none'}")
    root = Path(tempfile.mkdtemp(prefix="amlrun-gpu-check-"))
    try:
        (root / "src").mkdir()
        (root / "src" / "gpu.py").write_text(SCRIPT)
        ws = Workspace.create("gpu-check", path=root / "ws")
        ComputeTarget.create(ws, "gpu-pool", AmlCompute.provisioning_configuration(max_nodes=1))
        est = Estimator(
            str(root / "src"), entry_script="gpu.py", compute_target="gpu-pool", use_gpu=True, custom_docker_image=image
        )
        run = Experiment(ws, "gpu-check").submit(est)
        details = run.wait_for_completion(raise_on_error=False)
        logs = run.get_log_files()
        print(f"status: {details['status']}")
        for line in logs["logs/azureml/driver_log.txt"].read_text().splitlines():
            if any(w in line for w in ("GPU", "Container", "container", "Error")):
                print("driver:", line)
        user = logs.get("logs/user_logs/std_log.txt")
        print(user.read_text() if user else "(no user log)")
        return 0 if details["status"] == "Completed" else 1
    finally:
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
