"""Grants on a real S3 server (moto): what a transform message's presigned URLs reach, and
what a worker working from them does with an expired grant, a retry and a bad original."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import dramatiq
import pytest

from darkroom.db.engine import transaction
from darkroom.db.repo import variants as variant_rows
from darkroom.errors import ImageTooLarge
from darkroom.runtime.wiring import Wired, wire
from darkroom.service import dead_letters, grants, images, variants
from darkroom.service.images import Upload
from darkroom.settings import load_settings
from darkroom.storage import UnsupportedStorage
from darkroom.storage.presigned import PresignedStore
from tests.corpus import read
from tests.integration.conftest import FAST_RETRIES
from tests.s3_server import REGION, S3Server

pytestmark = pytest.mark.slow  # an S3 server


@pytest.fixture
def wired(tmp_path: Path, s3_server: S3Server, s3_bucket: str) -> Iterator[Wired]:
    """A presigning deployment on S3, with its in-process broker (no worker consuming)."""
    settings = load_settings(
        database_url=f"sqlite:///{tmp_path / 'db.sqlite'}",
        storage_url=f"s3://{s3_bucket}/prod",
        s3_endpoint_url=s3_server.endpoint,
        s3_region=REGION,
        worker_presigned=True,
    )
    running = wire(settings, retry=FAST_RETRIES)
    try:
        yield running
    finally:
        running.close()


def variant_ids(wired: Wired, data: bytes, profiles: list[str]) -> list[str]:
    accepted = images.upload(wired.ctx, data, Upload(profiles, []))
    return [v.id for v in accepted.image.variants]


def test_a_grant_reaches_the_original_and_the_outputs_and_nothing_else(wired: Wired) -> None:
    ctx = wired.ctx
    data = read("jpeg-progressive.jpg")
    first, *_ = variant_ids(wired, data, ["thumb_200", "webp_800"])
    grant = grants.for_variant(ctx, first)
    image = images.get(ctx, _image_of(wired, first))
    urls = grant["urls"]
    assert urls[image.original_key] == {"GET": urls[image.original_key]["GET"]}
    outputs = sorted(k for k in urls if k.startswith("variants/"))
    # Deterministic keys, known before the render: a JPEG and a WebP.
    assert [k.rsplit(".", 1)[1] for k in outputs] == ["jpg", "webp"]
    assert all(set(urls[k]) == {"HEAD", "PUT", "DELETE"} for k in outputs)
    assert grant["expires_at"] > time.time() + 6 * 3600

    bound = grants.bound(ctx, grant)
    assert bound is not None
    assert isinstance(bound.originals, PresignedStore)
    assert bound.originals.get(image.original_key) == data
    assert not bound.outputs.exists(outputs[0])
    bound.outputs.put(outputs[0], b"bytes", "image/jpeg")
    assert bound.outputs.exists(outputs[0])
    assert ctx.outputs.get(outputs[0]) == b"bytes"
    bound.outputs.delete(outputs[0])
    assert not ctx.outputs.exists(outputs[0])
    with pytest.raises(UnsupportedStorage, match="grants no presigned PUT"):
        bound.outputs.put("originals/aa/bb/other.jpg", b"x")
    with pytest.raises(UnsupportedStorage, match="grants no presigned GET"):
        bound.originals.get("variants/other/thumb_200-0123abcd.jpg")
    small = PresignedStore(urls, max_bytes=1000, client=grants._http())
    with pytest.raises(ImageTooLarge):
        small.get(image.original_key)


def test_a_granted_render_writes_its_deterministic_key(wired: Wired) -> None:
    ctx = wired.ctx
    first, second = variant_ids(wired, read("png-rgba-transparency.png"), ["avatar", "thumb_200"])
    bound = grants.bound(ctx, grants.for_variant(ctx, first))
    assert bound is not None
    outcome = variants.process(bound, first)
    assert outcome.status is not None
    assert outcome.status.value == "done"
    image = images.get(ctx, _image_of(wired, first))
    assert {v.status.value for v in image.variants} == {"done"}  # both, from one message
    for variant in image.variants:
        assert variant.output_key is not None
        assert variant.output_key in grants.for_variant(ctx, second)["urls"]
        assert ctx.outputs.exists(variant.output_key)


def test_an_expired_grant_leaves_the_work_for_the_reconciler(wired: Wired) -> None:
    ctx = wired.ctx
    first, *_ = variant_ids(wired, read("jpeg-progressive.jpg"), ["avatar"])
    grant = grants.for_variant(ctx, first) | {"expires_at": time.time() + 5}
    assert grants.bound(ctx, grant) is None


def test_a_retry_carries_the_same_grant_and_a_bad_original_is_dead_lettered(
    wired: Wired, s3_server: S3Server, s3_bucket: str
) -> None:
    ctx = wired.ctx
    first, *_ = variant_ids(wired, read("jpeg-progressive.jpg"), ["avatar"])
    grant = grants.for_variant(ctx, first)
    bound = grants.bound(ctx, grant)
    assert bound is not None
    bound.tasks().transform(first, delay=30)
    queue = wired.broker.queues[f"{wired.queue.queue_names['transform']}.DQ"]
    sent = [dramatiq.Message.decode(encoded).args for encoded in list(queue.queue)]
    assert [args[1] for args in sent if args[0] == first] == [grant]
    # The original replaced by garbage: failed for good, with a dead letter, as today.
    key = images.get(ctx, _image_of(wired, first)).original_key
    s3_server.admin.put_object(Bucket=s3_bucket, Key=f"prod/{key}", Body=b"garbage" * 100)
    outcome = variants.process(bound, first)
    assert outcome.status is not None
    assert outcome.status.value == "failed"
    letters = dead_letters.list_page(ctx, include_replayed=False, limit=10, cursor=None).items
    assert [(d.variant_id, d.kind) for d in letters] == [(first, "transform")]


def _image_of(wired: Wired, variant_id: str) -> str:
    with transaction(wired.ctx.sessions) as session:
        return variant_rows.image_id_of_variant(session, variant_id)
