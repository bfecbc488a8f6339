"""Per-item and overall rate limiters for work queues (client-go `workqueue`).

Theory of operation: a rate limiter answers "how long should this item
wait before it is retried?" (`when`), remembers per-item failures until
told to `forget` them, and reports `num_requeues`. They are pure: no
sleeping, only arithmetic on an injected `Clock`.

* `ItemExponentialFailureRateLimiter(base, max)`: base * 2**failures,
  capped at max (client-go default 5ms .. 1000s).
* `ItemFastSlowRateLimiter(fast, slow, max_fast_attempts)`: fast delay for
  the first attempts, then slow.
* `BucketRateLimiter(qps, burst)`: a token bucket shared by all items
  (golang.org/x/time/rate `Reserve().Delay()` semantics: the bucket starts
  full, refills at qps up to burst, each call takes one token and may go
  into debt, the debt being the delay). Default 10 qps, burst 100.
* `MaxOfRateLimiter(*limiters)`: the worst (largest) answer of all.

`default_controller_rate_limiter()` is client-go's
DefaultControllerRateLimiter: max(exponential 5ms..1000s, bucket 10/100).
"""

from __future__ import annotations

from collections.abc import Hashable
from typing import Protocol

from svcnet.client.clock import Clock, RealClock

__all__ = [
    "BucketRateLimiter",
    "ItemExponentialFailureRateLimiter",
    "ItemFastSlowRateLimiter",
    "MaxOfRateLimiter",
    "RateLimiter",
    "default_controller_rate_limiter",
]


class RateLimiter(Protocol):
    def when(self, item: Hashable) -> float:
        """Seconds the item should wait now; counts one more requeue."""

    def forget(self, item: Hashable) -> None:
        """Stop tracking the item (it succeeded)."""

    def num_requeues(self, item: Hashable) -> int:
        """How many times the item has been requeued since the last forget."""


class ItemExponentialFailureRateLimiter:
    """base * 2**(failures so far), capped at ``max``."""

    def __init__(self, base: float = 0.005, max: float = 1000.0) -> None:
        self.base = base
        self.max = max
        self._failures: dict[Hashable, int] = {}

    def when(self, item: Hashable) -> float:
        exp = self._failures.get(item, 0)
        self._failures[item] = exp + 1
        if exp >= 1024:  # 2.0**1024 overflows a float; far past any cap anyway
            return self.max
        return min(self.base * 2.0**exp, self.max)

    def forget(self, item: Hashable) -> None:
        self._failures.pop(item, None)

    def num_requeues(self, item: Hashable) -> int:
        return self._failures.get(item, 0)


class ItemFastSlowRateLimiter:
    """``fast`` for the first ``max_fast_attempts`` requeues, ``slow`` afterwards."""

    def __init__(self, fast: float, slow: float, max_fast_attempts: int) -> None:
        self.fast, self.slow, self.max_fast_attempts = fast, slow, max_fast_attempts
        self._failures: dict[Hashable, int] = {}

    def when(self, item: Hashable) -> float:
        n = self._failures.get(item, 0) + 1
        self._failures[item] = n
        return self.fast if n <= self.max_fast_attempts else self.slow

    def forget(self, item: Hashable) -> None:
        self._failures.pop(item, None)

    def num_requeues(self, item: Hashable) -> int:
        return self._failures.get(item, 0)


class BucketRateLimiter:
    """A token bucket over all items: ``qps`` refill rate, ``burst`` capacity."""

    def __init__(self, qps: float = 10.0, burst: int = 100, clock: Clock | None = None) -> None:
        if qps <= 0 or burst < 1:
            raise ValueError("qps must be > 0 and burst >= 1")
        self.qps = qps
        self.burst = burst
        self.clock = clock or RealClock()
        self._tokens = float(burst)
        self._last = self.clock.now()

    def when(self, item: Hashable) -> float:
        now = self.clock.now()
        elapsed = max(0.0, now - self._last)
        self._tokens = min(float(self.burst), self._tokens + elapsed * self.qps)
        self._last = max(self._last, now)
        self._tokens -= 1.0
        return -self._tokens / self.qps if self._tokens < 0 else 0.0

    def forget(self, item: Hashable) -> None:
        pass

    def num_requeues(self, item: Hashable) -> int:
        return 0


class MaxOfRateLimiter:
    """The largest delay any of the limiters asks for (every limiter counts the call)."""

    def __init__(self, *limiters: RateLimiter) -> None:
        if not limiters:
            raise ValueError("MaxOfRateLimiter needs at least one limiter")
        self.limiters = limiters

    def when(self, item: Hashable) -> float:
        return max(lim.when(item) for lim in self.limiters)

    def forget(self, item: Hashable) -> None:
        for lim in self.limiters:
            lim.forget(item)

    def num_requeues(self, item: Hashable) -> int:
        return max(lim.num_requeues(item) for lim in self.limiters)


def default_controller_rate_limiter(clock: Clock | None = None) -> MaxOfRateLimiter:
    """client-go's DefaultControllerRateLimiter."""
    return MaxOfRateLimiter(
        ItemExponentialFailureRateLimiter(0.005, 1000.0),
        BucketRateLimiter(10.0, 100, clock),
    )
