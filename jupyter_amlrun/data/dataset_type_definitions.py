"""v1's ``azureml.data.dataset_type_definitions``: the option enums of dataset factories (values as v1's)."""

from __future__ import annotations

from enum import Enum


class PromoteHeadersBehavior(Enum):
    """How delimited files' header rows are used (``header=`` of ``from_delimited_files``)."""

    NO_HEADERS = 0
    ONLY_FIRST_FILE_HAS_HEADERS = 1
    COMBINE_ALL_FILES_HEADERS = 2
    ALL_FILES_HAVE_SAME_HEADERS = 3


class SkipLinesBehavior(Enum):
    """Which files leading lines are skipped from (v1)."""

    NO_ROWS = 0
    FROM_FIRST_FILE_ONLY = 1
    FROM_ALL_FILES = 2


class FileEncoding(Enum):
    """Text encodings of delimited files; ``.value`` is the codec name pandas takes."""

    UTF8 = "utf-8"
    ISO88591 = "iso-8859-1"
    LATIN1 = "latin-1"
    ASCII = "ascii"
    UTF16 = "utf-16"
    UTF32 = "utf-32"
    UTF8BOM = "utf-8-sig"
    WINDOWS1252 = "cp1252"


class FileType(Enum):
    """v1's file kinds of old-style datasets."""

    UNKNOWN = "UNKNOWN"
    GENERIC_CSV = "GENERIC_CSV"
    GENERIC_CSV_NO_HEADER = "GENERIC_CSV_NO_HEADER"
    GENERIC_TSV = "GENERIC_TSV"
    GENERIC_TSV_NO_HEADER = "GENERIC_TSV_NO_HEADER"
    ZIP = "ZIP"


class HistogramCompareMethod(Enum):
    """v1's profile comparison methods (profiles are refused here; the names exist for ported code)."""

    WASSERSTEIN = 0
    ENERGY = 1
