"""Render behaviour checked on pixels: orientation, colour, alpha, animation, geometry, marks."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
import pyvips

from darkroom import errors
from darkroom.imaging import ImageFormat, Limits, render
from tests.corpus import read


def decode(data: bytes, **options: Any) -> pyvips.Image:
    return pyvips.Image.new_from_buffer(data, "", **options)


def mean_abs_diff(a: pyvips.Image, b: pyvips.Image) -> float:
    return float((a.cast("float") - b.cast("float")).abs().avg())


def max_abs_diff(a: pyvips.Image, b: pyvips.Image) -> float:
    return float((a.cast("float") - b.cast("float")).abs().max())


def pixel(image: pyvips.Image, x: int, y: int) -> list[float]:
    return list(image.getpoint(x, y))


def solid(like: pyvips.Image, colour: list[float]) -> pyvips.Image:
    """An image of `like`'s size filled with `colour`."""
    return like.new_from_image(colour)


def share_near(image: pyvips.Image, colour: list[float], tolerance: float = 2) -> float:
    """The fraction of pixels within `tolerance` of `colour` in every band."""
    near = (image.cast("float") - solid(image, colour).cast("float")).abs() <= tolerance
    every_band = near.bandand() if near.bands > 1 else near
    return float(every_band.avg()) / 255


def masked(image: pyvips.Image, mask: pyvips.Image) -> pyvips.Image:
    """`image` where `mask` is set, 0 elsewhere."""
    return mask.ifthenelse(image, 0)


def edge_energy(image: pyvips.Image) -> float:
    """Mean absolute Laplacian of the luminance: the image's high-frequency detail."""
    laplacian = pyvips.Image.new_from_array([[-1, -1, -1], [-1, 8, -1], [-1, -1, -1]])
    return float(image.colourspace("b-w").conv(laplacian).abs().avg())


def changed_box(a: pyvips.Image, b: pyvips.Image) -> tuple[int, int, int, int] | None:
    """(left, top, right, bottom), inclusive, of the pixels that differ; None if none do."""
    changed = (a.cast("float") - b.cast("float")).abs().bandmean() > 0
    columns, rows = changed.project()
    xs = [x for x in range(changed.width) if columns.getpoint(x, 0)[0] > 0]
    ys = [y for y in range(changed.height) if rows.getpoint(0, y)[0] > 0]
    return (min(xs), min(ys), max(xs), max(ys)) if xs else None


