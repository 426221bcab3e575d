"""Profiles over HTTP, URL ingestion, the /jobs API and health."""

from __future__ import annotations

import base64
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import pyvips

from tests.corpus import read
from tests.integration.conftest import Service, start_service, wait_until


def test_default_profiles_exist(service: Service) -> None:
    items = {p["name"]: p for p in service.http.get("/v1/profiles").json()["items"]}
    assert set(items) == {"thumb_200", "webp_800", "avatar"}
    assert items["thumb_200"]["spec"] == {
        "width": 200,
        "height": 200,
        "fit": "cover",
        "format": "jpeg",
    }
    assert items["avatar"]["spec"]["gravity"] == "attention"


def test_profile_lifecycle_and_versions(service: Service) -> None:
    spec = {"width": 300, "format": "webp", "quality": 70}
    created = service.http.put("/v1/profiles/card", json=spec).json()
    assert (created["version"], created["spec"]) == (1, spec)
    same = service.http.put(
        "/v1/profiles/card", json={"quality": 70, "format": "webp", "width": 300}
    )
    assert same.json()["version"] == 1
    image = service.upload(read("jpeg-progressive.jpg"), profiles="card").json()
    first_hash = service.wait(image["id"])["variants"][0]["spec_hash"]
    changed = service.http.put("/v1/profiles/card", json=spec | {"quality": 50}).json()
    assert changed["version"] == 2
    assert changed["spec_hash"] != first_hash
    assert (
        service.http.get(f"/v1/images/{image['id']}").json()["variants"][0]["spec_hash"]
        == first_hash
    )
    assert service.http.get("/v1/profiles/card").json()["version"] == 2
    assert service.http.delete("/v1/profiles/card").status_code == 204
    assert service.http.get("/v1/profiles/card").status_code == 404


@pytest.mark.parametrize(
    ("name", "spec", "status", "needle"),
    [
        ("Bad Name", {"width": 10}, 400, "Invalid profile name"),
        ("ok", {"width": 10, "fit": "cover"}, 422, "fit=cover needs both width and height"),
        ("ok", {"colour": "red"}, 422, "colour: Extra inputs are not permitted"),
    ],
)
def test_invalid_profiles_are_refused(
    service: Service, name: str, spec: dict[str, object], status: int, needle: str
) -> None:
    response = service.http.put(f"/v1/profiles/{name}", json=spec)
    assert response.status_code == status
    assert needle in response.json()["error"]["message"]


# --- URL ingestion ---------------------------------------------------------------------


