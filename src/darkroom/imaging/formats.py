"""Image formats: what each one is called, sniffed by, and able to hold."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class ImageFormat(StrEnum):
    """Formats Darkroom can recognise from their bytes."""

    JPEG = "jpeg"
    PNG = "png"
    GIF = "gif"
    WEBP = "webp"
    AVIF = "avif"
    HEIF = "heif"
    TIFF = "tiff"
    SVG = "svg"
    PDF = "pdf"


@dataclass(frozen=True, slots=True)
class FormatTraits:
    """What a format can carry, and how it is named on the wire and on disk."""

    mime_type: str
    extension: str
    alpha: bool
    animation: bool
    writable: bool


TRAITS: dict[ImageFormat, FormatTraits] = {
    ImageFormat.JPEG: FormatTraits(
        "image/jpeg", "jpg", alpha=False, animation=False, writable=True
    ),
    ImageFormat.PNG: FormatTraits("image/png", "png", alpha=True, animation=False, writable=True),
    ImageFormat.GIF: FormatTraits("image/gif", "gif", alpha=True, animation=True, writable=True),
    ImageFormat.WEBP: FormatTraits("image/webp", "webp", alpha=True, animation=True, writable=True),
    ImageFormat.AVIF: FormatTraits(
        "image/avif", "avif", alpha=True, animation=False, writable=True
    ),
    ImageFormat.HEIF: FormatTraits(
        "image/heif", "heic", alpha=True, animation=False, writable=False
    ),
    ImageFormat.TIFF: FormatTraits(
        "image/tiff", "tiff", alpha=True, animation=False, writable=True
    ),
    ImageFormat.SVG: FormatTraits(
        "image/svg+xml", "svg", alpha=True, animation=False, writable=False
    ),
    ImageFormat.PDF: FormatTraits(
        "application/pdf", "pdf", alpha=True, animation=False, writable=False
    ),
}

_AVIF_BRANDS = {b"avif", b"avis"}
_HEIF_BRANDS = {b"heic", b"heix", b"heim", b"heis", b"hevc", b"hevx", b"mif1", b"msf1"}
_SVG_PREFIXES = (b"<svg", b"<?xml", b"<!doctype svg", b"<!--")


def sniff(data: bytes) -> ImageFormat | None:
    """The format announced by the leading bytes, or None: names and declared types are ignored."""
    head = data[:64]
    if head.startswith(b"\xff\xd8\xff"):
        return ImageFormat.JPEG
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return ImageFormat.PNG
    if head[:6] in (b"GIF87a", b"GIF89a"):
        return ImageFormat.GIF
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return ImageFormat.WEBP
    if head[:4] in (b"II*\x00", b"MM\x00*"):
        return ImageFormat.TIFF
    if head.startswith(b"%PDF-"):
        return ImageFormat.PDF
    if head[4:8] == b"ftyp":
        return _sniff_isobmff(data)
    if _looks_like_svg(data):
        return ImageFormat.SVG
    return None


def _sniff_isobmff(data: bytes) -> ImageFormat | None:
    # The ftyp box lists a major brand and compatible brands; AVIF files often carry
    # "mif1" too, so AVIF brands win over the generic HEIF ones.
    box_size = int.from_bytes(data[0:4], "big")
    box_end = min(max(box_size, 16), len(data), 256)
    brands = {data[8:12]} | {data[i : i + 4] for i in range(16, box_end - 3, 4)}
    if brands & _AVIF_BRANDS:
        return ImageFormat.AVIF
    if brands & _HEIF_BRANDS:
        return ImageFormat.HEIF
    return None


def _looks_like_svg(data: bytes) -> bool:
    head = data[:1024].lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    if not head.startswith(_SVG_PREFIXES):
        return False
    return b"<svg" in data[:4096].lower()
