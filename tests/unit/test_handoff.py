"""Handoff: each entry taken once, bounded by bytes, new entries refused when full, expiry."""

from __future__ import annotations

import pyvips

from darkroom.imaging import probe
from darkroom.imaging.base import Base
from darkroom.service.handoff import Decoded, Handoff, pixel_bytes
from tests.corpus import read

INFO = probe(read("jpeg-progressive.jpg"))


def decoded(data_bytes: int, side: int = 10) -> Decoded:
    image = pyvips.Image.black(side, side, bands=3).cast("uchar")
    return Decoded(b"x" * data_bytes, INFO, Base(image, 1.0))


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_an_entry_is_taken_once_and_its_bytes_are_released() -> None:
    handoff = Handoff(10_000)
    entry = decoded(100)
    assert entry.size == 100 + 10 * 10 * 3
    assert handoff.put("a", entry)
    assert handoff.size == entry.size
    assert handoff.take("a") is entry
    assert handoff.take("a") is None
    assert handoff.size == 0


def test_when_full_new_entries_are_refused_and_the_oldest_kept() -> None:
    handoff = Handoff(1000)
    assert handoff.put("a", decoded(500))  # 800 bytes with its pixels
    assert handoff.has_room(200)
    assert not handoff.has_room(201)
    assert not handoff.put("b", decoded(500))
    assert handoff.take("b") is None
    assert handoff.take("a") is not None
    assert handoff.put("b", decoded(500))


def test_a_second_entry_for_the_same_key_is_not_kept() -> None:
    handoff = Handoff(10_000)
    first = decoded(10)
    assert handoff.put("a", first)
    assert not handoff.put("a", decoded(20))
    assert handoff.take("a") is first


def test_entries_expire_and_stop_counting() -> None:
    clock = Clock()
    handoff = Handoff(1500, ttl=60, clock=clock)
    assert handoff.put("a", decoded(400))  # 700 bytes with its pixels
    clock.now = 30
    assert handoff.put("b", decoded(400))
    assert not handoff.has_room(700)
    clock.now = 61  # a is out of date, b is not
    assert handoff.has_room(700)
    assert handoff.size == 700
    assert handoff.take("a") is None
    assert handoff.take("b") is not None
    assert handoff.put("c", decoded(400))
    clock.now = 200
    assert handoff.take("c") is None  # found, but too late to be of use
    assert handoff.size == 0


def test_pixel_bytes_counts_sixteen_bit_samples_twice() -> None:
    assert pixel_bytes(100, 3) == 300
    assert pixel_bytes(100, 4, "ushort") == 800
