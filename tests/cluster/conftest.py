"""Real brokers (RabbitMQ, Redis) with per-test queue prefixes, and an in-process cluster."""

from __future__ import annotations

import os
import secrets
import socket
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import dramatiq
import httpx
import pika
import pytest
import redis

from darkroom.queue.broker import QUEUES
from darkroom.runtime.http import api_app
from darkroom.runtime.wiring import wire
from darkroom.settings import Settings
from tests.conftest import service_unavailable
from tests.live_server import live_server
from tests.s3_server import REGION, S3Server

RABBITMQ_URL = os.environ.get("DARKROOM_TEST_RABBITMQ_URL", "amqp://guest:guest@127.0.0.1:5672/%2F")
REDIS_URL = os.environ.get("DARKROOM_TEST_REDIS_URL", "redis://127.0.0.1:6379/14")
BROKERS = {"rabbitmq": RABBITMQ_URL, "redis": REDIS_URL}


@dataclass(frozen=True)
class Broker:
    """A reachable broker and the queue prefix that isolates one test on it."""

    kind: str
    url: str
    prefix: str


def _reachable(url: str) -> bool:
    parts = urlsplit(url)
    try:
        with socket.create_connection((parts.hostname or "127.0.0.1", parts.port or 0), timeout=2):
            return True
    except OSError:
        return False


@pytest.fixture(params=sorted(BROKERS))
def broker(request: pytest.FixtureRequest) -> Iterator[Broker]:
    """Each real broker in turn, with a unique queue prefix; its queues are removed after."""
    url = BROKERS[request.param]
    if not _reachable(url):
        service_unavailable(f"{request.param} not reachable at {urlsplit(url).netloc}")
    found = Broker(request.param, url, f"t{secrets.token_hex(4)}-")
    yield found
    remove_queues(found)


def remove_queues(broker: Broker) -> None:
    """Delete every queue (and delay/dead-letter queue) the test's prefix created."""
    names = [f"{broker.prefix}{q}{suffix}" for q in QUEUES for suffix in ("", ".DQ", ".XQ")]
    if broker.kind == "rabbitmq":
        connection = pika.BlockingConnection(pika.URLParameters(broker.url))
        try:
            channel = connection.channel()
            for name in names:
                channel.queue_delete(queue=name)
        finally:
            connection.close()
    else:
        client = redis.Redis.from_url(broker.url)
        try:
            keys = list(client.scan_iter(match=f"*{broker.prefix}*"))
            if keys:
                client.delete(*keys)
        finally:
            client.close()


@contextmanager
def in_process_cluster(settings: Settings, threads: int = 2) -> Iterator[httpx.Client]:
    """`darkroom api` served over HTTP plus a worker consuming its queues, in this process."""
    wired = wire(settings)
    worker = dramatiq.Worker(
        wired.broker,
        queues=set(wired.queue.queue_names.values()),
        worker_threads=threads,
        worker_timeout=100,
    )
    worker.start()
    try:
        with live_server(api_app(settings)) as url, httpx.Client(base_url=url, timeout=30) as http:
            yield http
    finally:
        worker.stop(timeout=10_000)
        wired.close()


def wait_done(http: httpx.Client, image_id: str, timeout: float = 60) -> dict[str, Any]:
    """Poll an image until it is done or failed."""
    deadline = time.monotonic() + timeout
    while True:
        body: dict[str, Any] = http.get(f"/v1/images/{image_id}").json()
        if body["status"] in ("done", "failed"):
            return body
        assert time.monotonic() < deadline, body
        time.sleep(0.1)


@pytest.fixture
def rabbitmq() -> Iterator[Broker]:
    """RabbitMQ alone, with a unique queue prefix; its queues are removed after."""
    if not _reachable(RABBITMQ_URL):
        service_unavailable(f"rabbitmq not reachable at {urlsplit(RABBITMQ_URL).netloc}")
    found = Broker("rabbitmq", RABBITMQ_URL, f"t{secrets.token_hex(4)}-")
    yield found
    remove_queues(found)


@dataclass(frozen=True)
class Storage:
    """Settings that point a Darkroom process at one object store."""

    settings: dict[str, str]


@pytest.fixture(params=["local", "s3"])
def storage(request: pytest.FixtureRequest, tmp_path: Path) -> Storage:
    """A local folder, or a fresh bucket on the test's S3 server."""
    if request.param == "local":
        return Storage({"storage_url": f"file://{tmp_path / 'objects'}"})
    server: S3Server = request.getfixturevalue("s3_server")
    bucket: str = request.getfixturevalue("s3_bucket")
    return Storage(
        {
            "storage_url": f"s3://{bucket}/darkroom",
            "s3_endpoint_url": server.endpoint,
            "s3_region": REGION,
        }
    )
