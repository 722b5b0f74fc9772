"""The Azure Open Datasets of v1's ``azureml.opendatasets``, read from their public source or a mirror you name.

Every dataset has one setting, an environment variable ``AMLRUN_<NAME>_URL``: a URL or a local path of the data
(one Parquet/CSV file, or a folder of them). Without it, the loader reads the public Azure Open Datasets container
(anonymous HTTPS; month-partitioned folders are listed and only the months in range are fetched). With no network
and no setting, it fails with a :class:`DatasetException` naming the setting. Nothing is sent anywhere
(``enable_telemetry`` is accepted and ignored).

``to_pandas_dataframe()`` reads, keeps the rows in ``[start_date, end_date]`` on the dataset's time column, then the
columns ``cols`` and the first ``limit`` rows. ``get_tabular_dataset()``/``get_file_dataset()`` keep a copy in the
workspace's default datastore (``opendatasets/<name>/``), so runs consume it like any dataset.
"""

from __future__ import annotations

import datetime as _dt
import os
import re
import tempfile
import urllib.error
import urllib.parse
import urllib.request
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from jupyter_amlrun.data.errors import DatasetException
from jupyter_amlrun.runtime.errors import refused

if TYPE_CHECKING:
    from jupyter_amlrun.core.workspace import Workspace

_STORE = "https://azureopendatastorage.blob.core.windows.net/"
_MAX_FILES = 200  # a bound on one read: month partitions of a wide date range can be thousands of files


@dataclass(frozen=True)
class Source:
    """Where a dataset is read from.

    Attributes
    ----------
    setting : str
        The environment variable naming a mirror (URL or local path).
    url : str
        The public location: a file, or a folder (ends with ``/``) of files.
    fmt : str
        ``"parquet"`` or ``"csv"``.
    time_column : str or None
        The column ``start_date``/``end_date`` filter on.
    partitions : str or None
        ``"year/month"``-style folder keys of month partitions (e.g. ``"puYear/puMonth"``), to fetch only months in
        range.
    """

    setting: str
    url: str
    fmt: str = "parquet"
    time_column: str | None = None
    partitions: str | None = None


def _local_path(location: str) -> Path | None:
    if location.startswith("file://"):
        return Path(urllib.parse.urlparse(location).path)
    if "://" not in location:
        return Path(location).expanduser()
    return None


def _http_get(url: str, timeout: float) -> bytes:
    with urllib.request.urlopen(url, timeout=timeout) as resp:
        data: bytes = resp.read()
    return data


def _list_blobs(folder_url: str, timeout: float) -> list[str]:
    """The blob URLs under a public container folder (Azure's anonymous List Blobs call, all pages)."""
    parsed = urllib.parse.urlparse(folder_url)
    container, _, prefix = parsed.path.lstrip("/").partition("/")
    base = f"{parsed.scheme}://{parsed.netloc}/{container}"
    names: list[str] = []
    marker = ""
    while True:
        query = {"restype": "container", "comp": "list", "prefix": prefix}
        if marker:
            query["marker"] = marker
        root = ET.fromstring(_http_get(f"{base}?{urllib.parse.urlencode(query)}", timeout))
        names += [el.text for el in root.iter("Name") if el.text]
        marker = (root.findtext("NextMarker") or "").strip()
        if not marker:
            return [f"{base}/{name}" for name in names]


def _in_months(url: str, keys: str, start: _dt.datetime | None, end: _dt.datetime | None) -> bool:
    year_key, month_key = keys.split("/")
    year = re.search(rf"{year_key}=(\d+)", url)
    month = re.search(rf"{month_key}=(\d+)", url)
    if year is None or month is None:
        return True
    ym = int(year.group(1)) * 12 + int(month.group(1))
    return (start is None or ym >= start.year * 12 + start.month) and (end is None or ym <= end.year * 12 + end.month)


def _read_frame(path: Path, fmt: str) -> Any:
    import pandas as pd

    if fmt == "csv" or path.suffix.lower() in (".csv", ".txt"):
        return pd.read_csv(path)
    try:
        return pd.read_parquet(path)
    except ImportError:
        raise DatasetException("Reading Parquet needs pyarrow: pip install pyarrow.") from None


