"""Work queues for controllers, with client-go `workqueue` semantics.

Theory of operation (three layers, as upstream):

`WorkQueue` holds keys (usually "namespace/name" strings) to reconcile.
Three collections carry its invariants:

* ``queue`` - keys waiting to be handed out, in order;
* ``dirty`` - keys that need processing (each queued key is dirty);
* ``processing`` - keys a worker holds (between `get` and `done`).

`add(k)` is a no-op if k is dirty (dedup: ten events for one object cost
one reconcile). If k is being processed it becomes dirty but is NOT
queued, so no two workers ever hold the same key; `done(k)` re-queues it
then. `get()` waits for a key; after `shut_down()` new adds are ignored,
remaining keys are still handed out, and `get()` raises `ShutDown` once
the queue is empty.

`DelayingQueue` adds `add_after(k, delay)`: keys wait on a heap ordered by
ready time (a key already waiting keeps the earlier time) and ONE clock
timer, armed for the earliest, moves due keys into the queue.

`RateLimitingQueue` adds `add_rate_limited(k)` = add_after(k,
limiter.when(k)), `forget(k)` and `num_requeues(k)`; the default limiter
is client-go's (per-item exponential 5ms..1000s, max'ed with a 10 qps /
100 burst bucket).

Everything runs on one asyncio loop; no locks are needed because no
method awaits between reading and writing the collections.
"""

from __future__ import annotations

import asyncio
import contextlib
import heapq
import itertools
from collections import deque
from collections.abc import Awaitable, Callable, Hashable
from typing import Generic, TypeVar

from svcnet.client.clock import Clock, RealClock, Timer
from svcnet.client.ratelimit import (
    BucketRateLimiter,
    ItemExponentialFailureRateLimiter,
    ItemFastSlowRateLimiter,
    MaxOfRateLimiter,
    RateLimiter,
    default_controller_rate_limiter,
)
from svcnet.util.log import get_logger

__all__ = [
    "BucketRateLimiter",
    "DelayingQueue",
    "ItemExponentialFailureRateLimiter",
    "ItemFastSlowRateLimiter",
    "MaxOfRateLimiter",
    "RateLimiter",
    "RateLimitingQueue",
    "ShutDown",
    "WorkQueue",
    "default_controller_rate_limiter",
    "run_worker",
]

log = get_logger(__name__)

K = TypeVar("K", bound=Hashable)


class ShutDown(Exception):
    """`get()` on a queue that is shut down and empty."""


class WorkQueue(Generic[K]):
    """A deduplicating FIFO of keys; a key is held by at most one worker."""

    def __init__(self, name: str = "") -> None:
        self.name = name
        self._queue: deque[K] = deque()
        self._dirty: set[K] = set()
        self._processing: set[K] = set()
        self._getters: deque[asyncio.Future[None]] = deque()
        self._shutting_down = False
        self._drained: asyncio.Event | None = None

    def add(self, item: K) -> None:
        """Mark ``item`` as needing processing (dedup; see module docstring)."""
        if self._shutting_down or item in self._dirty:
            return
        self._dirty.add(item)
        if item in self._processing:
            return
        self._queue.append(item)
        self._wake_one()

    def __len__(self) -> int:
        """Keys waiting to be handed out (not those being processed)."""
        return len(self._queue)

    def __contains__(self, item: object) -> bool:
        return item in self._dirty

    @property
    def processing(self) -> frozenset[K]:
        return frozenset(self._processing)

    @property
    def shutting_down(self) -> bool:
        return self._shutting_down

    async def get(self) -> K:
        """Wait for the next key and hold it until `done`.

        Raises:
            ShutDown: the queue is shut down and empty.
        """
        while not self._queue:
            if self._shutting_down:
                raise ShutDown(self.name)
            fut: asyncio.Future[None] = asyncio.get_running_loop().create_future()
            self._getters.append(fut)
            try:
                await fut
            except asyncio.CancelledError:
                # If we were woken and then cancelled, pass the wake-up on.
                if fut.done() and not fut.cancelled():
                    self._wake_one()
                else:
                    self._discard_getter(fut)
                raise
        item = self._queue.popleft()
        self._processing.add(item)
        self._dirty.discard(item)
        return item

    def get_nowait(self) -> K | None:
        """The next key if one is queued (held until `done`), else None."""
        if not self._queue:
            return None
        item = self._queue.popleft()
        self._processing.add(item)
        self._dirty.discard(item)
        return item

    def done(self, item: K) -> None:
        """Release a key from `get`; re-queue it if it was added meanwhile."""
        self._processing.discard(item)
        if item in self._dirty:
            self._queue.append(item)
            self._wake_one()
        elif not self._processing and self._drained is not None:
            self._drained.set()

    def shut_down(self) -> None:
        """Ignore new adds; workers drain what is queued, then `get` raises ShutDown."""
        self._shutting_down = True
        while self._getters:
            fut = self._getters.popleft()
            if not fut.done():
                fut.set_result(None)

    async def shut_down_with_drain(self) -> None:
        """`shut_down` and wait until no key is being processed."""
        self.shut_down()
        while self._processing:
            self._drained = asyncio.Event()
            await self._drained.wait()

    def _wake_one(self) -> None:
        while self._getters:
            fut = self._getters.popleft()
            if not fut.done():
                fut.set_result(None)
                return

    def _discard_getter(self, fut: asyncio.Future[None]) -> None:
        with contextlib.suppress(ValueError):
            self._getters.remove(fut)


