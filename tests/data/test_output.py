"""OutputFileDatasetConfig: real runs on the local target write outputs that land in datastores (no mocks)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from jupyter_amlrun import Dataset, Experiment, OutputFileDatasetConfig, ScriptRunConfig
from jupyter_amlrun.core.contracts import InputMaterializer, MaterializedInputs
from jupyter_amlrun.data import DatasetException
from jupyter_amlrun.data.output import OutputMaterializer
from tests.conftest import wait_for
from tests.data.azurite import ACCOUNT_KEY
from tests.data.test_runs import finish

# The script writes the files named in OUT_FILES (json: {output name or argument index: {rel: text}}) into each
# output, found through its arguments (by index) or Run.get_context().output_datasets (by name); then prints what it
# saw.
SCRIPT = """
import json, os, sys, time
from jupyter_amlrun import Run

outputs = Run.get_context().output_datasets
plan = json.loads(os.environ["OUT_FILES"])
for key, files in plan.items():
    folder = sys.argv[1 + int(key)] if key.isdigit() else outputs[key]
    for rel, text in files.items():
        path = os.path.join(folder, rel)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        if text.startswith("->"):  # a link to a file written outside the output folder
            open(text[2:], "w").write("linked")
            os.symlink(os.path.abspath(text[2:]), path)
        else:
            open(path, "w").write(text)
