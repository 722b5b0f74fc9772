"""The entry point of a run's Slurm job: the run's driver, told what Slurm's SIGTERM means.

Slurm ends a job (time limit, preemption, scancel, node drain) with SIGTERM to every process of the job, then SIGKILL
after the cluster's ``KillWait``. The driver turns SIGTERM into a cancel of the run; here the cancel's reason is
Slurm's (``scontrol show job``: the job's state, e.g. TIMEOUT with its limit), not "the driver received SIGTERM".

    <python> -m jupyter_amlrun.compute._slurm_job <workspace_dir> <run_id>
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

from jupyter_amlrun.compute.driver import Driver
from jupyter_amlrun.compute.slurm import SlurmCli, slurm_reason
from jupyter_amlrun.runtime.runfolder import RunFolder


class SlurmJobDriver(Driver):
    """The driver of a run that is a Slurm job."""

    def _on_sigterm(self, *_: Any) -> None:
        job_id = os.environ.get("SLURM_JOB_ID", "")
        reason = f"The Slurm job {job_id} was signalled to end (SIGTERM)"
        # While the job's processes are signalled Slurm says COMPLETING; its final state (CANCELLED...) comes only
        # once they (this driver too) are gone, so what Slurm says now is all the driver can know.
        try:
            info = SlurmCli().job(job_id, timeout=5.0) if job_id else None
        except Exception:  # never let the handler fail: the cancel must be recorded
            info = None
        if info is not None and info.get("JobState") not in ("RUNNING", None):
            reason = slurm_reason(job_id, info)
        self.rf.request_cancel(reason)
        self.wake.set()


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if len(argv) != 2:
        print("usage: python -m jupyter_amlrun.compute._slurm_job <workspace_dir> <run_id>", file=sys.stderr)
        return 2
    spec = RunFolder(Path(argv[0]), argv[1]).read_spec()
    if spec is None:
        print(f"No spec.json for run {argv[1]} in {argv[0]}", file=sys.stderr)
        return 2
    return SlurmJobDriver(Path(argv[0]), argv[1], spec).run()


if __name__ == "__main__":
    sys.exit(main())
