"""Every request: one log event with its ids, metrics by route template, rate limits."""

from __future__ import annotations

import logging
import secrets
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from darkroom.client import sign_url
from darkroom.service import auth
from tests.corpus import read
from tests.integration.conftest import Service, start_service
from tests.integration.test_metrics import scrape

KEY = "observe-test-key-0123456789"


@pytest.fixture
def signed(tmp_path: Path) -> Iterator[Service]:
    yield from start_service(tmp_path, signing_keys=[KEY])()


def request_events(caplog: pytest.LogCaptureFixture) -> list[dict[str, Any]]:
    """The request events logged so far, as dicts."""
    return [vars(r) for r in caplog.records if r.name == "darkroom.api.requests"]


def test_each_request_is_one_event_with_its_route_and_ids(
    signed: Service, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO, logger="darkroom.api.requests"):
        image_id = signed.upload(read("jpeg-progressive.jpg"), profiles="avatar").json()["id"]
        # The upload's own event may be logged after its response reaches the client.
        deadline = time.monotonic() + 10
        while not request_events(caplog) and time.monotonic() < deadline:
            time.sleep(0.01)
        caplog.clear()
        key, record = auth.create_key(signed.runtime.ctx, owner_id="acme", role="admin")
        given = signed.http.get(
            f"/v1/images/{image_id}",
            headers={"X-Request-ID": "req-42", "Authorization": f"Bearer {key}"},
        )
        made = signed.http.get("/nowhere", headers={"X-Request-ID": "not a token!"})
        render = signed.http.get(sign_url(f"/v1/render/{image_id}?w=50", KEY))
        # The event is written once the response is sent, which the client may see first.
        deadline = time.monotonic() + 10
        while len(request_events(caplog)) < 3 and time.monotonic() < deadline:
            time.sleep(0.01)
    assert given.headers["x-request-id"] == "req-42"
    assert len(made.headers["x-request-id"]) == 32  # a new id: the caller's was not a token
    assert render.headers["x-request-id"] != made.headers["x-request-id"]
    events = request_events(caplog)
    assert [(e["method"], e["route"], e["status"]) for e in events] == [
        ("GET", "/v1/images/{image_id}", 200),
        ("GET", "unmatched", 404),
        ("GET", "/v1/render/{image_id}", 200),
    ]
    assert [e["request_id"] for e in events] == [
        "req-42",
        made.headers["x-request-id"],
        render.headers["x-request-id"],
    ]
    assert (events[0]["key_id"], events[0]["owner"]) == (record.id, "acme")
    assert (events[1]["key_id"], events[1]["owner"]) == (None, None)
    assert all(e["duration_ms"] > 0 for e in events)
    assert key not in caplog.text  # keys are never logged


def test_metrics_count_requests_by_route_and_renders_by_outcome(signed: Service) -> None:
    image_id = signed.upload(read("jpeg-progressive.jpg"), profiles="avatar").json()["id"]
    url = sign_url(f"/v1/render/{image_id}?w=40", KEY)
    miss = signed.http.get(url)
    hit = signed.http.get(url)
    unchanged = signed.http.get(url, headers={"If-None-Match": hit.headers["etag"]})
    assert (miss.status_code, hit.status_code, unchanged.status_code) == (200, 200, 304)
    for _ in range(2):
        signed.http.head(f"/v1/images/{image_id}")
    metrics = scrape(signed)

    def requests(route: str, method: str, status: str) -> float:
        labels = (("method", method), ("route", route), ("status", status))
        return metrics.get(("darkroom_http_requests_total", labels), 0)

    assert requests("/v1/images/{image_id}", "HEAD", "200") == 2
    assert requests("/v1/render/{image_id}", "GET", "200") == 2
    assert requests("/v1/render/{image_id}", "GET", "304") == 1
    assert requests("/v1/images", "POST", "202") == 1
    renders = {
        outcome: metrics.get(("darkroom_renders_total", (("outcome", outcome),)), 0)
        for outcome in ("miss", "hit", "not_modified", "overloaded", "error")
    }
    assert renders == {"miss": 1, "hit": 1, "not_modified": 1, "overloaded": 0, "error": 0}
    assert metrics[("darkroom_render_seconds_count", ())] == 3


def test_rate_limit_per_key_and_per_address(tmp_path: Path) -> None:
    for service in start_service(tmp_path, rate_limit=1, signing_keys=[KEY])():
        # Open mode: the client address is the bucket (a burst of 2 at 1 a second).
        answers = [service.http.get("/v1/profiles") for _ in range(3)]
        assert [a.status_code for a in answers] == [200, 200, 429]
        refused = answers[2]
        assert refused.headers["retry-after"] == "1"
        assert refused.json()["error"]["code"] == "rate_limited"
        # Each key has its own bucket.
        key, _ = auth.create_key(service.runtime.ctx, owner_id="acme", role="read")
        bearer = {"Authorization": f"Bearer {key}"}
        keyed = [service.http.get("/v1/profiles", headers=bearer) for _ in range(3)]
        assert [a.status_code for a in keyed] == [200, 200, 429]
        # Unauthenticated routes are not limited.
        assert service.http.get("/health").status_code == 200


@pytest.mark.slow
def test_api_processes_sharing_redis_share_the_limit(tmp_path: Path, redis_url: str) -> None:
    # One request per 20 s (a burst of one): the bucket cannot refill between the two
    # requests however slow the machine, so only a shared bucket refuses the second.
    shared = {
        "rate_limit": 0.05,
        "redis_url": redis_url,
        "queue_prefix": f"t{secrets.token_hex(4)}-",
    }
    with (
        contextmanager(start_service(tmp_path / "a", **shared))() as first,
        contextmanager(start_service(tmp_path / "b", **shared))() as second,
    ):
        codes = [
            first.http.get("/v1/profiles").status_code,
            second.http.get("/v1/profiles").status_code,
        ]
        assert codes == [200, 429]
        assert first.http.get("/v1/profiles").status_code == 429
