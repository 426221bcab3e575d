"""Request dependencies: the service context, and running blocking use-cases off the loop."""

from __future__ import annotations

import asyncio
import contextvars
import functools
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Annotated, ParamSpec, TypeVar

from fastapi import Depends, Request

from darkroom.service.context import Context

P = ParamSpec("P")
T = TypeVar("T")


BLOCKING_THREADS = 40
"""As many as anyio's default thread limiter allowed: the database and storage calls of
that many requests at once."""

_pool = ThreadPoolExecutor(max_workers=BLOCKING_THREADS, thread_name_prefix="blocking")


async def get_context(request: Request) -> Context:
    """The service context the app was built with."""
    ctx: Context = request.app.state.ctx
    return ctx


Ctx = Annotated[Context, Depends(get_context)]


async def blocking(fn: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
    """Run a blocking use-case (database, storage, libvips) in the thread pool.

    A plain executor, with the caller's context variables (the request's log fields):
    anyio's `to_thread` costs the event loop several times as much per call (a task-library
    lookup, a capacity limiter, a cancel scope), and an upload makes several calls.
    (`async def get_context` likewise: FastAPI runs a plain `def` dependency in a thread.)
    """
    call = functools.partial(contextvars.copy_context().run, fn, *args, **kwargs)
    return await asyncio.get_running_loop().run_in_executor(_pool, call)
