"""Every error leaves the API in one JSON shape with the status its class declares."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from fastapi import FastAPI
from pydantic import BaseModel

from darkroom import errors
from darkroom.api.errors import install_error_handlers
from tests.live_server import live_server


class Body(BaseModel):
    width: int


def make_app() -> FastAPI:
    app = FastAPI()
    install_error_handlers(app)

    @app.get("/corrupt")
    def corrupt() -> None:
        raise errors.CorruptImage("The JPEG image cannot be decoded (premature end)")

    @app.get("/busy")
    def busy() -> None:
        raise errors.Overloaded(retry_after=3)

    @app.get("/boom")
    def boom() -> None:
        raise RuntimeError("secret internals")

    @app.post("/body")
    def body(payload: Body) -> dict[str, int]:
        return {"width": payload.width}

    return app


@pytest.fixture(scope="module")
def client() -> Iterator[httpx.Client]:
    with live_server(make_app()) as url, httpx.Client(base_url=url) as http:
        yield http


def assert_shape(response: httpx.Response, status: int, code: str) -> dict[str, object]:
    assert response.status_code == status
    assert response.headers["content-type"] == "application/json"
    body = response.json()
    assert set(body) == {"error"}
    assert set(body["error"]) == {"code", "message", "details"}
    assert body["error"]["code"] == code
    error: dict[str, object] = body["error"]
    return error


def test_darkroom_error(client: httpx.Client) -> None:
    error = assert_shape(client.get("/corrupt"), 422, "corrupt_image")
    assert error["message"] == "The JPEG image cannot be decoded (premature end)"


def test_overloaded_carries_retry_after(client: httpx.Client) -> None:
    response = client.get("/busy")
    assert_shape(response, 503, "overloaded")
    assert response.headers["retry-after"] == "3"


def test_unexpected_error_is_a_500_without_internals(client: httpx.Client) -> None:
    response = client.get("/boom")
    error = assert_shape(response, 500, "internal_error")
    assert "secret" not in response.text
    assert error["message"] == "An internal error occurred; it has been logged."


def test_validation_error_names_the_field(client: httpx.Client) -> None:
    error = assert_shape(client.post("/body", json={"width": "wide"}), 422, "invalid_request")
    assert "width" in str(error["message"])


def test_unknown_route_and_method(client: httpx.Client) -> None:
    assert_shape(client.get("/nowhere"), 404, "not_found")
    refused = client.delete("/corrupt")
    assert_shape(refused, 405, "method_not_allowed")
    assert refused.headers["allow"] == "GET, HEAD, OPTIONS"
