"""Colours: dominant colours, BlurHash, ThumbHash and a perceptual hash, in pure Python.

Part of the core install (Pillow and pyvips only, no numpy), so every deployment has it.
Each value is computed on a small thumbnail, which is what keeps pure Python fast enough:
the dominant colours on 64 px, BlurHash on 32 px, ThumbHash on 100 px (its maximum) and the
perceptual hash on imagehash's 32x32 grey square.
"""

from __future__ import annotations

import base64
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from PIL import Image

from darkroom.analysis.model import ModelInfo
from darkroom.analysis.picture import Picture

NAME = "colors"
EXTRA: str | None = None
MAX_SIDE = 512
ALGORITHM_VERSION = "1"
"""Bumped whenever any value below would change for the same picture."""

DOMINANT_COLOURS = 5
DOMINANT_SIDE = 64
MERGE_DISTANCE = 10.0
"""Clusters closer than this in CIE Lab (ΔE76; ~2.3 is a just-noticeable difference) are one
colour to a reader, so they are reported as one."""
KMEANS_ROUNDS = 20
BLURHASH_SIDE = 32
BLURHASH_COMPONENTS = (4, 3)
THUMBHASH_SIDE = 100
THUMBHASH_NOISE = 1e-10
"""A ThumbHash DCT term smaller than this is rounding noise: it is far below the ~4e-7 that
one 8-bit level of one pixel moves a term by on the largest (100x100) thumbnail."""
PHASH_SIDE = 32
PHASH_LOW = 8

RGB = tuple[int, int, int]


def model_info(model_path: Path | None = None) -> ModelInfo:
    """The algorithms' version: there is no model, and `model_path` is ignored."""
    return ModelInfo("darkroom-colors", ALGORITHM_VERSION)


def analyze(picture: Picture, *, model_path: Path | None = None) -> dict[str, Any]:
    """Dominant colours with their share of the picture, and three compact hashes."""
    image = Image.frombytes("RGB", (picture.width, picture.height), picture.image.write_to_memory())
    return {
        "dominant": dominant_colours(_fit(image, DOMINANT_SIDE, Image.Resampling.BOX)),
        "blurhash": blurhash(_fit(image, BLURHASH_SIDE, Image.Resampling.BOX)),
        "thumbhash": thumbhash(_fit(image, THUMBHASH_SIDE, Image.Resampling.BOX)),
        "phash": phash(image),
    }


def _fit(image: Image.Image, side: int, resample: Image.Resampling) -> Image.Image:
    """`image` shrunk to fit a `side` square, keeping its aspect ratio; never enlarged."""
    scale = side / max(image.size)
    if scale >= 1:
        return image
    size = (max(1, round(image.width * scale)), max(1, round(image.height * scale)))
    return image.resize(size, resample)


def _pixels(image: Image.Image) -> list[RGB]:
    data = image.convert("RGB").tobytes()
    return [(data[i], data[i + 1], data[i + 2]) for i in range(0, len(data), 3)]


# --- dominant colours --------------------------------------------------------------------


@dataclass(slots=True)
class _Swatch:
    """Pixels of nearly one colour: how many, their summed sRGB, their mean in Lab."""

    count: int
    rgb_sum: tuple[float, float, float]
    lab: tuple[float, float, float]

    def merged(self, other: _Swatch) -> _Swatch:
        count = self.count + other.count
        rgb_sum = (
            self.rgb_sum[0] + other.rgb_sum[0],
            self.rgb_sum[1] + other.rgb_sum[1],
            self.rgb_sum[2] + other.rgb_sum[2],
        )
        lab = _weighted_mean([(self.lab, self.count), (other.lab, other.count)])
        return _Swatch(count, rgb_sum, lab)

    @property
    def hex(self) -> str:
        r, g, b = (min(255, math.floor(c / self.count + 0.5)) for c in self.rgb_sum)
        return f"#{r:02x}{g:02x}{b:02x}"


def dominant_colours(image: Image.Image) -> list[dict[str, Any]]:
    """Up to five colours covering the image, largest share first; shares sum to 1.

    Weighted k-means in CIE Lab over a 4-bit-per-channel histogram: deterministic (seeded by
    farthest-point picking, not at random) and cheap, since a photo's 64 px thumbnail fills
    only a few hundred histogram cells.
    """
    swatches = _histogram(_pixels(image))
    centres = _seed(swatches, DOMINANT_COLOURS)
    clusters = _kmeans(swatches, centres)
    clusters = _merge_close(clusters)
    total = sum(c.count for c in clusters)
    clusters.sort(key=lambda c: (-c.count, c.hex))
    return [{"hex": c.hex, "fraction": round(c.count / total, 4)} for c in clusters]