def two_colour(width: int = 400, height: int = 200, *, vertical: bool = True) -> bytes:
    """A PNG whose left (or top) half is red and right (or bottom) half is blue."""
    red = pyvips.Image.black(width, height).new_from_image([255, 0, 0])
    blue = red.new_from_image([0, 0, 255])
    if vertical:
        image = red.crop(0, 0, width // 2, height).join(
            blue.crop(0, 0, width // 2, height), "horizontal"
        )
    else:
        image = red.crop(0, 0, width, height // 2).join(
            blue.crop(0, 0, width, height // 2), "vertical"
        )
    return bytes(image.copy(interpretation="srgb").cast("uchar").pngsave_buffer())


RED, BLUE = [255.0, 0.0, 0.0], [0.0, 0.0, 255.0]


# --- orientation -----------------------------------------------------------------------


@pytest.mark.parametrize("shape", ["landscape", "portrait"])
def test_all_exif_orientations_come_out_upright_and_alike(shape: str) -> None:
    spec = {"width": 120, "height": 120, "format": "png"}
    results = [render(read(f"exif-orient-{n}-{shape}.jpg"), spec) for n in range(1, 9)]
    sizes = {(r.width, r.height) for r in results}
    assert sizes == ({(120, 80)} if shape == "landscape" else {(80, 120)})
    reference = decode(results[0].data)
    for n, result in enumerate(results[1:], start=2):
        assert mean_abs_diff(decode(result.data), reference) < 8, f"orientation {n}"
        assert decode(result.data).get_typeof("orientation") == 0


def test_auto_orient_off_keeps_stored_pixels() -> None:
    upright = decode(
        render(read("exif-orient-1-landscape.jpg"), {"width": 120, "format": "png"}).data
    )
    stored = decode(
        render(
            read("exif-orient-3-landscape.jpg"),
            {"width": 120, "format": "png", "auto_orient": False},
        ).data
    )
    # Orientation 3 stores the picture turned 180 degrees: left as stored, it is exactly the
    # upright picture turned over, not the upright one and not a mirror image.
    assert mean_abs_diff(stored.rot180(), upright) < 2
    assert mean_abs_diff(stored, upright) > 20
    assert mean_abs_diff(stored.fliphor(), upright) > 20
    assert mean_abs_diff(stored.flipver(), upright) > 20


# --- colour ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "fmt", "bands"),
    [
        ("jpeg-cmyk-no-icc.jpg", "jpeg", 3),
        ("jpeg-cmyk-icc-swop.jpg", "png", 3),
        ("png-16bit-rgb.png", "png", 3),
        ("png-16bit-rgba.png", "png", 4),
        ("tiff-16bit-adobergb-photoshop.tif", "tiff", 3),
        ("png-palette-trns.png", "png", 4),
        ("png-palette-2bit-opaque.png", "png", 3),
        ("png-grey-alpha-8bit.png", "png", 4),
        ("png-grey-alpha-8bit.png", "jpeg", 3),
        ("png-16bit-grey-alpha-icc.png", "webp", 4),
        ("jpeg-grayscale.jpg", "jpeg", 3),
        ("tiff-cielab.tif", "jpeg", 3),
    ],
)
def test_output_is_8bit_srgb_with_right_bands(name: str, fmt: str, bands: int) -> None:
    out = decode(render(read(name), {"width": 64, "format": fmt}).data)
    assert out.format == "uchar"
    assert out.bands == bands
    assert out.interpretation == "srgb"


def test_cmyk_with_and_without_profile_look_alike() -> None:
    spec = {"width": 100, "format": "png"}
    plain = decode(render(read("jpeg-cmyk-no-icc.jpg"), spec).data)
    profiled = decode(render(read("jpeg-cmyk-icc-swop.jpg"), spec).data)
    assert mean_abs_diff(plain, profiled) < 20


def test_embedded_profile_is_honoured() -> None:
    data = read("jpeg-adobergb-heavy-xmp-2000x1072.jpg")
    ours = decode(render(data, {"width": 200, "format": "png"}).data)
    # Adobe RGB numbers read as if they were sRGB, and the same converted through the profile.
    # Decoded at the scale the render takes (1/4 of 2000x1072 for 200 px wide), resized to
    # exactly the size libvips' thumbnail gives (200x107).
    shrunk = pyvips.Image.new_from_buffer(data, "", shrink=4)
    naive = shrunk.thumbnail_image(200, height=107, size="force").copy_memory()
    assert naive.get_typeof("icc-profile-data") != 0
    converted = naive.icc_transform("srgb")
    assert max_abs_diff(ours, converted) <= 1
    # The conversion matters on this picture: saturated pixels move by up to ~24 levels.
    assert max_abs_diff(ours, naive) >= 10
    assert mean_abs_diff(ours, naive) > 1


def test_strip_controls_metadata() -> None:
    data = read("jpeg-baseline-srgb-icc.jpg")
    stripped = decode(render(data, {"width": 100, "format": "jpeg"}).data)
    kept = decode(render(data, {"width": 100, "format": "jpeg", "strip": False}).data)
    for field in ("exif-data", "xmp-data", "icc-profile-data"):
        assert stripped.get_typeof(field) == 0, field
        assert kept.get_typeof(field) != 0, field


# --- alpha -------------------------------------------------------------------------------


def test_transparent_png_to_jpeg_uses_background() -> None:
    data = read("png-rgba-transparency.png")
    assert decode(data).getpoint(0, 0)[3] == 0  # the corner is fully transparent
    transparent = decode(data)[3] == 0  # two thirds of this image
    red = decode(render(data, {"format": "jpeg", "background": "red"}).data)
    white = decode(render(data, {"format": "jpeg"}).data)
    assert red.bands == 3
    assert pixel(red, 0, 0) == pytest.approx(RED, abs=3)
    assert pixel(white, 0, 0) == pytest.approx([255, 255, 255], abs=3)
    # Every fully transparent pixel becomes the background (up to JPEG's noise at edges).
    share = float(transparent.avg()) / 255
    for out, colour in ((red, RED), (white, [255.0, 255.0, 255.0])):
        off = masked((out.cast("float") - solid(out, colour)).abs().bandmean(), transparent)
        assert float(off.avg()) / share < 2


@pytest.mark.parametrize("fmt", ["png", "webp", "avif", "tiff"])
def test_alpha_kept_where_format_has_it(fmt: str) -> None:
    data = read("png-rgba-transparency.png")
    out = decode(render(data, {"width": 150, "format": fmt}).data)
    assert out.bands == 4
    assert out.getpoint(0, 0)[3] < 5
    # The alpha channel is the source's, scaled: not flattened, not made opaque.
    expected = pyvips.Image.thumbnail_buffer(data, 150).copy_memory()[3]
    assert mean_abs_diff(out[3], expected) < 3


def test_opaque_background_flattens_even_for_png() -> None:
    source = decode(read("png-rgba-transparency.png"))
    out = decode(
        render(read("png-rgba-transparency.png"), {"format": "png", "background": "blue"}).data
    )
    assert out.bands == 3
    assert pixel(out, 0, 0) == pytest.approx(BLUE, abs=1)
    # Lossless, so exactly: transparent pixels are the background, opaque ones are untouched,
    # and the half-transparent ones in between are blended onto it.
    transparent, opaque = source[3] == 0, source[3] == 255
    assert max_abs_diff(masked(out, transparent), masked(solid(out, BLUE), transparent)) == 0
    colour = source.extract_band(0, n=3)
    assert max_abs_diff(masked(out, opaque), masked(colour, opaque)) == 0
    blended = (source[3] > 0) & (source[3] < 255)
    expected = source.flatten(background=BLUE).cast("uchar")
    assert max_abs_diff(masked(out, blended), masked(expected, blended)) <= 1


def test_resizing_alpha_leaves_no_dark_halo() -> None:
    # White where opaque, *black* where transparent: unpremultiplied resampling would
    # smear the black into the edge pixels.
    size = 301
    alpha = (pyvips.Image.xyz(size, size)[0] > size // 2).ifthenelse(255, 0)
    white = pyvips.Image.black(size, size).new_from_image([255, 255, 255])
    black = white.new_from_image([0, 0, 0])
    colour = (alpha > 0).ifthenelse(white, black)
    image = colour.bandjoin(alpha).copy(interpretation="srgb").cast("uchar")
    out = decode(render(bytes(image.pngsave_buffer()), {"width": 37, "format": "jpeg"}).data)
    assert out.min() >= 250


# --- animation ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "frames"),
    [("gif-animated-earth-44frames.gif", 44), ("gif-animated-loop3-10frames.gif", 10)],
)
def test_animated_gif_to_animated_webp_keeps_frames_and_timing(name: str, frames: int) -> None:
    data = read(name)
    source = decode(data, n=-1)
    result = render(data, {"width": 200, "height": 200, "fit": "cover", "format": "webp"})
    out = decode(result.data, n=-1)
    assert result.frames == frames
    assert out.get("n-pages") == frames
    assert (out.width, out.get("page-height")) == (200, 200)
    assert list(out.get("delay")) == list(source.get("delay"))
    assert out.get("loop") == min(source.get("loop"), 65535)


def test_animation_to_still_format_takes_first_frame() -> None:
    result = render(read("webp-animated-10frames.webp"), {"format": "jpeg"})
    assert (result.frames, result.width, result.height) == (1, 370, 285)


def test_animated_crop_pad_rotate_apply_to_every_frame() -> None:
    spec: dict[str, Any] = {
        "crop": {"left": 1, "top": 1, "width": 360, "height": 280},
        "width": 120,
        "height": 120,
        "fit": "pad",
        "rotate": 90,
        "format": "webp",
        "lossless": True,
    }
    data = read("gif-animated-loop3-10frames.gif")
    out = decode(render(data, spec).data, n=-1)
    assert (out.width, out.get("page-height"), out.get("n-pages")) == (120, 120, 10)
    source = decode(data, n=-1)
    assert list(out.get("delay")) == list(source.get("delay"))
    assert out.get("loop") == source.get("loop")
    # The 360x280 crop turned upright is 280x360: 93x120 once contained, centred between
    # transparent bars 13 px wide. Each frame is its own source frame rendered alone.
    height = source.get("page-height")
    for index in range(10):
        frame = out.crop(0, index * 120, 120, 120)
        assert frame[3].crop(0, 0, 13, 120).max() == 0, index
        assert frame[3].crop(107, 0, 13, 120).max() == 0, index
        assert frame[3].crop(14, 0, 92, 120).min() == 255, index
        still = source.crop(0, index * height, source.width, height)
        alone = decode(render(bytes(still.pngsave_buffer()), spec).data)
        assert mean_abs_diff(frame, alone) < 0.5, index


# --- geometry ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("extra", "colour"),
    [
        ({"gravity": "west"}, RED),
        ({"gravity": "east"}, BLUE),
        ({"gravity": "northwest"}, RED),
        ({"gravity": "west", "flop": True}, BLUE),  # named edges are those of the result
        ({"gravity": "east", "flop": True}, RED),
        ({"gravity": "north", "rotate": 90}, RED),  # the left half turns to the top
        ({"gravity": "south", "rotate": 90}, BLUE),
        ({"gravity": "north", "rotate": 270}, BLUE),
        ({"gravity": "south", "rotate": 90, "flip": True}, RED),
    ],
)
def test_cover_gravity_picks_the_named_edge_of_the_result(
    extra: dict[str, Any], colour: list[float]
) -> None:
    spec = {"width": 100, "height": 100, "fit": "cover", "format": "png"} | extra
    out = decode(render(two_colour(), spec).data)
    assert (out.width, out.height) == (100, 100)
    assert pixel(out, 50, 50) == pytest.approx(colour, abs=2)
    # The whole box is the named half; only the column at the seam may blend the other in.
    assert share_near(out, colour) >= 0.99


