"""The v1 calls real tutorial notebooks stop at (issue 12): they work, or refuse with a reason, never AttributeError."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from jupyter_amlrun import Experiment, ScriptRunConfig, Workspace


@pytest.mark.unit
def test_version_and_top_level_exceptions() -> None:
    import jupyter_amlrun
    from jupyter_amlrun.compute.target import ComputeTargetException as FromComputePath
    from jupyter_amlrun.core.computetarget import ComputeTargetException as FromCorePath
    from jupyter_amlrun.exceptions import ComputeTargetException as FromExceptions

    assert jupyter_amlrun.__version__ == jupyter_amlrun.VERSION and jupyter_amlrun.VERSION[0].isdigit()
    assert "SDK version: " + jupyter_amlrun.VERSION
    top = jupyter_amlrun.ComputeTargetException
    assert top is FromComputePath is FromCorePath is FromExceptions
    assert issubclass(top, jupyter_amlrun.UserErrorException)


@pytest.mark.unit
def test_workspace_identity_fields_are_strings(ws: Workspace) -> None:
    line = "Workspace name: " + ws.name + ", Azure region: " + ws.location
    line += ", Subscription id: " + ws.subscription_id + ", Resource group: " + ws.resource_group
    assert "Subscription id: local" in line
    assert isinstance(ws.sku, str) and ws.tags == {}
    assert ws.get_default_compute_target("CPU") == "local"


def test_workspace_list_finds_local_workspaces(amlrun_home: Path) -> None:
    Workspace.create("listed")
    found = Workspace.list("any-subscription")
    assert list(found) == ["listed"] and found["listed"][0].name == "listed"


@pytest.mark.unit
@pytest.mark.parametrize("name", ["webservices", "images", "service_context", "linked_services"])
def test_azure_only_workspace_properties_refuse_with_a_reason(ws: Workspace, name: str) -> None:
    from jupyter_amlrun.runtime.errors import NotSupportedLocallyError

    with pytest.raises(NotSupportedLocallyError, match="Azure-only") as info:
        getattr(ws, name)
    assert "Instead: " in str(info.value)


@pytest.mark.unit
def test_azure_only_workspace_methods_refuse(ws: Workspace) -> None:
    from jupyter_amlrun.runtime.errors import NotSupportedLocallyError

    for call in (ws.delete, ws.update, ws.list_keys, ws.sync_keys):
        with pytest.raises(NotSupportedLocallyError):
            call()


@pytest.mark.unit
def test_default_datastore_prints_v1_attributes(ws: Workspace) -> None:
    ds = ws.get_default_datastore()
    text = "Datastore: " + ds.datastore_type + " " + ds.account_name + " " + ds.container_name
    assert text == f"Datastore: Folder local {Path(ds.path_on_disk).name}"


@pytest.mark.unit
def test_unsupported_datastore_kinds_refuse(ws: Workspace) -> None:
    from jupyter_amlrun import Datastore
    from jupyter_amlrun.runtime.errors import NotSupportedLocallyError

    with pytest.raises(NotSupportedLocallyError, match="register_folder"):
        Datastore.register_azure_file_share(ws, "share", "s", "a", account_key="k")
    with pytest.raises(NotSupportedLocallyError, match="register_azure_blob_container"):
        Datastore.register_azure_data_lake_gen2(ws, "lake", "fs", "acct")


@pytest.mark.unit
def test_output_file_dataset_config_works_and_refuses_what_is_not_here(ws: Workspace) -> None:
    from jupyter_amlrun import OutputFileDatasetConfig
    from jupyter_amlrun.data import DatasetException
    from jupyter_amlrun.data import OutputFileDatasetConfig as FromData

    assert FromData is OutputFileDatasetConfig
    out = OutputFileDatasetConfig("out", destination=(ws.get_default_datastore(), "out/{run-id}"))
    assert str(out.as_upload().register_on_complete("ds")) == "DatasetOutputConfig:out"  # v1's argument template
    with pytest.raises(DatasetException, match="must be a Datastore"):
        OutputFileDatasetConfig(destination=("ds", "out"))  # type: ignore[arg-type]
    with pytest.raises(DatasetException, match=r"pipelines are not.*Dataset\.File\.from_files"):
        out.read_delimited_files()


def _submit(ws: Workspace, make_source: Any, body: str, name: str = "v1") -> Any:
    src = make_source({"train.py": body, "helper.txt": "kept\n"})
    return Experiment(ws, name).submit(ScriptRunConfig(source_directory=src, script="train.py"))


def test_details_with_logs_snapshot_and_model_path_with_dot(
    ws: Workspace, make_source: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    run = _submit(
        ws,
        make_source,
        """
        import os
        print("hello from the script")
        os.makedirs("outputs", exist_ok=True)
        open("outputs/x.pkl", "wb").write(b"model")
        """,
    )
    run.wait_for_completion()
    details = run.get_details_with_logs()
    assert any("hello from the script" in text for text in details["logFiles"].values())
    monkeypatch.chdir(tmp_path)
    restored = Path(run.restore_snapshot())
    assert restored == tmp_path / run.get_snapshot_id()
    assert (restored / "helper.txt").read_text() == "kept\n" and (restored / "train.py").is_file()
    other = Path(run.restore_snapshot(path=tmp_path / "elsewhere"))
    assert sorted(p.name for p in other.iterdir()) == ["helper.txt", "train.py"]
    model = run.register_model("m", model_path="./outputs/x.pkl")
    assert model.version == 1
    assert run.number == 1
    logs = run.get_all_logs(destination=tmp_path / "logs")
    assert logs and all(os.path.isfile(p) for p in logs)


def test_fail_on_a_submitted_run_stops_it_and_records_the_error(ws: Workspace, make_source: Any) -> None:
    from jupyter_amlrun.runtime.errors import ExperimentExecutionException
    from tests.conftest import wait_for

    run = _submit(ws, make_source, "import time\nprint('started', flush=True)\ntime.sleep(60)\n", name="failme")
    wait_for(lambda: run.get_status() == "Running", timeout=30)
    run.fail(error_details="diverged", error_code="UserError")
    assert run.get_status() == "Failed"
    assert "UserError: diverged" in run.get_details()["error"]["error"]["message"]
    assert ws.get_run(run.id).get_status() == "Failed"
    with pytest.raises(ExperimentExecutionException, match="already ended"):
        run.fail()


def test_fail_on_an_interactive_run(ws: Workspace) -> None:
    run = Experiment(ws, "inter").start_logging(snapshot_directory=None)
    run.fail(error_details=ValueError("bad data"))
    assert run.get_status() == "Failed"
    assert "ValueError: bad data" in run.get_details()["error"]["error"]["message"]


@pytest.mark.unit
def test_experiment_tags_and_refusals(ws: Workspace) -> None:
    from jupyter_amlrun.runtime.errors import UserErrorException

    exp = Experiment(ws, "tagged")
    exp.tag("team", "vision")
    exp.set_tags({"stage": "dev", "empty": None})
    assert exp.tags == {"team": "vision", "stage": "dev", "empty": ""}
    exp.remove_tags(["stage"])
    exp.refresh()
    assert Experiment(ws, "tagged").tags == {"team": "vision", "empty": ""} and exp.archived_time is None
    for call in (exp.archive, exp.reactivate, lambda: Experiment.delete(ws, exp.id)):
        with pytest.raises(UserErrorException, match="not supported"):
            call()
    with pytest.raises(UserErrorException, match=r"Dataset.get_all\(ws\)"):
        ws.datasets  # noqa: B018


# ---------------------------------------------------------------------------------------------- issue 21: every name
INVENTORY = Path(
    "/work/shared/reference/v1-surface/inventory.json"
)  # read from the real v1 wheels (outside the project)

#: Members of the inventory that do not answer yet, with why (each lives in a file another change owns).
NOT_YET: dict[str, str] = {
    "azureml.data.data_reference.DataReference.create": "data/reference.py",
    "azureml.data.OutputFileDatasetConfig.name": "data/output.py sets it per instance only",
    "azureml.data.output_dataset_config.OutputFileDatasetConfig.name": "data/output.py sets it per instance only",
    "azureml.data.output_dataset_config.OutputDatasetConfig.name": "alias of OutputFileDatasetConfig",
    "azureml.tensorboard.Tensorboard.LOGS_ARTIFACT_PREFIX": "core/tensorboard.py",
    "azureml.tensorboard.tensorboard.Tensorboard.LOGS_ARTIFACT_PREFIX": "core/tensorboard.py",
}


def ported_module(v1_module: str) -> str:
    """The module a port imports from: ``azureml.core`` -> ``jupyter_amlrun``, else ``azureml.X`` ->
    ``jupyter_amlrun.X``."""
    return "jupyter_amlrun" if v1_module == "azureml.core" else v1_module.replace("azureml", "jupyter_amlrun", 1)


@pytest.mark.unit
def test_every_v1_name_in_scope_answers_at_its_ported_path() -> None:
    """Walk the inventory of the v1 wheels: each name imports from its ported module (never ImportError or
    AttributeError) and has each of its v1 members (implemented, or present and refusing)."""
    import importlib
    import json

    if not INVENTORY.is_file():
        pytest.skip(f"the v1 inventory is not on this machine ({INVENTORY}); it lives outside the project")
    inventory = json.loads(INVENTORY.read_text())
    missing_names, missing_members = [], []
    for key, entry in sorted(inventory.items()):
        module, name = key.rsplit(".", 1)
        try:
            obj = getattr(importlib.import_module(ported_module(module)), name)
        except (ImportError, AttributeError) as exc:
            missing_names.append(f"{key}: {type(exc).__name__}: {exc}")
            continue
        for member in entry.get("members", {}):
            if member != "__init__" and not hasattr(obj, member) and f"{key}.{member}" not in NOT_YET:
                missing_members.append(f"{key}.{member}")
    assert not missing_names, "\n".join(missing_names)
    assert not missing_members, "\n".join(missing_members)


def _public_classes() -> list[type]:
    """Every public class of jupyter_amlrun's v1 paths (the modules a port imports from)."""
    import importlib
    import pkgutil

    import jupyter_amlrun

    seen: dict[int, type] = {}
    for info in pkgutil.walk_packages(jupyter_amlrun.__path__, "jupyter_amlrun."):
        if any(part.startswith("_") for part in info.name.split(".")[1:]) or info.name.startswith(
            ("jupyter_amlrun.server", "jupyter_amlrun.testing", "jupyter_amlrun.notebook")
        ):
            continue
        module = importlib.import_module(info.name)
        for value in vars(module).values():
            if isinstance(value, type) and value.__module__.startswith("jupyter_amlrun"):
                seen[id(value)] = value
    return list(seen.values())


