"""Upload -> profiles -> async variants -> download, with the real embedded service."""

from __future__ import annotations

import tempfile
import threading
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
import pyvips
import sqlalchemy as sa

from darkroom.db.schema import DeadLetter, Image, ImageVariant
from darkroom.imaging import ImageFormat
from darkroom.imaging.base import shared_base
from darkroom.service import variants as variants_service
from darkroom.settings import usable_cpus
from tests.corpus import Entry, ok_entries, read, rejected_entries
from tests.integration.conftest import Service, start_service

PROFILES = "thumb_200,webp_800,avatar"
LOADERS = {
    "jpeg": "jpegload_buffer",
    "png": "pngload_buffer",
    "webp": "webpload_buffer",
    "avif": "heifload_buffer",
    "gif": "gifload_buffer",
    "tiff": "tiffload_buffer",
}


def cover(entry: Entry, side: int) -> tuple[float, float]:
    width, height = entry.upright
    scale = min(max(side / width, side / height), 1.0)
    return min(side, width * scale), min(side, height * scale)


def contain_width(entry: Entry, target: int) -> tuple[float, float]:
    width, height = entry.upright
    scale = min(target / width, 1.0)
    return width * scale, height * scale


@pytest.fixture(scope="module")
def corpus_run(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict[str, object]]:
    """Every ok corpus file uploaded with the three default profiles, processed to the end."""
    root = tmp_path_factory.mktemp("corpus-run")
    outcome: dict[str, dict[str, object]] = {}
    for service in start_service(root)():
        ids = {}
        for entry in ok_entries():
            response = service.upload(entry.read(), entry.file, profiles=PROFILES)
            assert response.status_code == 202, response.text
            ids[entry.file] = response.json()["id"]
        for file, image_id in ids.items():
            body = service.wait(image_id, timeout=180)
            downloads = {v["profile"]: service.http.get(v["url"]) for v in body["variants"]}
            outcome[file] = {"body": body, "downloads": downloads}
    return outcome


# The whole corpus through the service takes ~20 s of one core; the fast tier renders every
# file in test_render_corpus and runs the upload-to-download flow in the tests below.
@pytest.mark.slow
@pytest.mark.parametrize("entry", ok_entries(), ids=lambda e: e.file)
def test_every_ok_image_gets_its_three_variants(
    corpus_run: dict[str, dict[str, object]], entry: Entry
) -> None:
    run = corpus_run[entry.file]
    body = run["body"]
    assert isinstance(body, dict)
    assert body["status"] == "done", body
    variants = {v["profile"]: v for v in body["variants"]}
    assert set(variants) == {"thumb_200", "webp_800", "avatar"}
    expected = {
        "thumb_200": (cover(entry, 200), "jpeg"),
        "webp_800": (contain_width(entry, 800), "webp"),
        "avatar": (cover(entry, 128), None),
    }
    downloads = run["downloads"]
    assert isinstance(downloads, dict)
    for profile, ((want_w, want_h), fmt) in expected.items():
        variant = variants[profile]
        assert variant["attempts"] == 1
        response = downloads[profile]
        assert response.status_code == 200
        assert response.headers["content-length"] == str(variant["bytes"])
        assert response.headers["etag"]
        image = pyvips.Image.new_from_buffer(response.content, "")
        assert abs(image.width - want_w) <= 1, profile
        assert abs(image.height - want_h) <= 1, profile
        assert (variant["width"], variant["height"]) == (image.width, image.height)
        assert image.get("vips-loader") == LOADERS[variant["format"]]
        assert response.headers["content-type"] == f"image/{variant['format']}"
        if fmt is not None:
            assert variant["format"] == fmt


@pytest.mark.parametrize("entry", rejected_entries(), ids=lambda e: e.file)
def test_rejected_upload_leaves_nothing_behind(service: Service, entry: Entry) -> None:
    response = service.upload(entry.read(), entry.file)
    body = response.json()
    assert 400 <= response.status_code < 500
    assert body["error"]["code"] == entry.rejection.code
    assert body["error"]["message"]
    with service.runtime.ctx.sessions() as session:
        assert session.scalar(sa.select(sa.func.count()).select_from(Image)) == 0
    assert service.objects() == []


