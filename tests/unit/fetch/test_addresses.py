"""Which resolved addresses are public and which need an allow-listed host."""

from __future__ import annotations

from ipaddress import IPv4Address, IPv6Address, ip_address

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from darkroom.fetch import AddressClass, classify
from darkroom.fetch.addresses import IPAddress

C = AddressClass


@pytest.mark.parametrize(
    ("address", "expected"),
    [
        ("127.0.0.1", C.LOOPBACK),
        ("127.255.255.254", C.LOOPBACK),
        ("::1", C.LOOPBACK),
        ("::ffff:127.0.0.1", C.LOOPBACK),
        ("10.0.0.1", C.PRIVATE),
        ("172.16.0.1", C.PRIVATE),
        ("172.31.255.255", C.PRIVATE),
        ("192.168.1.1", C.PRIVATE),
        ("::ffff:10.0.0.1", C.PRIVATE),
        ("fd00::1", C.PRIVATE),
        ("fc00::1", C.PRIVATE),
        ("fec0::1", C.PRIVATE),
        ("169.254.0.1", C.LINK_LOCAL),
        ("fe80::1", C.LINK_LOCAL),
        ("fe80::1%eth0", C.LINK_LOCAL),
        ("169.254.169.254", C.METADATA),
        ("::ffff:169.254.169.254", C.METADATA),
        ("fd00:ec2::254", C.METADATA),
        ("100.100.100.200", C.METADATA),
        ("100.64.0.1", C.SHARED),
        ("100.127.255.255", C.SHARED),
        ("0.0.0.0", C.UNSPECIFIED),
        ("0.1.2.3", C.UNSPECIFIED),
        ("::", C.UNSPECIFIED),
        ("::ffff:0.0.0.0", C.UNSPECIFIED),
        ("224.0.0.1", C.MULTICAST),
        ("ff02::1", C.MULTICAST),
        ("240.0.0.1", C.RESERVED),
        ("255.255.255.255", C.RESERVED),
        ("::7f00:1", C.RESERVED),
        ("192.0.2.1", C.NON_GLOBAL),
        ("198.18.0.1", C.NON_GLOBAL),
        ("2001:db8::1", C.NON_GLOBAL),
        ("2001::1", C.NON_GLOBAL),
        ("2002:7f00:1::", C.LOOPBACK),
        ("2002:a00:1::", C.PRIVATE),
        ("64:ff9b::7f00:1", C.LOOPBACK),
        ("64:ff9b::a9fe:a9fe", C.METADATA),
        ("8.8.8.8", C.PUBLIC),
        ("93.184.215.14", C.PUBLIC),
        ("172.32.0.1", C.PUBLIC),
        ("100.128.0.1", C.PUBLIC),
        ("::ffff:8.8.8.8", C.PUBLIC),
        ("64:ff9b::808:808", C.PUBLIC),
        ("2606:4700::1111", C.PUBLIC),
    ],
)
def test_classification(address: str, expected: AddressClass) -> None:
    assert classify(ip_address(address)) is expected


def test_only_unspecified_multicast_and_metadata_are_never_fetched() -> None:
    never = {kind for kind in AddressClass if kind.never_fetched}
    assert never == {C.UNSPECIFIED, C.MULTICAST, C.METADATA}


_REFUSED_V4 = st.one_of(
    [
        st.ip_addresses(v=4, network=network)
        for network in (
            "0.0.0.0/8",
            "10.0.0.0/8",
            "100.64.0.0/10",
            "127.0.0.0/8",
            "169.254.0.0/16",
            "172.16.0.0/12",
            "192.168.0.0/16",
            "224.0.0.0/4",
            "240.0.0.0/4",
        )
    ]
)


@given(_REFUSED_V4)
def test_private_loopback_and_link_local_ipv4_are_never_public(address: IPv4Address) -> None:
    assert classify(address) is not C.PUBLIC


@given(_REFUSED_V4)
def test_ipv6_spellings_of_an_ipv4_address_are_judged_by_it(address: IPv4Address) -> None:
    mapped = IPv6Address(f"::ffff:{address}")
    nat64 = IPv6Address(int(IPv6Address("64:ff9b::")) | int(address))
    sixtofour = IPv6Address((0x2002 << 112) | (int(address) << 80))
    assert classify(mapped) is classify(nat64) is classify(sixtofour) is classify(address)


@example(IPv6Address("2002:100::"))  # 6to4 of 1.0.0.0: found by hypothesis once
@given(st.ip_addresses())
def test_public_addresses_are_globally_routable(address: IPAddress) -> None:
    if classify(address) is C.PUBLIC:
        # A 6to4 address is judged by the IPv4 address it carries, where its packets go;
        # Python calls the whole 2002::/16 block not global.
        judged = address.sixtofour if isinstance(address, IPv6Address) else None
        assert (judged or address).is_global
