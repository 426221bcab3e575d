"""OCR: RapidOCR's packaged PP-OCR models on text rendered with known strings and boxes."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import pytest

from darkroom.analysis.picture import Picture, load_picture
from darkroom.errors import ConfigurationError, ExtraNotInstalled
from tests.unit.analysis._extras import need_extra

need_extra("numpy", "cv2", "onnxruntime", "rapidocr")

from darkroom.analysis import ocr  # noqa: E402

FIXTURES = Path(__file__).parents[2] / "fixtures"
TEXT = FIXTURES / "analysis"
TRUTH: dict[str, Any] = json.loads((TEXT / "text.json").read_text())
SMALL = ["text-sans.png", "text-serif.png", "text-mono.png"]

pytestmark = pytest.mark.slow  # loading the three models and reading take over a second


def _picture(path: Path) -> Picture:
    return load_picture(path.read_bytes(), ocr.MAX_SIDE)


def _accuracy(found: str, truth: str) -> float:
    """1 - the edit distance over the true string's length (character accuracy)."""
    previous = list(range(len(found) + 1))
    for i, t in enumerate(truth, 1):
        current = [i]
        for j, f in enumerate(found, 1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (t != f)))
        previous = current
    return 1 - previous[-1] / len(truth)


def _rect(quad: list[list[int]]) -> tuple[int, int, int, int]:
    xs, ys = [p[0] for p in quad], [p[1] for p in quad]
    return min(xs), min(ys), max(xs), max(ys)


@pytest.fixture(scope="module")
def results() -> dict[str, dict[str, Any]]:
    return {name: ocr.analyze(_picture(TEXT / name)) for name in TRUTH}


@pytest.mark.parametrize("name", SMALL)
def test_reads_every_line_in_order(name: str, results: dict[str, dict[str, Any]]) -> None:
    truth = [line["text"] for line in TRUTH[name]["lines"]]
    found = [line["text"] for line in results[name]["lines"]]
    assert len(found) == len(truth)
    for f, t in zip(found, truth, strict=True):
        # 0.9, not more: in DejaVu Sans Mono the model reads "ORDER" as "0RDER".
        assert _accuracy(f, t) >= 0.9, (f, t)
    assert results[name]["text"] == "\n".join(found)


def test_character_accuracy_over_all_lines(results: dict[str, dict[str, Any]]) -> None:
    pairs = [
        (found["text"], truth["text"])
        for name in TRUTH
        for found, truth in zip(results[name]["lines"], TRUTH[name]["lines"], strict=True)
    ]
    characters = sum(len(t) for _, t in pairs)
    accuracy = sum(_accuracy(f, t) * len(t) for f, t in pairs) / characters
    assert accuracy >= 0.98


@pytest.mark.parametrize("name", sorted(TRUTH))
def test_boxes_surround_the_ink_in_original_pixels(
    name: str, results: dict[str, dict[str, Any]]
) -> None:
    """Each box holds its line's ink, and is no more than a line height larger around it."""
    for found, truth in zip(results[name]["lines"], TRUTH[name]["lines"], strict=True):
        x, y, w, h = truth["box"]
        left, top, right, bottom = _rect(found["box"])
        slack = h // 4
        assert left <= x + slack
        assert top <= y + slack
        assert right >= x + w - slack
        assert bottom >= y + h - slack
        assert left >= x - h
        assert top >= y - h
        assert right <= x + w + h
        assert bottom <= y + h + h


def test_a_3000_pixel_image_gets_boxes_in_its_own_pixels(
    results: dict[str, dict[str, Any]],
) -> None:
    picture = _picture(TEXT / "text-sans-3000.png")
    assert picture.width == ocr.MAX_SIDE  # analysed at a third of its size
    factor = TRUTH["text-sans-3000.png"]["size"][0] / TRUTH["text-sans.png"]["size"][0]
    large = results["text-sans-3000.png"]["lines"]
    small = results["text-sans.png"]["lines"]
    assert [line["text"] for line in large] == [line["text"] for line in small]
    for big, little in zip(large, small, strict=True):
        for a, b in zip(_rect(big["box"]), _rect(little["box"]), strict=True):
            assert a == pytest.approx(b * factor, abs=0.02 * 3000)


def test_confidences_are_probabilities(results: dict[str, dict[str, Any]]) -> None:
    for result in results.values():
        for line in result["lines"]:
            assert 0.5 <= line["confidence"] <= 1
            assert line["confidence"] == round(line["confidence"], 3)


def test_reads_an_exif_rotated_photo_upright() -> None:
    """The orientation photos carry the words top and bottom: upright, they read so."""
    picture = _picture(FIXTURES / "corpus" / "exif-orient-6-landscape.jpg")
    lines = {line["text"].lower(): _rect(line["box"]) for line in ocr.analyze(picture)["lines"]}
    assert {"top", "bottom"} <= set(lines)
    assert lines["top"][3] < picture.original_height / 4
    assert lines["bottom"][1] > picture.original_height * 3 / 4


def test_a_picture_without_text_has_no_lines() -> None:
    picture = load_picture((FIXTURES / "corpus" / "png-palette-2bit-opaque.png").read_bytes(), 960)
    assert ocr.analyze(picture) == {"text": "", "lines": []}


def test_analysis_is_deterministic(results: dict[str, dict[str, Any]]) -> None:
    assert ocr.analyze(_picture(TEXT / "text-serif.png")) == results["text-serif.png"]


def test_model_info_names_the_packaged_models() -> None:
    info = ocr.model_info()
    assert info.name == "rapidocr-PP-OCRv6-small"
    assert int(info.version.split(".")[0]) >= 3


def test_a_user_recogniser_is_used(tmp_path: Path) -> None:
    """The packaged recogniser, copied under another name, reads the same."""
    import importlib.resources

    import rapidocr

    packaged = importlib.resources.files(rapidocr) / "models" / "PP-OCRv6_rec_small.onnx"
    mine = tmp_path / "my-recogniser.onnx"
    mine.write_bytes(packaged.read_bytes())
    picture = _picture(TEXT / "text-serif.png")
    assert ocr.analyze(picture, model_path=mine)["text"] == ocr.analyze(picture)["text"]
    assert ocr.model_info(mine).name == "my-recogniser.onnx"


def test_a_missing_user_model_is_a_configuration_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="does not exist"):
        ocr.analyze(_picture(TEXT / "text-mono.png"), model_path=tmp_path / "absent.onnx")


def test_missing_extra_names_the_install(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "rapidocr", None)
    with pytest.raises(ExtraNotInstalled, match=r"pip install 'darkroom-images\[ocr\]'"):
        ocr.model_info()
    with pytest.raises(ExtraNotInstalled, match=r"darkroom-images\[ocr\]"):
        ocr.analyze(_picture(TEXT / "text-mono.png"))
