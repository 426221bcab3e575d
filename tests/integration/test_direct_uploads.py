"""Direct uploads on a real S3 server (moto): the bytes go to the store over plain HTTP,
with no credentials, and the API only signs, validates and records."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
import pyvips
import sqlalchemy as sa

from darkroom import errors
from darkroom.client import AsyncClient, Client
from darkroom.db.schema import utcnow
from tests.corpus import read
from tests.integration.conftest import Service, start_service
from tests.s3_server import REGION, S3Server

pytestmark = pytest.mark.slow  # an S3 server, and a service on it

JPEG = "jpeg-progressive.jpg"
LEASE_SECONDS = 60


@pytest.fixture
def s3_service(tmp_path: Path, s3_server: S3Server, s3_bucket: str) -> Iterator[Service]:
    """The embedded service storing on a fresh bucket of the test's S3 server."""
    run = start_service(
        tmp_path,
        storage_url=f"s3://{s3_bucket}/prod",
        s3_endpoint_url=s3_server.endpoint,
        s3_region=REGION,
        lease_seconds=LEASE_SECONDS,
    )
    with contextmanager(run)() as service:
        yield service


def sign(service: Service, data: bytes, content_type: str, **fields: Any) -> dict[str, Any]:
    """POST /v1/uploads for `data`; the signed upload."""
    body = {"filename": "photo.jpg", "content_type": content_type, "bytes": len(data)}
    response = service.http.post("/v1/uploads", json=body | fields)
    assert response.status_code == 201, response.text
    signed: dict[str, Any] = response.json()
    return signed


def put(signed: dict[str, Any], data: bytes) -> httpx.Response:
    """Send the bytes as a client would: plain HTTP, no AWS credentials or SDK."""
    with httpx.Client(trust_env=False) as plain:
        return plain.request(
            signed["method"], signed["url"], headers=signed["headers"], content=data
        )


def staged(service: Service) -> list[str]:
    """Keys of direct upload objects still in the store."""
    return service.objects("uploads/")


def test_a_direct_upload_goes_to_the_store_and_becomes_an_image(s3_service: Service) -> None:
    data = read(JPEG)
    signed = sign(s3_service, data, "image/jpeg", profiles=["thumb_200"])
    assert signed["method"] == "PUT"
    assert signed["headers"] == {"Content-Type": "image/jpeg", "Content-Length": str(len(data))}
    assert signed["url"].startswith(s3_service.runtime.settings.s3_endpoint_url or "")
    # The store itself holds the client to the declared type and size: both are signed.
    query = parse_qs(urlsplit(signed["url"]).query)
    assert query["X-Amz-SignedHeaders"] == ["content-length;content-type;host"]
    assert int(query["X-Amz-Expires"][0]) <= 900

    assert put(signed, data).status_code == 200
    assert staged(s3_service) == [f"uploads/{signed['id']}"]
    completed = s3_service.http.post(signed["complete_url"])
    assert completed.status_code == 202, completed.text
    image = completed.json()
    assert completed.headers["Location"] == f"/v1/images/{image['id']}"
    assert [v["profile"] for v in image["variants"]] == ["thumb_200"]

    done = s3_service.wait(image["id"])
    assert done["status"] == "done", done
    variant = done["variants"][0]
    thumb = pyvips.Image.new_from_buffer(s3_service.http.get(variant["url"]).content, "")
    assert (thumb.width, thumb.height) == (variant["width"], variant["height"])
    assert max(thumb.width, thumb.height) == 200
    assert s3_service.http.get(f"/v1/images/{image['id']}/original").content == data
    # The staging object is gone; the original lives under its content-addressed key.
    assert staged(s3_service) == []
    # Completing again (a client retry) answers the same image.
    again = s3_service.http.post(signed["complete_url"])
    assert (again.status_code, again.json()["id"]) == (202, image["id"])
    assert again.headers["Idempotent-Replay"] == "true"


def test_garbage_is_refused_at_completion_and_deleted(s3_service: Service) -> None:
    garbage = b"\x89PNG\r\n\x1a\n" + b"not really a png" * 64
    signed = sign(s3_service, garbage, "image/png")
    assert put(signed, garbage).status_code == 200
    assert staged(s3_service) == [f"uploads/{signed['id']}"]
    refused = s3_service.http.post(signed["complete_url"])
    assert refused.status_code in (415, 422), refused.text
    assert refused.json()["error"]["code"] in ("corrupt_image", "unsupported_format")
    assert staged(s3_service) == []
    assert s3_service.http.get("/v1/images").json()["items"] == []
    gone = s3_service.http.post(signed["complete_url"])
    assert gone.status_code == 404


