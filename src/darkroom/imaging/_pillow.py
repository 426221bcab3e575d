"""BMP, ICO/CUR and AVIF image sequences, through Pillow: libvips cannot load them.

Pillow's format classes are used directly rather than `Image.open`: they parse the header
only and skip Pillow's own decompression-bomb check, which Darkroom's limits (checked on
the header's size) replace. Pixels are decoded only in `decode`, after the limits passed.
"""

from __future__ import annotations

import io
from dataclasses import dataclass

import pyvips
from PIL import AvifImagePlugin, BmpImagePlugin, IcoImagePlugin, Image, PngImagePlugin

from darkroom.errors import CorruptImage, UnsupportedFormat
from darkroom.imaging._foreign import DEFAULT_DELAY_MS, FrameStep, Header, from_pixels, stack
from darkroom.imaging.formats import ImageFormat
from darkroom.imaging.refusals import ANY_DECODER_FAILURE, Stage, refusing

_PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
_ORIENTATION = 0x0112
_BITFIELDS = 3
_BMP_COMPRESSIONS = {0, 1, 2, _BITFIELDS}
"""None, RLE8, RLE4 and bit fields: what Pillow reads."""
_BMP_DEPTHS = {1, 4, 8, 16, 24, 32}
_DIB_VALID_DEPTHS = {0, 1, 2, 4, 8, 16, 24, 32, 64}
"""Every depth the format defines (0: the depth a JPEG or PNG inside says)."""
_DIB_HEADER_SIZE = 40
_MAX_ICON_IMAGES = 256
"""Real icons hold a dozen sizes at most; each listed image costs a header parse."""


def read_header(data: bytes, fmt: ImageFormat) -> Header:
    """What the input declares, its pixels untouched. Raises Darkroom's image errors."""
    with refusing(data, fmt, Stage.HEADER, ANY_DECODER_FAILURE):
        if fmt is ImageFormat.BMP:
            return _open_bmp(data)[1]
        if fmt in (ImageFormat.ICO, ImageFormat.CUR):
            return _Icon(data, fmt).header
        return _avif_header(_open_avif(data))


def decode(data: bytes, fmt: ImageFormat, *, all_frames: bool, step: FrameStep) -> pyvips.Image:
    """Decode the input (every frame of a sequence if `all_frames`) through `step`."""
    if fmt is ImageFormat.AVIF:
        return _decode_avif(data, all_frames, step)
    with refusing(data, fmt, Stage.DECODE, ANY_DECODER_FAILURE):
        if fmt is ImageFormat.BMP:
            image, header = _open_bmp(data)
        else:
            icon = _Icon(data, fmt)
            image, header = icon.decode(), icon.header
        pixels = _pixels(image, header.mode)
    return step(from_pixels(pixels, header.width, header.height, header.mode, header.icc))


def _pixels(image: Image.Image, mode: str) -> bytes:
    if image.mode != mode:
        image = image.convert(mode)
    return image.tobytes()


def _mode(image: Image.Image) -> str:
    """The MODES layout an image's pixels are converted to."""
    alpha = image.mode in ("RGBA", "RGBa", "PA", "LA", "La") or "transparency" in image.info
    grey = image.mode in ("1", "L", "LA", "La", "I", "I;16")
    return ("LA" if alpha else "L") if grey else ("RGBA" if alpha else "RGB")


# --- BMP -----------------------------------------------------------------------------------


def _open_bmp(data: bytes) -> tuple[Image.Image, Header]:
    reason = _dib_unsupported_reason(data[14:])
    if reason is not None:
        raise _unsupported(ImageFormat.BMP, reason)
    try:
        image = BmpImagePlugin.BmpImageFile(io.BytesIO(data))
    except OSError:
        if _dib_fields(data[14:])[2] == _BITFIELDS:
            # Pillow reads the common bit-field layouts only (5-6-5, 8-8-8-8, ...).
            reason = "its pixels use an unusual bit-field layout"
            raise _unsupported(ImageFormat.BMP, reason) from None
        raise
    return image, Header(image.width, image.height, 1, _mode(image), b"", "pillow-bmp")


def _dib_fields(dib: bytes) -> tuple[int, int, int]:
    """(header size, bits per pixel, compression) of a DIB header."""
    header_size = int.from_bytes(dib[0:4], "little")
    if header_size == 12:
        return header_size, int.from_bytes(dib[10:12], "little"), 0
    return header_size, int.from_bytes(dib[14:16], "little"), int.from_bytes(dib[16:20], "little")


def _dib_unsupported_reason(dib: bytes) -> str | None:
    """Why a valid DIB cannot be decoded here; CorruptImage if its header is not valid."""
    header_size, bits, compression = _dib_fields(dib)
    if bits not in _DIB_VALID_DEPTHS:
        raise CorruptImage(
            f"The BMP header is not valid: it declares {bits} bits per pixel.",
            details={"format": "bmp", "stage": "header", "problem": "damaged"},
        )
    if header_size >= 40 and int.from_bytes(dib[4:8], "little", signed=True) <= 0:
        raise CorruptImage(
            "The BMP header is not valid: its width is not a positive number.",
            details={"format": "bmp", "stage": "header", "problem": "damaged"},
        )
    if compression in (4, 5):
        return f"it wraps {'JPEG' if compression == 4 else 'PNG'} data instead of a bitmap"
    if compression == _BITFIELDS and header_size == 64:
        return "its pixels use OS/2 Huffman coding"
    if compression not in _BMP_COMPRESSIONS:
        return f"its pixels use compression {compression}"
    if bits not in _BMP_DEPTHS:
        return f"it has {bits} bits per pixel"
    return None