def test_cover_centre_keeps_both_halves() -> None:
    out = decode(
        render(two_colour(), {"width": 100, "height": 100, "fit": "cover", "format": "png"}).data
    )
    assert share_near(out.crop(0, 0, 49, 100), RED) == 1
    assert share_near(out.crop(51, 0, 49, 100), BLUE) == 1


def cover_window(gravity: str) -> int:
    """Where a 300x300 cover of the 451x300 resized photo was cut, by exact comparison."""
    data = read("jpeg-progressive.jpg")
    if gravity == "centre":
        resized = decode(render(data, {"height": 300, "format": "png"}).data)
    else:
        # A smart crop weighs the pixels of libvips' own decode (`imaging.load`).
        resized = pyvips.Image.thumbnail_buffer(data, 10_000, height=300).copy_memory()
    assert (resized.width, resized.height) == (451, 300)
    spec = {"width": 300, "height": 300, "fit": "cover", "gravity": gravity, "format": "png"}
    out = decode(render(data, spec).data)
    assert (out.width, out.height) == (300, 300)
    offsets = [x for x in range(152) if max_abs_diff(out, resized.crop(x, 0, 300, 300)) <= 1]
    assert len(offsets) == 1, f"{gravity}: not one window of the resized photo: {offsets}"
    return offsets[0]


