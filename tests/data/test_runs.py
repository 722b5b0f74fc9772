"""Real runs on the local target consuming datasets and data references (mount and download)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from jupyter_amlrun import Dataset, Experiment, ScriptRunConfig
from jupyter_amlrun.data import _fuse

pytestmark = pytest.mark.integration

SCRIPT = """
import json, os, sys
from jupyter_amlrun import Run

def listing(path):
    if os.path.isfile(path):
        return [os.path.basename(path)]
    walk = os.walk(path, followlinks=True)
    return sorted(os.path.relpath(os.path.join(r, f), path) for r, _d, fs in walk for f in fs)

args = sys.argv[1:]
seen = {"argv": args, "inputs": Run.get_context().input_datasets, "files": {}}
for a in args:
    if os.path.exists(a):
        seen["files"][a] = listing(a)
for key in ("AZUREML_DATASET_ENVIRONMENT_VARS",):
    seen[key] = os.environ.get(key)
seen["refs"] = {k: v for k, v in os.environ.items() if k.startswith("AZUREML_DATAREFERENCE_")}
if os.environ.get("TRY_WRITE"):
    try:
        open(os.path.join(args[0], "new.txt"), "w").write("x")
        seen["write"] = "allowed"
    except OSError as exc:
        seen["write"] = type(exc).__name__
