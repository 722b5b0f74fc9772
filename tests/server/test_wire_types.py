"""The REST wire is named once: labextension/src/api.ts mirrors every answer TypedDict of server/models.py."""

from __future__ import annotations

import typing

import pytest

from jupyter_amlrun.server import models
from tests.tswire import API_TS, ts_types

# server/models.py name -> api.ts name (TypeScript interfaces carry the I prefix the extension's lint asks for).
TS_NAME = {
    "ErrorAnswer": "IErrorBody",
    "PageAnswer": "IPage",
    "WorkspaceAnswer": "IWorkspace",
    "DatastoreItem": "IDatastore",
    "FileItem": "IFileEntry",
    "FolderAnswer": "IFolderListing",
    "UploadAnswer": "IUploaded",
    "DatasetItem": "IDataset",
    "ModelVersionItem": "IModelVersion",
    "ModelItem": "IModel",
    "DownloadAnswer": "IDownloaded",
    "ExperimentItem": "IExperiment",
    "RunItem": "IRun",
    "RunsAnswer": "IRunPage",
    "RunDetailAnswer": "IRunDetail",
    "LogAnswer": "ILogChunk",
    "CancelAnswer": "ICancelled",
    "MetricsAnswer": "IMetricSeries",
    "ChartPart": "IChartPart",
    "CompareLinePart": "ICompareLinePart",
    "CompareChartPart": "ICompareChartPart",
    "CompareAnswer": "ICompareAnswer",
    "LogChunkPart": "ILogChunkPart",
    "RunViewAnswer": "IRunViewAnswer",
    "DiffAnswer": "IDiffAnswer",
    "ResubmitAnswer": "IResubmitAnswer",
}


def _answers() -> dict[str, type]:
    return {
        name: obj
        for name, obj in vars(models).items()
        if isinstance(obj, type) and typing.is_typeddict(obj) and obj.__module__ == models.__name__
    }


@pytest.mark.unit
def test_every_answer_has_a_name_in_api_ts() -> None:
    missing = set(_answers()) - set(TS_NAME)
    assert not missing, f"server/models.py answers without an api.ts interface named here: {sorted(missing)}"


@pytest.mark.unit
def test_every_answer_has_the_same_properties_in_api_ts() -> None:
    ts = ts_types(API_TS.read_text(encoding="utf-8"))
    for name, td in _answers().items():
        ts_name = TS_NAME[name]
        assert ts_name in ts, f"api.ts has no interface {ts_name} for server/models.py {name}"
        assert ts[ts_name] == set(typing.get_type_hints(td)), f"{name}: server/models.py and api.ts {ts_name} differ"


@pytest.mark.unit
def test_the_view_types_rest_answers_carry_have_the_same_properties_in_api_ts() -> None:
    """A view TypedDict that only REST carries (the compare view's runs) is mirrored in api.ts too."""
    from jupyter_amlrun.view.compare import CompareRun

    ts = ts_types(API_TS.read_text(encoding="utf-8"))
    assert ts["ICompareRun"] == set(typing.get_type_hints(CompareRun))


@pytest.mark.unit
def test_the_drift_check_notices_a_missing_property() -> None:
    source = API_TS.read_text(encoding="utf-8").replace("  log_chunks: ILogChunkPart[];\n", "")
    assert "log_chunks" not in ts_types(source)["IRunViewAnswer"]
    assert "log_chunks" in ts_types(API_TS.read_text(encoding="utf-8"))["IRunViewAnswer"]