@pytest.mark.parametrize("gravity", ["attention", "entropy"])
def test_smart_cover_crops_to_the_box(gravity: str) -> None:
    result = render(
        read("jpeg-progressive.jpg"),
        {"width": 300, "height": 300, "fit": "cover", "gravity": gravity},
    )
    assert (result.width, result.height, result.format) == (300, 300, ImageFormat.JPEG)
    cover_window(gravity)  # cut from the resized photo, neither squashed nor shifted


def test_smart_gravities_choose_their_own_window() -> None:
    windows = {gravity: cover_window(gravity) for gravity in ("centre", "attention", "entropy")}
    assert windows["centre"] == (451 - 300) // 2
    # On this photo both strategies move off the centre, each its own way.
    assert len(set(windows.values())) == 3, windows


def test_pad_places_image_by_gravity_on_background() -> None:
    spec = {
        "width": 400,
        "height": 400,
        "fit": "pad",
        "gravity": "north",
        "background": "#00ff00",
        "format": "png",
    }
    out = decode(render(two_colour(400, 200), spec).data)
    assert (out.width, out.height, out.bands) == (400, 400, 3)
    # Top half: the image itself, unscaled; bottom half: exactly the requested green.
    assert max_abs_diff(out.crop(0, 0, 400, 200), decode(two_colour(400, 200))) == 0
    assert share_near(out.crop(0, 200, 400, 200), [0, 255, 0], tolerance=0) == 1


