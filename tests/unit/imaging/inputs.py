"""Inputs built for the imaging tests: hand-written bytes where the fault must be exact,
Pillow and libvips encoders where a real file of the format is needed."""

from __future__ import annotations

import io
import struct
import zlib
from collections.abc import Sequence

import pyvips
from PIL import Image

RED, GREEN, BLUE, WHITE = (220, 20, 20), (20, 200, 20), (20, 20, 220), (240, 240, 240)
QUADRANTS = (RED, GREEN, BLUE, WHITE)
"""Top-left, top-right, bottom-left, bottom-right of `quadrants()`."""


def quadrants(width: int, height: int, mode: str = "RGB") -> Image.Image:
    """Four flat colour quadrants: where each colour lands shows rotation and mirroring."""
    image = Image.new("RGB", (width, height))
    w, h = width // 2, height // 2
    boxes = [(0, 0, w, h), (w, 0, width, h), (0, h, w, height), (w, h, width, height)]
    for colour, box in zip(QUADRANTS, boxes, strict=True):
        image.paste(colour, box)
    return image.convert(mode)


def pixel(image: Image.Image, x: int, y: int) -> list[int]:
    """One pixel of a Pillow image, as a list of samples."""
    value = image.getpixel((x, y))
    assert isinstance(value, tuple)
    return [int(sample) for sample in value]


def encode(image: Image.Image, fmt: str, **params: object) -> bytes:
    """`image` written by Pillow as `fmt`."""
    out = io.BytesIO()
    image.save(out, fmt, **params)
    return out.getvalue()


def vips_from_pillow(image: Image.Image) -> pyvips.Image:
    """An 8-bit RGB(A) Pillow image as a libvips image."""
    bands = len(image.getbands())
    vips = pyvips.Image.new_from_memory(image.tobytes(), image.width, image.height, bands, "uchar")
    return vips.copy(interpretation="srgb")


def vips_solid(width: int, height: int, colour: Sequence[int]) -> pyvips.Image:
    """A flat 8-bit sRGB libvips image."""
    image = pyvips.Image.black(width, height).new_from_image(list(colour))
    return image.copy(interpretation="srgb").cast("uchar")


# --- PNG ----------------------------------------------------------------------------------


def png_chunk(kind: bytes, body: bytes) -> bytes:
    """One PNG chunk with its length and CRC."""
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


def png(
    width: int, height: int, colour: Sequence[int], chunks: Sequence[tuple[bytes, bytes]] = ()
) -> bytes:
    """An 8-bit RGB PNG of one colour, with `chunks` written before its pixel data."""
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    rows = zlib.compress((b"\x00" + bytes(colour) * width) * height)
    return (
        b"\x89PNG\r\n\x1a\n"
        + png_chunk(b"IHDR", header)
        + b"".join(png_chunk(kind, body) for kind, body in chunks)
        + png_chunk(b"IDAT", rows)
        + png_chunk(b"IEND", b"")
    )


# --- JPEG ---------------------------------------------------------------------------------


def jpeg_segments(data: bytes) -> list[tuple[int, int]]:
    """(offset, marker) of each header segment up to and including the first SOS."""
    found, position = [], 2
    while True:
        marker = data[position + 1]
        found.append((position, marker))
        if marker == 0xDA:
            return found
        position += 2 + int.from_bytes(data[position + 2 : position + 4], "big")


def insert_before_marker(data: bytes, marker: int, junk: bytes) -> bytes:
    """`data` with `junk` inserted just before the first segment with `marker`."""
    offset = next(at for at, found in jpeg_segments(data) if found == marker)
    return data[:offset] + junk + data[offset:]


def with_short_exif_segment(data: bytes, missing: int = 6) -> bytes:
    """`data` with an EXIF APP1 segment whose declared length is `missing` bytes too short.

    What some cameras write: libjpeg then finds the tail of the EXIF as junk before the
    next marker ("N extraneous bytes before marker").
    """
    exif = b"Exif\x00\x00MM\x00*\x00\x00\x00\x08\x00\x01" + struct.pack(
        ">HHII", 0x0112, 3, 1, 1 << 16
    )
    exif += b"\x00\x00\x00\x00"
    segment = b"\xff\xe1" + struct.pack(">H", len(exif) + 2 - missing) + exif
    return data[:2] + segment + data[2:]


# --- TIFF ---------------------------------------------------------------------------------

SHORT, LONG, LONG8, ASCII = 3, 4, 16, 2
_PACK = {SHORT: "H", LONG: "I", LONG8: "Q", ASCII: "B"}


