"""Hosts and addresses refused before any connection is attempted."""

from __future__ import annotations

import re
import socket

import pytest

from darkroom.errors import InvalidRequest
from darkroom.fetch import FetchFailed, FetchForbidden, FetchPolicy, FetchUnavailable, fetch
from tests.unit.fetch.conftest import IMAGE, FakeDns, Network
from tests.unit.fetch.origin import Origin

SETTING = "DARKROOM_URL_FETCH_ALLOW_HOSTS"


def test_the_test_origin_on_127_0_0_1_is_refused_without_the_allow_list(
    origin: Origin, network: Network
) -> None:
    with pytest.raises(FetchForbidden) as caught:
        fetch(origin.url("/image.jpg"), FetchPolicy())
    assert caught.value.message.endswith(
        f"the host 127.0.0.1 is a loopback address; add 127.0.0.1 to {SETTING} to allow."
    )
    assert caught.value.status_code == 403
    assert network.connections == []
    assert origin.state.requests == []


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("http://[::1]/a.jpg", "is a loopback address"),
        ("http://[::ffff:127.0.0.1]/a.jpg", "is a loopback address"),
        ("http://10.0.0.1/a.jpg", "is a private address"),
        ("http://172.16.5.4/a.jpg", "is a private address"),
        ("http://192.168.0.10:8080/a.jpg", "is a private address"),
        ("http://[fd00::1]/a.jpg", "is a private address"),
        ("http://[::ffff:10.0.0.1]/a.jpg", "is a private address"),
        ("http://169.254.10.10/a.jpg", "is a link-local address"),
        ("http://[fe80::1]/a.jpg", "is a link-local address"),
        ("http://100.64.1.1/a.jpg", "is a carrier-grade NAT (shared) address"),
        ("http://192.0.2.7/a.jpg", "is a special-purpose, non-global address"),
        ("https://240.1.2.3/a.jpg", "is a reserved address"),
    ],
)
def test_non_public_addresses_are_refused_unless_allow_listed(
    url: str, reason: str, network: Network
) -> None:
    with pytest.raises(FetchForbidden) as caught:
        fetch(url, FetchPolicy())
    assert reason in caught.value.message
    assert f"to {SETTING} to allow." in caught.value.message
    # Literal addresses: neither DNS nor a socket was involved.
    assert network.lookups == []
    assert network.connections == []


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("http://169.254.169.254/latest/meta-data/", "a cloud metadata address"),
        ("http://[fd00:ec2::254]/latest/meta-data/", "a cloud metadata address"),
        ("http://[::ffff:169.254.169.254]/", "a cloud metadata address"),
        ("http://0.0.0.0/a.jpg", "an unspecified address"),
        ("http://[::]/a.jpg", "an unspecified address"),
        ("http://224.0.0.1/a.jpg", "a multicast address"),
    ],
)
def test_some_addresses_are_refused_even_when_allow_listed(
    url: str, reason: str, network: Network
) -> None:
    host = url.split("/")[2].strip("[]")
    for policy in (FetchPolicy(), FetchPolicy(allow_hosts=(host,))):
        with pytest.raises(FetchForbidden) as caught:
            fetch(url, policy)
        assert caught.value.message.endswith(f"is {reason}, which is never fetched.")
    assert network.connections == []


def test_localhost_is_refused_by_what_it_resolves_to(network: Network) -> None:
    with pytest.raises(FetchForbidden, match="the host localhost resolves to a loopback address"):
        fetch("http://localhost/a.jpg", FetchPolicy())
    assert network.lookups == ["localhost"]
    assert network.connections == []


def test_a_made_up_name_for_127_0_0_1_is_refused(fake_dns: FakeDns, network: Network) -> None:
    fake_dns.answer("innocent.test", ("127.0.0.1",))
    with pytest.raises(FetchForbidden) as caught:
        fetch("http://innocent.test/a.jpg", FetchPolicy(allow_hosts=("127.0.0.1",)))
    assert "innocent.test resolves to a loopback address 127.0.0.1" in caught.value.message
    assert "add innocent.test to" in caught.value.message
    assert caught.value.details["address"] == "127.0.0.1"
    assert network.connections == []


@pytest.mark.parametrize(
    "answer",
    [("93.184.215.14", "10.0.0.5"), ("10.0.0.5", "93.184.215.14")],
    ids=["public-first", "private-first"],
)
def test_a_name_with_any_private_address_is_refused(
    answer: tuple[str, ...], fake_dns: FakeDns, network: Network
) -> None:
    # A rebinding resolver answers with a public address and a private one; a connection
    # could land on either, so the host is refused whatever the order.
    fake_dns.answer("rebind.test", answer)
    with pytest.raises(FetchForbidden, match=re.escape("resolves to a private address 10.0.0.5")):
        fetch("http://rebind.test/a.jpg", FetchPolicy())
    assert network.connections == []


def test_with_a_required_allow_list_other_hosts_are_refused_before_dns(
    fake_dns: FakeDns, network: Network
) -> None:
    fake_dns.answer("elsewhere.test", ("93.184.215.14",))
    policy = FetchPolicy(
        allow_hosts=("*.images.test",),
        require_allow_list=True,
        allow_hosts_setting="DARKROOM_RENDER_ALLOW_HOSTS",
    )
    with pytest.raises(FetchForbidden) as caught:
        fetch("https://elsewhere.test/a.jpg", policy)
    assert caught.value.message.endswith(
        "the host elsewhere.test is not allow-listed; add it to DARKROOM_RENDER_ALLOW_HOSTS "
        "to allow."
    )
    assert fake_dns.lookups == []
    assert network.connections == []


def test_an_unknown_host_is_a_permanent_failure(network: Network) -> None:
    with pytest.raises(
        FetchFailed, match=re.escape("the host nowhere.test does not exist")
    ) as caught:
        fetch("http://nowhere.test/a.jpg", FetchPolicy())
    assert not caught.value.retryable
    assert network.connections == []


def test_a_failing_resolver_is_transient(fake_dns: FakeDns) -> None:
    fake_dns.fail("flaky.test", socket.EAI_AGAIN)
    with pytest.raises(FetchUnavailable, match=re.escape("could not resolve flaky.test")) as caught:
        fetch("http://flaky.test/a.jpg", FetchPolicy())
    assert caught.value.retryable


@pytest.mark.parametrize(
    "url",
    ["ftp://127.0.0.1/a.jpg", "http://user:pw@127.0.0.1/a.jpg", "127.0.0.1/a.jpg", "http://127.1/"],
)
def test_bad_urls_are_invalid_requests_without_network(url: str, network: Network) -> None:
    with pytest.raises(InvalidRequest):
        fetch(url, FetchPolicy(allow_hosts=("127.0.0.1",)))
    assert network.lookups == []
    assert network.connections == []


@pytest.mark.parametrize("bound", ["127.0.0.1", "0.0.0.0", "localhost"])
def test_the_service_never_fetches_its_own_listening_address(origin: Origin, bound: str) -> None:
    own = FetchPolicy(allow_hosts=("127.0.0.1",), own_address=(bound, origin.port))
    with pytest.raises(FetchForbidden, match="is this service itself"):
        fetch(origin.url("/image.jpg"), own)
    elsewhere = FetchPolicy(allow_hosts=("127.0.0.1",), own_address=(bound, origin.port + 1))
    assert fetch(origin.url("/image.jpg"), elsewhere).content == IMAGE
