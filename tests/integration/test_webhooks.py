"""Webhooks over real HTTP: signed, retried after a failure, and refused for bad targets."""

from __future__ import annotations

import functools
import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from darkroom import errors
from darkroom.client import verify_webhook
from darkroom.service import outbox
from tests.corpus import read
from tests.integration.conftest import Service, start_service, wait_until
from tests.receiver import receiving

SECRET = "webhook-secret-for-tests-0123"


@pytest.fixture
def hooked(tmp_path: Path) -> Iterator[Service]:
    yield from start_service(
        tmp_path,
        webhook_secret=SECRET,
        webhook_allow_hosts="127.0.0.1",
        outbox_interval_seconds=0.05,
    )()


def test_completion_is_delivered_signed_and_retried_after_a_500(hooked: Service) -> None:
    with receiving(answers=[500]) as receiver:
        upload = hooked.upload(
            read("jpeg-progressive.jpg"), profiles="thumb_200", callback_url=receiver.url + "/hook"
        ).json()
        final = hooked.wait(upload["id"])
        first, second = receiver.wait_for(2)
    for request in (first, second):
        assert (request.method, request.path) == ("POST", "/hook")
        verify_webhook(SECRET, request.headers["Darkroom-Signature"], request.body)
        assert request.headers["Content-Type"] == "application/json"
    assert first.body == second.body  # the same event, sent again
    delivery = json.loads(second.body)
    assert delivery["type"] == "image.done"
    assert delivery["id"] == second.headers["Darkroom-Delivery"]
    # `data` is the image exactly as the API shows it.
    assert delivery["data"] == hooked.http.get(f"/v1/images/{upload['id']}").json() == final
    with pytest.raises(errors.Forbidden):
        verify_webhook(SECRET, second.headers["Darkroom-Signature"], second.body + b" ")
    # The receiver records a request before answering it; the sender records the answer.
    events = functools.partial(outbox.events_of_image, hooked.runtime.ctx, upload["id"])
    wait_until(lambda: events()[0].delivered_at is not None)
    (event,) = events()
    assert (event.attempts, event.last_status, event.delivered_at is not None) == (2, 200, True)
    assert event.next_attempt_at is None


def test_a_failed_image_is_announced_as_failed(hooked: Service) -> None:
    with receiving() as receiver:
        upload = hooked.upload(
            read("jpeg-progressive.jpg"), profiles="thumb_200", callback_url=receiver.url
        ).json()
        hooked.wait(upload["id"])
        original = hooked.objects("originals/")[0]
        hooked.runtime.ctx.originals.delete(original)
        hooked.http.post(f"/v1/images/{upload['id']}/variants", json={"profiles": ["avatar"]})
        assert hooked.wait(upload["id"])["status"] == "failed"
        kinds = [json.loads(r.body)["type"] for r in receiver.wait_for(2)]
    assert kinds == ["image.done", "image.failed"]


@pytest.mark.parametrize(
    ("callback_url", "says"),
    [
        ("not a url", "whitespace"),
        ("hooks.example.com/x", "not absolute"),
        ("ftp://hooks.example.com/x", "scheme 'ftp' is not supported"),
        ("http://10.1.2.3/hook", "private"),
        ("http://127.0.0.2:9/hook", "DARKROOM_WEBHOOK_ALLOW_HOSTS"),
        ("http://169.254.169.254/latest", "never fetched"),
    ],
)
def test_callback_urls_that_could_never_receive_are_refused_at_upload(
    service: Service, callback_url: str, says: str
) -> None:
    answer = service.upload(read("jpeg-progressive.jpg"), callback_url=callback_url)
    assert answer.status_code == 422, answer.text
    error = answer.json()["error"]
    assert error["code"] == "invalid_callback_url"
    assert says in error["message"]
    assert service.objects() == []  # nothing stored for a refused upload
