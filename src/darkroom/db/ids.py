"""Public, non-guessable identifiers that sort by creation time (UUIDv7 layout, RFC 9562)."""

from __future__ import annotations

import os
import threading
import time
import uuid

_RANDOM_BITS = 74
_RANDOM_MAX = (1 << _RANDOM_BITS) - 1

_lock = threading.Lock()
_last_ms = 0
_last_random = 0


def new_id() -> str:
    """A new UUIDv7 string: 48-bit millisecond timestamp, then 74 random bits.

    Ids made in one process are strictly increasing: within one millisecond (or if the
    clock steps back) the random part of the previous id is incremented instead of drawn
    afresh, as RFC 9562 method 2 describes, so keyset pagination by id follows creation order.
    """
    global _last_ms, _last_random
    with _lock:
        now_ms = time.time_ns() // 1_000_000
        if now_ms > _last_ms:
            _last_ms = now_ms
            _last_random = int.from_bytes(os.urandom(10), "big") >> (80 - _RANDOM_BITS)
        elif _last_random < _RANDOM_MAX:
            _last_random += 1
        else:
            # 2**74 ids in one millisecond cannot happen, but borrowing the next
            # millisecond keeps the order strict rather than wrapping around.
            _last_ms += 1
            _last_random = int.from_bytes(os.urandom(10), "big") >> (80 - _RANDOM_BITS)
        ms, rand = _last_ms, _last_random
    rand_a = rand >> 62
    rand_b = rand & ((1 << 62) - 1)
    value = (ms & ((1 << 48) - 1)) << 80 | 0x7 << 76 | rand_a << 64 | 0b10 << 62 | rand_b
    return str(uuid.UUID(int=value))
