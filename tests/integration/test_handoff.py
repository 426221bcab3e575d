"""The upload's verification decode handed to the same process's workers (`serve`)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from darkroom.service.handoff import Handoff
from tests.corpus import read
from tests.integration.conftest import Service, start_service

PROFILES = "thumb_200,webp_800,avatar"
PHOTOS = ["photo-flickr-2725x2225.jpg", "exif-orient-6-landscape.jpg", "png-16bit-rgb.png"]


def handoffs(service: Service, outcome: str) -> float:
    value = service.runtime.ctx.registry.get_sample_value(
        "darkroom_upload_handoffs_total", {"outcome": outcome}
    )
    return value or 0.0


def variants(service: Service, image: dict[str, object]) -> dict[str, bytes]:
    return {
        variant["profile"]: service.http.get(
            f"/v1/images/{image['id']}/variants/{variant['profile']}"
        ).content
        for variant in image["variants"]  # type: ignore[attr-defined]
    }


@pytest.fixture
def one_worker(tmp_path: Path) -> Iterator[Service]:
    yield from start_service(tmp_path / "on", workers=1)()


@pytest.fixture
def without_handoff(tmp_path: Path) -> Iterator[Service]:
    yield from start_service(tmp_path / "off", workers=1, upload_handoff_bytes=0)()


def test_variants_made_from_the_handoff_are_those_made_from_the_bytes(
    one_worker: Service, without_handoff: Service
) -> None:
    # One worker each: it claims all three variants together and decodes one base for
    # them, the very base the upload hands over; the outputs are then the same bytes.
    service = one_worker
    assert isinstance(service.runtime.ctx.handoff, Handoff)
    assert without_handoff.runtime.ctx.handoff is None
    for name in PHOTOS:
        made = {}
        for side in (service, without_handoff):
            answer = side.upload(read(name), name, profiles=PROFILES)
            assert answer.status_code == 202, answer.text
            image = side.wait(answer.json()["id"])
            assert image["status"] == "done", image
            made[side is service] = variants(side, image)
        assert made[True] == made[False], name
    assert handoffs(service, "used") == len(PHOTOS)
    assert service.runtime.ctx.handoff.size == 0
    assert handoffs(without_handoff, "used") == 0


@pytest.mark.parametrize("name", ["broken-truncated.jpg", "broken-truncated-progressive.jpg"])
def test_a_damaged_upload_is_refused_on_the_handoff_path(service: Service, name: str) -> None:
    answer = service.upload(read(name), name, profiles=PROFILES)
    assert answer.status_code == 422, answer.text
    assert answer.json()["error"]["code"] == "corrupt_image"
    assert service.runtime.ctx.handoff is not None
    assert service.runtime.ctx.handoff.size == 0
    assert service.objects("originals/") == []


def test_without_room_the_upload_verifies_the_usual_way(tmp_path: Path) -> None:
    run = start_service(tmp_path, upload_handoff_bytes=1024)
    for service in run():
        answer = service.upload(read("photo-flickr-2725x2225.jpg"), profiles=PROFILES)
        assert answer.status_code == 202, answer.text
        assert service.wait(answer.json()["id"])["status"] == "done"
        assert handoffs(service, "no_room") == 1
        assert handoffs(service, "used") == 0


def test_formats_a_scaled_decode_may_not_read_whole_are_verified_the_usual_way(
    service: Service,
) -> None:
    for name in ("heic-hevc-256x256.heic", "tiff-rgb-lzw.tif", "gif-animated-loop3-10frames.gif"):
        answer = service.upload(read(name), name, profiles=PROFILES)
        assert answer.status_code == 202, (name, answer.text)
        assert service.wait(answer.json()["id"])["status"] == "done", name
    assert handoffs(service, "used") == 0


def test_damage_only_libvips_sees_is_refused_whichever_path_decodes(
    one_worker: Service, without_handoff: Service
) -> None:
    # A scan cut short and closed with an end marker decodes with only a libjpeg warning;
    # the upload must refuse it with or without a handoff (TurboJPEG stops on the warning
    # and leaves it to libvips, which refuses it), so no stored original is ever damaged.
    photo = read("photo-flickr-2725x2225.jpg")
    damaged = photo[: photo.index(b"\xff\xda") + 20_000] + b"\xff\xd9"
    for side in (one_worker, without_handoff):
        answer = side.upload(damaged, "cut.jpg", profiles=PROFILES)
        assert answer.status_code == 422, answer.text
        assert answer.json()["error"]["code"] == "corrupt_image"
        assert side.objects("originals/") == []
