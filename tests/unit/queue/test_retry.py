"""The retry policy: backoff schedule, classification by error class, the retry budget."""

from __future__ import annotations

import random

import pytest

from darkroom import errors
from darkroom.retry import MAX_RETRIES, GiveUp, Retry, RetryPolicy, backoff, decide, describe


@pytest.mark.parametrize(
    ("attempt", "delay"),
    [(1, 2.0), (2, 4.0), (3, 8.0), (5, 32.0), (8, 256.0), (9, 300.0), (20, 300.0)],
)
def test_backoff_doubles_and_caps(attempt: int, delay: float) -> None:
    assert backoff(attempt) == delay


def test_transient_errors_retry_with_jittered_backoff() -> None:
    rng = random.Random(1)
    decision = decide(errors.StorageUnavailable("S3 timed out"), 3, rng=rng)
    assert isinstance(decision, Retry)
    assert 8.0 <= decision.delay <= 8.8


def test_unknown_errors_are_transient() -> None:
    assert isinstance(decide(ConnectionResetError("peer reset"), 1), Retry)


@pytest.mark.parametrize(
    "exc",
    [errors.CorruptImage("truncated"), errors.UnsupportedFormat(), errors.InvalidSpec("bad crop")],
)
def test_permanent_errors_give_up_at_once(exc: errors.DarkroomError) -> None:
    decision = decide(exc, 1)
    assert decision == GiveUp(exc.message, exc.code)


def test_budget_is_five_retries() -> None:
    exc = errors.StorageUnavailable("down")
    assert all(isinstance(decide(exc, attempt), Retry) for attempt in range(1, MAX_RETRIES + 1))
    final = decide(exc, MAX_RETRIES + 1)
    assert isinstance(final, GiveUp)
    assert final.reason == "gave up after 6 attempts: down"
    assert final.code == "storage_unavailable"


def test_describe() -> None:
    assert describe(ValueError("bad\nsecond line")) == "ValueError: bad"
    assert describe(RuntimeError()) == "RuntimeError"
    assert describe(errors.NotFound("no such image")) == "no such image"


def test_the_schedule_can_be_scaled_for_tests() -> None:
    fast = RetryPolicy(time_scale=0.01)
    assert [fast.backoff(n) for n in (1, 2, 3, 9)] == pytest.approx([0.02, 0.04, 0.08, 3.0])
    decision = fast.decide(errors.StorageUnavailable("down"), 1, rng=random.Random(0))
    assert isinstance(decision, Retry)
    assert 0.02 <= decision.delay <= 0.022


def test_a_smaller_budget_gives_up_sooner() -> None:
    policy = RetryPolicy(max_retries=1)
    exc = errors.StorageUnavailable("down")
    assert isinstance(policy.decide(exc, 1), Retry)
    assert isinstance(policy.decide(exc, 2), GiveUp)
