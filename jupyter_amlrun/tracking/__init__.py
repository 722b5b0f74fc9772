"""The only package that talks to MLflow, plus the in-run metrics journal."""

from jupyter_amlrun.tracking.journal import JournalReader, JournalWriter
from jupyter_amlrun.tracking.store import ModelVersionRecord, RunRecord, TrackingStore

__all__ = ["JournalReader", "JournalWriter", "ModelVersionRecord", "RunRecord", "TrackingStore"]