def test_pad_is_transparent_by_default_where_alpha_is_kept() -> None:
    out = decode(
        render(
            two_colour(400, 200), {"width": 400, "height": 400, "fit": "pad", "format": "webp"}
        ).data
    )
    assert out.bands == 4
    # Centred: transparent bars of 100 px above and below, the opaque image between them.
    assert out[3].crop(0, 0, 400, 100).max() == 0
    assert out[3].crop(0, 300, 400, 100).max() == 0
    assert out[3].crop(0, 100, 400, 200).min() == 255
    image = out.crop(0, 100, 400, 200).extract_band(0, n=3)
    assert mean_abs_diff(image, decode(two_colour(400, 200))) < 2


def test_contain_example_from_the_docs() -> None:
    image = (
        pyvips.Image.black(2000, 1333).new_from_image([90, 120, 150]).copy(interpretation="srgb")
    )
    data = bytes(image.cast("uchar").jpegsave_buffer())
    sizes = {
        fit: render(data, {"width": 500, "height": 500, "fit": fit})
        for fit in ("contain", "cover", "fill", "pad")
    }
    assert {fit: (r.width, r.height) for fit, r in sizes.items()} == {
        "contain": (500, 333),
        "cover": (500, 500),
        "fill": (500, 500),
        "pad": (500, 500),
    }
    padded = decode(sizes["pad"].data)  # centred: white bands above and below
    assert pixel(padded, 250, 5) == pytest.approx([255, 255, 255], abs=3)
    assert pixel(padded, 250, 250) == pytest.approx([90, 120, 150], abs=4)
    # 500x333 between bands of 83 and 84 rows (a few rows of JPEG ringing at the seams).
    assert padded.crop(0, 0, 500, 80).min() >= 250
    assert padded.crop(0, 420, 500, 80).min() >= 250
    middle = padded.crop(0, 90, 500, 320)
    assert [middle[band].avg() for band in range(3)] == pytest.approx([90, 120, 150], abs=3)


