"""Every v1 open dataset class answers; loaders read a mirror named by AMLRUN_<NAME>_URL (a local folder of
month-partitioned Parquet, a CSV served over real HTTP on 127.0.0.1) and fail offline naming the setting."""

from __future__ import annotations

import datetime as dt
import functools
import http.server
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

import jupyter_amlrun.opendatasets as od
from jupyter_amlrun import Workspace
from jupyter_amlrun.data.errors import DatasetException


@pytest.mark.unit
def test_every_class_answers_and_names_its_setting() -> None:
    for name in od.__all__:
        cls = getattr(od, name)
        source = getattr(cls, "_SOURCE", None)
        if source is not None:
            assert source.setting == f"AMLRUN_{name.upper()}_URL"
            assert cls().time_column_name == source.time_column
    assert od.PublicHolidays(country_or_region="Norway").country_or_region == "Norway"
    assert od.EcdcCOVIDCases(["cases"]).cols == ["cases"] and od.UsLaborCPI(True).cols is None  # v1 signatures


@pytest.fixture
def green_mirror(tmp_path: Path) -> Path:
    import pandas as pd

    root = tmp_path / "green"
    for month in (1, 2):
        part = root / "puYear=2019" / f"puMonth={month}"
        part.mkdir(parents=True)
        frame = pd.DataFrame(
            {
                "lpepPickupDatetime": pd.date_range(f"2019-0{month}-01", periods=10, freq="D"),
                "tripDistance": [float(i) for i in range(10)],
                "fareAmount": [10.0 + i for i in range(10)],
            }
        )
        frame.to_parquet(part / "part-0.parquet")
    return root


@pytest.mark.unit
def test_nyc_green_reads_only_months_and_days_in_range_from_a_mirror(
    green_mirror: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AMLRUN_NYCTLCGREEN_URL", str(green_mirror))
    ds = od.NycTlcGreen(start_date=dt.datetime(2019, 2, 3), end_date=dt.datetime(2019, 2, 5), cols=["tripDistance"])
    df = ds.to_pandas_dataframe()
    assert list(df.columns) == ["tripDistance"] and list(df["tripDistance"]) == [2.0, 3.0, 4.0]
    assert len(od.NycTlcGreen("2019-01-01", "2019-02-28", limit=5).to_pandas_dataframe()) == 5
    with pytest.raises(DatasetException, match="not columns"):
        od.NycTlcGreen("2019-01-01", "2019-01-31", cols=["nope"]).to_pandas_dataframe()


@pytest.mark.unit
def test_get_tabular_dataset_keeps_a_copy_with_its_time_column(
    ws: Workspace, green_mirror: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AMLRUN_NYCTLCGREEN_URL", str(green_mirror))
    tab = od.NycTlcGreen("2019-01-01", "2019-01-31").get_tabular_dataset(workspace=ws)
    assert tab.timestamp_columns == ("lpepPickupDatetime", None)
    assert len(tab.time_before(dt.datetime(2019, 1, 3)).to_pandas_dataframe()) == 3
    files = od.NycTlcGreen("2019-01-01", "2019-01-31").get_file_dataset(workspace=ws)
    assert files.to_path() == ["/nyc_tlc_green.csv"]


@pytest.fixture
def http_folder(tmp_path: Path) -> Iterator[str]:
    (tmp_path / "web").mkdir()
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(tmp_path / "web"))
    handler.log_message = lambda *a: None  # type: ignore[attr-defined]
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()


@pytest.mark.unit
def test_public_holidays_over_http_filtered_by_country(
    http_folder: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import pandas as pd

    pd.DataFrame(
        {
            "countryOrRegion": ["Norway", "Norway", "Japan"],
            "countryRegionCode": ["NO", "NO", "JP"],
            "holidayName": ["Nyttårsdag", "Grunnlovsdag", "Ganjitsu"],
            "date": ["2020-01-01", "2020-05-17", "2020-01-01"],
        }
    ).to_parquet(tmp_path / "web" / "holidays.parquet")
    monkeypatch.setenv("AMLRUN_PUBLICHOLIDAYS_URL", http_folder + "holidays.parquet")
    df = od.PublicHolidays(country_or_region="NO", start_date="2020-01-01", end_date="2020-12-31").to_pandas_dataframe()
    assert list(df["holidayName"]) == ["Nyttårsdag", "Grunnlovsdag"]
    monkeypatch.setenv("AMLRUN_PUBLICHOLIDAYSOFFLINE_URL", str(tmp_path / "web" / "holidays.parquet"))
    offline = od.PublicHolidaysOffline(country_or_region="JP")
    assert offline.is_holiday("2020-01-01") and not offline.is_holiday("2020-01-02")


@pytest.mark.unit
def test_unreachable_source_fails_naming_the_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AMLRUN_BINGCOVID19DATA_URL", "http://127.0.0.1:9/bing.parquet")  # port 9: nothing listens
    with pytest.raises(DatasetException, match="Set AMLRUN_BINGCOVID19DATA_URL to a mirror"):
        od.BingCOVID19Data().to_pandas_dataframe()
    monkeypatch.setenv("AMLRUN_USLABORCPI_URL", "/no/such/folder")
    with pytest.raises(DatasetException, match="AMLRUN_USLABORCPI_URL=/no/such/folder: no such file"):
        od.UsLaborCPI().to_pandas_dataframe()
