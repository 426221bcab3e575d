"""The client's pieces that need no server: error mapping, the ETag cache, render names."""

from __future__ import annotations

import itertools
from typing import Any

import httpx
import pytest

from darkroom import errors
from darkroom.client import Client, error_from_response
from darkroom.client._downloads import EtagCache
from darkroom.client._polling import delays
from darkroom.client._render import QUERY_NAMES, render_path
from darkroom.imaging.query import SHORT_NAMES


def answer(status: int, body: Any = None, **headers: str) -> httpx.Response:
    request = httpx.Request("GET", "http://darkroom.test/v1/images/x")
    if isinstance(body, dict):
        return httpx.Response(status, json=body, headers=headers, request=request)
    return httpx.Response(status, text=body or "", headers=headers, request=request)


def error(code: str, message: str = "m", details: Any = None) -> dict[str, Any]:
    return {"error": {"code": code, "message": message, "details": details}}


@pytest.mark.parametrize(
    ("status", "code", "cls"),
    [
        (404, "not_found", errors.NotFound),
        (422, "invalid_spec", errors.InvalidSpec),
        (413, "too_many_frames", errors.TooManyFrames),
        (503, "overloaded", errors.Overloaded),
        (500, "internal_error", errors.DarkroomError),
    ],
)
def test_a_known_code_is_its_own_class(status: int, code: str, cls: type[Exception]) -> None:
    exc = error_from_response(answer(status, error(code, "why", {"field": "w"})))
    assert type(exc) is cls
    assert (exc.status_code, exc.code, exc.message, exc.details) == (
        status,
        code,
        "why",
        {"field": "w"},
    )


def test_an_unknown_code_keeps_it_under_the_class_of_its_status() -> None:
    exc = error_from_response(answer(403, error("fetch_forbidden")))
    assert isinstance(exc, errors.Forbidden)
    assert (exc.status_code, exc.code, type(exc).__name__) == (
        403,
        "fetch_forbidden",
        "FetchForbidden",
    )
    again = error_from_response(answer(403, error("fetch_forbidden")))
    assert type(again) is type(exc)  # one class per code, however often it is seen
    teapot = error_from_response(answer(418, error("teapot")))
    assert isinstance(teapot, errors.PermanentError)
    assert (teapot.status_code, teapot.code) == (418, "teapot")


def test_an_answer_not_in_our_shape_still_maps_by_status() -> None:
    exc = error_from_response(answer(502, "<html>Bad gateway</html>"))
    assert type(exc) is errors.TransientError
    assert exc.retryable
    assert "502" in exc.message
    assert "Bad gateway" in exc.message


def test_retry_after_travels_with_the_error() -> None:
    limited = error_from_response(answer(429, error("rate_limited"), **{"Retry-After": "7"}))
    assert isinstance(limited, errors.RateLimited)
    assert limited.retry_after == 7


def test_the_etag_cache_keeps_the_newest_within_its_budget() -> None:
    cache = EtagCache(entries=2, max_bytes=10)
    cache.put("/a", '"a"', b"1234")
    cache.put("/b", '"b"', b"1234")
    assert cache.get("/a") == ('"a"', b"1234")  # /a is now the most recently used
    cache.put("/c", '"c"', b"12")
    assert (cache.get("/a"), cache.get("/b"), cache.get("/c")) == (
        ('"a"', b"1234"),
        None,
        ('"c"', b"12"),
    )
    cache.put("/d", '"d"', b"123456789")  # over the byte budget with the others: they go
    assert (cache.get("/a"), cache.get("/d")) == (None, ('"d"', b"123456789"))
    cache.put("/e", '"e"', b"x" * 11)  # never fits
    assert cache.get("/e") is None


def test_polls_back_off_to_a_cap() -> None:
    schedule = delays(first=0.1, cap=1.0)
    taken = [next(schedule) for _ in range(8)]
    assert taken[0] == 0.1
    assert all(a <= b for a, b in itertools.pairwise(taken))
    assert taken[-1] == 1.0


def test_render_names_are_the_servers() -> None:
    assert {short: field for field, short in QUERY_NAMES.items()} == SHORT_NAMES
    path = render_path("id 1", None, {"width": 300, "fmt": "webp", "strip": False})
    assert path == "/v1/render/id%201?w=300&fmt=webp&strip=0"
    crop = render_path("x", "card", {"crop": {"left": 1, "top": 2, "width": 3, "height": 4}})
    assert crop == "/v1/render/x/card?crop=1%2C2%2C3%2C4"


def test_render_url_needs_a_key() -> None:
    with Client("http://darkroom.test") as client, pytest.raises(errors.InvalidRequest) as caught:
        client.render_url("x", width=10)
    assert "DARKROOM_SIGNING_KEYS" in caught.value.message