class OpenDataset:
    """A v1 open dataset: ``to_pandas_dataframe()``, ``get_tabular_dataset()``, ``get_file_dataset()``.

    Parameters
    ----------
    start_date, end_date : datetime or str, optional
        The time range (on the dataset's time column); default: the dataset's own defaults.
    cols : list of str, optional
        The columns to keep.
    limit : int
        At most this many rows (``-1``: all).
    enable_telemetry : bool
        Accepted; nothing is sent.
    """

    _NAME: ClassVar[str] = "opendataset"
    _SOURCE: ClassVar[Source | None] = None
    default_start_date: ClassVar[Any] = None
    default_end_date: ClassVar[Any] = None
    mandatory_columns: ClassVar[list[str]] = []
    logger: ClassVar[Any] = None
    timeout: ClassVar[float] = 60.0

    def __init__(
        self,
        start_date: Any = None,
        end_date: Any = None,
        cols: list[str] | None = None,
        limit: int = -1,
        enable_telemetry: bool = True,
        **kwargs: Any,
    ) -> None:
        self.start_date = _date(start_date if start_date is not None else self.default_start_date, "start_date")
        self.end_date = _date(end_date if end_date is not None else self.default_end_date, "end_date")
        if self.start_date and self.end_date and self.start_date > self.end_date:
            raise DatasetException(f"start_date {self.start_date} is after end_date {self.end_date}.")
        self._cols = list(cols) if cols is not None else None
        self.limit = int(limit)
        self._data: Any = None

    # ------------------------------------------------------------------ v1 attributes
    @property
    def id(self) -> str:
        """The dataset's name in the Azure Open Datasets catalog."""
        return self._NAME

    @property
    def registry_id(self) -> str:
        return self._NAME

    @property
    def time_column_name(self) -> str | None:
        return self._SOURCE.time_column if self._SOURCE else None

    @property
    def cols(self) -> list[str] | None:
        return self._cols

    @property
    def env(self) -> str:
        """v1: the environment it ran in (``"Pandas"``: here always pandas)."""
        return "Pandas"

    @property
    def log_properties(self) -> dict[str, Any]:
        return {"StartDate": self.start_date, "EndDate": self.end_date, "Source": self.source()}

    @property
    def data(self) -> Any:
        """The rows read last (read on first use)."""
        if self._data is None:
            self._data = self.to_pandas_dataframe()
        return self._data

    @classmethod
    def source(cls) -> str:
        """Where the data is read from now: the setting's value, else the public location."""
        if cls._SOURCE is None:
            return ""
        return os.environ.get(cls._SOURCE.setting) or cls._SOURCE.url

    # ------------------------------------------------------------------ reading
    def _files(self, folder: Path) -> list[Path]:
        src = self._SOURCE
        if src is None:
            raise DatasetException(f"{type(self).__name__} is a base class; use one of its datasets.")
        location = self.source()
        local = _local_path(location)
        if local is not None:
            if local.is_dir():
                found = sorted(p for p in local.rglob("*") if p.suffix.lower() in (".parquet", ".csv"))
                if src.partitions:
                    found = [
                        p for p in found if _in_months(p.as_posix(), src.partitions, self.start_date, self.end_date)
                    ]
                return found
            if local.is_file():
                return [local]
            raise DatasetException(f"{src.setting}={location}: no such file or folder.")
        try:
            urls = _list_blobs(location, self.timeout) if location.endswith("/") else [location]
            urls = [u for u in urls if u.lower().endswith((".parquet", ".csv"))]
            if src.partitions:
                urls = [u for u in urls if _in_months(u, src.partitions, self.start_date, self.end_date)]
            if len(urls) > _MAX_FILES:
                raise DatasetException(
                    f"{type(self).__name__}: {len(urls)} files in range; narrow start_date/end_date "
                    f"(at most {_MAX_FILES})."
                )
            out = []
            for i, url in enumerate(urls):
                path = folder / f"{i:04d}{Path(urllib.parse.urlparse(url).path).suffix}"
                path.write_bytes(_http_get(url, self.timeout))
                out.append(path)
            return out
        except (urllib.error.URLError, OSError, ET.ParseError) as exc:
            raise DatasetException(
                f"{type(self).__name__}: the source {location} could not be read "
                f"({getattr(exc, 'reason', exc)}). Set {src.setting} to a mirror: a URL or local path of the "
                f"{src.fmt} file(s)."
            ) from None

    def to_pandas_dataframe(self) -> Any:
        """The rows in range, as a ``pandas.DataFrame``."""
        import pandas as pd

        with tempfile.TemporaryDirectory(prefix="amlrun_od_") as tmp:
            files = self._files(Path(tmp))
            if not files:
                raise DatasetException(
                    f"{type(self).__name__}: no data files at {self.source()} for the range {self.start_date} to "
                    f"{self.end_date}. Set {self._SOURCE.setting if self._SOURCE else 'the setting'} to a mirror."
                )
            frame = pd.concat([_read_frame(p, self._SOURCE.fmt if self._SOURCE else "parquet") for p in files])
        frame = self.filter(frame, self.start_date, self.end_date)
        if self._cols is not None:
            missing = [c for c in self._cols if c not in frame.columns]
            if missing:
                raise DatasetException(
                    f"cols {missing} are not columns of {type(self).__name__}: {list(frame.columns)}."
                )
            frame = frame[self._cols]
        if self.limit >= 0:
            frame = frame.head(self.limit)
        self._data = frame.reset_index(drop=True)
        return self._data

    def filter(self, env: Any, min_date: Any = None, max_date: Any = None) -> Any:
        """The rows of the frame ``env`` whose time column is in ``[min_date, max_date]`` (v1's hook)."""
        import pandas as pd

        column = self.time_column_name
        if column is None or column not in getattr(env, "columns", ()) or (min_date is None and max_date is None):
            return env
        values = pd.to_datetime(env[column], errors="coerce")
        if getattr(values.dt, "tz", None) is not None:
            values = values.dt.tz_convert("UTC").dt.tz_localize(None)
        mask = values.notna()
        if min_date is not None:
            mask &= values >= pd.Timestamp(min_date)
        if max_date is not None:
            mask &= values <= pd.Timestamp(max_date)
        return env[mask]

    # ------------------------------------------------------------------ as datasets
    def _store_copy(self, workspace: Workspace | None) -> tuple[Any, str]:
        from jupyter_amlrun.core.workspace import Workspace

        ws = workspace or Workspace.from_config()
        store = ws.get_default_datastore()
        frame = self.to_pandas_dataframe()
        with tempfile.TemporaryDirectory(prefix="amlrun_od_") as tmp:
            name = f"{self._NAME}.csv"
            frame.to_csv(Path(tmp) / name, index=False)
            target = f"opendatasets/{self._NAME}"
            store.upload_files(
                [Path(tmp) / name], relative_root=tmp, target_path=target, overwrite=True, show_progress=False
            )
        return store, f"{target}/{name}"

    def get_tabular_dataset(
        self,
        start_date: Any = None,
        end_date: Any = None,
        cols: list[str] | None = None,
        enable_telemetry: bool = True,
        workspace: Workspace | None = None,
        **kwargs: Any,
    ) -> Any:
        """A TabularDataset of the rows in range, kept in the default datastore (``opendatasets/<name>/``); its time
        column is set, so ``time_before``/``time_after`` work on it."""
        from jupyter_amlrun.data.dataset import Dataset

        ds = self._narrowed(start_date, end_date, cols)
        tab = Dataset.Tabular.from_delimited_files(ds._store_copy(workspace))
        return tab.with_timestamp_columns(timestamp=ds.time_column_name) if ds.time_column_name else tab

    def get_file_dataset(
        self,
        start_date: Any = None,
        end_date: Any = None,
        enable_telemetry: bool = True,
        workspace: Workspace | None = None,
        **kwargs: Any,
    ) -> Any:
        """A FileDataset of one CSV file of the rows in range, kept in the default datastore."""
        from jupyter_amlrun.data.dataset import Dataset

        return Dataset.File.from_files(self._narrowed(start_date, end_date, None)._store_copy(workspace))

    def _narrowed(self, start_date: Any, end_date: Any, cols: list[str] | None) -> OpenDataset:
        import copy

        out = copy.copy(self)
        if start_date is not None:
            out.start_date = _date(start_date, "start_date")
        if end_date is not None:
            out.end_date = _date(end_date, "end_date")
        if cols is not None:
            out._cols = list(cols)
        return out

    to_spark_dataframe = refused(
        "OpenDataset.to_spark_dataframe", "Spark is not provided; use to_pandas_dataframe() (or spark.createDataFrame)."
    )
    get_enricher = refused(
        "OpenDataset.get_enricher", "Enrichers are not provided; merge to_pandas_dataframe() with your data in pandas."
    )


