"""Geometry of a render: source box, resize target and final crop or canvas, in device pixels.

Everything here is worked out from the header before any pixel is decoded, so that the
decoder can shrink on load straight to the size the result needs.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from darkroom.errors import InvalidSpec
from darkroom.imaging._vips import VIPS_MAX_COORD
from darkroom.imaging.probe import ImageInfo
from darkroom.imaging.spec import COMPASS, Fit, Gravity, TransformSpec

SMART_CROPS = {Gravity.ATTENTION: "attention", Gravity.ENTROPY: "entropy"}
FACE_FALLBACK = Gravity.ATTENTION
"""What gravity=face keeps when no face lies in the source (as imgproxy and thumbor do)."""

Box = tuple[int, int, int, int]
"""`(x, y, width, height)` in pixels."""


@dataclass(frozen=True, slots=True)
class Plan:
    """What the resize does (in the orientation before the user's rotation)."""

    source: tuple[int, int]
    """Upright frame size after the user's crop."""
    resize: tuple[int, int]
    """Box handed to libvips `thumbnail`; VIPS_MAX_COORD means "unconstrained"."""
    size: str
    """libvips thumbnail `size`: "down" (no enlarging), "both" or "force" (fill)."""
    smart_crop: str | None
    """libvips `interesting` mode when thumbnail itself crops (attention/entropy)."""
    box: tuple[int, int] | None
    """Final frame size to cut (cover) or extend to (pad), if any."""
    gravity: Gravity
    """Where the cut or the canvas sits, mapped into pre-rotation orientation."""

    def largest_frame(self) -> tuple[int, int]:
        """An upper bound of the frame the render holds after its resize, from the header alone.

        What the render computes and encodes per frame: the resized frame, extended to the
        canvas for fit=pad (a cover crop only ever makes it smaller).
        """
        if self.smart_crop is not None or self.size == "force":
            width, height = self.resize
        else:
            src_w, src_h = self.source
            scale = min(self.resize[0] / src_w, self.resize[1] / src_h)
            if self.size == "down":
                scale = min(scale, 1.0)
            width, height = max(1, round(src_w * scale)), max(1, round(src_h * scale))
        if self.box is not None:
            width, height = max(width, self.box[0]), max(height, self.box[1])
        return width, height


def plan(
    spec: TransformSpec,
    info: ImageInfo,
    *,
    animated: bool,
    faces: bool = False,
    whole_frame: bool = False,
) -> Plan:
    """Work out the resize for `spec` on an image described by `info`.

    `faces` tells whether any face lies in the source (gravity=face falls back to attention
    otherwise). `whole_frame` keeps the decoder from cropping (attention, entropy): the frame
    steps then position things in the whole source (a mask, redactions) and cut themselves.
    """
    return plan_for_size(
        spec,
        info.upright_size(spec.auto_orient),
        animated=animated,
        faces=faces,
        whole_frame=whole_frame,
    )


def plan_for_size(
    spec: TransformSpec,
    upright: tuple[int, int],
    *,
    animated: bool,
    faces: bool = False,
    whole_frame: bool = False,
) -> Plan:
    """Work out the resize for `spec` on an image whose frames are `upright` (width, height)."""
    source = _source_size(spec, upright)
    width, height = spec.scaled(spec.width), spec.scaled(spec.height)
    if spec.rotate in (90, 270):
        width, height = height, width
    gravity = pre_transform_gravity(spec.gravity, spec)
    if gravity is Gravity.FACE and not faces:
        gravity = FACE_FALLBACK
    size = "both" if spec.enlarge else "down"

    if width is None and height is None:
        return Plan(source, source, "down", None, None, gravity)
    if spec.fit is Fit.CONTAIN:
        resize = (width or VIPS_MAX_COORD, height or VIPS_MAX_COORD)
        return Plan(source, resize, size, None, None, gravity)
    assert width is not None
    assert height is not None
    if spec.fit is Fit.PAD:
        return Plan(source, (width, height), size, None, (width, height), gravity)
    if spec.fit is Fit.FILL:
        if not spec.enlarge:
            width, height = min(width, source[0]), min(height, source[1])
        return Plan(source, (width, height), "force", None, None, gravity)
    return _cover(source, width, height, size, gravity, animated=animated, whole=whole_frame)


def _cover(
    source: tuple[int, int],
    width: int,
    height: int,
    size: str,
    gravity: Gravity,
    *,
    animated: bool,
    whole: bool,
) -> Plan:
    if gravity in SMART_CROPS and not animated and not whole:
        return Plan(source, (width, height), size, SMART_CROPS[gravity], None, gravity)
    if gravity in SMART_CROPS and animated:
        # Saliency differs frame to frame; a crop that jumps around is worse than centring.
        gravity = Gravity.CENTRE
    # Scale so the box is covered, constraining only the governing side; the other side
    # overflows and the gravity crop removes the excess.
    src_w, src_h = source
    if width * src_h >= height * src_w:
        resize = (width, VIPS_MAX_COORD)
    else:
        resize = (VIPS_MAX_COORD, height)
    return Plan(source, resize, size, None, (width, height), gravity)


def _source_size(spec: TransformSpec, upright: tuple[int, int]) -> tuple[int, int]:
    width, height = upright
    crop = spec.crop
    if crop is None:
        return width, height
    if crop.left + crop.width > width or crop.top + crop.height > height:
        raise InvalidSpec(
            f"The crop {crop.left},{crop.top},{crop.width},{crop.height} (left,top,width,height) "
            f"falls outside the {width}x{height} image.",
            details=[{"field": "crop", "message": "outside the image"}],
        )
    return crop.width, crop.height


def pre_transform_gravity(gravity: Gravity, spec: TransformSpec) -> Gravity:
    """The gravity to use before rotate/flip/flop so that it holds for the final image.

    The user names the edge of the result; the crop happens before the result is rotated
    and mirrored, so the named edge is carried back through those steps in reverse order.
    """
    if gravity not in COMPASS:
        return gravity
    index = COMPASS.index(gravity)
    if spec.flop:  # mirror east/west
        index = (8 - index) % 8
    if spec.flip:  # mirror north/south
        index = (4 - index) % 8
    index = (index - spec.rotate // 45) % 8
    return COMPASS[index]


def gravity_offset(
    gravity: Gravity, outer: tuple[int, int], inner: tuple[int, int]
) -> tuple[int, int]:
    """Top-left of an `inner` box placed inside `outer` by `gravity` (negative if larger)."""
    free_x, free_y = outer[0] - inner[0], outer[1] - inner[1]
    x, y = free_x // 2, free_y // 2
    if gravity in (Gravity.NORTH, Gravity.NORTHEAST, Gravity.NORTHWEST):
        y = 0
    if gravity in (Gravity.SOUTH, Gravity.SOUTHEAST, Gravity.SOUTHWEST):
        y = free_y
    if gravity in (Gravity.WEST, Gravity.NORTHWEST, Gravity.SOUTHWEST):
        x = 0
    if gravity in (Gravity.EAST, Gravity.NORTHEAST, Gravity.SOUTHEAST):
        x = free_x
    return x, y


def source_boxes(
    boxes: Iterable[Sequence[int]], spec: TransformSpec, upright: tuple[int, int]
) -> tuple[Box, ...]:
    """Boxes of the upright original, in the source's pixels (after the user's crop).

    Kept whole, so that a box reaching past the crop still pads and clips the same way;
    boxes with no area are dropped.
    """
    left, top = (spec.crop.left, spec.crop.top) if spec.crop is not None else (0, 0)
    return tuple(
        (int(x) - left, int(y) - top, int(w), int(h)) for x, y, w, h in boxes if w > 0 and h > 0
    )


def clip_box(box: tuple[float, float, float, float], size: tuple[int, int]) -> Box | None:
    """The whole pixels of `box` inside an image of `size`, or None if they are none."""
    x, y, w, h = box
    left, top = max(0, round(x)), max(0, round(y))
    right, bottom = min(size[0], round(x + w)), min(size[1], round(y + h))
    if right <= left or bottom <= top:
        return None
    return left, top, right - left, bottom - top


def scale_box(
    box: Box, source: tuple[int, int], frame: tuple[int, int], pad: float = 0.0
) -> tuple[float, float, float, float]:
    """`box` in the source's pixels, in those of the resized `frame`, grown by `pad` per side."""
    sx, sy = frame[0] / source[0], frame[1] / source[1]
    x, y, w, h = box
    return (
        (x - w * pad) * sx,
        (y - h * pad) * sy,
        w * (1 + 2 * pad) * sx,
        h * (1 + 2 * pad) * sy,
    )


def face_window(
    boxes: Sequence[Box], source: tuple[int, int], frame: tuple[int, int], size: tuple[int, int]
) -> tuple[int, int] | None:
    """Top-left of a `size` cut of `frame` centred on the union of the faces, kept inside it.

    None when no face lies in the source.
    """
    inside = [b for b in (clip_box(box, source) for box in boxes) if b is not None]
    if not inside:
        return None
    left = min(b[0] for b in inside)
    top = min(b[1] for b in inside)
    right = max(b[0] + b[2] for b in inside)
    bottom = max(b[1] + b[3] for b in inside)
    x, y, w, h = scale_box((left, top, right - left, bottom - top), source, frame)
    cut_x = round(x + w / 2 - size[0] / 2)
    cut_y = round(y + h / 2 - size[1] / 2)
    return (
        min(max(cut_x, 0), frame[0] - size[0]),
        min(max(cut_y, 0), frame[1] - size[1]),
    )


def focus_window(
    point: tuple[float, float], frame: tuple[int, int], size: tuple[int, int]
) -> tuple[int, int]:
    """Top-left of a `size` cut of `frame` centred on `point` (fractions), kept inside it."""
    cut_x = round(point[0] * frame[0] - size[0] / 2)
    cut_y = round(point[1] * frame[1] - size[1] / 2)
    return (
        min(max(cut_x, 0), frame[0] - size[0]),
        min(max(cut_y, 0), frame[1] - size[1]),
    )


def any_inside(boxes: Iterable[Box], source: tuple[int, int]) -> bool:
    """Whether any of `boxes` (in the source's pixels) shows in the source."""
    return any(clip_box(box, source) is not None for box in boxes)