def test_permanent_failure_fails_once_with_a_dead_letter(service: Service) -> None:
    outside = {"crop": {"left": 0, "top": 0, "width": 5000, "height": 10}, "format": "png"}
    assert service.http.put("/v1/profiles/too_wide", json=outside).status_code == 200
    response = service.upload(read("jpeg-progressive.jpg"), profiles="too_wide")
    final = service.wait(response.json()["id"])
    variant = final["variants"][0]
    assert (final["status"], variant["status"], variant["attempts"]) == ("failed", "failed", 1)
    assert variant["error"].startswith("The crop 0,0,5000,10")
    with service.runtime.ctx.sessions() as session:
        letters = session.scalars(sa.select(DeadLetter)).all()
    assert [(d.variant_id, d.error_code, d.attempts) for d in letters] == [
        (_variant_id(service, final["id"]), "invalid_spec", 1)
    ]
    pending = service.http.get(variant["url"])
    assert pending.status_code == 404
    assert pending.json()["error"]["details"]["status"] == "failed"


def _variant_id(service: Service, image_id: str) -> str:
    with service.runtime.ctx.sessions() as session:
        return session.scalars(
            sa.select(ImageVariant.id).where(ImageVariant.image_id == image_id)
        ).one()


def test_same_bytes_are_stored_once(service: Service) -> None:
    data = read("jpeg-progressive.jpg")
    first = service.upload(data, profiles="thumb_200").json()
    second = service.upload(data, profiles="avatar").json()
    assert first["id"] != second["id"]
    assert first["sha256"] == second["sha256"]
    assert len(service.objects("originals/")) == 1
    service.wait(first["id"])
    service.wait(second["id"])
    assert service.http.delete(f"/v1/images/{first['id']}").status_code == 204
    assert len(service.objects("originals/")) == 1  # still used by the second image
    assert service.http.get(f"/v1/images/{second['id']}/original").content == data
    assert service.http.delete(f"/v1/images/{second['id']}").status_code == 204
    assert service.objects() == []
    assert service.http.get(f"/v1/images/{second['id']}").status_code == 404


def test_original_download_and_conditional_get(service: Service) -> None:
    data = read("png-rgba-transparency.png")
    image = service.upload(data, profiles="thumb_200").json()
    response = service.http.get(f"/v1/images/{image['id']}/original")
    assert response.content == data
    assert response.headers["content-type"] == "image/png"
    again = service.http.get(
        f"/v1/images/{image['id']}/original", headers={"If-None-Match": response.headers["etag"]}
    )
    assert again.status_code == 304


def test_idempotency_key_returns_the_first_answer(service: Service) -> None:
    headers = {"Idempotency-Key": "order-42"}
    data = read("jpeg-progressive.jpg")
    first = service.http.post("/v1/images", files={"file": ("a", data)}, headers=headers)
    second = service.http.post(
        "/v1/images", files={"file": ("b", read("webp-lossy.webp"))}, headers=headers
    )
    assert (first.status_code, second.status_code) == (202, 202)
    assert second.json()["id"] == first.json()["id"]
    assert second.headers["idempotent-replay"] == "true"
    assert len(service.http.get("/v1/images").json()["items"]) == 1


def test_unknown_profile_is_422_and_stores_nothing(service: Service) -> None:
    response = service.upload(read("jpeg-progressive.jpg"), profiles="thumb_200,poster")
    assert response.status_code == 422
    error = response.json()["error"]
    assert error["code"] == "unknown_profile"
    assert "poster" in error["message"]
    assert "thumb_200" in error["message"]
    assert service.objects() == []


def test_json_base64_upload_and_add_profiles(service: Service) -> None:
    import base64

    data = base64.b64encode(read("webp-lossy.webp")).decode()
    created = service.http.post(
        "/v1/images", json={"data": data, "profiles": ["thumb_200"], "owner_id": "u1"}
    )
    assert created.status_code == 202
    image_id = created.json()["id"]
    assert created.headers["location"] == f"/v1/images/{image_id}"
    service.wait(image_id)
    added = service.http.post(f"/v1/images/{image_id}/variants", json={"profiles": ["avatar"]})
    assert added.status_code == 202
    final = service.wait(image_id)
    assert {v["profile"]: v["status"] for v in final["variants"]} == {
        "avatar": "done",
        "thumb_200": "done",
    }
    duplicate = service.http.post(f"/v1/images/{image_id}/variants", json={"profiles": ["avatar"]})
    assert duplicate.status_code == 409