def _date(value: Any, name: str) -> _dt.datetime | None:
    if value is None:
        return None
    if isinstance(value, _dt.datetime):
        return (
            value.replace(tzinfo=None)
            if value.tzinfo is None
            else value.astimezone(_dt.timezone.utc).replace(tzinfo=None)
        )
    if isinstance(value, _dt.date):
        return _dt.datetime(value.year, value.month, value.day)
    try:
        return _dt.datetime.fromisoformat(str(value))
    except ValueError:
        raise DatasetException(f"{name} must be a datetime or an ISO date like '2019-01-31', got {value!r}.") from None


def _make(name: str, catalog_id: str, source: Source, base: type = OpenDataset, **attrs: Any) -> type:
    """One dataset class from its row of the catalog (written once, below)."""
    doc = (
        f"v1 ``azureml.opendatasets.{name}``: read from ``${source.setting}`` (a URL or local path) or the public "
        f"source {source.url}"
    )
    ns = {"_NAME": catalog_id, "_SOURCE": source, "__doc__": doc, "__module__": "jupyter_amlrun.opendatasets", **attrs}
    return type(name, (base,), ns)


def _s(name: str, url: str, fmt: str = "parquet", time: str | None = None, parts: str | None = None) -> Source:
    return Source(f"AMLRUN_{name.upper()}_URL", url, fmt, time, parts)


