"""Token buckets: the burst, the refill, the wait they report, and sharing through Redis."""

from __future__ import annotations

import secrets

import pytest

from darkroom.errors import RateLimited
from darkroom.service.ratelimit import LocalBuckets, RedisBuckets, build, check


class Clock:
    """A clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_a_burst_of_twice_the_rate_then_one_token_per_interval() -> None:
    clock = Clock()
    buckets = LocalBuckets(rate=5, burst=10, clock=clock)
    assert [buckets.take("k") for _ in range(10)] == [0.0] * 10
    assert buckets.take("k") == pytest.approx(0.2)  # one token comes back in 1/5 s
    clock.now += 0.2
    assert buckets.take("k") == 0.0
    assert buckets.take("k") == pytest.approx(0.2)
    assert buckets.take("other") == 0.0  # buckets are separate


def test_check_raises_429_with_whole_seconds_to_wait() -> None:
    buckets = LocalBuckets(rate=0.5, burst=1, clock=Clock())
    check(buckets, "k")
    with pytest.raises(RateLimited) as refused:
        check(buckets, "k")
    assert (refused.value.status_code, refused.value.retry_after) == (429, 2)
    assert "0.5 a second" in refused.value.message


def test_a_slow_rate_still_grants_a_burst_of_one() -> None:
    buckets = build(0.1, None)  # twice 0.1 is under one request
    assert buckets is not None
    check(buckets, "k")
    with pytest.raises(RateLimited) as refused:
        check(buckets, "k")
    assert refused.value.retry_after == 10


def test_no_rate_means_no_limit() -> None:
    assert build(None, None) is None
    check(None, "anything")


@pytest.mark.slow
def test_processes_sharing_redis_share_one_bucket(redis_url: str) -> None:
    prefix = f"t{secrets.token_hex(4)}-"
    # A token a 10 s: nothing refills between the takes however slow the machine.
    first = RedisBuckets(redis_url, rate=0.1, burst=3, prefix=prefix)
    second = RedisBuckets(redis_url, rate=0.1, burst=3, prefix=prefix)
    try:
        granted = [first.take("key"), second.take("key"), first.take("key")]
        assert granted == [0.0, 0.0, 0.0]
        wait = second.take("key")  # the burst is spent, whichever replica asks
        assert 5.0 < wait <= 10.0
        assert first.take("another-key") == 0.0
    finally:
        first.close()
        second.close()
