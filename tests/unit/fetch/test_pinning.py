"""DNS pinning: connections go to the addresses that were vetted, and TLS still checks names."""

from __future__ import annotations

import re
import ssl
from ipaddress import IPv4Address

import httpcore
import pytest

from darkroom.fetch import FetchFailed, FetchForbidden, fetch
from darkroom.fetch.transport import PinnedBackend
from tests.unit.fetch.conftest import IMAGE, FakeDns, Network, loopback_policy
from tests.unit.fetch.origin import Origin


def test_a_name_is_resolved_once_and_its_vetted_address_reused(
    origin: Origin, fake_dns: FakeDns, network: Network
) -> None:
    # Later answers point elsewhere, as a rebinding resolver's would; nothing may ask again.
    fake_dns.answer("pinned.test", ("127.0.0.1",), ("127.0.0.2",))
    policy = loopback_policy(allow_hosts=("pinned.test",))
    fetched = fetch(origin.url("/redirect/2", host="pinned.test"), policy)
    assert fetched.content == IMAGE
    assert fetched.url == origin.url("/image.jpg", host="pinned.test")
    assert fake_dns.lookups == ["pinned.test"]
    assert network.connections == [("127.0.0.1", origin.port)] * 3
    assert {r.host for r in origin.state.requests} == {f"pinned.test:{origin.port}"}


def test_the_next_vetted_address_is_tried_when_one_refuses(
    origin: Origin, fake_dns: FakeDns, network: Network
) -> None:
    fake_dns.answer("multi.test", ("127.0.0.2", "127.0.0.1"))
    policy = loopback_policy(allow_hosts=("multi.test",))
    assert fetch(origin.url("/image.jpg", host="multi.test"), policy).content == IMAGE
    assert network.connections == [("127.0.0.2", origin.port), ("127.0.0.1", origin.port)]


def test_the_backend_refuses_a_host_that_was_not_vetted(network: Network) -> None:
    backend = PinnedBackend({"vetted.test": ()}, lambda: 1.0)
    for host in ("vetted.test", "other.test", "127.0.0.1"):
        with pytest.raises(FetchForbidden, match="its addresses were not vetted"):
            backend.connect_tcp(host, 80)
    assert network.lookups == []
    assert network.connections == []


def test_the_backend_gives_up_once_the_deadline_has_passed(network: Network) -> None:
    backend = PinnedBackend({"late.test": (ip("127.0.0.1"),)}, lambda: 0.0)
    with pytest.raises(httpcore.ConnectTimeout, match="deadline"):
        backend.connect_tcp("late.test", 80)
    assert network.connections == []


def test_https_to_a_pinned_address_verifies_the_certificate_for_the_name(
    https_origin: Origin, fake_dns: FakeDns, client_tls: ssl.SSLContext, network: Network
) -> None:
    fake_dns.answer("images.test", ("127.0.0.1",))
    policy = loopback_policy(allow_hosts=("images.test",))
    fetched = fetch(
        https_origin.url("/image.jpg", host="images.test"), policy, ssl_context=client_tls
    )
    assert fetched.content == IMAGE
    assert network.connections == [("127.0.0.1", https_origin.port)]


def test_https_refuses_a_certificate_for_another_name(
    https_origin: Origin, fake_dns: FakeDns, client_tls: ssl.SSLContext
) -> None:
    fake_dns.answer("other.test", ("127.0.0.1",))
    policy = loopback_policy(allow_hosts=("other.test",))
    with pytest.raises(
        FetchFailed, match=re.escape("the TLS certificate of other.test is not valid")
    ) as caught:
        fetch(https_origin.url("/image.jpg", host="other.test"), policy, ssl_context=client_tls)
    assert "Hostname mismatch" in caught.value.message
    assert https_origin.state.requests == []


def test_https_refuses_an_untrusted_certificate(https_origin: Origin, fake_dns: FakeDns) -> None:
    fake_dns.answer("images.test", ("127.0.0.1",))
    policy = loopback_policy(allow_hosts=("images.test",))
    with pytest.raises(
        FetchFailed, match=re.escape("the TLS certificate of images.test is not valid")
    ):
        fetch(https_origin.url("/image.jpg", host="images.test"), policy)


def ip(text: str) -> IPv4Address:
    return IPv4Address(text)
