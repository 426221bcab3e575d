"""The queue actors: thin adapters that hand each message to its use-case."""

from __future__ import annotations

from typing import Any

import dramatiq
from dramatiq.brokers.stub import StubBroker
from dramatiq.common import dq_name

from darkroom.errors import BrokerUnavailable, NotFound
from darkroom.queue.broker import ANALYSIS_QUEUES, DISPATCH, QUEUES, TRANSFORM
from darkroom.queue.waiting import waited_seconds
from darkroom.service import analyses, grants, variants
from darkroom.service.context import Context


class DramatiqQueue:
    """The task queue over Dramatiq: one actor per queue, bound to the service context."""

    def __init__(self, broker: dramatiq.Broker, ctx: Context, *, prefix: str = "") -> None:
        self.broker = broker
        self.queue_names = {name: f"{prefix}{name}" for name in QUEUES}
        self._ctx = ctx

        def dispatch(image_id: str) -> None:
            variants.dispatch(ctx, image_id)
            analyses.dispatch(ctx, image_id)

        # `grant`: presigned URLs for a worker without storage credentials (service.grants).
        def transform(variant_id: str, grant: dict[str, Any] | None = None) -> None:
            granted = grants.bound(ctx, grant)
            if granted is not None:
                variants.process(granted, variant_id, waited=waited_seconds())

        def analyze(analysis_id: str, grant: dict[str, Any] | None = None) -> None:
            granted = grants.bound(ctx, grant)
            if granted is not None:
                analyses.process(granted, analysis_id, waited=waited_seconds())

        self._dispatch = dramatiq.actor(
            broker=broker, actor_name=f"{prefix}dispatch", queue_name=self.queue_names[DISPATCH]
        )(dispatch)
        self._transform = dramatiq.actor(
            broker=broker, actor_name=f"{prefix}transform", queue_name=self.queue_names[TRANSFORM]
        )(transform)
        # One actor per analyzer: the same function, each on the queue of its analyzer.
        self._analyzers = {
            name: dramatiq.actor(
                broker=broker,
                actor_name=f"{prefix}analyze_{name}",
                queue_name=self.queue_names[queue],
            )(analyze)
            for name, queue in ANALYSIS_QUEUES.items()
        }

    def dispatch(self, image_id: str) -> None:
        """Enqueue the fan-out of an image's variants."""
        self._send(self._dispatch, (image_id,), 0.0)

    def transform(
        self, variant_id: str, *, delay: float = 0.0, grant: dict[str, Any] | None = None
    ) -> None:
        """Enqueue the rendering of one variant, optionally delayed, with presigned URLs
        (the given ones, or fresh ones when the deployment uses them)."""
        if grant is None and grants.enabled(self._ctx):
            try:
                grant = grants.for_variant(self._ctx, variant_id)
            except NotFound:
                return  # deleted with its image: nothing left to do
        self._send(self._transform, (variant_id, grant) if grant else (variant_id,), delay)

    def analyze(
        self,
        analysis: str,
        analysis_id: str,
        *,
        delay: float = 0.0,
        grant: dict[str, Any] | None = None,
    ) -> None:
        """Enqueue one analysis on its analyzer's queue, optionally delayed (URLs as for
        `transform`)."""
        if grant is None and grants.enabled(self._ctx):
            try:
                grant = grants.for_analysis(self._ctx, analysis_id)
            except NotFound:
                return
        args = (analysis_id, grant) if grant else (analysis_id,)
        self._send(self._analyzers[analysis], args, delay)

    def ping(self) -> None:
        """Raise BrokerUnavailable unless the broker answers (the in-memory one always does)."""
        try:
            if hasattr(self.broker, "client"):  # Redis
                self.broker.client.ping()
            elif hasattr(self.broker, "connection"):  # RabbitMQ: opening one is the check
                _ = self.broker.connection
        except Exception as exc:
            raise BrokerUnavailable(f"The message broker is unreachable: {exc}") from exc

    def depth(self) -> dict[str, int]:
        """Messages waiting per queue, delayed retries included, as the broker counts them."""
        try:
            return {name: self._depth(queue) for name, queue in self.queue_names.items()}
        except Exception as exc:
            raise BrokerUnavailable(f"The message broker is unreachable: {exc}") from exc

    def _depth(self, queue: str) -> int:
        delayed = dq_name(queue)
        broker: Any = self.broker
        if isinstance(broker, StubBroker):
            return sum(broker.queues[q].qsize() for q in (queue, delayed) if q in broker.queues)
        if hasattr(broker, "get_queue_message_counts"):  # RabbitMQ
            waiting, later, _dead = broker.get_queue_message_counts(queue)
            return int(waiting + later)
        # Redis keeps each queue as a list of message ids under the broker's namespace.
        return sum(int(broker.client.llen(f"{broker.namespace}:{q}")) for q in (queue, delayed))

    def _send(self, actor: dramatiq.Actor[..., None], args: tuple[Any, ...], delay: float) -> None:
        try:
            actor.send_with_options(args=args, delay=int(delay * 1000) or None)
        except dramatiq.errors.ConnectionError as exc:
            raise BrokerUnavailable(f"The message broker is unreachable: {exc}") from exc
