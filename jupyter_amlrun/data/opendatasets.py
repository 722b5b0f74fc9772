"""Open datasets. ``MNIST.get_file_dataset()`` downloads the four MNIST IDX files once into the workspace's default
datastore and returns a FileDataset of them, so runs mount or download it like any other dataset.

The source is ``AMLRUN_MNIST_URL`` (or ``base_url=``) when given, else the public mirrors in :data:`MNIST_MIRRORS`.

``Diabetes`` (442 patients, 10 baseline variables and a disease-progression target ``Y``; Efron et al., 2004) comes
from ``AMLRUN_DIABETES_URL`` (or ``url=``), else :data:`DIABETES_URL`; offline, from the copy scikit-learn ships
(the same data), else from a small synthetic stand-in. The source used is printed (stdout).
"""

from __future__ import annotations

import csv
import gzip
import io
import os
import random
import struct
import tempfile
import urllib.error
import urllib.request
from pathlib import Path
from typing import TYPE_CHECKING, Any

from jupyter_amlrun.data.errors import DatasetException

if TYPE_CHECKING:
    from jupyter_amlrun.core.workspace import Workspace
    from jupyter_amlrun.data.dataset import FileDataset

MNIST_FILES = (
    "train-images-idx3-ubyte.gz",
    "train-labels-idx1-ubyte.gz",
    "t10k-images-idx3-ubyte.gz",
    "t10k-labels-idx1-ubyte.gz",
)
MNIST_MIRRORS = (
    "https://azureopendatastorage.blob.core.windows.net/mnist/",
    "https://ossci-datasets.s3.amazonaws.com/mnist/",
)
TARGET = "opendatasets/mnist"
_IDX_MAGIC = {"images": 2051, "labels": 2049}


def check_idx_gz(path: Path) -> None:
    """Refuse a file that is not a gzipped IDX file of the expected kind (e.g. an HTML error page)."""
    kind = "images" if "images" in path.name else "labels"
    try:
        with gzip.open(path, "rb") as fh:
            head = fh.read(8)
    except (OSError, EOFError) as exc:
        raise DatasetException(f"{path.name} is not a gzip file ({exc}); the source served something else.") from None
    if len(head) < 8 or struct.unpack(">I", head[:4])[0] != _IDX_MAGIC[kind]:
        raise DatasetException(f"{path.name} is not an MNIST IDX {kind} file (bad magic number).")


STANDIN_TARGET = "opendatasets/mnist-standin"  # never mistaken for the real files: a later call still downloads
STANDIN_COUNTS = {"train": 100, "t10k": 20}
# 3x5 bitmaps of the digits 0-9 (rows top to bottom), drawn into 28x28 images for the stand-in.
_GLYPHS = (
    "111101101101111", "010110010010111", "111001111100111", "111001111001111", "101101111001001",
    "111100111001111", "111100111101111", "111001001001001", "111101111101111", "111101111001111",
)  # fmt: skip


