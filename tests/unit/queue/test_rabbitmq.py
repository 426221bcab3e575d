"""RabbitMQ connection settings and log policy, without a broker (see tests/cluster for one).

The URL asks for heartbeats unless the operator chose a value; the broker retires a
thread's connection after half a heartbeat of idling; a lost connection is reported once,
as a WARNING without traceback, while a broker that cannot be reached keeps its level.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Iterator

import pytest

from darkroom.queue.broker import make_broker
from darkroom.queue.rabbitmq import (
    HEARTBEAT_SECONDS,
    ConsumerResetReport,
    HeartbeatRabbitmqBroker,
    QuietConsumers,
    QuietLostConnections,
    heartbeat_of,
    with_heartbeat,
)

RESET = "Stream connection lost: ConnectionResetError(104, 'Connection reset by peer')"
FORCED = 'ConnectionClosedByBroker: (320) "CONNECTION_FORCED - Closed via management plugin"'
REFUSED = "AMQPConnectionError: (AMQPConnectorSocketConnectError: ConnectionRefusedError(111))"


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("amqp://guest:guest@h:5672/%2F", "amqp://guest:guest@h:5672/%2F?heartbeat=30"),
        ("amqp://h/v?channel_max=9", "amqp://h/v?channel_max=9&heartbeat=30"),
        ("amqps://h/v?heartbeat=5", "amqps://h/v?heartbeat=5"),
        ("amqp://h/v?heartbeat=0", "amqp://h/v?heartbeat=0"),
        ("amqp://a/v;amqp://b/v?heartbeat=7", "amqp://a/v?heartbeat=30;amqp://b/v?heartbeat=7"),
    ],
)
def test_urls_ask_for_a_heartbeat_unless_they_name_one(url: str, expected: str) -> None:
    assert HEARTBEAT_SECONDS == 30
    assert with_heartbeat(url) == expected


def test_the_broker_negotiates_the_heartbeat_and_retires_idle_connections_at_half() -> None:
    # Built from a URL only: nothing connects until a connection is used.
    broker = make_broker("amqp://guest:guest@127.0.0.1:1/%2F")
    assert isinstance(broker, HeartbeatRabbitmqBroker)
    assert heartbeat_of(broker) == HEARTBEAT_SECONDS
    assert broker.idle_limit == HEARTBEAT_SECONDS / 2
    assert broker.confirm_delivery
    assert any(isinstance(m, QuietConsumers) for m in broker.middleware)
    explicit = make_broker("amqp://guest:guest@127.0.0.1:1/%2F?heartbeat=4")
    assert isinstance(explicit, HeartbeatRabbitmqBroker)
    assert explicit.idle_limit == 2
    # heartbeat=0 turns heartbeats off: RabbitMQ never drops an idle connection then.
    off = make_broker("amqp://guest:guest@127.0.0.1:1/%2F?heartbeat=0")
    assert isinstance(off, HeartbeatRabbitmqBroker)
    assert off.idle_limit is None


class Capture(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@pytest.fixture
def capture() -> Iterator[tuple[logging.Logger, Capture]]:
    logger = logging.getLogger("test.rabbitmq.consumer")
    handler = Capture()
    logger.addHandler(handler)
    logger.propagate = False
    logger.setLevel(logging.INFO)
    yield logger, handler
    logger.removeHandler(handler)
    logger.filters.clear()
    logger.setLevel(logging.NOTSET)


def _exc_info(error: BaseException) -> tuple[type[BaseException], BaseException, None]:
    return type(error), error, None


def test_a_reset_is_one_warning_without_traceback(
    capture: tuple[logging.Logger, Capture],
) -> None:
    logger, handler = capture
    logger.addFilter(ConsumerResetReport())
    # Dramatiq's consumer threads, one after the other, as they all lose the connection.
    for _ in range(4):
        logger.critical("Consumer encountered a connection error: %s", RESET)
    logger.critical("Consumer encountered a connection error: %s", FORCED)
    assert [(r.levelname, r.getMessage()) for r in handler.records] == [
        ("WARNING", f"RabbitMQ connection lost ({RESET}); consumers reconnect in a few seconds")
    ]
    assert handler.records[0].exc_info is None


def test_a_broker_that_cannot_be_reached_keeps_its_level(
    capture: tuple[logging.Logger, Capture],
) -> None:
    logger, handler = capture
    logger.addFilter(ConsumerResetReport())
    logger.critical("Consumer encountered a connection error: %s", REFUSED)
    logger.critical("Consumer encountered a connection error: %s", REFUSED)
    assert [r.levelname for r in handler.records] == ["CRITICAL", "CRITICAL"]


def test_pika_records_of_a_lost_connection_are_dropped_others_kept(
    capture: tuple[logging.Logger, Capture],
) -> None:
    logger, handler = capture
    logger.addFilter(QuietLostConnections())
    try:
        raise ConnectionResetError(104, "Connection reset by peer")
    except ConnectionResetError:
        logger.exception("_AsyncBaseTransport._produce() failed, aborting connection")
    logger.error("Unexpected connection close detected: StreamLostError: (%r,)", RESET)
    logger.error("BlockingConnection.close(200, 'Normal shutdown') called on closed connection.")
    logger.error("connection_lost: %s", FORCED)
    logger.error("Connection closed while authenticating indicating a probable authentication")
    logger.error("Connection workflow failed: %s", REFUSED)
    logger.info("an info line")
    assert [r.getMessage() for r in handler.records] == [
        "Connection closed while authenticating indicating a probable authentication",
        f"Connection workflow failed: {REFUSED}",
        "an info line",
    ]
    assert sys.exc_info() == (None, None, None)
