"""The imaging core: pure functions from bytes and a spec to encoded bytes. No I/O here."""

from darkroom.imaging._vips import set_threads as set_vips_threads
from darkroom.imaging.colors import RGBA
from darkroom.imaging.formats import ImageFormat
from darkroom.imaging.limits import DEFAULT_LIMITS, Limits
from darkroom.imaging.pipeline import Rendered, render
from darkroom.imaging.probe import ImageInfo, probe
from darkroom.imaging.query import parse_query, to_query
from darkroom.imaging.spec import Crop, Fit, Gravity, OutputFormat, TransformSpec, Watermark
from darkroom.imaging.verify import verify

__all__ = [
    "DEFAULT_LIMITS",
    "RGBA",
    "Crop",
    "Fit",
    "Gravity",
    "ImageFormat",
    "ImageInfo",
    "Limits",
    "OutputFormat",
    "Rendered",
    "TransformSpec",
    "Watermark",
    "parse_query",
    "probe",
    "render",
    "set_vips_threads",
    "to_query",
    "verify",
]