def test_crop_happens_before_resize_on_the_upright_image() -> None:
    out = render(
        two_colour(),
        {"crop": {"left": 0, "top": 0, "width": 200, "height": 200}, "width": 50, "format": "png"},
    )
    image = decode(out.data)
    assert (image.width, image.height) == (50, 50)
    # The crop took the red half only; cropping after the resize would let blue in.
    assert share_near(image, RED, tolerance=0) == 1


def test_crop_outside_the_image_is_an_invalid_spec() -> None:
    with pytest.raises(errors.InvalidSpec, match="falls outside the 400x200 image"):
        render(two_colour(), {"crop": {"left": 300, "top": 0, "width": 200, "height": 10}})


def test_rotate_flip_and_width_apply_to_the_result() -> None:
    rotated = render(two_colour(), {"rotate": 90, "width": 100, "format": "png"})
    assert (rotated.width, rotated.height) == (100, 200)
    flipped = decode(render(two_colour(vertical=False), {"flip": True, "format": "png"}).data)
    assert pixel(flipped, 5, 5) == pytest.approx(BLUE, abs=1)


Transform = Callable[[pyvips.Image], pyvips.Image]
ORIENTATIONS: dict[str, Transform] = {
    "none": lambda image: image,
    "flipver": lambda image: image.flipver(),
    "fliphor": lambda image: image.fliphor(),
    "rot180": lambda image: image.rot180(),
    "rot90": lambda image: image.rot90(),
    "rot270": lambda image: image.rot270(),
    "rot90+fliphor": lambda image: image.rot90().fliphor(),
    "rot90+flipver": lambda image: image.rot90().flipver(),
}
"""The eight ways to lay a picture down: which one a spec must give is named below."""


@pytest.mark.parametrize(
    ("extra", "expected"),
    [
        ({"flip": True}, "flipver"),
        ({"flop": True}, "fliphor"),
        ({"flip": True, "flop": True}, "rot180"),
        ({"rotate": 90}, "rot90"),
        ({"rotate": 180}, "rot180"),
        ({"rotate": 270}, "rot270"),
        ({"rotate": 90, "flop": True}, "rot90+fliphor"),
        ({"rotate": 90, "flip": True}, "rot90+flipver"),
    ],
)
def test_rotations_and_mirrors_move_every_pixel(extra: dict[str, Any], expected: str) -> None:
    # A photo, so that a wrong turn or mirror cannot pass by symmetry; PNG, so exactly.
    data = read("jpeg-progressive.jpg")
    plain = decode(render(data, {"width": 300, "format": "png"}).data)
    size = {"height": 300} if extra.get("rotate") in (90, 270) else {"width": 300}
    out = decode(render(data, {"format": "png"} | size | extra).data)
    for name, transform in ORIENTATIONS.items():
        candidate = transform(plain)
        if (candidate.width, candidate.height) != (out.width, out.height):
            continue
        if name == expected:
            assert max_abs_diff(out, candidate) <= 1, name
        else:
            assert mean_abs_diff(out, candidate) > 10, f"looks like {name}, not {expected}"


def test_enlarge_and_dpr() -> None:
    data = read("png-rgba-transparency.png")  # 300x225
    assert (
        render(data, {"width": 600}).width,
        render(data, {"width": 600, "enlarge": True}).width,
    ) == (300, 600)
    doubled = render(read("jpeg-progressive.jpg"), {"width": 200, "dpr": 2})
    assert (doubled.width, doubled.height) == (400, 266)


def test_result_pixel_limit() -> None:
    with pytest.raises(errors.TooManyPixels, match="The result would be 12000x12000"):
        render(read("jpeg-arithmetic-coded.jpg"), {"width": 12000, "height": 12000, "fit": "pad"})
    small = Limits(max_pixels=10_000)
    with pytest.raises(errors.TooManyPixels):
        render(
            read("jpeg-arithmetic-coded.jpg"),
            {"width": 200, "height": 200, "fit": "pad"},
            limits=small,
        )


# --- filters and marks -------------------------------------------------------------------