# --------------------------------------------------------------------- bases (v1 names)
class NoParameterOpenDatasetBase(OpenDataset):
    """v1 base of datasets without a time range (``cols`` and ``limit`` still apply)."""

    def __init__(self, cols: list[str] | bool | None = None, enable_telemetry: bool = True, limit: int = -1) -> None:
        # v1's signatures: (cols, enable_telemetry) or just (enable_telemetry); a bool first is the latter.
        super().__init__(cols=None if isinstance(cols, bool) else cols, limit=limit)


class NycTaxiBase(OpenDataset):
    """v1 base of the NYC Taxi & Limousine Commission trip records (month-partitioned Parquet)."""

    default_start_date = _dt.datetime(2018, 1, 1)
    default_end_date = _dt.datetime(2018, 1, 31)


class CitySafety(OpenDataset):
    """v1 base of the city safety (311/911 calls) datasets."""

    default_start_date = _dt.datetime(2019, 1, 1)
    default_end_date = _dt.datetime(2019, 1, 31)


class SampleDatasetBase:
    """v1 base of the sample datasets (MNIST, Diabetes, OJ sales): files kept in the default datastore."""

    _USE = "Use a sample dataset class: MNIST, Diabetes or OjSalesSimulated."
    get_file_dataset = refused("SampleDatasetBase.get_file_dataset", _USE)
    get_tabular_dataset = refused("SampleDatasetBase.get_tabular_dataset", _USE)


