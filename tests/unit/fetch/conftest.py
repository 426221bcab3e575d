"""Fixtures for the fetch tests: a loopback origin, a fake resolver, a network guard."""

from __future__ import annotations

import shutil
import socket
import ssl
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from darkroom.fetch import FetchPolicy
from darkroom.fetch.addresses import parse_address
from tests.corpus import read
from tests.unit.fetch.origin import Origin, serve

IMAGE = read("jpeg-progressive.jpg")
"""What /image.jpg serves: a real JPEG."""

AddrInfo = tuple[
    socket.AddressFamily,
    socket.SocketKind,
    int,
    str,
    tuple[str, int] | tuple[str, int, int, int],
]
GetAddrInfo = Callable[..., Any]


def loopback_policy(**overrides: Any) -> FetchPolicy:
    """A policy that lets fetches reach the test origin on 127.0.0.1, with short timeouts."""
    options: dict[str, Any] = {
        "allow_hosts": ("127.0.0.1",),
        "connect_timeout": 1.0,
        "read_timeout": 1.0,
        "total_timeout": 5.0,
        "max_bytes": 1024 * 1024,
    }
    return FetchPolicy(**(options | overrides))


def _numeric(real: GetAddrInfo, host: str, port: object, *args: Any, **kw: Any) -> Any:
    """Resolve an IP literal without any chance of a DNS query."""
    options = dict(zip(("family", "type", "proto"), args, strict=False)) | kw
    options["flags"] = socket.AI_NUMERICHOST
    return real(host, port, **options)


class FakeDns:
    """A resolver for made-up names: each name answers from its own list of answers.

    Other names go on to the `Network` recorder, which never asks real DNS.
    """

    def __init__(self, real: GetAddrInfo) -> None:
        self._real = real
        self._answers: dict[str, list[tuple[str, ...]]] = {}
        self._failures: dict[str, int] = {}
        self.lookups: list[str] = []

    def answer(self, host: str, *answers: tuple[str, ...]) -> None:
        """Make `host` resolve to each answer in turn; the last one then repeats."""
        self._answers[host] = list(answers)

    def fail(self, host: str, error: int) -> None:
        """Make looking up `host` fail with the resolver error `error` (socket.EAI_*)."""
        self._failures[host] = error

    def __call__(self, host: str | bytes | None, port: object, *args: Any, **kw: Any) -> Any:
        name = host.decode() if isinstance(host, bytes) else str(host)
        if name in self._failures:
            self.lookups.append(name)
            raise socket.gaierror(self._failures[name], "staged resolver failure")
        if name in self._answers:
            self.lookups.append(name)
            queue = self._answers[name]
            addresses = queue.pop(0) if len(queue) > 1 else queue[0]
            return [_info(address, port) for address in addresses]
        return self._real(host, port, *args, **kw)


def _info(address: str, port: object) -> AddrInfo:
    number = int(port) if isinstance(port, int | str) else 0
    if ":" in address:
        return (socket.AF_INET6, socket.SOCK_STREAM, 6, "", (address, number, 0, 0))
    return (socket.AF_INET, socket.SOCK_STREAM, 6, "", (address, number))


class Network:
    """Every DNS lookup and connection attempt of a test; anything beyond loopback fails it."""

    def __init__(self, getaddrinfo: GetAddrInfo, connect: Callable[..., socket.socket]) -> None:
        self._getaddrinfo = getaddrinfo
        self._connect = connect
        self.lookups: list[str] = []
        self.connections: list[tuple[str, int]] = []

    def getaddrinfo(self, host: str | bytes | None, port: object, *args: Any, **kw: Any) -> Any:
        name = host.decode() if isinstance(host, bytes) else str(host)
        self.lookups.append(name)
        if name == "localhost":
            return self._getaddrinfo(host, port, *args, **kw)
        if parse_address(name) is not None:
            return _numeric(self._getaddrinfo, name, port, *args, **kw)
        # Never let a test ask real DNS: the network here has no internet.
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

    def create_connection(self, address: tuple[str, int], *args: Any, **kw: Any) -> socket.socket:
        self.connections.append(address)
        parsed = parse_address(address[0])
        if parsed is None or not parsed.is_loopback:
            raise AssertionError(f"a connection to {address} was attempted")
        return self._connect(address, *args, **kw)


@pytest.fixture
def origin() -> Iterator[Origin]:
    """A plain-HTTP origin on 127.0.0.1."""
    with serve(IMAGE) as running:
        yield running


@pytest.fixture(autouse=True)
def network(monkeypatch: pytest.MonkeyPatch) -> Network:
    """Record lookups and connections; only loopback connections and no real DNS queries."""
    recorder = Network(socket.getaddrinfo, socket.create_connection)
    monkeypatch.setattr(socket, "getaddrinfo", recorder.getaddrinfo)
    monkeypatch.setattr(socket, "create_connection", recorder.create_connection)
    return recorder


@pytest.fixture
def fake_dns(network: Network, monkeypatch: pytest.MonkeyPatch) -> FakeDns:
    """Answer made-up names as the test chooses (the only way to stage a rebinding)."""
    dns = FakeDns(network.getaddrinfo)
    monkeypatch.setattr(socket, "getaddrinfo", dns)
    return dns


@pytest.fixture(scope="session")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A self-signed certificate and key for the name images.test."""
    if shutil.which("openssl") is None:
        pytest.skip("the openssl command is needed to make a test certificate")
    folder = tmp_path_factory.mktemp("tls")
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(
        [
            *("openssl", "req", "-x509", "-nodes", "-days", "2"),
            *("-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1"),
            *("-subj", "/CN=images.test", "-addext", "subjectAltName=DNS:images.test"),
            *("-keyout", str(key), "-out", str(cert)),
        ],
        check=True,
        capture_output=True,
    )
    return cert, key


@pytest.fixture
def https_origin(certificate: tuple[Path, Path]) -> Iterator[Origin]:
    """An HTTPS origin on 127.0.0.1 whose certificate names images.test."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(*certificate)
    with serve(IMAGE, tls=context) as running:
        yield running


@pytest.fixture
def client_tls(certificate: tuple[Path, Path]) -> ssl.SSLContext:
    """A client context that trusts the test certificate and nothing else."""
    return ssl.create_default_context(cafile=str(certificate[0]))
