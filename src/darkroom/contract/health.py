"""Liveness and readiness answers."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from darkroom.contract._base import Out


class HealthOut(Out):
    """The process is up."""

    status: Literal["ok"] = "ok"


class CheckOut(Out):
    """One dependency's answer; `error` only when it failed."""

    ok: bool
    error: str | None = None


class ReadyOut(Out):
    """Whether the database, storage and broker answer."""

    status: Literal["ready", "unavailable"]
    checks: dict[str, CheckOut] = Field(description="By dependency: database, storage, broker.")

    @property
    def healthy(self) -> bool:
        """Whether every dependency answered."""
        return self.status == "ready"