class _ImageHandler(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        if self.path == "/photo.jpg":
            body = read("jpeg-progressive.jpg")
            self.send_response(200)
            self.send_header("Content-Type", "image/jpeg")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
        else:
            self.send_response(404)
            self.send_header("Content-Length", "0")
            self.end_headers()

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def origin() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _ImageHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def test_url_ingestion_from_an_allow_listed_host(tmp_path: Path, origin: str) -> None:
    for service in start_service(tmp_path, url_fetch_allow_hosts=["127.0.0.1"])():
        response = service.http.post(
            "/v1/images", json={"url": f"{origin}/photo.jpg", "profiles": ["thumb_200"]}
        )
        assert response.status_code == 202, response.text
        final = service.wait(response.json()["id"])
        assert final["status"] == "done"
        assert service.http.get(final["original_url"]).content == read("jpeg-progressive.jpg")
        missing = service.http.post("/v1/images", json={"url": f"{origin}/nothing.jpg"})
        assert missing.status_code == 422
        assert "404" in missing.json()["error"]["message"]


def test_url_pointing_at_loopback_is_refused_without_allow_list(
    service: Service, origin: str
) -> None:
    response = service.http.post("/v1/images", json={"url": f"{origin}/photo.jpg"})
    assert response.status_code == 403
    message = response.json()["error"]["message"]
    assert "127.0.0.1" in message
    assert "DARKROOM_URL_FETCH_ALLOW_HOSTS" in message
    assert service.objects() == []


# --- /jobs -------------------------------------------------------------------------------


def test_jobs_round_trip(service: Service) -> None:
    payload = {
        "image_data": base64.b64encode(read("png-rgba-transparency.png")).decode(),
        "operation": "resize",
        "width": 120,
        "height": 80,
        "output_format": "jpeg",
    }
    submitted = service.http.post("/jobs", json=payload)
    assert submitted.status_code == 202
    body = submitted.json()
    assert set(body) == {"job_id", "status", "message"}
    assert body["status"] == "pending"
    assert body["message"] == "Image processing job submitted"
    job_id = body["job_id"]
    service.wait(job_id)
    job = service.http.get(f"/jobs/{job_id}").json()
    assert {
        "id",
        "status",
        "operation",
        "width",
        "height",
        "input_path",
        "output_path",
        "created_at",
        "updated_at",
    } <= set(job)
    assert (job["id"], job["status"], job["operation"], job["width"], job["height"]) == (
        job_id,
        "completed",
        "resize",
        120,
        80,
    )
    assert job["input_path"].startswith("originals/")
    assert job["output_path"].startswith(f"variants/{job_id}/")
    download = service.http.get(f"/jobs/{job_id}/download")
    assert download.headers["content-type"] == "image/jpeg"
    image = pyvips.Image.new_from_buffer(download.content, "")
    assert (image.width, image.height) == (120, 80)  # resize: exact size


def test_thumbnail_job_keeps_input_format_and_aspect(service: Service) -> None:
    payload = {
        "image_data": base64.b64encode(read("png-rgba-transparency.png")).decode(),
        "operation": "thumbnail",
        "width": 100,
        "height": 100,
    }
    job_id = service.http.post("/jobs", json=payload).json()["job_id"]
    service.wait(job_id)
    download = service.http.get(f"/jobs/{job_id}/download")
    assert download.headers["content-type"] == "image/png"
    image = pyvips.Image.new_from_buffer(download.content, "")
    assert (image.width, image.height) == (100, 75)


@pytest.mark.parametrize(
    ("change", "status", "needle"),
    [
        ({"operation": "rotate"}, 400, "Unknown operation"),
        ({"output_format": "webp"}, 400, "use jpeg or png"),
        ({"image_data": "!!"}, 400, "not valid base64"),
        ({"width": "wide"}, 400, "whole number"),
        ({"image_data": base64.b64encode(b"not an image").decode()}, 415, "not an image"),
    ],
)
def test_bad_jobs(service: Service, change: dict[str, object], status: int, needle: str) -> None:
    payload = {
        "image_data": base64.b64encode(read("webp-lossy.webp")).decode(),
        "operation": "resize",
        "width": 10,
        "height": 10,
    } | change
    response = service.http.post("/jobs", json=payload)
    assert response.status_code == status
    assert needle in response.json()["error"]["message"]


def test_unknown_job_and_job_not_done(service: Service) -> None:
    assert service.http.get("/jobs/nope").status_code == 404
    image = service.upload(read("webp-lossy.webp"), profiles="avatar").json()
    assert service.http.get(f"/jobs/{image['id']}").status_code == 404  # an image, not a job


def test_health_and_ready(service: Service) -> None:
    assert service.http.get("/health").json() == {"status": "ok"}
    ready = service.http.get("/ready")
    assert ready.status_code == 200
    assert ready.json()["checks"] == {
        "database": {"ok": True},
        "storage": {"ok": True},
        "broker": {"ok": True},
    }


def test_metrics_expose_backlog_and_work(service: Service) -> None:
    image = service.upload(read("webp-lossy.webp"), profiles="thumb_200,avatar").json()
    service.wait(image["id"])
    # A transform is counted just after its result is committed.
    done = 'darkroom_transforms_total{outcome="done"} 2.0'
    wait_until(lambda: done in service.http.get("/metrics").text.splitlines())
    response = service.http.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    lines = set(response.text.splitlines())
    assert 'darkroom_variants{status="done"} 2.0' in lines
    assert 'darkroom_variants{status="pending"} 0.0' in lines
    assert "darkroom_uploads_total 1.0" in lines
    assert 'darkroom_transforms_total{outcome="done"} 2.0' in lines
    assert "darkroom_transform_seconds_count 2.0" in lines
