"""Each accepted upload and each transform attempt is one log event carrying its ids."""

from __future__ import annotations

import logging
from typing import Any

import pytest

from tests.corpus import read
from tests.integration.conftest import Service, wait_until


def test_upload_and_transform_events_carry_their_ids(
    service: Service, caplog: pytest.LogCaptureFixture
) -> None:
    def steps() -> list[dict[str, Any]]:
        return [vars(r) for r in caplog.records if r.getMessage() == "transform done"]

    with caplog.at_level(logging.INFO, logger="darkroom"):
        image = service.upload(read("jpeg-progressive.jpg"), profiles="thumb_200,avatar").json()
        service.wait(image["id"])
        wait_until(lambda: len(steps()) >= 2)  # logged just after the result is committed
    accepted = [r for r in caplog.records if r.getMessage() == "image accepted"]
    assert len(accepted) == 1
    assert vars(accepted[0])["image_id"] == image["id"]
    assert vars(accepted[0])["profiles"] == ["avatar", "thumb_200"]
    assert sorted(s["profile"] for s in steps()) == ["avatar", "thumb_200"]
    by_profile = {
        v["profile"]: v for v in service.http.get(f"/v1/images/{image['id']}").json()["variants"]
    }
    for step in steps():
        assert step["image_id"] == image["id"]
        assert step["attempt"] == 1
        assert step["outcome"] == "done"
        assert step["duration_ms"] > 0
        assert by_profile[step["profile"]]["status"] == "done"
