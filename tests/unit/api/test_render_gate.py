"""RenderGate: bounded threads, a bounded queue, single-flight, and honest bookkeeping."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable

import pytest

from darkroom.api.render_gate import Heavy, RenderGate
from darkroom.errors import Overloaded


def blocked_work(release: threading.Event, result: str = "done") -> Callable[[], str]:
    def work() -> str:
        assert release.wait(10), "the test never released the render"
        return result

    return work


async def until(condition: Callable[[], bool]) -> None:
    for _ in range(500):
        if condition():
            return
        await asyncio.sleep(0.01)
    raise AssertionError("condition never became true")


def test_identical_keys_share_one_run() -> None:
    calls: list[int] = []
    release = threading.Event()

    def work() -> str:
        calls.append(1)
        assert release.wait(10)
        return "image bytes"

    async def scenario() -> list[str]:
        gate = RenderGate(concurrency=2, queue_limit=0)
        waiters = [asyncio.create_task(gate.run("same", work)) for _ in range(20)]
        await until(lambda: len(calls) == 1)
        release.set()
        results = await asyncio.gather(*waiters)
        gate.close()
        return results

    assert asyncio.run(scenario()) == ["image bytes"] * 20
    assert len(calls) == 1


def test_past_the_queue_limit_requests_are_refused() -> None:
    release = threading.Event()

    async def scenario() -> None:
        gate = RenderGate(concurrency=1, queue_limit=1)
        running = asyncio.create_task(gate.run("a", blocked_work(release)))
        queued = asyncio.create_task(gate.run("b", blocked_work(release)))
        await until(lambda: gate.admitted == 2)
        with pytest.raises(Overloaded) as refused:
            await gate.run("c", blocked_work(release))
        assert refused.value.retry_after == 1
        # A duplicate of an admitted key joins it instead of being refused.
        duplicate = asyncio.create_task(gate.run("a", blocked_work(release)))
        release.set()
        assert list(await asyncio.gather(running, queued, duplicate)) == ["done"] * 3
        assert gate.admitted == 0
        gate.close()

    asyncio.run(scenario())


def test_a_caller_that_goes_away_keeps_its_slot_until_the_thread_is_done() -> None:
    release = threading.Event()

    async def scenario() -> None:
        gate = RenderGate(concurrency=1, queue_limit=0)
        caller = asyncio.create_task(gate.run("a", blocked_work(release)))
        await until(lambda: gate.admitted == 1)
        caller.cancel()  # the client disconnected
        with pytest.raises(asyncio.CancelledError):
            await caller
        # The thread still renders: its slot is not free yet, and a new request for the
        # same result joins the running render instead of starting another.
        assert gate.admitted == 1
        with pytest.raises(Overloaded):
            await gate.run("b", blocked_work(release))
        joined = asyncio.create_task(gate.run("a", blocked_work(release, "second")))
        release.set()
        assert await joined == "done"
        await until(lambda: gate.admitted == 0)
        gate.close()

    asyncio.run(scenario())


def test_errors_reach_every_waiter_and_free_the_slot() -> None:
    release = threading.Event()

    def failing() -> str:
        assert release.wait(10)
        raise ValueError("corrupt input")

    async def scenario() -> None:
        gate = RenderGate(concurrency=1, queue_limit=0)
        waiters = [asyncio.create_task(gate.run("k", failing)) for _ in range(3)]
        await until(lambda: gate.admitted == 1)
        release.set()
        outcomes = await asyncio.gather(*waiters, return_exceptions=True)
        assert all(isinstance(o, ValueError) for o in outcomes)
        assert gate.admitted == 0
        assert await gate.run("k", lambda: "recovered") == "recovered"
        gate.close()

    asyncio.run(scenario())


def test_an_abandoned_failure_is_not_reported_as_unretrieved() -> None:
    release = threading.Event()
    unhandled: list[dict[str, object]] = []

    def failing() -> str:
        assert release.wait(10)
        raise ValueError("nobody is listening")

    async def scenario() -> None:
        asyncio.get_running_loop().set_exception_handler(lambda _, ctx: unhandled.append(ctx))
        gate = RenderGate(concurrency=1, queue_limit=0)
        caller = asyncio.create_task(gate.run("k", failing))
        await until(lambda: gate.admitted == 1)
        caller.cancel()
        release.set()
        await until(lambda: gate.admitted == 0)
        gate.close()

    asyncio.run(scenario())
    assert unhandled == []


def test_heavy_work_waits_in_its_own_lane_while_cheap_work_flows() -> None:
    release = threading.Event()
    heavy_started: list[str] = []

    def heavy(name: str) -> Callable[[], str | Heavy[str]]:
        def plan() -> str | Heavy[str]:
            def rest() -> str:
                heavy_started.append(name)
                assert release.wait(10)
                return name

            return Heavy(rest)

        return plan

    async def scenario() -> None:
        gate = RenderGate(concurrency=2, queue_limit=10, heavy_concurrency=1)
        heavies = [asyncio.create_task(gate.run(f"h{i}", heavy(f"h{i}"))) for i in range(4)]
        await until(lambda: len(heavy_started) == 1)
        # Four heavy renders admitted, one running: both main threads are still free.
        assert gate.admitted == 4
        cheap = await asyncio.wait_for(
            asyncio.gather(*(gate.run(f"c{i}", lambda: "thumb") for i in range(5))), 5
        )
        assert cheap == ["thumb"] * 5
        assert len(heavy_started) == 1, "the heavy lane ran more than its one thread"
        release.set()
        assert await asyncio.gather(*heavies) == ["h0", "h1", "h2", "h3"]
        assert gate.admitted == 0
        gate.close()

    asyncio.run(scenario())


def test_a_heavy_failure_reaches_every_waiter() -> None:
    def plan() -> str | Heavy[str]:
        def rest() -> str:
            raise ValueError("too slow")

        return Heavy(rest)

    async def scenario() -> None:
        gate = RenderGate(concurrency=1, queue_limit=0)
        outcomes = await asyncio.gather(
            gate.run("k", plan), gate.run("k", plan), return_exceptions=True
        )
        assert all(isinstance(o, ValueError) for o in outcomes)
        assert gate.admitted == 0
        gate.close()

    asyncio.run(scenario())
