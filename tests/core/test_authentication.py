"""v1 authentication classes: accepted (noted once), nothing to log in to, no secret kept."""

from __future__ import annotations

import pytest

from jupyter_amlrun import Workspace


@pytest.mark.unit
def test_every_auth_class_is_accepted_by_workspace_and_noted_once(
    ws: Workspace, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from jupyter_amlrun.core import authentication as auth

    monkeypatch.setattr(auth, "_NOTED", set())
    made = [
        auth.InteractiveLoginAuthentication(force=True, tenant_id="t"),
        auth.AzureCliAuthentication(),
        auth.MsiAuthentication(),
        auth.ServicePrincipalAuthentication("tenant", "app-id", "s3cret-password"),
        auth.TokenAuthentication(lambda audience: "tok"),
        auth.ArmTokenAuthentication("arm-token"),
        auth.AzureMLTokenAuthentication("aml-token", None),
    ]
    err = capsys.readouterr().err
    assert err.count("nothing to log in to") == 1  # noted once per process, not per object
    config = ws.write_config(path=str(ws.path))
    for a in made:
        assert Workspace.from_config(path=str(config), auth=a).name == ws.name
        assert Workspace("sub", "rg", path=ws.path, auth=a).name == ws.name
        assert a.get_authentication_header() == {}
        assert "s3cret-password" not in repr(vars(a)) and "arm-token" not in repr(vars(a))
    assert auth.Audience.ARM == "ARM"


@pytest.mark.unit
def test_asking_for_a_token_refuses_with_what_to_do(capsys: pytest.CaptureFixture[str]) -> None:
    from jupyter_amlrun.core.authentication import InteractiveLoginAuthentication
    from jupyter_amlrun.runtime.errors import NotSupportedLocallyError

    with pytest.raises(NotSupportedLocallyError, match="Instead: .*get_mlflow_tracking_uri"):
        InteractiveLoginAuthentication().get_token("https://management.azure.com/.default")


@pytest.mark.unit
def test_signed_session_returns_the_session_unchanged() -> None:
    import requests

    from jupyter_amlrun.core.authentication import MsiAuthentication

    session = requests.Session()
    assert MsiAuthentication().signed_session(session) is session
    assert not session.headers.get("Authorization")
