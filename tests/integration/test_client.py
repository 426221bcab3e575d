"""darkroom.client.Client against the live embedded service, over real HTTP."""

from __future__ import annotations

import io
import json
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import pyvips

from darkroom import errors
from darkroom.client import Client, VariantsFailed, WaitTimeout, verify_webhook
from darkroom.contract import BackfillOut, ImageOut, Status
from tests.corpus import CORPUS, read
from tests.integration.client_world import (
    JPEG,
    NOT_AN_IMAGE,
    OUTSIDE_CROP,
    PNG,
    SIGNING_KEY,
    TOO_MANY_PIXELS,
    WEBHOOK_SECRET,
    World,
    client_world,
)
from tests.integration.conftest import Service


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    with client_world(tmp_path_factory.mktemp("client")) as made:
        yield made


@pytest.fixture
def client(world: World) -> Iterator[Client]:
    with Client(world.url, api_key=world.admin_key, signing_key=SIGNING_KEY) as made:
        yield made


def owner() -> str:
    """An owner of one test's own: its images are listed apart from every other test's."""
    return f"o-{uuid.uuid4().hex[:12]}"


def size(data: bytes) -> tuple[int, int]:
    image = pyvips.Image.new_from_buffer(data, "")
    return image.width, image.height


# --- upload, in every form -------------------------------------------------------------


def test_upload_takes_bytes_a_path_a_file_and_a_url(client: Client, world: World) -> None:
    who = owner()
    uploads = [
        client.upload(read(PNG), profiles=["avatar"], analyses=[], owner=who),
        client.upload(CORPUS / PNG, profiles=["avatar"], analyses=[], owner=who),
        client.upload(str(CORPUS / PNG), profiles=["avatar"], analyses=[], owner=who),
        client.upload(io.BytesIO(read(PNG)), profiles="avatar", analyses=[], owner=who),
        client.upload(f"{world.origin}/{PNG}", profiles=["avatar"], analyses=[], owner=who),
    ]
    for accepted in uploads:
        assert isinstance(accepted, ImageOut)
        assert (accepted.owner_id, accepted.width, accepted.height) == (who, 100, 100)
        assert [v.profile for v in accepted.variants] == ["avatar"]
        done = client.wait(accepted.id, timeout=30)
        assert done.status == Status.DONE
        assert client.download(accepted.id).content == read(PNG)


def test_upload_options_reach_the_image_and_its_webhook_verifies(
    client: Client, world: World
) -> None:
    callback = f"{world.hooks.url}/darkroom"
    accepted = client.upload(
        read(PNG),
        profiles=["avatar", "thumb_200"],
        analyses=["colors"],
        owner="someone",
        callback_url=callback,
    )
    assert [v.profile for v in accepted.variants] == ["avatar", "thumb_200"]
    assert [a.name for a in accepted.analyses] == ["colors"]
    assert (accepted.owner_id, accepted.callback_url) == ("someone", callback)
    done = client.wait(accepted.id, timeout=30)
    delivery = next(r for r in world.hooks.wait_for(1) if accepted.id.encode() in r.body)
    signed_at = verify_webhook(
        WEBHOOK_SECRET, delivery.headers["Darkroom-Signature"], delivery.body
    )
    assert signed_at > 0
    # The webhook's data is the API's own model, field for field.
    assert ImageOut.model_validate(json.loads(delivery.body)["data"]) == done
    with pytest.raises(errors.Forbidden):
        verify_webhook("another-secret", delivery.headers["Darkroom-Signature"], delivery.body)
    nothing = client.upload(read(PNG), profiles=[], analyses=[])
    assert (nothing.variants, nothing.analyses, nothing.status) == ([], [], Status.DONE)


def test_an_idempotency_key_answers_the_first_upload_again(client: Client, world: World) -> None:
    key = f"order-{uuid.uuid4().hex}"
    first = client.upload(read(PNG), profiles=[], analyses=[], idempotency_key=key)
    again = client.upload(read(PNG), profiles=[], analyses=[], idempotency_key=key)
    by_url = client.upload(f"{world.origin}/{PNG}", profiles=[], idempotency_key=f"{key}-url")
    by_url_again = client.upload(f"{world.origin}/{PNG}", profiles=[], idempotency_key=f"{key}-url")
    assert first.id == again.id
    assert by_url.id == by_url_again.id != first.id


