"""RabbitMQ connections of real `darkroom api` and `darkroom worker` processes: heartbeats,
resets and idle periods recover quietly, and a stop after work logs no error.

Two ways a connection dies in production are reproduced here in seconds:

- a reset from outside (a NAT or load balancer dropping an idle flow, a broker restart):
  the worker reaches RabbitMQ through a TCP proxy the test cuts, so every connection it
  holds gets ECONNRESET;
- an idle connection that missed its heartbeats (a thread that published once and then
  sat idle): the processes negotiate a 2 s heartbeat (`?heartbeat=2` in the broker URL),
  so RabbitMQ drops such connections after a few idle seconds instead of minutes.

After each, the processes must still do their work, and their logs must hold no ERROR or
CRITICAL line and no traceback: a WARNING for a reset that recovered is the most allowed.
"""

from __future__ import annotations

import logging
import signal
import time
from collections.abc import Callable
from contextlib import ExitStack
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
from dramatiq import Message

from darkroom.queue.broker import make_broker
from darkroom.queue.rabbitmq import HeartbeatRabbitmqBroker
from tests.cluster.conftest import Broker
from tests.cluster.tcp_proxy import tcp_proxy
from tests.cluster.test_processes import (
    cluster_env,
    distinct_images,
    logged,
    process,
    queued_messages,
    size_of,
    wait_for_log,
    wait_healthy,
)
from tests.integration.test_process import (
    PROFILES,
    check_downloads,
    check_storage_matches,
    free_port,
    log_events,
    stored,
)

pytestmark = pytest.mark.slow  # real processes on a real RabbitMQ

SHORT_HEARTBEAT = 2
"""Seconds: RabbitMQ drops a connection that stays silent for about this long."""


def with_query(url: str, query: str) -> str:
    """`url` with `query` appended to its query string."""
    return f"{url}{'&' if urlsplit(url).query else '?'}{query}"


def via(broker: Broker, port: int) -> Broker:
    """The same broker (and queue prefix), reached through a local port."""
    parts = urlsplit(broker.url)
    netloc = f"{parts.netloc.rpartition('@')[0]}@127.0.0.1:{port}"
    return Broker(broker.kind, parts._replace(netloc=netloc).geturl(), broker.prefix)


def upload_and_wait(http: httpx.Client, data: bytes, log: Path, timeout: float = 60) -> None:
    """Upload one image for every default profile; wait until it is done and check it."""
    response = http.post("/v1/images", files={"file": ("x.jpg", data)}, data={"profiles": PROFILES})
    assert response.status_code == 202, response.text
    image_id = response.json()["id"]
    deadline = time.monotonic() + timeout
    while (image := http.get(f"/v1/images/{image_id}").json())["status"] != "done":
        assert image["status"] != "failed", image
        assert time.monotonic() < deadline, log.read_text()[-5000:]
        time.sleep(0.1)
    check_downloads(http, [image], size_of)


def noise(path: Path) -> list[dict[str, Any]]:
    """Log events an operator would be alarmed by: errors, criticals and tracebacks."""
    return [e for e in log_events(path) if e["level"] in ("error", "critical") or "exc" in e]


