"""Open datasets. ``MNIST.get_file_dataset()`` downloads the four MNIST IDX files once into the workspace's default
datastore and returns a FileDataset of them, so runs mount or download it like any other dataset.

The source is ``AMLRUN_MNIST_URL`` (or ``base_url=``) when given, else the public mirrors in :data:`MNIST_MIRRORS`.
"""

from __future__ import annotations

import gzip
import os
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


class MNIST:
    """The MNIST handwritten digits (v1: ``azureml.opendatasets.MNIST``)."""

    @classmethod
    def get_file_dataset(
        cls, workspace: Workspace | None = None, base_url: str | None = None, timeout: float = 30.0
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

        Raises
        ------
        DatasetException
            No source could be reached (the message says so and how to point at a mirror).
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
                fetched = cls._fetch(sources, missing, Path(tmp), timeout)
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


__all__ = ["MNIST", "MNIST_FILES", "MNIST_MIRRORS"]
