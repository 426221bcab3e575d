"""What a fetch may reach and how long and how much it may take; host-pattern matching."""

from __future__ import annotations

import math
import re
from contextlib import suppress
from dataclasses import dataclass
from ipaddress import ip_address

import httpx

_LABEL = re.compile(r"[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?")
# A last label of digits or hex is how inet_aton spells IPv4 ("127.1", "0x7f.1",
# "2130706433"); no real top-level domain looks like that.
_NUMERIC_LABEL = re.compile(r"[0-9]+|0x[0-9a-f]*")
_SCHEMES = frozenset({"http", "https"})


def normalize_host(host: str) -> str:
    """The canonical form of a host: lower-case ASCII (IDNA), no trailing dot, compressed IP.

    Raises `ValueError` for anything that is neither a valid DNS name nor an IP literal,
    including IPv4 addresses in the shorthand forms resolvers accept ("127.1").
    """
    text = host.strip()
    if text.startswith("[") and text.endswith("]"):
        text = text[1:-1]
    with suppress(ValueError):  # not an IP literal: try it as a host name
        return ip_address(text).compressed
    try:
        # httpx's own IDNA encoding, so a pattern normalises exactly as a URL host does.
        encoded = httpx.URL(scheme="http", host=text).raw_host.decode("ascii")
    except (httpx.InvalidURL, UnicodeError):
        raise ValueError(f"{host!r} is not a valid host name") from None
    name = encoded.lower().removesuffix(".")
    labels = name.split(".")
    if not name or len(name) > 253 or not all(_LABEL.fullmatch(label) for label in labels):
        raise ValueError(f"{host!r} is not a valid host name")
    if _NUMERIC_LABEL.fullmatch(labels[-1]):
        raise ValueError(f"{host!r} is not a valid host name; write IPv4 addresses as a.b.c.d")
    return name


_PORT_SUFFIX = re.compile(r"^(?P<host>\[[^\]]*\]|[^:]*):(?P<port>[0-9]{1,5})$")
DEFAULT_PORTS = {"http": 80, "https": 443}


def split_pattern(pattern: str) -> tuple[str, int | None]:
    """An allow-list entry's host pattern and its port (None: the scheme's default port)."""
    found = _PORT_SUFFIX.match(pattern.strip())
    if found is None:
        return pattern.strip(), None
    port = int(found["port"])
    if not 0 < port < 65536:
        raise ValueError(f"{pattern!r}: port {port} is not a valid TCP port")
    return found["host"], port


def normalize_pattern(pattern: str) -> str:
    """The canonical form of an allow-list entry: a host, an IP, or `*.` and a domain, each
    optionally with `:port` (an origin); IPv6 with a port is written `[::1]:8080`."""
    text, port = split_pattern(pattern)
    host = _normalize_host_pattern(pattern, text)
    if port is None:
        return host
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def _normalize_host_pattern(pattern: str, text: str) -> str:
    if "/" in text:
        raise ValueError(f"{pattern!r}: address ranges are not supported; list hosts or IPs")
    wildcard = text.startswith("*.")
    if "*" in text.removeprefix("*."):
        raise ValueError(
            f"{pattern!r}: '*' is only allowed as a leading '*.' (e.g. *.cdn.example.com)"
        )
    try:
        host = normalize_host(text.removeprefix("*."))
    except ValueError as exc:
        raise ValueError(f"{pattern!r} is not a valid host pattern: {exc}") from None
    if not wildcard:
        return host
    if _is_ip(host):
        raise ValueError(f"{pattern!r}: a wildcard needs a domain name, not an IP address")
    return "*." + host


def host_matches(pattern: str, host: str) -> bool:
    """Whether `host` matches `pattern`: equal, or for `*.domain` a subdomain (not the apex).

    Both sides are normalised first, so the match ignores case, IDNA spelling and a
    trailing dot. IP patterns match the same IP written as the URL's host only; they say
    nothing about the addresses a host name resolves to.
    """
    wanted = normalize_pattern(split_pattern(pattern)[0])
    name = normalize_host(host)
    if wanted.startswith("*."):
        return name.endswith(wanted[1:])
    return name == wanted


def _is_ip(text: str) -> bool:
    try:
        ip_address(text)
    except ValueError:
        return False
    return True


@dataclass(frozen=True, slots=True)
class FetchPolicy:
    """What one kind of fetch may reach, with its size limit and timeouts.

    `require_allow_list=True` (remote render sources): only hosts matching `allow_hosts`
    are fetched at all. `False` (URL ingestion): any host resolving to public addresses is
    fetched, and `allow_hosts` only lets through hosts that resolve to private, loopback
    or other non-public addresses. Unspecified (0.0.0.0, ::), multicast and cloud metadata
    addresses are refused even for allow-listed hosts.

    `ports=None` allows any port: image origins often listen on non-standard ports, and
    the address checks, not the port, are what keep fetches off internal services. Set
    e.g. `(80, 443)` to confine fetches further.

    With `require_allow_list`, an entry names an origin: `host` alone allows the scheme's
    default port only, `host:port` that port, so an allow-listed host cannot be used to
    probe its other ports. `allow_hosts_setting` names the setting that fills
    `allow_hosts`, so that refusals tell the operator which variable to change.
    """

    allow_hosts: tuple[str, ...] = ()
    require_allow_list: bool = False
    connect_timeout: float = 5.0
    read_timeout: float = 10.0
    total_timeout: float = 30.0
    max_bytes: int = 50 * 1024 * 1024
    max_redirects: int = 3
    schemes: tuple[str, ...] = ("http", "https")
    ports: tuple[int, ...] | None = None
    allow_hosts_setting: str = "DARKROOM_URL_FETCH_ALLOW_HOSTS"
    own_address: tuple[str, int] | None = None
    """Where this service listens (host, port): never fetched, whatever the allow-list says."""

    def __post_init__(self) -> None:
        for name in ("connect_timeout", "read_timeout", "total_timeout"):
            value = getattr(self, name)
            if not (math.isfinite(value) and value > 0):
                raise ValueError(f"{name} must be a positive number of seconds, not {value!r}")
        if self.max_bytes < 1:
            raise ValueError(f"max_bytes must be at least 1, not {self.max_bytes}")
        if self.max_redirects < 0:
            raise ValueError(f"max_redirects must be 0 or more, not {self.max_redirects}")
        schemes = tuple(s.lower() for s in self.schemes)
        if not schemes or not set(schemes) <= _SCHEMES:
            raise ValueError(f"schemes must be http and/or https, not {self.schemes!r}")
        if self.ports is not None and not all(0 < p < 65536 for p in self.ports):
            raise ValueError(f"ports must be between 1 and 65535, not {self.ports!r}")
        object.__setattr__(self, "schemes", schemes)
        object.__setattr__(self, "allow_hosts", tuple(map(normalize_pattern, self.allow_hosts)))

    def allows_host(self, host: str) -> bool:
        """Whether `host` matches one of the allow-list entries, whatever their ports."""
        return any(host_matches(pattern, host) for pattern in self.allow_hosts)

    def allows_origin(self, scheme: str, host: str, port: int) -> bool:
        """Whether an entry names this origin: its host, and its port (an entry without one
        names the scheme's default port only)."""
        for entry in self.allow_hosts:
            pattern, wanted = split_pattern(entry)
            if host_matches(pattern, host) and port == (wanted or DEFAULT_PORTS.get(scheme)):
                return True
        return False
