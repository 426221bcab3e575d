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
from darkroom.imaging import _heif, _pillow
from darkroom.imaging._foreign import Decoder, Header
from darkroom.imaging._vips import (
    LOAD_OPTIONS,
    allow_svg,
    blob_field,
    int_field,
    libvips_bytes,
    text_field,
)
from darkroom.imaging.formats import AVIF_SEQUENCE_BRAND, TRAITS, ImageFormat, brands, sniff
from darkroom.imaging.icc import is_srgb
from darkroom.imaging.limits import DEFAULT_LIMITS, Limits
from darkroom.imaging.refusals import Stage, refusing, unsupported_variant

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
PILLOW_FORMATS = frozenset({ImageFormat.BMP, ImageFormat.ICO, ImageFormat.CUR})
"""Read by Pillow: libvips has no loader for them (only ImageMagick's, which is blocked)."""
ANIMATED_FORMATS = frozenset({ImageFormat.GIF, ImageFormat.WEBP, ImageFormat.AVIF})
"""Formats whose frames are an animation. An AVIF's frames are its image sequence's."""


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
    decoder: Decoder = Decoder.LIBVIPS
    """Who decodes the pixels: libvips, or Pillow / pi-heif for what libvips cannot read."""

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
        """Whether the frames are an animation (multi-page TIFF and HEIF collections are not)."""
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
    info = _read(data, fmt)
    _check_limits(info, limits)
    return info


def _read(data: bytes, fmt: ImageFormat) -> ImageInfo:
    if fmt in PILLOW_FORMATS or (fmt is ImageFormat.AVIF and AVIF_SEQUENCE_BRAND in brands(data)):
        return _foreign_info(fmt, Decoder.PILLOW, _pillow.read_header(data, fmt))
    unsupported = unsupported_variant(data, fmt)
    if unsupported is not None:
        raise unsupported
    if fmt is ImageFormat.SVG:
        allow_svg()
    with refusing(data, fmt, Stage.HEADER):
        header = pyvips.Image.new_from_buffer(
            libvips_bytes(data, fmt), LOAD_OPTIONS, access="sequential"
        )
        info = _read_header(header, fmt)
    if fmt not in (ImageFormat.HEIF, ImageFormat.AVIF):
        return info
    compression = text_field(header, "heif-compression")
    if compression == "av1":
        return info
    if compression == "hevc":
        return _foreign_info(fmt, Decoder.PI_HEIF, _heif.read_header(data, fmt))
    raise UnsupportedFormat(
        f"This {fmt.name} image is coded with {compression.upper() or 'an unknown codec'}, "
        "which this server cannot decode; convert it to JPEG or AVIF.",
        details={"compression": compression},
    )


def _read_header(image: pyvips.Image, fmt: ImageFormat) -> ImageInfo:
    loader = text_field(image, "vips-loader")
    if not loader.startswith(_LOADERS[fmt]):
        raise UnsupportedFormat(f"The file looks like {fmt.name} but libvips reads it as {loader}.")
    # libvips reads an AVIF's primary image only: its other top-level images (if any) are
    # not frames of an animation, and image sequences go to Pillow.
    frames = 1 if fmt is ImageFormat.AVIF else int_field(image, "n-pages", 1)
    orientation = int_field(image, "orientation", 1)
    icc = blob_field(image, "icc-profile-data")
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


def _foreign_info(fmt: ImageFormat, decoder: Decoder, header: Header) -> ImageInfo:
    return ImageInfo(
        format=fmt,
        width=header.width,
        height=header.height,
        frames=max(header.frames, 1),
        has_alpha=header.has_alpha,
        orientation=1,  # decoders apply their container's transforms; BMP/ICO have none
        has_icc=bool(header.icc),
        icc_srgb=bool(header.icc) and is_srgb(header.icc),
        bands=header.bands,
        interpretation=header.interpretation,
        loader=header.loader,
        decoder=decoder,
    )


def _check_limits(info: ImageInfo, limits: Limits) -> None:
    if info.width < 1 or info.height < 1:
        raise CorruptImage(
            f"The {info.format.name} header declares a {info.width}x{info.height} image.",
            details={"format": info.format.value, "width": info.width, "height": info.height},
        )
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
