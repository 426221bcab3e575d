"""/thumbor/ and /imgproxy/ over real HTTP, with URLs built by libthumbor and pyimgproxy."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import pyvips
from libthumbor import CryptoURL
from pyimgproxy import ImgProxy

from darkroom.compat.imgproxy import signature
from tests.corpus import read
from tests.integration.conftest import Service, start_service

pytestmark = pytest.mark.slow

THUMBOR_KEY = "thumbor-security-key"
IMGPROXY_KEY = "943b421c9eb07c830af81030552c86009268de4e532ba2ee2eab8247c6da0881"
IMGPROXY_SALT = "520f986b998545b4785e0defbc4f3c1203f22de2374a3d53cb7a7fe9fea309c5"
PHOTO = "jpeg-progressive.jpg"
"""1200x799 JPEG."""


class _Origin(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        if self.path.startswith("/photo.jpg"):
            body = read(PHOTO)
            self.send_response(200)
        else:
            body = b""
            self.send_response(404)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture(scope="module")
def origin() -> Iterator[int]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Origin)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield int(server.server_address[1])
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory, origin: int) -> Iterator[Service]:
    root = tmp_path_factory.mktemp("compat")
    yield from start_service(
        root,
        thumbor_key=THUMBOR_KEY,
        imgproxy_key=IMGPROXY_KEY,
        imgproxy_salt=IMGPROXY_SALT,
        render_allow_hosts=[f"localhost:{origin}"],
    )()


@pytest.fixture(scope="module")
def image_id(service: Service) -> str:
    found: str = service.upload(read(PHOTO), profiles="avatar").json()["id"]
    return found


def decoded(service: Service, url: str, **headers: str) -> tuple[pyvips.Image, str]:
    response = service.http.get(url, headers=headers)
    assert response.status_code == 200, response.text
    image = pyvips.Image.new_from_buffer(response.content, "")
    return image, response.headers["content-type"]


def thumbor_url(**options: object) -> str:
    return "/thumbor" + str(CryptoURL(key=THUMBOR_KEY).generate(**options))


def imgproxy() -> ImgProxy:
    return ImgProxy(url="/imgproxy", key=IMGPROXY_KEY, salt=IMGPROXY_SALT)


@pytest.mark.parametrize(
    ("options", "size", "media_type"),
    [
        ({"width": 300, "height": 200}, (300, 200), "image/jpeg"),
        ({"width": 300}, (300, 200), "image/jpeg"),
        ({"width": 300, "height": 300, "fit_in": True}, (300, 200), "image/jpeg"),
        ({"width": 3000, "height": 3000, "fit_in": True}, (1200, 799), "image/jpeg"),
        ({"width": 300, "height": 300, "full_fit_in": True}, (451, 300), "image/jpeg"),
        ({"width": 200, "height": 300, "adaptive_fit_in": True}, (300, 200), "image/jpeg"),
        ({"width": 300, "height": 200, "flip": True, "flop": True}, (300, 200), "image/jpeg"),
        ({"width": 300, "height": 200, "halign": "left", "valign": "top"}, (300, 200), None),
        ({"width": 300, "height": 200, "smart": True}, (300, 200), "image/jpeg"),
        ({"crop": ((100, 100), (500, 300)), "width": 100}, (100, 50), "image/jpeg"),
        (
            {"width": 300, "height": 300, "fit_in": True, "filters": ["fill(red)", "format(png)"]},
            (300, 300),
            "image/png",
        ),
        (
            {"width": 300, "height": 200, "filters": ["quality(50)", "format(webp)"]},
            (300, 200),
            "image/webp",
        ),
        ({"width": 2400, "height": 100, "filters": ["no_upscale()"]}, (1200, 100), None),
        ({"width": 300, "height": 200, "filters": ["rotate(90)"]}, (200, 300), None),
        (
            {"width": 300, "filters": ["blur(2)", "sharpen(2,1.0,true)", "grayscale()"]},
            (300, 200),
            None,
        ),
        ({"width": 300, "filters": ["strip_exif()", "strip_icc()"]}, (300, 200), None),
        (
            {"width": 300, "filters": ["round_corner(20,255,255,255)", "format(avif)"]},
            (300, 200),
            "image/avif",
        ),
        ({"width": 300, "filters": ["format(gif)"]}, (300, 200), "image/gif"),
    ],
)
def test_libthumbor_urls(
    service: Service,
    image_id: str,
    options: dict[str, object],
    size: tuple[int, int],
    media_type: str | None,
) -> None:
    image, content_type = decoded(service, thumbor_url(image_url=image_id, **options))
    assert (image.width, image.height) == size
    assert content_type == (media_type or "image/jpeg")


def test_thumbor_grayscale_and_watermark(service: Service, image_id: str) -> None:
    grey, _ = decoded(service, thumbor_url(image_url=image_id, width=120, filters=["grayscale()"]))
    r, g, b = (grey[band].avg() for band in range(3))
    assert abs(r - g) < 1
    assert abs(g - b) < 1
    marked, _ = decoded(
        service,
        thumbor_url(image_url=image_id, width=300, filters=[f"watermark({image_id},-10,-10,0,30)"]),
    )
    plain, _ = decoded(service, thumbor_url(image_url=image_id, width=300))
    assert (marked.width, marked.height) == (300, 200)
    assert (marked - plain).abs().avg() > 1


def test_thumbor_remote_source(service: Service, origin: int) -> None:
    url = thumbor_url(image_url=f"localhost:{origin}/photo.jpg", width=150)
    image, _ = decoded(service, url)
    assert image.width == 150


def test_thumbor_signatures(service: Service, image_id: str) -> None:
    good = thumbor_url(image_url=image_id, width=100)
    assert service.http.get(good).status_code == 200
    tampered = good.replace("100x0", "101x0")
    assert tampered != good
    assert service.http.get(tampered).status_code == 403
    missing = service.http.get(f"/thumbor/100x0/{image_id}")
    assert missing.status_code == 403
    assert "no signature" in missing.json()["error"]["message"]
    unsafe = service.http.get(f"/thumbor/unsafe/100x0/{image_id}")
    assert unsafe.status_code == 403
    assert "DARKROOM_THUMBOR_ALLOW_UNSAFE" in unsafe.json()["error"]["message"]


def test_thumbor_cache_etag_and_head(service: Service, image_id: str) -> None:
    url = thumbor_url(image_url=image_id, width=77)
    first = service.http.get(url)
    second = service.http.get(url)
    assert first.headers["x-darkroom-cache"] == "miss"
    assert second.headers["x-darkroom-cache"] == "hit"
    assert first.headers["cache-control"] == "public, max-age=31536000, immutable"
    again = service.http.get(url, headers={"If-None-Match": first.headers["etag"]})
    assert again.status_code == 304
    head = service.http.head(url)
    assert head.status_code == 200
    assert head.content == b""


def test_thumbor_refusals_name_the_option(service: Service, image_id: str) -> None:
    unknown = service.http.get(thumbor_url(image_url=image_id, filters=["brightness(10)"]))
    assert unknown.status_code == 422
    assert "brightness()" in unknown.json()["error"]["message"]
    odd = service.http.get(thumbor_url(image_url=image_id, filters=["rotate(45)"]))
    assert odd.status_code == 422
    assert "rotate()" in odd.json()["error"]["message"]


@pytest.mark.parametrize(
    ("build", "size", "media_type"),
    [
        (lambda i: i.resize("fill", 300, 200), (300, 200), "image/jpeg"),
        (lambda i: i.size(300, 300), (300, 200), "image/jpeg"),
        (lambda i: i.resizing_type("fit").width(300).height(300), (300, 200), "image/jpeg"),
        (lambda i: i.resize("force", 300, 300), (300, 300), "image/jpeg"),
        (lambda i: i.resize("fill-down", 2400, 1200), (1200, 600), "image/jpeg"),
        (lambda i: i.resize("auto", 300, 200), (300, 200), "image/jpeg"),
        (lambda i: i.resize("auto", 200, 300), (200, 133), "image/jpeg"),
        (lambda i: i.width(300).dpr(2), (600, 400), "image/jpeg"),
        (lambda i: i.resize("fit", 2400, 0, True), (2400, 1598), "image/jpeg"),
        (
            lambda i: i.resize("fit", 300, 300, False, True).background(hex_color="ff0000"),
            (300, 300),
            None,
        ),
        (lambda i: i.resize("fill", 300, 200).gravity("sm"), (300, 200), "image/jpeg"),
        (lambda i: i.resize("fill", 300, 200).gravity("fp", 0.1, 0.9), (300, 200), None),
        (lambda i: i.resize("fill", 300, 200).gravity("nowe"), (300, 200), None),
        (lambda i: i.crop(600, 400, "ce").width(300), (300, 200), None),
        (lambda i: i.width(300).padding(10, 20), (340, 220), None),
        (lambda i: i.width(300).rotate(90), (300, 451), None),
        (lambda i: i.width(300).auto_rotate(False).blur(2).sharpen(1), (300, 200), None),
        (lambda i: i.width(300).quality(60).format("webp"), (300, 200), "image/webp"),
        (lambda i: i.width(300).format("png"), (300, 200), "image/png"),
    ],
)
def test_pyimgproxy_urls(
    service: Service,
    image_id: str,
    build: object,
    size: tuple[int, int],
    media_type: str | None,
) -> None:
    assert callable(build)
    url = build(imgproxy().image(f"darkroom://{image_id}")).url
    image, content_type = decoded(service, url)
    assert (image.width, image.height) == size
    assert content_type == (media_type or "image/jpeg")


def test_imgproxy_extension_preset_and_base64_source(
    service: Service, image_id: str, origin: int
) -> None:
    # pyimgproxy has no @extension: add one to its path and sign that path again.
    unsigned = imgproxy().image(f"darkroom://{image_id}").width(200).url.split("/", 3)[3]
    tail = f"/{unsigned}@webp"
    key, salt = bytes.fromhex(IMGPROXY_KEY), bytes.fromhex(IMGPROXY_SALT)
    resigned = f"/imgproxy/{signature(key, salt, tail)}{tail}"
    image, content_type = decoded(service, resigned)
    assert content_type == "image/webp"
    assert image.width == 200
    preset = imgproxy().image(f"darkroom://{image_id}").add_option("pr", "avatar").url
    image, _ = decoded(service, preset)
    assert image.width <= 256
    # A source with "@" is base64-encoded by the builder.
    remote = imgproxy().image(f"http://localhost:{origin}/photo.jpg?at=@x").width(120).url
    assert "/plain/" not in remote
    image, _ = decoded(service, remote)
    assert image.width == 120


def test_imgproxy_signatures(service: Service, image_id: str) -> None:
    good = imgproxy().image(f"darkroom://{image_id}").width(100).url
    assert service.http.get(good).status_code == 200
    tampered = good.replace("width:100", "width:101")
    assert service.http.get(tampered).status_code == 403
    missing = service.http.get(f"/imgproxy/width:100/plain/darkroom://{image_id}")
    assert missing.status_code == 403
    insecure = service.http.get(f"/imgproxy/insecure/width:100/plain/darkroom://{image_id}")
    assert insecure.status_code == 403
    assert "DARKROOM_IMGPROXY_ALLOW_INSECURE" in insecure.json()["error"]["message"]
    unknown = imgproxy().image(f"darkroom://{image_id}").add_option("pixelate", 5).url
    refused = service.http.get(unknown)
    assert refused.status_code == 422
    assert "pixelate" in refused.json()["error"]["message"]


def test_unsigned_when_allowed(tmp_path: Path) -> None:
    settings = {"thumbor_allow_unsafe": True, "imgproxy_allow_insecure": True}
    for service in start_service(tmp_path, **settings)():
        image_id = service.upload(read(PHOTO), profiles="avatar").json()["id"]
        image, _ = decoded(service, f"/thumbor/unsafe/50x50/{image_id}")
        assert (image.width, image.height) == (50, 50)
        image, _ = decoded(service, f"/imgproxy/insecure/rs:fill:60:40/plain/darkroom://{image_id}")
        assert (image.width, image.height) == (60, 40)
        signed = service.http.get(thumbor_url(image_url=image_id, width=10))
        assert signed.status_code == 403  # no key configured: signatures cannot be checked


def test_profile_render_negotiates_format_and_dpr(tmp_path: Path) -> None:
    for service in start_service(tmp_path, allow_unsigned=True)():
        image_id = service.upload(read(PHOTO), profiles="avatar").json()["id"]
        base, _ = decoded(service, f"/v1/render/{image_id}/avatar")
        response = service.http.get(
            f"/v1/render/{image_id}/avatar?fmt=auto&dpr=2", headers={"Accept": "image/webp"}
        )
        assert response.status_code == 200, response.text
        assert response.headers["content-type"] == "image/webp"
        assert response.headers["vary"] == "Accept"
        image = pyvips.Image.new_from_buffer(response.content, "")
        assert image.width == 2 * base.width
        refused = service.http.get(f"/v1/render/{image_id}/avatar?w=10")
        assert refused.status_code == 400
        assert "fmt and dpr" in refused.json()["error"]["message"]
