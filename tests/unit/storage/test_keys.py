"""Key rules: one validator that keeps every key inside the store, and the key builders."""

from __future__ import annotations

import hashlib
import tempfile
from collections.abc import Callable
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from darkroom import errors
from darkroom.storage import (
    InvalidKey,
    LocalStore,
    cache_key,
    is_profile_name,
    is_valid_key,
    original_key,
    validate_key,
    variant_key,
)
from darkroom.storage.keys import MAX_KEY_LENGTH, MAX_SEGMENT_LENGTH, validate_prefix

SHA = hashlib.sha256(b"pixels").hexdigest()


@pytest.mark.parametrize(
    "key",
    [
        "a",
        "originals/ab/cd/file.jpg",
        "variants/01HZX/thumb_200-0123abcd.webp",
        "A-Z_a-z.0-9",
        "...",
        ".hidden",
        "x/" * 100 + "y",
        "k" * MAX_SEGMENT_LENGTH,
        "/".join(["s" * 200] * 5)[:MAX_KEY_LENGTH].rstrip("/"),
    ],
)
def test_accepts_valid_keys(key: str) -> None:
    assert validate_key(key) == key
    assert is_valid_key(key)


@pytest.mark.parametrize(
    "key",
    [
        "",
        "../x",
        "a/../b",
        "..",
        ".",
        "/abs",
        "a//b",
        "a/./b",
        "a/",
        "a\\b",
        "caf\u00e9.jpg",
        "\uff41",  # fullwidth 'a': not ASCII even though str.isalnum() says yes
        "a b",
        "a\nb",
        "a\x00b",
        "~tmp",
        "k" * (MAX_SEGMENT_LENGTH + 1),
        "a/" * (MAX_KEY_LENGTH // 2) + "a",
    ],
)
def test_rejects_invalid_keys(key: str) -> None:
    with pytest.raises(InvalidKey) as caught:
        validate_key(key)
    assert not is_valid_key(key)
    # Keys are built by code, never by callers: a bad one is our bug, not a 4xx.
    assert (caught.value.status_code, caught.value.retryable) == (500, False)
    assert isinstance(caught.value, errors.DarkroomError)


def test_rejects_non_strings() -> None:
    with pytest.raises(InvalidKey):
        validate_key(None)  # type: ignore[arg-type]


@pytest.mark.parametrize("prefix", ["", "a", "a/", "originals/ab/c", "variants/x/"])
def test_accepts_prefixes(prefix: str) -> None:
    assert validate_prefix(prefix) == prefix


@pytest.mark.parametrize("prefix", ["/", "/a", "a//", "../", "a/../", "é"])
def test_rejects_prefixes(prefix: str) -> None:
    with pytest.raises(InvalidKey):
        validate_prefix(prefix)


_SEGMENTS = st.one_of(
    st.sampled_from(["", ".", "..", "...", ".a", "a.", "-", "_"]),
    st.text(alphabet="aZ09._-/\\~ \x00é\u2024", max_size=6),
)
_KEYS = st.one_of(
    st.text(max_size=40),
    st.lists(_SEGMENTS, min_size=1, max_size=6).map("/".join),
    st.lists(_SEGMENTS, min_size=1, max_size=6).map(lambda parts: "/" + "/".join(parts)),
)


@given(_KEYS)
def test_accepted_keys_stay_inside_the_root(key: str) -> None:
    try:
        validate_key(key)
    except InvalidKey:
        return
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp).resolve()
        resolved = root.joinpath(key).resolve()
        assert resolved.is_relative_to(root)
        assert resolved != root
        # No segment was swallowed by normalisation: the key is the path, verbatim.
        assert resolved.relative_to(root).as_posix() == key
        store = LocalStore(root)
        store.put(key, b"x")
        assert (root / key).read_bytes() == b"x"


@given(st.text(max_size=300))
def test_validation_raises_nothing_but_invalid_key(key: str) -> None:
    try:
        assert validate_key(key) == key
    except InvalidKey as exc:
        assert exc.message


def test_original_key_is_content_addressed_and_fanned_out() -> None:
    assert original_key(SHA, "jpg") == f"originals/{SHA[:2]}/{SHA[2:4]}/{SHA}.jpg"
    assert original_key(SHA, "jpg") == original_key(hashlib.sha256(b"pixels").hexdigest(), "jpg")


def test_variant_and_cache_keys() -> None:
    assert (
        variant_key("01HZX3K9QW", "thumb_200", "0123abcd", "webp")
        == "variants/01HZX3K9QW/thumb_200-0123abcd.webp"
    )
    assert cache_key("0190a1b2-c3d4", "deadbeef" * 8, "avif") == (
        f"cache/0190a1b2-c3d4/{'deadbeef' * 8}.avif"
    )


@pytest.mark.parametrize(
    ("build", "part"),
    [
        (lambda: original_key(SHA.upper(), "jpg"), "sha256"),
        (lambda: original_key(SHA[:-1], "jpg"), "sha256"),
        (lambda: original_key(SHA, "JPG"), "extension"),
        (lambda: original_key(SHA, "jpg/../x"), "extension"),
        (lambda: original_key(SHA, ""), "extension"),
        (lambda: variant_key("../etc", "thumb", "0123abcd", "jpg"), "image id"),
        (lambda: variant_key("img", "Thumb", "0123abcd", "jpg"), "profile"),
        (lambda: variant_key("img", "1thumb", "0123abcd", "jpg"), "profile"),
        (lambda: variant_key("img", "thumb.x", "0123abcd", "jpg"), "profile"),
        (lambda: variant_key("img", "t" * 65, "0123abcd", "jpg"), "profile"),
        (lambda: variant_key("img", "thumb", "xyz", "jpg"), "spec hash"),
        (lambda: variant_key("img", "thumb", "0123abc", "jpg"), "spec hash"),
        (lambda: cache_key("", "0123abcd", "jpg"), "image id"),
        (lambda: cache_key("img", "0123abcd", "j.pg"), "extension"),
    ],
)
def test_builders_refuse_bad_parts(build: Callable[[], str], part: str) -> None:
    with pytest.raises(InvalidKey, match=part):
        build()


@pytest.mark.parametrize(
    ("name", "valid"),
    [
        ("thumb_200", True),
        ("webp-800", True),
        ("avatar", True),
        ("a", True),
        ("a" * 64, True),
        ("a" * 65, False),
        ("Avatar", False),
        ("_avatar", False),
        ("", False),
        ("thumb 200", False),
        ("thumb/200", False),
    ],
)
def test_profile_names(name: str, valid: bool) -> None:
    assert is_profile_name(name) is valid