def wait_until(check: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, what
        time.sleep(0.1)


def test_publisher_connections_are_renewed_after_idling_and_after_a_reset(
    rabbitmq: Broker, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    target = urlsplit(rabbitmq.url)
    queue = f"{rabbitmq.prefix}dispatch"
    with tcp_proxy((target.hostname or "", target.port or 5672)) as proxy:
        url = with_query(via(rabbitmq, proxy.port).url, f"heartbeat={SHORT_HEARTBEAT}")
        broker = make_broker(url)
        assert isinstance(broker, HeartbeatRabbitmqBroker)
        try:
            broker.declare_queue(queue)

            def publish() -> None:
                broker.enqueue(Message(queue, "dispatch", ("x",), {}, {}))

            publish()
            assert (proxy.accepted, broker.retired) == (1, 0)
            publish()  # used again at once: the same connection
            assert (proxy.accepted, broker.retired) == (1, 0)
            # This thread sat idle past half the heartbeat: before RabbitMQ could drop the
            # connection for its missed heartbeats, it is replaced.
            broker.state.used_at -= SHORT_HEARTBEAT
            publish()
            assert (proxy.accepted, broker.retired) == (2, 1)
            assert broker.get_queue_message_counts(queue)[0] == 3

            # Reset from outside: the next calls notice, reconnect and succeed.
            assert proxy.cut() == 1
            assert broker.get_queue_message_counts(queue)[0] == 3
            assert proxy.cut() == 1
            publish()
            assert broker.get_queue_message_counts(queue)[0] == 4
            assert proxy.accepted == 4
        finally:
            broker.close()
    loud = [r for r in caplog.records if r.levelno >= logging.WARNING or r.exc_info]
    assert loud == []


def test_worker_recovers_quietly_from_reset_connections(
    tmp_path: Path, postgres_url: str, rabbitmq: Broker
) -> None:
    target = urlsplit(rabbitmq.url)
    images = distinct_images(3)
    worker_log = tmp_path / "worker.log"
    with ExitStack() as stack:
        proxy = stack.enter_context(tcp_proxy((target.hostname or "", target.port or 5672)))
        port = free_port()
        api = stack.enter_context(
            process(
                tmp_path,
                "api",
                ["api", "--port", str(port)],
                cluster_env(tmp_path, postgres_url, rabbitmq),
            )
        )
        http = wait_healthy(tmp_path, port, api)
        stack.callback(http.close)
        worker = stack.enter_context(
            process(
                tmp_path,
                "worker",
                ["worker", "--threads", "2"],
                cluster_env(tmp_path, postgres_url, via(rabbitmq, proxy.port)),
            )
        )
        wait_for_log(worker_log, "worker consuming", 1)
        upload_and_wait(http, images[0], worker_log)

        # Every connection of the worker (consumers, and the publishers of its worker,
        # reconciler and outbox threads) is reset at once, as a dropped flow would be.
        before = proxy.accepted
        assert proxy.cut() >= 2
        # The worker reconnects on its own (its consumers within seconds) ...
        wait_until(lambda: proxy.accepted >= before + 2, 30, worker_log.read_text()[-5000:])
        # ... and goes on working: twice, so the publishers that were cut are used again.
        upload_and_wait(http, images[1], worker_log)
        upload_and_wait(http, images[2], worker_log)

        worker.send_signal(signal.SIGTERM)
        assert worker.wait(timeout=30) == 0, worker_log.read_text()[-5000:]
    assert logged(worker_log, "stopping: letting running transforms finish")
    assert noise(worker_log) == []
    after = stored(postgres_url)
    assert [v.status for v in after.variants] == ["done"] * 9
    assert after.dead_letters == 0
    check_storage_matches(tmp_path / "objects", after)


def test_idle_connections_past_their_heartbeat_recover_quietly(
    tmp_path: Path, postgres_url: str, rabbitmq: Broker
) -> None:
    broker = Broker(
        rabbitmq.kind, with_query(rabbitmq.url, f"heartbeat={SHORT_HEARTBEAT}"), rabbitmq.prefix
    )
    env = cluster_env(tmp_path, postgres_url, broker)
    images = distinct_images(2)
    worker_log, api_log = tmp_path / "worker.log", tmp_path / "api.log"
    port = free_port()
    with ExitStack() as stack:
        api = stack.enter_context(process(tmp_path, "api", ["api", "--port", str(port)], env))
        http = wait_healthy(tmp_path, port, api)
        stack.callback(http.close)
        worker = stack.enter_context(process(tmp_path, "worker", ["worker"], env))
        wait_for_log(worker_log, "worker consuming", 1)
        upload_and_wait(http, images[0], worker_log)
        # Idle for several heartbeat timeouts: RabbitMQ drops every connection that was
        # not kept alive, including those of threads that published once and then waited.
        time.sleep(SHORT_HEARTBEAT * 4)
        assert http.get("/ready").status_code == 200
        upload_and_wait(http, images[1], worker_log)
        time.sleep(SHORT_HEARTBEAT * 4)
        for child in (worker, api):
            child.send_signal(signal.SIGTERM)
            assert child.wait(timeout=30) == 0, worker_log.read_text()[-5000:]
    assert noise(worker_log) == []
    assert noise(api_log) == []
    after = stored(postgres_url)
    assert [v.status for v in after.variants] == ["done"] * 6
    assert after.dead_letters == 0


def test_two_process_worker_stops_quietly_after_work_and_idle(
    tmp_path: Path, rabbitmq: Broker
) -> None:
    broker = Broker(
        rabbitmq.kind, with_query(rabbitmq.url, f"heartbeat={SHORT_HEARTBEAT}"), rabbitmq.prefix
    )
    database_url = f"sqlite:///{tmp_path / 'db.sqlite'}"
    env = cluster_env(tmp_path, database_url, broker)
    worker_log = tmp_path / "worker.log"
    port = free_port()
    with (
        process(tmp_path, "api", ["api", "--port", str(port)], env) as api,
        process(tmp_path, "worker", ["worker", "--processes", "2"], env) as worker,
    ):
        http = wait_healthy(tmp_path, port, api)
        try:
            wait_for_log(worker_log, "worker consuming", 2)
            for data in distinct_images(4):
                upload_and_wait(http, data, worker_log)
        finally:
            http.close()
        # Long enough for RabbitMQ to drop every connection left idle since the work.
        time.sleep(SHORT_HEARTBEAT * 4)
        worker.send_signal(signal.SIGTERM)
        assert worker.wait(timeout=30) == 0, worker_log.read_text()[-5000:]
        api.send_signal(signal.SIGTERM)
        assert api.wait(timeout=30) == 0
    assert len(logged(worker_log, "stopping: letting running transforms finish")) == 2
    assert noise(worker_log) == []
    after = stored(database_url)
    assert [v.status for v in after.variants] == ["done"] * 12
    check_storage_matches(tmp_path / "objects", after)
    assert set(queued_messages(rabbitmq).values()) == {0}
