"""Every route refuses a caller without the server's token, and every handler method carries the auth decorators.

The routes come from the extension's own handler list, so a route added later is covered without editing this file.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any

import pytest
import tornado.web
from jupyter_server.auth.decorator import authorized
from tornado.httpclient import HTTPClientError

from jupyter_amlrun.server.handlers import AmlrunHandler, routes
from tests.server.conftest import World

pytestmark = pytest.mark.integration
METHODS = ("get", "post", "put", "patch", "delete")


def own_methods(cls: type) -> list[str]:
    """The HTTP methods a handler class implements (not tornado's default 405 ones)."""
    return [m for m in METHODS if getattr(cls, m) is not getattr(tornado.web.RequestHandler, m)]


def _probe(self: Any) -> None:
    pass


# functools.wraps copies names, not code: each decorator's wrapper is known by its code object
AUTHENTICATED_CODE = tornado.web.authenticated(_probe).__code__
AUTHORIZED_CODE = authorized(_probe).__code__


def wrapper_codes(fn: Callable[..., Any]) -> list[Any]:
    """The code objects of ``fn`` and of every function it wraps."""
    codes = []
    current: Any = fn
    while current is not None:
        codes.append(getattr(current, "__code__", None))
        current = getattr(current, "__wrapped__", None)
    return codes


def extension_handlers(serverapp: Any) -> list[tuple[str, type]]:
    (app,) = serverapp.extension_manager.extension_apps["jupyter_amlrun"]
    found = [(h[0], h[1]) for h in app.handlers if isinstance(h[1], type) and issubclass(h[1], AmlrunHandler)]
    assert len(found) == len(routes()) >= 12
    return found


def concrete(pattern: str) -> str:
    return re.sub(r"\([^)]*\)", "x", pattern)


async def test_every_route_refuses_an_unauthenticated_call(
    jp_serverapp: Any, jp_base_url: str, http_server_client: Any
) -> None:
    client = http_server_client  # the test server's client, without the token jp_fetch adds
    checked = 0
    for pattern, handler in extension_handlers(jp_serverapp):
        for method in own_methods(handler):
            url = f"{jp_base_url.rstrip('/')}{concrete(pattern)}"
            body = b"{}" if method in ("post", "put", "patch") else None
            with pytest.raises(HTTPClientError) as info:
                await client.fetch(url, method=method.upper(), body=body, follow_redirects=False)
            assert info.value.code in (401, 403), (method, url, info.value.code)
            assert info.value.response is not None
            answer = json.loads(info.value.response.body)
            assert "workspace" not in answer and "items" not in answer  # refused before the handler ran
            checked += 1
    assert checked >= 13


async def test_a_wrong_token_is_refused_too(jp_fetch: Any) -> None:
    with pytest.raises(HTTPClientError) as info:
        await jp_fetch("amlrun", "api", "workspace", headers={"Authorization": "token not-the-token"})
    assert info.value.code in (401, 403)
    ok = await jp_fetch("amlrun", "api", "workspace")  # the same route with the token answers
    assert ok.code == 200


async def test_cookie_post_without_xsrf_is_refused(http_server_client: Any, jp_base_url: str, world: World) -> None:
    """A browser-style (cookie, no token) POST without the XSRF token must not reach the handler."""
    with pytest.raises(HTTPClientError) as info:
        await http_server_client.fetch(
            f"{jp_base_url.rstrip('/')}/amlrun/api/datastores/workspaceblobstore/files?path=xsrf.txt",
            method="POST",
            body=b"x",
            headers={"Cookie": "_xsrf=forged"},
        )
    assert info.value.code == 403
    assert not (world.ws.path / "datastores" / "workspaceblobstore" / "data" / "xsrf.txt").exists()


def test_every_handler_method_is_authenticated_and_authorized() -> None:
    handlers = {cls for _pattern, cls in routes()}
    assert handlers
    for cls in handlers:
        assert cls.auth_resource == "amlrun"
        methods = own_methods(cls)
        assert methods, cls
        for method in methods:
            codes = wrapper_codes(getattr(cls, method))
            assert AUTHENTICATED_CODE in codes, f"{cls.__name__}.{method} lacks @tornado.web.authenticated"
            assert AUTHORIZED_CODE in codes, f"{cls.__name__}.{method} lacks @authorized"


def test_the_decorator_check_catches_a_bare_method() -> None:
    """The check above must be able to fail: a method without the decorators is seen."""

    class Bare(AmlrunHandler):
        async def get(self) -> None:  # no decorators
            pass

    codes = wrapper_codes(Bare.get)
    assert AUTHENTICATED_CODE not in codes and AUTHORIZED_CODE not in codes

    class Half(AmlrunHandler):
        @tornado.web.authenticated
        async def get(self) -> None:
            pass

    codes = wrapper_codes(Half.get)
    assert AUTHENTICATED_CODE in codes and AUTHORIZED_CODE not in codes


def test_the_documented_routes_are_the_served_routes() -> None:
    """docs/rest-api.md (the contract the TypeScript side follows) and the handlers list the same routes."""
    from pathlib import Path

    doc = (Path(__file__).resolve().parents[2] / "docs" / "rest-api.md").read_text(encoding="utf-8")
    documented = set()
    for method, route in re.findall(r"^\| (GET|POST|PUT|PATCH|DELETE) \| `([^`]+)` \|", doc, flags=re.M):
        path = route.split("?", 1)[0]
        documented.add((method.lower(), "/amlrun/api/" + re.sub(r"\{[^}]+\}", "x", path)))
    served = {(m, concrete(pattern)) for pattern, cls in routes() for m in own_methods(cls)}
    assert documented == served
