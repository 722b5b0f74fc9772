"""Every credential form stays out of every file of the workspace and every error text (issue 13).

Each form is registered against a real Azurite (so the credential is known to work), then re-registered with the
same credential at an endpoint where nothing listens: the SDK's connection error carries the request URL, SAS
included, which is the text that leaked. A run reading the datastore then fails, and so do notebook reads. The
secret may only be in the 0600 ``secrets.json``.
"""

from __future__ import annotations

import contextlib
import stat
import uuid
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, quote

import pytest

from jupyter_amlrun import Dataset, Datastore, Experiment, ScriptRunConfig
from jupyter_amlrun.data import DatastoreException
from tests.data.azurite import ACCOUNT, ACCOUNT_KEY, free_port

pytestmark = pytest.mark.integration


def _sas(container: str) -> str:
    from azure.storage.blob import ContainerSasPermissions, generate_container_sas

    return generate_container_sas(
        ACCOUNT,
        container,
        account_key=ACCOUNT_KEY,
        permission=ContainerSasPermissions(read=True, list=True, write=True),
        expiry=datetime.now(timezone.utc) + timedelta(hours=1),
    )


def _forms(azurite: Any, container: str, dead: str) -> list[tuple[str, dict[str, str], dict[str, str], list[str]]]:
    """(form, kwargs at Azurite, kwargs at the dead endpoint, strings that must not leak)."""
    sas = _sas(container)
    sig = parse_qs(sas)["sig"][0]
    at = {"account_name": ACCOUNT, "endpoint": azurite.endpoint}
    away = {"account_name": ACCOUNT, "endpoint": dead}
    cs_sas = f"BlobEndpoint={azurite.endpoint};SharedAccessSignature={sas}"
    return [
        ("key", {**at, "account_key": ACCOUNT_KEY}, {**away, "account_key": ACCOUNT_KEY}, [ACCOUNT_KEY]),
        ("sas", {**at, "sas_token": sas}, {**away, "sas_token": sas}, [sas, sig]),
        ("sas_q", {**at, "sas_token": "?" + sas}, {**away, "sas_token": "?" + sas}, [sas, sig]),
        (
            "conn_key",
            {"connection_string": azurite.connection_string},
            {"connection_string": azurite.connection_string.replace(azurite.endpoint, dead)},
            [ACCOUNT_KEY],
        ),
        (
            "conn_sas",
            {"connection_string": cs_sas},
            {"connection_string": cs_sas.replace(azurite.endpoint, dead)},
            [sig],
        ),
    ]


def _files_holding(root: Path, secrets: list[str]) -> list[str]:
    needles = {form.encode() for s in secrets for form in (s, quote(s, safe=""), quote(s))}
    return [
        str(path.relative_to(root))
        for path in root.rglob("*")
        if path.is_file() and path.name != "secrets.json" and any(n in path.read_bytes() for n in needles)
    ]


@pytest.mark.unit
def test_scrub_masks_every_form_of_a_secret() -> None:
    from jupyter_amlrun.data._secrets import REDACTED, scrub

    sas = "sv=2021-08-06&se=2030-01-01T00%3A00%3A00Z&sr=c&sp=rl&sig=AbC%2Bdef%2F123%3D"
    reordered = "/c?restype=container&sig=AbC%2Bdef%2F123%3D&sv=2021-08-06&sp=rl"
    assert "AbC" not in scrub(reordered, ["?" + sas]) and REDACTED in scrub(reordered, ["?" + sas])
    assert "AbC" not in scrub("token ?" + sas, [sas])
    key = "S2V5S2V5S2V5S2V5S2V5S2V5S2V5S2V5"
    cs = f"DefaultEndpointsProtocol=https;AccountName=a;AccountKey={key};EndpointSuffix=core.windows.net"
    assert key not in scrub(f"bad key {key}", [cs]) and key not in scrub(f"bad {quote(key, safe='')}", [cs])
    assert scrub("nothing secret here", [sas, cs]) == "nothing secret here"


def test_no_credential_form_leaks_into_files_or_errors(ws, azurite, make_source, sample_dir: Path) -> None:  # type: ignore[no-untyped-def]
    src = make_source({"train.py": "import sys\nprint(sys.argv[1:])\n"})
    dead = f"http://127.0.0.1:{free_port()}/{ACCOUNT}"
    container = f"c{uuid.uuid4().hex[:12]}"
    Datastore.register_azure_blob_container(
        ws,
        "prep",
        container_name=container,
        account_name=ACCOUNT,
        account_key=ACCOUNT_KEY,
        endpoint=azurite.endpoint,
        create_if_not_exists=True,
    ).upload(sample_dir, "data", show_progress=False)
    errors: list[str] = []
    all_secrets: list[str] = []
    for form, working, unreachable, secrets in _forms(azurite, container, dead):
        all_secrets += secrets
        name = f"ds_{form}"
        assert Datastore.register_azure_blob_container(ws, name, container_name=container, **working).ls("data")
        store = Datastore.register_azure_blob_container(
            ws, name, container_name=container, overwrite=True, skip_validation=True, **unreachable
        )
        dataset = Dataset.File.from_files((store, "data"), validate=False)
        run = Experiment(ws, f"leak-{form}").submit(
            ScriptRunConfig(source_directory=src, script="train.py", arguments=[dataset.as_download()])
        )
        details = run.wait_for_completion(raise_on_error=False)
        assert details["status"] == "Failed", form
        errors += [details["error"]["error"]["message"], str(run.get_details_with_logs())]
        with pytest.raises(DatastoreException) as info:
            dataset.download(target_path=ws.path.parent / f"dl-{form}", show_progress=False)
        errors.append(str(info.value))
    leaked = [(secret[:12], error[:300]) for error in errors for secret in all_secrets if secret in error]
    assert not leaked, leaked
    assert not _files_holding(ws.path, all_secrets)
    secrets_file = ws.path / "secrets.json"
    assert stat.S_IMODE(secrets_file.stat().st_mode) == 0o600 and ACCOUNT_KEY in secrets_file.read_text()


