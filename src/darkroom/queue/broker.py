"""Brokers by URL, and the task queue that the use-cases enqueue work on."""

from __future__ import annotations

from urllib.parse import urlsplit

import dramatiq
from dramatiq.brokers.stub import StubBroker
from dramatiq.middleware import Retries

from darkroom.errors import BrokerUnavailable, ConfigurationError, is_retryable
from darkroom.queue.retry import MAX_BACKOFF_SECONDS, MAX_RETRIES
from darkroom.service import variants
from darkroom.service.context import Context

DISPATCH = "dispatch"
TRANSFORM = "transform"
QUEUES = (DISPATCH, TRANSFORM)


def make_broker(url: str) -> dramatiq.Broker:
    """The broker a URL names: `memory://` (in this process), `amqp://` or `redis://`."""
    scheme = urlsplit(url).scheme.lower()
    if scheme == "memory":
        broker: dramatiq.Broker = StubBroker()
    elif scheme in ("amqp", "amqps"):
        # Publisher confirms: an upload is only answered once its message is on the broker.
        broker = _optional_broker("rabbitmq", "RabbitmqBroker", url, confirm_delivery=True)
    elif scheme in ("redis", "rediss"):
        broker = _optional_broker("redis", "RedisBroker", url)
    else:
        raise ConfigurationError(
            f"Unsupported broker URL scheme {scheme!r}: use memory, amqp or redis."
        )
    _use_retry_policy(broker)
    return broker


def _optional_broker(extra: str, class_name: str, url: str, **options: bool) -> dramatiq.Broker:
    try:
        module = __import__(f"dramatiq.brokers.{extra}", fromlist=[class_name])
    except ImportError:
        raise ConfigurationError(
            f"The {extra} broker needs its extra: pip install 'darkroom[{extra}]'."
        ) from None
    broker: dramatiq.Broker = getattr(module, class_name)(url=url, **options)
    return broker


def _use_retry_policy(broker: dramatiq.Broker) -> None:
    # Variant failures are classified and rescheduled by the service; what escapes an
    # actor (the database down while claiming, say) is retried here with the same budget.
    for middleware in list(broker.middleware):
        if isinstance(middleware, Retries):
            broker.middleware.remove(middleware)
    broker.add_middleware(
        Retries(
            max_retries=MAX_RETRIES,
            min_backoff=2000,
            max_backoff=int(MAX_BACKOFF_SECONDS * 1000),
            retry_when=lambda retries, exc: retries < MAX_RETRIES and is_retryable(exc),
        )
    )


class DramatiqQueue:
    """The task queue over Dramatiq: one actor per queue, bound to the service context."""

    def __init__(self, broker: dramatiq.Broker, ctx: Context, *, prefix: str = "") -> None:
        self.broker = broker
        self.queue_names = {name: f"{prefix}{name}" for name in QUEUES}

        def dispatch(image_id: str) -> None:
            variants.dispatch(ctx, image_id)

        def transform(variant_id: str) -> None:
            variants.process(ctx, variant_id)

        self._dispatch = dramatiq.actor(
            broker=broker, actor_name=f"{prefix}dispatch", queue_name=self.queue_names[DISPATCH]
        )(dispatch)
        self._transform = dramatiq.actor(
            broker=broker, actor_name=f"{prefix}transform", queue_name=self.queue_names[TRANSFORM]
        )(transform)

    def dispatch(self, image_id: str) -> None:
        """Enqueue the fan-out of an image's variants."""
        self._send(self._dispatch, image_id, 0.0)

    def transform(self, variant_id: str, *, delay: float = 0.0) -> None:
        """Enqueue the rendering of one variant, optionally delayed."""
        self._send(self._transform, variant_id, delay)

    def ping(self) -> None:
        """Raise BrokerUnavailable unless the broker answers (the in-memory one always does)."""
        try:
            if hasattr(self.broker, "client"):  # Redis
                self.broker.client.ping()
            elif hasattr(self.broker, "connection"):  # RabbitMQ: opening one is the check
                _ = self.broker.connection
        except Exception as exc:
            raise BrokerUnavailable(f"The message broker is unreachable: {exc}") from exc

    def _send(self, actor: dramatiq.Actor[..., None], argument: str, delay: float) -> None:
        try:
            actor.send_with_options(args=(argument,), delay=int(delay * 1000) or None)
        except dramatiq.errors.ConnectionError as exc:
            raise BrokerUnavailable(f"The message broker is unreachable: {exc}") from exc