# --- reading, waiting, downloading ---------------------------------------------------


def test_wait_returns_the_done_image_with_every_variant(client: Client) -> None:
    accepted = client.upload(read(JPEG), profiles=["thumb_200", "webp_800"], analyses=[])
    done = client.wait(accepted.id, timeout=30)
    assert done.status == Status.DONE
    thumb, webp = done.variants
    assert (thumb.profile, thumb.status, thumb.format) == ("thumb_200", Status.DONE, "jpeg")
    assert (thumb.width, thumb.height) == (200, 200)
    assert (webp.format, webp.width) == ("webp", 800)
    assert client.get(accepted.id) == done


def test_wait_raises_with_the_reason_of_the_failed_variant(client: Client) -> None:
    client.put_profile("outside_crop", OUTSIDE_CROP)
    accepted = client.upload(read(PNG), profiles=["avatar", "outside_crop"], analyses=[])
    with pytest.raises(VariantsFailed) as caught:
        client.wait(accepted.id, timeout=30)
    failed = caught.value
    assert failed.image is not None
    assert failed.image.status == Status.FAILED
    assert list(failed.reasons) == ["outside_crop"]
    assert "crop" in failed.reasons["outside_crop"]
    assert "outside_crop" in str(failed)
    assert failed.details == failed.reasons
    assert isinstance(failed, errors.PermanentError)


def test_wait_times_out_while_the_image_is_at_work(client: Client, world: World) -> None:
    stall = world.stall_outputs()
    try:
        accepted = client.upload(read(PNG), profiles=["avatar"], analyses=[])
        with pytest.raises(WaitTimeout) as caught:
            client.wait(accepted.id, timeout=0.3)
        assert caught.value.image is not None
        assert caught.value.image.status in (Status.PENDING, Status.PROCESSING)
        assert accepted.id in caught.value.message
    finally:
        world.restore_outputs(stall)
    assert client.wait(accepted.id, timeout=30).status == Status.DONE


def test_download_reuses_what_it_holds_by_etag(client: Client, tmp_path: Path) -> None:
    image = client.wait(client.upload(read(JPEG), profiles=["thumb_200"], analyses=[]).id)
    first = client.download(image.id, "thumb_200")
    assert (first.not_modified, first.media_type) == (False, "image/jpeg")
    assert size(first.content) == (200, 200)
    assert first.etag is not None
    second = client.download(image.id, "thumb_200")  # answered 304: nothing sent again
    assert (second.not_modified, second.content, second.etag) == (True, first.content, first.etag)

    target = tmp_path / "thumb.jpg"
    client.download(image.id, "thumb_200", to=target)
    assert target.read_bytes() == first.content

    target.write_bytes(b"stale")  # a damaged copy is put right from the bytes held
    assert client.download(image.id, "thumb_200", to=target).not_modified is True
    assert target.read_bytes() == first.content

    # An original already on disk is recognised by its digest, even by a fresh client.
    original = tmp_path / "original.jpg"
    original.write_bytes(read(JPEG))
    with Client(client.config.base_url, api_key=client.config.api_key) as fresh:
        held = fresh.download(image.id, to=original)
        assert (held.not_modified, held.content) == (True, read(JPEG))
    original.write_bytes(b"stale")
    with Client(client.config.base_url, api_key=client.config.api_key) as fresh:
        replaced = fresh.download(image.id, to=original)
        assert (replaced.not_modified, replaced.media_type) == (False, "image/jpeg")
    assert original.read_bytes() == read(JPEG)


def test_download_of_an_unfinished_variant_is_not_found(client: Client, world: World) -> None:
    stall = world.stall_outputs()
    try:
        accepted = client.upload(read(PNG), profiles=["avatar"], analyses=[])
        with pytest.raises(errors.NotFound) as caught:
            client.download(accepted.id, "avatar")
        assert caught.value.status_code == 404
    finally:
        world.restore_outputs(stall)


