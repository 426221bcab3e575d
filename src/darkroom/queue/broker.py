"""Brokers by URL, each with Darkroom's retry policy as its one retry middleware."""

from __future__ import annotations

from urllib.parse import urlsplit

import dramatiq
from dramatiq.brokers.stub import StubBroker
from dramatiq.middleware import Retries

from darkroom.analysis.registry import ANALYSES
from darkroom.errors import ConfigurationError
from darkroom.queue.middleware import PolicyRetries
from darkroom.queue.waiting import QueueWait
from darkroom.retry import DEFAULT_POLICY, RetryPolicy

DISPATCH = "dispatch"
TRANSFORM = "transform"
ANALYSIS_QUEUES = {name: f"analyze.{name}" for name in ANALYSES}
"""One queue per analyzer, so that each scales (and needs its extra) on its own."""
QUEUES = (DISPATCH, TRANSFORM, *ANALYSIS_QUEUES.values())


def make_broker(url: str, *, policy: RetryPolicy = DEFAULT_POLICY) -> dramatiq.Broker:
    """The broker a URL names: `memory://` (in this process), `amqp://` or `redis://`."""
    scheme = urlsplit(url).scheme.lower()
    if scheme == "memory":
        broker: dramatiq.Broker = StubBroker()
    elif scheme in ("amqp", "amqps"):
        broker = _rabbitmq_broker(url)
    elif scheme in ("redis", "rediss"):
        broker = _optional_broker("redis", "RedisBroker", url)
    else:
        raise ConfigurationError(
            f"Unsupported broker URL scheme {scheme!r}: use memory, amqp or redis."
        )
    for middleware in list(broker.middleware):
        if isinstance(middleware, Retries):
            broker.middleware.remove(middleware)
    broker.add_middleware(PolicyRetries(policy))
    broker.add_middleware(QueueWait())
    return broker


def _rabbitmq_broker(url: str) -> dramatiq.Broker:
    try:
        # Imported here: pika is an optional extra, needed only by RabbitMQ deployments.
        from darkroom.queue.rabbitmq import HeartbeatRabbitmqBroker, with_heartbeat
    except ImportError as exc:
        if (exc.name or "").partition(".")[0] != "pika":
            raise
        raise ConfigurationError(
            "The rabbitmq broker needs its extra: pip install 'darkroom-images[rabbitmq]'."
        ) from None
    # Heartbeats keep consumers' connections alive through NATs and let both ends notice a
    # dead peer; publisher confirms: an upload is only answered once its message is on the
    # broker.
    return HeartbeatRabbitmqBroker(url=with_heartbeat(url), confirm_delivery=True)


def _optional_broker(extra: str, class_name: str, url: str, **options: bool) -> dramatiq.Broker:
    try:
        module = __import__(f"dramatiq.brokers.{extra}", fromlist=[class_name])
    except ImportError:
        raise ConfigurationError(
            f"The {extra} broker needs its extra: pip install 'darkroom-images[{extra}]'."
        ) from None
    broker: dramatiq.Broker = getattr(module, class_name)(url=url, **options)
    return broker