def test_list_filters_and_paginates(service: Service) -> None:
    data = [read(n) for n in ("webp-lossy.webp", "gif-static.gif", "tiff-rgb-lzw.tif")]
    ids = [
        service.upload(d, profiles="avatar", owner_id=f"o{i % 2}").json()["id"]
        for i, d in enumerate(data)
    ]
    seen, cursor = [], None
    while True:
        params = {"limit": 2} | ({"cursor": cursor} if cursor else {})
        page = service.http.get("/v1/images", params=params).json()
        seen += [item["id"] for item in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == list(reversed(ids))
    owned = service.http.get("/v1/images", params={"owner_id": "o0"}).json()["items"]
    assert [i["id"] for i in owned] == [ids[2], ids[0]]


def test_bad_requests_get_clear_errors(service: Service, tmp_path: Path) -> None:
    no_file = service.http.post(
        "/v1/images", data={"profiles": "avatar"}, files={"other": ("x", b"1")}
    )
    assert no_file.status_code == 400
    assert "'file'" in no_file.json()["error"]["message"]
    both = service.http.post("/v1/images", json={"data": "AAAA", "url": "http://x"})
    assert both.status_code == 400
    plain = service.http.post(
        "/v1/images", content=b"hello", headers={"content-type": "text/plain"}
    )
    assert plain.status_code == 400
    bad64 = service.http.post("/v1/images", json={"data": "%%%"})
    assert bad64.json()["error"]["message"] == "'data' is not valid base64."
    missing = service.http.get("/v1/images/nope")
    assert missing.status_code == 404
    assert missing.json()["error"]["code"] == "not_found"


def test_broken_multipart_bodies_are_400_naming_the_problem(service: Service) -> None:
    boundary = "darkroom-test-boundary"
    headers = {"content-type": f"multipart/form-data; boundary={boundary}"}
    no_name = f"--{boundary}\r\nContent-Disposition: form-data\r\n\r\nx\r\n--{boundary}--\r\n"
    answer = service.http.post("/v1/images", content=no_name.encode(), headers=headers)
    assert answer.status_code == 400, answer.text
    assert answer.json()["error"]["code"] == "invalid_request"
    assert '"name" must be provided' in answer.json()["error"]["message"]
    two_files = service.http.post(
        "/v1/images", files=[("file", ("a.jpg", b"1")), ("file", ("b.jpg", b"2"))]
    )
    assert two_files.status_code == 400
    assert "Too many files" in two_files.json()["error"]["message"]


def test_a_photo_of_several_megabytes_is_read_in_memory(
    service: Service, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Starlette would spool a file over 1 MiB to a temporary file; the upload keeps it.
    spooled: list[int] = []
    original = tempfile.SpooledTemporaryFile.rollover

    def rollover(self: tempfile.SpooledTemporaryFile[bytes]) -> None:
        spooled.append(1)
        original(self)

    monkeypatch.setattr(tempfile.SpooledTemporaryFile, "rollover", rollover)
    data = read("jpeg-adobergb-heavy-xmp-2000x1072.jpg")
    assert len(data) > 1 << 20
    answer = service.upload(data, profiles="avatar")
    assert answer.status_code == 202, answer.text
    assert service.wait(answer.json()["id"])["status"] == "done"
    assert spooled == []
    assert service.http.get(f"/v1/images/{answer.json()['id']}/original").content == data


def test_upload_over_the_limit_is_413(tmp_path: Path) -> None:
    for service in start_service(tmp_path, max_upload_bytes=200_000)():
        response = service.upload(read("jpeg-icc-400kb-progressive.jpg"))
        assert response.status_code == 413
        assert response.json()["error"]["code"] == "image_too_large"
        assert service.objects() == []


def test_output_formats_follow_the_profile(service: Service) -> None:
    spec = {"width": 64, "height": 64, "fit": "cover", "format": "avif"}
    assert service.http.put("/v1/profiles/tiny_avif", json=spec).status_code == 200
    image = service.upload(read("jpeg-progressive.jpg"), profiles="tiny_avif").json()
    final = service.wait(image["id"])
    variant = final["variants"][0]
    assert (variant["format"], variant["width"], variant["height"]) == (
        ImageFormat.AVIF.value,
        64,
        64,
    )


def test_concurrent_requests_with_one_idempotency_key_make_one_image(service: Service) -> None:
    from concurrent.futures import ThreadPoolExecutor

    data = read("webp-lossy.webp")

    def post(_: int) -> tuple[int, str]:
        response = service.http.post(
            "/v1/images", files={"file": ("a", data)}, headers={"Idempotency-Key": "same"}
        )
        return response.status_code, response.json()["id"]

    with ThreadPoolExecutor(6) as pool:
        results = list(pool.map(post, range(6)))
    assert {status for status, _ in results} == {202}
    assert len({image_id for _, image_id in results}) == 1
    assert len(service.http.get("/v1/images").json()["items"]) == 1


def test_reconciler_recovers_a_variant_whose_worker_vanished(tmp_path: Path) -> None:
    from datetime import timedelta

    from darkroom.db.schema import Status, utcnow

    # A lease long enough that no render outlives it however loaded the machine: the one
    # below is expired by hand.
    for service in start_service(tmp_path, lease_seconds=10)():
        image = service.upload(read("webp-lossy.webp"), profiles="avatar").json()
        service.wait(image["id"])
        # As if a worker had claimed it again and died: processing, lease long expired.
        with service.runtime.ctx.sessions.begin() as session:
            session.execute(
                sa.update(ImageVariant)
                .where(ImageVariant.image_id == image["id"])
                .values(status=Status.PROCESSING, lease_until=utcnow() - timedelta(seconds=5))
            )
            session.execute(
                sa.update(Image).where(Image.id == image["id"]).values(status=Status.PROCESSING)
            )
        final = service.wait(image["id"], timeout=20)
        assert final["status"] == "done"
        assert final["variants"][0]["attempts"] == 2


def test_the_variants_of_an_upload_come_from_one_read_and_decode(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # One worker thread, so that the first message takes its siblings before any other
    # message is handled; each of those then finds its variant done. Without the upload's
    # handoff, so that the worker reads and decodes (tests/integration/test_handoff.py).
    with contextmanager(start_service(tmp_path, workers=1, upload_handoff_bytes=0))() as service:
        outside = {"crop": {"left": 0, "top": 0, "width": 5000, "height": 5000}}
        assert service.http.put("/v1/profiles/broken", json=outside).status_code == 200
        store = service.runtime.ctx.originals
        reads: list[str] = []
        real_get = store.get

        def counting_get(key: str) -> bytes:
            reads.append(key)
            return real_get(key)

        decodes: list[int] = []
        real_base = shared_base

        def counting_base(*args: Any, **kwargs: Any) -> Any:
            made = real_base(*args, **kwargs)
            decodes.append(0 if made is None else 1)
            return made

        monkeypatch.setattr(store, "get", counting_get)
        monkeypatch.setattr(variants_service, "shared_base", counting_base)
        image_id = service.upload(
            read("photo-flickr-2725x2225.jpg"), profiles="thumb_200,webp_800,avatar,broken"
        ).json()["id"]
        image = service.wait(image_id)
        statuses = {v["profile"]: v["status"] for v in image["variants"]}
        # One variant's failure does not fail its siblings.
        assert statuses == {
            "avatar": "done",
            "broken": "failed",
            "thumb_200": "done",
            "webp_800": "done",
        }
        original = [key for key in reads if key.startswith("originals/")]
        assert len(original) == 1, original  # one read for the first attempt of all four
        assert decodes == [1]
        sizes = {v["profile"]: (v["width"], v["height"]) for v in image["variants"]}
        assert sizes["thumb_200"] == (200, 200)
        assert sizes["webp_800"] == (800, 653)
        assert sizes["avatar"] == (128, 128)


def test_an_upload_queues_its_variants_itself_and_added_ones_go_through_dispatch(
    service: Service, monkeypatch: pytest.MonkeyPatch
) -> None:
    dispatched: list[str] = []
    real_dispatch = variants_service.dispatch

    def counting_dispatch(ctx: Any, image_id: str) -> int:
        dispatched.append(image_id)
        return real_dispatch(ctx, image_id)

    monkeypatch.setattr(variants_service, "dispatch", counting_dispatch)
    image_id = service.upload(read("jpeg-progressive.jpg"), profiles="thumb_200,avatar").json()[
        "id"
    ]
    assert service.wait(image_id)["status"] == "done"
    assert dispatched == []  # no dispatch hop between an upload and its variants
    added = service.http.post(f"/v1/images/{image_id}/variants", json={"profiles": ["webp_800"]})
    assert added.status_code in (200, 202), added.text
    final = service.wait(image_id)
    assert {v["profile"]: v["status"] for v in final["variants"]}["webp_800"] == "done"
    assert dispatched == [image_id]


def test_a_group_renders_its_costliest_variant_on_the_claiming_thread(
    service: Service, monkeypatch: pytest.MonkeyPatch
) -> None:
    threads: dict[str, str] = {}
    real_produce = variants_service._produce

    def recording_produce(ctx: Any, variant: ImageVariant, *args: Any) -> Any:
        threads[variant.profile] = threading.current_thread().name
        return real_produce(ctx, variant, *args)

    monkeypatch.setattr(variants_service, "_produce", recording_produce)
    image_id = service.upload(
        read("photo-flickr-2725x2225.jpg"), profiles="thumb_200,avatar,webp_800"
    ).json()["id"]
    assert service.wait(image_id)["status"] == "done"
    assert set(threads) == {"thumb_200", "avatar", "webp_800"}
    pooled = {profile for profile, name in threads.items() if name.startswith("variant")}
    if usable_cpus() < 2:
        assert pooled == set()  # one thread renders them all
    else:
        # The 800 px WebP (the costliest) on the thread that claimed the group, the
        # cheaper two on the pool beside it.
        assert pooled == {"thumb_200", "avatar"}
