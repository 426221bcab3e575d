"""SourceCache: bounded by bytes, least recently used out first, big entries not kept."""

from __future__ import annotations

from darkroom.imaging import ImageFormat, ImageInfo
from darkroom.service.source_cache import Source, SourceCache

INFO = ImageInfo(
    format=ImageFormat.JPEG,
    width=10,
    height=10,
    frames=1,
    has_alpha=False,
    orientation=1,
    has_icc=False,
    icc_srgb=False,
    bands=3,
    interpretation="srgb",
    loader="jpegload_buffer",
)


def source(fill: bytes, size: int) -> Source:
    return Source(fill * size, INFO)


def cached(cache: SourceCache, key: str) -> bytes | None:
    found = cache.get(key)
    return None if found is None else found.data


def test_least_recently_used_goes_first_and_the_size_stays_bounded() -> None:
    cache = SourceCache(max_bytes=400)
    for key in "abcd":
        cache.put(key, source(key.encode(), 100))
    assert cache.size == 400
    assert cached(cache, "a") == b"a" * 100  # now the most recently used
    cache.put("e", source(b"e", 100))
    assert cached(cache, "b") is None
    assert [cached(cache, key) is not None for key in "acde"] == [True] * 4
    assert cache.size == 400


def test_replacing_and_discarding_keep_the_size_exact() -> None:
    cache = SourceCache(max_bytes=1000)
    cache.put("a", source(b"x", 100))
    cache.put("a", source(b"y", 50))
    assert (cached(cache, "a"), cache.size) == (b"y" * 50, 50)
    cache.discard("a")
    cache.discard("never there")
    assert (cached(cache, "a"), cache.size) == (None, 0)


def test_an_entry_over_a_quarter_of_the_cap_is_not_kept() -> None:
    cache = SourceCache(max_bytes=400)
    cache.put("small", source(b"s", 100))
    cache.put("huge", source(b"h", 101))
    assert cached(cache, "huge") is None
    assert cached(cache, "small") == b"s" * 100


def test_a_zero_cap_keeps_nothing() -> None:
    cache = SourceCache(max_bytes=0)
    cache.put("a", source(b"x", 1))
    assert (cached(cache, "a"), cache.size) == (None, 0)
