"""RabbitMQ connections that keep heartbeats, retire idle publishers, and recover quietly.

Dramatiq's `RabbitmqBroker` publishes through one pika `BlockingConnection` per thread. A
blocking connection only answers heartbeats while its thread does I/O on it, so the
connection of a thread that published once and then sat idle (a request thread of the API,
the reconciler, a worker thread between messages) is dropped by RabbitMQ after its
heartbeat timeout, or by a NAT or load balancer after theirs (often 4-5 minutes). Its next
use then failed with ECONNRESET, and pika and Dramatiq logged every step of it, with
tracebacks, at ERROR and CRITICAL: on the next publish, on a consumer's reconnect, and once
more per dead connection when the process stopped.

Here:

- every connection negotiates a heartbeat (`HEARTBEAT_SECONDS`, unless the URL sets its
  own `heartbeat=`), so consumers keep their flows alive and dead peers are noticed;
- a thread's publishing connection that sat idle for half of that is closed and replaced
  before it is used again, before RabbitMQ or the network could have dropped it;
- a lost connection is reported once, as a WARNING without traceback, and the records pika
  and Dramatiq write about the same loss (each layer reports it again on its way up) are
  dropped unless the process logs at DEBUG. Failures to connect at all (refused,
  authentication) are not a lost connection and keep their level.
"""

from __future__ import annotations

import contextlib
import logging
import re
import threading
import time
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import dramatiq
import pika.exceptions
from dramatiq.brokers.rabbitmq import RabbitmqBroker
from dramatiq.middleware import Middleware

log = logging.getLogger(__name__)

HEARTBEAT_SECONDS = 30
"""Heartbeat asked of RabbitMQ when the URL names none (RabbitMQ's own default is 60 s)."""
REPORT_WINDOW_SECONDS = 10.0
"""One reset drops every connection at once: one WARNING covers the ones that follow it."""

_CONNECTION_ERRORS = (pika.exceptions.AMQPConnectionError, pika.exceptions.AMQPChannelError)

LOST = re.compile(
    r"Stream connection lost|StreamLostError|ConnectionResetError|Connection reset"
    r"|BrokenPipeError|Broken pipe|Socket EOF|Transport indicated EOF"
    r"|called on closed connection|[Hh]eartbeat|CONNECTION_FORCED|ConnectionClosedByBroker: \(320"
)
"""What pika says of a connection that was open and is no longer: a reset, an end of
stream, a missed heartbeat, a close forced by the broker (an operator or a restart)."""

QUIETED_LOGGERS = (
    "pika.adapters.utils.io_services_utils",
    "pika.adapters.base_connection",
    "pika.adapters.blocking_connection",
    "pika.connection",
    "pika.channel",
    "pika.heartbeat",
    "dramatiq.brokers.rabbitmq._RabbitmqConsumer",
)
"""Loggers that report each lost connection again on its way up the stack."""


def with_heartbeat(url: str, seconds: int = HEARTBEAT_SECONDS) -> str:
    """`url` (or each `;`-separated URL) with `heartbeat=seconds`, unless it names one."""
    return ";".join(_one_with_heartbeat(part, seconds) for part in url.split(";"))


def _one_with_heartbeat(url: str, seconds: int) -> str:
    parts = urlsplit(url)
    if any(name == "heartbeat" for name, _ in parse_qsl(parts.query, keep_blank_values=True)):
        return url
    query = f"{parts.query}&heartbeat={seconds}" if parts.query else f"heartbeat={seconds}"
    return parts._replace(query=query).geturl()


def heartbeat_of(broker: RabbitmqBroker) -> int | None:
    """The heartbeat the broker's connections ask for (the first URL's), None if unset."""
    parameters = broker.parameters
    first = parameters[0] if isinstance(parameters, list) else parameters
    value = getattr(first, "heartbeat", None)
    return value if isinstance(value, int) else None


def _is_lost(record: logging.LogRecord) -> bool:
    text = record.getMessage()
    if record.exc_info and record.exc_info[1] is not None:
        error = record.exc_info[1]
        text = f"{text} {type(error).__name__} {error}"
    return LOST.search(text) is not None


def _shown(level: int) -> bool:
    return logging.getLogger().isEnabledFor(level)