def test_blur_and_sharpen_change_detail() -> None:
    data = read("jpeg-progressive.jpg")
    plain = decode(render(data, {"width": 300, "format": "png"}).data)
    blurred = decode(render(data, {"width": 300, "format": "png", "blur": 3}).data)
    sharpened = decode(render(data, {"width": 300, "format": "png", "sharpen": 1.5}).data)
    detail = {
        name: edge_energy(img)
        for name, img in (("plain", plain), ("blurred", blurred), ("sharpened", sharpened))
    }
    # Measured: blur keeps 13% of the detail, sharpen nearly doubles it.
    assert detail["blurred"] < detail["plain"] * 0.3
    assert detail["sharpened"] > detail["plain"] * 1.5
    # Neither changes the picture itself: brightness and the coarse content stay put (a
    # filter that darkened or replaced the image would also change the detail).
    for changed in (blurred, sharpened):
        assert changed.avg() == pytest.approx(plain.avg(), abs=2)
        assert mean_abs_diff(changed.gaussblur(6), plain.gaussblur(6)) < 2
    assert mean_abs_diff(sharpened, plain) > 2


def test_blur_is_gaussian_with_the_requested_sigma_times_dpr() -> None:
    data = read("jpeg-progressive.jpg")
    plain = decode(render(data, {"width": 300, "format": "png"}).data)
    blurred = decode(render(data, {"width": 300, "format": "png", "blur": 3}).data)
    distance = {sigma: mean_abs_diff(blurred, plain.gaussblur(sigma)) for sigma in (2, 3, 4)}
    assert distance[3] < 0.5
    assert distance[2] > 1 + distance[3]
    assert distance[4] > 1 + distance[3]
    # dpr=2 doubles the size and the sigma: width 150 at dpr 2 is the 300 px picture, sigma 6.
    doubled = decode(render(data, {"width": 150, "dpr": 2, "format": "png", "blur": 3}).data)
    assert mean_abs_diff(doubled, plain.gaussblur(6)) < 0.5


def test_text_watermark_marks_only_its_corner() -> None:
    data = read("jpeg-progressive.jpg")
    plain = decode(render(data, {"width": 400, "format": "png"}).data)
    spec = {
        "width": 400,
        "format": "png",
        "watermark": {"text": "DARKROOM", "position": "southeast", "opacity": 1, "font_size": 30},
    }
    marked = decode(render(data, spec).data)
    assert (marked.width, marked.height, marked.bands) == (plain.width, plain.height, 3)
    w, h = plain.width, plain.height  # 400x266
    box = changed_box(marked, plain)
    assert box is not None, "the mark left no pixel changed"
    left, top, right, bottom = box
    # One line of 30 px text, set 16 px (the default margin) in from the bottom right corner;
    # nothing outside that box changed.
    assert w - 16 - 4 <= right <= w - 16 - 1, box
    assert h - 16 - 8 <= bottom <= h - 16 - 1, box
    assert 15 <= bottom - top + 1 <= 45, box
    assert 100 <= right - left + 1 <= 250, box
    assert left > w // 4, box
    assert top > h // 2, box
    # Opacity 1 in white: the strokes are pure white, not a tint.
    strokes = marked.crop(left, top, right - left + 1, bottom - top + 1)
    assert float((strokes.bandmean() >= 254).avg()) / 255 > 0.1


