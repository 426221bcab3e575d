"""Every `ok` corpus file renders to every output format in every fit; every reject is typed."""

from __future__ import annotations

import pytest
import pyvips

from darkroom.imaging import ImageFormat, render
from tests.corpus import Entry, ok_entries, rejected_entries

BOX = (500, 500)
OUTPUTS = [
    ImageFormat.JPEG,
    ImageFormat.PNG,
    ImageFormat.WEBP,
    ImageFormat.AVIF,
    ImageFormat.GIF,
    ImageFormat.TIFF,
]
FITS = ["contain", "cover", "fill", "pad"]
LOADERS = {
    ImageFormat.JPEG: "jpegload_buffer",
    ImageFormat.PNG: "pngload_buffer",
    ImageFormat.WEBP: "webpload_buffer",
    ImageFormat.AVIF: "heifload_buffer",
    ImageFormat.GIF: "gifload_buffer",
    ImageFormat.TIFF: "tiffload_buffer",
}


def expected_size(entry: Entry, fit: str) -> tuple[float, float]:
    """The result size the fit promises, before rounding (enlarge is off)."""
    width, height = entry.upright
    box_w, box_h = BOX
    if fit == "fill":
        return min(box_w, width), min(box_h, height)
    if fit == "pad":
        return box_w, box_h
    if fit == "contain":
        scale = min(box_w / width, box_h / height, 1.0)
        return width * scale, height * scale
    scale = min(max(box_w / width, box_h / height), 1.0)
    return min(box_w, width * scale), min(box_h, height * scale)


def animated_output(entry: Entry, fmt: ImageFormat) -> bool:
    """Whether the output keeps the input's frames."""
    return (
        entry.pages > 1
        and entry.category in ("gif", "webp", "bomb")
        and fmt
        in (
            ImageFormat.GIF,
            ImageFormat.WEBP,
        )
    )


def combinations() -> list[object]:
    """Ok files x output formats x fits, as two Latin squares.

    Each file is rendered to every output format with two of the four fits: one in the fast
    tier and the opposite one (contain with fill, cover with pad) marked slow. The fits
    rotate with the file and the format, so every file meets every format and every fit,
    and every format meets every fit on half of the files. The other two fits of each pair
    would double the renders for little: a fit's geometry does not depend on the format.
    """
    params: list[object] = []
    for index, entry in enumerate(ok_entries()):
        for position, fmt in enumerate(OUTPUTS):
            fast = (index + position) % len(FITS)
            for fit in (FITS[fast], FITS[(fast + 2) % len(FITS)]):
                params.append(
                    pytest.param(
                        entry,
                        fmt,
                        fit,
                        id=f"{entry.file}-{fmt}-{fit}",
                        marks=() if fit == FITS[fast] else pytest.mark.slow,
                    )
                )
    return params


@pytest.mark.parametrize(("entry", "fmt", "fit"), combinations())
def test_ok_file_renders_with_expected_geometry(entry: Entry, fmt: ImageFormat, fit: str) -> None:
    spec = {"width": BOX[0], "height": BOX[1], "fit": fit, "format": fmt.value}
    result = render(entry.read(), spec)

    want_w, want_h = expected_size(entry, fit)
    assert abs(result.width - want_w) <= 1, (result.width, want_w)
    assert abs(result.height - want_h) <= 1, (result.height, want_h)
    assert result.format is fmt
    frames = entry.pages if animated_output(entry, fmt) else 1
    assert result.frames == frames

    options = "n=-1" if frames > 1 else ""
    decoded = pyvips.Image.new_from_buffer(result.data, options)
    assert decoded.get("vips-loader") == LOADERS[fmt]
    assert decoded.width == result.width
    pages = decoded.get("n-pages") if decoded.get_typeof("n-pages") else 1
    if entry.category == "bomb":
        assert 1 <= pages <= frames  # its two frames are identical: encoders may merge them
    else:
        assert pages == frames
    assert decoded.height == result.height * pages
    assert decoded.format == "uchar"
    assert decoded.bands in (1, 2, 3, 4)
    assert result.size == len(result.data)


@pytest.mark.parametrize("entry", rejected_entries(), ids=lambda e: e.file)
def test_rejected_file_raises_documented_error(entry: Entry) -> None:
    with pytest.raises(entry.rejection) as caught:
        render(entry.read(), {"width": 100, "format": "jpeg"})
    assert type(caught.value) is entry.rejection
    assert caught.value.message
    assert 400 <= caught.value.status_code < 500
    assert not caught.value.retryable