def _unsupported(fmt: ImageFormat, reason: str) -> UnsupportedFormat:
    return UnsupportedFormat(
        f"This {fmt.name} cannot be decoded here: {reason}.",
        details={"format": fmt.value, "reason": reason},
    )


# --- ICO / CUR -----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Entry:
    index: int
    """Position in Pillow's (sorted) entry list."""
    width: int
    height: int
    bits: int
    png: bytes | None
    """The embedded PNG, when the image is one rather than a DIB."""


class _Icon:
    """An icon or cursor file, reduced to its largest image (by real size, then depth)."""

    def __init__(self, data: bytes, fmt: ImageFormat) -> None:
        count = int.from_bytes(data[4:6], "little")
        if not 0 < count <= _MAX_ICON_IMAGES:
            raise CorruptImage(
                f"The {fmt.name} lists {count} images; an icon holds 1 to {_MAX_ICON_IMAGES}.",
                details={"format": fmt.value, "images": count},
            )
        self._file = IcoImagePlugin.IcoFile(io.BytesIO(_as_icon_directory(data)))
        entries = [self._entry(data, index, fmt) for index in range(len(self._file.entry))]
        self._best = max(entries, key=lambda e: (e.width * e.height, e.bits, -e.index))
        icc = b""
        if self._best.png is not None:
            icc = PngImagePlugin.PngImageFile(io.BytesIO(self._best.png)).info.get(
                "icc_profile", b""
            )
        loader = f"pillow-{fmt.value}"
        self.header = Header(self._best.width, self._best.height, 1, "RGBA", icc, loader)

    def _entry(self, data: bytes, index: int, fmt: ImageFormat) -> _Entry:
        directory = self._file.entry[index]
        body = data[directory.offset : directory.offset + directory.size]
        if len(body) < _DIB_HEADER_SIZE and not body.startswith(_PNG_MAGIC[: len(body)]):
            # Some writers leave the entry's size wrong; the DIB header says what follows.
            body = data[directory.offset :]
        if body.startswith(_PNG_MAGIC):
            png = PngImagePlugin.PngImageFile(io.BytesIO(body))
            return _Entry(index, png.width, png.height, 32, body)
        reason = _dib_unsupported_reason(body)
        if reason is not None:
            raise _unsupported(fmt, reason)
        dib = BmpImagePlugin.DibImageFile(io.BytesIO(body))
        # The DIB's height covers the colour image and the 1-bit AND mask below it.
        return _Entry(index, dib.width, dib.height // 2, _dib_fields(body)[1], None)

    def decode(self) -> Image.Image:
        """The largest image's pixels, its AND mask or alpha applied."""
        if self._best.png is not None:
            image: Image.Image = PngImagePlugin.PngImageFile(io.BytesIO(self._best.png))
            return image
        return self._file.frame(self._best.index)


def _as_icon_directory(data: bytes) -> bytes:
    """`data` with a directory Pillow's icon reader can trust.

    A cursor's directory holds its hotspot where an icon's holds planes and bit depth, and
    icons often leave the depth at 0; Pillow reads the depth from there to find the alpha
    of 32-bit images. Each entry gets the depth its embedded DIB header declares, and the
    file is marked an icon; offsets do not move.
    """
    fixed = bytearray(data)
    fixed[2] = 1
    for index in range(int.from_bytes(data[4:6], "little")):
        entry = 6 + 16 * index
        offset = int.from_bytes(data[entry + 12 : entry + 16], "little")
        body = data[offset : offset + 16]
        bits = 32 if body.startswith(_PNG_MAGIC) else _dib_fields(body)[1]
        fixed[entry + 4 : entry + 8] = (1).to_bytes(2, "little") + bits.to_bytes(2, "little")
    return bytes(fixed)


# --- AVIF image sequences ---------------------------------------------------------------


def _open_avif(data: bytes) -> AvifImagePlugin.AvifImageFile:
    if not AvifImagePlugin.SUPPORTED:
        raise UnsupportedFormat(
            "This AVIF is an image sequence, and this server's Pillow has no AVIF decoder.",
            details={"format": "avif"},
        )
    return AvifImagePlugin.AvifImageFile(io.BytesIO(data))


def _orientation(image: Image.Image) -> int:
    """The container's rotation and mirroring (irot/imir), as Pillow reports them in EXIF."""
    value = image.getexif().get(_ORIENTATION, 1)
    return value if isinstance(value, int) and 1 <= value <= 8 else 1


def _avif_header(image: Image.Image) -> Header:
    width, height = image.size
    if _orientation(image) in (5, 6, 7, 8):
        width, height = height, width
    mode = "RGBA" if image.mode == "RGBA" else "RGB"
    icc = image.info.get("icc_profile") or b""
    return Header(width, height, getattr(image, "n_frames", 1), mode, icc, "pillow-avif")


def _decode_avif(data: bytes, all_frames: bool, step: FrameStep) -> pyvips.Image:
    fmt = ImageFormat.AVIF
    with refusing(data, fmt, Stage.DECODE, ANY_DECODER_FAILURE):
        image = _open_avif(data)
        header, orientation = _avif_header(image), _orientation(image)
    frames, delays = [], []
    for index in range(header.frames if all_frames else 1):
        with refusing(data, fmt, Stage.DECODE, ANY_DECODER_FAILURE):
            image.seek(index)
            image.load()
            pixels = _pixels(image, header.mode)
            delays.append(max(int(image.info.get("duration", DEFAULT_DELAY_MS)), 0))
        frame = from_pixels(pixels, image.width, image.height, header.mode, header.icc)
        if orientation != 1:
            frame = frame.copy()
            frame.set_type(pyvips.GValue.gint_type, "orientation", orientation)
            frame = frame.autorot()
        frames.append(step(frame))
    return stack(frames, delays)
