"""`AsyncClient`: the Darkroom API from asyncio code, on an `httpx.AsyncClient`."""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import AsyncIterator, Mapping
from pathlib import Path
from types import TracebackType
from typing import Any, Self, TypeVar

import httpx

from darkroom.client import _direct, _downloads, _requests
from darkroom.client._config import Config
from darkroom.client._downloads import Download
from darkroom.client._errors import WaitTimeout
from darkroom.client._polling import DEFAULT_TIMEOUT, delays, finished
from darkroom.client._render import Value, signed_render_url
from darkroom.client._requests import Call, Names, Source
from darkroom.contract import (
    AnalysisOut,
    BackfillOut,
    DeadLetterOut,
    DeadLetterPage,
    EventOut,
    HealthOut,
    ImageOut,
    ImagePage,
    JobOut,
    JobSubmitted,
    ProfileOut,
    PurgeOut,
    ReadyOut,
    Status,
)

T = TypeVar("T")


class AsyncClient:
    """An asyncio Darkroom API client: one pool; `await aclose()`, or `async with` it.

    Error answers raise the `darkroom.errors` class of their code (`NotFound`,
    `InvalidSpec`, `ImageTooLarge` ...) with the answer's status, code, message and details.
    """

    def __init__(
        self,
        base_url: str = "http://127.0.0.1:8080",
        *,
        api_key: str | None = None,
        signing_key: str | bytes | None = None,
        timeout: float = 30.0,
        transport: httpx.AsyncBaseTransport | None = None,
        headers: Mapping[str, str] | None = None,
        etag_cache_entries: int = _downloads.DEFAULT_CACHE_ENTRIES,
    ) -> None:
        self.config = Config(base_url, api_key, signing_key, headers)
        self.http = httpx.AsyncClient(
            base_url=self.config.base_url,
            headers=self.config.headers(),
            timeout=timeout,
            transport=transport,
        )
        self.etags = _downloads.EtagCache(etag_cache_entries)

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        kind: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Close the connection pool."""
        await self.http.aclose()

    async def _send(self, call: Call[T]) -> T:
        return call.finish(await self.http.send(call.request(self.http)))

    # --- images ---------------------------------------------------------------------

    async def upload(
        self,
        source: Source,
        *,
        profiles: Names = None,
        analyses: Names = None,
        owner: str | None = None,
        callback_url: str | None = None,
        idempotency_key: str | None = None,
    ) -> ImageOut:
        """Upload a path, bytes or binary file, or have the server fetch an http(s) URL.

        `profiles=None` makes every profile, `[]` none; `analyses=None` the deployment's
        defaults. A retry with the same `idempotency_key` answers the first image.
        """
        return await self._send(
            _requests.upload(
                source,
                profiles=profiles,
                analyses=analyses,
                owner=owner,
                callback_url=callback_url,
                idempotency_key=idempotency_key,
            )
        )

    async def upload_direct(
        self,
        path: str | os.PathLike[str],
        *,
        profiles: Names = None,
        analyses: Names = None,
        owner: str | None = None,
        callback_url: str | None = None,
        content_type: str | None = None,
    ) -> ImageOut:
        """Upload a file straight to the object store (S3 storage only), then have the API
        validate it and create the image; answers as `upload` does.

        The bytes never pass through the API: it signs a PUT for the file's name, type
        (guessed from the name unless given) and size, and checks the stored object after.
        With local storage the API refuses (`Conflict`): use `upload`.
        """
        signed = await self._send(
            _direct.start(
                path,
                content_type=content_type,
                profiles=profiles,
                analyses=analyses,
                owner=owner,
                callback_url=callback_url,
            )
        )
        body = Path(path).read_bytes()
        async with httpx.AsyncClient(timeout=self.http.timeout) as store:
            _direct.stored(await store.send(_direct.store_request(store, signed, body)))
        return await self._send(_direct.complete(signed))

    async def get(self, image_id: str) -> ImageOut:
        """The image's status, metadata, variants and analyses."""
        return await self._send(_requests.get_image(image_id))

    async def wait(
        self, image_id: str, timeout: float = DEFAULT_TIMEOUT, *, max_interval: float = 2.0
    ) -> ImageOut:
        """Poll, backing off up to `max_interval` s, until the image is done.

        Raises `VariantsFailed` (its `reasons` by profile) if it ends failed, and
        `WaitTimeout` if it is still at work after `timeout` seconds.
        """
        deadline = time.monotonic() + timeout
        for delay in delays(cap=max_interval):
            image = await self.get(image_id)
            if finished(image):
                return image
            left = deadline - time.monotonic()
            if left <= 0:
                raise WaitTimeout(
                    f"Image {image_id} is still {image.status} after {timeout:g} s.", image=image
                )
            await asyncio.sleep(min(delay, left))
        raise AssertionError("delays() never ends")

    async def list_images(
        self,
        *,
        owner: str | None = None,
        status: Status | str | None = None,
        profile: str | None = None,
        limit: int = 50,
        cursor: str | None = None,
    ) -> ImagePage:
        """One page of images, newest first (with `profile`: those with its variant); pass
        its `next_cursor` for the next."""
        call = _requests.list_images(
            owner=owner, status=status, profile=profile, limit=limit, cursor=cursor
        )
        return await self._send(call)

    async def iter_images(
        self,
        *,
        owner: str | None = None,
        status: Status | str | None = None,
        profile: str | None = None,
        page_size: int = 50,
    ) -> AsyncIterator[ImageOut]:
        """Every image, newest first, following the cursors page by page."""
        cursor = None
        while True:
            page = await self.list_images(
                owner=owner, status=status, profile=profile, limit=page_size, cursor=cursor
            )
            for image in page.items:
                yield image
            if page.next_cursor is None:
                return
            cursor = page.next_cursor

    async def add_variants(self, image_id: str, profiles: Names) -> ImageOut:
        """Queue more profiles for an existing image."""
        return await self._send(_requests.add_variants(image_id, profiles))

    async def add_analyses(self, image_id: str, analyses: Names) -> ImageOut:
        """Queue analyses of an existing image (failed ones run again)."""
        return await self._send(_requests.add_analyses(image_id, analyses))

    async def analysis(self, image_id: str, name: str) -> AnalysisOut:
        """One analysis of an image: its status, and once done its result."""
        return await self._send(_requests.get_analysis(image_id, name))

    async def download(
        self,
        image_id: str,
        profile: str | None = None,
        to: str | os.PathLike[str] | None = None,
    ) -> Download:
        """A variant's bytes (the original's without `profile`), written to `to` if given.

        Bytes already held (from an earlier download, or for an original the file at `to`)
        are asked for with If-None-Match; a 304 answers with them, nothing downloaded.
        """
        path = _requests.download_path(image_id, profile)
        planned = _downloads.plan(self.etags, path, original=profile is None, to=to)
        response = await self.http.get(path, headers=planned.headers, follow_redirects=True)
        return _downloads.finish(self.etags, planned, response)

    async def events(self, image_id: str) -> list[EventOut]:
        """The image's webhook and CDN purge events, oldest first."""
        return list((await self._send(_requests.events(image_id))).items)

    async def purge(self, image_id: str) -> PurgeOut:
        """Ask the CDN to drop every URL of the image."""
        return await self._send(_requests.purge(image_id))

    async def delete(self, image_id: str) -> None:
        """Delete the image, its variants and (when unshared) its original."""
        await self._send(_requests.delete_image(image_id))

    def render_url(
        self,
        image_id: str,
        *,
        key: str | bytes | None = None,
        profile: str | None = None,
        **spec: Value,
    ) -> str:
        """A signed on-demand render URL: `render_url(id, width=300, format="webp")`.

        `spec` takes the spec's field names or the query's short ones (`w=300`); `key` is
        the server's first DARKROOM_SIGNING_KEYS (default: the client's `signing_key`).
        """
        signing_key = self.config.signing_key_or(key)
        return signed_render_url(self.config.base_url, image_id, signing_key, profile, spec)

    # --- profiles ---------------------------------------------------------------------

    async def list_profiles(self) -> list[ProfileOut]:
        """Every profile, by name."""
        return list((await self._send(_requests.list_profiles())).items)

    async def get_profile(self, name: str) -> ProfileOut:
        """One profile."""
        return await self._send(_requests.get_profile(name))

    async def put_profile(self, name: str, spec: Mapping[str, Any]) -> ProfileOut:
        """Create or replace a profile (admin key)."""
        return await self._send(_requests.put_profile(name, spec))

    async def delete_profile(self, name: str) -> None:
        """Delete a profile (admin key); existing variants keep their spec."""
        await self._send(_requests.delete_profile(name))

    async def backfill(self, name: str) -> BackfillOut:
        """Bring every image up to the profile's spec (admin key)."""
        return await self._send(_requests.backfill(name))

    # --- dead letters, jobs, health ---------------------------------------------------

    async def list_dead_letters(
        self, *, include_replayed: bool = False, limit: int = 50, cursor: str | None = None
    ) -> DeadLetterPage:
        """One page of dead letters, newest first (admin key)."""
        call = _requests.list_dead_letters(
            include_replayed=include_replayed, limit=limit, cursor=cursor
        )
        return await self._send(call)

    async def replay_dead_letter(self, letter_id: str) -> DeadLetterOut:
        """Requeue a dead letter's work with a fresh retry budget (admin key)."""
        return await self._send(_requests.replay_dead_letter(letter_id))

    async def create_job(
        self,
        image: bytes | str | os.PathLike[str],
        *,
        operation: str,
        width: int | None = None,
        height: int | None = None,
        output_format: str | None = None,
    ) -> JobSubmitted:
        """Submit a `/jobs` job: operation `resize` or `thumbnail`."""
        call = _requests.create_job(
            image, operation=operation, width=width, height=height, output_format=output_format
        )
        return await self._send(call)

    async def get_job(self, job_id: str) -> JobOut:
        """A job's status and paths."""
        return await self._send(_requests.get_job(job_id))

    async def download_job(self, job_id: str) -> bytes:
        """A completed job's image."""
        return await self._send(_requests.download_job(job_id))

    async def health(self) -> HealthOut:
        """Whether the server answers at all."""
        return await self._send(_requests.health())

    async def ready(self) -> ReadyOut:
        """Whether its database, storage and broker answer (`.healthy`)."""
        return await self._send(_requests.ready())
