"""Signed render URLs: round trips, tampering, key rotation, encodings and the test vector."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from urllib.parse import parse_qsl, quote, quote_plus, unquote_to_bytes, urlsplit

import pytest
import typer
from hypothesis import given
from hypothesis import strategies as st
from typer.testing import CliRunner

from darkroom.cli.sign import register
from darkroom.client import sign_url
from darkroom.errors import Forbidden, InvalidRequest
from darkroom.signing import canonical, sign, signature, verify

KEY = "darkroom-test-key-0123456789"
PATH = "/v1/render/01a20d4e-8cc5-7d52-8508-0f9d80d12883"
QUERY = "w=300&h=200&fit=cover&fmt=webp&bg=ffffff"
# The test vector published in docs/signing.md, computed independently with openssl.
VECTOR_CANONICAL = f"{PATH}?bg=ffffff&fit=cover&fmt=webp&h=200&w=300"
VECTOR_SIG = "LEXfYHsR2p03cV87mc826KH7uHLfxrL_ckRWhgJYjXg"
EMPTY_SIG = "Z84LsNPDhPxQeibfs5zB5viF4zu0kgxiAytRGaO0mBo"
DOC = Path(__file__).resolve().parents[2] / "docs" / "signing.md"


def check(url: str, keys: Sequence[str | bytes] = (KEY,)) -> None:
    parts = urlsplit(url)
    verify(parts.path, parts.query, keys)


def sig_of(url: str) -> str:
    return dict(parse_qsl(urlsplit(url).query))["sig"]


def test_documented_test_vector() -> None:
    assert canonical(PATH, QUERY) == VECTOR_CANONICAL
    assert signature(KEY, PATH, QUERY) == VECTOR_SIG
    assert sign_url(f"{PATH}?{QUERY}", KEY) == f"{PATH}?{QUERY}&sig={VECTOR_SIG}"
    assert canonical(PATH, "") == f"{PATH}?"
    assert sign_url(PATH, KEY) == f"{PATH}?sig={EMPTY_SIG}"
    doc = DOC.read_text(encoding="utf-8")
    for published in (KEY, f"{PATH}?{QUERY}", VECTOR_CANONICAL, VECTOR_SIG, EMPTY_SIG):
        assert published in doc


def test_round_trip_keeps_the_url_as_written() -> None:
    signed = sign_url(f"{PATH}?{QUERY}", KEY)
    check(signed)
    full = sign_url(f"https://img.example.com:8443{PATH}?w=1&bg=%23fff#top", KEY)
    assert full.startswith(f"https://img.example.com:8443{PATH}?w=1&bg=%23fff&sig=")
    assert full.endswith("#top")
    check(full)
    assert sig_of(full) == signature(KEY, PATH, "w=1&bg=%23fff")
    check(sign_url(PATH, KEY))


def test_an_existing_signature_is_replaced() -> None:
    signed = sign_url(f"{PATH}?sig=stale&w=300&si%67=stale2", KEY)
    assert signed == f"{PATH}?w=300&sig={signature(KEY, PATH, 'w=300')}"
    assert sign(signed, KEY) == signed
    check(signed)


def test_query_pairs_and_query_strings_are_equivalent() -> None:
    pairs = [("w", "300"), ("bg", "#fff"), ("g", "north east")]
    raw = "w=300&bg=%23fff&g=north+east"
    assert canonical(PATH, pairs) == canonical(PATH, raw)
    verify(PATH, [*pairs, ("sig", signature(KEY, PATH, raw))], [KEY])


@pytest.mark.parametrize(
    ("path", "variant"),
    [
        (PATH, "bg=%23fff&w=300&fit=cover"),  # another order
        (PATH, "fit=cover&w=300&bg=%23fff"),
        (PATH, "w=30%30&bg=%23fff&fit=cover"),  # an unreserved character encoded
        (PATH, "w=300&bg=%23fff&%66it=cov%65r"),
        (PATH, "w=300&&bg=%23fff&fit=cover&"),  # empty pieces
        (PATH.replace("01a2", "%30%31a2"), "w=300&bg=%23fff&fit=cover"),
        (PATH.replace("0d4e", "%30d%34e"), "fit=cover&bg=%23fff&w=300"),
    ],
)
def test_order_and_percent_encoding_variants_verify_identically(path: str, variant: str) -> None:
    sig = signature(KEY, PATH, "w=300&bg=%23fff&fit=cover")
    assert canonical(path, variant) == canonical(PATH, "w=300&bg=%23fff&fit=cover")
    verify(path, f"{variant}&sig={sig}", [KEY])
    verify(path, f"sig={sig}&{variant}", [KEY])


@pytest.mark.parametrize(
    ("one", "other"),
    [
        ("g=north+east", "g=north%20east"),
        ("crop=0,0,1,1", "crop=0%2c0%2C1%2c1"),
        ("t=~", "t=%7e"),
        ("a", "a="),
        ("t=caf%C3%A9", "t=caf%c3%a9"),
        ("t=%zz", "t=%25zz"),  # a '%' without two hex digits is a literal '%'
    ],
)
def test_equivalent_spellings_share_a_canonical_string(one: str, other: str) -> None:
    assert canonical(PATH, one) == canonical(PATH, other)


@pytest.mark.parametrize(
    ("one", "other"),
    [
        ("g=a+b", "g=a%2Bb"),  # '+' is a space, '%2B' a plus
        ("bg=%23fff", "bg=%23FFF"),  # hex digits of an escape are not the value's case
        ("a=b", "a%3Db="),  # '=' inside a name
        ("a=1&b=2", "a=1%26b%3D2"),  # '&' inside a value
        ("t=%FE", "t=%FF"),  # invalid UTF-8 is compared as bytes, not replaced
    ],
)
def test_different_queries_have_different_canonical_strings(one: str, other: str) -> None:
    assert canonical(PATH, one) != canonical(PATH, other)


def test_path_encoding() -> None:
    assert canonical("/a+b", "") == "/a%2Bb?"  # '+' is a space only in queries
    assert canonical("/a b", "") == canonical("/a%20b", "") == "/a%20b?"
    assert canonical("/caf\u00e9", "") == "/caf%C3%A9?"


SIGNED = f"{PATH}?{QUERY}&sig={VECTOR_SIG}"
SIG_PARAM = f"&sig={VECTOR_SIG}"


@pytest.mark.parametrize(
    ("mutate", "needle"),
    [
        (lambda u: u.replace("/v1/render/01", "/v1/render/02"), "does not match"),
        (lambda u: u.replace("w=300", "w=301"), "does not match"),
        (lambda u: u.replace("fmt=webp", "fmt=avif"), "does not match"),
        (lambda u: u + "&blur=3", "does not match"),
        (lambda u: u.replace("fit=cover&", ""), "does not match"),
        (lambda u: u.replace("w=300", "w=300&w=300"), "does not match"),
        (lambda u: u.replace("w=300", "w=300&w=3000"), "does not match"),
        (lambda u: u.replace(SIG_PARAM, ""), "must be signed"),
        (lambda u: u + f"&sig={VECTOR_SIG}", "more than one"),
        (lambda u: u + "&sig=", "more than one"),
        (lambda u: u.replace(VECTOR_SIG, "%%%"), "not a signature"),
        (lambda u: u.replace(VECTOR_SIG, "abc"), "not a signature"),
        (lambda u: u.replace(VECTOR_SIG, VECTOR_SIG + "="), "not a signature"),
        (lambda u: u.replace(VECTOR_SIG, VECTOR_SIG + "A"), "not a signature"),
        (lambda u: u.replace(VECTOR_SIG, VECTOR_SIG[:-1] + "h"), "not a signature"),
        (lambda u: u.replace(VECTOR_SIG, VECTOR_SIG.replace("_", "/")), "not a signature"),
        (lambda u: u.replace(VECTOR_SIG, VECTOR_SIG[:-1] + "Y"), "does not match"),
    ],
)
def test_tampered_missing_or_malformed_signatures_are_forbidden(
    mutate: Callable[[str], str], needle: str
) -> None:
    check(SIGNED)
    with pytest.raises(Forbidden, match=needle) as caught:
        check(mutate(SIGNED))
    assert caught.value.status_code == 403
    assert VECTOR_SIG not in str(caught.value.to_dict())


def test_missing_signature_message_points_to_the_docs() -> None:
    with pytest.raises(Forbidden) as caught:
        verify(PATH, QUERY, [KEY])
    assert caught.value.message == (
        "This render URL must be signed: add the sig parameter (see README 'Signed URLs')."
    )


def test_wrong_key_does_not_reveal_the_expected_signature() -> None:
    signed = sign_url(f"{PATH}?{QUERY}", "someone-elses-key-0000000")
    with pytest.raises(Forbidden, match="does not match") as caught:
        check(signed)
    assert VECTOR_SIG not in str(caught.value.to_dict())
    with pytest.raises(Forbidden):
        check(SIGNED, [])


def test_rotated_keys() -> None:
    old, new = "old-key-0123456789abcdef", b"new-key-0123456789abcdef"
    signed = sign_url(f"{PATH}?w=10", old)
    check(signed, [new, old])
    with pytest.raises(Forbidden):
        check(signed, [new])
    check(sign_url(f"{PATH}?w=10", new), [new, old])


@pytest.mark.parametrize(
    ("url", "key"),
    [("v1/render/ID?w=1", KEY), ("?w=1", KEY), ("https://host?w=1", KEY), (PATH, "")],
)
def test_sign_refuses_what_cannot_be_verified(url: str, key: str) -> None:
    with pytest.raises(InvalidRequest):
        sign(url, key)


segments = st.lists(st.text(max_size=6), min_size=1, max_size=4)
pairs_strategy = st.lists(st.tuples(st.text(max_size=5), st.text(max_size=8)), max_size=6)
keys = st.one_of(st.text(min_size=1, max_size=40), st.binary(min_size=1, max_size=64))


def build(segs: list[str], pairs: list[tuple[str, str]], plus: bool) -> str:
    encode = quote_plus if plus else quote
    query = "&".join(f"{encode(n, safe='')}={encode(v, safe='')}" for n, v in pairs)
    # Render paths start with /v1/render/; a leading '//' would name a host instead.
    path = "/v1/render/" + "/".join(quote(s, safe="") for s in segs)
    return f"{path}?{query}" if pairs else path


def split(url: str) -> tuple[str, str]:
    parts = urlsplit(url)
    return parts.path, parts.query


@given(segs=segments, pairs=pairs_strategy, plus=st.booleans(), key=keys)
def test_property_signed_urls_verify(
    segs: list[str], pairs: list[tuple[str, str]], plus: bool, key: str | bytes
) -> None:
    verify(*split(sign(build(segs, pairs, plus), key)), [key])


def meaning(query: str) -> tuple[list[tuple[str, str]], list[str]]:
    """What the server reads from a query: the non-sig pairs (as a multiset) and the sigs."""
    pairs = parse_qsl(query, keep_blank_values=True, errors="surrogateescape")
    return sorted(p for p in pairs if p[0] != "sig"), [v for k, v in pairs if k == "sig"]


@given(
    segs=segments,
    pairs=pairs_strategy,
    plus=st.booleans(),
    where=st.floats(min_value=0, max_value=1, exclude_max=True),
    edit=st.sampled_from(["replace", "insert", "delete"]),
    char=st.sampled_from("aAfF0%+=& ;#~-_\u00e9"),
)
def test_property_any_single_character_change_of_the_query_is_refused(
    segs: list[str],
    pairs: list[tuple[str, str]],
    plus: bool,
    where: float,
    edit: str,
    char: str,
) -> None:
    path, query = split(sign(build(segs, pairs, plus), KEY))
    i = int(where * len(query))
    if edit == "replace":
        mutated = query[:i] + char + query[i + 1 :]
    elif edit == "insert":
        mutated = query[:i] + char + query[i:]
    else:
        mutated = query[:i] + query[i + 1 :]
    if meaning(mutated) == meaning(query):
        # e.g. '%2F' -> '%2f', '+' -> ' ', or an extra '&': same parameters, same signature.
        verify(path, mutated, [KEY])
    else:
        with pytest.raises(Forbidden):
            verify(path, mutated, [KEY])


@given(
    segs=segments,
    where=st.floats(min_value=0, max_value=1, exclude_max=True),
    char=st.sampled_from("aA0%+/;~\u00e9"),
)
def test_property_any_change_of_the_path_is_refused(
    segs: list[str], where: float, char: str
) -> None:
    path, query = split(sign(build(segs, [("w", "300")], plus=False), KEY))
    i = 1 + int(where * (len(path) - 1))  # keep the leading '/'
    mutated = path[:i] + char + path[i + 1 :]
    if unquote_to_bytes(mutated) == unquote_to_bytes(path):
        verify(mutated, query, [KEY])
    else:
        with pytest.raises(Forbidden):
            verify(mutated, query, [KEY])


def cli_app(load_keys: Callable[[], Sequence[str]]) -> typer.Typer:
    app = typer.Typer()

    # A callback keeps typer in group mode, as in darkroom's own CLI: with a single
    # command it would otherwise run `sign` without its name.
    @app.callback()
    def main() -> None:
        """Test CLI."""

    register(app, load_keys)
    return app


def test_sign_command_uses_the_first_configured_key() -> None:
    result = CliRunner().invoke(
        cli_app(lambda: [KEY, "older-key-0123456789"]), ["sign", PATH + "?" + QUERY]
    )
    assert result.exit_code == 0, result.output
    assert result.stdout == f"{PATH}?{QUERY}&sig={VECTOR_SIG}\n"


def test_sign_command_with_an_explicit_key_does_not_read_settings() -> None:
    def unreadable() -> Sequence[str]:
        raise AssertionError("settings must not be read when --key is given")

    other = "another-key-0123456789"
    result = CliRunner().invoke(cli_app(unreadable), ["sign", "--key", other, f"{PATH}?w=1"])
    assert result.exit_code == 0, result.output
    assert result.stdout == sign_url(f"{PATH}?w=1", other) + "\n"
    check(result.stdout.strip(), [other])


def test_sign_command_without_keys_exits_2() -> None:
    result = CliRunner().invoke(cli_app(lambda: []), ["sign", f"{PATH}?w=1"])
    assert result.exit_code == 2
    assert result.stdout == ""
    assert "Set DARKROOM_SIGNING_KEYS to sign URLs." in result.stderr


def test_sign_command_refuses_a_relative_path() -> None:
    result = CliRunner().invoke(cli_app(lambda: [KEY]), ["sign", "v1/render/ID?w=1"])
    assert result.exit_code == 2
    assert "give a path such as" in result.stderr