@pytest.mark.unit
def test_every_refused_v1_callable_raises_not_supported_with_what_to_do_instead() -> None:
    """Data-driven: every refused member of every public class raises NotSupportedLocallyError (a
    UserErrorException and an AzureMLException), its message naming what to use instead."""
    from jupyter_amlrun.runtime.errors import AzureMLException, NotSupportedLocallyError, UserErrorException, refusal_of

    checked = 0
    for cls in _public_classes():
        for name, raw in list(vars(cls).items()):
            target = raw.fget if isinstance(raw, property) else getattr(raw, "__func__", raw)
            instead = refusal_of(target)
            if instead is None:
                continue
            with pytest.raises(NotSupportedLocallyError) as info:
                target(None)
            assert isinstance(info.value, UserErrorException) and isinstance(info.value, AzureMLException)
            assert f"Instead: {instead}" in str(info.value), (cls, name)
            checked += 1
    assert checked >= 90  # the tables of refusals were all found (98 members when written)
    from jupyter_amlrun.runtime.errors import REFUSED

    assert not [name for name in REFUSED if "V1Mixin" in name]  # messages name v1 classes, never our mixins


@pytest.mark.unit
def test_refused_classes_refuse_to_be_made_and_every_member_refuses(ws: Workspace) -> None:
    from jupyter_amlrun.core.compute import AksCompute, ComputeTarget, DatabricksCompute
    from jupyter_amlrun.core.model import InferenceConfig
    from jupyter_amlrun.runtime.errors import NotSupportedLocallyError, refusal_of
    from jupyter_amlrun.widgets import ParallelRunStepDetails

    for cls in (AksCompute, DatabricksCompute, InferenceConfig, ParallelRunStepDetails):
        with pytest.raises(NotSupportedLocallyError, match="Instead: "):
            cls(ws, "x")
        assert refusal_of(cls.attach_configuration)  # any member: a marked refusal the port command reports
        with pytest.raises(NotSupportedLocallyError, match="Instead: "):
            cls.attach_configuration(resource_id="x")
    assert issubclass(AksCompute, ComputeTarget)
    assert refusal_of(AksCompute) and refusal_of(Workspace.images)  # classes and properties are marked too
    assert refusal_of(Workspace.get_default_keyvault) is None  # implemented names are not
    assert not hasattr(AksCompute, "_private_thing")  # private names still raise AttributeError


