"""Readiness and metrics: whether the service's dependencies answer, and what it has done."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from darkroom.db.engine import ping
from darkroom.errors import DarkroomError
from darkroom.service.context import Context
from darkroom.service.metrics import render


@dataclass(frozen=True, slots=True)
class Check:
    """One dependency's answer: ok, or the reason it is not."""

    ok: bool
    error: str | None = None


def readiness(ctx: Context) -> dict[str, Check]:
    """Whether the database, the storage and the broker each answer."""
    return {
        "database": _probe(lambda: ping(ctx.engine)),
        "storage": _probe(lambda: ctx.originals.exists("health/probe")),
        "broker": _probe(lambda: ctx.tasks().ping()),
    }


def metrics_text(ctx: Context) -> bytes:
    """The Prometheus text exposition of this process's metrics and the backlog."""
    return render(ctx.registry)


def _probe(check: Callable[[], object]) -> Check:
    try:
        check()
    except DarkroomError as exc:
        return Check(False, exc.message)
    except Exception as exc:
        return Check(False, f"{type(exc).__name__}: {exc}")
    return Check(True)