def test_image_watermark_with_opacity_and_margin() -> None:
    mark = bytes(
        pyvips.Image.black(50, 50)
        .new_from_image([255, 0, 0])
        .copy(interpretation="srgb")
        .cast("uchar")
        .pngsave_buffer()
    )
    base = bytes(
        pyvips.Image.black(400, 400)
        .new_from_image([0, 0, 255])
        .copy(interpretation="srgb")
        .cast("uchar")
        .pngsave_buffer()
    )
    spec = {
        "format": "png",
        "watermark": {
            "image": mark,
            "position": "northwest",
            "opacity": 0.5,
            "margin": 20,
            "size": 0.25,
        },
    }
    out = decode(render(base, spec).data)
    assert pixel(out, 10, 10) == pytest.approx(BLUE, abs=1)  # inside the margin
    assert pixel(out, 70, 70) == pytest.approx([128, 0, 128], abs=2)  # the mark, half opaque
    assert pixel(out, 130, 130) == pytest.approx(BLUE, abs=1)
    # The mark is a quarter of the 360 px between the margins, 90 px, 20 px in from the top
    # left corner; every pixel under it is the half-and-half blend, none outside changed.
    assert changed_box(out, decode(base)) == (20, 20, 109, 109)
    assert share_near(out.crop(20, 20, 90, 90), [128, 0, 128], tolerance=2) == 1


def test_broken_watermark_image_is_a_typed_error() -> None:
    spec = {"watermark": {"image": read("broken-corrupt-header.png")}}
    with pytest.raises(errors.CorruptImage, match=r"^Watermark image: "):
        render(read("jpeg-progressive.jpg"), spec)


# --- encoders and formats ----------------------------------------------------------------


def test_quality_trades_size() -> None:
    data = read("jpeg-progressive.jpg")
    low, high = (render(data, {"width": 400, "format": "webp", "quality": q}) for q in (30, 90))
    assert low.size < high.size * 0.7


def test_lossless_webp_keeps_pixels_exactly() -> None:
    data = read("png-palette-2bit-opaque.png")
    out = decode(render(data, {"format": "webp", "lossless": True}).data)
    assert mean_abs_diff(out, pyvips.Image.new_from_buffer(data, "")) == 0


def test_progressive_jpeg_and_interlaced_png() -> None:
    data = read("jpeg-baseline-srgb-icc.jpg")
    assert (
        decode(render(data, {"width": 100, "format": "jpeg", "progressive": True}).data).get(
            "interlaced"
        )
        == 1
    )
    assert decode(render(data, {"width": 100, "format": "jpeg"}).data).get_typeof("interlaced") == 0
    assert (
        decode(render(data, {"width": 100, "format": "png", "progressive": True}).data).get(
            "interlaced"
        )
        == 1
    )


@pytest.mark.parametrize(
    ("name", "accept", "fmt"),
    [
        ("jpeg-progressive.jpg", "image/avif,image/webp,*/*", ImageFormat.AVIF),
        ("jpeg-progressive.jpg", "image/webp,*/*;q=0.8", ImageFormat.WEBP),
        ("jpeg-progressive.jpg", "image/avif;q=0,image/webp", ImageFormat.WEBP),
        ("jpeg-progressive.jpg", "*/*", ImageFormat.JPEG),
        ("png-rgba-transparency.png", None, ImageFormat.PNG),
        ("gif-animated-loop3-10frames.gif", "image/avif,image/webp", ImageFormat.WEBP),
        ("gif-animated-loop3-10frames.gif", "image/avif", ImageFormat.GIF),
    ],
)
def test_format_auto_negotiates(name: str, accept: str | None, fmt: ImageFormat) -> None:
    assert render(read(name), {"width": 50, "format": "auto"}, accept=accept).format is fmt


@pytest.mark.parametrize(
    ("name", "fmt"),
    [
        ("webp-lossy.webp", ImageFormat.WEBP),
        ("tiff-rgb-lzw.tif", ImageFormat.TIFF),
        ("gif-static.gif", ImageFormat.GIF),
        ("avif-rgba-transparency.avif", ImageFormat.AVIF),
        ("png-interlaced-rgba.png", ImageFormat.PNG),
    ],
)
def test_format_original_keeps_the_input_format(name: str, fmt: ImageFormat) -> None:
    result = render(read(name), {"width": 40})
    assert result.format is fmt
    assert result.mime_type == f"image/{fmt.value}"
