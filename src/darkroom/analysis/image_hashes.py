"""BlurHash, ThumbHash and a perceptual hash of small images, in pure Python (no numpy).

Each matches its reference encoder: woltapp's BlurHash C encoder, Evan Wallace's ThumbHash
(`js/thumbhash.js`), and `imagehash.phash`. The callers hand each a small thumbnail: the
cost is proportional to its pixels.
"""

from __future__ import annotations

import base64
import math
from collections.abc import Iterable, Sequence

from PIL import Image

BLURHASH_SIDE = 32
BLURHASH_COMPONENTS = (4, 3)
THUMBHASH_SIDE = 100
THUMBHASH_NOISE = 1e-10
"""A ThumbHash DCT term smaller than this is rounding noise: it is far below the ~4e-7 that
one 8-bit level of one pixel moves a term by on the largest (100x100) thumbnail."""
PHASH_SIDE = 32
PHASH_LOW = 8


def to_linear(v: float) -> float:
    """An sRGB component on 0..1 as linear light."""
    return v / 12.92 if v <= 0.04045 else ((v + 0.055) / 1.055) ** 2.4


# --- BlurHash (woltapp/blurhash, the C encoder's algorithm) ------------------------------

_BASE83 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz#$%*+,-.:;=?@[]^_{|}~"
_LINEAR = [to_linear(i / 255) for i in range(256)]


def blurhash(image: Image.Image, components: tuple[int, int] = BLURHASH_COMPONENTS) -> str:
    """The BlurHash of `image` with `components` (x, y) cosine terms."""
    return encode_blurhash(image.width, image.height, image.convert("RGB").tobytes(), components)


def encode_blurhash(
    width: int, height: int, rgb: bytes, components: tuple[int, int] = BLURHASH_COMPONENTS
) -> str:
    """The BlurHash of packed 8-bit RGB pixels, as woltapp's reference encoder computes it."""
    nx, ny = components
    linear = [[_LINEAR[v] for v in rgb[c::3]] for c in range(3)]
    factors = [
        _blurhash_factor(linear, width, height, cx, cy) for cy in range(ny) for cx in range(nx)
    ]
    dc, ac = factors[0], factors[1:]
    out = _base83((nx - 1) + (ny - 1) * 9, 1)
    if ac:
        actual = max(abs(v) for f in ac for v in f)
        quantised = int(max(0, min(82, math.floor(actual * 166 - 0.5))))
        maximum = (quantised + 1) / 166
        out += _base83(quantised, 1)
    else:
        maximum = 1.0
        out += _base83(0, 1)
    out += _base83(_encode_dc(dc), 4)
    for factor in ac:
        out += _base83(_encode_ac(factor, maximum), 2)
    return out


def _blurhash_factor(
    linear: Sequence[Sequence[float]], width: int, height: int, cx: int, cy: int
) -> tuple[float, float, float]:
    fx = [math.cos(math.pi * cx * x / width) for x in range(width)]
    fy = [math.cos(math.pi * cy * y / height) for y in range(height)]
    scale = (1 if cx == 0 and cy == 0 else 2) / (width * height)
    sums = []
    for channel in linear:
        total = 0.0
        for y in range(height):
            row = channel[y * width : (y + 1) * width]
            total += fy[y] * sum(b * v for b, v in zip(fx, row, strict=True))
        sums.append(total * scale)
    return (sums[0], sums[1], sums[2])


def _encode_dc(rgb: tuple[float, float, float]) -> int:
    r, g, b = (_linear_to_srgb(v) for v in rgb)
    return (r << 16) + (g << 8) + b


def _encode_ac(rgb: tuple[float, float, float], maximum: float) -> int:
    r, g, b = (int(max(0, min(18, math.floor(_sign_pow(v / maximum, 0.5) * 9 + 9.5)))) for v in rgb)
    return r * 19 * 19 + g * 19 + b


