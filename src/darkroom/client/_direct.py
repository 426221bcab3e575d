"""Direct uploads: the client sends the bytes to the object store itself (S3 storage).

Three steps: the API signs a PUT for the file's name, type and size; the file goes to the
store with exactly the signed headers and no API key; the API then validates what was
stored and creates the image, as `POST /v1/images` would.
"""

from __future__ import annotations

import mimetypes
import os
from pathlib import Path

import httpx

from darkroom.client._errors import error_from_response
from darkroom.client._requests import Call, Names, _list, _model
from darkroom.contract import ImageOut
from darkroom.contract.uploads import DirectUploadOut

UNKNOWN_TYPE = "application/octet-stream"
"""Sent when the type cannot be guessed from the name: the API then refuses it (415),
naming the types it takes."""


def start(
    path: str | os.PathLike[str],
    *,
    content_type: str | None,
    profiles: Names,
    analyses: Names,
    owner: str | None,
    callback_url: str | None,
) -> Call[DirectUploadOut]:
    """POST /v1/uploads for the file at `path`: its name, type and size."""
    file = Path(path)
    given = {
        "filename": file.name,
        "content_type": content_type or mimetypes.guess_type(file.name)[0] or UNKNOWN_TYPE,
        "bytes": file.stat().st_size,
        "profiles": _list(profiles),
        "analyses": _list(analyses),
        "owner_id": owner,
        "callback_url": callback_url,
    }
    body = {k: v for k, v in given.items() if v is not None}
    return Call("POST", "/v1/uploads", _model(DirectUploadOut), json=body, ok=(201,))


def store_request(
    store: httpx.Client | httpx.AsyncClient, signed: DirectUploadOut, body: bytes
) -> httpx.Request:
    """The store's request: the signed method, URL and headers, and the file; no API key."""
    return store.build_request(signed.method, signed.url, headers=signed.headers, content=body)


def stored(response: httpx.Response) -> None:
    """Raise the error the store's answer stands for, unless it took the file."""
    if not response.is_success:
        raise error_from_response(response)


def complete(signed: DirectUploadOut) -> Call[ImageOut]:
    """POST the upload's `complete_url`: the image, as `POST /v1/images` answers it."""
    return Call("POST", signed.complete_url, _model(ImageOut), ok=(202,))
