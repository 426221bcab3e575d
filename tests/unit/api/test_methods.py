"""HEAD wherever GET is, OPTIONS everywhere, and `Allow` listing every method of a path."""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from fastapi import APIRouter, FastAPI, Response
from fastapi.staticfiles import StaticFiles

from darkroom.api.errors import install_error_handlers
from darkroom.api.methods import MethodsMiddleware, allowed_methods
from darkroom.errors import NotFound
from tests.live_server import live_server


def make_app(static: Path) -> FastAPI:
    """GET and DELETE on one path from two routers, a POST-only path, static files."""
    app = FastAPI()
    install_error_handlers(app)
    app.add_middleware(MethodsMiddleware)
    reads, writes = APIRouter(), APIRouter()

    @reads.get("/things/{thing_id}")
    def get_thing(thing_id: str) -> dict[str, str]:
        if thing_id == "missing":
            raise NotFound("No such thing.")
        return {"id": thing_id, "name": "a thing"}

    @reads.get("/things/{thing_id}/bytes")
    def get_bytes(thing_id: str) -> Response:
        return Response(b"\x89PNG" + b"0" * 100, media_type="image/png", headers={"ETag": '"1"'})

    @writes.delete("/things/{thing_id}", status_code=204)
    def delete_thing(thing_id: str) -> None:
        return None

    @writes.post("/things/{thing_id}/actions")
    def act(thing_id: str) -> dict[str, str]:
        return {"done": thing_id}

    app.include_router(reads)
    app.include_router(writes)
    app.mount("/static", StaticFiles(directory=static), name="static")
    return app


@pytest.fixture(scope="module")
def client() -> Iterator[httpx.Client]:
    with tempfile.TemporaryDirectory() as folder:
        (Path(folder) / "style.css").write_text("body { margin: 0 }")
        with live_server(make_app(Path(folder))) as url, httpx.Client(base_url=url) as http:
            yield http


@pytest.mark.parametrize("path", ["/things/1", "/things/1/bytes", "/static/style.css"])
def test_head_answers_the_get_headers_without_the_body(client: httpx.Client, path: str) -> None:
    got, head = client.get(path), client.head(path)
    assert head.status_code == got.status_code == 200
    assert head.content == b""
    for name in ("content-type", "content-length", "etag"):
        assert head.headers.get(name) == got.headers.get(name), name


def test_head_of_an_error_keeps_its_status_and_headers(client: httpx.Client) -> None:
    got, head = client.get("/things/missing"), client.head("/things/missing")
    assert (head.status_code, got.status_code) == (404, 404)
    assert head.content == b""
    assert head.headers["content-length"] == got.headers["content-length"]
    assert got.json()["error"]["code"] == "not_found"


def test_405_lists_every_method_of_the_path(client: httpx.Client) -> None:
    response = client.patch("/things/1")
    assert response.status_code == 405
    assert response.headers["allow"] == "GET, HEAD, DELETE, OPTIONS"
    error = response.json()["error"]
    assert set(error) == {"code", "message", "details"}
    assert error["code"] == "method_not_allowed"


def test_head_where_there_is_no_get_is_a_405(client: httpx.Client) -> None:
    response = client.head("/things/1/actions")
    assert response.status_code == 405
    assert response.headers["allow"] == "POST, OPTIONS"
    assert response.content == b""


@pytest.mark.parametrize(
    ("path", "allow"),
    [
        ("/things/1", "GET, HEAD, DELETE, OPTIONS"),
        ("/things/1/bytes", "GET, HEAD, OPTIONS"),
        ("/things/1/actions", "POST, OPTIONS"),
        ("/static/style.css", "GET, HEAD, OPTIONS"),
    ],
)
def test_options_answers_allow(client: httpx.Client, path: str, allow: str) -> None:
    response = client.options(path)
    assert response.status_code == 204
    assert response.headers["allow"] == allow
    assert response.content == b""


def test_options_of_an_unknown_path_is_a_404(client: httpx.Client) -> None:
    response = client.options("/nowhere")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"


def test_allowed_methods_of_a_path_without_routes_is_empty() -> None:
    app = make_app(Path(tempfile.gettempdir()))
    scope = {"type": "http", "path": "/nowhere", "root_path": "", "method": "GET"}
    assert allowed_methods(app.router.routes, scope) == []
    scope["path"] = "/things/1"
    assert allowed_methods(app.router.routes, scope) == ["GET", "HEAD", "DELETE", "OPTIONS"]
