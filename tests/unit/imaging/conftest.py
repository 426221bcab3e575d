"""Fixtures shared by the imaging tests."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from PIL import AvifImagePlugin, ImageFile


@pytest.fixture
def forbid_pixel_decoding(monkeypatch: pytest.MonkeyPatch) -> Callable[[], None]:
    """Call it once the inputs are built: from then on any pixel decode fails the test.

    Covers Pillow's file decoders (BMP, ICO/CUR images, AVIF frames) and pi-heif's, so a
    probe that passes proves it read headers only.
    """

    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("pixels were decoded")

    def forbid() -> None:
        monkeypatch.setattr(ImageFile.ImageFile, "load", refuse)
        monkeypatch.setattr(AvifImagePlugin.AvifImageFile, "load", refuse)
        try:
            from pi_heif import heif  # type: ignore[import-untyped, unused-ignore]
        except ImportError:  # the optional extra is absent: nothing of it can decode
            return
        monkeypatch.setattr(heif.BaseImage, "load", refuse)

    return forbid
