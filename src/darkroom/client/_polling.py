"""Waiting for an image: when to ask again, and when to stop."""

from __future__ import annotations

from collections.abc import Iterator

from darkroom.client._errors import VariantsFailed
from darkroom.contract import ImageOut, Status

DEFAULT_TIMEOUT = 60.0
FIRST_DELAY = 0.05
MAX_DELAY = 2.0
GROWTH = 1.5


def delays(first: float = FIRST_DELAY, cap: float = MAX_DELAY) -> Iterator[float]:
    """Pauses between polls: short at first (small images are done in milliseconds),
    growing by half each time up to `cap`, so a long job costs few requests."""
    delay = first
    while True:
        yield delay
        delay = min(cap, delay * GROWTH)


def finished(image: ImageOut) -> bool:
    """True once `image` is done; VariantsFailed, with each output's reason, if it failed."""
    if image.status == Status.FAILED:
        raise VariantsFailed(image=image)
    return image.status == Status.DONE