@pytest.mark.unit
def test_v1_exceptions_have_message_inner_exception_and_print_stacktrace(capsys: pytest.CaptureFixture[str]) -> None:
    from jupyter_amlrun.exceptions import (
        AzureMLException,
        ComputeTargetException,
        DatasetTimestampMissingError,
        ServiceException,
        WebserviceException,
    )

    cause = OSError("disk")
    err = ComputeTargetException("pool is full", inner_exception=cause)
    assert err.message == "pool is full" and err.inner_exception is cause
    try:
        raise ComputeTargetException("again") from cause
    except AzureMLException as caught:  # v1's base catches every error of the project
        assert caught.inner_exception is cause
        caught.print_stacktrace()
    assert "ComputeTargetException: again" in capsys.readouterr().err
    for cls in (DatasetTimestampMissingError, ServiceException, WebserviceException):
        assert issubclass(cls, AzureMLException)


@pytest.mark.unit
def test_docs_list_every_refused_name_from_the_code() -> None:
    """docs/v1-surface.md's refused table is generated from the code (python -m jupyter_amlrun.v1names)."""
    from jupyter_amlrun.v1names import refused_markdown

    docs = (Path(__file__).resolve().parents[2] / "docs" / "v1-surface.md").read_text()
    assert refused_markdown() in docs, "regenerate: python -m jupyter_amlrun.v1names --write"