def test_iter_images_follows_the_cursor_across_pages(client: Client) -> None:
    who = owner()
    ids = [client.upload(read(PNG), profiles=[], analyses=[], owner=who).id for _ in range(5)]
    page = client.list_images(owner=who, limit=2)
    assert len(page.items) == 2
    assert page.next_cursor is not None
    listed = [image.id for image in client.iter_images(owner=who, page_size=2)]
    assert listed == list(reversed(ids))  # newest first, each once
    assert [i.id for i in client.iter_images(owner=who, status="failed")] == []
    with_thumb = client.upload(read(PNG), profiles=["thumb_200"], analyses=[], owner=who).id
    assert [i.id for i in client.iter_images(owner=who, profile="thumb_200")] == [with_thumb]
    assert client.list_images(owner=who, profile="webp_800").items == []


def test_add_variants_and_analyses_to_an_existing_image(client: Client) -> None:
    image = client.upload(read(PNG), profiles=[], analyses=[])
    with_avatar = client.add_variants(image.id, ["avatar"])
    assert [v.profile for v in with_avatar.variants] == ["avatar"]
    with_colors = client.add_analyses(image.id, "colors")
    assert [a.name for a in with_colors.analyses] == ["colors"]
    done = client.wait(image.id, timeout=30)
    colors = client.analysis(image.id, "colors")
    assert colors.status == Status.DONE
    assert colors.result is not None
    assert done.analysis("colors") == colors
    assert done.variant("avatar") is not None


def test_delete_events_and_purge(client: Client, world: World) -> None:
    image = client.wait(client.upload(read(PNG), profiles=["avatar"], analyses=[]).id)
    purged = client.purge(image.id)
    assert (purged.image_id, purged.purges_queued > 0) == (image.id, True)
    kinds = {event.kind for event in client.events(image.id)}
    assert "cdn.purge" in kinds
    client.delete(image.id)
    with pytest.raises(errors.NotFound):
        client.get(image.id)


def test_render_url_is_signed_and_renders(client: Client) -> None:
    image = client.upload(read(JPEG), profiles=[], analyses=[])
    url = client.render_url(image.id, width=120, height=80, fit="cover", format="png")
    assert url.startswith(client.config.base_url + f"/v1/render/{image.id}?")
    rendered = httpx.get(url)
    assert rendered.status_code == 200, rendered.text
    assert (rendered.headers["content-type"], size(rendered.content)) == ("image/png", (120, 80))
    short = client.render_url(image.id, key=SIGNING_KEY, w=50, crop=(0, 0, 300, 200))
    assert size(httpx.get(short).content) == (50, 33)
    client.put_profile("tiny", {"width": 30})
    assert size(httpx.get(client.render_url(image.id, profile="tiny")).content)[0] == 30
    tampered = url.replace("w=120", "w=121")
    assert httpx.get(tampered).status_code == 403
    with Client(client.config.base_url) as keyless, pytest.raises(errors.InvalidRequest):
        keyless.render_url(image.id, width=10)


# --- profiles, dead letters, jobs, health ---------------------------------------------


def test_profiles_round_trip(client: Client) -> None:
    made = client.put_profile("client_card", {"width": 64, "height": 64, "fit": "cover"})
    assert (made.name, made.version, made.spec["width"]) == ("client_card", 1, 64)
    assert client.get_profile("client_card") == made
    assert "client_card" in [p.name for p in client.list_profiles()]
    changed = client.put_profile("client_card", {"width": 32})
    assert (changed.version, changed.spec_hash != made.spec_hash) == (2, True)
    client.delete_profile("client_card")
    with pytest.raises(errors.NotFound):
        client.get_profile("client_card")


def test_backfill_adds_a_profile_to_existing_images(service: Service) -> None:
    # A service of its own: a backfill queues work for every image there is.
    with Client(str(service.http.base_url)) as client:
        image = client.upload(read(PNG), profiles=[], analyses=[])
        client.put_profile("client_card", {"width": 32})
        assert client.backfill("client_card") == BackfillOut(profile="client_card", images_queued=1)
        variant = client.wait(image.id, timeout=30).variant("client_card")
        assert variant is not None
        assert (variant.status, variant.width) == (Status.DONE, 32)


def test_dead_letters_listed_and_replayed(client: Client) -> None:
    client.put_profile("outside_crop", OUTSIDE_CROP)
    image = client.upload(read(PNG), profiles=["outside_crop"], analyses=[])
    with pytest.raises(VariantsFailed):
        client.wait(image.id, timeout=30)
    letters = [d for d in client.list_dead_letters(limit=200).items if d.image_id == image.id]
    assert len(letters) == 1
    letter = letters[0]
    assert (letter.replayed_at, letter.payload["profile"]) == (None, "outside_crop")
    replayed = client.replay_dead_letter(letter.id)
    assert replayed.replayed_at is not None
    with pytest.raises(errors.Conflict) as caught:
        client.replay_dead_letter(letter.id)
    assert (caught.value.status_code, caught.value.code) == (409, "conflict")
    everything = client.list_dead_letters(include_replayed=True, limit=200).items
    assert letter.id in [d.id for d in everything]


