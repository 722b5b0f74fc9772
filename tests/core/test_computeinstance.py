"""ComputeInstance: a local pool of one node that runs real scripts; with a saved RunConfiguration and v1 Run
members (list_by_compute, take_snapshot)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from jupyter_amlrun import ComputeTarget, Experiment, RunConfiguration, ScriptRunConfig, Workspace
from jupyter_amlrun.core.compute import ComputeInstance
from jupyter_amlrun.runtime.errors import ComputeTargetException, NotSupportedLocallyError


@pytest.mark.unit
def test_create_is_a_one_node_pool_and_reads_back_as_compute_instance(ws: Workspace) -> None:
    config = ComputeInstance.provisioning_configuration(vm_size="STANDARD_D3_V2", ssh_public_access=False)
    instance = ComputeInstance.create(ws, "my-instance", config)
    instance.wait_for_completion(show_output=False)
    again = ComputeTarget(ws, "my-instance")
    assert isinstance(again, ComputeInstance) and again.type == "ComputeInstance"
    assert again.scale_settings["maximum_node_count"] == 1
    status = again.get_status()
    assert status.state == "Idle" and status.serialize()["state"] == "Idle"
    assert ComputeTarget.deserialize(ws, again.serialize()).name == "my-instance"
    again.stop()
    again.start()
    with pytest.raises(NotSupportedLocallyError, match="Instead: "):
        again.update_sso_settings(True)
    with pytest.raises(ComputeTargetException, match="ComputeInstance.provisioning_configuration"):
        ComputeInstance.create(ws, "other", object())


@pytest.mark.integration
def test_a_saved_run_configuration_runs_a_real_script_on_the_instance(
    ws: Workspace, make_source: Any, tmp_path: Path
) -> None:
    from jupyter_amlrun import Run

    ComputeInstance.create(ws, "ci", ComputeInstance.provisioning_configuration())
    src = make_source(
        {
            "train.py": """
            import os, sys
            from jupyter_amlrun import Run
            run = Run.get_context()
            run.log("mode", 1.0 if os.environ.get("MODE") == "fast" else 0.0)
            print("args", sys.argv[1:])
            """
        }
    )
    rc = RunConfiguration(script="train.py", arguments=["--lr", "0.1"])
    rc.target = "ci"
    rc.environment.python.user_managed_dependencies = True
    rc.environment_variables = {"MODE": "fast"}
    rc.save(path=str(src), name="ci-run")
    loaded = RunConfiguration.load(str(src), "ci-run")
    run = Experiment(ws, "ci-exp").submit(ScriptRunConfig(source_directory=str(src), run_config=loaded))
    run.wait_for_completion(raise_on_error=True)
    assert run.get_details()["target"] == "ci"
    assert run.get_metrics()["mode"] == 1.0
    assert any("args ['--lr', '0.1']" in t for t in run.get_details_with_logs()["logFiles"].values())
    assert [r.id for r in Run.list_by_compute(ComputeTarget(ws, "ci"))] == [run.id]
    snapshot = run.take_snapshot(str(src / "train.py"))
    restored = Path(run.restore_snapshot(snapshot, path=tmp_path / "restored"))
    assert (restored / "train.py").read_text() == (src / "train.py").read_text()
