"""The EXIF summary shown on the console's image page, read from real photos' headers."""

from __future__ import annotations

from darkroom.imaging.exif import readable, summary
from tests.corpus import read


def test_a_camera_photo_says_camera_lens_and_exposure() -> None:
    found = dict(summary(read("jpeg-baseline-srgb-icc.jpg")))
    assert found["Camera"] == "Canon"
    assert found["Model"] == "Canon EOS 5D Mark III"
    assert found["Exposure"] == "1/800 sec."
    assert found["Aperture"] == "f/2.8"
    assert found["Focal length"] == "85.0 mm"
    assert found["Taken"] == "2015:01:21 14:22:30"
    assert found["Software"] == "Adobe Photoshop Lightroom 5.5 (Macintosh)"  # brackets inside


def test_an_orientation_libvips_cannot_name_shows_its_number() -> None:
    assert dict(summary(read("exif-orient-6-landscape.jpg")))["Orientation"] == "6"


def test_no_exif_and_unreadable_bytes_give_an_empty_summary() -> None:
    assert summary(read("png-interlaced-rgba.png")) == []
    assert summary(b"not an image at all") == []


def test_a_value_without_the_libvips_annotation_is_kept() -> None:
    assert readable("plain") == "plain"
    assert readable("x" * 500) == "x" * 120
