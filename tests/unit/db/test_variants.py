"""Variant work: one winner per claim, leases, completion and the image status it implies."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import TypeVar

import pytest
from sqlalchemy.orm import Session, sessionmaker

from darkroom.db.engine import transaction
from darkroom.db.repo import images as image_rows
from darkroom.db.repo import variants as variant_rows
from darkroom.db.schema import ImageVariant, Status
from darkroom.errors import NotFound
from tests.unit.db.factories import make_image, run_together

_T = TypeVar("_T")

T0 = datetime(2026, 5, 1, 12, 0, tzinfo=UTC)
LEASE = timedelta(minutes=5)
MISSING = "0190b7c2-0000-7000-8000-000000000000"

P, W, D, F = Status.PENDING, Status.PROCESSING, Status.DONE, Status.FAILED


def _done(session: Session, variant_id: str, now: datetime = T0) -> variant_rows.ImageStatusChange:
    key = f"variants/{variant_id}.webp"
    output = variant_rows.VariantOutput(variant_id, key, 200, 150, 4_321, "webp")
    image_id = variant_rows.image_id_of_variant(session, variant_id)
    return variant_rows.mark_variants_done(session, image_id, [output], now=now)


@pytest.mark.parametrize(
    ("states", "expected"),
    [
        ([], D),
        ([(P, 0)], P),
        ([(P, 0), (P, 0)], P),
        ([(P, 1)], W),
        ([(W, 1), (P, 0)], W),
        ([(D, 1), (P, 0)], W),
        ([(F, 1), (P, 0)], W),
        ([(F, 1), (W, 2)], W),
        ([(D, 1), (D, 1)], D),
        ([(D, 1), (F, 3)], F),
        ([(F, 1)], F),
    ],
)
def test_image_status_follows_its_variants(
    states: list[tuple[Status, int]], expected: Status
) -> None:
    variants = [variant_rows.VariantState(f"p{i}", s, n) for i, (s, n) in enumerate(states)]
    assert variant_rows.image_status_for(variants) is expected


def test_claim_takes_a_pending_variant_and_sets_its_image_processing(
    db_sessions: sessionmaker[Session],
) -> None:
    with transaction(db_sessions) as session:
        image = make_image(session, ["thumb", "large"], now=T0)
        variant_id = image.variants[1].id
    with transaction(db_sessions) as session:
        claimed = variant_rows.claim_variant(session, variant_id, lease=LEASE, now=T0)
    assert claimed is not None
    assert (claimed.id, claimed.status, claimed.attempt_count) == (variant_id, W, 1)
    assert claimed.lease_until == T0 + LEASE
    assert claimed.image.original_key == "originals/ab/abcdef.jpg"
    assert claimed.image.status is W
    with transaction(db_sessions) as session:
        assert image_rows.get_image(session, image.id).status is W


def test_a_leased_variant_cannot_be_claimed_until_the_lease_expires(
    db_sessions: sessionmaker[Session],
) -> None:
    with transaction(db_sessions) as session:
        variant_id = make_image(session, now=T0).variants[0].id
    with transaction(db_sessions) as session:
        assert variant_rows.claim_variant(session, variant_id, lease=LEASE, now=T0) is not None
    with transaction(db_sessions) as session:
        during = T0 + LEASE - timedelta(seconds=1)
        assert variant_rows.claim_variant(session, variant_id, lease=LEASE, now=during) is None
    with transaction(db_sessions) as session:
        after = T0 + LEASE + timedelta(seconds=1)
        again = variant_rows.claim_variant(session, variant_id, lease=LEASE, now=after)
    assert again is not None
    assert again.attempt_count == 2
    assert again.lease_until == after + LEASE


def test_finished_and_unknown_variants_are_not_claimed(db_sessions: sessionmaker[Session]) -> None:
    with transaction(db_sessions) as session:
        image = make_image(session, ["thumb", "large"])
        done_id, failed_id = (v.id for v in image.variants)
        _done(session, done_id)
        variant_rows.mark_variant_failed(session, failed_id, error_msg="corrupt")
    later = T0 + timedelta(days=1)
    with transaction(db_sessions) as session:
        assert variant_rows.claim_variant(session, done_id, lease=LEASE, now=later) is None
        assert variant_rows.claim_variant(session, failed_id, lease=LEASE, now=later) is None
    with pytest.raises(NotFound), transaction(db_sessions) as session:
        variant_rows.claim_variant(session, MISSING, lease=LEASE)


def test_concurrent_claims_of_one_variant_have_exactly_one_winner(
    db_sessions: sessionmaker[Session],
) -> None:
    with transaction(db_sessions) as session:
        image = make_image(session, [f"p{i:02}" for i in range(12)])
        variant_ids = [v.id for v in image.variants]

    def worker(seed: int) -> list[str]:
        order = variant_ids[:]
        random.Random(seed).shuffle(order)
        won = []
        for variant_id in order:
            with transaction(db_sessions) as session:
                if variant_rows.claim_variant(session, variant_id, lease=LEASE) is not None:
                    won.append(variant_id)
        return won

    results = run_together([partial(worker, seed) for seed in range(4)])
    wins = [variant_id for result in results for variant_id in _ok(result)]
    assert sorted(wins) == sorted(variant_ids)
    with transaction(db_sessions) as session:
        variants = image_rows.get_image(session, image.id).variants
    assert {(v.status, v.attempt_count) for v in variants} == {(W, 1)}


def test_all_variants_done_flips_the_image_to_done(db_sessions: sessionmaker[Session]) -> None:
    with transaction(db_sessions) as session:
        image = make_image(session, ["thumb", "large"], now=T0)
        first, second = (v.id for v in image.variants)  # large, thumb: profile order
        variant_rows.claim_variant(session, first, lease=LEASE, now=T0)
        variant_rows.claim_variant(session, second, lease=LEASE, now=T0)
    with transaction(db_sessions) as session:
        change = _done(session, first, T0 + timedelta(seconds=1))
    assert (change.before, change.after, change.changed) == (W, W, False)
    with transaction(db_sessions) as session:
        change = _done(session, second, T0 + timedelta(seconds=2))
    assert (change.image_id, change.before, change.after, change.changed) == (image.id, W, D, True)
    with transaction(db_sessions) as session:
        finished = image_rows.get_image(session, image.id)
    assert finished.status is D
    assert finished.error is None
    assert finished.updated_at == T0 + timedelta(seconds=2)
    assert [v.profile for v in finished.variants] == ["large", "thumb"]
    variant = finished.variants[1]
    assert (variant.output_key, variant.width, variant.height) == (
        f"variants/{second}.webp",
        200,
        150,
    )
    assert (variant.file_size, variant.format, variant.lease_until) == (4_321, "webp", None)


def test_one_failed_variant_fails_the_image_once_nothing_is_left_to_do(
    db_sessions: sessionmaker[Session],
) -> None:
    with transaction(db_sessions) as session:
        image = make_image(session, ["thumb", "large"])
        large, thumb = (v.id for v in image.variants)
        variant_rows.claim_variant(session, large, lease=LEASE)
        variant_rows.claim_variant(session, thumb, lease=LEASE)
    with transaction(db_sessions) as session:
        change = variant_rows.mark_variant_failed(session, large, error_msg="unsupported format")
    # The other variant is still being worked on: the image is not failed yet.
    assert change.after is W
    with transaction(db_sessions) as session:
        change = _done(session, thumb)
    assert change.after is F
    with transaction(db_sessions) as session:
        failed = image_rows.get_image(session, image.id)
    assert failed.status is F
    assert failed.error == "Variants failed: large."
    assert failed.variants[0].error_msg == "unsupported format"


def test_retry_returns_a_variant_to_pending_with_its_next_attempt_time(
    db_sessions: sessionmaker[Session],
) -> None:
    with transaction(db_sessions) as session:
        variant_id = make_image(session, now=T0).variants[0].id
        variant_rows.claim_variant(session, variant_id, lease=LEASE, now=T0)
    retry_at = T0 + timedelta(seconds=4)
    with transaction(db_sessions) as session:
        change = variant_rows.retry_variant(
            session, variant_id, error_msg="storage timeout", retry_at=retry_at, now=T0
        )
    assert change.after is W
    with transaction(db_sessions) as session:
        variant = session.get_one(ImageVariant, variant_id)
        assert (variant.status, variant.attempt_count, variant.lease_until) == (P, 1, None)
        assert (variant.next_attempt_at, variant.error_msg) == (retry_at, "storage timeout")
        claimed = variant_rows.claim_variant(session, variant_id, lease=LEASE, now=retry_at)
        assert claimed is not None
        assert claimed.attempt_count == 2


def test_a_late_failure_report_does_not_undo_a_finished_variant(
    db_sessions: sessionmaker[Session],
) -> None:
    with transaction(db_sessions) as session:
        variant_id = make_image(session, now=T0).variants[0].id
        variant_rows.claim_variant(session, variant_id, lease=LEASE, now=T0)
        _done(session, variant_id)
    with transaction(db_sessions) as session:
        failed = variant_rows.mark_variant_failed(session, variant_id, error_msg="lease lost")
        retried = variant_rows.retry_variant(session, variant_id, error_msg="503", retry_at=T0)
    assert (failed.after, retried.after) == (D, D)
    with transaction(db_sessions) as session:
        variant = session.get_one(ImageVariant, variant_id)
    assert (variant.status, variant.error_msg) == (D, None)


def test_unknown_variants_cannot_be_finished(db_sessions: sessionmaker[Session]) -> None:
    with pytest.raises(NotFound), transaction(db_sessions) as session:
        _done(session, MISSING)
    with pytest.raises(NotFound), transaction(db_sessions) as session:
        variant_rows.mark_variant_failed(session, MISSING, error_msg="x")


def test_finishing_the_last_two_variants_at_once_still_finishes_the_image(
    db_sessions: sessionmaker[Session],
) -> None:
    # Each worker must see the other's commit when it decides the image's status, or
    # both see "one left" and the image stays processing forever.
    for _ in range(6):
        with transaction(db_sessions) as session:
            image = make_image(session, ["thumb", "large"])
            variant_ids = [v.id for v in image.variants]
            for variant_id in variant_ids:
                variant_rows.claim_variant(session, variant_id, lease=LEASE)

        def finish(variant_id: str) -> variant_rows.ImageStatusChange:
            with transaction(db_sessions) as session:
                return _done(session, variant_id)

        results = run_together([partial(finish, v) for v in variant_ids])
        changes = [_ok(result) for result in results]
        assert sorted(c.after for c in changes) == sorted([W, D])
        with transaction(db_sessions) as session:
            assert image_rows.get_image(session, image.id).status is D


def test_release_leases_returns_processing_variants_to_pending(
    db_sessions: sessionmaker[Session],
) -> None:
    with transaction(db_sessions) as session:
        image = make_image(session, ["a", "b", "c"], now=T0)
        a, b, c = (v.id for v in image.variants)
        variant_rows.claim_variant(session, a, lease=LEASE, now=T0)
        variant_rows.claim_variant(session, b, lease=LEASE, now=T0)
        _done(session, b)
    later = T0 + timedelta(seconds=10)
    with transaction(db_sessions) as session:
        assert variant_rows.release_leases(session, now=later) == 1
    with transaction(db_sessions) as session:
        states = {
            v.id: (v.status, v.attempt_count, v.lease_until, v.updated_at)
            for v in image_rows.get_image(session, image.id).variants
        }
    assert states[a] == (P, 1, None, later)
    assert states[b][0] is D
    assert states[c] == (P, 0, None, T0)


def test_reconciler_finds_expired_leases_and_overdue_pending_variants_only(
    db_sessions: sessionmaker[Session],
) -> None:
    grace = timedelta(minutes=2)
    early = T0 - timedelta(minutes=10)
    with transaction(db_sessions) as session:
        old = make_image(session, ["expired", "leased", "overdue", "retry_later"], now=early)
        expired, leased, overdue, retry_later = (v.id for v in old.variants)
        fresh = make_image(session, ["fresh"], now=T0 - timedelta(seconds=30)).variants[0].id
        finished = make_image(session, ["done"], now=early).variants[0].id
        variant_rows.claim_variant(session, expired, lease=LEASE, now=early)
        variant_rows.claim_variant(session, leased, lease=LEASE, now=T0 - timedelta(minutes=1))
        variant_rows.claim_variant(session, retry_later, lease=LEASE, now=early)
        variant_rows.retry_variant(
            session, retry_later, error_msg="503", retry_at=T0 + timedelta(minutes=1), now=early
        )
        variant_rows.claim_variant(session, finished, lease=LEASE, now=early)
        _done(session, finished, early)
    with transaction(db_sessions) as session:
        stuck = variant_rows.find_stuck_variants(session, pending_grace=grace, now=T0)
        assert sorted(v.id for v in stuck) == sorted([expired, overdue])
        assert fresh not in {v.id for v in stuck}
        # Once the retry time plus the grace has passed, a retry nobody took is stuck too.
        later = variant_rows.find_stuck_variants(
            session, pending_grace=grace, now=T0 + timedelta(minutes=4)
        )
        assert retry_later in {v.id for v in later}
        assert (
            len(variant_rows.find_stuck_variants(session, pending_grace=grace, now=T0, limit=1))
            == 1
        )


def _ok(result: _T | BaseException) -> _T:
    if isinstance(result, BaseException):
        raise result
    return result


def test_sibling_claim_takes_the_due_pending_variants_at_once(
    db_sessions: sessionmaker[Session],
) -> None:
    with transaction(db_sessions) as session:
        image = make_image(session, ["a", "b", "c", "d"], now=T0)
        a, b, c, d = (v.id for v in image.variants)
        variant_rows.claim_variant(session, a, lease=LEASE, now=T0)
        variant_rows.retry_variant(
            session, d, error_msg="503", retry_at=T0 + timedelta(minutes=1), now=T0
        )
    with transaction(db_sessions) as session:
        # `a` is another worker's: its message's group is the due siblings alone.
        taken, claimed = variant_rows.claim_group(session, a, lease=LEASE, now=T0)
        assert taken is None
        # Eager-loaded: usable after the session closes, as a worker uses them.
        found = [(v.id, v.status, v.attempt_count, v.image.original_key) for v in claimed]
    assert found == [(b, W, 1, "originals/ab/abcdef.jpg"), (c, W, 1, "originals/ab/abcdef.jpg")]
    with transaction(db_sessions) as session:
        # d waits out its retry delay; once due it is claimed, and nothing is left after.
        later = T0 + timedelta(minutes=2)
        _, again = variant_rows.claim_group(session, a, lease=LEASE, now=later)
        assert [v.id for v in again] == [d]
        assert variant_rows.claim_group(session, a, lease=LEASE, now=later) == (None, [])


def test_sibling_claims_racing_single_claims_give_each_variant_one_owner(
    db_sessions: sessionmaker[Session],
) -> None:
    # Group claims race single claims for the same rows: three for variants already held
    # (they claim siblings only), two for variants they must win first. No deadlock, no
    # variant claimed twice, none left pending.
    with transaction(db_sessions) as session:
        image = make_image(session, [f"p{i:02}" for i in range(10)])
        variant_ids = [v.id for v in image.variants]
    with transaction(db_sessions) as session:
        for held in variant_ids[:3]:
            variant_rows.claim_variant(session, held, lease=LEASE)

    def group(variant_id: str) -> list[str]:
        with transaction(db_sessions) as session:
            claimed, siblings = variant_rows.claim_group(session, variant_id, lease=LEASE)
            return [v.id for v in ([claimed] if claimed else []) + siblings]

    def single(variant_id: str) -> list[str]:
        with transaction(db_sessions) as session:
            won = variant_rows.claim_variant(session, variant_id, lease=LEASE)
            return [] if won is None else [variant_id]

    tasks = [partial(group, variant_id) for variant_id in variant_ids[:5]]
    tasks += [partial(single, variant_id) for variant_id in variant_ids[3:]]
    results = run_together(tasks)
    wins = [variant_id for result in results for variant_id in _ok(result)]
    assert sorted(wins) == sorted(variant_ids[3:])
    with transaction(db_sessions) as session:
        variants = image_rows.get_image(session, image.id).variants
    assert {(v.status, v.attempt_count) for v in variants} == {(W, 1)}


def test_a_group_claim_takes_its_variant_and_the_due_siblings_at_once(
    db_sessions: sessionmaker[Session],
) -> None:
    with transaction(db_sessions) as session:
        image = make_image(session, ["a", "b", "c"], now=T0)
        a, b, c = (v.id for v in image.variants)
    with transaction(db_sessions) as session:
        claimed, siblings = variant_rows.claim_group(session, a, lease=LEASE, now=T0)
        assert claimed is not None
        assert (claimed.id, claimed.status, claimed.image.original_key) == (
            a,
            W,
            "originals/ab/abcdef.jpg",
        )
        assert [(v.id, v.status, v.attempt_count) for v in siblings] == [(b, W, 1), (c, W, 1)]
    with transaction(db_sessions) as session:
        assert image_rows.get_image(session, image.id).status is W
        with pytest.raises(NotFound):
            variant_rows.claim_group(session, MISSING, lease=LEASE)


def test_a_group_of_results_is_recorded_at_once(db_sessions: sessionmaker[Session]) -> None:
    with transaction(db_sessions) as session:
        image = make_image(session, ["a", "b", "c"], now=T0)
        ids = [v.id for v in image.variants]
        variant_rows.claim_group(session, ids[0], lease=LEASE, now=T0)
    outputs = [variant_rows.VariantOutput(i, f"variants/{i}.jpg", 20, 10, 99, "jpeg") for i in ids]
    with transaction(db_sessions) as session:
        partly = variant_rows.mark_variants_done(session, image.id, outputs[:2], now=T0)
        assert (partly.before, partly.after) == (W, W)
        change = variant_rows.mark_variants_done(session, image.id, outputs[2:], now=T0)
        assert (change.before, change.after) == (W, D)
        variants = image_rows.get_image(session, image.id).variants
        assert {(v.status, v.output_key, v.width, v.lease_until) for v in variants} == {
            (D, f"variants/{i}.jpg", 20, None) for i in ids
        }
        image_rows.delete_image(session, image.id)
    with transaction(db_sessions) as session, pytest.raises(NotFound):
        variant_rows.mark_variants_done(session, image.id, outputs, now=T0)
