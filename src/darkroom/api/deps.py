"""Request dependencies: the service context, and running blocking use-cases off the loop."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, ParamSpec, TypeVar

from fastapi import Depends, Request
from starlette.concurrency import run_in_threadpool

from darkroom.service.context import Context

P = ParamSpec("P")
T = TypeVar("T")


def get_context(request: Request) -> Context:
    """The service context the app was built with."""
    ctx: Context = request.app.state.ctx
    return ctx


Ctx = Annotated[Context, Depends(get_context)]


async def blocking(fn: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
    """Run a blocking use-case (database, storage, libvips) in the thread pool."""
    return await run_in_threadpool(fn, *args, **kwargs)
