"""The analyzer bench's scoring helpers (no model is loaded here)."""

from __future__ import annotations

import pytest
from bench.analyzers import (
    character_accuracy,
    iou,
    levenshtein,
    line_pairs,
    match_faces,
    status_kib,
)


@pytest.mark.parametrize(
    ("a", "b", "distance"),
    [
        ("", "", 0),
        ("abc", "", 3),
        ("", "abc", 3),
        ("kitten", "sitting", 3),
        ("0RDER #A7-3391", "ORDER #A7-3391", 1),
        ("flaw", "lawn", 2),
        ("same", "same", 0),
    ],
)
def test_levenshtein(a: str, b: str, distance: int) -> None:
    assert levenshtein(a, b) == distance
    assert levenshtein(b, a) == distance


def test_character_accuracy_weights_by_true_length() -> None:
    # 1 edit over 10 characters in all.
    assert character_accuracy([("abcd", "abcd"), ("xbcdef", "abcdef")]) == pytest.approx(0.9)
    assert character_accuracy([]) == 1.0
    assert character_accuracy([("", "abcd")]) == 0.0


def test_line_pairs_fall_back_to_the_whole_text() -> None:
    assert line_pairs(["a", "b"], ["a", "c"]) == [("a", "a"), ("b", "c")]
    assert line_pairs(["a b"], ["a", "b"]) == [("a b", "a\nb")]


def test_iou() -> None:
    assert iou([0, 0, 10, 10], [0, 0, 10, 10]) == 1.0
    assert iou([0, 0, 10, 10], [10, 10, 5, 5]) == 0.0
    assert iou([0, 0, 10, 10], [5, 0, 10, 10]) == pytest.approx(50 / 150)
    assert iou([0, 0, 0, 0], [0, 0, 0, 0]) == 0.0


def test_match_faces_counts_hard_faces_as_no_false_positive() -> None:
    labels = [([0, 0, 10, 10], False), ([100, 100, 10, 10], True), ([50, 50, 10, 10], False)]
    found = [[1, 1, 10, 10], [100, 100, 10, 10], [300, 300, 10, 10]]
    # clear found 1 of 2, hard found 1, detections true 2 (the stray one is false).
    assert match_faces(found, labels) == (1, 2, 1, 2)
    assert match_faces([], labels) == (0, 2, 0, 0)


def test_status_kib() -> None:
    text = "Name:\tpython\nVmHWM:\t  123456 kB\nVmRSS:\t   98765 kB\n"
    assert status_kib(text, "VmRSS") == 98765
    assert status_kib(text, "VmHWM") == 123456
    with pytest.raises(KeyError):
        status_kib(text, "VmSwap")