env = {k: os.environ.get(k) for k in ("AZUREML_DATASET_FILE_OUTPUTS",)}
env.update({k: v for k, v in os.environ.items() if k.startswith("AZURE_ML_OUTPUT_")})
print("SEEN " + json.dumps({"argv": sys.argv[1:], "outputs": outputs, "env": env}), flush=True)
time.sleep(float(os.environ.get("SLEEP", "0")))
sys.exit(int(os.environ.get("EXIT_CODE", "0")))
"""


def start(ws, make_source, arguments, files, exit_code=0, data=None, sleep=0):  # type: ignore[no-untyped-def]
    src = make_source({"write.py": SCRIPT})
    config = ScriptRunConfig(
        source_directory=str(src),
        script="write.py",
        arguments=arguments,
    )
    config.run_config.environment_variables = {
        "OUT_FILES": json.dumps(files),
        "EXIT_CODE": str(exit_code),
        "SLEEP": str(sleep),
    }
    for name, value in (data or {}).items():
        config.run_config.data[name] = value
    return Experiment(ws, "outputs").submit(config)


def submit(ws, make_source, arguments, files, exit_code=0, data=None):  # type: ignore[no-untyped-def]
    run = start(ws, make_source, arguments, files, exit_code, data)
    return (run, *finish(run))


def files_under(folder: Path) -> dict[str, str]:
    return {p.relative_to(folder).as_posix(): p.read_text() for p in sorted(folder.rglob("*")) if p.is_file()}


# ---------------------------------------------------------------------------------------------------- construction
@pytest.mark.unit
def test_config_defaults_modes_and_placeholder(ws) -> None:  # type: ignore[no-untyped-def]
    store = ws.get_default_datastore()
    auto = OutputFileDatasetConfig()
    assert auto.name.startswith("output_") and len(auto.name) == len("output_") + 8 and auto.name.isidentifier()
    assert OutputFileDatasetConfig().name != auto.name
    out = OutputFileDatasetConfig("prepared", destination=(store, "out/{run-id}/{output-name}"), source="here")
    up = out.as_upload(overwrite=True, source_globs="*.csv").register_on_complete("ds", "desc", {"k": 1})
    assert out.mode == "mount" and not out.overwrite and out._register is None  # each call returns a new config
    assert str(up) == up.arg_val == "DatasetOutputConfig:prepared"
    placeholder, spec = up.__amlrun_input__()
    assert placeholder == "DatasetOutputConfig:prepared"
    assert spec == {
        "kind": "output",
        "name": "prepared",
        "mode": "upload",
        "datastore": store.name,
        "path": "out/{run-id}/{output-name}",
        "source": "here",
        "overwrite": True,
        "source_globs": ["*.csv"],
        "register": {"name": "ds", "description": "desc", "tags": {"k": "1"}},
    }
    assert up.as_mount().__amlrun_input__()[1]["mode"] == "mount"
    assert (
        OutputFileDatasetConfig("x").__amlrun_input__()[1]["datastore"] is None
    )  # the default, resolved on the target


@pytest.mark.unit
def test_bad_inputs_and_refused_calls_say_what_to_do(ws) -> None:  # type: ignore[no-untyped-def]
    store = ws.get_default_datastore()
    for bad in ("1abc", "has space", "a-b", "", 7):
        with pytest.raises(DatasetException, match="Invalid output name"):
            OutputFileDatasetConfig(name=bad)  # type: ignore[arg-type]
    with pytest.raises(DatasetException, match=r"contains '\.\.'"):
        OutputFileDatasetConfig(destination=(store, "a/../../escape"))
    with pytest.raises(DatasetException, match="absolute"):
        OutputFileDatasetConfig(destination=(store, "/etc/x"))
    with pytest.raises(DatasetException, match="must be a Datastore"):
        OutputFileDatasetConfig(destination=("workspaceblobstore", "x"))  # type: ignore[arg-type]
    with pytest.raises(DatasetException, match="tuple"):
        OutputFileDatasetConfig(destination=store)  # type: ignore[arg-type]
    with pytest.raises(DatasetException, match="partition_format is not supported"):
        OutputFileDatasetConfig(destination=(store, "x"), partition_format="{year}/{PartitionDate:yyyy}")
    out = OutputFileDatasetConfig("o")
    for call in (out.read_delimited_files, out.read_parquet_files, out.as_input):
        with pytest.raises(DatasetException, match=r"Dataset\.File\.from_files\(\(datastore, path\)\)"):
            call()
    with pytest.raises(DatasetException, match="source_globs"):
        out.as_upload(source_globs=[])
    with pytest.raises(DatasetException, match="Invalid dataset name"):
        out.register_on_complete("/bad")


@pytest.mark.unit
def test_materializer_complete_is_part_of_the_contract(ws) -> None:  # type: ignore[no-untyped-def]
    from jupyter_amlrun.core.registry import input_materializers

    assert input_materializers.load("output") is OutputMaterializer
    # A materializer that materialized nothing has nothing to finish.
    assert OutputMaterializer(ws).complete("Completed", print) is None


# ---------------------------------------------------------------------------------------------------- real runs
@pytest.mark.integration
def test_outputs_land_in_the_default_datastore_and_register(ws, make_source) -> None:  # type: ignore[no-untyped-def]
    store = ws.get_default_datastore()
    root = Path(store.fs_root)
    prepared = OutputFileDatasetConfig(name="prepared")  # default: mount mode, default destination, in place
    model = (
        OutputFileDatasetConfig(name="model", destination=(store, "models/{run-id}"))
        .as_upload(source_globs=["*.txt", "sub/**"])
        .register_on_complete("model_ds", description="the model", tags={"stage": "dev"})
    )
    empty = OutputFileDatasetConfig(name="empty").as_upload().register_on_complete("empty_ds")
    plan = {
        "1": {"a.txt": "A", "deep/b.txt": "B"},
        "model": {"m.txt": "M", "sub/w.bin": "W", "skip.log": "not uploaded", "sub/l.txt": "->elsewhere.txt"},
    }
    run, details, driver, seen = submit(
        ws, make_source, ["--prepared", prepared, "--model", model], plan, data={"empty": empty}
    )
    assert details["status"] == "Completed", driver
    rid = run.id
    # The script saw absolute folders through argv, output_datasets and the env vars.
    assert seen["argv"][1] == str(root / f"dataset/{rid}/prepared")  # written in place
    assert seen["outputs"]["prepared"] == seen["argv"][1] and seen["outputs"]["model"] == seen["argv"][3]
    assert Path(seen["argv"][3]).is_absolute() and Path(seen["argv"][3]).name == "model"
    assert seen["env"]["AZUREML_DATASET_FILE_OUTPUTS"] == "prepared;model;empty"
    assert seen["env"]["AZURE_ML_OUTPUT_model"] == seen["argv"][3]
    assert files_under(root / f"dataset/{rid}/prepared") == {"a.txt": "A", "deep/b.txt": "B"}
    uploaded = {"m.txt": "M", "sub/w.bin": "W", "sub/l.txt": "linked"}  # source_globs filtered; a link's content
    assert files_under(root / f"models/{rid}") == uploaded
    assert not (root / f"dataset/{rid}/empty").exists()
    assert f"Uploading output 'model': 3 files from {seen['argv'][3]}" in driver
    assert "Registered output 'model' as dataset 'model_ds' version 1" in driver
    assert driver.index("Status: Finalizing") < driver.index("Uploading output 'model'")  # uploads are Finalizing
    assert "Output 'empty'" in driver and "holds no files" in driver and "'empty_ds' was not registered" in driver
    with pytest.raises(DatasetException):
        Dataset.get_by_name(ws, "empty_ds")
    ds = Dataset.get_by_name(ws, "model_ds")
    assert ds.version == 1 and ds.description == "the model" and ds.tags == {"stage": "dev"}
    got = ds.download(target_path=str(root.parent / "dl1"), show_progress=False)
    assert sorted(Path(p).read_text() for p in got) == ["M", "W", "linked"]
    outputs = {o["name"]: o for o in details["outputDatasets"]}
    assert outputs["prepared"] == {
        "name": "prepared",
        "mode": "mount",
        "datastore": store.name,
        "path": f"dataset/{rid}/prepared",
    }
    assert outputs["model"]["path"] == f"models/{rid}" and outputs["model"]["dataset_name"] == "model_ds"
    assert outputs["model"]["dataset_version"] == 1 and outputs["model"]["dataset_id"] == ds.id
    assert "inputDatasets" in details and details["inputDatasets"] == []  # outputs are not inputs

    # A second run with the same config registers version 2 (its own {run-id} folder).
    _run2, details2, driver2, _seen = submit(ws, make_source, ["--model", model], {"1": {"m.txt": "M2"}})
    assert details2["status"] == "Completed", driver2
    ds2 = Dataset.get_by_name(ws, "model_ds")
    assert ds2.version == 2 and [o["dataset_version"] for o in details2["outputDatasets"]] == [2]
    got2 = ds2.download(target_path=str(root.parent / "dl2"), show_progress=False)
    assert [Path(p).read_text() for p in got2] == ["M2"]
    got1 = Dataset.get_by_name(ws, "model_ds", version=1).download(target_path=str(root.parent / "dl3"))
    assert sorted(Path(p).read_text() for p in got1) == [
        "M",
        "W",
        "linked",
    ]  # version 1 still reads the first run's files


@pytest.mark.integration
def test_existing_destination_with_overwrite_false_fails_and_keeps_the_files(ws, make_source, tmp_path) -> None:  # type: ignore[no-untyped-def]
    store = ws.get_default_datastore()
    (tmp_path / "old").mkdir()
    (tmp_path / "old" / "m.txt").write_text("old")
    store.upload(str(tmp_path / "old"), "fixed", show_progress=False)
    out = OutputFileDatasetConfig("model", destination=(store, "fixed"), source="my_out").as_upload()
    out = out.register_on_complete("never_ds")
    run, details, driver, seen = submit(ws, make_source, [out], {"0": {"m.txt": "new", "n.txt": "N"}})
    assert details["status"] == "Failed", driver
    assert seen["argv"][0].endswith("/wd/my_out")  # a relative source is relative to the working folder
    message = details["error"]["error"]["message"]
    kept = Path(ws.path) / "runs" / run.id / "outputs-kept" / "model"
    assert "already exist at the destination" in message and "'fixed/m.txt'" in message
    assert f"kept in {kept}" in message
    assert files_under(kept) == {"m.txt": "new", "n.txt": "N"}  # survived the removal of the working folder
    assert files_under(Path(store.fs_root) / "fixed") == {"m.txt": "old"}  # nothing was uploaded
    with pytest.raises(DatasetException):
        Dataset.get_by_name(ws, "never_ds")
    assert details["outputDatasets"][0]["kept"] == str(kept)

    # overwrite=True replaces them.
    _run, details2, driver2, _seen = submit(ws, make_source, [out.as_upload(overwrite=True)], {"0": {"m.txt": "new"}})
    assert details2["status"] == "Completed", driver2
    assert files_under(Path(store.fs_root) / "fixed") == {"m.txt": "new"}


@pytest.mark.integration
def test_failed_script_uploads_nothing_and_says_so(ws, make_source) -> None:  # type: ignore[no-untyped-def]
    store = ws.get_default_datastore()
    out = OutputFileDatasetConfig("model", destination=(store, "never/{run-id}")).as_upload()
    run, details, driver, _seen = submit(ws, make_source, [out], {"0": {"m.txt": "M"}}, exit_code=3)
    assert details["status"] == "Failed" and details["exitCode"] == 3
    assert "exited with code 3" in details["error"]["error"]["message"]  # the script's own error, not ours
    assert not (Path(store.fs_root) / "never").exists()
    kept = Path(ws.path) / "runs" / run.id / "outputs-kept" / "model"
    assert "the run ended Failed, so nothing was uploaded" in driver and f"kept in {kept}" in driver
    assert files_under(kept) == {"m.txt": "M"}


@pytest.mark.integration
def test_canceled_run_uploads_nothing_and_keeps_the_files(ws, make_source) -> None:  # type: ignore[no-untyped-def]
    store = ws.get_default_datastore()
    out = OutputFileDatasetConfig("model", destination=(store, "never/{run-id}")).as_upload()
    run = start(ws, make_source, [out], {"0": {"m.txt": "M"}}, sleep=120)
    written = Path(ws.path) / "runs" / run.id / "wd" / "outputs-datasets" / "model" / "m.txt"
    assert wait_for(written.exists, timeout=60), "the script never wrote its output"
    run.cancel()
    details, driver, _seen = finish(run)
    assert details["status"] == "Canceled", driver
    assert not (Path(store.fs_root) / "never").exists()
    kept = Path(ws.path) / "runs" / run.id / "outputs-kept" / "model"
    assert "the run ended Canceled, so nothing was uploaded" in driver and f"kept in {kept}" in driver
    assert files_under(kept) == {"m.txt": "M"}


@pytest.mark.integration
def test_blob_datastore_output_uploads_at_the_end(ws, make_source, blob_store) -> None:  # type: ignore[no-untyped-def]
    out = OutputFileDatasetConfig("blobout", destination=(blob_store, "runs/{run-id}/{output-name}"))
    out = out.register_on_complete("blob_ds")
    assert ACCOUNT_KEY not in repr(out) and ACCOUNT_KEY not in str(out) and "blobstore" in repr(out)
    run, details, driver, seen = submit(ws, make_source, [out], {"blobout": {"x/y.txt": "Y", "z.txt": "Z"}})
    assert details["status"] == "Completed", driver
    path = f"runs/{run.id}/blobout"
    assert seen["outputs"]["blobout"].endswith(f"/runs/{run.id}/wd/outputs-datasets/blobout")
    assert "(mount mode: AzureBlob datastore 'blobstore' is uploaded at the end)" in driver
    assert blob_store.stat(f"{path}/x/y.txt") is not None and blob_store.stat(f"{path}/z.txt") is not None
    ds = Dataset.get_by_name(ws, "blob_ds")
    got = ds.download(target_path=str(Path(ws.path) / "dl"), show_progress=False)
    assert sorted(Path(p).read_text() for p in got) == ["Y", "Z"]
    assert details["outputDatasets"][0]["datastore"] == "blobstore" and details["outputDatasets"][0]["path"] == path
    assert ACCOUNT_KEY not in driver and ACCOUNT_KEY not in json.dumps(details)


class _Reports(InputMaterializer):
    """A real materializer whose end step reports a problem (or raises), as an output upload that failed would."""

    def __init__(self, workspace, outcome):  # type: ignore[no-untyped-def]
        super().__init__(workspace)
        self.outcome = outcome
        self.seen: list[str] = []

    def materialize(self, inputs, run_root, log):  # type: ignore[no-untyped-def]
        return MaterializedInputs()

    def complete(self, status: str, log) -> str | None:  # type: ignore[no-untyped-def]
        self.seen.append(status)
        if isinstance(self.outcome, Exception):
            raise self.outcome
        return self.outcome


@pytest.mark.unit
def test_driver_turns_a_completed_run_failed_when_an_end_step_reports_a_problem(ws, tmp_path) -> None:  # type: ignore[no-untyped-def]
    from jupyter_amlrun.compute.driver import Driver
    from jupyter_amlrun.runtime.runfolder import RunSpec

    spec = RunSpec(
        run_id="r",
        experiment="e",
        experiment_id="0",
        workspace=str(ws.path),
        script="s.py",
        snapshot_id="x",
        interpreter="python",
    )
    driver = Driver(Path(ws.path), "r", spec)
    driver.log = lambda message: None  # type: ignore[method-assign]
    fine, lost = _Reports(ws, None), _Reports(ws, "Output 'o' could not be saved")
    driver.materializers = [fine, lost]
    assert driver.complete_inputs("Completed", None) == ("Failed", "Output 'o' could not be saved")
    assert fine.seen == lost.seen == ["Completed"]
    # A run that failed already keeps its status and its own error first.
    assert driver.complete_inputs("Failed", "Script exited with code 1") == (
        "Failed",
        "Script exited with code 1\nOutput 'o' could not be saved",
    )
    driver.materializers = [_Reports(ws, RuntimeError("disk gone"))]
    assert driver.complete_inputs("Completed", None) == (
        "Failed",
        "Finishing the run's inputs/outputs failed: disk gone",
    )
    driver.materializers = [fine]
    assert driver.complete_inputs("Completed", None) == ("Completed", None)


HOLD_OUTPUT = """
import os, pathlib, sys, time
with open(os.path.join(sys.argv[1], "model.txt"), "w") as fh:
    fh.write("weights")
