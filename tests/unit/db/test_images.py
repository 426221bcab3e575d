"""Images: creation with variants in one transaction, lookups, cascade delete, pagination."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session, sessionmaker

from darkroom.db.engine import transaction
from darkroom.db.repo import images as image_rows
from darkroom.db.repo import variants as variant_rows
from darkroom.db.schema import ImageVariant, Status
from darkroom.errors import Conflict, InvalidRequest, NotFound
from tests.unit.db.factories import make_image, new_variant, run_together

T0 = datetime(2026, 5, 1, 12, 0, tzinfo=UTC)


def test_create_image_stores_the_image_and_one_pending_variant_per_profile(
    db_sessions: sessionmaker[Session],
) -> None:
    with transaction(db_sessions) as session:
        created = make_image(session, ["thumb", "large"], owner_id="user-1", now=T0)
    with transaction(db_sessions) as session:
        image = image_rows.get_image(session, created.id)
    assert (image.owner_id, image.width, image.height, image.frames) == ("user-1", 1024, 768, 1)
    assert (image.mime_type, image.file_size, image.status) == ("image/jpeg", 123_456, "pending")
    assert image.created_at == image.updated_at == T0
    assert [v.profile for v in image.variants] == ["large", "thumb"]
    large = image.variants[0]
    assert large.spec == new_variant("large").spec
    assert large.spec_hash == new_variant("large").spec_hash
    assert (large.status, large.attempt_count, large.output_key, large.lease_until) == (
        Status.PENDING,
        0,
        None,
        None,
    )


def test_an_image_without_variants_is_done_at_once(db_sessions: sessionmaker[Session]) -> None:
    with transaction(db_sessions) as session:
        image = make_image(session, [])
    with transaction(db_sessions) as session:
        assert image_rows.get_image(session, image.id).status is Status.DONE


def test_image_and_variants_are_written_together_or_not_at_all(
    db_sessions: sessionmaker[Session],
) -> None:
    with transaction(db_sessions) as session:
        make_image(session, ["thumb"], idempotency_key="upload-1")
    with pytest.raises(Conflict), transaction(db_sessions) as session:
        make_image(session, ["thumb", "large"], idempotency_key="upload-1")
    with transaction(db_sessions) as session:
        assert session.scalar(sa.select(sa.func.count()).select_from(ImageVariant)) == 1


def test_idempotency_key_finds_the_first_upload(db_sessions: sessionmaker[Session]) -> None:
    with transaction(db_sessions) as session:
        first = make_image(session, ["thumb"], idempotency_key="upload-1")
    with transaction(db_sessions) as session:
        found = image_rows.find_image_by_idempotency_key(session, "upload-1")
        assert image_rows.find_image_by_idempotency_key(session, "upload-2") is None
    assert found is not None
    assert found.id == first.id
    assert [v.profile for v in found.variants] == ["thumb"]


def test_a_profile_requested_twice_is_refused(db_sessions: sessionmaker[Session]) -> None:
    with pytest.raises(InvalidRequest, match="thumb"), transaction(db_sessions) as session:
        make_image(session, ["thumb", "large", "thumb"])


def test_unknown_image_is_not_found(db_sessions: sessionmaker[Session]) -> None:
    with pytest.raises(NotFound), transaction(db_sessions) as session:
        image_rows.get_image(session, "0190b7c2-0000-7000-8000-000000000000")


def test_add_variants_to_a_finished_image_sets_it_processing(
    db_sessions: sessionmaker[Session],
) -> None:
    with transaction(db_sessions) as session:
        image = make_image(session, ["thumb"])
        variant_id = image.variants[0].id
        variant_rows.claim_variant(session, variant_id, lease=timedelta(minutes=1))
        output = variant_rows.VariantOutput(variant_id, "k", 1, 1, 1, "webp")
        variant_rows.mark_variants_done(session, image.id, [output])
    with transaction(db_sessions) as session:
        added = image_rows.add_variants(session, image.id, [new_variant("large")])
        assert [v.profile for v in added] == ["large"]
    with transaction(db_sessions) as session:
        again = image_rows.get_image(session, image.id)
    assert again.status is Status.PROCESSING
    assert [(v.profile, v.status) for v in again.variants] == [
        ("large", Status.PENDING),
        ("thumb", Status.DONE),
    ]


def test_add_variants_refuses_a_profile_the_image_already_has(
    db_sessions: sessionmaker[Session],
) -> None:
    with transaction(db_sessions) as session:
        image = make_image(session, ["thumb"])
    with pytest.raises(Conflict, match="thumb"), transaction(db_sessions) as session:
        image_rows.add_variants(session, image.id, [new_variant("large"), new_variant("thumb")])
    with pytest.raises(NotFound), transaction(db_sessions) as session:
        image_rows.add_variants(session, "0190b7c2-0000-7000-8000-000000000000", [new_variant("x")])
    with transaction(db_sessions) as session:
        assert [v.profile for v in image_rows.get_image(session, image.id).variants] == ["thumb"]


def test_delete_image_removes_its_variants_and_returns_their_keys(
    db_sessions: sessionmaker[Session],
) -> None:
    with transaction(db_sessions) as session:
        doomed = make_image(session, ["thumb", "large"])
        kept = make_image(session, ["thumb"])
    with transaction(db_sessions) as session:
        deleted = image_rows.delete_image(session, doomed.id)
    assert deleted.original_key == "originals/ab/abcdef.jpg"
    assert sorted(v.profile for v in deleted.variants) == ["large", "thumb"]
    with transaction(db_sessions) as session:
        remaining = session.scalars(sa.select(ImageVariant.image_id)).all()
        assert remaining == [kept.id]
        with pytest.raises(NotFound):
            image_rows.get_image(session, doomed.id)


def test_the_database_itself_cascades_deletes_to_variants(
    db_sessions: sessionmaker[Session],
) -> None:
    # A plain SQL DELETE, bypassing the ORM: proves ON DELETE CASCADE exists and that
    # SQLite enforces foreign keys on our connections.
    with transaction(db_sessions) as session:
        image = make_image(session, ["thumb", "large"])
    with transaction(db_sessions) as session:
        session.execute(sa.text("DELETE FROM images WHERE id = :id"), {"id": image.id})
    with transaction(db_sessions) as session:
        assert session.scalar(sa.select(sa.func.count()).select_from(ImageVariant)) == 0


def test_pagination_returns_every_image_once_newest_first(
    db_sessions: sessionmaker[Session],
) -> None:
    with transaction(db_sessions) as session:
        ids = [make_image(session, owner_id=f"owner-{i % 3}").id for i in range(23)]
    seen: list[str] = []
    cursor: str | None = None
    pages = 0
    while True:
        with transaction(db_sessions) as session:
            page = image_rows.list_images(session, limit=5, cursor=cursor)
            if pages == 1:
                # Rows added while a client pages through are newer than its cursor:
                # they neither appear later nor shift what remains.
                make_image(session, owner_id="owner-0")
        seen.extend(image.id for image in page.items)
        pages += 1
        if page.next_cursor is None:
            break
        cursor = page.next_cursor
    assert pages == 5
    assert seen == sorted(ids, reverse=True)


def test_pagination_filters_by_owner_and_status(db_sessions: sessionmaker[Session]) -> None:
    with transaction(db_sessions) as session:
        images = [make_image(session, owner_id=f"owner-{i % 2}") for i in range(9)]
        for image in images[:4]:
            variant_rows.mark_variant_failed(session, image.variants[0].id, error_msg="corrupt")

    def collect(owner_id: str | None, status: Status | None) -> list[str]:
        found: list[str] = []
        cursor: str | None = None
        while True:
            with transaction(db_sessions) as session:
                page = image_rows.list_images(
                    session, owner_id=owner_id, status=status, limit=2, cursor=cursor
                )
            found.extend(image.id for image in page.items)
            if page.next_cursor is None:
                return found
            cursor = page.next_cursor

    def expected(owner: str | None, failed: bool | None) -> list[str]:
        return sorted(
            (
                image.id
                for index, image in enumerate(images)
                if (owner is None or image.owner_id == owner)
                and (failed is None or (index < 4) == failed)
            ),
            reverse=True,
        )

    assert collect("owner-0", None) == expected("owner-0", None)
    assert collect(None, Status.FAILED) == expected(None, True)
    assert collect("owner-1", Status.PENDING) == expected("owner-1", False)
    assert collect("nobody", None) == []


def test_pagination_filters_by_profile_across_pages(db_sessions: sessionmaker[Session]) -> None:
    with transaction(db_sessions) as session:
        images = [
            make_image(session, ["thumb", "large"] if i % 3 == 0 else ["thumb"], owner_id="o")
            for i in range(10)
        ]
    found: list[str] = []
    cursor: str | None = None
    while True:
        with transaction(db_sessions) as session:
            page = image_rows.list_images(session, profile="large", limit=2, cursor=cursor)
        found.extend(image.id for image in page.items)
        if page.next_cursor is None:
            break
        cursor = page.next_cursor
    assert found == sorted((img.id for i, img in enumerate(images) if i % 3 == 0), reverse=True)
    with transaction(db_sessions) as session:
        assert len(image_rows.list_images(session, profile="thumb", limit=50).items) == 10
        assert not image_rows.list_images(session, profile="nothing").items


def test_listed_images_carry_their_variants(db_sessions: sessionmaker[Session]) -> None:
    with transaction(db_sessions) as session:
        make_image(session, ["thumb", "large"])
    with transaction(db_sessions) as session:
        page = image_rows.list_images(session)
    assert [v.profile for v in page.items[0].variants] == ["large", "thumb"]


@pytest.mark.parametrize("cursor", ["not-a-cursor", "", "////", "bm90IGEgdXVpZA"])
def test_a_malformed_cursor_is_an_invalid_request(
    db_sessions: sessionmaker[Session], cursor: str
) -> None:
    with pytest.raises(InvalidRequest, match="cursor"), transaction(db_sessions) as session:
        image_rows.list_images(session, cursor=cursor)


@pytest.mark.parametrize("limit", [0, -1, 1001])
def test_page_size_is_bounded(db_sessions: sessionmaker[Session], limit: int) -> None:
    with pytest.raises(InvalidRequest, match="page size"), transaction(db_sessions) as session:
        image_rows.list_images(session, limit=limit)


def test_images_sharing_an_original_are_counted(db_sessions: sessionmaker[Session]) -> None:
    with transaction(db_sessions) as session:
        first = make_image(session)
        make_image(session)
        assert image_rows.count_images_with_original(session, first.original_key) == 2
        image_rows.delete_image(session, first.id)
        assert image_rows.count_images_with_original(session, first.original_key) == 1
        assert image_rows.count_images_with_original(session, "originals/none.jpg") == 0


def test_the_original_lock_is_held_until_the_transaction_ends(
    db_sessions: sessionmaker[Session],
) -> None:
    held = threading.Event()
    times: dict[str, float] = {}

    def holder() -> None:
        with transaction(db_sessions) as session:
            image_rows.lock_original(session, "originals/ab/abcdef.jpg")
            held.set()
            time.sleep(0.3)
            times["released"] = time.monotonic()

    def waiter() -> None:
        assert held.wait(timeout=30)
        with transaction(db_sessions) as session:
            image_rows.lock_original(session, "originals/ab/abcdef.jpg")
            times["acquired"] = time.monotonic()

    results = run_together([holder, waiter])
    assert results == [None, None]
    assert times["acquired"] >= times["released"]
