"""Reference logos over HTTP (register, read, replace, delete) and the logos analysis
finding them in uploads."""

from __future__ import annotations

from typing import Any

import pytest
import pyvips

from darkroom.service import auth
from tests.corpus import read
from tests.integration.conftest import Service
from tests.logo_images import encode, iou, make_logo, photo_with_logo
from tests.unit.analysis._extras import need_extra

need_extra("cv2", "numpy")

pytestmark = pytest.mark.slow  # OpenCV's SIFT on real photos

ACME = encode(make_logo(1, "ACME"), "PNG")
ZETA = encode(make_logo(2, "ZETA"), "PNG")


def put_logo(service: Service, name: str, data: bytes, **headers: str) -> Any:
    return service.http.put(
        f"/v1/logos/{name}", files={"file": ("logo.png", data)}, headers=headers
    )


def test_logos_are_registered_read_replaced_and_deleted(service: Service) -> None:
    made = put_logo(service, "acme", ACME)
    assert made.status_code == 200, made.text
    logo = made.json()
    assert (logo["name"], logo["width"], logo["height"], logo["mime_type"]) == (
        "acme",
        360,
        240,
        "image/png",
    )
    assert logo["features"] >= 12
    assert service.http.get("/v1/logos/acme").json() == logo
    image = service.http.get(logo["image_url"])
    assert (image.status_code, image.content) == (200, ACME)
    held = {"If-None-Match": image.headers["etag"]}
    unchanged = service.http.get(logo["image_url"], headers=held)
    assert unchanged.status_code == 304
    assert [item["name"] for item in service.http.get("/v1/logos").json()["items"]] == ["acme"]

    replaced = put_logo(service, "acme", ZETA)
    assert replaced.status_code == 200
    assert replaced.json()["sha256"] != logo["sha256"]
    assert replaced.json()["created_at"] == logo["created_at"]
    assert service.http.get(logo["image_url"]).content == ZETA
    (kept,) = service.objects("logos/")  # the replaced image is gone
    assert replaced.json()["sha256"][:16] in kept

    assert service.http.delete("/v1/logos/acme").status_code == 204
    assert service.http.get("/v1/logos/acme").status_code == 404
    assert service.http.delete("/v1/logos/acme").status_code == 404
    assert service.objects("logos/") == []


def test_logos_that_cannot_serve_are_refused(service: Service) -> None:
    not_an_image = put_logo(service, "acme", b"this is text, not a logo")
    assert not_an_image.status_code == 415
    flat = put_logo(service, "flat", _flat_png())
    assert flat.status_code == 422
    assert "too few distinct features" in flat.json()["error"]["message"]
    bad_name = put_logo(service, "Not A Name", ACME)
    assert bad_name.status_code == 400
    raw = service.http.put("/v1/logos/acme", content=ACME, headers={"Content-Type": "image/png"})
    assert raw.status_code == 400
    assert "multipart/form-data" in raw.json()["error"]["message"]
    assert service.http.get("/v1/logos").json()["items"] == []


def _flat_png() -> bytes:
    """A valid image with nothing in it to find again."""
    return bytes(pyvips.Image.black(200, 120).copy(interpretation="b-w").pngsave_buffer())


def test_logos_are_for_admin_keys(service: Service) -> None:
    ctx = service.runtime.ctx
    admin, _ = auth.create_key(ctx, owner_id="ops", role="admin")
    uploader, _ = auth.create_key(ctx, owner_id="acme", role="upload")
    assert put_logo(service, "acme", ACME, Authorization=f"Bearer {uploader}").status_code == 403
    assert put_logo(service, "acme", ACME, Authorization=f"Bearer {admin}").status_code == 200
    listed = service.http.get("/v1/logos", headers={"Authorization": f"Bearer {uploader}"})
    assert listed.status_code == 403


def test_the_logos_analysis_finds_registered_logos_in_uploads(service: Service) -> None:
    for name, data in (("acme", ACME), ("zeta", ZETA)):
        assert put_logo(service, name, data).status_code == 200
    pasted, truth = photo_with_logo("photo-flickr-2725x2225.jpg", 2.0, -15.0, (300, 1200))
    with_logo = service.upload(pasted, profiles="", analyses="logos").json()["id"]
    without = service.upload(read("exif-orient-1-landscape.jpg"), profiles="", analyses="logos")
    found = service.wait(with_logo)["analyses"][0]
    assert found["status"] == "done", found
    (find,) = found["result"]["logos"]
    assert find["name"] == "acme"
    assert iou(find["box"], truth) >= 0.5
    assert found["model"]["name"] == "opencv-sift"
    none = service.wait(without.json()["id"])["analyses"][0]
    assert none["result"] == {"logos": []}
