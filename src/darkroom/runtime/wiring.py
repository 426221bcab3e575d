"""Start-up and shutdown shared by every role: one place wires settings to a running service."""

from __future__ import annotations

import logging
from dataclasses import dataclass

import dramatiq

from darkroom.db.migrate import upgrade
from darkroom.errors import ConfigurationError
from darkroom.queue.actors import DramatiqQueue
from darkroom.queue.broker import make_broker
from darkroom.retry import DEFAULT_POLICY, RetryPolicy
from darkroom.service import grants, profiles
from darkroom.service.context import Context, build_context
from darkroom.settings import Settings

log = logging.getLogger(__name__)

SHARED_BROKER = (
    "{role} shares work with other processes through a broker: set DARKROOM_BROKER_URL to "
    "amqp://… (RabbitMQ) or redis://…, or run `darkroom serve` for one process."
)


@dataclass
class Wired:
    """The service context with its broker attached: what every role runs on."""

    ctx: Context
    broker: dramatiq.Broker
    queue: DramatiqQueue

    def close(self) -> None:
        """Close the broker's connections and the database pool."""
        self.broker.close()
        self.ctx.engine.dispose()


def migrate(settings: Settings) -> None:
    """Create or upgrade the database schema; safe from many processes at once."""
    upgrade(settings.database_url)


def open_context(
    settings: Settings, *, retry: RetryPolicy = DEFAULT_POLICY, defaults: bool = True
) -> Context:
    """The service context on a migrated database; no broker.

    With `defaults`, a database without profiles gets the default ones, as a service that
    is about to accept uploads needs; admin commands leave the profiles as they are.
    """
    migrate(settings)
    ctx = build_context(settings, retry=retry)
    if not defaults:
        return ctx
    if settings.webhook_secret is None:
        log.warning(
            "DARKROOM_WEBHOOK_SECRET is not set: webhooks go out unsigned, and receivers "
            "cannot tell them from forgeries"
        )
    try:
        created = profiles.ensure_defaults(ctx)
    except BaseException:
        ctx.engine.dispose()
        raise
    if created:
        log.info("created default profiles: %s", ", ".join(created))
    return ctx


def wire(
    settings: Settings,
    *,
    shared_broker: str | None = None,
    retry: RetryPolicy = DEFAULT_POLICY,
) -> Wired:
    """The service context (see `open_context`) with the configured broker attached.

    `shared_broker` is the message refusing the in-process `memory://` broker, for a role
    that hands work to other processes (see SHARED_BROKER).
    """
    if shared_broker is not None and settings.broker_url.startswith("memory:"):
        raise ConfigurationError(shared_broker)
    ctx = open_context(settings, retry=retry)
    try:
        grants.check(ctx)
    except BaseException:
        ctx.engine.dispose()
        raise
    broker = make_broker(settings.broker_url, policy=retry)
    queue = DramatiqQueue(broker, ctx, prefix=settings.queue_prefix)
    ctx.queue = queue
    return Wired(ctx, broker, queue)
