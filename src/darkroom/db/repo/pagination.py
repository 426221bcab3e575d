"""Keyset pagination over time-ordered ids, with opaque cursors."""

from __future__ import annotations

import base64
import binascii
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar

import sqlalchemy as sa
from sqlalchemy.orm import InstrumentedAttribute, Session
from sqlalchemy.orm.interfaces import ORMOption

from darkroom.db.schema import Base
from darkroom.errors import InvalidRequest

MAX_PAGE_SIZE = 1000

_M = TypeVar("_M", bound=Base)


@dataclass(frozen=True)
class Page(Generic[_M]):
    """One page of a listing, newest first; `next_cursor` is None on the last page."""

    items: tuple[_M, ...]
    next_cursor: str | None


def encode_cursor(last_id: str) -> str:
    """The opaque cursor that resumes a listing after the row with id `last_id`."""
    return base64.urlsafe_b64encode(last_id.encode()).rstrip(b"=").decode()


def decode_cursor(cursor: str) -> str:
    """The id a cursor resumes after; InvalidRequest if the cursor was not made by us."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        return str(uuid.UUID(raw))
    except (binascii.Error, UnicodeDecodeError, ValueError) as exc:
        raise InvalidRequest("The pagination cursor is malformed.") from exc


def keyset_page(
    session: Session,
    model: type[_M],
    id_column: InstrumentedAttribute[str],
    filters: Sequence[sa.ColumnElement[bool]],
    *,
    limit: int,
    cursor: str | None,
    options: Sequence[ORMOption] = (),
) -> Page[_M]:
    """Rows of `model` matching `filters`, newest id first, resuming after `cursor`."""
    if not 1 <= limit <= MAX_PAGE_SIZE:
        raise InvalidRequest(f"The page size must be between 1 and {MAX_PAGE_SIZE}.")
    stmt = sa.select(model).where(*filters).options(*options)
    if cursor is not None:
        stmt = stmt.where(id_column < decode_cursor(cursor))
    # Ids grow with creation time, so "newest first" is one indexed ORDER BY on a unique
    # key: no row is skipped or repeated when rows are inserted between two pages.
    # One extra row tells whether a next page exists without a COUNT.
    rows = list(session.scalars(stmt.order_by(id_column.desc()).limit(limit + 1)))
    items = tuple(rows[:limit])
    next_cursor = encode_cursor(_id_of(items[-1], id_column)) if len(rows) > limit else None
    return Page(items=items, next_cursor=next_cursor)


def _id_of(row: Base, id_column: InstrumentedAttribute[str]) -> str:
    value: str = getattr(row, id_column.key)
    return value