class QuietLostConnections(logging.Filter):
    """Drops the records pika and Dramatiq's consumer write about a lost connection.

    The loss is reported once by the consumer (see `ConsumerResetReport`); these layers
    report the same event again on their way up, with tracebacks. At DEBUG they stay.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        """Keep a record unless it reports a lost connection (and DEBUG is off)."""
        if record.levelno < logging.WARNING or not _is_lost(record):
            return True
        return _shown(logging.DEBUG)


class ConsumerResetReport(logging.Filter):
    """A consumer's "connection error" after a reset: one WARNING, no more, per reset.

    Dramatiq logs it at CRITICAL from each consumer thread (four per worker) and restarts
    the consumer three seconds later, which is the recovery. Errors that are not a lost
    connection (refused, authentication) keep their level: the broker is really away.
    """

    def __init__(self) -> None:
        super().__init__()
        self._lock = threading.Lock()
        self._last = float("-inf")

    def filter(self, record: logging.LogRecord) -> bool:
        """Turn the first report of a reset into a WARNING and drop the others."""
        if record.levelno < logging.ERROR or not _is_lost(record):
            return True
        now = time.monotonic()
        with self._lock:
            first = now - self._last >= REPORT_WINDOW_SECONDS
            if first:
                self._last = now
        if not first:
            return _shown(logging.DEBUG)
        record.levelno, record.levelname = logging.WARNING, "WARNING"
        record.msg = "RabbitMQ connection lost (%s); consumers reconnect in a few seconds"
        cause = record.args[0] if isinstance(record.args, tuple) and record.args else ""
        record.args = (str(cause),)
        record.exc_info = record.exc_text = None
        return True


_QUIET = QuietLostConnections()
_CONSUMER_RESETS = ConsumerResetReport()


def install_log_filters() -> None:
    """Attach the filters above to pika's and Dramatiq's loggers (once per process)."""
    for name in QUIETED_LOGGERS:
        logger = logging.getLogger(name)
        if _QUIET not in logger.filters:
            logger.addFilter(_QUIET)


class QuietConsumers(Middleware):
    """Puts `ConsumerResetReport` on each consumer thread's logger as the thread starts."""

    def after_consumer_thread_boot(self, broker: dramatiq.Broker, thread: Any) -> None:
        """Called by Dramatiq in every consumer thread it starts."""
        logger = getattr(thread, "logger", None)
        if isinstance(logger, logging.Logger) and _CONSUMER_RESETS not in logger.filters:
            logger.addFilter(_CONSUMER_RESETS)


class HeartbeatRabbitmqBroker(RabbitmqBroker):
    """`RabbitmqBroker` whose per-thread connections are replaced after an idle spell.

    RabbitMQ drops a connection that missed its heartbeats, and a blocking connection only
    sends them while its thread uses it: a thread's connection idle for half the heartbeat
    is closed and opened anew on its next use, before anything could have dropped it.
    Without a heartbeat (`heartbeat=0`), connections are kept however long they idle.
    """

    def __init__(self, **options: Any) -> None:
        super().__init__(**options)
        heartbeat = heartbeat_of(self)
        self.idle_limit: float | None = heartbeat / 2 if heartbeat else None
        """Seconds a thread's connection may idle and still be used; None: no limit."""
        self.retired = 0
        """Idle connections closed and replaced so far (for tests and debugging)."""
        install_log_filters()
        self.add_middleware(QuietConsumers())

    @property
    def connection(self) -> Any:
        """This thread's connection: a fresh one if it idled too long or was lost."""
        self._retire_stale()
        connection = super().connection
        self.state.used_at = time.monotonic()
        return connection

    @connection.deleter
    def connection(self) -> None:
        self._drop_connection()

    @property
    def channel(self) -> Any:
        """This thread's channel, on a connection fresh enough to use (see `connection`)."""
        self._retire_stale()
        channel = super().channel
        self.state.used_at = time.monotonic()
        return channel

    @channel.deleter
    def channel(self) -> None:
        self._drop_channel()

    def get_queue_message_counts(self, queue_name: str) -> tuple[int, int, int]:
        """The queue's message counts, on a new connection if this thread's was lost."""
        try:
            return super().get_queue_message_counts(queue_name)
        except _CONNECTION_ERRORS:
            # Dramatiq leaves the broken channel in place here: every later call would fail.
            self._drop_connection()
            return super().get_queue_message_counts(queue_name)

    def _retire_stale(self) -> None:
        channel = getattr(self.state, "channel", None)
        if channel is not None and not channel.is_open:
            self._drop_channel()  # closed by the broker (a channel error): open another
        connection = getattr(self.state, "connection", None)
        if connection is None:
            return
        idle = time.monotonic() - getattr(self.state, "used_at", 0.0)
        if connection.is_open and (self.idle_limit is None or idle < self.idle_limit):
            return
        if connection.is_open:
            self.retired += 1
        self._drop_connection()

    def _drop_channel(self) -> None:
        channel = getattr(self.state, "channel", None)
        if channel is None:
            return
        del self.state.channel
        self.channels.discard(channel)
        if channel.is_open:
            with contextlib.suppress(Exception):
                channel.close()

    def _drop_connection(self) -> None:
        self._drop_channel()
        connection = getattr(self.state, "connection", None)
        if connection is None:
            return
        del self.state.connection
        self.connections.discard(connection)
        if connection.is_open:
            # Whatever went wrong has been dealt with by replacing the connection; a
            # failure to say goodbye on it changes nothing (its records are filtered).
            with contextlib.suppress(Exception):
                connection.close()

    def close(self) -> None:
        """Close every connection; those that died while idle go without a word."""
        for channel in list(self.channels):
            with contextlib.suppress(Exception):
                if channel.is_open:
                    channel.close()
        for connection in list(self.connections):
            with contextlib.suppress(Exception):
                if connection.is_open:
                    connection.close()
