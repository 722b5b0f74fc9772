"""v1 Model members (issue 21): tags removal, properties, dataset references, (de)serialize; deployment refused."""

from __future__ import annotations

from pathlib import Path

import pytest

from jupyter_amlrun import Model, Workspace
from jupyter_amlrun.runtime.errors import NotSupportedLocallyError


@pytest.mark.unit
def test_tags_properties_and_references_are_stored(ws: Workspace, tmp_path: Path) -> None:
    (tmp_path / "model.pkl").write_bytes(b"weights")
    model = Model.register(ws, model_path=str(tmp_path / "model.pkl"), model_name="m", tags={"a": "1", "b": "2"})
    model.update_tags_properties(add_tags={"c": "3"}, remove_tags=["a"], add_properties={"framework": "sk"})
    model.add_dataset_references([("training", "sensor-files")])
    back = Model(ws, name="m", version=model.version)
    assert back.tags == {"b": "2", "c": "3"}
    assert back.properties["framework"] == "sk" and back.properties["dataset:training"] == "sensor-files"
    assert Model.deserialize(ws, back.serialize()).id == back.id
    with pytest.raises(NotSupportedLocallyError, match="mlflow models serve"):
        back.deploy(ws, "svc", [back])
