"""The one retry policy, used by the variant use-case and the queue middleware alike.

Transient failures are retried after 2^attempt seconds (capped at 300 s, with a little
jitter); permanent ones, and anything still failing after 5 retries, are given up on and
dead-lettered. Whether an error is transient is decided by its class (`darkroom.errors`).
The schedule is one object, so tests inject a faster one instead of sleeping for real.
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


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """When to retry failed work, and how long to wait first."""

    max_retries: int = MAX_RETRIES
    max_backoff: float = MAX_BACKOFF_SECONDS
    jitter: float = JITTER
    time_scale: float = 1.0
    """Multiplies every delay: 1 in production; tests use a small value to retry at once."""

    def backoff(self, attempt: int, *, jitter: float = 0.0) -> float:
        """Delay before the retry that follows failed attempt number `attempt` (1-based)."""
        base = min(2.0 ** max(attempt, 0), self.max_backoff)
        return min(base * (1 + jitter), self.max_backoff * (1 + self.jitter)) * self.time_scale

    def decide(
        self, exc: BaseException, attempt: int, *, rng: random.Random | None = None
    ) -> Decision:
        """What to do after attempt number `attempt` (1-based) failed with `exc`."""
        code = exc.code if isinstance(exc, DarkroomError) else "internal_error"
        reason = describe(exc)
        if not is_retryable(exc):
            return GiveUp(reason, code)
        if attempt > self.max_retries:
            return GiveUp(f"gave up after {attempt} attempts: {reason}", code)
        return Retry(self.backoff(attempt, jitter=(rng or random).uniform(0, self.jitter)))


DEFAULT_POLICY = RetryPolicy()


def backoff(attempt: int, *, jitter: float = 0.0) -> float:
    """The default policy's delay after failed attempt number `attempt`."""
    return DEFAULT_POLICY.backoff(attempt, jitter=jitter)


def decide(exc: BaseException, attempt: int, *, rng: random.Random | None = None) -> Decision:
    """The default policy's decision after attempt number `attempt` failed with `exc`."""
    return DEFAULT_POLICY.decide(exc, attempt, rng=rng)


def describe(exc: BaseException) -> str:
    """A readable one-line reason for an error, for error_msg columns and dead letters."""
    if isinstance(exc, DarkroomError):
        return exc.message
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__
