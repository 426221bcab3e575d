"""Reading request bodies within the upload limit, whatever their encoding."""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import AsyncGenerator, AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from starlette.datastructures import FormData, UploadFile
from starlette.formparsers import MultiPartException, MultiPartParser
from starlette.requests import Request

from darkroom.errors import ImageTooLarge, InvalidRequest

JSON_OVERHEAD = 64 * 1024
"""Room for the JSON fields around a base64 image."""


FORM_OVERHEAD = 64 * 1024
"""Room for the multipart headers and text fields around a file."""


def json_limit(max_bytes: int) -> int:
    """Largest JSON body that can carry a `max_bytes` image as base64."""
    return max_bytes * 4 // 3 + JSON_OVERHEAD


async def read_json(request: Request, max_bytes: int) -> dict[str, Any]:
    """The JSON object in the body, refusing bodies over `max_bytes` while they stream in."""
    raw = await _read_body(request, max_bytes, max_bytes)
    try:
        body = json.loads(raw or b"null")
    except ValueError as exc:
        raise InvalidRequest(f"The body is not valid JSON: {exc}") from None
    if not isinstance(body, dict):
        raise InvalidRequest("The JSON body must be an object.")
    return body


@asynccontextmanager
async def read_form(
    request: Request, *, max_bytes: int, max_fields: int
) -> AsyncIterator[FormData]:
    """A multipart form of one file and text fields, its file held in memory up to
    `max_bytes`; closed on exit.

    The body is read whole (refused as soon as it passes the limit), then parsed in one
    pass: fed the socket's chunks one by one, the parser and its file object ran their
    Python per chunk, ~40 times for a photo of a few MB. Starlette would also spool a file
    over 1 MiB to a temporary file on disk and move every 64 KiB chunk of it through a
    thread, both ways. The file is read whole right after anyway.
    """
    whole = [await _read_body(request, max_bytes + FORM_OVERHEAD, max_bytes)]

    async def in_one_chunk() -> AsyncGenerator[bytes, None]:
        yield whole.pop()  # the parser's copy is then the only one

    parser = MultiPartParser(request.headers, in_one_chunk(), max_files=1, max_fields=max_fields)
    parser.spool_max_size = max_bytes + 1  # one byte over: too large, refused by read_upload
    try:
        form = await parser.parse()
    except MultiPartException as exc:
        raise InvalidRequest(f"The multipart body cannot be read: {exc.message}") from None
    try:
        yield form
    finally:
        await form.close()


async def _read_body(request: Request, max_bytes: int, limit: int) -> bytes:
    """The whole body, refused (saying `limit`) once it passes `max_bytes`."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > max_bytes:
        raise _too_large(int(declared), limit)
    chunks, total = [], 0
    async for chunk in request.stream():
        total += len(chunk)
        if total > max_bytes:
            raise _too_large(total, limit)
        chunks.append(chunk)
    return b"".join(chunks)


async def read_upload(upload: UploadFile, max_bytes: int) -> bytes:
    """An uploaded file's bytes, refusing more than `max_bytes`."""
    data = await upload.read(max_bytes + 1)
    if len(data) > max_bytes:
        raise _too_large(len(data), max_bytes, exact=False)
    return data


def decode_base64(value: Any, field: str, max_bytes: int) -> bytes:
    """Base64 (standard or URL-safe, padding optional, data: URLs accepted) to bytes."""
    if not isinstance(value, str) or not value:
        raise InvalidRequest(f"'{field}' must be a base64 string.")
    text = value.split(",", 1)[1] if value.startswith("data:") else value
    text = "".join(text.split())
    if len(text) * 3 // 4 > max_bytes + 3:
        raise _too_large(len(text) * 3 // 4, max_bytes, exact=False)
    text = text.replace("-", "+").replace("_", "/")
    try:
        return base64.b64decode(text + "=" * (-len(text) % 4), validate=True)
    except (binascii.Error, ValueError):
        raise InvalidRequest(f"'{field}' is not valid base64.") from None


def _too_large(size: int, limit: int, *, exact: bool = True) -> ImageTooLarge:
    amount = f"{size:,} bytes" if exact else f"more than {limit:,} bytes"
    return ImageTooLarge(
        f"The request body is {amount}; the limit is {limit:,} bytes.",
        details={"max_bytes": limit},
    )
