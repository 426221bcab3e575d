"""Rate limits: a token bucket per API key (or per client address for signed renders).

Each bucket refills at DARKROOM_RATE_LIMIT tokens a second up to twice that (the burst,
never less than one request, so a rate under 0.5 a second still lets requests through);
a request takes one token or is refused with 429 and the seconds until one is back. In
one process the buckets live in memory; with DARKROOM_REDIS_URL they live in Redis, so
every API replica draws from the same bucket.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable
from typing import Protocol

from darkroom.errors import ConfigurationError, RateLimited, TransientError

BURST_FACTOR = 2.0
IDLE_BUCKETS = 100_000
"""Full buckets are forgotten past this many, so memory stays bounded."""


class Buckets(Protocol):
    """Takes one token from a bucket: 0 if granted, else seconds until one is back."""

    rate: float

    def take(self, bucket: str) -> float:
        """Take a token from `bucket`."""
        ...


class RateLimiterUnavailable(TransientError):
    """The shared rate limiter cannot be asked; the request is refused rather than let through."""

    code = "rate_limiter_unavailable"
    default_message = "The rate limiter is temporarily unavailable; try again shortly."


class LocalBuckets:
    """Token buckets in this process's memory."""

    def __init__(
        self, rate: float, burst: float, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.rate, self.burst, self._clock = rate, burst, clock
        self._lock = threading.Lock()
        self._buckets: dict[str, tuple[float, float]] = {}

    def take(self, bucket: str) -> float:
        """Take a token from `bucket`: 0 if granted, else seconds until one is back."""
        now = self._clock()
        with self._lock:
            tokens, stamp = self._buckets.get(bucket, (self.burst, now))
            tokens = min(self.burst, tokens + (now - stamp) * self.rate)
            if tokens >= 1:
                self._remember(bucket, tokens - 1, now)
                return 0.0
            self._remember(bucket, tokens, now)
            return (1 - tokens) / self.rate

    def _remember(self, bucket: str, tokens: float, now: float) -> None:
        if len(self._buckets) >= IDLE_BUCKETS and bucket not in self._buckets:
            rate, burst = self.rate, self.burst
            full = [k for k, (t, at) in self._buckets.items() if t + (now - at) * rate >= burst]
            for key in full or list(self._buckets)[: IDLE_BUCKETS // 10]:
                del self._buckets[key]
        self._buckets[bucket] = (tokens, now)


# One round trip, atomic: read the bucket, refill it by the time passed, take a token if
# there is one, store it with an expiry of a full refill. Redis's clock is the only clock,
# so API replicas with drifting clocks still agree.
_TAKE = """
local rate = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local now_parts = redis.call('TIME')
local now = tonumber(now_parts[1]) + tonumber(now_parts[2]) / 1000000
local state = redis.call('HMGET', KEYS[1], 'tokens', 'stamp')
local tokens = tonumber(state[1]) or burst
local stamp = tonumber(state[2]) or now
tokens = math.min(burst, tokens + math.max(0, now - stamp) * rate)
local wait = 0
if tokens >= 1 then
  tokens = tokens - 1
else
  wait = (1 - tokens) / rate
end
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'stamp', tostring(now))
redis.call('EXPIRE', KEYS[1], math.ceil(burst / rate) + 1)
return tostring(wait)
"""


class RedisBuckets:
    """Token buckets in Redis, shared by every process that uses the same Redis."""

    def __init__(self, url: str, rate: float, burst: float, *, prefix: str = "") -> None:
        try:
            import redis
        except ImportError:
            raise ConfigurationError(
                "DARKROOM_REDIS_URL needs the Redis client: pip install 'darkroom-images[redis]'."
            ) from None
        self.rate, self.burst = rate, burst
        self._client = redis.Redis.from_url(url, socket_timeout=2, socket_connect_timeout=2)
        self._script = self._client.register_script(_TAKE)
        self._prefix = f"darkroom:{prefix}ratelimit:"
        self._errors = redis.RedisError

    def take(self, bucket: str) -> float:
        """Take a token from `bucket`: 0 if granted, else seconds until one is back."""
        try:
            wait = self._script(keys=[self._prefix + bucket], args=[self.rate, self.burst])
        except self._errors as exc:
            raise RateLimiterUnavailable(f"The rate limiter's Redis is unreachable: {exc}") from exc
        return float(wait)

    def close(self) -> None:
        """Close the connection pool."""
        self._client.close()


def build(rate: float | None, redis_url: str | None, *, prefix: str = "") -> Buckets | None:
    """The buckets the settings call for; None when rate limiting is off."""
    if rate is None:
        return None
    burst = max(1.0, rate * BURST_FACTOR)
    if redis_url:
        return RedisBuckets(redis_url, rate, burst, prefix=prefix)
    return LocalBuckets(rate, burst)


def check(buckets: Buckets | None, bucket: str) -> None:
    """Let the request through, or raise RateLimited with the seconds to wait."""
    if buckets is None:
        return
    wait = buckets.take(bucket)
    if wait > 0:
        retry_after = max(1, math.ceil(wait))
        raise RateLimited(
            f"Too many requests: {buckets.rate:g} a second are allowed (bursts of "
            f"{buckets.rate * BURST_FACTOR:g}); retry in {retry_after} s.",
            retry_after=retry_after,
        )