def _linear_to_srgb(value: float) -> int:
    v = max(0.0, min(1.0, value))
    if v <= 0.0031308:
        return int(v * 12.92 * 255 + 0.5)
    return int((1.055 * v ** (1 / 2.4) - 0.055) * 255 + 0.5)


def _sign_pow(value: float, exponent: float) -> float:
    return math.copysign(abs(value) ** exponent, value)


def _base83(value: int, length: int) -> str:
    return "".join(_BASE83[(value // 83 ** (length - 1 - i)) % 83] for i in range(length))


# --- ThumbHash (Evan Wallace's reference, js/thumbhash.js) -------------------------------


def thumbhash(image: Image.Image) -> str:
    """The ThumbHash of `image` (at most 100 px a side), base64-encoded with padding."""
    data = encode_thumbhash(image.width, image.height, image.convert("RGBA").tobytes())
    return base64.b64encode(data).decode("ascii")


def encode_thumbhash(width: int, height: int, rgba: bytes) -> bytes:
    """The ThumbHash bytes of packed 8-bit RGBA pixels (RGB not premultiplied)."""
    if width > 100 or height > 100:
        raise ValueError(f"{width}x{height} doesn't fit in 100x100")
    alpha = [a / 255 for a in rgba[3::4]]
    total_alpha = _running_sum(alpha)
    average = [
        _running_sum(a / 255 * v for a, v in zip(alpha, rgba[c::4], strict=True)) for c in range(3)
    ]
    if total_alpha:
        average = [v / total_alpha for v in average]
    has_alpha = total_alpha < width * height
    l_limit = 5 if has_alpha else 7  # fewer luminance terms leave room for alpha's
    lx = max(1, _js_round(l_limit * width / max(width, height)))
    ly = max(1, _js_round(l_limit * height / max(width, height)))
    lum, p, q = _lpq(rgba, alpha, average)

    l_dc, l_ac, l_scale = _thumbhash_channel(lum, width, height, max(3, lx), max(3, ly))
    p_dc, p_ac, p_scale = _thumbhash_channel(p, width, height, 3, 3)
    q_dc, q_ac, q_scale = _thumbhash_channel(q, width, height, 3, 3)
    is_landscape = width > height
    header24 = (
        _js_round(63 * l_dc)
        | (_js_round(31.5 + 31.5 * p_dc) << 6)
        | (_js_round(31.5 + 31.5 * q_dc) << 12)
        | (_js_round(31 * l_scale) << 18)
        | (int(has_alpha) << 23)
    )
    header16 = (
        (ly if is_landscape else lx)
        | (_js_round(63 * p_scale) << 3)
        | (_js_round(63 * q_scale) << 9)
        | (int(is_landscape) << 15)
    )
    out = [header24 & 255, (header24 >> 8) & 255, header24 >> 16, header16 & 255, header16 >> 8]
    acs = [l_ac, p_ac, q_ac]
    if has_alpha:
        a_dc, a_ac, a_scale = _thumbhash_channel(alpha, width, height, 5, 5)
        out.append(_js_round(15 * a_dc) | (_js_round(15 * a_scale) << 4))
        acs.append(a_ac)
    nibbles = [_js_round(15 * f) for ac in acs for f in ac]
    nibbles += [0] * (len(nibbles) % 2)
    out += [low | (high << 4) for low, high in zip(nibbles[::2], nibbles[1::2], strict=True)]
    return bytes(out)


def _lpq(
    rgba: bytes, alpha: Sequence[float], average: Sequence[float]
) -> tuple[list[float], list[float], list[float]]:
    """Luminance, yellow-blue and red-green of each pixel, composited on the average colour."""
    lum, p, q = [], [], []
    for i, a in enumerate(alpha):
        r = average[0] * (1 - a) + a / 255 * rgba[4 * i]
        g = average[1] * (1 - a) + a / 255 * rgba[4 * i + 1]
        b = average[2] * (1 - a) + a / 255 * rgba[4 * i + 2]
        lum.append((r + g + b) / 3)
        p.append((r + g) / 2 - b)
        q.append(r - g)
    return lum, p, q


def _thumbhash_channel(
    channel: Sequence[float], width: int, height: int, nx: int, ny: int
) -> tuple[float, list[float], float]:
    """DC, normalised AC terms and AC scale of one channel's low-frequency DCT.

    The sums run in the reference's order, so they round as the reference's do. A term that
    cancels out (an image flat along an axis) is left as rounding noise by the reference,
    and the noise's sign sets that term's nibble; the noise depends on the platform's
    `cos`, so such terms are snapped to 0 here, which makes the hash the same everywhere.
    """
    fys = [[math.cos(math.pi / height * cy * (y + 0.5)) for y in range(height)] for cy in range(ny)]
    dc, ac, scale = 0.0, [], 0.0
    for cy in range(ny):
        cx = 0
        while cx * ny < nx * (ny - cy):
            fx = [math.cos(math.pi / width * cx * (x + 0.5)) for x in range(width)]
            f = _dct_term(channel, width, fx, fys[cy]) / (width * height)
            if abs(f) < THUMBHASH_NOISE:
                f = 0.0
            if cx or cy:
                ac.append(f)
                scale = max(scale, abs(f))
            else:
                dc = f
            cx += 1
    if scale:
        ac = [0.5 + 0.5 / scale * f for f in ac]
    return dc, ac, scale


def _dct_term(
    channel: Sequence[float], width: int, fx: Sequence[float], fy: Sequence[float]
) -> float:
    f = 0.0
    for y, fy_y in enumerate(fy):
        row = y * width
        for x, fx_x in enumerate(fx):
            f += channel[row + x] * fx_x * fy_y
    return f


def _running_sum(values: Iterable[float]) -> float:
    """Left-to-right float addition, as the reference does; Python 3.12's `sum` compensates."""
    total = 0.0
    for value in values:
        total += value
    return total


def _js_round(value: float) -> int:
    """JavaScript's Math.round: halves go up, where Python's round goes to even."""
    return math.floor(value + 0.5)


# --- perceptual hash (imagehash.phash) ---------------------------------------------------


def phash(image: Image.Image) -> str:
    """imagehash's `phash`: the signs of a 32x32 grey DCT's 8x8 lowest terms about their median.

    Returned as imagehash prints it: 16 hex digits, bits row by row, most significant first.
    """
    grey = image.convert("L").resize((PHASH_SIDE, PHASH_SIDE), Image.Resampling.LANCZOS)
    data = grey.tobytes()
    pixels = [data[y * PHASH_SIDE : (y + 1) * PHASH_SIDE] for y in range(PHASH_SIDE)]
    terms = _dct_low(pixels, PHASH_LOW)
    flat = [t for row in terms for t in row]
    median = _median(flat)
    bits = "".join("1" if t > median else "0" for t in flat)
    return f"{int(bits, 2):016x}"


def _dct_low(pixels: Sequence[Sequence[int]], low: int) -> list[list[float]]:
    """The top-left `low` x `low` terms of scipy's 2-D DCT-II (unnormalised, both axes)."""
    n = len(pixels)
    basis = [
        [2 * math.cos(math.pi * k * (2 * i + 1) / (2 * n)) for i in range(n)] for k in range(low)
    ]
    # Along axis 0 (down the columns) first, as imagehash does, then along the rows.
    down = [
        [sum(b * row[x] for b, row in zip(bk, pixels, strict=True)) for x in range(n)]
        for bk in basis
    ]
    return [[sum(b * v for b, v in zip(bk, row, strict=True)) for bk in basis] for row in down]


def _median(values: Sequence[float]) -> float:
    ordered = sorted(values)
    middle = len(ordered) // 2
    if len(ordered) % 2:
        return ordered[middle]
    return (ordered[middle - 1] + ordered[middle]) / 2
