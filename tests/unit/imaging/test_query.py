"""The URL form of the spec: short names, clear errors, canonical round trip."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from darkroom import errors
from darkroom.imaging import Crop, Fit, Gravity, OutputFormat, TransformSpec, parse_query, to_query


def test_short_names() -> None:
    spec = parse_query(
        "w=500&h=300&fit=cover&g=ne&fmt=webp&q=80&bg=fff&rot=90&flip=1&flop=false&blur=2"
        "&sharpen=1&dpr=2&strip=0&crop=1,2,30,40&enlarge=yes&ao=0&prog=0&lossless=0"
    )
    assert (spec.width, spec.height, spec.fit, spec.gravity) == (
        500,
        300,
        Fit.COVER,
        Gravity.NORTHEAST,
    )
    assert (spec.format, spec.quality, spec.rotate, spec.dpr) == (OutputFormat.WEBP, 80, 90, 2.0)
    assert (spec.flip, spec.flop, spec.strip, spec.enlarge, spec.auto_orient) == (
        True,
        False,
        False,
        True,
        False,
    )
    assert spec.crop == Crop(left=1, top=2, width=30, height=40)
    assert spec.background is not None
    assert spec.background.hex() == "#ffffffff"


def test_long_names_and_signature_ignored() -> None:
    assert parse_query("width=10&format=png&sig=abc") == TransformSpec(
        width=10, format=OutputFormat.PNG
    )


@pytest.mark.parametrize(
    ("query", "field", "needle"),
    [
        ("w=10&zoom=2", "zoom", "unknown option; known:"),
        ("w=10&width=20", "width", "given more than once (also as w)"),
        ("w=10&w=20", "w", "given more than once"),
        ("w=", "w", "needs a value"),
        ("flip=maybe", "flip", "expected a boolean"),
        ("crop=1,2,3", "crop", "expected crop=left,top,width,height"),
        ("w=abc", "w", "Input should be a valid integer"),
        ("w=10&fit=cover", None, "fit=cover needs both width and height"),
        ("crop=0,0,0,5", "crop", "greater than or equal to 1"),
        ("watermark=x", "watermark", "unknown option"),
    ],
)
def test_errors_name_the_query_parameter(query: str, field: str | None, needle: str) -> None:
    with pytest.raises(errors.InvalidSpec) as caught:
        parse_query(query)
    assert needle in caught.value.message
    fields = [d["field"] for d in caught.value.details]
    assert field in fields


def test_to_query_is_canonical() -> None:
    spec = parse_query("h=300&w=500&fit=cover&bg=%23102030&g=north&crop=1,2,3,4&dpr=2")
    assert to_query(spec) == "bg=102030ff&crop=1,2,3,4&dpr=2&fit=cover&g=north&h=300&w=500"
    assert parse_query(to_query(spec)).spec_hash == spec.spec_hash


def test_watermark_cannot_be_a_query() -> None:
    with pytest.raises(errors.InvalidSpec, match="watermark"):
        to_query(TransformSpec.coerce({"watermark": {"text": "x"}}))


query_fields = st.fixed_dictionaries(
    {},
    optional={
        "w": st.integers(1, 4000),
        "h": st.integers(1, 4000),
        "fmt": st.sampled_from(["jpeg", "png", "webp", "avif", "gif", "tiff", "auto", "original"]),
        "rot": st.sampled_from([0, 90, 180, 270]),
        "flip": st.booleans(),
        "blur": st.floats(0.3, 100),
        "dpr": st.sampled_from([1, 1.5, 2, 3, 4]),
        "bg": st.tuples(st.integers(0, 255), st.integers(0, 255), st.integers(0, 255)),
        "crop": st.tuples(
            st.integers(0, 50), st.integers(0, 50), st.integers(1, 50), st.integers(1, 50)
        ),
    },
)


@settings(max_examples=200, deadline=None)
@given(query_fields)
def test_query_round_trip(fields: dict[str, Any]) -> None:
    parts = []
    for key, value in fields.items():
        if isinstance(value, tuple):
            value = ",".join(map(str, value))
        elif isinstance(value, bool):
            value = int(value)
        parts.append(f"{key}={value}")
    try:
        spec = parse_query("&".join(parts))
    except errors.InvalidSpec:
        return  # e.g. width x dpr over the limit
    assert parse_query(to_query(spec)) == spec
