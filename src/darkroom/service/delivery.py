"""What one outbox delivery attempt is: the claimed event, and the request it becomes."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from darkroom.fetch import FetchPolicy

ANSWER_LIMIT = 4096
"""A receiver's answer is read only this far: it is recorded, not used."""


@dataclass(frozen=True, slots=True)
class Due:
    """An event claimed for one delivery attempt."""

    id: str
    kind: str
    image_id: str
    target: str
    payload: dict[str, Any]
    attempts: int
    created_at: datetime


@dataclass(frozen=True, slots=True)
class Request:
    """What one attempt sends, and under which address rules."""

    method: str
    body: bytes
    headers: dict[str, str]
    policy: FetchPolicy


class GiveUp(Exception):
    """The event can never be delivered (its image is gone, say): stop trying."""


def destination_policy(
    allow_hosts: tuple[str, ...],
    timeout: float,
    setting: str,
    own_address: tuple[str, int] | None = None,
) -> FetchPolicy:
    """URL ingestion's address rules with this destination's allow-list and timeout."""
    return FetchPolicy(
        own_address=own_address,
        allow_hosts=allow_hosts,
        connect_timeout=min(5.0, timeout),
        read_timeout=timeout,
        total_timeout=timeout * 2,
        max_bytes=ANSWER_LIMIT,
        max_redirects=0,
        allow_hosts_setting=setting,
    )
