"""Whether a parsed URL may be fetched: the allow-list, DNS resolution and address checks."""

from __future__ import annotations

import socket

from darkroom.fetch.addresses import AddressClass, IPAddress, classify, parse_address
from darkroom.fetch.errors import FetchFailed, FetchForbidden, FetchUnavailable
from darkroom.fetch.policy import FetchPolicy
from darkroom.fetch.urls import Target

# Answers that say the name does not exist, as opposed to a resolver that failed.
_NO_SUCH_HOST = frozenset(
    code
    for code in (getattr(socket, "EAI_NONAME", None), getattr(socket, "EAI_NODATA", None))
    if code is not None
)


def vet(target: Target, policy: FetchPolicy) -> tuple[IPAddress, ...]:
    """The addresses `target` may be fetched from; raises unless every one of them passes.

    One refused address refuses the host: a connection could otherwise land on it, and a
    name answering with public and private addresses at once is what a rebinding attack
    looks like.
    """
    allowed = policy.allows_host(target.host)
    if policy.require_allow_list and not policy.allows_origin(
        target.url.scheme, target.host, target.port
    ):
        what, entry = (
            (f"port {target.port} of {target.host}", f"{target.host}:{target.port}")
            if allowed
            else (f"the host {target.host}", "it")
        )
        raise FetchForbidden(
            f"{target.subject}: {what} is not allow-listed; add {entry} to "
            f"{policy.allow_hosts_setting} to allow.",
            details={"url": str(target.url), "host": target.host, "port": target.port},
        )
    addresses = (target.address,) if target.address is not None else resolve(target)
    for address in addresses:
        if _is_own_address(address, target.port, policy):
            raise FetchForbidden(
                f"{target.subject}: {target.host} port {target.port} is this service itself, "
                "which it never fetches.",
                details={"url": str(target.url), "host": target.host, "port": target.port},
            )
        kind = classify(address)
        if kind is AddressClass.PUBLIC:
            continue
        where = (
            f"the host {target.host} is {kind.value}"
            if target.address is not None
            else f"the host {target.host} resolves to {kind.value} {address}"
        )
        details = {"url": str(target.url), "host": target.host, "address": str(address)}
        if kind.never_fetched:
            raise FetchForbidden(
                f"{target.subject}: {where}, which is never fetched.", details=details
            )
        if not allowed:
            raise FetchForbidden(
                f"{target.subject}: {where}; add {target.host} to "
                f"{policy.allow_hosts_setting} to allow.",
                details=details,
            )
    return addresses


def resolve(target: Target) -> tuple[IPAddress, ...]:
    """Every address DNS gives for the target's host, in the resolver's order."""
    try:
        infos = socket.getaddrinfo(target.host, target.port, type=socket.SOCK_STREAM)
    except socket.gaierror as exc:
        if exc.errno in _NO_SUCH_HOST:
            raise FetchFailed(
                f"{target.subject}: the host {target.host} does not exist ({exc.strerror}).",
                details={"url": str(target.url), "host": target.host},
            ) from exc
        raise FetchUnavailable(
            f"{target.subject}: could not resolve {target.host} ({exc.strerror}); try again later.",
            details={"url": str(target.url), "host": target.host},
        ) from exc
    except (OSError, UnicodeError) as exc:
        raise FetchUnavailable(
            f"{target.subject}: could not resolve {target.host} ({exc}); try again later.",
            details={"url": str(target.url), "host": target.host},
        ) from exc
    addresses: list[IPAddress] = []
    for family, _, _, _, sockaddr in infos:
        if family not in (socket.AF_INET, socket.AF_INET6):
            continue
        address = parse_address(str(sockaddr[0]))
        if address is not None and address not in addresses:
            addresses.append(address)
    if not addresses:
        raise FetchFailed(
            f"{target.subject}: the host {target.host} has no IPv4 or IPv6 address.",
            details={"url": str(target.url), "host": target.host},
        )
    return tuple(addresses)


def _is_own_address(address: IPAddress, port: int, policy: FetchPolicy) -> bool:
    """Whether `address:port` reaches this service's own listening socket."""
    if policy.own_address is None:
        return False
    host, own_port = policy.own_address
    if port != own_port:
        return False
    bound = parse_address(host)
    if bound is None:  # a name, e.g. localhost: whatever it resolves to
        try:
            infos = socket.getaddrinfo(host, own_port, type=socket.SOCK_STREAM)
        except OSError:
            return False
        return any(parse_address(str(info[4][0])) == address for info in infos)
    if bound.is_unspecified:
        # Bound to every interface: loopback and the machine's own addresses all reach it.
        return address.is_loopback or address in _local_addresses()
    return address == bound


def _local_addresses() -> set[IPAddress]:
    """The addresses this machine's name resolves to (its interfaces, as far as DNS says)."""
    found: set[IPAddress] = set()
    try:
        infos = socket.getaddrinfo(socket.gethostname(), None, type=socket.SOCK_STREAM)
    except OSError:
        return found
    for info in infos:
        address = parse_address(str(info[4][0]))
        if address is not None:
            found.add(address)
    return found