def tiff(
    width: int,
    height: int,
    bands: int,
    chunks: Sequence[bytes],
    *,
    compression: int = 1,
    photometric: int = 2,
    bits: int = 8,
    planar: int = 1,
    rows_per_strip: int | None = None,
    tile: tuple[int, int] | None = None,
    big: bool = False,
    order: str = "<",
    byte_counts: Sequence[int] | None = None,
) -> bytes:
    """A TIFF (or BigTIFF) whose strips or tiles are the already coded `chunks`.

    `byte_counts` overrides the declared chunk sizes (a file cut short declares more).
    """
    tags: list[tuple[int, int, list[int]]] = [
        (256, LONG, [width]),
        (257, LONG, [height]),
        (258, SHORT, [bits] * bands),
        (259, SHORT, [compression]),
        (262, SHORT, [photometric]),
        (277, SHORT, [bands]),
        (284, SHORT, [planar]),
    ]
    if tile is not None:
        tags += [(322, LONG, [tile[0]]), (323, LONG, [tile[1]])]
        offsets_tag, counts_tag = 324, 325
    else:
        tags.append((278, LONG, [rows_per_strip or height]))
        offsets_tag, counts_tag = 273, 279
    header_size = 16 if big else 8
    offsets, position = [], header_size
    for chunk in chunks:
        offsets.append(position)
        position += len(chunk)
    wide = LONG8 if big else LONG
    counts = list(byte_counts) if byte_counts is not None else [len(c) for c in chunks]
    tags += [(offsets_tag, wide, offsets), (counts_tag, wide, counts)]
    tags.sort()
    ifd_at = position + position % 2
    entry_size, inline, word = (20, 8, "Q") if big else (12, 4, "I")
    values_at = ifd_at + (8 if big else 2) + len(tags) * entry_size + inline
    ifd = struct.pack(order + ("Q" if big else "H"), len(tags))
    values = b""
    for tag, kind, numbers in tags:
        raw = struct.pack(order + _PACK[kind] * len(numbers), *numbers)
        if len(raw) <= inline:
            field = raw.ljust(inline, b"\x00")
        else:
            field = struct.pack(order + word, values_at + len(values))
            values += raw + b"\x00" * (len(raw) % 2)
        ifd += struct.pack(order + "HH" + word, tag, kind, len(numbers)) + field
    ifd += b"\x00" * inline
    magic = b"II" if order == "<" else b"MM"
    if big:
        head = magic + struct.pack(order + "HHHQ", 43, 8, 0, ifd_at)
    else:
        head = magic + struct.pack(order + "HI", 42, ifd_at)
    body = head + b"".join(chunks)
    return body + b"\x00" * (ifd_at - len(body)) + ifd + values


# --- BMP, ICO, CUR ------------------------------------------------------------------------


def bmp(
    width: int,
    height: int,
    bits: int,
    pixels: bytes,
    *,
    compression: int = 0,
    palette: bytes = b"",
    masks: Sequence[int] = (),
) -> bytes:
    """A BMP with a BITMAPINFOHEADER (and bit-field masks) around `pixels` as given."""
    info = struct.pack(
        "<IiiHHIIiiII", 40, width, height, 1, bits, compression, len(pixels), 2835, 2835, 0, 0
    )
    extra = struct.pack("<" + "I" * len(masks), *masks) + palette
    offset = 14 + len(info) + len(extra)
    size = offset + len(pixels)
    return b"BM" + struct.pack("<IHHI", size, 0, 0, offset) + info + extra + pixels


def cursor(icon: bytes, hotspot: tuple[int, int] = (5, 7)) -> bytes:
    """An ICO turned into a CUR: type 2, each entry's planes/bit count replaced by a hotspot."""
    data = bytearray(icon)
    data[2] = 2
    for index in range(int.from_bytes(icon[4:6], "little")):
        entry = 6 + 16 * index
        data[entry + 4 : entry + 8] = struct.pack("<HH", *hotspot)
    return bytes(data)


# --- animations ---------------------------------------------------------------------------


def avif_sequence(frames: Sequence[Image.Image], durations: Sequence[int]) -> bytes:
    """An animated AVIF (an AV1 image sequence, brand 'avis') written by Pillow."""
    return encode(
        frames[0],
        "AVIF",
        save_all=True,
        append_images=list(frames[1:]),
        duration=list(durations),
        quality=90,
    )


def gif(screen: tuple[int, int], frames: Sequence[tuple[int, int, int, int, int]]) -> bytes:
    """A GIF whose frames (left, top, width, height, palette index) are placed by hand.

    Palette: 0 red, 1 blue, 2 green, 3 white. Frames may reach past the logical screen.
    """
    palette = bytes([*RED, *BLUE, *GREEN, *WHITE])
    out = b"GIF89a" + struct.pack("<HHBBB", *screen, 0xF1, 0, 0) + palette
    out += b"\x21\xff\x0bNETSCAPE2.0\x03\x01\x00\x00\x00"
    for left, top, width, height, index in frames:
        out += b"\x21\xf9\x04\x00\x0a\x00\x00\x00"  # 100 ms, no transparency
        out += b"\x2c" + struct.pack("<HHHHB", left, top, width, height, 0)
        out += _lzw(2, [index] * (width * height))
    return out + b"\x3b"


def _lzw(code_size: int, pixels: Sequence[int]) -> bytes:
    """GIF LZW data that never grows its code size: a clear code every few literals."""
    clear, end = 1 << code_size, (1 << code_size) + 1
    bits = code_size + 1
    codes: list[int] = []
    for count, pixel in enumerate(pixels):
        if count % ((1 << bits) - clear - 3) == 0:
            codes.append(clear)
        codes.append(pixel)
    codes.append(end)
    packed, accumulator, filled = bytearray(), 0, 0
    for code in codes:
        accumulator |= code << filled
        filled += bits
        while filled >= 8:
            packed.append(accumulator & 0xFF)
            accumulator >>= 8
            filled -= 8
    if filled:
        packed.append(accumulator)
    blocks = b"".join(
        bytes([len(packed[i : i + 255])]) + packed[i : i + 255] for i in range(0, len(packed), 255)
    )
    return bytes([code_size]) + blocks + b"\x00"


# --- ISO-BMFF (HEIF, AVIF) ------------------------------------------------------------------


def with_item_type(data: bytes, old: bytes, new: bytes) -> bytes:
    """`data` with the first item info entry of type `old` retyped `new` (same length)."""
    assert len(old) == len(new) == 4
    at = data.index(old + b"\x00", data.index(b"iinf"))
    return data[:at] + new + data[at + 4 :]
