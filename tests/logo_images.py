"""Made-up logos, and real photos with one pasted in at a known place: for logo tests."""

from __future__ import annotations

import io
import random

from PIL import Image, ImageDraw, ImageFont

from darkroom.analysis.picture import load_picture
from tests.corpus import CORPUS

Box = list[int]


def make_logo(seed: int, text: str) -> Image.Image:
    """A made-up logo: a word over coloured shapes, textured enough to have features."""
    rng = random.Random(seed)
    image = Image.new("RGBA", (360, 240), (255, 255, 255, 255))
    draw = ImageDraw.Draw(image)
    for _ in range(40):
        x, y, r = rng.randrange(360), rng.randrange(240), rng.randrange(4, 26)
        fill = (rng.randrange(256), rng.randrange(256), rng.randrange(256))
        shape = rng.choice(("ellipse", "rectangle", "triangle"))
        if shape == "ellipse":
            draw.ellipse((x - r, y - r, x + r, y + r), fill=fill, outline="black", width=2)
        elif shape == "rectangle":
            draw.rectangle((x - r, y - r, x + r, y + r // 2), fill=fill, outline="black", width=2)
        else:
            draw.polygon([(x, y - r), (x + r, y + r), (x - r, y + r)], fill=fill, outline="black")
    font = ImageFont.load_default(size=64)
    draw.text((28, 80), text, font=font, fill=(10, 10, 60), stroke_width=3, stroke_fill="white")
    draw.rectangle((0, 0, 359, 239), outline="black", width=6)
    return image


def encode(image: Image.Image, kind: str) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, kind, quality=90)
    return buffer.getvalue()


def photo_of(name: str) -> Image.Image:
    picture = load_picture((CORPUS / name).read_bytes(), 4096)
    return Image.frombytes("RGB", (picture.width, picture.height), picture.image.write_to_memory())


def photo_with_logo(
    photo: str, scale: float, angle: float, at: tuple[int, int]
) -> tuple[bytes, Box]:
    """The photo with ACME pasted in, as JPEG, and the true box of the pasted logo."""
    image = photo_of(photo)
    logo = make_logo(1, "ACME")
    size = (round(logo.width * scale), round(logo.height * scale))
    placed = logo.resize(size, Image.Resampling.LANCZOS)
    placed = placed.rotate(angle, resample=Image.Resampling.BICUBIC, expand=True)
    image.paste(placed, at, placed)
    bbox = placed.getchannel("A").getbbox()
    assert bbox is not None
    left, top, right, bottom = bbox
    return encode(image, "JPEG"), [at[0] + left, at[1] + top, right - left, bottom - top]


def iou(a: Box, b: Box) -> float:
    width = min(a[0] + a[2], b[0] + b[2]) - max(a[0], b[0])
    height = min(a[1] + a[3], b[1] + b[3]) - max(a[1], b[1])
    inter = max(0, width) * max(0, height)
    return inter / (a[2] * a[3] + b[2] * b[3] - inter)
