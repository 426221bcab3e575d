"""Signed render URLs: round trips, tampering, key rotation, and the documented test vector."""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest
from hypothesis import given
from hypothesis import strategies as st
from typer.testing import CliRunner

from darkroom.client import sign_url
from darkroom.errors import Forbidden
from darkroom.signing import canonical, signature, verify

KEY = "darkroom-test-key-0123456789"
PATH = "/v1/render/01a20d4e-8cc5-7d52-8508-0f9d80d12883"
QUERY = "w=300&h=200&fit=cover&fmt=webp&bg=ffffff"


def check(url: str, keys: list[str]) -> None:
    parts = urlsplit(url)
    verify(parts.path, parts.query, keys)


def test_documented_test_vector() -> None:
    assert canonical(PATH, QUERY) == f"{PATH}?bg=ffffff&fit=cover&fmt=webp&h=200&w=300"
    assert signature(KEY, PATH, QUERY) == "LEXfYHsR2p03cV87mc826KH7uHLfxrL_ckRWhgJYjXg"
    assert sign_url(f"{PATH}?{QUERY}", KEY).endswith(
        "&sig=LEXfYHsR2p03cV87mc826KH7uHLfxrL_ckRWhgJYjXg"
    )


def test_round_trip_and_order_independence() -> None:
    signed = sign_url(f"{PATH}?{QUERY}", KEY)
    check(signed, [KEY])
    sig = signed.rsplit("sig=", 1)[1]
    verify(PATH, f"fmt=webp&sig={sig}&bg=ffffff&w=300&fit=cover&h=200", [KEY])
    full = sign_url(f"https://img.example.com{PATH}?w=1", KEY)
    assert full.startswith("https://img.example.com/v1/render/")
    check(full, [KEY])


@pytest.mark.parametrize(
    ("mutate", "needle"),
    [
        (lambda u: u.replace("w=300", "w=301"), "not valid"),
        (lambda u: u.replace("/v1/render/01", "/v1/render/02"), "not valid"),
        (lambda u: u + "&blur=3", "not valid"),
        (lambda u: u.replace("fit=cover&", ""), "not valid"),
        (lambda u: u.replace("w=300", "w=300&w=300"), "not valid"),
        (lambda u: u.split("&sig=")[0], "must be signed"),
        (lambda u: u + "&sig=abc", "more than one"),
        (lambda u: u.split("&sig=")[0] + "&sig=%%%", "malformed"),
    ],
)
def test_tampering_is_refused(mutate: object, needle: str) -> None:
    url = mutate(sign_url(f"{PATH}?{QUERY}", KEY))  # type: ignore[operator]
    with pytest.raises(Forbidden, match=needle):
        check(url, [KEY])


def test_wrong_key_and_rotation() -> None:
    old, new = "old-key-0123456789abcdef", "new-key-0123456789abcdef"
    signed = sign_url(f"{PATH}?w=10", old)
    check(signed, [new, old])
    with pytest.raises(Forbidden):
        check(signed, [new])


@given(
    st.lists(
        st.tuples(st.text("abcxyz_", min_size=1, max_size=5), st.text(min_size=0, max_size=8)),
        max_size=6,
    )
)
def test_property_signed_urls_verify_and_any_change_fails(pairs: list[tuple[str, str]]) -> None:
    pairs = [(k, v) for k, v in pairs if k != "sig"]
    sig = signature(KEY, PATH, pairs)
    verify(PATH, [*pairs, ("sig", sig)], [KEY])
    with pytest.raises(Forbidden):
        verify(PATH, [*pairs, ("extra", "1"), ("sig", sig)], [KEY])


def test_sign_command() -> None:
    import typer

    from darkroom.sign_cli import register

    app = typer.Typer()
    register(app, lambda: [KEY])

    @app.command()
    def other() -> None:
        """Keep typer in multi-command mode."""

    runner = CliRunner()
    result = runner.invoke(app, ["sign", f"{PATH}?{QUERY}"])
    assert result.exit_code == 0
    assert result.output.strip().endswith("sig=LEXfYHsR2p03cV87mc826KH7uHLfxrL_ckRWhgJYjXg")
    explicit = runner.invoke(app, ["sign", f"{PATH}?w=1", "--key", "another-key-0123456789"])
    assert "sig=" in explicit.output

    empty = typer.Typer()
    register(empty, lambda: [])
    empty.command()(other)
    missing = runner.invoke(empty, ["sign", f"{PATH}?w=1"])
    assert missing.exit_code == 2
    assert "DARKROOM_SIGNING_KEYS" in missing.output