deadline = time.time() + 120
while not pathlib.Path("go").exists() and time.time() < deadline:
    time.sleep(0.05)
"""


@pytest.mark.integration
def test_a_hung_blob_endpoint_fails_the_output_upload_in_bounded_time(  # type: ignore[no-untyped-def]
    ws, make_source, blob_store, azurite, monkeypatch
) -> None:
    """Issue 25: Azurite frozen (SIGSTOP) while the run ends: the upload fails within the datastore deadline, the
    driver log says while it waits, the files are kept, the run ends Failed and its slot is free."""
    from jupyter_amlrun import AmlCompute, ComputeTarget
    from jupyter_amlrun.data._blob import DEADLINE_ENV
    from tests.data.test_blob_deadline import frozen

    monkeypatch.setenv(DEADLINE_ENV, "12")  # the driver inherits it; one notice line comes at 10 s
    pool = ComputeTarget.create(ws, "one-slot", AmlCompute.provisioning_configuration(max_nodes=1))
    out = OutputFileDatasetConfig("blobout", destination=(blob_store, "runs/{run-id}/{output-name}"))
    config = ScriptRunConfig(
        source_directory=str(make_source({"hold.py": HOLD_OUTPUT})),
        script="hold.py",
        arguments=[out],
        compute_target=pool,
    )
    run = Experiment(ws, "hung-output").submit(config)
    rf_root = Path(ws.path) / "runs" / run.id
    written = rf_root / "wd" / "outputs-datasets" / "blobout" / "model.txt"
    assert wait_for(written.exists, timeout=90), "the script never wrote its output"
    with frozen(azurite):
        (rf_root / "wd" / "go").touch()
        # bounded by the test: without a deadline the SDK waited 120 s per read and retry (10+ minutes)
        assert wait_for(lambda: run.get_status() in ("Completed", "Failed", "Canceled"), timeout=150)
        # still frozen: the SDK's abandoned reads must not hold the driver, and so the pool's slot
        assert wait_for(lambda: pool.get_status().node_state_counts["runningNodeCount"] == 0, timeout=60)
    details, driver, _seen = finish(run)
    assert details["status"] == "Failed", driver
    message = details["error"]["error"]["message"]
    kept = rf_root / "outputs-kept" / "blobout"
    assert "could not be saved" in message and "gave no answer in 12 s" in message and f"kept in {kept}" in message
    assert "still " in driver and "no answer from" in driver  # said while it waited
    assert files_under(kept) == {"model.txt": "weights"}
