"""The queue's one retry middleware: Darkroom's retry policy applied to Dramatiq messages."""

from __future__ import annotations

import logging
from typing import Any, cast

import dramatiq
from dramatiq.broker import MessageProxy

from darkroom.retry import GiveUp, RetryPolicy

log = logging.getLogger(__name__)


class PolicyRetries(dramatiq.Middleware):
    """Retries a message whose actor raised, on the schedule of `darkroom.retry`.

    It replaces Dramatiq's `Retries` so that one curve and one budget govern every retry:
    variant failures are classified and rescheduled by the use-case itself, and whatever
    escapes an actor (the database down while claiming, say) comes back here. A message
    given up on is failed, which sends it to the broker's dead-letter queue.
    """

    def __init__(self, policy: RetryPolicy) -> None:
        self.policy = policy

    def after_process_message(
        self,
        broker: dramatiq.Broker,
        message: MessageProxy,
        *,
        result: Any = None,
        exception: BaseException | None = None,
    ) -> None:
        """Called after a message is processed: requeue it with a delay, or fail it."""
        if exception is None:
            return
        retries = message.options.get("retries", 0)
        decision = self.policy.decide(exception, retries + 1)
        if isinstance(decision, GiveUp):
            log.warning(
                "message %s (%s) failed for good: %s",
                message.message_id,
                message.actor_name,
                decision.reason,
            )
            message.fail()
            return
        message.options["retries"] = retries + 1
        delay_ms = max(1, int(decision.delay * 1000))
        log.info(
            "message %s (%s) failed, retrying in %d ms: %s",
            message.message_id,
            message.actor_name,
            delay_ms,
            exception,
        )
        # As Dramatiq's own Retries does: the proxy stands for the message it wraps.
        broker.enqueue(cast("dramatiq.Message[Any]", message), delay=delay_ms)
