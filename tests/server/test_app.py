"""Which workspace the extension serves: the one configured, else the one ``from_config`` finds from the server's
root folder, else the embedded default."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.server.conftest import World

pytestmark = pytest.mark.integration


@pytest.fixture
def jp_server_config(world: World, jp_root_dir: Path, root_config: bool) -> dict[str, Any]:
    if root_config:
        (jp_root_dir / ".amlrun").mkdir()
        (jp_root_dir / ".amlrun" / "config.json").write_text(
            json.dumps({"workspace_name": "srv", "workspace_path": str(world.ws.path)})
        )
    return {"ServerApp": {"jpserver_extensions": {"jupyter_amlrun": True}}}  # no AmlrunExtension.workspace_path


@pytest.mark.parametrize("root_config", [True, False], ids=["config-in-root", "no-config"])
async def test_the_workspace_comes_from_the_root_folder(jp_fetch: Any, world: World, root_config: bool) -> None:
    answer = json.loads((await jp_fetch("amlrun", "api", "workspace")).body)
    if root_config:
        assert answer["name"] == "srv" and str(world.ws.path) in answer["tracking"]
    else:  # the embedded default, $AMLRUN_HOME/workspaces/default
        assert answer["name"] == "default" and str(world.home) in answer["tracking"]


def test_the_extension_point_validates() -> None:
    from jupyter_server.extension.manager import ExtensionPackage

    import jupyter_amlrun
    from jupyter_amlrun.server.app import AmlrunExtension

    (point,) = jupyter_amlrun._jupyter_server_extension_points()
    assert point["app"] is AmlrunExtension and AmlrunExtension.name == "jupyter_amlrun"
    package = ExtensionPackage(name="jupyter_amlrun", enabled=True)
    assert package.validate()
