"""The full flow on every combination of real database and real broker."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
import pyvips

from darkroom.settings import load_settings
from tests.cluster.conftest import Broker, Storage, in_process_cluster, wait_done
from tests.corpus import read
from tests.s3_server import REGION, S3Server

pytestmark = pytest.mark.slow  # real brokers, and PostgreSQL or S3 for most combinations

FILES = ("jpeg-progressive.jpg", "png-rgba-transparency.png", "gif-animated-loop3-10frames.gif")


def test_upload_variants_download(database_url: str, broker: Broker, storage: Storage) -> None:
    settings = load_settings(
        database_url=database_url,
        broker_url=broker.url,
        queue_prefix=broker.prefix,
        workers=2,
        **storage.settings,
    )
    with in_process_cluster(settings) as http:
        ids = []
        for name in FILES:
            response = http.post("/v1/images", files={"file": (name, read(name))})
            assert response.status_code == 202, response.text
            ids.append(response.json()["id"])
        for image_id in ids:
            body = wait_done(http, image_id)
            assert body["status"] == "done", body
            assert {v["profile"] for v in body["variants"]} == {"thumb_200", "webp_800", "avatar"}
            for variant in body["variants"]:
                assert variant["attempts"] == 1
                data = http.get(variant["url"]).content
                image = pyvips.Image.new_from_buffer(data, "")
                assert (image.width, image.height) == (variant["width"], variant["height"])
        assert http.get("/ready").status_code == 200
        original = http.get(f"/v1/images/{ids[0]}/original")
        assert original.content == read(FILES[0])


def test_downloads_redirect_to_presigned_s3_urls(
    broker: Broker, s3_server: S3Server, s3_bucket: str, tmp_path: Path
) -> None:
    settings = load_settings(
        database_url=f"sqlite:///{tmp_path / 'db.sqlite'}",
        broker_url=broker.url,
        queue_prefix=broker.prefix,
        storage_url=f"s3://{s3_bucket}/prod",
        s3_endpoint_url=s3_server.endpoint,
        s3_region=REGION,
        redirect_downloads=True,
    )
    with in_process_cluster(settings) as http:
        image = http.post("/v1/images", files={"file": ("a", read("webp-lossy.webp"))}).json()
        body = wait_done(http, image["id"])
        variant = next(v for v in body["variants"] if v["profile"] == "thumb_200")
        response = http.get(variant["url"])
        assert response.status_code == 302
        location = response.headers["location"]
        assert location.startswith(s3_server.endpoint)
        assert "Signature" in location or "X-Amz-Signature" in location
        fetched = httpx.get(location)
        assert fetched.status_code == 200
        assert pyvips.Image.new_from_buffer(fetched.content, "").width == variant["width"]
