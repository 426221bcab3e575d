"""A person-readable summary of an image's EXIF: camera, lens, exposure, when, orientation.

Read from the header only (libvips loads no pixels for it). Each value is libvips's own
rendering of the tag (`1/800 sec.`, `f/2.8`, `85.0 mm`), without the type annotations.
"""

from __future__ import annotations

import re

import pyvips

TAGS = (
    ("Camera", "exif-ifd0-Make"),
    ("Model", "exif-ifd0-Model"),
    ("Lens", "exif-ifd2-LensModel"),
    ("Taken", "exif-ifd2-DateTimeOriginal"),
    ("Exposure", "exif-ifd2-ExposureTime"),
    ("Aperture", "exif-ifd2-FNumber"),
    ("ISO", "exif-ifd2-ISOSpeedRatings"),
    ("Focal length", "exif-ifd2-FocalLength"),
    ("Orientation", "exif-ifd0-Orientation"),
    ("Software", "exif-ifd0-Software"),
)
"""The tags shown, by label, in this order."""
MAX_VALUE = 120
# libvips writes a tag as `RAW (READABLE, Type, N components, M bytes)`.
_ANNOTATION = re.compile(r", [\w ]+, \d+ components?, \d+ bytes?\)$")


def readable(value: str) -> str:
    """The readable part of a libvips EXIF value (the raw one when libvips has none)."""
    annotation = _ANNOTATION.search(value)
    if annotation is None:
        return value[:MAX_VALUE]
    both = value[: annotation.start()]  # "RAW (READABLE"
    half = (len(both) - 2) // 2
    if both == f"{both[:half]} ({both[:half]}":
        return both[:half].strip()[:MAX_VALUE]  # text tags: RAW and READABLE are the same
    raw, _, text = both.partition(" (")
    if not text or text.startswith("Internal error"):
        text = raw
    return text.strip()[:MAX_VALUE]


def summary(data: bytes) -> list[tuple[str, str]]:
    """(label, value) of each summarised tag the image carries; empty without EXIF.

    An image libvips cannot open (a format only Pillow reads) has no summary rather than
    an error: the summary is information, never a reason to fail a page.
    """
    try:
        image = pyvips.Image.new_from_buffer(data, "", access="sequential")
        fields = set(image.get_fields())
        found = [(label, readable(str(image.get(name)))) for label, name in TAGS if name in fields]
        if any(name.startswith("exif-ifd3-GPS") for name in fields):
            found.append(("Location", "GPS coordinates present"))
    except pyvips.Error:
        return []
    return found
