"""Which requests the render fast path takes, and which it leaves to FastAPI's routing."""

from __future__ import annotations

from functools import partial
from typing import Any

import pytest

from darkroom.api.render_fast_path import match
from darkroom.api.routes import render


def scope(path: str, method: str = "GET", root_path: str = "", kind: str = "http") -> Any:
    return {"type": kind, "method": method, "path": path, "root_path": root_path}


def test_the_three_render_routes_are_matched_with_their_parameters() -> None:
    assert match(scope("/v1/render")) == (render.render_remote, "/v1/render")
    found = match(scope("/v1/render/img_1"))
    assert found is not None
    stored, route = found
    assert isinstance(stored, partial)
    assert (stored.func, stored.keywords) == (render.render_stored, {"image_id": "img_1"})
    assert route == "/v1/render/{image_id}"
    found = match(scope("/v1/render/img_1/thumb_200"))
    assert found is not None
    profile, route = found
    assert isinstance(profile, partial)
    assert (profile.func, profile.keywords) == (
        render.render_profile,
        {"image_id": "img_1", "profile": "thumb_200"},
    )
    assert route == "/v1/render/{image_id}/{profile}"


def test_a_root_path_prefix_is_removed_first() -> None:
    found = match(scope("/images/v1/render/img_1", root_path="/images"))
    assert found is not None
    assert isinstance(found[0], partial)
    assert found[0].keywords == {"image_id": "img_1"}


@pytest.mark.parametrize(
    "request_scope",
    [
        scope("/v1/render/img_1", method="HEAD"),
        scope("/v1/render/img_1", method="POST"),
        scope("/v1/render/img_1", kind="websocket"),
        scope("/v1/render/"),
        scope("/v1/render//thumb"),
        scope("/v1/render/img_1/thumb/extra"),
        scope("/v1/renderer"),
        scope("/v1/images/img_1"),
    ],
    ids=["head", "post", "websocket", "slash", "empty-id", "too-deep", "prefix-only", "other"],
)
def test_everything_else_is_left_to_the_app(request_scope: Any) -> None:
    assert match(request_scope) is None
