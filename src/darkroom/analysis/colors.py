"""Colours: dominant colours, BlurHash, ThumbHash and a perceptual hash, in pure Python.

The dominant colours are computed here; the three hashes in `image_hashes`.

Part of the core install (Pillow and pyvips only, no numpy), so every deployment has it.
Each value is computed on a small thumbnail, which is what keeps pure Python fast enough:
the dominant colours on 64 px, BlurHash on 32 px, ThumbHash on 100 px (its maximum) and the
perceptual hash on imagehash's 32x32 grey square.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from PIL import Image

from darkroom.analysis.image_hashes import (
    BLURHASH_SIDE,
    THUMBHASH_SIDE,
    blurhash,
    phash,
    thumbhash,
    to_linear,
)
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
    r, g, b = (to_linear(c / 255) for c in rgb)
    x = (0.4124564 * r + 0.3575761 * g + 0.1804375 * b) / 0.95047
    y = 0.2126729 * r + 0.7151522 * g + 0.0721750 * b
    z = (0.0193339 * r + 0.1191920 * g + 0.9503041 * b) / 1.08883
    fx, fy, fz = _lab_f(x), _lab_f(y), _lab_f(z)
    return (116 * fy - 16, 500 * (fx - fy), 200 * (fy - fz))


def _lab_f(t: float) -> float:
    return t ** (1 / 3) if t > (6 / 29) ** 3 else t / (3 * (6 / 29) ** 2) + 4 / 29
