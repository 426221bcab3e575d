"""Each API call once: the request to send and how to read its answer.

`Client` and `AsyncClient` only send these `Call`s and hand the answer to `Call.finish`,
so the two never disagree about a path, a parameter or an error.
"""

from __future__ import annotations

import base64
import os
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, Generic, TypeVar
from urllib.parse import quote

import httpx
from pydantic import BaseModel

from darkroom.client._errors import error_from_response
from darkroom.contract import (
    AnalysisOut,
    BackfillOut,
    DeadLetterOut,
    DeadLetterPage,
    EventPage,
    HealthOut,
    ImageOut,
    ImagePage,
    JobOut,
    JobSubmitted,
    ProfileOut,
    ProfilePage,
    PurgeOut,
    ReadyOut,
    Status,
)

T = TypeVar("T")
M = TypeVar("M", bound=BaseModel)

Source = str | os.PathLike[str] | bytes | bytearray | memoryview | IO[bytes]
"""What `upload` takes: an http(s) URL for the server to fetch, a file path, the image's
bytes, or a binary file object open for reading."""
Names = Iterable[str] | str | None
"""Profile or analysis names: a list, a comma-separated string, or None for the defaults."""


@dataclass(frozen=True)
class Call(Generic[T]):
    """One request to the API and the reading of its answer."""

    method: str
    path: str
    read: Callable[[httpx.Response], T]
    params: Mapping[str, str | int | bool] | None = None
    json: Any = None
    data: Mapping[str, str] | None = None
    files: Mapping[str, tuple[str, bytes | IO[bytes]]] | None = None
    headers: Mapping[str, str] = field(default_factory=dict)
    ok: tuple[int, ...] = (200,)

    def request(self, http: httpx.Client | httpx.AsyncClient) -> httpx.Request:
        """The request, built by `http` (its base URL, auth and default headers)."""
        return http.build_request(
            self.method,
            self.path,
            params=self.params,
            json=self.json,
            data=self.data,
            files=self.files,
            headers=self.headers,
        )

    def finish(self, response: httpx.Response) -> T:
        """The answer read, or the exception its error body stands for."""
        if response.status_code not in self.ok:
            raise error_from_response(response)
        return self.read(response)


def _model(model: type[M]) -> Callable[[httpx.Response], M]:
    return lambda response: model.model_validate_json(response.content)


def _nothing(response: httpx.Response) -> None:
    return None


def _segment(value: str) -> str:
    # An id or name is one path segment: "/" or "?" in it must not change the route.
    return quote(value, safe="")


def _csv(names: Names) -> str | None:
    if names is None or isinstance(names, str):
        return names
    return ",".join(names)


def _list(names: Names) -> list[str] | str | None:
    if names is None or isinstance(names, str):
        return names
    return list(names)


def is_url(source: object) -> bool:
    """Whether `source` is an http(s) URL the server should fetch."""
    return isinstance(source, str) and source.lower().startswith(("http://", "https://"))


def upload(
    source: Source,
    *,
    profiles: Names = None,
    analyses: Names = None,
    owner: str | None = None,
    callback_url: str | None = None,
    idempotency_key: str | None = None,
) -> Call[ImageOut]:
    """POST /v1/images: a URL as JSON, anything else as a multipart file."""
    headers = {} if idempotency_key is None else {"Idempotency-Key": idempotency_key}
    options = {"owner_id": owner, "callback_url": callback_url}
    read, ok = _model(ImageOut), (202,)
    if is_url(source):
        given = {"url": source, "profiles": _list(profiles), "analyses": _list(analyses)}
        body = {k: v for k, v in (given | options).items() if v is not None}
        return Call("POST", "/v1/images", read, json=body, headers=headers, ok=ok)
    fields = {"profiles": _csv(profiles), "analyses": _csv(analyses), **options}
    data = {k: v for k, v in fields.items() if v is not None}
    files = {"file": _file(source)}
    return Call("POST", "/v1/images", read, data=data, files=files, headers=headers, ok=ok)


def _file(source: Source) -> tuple[str, bytes | IO[bytes]]:
    if isinstance(source, bytes | bytearray | memoryview):
        return "image", bytes(source)
    if isinstance(source, str | os.PathLike):
        path = Path(source)
        return path.name, path.read_bytes()
    if hasattr(source, "read"):
        return Path(str(getattr(source, "name", "image"))).name, source
    raise TypeError(
        f"upload() takes an http(s) URL, a path, bytes or a binary file, not {type(source)!r}"
    )


def get_image(image_id: str) -> Call[ImageOut]:
    """GET /v1/images/{id}."""
    return Call("GET", f"/v1/images/{_segment(image_id)}", _model(ImageOut))


def list_images(
    *,
    owner: str | None = None,
    status: Status | str | None = None,
    profile: str | None = None,
    limit: int = 50,
    cursor: str | None = None,
) -> Call[ImagePage]:
    """GET /v1/images: one page, newest first."""
    params: dict[str, str | int | bool] = {"limit": limit}
    filters = (("owner_id", owner), ("status", status), ("profile", profile), ("cursor", cursor))
    for name, value in filters:
        if value is not None:
            params[name] = str(value)
    return Call("GET", "/v1/images", _model(ImagePage), params=params)


