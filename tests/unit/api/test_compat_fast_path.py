"""The fast path serves /thumbor/ and /imgproxy/ like the render routes."""

from __future__ import annotations

from typing import Any

from darkroom.api.render_fast_path import match
from darkroom.api.routes import compat


def scope(path: str, method: str = "GET", root_path: str = "") -> Any:
    return {"type": "http", "method": method, "path": path, "root_path": root_path}


def test_compatible_paths_are_matched() -> None:
    assert match(scope("/thumbor/unsafe/300x200/ID")) == (compat.render_thumbor, "/thumbor/{path}")
    assert match(scope("/imgproxy/insecure/w:300/plain/darkroom://ID")) == (
        compat.render_imgproxy,
        "/imgproxy/{path}",
    )
    assert match(scope("/cdn/thumbor/unsafe/ID", root_path="/cdn")) == (
        compat.render_thumbor,
        "/thumbor/{path}",
    )


def test_other_methods_and_bare_prefixes_are_left_to_routing() -> None:
    assert match(scope("/thumbor/unsafe/ID", method="POST")) is None
    assert match(scope("/thumbor")) is None
    assert match(scope("/imgproxyx/a")) is None