def mnist_standin(folder: Path, seed: int = 0) -> list[Path]:
    """Write synthetic MNIST-format files (block digits, shifted and noisy) for running a notebook offline."""
    rng = random.Random(seed)
    out = []
    for prefix, count in STANDIN_COUNTS.items():
        labels = [i % 10 for i in range(count)]
        pixels = bytearray()
        for label in labels:
            image = bytearray(28 * 28)
            top, left = 4 + rng.randint(-2, 2), 8 + rng.randint(-2, 2)
            for cell, on in enumerate(_GLYPHS[label]):
                if on == "1":
                    r0, c0 = top + (cell // 3) * 4, left + (cell % 3) * 4
                    for r in range(r0, r0 + 4):
                        for c in range(c0, c0 + 4):
                            image[r * 28 + c] = rng.randint(180, 255)
            pixels += image
        images_path = folder / f"{prefix}-images-idx3-ubyte.gz"
        labels_path = folder / f"{prefix}-labels-idx1-ubyte.gz"
        images_path.write_bytes(gzip.compress(struct.pack(">IIII", 2051, count, 28, 28) + bytes(pixels)))
        labels_path.write_bytes(gzip.compress(struct.pack(">II", 2049, count) + bytes(labels)))
        out += [images_path, labels_path]
    return out


class MNIST:
    """The MNIST handwritten digits (v1: ``azureml.opendatasets.MNIST``)."""

    @classmethod
    def get_file_dataset(
        cls,
        workspace: Workspace | None = None,
        base_url: str | None = None,
        timeout: float = 30.0,
        standin: bool = True,
    ) -> FileDataset:
        """A FileDataset of the four ``*-ubyte.gz`` files (downloaded once into the default datastore).

        Parameters
        ----------
        workspace:
            Where to keep the files (default: ``Workspace.from_config()``).
        base_url:
            A mirror holding the four files (default: ``$AMLRUN_MNIST_URL``, then the public mirrors).
        timeout:
            Seconds per request.
        standin:
            With no network, return a synthetic stand-in in the same format (100 train and 20 test block digits,
            kept apart from the real files) and say so on stdout, instead of raising.

        Raises
        ------
        DatasetException
            A source served something else, or (``standin=False``) no source could be reached; the message says how
            to point at a mirror.
        """
        from jupyter_amlrun.core.workspace import Workspace
        from jupyter_amlrun.data.dataset import Dataset

        ws = workspace or Workspace.from_config()
        store = ws.get_default_datastore()
        present = {e.path for e in store.list_files(TARGET)}
        missing = [f for f in MNIST_FILES if f"{TARGET}/{f}" not in present]
        if missing:
            override = base_url or os.environ.get("AMLRUN_MNIST_URL")
            sources = [override] if override else list(MNIST_MIRRORS)
            with tempfile.TemporaryDirectory(prefix="amlrun_mnist_") as tmp:
                try:
                    fetched = cls._fetch(sources, missing, Path(tmp), timeout)
                except DatasetException as exc:
                    if not (standin and str(exc).startswith("No network")):
                        raise
                    fetched = mnist_standin(Path(tmp))
                    store.upload_files(
                        fetched, relative_root=tmp, target_path=STANDIN_TARGET, overwrite=True, show_progress=False
                    )
                    print(
                        f"MNIST: {str(exc).split(' (')[0]}; using a SYNTHETIC stand-in in the MNIST format "
                        f"({STANDIN_COUNTS['train']} train, {STANDIN_COUNTS['t10k']} test block digits), for trying "
                        "the notebook offline only. Set AMLRUN_MNIST_URL to a mirror for the real data."
                    )
                    return Dataset.File.from_files((store, STANDIN_TARGET))
                store.upload_files(fetched, relative_root=tmp, target_path=TARGET, overwrite=True, show_progress=False)
        return Dataset.File.from_files((store, TARGET))

    @staticmethod
    def _fetch(sources: list[str], names: list[str], folder: Path, timeout: float) -> list[Path]:
        errors: list[str] = []
        for base in sources:
            base = base if base.endswith("/") else base + "/"
            try:
                out = []
                for name in names:
                    path = folder / name
                    with urllib.request.urlopen(base + name, timeout=timeout) as resp, open(path, "wb") as fh:
                        while chunk := resp.read(1 << 20):
                            fh.write(chunk)
                    check_idx_gz(path)
                    out.append(path)
                return out
            except (urllib.error.URLError, OSError, DatasetException) as exc:
                errors.append(f"{base}: {getattr(exc, 'reason', exc)}")
        offline = all(
            "urlopen error" in e or "Name or service" in e or "timed out" in e or "Errno" in e for e in errors
        )
        what = "No network: none of the MNIST sources could be reached" if offline else "MNIST could not be downloaded"
        raise DatasetException(
            f"{what} ({'; '.join(errors)}). Set AMLRUN_MNIST_URL (or base_url=) to a mirror that serves "
            f"{', '.join(MNIST_FILES)}, or upload those files to the default datastore under {TARGET!r}."
        )

    @classmethod
    def get_tabular_dataset(cls, *args: Any, **kwargs: Any) -> Any:
        raise DatasetException("Tabular datasets are not supported; use MNIST.get_file_dataset().")


# ====================================================================== Diabetes
DIABETES_URL = "https://www4.stat.ncsu.edu/~boos/var.select/diabetes.tab.txt"  # the original authors' file
DIABETES_COLUMNS = ("AGE", "SEX", "BMI", "BP", "S1", "S2", "S3", "S4", "S5", "S6", "Y")
DIABETES_TARGET = "opendatasets/diabetes"
DIABETES_FILE = "diabetes.csv"  # the real data (downloaded, or scikit-learn's copy)
STANDIN_FILE = "diabetes-standin.csv"  # never mistaken for the real data: a later call still tries the sources
STANDIN_ROWS = 40


def parse_diabetes(text: str) -> list[list[str]]:
    """Rows of a diabetes table (tab- or comma-separated, a header with the 11 columns in any case)."""
    lines = [line for line in text.splitlines() if line.strip()]
    if not lines:
        raise DatasetException("The diabetes source served an empty file.")
    sep = "\t" if "\t" in lines[0] else ","
    rows = list(csv.reader(lines, delimiter=sep))
    header = [c.strip().upper() for c in rows[0]]
    if header[-1:] == ["TARGET"]:  # scikit-learn's name for Y
        header[-1] = "Y"
    if tuple(header) != DIABETES_COLUMNS:
        raise DatasetException(
            f"The diabetes source has columns {header[:12]}, expected {list(DIABETES_COLUMNS)}; it served something "
            "else (an HTML page?)."
        )
    body = [[c.strip() for c in r] for r in rows[1:]]
    for i, row in enumerate(body, 2):
        try:
            [float(c) for c in row]
        except ValueError:
            raise DatasetException(f"Line {i} of the diabetes source is not 11 numbers: {row[:11]}.") from None
        if len(row) != len(DIABETES_COLUMNS):
            raise DatasetException(f"Line {i} of the diabetes source has {len(row)} values, expected 11.")
    return body


def _sklearn_diabetes() -> list[list[str]] | None:
    """The unscaled data that scikit-learn ships (no network), or None without scikit-learn."""
    try:
        from sklearn.datasets import load_diabetes
    except ImportError:
        return None
    bunch = load_diabetes(scaled=False)
    return [[f"{v:g}" for v in [*x, y]] for x, y in zip(bunch.data.tolist(), bunch.target.tolist(), strict=True)]


def diabetes_standin(rows: int = STANDIN_ROWS, seed: int = 0) -> list[list[str]]:
    """A synthetic table with the diabetes columns and plausible ranges: for running a notebook offline only."""
    rng = random.Random(seed)
    out = []
    for _ in range(rows):
        age, sex, bmi, bp = rng.randint(19, 79), rng.choice((1, 2)), round(rng.uniform(18, 42), 1), rng.randint(62, 133)
        s = [rng.randint(97, 301), round(rng.uniform(41, 242), 1), rng.randint(22, 99), round(rng.uniform(2, 9), 2)]
        s += [round(rng.uniform(3.2, 6.1), 4), rng.randint(58, 124)]
        y = max(25, min(346, round(150 + 8 * (bmi - 26) + 0.9 * (bp - 94) + rng.gauss(0, 40))))
        out.append([str(v) for v in (age, sex, bmi, bp, *s, y)])
    return out


def _to_csv(rows: list[list[str]]) -> bytes:
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(DIABETES_COLUMNS)
    writer.writerows(rows)
    return buf.getvalue().encode()


class Diabetes:
    """The diabetes data of Efron et al. (2004), 442 rows (v1: ``azureml.opendatasets.Diabetes``).

    Columns ``AGE, SEX, BMI, BP, S1..S6`` (baseline variables) and ``Y`` (disease progression one year later).
    """

    @classmethod
    def get_file_dataset(
        cls, workspace: Workspace | None = None, url: str | None = None, timeout: float = 30.0
    ) -> FileDataset:
        """A FileDataset of one CSV file, kept in the default datastore (fetched once).

        Parameters
        ----------
        workspace:
            Where to keep the file (default: ``Workspace.from_config()``).
        url:
            A mirror serving the table (tab- or comma-separated, with the 11 columns); default
            ``$AMLRUN_DIABETES_URL``, then :data:`DIABETES_URL`.
        timeout:
            Seconds for the request.

        Notes
        -----
        Offline, the copy scikit-learn ships is used (the same data), else a synthetic stand-in of
        :data:`STANDIN_ROWS` rows; which one is printed. The stand-in is kept under another name, so a later call
        with the network fetches the real data.
        """
        from jupyter_amlrun.core.workspace import Workspace
        from jupyter_amlrun.data.dataset import Dataset

        ws = workspace or Workspace.from_config()
        store = ws.get_default_datastore()
        path = f"{DIABETES_TARGET}/{DIABETES_FILE}"
        if store.stat(path) is None:
            name, data = cls._fetch(url or os.environ.get("AMLRUN_DIABETES_URL") or DIABETES_URL, timeout)
            with tempfile.TemporaryDirectory(prefix="amlrun_diabetes_") as tmp:
                (Path(tmp) / name).write_bytes(data)
                store.upload_files(
                    [Path(tmp) / name],
                    relative_root=tmp,
                    target_path=DIABETES_TARGET,
                    overwrite=True,
                    show_progress=False,
                )
            path = f"{DIABETES_TARGET}/{name}"
        return Dataset.File.from_files((store, path))

    @classmethod
    def get_tabular_dataset(cls, workspace: Workspace | None = None, url: str | None = None, **kwargs: Any) -> Any:
        """A TabularDataset of the table (``.to_pandas_dataframe()`` needs pandas)."""
        from jupyter_amlrun.data.dataset import Dataset

        files = cls.get_file_dataset(workspace, url)
        return Dataset.Tabular.from_delimited_files(_paths_of(files))

    @classmethod
    def get_pandas_dataframe(cls, workspace: Workspace | None = None, url: str | None = None, **kwargs: Any) -> Any:
        """The table as a ``pandas.DataFrame``."""
        return cls.get_tabular_dataset(workspace, url).to_pandas_dataframe()

    @staticmethod
    def _fetch(url: str, timeout: float) -> tuple[str, bytes]:
        try:
            with urllib.request.urlopen(url, timeout=timeout) as resp:
                text = resp.read().decode("utf-8", errors="replace")
            rows = parse_diabetes(text)
            print(f"Diabetes: {len(rows)} rows downloaded from {url}.")
            return DIABETES_FILE, _to_csv(rows)
        except (urllib.error.URLError, OSError, DatasetException) as exc:
            reason = f"{getattr(exc, 'reason', exc)}"
        rows_or_none = _sklearn_diabetes()
        if rows_or_none is not None:
            print(
                f"Diabetes: could not download {url} ({reason}); using the copy scikit-learn ships "
                f"({len(rows_or_none)} rows, the same data). Set AMLRUN_DIABETES_URL to use a mirror."
            )
            return DIABETES_FILE, _to_csv(rows_or_none)
        standin = diabetes_standin()
        print(
            f"Diabetes: could not download {url} ({reason}) and scikit-learn is not installed: using a SYNTHETIC "
            f"stand-in of {len(standin)} rows with the same columns, for trying the notebook offline only. Set "
            "AMLRUN_DIABETES_URL to a mirror, or pip install scikit-learn, for the real 442 rows."
        )
        return STANDIN_FILE, _to_csv(standin)


def _paths_of(files: FileDataset) -> Any:
    from jupyter_amlrun.data.datastore import Datastore

    item = files._definition["paths"][0]
    return (Datastore.get(files._need_ws(), item["datastore"]), item["path"])


__all__ = ["DIABETES_COLUMNS", "DIABETES_URL", "MNIST", "MNIST_FILES", "MNIST_MIRRORS", "Diabetes"]
