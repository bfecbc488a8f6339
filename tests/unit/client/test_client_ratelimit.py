"""Rate limiters (client-go workqueue/default_rate_limiters.go semantics), on a fake clock."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from svcnet.client.clock import FakeClock
from svcnet.client.ratelimit import (
    BucketRateLimiter,
    ItemExponentialFailureRateLimiter,
    ItemFastSlowRateLimiter,
    MaxOfRateLimiter,
    default_controller_rate_limiter,
)


@dataclass(frozen=True)
class ExpCase:
    id: str
    base: float
    max: float
    want: list[float]


EXP_CASES = [
    # upstream TestItemExponentialFailureRateLimiter: 1ms base, 1s max
    ExpCase("doubles-from-base", 0.001, 1.0, [0.001, 0.002, 0.004, 0.008, 0.016]),
    ExpCase("capped-at-max", 0.001, 0.005, [0.001, 0.002, 0.004, 0.005, 0.005]),
    ExpCase("client-go-default", 0.005, 1000.0, [0.005, 0.01, 0.02, 0.04]),
]


@pytest.mark.parametrize("case", EXP_CASES, ids=lambda c: c.id)
def test_item_exponential(case: ExpCase) -> None:
    rl = ItemExponentialFailureRateLimiter(case.base, case.max)
    assert [rl.when("one") for _ in case.want] == pytest.approx(case.want)
    assert rl.num_requeues("one") == len(case.want)


def test_item_exponential_is_per_item_and_forget_resets() -> None:
    rl = ItemExponentialFailureRateLimiter(0.001, 1.0)
    rl.when("one")
    rl.when("one")
    assert rl.when("two") == pytest.approx(0.001)
    rl.forget("one")
    assert rl.num_requeues("one") == 0
    assert rl.when("one") == pytest.approx(0.001)


def test_item_exponential_never_overflows() -> None:
    rl = ItemExponentialFailureRateLimiter(0.005, 1000.0)
    delays = [rl.when("x") for _ in range(2000)]
    assert delays[-1] == 1000.0
    assert max(delays) == 1000.0


def test_fast_slow() -> None:
    # upstream TestItemFastSlowRateLimiter: 5ms fast for 3 attempts, then 10s
    rl = ItemFastSlowRateLimiter(0.005, 10.0, 3)
    assert [rl.when("one") for _ in range(5)] == [0.005, 0.005, 0.005, 10.0, 10.0]
    assert rl.num_requeues("one") == 5
    rl.forget("one")
    assert rl.when("one") == 0.005


def test_bucket_burst_then_qps() -> None:
    clock = FakeClock()
    rl = BucketRateLimiter(qps=10, burst=100, clock=clock)
    # the bucket starts full: the first `burst` calls pass without delay
    assert [rl.when(i) for i in range(100)] == [0.0] * 100
    # then each call goes 1/qps further into debt
    assert rl.when("a") == pytest.approx(0.1)
    assert rl.when("b") == pytest.approx(0.2)
    clock.step(0.2)  # two tokens refilled: debt paid
    assert rl.when("c") == pytest.approx(0.1)
    clock.step(1000)  # refill caps at burst
    assert [rl.when(i) for i in range(100)] == [0.0] * 100
    assert rl.when("d") == pytest.approx(0.1)
    assert rl.num_requeues("d") == 0


def test_max_of_takes_worst_and_forgets_all() -> None:
    rl = MaxOfRateLimiter(
        ItemFastSlowRateLimiter(0.005, 3.0, 3),
        ItemExponentialFailureRateLimiter(0.001, 1.0),
    )
    got = [rl.when("one") for _ in range(5)]
    assert got == pytest.approx([0.005, 0.005, 0.005, 3.0, 3.0])
    assert rl.num_requeues("one") == 5
    rl.forget("one")
    assert rl.num_requeues("one") == 0


def test_default_controller_rate_limiter() -> None:
    clock = FakeClock()
    rl = default_controller_rate_limiter(clock)
    assert rl.when("k") == pytest.approx(0.005)
    assert rl.when("k") == pytest.approx(0.01)
    # 98 more distinct items empty the bucket (2 tokens used above)
    for i in range(98):
        assert rl.when(f"i{i}") == pytest.approx(0.005)
    # bucket empty: a fresh item waits for a token (0.1s) although its own backoff is 5ms
    assert rl.when("fresh") == pytest.approx(0.1)
