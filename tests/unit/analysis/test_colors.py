"""Colours: dominant colours, and BlurHash/ThumbHash/pHash against their reference values.

The reference values were computed outside the project: BlurHash by woltapp's C encoder
(`blurhash-python` 1.2.2), ThumbHash by Evan Wallace's `js/thumbhash.js` under Node, pHash
by `imagehash` 4.3.2, on the same pixels. None of those is a dependency.
"""

from __future__ import annotations

import base64
import re
import subprocess
import sys
from pathlib import Path

import pytest
import pyvips
from PIL import Image

from darkroom.analysis import colors, image_hashes
from darkroom.analysis.picture import Picture, load_picture

CORPUS = Path(__file__).parents[2] / "fixtures" / "corpus"
HEX = re.compile(r"^#[0-9a-f]{6}$")

# imagehash.phash(Image.open(file).convert("RGB")), on the stored (not re-oriented) pixels.
IMAGEHASH_PHASH = {
    "exif-orient-1-landscape.jpg": "d6cd9bb2383264e4",
    "jpeg-baseline-srgb-icc.jpg": "cc8c73632327c6ce",
    "photo-flickr-2725x2225.jpg": "cc7efa1954c403e3",
    "jpeg-progressive.jpg": "8497798763b906f1",
    "webp-lossy.webp": "b7d8da6d82b08ca6",
    "jpeg-mpo-stereo-2frames.mpo": "87327804d455afcf",
}


