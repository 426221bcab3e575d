"""The outbox sender: delivers due events (webhooks) from every process that runs it."""

from __future__ import annotations

from darkroom.queue.periodic import Periodic
from darkroom.service import outbox
from darkroom.service.context import Context


class OutboxSender(Periodic):
    """A thread that sends due outbox events; leases keep two processes off one attempt."""

    def __init__(self, ctx: Context) -> None:
        super().__init__(
            "outbox", ctx.settings.outbox_interval_seconds, lambda: outbox.deliver_due(ctx)
        )