class DelayingQueue(WorkQueue[K]):
    """A `WorkQueue` that can add keys after a delay (measured on ``clock``)."""

    def __init__(self, name: str = "", clock: Clock | None = None) -> None:
        super().__init__(name)
        self.clock: Clock = clock or RealClock()
        self._waiting: dict[K, float] = {}
        self._heap: list[tuple[float, int, K]] = []
        self._seq = itertools.count()
        self._timer: Timer | None = None
        self._timer_at: float | None = None

    def add_after(self, item: K, delay: float) -> None:
        """Add ``item`` once ``delay`` seconds have passed (now if delay <= 0)."""
        if self._shutting_down:
            return
        if delay <= 0:
            self.add(item)
            return
        ready = self.clock.now() + delay
        current = self._waiting.get(item)
        if current is not None and current <= ready:
            return
        self._waiting[item] = ready
        heapq.heappush(self._heap, (ready, next(self._seq), item))
        self._arm()

    @property
    def waiting(self) -> int:
        """Keys waiting for their delay to pass."""
        return len(self._waiting)

    def shut_down(self) -> None:
        super().shut_down()
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        self._waiting.clear()
        self._heap.clear()

    def _arm(self) -> None:
        # Drop heap entries superseded by an earlier ready time for the same key.
        while self._heap and self._waiting.get(self._heap[0][2]) != self._heap[0][0]:
            heapq.heappop(self._heap)
        if not self._heap:
            return
        first = self._heap[0][0]
        if self._timer is not None:
            if self._timer_at is not None and self._timer_at <= first:
                return
            self._timer.cancel()
        self._timer_at = first
        self._timer = self.clock.call_later(first - self.clock.now(), self._fire)

    def _fire(self) -> None:
        self._timer = None
        self._timer_at = None
        now = self.clock.now()
        while self._heap and self._heap[0][0] <= now:
            ready, _, item = heapq.heappop(self._heap)
            if self._waiting.get(item) == ready:
                del self._waiting[item]
                self.add(item)
        self._arm()


class RateLimitingQueue(DelayingQueue[K]):
    """A `DelayingQueue` with per-item rate-limited requeues."""

    def __init__(
        self,
        rate_limiter: RateLimiter | None = None,
        name: str = "",
        clock: Clock | None = None,
    ) -> None:
        super().__init__(name, clock)
        self.rate_limiter: RateLimiter = rate_limiter or default_controller_rate_limiter(self.clock)

    def add_rate_limited(self, item: K) -> None:
        """Requeue after the rate limiter's delay (backoff grows per failure)."""
        self.add_after(item, self.rate_limiter.when(item))

    def forget(self, item: K) -> None:
        """The item succeeded: reset its backoff."""
        self.rate_limiter.forget(item)

    def num_requeues(self, item: K) -> int:
        return self.rate_limiter.num_requeues(item)


async def run_worker(
    queue: RateLimitingQueue[K],
    reconcile: Callable[[K], Awaitable[None]],
    max_retries: int | None = None,
) -> None:
    """The standard controller worker loop until the queue shuts down.

    For each key: ``await reconcile(key)``; on success `forget` it; on an
    exception log it and `add_rate_limited` (or drop it after
    ``max_retries`` requeues); always `done`.
    """
    while True:
        try:
            key = await queue.get()
        except ShutDown:
            return
        try:
            await reconcile(key)
        except asyncio.CancelledError:
            queue.done(key)
            raise
        except Exception as e:
            n = queue.num_requeues(key)
            if max_retries is not None and n >= max_retries:
                log.exception("dropping key after retries", queue=queue.name, key=str(key))
                queue.forget(key)
            else:
                log.warning(
                    "reconcile failed; requeued",
                    queue=queue.name,
                    key=str(key),
                    requeues=n,
                    error=f"{type(e).__name__}: {e}",
                )
                queue.add_rate_limited(key)
        else:
            queue.forget(key)
        queue.done(key)
        # A sync that made no request never suspended: yield so watches,
        # API responses and /healthz keep flowing while the queue is long.
        await asyncio.sleep(0)
