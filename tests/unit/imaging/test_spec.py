"""The spec model: validation messages, canonical form and a stable spec_hash."""

from __future__ import annotations

import base64
import random
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from darkroom import errors
from darkroom.imaging import RGBA, Fit, Gravity, OutputFormat, TransformSpec
from darkroom.imaging.colors import parse_color

BASE: dict[str, Any] = {
    "width": 500,
    "height": 300,
    "fit": "cover",
    "gravity": "north",
    "format": "webp",
    "quality": 70,
    "background": "#102030",
    "rotate": 90,
    "blur": 1.5,
    "sharpen": 1.0,
    "dpr": 2,
    "crop": {"left": 1, "top": 2, "width": 300, "height": 200},
    "flip": True,
    "flop": True,
    "enlarge": True,
    "strip": False,
    "auto_orient": False,
    "watermark": {"text": "(c) me", "position": "sw", "opacity": 0.3},
}


def spec(**fields: Any) -> TransformSpec:
    return TransformSpec.coerce(fields)


def invalid(**fields: Any) -> errors.InvalidSpec:
    with pytest.raises(errors.InvalidSpec) as caught:
        TransformSpec.coerce(fields)
    assert caught.value.status_code == 422
    return caught.value


def test_defaults() -> None:
    s = spec()
    assert s.fit is Fit.CONTAIN
    assert s.gravity is Gravity.CENTRE
    assert s.format is OutputFormat.ORIGINAL
    assert (s.auto_orient, s.strip, s.enlarge, s.dpr) == (True, True, False, 1.0)
    assert s.canonical() == {}


def test_aliases_normalise() -> None:
    s = spec(width=10, height=10, fit="COVER", gravity="ne", format="jpg", rotate=-90)
    assert (s.fit, s.gravity, s.format, s.rotate) == (
        Fit.COVER,
        Gravity.NORTHEAST,
        OutputFormat.JPEG,
        270,
    )
    assert spec(width=10, height=10, fit="pad", gravity="center").gravity is Gravity.CENTRE


@pytest.mark.parametrize(
    ("fields", "needle"),
    [
        ({"width": 0}, "width: Input should be greater than or equal to 1"),
        ({"width": 20000}, "width: Input should be less than or equal to 16383"),
        ({"width": 100, "fit": "cover"}, "fit=cover needs both width and height"),
        ({"height": 100, "fit": "fill"}, "fit=fill needs both width and height"),
        ({"width": 9000, "dpr": 2}, "width x dpr must not exceed 16383"),
        ({"rotate": 45}, "rotate must be a multiple of 90"),
        ({"fit": "stretch"}, "fit: Input should be 'contain', 'cover', 'fill' or 'pad'"),
        ({"gravity": "face", "width": 1, "height": 1, "fit": "pad"}, "use it with fit=cover"),
        ({"gravity": "face", "width": 1}, "gravity only applies to fit=cover or fit=pad"),
        ({"redact": {"faces": "smudge"}}, "redact.faces: Input should be 'blur'"),
        ({"redact": {"faces": "blur"}, "auto_orient": False}, "on the upright image"),
        ({"remove_background": True, "format": "jpeg"}, "format=jpeg cannot keep alpha"),
        ({"remove_background": True, "format": "gif"}, "format=gif cannot keep alpha"),
        ({"gravity": "north", "width": 10}, "gravity only applies to fit=cover or fit=pad"),
        ({"gravity": "attention", "width": 1, "height": 1, "fit": "pad"}, "use it with fit=cover"),
        ({"format": "png", "quality": 50}, "quality applies to jpeg, webp, avif and tiff"),
        ({"format": "jpeg", "lossless": True}, "lossless applies to webp and avif only"),
        (
            {"format": "webp", "lossless": True, "quality": 50},
            "quality has no effect with lossless",
        ),
        ({"format": "webp", "progressive": True}, "progressive applies to jpeg, png and gif"),
        ({"format": "bmp"}, "format: Input should be"),
        ({"quality": 101}, "quality: Input should be less than or equal to 100"),
        ({"background": "nope"}, "background: not a colour: 'nope'"),
        ({"background": "300,0,0"}, "within 0-255"),
        ({"dpr": 5}, "dpr: Input should be less than or equal to 4"),
        ({"crop": {"left": 0, "top": 0, "width": 0, "height": 5}}, "crop.width"),
        ({"watermark": {"position": "se"}}, "exactly one of 'image' or 'text'"),
        ({"watermark": {"text": "x", "image": "AAAA"}}, "exactly one of 'image' or 'text'"),
        ({"watermark": {"image": "not base64!"}}, "base64"),
        ({"watermark": {"text": "x", "position": "attention"}}, "compass point"),
        ({"colour": "red"}, "colour: Extra inputs are not permitted"),
    ],
)
def test_invalid_specs_say_what_to_fix(fields: dict[str, Any], needle: str) -> None:
    error = invalid(**fields)
    assert needle in error.message
    assert error.details
    assert all("message" in d for d in error.details)


