"""The one retry policy, used by every queue actor in embedded and cluster mode alike.

Transient failures are retried after 2^attempt seconds (capped, with a little jitter);
permanent ones, and anything still failing after the retry budget, are given up on and
dead-lettered. Whether an error is transient is decided by its class (`darkroom.errors`).
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from darkroom.errors import DarkroomError, is_retryable

MAX_RETRIES = 5
"""Retries after the first attempt; attempt MAX_RETRIES + 1 is the last."""
MAX_BACKOFF_SECONDS = 300.0
JITTER = 0.1
"""Up to this fraction is added to a delay, so that a burst of failures does not retry in step."""


@dataclass(frozen=True, slots=True)
class Retry:
    """Try again after `delay` seconds."""

    delay: float


@dataclass(frozen=True, slots=True)
class GiveUp:
    """Stop: record the failure for good and dead-letter the work."""

    reason: str
    code: str


Decision = Retry | GiveUp


def backoff(attempt: int, *, jitter: float = 0.0) -> float:
    """Delay before the retry that follows failed attempt number `attempt` (1-based)."""
    base = min(2.0 ** max(attempt, 0), MAX_BACKOFF_SECONDS)
    return min(base * (1 + jitter), MAX_BACKOFF_SECONDS * (1 + JITTER))


def decide(exc: BaseException, attempt: int, *, rng: random.Random | None = None) -> Decision:
    """What to do after attempt number `attempt` (1-based) failed with `exc`."""
    code = exc.code if isinstance(exc, DarkroomError) else "internal_error"
    reason = describe(exc)
    if not is_retryable(exc):
        return GiveUp(reason, code)
    if attempt > MAX_RETRIES:
        return GiveUp(f"gave up after {attempt} attempts: {reason}", code)
    jitter = (rng or random).uniform(0, JITTER)
    return Retry(backoff(attempt, jitter=jitter))


def describe(exc: BaseException) -> str:
    """A readable one-line reason for an error, for error_msg columns and dead letters."""
    if isinstance(exc, DarkroomError):
        return exc.message
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__
