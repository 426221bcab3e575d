"""On-demand render: signatures, negotiation, caching, single-flight, remote sources, limits."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import pyvips

import darkroom.service.render as render_service
from darkroom.client import sign_url
from darkroom.imaging import Rendered, probe, render
from tests.corpus import read
from tests.integration.conftest import Service, start_service

KEY = "render-test-key-0123456789"
OLD_KEY = "render-old-key-0123456789"


class RenderSpy:
    """Counts (and optionally slows) calls to the imaging core, to observe caching."""

    def __init__(self, delay: float = 0.0) -> None:
        self.calls = 0
        self.delay = delay
        self._real = render
        self._lock = threading.Lock()

    def __call__(self, *args: Any, **kwargs: Any) -> Rendered:
        with self._lock:
            self.calls += 1
        time.sleep(self.delay)
        return self._real(*args, **kwargs)


@pytest.fixture
def spy(monkeypatch: pytest.MonkeyPatch) -> RenderSpy:
    found = RenderSpy()
    monkeypatch.setattr(render_service, "render_image", found)
    return found


@pytest.fixture
def signed(tmp_path: Path) -> Iterator[Service]:
    yield from start_service(tmp_path, signing_keys=[KEY, OLD_KEY])()


def stored(service: Service, name: str = "jpeg-progressive.jpg") -> str:
    image_id: str = service.upload(read(name), profiles="avatar").json()["id"]
    return image_id


def test_signed_render_then_cache_hit(signed: Service, spy: RenderSpy) -> None:
    image_id = stored(signed)
    url = sign_url(f"/v1/render/{image_id}?w=300&h=300&fit=cover&fmt=webp&q=70", KEY)
    first = signed.http.get(url)
    assert first.status_code == 200, first.text
    assert first.headers["content-type"] == "image/webp"
    assert first.headers["cache-control"] == "public, max-age=31536000, immutable"
    assert first.headers["content-length"] == str(len(first.content))
    assert first.headers["x-darkroom-cache"] == "miss"
    image = pyvips.Image.new_from_buffer(first.content, "")
    assert (image.width, image.height) == (300, 300)
    second = signed.http.get(url)
    assert second.headers["x-darkroom-cache"] == "hit"
    assert second.content == first.content
    assert second.headers["etag"] == first.headers["etag"]
    assert spy.calls == 1  # the hit was served without the renderer
    assert "vary" not in first.headers


def test_if_none_match_answers_304_without_rendering(signed: Service, spy: RenderSpy) -> None:
    image_id = stored(signed)
    url = sign_url(f"/v1/render/{image_id}?w=120", KEY)
    etag = signed.http.get(url).headers["etag"]
    again = signed.http.get(url, headers={"If-None-Match": etag})
    assert again.status_code == 304
    assert again.content == b""
    assert spy.calls == 1


@pytest.mark.parametrize(
    ("mutate", "needle"),
    [
        (lambda u: u.replace("w=100", "w=1000"), "signature"),
        (lambda u: u + "&blur=2", "signature"),
        (lambda u: u.split("&sig=")[0], "must be signed"),
        (lambda u: u.replace("/v1/render/", "/v1/render/x"), None),
    ],
)
def test_tampered_or_missing_signature_is_403(
    signed: Service, mutate: Any, needle: str | None
) -> None:
    image_id = stored(signed)
    url = mutate(sign_url(f"/v1/render/{image_id}?w=100", KEY))
    response = signed.http.get(url)
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "forbidden"
    if needle:
        assert needle in response.json()["error"]["message"]


def test_wrong_key_refused_and_rotated_key_accepted(signed: Service) -> None:
    image_id = stored(signed)
    path = f"/v1/render/{image_id}?w=64"
    assert signed.http.get(sign_url(path, "someone-elses-key-000000")).status_code == 403
    assert signed.http.get(sign_url(path, OLD_KEY)).status_code == 200


@pytest.mark.parametrize(
    ("name", "accept", "media_type"),
    [
        ("jpeg-progressive.jpg", "image/avif,image/webp,*/*", "image/avif"),
        ("jpeg-progressive.jpg", "image/webp,*/*", "image/webp"),
        ("jpeg-progressive.jpg", "*/*", "image/jpeg"),
        ("png-rgba-transparency.png", "*/*", "image/png"),
        ("gif-animated-loop3-10frames.gif", "image/webp", "image/webp"),
    ],
)
def test_format_auto_follows_accept(
    signed: Service, name: str, accept: str, media_type: str
) -> None:
    image_id = stored(signed, name)
    response = signed.http.get(
        sign_url(f"/v1/render/{image_id}?w=80&fmt=auto", KEY), headers={"Accept": accept}
    )
    assert response.status_code == 200
    assert response.headers["content-type"] == media_type
    assert response.headers["vary"] == "Accept"


def test_profile_render(signed: Service) -> None:
    image_id = stored(signed)
    response = signed.http.get(sign_url(f"/v1/render/{image_id}/thumb_200", KEY))
    assert response.status_code == 200
    image = pyvips.Image.new_from_buffer(response.content, "")
    assert (image.width, image.height, response.headers["content-type"]) == (200, 200, "image/jpeg")
    assert signed.http.get(sign_url(f"/v1/render/{image_id}/nope", KEY)).status_code == 422


def test_bad_options_and_missing_image(signed: Service) -> None:
    image_id = stored(signed)
    bad = signed.http.get(sign_url(f"/v1/render/{image_id}?w=abc", KEY))
    assert bad.status_code == 422
    assert "w: " in bad.json()["error"]["message"]
    assert signed.http.get(sign_url("/v1/render/nope?w=10", KEY)).status_code == 404


def test_single_flight_for_identical_concurrent_requests(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    spy = RenderSpy(delay=1.0)
    monkeypatch.setattr(render_service, "render_image", spy)
    with contextmanager(
        start_service(tmp_path, allow_unsigned=True, render_cache=False)
    )() as service:
        image_id = stored(service)
        spy.calls = 0
        with ThreadPoolExecutor(20) as pool:
            responses = list(
                pool.map(lambda _: service.http.get(f"/v1/render/{image_id}?w=150"), range(20))
            )
        assert {r.status_code for r in responses} == {200}
        assert len({r.content for r in responses}) == 1
        assert spy.calls == 1


def test_overload_answers_503_with_retry_after(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(render_service, "render_image", RenderSpy(delay=1.0))
    with contextmanager(
        start_service(tmp_path, allow_unsigned=True, render_concurrency=1, render_queue_limit=1)
    )() as service:
        image_id = stored(service)
        with ThreadPoolExecutor(6) as pool:
            responses = list(
                pool.map(lambda w: service.http.get(f"/v1/render/{image_id}?w={100 + w}"), range(6))
            )
        statuses = sorted(r.status_code for r in responses)
        assert statuses.count(200) >= 2
        busy = [r for r in responses if r.status_code == 503]
        assert busy
        assert all(r.headers["retry-after"] == "1" for r in busy)


def test_cache_is_bounded_and_removed_with_the_image(tmp_path: Path) -> None:
    for service in start_service(tmp_path, allow_unsigned=True, cache_max_bytes=20_000)():
        image_id = stored(service)
        sizes = [
            len(service.http.get(f"/v1/render/{image_id}?w={w}&fmt=jpeg").content)
            for w in (200, 210, 220, 230)
        ]
        assert all(size > 4000 for size in sizes)
        cached = service.objects(f"cache/{image_id}/")
        total = sum(service.runtime.ctx.outputs.size(k) for k in cached)
        assert 0 < total <= 20_000
        assert len(cached) < 4  # the least recently served went first
        assert (
            service.http.get(f"/v1/render/{image_id}?w=230&fmt=jpeg").headers["x-darkroom-cache"]
            == "hit"
        )
        assert service.http.delete(f"/v1/images/{image_id}").status_code == 204
        assert service.objects("cache/") == []


def test_cache_can_be_turned_off(tmp_path: Path) -> None:
    for service in start_service(tmp_path, allow_unsigned=True, render_cache=False)():
        image_id = stored(service)
        for _ in range(2):
            assert (
                service.http.get(f"/v1/render/{image_id}?w=90").headers["x-darkroom-cache"]
                == "miss"
            )
        assert service.objects("cache/") == []


# --- remote sources ----------------------------------------------------------------------


class _Origin(BaseHTTPRequestHandler):
    redirect_to = ""

    def do_GET(self) -> None:
        if self.path == "/photo.jpg":
            self._send(200, read("jpeg-progressive.jpg"))
        elif self.path == "/big.jpg":
            self._send(200, read("large-solid-9643x10328-99.6mp.jpg"))
        elif self.path == "/text":
            self._send(200, b"hello, not an image")
        elif self.path == "/redirect":
            self.send_response(302)
            self.send_header("Location", self.redirect_to)
            self.send_header("Content-Length", "0")
            self.end_headers()
        else:
            self._send(404, b"")

    def _send(self, status: int, body: bytes) -> None:
        self.send_response(status)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def origin() -> Iterator[int]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Origin)
    port = server.server_address[1]
    _Origin.redirect_to = f"http://127.0.0.1:{port}/photo.jpg"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield port
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def test_remote_sources(tmp_path: Path, origin: int, spy: RenderSpy) -> None:
    settings = {
        "allow_unsigned": True,
        "render_allow_hosts": [f"localhost:{origin}"],
        "max_upload_bytes": 1_000_000,
    }
    for service in start_service(tmp_path, **settings)():
        good = service.http.get(
            "/v1/render", params={"url": f"http://localhost:{origin}/photo.jpg", "w": 100}
        )
        assert good.status_code == 200, good.text
        assert pyvips.Image.new_from_buffer(good.content, "").width == 100
        again = service.http.get(
            "/v1/render", params={"url": f"http://localhost:{origin}/photo.jpg", "w": 101}
        )
        assert again.status_code == 200
        assert spy.calls == 2
        assert len([k for k in service.objects("cache/") if k.endswith("source.bin")]) == 1

        other = service.http.get(
            "/v1/render", params={"url": f"http://127.0.0.1:{origin}/photo.jpg", "w": 100}
        )
        assert other.status_code == 403
        assert "DARKROOM_RENDER_ALLOW_HOSTS" in other.json()["error"]["message"]
        redirect = service.http.get(
            "/v1/render", params={"url": f"http://localhost:{origin}/redirect", "w": 100}
        )
        assert redirect.status_code == 403
        assert "127.0.0.1" in redirect.json()["error"]["message"]
        big = service.http.get(
            "/v1/render", params={"url": f"http://localhost:{origin}/big.jpg", "w": 100}
        )
        assert big.status_code == 413
        text = service.http.get(
            "/v1/render", params={"url": f"http://localhost:{origin}/text", "w": 100}
        )
        assert text.status_code == 415


def test_remote_sources_are_off_by_default(tmp_path: Path) -> None:
    for service in start_service(tmp_path, allow_unsigned=True)():
        response = service.http.get("/v1/render", params={"url": "http://localhost/x.jpg"})
        assert response.status_code == 400
        assert "DARKROOM_RENDER_ALLOW_HOSTS" in response.json()["error"]["message"]


def test_unsigned_requests_need_a_key_or_permission(service: Service) -> None:
    image_id = stored(service)
    response = service.http.get(f"/v1/render/{image_id}?w=10")
    assert response.status_code == 403
    assert "DARKROOM_SIGNING_KEYS" in response.json()["error"]["message"]


def test_requests_the_fast_path_leaves_alone_get_the_routers_answers(signed: Service) -> None:
    image_id = stored(signed)
    url = sign_url(f"/v1/render/{image_id}?w=10", KEY)
    head, get = signed.http.head(url), signed.http.get(url)
    # HEAD goes through the router: the same status and headers as GET, and no body.
    assert (head.status_code, head.content) == (200, b"")
    assert head.headers["etag"] == get.headers["etag"]
    assert head.headers["content-type"] == get.headers["content-type"] == "image/jpeg"
    deep = signed.http.get(sign_url(f"/v1/render/{image_id}/thumb_200/extra", KEY))
    assert (deep.status_code, deep.json()["error"]["code"]) == (404, "not_found")
    paths = set(signed.http.get("/openapi.json").json()["paths"])
    assert {"/v1/render", "/v1/render/{image_id}", "/v1/render/{image_id}/{profile}"} <= paths


def test_an_original_is_read_and_probed_once_per_process(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    probes: list[int] = []

    def counting_probe(data: bytes, *args: Any) -> Any:
        probes.append(len(data))
        return probe(data, *args)

    monkeypatch.setattr(render_service, "probe", counting_probe)
    reads: list[str] = []
    for service in start_service(tmp_path, allow_unsigned=True, render_cache=False)():
        image_id = stored(service)
        service.wait(image_id)  # its worker has read the original for the variant
        store = service.runtime.ctx.originals

        def counting_get(key: str, real: Any = store.get) -> bytes:
            reads.append(key)
            return bytes(real(key))

        monkeypatch.setattr(store, "get", counting_get)
        for width in (100, 120, 140):
            assert service.http.get(f"/v1/render/{image_id}?w={width}").status_code == 200
        assert (len(reads), len(probes)) == (1, 1)
        # Deleting the image drops its original from memory too.
        assert service.http.delete(f"/v1/images/{image_id}").status_code == 204
        assert service.runtime.ctx.render_sources.size == 0
        assert service.http.get(f"/v1/render/{image_id}?w=100").status_code == 404


def test_an_unexpected_render_failure_is_a_500_and_the_service_carries_on(
    signed: Service, monkeypatch: pytest.MonkeyPatch
) -> None:
    image_id = stored(signed)

    def broken(*args: Any, **kwargs: Any) -> Rendered:
        raise RuntimeError("a bug, not a bad image")

    monkeypatch.setattr(render_service, "render_image", broken)
    failed = signed.http.get(sign_url(f"/v1/render/{image_id}?w=50", KEY))
    assert (failed.status_code, failed.json()["error"]["code"]) == (500, "internal_error")
    assert "a bug" not in failed.text
    monkeypatch.undo()
    assert signed.http.get(sign_url(f"/v1/render/{image_id}?w=50", KEY)).status_code == 200


def test_a_render_past_its_budget_answers_503_render_timeout(tmp_path: Path) -> None:
    with contextmanager(
        start_service(tmp_path, allow_unsigned=True, render_timeout_seconds=0.5)
    )() as service:
        image_id = stored(service, "photo-flickr-2725x2225.jpg")
        heavy = service.http.get(f"/v1/render/{image_id}?w=11000&enlarge=1&blur=100")
        assert heavy.status_code == 503
        assert heavy.json()["error"]["code"] == "render_timeout"
        assert "0.5 s budget" in heavy.json()["error"]["message"]
        assert service.http.get(f"/v1/render/{image_id}?w=120").status_code == 200


@pytest.mark.slow  # a few seconds of heavy renders on purpose
def test_cheap_renders_flow_while_heavy_ones_run(tmp_path: Path) -> None:
    with contextmanager(
        start_service(
            tmp_path,
            allow_unsigned=True,
            render_cache=False,
            render_concurrency=2,
            render_heavy_concurrency=1,
            render_timeout_seconds=2,
        )
    )() as service:
        image_id = stored(service, "photo-flickr-2725x2225.jpg")
        finished: dict[str, float] = {}

        def get(name: str, query: str) -> int:
            status = service.http.get(f"/v1/render/{image_id}?{query}").status_code
            finished[name] = time.monotonic()
            return status

        with ThreadPoolExecutor(8) as pool:
            heavy = [
                pool.submit(get, f"heavy{i}", f"w={10000 + i}&enlarge=1&blur=100") for i in range(3)
            ]
            time.sleep(0.3)  # the heavy renders are admitted first
            cheap = [pool.submit(get, f"cheap{i}", f"w={100 + i}") for i in range(4)]
            assert [f.result() for f in cheap] == [200] * 4
            # Each heavy one either finished or was stopped by its budget: never a 5xx other
            # than 503, never a hang.
            assert {f.result() for f in heavy} <= {200, 503}
        last_cheap = max(finished[f"cheap{i}"] for i in range(4))
        first_heavy = min(finished[f"heavy{i}"] for i in range(2))
        assert last_cheap < first_heavy, "cheap renders waited behind heavy ones"
