"""darkroom.client.AsyncClient against the live embedded service, over real HTTP.

The requests are the sync client's (`client/_requests.py`); these tests prove the async
sending, waiting, downloading and paging around them, method by method.
"""

from __future__ import annotations

import asyncio
import io
import uuid
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path

import httpx
import pytest
import pyvips

from darkroom import errors
from darkroom.client import AsyncClient, Source, VariantsFailed, WaitTimeout
from darkroom.contract import ImageOut, Status
from tests.corpus import CORPUS, read
from tests.integration.client_world import (
    JPEG,
    NOT_AN_IMAGE,
    OUTSIDE_CROP,
    PNG,
    SIGNING_KEY,
    TOO_MANY_PIXELS,
    World,
    client_world,
)

Scenario = Callable[[AsyncClient], Awaitable[None]]


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    with client_world(tmp_path_factory.mktemp("client-async")) as made:
        yield made


@pytest.fixture
def run(world: World) -> Callable[[Scenario], None]:
    """Run a scenario with an admin AsyncClient in a fresh event loop."""

    def go(scenario: Scenario) -> None:
        async def main() -> None:
            async with AsyncClient(
                world.url, api_key=world.admin_key, signing_key=SIGNING_KEY
            ) as client:
                await scenario(client)

        asyncio.run(main())

    return go


def size(data: bytes) -> tuple[int, int]:
    image = pyvips.Image.new_from_buffer(data, "")
    return image.width, image.height


def test_upload_every_form_then_wait_and_download(
    run: Callable[[Scenario], None], world: World
) -> None:
    async def scenario(client: AsyncClient) -> None:
        sources: list[Source] = [
            read(PNG),
            CORPUS / PNG,
            io.BytesIO(read(PNG)),
            f"{world.origin}/{PNG}",
        ]
        accepted = await asyncio.gather(
            *(client.upload(s, profiles=["avatar"], analyses=[]) for s in sources)
        )
        for image in accepted:
            assert isinstance(image, ImageOut)
            done = await client.wait(image.id, timeout=30)
            assert done.status == Status.DONE
            assert done == await client.get(image.id)
            avatar = await client.download(image.id, "avatar")
            assert size(avatar.content) == (100, 100)  # avatar never enlarges
        key = f"async-{uuid.uuid4().hex}"
        first = await client.upload(read(PNG), profiles=[], idempotency_key=key)
        again = await client.upload(read(PNG), profiles=[], idempotency_key=key)
        assert first.id == again.id

    run(scenario)


def test_wait_raises_on_a_failed_variant_and_on_timeout(
    run: Callable[[Scenario], None], world: World
) -> None:
    async def scenario(client: AsyncClient) -> None:
        await client.put_profile("outside_crop", OUTSIDE_CROP)
        doomed = await client.upload(read(PNG), profiles=["outside_crop"], analyses=[])
        with pytest.raises(VariantsFailed) as failed:
            await client.wait(doomed.id, timeout=30)
        assert list(failed.value.reasons) == ["outside_crop"]

        letters = (await client.list_dead_letters(limit=200)).items
        letter = next(d for d in letters if d.image_id == doomed.id)
        assert (await client.replay_dead_letter(letter.id)).replayed_at is not None
        with pytest.raises(errors.Conflict):
            await client.replay_dead_letter(letter.id)

        stall = world.stall_outputs()
        try:
            slow = await client.upload(read(PNG), profiles=["avatar"], analyses=[])
            with pytest.raises(WaitTimeout):
                await client.wait(slow.id, timeout=0.3)
        finally:
            world.restore_outputs(stall)
        assert (await client.wait(slow.id, timeout=30)).status == Status.DONE

    run(scenario)


