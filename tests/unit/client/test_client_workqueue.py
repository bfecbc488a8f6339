"""Work queue semantics (client-go workqueue: queue_test.go, delaying_queue_test.go,
rate_limiting_queue_test.go) on a fake clock."""

from __future__ import annotations

import asyncio

import pytest

from svcnet.client.clock import FakeClock
from svcnet.client.ratelimit import ItemExponentialFailureRateLimiter
from svcnet.client.workqueue import (
    DelayingQueue,
    RateLimitingQueue,
    ShutDown,
    WorkQueue,
    run_worker,
)


async def settle() -> None:
    for _ in range(5):
        await asyncio.sleep(0)


async def test_fifo_and_dedup() -> None:
    q: WorkQueue[str] = WorkQueue()
    for k in ["a", "b", "a", "c", "b"]:
        q.add(k)
    assert len(q) == 3
    assert [await q.get() for _ in range(3)] == ["a", "b", "c"]


async def test_readd_while_processing_is_requeued_after_done() -> None:
    # upstream TestAddWhileProcessing: never two workers on one key
    q: WorkQueue[str] = WorkQueue()
    q.add("a")
    k = await q.get()
    q.add("a")
    q.add("a")
    assert len(q) == 0, "a key being processed is not handed out again"
    assert "a" in q  # but it is dirty
    q.done(k)
    assert len(q) == 1
    assert await q.get() == "a"
    q.done("a")
    assert len(q) == 0


async def test_done_without_readd_drops_key() -> None:
    q: WorkQueue[str] = WorkQueue()
    q.add("a")
    q.done(await q.get())
    assert len(q) == 0 and "a" not in q


async def test_get_waits_for_add() -> None:
    q: WorkQueue[str] = WorkQueue()
    task = asyncio.create_task(q.get())
    await settle()
    assert not task.done()
    q.add("x")
    assert await asyncio.wait_for(task, 1) == "x"


async def test_two_workers_never_hold_same_key() -> None:
    q: WorkQueue[str] = WorkQueue()
    held: set[str] = set()
    overlaps = 0
    processed = 0

    async def worker() -> None:
        nonlocal overlaps, processed
        while True:
            try:
                k = await q.get()
            except ShutDown:
                return
            if k in held:
                overlaps += 1
            held.add(k)
            await asyncio.sleep(0)
            if processed < 50:
                q.add(k)  # re-added while processing
            processed += 1
            await asyncio.sleep(0)
            held.discard(k)
            q.done(k)

    workers = [asyncio.create_task(worker()) for _ in range(4)]
    for k in "abc":
        q.add(k)
    await asyncio.sleep(0.05)
    await q.shut_down_with_drain()
    await asyncio.wait_for(asyncio.gather(*workers), 2)
    assert overlaps == 0
    assert processed >= 50


async def test_shutdown_drains_then_raises() -> None:
    q: WorkQueue[str] = WorkQueue()
    q.add("a")
    waiter = asyncio.create_task(q.get())
    await settle()
    assert await waiter == "a"
    q.add("b")
    q.shut_down()
    q.add("c")  # ignored after shut down
    assert await q.get() == "b"
    with pytest.raises(ShutDown):
        await q.get()


async def test_shutdown_wakes_blocked_getters() -> None:
    q: WorkQueue[str] = WorkQueue()
    getters = [asyncio.create_task(q.get()) for _ in range(3)]
    await settle()
    q.shut_down()
    for g in getters:
        with pytest.raises(ShutDown):
            await asyncio.wait_for(g, 1)


async def test_cancelled_getter_passes_wakeup_on() -> None:
    q: WorkQueue[str] = WorkQueue()
    g1 = asyncio.create_task(q.get())
    g2 = asyncio.create_task(q.get())
    await settle()
    q.add("a")
    g1.cancel()  # woken and cancelled in the same tick
    await settle()
    assert await asyncio.wait_for(g2, 1) == "a"


async def test_add_after_waits_for_clock() -> None:
    clock = FakeClock()
    q: DelayingQueue[str] = DelayingQueue(clock=clock)
    q.add_after("a", 1.0)
    assert len(q) == 0 and q.waiting == 1
    clock.step(0.5)
    assert len(q) == 0
    clock.step(0.5)
    assert len(q) == 1 and q.waiting == 0
    assert await q.get() == "a"


