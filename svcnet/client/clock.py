"""Injectable time: the real clock and a fake one tests drive by hand.

Theory of operation: cores that need time (rate limiters, the delaying
queue, informer resync and backoff) take a `Clock` instead of calling
`time` or `asyncio.sleep` themselves. `RealClock` reads `time.monotonic`
and schedules on the running loop; `FakeClock` keeps a virtual "now" that
only moves when a test calls `step()`, firing due timers in time order
(each timer sees "now" equal to its own deadline), so tests of delays and
backoff run instantly and deterministically.

`Backoff` is the jittered exponential backoff shared by the informer
(client-go's reflector backoff: 800ms doubling to 30s, reset after two
minutes without failure).
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
import random
import time
from collections.abc import Callable
from typing import Protocol

__all__ = ["Backoff", "Clock", "FakeClock", "RealClock", "Timer"]


class Timer(Protocol):
    def cancel(self) -> None: ...


class Clock(Protocol):
    """Monotonic time in seconds plus timers and sleeps on that time."""

    def now(self) -> float: ...

    def call_later(self, delay: float, callback: Callable[[], None]) -> Timer: ...

    async def sleep(self, delay: float) -> None: ...


class RealClock:
    """Wall-clock-independent monotonic time on the running asyncio loop."""

    def now(self) -> float:
        return time.monotonic()

    def call_later(self, delay: float, callback: Callable[[], None]) -> Timer:
        return asyncio.get_running_loop().call_later(max(0.0, delay), callback)

    async def sleep(self, delay: float) -> None:
        await asyncio.sleep(max(0.0, delay))


class _FakeTimer:
    __slots__ = ("callback", "cancelled", "when")

    def __init__(self, when: float, callback: Callable[[], None]) -> None:
        self.when = when
        self.callback = callback
        self.cancelled = False

    def cancel(self) -> None:
        self.cancelled = True


class FakeClock:
    """A clock that moves only when told to (`step`, `set`)."""

    def __init__(self, start: float = 0.0) -> None:
        self._now = start
        self._seq = itertools.count()
        self._timers: list[tuple[float, int, _FakeTimer]] = []

    def now(self) -> float:
        return self._now

    def call_later(self, delay: float, callback: Callable[[], None]) -> Timer:
        t = _FakeTimer(self._now + max(0.0, delay), callback)
        heapq.heappush(self._timers, (t.when, next(self._seq), t))
        return t

    async def sleep(self, delay: float) -> None:
        if delay <= 0:
            await asyncio.sleep(0)
            return
        fut: asyncio.Future[None] = asyncio.get_running_loop().create_future()

        def wake() -> None:
            if not fut.done():
                fut.set_result(None)

        timer = self.call_later(delay, wake)
        try:
            await fut
        finally:
            timer.cancel()

    def step(self, delta: float) -> None:
        """Advance by ``delta`` seconds, firing every timer that falls due."""
        self.set(self._now + delta)

    def set(self, t: float) -> None:
        """Move "now" to ``t`` (never backwards), firing due timers in order."""
        while self._timers and self._timers[0][0] <= t:
            when, _, timer = heapq.heappop(self._timers)
            if timer.cancelled:
                continue
            self._now = max(self._now, when)
            timer.callback()
        self._now = max(self._now, t)

    def pending(self) -> int:
        """Number of live timers (for assertions)."""
        return sum(1 for _, _, t in self._timers if not t.cancelled)


class Backoff:
    """Jittered exponential backoff with reset after a quiet period.

    ``next_delay()`` returns base*factor**n (capped), stretched by up to
    ``jitter`` times itself, and counts a failure; a failure more than
    ``reset_after`` seconds after the previous one starts again from base.
    """

    def __init__(
        self,
        clock: Clock,
        base: float = 0.8,
        cap: float = 30.0,
        factor: float = 2.0,
        jitter: float = 1.0,
        reset_after: float = 120.0,
        rand: Callable[[], float] = random.random,
    ) -> None:
        self.clock, self.base, self.cap = clock, base, cap
        self.factor, self.jitter, self.reset_after = factor, jitter, reset_after
        self._rand = rand
        self._failures = 0
        self._last: float | None = None

    def next_delay(self) -> float:
        now = self.clock.now()
        if self._last is not None and now - self._last > self.reset_after:
            self._failures = 0
        self._last = now
        d = min(self.cap, self.base * self.factor ** min(self._failures, 64))
        self._failures += 1
        return d * (1 + self.jitter * self._rand())

    def reset(self) -> None:
        self._failures = 0
        self._last = None
