"""How long a message waited in its queue: the clock that job TTLs are measured on."""

from __future__ import annotations

import threading
from typing import Any

import dramatiq
from dramatiq.broker import MessageProxy
from dramatiq.common import current_millis

DUE = "darkroom_due"
"""Message option: when the message became due, in epoch milliseconds."""

_current = threading.local()


class QueueWait(dramatiq.Middleware):
    """Stamps every enqueued message with the time it becomes due, and tells the actor
    that processes it how long it waited since.

    Due is the enqueue time plus its delay: a retry waiting out its backoff is not late.
    Dramatiq enqueues a delayed message again when its time comes, which stamps it anew;
    a message redelivered after a worker crash keeps its stamp, since it did wait.
    """

    def before_enqueue(self, broker: dramatiq.Broker, message: Any, delay: int | None) -> None:
        """Called before a message is enqueued (retries and delayed moves included)."""
        message.options[DUE] = current_millis() + (delay or 0)

    def before_process_message(self, broker: dramatiq.Broker, message: MessageProxy) -> None:
        """Called on the worker thread just before the actor runs."""
        due = message.options.get(DUE, message.message_timestamp)
        _current.waited = max(0.0, (current_millis() - int(due)) / 1000)

    def after_process_message(
        self,
        broker: dramatiq.Broker,
        message: MessageProxy,
        *,
        result: Any = None,
        exception: BaseException | None = None,
    ) -> None:
        """Called after the actor ran."""
        _current.waited = None

    def after_skip_message(self, broker: dramatiq.Broker, message: MessageProxy) -> None:
        """Called when a message is skipped instead of processed."""
        _current.waited = None


def waited_seconds() -> float | None:
    """How long the message this worker thread is processing waited to be due; None outside
    a message (a direct call)."""
    waited: float | None = getattr(_current, "waited", None)
    return waited