async def test_add_after_keeps_earliest_ready_time() -> None:
    # upstream TestAddTwoFireEarly: the earlier ready time wins
    clock = FakeClock()
    q: DelayingQueue[str] = DelayingQueue(clock=clock)
    q.add_after("a", 5.0)
    q.add_after("a", 1.0)
    q.add_after("a", 10.0)
    clock.step(1.0)
    assert len(q) == 1
    q.done(await q.get())
    clock.step(100)
    assert len(q) == 0, "superseded ready times do not fire again"


async def test_add_after_orders_by_ready_time() -> None:
    clock = FakeClock()
    q: DelayingQueue[str] = DelayingQueue(clock=clock)
    q.add_after("late", 3.0)
    q.add_after("early", 1.0)
    q.add_after("mid", 2.0)
    clock.step(3.0)
    assert [await q.get() for _ in range(3)] == ["early", "mid", "late"]
    assert clock.pending() == 0


async def test_add_after_nonpositive_adds_now() -> None:
    q: DelayingQueue[str] = DelayingQueue(clock=FakeClock())
    q.add_after("a", 0)
    q.add_after("b", -1)
    assert len(q) == 2


async def test_add_after_with_real_clock() -> None:
    q: DelayingQueue[str] = DelayingQueue()
    q.add_after("a", 0.02)
    assert await asyncio.wait_for(q.get(), 1) == "a"


async def test_rate_limited_requeue_and_forget() -> None:
    # upstream TestRateLimitingQueue
    clock = FakeClock()
    q: RateLimitingQueue[str] = RateLimitingQueue(
        ItemExponentialFailureRateLimiter(1.0, 1000.0), clock=clock
    )
    q.add_rate_limited("one")
    q.add_rate_limited("one")  # 2s, but the earlier 1s ready time stands
    assert q.num_requeues("one") == 2
    clock.step(1.0)
    assert len(q) == 1
    q.done(await q.get())
    q.add_rate_limited("one")  # third failure: 4s
    clock.step(3.9)
    assert len(q) == 0
    clock.step(0.1)
    assert len(q) == 1
    q.forget("one")
    assert q.num_requeues("one") == 0


async def test_shutdown_cancels_delayed() -> None:
    clock = FakeClock()
    q: DelayingQueue[str] = DelayingQueue(clock=clock)
    q.add_after("a", 1.0)
    q.shut_down()
    clock.step(2.0)
    with pytest.raises(ShutDown):
        await q.get()


async def test_run_worker_retries_then_forgets() -> None:
    clock = FakeClock()
    q: RateLimitingQueue[str] = RateLimitingQueue(
        ItemExponentialFailureRateLimiter(1.0, 100.0), clock=clock
    )
    calls: list[str] = []

    async def reconcile(key: str) -> None:
        calls.append(key)
        if len(calls) < 3:
            raise RuntimeError("not yet")

    worker = asyncio.create_task(run_worker(q, reconcile))
    q.add("k")
    await settle()
    assert calls == ["k"] and q.num_requeues("k") == 1
    clock.step(1.0)
    await settle()
    assert calls == ["k", "k"] and q.num_requeues("k") == 2
    clock.step(2.0)
    await settle()
    assert calls == ["k", "k", "k"]
    assert q.num_requeues("k") == 0, "success forgets the backoff"
    q.shut_down()
    await asyncio.wait_for(worker, 1)


async def test_run_worker_drops_after_max_retries() -> None:
    clock = FakeClock()
    q: RateLimitingQueue[str] = RateLimitingQueue(
        ItemExponentialFailureRateLimiter(1.0, 100.0), clock=clock
    )
    calls = 0

    async def reconcile(key: str) -> None:
        nonlocal calls
        calls += 1
        raise RuntimeError("always")

    worker = asyncio.create_task(run_worker(q, reconcile, max_retries=1))
    q.add("k")
    await settle()
    clock.step(1.0)
    await settle()
    clock.step(100.0)
    await settle()
    assert calls == 2
    assert len(q) == 0 and q.waiting == 0
    q.shut_down()
    await asyncio.wait_for(worker, 1)
