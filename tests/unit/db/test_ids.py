"""Ids are UUIDv7: unique, unguessable, and sorted by creation time."""

from __future__ import annotations

import threading
import time
import uuid

from darkroom.db.ids import new_id


def test_ids_are_version_7_uuids_carrying_the_creation_millisecond() -> None:
    before = time.time_ns() // 1_000_000
    value = uuid.UUID(new_id())
    after = time.time_ns() // 1_000_000
    assert value.version == 7
    assert value.variant == uuid.RFC_4122
    assert before <= value.int >> 80 <= after


def test_ids_made_in_a_burst_are_unique_and_strictly_increasing() -> None:
    ids = [new_id() for _ in range(20_000)]
    assert len(set(ids)) == len(ids)
    assert ids == sorted(ids)


def test_ids_are_unique_across_threads() -> None:
    results: list[list[str]] = [[] for _ in range(4)]

    def make(bucket: list[str]) -> None:
        bucket.extend(new_id() for _ in range(5_000))

    threads = [threading.Thread(target=make, args=(bucket,)) for bucket in results]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    everything = [value for bucket in results for value in bucket]
    assert len(set(everything)) == 20_000
    assert all(bucket == sorted(bucket) for bucket in results)


def test_ids_of_one_millisecond_differ_in_more_than_a_counter() -> None:
    # The random part is drawn afresh each millisecond: two ids a few ms apart must not
    # share their random bits, or ids would be guessable from one another.
    first = uuid.UUID(new_id()).int & ((1 << 62) - 1)
    time.sleep(0.005)
    second = uuid.UUID(new_id()).int & ((1 << 62) - 1)
    assert abs(first - second) > 1_000_000