_CITY = _STORE + "citydatacontainer/Safety/Release/city={}/"
NycTlcYellow = _make(
    "NycTlcYellow",
    "nyc_tlc_yellow",
    _s("NycTlcYellow", _STORE + "nyctlc/yellow/", time="tpepPickupDateTime", parts="puYear/puMonth"),
    NycTaxiBase,
)
NycTlcGreen = _make(
    "NycTlcGreen",
    "nyc_tlc_green",
    _s("NycTlcGreen", _STORE + "nyctlc/green/", time="lpepPickupDatetime", parts="puYear/puMonth"),
    NycTaxiBase,
)
NycTlcFhv = _make(
    "NycTlcFhv",
    "nyc_tlc_fhv",
    _s("NycTlcFhv", _STORE + "nyctlc/fhv/", time="pickupDateTime", parts="puYear/puMonth"),
    NycTaxiBase,
)
BostonSafety = _make(
    "BostonSafety", "city_safety_boston", _s("BostonSafety", _CITY.format("Boston"), time="dateTime"), CitySafety
)
ChicagoSafety = _make(
    "ChicagoSafety", "city_safety_chicago", _s("ChicagoSafety", _CITY.format("Chicago"), time="dateTime"), CitySafety
)
NycSafety = _make(
    "NycSafety", "city_safety_newyorkcity", _s("NycSafety", _CITY.format("NewYorkCity"), time="dateTime"), CitySafety
)
SanFranciscoSafety = _make(
    "SanFranciscoSafety",
    "city_safety_sanfrancisco",
    _s("SanFranciscoSafety", _CITY.format("SanFrancisco"), time="dateTime"),
    CitySafety,
)
SeattleSafety = _make(
    "SeattleSafety", "city_safety_seattle", _s("SeattleSafety", _CITY.format("Seattle"), time="dateTime"), CitySafety
)
NoaaIsdWeather = _make(
    "NoaaIsdWeather",
    "noaa_isd_weather",
    _s("NoaaIsdWeather", _STORE + "isdweatherdatacontainer/ISDWeather/", time="datetime", parts="year/month"),
    default_start_date=_dt.datetime(2019, 1, 1),
    default_end_date=_dt.datetime(2019, 1, 31),
    id_column_name="usaf",
    latitude_column_name="latitude",
    longitude_column_name="longitude",
    usaf_column_name="usaf",
    wban_column_name="wban",
    min_date=_dt.datetime(2008, 1, 1),
    max_date=None,
)
NoaaGfsWeather = _make(
    "NoaaGfsWeather",
    "noaa_gfs_weather",
    _s(
        "NoaaGfsWeather",
        _STORE + "gfsweatherdatacontainer/GFSWeather/GFSProcessed/",
        time="currentDatetime",
        parts="year/month",
    ),
    default_start_date=_dt.datetime(2019, 1, 1),
    default_end_date=_dt.datetime(2019, 1, 31),
    id_column_name="currentDatetime",
    latitude_column_name="latitude",
    longitude_column_name="longitude",
)
_PANDEMIC = _STORE + "pandemicdatalake/curated/covid-19/{0}/latest/{0}.parquet"
BingCOVID19Data = _make(
    "BingCOVID19Data",
    "bing_covid_19_data",
    _s("BingCOVID19Data", _PANDEMIC.format("bing_covid-19_data"), time="updated"),
    NoParameterOpenDatasetBase,
)
COVIDTrackingProject = _make(
    "COVIDTrackingProject",
    "covid_tracking",
    _s("COVIDTrackingProject", _PANDEMIC.format("covid_tracking"), time="date"),
    NoParameterOpenDatasetBase,
)
EcdcCOVIDCases = _make(
    "EcdcCOVIDCases",
    "ecdc_cases",
    _s("EcdcCOVIDCases", _PANDEMIC.format("ecdc_cases"), time="date_rep"),
    NoParameterOpenDatasetBase,
)
_LABOR = _STORE + "laborstatisticscontainer/{}/"
UsLaborCPI = _make("UsLaborCPI", "us_labor_cpi", _s("UsLaborCPI", _LABOR.format("cpi")), NoParameterOpenDatasetBase)
UsLaborEHENational = _make(
    "UsLaborEHENational",
    "us_labor_ehe_national",
    _s("UsLaborEHENational", _LABOR.format("ehe_national")),
    NoParameterOpenDatasetBase,
)
UsLaborEHEState = _make(
    "UsLaborEHEState",
    "us_labor_ehe_state",
    _s("UsLaborEHEState", _LABOR.format("ehe_state")),
    NoParameterOpenDatasetBase,
)
UsLaborLAUS = _make(
    "UsLaborLAUS", "us_labor_laus", _s("UsLaborLAUS", _LABOR.format("laus")), NoParameterOpenDatasetBase
)
UsLaborLFS = _make("UsLaborLFS", "us_labor_lfs", _s("UsLaborLFS", _LABOR.format("lfs")), NoParameterOpenDatasetBase)
UsLaborPPICommodity = _make(
    "UsLaborPPICommodity",
    "us_labor_ppi_commodity",
    _s("UsLaborPPICommodity", _LABOR.format("ppi_commodity")),
    NoParameterOpenDatasetBase,
)
UsLaborPPIIndustry = _make(
    "UsLaborPPIIndustry",
    "us_labor_ppi_industry",
    _s("UsLaborPPIIndustry", _LABOR.format("ppi_industry")),
    NoParameterOpenDatasetBase,
)
UsPopulationCounty = _make(
    "UsPopulationCounty",
    "us_population_county",
    _s("UsPopulationCounty", _STORE + "censusdatacontainer/release/us_population_county/"),
    NoParameterOpenDatasetBase,
)
UsPopulationZip = _make(
    "UsPopulationZip",
    "us_population_zip",
    _s("UsPopulationZip", _STORE + "censusdatacontainer/release/us_population_zip/"),
    NoParameterOpenDatasetBase,
)
OjSalesSimulated = _make(
    "OjSalesSimulated",
    "oj_sales_simulated",
    _s("OjSalesSimulated", _STORE + "ojsales-simulatedcontainer/oj_sales_data/", fmt="csv"),
    NoParameterOpenDatasetBase,
)
COVID19OpenResearch = _make(
    "COVID19OpenResearch",
    "covid_19_open_research",
    _s("COVID19OpenResearch", _STORE + "covid19temp/comm_use_subset/", fmt="csv"),
    NoParameterOpenDatasetBase,
)