#: Every ``from azureml.<in scope> import <name>`` in the public v1 notebooks repository (Azure/MachineLearningNotebooks
#: at f1aff553: notebooks' code cells and scripts, found with scripts/v1_usage.py's parser), kept here as data.
NOTEBOOK_IMPORTS: list[tuple[str, str]] = [
    ("azureml.core", "Dataset"),
    ("azureml.core", "Datastore"),
    ("azureml.core", "Environment"),
    ("azureml.core", "Experiment"),
    ("azureml.core", "LinkedService"),
    ("azureml.core", "Model"),
    ("azureml.core", "Run"),
    ("azureml.core", "RunConfiguration"),
    ("azureml.core", "ScriptRunConfig"),
    ("azureml.core", "SynapseWorkspaceLinkedServiceConfiguration"),
    ("azureml.core", "Webservice"),
    ("azureml.core", "Workspace"),
    ("azureml.core.authentication", "Audience"),
    ("azureml.core.authentication", "AzureCliAuthentication"),
    ("azureml.core.authentication", "InteractiveLoginAuthentication"),
    ("azureml.core.authentication", "MsiAuthentication"),
    ("azureml.core.authentication", "ServicePrincipalAuthentication"),
    ("azureml.core.authentication", "TokenAuthentication"),
    ("azureml.core.compute", "AmlCompute"),
    ("azureml.core.compute", "BatchCompute"),
    ("azureml.core.compute", "ComputeTarget"),
    ("azureml.core.compute", "DataFactoryCompute"),
    ("azureml.core.compute", "DatabricksCompute"),
    ("azureml.core.compute", "HDInsightCompute"),
    ("azureml.core.compute", "KustoCompute"),
    ("azureml.core.compute", "RemoteCompute"),
    ("azureml.core.compute", "SynapseCompute"),
    ("azureml.core.compute_target", "ComputeTargetException"),
    ("azureml.core.conda_dependencies", "CondaDependencies"),
    ("azureml.core.dataset", "Dataset"),
    ("azureml.core.datastore", "Datastore"),
    ("azureml.core.environment", "CondaDependencies"),
    ("azureml.core.environment", "Environment"),
    ("azureml.core.experiment", "Experiment"),
    ("azureml.core.model", "Dataset"),
    ("azureml.core.model", "InferenceConfig"),
    ("azureml.core.model", "Model"),
    ("azureml.core.run", "Run"),
    ("azureml.core.run", "_OfflineRun"),
    ("azureml.core.runconfig", "CondaDependencies"),
    ("azureml.core.runconfig", "DEFAULT_CPU_IMAGE"),
    ("azureml.core.runconfig", "DEFAULT_GPU_IMAGE"),
    ("azureml.core.runconfig", "DockerConfiguration"),
    ("azureml.core.runconfig", "JarLibrary"),
    ("azureml.core.runconfig", "MpiConfiguration"),
    ("azureml.core.runconfig", "PyTorchConfiguration"),
    ("azureml.core.runconfig", "RunConfiguration"),
    ("azureml.core.script_run_config", "ScriptRunConfig"),
    ("azureml.core.webservice", "AciWebservice"),
    ("azureml.core.webservice", "Webservice"),
    ("azureml.core.workspace", "Workspace"),
    ("azureml.data", "HDFSOutputDatasetConfig"),
    ("azureml.data", "LinkTabularOutputDatasetConfig"),
    ("azureml.data", "OutputFileDatasetConfig"),
    ("azureml.data", "TabularDataset"),
    ("azureml.data.data_reference", "DataReference"),
    ("azureml.data.datapath", "DataPath"),
    ("azureml.data.datapath", "DataPathComputeBinding"),
    ("azureml.data.dataset_consumption_config", "DatasetConsumptionConfig"),
    ("azureml.data.dataset_factory", "TabularDatasetFactory"),
    ("azureml.data.output_dataset_config", "OutputFileDatasetConfig"),
    ("azureml.data.sql_data_reference", "SqlDataReference"),
    ("azureml.exceptions", "ComputeTargetException"),
    ("azureml.exceptions", "DatasetTimestampMissingError"),
    ("azureml.exceptions", "UserErrorException"),
    ("azureml.exceptions", "WebserviceException"),
    ("azureml.opendatasets", "Diabetes"),
    ("azureml.opendatasets", "MNIST"),
    ("azureml.opendatasets", "NoaaIsdWeather"),
    ("azureml.opendatasets", "NycTlcGreen"),
    ("azureml.opendatasets", "NycTlcYellow"),
    ("azureml.telemetry", "set_diagnostics_collection"),
    ("azureml.tensorboard", "Tensorboard"),
    ("azureml.tensorboard.export", "export_to_tensorboard"),
    ("azureml.train.dnn", "TensorFlow"),
    ("azureml.train.estimator", "Estimator"),
    ("azureml.train.hyperdrive", "BanditPolicy"),
    ("azureml.train.hyperdrive", "HyperDriveConfig"),
    ("azureml.train.hyperdrive", "HyperDriveRun"),
    ("azureml.train.hyperdrive", "PrimaryMetricGoal"),
    ("azureml.train.hyperdrive", "RandomParameterSampling"),
    ("azureml.train.hyperdrive", "TruncationSelectionPolicy"),
    ("azureml.train.hyperdrive", "choice"),
    ("azureml.train.hyperdrive", "loguniform"),
    ("azureml.train.hyperdrive", "uniform"),
    ("azureml.train.hyperdrive.parameter_expressions", "choice"),
    ("azureml.train.hyperdrive.run", "PrimaryMetricGoal"),
    ("azureml.train.hyperdrive.runconfig", "HyperDriveConfig"),
    ("azureml.train.hyperdrive.sampling", "RandomParameterSampling"),
    ("azureml.widgets", "RunDetails"),
]


@pytest.mark.unit
@pytest.mark.parametrize(("v1_module", "name"), NOTEBOOK_IMPORTS)
def test_every_import_of_the_public_v1_notebooks_ports(v1_module: str, name: str) -> None:
    import importlib

    assert getattr(importlib.import_module(ported_module(v1_module)), name) is not None
