"""What every answer model shares: immutability, pages, and the one error shape."""

from __future__ import annotations

from typing import Any, Generic, TypeVar

from pydantic import BaseModel, ConfigDict, Field

T = TypeVar("T")


class Out(BaseModel):
    """Base of the answer models: frozen, and readable from any object with the same fields.

    Unknown fields are ignored, so a client keeps reading the answers of a newer server.
    """

    model_config = ConfigDict(frozen=True, from_attributes=True)


class ErrorDetail(Out):
    """What went wrong: a stable code, a readable message, and structured details."""

    code: str = Field(description="Stable machine-readable code, e.g. `not_found`.")
    message: str = Field(description="What went wrong and, where possible, how to fix it.")
    details: Any = Field(description="Structured details (field problems, limits), or null.")


class ErrorBody(Out):
    """Every error answer: `{"error": {"code", "message", "details"}}`."""

    error: ErrorDetail


class Page(Out, Generic[T]):
    """One page of a list, newest first, with the cursor of the next page (null at the end)."""

    items: list[T]
    next_cursor: str | None = Field(
        description="Pass as `cursor` to get the next page; null on the last page."
    )
