"""What an image is, read from its bytes and header only, with every limit enforced."""

from __future__ import annotations

from dataclasses import dataclass

import pyvips

from darkroom.errors import (
    CorruptImage,
    ImageTooLarge,
    TooManyFrames,
    TooManyPixels,
    UnsupportedFormat,
)
from darkroom.imaging._vips import LOAD_OPTIONS, allow_svg, libvips_errors
from darkroom.imaging.formats import TRAITS, ImageFormat, sniff
from darkroom.imaging.icc import is_srgb
from darkroom.imaging.limits import DEFAULT_LIMITS, Limits

_LOADERS: dict[ImageFormat, tuple[str, ...]] = {
    ImageFormat.JPEG: ("jpegload", "uhdrload"),
    ImageFormat.PNG: ("pngload",),
    ImageFormat.GIF: ("gifload",),
    ImageFormat.WEBP: ("webpload",),
    ImageFormat.AVIF: ("heifload",),
    ImageFormat.HEIF: ("heifload",),
    ImageFormat.TIFF: ("tiffload",),
    ImageFormat.SVG: ("svgload",),
    ImageFormat.PDF: ("pdfload",),
}
DECODABLE_HEIF_COMPRESSIONS = frozenset({"av1"})
"""The bundled libheif decodes AV1 (AVIF) only: HEVC-coded HEIC has no decoder in it."""
ANIMATED_FORMATS = frozenset({ImageFormat.GIF, ImageFormat.WEBP})


@dataclass(frozen=True, slots=True)
class ImageInfo:
    """An image's identity and geometry, as declared by its header."""

    format: ImageFormat
    width: int
    """Stored width, before EXIF orientation."""
    height: int
    """Stored height of one frame, before EXIF orientation."""
    frames: int
    has_alpha: bool
    orientation: int
    has_icc: bool
    icc_srgb: bool
    """Whether the embedded profile is sRGB already (no colour transform needed)."""
    bands: int
    interpretation: str
    loader: str

    @property
    def mime_type(self) -> str:
        """The media type of the sniffed format."""
        return TRAITS[self.format].mime_type

    @property
    def needs_colour_transform(self) -> bool:
        """Whether the embedded profile must be converted to sRGB.

        Untagged images are taken as sRGB; tagged sRGB ones skip a costly no-op transform.
        """
        return self.has_icc and not self.icc_srgb

    @property
    def animated(self) -> bool:
        """Whether the frames are an animation (multi-page TIFF and HEIF are not)."""
        return self.frames > 1 and self.format in ANIMATED_FORMATS

    @property
    def transposed(self) -> bool:
        """Whether applying the EXIF orientation swaps width and height."""
        return self.orientation in (5, 6, 7, 8)

    def upright_size(self, auto_orient: bool = True) -> tuple[int, int]:
        """(width, height) of one frame as displayed."""
        if auto_orient and self.transposed:
            return self.height, self.width
        return self.width, self.height


def probe(data: bytes, limits: Limits = DEFAULT_LIMITS) -> ImageInfo:
    """Identify `data` and check it against `limits` without decoding any pixel."""
    if not data:
        raise UnsupportedFormat("The file is empty.")
    if len(data) > limits.max_bytes:
        raise ImageTooLarge(
            f"The file is {len(data):,} bytes; the limit is {limits.max_bytes:,} bytes.",
            details={"bytes": len(data), "max_bytes": limits.max_bytes},
        )
    fmt = sniff(data)
    if fmt is None:
        accepted = ", ".join(sorted(f.name for f in limits.input_formats))
        raise UnsupportedFormat(f"The file is not an image in a supported format ({accepted}).")
    if fmt not in limits.input_formats:
        raise UnsupportedFormat(
            f"{fmt.name} input is disabled on this server.", details={"format": fmt.value}
        )
    if fmt is ImageFormat.SVG:
        allow_svg()
    with libvips_errors(CorruptImage, f"The {fmt.name} header cannot be read"):
        header = pyvips.Image.new_from_buffer(data, LOAD_OPTIONS, access="sequential")
        info = _read_header(header, fmt)
    _check_decodable(header, info)
    _check_limits(info, limits)
    return info


def _read_header(image: pyvips.Image, fmt: ImageFormat) -> ImageInfo:
    loader = str(image.get("vips-loader"))
    if not loader.startswith(_LOADERS[fmt]):
        raise UnsupportedFormat(f"The file looks like {fmt.name} but libvips reads it as {loader}.")
    fields = set(image.get_fields())
    frames = int(image.get("n-pages")) if "n-pages" in fields else 1
    orientation = int(image.get("orientation")) if "orientation" in fields else 1
    icc = bytes(image.get("icc-profile-data")) if "icc-profile-data" in fields else b""
    return ImageInfo(
        format=fmt,
        width=image.width,
        height=image.height,
        frames=max(frames, 1),
        has_alpha=bool(image.hasalpha()),
        orientation=orientation if 1 <= orientation <= 8 else 1,
        has_icc=bool(icc),
        icc_srgb=bool(icc) and is_srgb(icc),
        bands=image.bands,
        interpretation=str(image.interpretation),
        loader=loader,
    )


def _check_decodable(image: pyvips.Image, info: ImageInfo) -> None:
    if info.format not in (ImageFormat.HEIF, ImageFormat.AVIF):
        return
    compression = str(image.get("heif-compression"))
    if compression not in DECODABLE_HEIF_COMPRESSIONS:
        raise UnsupportedFormat(
            f"This HEIF image is coded with {compression.upper()}, which this server cannot "
            "decode; convert it to JPEG or AVIF.",
            details={"compression": compression},
        )


def _check_limits(info: ImageInfo, limits: Limits) -> None:
    pixels = info.width * info.height
    if pixels > limits.max_pixels:
        raise TooManyPixels(
            f"The image is {info.width}x{info.height} ({pixels / 1e6:.1f} MP); the limit is "
            f"{limits.max_pixels / 1e6:.1f} MP per frame.",
            details={"width": info.width, "height": info.height, "max_pixels": limits.max_pixels},
        )
    if info.frames > limits.max_frames:
        raise TooManyFrames(
            f"The image has {info.frames} frames; the limit is {limits.max_frames}.",
            details={"frames": info.frames, "max_frames": limits.max_frames},
        )
    total = pixels * info.frames
    if total > limits.max_animation_pixels:
        raise TooManyPixels(
            f"The animation has {total / 1e6:.1f} MP over {info.frames} frames; the limit is "
            f"{limits.max_animation_pixels / 1e6:.1f} MP in all.",
            details={"frames": info.frames, "max_animation_pixels": limits.max_animation_pixels},
        )
