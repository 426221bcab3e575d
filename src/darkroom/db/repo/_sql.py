"""Small SQL helpers shared by the repository modules."""

from __future__ import annotations

from typing import Any, cast

from sqlalchemy import exc as sa_exc
from sqlalchemy.engine import CursorResult, Result
from sqlalchemy.orm import Session

from darkroom.errors import Conflict


def rowcount(result: Result[Any]) -> int:
    """Rows matched by an UPDATE or DELETE: the test that makes conditional updates atomic."""
    # Session.execute is typed as returning Result; for DML it is a CursorResult.
    return cast("CursorResult[Any]", result).rowcount


def flush_or_conflict(session: Session, message: str) -> None:
    """Flush pending inserts, reporting a unique-constraint clash as Conflict.

    After a Conflict the session's transaction must be rolled back, as after any flush error.
    """
    try:
        session.flush()
    except sa_exc.IntegrityError as exc:
        raise Conflict(message) from exc
