"""CDN purges through the outbox, received by a real local server."""

from __future__ import annotations

import functools
import json
import time
from pathlib import Path

import pytest

from darkroom import errors
from darkroom.service import images
from tests.corpus import read
from tests.integration.conftest import Service, start_service, wait_until
from tests.receiver import receiving


def test_deleting_an_image_purges_each_of_its_urls(tmp_path: Path) -> None:
    with receiving() as cdn:
        run = start_service(tmp_path, cdn_purge_base=cdn.url, outbox_interval_seconds=0.05)
        for service in run():
            upload = service.upload(read("jpeg-progressive.jpg"), profiles="thumb_200,avatar")
            image_id = upload.json()["id"]
            service.wait(image_id)
            assert service.http.delete(f"/v1/images/{image_id}").status_code == 204
            purged = cdn.wait_for(4)
    assert {(r.method, r.path) for r in purged} == {
        ("PURGE", f"/v1/images/{image_id}/original"),
        ("PURGE", f"/v1/images/{image_id}/variants/avatar"),
        ("PURGE", f"/v1/images/{image_id}/variants/thumb_200"),
        ("PURGE", f"/v1/render/{image_id}"),
    }


def test_an_endpoint_gets_the_urls_in_one_post_and_a_500_is_retried(tmp_path: Path) -> None:
    with receiving(answers=[500]) as api:
        run = start_service(
            tmp_path,
            cdn_purge_base="https://img.example.com",
            cdn_purge_endpoint=api.url + "/purge",
            outbox_interval_seconds=0.05,
        )
        for service in run():
            image_id = service.upload(read("jpeg-progressive.jpg"), profiles="avatar").json()["id"]
            service.wait(image_id)
            assert images.purge_cdn(service.runtime.ctx, image_id) == 1
            first, second = api.wait_for(2)
    assert first.body == second.body
    assert (second.method, second.path) == ("POST", "/purge")
    assert json.loads(second.body) == {
        "urls": [
            f"https://img.example.com/v1/images/{image_id}/original",
            f"https://img.example.com/v1/images/{image_id}/variants/avatar",
            f"https://img.example.com/v1/render/{image_id}",
        ]
    }


def test_purging_without_a_cdn_says_what_to_configure(tmp_path: Path) -> None:
    for service in start_service(tmp_path)():
        image_id = service.upload(read("jpeg-progressive.jpg"), profiles="avatar").json()["id"]
        with pytest.raises(errors.InvalidRequest, match="DARKROOM_CDN_PURGE_BASE"):
            images.purge_cdn(service.runtime.ctx, image_id)


def holds_one_variant(service: Service) -> bool:
    return len(service.objects("variants/")) == 1


@pytest.mark.slow  # seconds of processes or a backfill: the full suite runs it
def test_a_changed_profile_backfilled_renders_again_and_purges_the_old_variant(
    tmp_path: Path,
) -> None:
    with receiving() as cdn:
        run = start_service(tmp_path, cdn_purge_base=cdn.url, outbox_interval_seconds=0.05)
        for service in run():
            image_id = service.upload(read("jpeg-progressive.jpg"), profiles="thumb_200").json()[
                "id"
            ]
            before = service.wait(image_id)["variants"][0]
            old_objects = set(service.objects("variants/"))
            changed = service.http.put(
                "/v1/profiles/thumb_200", json={"width": 120, "height": 120, "fit": "cover"}
            )
            assert changed.status_code == 200
            stale = service.http.get(f"/v1/images/{image_id}/variants/thumb_200")
            service.runtime.worker.pause()  # hold the new rendering back for a moment
            queued = service.http.post("/v1/profiles/thumb_200/backfill").json()
            assert queued["images_queued"] == 1
            # While it waits to be rendered again, the previous rendition is still served.
            waiting = service.http.get(f"/v1/images/{image_id}").json()["variants"][0]
            assert waiting["status"] == "pending"
            meanwhile = service.http.get(f"/v1/images/{image_id}/variants/thumb_200")
            assert (meanwhile.status_code, meanwhile.content) == (200, stale.content)
            service.runtime.worker.resume()
            deadline = time.monotonic() + 30
            while True:
                after = service.http.get(f"/v1/images/{image_id}").json()
                variant = after["variants"][0]
                if variant["status"] == "done" and variant["spec_hash"] != before["spec_hash"]:
                    break
                assert time.monotonic() < deadline, after
                time.sleep(0.05)
            purged = cdn.wait_for(1)
            # The old rendition is deleted after the commit that queues its purge.
            wait_until(functools.partial(holds_one_variant, service))
            new_objects = set(service.objects("variants/"))
    assert (variant["width"], variant["height"]) == (120, 120)
    assert (before["width"], before["height"]) == (200, 200)
    assert len(new_objects) == 1
    assert new_objects.isdisjoint(old_objects)  # the old rendition is gone from storage
    assert [(r.method, r.path) for r in purged] == [
        ("PURGE", f"/v1/images/{image_id}/variants/thumb_200")
    ]
