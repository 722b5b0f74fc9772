"""ws.get_default_keyvault(): secrets in the workspace's 0600 secrets file, beside datastore secrets."""

from __future__ import annotations

import stat
from typing import Any

import pytest

from jupyter_amlrun import Workspace
from jupyter_amlrun.runtime.errors import UserErrorException


@pytest.mark.unit
def test_set_get_list_delete_in_the_0600_file(ws: Workspace) -> None:
    kv = ws.get_default_keyvault()
    kv.set_secret("db-password", "hunter2", content_type="text/plain")
    kv.set_secrets({"api-key": "k-123", "other": "x"})
    assert kv.get_secret("db-password") == "hunter2"
    assert kv.get_secrets(["api-key", "other"]) == {"api-key": "k-123", "other": "x"}
    assert kv.get_secret_content_type("db-password") == "text/plain"
    assert kv.list_secrets() == [{"name": "api-key"}, {"name": "db-password"}, {"name": "other"}]
    path = ws.path / "secrets.json"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert "hunter2" not in repr(kv)
    # a new handle (another kernel) reads the same file
    assert Workspace(path=ws.path).get_default_keyvault().get_secret("api-key") == "k-123"
    kv.delete_secrets(["other"])
    with pytest.raises(UserErrorException, match="not in the workspace's keyvault"):
        kv.get_secret("other")
    with pytest.raises(UserErrorException, match="known"):
        kv.delete_secret("other")


@pytest.mark.unit
def test_keyvault_and_datastore_secrets_share_the_file_without_clobbering(ws: Workspace) -> None:
    from jupyter_amlrun.data._secrets import SecretStore

    store = SecretStore(ws.path)
    store.put("blobstore", {"account_key": "acct-key"})
    ws.get_default_keyvault().set_secret("token", "t-1")
    store.put("other", {"sas_token": "sas"})
    assert store.get("blobstore")["account_key"] == "acct-key"
    assert ws.get_default_keyvault().get_secret("token") == "t-1"


@pytest.mark.unit
def test_environment_variable_overrides_and_bad_names(ws: Workspace, monkeypatch: pytest.MonkeyPatch) -> None:
    kv = ws.get_default_keyvault()
    monkeypatch.setenv("AMLRUN_SECRET_CI_TOKEN", "from-env")
    assert kv.get_secret("ci-token") == "from-env"
    for bad in ("has space", "", "x" * 200, None):
        with pytest.raises(UserErrorException, match="Invalid secret name"):
            kv.set_secret(bad, "v")  # type: ignore[arg-type]
    with pytest.raises(UserErrorException, match="must be a string"):
        kv.set_secrets({"n": 3})  # type: ignore[dict-item]


@pytest.mark.integration
def test_a_submitted_script_reads_a_secret_with_run_get_secret(ws: Workspace, make_source: Any) -> None:
    """v1 scripts read the workspace's Key Vault with ``Run.get_context().get_secret``: here the keyvault file."""
    from jupyter_amlrun import Experiment, ScriptRunConfig

    ws.get_default_keyvault().set_secret("db-password", "hunter2")
    src = make_source(
        {
            "train.py": """
            from jupyter_amlrun import Run
            run = Run.get_context()
            run.log("secret_ok", 1.0 if run.get_secret("db-password") == "hunter2" else 0.0)
            try:
                run.get_secret("missing")
            except Exception as exc:
                print("missing:", type(exc).__name__)
            """
        }
    )
    run = Experiment(ws, "secrets").submit(ScriptRunConfig(source_directory=str(src), script="train.py"))
    run.wait_for_completion(raise_on_error=True)
    assert run.get_metrics()["secret_ok"] == 1.0
    logs = "".join(run.get_details_with_logs()["logFiles"].values())
    assert "missing: UserErrorException" in logs and "hunter2" not in logs
