"""The reconciler: the database, not the broker, is the source of truth for pending work."""

from __future__ import annotations

import logging
from datetime import timedelta

from darkroom.queue.periodic import Periodic
from darkroom.service import analyses, variants
from darkroom.service.context import Context
from darkroom.settings import Settings

log = logging.getLogger(__name__)


class Reconciler(Periodic):
    """A thread that periodically re-enqueues stuck variants and analyses."""

    def __init__(self, ctx: Context, interval: float, pending_grace: timedelta) -> None:
        def step() -> int:
            count = variants.reconcile(ctx, pending_grace=pending_grace)
            if count:
                log.info("reconciler re-enqueued %d variant(s)", count)
            found = analyses.reconcile(ctx, pending_grace=pending_grace)
            if found:
                log.info("reconciler re-enqueued %d analysis(es)", found)
            return count + found

        super().__init__("reconciler", interval, step)

    @classmethod
    def for_settings(cls, ctx: Context, settings: Settings) -> Reconciler:
        """The reconciler a role runs, on the configured interval."""
        # A pending variant is presumed to have lost its message only after a full lease:
        # a shorter grace would pile duplicate messages onto a merely long queue.
        return cls(
            ctx,
            settings.reconcile_interval_seconds,
            pending_grace=timedelta(seconds=settings.lease_seconds),
        )
