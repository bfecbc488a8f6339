"""Dual-stack allocators and kube-apiserver's ``--service-cluster-ip-range`` checks."""

from __future__ import annotations

import random
from dataclasses import dataclass

import pytest

from svcnet.allocators import (
    IPV4,
    IPV6,
    DualStackAllocator,
    InvalidRange,
    MismatchedRange,
    NotInRange,
    RangeSnapshot,
    validate_service_cidrs,
)


def test_families_in_configured_order() -> None:
    d = DualStackAllocator("fd00:10:96::/112,10.96.0.0/16", random.Random(0))
    assert d.families == (IPV6, IPV4)
    assert d.primary_family == IPV6 and d.is_dual_stack
    assert d.first_ip == "fd00:10:96::1"
    assert IPV4 in d and d[IPV4].cidr == "10.96.0.0/16"


def test_routes_by_family() -> None:
    d = DualStackAllocator(["10.96.0.0/16", "fd00:10:96::/112"], random.Random(1))
    d.allocate("10.96.0.10")
    d.allocate("fd00:10:96::a")
    assert d[IPV4].has("10.96.0.10") and d[IPV6].has("fd00:10:96::a")
    v4, v6 = d.allocate_next(), d.allocate_next(IPV6)
    assert d[IPV4].contains(v4) and d[IPV6].contains(v6)
    assert d.release("10.96.0.10") and not d.has("10.96.0.10")
    assert d.for_ip("garbage") is None


def test_single_stack_rejects_other_family() -> None:
    d = DualStackAllocator("10.96.0.0/16", random.Random(0))
    assert d.families == (IPV4,) and not d.is_dual_stack
    with pytest.raises(NotInRange):
        d.allocate("fd00::1")
    with pytest.raises(KeyError):
        d.allocate_next(IPV6)
    assert not d.contains("fd00::1") and not d.has("fd00::1") and not d.release("fd00::1")


def test_snapshot_restore_per_family() -> None:
    d = DualStackAllocator("10.96.0.0/16,fd00::/112", random.Random(2))
    taken = {d.allocate_next(IPV4) for _ in range(5)} | {d.allocate_next(IPV6) for _ in range(5)}
    snaps = d.snapshot()
    assert set(snaps) == {IPV4, IPV6}
    e = DualStackAllocator("10.96.0.0/16,fd00::/112", random.Random(3))
    e.restore(snaps)
    assert set(e[IPV4]) | set(e[IPV6]) == taken
    with pytest.raises(MismatchedRange):
        DualStackAllocator("10.96.0.0/16").restore({IPV6: RangeSnapshot("fd00::/112")})


def test_copy_and_clear() -> None:
    d = DualStackAllocator("10.96.0.0/16,fd00::/112", random.Random(2))
    d.allocate("10.96.0.5")
    c = d.copy()
    c.clear()
    assert d.has("10.96.0.5") and not c.has("10.96.0.5")


@pytest.mark.parametrize(
    "cidrs",
    [
        [],
        ["10.0.0.0/16", "10.1.0.0/16"],
        ["fd00::/112", "fd01::/112"],
        ["10.0.0.0/16", "fd00::/112", "10.1.0.0/16"],
        ["nope"],
    ],
    ids=["none", "two-v4", "two-v6", "three", "garbage"],
)
def test_invalid_configurations(cidrs: list[str]) -> None:
    with pytest.raises(InvalidRange):
        DualStackAllocator(cidrs)


@dataclass(frozen=True)
class FlagCase:
    id: str
    value: str
    errors: tuple[str, ...]


FLAG_CASES = [
    FlagCase("valid-v4", "10.96.0.0/12", ()),
    FlagCase("valid-dual", "10.96.0.0/16,fd00:10:96::/108", ()),
    FlagCase(
        "v4-mask-must-be->=12",
        "10.0.0.0/8",
        (
            "specified --service-cluster-ip-range is too large; for 32-bit addresses, the mask must be >= 12",
        ),
    ),
    FlagCase(
        "v6-secondary-mask-must-be->=108",
        "10.0.0.0/16,fd00::/64",
        (
            "specified --service-cluster-ip-range[1] is too large; for 128-bit addresses, the mask must be >= 108",
        ),
    ),
    FlagCase(
        "same-family",
        "10.0.0.0/16,10.1.0.0/16",
        (
            "--service-cluster-ip-range[0] and --service-cluster-ip-range[1] must be of different IP family",
        ),
    ),
    FlagCase(
        "more-than-two",
        "10.0.0.0/16,fd00::/112,10.1.0.0/16",
        ("--service-cluster-ip-range must not contain more than two entries",),
    ),
    FlagCase("bad-primary", "x", ("service-cluster-ip-range[0] is not a valid cidr",)),
    FlagCase("bad-secondary", "10.0.0.0/16,y", ("service-cluster-ip-range[1] is not an ip net",)),
]


@pytest.mark.parametrize("case", FLAG_CASES, ids=lambda c: c.id)
def test_validate_service_cidrs_kube_apiserver_options(case: FlagCase) -> None:
    assert tuple(validate_service_cidrs(case.value)) == case.errors