def test_lossless_and_quality_allowed_for_negotiated_formats() -> None:
    assert spec(format="auto", quality=50).quality == 50
    assert spec(format="original", lossless=True).lossless


@pytest.mark.parametrize(
    ("text", "rgba"),
    [
        ("#fff", RGBA(255, 255, 255, 255)),
        ("FFF8", RGBA(255, 255, 255, 136)),
        ("#102030", RGBA(16, 32, 48, 255)),
        ("10203040", RGBA(16, 32, 48, 64)),
        ("1, 2, 3", RGBA(1, 2, 3, 255)),
        ("1,2,3,4", RGBA(1, 2, 3, 4)),
        ("transparent", RGBA(0, 0, 0, 0)),
        ([9, 8, 7], RGBA(9, 8, 7, 255)),
    ],
)
def test_colour_spellings(text: Any, rgba: RGBA) -> None:
    assert parse_color(text) == rgba


def test_hash_ignores_field_order_and_spelling() -> None:
    items = list(BASE.items())
    reference = TransformSpec.coerce(dict(items)).spec_hash
    rng = random.Random(7)
    for _ in range(20):
        rng.shuffle(items)
        assert TransformSpec.coerce(dict(items)).spec_hash == reference
    respelled = BASE | {"background": "16,32,48", "gravity": "n", "rotate": 450, "dpr": 2.0}
    respelled = respelled | {
        "watermark": {"opacity": 0.3, "position": "southwest", "text": "(c) me"}
    }
    assert TransformSpec.coerce(respelled).spec_hash == reference


def test_explicit_defaults_hash_like_omitted_ones() -> None:
    assert spec(width=10).spec_hash == spec(width=10, fit="contain", strip=True, dpr=1).spec_hash


CHANGES: list[tuple[str, Any]] = [
    ("width", 501),
    ("height", 301),
    ("fit", "pad"),
    ("gravity", "south"),
    ("format", "avif"),
    ("quality", 71),
    ("background", "#102031"),
    ("rotate", 180),
    ("blur", 1.6),
    ("sharpen", 1.1),
    ("dpr", 3),
    ("crop", {"left": 1, "top": 2, "width": 300, "height": 201}),
    ("flip", False),
    ("flop", False),
    ("enlarge", False),
    ("strip", True),
    ("auto_orient", True),
    ("watermark", {"text": "(c) you", "position": "sw", "opacity": 0.3}),
    ("watermark", {"text": "(c) me", "position": "sw", "opacity": 0.4}),
]


@pytest.mark.parametrize(("field", "value"), CHANGES)
def test_hash_changes_with_every_meaningful_field(field: str, value: Any) -> None:
    assert (
        TransformSpec.coerce(BASE | {field: value}).spec_hash
        != TransformSpec.coerce(BASE).spec_hash
    )


def test_watermark_image_bytes_or_base64() -> None:
    raw = b"\x89PNG\r\n\x1a\nfake"
    a = spec(watermark={"image": raw})
    b = spec(watermark={"image": base64.b64encode(raw).decode()})
    assert a == b
    assert a.spec_hash == b.spec_hash
    assert a.canonical()["watermark"]["image"] == base64.b64encode(raw).decode()


# --- properties --------------------------------------------------------------------------

field_values = st.fixed_dictionaries(
    {},
    optional={
        "width": st.one_of(st.integers(-5, 20000), st.none()),
        "height": st.one_of(st.integers(-5, 20000), st.none()),
        "fit": st.sampled_from(["contain", "cover", "fill", "pad", "zoom", ""]),
        "gravity": st.sampled_from([*(g.value for g in Gravity), "center", "nw", "up"]),
        "format": st.sampled_from([*(f.value for f in OutputFormat), "jpg", "bmp"]),
        "quality": st.integers(-1, 102),
        "rotate": st.integers(-360, 720),
        "blur": st.floats(allow_nan=True, allow_infinity=True),
        "dpr": st.floats(0, 5),
        "lossless": st.booleans(),
        "progressive": st.booleans(),
        "background": st.one_of(st.text(max_size=10), st.lists(st.integers(-1, 300), max_size=5)),
        "enlarge": st.booleans(),
    },
)


@settings(max_examples=300, deadline=None)
@given(field_values)
def test_validation_never_raises_anything_but_invalid_spec(fields: dict[str, Any]) -> None:
    try:
        parsed = TransformSpec.coerce(fields)
    except errors.InvalidSpec as exc:
        assert exc.message.startswith("Invalid transformation: ")
        return
    again = TransformSpec.coerce(parsed.canonical())
    assert again == parsed
    assert again.spec_hash == parsed.spec_hash