class PublicHolidays(OpenDataset):
    """Public holidays of 38 countries or regions (v1 ``PublicHolidays``); ``country_or_region`` filters them."""

    _NAME = "public_holidays"
    _SOURCE = _s("PublicHolidays", _STORE + "holidaydatacontainer/Processed/", time="date")
    default_start_date = _dt.datetime(2008, 1, 1)
    default_end_date = _dt.datetime(2099, 1, 1)
    default_max_end_date = _dt.datetime(2099, 1, 1)
    country_or_region_column_name = "countryOrRegion"
    countrycode_column_name = "countryRegionCode"

    def __init__(
        self,
        country_or_region: str = "",
        start_date: Any = None,
        end_date: Any = None,
        cols: list[str] | None = None,
        enable_telemetry: bool = True,
    ) -> None:
        super().__init__(start_date, end_date, cols)
        self.country_or_region = country_or_region

    def filter(self, env: Any, min_date: Any = None, max_date: Any = None) -> Any:
        env = super().filter(env, min_date, max_date)
        wanted = self.country_or_region
        if wanted and self.country_or_region_column_name in getattr(env, "columns", ()):
            by_name = env[self.country_or_region_column_name] == wanted
            by_code = (
                env[self.countrycode_column_name] == wanted if self.countrycode_column_name in env.columns else False
            )
            env = env[by_name | by_code]
        return env


class PublicHolidaysOffline(PublicHolidays):
    """v1's offline holidays: the same data from ``$AMLRUN_PUBLICHOLIDAYSOFFLINE_URL`` (a local copy), with v1's
    lookups."""

    _NAME = "public_holidays_offline"
    _SOURCE = _s("PublicHolidaysOffline", _STORE + "holidaydatacontainer/Processed/", time="date")
    default_country_or_region = ""
    available_column_type = ("countryOrRegion", "countryRegionCode")
    extend_time_column = "date"
    min_date = _dt.datetime(1970, 1, 1)
    max_date = _dt.datetime(2099, 1, 1)

    @property
    def HOLIDAYS_DF(self) -> Any:
        """All holidays (read on first use)."""
        return self.data

    def get_pandas_limit(self) -> Any:
        return self.data

    def get_holidays_in_range(self, start_date: Any, end_date: Any) -> Any:
        """The holidays between two dates."""
        return super().filter(self.data, _date(start_date, "start_date"), _date(end_date, "end_date"))

    def get_holidays_in_range_by_country_or_region(self, start_date: Any, end_date: Any, country_or_region: str) -> Any:
        frame = self.get_holidays_in_range(start_date, end_date)
        return frame[
            (frame[self.country_or_region_column_name] == country_or_region)
            | (frame[self.countrycode_column_name] == country_or_region)
        ]

    def get_holidays_dates(self) -> list[Any]:
        import pandas as pd

        return sorted(set(pd.to_datetime(self.data[self.extend_time_column]).dt.normalize()))

    def is_holiday(self, date: Any) -> bool:
        """Whether ``date`` is a holiday (of ``country_or_region`` when given)."""
        import pandas as pd

        day = pd.Timestamp(_date(date, "date")).normalize()
        return day in set(pd.to_datetime(self.data[self.extend_time_column]).dt.normalize())

    def is_holiday_by_country_or_region(self, date: Any, country_or_region: str) -> bool:
        import pandas as pd

        day = _date(date, "date")
        frame = self.get_holidays_in_range_by_country_or_region(day, day + _dt.timedelta(days=1), country_or_region)  # type: ignore[operator]
        return bool(len(frame)) and pd.Timestamp(day).normalize() in set(
            pd.to_datetime(frame[self.extend_time_column]).dt.normalize()
        )


__all__ = [
    "BingCOVID19Data", "BostonSafety", "COVID19OpenResearch", "COVIDTrackingProject", "ChicagoSafety", "CitySafety",
    "EcdcCOVIDCases", "NoParameterOpenDatasetBase", "NoaaGfsWeather", "NoaaIsdWeather", "NycSafety", "NycTaxiBase",
    "NycTlcFhv", "NycTlcGreen", "NycTlcYellow", "OjSalesSimulated", "OpenDataset", "PublicHolidays",
    "PublicHolidaysOffline", "SampleDatasetBase", "SanFranciscoSafety", "SeattleSafety", "Source", "UsLaborCPI",
    "UsLaborEHENational", "UsLaborEHEState", "UsLaborLAUS", "UsLaborLFS", "UsLaborPPICommodity", "UsLaborPPIIndustry",
    "UsPopulationCounty", "UsPopulationZip",
]  # fmt: skip