def test_an_object_larger_than_declared_is_refused_and_deleted(
    s3_service: Service, s3_server: S3Server, s3_bucket: str
) -> None:
    # A store that ignored the signed Content-Length (moto checks no signatures) or a
    # bucket policy gone wrong: completion still holds the object to the declared size.
    data = read(JPEG)
    signed = sign(s3_service, data[:1000], "image/jpeg")
    s3_server.admin.put_object(Bucket=s3_bucket, Key=f"prod/uploads/{signed['id']}", Body=data)
    refused = s3_service.http.post(signed["complete_url"])
    assert refused.status_code == 413, refused.text
    assert "declared" in refused.json()["error"]["message"]
    assert staged(s3_service) == []


def test_completing_before_the_bytes_arrive_says_what_to_do(s3_service: Service) -> None:
    signed = sign(s3_service, read(JPEG), "image/jpeg")
    early = s3_service.http.post(signed["complete_url"])
    assert early.status_code == 409
    assert "PUT the file" in early.json()["error"]["message"]


def test_an_upload_never_completed_expires_and_is_swept(s3_service: Service) -> None:
    data = read(JPEG)
    signed, kept = sign(s3_service, data, "image/jpeg"), sign(s3_service, data, "image/jpeg")
    for upload in (signed, kept):
        assert put(upload, data).status_code == 200
    # The first expired an hour ago (past the grace a PUT in flight gets); the second not.
    with s3_service.runtime.ctx.engine.begin() as connection:
        connection.execute(
            sa.text("UPDATE uploads SET expires_at = :at WHERE id = :id"),
            {"at": (utcnow() - timedelta(hours=1)).replace(tzinfo=None), "id": signed["id"]},
        )
    assert s3_service.runtime.sweeper.sweep() >= 1
    assert staged(s3_service) == [f"uploads/{kept['id']}"]
    assert s3_service.http.post(signed["complete_url"]).status_code == 404
    assert s3_service.http.post(kept["complete_url"]).status_code == 202


@pytest.mark.parametrize(
    ("fields", "status", "says"),
    [
        ({"bytes": 10**12}, 413, "limit"),
        ({"content_type": "text/plain"}, 415, "content_type"),
        ({"profiles": ["no_such_profile"]}, 422, "no_such_profile"),
        ({"bytes": "many"}, 400, "bytes"),
    ],
)
def test_a_bad_request_is_refused_before_anything_is_signed(
    s3_service: Service, fields: dict[str, Any], status: int, says: str
) -> None:
    body = {"content_type": "image/jpeg", "bytes": 1000} | fields
    response = s3_service.http.post("/v1/uploads", json=body)
    assert response.status_code == status, response.text
    assert says in response.json()["error"]["message"]


def test_local_storage_answers_that_direct_uploads_need_s3(service: Service) -> None:
    response = service.http.post("/v1/uploads", json={"content_type": "image/jpeg", "bytes": 10})
    assert response.status_code == 409
    assert "need S3" in response.json()["error"]["message"]
    completed = service.http.post("/v1/uploads/0190abcd/complete")
    assert completed.status_code == 409


def test_the_client_uploads_directly_sync_and_async(s3_service: Service, tmp_path: Path) -> None:
    photo = tmp_path / "photo.jpg"
    photo.write_bytes(read(JPEG))
    base = str(s3_service.http.base_url)
    with Client(base) as client:
        image = client.upload_direct(photo, profiles=["thumb_200"], analyses=[])
        assert image.mime_type == "image/jpeg"
        done = client.wait(image.id, timeout=60)
        assert [(v.profile, v.status.value) for v in done.variants] == [("thumb_200", "done")]
        odd = tmp_path / "notes.txt"
        odd.write_bytes(b"not an image")
        with pytest.raises(errors.UnsupportedFormat):
            client.upload_direct(odd)

    async def upload_async() -> str:
        async with AsyncClient(base) as client:
            image = await client.upload_direct(photo, profiles=[], analyses=[])
            return image.id

    image_id = asyncio.run(upload_async())
    assert s3_service.wait(image_id)["status"] == "done"
    assert staged(s3_service) == []  # each temporary object went with its completion


def test_the_client_is_told_direct_uploads_need_s3(service: Service, tmp_path: Path) -> None:
    photo = tmp_path / "photo.jpg"
    photo.write_bytes(read(JPEG))
    with Client(str(service.http.base_url)) as client, pytest.raises(errors.Conflict) as caught:
        client.upload_direct(photo)
    assert "S3" in str(caught.value)
