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
    BMP = "bmp"
    ICO = "ico"
    CUR = "cur"
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
    ImageFormat.BMP: FormatTraits("image/bmp", "bmp", alpha=True, animation=False, writable=False),
    ImageFormat.ICO: FormatTraits(
        "image/vnd.microsoft.icon", "ico", alpha=True, animation=False, writable=False
    ),
    ImageFormat.CUR: FormatTraits(
        "image/x-win-bitmap", "cur", alpha=True, animation=False, writable=False
    ),
    ImageFormat.SVG: FormatTraits(
        "image/svg+xml", "svg", alpha=True, animation=False, writable=False
    ),
    ImageFormat.PDF: FormatTraits(
        "application/pdf", "pdf", alpha=True, animation=False, writable=False
    ),
}

_AVIF_BRANDS = {b"avif", b"avis"}
AVIF_SEQUENCE_BRAND = b"avis"
_HEIF_BRANDS = {b"heic", b"heix", b"heim", b"heis", b"hevc", b"hevx", b"mif1", b"msf1"}
_DIB_HEADER_SIZES = {12, 40, 52, 56, 64, 108, 124}
_SVG_PREFIXES = (b"<svg", b"<?xml", b"<!doctype svg", b"<!--")


def sniff(data: bytes) -> ImageFormat | None:
    """The format announced by the leading bytes, or None: names and declared types are ignored."""
    head = data[:64]
    if head.startswith(b"\xff\xd8") and b"\xff" in head[2:]:
        return ImageFormat.JPEG  # SOI, then a marker (libjpeg skips junk before it)
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return ImageFormat.PNG
    if head[:6] in (b"GIF87a", b"GIF89a"):
        return ImageFormat.GIF
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return ImageFormat.WEBP
    if head[:4] in (b"II*\x00", b"MM\x00*", b"II+\x00", b"MM\x00+"):
        return ImageFormat.TIFF  # classic TIFF, then BigTIFF (64-bit offsets)
    if head[:2] == b"BM" and _looks_like_bmp(head):
        return ImageFormat.BMP
    if head[:4] in (b"\x00\x00\x01\x00", b"\x00\x00\x02\x00") and _looks_like_icon(head):
        return ImageFormat.ICO if head[2] == 1 else ImageFormat.CUR
    if head.startswith(b"%PDF-"):
        return ImageFormat.PDF
    if head[4:8] == b"ftyp":
        return _sniff_isobmff(data)
    if _looks_like_svg(data):
        return ImageFormat.SVG
    return None


def brands(data: bytes) -> set[bytes]:
    """The major and compatible brands of an ISO-BMFF (HEIF, AVIF) file's ftyp box."""
    if data[4:8] != b"ftyp":
        return set()
    box_size = int.from_bytes(data[0:4], "big")
    box_end = min(max(box_size, 16), len(data), 256)
    return {data[8:12]} | {data[i : i + 4] for i in range(16, box_end - 3, 4)}


def _sniff_isobmff(data: bytes) -> ImageFormat | None:
    # AVIF files often carry "mif1" too, so AVIF brands win over the generic HEIF ones.
    found = brands(data)
    if found & _AVIF_BRANDS:
        return ImageFormat.AVIF
    if found & _HEIF_BRANDS:
        return ImageFormat.HEIF
    return None


def _looks_like_bmp(head: bytes) -> bool:
    # "BM" alone is too weak: also ask for a known DIB header size and a single plane.
    header_size = int.from_bytes(head[14:18], "little")
    planes_at = 22 if header_size == 12 else 26
    planes = int.from_bytes(head[planes_at : planes_at + 2], "little")
    return header_size in _DIB_HEADER_SIZES and planes == 1


def _looks_like_icon(head: bytes) -> bool:
    # ICONDIR: reserved 0, type 1 (icon) or 2 (cursor), at least one entry whose
    # reserved byte is 0.
    count = int.from_bytes(head[4:6], "little")
    return count > 0 and len(head) >= 22 and head[9] == 0


def _looks_like_svg(data: bytes) -> bool:
    head = data[:1024].lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    if not head.startswith(_SVG_PREFIXES):
        return False
    return b"<svg" in data[:4096].lower()