def add_variants(image_id: str, profiles: Names) -> Call[ImageOut]:
    """POST /v1/images/{id}/variants."""
    body = {"profiles": _list(profiles)}
    path = f"/v1/images/{_segment(image_id)}/variants"
    return Call("POST", path, _model(ImageOut), json=body, ok=(202,))


def add_analyses(image_id: str, analyses: Names) -> Call[ImageOut]:
    """POST /v1/images/{id}/analyses."""
    body = {"analyses": _list(analyses)}
    path = f"/v1/images/{_segment(image_id)}/analyses"
    return Call("POST", path, _model(ImageOut), json=body, ok=(202,))


def get_analysis(image_id: str, name: str) -> Call[AnalysisOut]:
    """GET /v1/images/{id}/analyses/{name}."""
    path = f"/v1/images/{_segment(image_id)}/analyses/{_segment(name)}"
    return Call("GET", path, _model(AnalysisOut))


def events(image_id: str) -> Call[EventPage]:
    """GET /v1/images/{id}/events."""
    return Call("GET", f"/v1/images/{_segment(image_id)}/events", _model(EventPage))


def purge(image_id: str) -> Call[PurgeOut]:
    """POST /v1/images/{id}/purge."""
    path = f"/v1/images/{_segment(image_id)}/purge"
    return Call("POST", path, _model(PurgeOut), ok=(202,))


def delete_image(image_id: str) -> Call[None]:
    """DELETE /v1/images/{id}."""
    return Call("DELETE", f"/v1/images/{_segment(image_id)}", _nothing, ok=(204,))


def download_path(image_id: str, profile: str | None) -> str:
    """The path of the original (no profile) or of a variant."""
    base = f"/v1/images/{_segment(image_id)}"
    return f"{base}/original" if profile is None else f"{base}/variants/{_segment(profile)}"


def list_profiles() -> Call[ProfilePage]:
    """GET /v1/profiles."""
    return Call("GET", "/v1/profiles", _model(ProfilePage))


def get_profile(name: str) -> Call[ProfileOut]:
    """GET /v1/profiles/{name}."""
    return Call("GET", f"/v1/profiles/{_segment(name)}", _model(ProfileOut))


def put_profile(name: str, spec: Mapping[str, Any]) -> Call[ProfileOut]:
    """PUT /v1/profiles/{name}: create or replace."""
    return Call("PUT", f"/v1/profiles/{_segment(name)}", _model(ProfileOut), json=dict(spec))


def delete_profile(name: str) -> Call[None]:
    """DELETE /v1/profiles/{name}."""
    return Call("DELETE", f"/v1/profiles/{_segment(name)}", _nothing, ok=(204,))


def backfill(name: str) -> Call[BackfillOut]:
    """POST /v1/profiles/{name}/backfill."""
    path = f"/v1/profiles/{_segment(name)}/backfill"
    return Call("POST", path, _model(BackfillOut), ok=(202,))


def list_dead_letters(
    *, include_replayed: bool = False, limit: int = 50, cursor: str | None = None
) -> Call[DeadLetterPage]:
    """GET /v1/dead-letters: one page, newest first."""
    params: dict[str, str | int | bool] = {"include_replayed": include_replayed, "limit": limit}
    if cursor is not None:
        params["cursor"] = cursor
    return Call("GET", "/v1/dead-letters", _model(DeadLetterPage), params=params)


def replay_dead_letter(letter_id: str) -> Call[DeadLetterOut]:
    """POST /v1/dead-letters/{id}/replay."""
    path = f"/v1/dead-letters/{_segment(letter_id)}/replay"
    return Call("POST", path, _model(DeadLetterOut), ok=(202,))


def create_job(
    image: bytes | os.PathLike[str] | str,
    *,
    operation: str,
    width: int | None = None,
    height: int | None = None,
    output_format: str | None = None,
) -> Call[JobSubmitted]:
    """POST /jobs: the image travels base64-encoded, as the reference job service wants."""
    data = image if isinstance(image, bytes) else Path(image).read_bytes()
    body: dict[str, Any] = {
        "image_data": base64.b64encode(data).decode("ascii"),
        "operation": operation,
    }
    extra = {"width": width, "height": height, "output_format": output_format}
    body |= {k: v for k, v in extra.items() if v is not None}
    return Call("POST", "/jobs", _model(JobSubmitted), json=body, ok=(202,))


def get_job(job_id: str) -> Call[JobOut]:
    """GET /jobs/{id}."""
    return Call("GET", f"/jobs/{_segment(job_id)}", _model(JobOut))


def download_job(job_id: str) -> Call[bytes]:
    """GET /jobs/{id}/download: the processed image."""
    return Call("GET", f"/jobs/{_segment(job_id)}/download", lambda r: r.content)


def health() -> Call[HealthOut]:
    """GET /health."""
    return Call("GET", "/health", _model(HealthOut))


def ready() -> Call[ReadyOut]:
    """GET /ready: its 503 is an answer too (a dependency does not answer), not an error."""
    return Call("GET", "/ready", _model(ReadyOut), ok=(200, 503))
