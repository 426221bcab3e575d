"""Redirects are followed by hand, and every hop is checked like the first."""

from __future__ import annotations

import re
from urllib.parse import quote

import pytest

from darkroom.errors import InvalidRequest
from darkroom.fetch import FetchFailed, FetchForbidden, FetchPolicy, FetchUnavailable, fetch
from tests.unit.fetch.conftest import IMAGE, FakeDns, Network, loopback_policy
from tests.unit.fetch.origin import Origin, closed_port


def _to(origin: Origin, target: str, status: int = 302, host: str = "127.0.0.1") -> str:
    return origin.url(f"/to?status={status}&url={quote(target, safe='')}", host=host)


def test_a_chain_up_to_the_limit_is_followed(origin: Origin) -> None:
    fetched = fetch(origin.url("/redirect/3"), loopback_policy(max_redirects=3))
    assert fetched.content == IMAGE
    assert fetched.url == origin.url("/image.jpg")
    paths = [r.path for r in origin.state.requests]
    assert paths == ["/redirect/3", "/redirect/2", "/redirect/1", "/image.jpg"]


def test_a_chain_past_the_limit_is_refused(origin: Origin) -> None:
    with pytest.raises(FetchFailed, match="more than 3 redirects") as caught:
        fetch(origin.url("/redirect/4"), loopback_policy(max_redirects=3))
    assert not caught.value.retryable
    assert len(origin.state.requests) == 4


def test_no_redirects_allowed(origin: Origin) -> None:
    with pytest.raises(FetchFailed, match="more than 0 redirects"):
        fetch(origin.url("/redirect/1"), loopback_policy(max_redirects=0))


def test_a_loop_is_named_as_such(origin: Origin) -> None:
    with pytest.raises(FetchFailed, match="redirect loop"):
        fetch(origin.url("/loop"), loopback_policy(max_redirects=10))
    assert len(origin.state.requests) == 1


@pytest.mark.parametrize("status", [301, 302, 303, 307, 308])
def test_every_redirect_status_is_followed(status: int, origin: Origin) -> None:
    fetched = fetch(_to(origin, "/image.jpg", status), loopback_policy())
    assert fetched.content == IMAGE


def test_a_redirect_without_location_fails(origin: Origin) -> None:
    with pytest.raises(FetchFailed, match="answered 302 without a Location"):
        fetch(origin.url("/no-location"), loopback_policy())


def test_a_redirect_to_a_closed_port_is_transient(origin: Origin, network: Network) -> None:
    port = closed_port()
    with pytest.raises(FetchUnavailable, match=f"could not connect to 127.0.0.1 port {port}"):
        fetch(_to(origin, f"http://127.0.0.1:{port}/image.jpg"), loopback_policy())
    assert network.connections == [("127.0.0.1", origin.port), ("127.0.0.1", port)]


@pytest.mark.parametrize(
    ("target", "reason"),
    [
        ("http://10.0.0.1/image.jpg", "the host 10.0.0.1 is a private address"),
        ("http://169.254.169.254/latest/meta-data/", "cloud metadata address"),
        ("http://[::ffff:127.0.0.1]/image.jpg", "the host ::ffff:7f00:1 is a loopback address"),
        ("http://localhost/image.jpg", "the host localhost resolves to a loopback address"),
    ],
)
def test_a_redirect_to_a_refused_address_is_refused(
    target: str, reason: str, origin: Origin, network: Network
) -> None:
    start = _to(origin, target)
    with pytest.raises(FetchForbidden) as caught:
        fetch(start, loopback_policy())
    assert caught.value.message.startswith(f"Cannot follow the redirect from {start!r}")
    assert reason in caught.value.message
    assert network.connections == [("127.0.0.1", origin.port)]


def test_a_redirect_into_127_0_0_1_from_an_allowed_name_is_refused(
    origin: Origin, fake_dns: FakeDns, network: Network
) -> None:
    # The origin is allow-listed under a name; the redirect points at its bare IP.
    fake_dns.answer("origin.test", ("127.0.0.1",))
    policy = loopback_policy(allow_hosts=("origin.test",))
    assert fetch(origin.url("/image.jpg", host="origin.test"), policy).content == IMAGE
    start = _to(origin, origin.url("/image.jpg"), host="origin.test")
    with pytest.raises(FetchForbidden, match=re.escape("the host 127.0.0.1 is a loopback address")):
        fetch(start, policy)
    assert [r.path for r in origin.state.requests] == ["/image.jpg", "/to"]


def test_with_a_required_allow_list_a_redirect_elsewhere_is_refused_before_dns(
    origin: Origin, fake_dns: FakeDns
) -> None:
    fake_dns.answer("origin.test", ("127.0.0.1",))
    fake_dns.answer("elsewhere.test", ("93.184.215.14",))
    policy = loopback_policy(allow_hosts=(f"origin.test:{origin.port}",), require_allow_list=True)
    with pytest.raises(
        FetchForbidden, match=re.escape("the host elsewhere.test is not allow-listed")
    ):
        fetch(_to(origin, "http://elsewhere.test/image.jpg", host="origin.test"), policy)
    assert fake_dns.lookups == ["origin.test"]


@pytest.mark.parametrize(
    ("target", "complaint"),
    [
        ("ftp://127.0.0.1/image.jpg", "scheme 'ftp' is not supported"),
        ("http://user:pw@127.0.0.1/image.jpg", "credentials"),
    ],
)
def test_a_redirect_to_a_bad_url_is_refused(target: str, complaint: str, origin: Origin) -> None:
    with pytest.raises(InvalidRequest, match=complaint):
        fetch(_to(origin, target), loopback_policy())


def test_a_redirect_to_a_scheme_the_policy_leaves_out_is_refused(origin: Origin) -> None:
    policy = FetchPolicy(allow_hosts=("127.0.0.1",), schemes=("http",))
    with pytest.raises(FetchForbidden, match="https URLs are not allowed here"):
        fetch(_to(origin, "https://127.0.0.1/image.jpg"), policy)
