"""Issue 25: ending a process tree sends each process one SIGTERM (a script's handler runs once on cancel).

Real processes in their own session, as a run's script is started.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from jupyter_amlrun._util.procs import kill_tree
from tests.conftest import wait_for

pytestmark = pytest.mark.integration

HANDLER = textwrap.dedent(
    """
    import signal, subprocess, sys, time
    out = sys.argv[1]
    # children in its group, as a training script's workers: ending them is what sits between the signals
    kids = [subprocess.Popen(["sleep", "600"]) for _ in range(40)]
    def on_term(*_):
        with open(out, "a") as fh:
            fh.write("term\\n")
        time.sleep(0.5)  # cleanup takes a while: a second SIGTERM would land in it and run the handler again
        sys.exit(0)
    signal.signal(signal.SIGTERM, on_term)
    open(out + ".ready", "w").close()
    time.sleep(600)
    """
)


def test_a_script_in_its_own_group_gets_one_sigterm(tmp_path: Path) -> None:
    out = tmp_path / "terms.txt"
    proc = subprocess.Popen([sys.executable, "-c", HANDLER, str(out)], start_new_session=True)
    try:
        assert wait_for(lambda: Path(str(out) + ".ready").exists(), timeout=30)
        # as the driver ends a canceled script: its group, its pid, and the processes marked with the run id
        kill_tree(proc.pid, [proc.pid], grace=5.0)
        assert wait_for(lambda: proc.poll() is not None, timeout=15)
        assert out.read_text().splitlines() == ["term"]
    finally:
        proc.kill()
        proc.wait()
