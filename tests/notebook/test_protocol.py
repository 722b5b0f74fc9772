"""The kernel <-> front end wire is named once: index.js mirrors every name and type of protocol.py."""

from __future__ import annotations

import re
import typing
from pathlib import Path

import pytest

from jupyter_amlrun.notebook import protocol
from jupyter_amlrun.notebook.widget import RunDetails

INDEX_JS = Path(__file__).resolve().parents[2] / "js" / "src" / "index.js"
# The output marker is read by the JupyterLab extension, not by index.js.
FALLBACK_TS = Path(__file__).resolve().parents[2] / "labextension" / "src" / "widgetfallback.ts"
FOR_THE_EXTENSION = {"RunMarker"}


def _js() -> str:
    return INDEX_JS.read_text(encoding="utf-8")


def _typeddicts() -> dict[str, type]:
    return {
        name: obj
        for name, obj in vars(protocol).items()
        if isinstance(obj, type)
        and typing.is_typeddict(obj)
        and name in protocol.__all__
        and name not in FOR_THE_EXTENSION
    }


def _js_typedefs(js: str) -> dict[str, set[str]]:
    """``@typedef {Object} Name`` blocks of index.js and their ``@property`` names."""
    out: dict[str, set[str]] = {}
    for block in re.findall(r"/\*\*(.*?)\*/", js, flags=re.S):
        m = re.search(r"@typedef\s+\{Object\}\s+(\w+)", block)
        if m:
            out[m.group(1)] = set(re.findall(r"@property\s+\{[^}]*\}\s+(\w+)", block))
    return out


@pytest.mark.unit
def test_every_message_type_name_is_in_index_js() -> None:
    js = _js()
    constants = {k: v for k, v in vars(protocol).items() if k.startswith("MSG_")}
    assert set(constants.values()) == set(protocol.MESSAGE_TYPES)
    for key, value in constants.items():
        # protocol.MSG_LOG_MORE = "log_more" <-> index.js MSG = {LOG_MORE: "log_more", ...}
        assert f'{key.removeprefix("MSG_")}: "{value}"' in js, f"{key} = {value!r} is missing from index.js MSG"
        assert f'{{"{value}"}} type' in js, f"no typedef in index.js has type {value!r}"


@pytest.mark.unit
def test_every_state_name_is_in_index_js_and_synced() -> None:
    js = _js()
    synced = set(RunDetails.class_own_traits(sync=True))
    for key, value in vars(protocol).items():
        if key.startswith("STATE_"):
            assert f'{key.removeprefix("STATE_")}: "{value}"' in js, f"{key} = {value!r} is missing from index.js"
            assert value in synced, f"{value!r} is not a synced traitlet of RunDetails"
    assert set(protocol.STATES) == synced


@pytest.mark.unit
def test_every_typeddict_has_a_jsdoc_typedef_with_the_same_properties() -> None:
    typedefs = _js_typedefs(_js())
    types = _typeddicts()
    assert {"DeltaMsg", "HeaderView", "TableView", "SeriesPart", "LogMoreMsg"} <= set(types)
    for name, td in types.items():
        assert name in typedefs, f"index.js has no @typedef for {name}"
        assert typedefs[name] == set(typing.get_type_hints(td)), f"{name}: index.js and protocol.py differ"


@pytest.mark.unit
def test_the_drift_check_notices_a_missing_property() -> None:
    js = _js().replace(" * @property {boolean} has_metrics\n", "")
    assert "has_metrics" not in _js_typedefs(js)["DeltaMsg"]


@pytest.mark.unit
def test_chart_rule_is_the_view_models() -> None:
    from jupyter_amlrun.view.model import CHART_MIN_POINTS

    assert f"const CHART_MIN_POINTS = {CHART_MIN_POINTS};" in _js()


@pytest.mark.unit
def test_the_output_marker_is_the_extensions() -> None:
    """The kernel's marker and the JupyterLab extension's renderer name the same mime type and read its run id."""
    ts = FALLBACK_TS.read_text(encoding="utf-8")
    assert f"export const RUN_MIME = '{protocol.RUN_MIME}';" in ts
    assert set(typing.get_type_hints(protocol.RunMarker)) >= {"run_id"} and "run_id" in ts