def _reachable_strings(root: BaseException, limit: int = 50_000) -> list[str]:
    """Every string reachable from an exception through its chain (``__context__``, ``__cause__``), its arguments and
    the attributes of what it holds (an SDK error's response, its request, the request's URL). Frames are not
    followed: a caller's frame holds the datastore itself, which keeps its credential in memory by design."""
    import types

    found: list[str] = []
    seen: set[int] = set()
    stack: list[Any] = [root]
    skip = (types.ModuleType, types.FunctionType, types.BuiltinFunctionType, types.FrameType, types.TracebackType, type)
    while stack and len(seen) < limit:
        obj = stack.pop()
        if id(obj) in seen or obj is None or isinstance(obj, (int, float, bool, *skip)):
            continue
        seen.add(id(obj))
        if isinstance(obj, str):
            found.append(obj)
        elif isinstance(obj, (bytes, bytearray)):
            found.append(bytes(obj).decode("utf-8", "replace"))
        elif isinstance(obj, dict):
            stack.extend(obj.keys())
            stack.extend(obj.values())
        elif isinstance(obj, (list, tuple, set, frozenset)):
            stack.extend(obj)
        else:
            if isinstance(obj, BaseException):
                stack.extend([obj.args, obj.__context__, obj.__cause__])
            with contextlib.suppress(TypeError):
                stack.extend(vars(obj).values())
            with contextlib.suppress(Exception):
                found.append(str(obj))
    return found


def _chain_leaks(exc: BaseException, sig: str) -> list[str]:
    return [text[:200] for text in _reachable_strings(exc) if sig in text or quote(sig, safe="") in text]


def test_the_sdk_error_behind_a_blob_error_holds_no_sas(
    ws: Any, azurite: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from jupyter_amlrun.data import _blob

    container = f"c{uuid.uuid4().hex[:12]}"
    Datastore.register_azure_blob_container(
        ws,
        "prep",
        container_name=container,
        endpoint=azurite.endpoint,
        create_if_not_exists=True,
        account_name=ACCOUNT,
        account_key=ACCOUNT_KEY,
    )
    from azure.storage.blob import ContainerSasPermissions, generate_container_sas

    # read and list only: an upload is refused (403), a missing blob is not found (404); both errors carry the
    # request URL, SAS and all
    sas = generate_container_sas(
        ACCOUNT,
        container,
        account_key=ACCOUNT_KEY,
        permission=ContainerSasPermissions(read=True, list=True),
        expiry=datetime.now(timezone.utc) + timedelta(hours=1),
    )
    sig = parse_qs(sas)["sig"][0]
    store = Datastore.register_azure_blob_container(
        ws, "sas", container_name=container, account_name=ACCOUNT, endpoint=azurite.endpoint, sas_token=sas
    )
    dead = Datastore.register_azure_blob_container(
        ws,
        "dead",
        container_name=container,
        account_name=ACCOUNT,
        endpoint=f"http://127.0.0.1:{free_port()}/{ACCOUNT}",
        sas_token=sas,
        skip_validation=True,
    )
    local = tmp_path / "a.txt"
    local.write_text("a")
    ops = (
        lambda: store.put_file(local, "a.txt"),  # 403
        lambda: store.get_file("missing.txt", tmp_path / "m"),  # 404
        lambda: dead.get_file("a.txt", tmp_path / "d"),  # connection refused
    )

    def failures() -> list[BaseException]:
        out: list[BaseException] = []
        for op in ops:
            try:
                op()
            except DatastoreException as exc:
                out.append(exc)
        return out

    # The check can fail: without the scrubbing, the SAS is found behind both errors.
    with monkeypatch.context() as mp:
        mp.setattr(_blob, "_forget", lambda exc, secrets: None)
        unscrubbed = failures()
    assert len(unscrubbed) == 3 and all(_chain_leaks(exc, sig) for exc in unscrubbed)
    errors = failures()
    assert len(errors) == 3
    for exc in errors:
        assert exc.__context__ is not None  # the SDK's error is still there, emptied
        assert not _chain_leaks(exc, sig), (type(exc).__name__, _chain_leaks(exc, sig))
