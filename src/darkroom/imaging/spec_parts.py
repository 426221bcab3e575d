"""The parts of a spec added for URL compatibility with thumbor and imgproxy.

They sit apart from `spec` only to keep that module small; `TransformSpec` holds them.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from darkroom.imaging.colors import Color


class _Part(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", use_enum_values=False)


class Focus(_Part):
    """The point fit=cover keeps in the middle of its cut, as fractions of the source."""

    x: float = Field(ge=0, le=1, description="0 is the left edge, 1 the right edge.")
    y: float = Field(ge=0, le=1, description="0 is the top edge, 1 the bottom edge.")


class Padding(_Part):
    """Space added around the result, in CSS px, filled with the background colour."""

    top: int = Field(0, ge=0, le=1000, description="CSS px above.")
    right: int = Field(0, ge=0, le=1000, description="CSS px to the right.")
    bottom: int = Field(0, ge=0, le=1000, description="CSS px below.")
    left: int = Field(0, ge=0, le=1000, description="CSS px to the left.")


class Corners(_Part):
    """Rounded corners: an elliptical radius, with the corners transparent or a colour."""

    radius: int = Field(ge=1, le=4096, description="Horizontal radius in CSS px.")
    radius_y: int | None = Field(
        None, ge=1, le=4096, description="Vertical radius in CSS px (default: radius)."
    )
    color: Color | None = Field(
        None,
        description="Colour outside the corners; transparent when unset and the format has "
        "alpha, else the background colour (white by default).",
    )
