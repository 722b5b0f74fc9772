"""v1 dataset members (issue 21): TabularDataset time-series filters and sampling over real files in a datastore,
FileDataset tags stored on the registered version, lookups through every dataset class."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest

from jupyter_amlrun import Dataset, Workspace
from jupyter_amlrun.data import DataType, TabularDataset
from jupyter_amlrun.data.errors import DatasetException
from jupyter_amlrun.runtime.errors import DatasetTimestampMissingError, NotSupportedLocallyError

ROWS = 48  # one row an hour over two days


@pytest.fixture
def sensor(ws: Workspace, tmp_path: Path) -> TabularDataset:
    up = tmp_path / "up" / "sensor"
    up.mkdir(parents=True)
    start = dt.datetime(2024, 3, 1)
    lines = ["ts,device,value"] + [f"{(start + dt.timedelta(hours=h)).isoformat()},d{h % 3},{h}" for h in range(ROWS)]
    (up / "readings.csv").write_text("\n".join(lines) + "\n")
    store = ws.get_default_datastore()
    store.upload(str(tmp_path / "up"), target_path="", show_progress=False)
    return Dataset.Tabular.from_delimited_files((store, "sensor/readings.csv"))


@pytest.mark.unit
def test_time_filters_keep_the_rows_in_range(sensor: TabularDataset) -> None:
    ds = sensor.with_timestamp_columns(timestamp="ts")
    assert ds.timestamp_columns == ("ts", None)
    before = ds.time_before(dt.datetime(2024, 3, 1, 5)).to_pandas_dataframe()
    assert list(before["value"]) == [0, 1, 2, 3, 4, 5]
    strict = ds.time_before(dt.datetime(2024, 3, 1, 5), include_boundary=False).to_pandas_dataframe()
    assert list(strict["value"]) == [0, 1, 2, 3, 4]
    after = ds.time_after("2024-03-02T20:00:00").to_pandas_dataframe()
    assert list(after["value"]) == [44, 45, 46, 47]
    between = ds.time_between(dt.datetime(2024, 3, 1, 10), dt.datetime(2024, 3, 1, 12)).to_pandas_dataframe()
    assert list(between["value"]) == [10, 11, 12]
    # filters chain with the other operations and with each other
    chained = (
        ds.time_after(dt.datetime(2024, 3, 1, 10)).time_before(dt.datetime(2024, 3, 1, 20)).keep_columns(["value"])
    )
    assert list(chained.take(3).to_pandas_dataframe()["value"]) == [10, 11, 12]
    # time_recent: data from 2024 is older than any recent window; a window reaching back to it keeps all
    assert ds.time_recent(dt.timedelta(days=1)).to_pandas_dataframe().empty
    assert len(ds.time_recent(dt.timedelta(days=365 * 100)).to_pandas_dataframe()) == ROWS
    # the operations are JSON (a dataset given to a run is rebuilt from them in the script's process)
    json.dumps(ds.time_between(dt.datetime(2024, 3, 1), dt.datetime(2024, 3, 2)).random_split(0.5)[0]._ops)


@pytest.mark.unit
def test_time_filters_need_a_timestamp_column(sensor: TabularDataset) -> None:
    with pytest.raises(DatasetTimestampMissingError, match="with_timestamp_columns"):
        sensor.time_before(dt.datetime(2024, 3, 2))
    with pytest.raises(DatasetException, match="not in the dataset's columns"):
        sensor.with_timestamp_columns(timestamp="when", validate=True)
    with pytest.raises(DatasetException, match="partition_timestamp needs timestamp"):
        sensor.with_timestamp_columns(partition_timestamp="ts")
    with pytest.raises(DatasetException, match="after end_time"):
        sensor.with_timestamp_columns("ts").time_between(dt.datetime(2024, 3, 2), dt.datetime(2024, 3, 1))
    with pytest.raises(DatasetException, match="timedelta"):
        sensor.with_timestamp_columns("ts").time_recent(5)  # type: ignore[arg-type]


@pytest.mark.unit
def test_random_split_is_disjoint_complete_and_seeded(sensor: TabularDataset) -> None:
    first, second = sensor.random_split(0.25, seed=7)
    a, b = first.to_pandas_dataframe(), second.to_pandas_dataframe()
    assert len(a) + len(b) == ROWS and not set(a["value"]) & set(b["value"])
    again, _ = sensor.random_split(0.25, seed=7)
    assert list(again.to_pandas_dataframe()["value"]) == list(a["value"])
    sample = sensor.take_sample(0.5, seed=1).to_pandas_dataframe()
    assert 0 < len(sample) < ROWS
    with pytest.raises(DatasetException, match="between 0 and 1"):
        sensor.random_split(1.5)


@pytest.mark.unit
def test_set_column_types_with_data_type(ws: Workspace, sensor: TabularDataset) -> None:
    store = ws.get_default_datastore()
    typed = Dataset.Tabular.from_delimited_files(
        (store, "sensor/readings.csv"), set_column_types={"ts": DataType.to_datetime(), "value": DataType.to_float()}
    )
    df = typed.to_pandas_dataframe()
    assert str(df["ts"].dtype).startswith("datetime64") and df["value"].dtype == "float64"


@pytest.mark.unit
def test_file_dataset_tags_and_description_are_stored_on_the_version(ws: Workspace, sensor: TabularDataset) -> None:
    files = Dataset.File.from_files((ws.get_default_datastore(), "sensor/readings.csv"))
    reg = files.register(ws, "sensor-files", tags={"team": "a"})
    reg.add_tags({"stage": "raw"}).remove_tags(["team"])
    reg.update(description="hourly readings")
    back = Dataset.get_by_name(ws, "sensor-files")
    assert back.tags == {"stage": "raw"} and back.description == "hourly readings"
    assert TabularDataset.get_by_name(ws, "sensor-files").id == back.id  # v1: lookups on every dataset class
    assert Dataset.get(ws, name="sensor-files").id == back.id and Dataset.list(ws)[0].id == back.id
    with pytest.raises(DatasetException, match="not registered"):
        files.add_tags({"x": "y"})


@pytest.mark.unit
def test_what_has_no_local_meaning_refuses_with_an_instead(sensor: TabularDataset) -> None:
    for call in (sensor.to_spark_dataframe, sensor.get_profile, sensor.to_dask_dataframe, sensor.partition_by):
        with pytest.raises(NotSupportedLocallyError, match="Instead: "):
            call()


@pytest.mark.unit
def test_a_registered_tabular_dataset_comes_back_as_the_same_table(ws: Workspace, sensor: TabularDataset) -> None:
    table = sensor.with_timestamp_columns("ts").time_after(dt.datetime(2024, 3, 2, 12)).keep_columns(["ts", "value"])
    reg = table.register(ws, "sensor-table", description="afternoon", tags={"kind": "tabular"})
    assert isinstance(reg, TabularDataset) and (reg.name, reg.version) == ("sensor-table", 1)
    assert table.register(ws, "sensor-table").version == 1  # the same definition: the same version
    back = Dataset.get_by_name(ws, "sensor-table")
    assert isinstance(back, TabularDataset) and back.timestamp_columns == ("ts", None)
    df = back.to_pandas_dataframe()
    assert list(df.columns) == ["ts", "value"] and list(df["value"]) == list(range(36, ROWS))
    assert Dataset.get_by_id(ws, back.id).description == "afternoon"
    back.add_tags({"stage": "clean"})
    assert Dataset.get_by_name(ws, "sensor-table").tags == {"kind": "tabular", "stage": "clean"}
    with pytest.raises(DatasetException, match="create_new_version=True"):
        sensor.register(ws, "sensor-table")
    assert sensor.register(ws, "sensor-table", create_new_version=True).version == 2
    assert len(Dataset.get_by_name(ws, "sensor-table", version=2).to_pandas_dataframe()) == ROWS
    with pytest.raises(DatasetException, match="not registered"):
        sensor.add_tags({"x": "y"})
    back.unregister_all_versions()
    assert "sensor-table" not in Dataset.get_all(ws)