def synthetic(width: int, height: int, *, alpha: bool = False) -> bytes:
    """A fixed test pattern: two gradients and a bright disc; alpha fading to one corner."""
    out = bytearray()
    for y in range(height):
        for x in range(width):
            inside = (x - width * 0.6) ** 2 + (y - height * 0.4) ** 2 < (height * 0.25) ** 2
            r = 240 if inside else x * 255 // (width - 1)
            g = 220 if inside else y * 255 // (height - 1)
            b = 40 if inside else 128
            out += bytes((r, g, b))
            if alpha:
                out.append(255 - (x * y * 255) // ((width - 1) * (height - 1)))
    return bytes(out)


def _picture_of(rgb: bytes, width: int, height: int) -> Picture:
    image = pyvips.Image.new_from_memory(rgb, width, height, 3, "uchar")
    return Picture(image.copy(interpretation="srgb"), 1.0, width, height)


def _photo(name: str) -> Picture:
    return load_picture((CORPUS / name).read_bytes(), colors.MAX_SIDE)


def _hamming(a: str, b: str) -> int:
    return bin(int(a, 16) ^ int(b, 16)).count("1")


@pytest.mark.parametrize(
    ("width", "height", "expected"),
    [
        (32, 24, "L.JRf?1zVgteu@WEV_ocNyocxVRo"),
        (24, 32, "L+Ke6x1hM,b@u;V_RofPI]kRxVjb"),
        (100, 100, "L:J*wj1gRDo[u;WERoocJVouxVV{"),
    ],
)
def test_blurhash_matches_the_reference_encoder(width: int, height: int, expected: str) -> None:
    assert image_hashes.encode_blurhash(width, height, synthetic(width, height)) == expected


@pytest.mark.parametrize(
    ("width", "height", "alpha", "expected"),
    [
        (32, 24, False, "4fgJTZpgiHdxh3iGeGeIh0BzBPiI"),
        (24, 32, False, "YukJVRhQh3KHaJhYiId4iDB1AveI"),
        (100, 100, False, "IfkJTxhQiHdyh3iGeFeId4iHCEM3gI8I"),
        (60, 45, True, "XviFNJQrQIhSh4VYCEI1cI/5h/eEd3h4Bw=="),
    ],
)
def test_thumbhash_matches_the_reference_encoder(
    width: int, height: int, alpha: bool, expected: str
) -> None:
    pixels = synthetic(width, height, alpha=alpha)
    rgba = Image.frombytes("RGBA" if alpha else "RGB", (width, height), pixels).convert("RGBA")
    encoded = image_hashes.encode_thumbhash(width, height, rgba.tobytes())
    assert base64.b64encode(encoded).decode() == expected


def test_thumbhash_refuses_more_than_100_pixels() -> None:
    with pytest.raises(ValueError, match="doesn't fit"):
        image_hashes.encode_thumbhash(101, 10, bytes(101 * 10 * 4))


def test_thumbhash_of_a_flat_image_does_not_depend_on_rounding_noise() -> None:
    """Every AC term of a flat image is 0: all the AC nibbles are then 0."""
    encoded = image_hashes.encode_thumbhash(40, 30, bytes((90, 140, 200, 255)) * (40 * 30))
    assert set(encoded[5:]) == {0}


def test_analyze_hashes_a_small_picture_as_the_references_do() -> None:
    """A 32x24 picture is below every thumbnail size: its hashes are the reference values."""
    result = colors.analyze(_picture_of(synthetic(32, 24), 32, 24))
    assert result["blurhash"] == "L.JRf?1zVgteu@WEV_ocNyocxVRo"
    assert result["thumbhash"] == "4fgJTZpgiHdxh3iGeGeIh0BzBPiI"


@pytest.mark.parametrize("name", sorted(IMAGEHASH_PHASH))
def test_phash_equals_imagehash_on_the_same_pixels(name: str) -> None:
    with Image.open(CORPUS / name) as image:
        assert image_hashes.phash(image.convert("RGB")) == IMAGEHASH_PHASH[name]


@pytest.mark.parametrize("name", sorted(IMAGEHASH_PHASH))
def test_phash_of_the_picture_is_within_two_bits_of_imagehash(name: str) -> None:
    """The picture is a 512 px, sRGB-converted thumbnail of the original imagehash reads."""
    assert _hamming(colors.analyze(_photo(name))["phash"], IMAGEHASH_PHASH[name]) <= 2


def test_phash_is_stable_under_resizing() -> None:
    data = (CORPUS / "jpeg-baseline-srgb-icc.jpg").read_bytes()
    smaller = pyvips.Image.new_from_buffer(data, "").resize(0.4).jpegsave_buffer(Q=80)
    full = colors.analyze(load_picture(data, colors.MAX_SIDE))["phash"]
    small = colors.analyze(load_picture(smaller, colors.MAX_SIDE))["phash"]
    assert _hamming(full, small) <= 4


def test_phash_differs_between_photos() -> None:
    hashes = [colors.analyze(_photo(name))["phash"] for name in sorted(IMAGEHASH_PHASH)]
    for i, a in enumerate(hashes):
        for b in hashes[i + 1 :]:
            assert _hamming(a, b) > 16


@pytest.mark.parametrize("suffix", [".png", ".jpg"])
def test_half_red_half_blue_has_two_colours_of_half_each(suffix: str) -> None:
    red = pyvips.Image.black(300, 200).new_from_image([255, 0, 0])
    blue = pyvips.Image.black(300, 200).new_from_image([0, 0, 255])
    image = red.join(blue, "horizontal").cast("uchar").copy(interpretation="srgb")
    data = image.write_to_buffer(suffix)
    dominant = colors.analyze(load_picture(data, colors.MAX_SIDE))["dominant"]
    top = {entry["hex"]: entry["fraction"] for entry in dominant[:2]}
    assert _near(top, "#ff0000") == pytest.approx(0.5, abs=0.03)
    assert _near(top, "#0000ff") == pytest.approx(0.5, abs=0.03)


def _near(found: dict[str, float], wanted: str) -> float:
    """The share of the colour in `found` within a few levels of `wanted` per channel."""
    target = [int(wanted[i : i + 2], 16) for i in (1, 3, 5)]
    for hex_, fraction in found.items():
        rgb = [int(hex_[i : i + 2], 16) for i in (1, 3, 5)]
        if all(abs(a - b) <= 8 for a, b in zip(rgb, target, strict=True)):
            return fraction
    raise AssertionError(f"{wanted} not among {found}")


@pytest.mark.parametrize(
    "name", ["exif-orient-1-landscape.jpg", "png-rgba-transparency.png", "webp-lossy.webp"]
)
def test_dominant_colours_are_five_at_most_largest_first_and_cover_the_picture(
    name: str,
) -> None:
    dominant = colors.analyze(_photo(name))["dominant"]
    assert 1 <= len(dominant) <= colors.DOMINANT_COLOURS
    assert all(HEX.match(entry["hex"]) for entry in dominant)
    fractions = [entry["fraction"] for entry in dominant]
    assert fractions == sorted(fractions, reverse=True)
    assert sum(fractions) == pytest.approx(1, abs=0.001)


def test_dice_on_white_find_white_and_the_dice_colours() -> None:
    dominant = colors.analyze(_photo("png-rgba-transparency.png"))["dominant"]
    assert dominant[0]["hex"] >= "#f0f0f0"  # transparency flattened on white: most of it
    hues = {_hue(entry["hex"]) for entry in dominant[1:]}
    assert {"red", "green", "blue"} <= hues


def _hue(hex_: str) -> str:
    r, g, b = (int(hex_[i : i + 2], 16) for i in (1, 3, 5))
    return {r: "red", g: "green", b: "blue"}[max(r, g, b)]


def test_analysis_is_deterministic_and_json_ready() -> None:
    picture = _photo("exif-orient-1-landscape.jpg")
    first = colors.analyze(picture)
    assert colors.analyze(picture) == first
    assert set(first) == {"dominant", "blurhash", "thumbhash", "phash"}
    assert re.fullmatch(r"[0-9a-f]{16}", first["phash"])
    assert len(first["blurhash"]) == 28  # 4x3 components
    assert len(base64.b64decode(first["thumbhash"])) >= 5


def test_model_info_is_the_algorithms_version() -> None:
    info = colors.model_info()
    assert (info.name, info.version) == ("darkroom-colors", colors.ALGORITHM_VERSION)
    assert colors.EXTRA is None


def test_runs_without_numpy() -> None:
    """Colours need no numpy (the server install has it only for decoding JPEGs)."""
    script = (
        "import sys; sys.modules['numpy'] = None\n"
        "from darkroom.analysis import colors\n"
        "from darkroom.analysis.picture import load_picture\n"
        f"data = open({str(CORPUS / 'webp-lossy.webp')!r}, 'rb').read()\n"
        "print(colors.analyze(load_picture(data, colors.MAX_SIDE))['phash'])\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stderr
    assert re.fullmatch(r"[0-9a-f]{16}\n", done.stdout)
