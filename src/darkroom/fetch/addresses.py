"""Classification of resolved IP addresses: which are public, which must not be fetched."""

from __future__ import annotations

from enum import Enum
from ipaddress import IPv4Address, IPv4Network, IPv6Address, IPv6Network, ip_address

IPAddress = IPv4Address | IPv6Address

_THIS_NETWORK = IPv4Network("0.0.0.0/8")
_SHARED = IPv4Network("100.64.0.0/10")
_PRIVATE_V4 = (
    IPv4Network("10.0.0.0/8"),
    IPv4Network("172.16.0.0/12"),
    IPv4Network("192.168.0.0/16"),
)
_UNIQUE_LOCAL = IPv6Network("fc00::/7")
_SITE_LOCAL = IPv6Network("fec0::/10")
_NAT64 = IPv6Network("64:ff9b::/96")
_METADATA = frozenset(
    {
        IPv4Address("169.254.169.254"),  # AWS, GCP, Azure, OpenStack, DigitalOcean...
        IPv4Address("100.100.100.200"),  # Alibaba Cloud
        IPv6Address("fd00:ec2::254"),  # AWS over IPv6
    }
)


class AddressClass(Enum):
    """What kind of address a host resolved to; the value reads well in an error message."""

    PUBLIC = "a public address"
    LOOPBACK = "a loopback address"
    PRIVATE = "a private address"
    LINK_LOCAL = "a link-local address"
    SHARED = "a carrier-grade NAT (shared) address"
    RESERVED = "a reserved address"
    NON_GLOBAL = "a special-purpose, non-global address"
    UNSPECIFIED = "an unspecified address"
    MULTICAST = "a multicast address"
    METADATA = "a cloud metadata address"

    @property
    def never_fetched(self) -> bool:
        """Whether no allow-list entry can make this address fetchable."""
        return self in _NEVER


_NEVER = frozenset({AddressClass.UNSPECIFIED, AddressClass.MULTICAST, AddressClass.METADATA})


def parse_address(text: str) -> IPAddress | None:
    """The IP address `text` spells (with or without brackets), or None for a host name."""
    try:
        return ip_address(text.removeprefix("[").removesuffix("]"))
    except ValueError:
        return None


def classify(address: IPAddress) -> AddressClass:
    """The class of `address`; anything but `PUBLIC` needs an allow-listed host."""
    if address in _METADATA:
        return AddressClass.METADATA
    if isinstance(address, IPv4Address):
        return _classify_v4(address)
    return _classify_v6(address)


def _classify_v4(address: IPv4Address) -> AddressClass:
    # Order matters: the specific ranges come before the catch-all `is_global` test so
    # that the message names the real reason.
    if address in _THIS_NETWORK or address.is_unspecified:
        return AddressClass.UNSPECIFIED
    if address.is_loopback:
        return AddressClass.LOOPBACK
    if address.is_link_local:
        return AddressClass.LINK_LOCAL
    if address in _SHARED:
        return AddressClass.SHARED
    if address.is_multicast:
        return AddressClass.MULTICAST
    if any(address in network for network in _PRIVATE_V4):
        return AddressClass.PRIVATE
    if address.is_reserved:
        return AddressClass.RESERVED
    if not address.is_global:
        return AddressClass.NON_GLOBAL
    return AddressClass.PUBLIC


def _classify_v6(address: IPv6Address) -> AddressClass:
    embedded = _embedded_ipv4(address)
    if embedded is not None:
        return classify(embedded)
    if address.is_unspecified:
        return AddressClass.UNSPECIFIED
    if address.is_loopback:
        return AddressClass.LOOPBACK
    if address.is_link_local:
        return AddressClass.LINK_LOCAL
    if address.is_multicast:
        return AddressClass.MULTICAST
    if address in _UNIQUE_LOCAL or address in _SITE_LOCAL:
        return AddressClass.PRIVATE
    if address.is_reserved:
        return AddressClass.RESERVED
    if not address.is_global:
        return AddressClass.NON_GLOBAL
    return AddressClass.PUBLIC


def _embedded_ipv4(address: IPv6Address) -> IPv4Address | None:
    """The IPv4 address an IPv6 address stands for, where packets to it reach that host.

    IPv4-mapped (::ffff:a.b.c.d) is how dual-stack sockets spell IPv4; 6to4 and the NAT64
    well-known prefix route to the embedded IPv4 address. Judging them by the IPv4 address
    refuses ::ffff:127.0.0.1 and still lets IPv6-only hosts reach public sites via NAT64.
    """
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address.sixtofour is not None:
        return address.sixtofour
    if address in _NAT64:
        return IPv4Address(int(address) & 0xFFFFFFFF)
    return None
