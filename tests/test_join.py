"""`run_all`: concurrent steps, the first failure raised, the rest cancelled."""

from __future__ import annotations

import asyncio
import contextvars
import gc
import warnings

import pytest

from podium._engine._join import run_all


class Boom(Exception):
    pass


async def test_runs_every_coroutine_concurrently() -> None:
    order: list[str] = []
    go = asyncio.Event()

    async def first() -> None:  # must wait for the last one
        order.append("first waits")
        await go.wait()
        order.append("first done")

    async def middle() -> None:
        order.append("middle")

    async def last() -> None:
        order.append("last sets")
        go.set()

    await asyncio.wait_for(run_all([first(), middle(), last()]), 5)
    assert order == ["first waits", "middle", "last sets", "first done"]


async def test_a_later_failure_interrupts_the_wait_and_cancels_the_rest() -> None:
    ended: dict[str, str] = {}

    async def slow(name: str) -> None:
        try:
            await asyncio.sleep(30)
        except asyncio.CancelledError:
            ended[name] = "cancelled"
            raise

    async def fails() -> None:
        await asyncio.sleep(0)
        raise Boom("third")

    loop = asyncio.get_running_loop()
    started = loop.time()
    with pytest.raises(Boom, match="third") as caught:
        await run_all([slow("inline"), slow("task"), fails(), slow("after")])
    assert loop.time() - started < 5  # not the 30 s of the slow ones
    assert ended == {"inline": "cancelled", "task": "cancelled", "after": "cancelled"}
    assert caught.value.__context__ is None  # no CancelledError chained onto it
    current = asyncio.current_task()
    assert current is not None and current.cancelling() == 0  # no cancellation left over


async def test_the_first_failure_is_raised() -> None:
    async def fails_late() -> None:
        await asyncio.sleep(0.2)
        raise Boom("late")

    async def fails_early() -> None:
        await asyncio.sleep(0)
        raise Boom("early")

    with pytest.raises(Boom, match="early"):
        await run_all([fails_late(), fails_early()])
    with pytest.raises(Boom, match="early"):
        await run_all([fails_early(), fails_late()])


async def test_a_failure_keeps_its_cause() -> None:
    async def fails() -> None:
        await asyncio.sleep(0)
        try:
            raise KeyError("inner")
        except KeyError as exc:
            raise Boom("outer") from exc

    async def slow() -> None:
        await asyncio.sleep(30)

    with pytest.raises(Boom) as caught:
        await run_all([slow(), fails()])
    assert isinstance(caught.value.__cause__, KeyError)


async def test_a_cancellation_from_outside_cancels_every_step() -> None:
    ended: list[str] = []

    async def slow(name: str) -> None:
        try:
            await asyncio.sleep(30)
        except asyncio.CancelledError:
            ended.append(name)
            raise

    task = asyncio.ensure_future(run_all([slow("a"), slow("b"), slow("c")]))
    await asyncio.sleep(0.05)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert sorted(ended) == ["a", "b", "c"]


async def test_an_outside_cancellation_is_not_mistaken_for_a_failure() -> None:
    """A step fails while the caller is being cancelled: the cancellation wins."""

    async def slow() -> None:
        await asyncio.sleep(30)

    async def fails_when_cancelled() -> None:
        try:
            await asyncio.sleep(30)
        except asyncio.CancelledError:
            raise Boom("while cancelled") from None

    async def caller() -> None:
        await run_all([slow(), slow(), fails_when_cancelled()])

    task = asyncio.ensure_future(caller())
    await asyncio.sleep(0.05)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task


async def test_a_step_that_swallows_its_cancellation_still_ends_the_wait() -> None:
    async def stubborn() -> None:
        try:
            await asyncio.sleep(30)
        except asyncio.CancelledError:
            return  # swallowed: it ends normally

    async def fails() -> None:
        await asyncio.sleep(0)
        raise Boom("failed")

    with pytest.raises(Boom):
        await asyncio.wait_for(run_all([stubborn(), fails()]), 5)
    current = asyncio.current_task()
    assert current is not None and current.cancelling() == 0


async def test_a_time_limit_around_it_still_raises_timeout() -> None:
    async def slow() -> None:
        await asyncio.sleep(30)

    with pytest.raises(TimeoutError):
        async with asyncio.timeout(0.05):
            await run_all([slow(), slow(), slow()])
    current = asyncio.current_task()
    assert current is not None and current.cancelling() == 0


async def test_a_cancellation_before_the_steps_began_leaves_no_unawaited_coroutine() -> None:
    ran: list[str] = []

    async def step() -> None:
        ran.append("started")
        await asyncio.sleep(30)

    async def caller() -> None:
        await run_all([step(), step(), step()])

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        task = asyncio.ensure_future(caller())
        await asyncio.sleep(0)  # the caller made its tasks; none of them has begun
        assert ran == []
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        gc.collect()
    assert len(ran) < 3  # the first was cancelled before it began
    assert not [w for w in caught if "never awaited" in str(w.message)]


async def test_each_step_has_its_own_context_as_under_gather() -> None:
    var: contextvars.ContextVar[str] = contextvars.ContextVar("var", default="caller")
    seen: list[str] = []

    async def sets(value: str) -> None:
        var.set(value)
        await asyncio.sleep(0)
        seen.append(var.get())

    await run_all([sets("a"), sets("b")])
    assert sorted(seen) == ["a", "b"]
    assert var.get() == "caller"  # nothing set inside a step leaks out


async def test_one_or_none() -> None:
    ran: list[int] = []

    async def one() -> None:
        ran.append(1)

    await run_all([])
    await run_all([one()])
    assert ran == [1]
