"""The kernel <-> front end wire is named once: the run renderer's wire.ts mirrors every name and type of protocol.py
(and the view model's TypedDicts it carries)."""

from __future__ import annotations

import typing

import pytest

from jupyter_amlrun.notebook import protocol
from jupyter_amlrun.notebook.widget import RunDetails
from tests.tswire import REPO, WIRE_TS, ts_types

RUNVIEW = REPO / "labextension" / "src" / "runview"
# The output marker is read by the JupyterLab extension's output renderer, not by the run renderer.
FALLBACK_TS = REPO / "labextension" / "src" / "widgetfallback.ts"
FOR_THE_EXTENSION = {"RunMarker"}


def _js() -> str:
    return WIRE_TS.read_text(encoding="utf-8")


def _typeddicts() -> dict[str, type]:
    return {
        name: obj
        for name, obj in vars(protocol).items()
        if isinstance(obj, type)
        and typing.is_typeddict(obj)
        and name in protocol.__all__
        and name not in FOR_THE_EXTENSION
    }


@pytest.mark.unit
def test_every_message_type_name_is_in_the_wire_ts() -> None:
    js = _js()
    constants = {k: v for k, v in vars(protocol).items() if k.startswith("MSG_")}
    assert set(constants.values()) == set(protocol.MESSAGE_TYPES)
    for key, value in constants.items():
        # protocol.MSG_LOG_MORE = "log_more" <-> wire.ts MSG = {LOG_MORE: 'log_more', ...}
        assert f"{key.removeprefix('MSG_')}: '{value}'" in js, f"{key} = {value!r} is missing from wire.ts MSG"
        assert f"  type: '{value}';" in js, f"no type in wire.ts has type {value!r}"


@pytest.mark.unit
def test_every_state_name_is_in_the_wire_ts_and_synced() -> None:
    js = _js()
    synced = set(RunDetails.class_own_traits(sync=True))
    for key, value in vars(protocol).items():
        if key.startswith("STATE_"):
            assert f"{key.removeprefix('STATE_')}: '{value}'" in js, f"{key} = {value!r} is missing from wire.ts"
            assert value in synced, f"{value!r} is not a synced traitlet of RunDetails"
    assert set(protocol.STATES) == synced


@pytest.mark.unit
def test_every_typeddict_has_a_ts_type_with_the_same_properties() -> None:
    typedefs = ts_types(_js())
    types = _typeddicts()
    assert {"DeltaMsg", "HeaderView", "TableView", "SeriesPart", "LogMoreMsg"} <= set(types)
    for name, td in types.items():
        assert name in typedefs, f"wire.ts has no type {name}"
        assert typedefs[name] == set(typing.get_type_hints(td)), f"{name}: wire.ts and protocol.py differ"


@pytest.mark.unit
def test_the_drift_check_notices_a_missing_property() -> None:
    js = _js().replace("  has_metrics: boolean;\n};\n\nexport type LogOlderMsg", "};\n\nexport type LogOlderMsg")
    assert "has_metrics" not in ts_types(js)["DeltaMsg"]


@pytest.mark.unit
def test_chart_rule_is_the_view_models() -> None:
    from jupyter_amlrun.view.model import CHART_MIN_POINTS

    render = (RUNVIEW / "render.ts").read_text(encoding="utf-8")
    assert f"export const CHART_MIN_POINTS = {CHART_MIN_POINTS};" in render


@pytest.mark.unit
def test_the_output_marker_is_the_extensions() -> None:
    """The kernel's marker and the JupyterLab extension's renderer name the same mime type and read its run id."""
    ts = FALLBACK_TS.read_text(encoding="utf-8")
    assert f"export const RUN_MIME = '{protocol.RUN_MIME}';" in ts
    assert set(typing.get_type_hints(protocol.RunMarker)) >= {"run_id"} and "run_id" in ts


@pytest.mark.unit
def test_every_view_model_typeddict_has_a_ts_type_with_the_same_properties() -> None:
    """A field or section the view model gains must reach the renderer's types (wire.ts) too."""
    from jupyter_amlrun.view import model

    typedefs = ts_types(_js())
    views = {
        name: obj
        for name, obj in vars(model).items()
        if isinstance(obj, type) and typing.is_typeddict(obj) and obj.__module__ == model.__name__
    }
    assert {"StatusView", "HeaderView", "SweepView", "SweepChildView"} <= set(views)
    for name, td in views.items():
        assert name in typedefs, f"wire.ts has no type {name} (view/model.py)"
        assert typedefs[name] == set(typing.get_type_hints(td)), f"{name}: wire.ts and view/model.py differ"
