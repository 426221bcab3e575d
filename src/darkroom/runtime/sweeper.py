"""The sweeper: what killed writes left in object storage is removed, at start and then
every few minutes, from `serve` and every worker; so are expired direct uploads.

A process killed during a write leaves a temp file beside the target on local storage, or
an incomplete multipart upload on S3: never listed or served, but taking space until
removed. Each store's `sweep` removes those older than a lease (`DARKROOM_LEASE_SECONDS`),
which no write in progress is: a write belongs to a claimed variant or a request, both
bounded well below that.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from datetime import timedelta

from darkroom.errors import DarkroomError
from darkroom.queue.periodic import Periodic
from darkroom.service import uploads
from darkroom.service.context import Context
from darkroom.storage import ObjectStore

log = logging.getLogger(__name__)

SWEEP_INTERVAL_SECONDS = 300.0
"""Between two sweeps after the first (a walk of a local store's directories each time)."""


def distinct_stores(stores: Iterable[ObjectStore]) -> list[ObjectStore]:
    """`stores` without repeats: the same object, or another one on the same place.

    Both stores' reprs name their place (`LocalStore('/root')`, `S3Store('s3://b/p/')`),
    so originals and outputs opened from one URL are swept once.
    """
    seen: set[str] = set()
    found: list[ObjectStore] = []
    for store in stores:
        place = repr(store)
        if place not in seen:
            seen.add(place)
            found.append(store)
    return found


class Sweeper(Periodic):
    """Sweeps each store once at start (in its thread), then every `interval` seconds."""

    def __init__(
        self,
        stores: Iterable[ObjectStore],
        older_than: timedelta,
        interval: float = SWEEP_INTERVAL_SECONDS,
        expired: Callable[[], int] | None = None,
    ) -> None:
        self.stores = distinct_stores(stores)
        self.older_than = older_than
        # Forgets expired direct uploads with their objects; returns how many.
        self.expired = expired
        super().__init__("sweeper", interval, self.sweep)

    @classmethod
    def for_context(cls, ctx: Context, interval: float = SWEEP_INTERVAL_SECONDS) -> Sweeper:
        """The sweeper of the context's stores and direct uploads, sparing writes younger
        than a lease."""
        return cls(
            (ctx.originals, ctx.outputs),
            ctx.lease,
            interval,
            expired=lambda: uploads.sweep_expired(ctx, ctx.lease),
        )

    def sweep(self) -> int:
        """One pass over every store; how many leftovers were removed in all."""
        total = 0
        for store in self.stores:
            try:
                removed = store.sweep(self.older_than)
            except DarkroomError as exc:
                # The store is down or refuses: the next pass tries again.
                log.warning("could not sweep %r: %s", store, exc.message)
                continue
            if removed:
                log.info(
                    "swept %d leftover(s) of interrupted writes from %r",
                    removed,
                    store,
                    extra={"removed": removed},
                )
            total += removed
        if self.expired is not None:
            try:
                total += self.expired()
            except DarkroomError as exc:
                log.warning("could not sweep expired direct uploads: %s", exc.message)
        return total

    def _run(self) -> None:
        # The first pass at once, without holding up the start of the process.
        self.run_once()
        super()._run()
