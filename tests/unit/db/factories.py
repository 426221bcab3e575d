"""Builders for the database tests: realistic rows with only the interesting fields given."""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import TypeVar

from sqlalchemy.orm import Session

from darkroom.db.repo import images as image_rows
from darkroom.db.schema import Image

_T = TypeVar("_T")


def new_variant(profile: str) -> image_rows.NewVariant:
    """A variant request for `profile` with a plausible spec and its hash."""
    spec = {"width": 200, "height": 200, "fit": "cover", "format": "webp", "profile": profile}
    return image_rows.NewVariant(
        profile=profile,
        spec=spec,
        spec_hash=hashlib.sha256(repr(sorted(spec.items())).encode()).hexdigest()[:16],
    )


def make_image(
    session: Session,
    profiles: Sequence[str] = ("thumb",),
    *,
    owner_id: str | None = None,
    idempotency_key: str | None = None,
    now: datetime | None = None,
) -> Image:
    """Insert an image with one pending variant per profile."""
    return image_rows.create_image(
        session,
        original_key="originals/ab/abcdef.jpg",
        sha256="ab" * 32,
        mime_type="image/jpeg",
        file_size=123_456,
        width=1024,
        height=768,
        owner_id=owner_id,
        callback_url="https://app.example/hooks/darkroom",
        idempotency_key=idempotency_key,
        variants=[new_variant(p) for p in profiles],
        now=now,
    )


def run_together(tasks: Sequence[Callable[[], _T]]) -> list[_T | BaseException]:
    """Run the tasks in threads released at the same instant; results or raised errors."""
    barrier = threading.Barrier(len(tasks))
    results: list[_T | BaseException] = [RuntimeError("did not run")] * len(tasks)

    def run(index: int) -> None:
        barrier.wait()
        try:
            results[index] = tasks[index]()
        except BaseException as exc:
            results[index] = exc

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(tasks))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    return results
