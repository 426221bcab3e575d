"""What the use-cases need, built once at start-up from the settings and passed around."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any, Protocol

from prometheus_client import CollectorRegistry
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker

from darkroom.db.engine import create_engine, session_factory, transaction
from darkroom.db.repo import analyses as analysis_rows
from darkroom.db.repo import variants as variant_rows
from darkroom.db.schema import Status
from darkroom.fetch import FetchPolicy
from darkroom.imaging import Limits, set_vips_threads
from darkroom.imaging.encode import DEFAULT_ENCODING, Encoding
from darkroom.retry import DEFAULT_POLICY, RetryPolicy
from darkroom.service import ratelimit
from darkroom.service.handoff import Handoff
from darkroom.service.metrics import QueueDepthCollector, WorkMetrics, build_registry
from darkroom.service.ratelimit import Buckets
from darkroom.service.source_cache import SourceCache
from darkroom.settings import Settings
from darkroom.storage import ObjectStore, open_store


class TaskQueue(Protocol):
    """Where the use-cases hand work to the queue; implemented over Dramatiq."""

    def dispatch(self, image_id: str) -> None:
        """Ask for one transform message per pending variant of the image."""
        ...

    def transform(
        self, variant_id: str, *, delay: float = 0.0, grant: dict[str, Any] | None = None
    ) -> None:
        """Ask for the variant to be rendered, `delay` seconds from now; with the presigned
        URLs of `grant` (`service.grants`), or fresh ones when the deployment uses them."""
        ...

    def analyze(
        self,
        analysis: str,
        analysis_id: str,
        *,
        delay: float = 0.0,
        grant: dict[str, Any] | None = None,
    ) -> None:
        """Ask for the analysis to run on its own queue, `delay` seconds from now (`grant`
        as for `transform`)."""
        ...

    def ping(self) -> None:
        """Raise BrokerUnavailable unless the broker answers."""
        ...

    def depth(self) -> dict[str, int]:
        """Messages waiting in each queue, delayed ones included."""
        ...


@dataclass
class Context:
    """Settings, database, stores and queue: the dependencies of every use-case."""

    settings: Settings
    engine: Engine
    sessions: sessionmaker[Session]
    originals: ObjectStore
    outputs: ObjectStore
    limits: Limits
    fetch_policy: FetchPolicy
    registry: CollectorRegistry
    metrics: WorkMetrics
    render_sources: SourceCache = field(default_factory=lambda: SourceCache(0))
    """Originals kept in memory for on-demand renders (per process)."""
    queue: TaskQueue | None = field(default=None)
    retry: RetryPolicy = DEFAULT_POLICY
    """When failed work is retried; tests inject a faster schedule."""
    rate_limits: Buckets | None = None
    """Token buckets per API key or client address; None when rate limiting is off."""
    encoding: Encoding = DEFAULT_ENCODING
    """The encoder efforts every render of this process uses."""
    handoff: Handoff | None = None
    """Decoded uploads for this process's own workers; None when its variants are rendered
    elsewhere (see `service.handoff`)."""

    @property
    def lease(self) -> timedelta:
        """How long a claimed variant belongs to its worker."""
        return timedelta(seconds=self.settings.lease_seconds)

    def tasks(self) -> TaskQueue:
        """The queue, which is attached once the broker is up."""
        if self.queue is None:
            raise RuntimeError("no task queue attached to the service context")
        return self.queue


def build_context(settings: Settings, *, retry: RetryPolicy = DEFAULT_POLICY) -> Context:
    """Open the database engine and the stores the settings name; set this process's
    libvips threads per pipeline."""
    engine = create_engine(settings.database_url)
    set_vips_threads(settings.vips_threads)
    limits = settings.limits()
    sessions = session_factory(engine)
    registry, metrics = build_registry(sessions)
    ctx = Context(
        retry=retry,
        rate_limits=ratelimit.build(
            settings.rate_limit, settings.redis_url, prefix=settings.queue_prefix
        ),
        registry=registry,
        metrics=metrics,
        render_sources=SourceCache(settings.render_source_cache_bytes),
        settings=settings,
        engine=engine,
        sessions=sessions,
        originals=open_store(
            settings.storage_url,
            s3_endpoint_url=settings.s3_endpoint_url,
            s3_region=settings.s3_region,
        ),
        outputs=open_store(
            settings.outputs_url,
            s3_endpoint_url=settings.s3_endpoint_url,
            s3_region=settings.s3_region,
        ),
        limits=limits,
        encoding=settings.encoding(),
        fetch_policy=FetchPolicy(
            allow_hosts=tuple(settings.url_fetch_allow_hosts),
            require_allow_list=False,
            connect_timeout=min(5.0, settings.url_fetch_timeout_seconds),
            read_timeout=settings.url_fetch_timeout_seconds,
            total_timeout=settings.url_fetch_timeout_seconds * 3,
            max_bytes=limits.max_bytes,
            own_address=(settings.host, settings.port),
        ),
    )
    registry.register(QueueDepthCollector(lambda: queue_depth(ctx)))
    return ctx


def queue_depth(ctx: Context) -> dict[str, int]:
    """Messages waiting per queue: from the broker, or the database for the in-process one."""
    if ctx.queue is None:
        return {}
    if ctx.settings.broker_url.startswith("memory:"):
        # The in-process broker loses its messages with the process; the database does not.
        with transaction(ctx.sessions) as session:
            pending = variant_rows.count_by_status(session)[Status.PENDING]
            waiting = analysis_rows.pending_by_analysis(session)
        return {"transform": pending} | {f"analyze.{name}": n for name, n in waiting.items()}
    return ctx.queue.depth()
