"""The deployment's encoder efforts reach the encoders, and only them; its libvips threads
reach libvips."""

from __future__ import annotations

from pathlib import Path

import pytest
import pyvips

from darkroom.imaging import render
from darkroom.imaging.encode import DEFAULT_ENCODING, Encoding
from darkroom.service.context import build_context
from darkroom.settings import load_settings
from tests.corpus import read

PHOTO = read("jpeg-progressive.jpg")


@pytest.mark.parametrize(("fmt", "field"), [("avif", "avif_effort"), ("webp", "webp_effort")])
def test_an_effort_changes_the_encoding_and_nothing_else(fmt: str, field: str) -> None:
    spec = {"width": 240, "format": fmt}
    low = render(PHOTO, spec, encoding=Encoding(**{field: 0}))
    high = render(PHOTO, spec, encoding=Encoding(**{field: 5}))
    assert low.data != high.data
    assert (low.width, low.height, low.format) == (high.width, high.height, high.format)
    for result in (low, high):
        decoded = pyvips.Image.new_from_buffer(result.data, "")
        assert (decoded.width, decoded.height) == (240, 160)


def test_other_formats_ignore_the_efforts() -> None:
    spec = {"width": 240, "format": "jpeg"}
    assert render(PHOTO, spec, encoding=Encoding(0, 0)).data == render(PHOTO, spec).data


def test_the_defaults_are_the_measured_ones_and_settings_carry_them() -> None:
    assert Encoding(avif_effort=0, webp_effort=4) == DEFAULT_ENCODING
    assert load_settings().encoding() == DEFAULT_ENCODING
    assert load_settings(avif_effort=3, webp_effort=2).encoding() == Encoding(3, 2)


def test_a_service_context_sets_the_libvips_threads_of_its_process(tmp_path: Path) -> None:
    before = pyvips.concurrency_get()
    try:
        for threads in (3, 1):
            settings = load_settings(
                database_url=f"sqlite:///{tmp_path / 'db.sqlite'}",
                storage_url=f"file://{tmp_path / 'objects'}",
                vips_threads=threads,
            )
            build_context(settings).engine.dispose()
            assert pyvips.concurrency_get() == threads
    finally:
        pyvips.concurrency_set(before)
    assert load_settings().vips_threads == 1
