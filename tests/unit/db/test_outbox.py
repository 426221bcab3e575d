"""Dead letters and outbox events: recorded with the change, handed out once, replayed once."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy.orm import Session, sessionmaker

from darkroom.db.engine import transaction
from darkroom.db.repo import dead_letters as dead_letter_rows
from darkroom.db.repo import events as event_rows
from darkroom.errors import Conflict, NotFound
from tests.unit.db.factories import run_together

T0 = datetime(2026, 5, 1, 12, 0, tzinfo=UTC)
LEASE = timedelta(seconds=30)
MISSING = "0190b7c2-0000-7000-8000-000000000000"


def _letter(session: Session, image_id: str, now: datetime = T0) -> str:
    return dead_letter_rows.add_dead_letter(
        session,
        kind="transform",
        image_id=image_id,
        variant_id="0190b7c2-0000-7000-8000-0000000000aa",
        reason="The image data is corrupt or truncated.",
        error_code="corrupt_image",
        attempts=1,
        payload={"variant_id": "0190b7c2-0000-7000-8000-0000000000aa", "profile": "thumb"},
        now=now,
    ).id


def test_a_dead_letter_keeps_what_is_needed_to_replay_it(
    db_sessions: sessionmaker[Session],
) -> None:
    with transaction(db_sessions) as session:
        letter_id = _letter(session, "img-1")
    with transaction(db_sessions) as session:
        letter = dead_letter_rows.get_dead_letter(session, letter_id)
    assert (letter.kind, letter.image_id, letter.error_code, letter.attempts) == (
        "transform",
        "img-1",
        "corrupt_image",
        1,
    )
    assert letter.payload == {
        "variant_id": "0190b7c2-0000-7000-8000-0000000000aa",
        "profile": "thumb",
    }
    assert (letter.created_at, letter.replayed_at) == (T0, None)


def test_dead_letters_are_replayed_once_and_then_leave_the_default_listing(
    db_sessions: sessionmaker[Session],
) -> None:
    with transaction(db_sessions) as session:
        ids = [_letter(session, f"img-{i}") for i in range(5)]
    with transaction(db_sessions) as session:
        replayed = dead_letter_rows.mark_dead_letter_replayed(session, ids[1], now=T0 + LEASE)
    assert replayed.replayed_at == T0 + LEASE
    with pytest.raises(Conflict), transaction(db_sessions) as session:
        dead_letter_rows.mark_dead_letter_replayed(session, ids[1])
    with pytest.raises(NotFound), transaction(db_sessions) as session:
        dead_letter_rows.mark_dead_letter_replayed(session, MISSING)
    with transaction(db_sessions) as session:
        pending = dead_letter_rows.list_dead_letters(session)
        first = dead_letter_rows.list_dead_letters(session, include_replayed=True, limit=3)
        assert first.next_cursor is not None
        rest = dead_letter_rows.list_dead_letters(
            session, include_replayed=True, limit=3, cursor=first.next_cursor
        )
    newest_first = ids[::-1]
    assert [d.id for d in pending.items] == [i for i in newest_first if i != ids[1]]
    assert [d.id for d in first.items + rest.items] == newest_first
    assert rest.next_cursor is None


HOOK = "https://hooks.example.com/darkroom"


def test_an_event_is_due_at_once_and_leased_when_claimed(
    db_sessions: sessionmaker[Session],
) -> None:
    with transaction(db_sessions) as session:
        event_id = event_rows.add_event(
            session,
            kind="image.done",
            image_id="img-1",
            payload={"status": "done"},
            target=HOOK,
            now=T0,
        ).id
    with transaction(db_sessions) as session:
        claimed = event_rows.claim_due_events(session, lease=LEASE, now=T0)
    assert [(e.id, e.kind, e.payload, e.attempts) for e in claimed] == [
        (event_id, "image.done", {"status": "done"}, 1)
    ]
    assert claimed[0].next_attempt_at == T0 + LEASE
    with transaction(db_sessions) as session:
        # Leased: invisible to other senders until the lease runs out.
        assert event_rows.claim_due_events(session, lease=LEASE, now=T0 + LEASE / 2) == []
        again = event_rows.claim_due_events(session, lease=LEASE, now=T0 + LEASE)
    assert [(e.id, e.attempts) for e in again] == [(event_id, 2)]


def test_failed_events_wait_for_their_retry_and_delivered_ones_never_return(
    db_sessions: sessionmaker[Session],
) -> None:
    with transaction(db_sessions) as session:
        failing = event_rows.add_event(
            session, kind="image.done", image_id="a", payload={}, target=HOOK, now=T0
        ).id
        delivered = event_rows.add_event(
            session, kind="image.done", image_id="b", payload={}, target=HOOK, now=T0
        ).id
        event_rows.claim_due_events(session, lease=LEASE, now=T0)
        retry_at = T0 + timedelta(minutes=5)
        event_rows.mark_event_failed(session, failing, error="HTTP 502", retry_at=retry_at)
        event_rows.mark_event_delivered(session, delivered, now=T0)
    with transaction(db_sessions) as session:
        assert event_rows.claim_due_events(session, lease=LEASE, now=retry_at - LEASE / 30) == []
        due = event_rows.claim_due_events(session, lease=LEASE, now=retry_at + timedelta(days=1))
    assert [(e.id, e.last_error, e.attempts) for e in due] == [(failing, "HTTP 502", 2)]
    with pytest.raises(NotFound), transaction(db_sessions) as session:
        event_rows.mark_event_delivered(session, MISSING)


def test_concurrent_senders_never_get_the_same_event(db_sessions: sessionmaker[Session]) -> None:
    with transaction(db_sessions) as session:
        ids = {
            event_rows.add_event(
                session, kind="image.done", image_id=str(i), payload={}, target=HOOK, now=T0
            ).id
            for i in range(30)
        }

    def sender() -> list[str]:
        taken: list[str] = []
        while True:
            with transaction(db_sessions) as session:
                batch = event_rows.claim_due_events(session, lease=LEASE, limit=4, now=T0)
            if not batch:
                return taken
            taken.extend(e.id for e in batch)

    results = run_together([sender, sender, sender])
    taken = [event_id for result in results if isinstance(result, list) for event_id in result]
    assert all(isinstance(result, list) for result in results), results
    assert sorted(taken) == sorted(ids)


def test_events_without_a_target_are_recorded_but_never_sent(
    db_sessions: sessionmaker[Session],
) -> None:
    with transaction(db_sessions) as session:
        event_rows.add_event(session, kind="image.done", image_id="a", payload={}, now=T0)
    with transaction(db_sessions) as session:
        assert event_rows.claim_due_events(session, lease=LEASE, now=T0 + timedelta(days=1)) == []
        assert [e.kind for e in event_rows.events_of_image(session, "a")] == ["image.done"]


def test_given_up_events_never_return_and_keep_their_last_answer(
    db_sessions: sessionmaker[Session],
) -> None:
    with transaction(db_sessions) as session:
        event_id = event_rows.add_event(
            session, kind="image.done", image_id="a", payload={}, target=HOOK, now=T0
        ).id
        event_rows.claim_due_events(session, lease=LEASE, now=T0)
        event_rows.mark_event_failed(
            session, event_id, error="HTTP 410", status=410, retry_at=None, now=T0
        )
    with transaction(db_sessions) as session:
        assert event_rows.claim_due_events(session, lease=LEASE, now=T0 + timedelta(days=9)) == []
        (event,) = event_rows.events_of_image(session, "a")
    assert (event.given_up_at, event.last_status, event.delivered_at) == (T0, 410, None)
