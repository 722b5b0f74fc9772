"""No answer of the REST API carries a datastore secret (account key, SAS), errors included; blob datastores on a
real Azurite browse and take uploads like folders."""

from __future__ import annotations

import json
from typing import Any

import pytest
from tornado.httpclient import HTTPClientError

from tests.server.conftest import World

pytestmark = pytest.mark.integration


async def fetch_text(jp_fetch: Any, *parts: str, **kwargs: Any) -> tuple[int, str]:
    try:
        r = await jp_fetch("amlrun", "api", *parts, **kwargs)
    except HTTPClientError as exc:
        assert exc.response is not None
        return exc.code, exc.response.body.decode()
    return r.code, r.body.decode()


async def test_blob_datastores_answer_without_secrets(jp_fetch: Any, world: World, blob_world: dict[str, str]) -> None:
    secrets = [blob_world["key"], blob_world["sas"], blob_world["sig"]]
    answers: dict[str, tuple[int, str]] = {}
    answers["workspace"] = await fetch_text(jp_fetch, "workspace")
    answers["datastores"] = await fetch_text(jp_fetch, "datastores")
    for name in ("blobkey", "blobsas"):
        answers[f"{name} root"] = await fetch_text(jp_fetch, "datastores", name, "files")
        answers[f"{name} dir"] = await fetch_text(jp_fetch, "datastores", name, "files", params={"path": "dir"})
    answers["dead"] = await fetch_text(jp_fetch, "datastores", "blobdead", "files")
    answers["upload"] = await fetch_text(
        jp_fetch, "datastores", "blobsas", "files", method="POST", body=b"up", params={"path": "dir/up.txt"}
    )
    answers["upload again"] = await fetch_text(
        jp_fetch, "datastores", "blobkey", "files", method="POST", body=b"up", params={"path": "dir/up.txt"}
    )
    for what, (_code, body) in answers.items():
        for secret in secrets:
            assert secret not in body, what

    kinds = {d["name"]: d for d in json.loads(answers["datastores"][1])["items"]}
    assert kinds["blobkey"]["kind"] == "AzureBlob" and kinds["blobsas"]["container"] == kinds["blobkey"]["container"]
    assert answers["blobkey root"][0] == 200
    assert [i["name"] for i in json.loads(answers["blobkey root"][1])["items"]] == ["dir"]
    (item,) = json.loads(answers["blobsas dir"][1])["items"]
    assert item["path"] == "dir/f.txt" and item["size"] == 5
    assert answers["upload"][0] == 200
    assert json.loads(answers["upload"][1]) == {"path": "dir/up.txt", "size": 2, "size_text": "2 B"}
    assert answers["upload again"][0] == 409  # the same container through the other datastore: it exists now
    code, body = answers["dead"]
    assert code == 502 and json.loads(body)["status"] == 502 and "blobdead" in body
