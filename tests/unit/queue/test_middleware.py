"""The queue's retry middleware follows the one retry policy, on a real in-process broker."""

from __future__ import annotations

import itertools
import time
from collections.abc import Iterator

import dramatiq
import pytest
from dramatiq.brokers.stub import StubBroker

from darkroom import errors
from darkroom.queue.broker import make_broker
from darkroom.queue.middleware import PolicyRetries
from darkroom.retry import RetryPolicy

FAST = RetryPolicy(time_scale=0.001)
"""The real schedule (2, 4, 8, 16, 32 s), a thousand times faster: tests do not sleep."""


@pytest.fixture
def broker() -> Iterator[StubBroker]:
    broker = make_broker("memory://", policy=FAST)
    assert isinstance(broker, StubBroker)
    yield broker
    broker.close()


def _run(broker: StubBroker, actor: dramatiq.Actor[..., None]) -> None:
    worker = dramatiq.Worker(broker, worker_timeout=10)
    worker.start()
    try:
        actor.send()
        broker.join(actor.queue_name, timeout=10_000, fail_fast=False)
        worker.join()
    finally:
        worker.stop()


def test_the_broker_has_only_the_policy_middleware_for_retries(broker: StubBroker) -> None:
    retrying = [m for m in broker.middleware if "retr" in type(m).__name__.lower()]
    assert [type(m) for m in retrying] == [PolicyRetries]


def test_transient_error_retried_on_the_policy_schedule_then_dead_lettered(
    broker: StubBroker,
) -> None:
    calls: list[float] = []

    @dramatiq.actor(broker=broker, actor_name="flaky_forever")
    def flaky_forever() -> None:
        calls.append(time.monotonic())
        raise errors.StorageUnavailable("storage down (injected)")

    _run(broker, flaky_forever)
    # 1 attempt + 5 retries, then the message goes to the dead-letter queue.
    assert len(calls) == 1 + FAST.max_retries
    assert len(broker.dead_letters) == 1
    gaps = [later - earlier for earlier, later in itertools.pairwise(calls)]
    expected = [FAST.backoff(n) for n in range(1, FAST.max_retries + 1)]  # 2, 4, ... ms
    assert all(gap >= want * 0.9 for gap, want in zip(gaps, expected, strict=True)), gaps


def test_permanent_error_is_not_retried(broker: StubBroker) -> None:
    calls = []

    @dramatiq.actor(broker=broker, actor_name="corrupt")
    def corrupt() -> None:
        calls.append(1)
        raise errors.CorruptImage("truncated (injected)")

    _run(broker, corrupt)
    assert len(calls) == 1
    assert len(broker.dead_letters) == 1


def test_success_after_a_transient_failure_is_not_dead_lettered(broker: StubBroker) -> None:
    calls = []

    @dramatiq.actor(broker=broker, actor_name="flaky_once")
    def flaky_once() -> None:
        calls.append(1)
        if len(calls) == 1:
            raise errors.DatabaseUnavailable("database restarting (injected)")

    _run(broker, flaky_once)
    assert len(calls) == 2
    assert broker.dead_letters == []