print("SEEN " + json.dumps(seen))
"""


def submit(ws, make_source, arguments):  # type: ignore[no-untyped-def]
    src = make_source({"read.py": SCRIPT})
    run = Experiment(ws, "data-runs").submit(
        ScriptRunConfig(source_directory=str(src), script="read.py", arguments=arguments)
    )
    return (run, *finish(run))


def finish(run):  # type: ignore[no-untyped-def]
    """Wait for ``run``; its details, driver log, and the JSON its script printed after ``SEEN `` (or None)."""
    details = run.wait_for_completion(raise_on_error=False)
    logs = run.get_log_files()
    driver = logs["logs/azureml/driver_log.txt"].read_text()
    user_log = logs.get("logs/user_logs/std_log.txt")
    user = user_log.read_text() if user_log else ""
    seen = next((json.loads(line[5:]) for line in user.splitlines() if line.startswith("SEEN ")), None)
    return details, driver, seen


def test_folder_dataset_mounted_in_place_and_downloaded(ws, make_source, sample_dir: Path) -> None:  # type: ignore[no-untyped-def]
    store = ws.get_default_datastore()
    store.upload(sample_dir, "datasets/sample", show_progress=False)
    ds = Dataset.File.from_files((store, "datasets/sample")).register(ws, "sample", create_new_version=True)
    _run, details, driver, seen = submit(
        ws,
        make_source,
        [
            "--data",
            ds.as_named_input("training").as_mount(),
            "--pngs",
            Dataset.File.from_files((store, "datasets/sample/images/**/*.png")).as_named_input("pngs").as_download(),
        ],
    )
    assert details["status"] == "Completed", driver
    mounted, downloaded = seen["argv"][1], seen["argv"][3]
    assert Path(mounted) == Path(store.fs_root) / "datasets/sample"  # used in place
    assert seen["files"][mounted] == sorted(
        p.relative_to(sample_dir).as_posix() for p in sample_dir.rglob("*") if p.is_file()
    )
    assert seen["files"][downloaded] == ["a/1.png", "a/2.png", "b/deep/3.png"]
    assert seen["inputs"] == {"training": mounted, "pngs": downloaded}
    assert seen["AZUREML_DATASET_ENVIRONMENT_VARS"] == "training:mount,pngs:download"
    assert f"Mounting training to {mounted}" in driver and "Downloading pngs to" in driver
    assert f"After variable expansion, calling script [ read.py ] with arguments: ['--data', '{mounted}'" in driver
    lineage = details["inputDatasets"]
    assert {
        "name": "training",
        "mode": "mount",
        "kind": "dataset",
        "dataset_name": "sample",
        "dataset_version": 1,
        "dataset_id": ds.id,
    } in lineage


def test_blob_dataset_mount_and_reference_download(ws, make_source, blob_store, sample_dir: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("AMLRUN_DISABLE_FUSE", "1")
    blob_store.upload(sample_dir, "cifar", show_progress=False)
    ds = Dataset.File.from_files((blob_store, "cifar")).register(ws, "cifar10")
    args = [ds.as_named_input("input").as_mount(), blob_store.path("cifar/images").as_download()]
    _run, details, driver, seen = submit(ws, make_source, args)
    assert details["status"] == "Completed", driver
    assert "Notice: FUSE is not available here (AMLRUN_DISABLE_FUSE is set)" in driver
    mounted, downloaded = seen["argv"]
    assert len(seen["files"][mounted]) == 7 and seen["files"][downloaded] == [
        "a/1.png",
        "a/2.png",
        "b/deep/3.png",
        "readme.md",
    ]
    assert list(seen["refs"].values()) == [downloaded]
    assert "7 fetched" in driver
    # A second run with unchanged data is served from the content cache.
    _run, details2, driver2, _seen = submit(ws, make_source, args)
    assert details2["status"] == "Completed" and "0 fetched" in driver2


@pytest.mark.skipif(_fuse.unavailable_reason() is not None, reason=f"FUSE: {_fuse.unavailable_reason()}")
def test_blob_dataset_fuse_mount_is_read_only(ws, make_source, blob_store, sample_dir: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("TRY_WRITE", "1")
    blob_store.upload(sample_dir, "cifar", show_progress=False)
    ds = Dataset.File.from_files((blob_store, "cifar"))
    _run, details, driver, seen = submit(ws, make_source, [ds.as_named_input("input").as_mount()])
    assert details["status"] == "Completed", driver
    assert "(FUSE, read-only" in driver
    assert len(seen["files"][seen["argv"][0]]) == 7 and seen["write"] == "OSError"
    assert blob_store.stat("cifar/new.txt") is None


def test_dataset_matching_nothing_fails_the_run_at_start(ws, make_source, sample_dir: Path) -> None:  # type: ignore[no-untyped-def]
    store = ws.get_default_datastore()
    store.upload(sample_dir, "datasets/sample", show_progress=False)
    ds = Dataset.File.from_files((store, "datasets/sample/**/*.png"))
    for f in Path(store.fs_root, "datasets/sample/images").rglob("*.png"):
        f.unlink()  # the data went away between from_files and the run
    _run, details, _driver, seen = submit(ws, make_source, [ds.as_named_input("imgs").as_download()])
    assert details["status"] == "Failed" and seen is None
    message = details["error"]["error"]["message"]
    assert "input 'imgs'" in message and "matches no files" in message


def test_input_given_in_run_config_data_reaches_the_script(ws, make_source, sample_dir: Path) -> None:  # type: ignore[no-untyped-def]
    """v1: an input in run_config.data (not named in the arguments) is still materialised for the script."""
    store = ws.get_default_datastore()
    store.upload(src_dir=str(sample_dir), target_path="datasets/sample", overwrite=True, show_progress=False)
    ds = Dataset.File.from_files((store, "datasets/sample"))
    src = make_source({"read.py": SCRIPT})
    config = ScriptRunConfig(source_directory=str(src), script="read.py")
    config.run_config.data["training"] = ds.as_named_input("training").as_download()
    run = Experiment(ws, "data-runs").submit(config)
    assert run.wait_for_completion(raise_on_error=False)["status"] == "Completed"
    user = run.get_log_files()["logs/user_logs/std_log.txt"].read_text()
    seen = next(json.loads(line[5:]) for line in user.splitlines() if line.startswith("SEEN "))
    assert "training" in seen["inputs"] and Path(seen["inputs"]["training"]).name
    assert [i["name"] for i in run.get_details()["inputDatasets"]] == ["training"]
