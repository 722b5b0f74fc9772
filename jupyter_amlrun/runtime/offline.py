"""The offline run: what ``Run.get_context()`` gives a script that was not submitted (run as ``python train.py``).

It prints what it would log, so a training script runs the same with and without a submission (v1's behaviour).
"""

from __future__ import annotations

import uuid
from typing import Any

from jupyter_amlrun.runtime.logchecks import (
    check_log_image,
    check_log_list,
    check_log_row,
    check_log_scalar,
    check_log_table,
)

__all__ = ["OfflineRun"]


class OfflineRun:
    """What ``Run.get_context()`` returns outside a submitted run: it prints what it would log."""

    def __init__(self) -> None:
        self.id = f"OfflineRun_{uuid.uuid4()}"
        self.name = self.id
        self.display_name = self.id
        self.type = "offline"
        self.experiment = None
        self.parent = None
        self.input_datasets: dict[str, Any] = {}
        self.output_datasets: dict[str, Any] = {}
        self._metrics: dict[str, list[Any]] = {}
        self._tags: dict[str, str] = {}
        self._props: dict[str, str] = {}

    def _say(self, kind: str, name: str, value: Any) -> None:
        self._metrics.setdefault(name, []).append(value)
        print(f"Attempted to log {kind} metric {name}:\n{value}")

    # The same checks as a submitted run: a script that runs offline fails the same way once submitted.
    def log(self, name: str, value: Any, description: str = "", step: int | None = None) -> None:
        self._say("scalar", name, check_log_scalar(name, value, step))

    def log_list(self, name: str, value: Any, description: str = "") -> None:
        self._say("list", name, check_log_list(name, value))

    def log_row(self, name: str, description: str | None = None, **kwargs: Any) -> None:
        check_log_row(name, kwargs)
        self._say("row", name, kwargs)

    def log_table(self, name: str, value: Any, description: str = "") -> None:
        self._say("table", name, check_log_table(name, value))

    def log_image(self, name: str, path: str | None = None, plot: Any = None, description: str = "") -> None:
        check_log_image(name, path, plot)
        self._say("image", name, path or "<plot>")

    def log_confusion_matrix(self, name: str, value: Any, description: str = "") -> None:
        self.log_table(name, value if isinstance(value, dict) else {"matrix": list(value)}, description)

    log_accuracy_table = log_confusion_matrix
    log_residuals = log_confusion_matrix
    log_predictions = log_confusion_matrix

    def get_metrics(self, name: str | None = None, **kwargs: Any) -> dict[str, Any]:
        shaped = {k: v[0] if len(v) == 1 else list(v) for k, v in self._metrics.items()}
        return shaped if name is None else {name: shaped[name]} if name in shaped else {}

    def upload_file(self, name: str, path_or_stream: Any, datastore_name: str | None = None) -> None:
        print(f"Attempted to track file {name} at {path_or_stream}")

    def upload_files(self, names: list[str], paths: list[str], **kwargs: Any) -> None:
        for n, p in zip(names, paths, strict=False):
            self.upload_file(n, p)

    def upload_folder(self, name: str, path: str, datastore_name: str | None = None) -> None:
        print(f"Attempted to track folder {name} at {path}")

    def tag(self, key: str, value: str | None = None) -> None:
        self._tags[key] = "" if value is None else str(value)

    def set_tags(self, tags: dict[str, Any]) -> None:
        for k, v in tags.items():
            self.tag(k, v)

    def get_tags(self) -> dict[str, str]:
        return dict(self._tags)

    def add_properties(self, properties: dict[str, Any]) -> None:
        self._props.update({k: str(v) for k, v in properties.items()})

    def get_properties(self) -> dict[str, str]:
        return dict(self._props)

    def get_status(self) -> str:
        return "Running"

    def child_run(self, name: str | None = None, run_id: str | None = None, outputs: Any = None) -> OfflineRun:
        return OfflineRun()

    def complete(self, _set_status: bool = True) -> None:
        pass

    def fail(self, error_details: Any = None, error_code: str | None = None, _set_status: bool = True) -> None:
        pass

    def flush(self, timeout_seconds: int = 300) -> None:
        pass

    def __enter__(self) -> OfflineRun:
        return self

    def __exit__(self, *exc: Any) -> None:
        return None

    def __repr__(self) -> str:
        return f"Run(Experiment: None,\nId: {self.id},\nType: offline,\nStatus: Running)"