def test_download_answers_304_with_the_same_bytes(
    run: Callable[[Scenario], None], tmp_path: Path
) -> None:
    async def scenario(client: AsyncClient) -> None:
        image = await client.upload(read(JPEG), profiles=["thumb_200"], analyses=[])
        await client.wait(image.id, timeout=30)
        first = await client.download(image.id, "thumb_200", to=tmp_path / "thumb.jpg")
        second = await client.download(image.id, "thumb_200")
        assert (first.not_modified, second.not_modified) == (False, True)
        assert second.content == first.content == (tmp_path / "thumb.jpg").read_bytes()
        original = await client.download(image.id)
        assert original.content == read(JPEG)

    run(scenario)


def test_pages_profiles_analyses_events_and_delete(run: Callable[[Scenario], None]) -> None:
    async def scenario(client: AsyncClient) -> None:
        who = f"o-{uuid.uuid4().hex[:12]}"
        ids = [
            (await client.upload(read(PNG), profiles=[], analyses=[], owner=who)).id
            for _ in range(5)
        ]
        page = await client.list_images(owner=who, limit=2)
        assert (len(page.items), page.next_cursor is not None) == (2, True)
        listed = [image.id async for image in client.iter_images(owner=who, page_size=2)]
        assert listed == list(reversed(ids))

        made = await client.put_profile("async_card", {"width": 24})
        assert await client.get_profile("async_card") == made
        assert "async_card" in [p.name for p in await client.list_profiles()]
        assert (await client.add_variants(ids[0], ["async_card"])).variant("async_card")
        assert (await client.add_analyses(ids[0], ["colors"])).analysis("colors")
        done = await client.wait(ids[0], timeout=30)
        assert done.status == Status.DONE
        colors = await client.analysis(ids[0], "colors")
        assert (colors.status, colors.result is not None) == (Status.DONE, True)
        await client.delete_profile("async_card")

        assert (await client.purge(ids[0])).purges_queued > 0
        assert "cdn.purge" in {e.kind for e in await client.events(ids[0])}
        await client.delete(ids[0])
        with pytest.raises(errors.NotFound) as gone:
            await client.get(ids[0])
        assert (gone.value.status_code, gone.value.code) == (404, "not_found")

    run(scenario)


def test_jobs_render_urls_and_health(run: Callable[[Scenario], None]) -> None:
    async def scenario(client: AsyncClient) -> None:
        submitted = await client.create_job(read(JPEG), operation="thumbnail", width=40)
        await client.wait(submitted.job_id, timeout=30)
        job = await client.get_job(submitted.job_id)
        assert (job.status, job.operation) == ("completed", "thumbnail")
        assert size(await client.download_job(submitted.job_id))[0] == 40

        image = await client.upload(read(JPEG), profiles=[], analyses=[])
        async with httpx.AsyncClient() as http:
            rendered = await http.get(client.render_url(image.id, width=64, format="webp"))
        assert (rendered.headers["content-type"], size(rendered.content)[0]) == ("image/webp", 64)

        assert (await client.health()).status == "ok"
        assert (await client.ready()).healthy

    run(scenario)


def test_error_answers_become_exceptions(run: Callable[[Scenario], None], world: World) -> None:
    async def scenario(client: AsyncClient) -> None:
        with pytest.raises(errors.UnknownProfile):
            await client.upload(read(PNG), profiles=["no_such_profile"])
        with pytest.raises(errors.InvalidSpec) as invalid:
            await client.put_profile("bad_spec", {"width": 0})
        assert invalid.value.details[0]["field"] == "width"
        with pytest.raises(errors.TooManyPixels) as large:
            await client.upload(CORPUS / TOO_MANY_PIXELS)
        assert large.value.status_code == 413
        with pytest.raises(errors.UnsupportedFormat) as unsupported:
            await client.upload(CORPUS / NOT_AN_IMAGE)
        assert unsupported.value.status_code == 415
        async with AsyncClient(world.url, api_key="dr_not-a-real-key") as stranger:
            with pytest.raises(errors.Unauthorized) as refused:
                await stranger.get("anything")
        assert (refused.value.status_code, refused.value.code) == (401, "unauthorized")

    run(scenario)