def test_jobs_round_trip(client: Client) -> None:
    submitted = client.create_job(read(JPEG), operation="resize", width=64, height=48)
    assert submitted.status in ("pending", "processing", "completed")
    job = client.get_job(submitted.job_id)
    assert (job.operation, job.width, job.height) == ("resize", 64, 48)
    client.wait(submitted.job_id, timeout=30)
    assert client.get_job(submitted.job_id).status == "completed"
    assert size(client.download_job(submitted.job_id)) == (64, 48)
    by_path = client.create_job(CORPUS / PNG, operation="thumbnail", width=10)
    assert by_path.message == "Image processing job submitted"


def test_health_and_readiness(client: Client) -> None:
    assert client.health().status == "ok"
    ready = client.ready()
    assert ready.healthy
    assert set(ready.checks) == {"database", "storage", "broker"}


# --- error answers become the server's exception classes ------------------------------


def test_a_missing_image_is_not_found(client: Client) -> None:
    with pytest.raises(errors.NotFound) as caught:
        client.get("does-not-exist")
    exc = caught.value
    assert (type(exc), exc.status_code, exc.code) == (errors.NotFound, 404, "not_found")
    assert exc.message


def test_an_unknown_profile_is_refused(client: Client) -> None:
    with pytest.raises(errors.UnknownProfile) as caught:
        client.upload(read(PNG), profiles=["no_such_profile"])
    assert (caught.value.status_code, caught.value.code) == (422, "unknown_profile")
    assert "no_such_profile" in caught.value.message


def test_an_invalid_spec_carries_the_field_problems(client: Client) -> None:
    with pytest.raises(errors.InvalidSpec) as caught:
        client.put_profile("bad_spec", {"width": -5, "fit": "squash"})
    exc = caught.value
    assert (exc.status_code, exc.code) == (422, "invalid_spec")
    fields = {problem["field"] for problem in exc.details}
    assert {"width", "fit"} <= fields


def test_a_bad_key_is_unauthorized(world: World) -> None:
    with Client(world.url, api_key="dr_not-a-real-key") as stranger:
        with pytest.raises(errors.Unauthorized) as caught:
            stranger.list_images()
        assert (caught.value.status_code, caught.value.code) == (401, "unauthorized")
        with pytest.raises(errors.Unauthorized):
            stranger.upload(read(PNG))


def test_bad_files_are_too_large_or_unsupported(client: Client) -> None:
    with pytest.raises(errors.ImageTooLarge) as large:
        client.upload(CORPUS / TOO_MANY_PIXELS)
    assert isinstance(large.value, errors.TooManyPixels)
    assert (large.value.status_code, large.value.code) == (413, "too_many_pixels")
    with pytest.raises(errors.UnsupportedFormat) as unsupported:
        client.upload(CORPUS / NOT_AN_IMAGE)
    assert (unsupported.value.status_code, unsupported.value.code) == (415, "unsupported_format")


def test_a_code_of_the_server_only_keeps_its_code_under_the_status_class(world: World) -> None:
    # Fetch errors live beside the fetch code, which the client does not import.
    with (
        Client(world.url, api_key=world.admin_key) as client,
        pytest.raises(errors.PermanentError) as caught,
    ):
        client.upload("http://10.255.255.1/photo.jpg")
    exc = caught.value
    assert isinstance(exc, errors.Forbidden)
    assert (exc.status_code, exc.code) == (403, "fetch_forbidden")
    assert "10.255.255.1" in exc.message


def test_the_transport_is_injectable(world: World) -> None:
    seen: list[str] = []

    class Recording(httpx.HTTPTransport):
        def handle_request(self, request: httpx.Request) -> httpx.Response:
            seen.append(f"{request.method} {request.url.path}")
            return super().handle_request(request)

    with Client(world.url, api_key=world.admin_key, transport=Recording()) as client:
        client.health()
    assert seen == ["GET /health"]