def _histogram(pixels: Sequence[RGB]) -> list[_Swatch]:
    cells: dict[RGB, list[int]] = {}
    for r, g, b in pixels:
        cell = cells.setdefault((r >> 4, g >> 4, b >> 4), [0, 0, 0, 0])
        cell[0] += 1
        cell[1] += r
        cell[2] += g
        cell[3] += b
    swatches = []
    for _, (count, r, g, b) in sorted(cells.items()):
        lab = _srgb_to_lab((r / count, g / count, b / count))
        swatches.append(_Swatch(count, (float(r), float(g), float(b)), lab))
    return swatches


def _seed(swatches: Sequence[_Swatch], k: int) -> list[tuple[float, float, float]]:
    """The heaviest swatch, then each time the one that the chosen centres explain worst."""
    first = max(swatches, key=lambda s: s.count)
    centres = [first.lab]
    nearest = [_distance2(s.lab, first.lab) for s in swatches]
    while len(centres) < k:
        costs = [s.count * d for s, d in zip(swatches, nearest, strict=True)]
        best = max(range(len(swatches)), key=costs.__getitem__)
        if costs[best] == 0:
            break  # every swatch already sits on a centre: fewer colours than k
        centres.append(swatches[best].lab)
        nearest = [
            min(d, _distance2(s.lab, swatches[best].lab))
            for s, d in zip(swatches, nearest, strict=True)
        ]
    return centres


def _kmeans(
    swatches: Sequence[_Swatch], centres: list[tuple[float, float, float]]
) -> list[_Swatch]:
    assignment: list[int] = []
    for _ in range(KMEANS_ROUNDS):
        new = [_nearest(s.lab, centres) for s in swatches]
        if new == assignment:
            break
        assignment = new
        clusters = _gather(swatches, assignment, len(centres))
        centres = [c.lab for c in clusters if c.count]
    return [c for c in _gather(swatches, assignment, len(centres)) if c.count]


def _gather(swatches: Sequence[_Swatch], assignment: Sequence[int], k: int) -> list[_Swatch]:
    clusters = [_Swatch(0, (0.0, 0.0, 0.0), (0.0, 0.0, 0.0)) for _ in range(k)]
    for swatch, index in zip(swatches, assignment, strict=True):
        cluster = clusters[index]
        clusters[index] = swatch if cluster.count == 0 else cluster.merged(swatch)
    return clusters


def _merge_close(clusters: list[_Swatch]) -> list[_Swatch]:
    limit = MERGE_DISTANCE**2
    merged = True
    while merged:
        merged = False
        pairs = [
            (_distance2(a.lab, b.lab), i, j)
            for i, a in enumerate(clusters)
            for j, b in enumerate(clusters)
            if i < j
        ]
        if pairs and min(pairs)[0] < limit:
            _, i, j = min(pairs)
            clusters[i] = clusters[i].merged(clusters[j])
            del clusters[j]
            merged = True
    return clusters


def _nearest(lab: tuple[float, float, float], centres: Sequence[tuple[float, float, float]]) -> int:
    return min(range(len(centres)), key=lambda i: _distance2(lab, centres[i]))


def _distance2(a: tuple[float, float, float], b: tuple[float, float, float]) -> float:
    return (a[0] - b[0]) ** 2 + (a[1] - b[1]) ** 2 + (a[2] - b[2]) ** 2


def _weighted_mean(
    items: Sequence[tuple[tuple[float, float, float], int]],
) -> tuple[float, float, float]:
    total = sum(w for _, w in items)
    return (
        sum(v[0] * w for v, w in items) / total,
        sum(v[1] * w for v, w in items) / total,
        sum(v[2] * w for v, w in items) / total,
    )


def _srgb_to_lab(rgb: tuple[float, float, float]) -> tuple[float, float, float]:
    """CIE L*a*b* (D65) of an sRGB colour given on 0..255."""
    r, g, b = (_to_linear(c / 255) for c in rgb)
    x = (0.4124564 * r + 0.3575761 * g + 0.1804375 * b) / 0.95047
    y = 0.2126729 * r + 0.7151522 * g + 0.0721750 * b
    z = (0.0193339 * r + 0.1191920 * g + 0.9503041 * b) / 1.08883
    fx, fy, fz = _lab_f(x), _lab_f(y), _lab_f(z)
    return (116 * fy - 16, 500 * (fx - fy), 200 * (fy - fz))


def _lab_f(t: float) -> float:
    return t ** (1 / 3) if t > (6 / 29) ** 3 else t / (3 * (6 / 29) ** 2) + 4 / 29


def _to_linear(v: float) -> float:
    return v / 12.92 if v <= 0.04045 else ((v + 0.055) / 1.055) ** 2.4


# --- BlurHash (woltapp/blurhash, the C encoder's algorithm) ------------------------------

_BASE83 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz#$%*+,-.:;=?@[]^_{|}~"
_LINEAR = [_to_linear(i / 255) for i in range(256)]


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
