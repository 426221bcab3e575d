"""Failure handling in the embedded service: transient retries, dead letters and replay."""

from __future__ import annotations

from typing import Any

from darkroom.errors import StorageUnavailable
from darkroom.storage import ObjectStore
from tests.corpus import read
from tests.integration.conftest import Service


class FlakyStore:
    """Delegates to a real store, but its first `failures` puts fail like a storage outage.

    A fault injector: a storage error at exactly the moment a variant is written cannot be
    produced reliably otherwise.
    """

    def __init__(self, inner: ObjectStore, failures: int) -> None:
        self.inner = inner
        self.failures = failures

    def put(self, key: str, data: bytes, content_type: str | None = None) -> None:
        if self.failures > 0:
            self.failures -= 1
            raise StorageUnavailable("object storage timed out (injected)")
        self.inner.put(key, data, content_type)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)


def test_transient_storage_failure_is_retried(service: Service) -> None:
    service.runtime.ctx.outputs = FlakyStore(service.runtime.ctx.outputs, failures=1)
    image = service.upload(read("webp-lossy.webp"), profiles="avatar").json()
    final = service.wait(image["id"], timeout=30)
    variant = final["variants"][0]
    assert (final["status"], variant["status"], variant["attempts"]) == ("done", "done", 2)
    assert variant["error"] is None
    assert service.http.get("/v1/dead-letters").json()["items"] == []


def test_dead_letter_listed_and_replayed_once_the_cause_is_fixed(service: Service) -> None:
    data = read("jpeg-progressive.jpg")
    image = service.upload(data, profiles="thumb_200").json()
    service.wait(image["id"])
    original = service.objects("originals/")[0]
    service.runtime.ctx.originals.delete(original)  # the original goes missing ...
    add = service.http.post(f"/v1/images/{image['id']}/variants", json={"profiles": ["avatar"]})
    assert add.status_code == 202
    failed = service.wait(image["id"])
    assert failed["status"] == "failed"
    letters = service.http.get("/v1/dead-letters").json()["items"]
    assert len(letters) == 1
    letter = letters[0]
    assert (letter["error_code"], letter["attempts"], letter["replayed_at"]) == (
        "not_found",
        1,
        None,
    )
    assert letter["payload"]["profile"] == "avatar"

    service.runtime.ctx.originals.put(original, data)  # ... and is restored
    replayed = service.http.post(f"/v1/dead-letters/{letter['id']}/replay")
    assert replayed.status_code == 202
    assert replayed.json()["replayed_at"] is not None
    final = service.wait(image["id"])
    assert final["status"] == "done"
    assert {v["profile"]: v["attempts"] for v in final["variants"]} == {"avatar": 1, "thumb_200": 1}
    again = service.http.post(f"/v1/dead-letters/{letter['id']}/replay")
    assert again.status_code == 409
    assert service.http.get("/v1/dead-letters").json()["items"] == []
    everything = service.http.get("/v1/dead-letters", params={"include_replayed": True}).json()
    assert [d["id"] for d in everything["items"]] == [letter["id"]]


def test_backfill_adds_a_new_profile_to_existing_images(service: Service) -> None:
    ids = [
        service.upload(read(name), profiles="thumb_200").json()["id"]
        for name in ("webp-lossy.webp", "gif-static.gif")
    ]
    for image_id in ids:
        service.wait(image_id)
    assert (
        service.http.put("/v1/profiles/mini", json={"width": 32, "format": "png"}).status_code
        == 200
    )
    response = service.http.post("/v1/profiles/mini/backfill")
    assert response.status_code == 202
    assert response.json() == {"profile": "mini", "images_queued": 2}
    for image_id in ids:
        final = service.wait(image_id)
        mini = next(v for v in final["variants"] if v["profile"] == "mini")
        assert (mini["status"], mini["width"], mini["format"]) == ("done", 32, "png")
    assert service.http.post("/v1/profiles/mini/backfill").json()["images_queued"] == 0
    assert service.http.post("/v1/profiles/nope/backfill").status_code == 422


def test_replay_of_unknown_letter_is_404(service: Service) -> None:
    response = service.http.post("/v1/dead-letters/nope/replay")
    assert response.status_code == 404
    assert response.json()["error"]["message"] == "Dead letter nope not found."
