"""Every MLflow tag key the package reads or writes, in one place.

Our own keys start with ``amlrun.``; ``mlflow.*`` keys are MLflow's (its UI shows them). A user's tags and
properties must not use the system prefixes.
"""

from __future__ import annotations

import json
from typing import Any

SYSTEM_PREFIXES = ("mlflow.", "amlrun.")
PROP_PREFIX = "amlrun.prop."  # run and model properties (v1's immutable key/values)

# run: status and lifecycle (mirrored from the run folder's state)
STATUS = "amlrun.status"
START_TIME = "amlrun.start_time"
END_TIME = "amlrun.end_time"
EXIT_CODE = "amlrun.exit_code"
ERROR = "amlrun.error"
WARNINGS = "amlrun.warnings"

# run: what was submitted
RUN_TYPE = "amlrun.run_type"
TARGET = "amlrun.target"
SCRIPT = "amlrun.script"
ARGUMENTS = "amlrun.arguments"
SNAPSHOT_ID = "amlrun.snapshot_id"
SOURCE_DIRECTORY = "amlrun.source_directory"
ENVIRONMENT = "amlrun.environment"
ENVIRONMENT_HASH = "amlrun.environment_hash"
NODE_COUNT = "amlrun.node_count"
MAX_RUN_DURATION_SECONDS = "amlrun.max_run_duration_seconds"
INPUTS = "amlrun.inputs"
OUTPUTS = "amlrun.outputs"  # run outputs (OutputFileDatasetConfig): declared at submit, resolved at the end
GIT_DIRTY = "amlrun.git.dirty"

# model versions
MODEL_EXPERIMENT = "amlrun.experiment"
MODEL_FRAMEWORK = "amlrun.framework"
MODEL_FRAMEWORK_VERSION = "amlrun.framework_version"

# MLflow's own
PARENT_RUN_ID = "mlflow.parentRunId"
RUN_NAME = "mlflow.runName"
USER = "mlflow.user"
NOTE = "mlflow.note.content"
SOURCE_NAME = "mlflow.source.name"
SOURCE_TYPE = "mlflow.source.type"
GIT_COMMIT = "mlflow.source.git.commit"
GIT_BRANCH = "mlflow.source.git.branch"
GIT_REPO_URL = "mlflow.source.git.repoURL"

# the state-file fields mirrored as tags, by state field
STATE_TAGS = {"start_time": START_TIME, "end_time": END_TIME, "exit_code": EXIT_CODE}


def is_system(key: str) -> bool:
    """Whether ``key`` is ours or MLflow's (not a user tag)."""
    return key.startswith(SYSTEM_PREFIXES)


def user_tags(tags: dict[str, str]) -> dict[str, str]:
    """The user's tags among all of a run's or model's tags."""
    return {k: v for k, v in tags.items() if not is_system(k)}


def properties(tags: dict[str, str]) -> dict[str, str]:
    """The properties (``amlrun.prop.<name>``) among all tags, by name."""
    return {k[len(PROP_PREFIX) :]: v for k, v in tags.items() if k.startswith(PROP_PREFIX)}


def match_tags(have: dict[str, str], want: Any) -> bool:
    """Whether ``have`` passes a v1 filter.

    ``want`` may be None (everything passes), a key, a dict (a None value only asks for the key), or a list of keys
    and ``[key, value]`` pairs.
    """
    if want is None:
        return True
    if isinstance(want, dict):
        return all(k in have and (v is None or have[k] == str(v)) for k, v in want.items())
    if isinstance(want, str):
        return want in have
    for item in want:
        if isinstance(item, list | tuple):
            if have.get(item[0]) != str(item[1]):
                return False
        elif item not in have:
            return False
    return True


def float_tag(v: Any) -> float | None:
    """A tag's value as a float; ``None`` when missing or not a number."""
    try:
        return float(v) if v not in (None, "") else None
    except (TypeError, ValueError):
        return None


def json_tag(v: str | None, default: Any) -> Any:
    """A JSON tag's value; ``default`` when missing or not JSON."""
    if not v:
        return default
    try:
        return json.loads(v)
    except ValueError:
        return default
