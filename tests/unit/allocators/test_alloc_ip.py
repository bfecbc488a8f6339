"""ClusterIP allocation against upstream ``ipallocator/bitmap.go`` and KEP-3070."""

from __future__ import annotations

import ipaddress
import random
from dataclasses import dataclass

import pytest

from svcnet.allocators import (
    AlreadyAllocated,
    ClusterIPAllocator,
    Full,
    InvalidRange,
    IPRange,
    MismatchedRange,
    NotInRange,
    RangeSnapshot,
    ip_allocation_detail,
    next_ip_failure,
    static_band_size,
)


def rng(seed: int = 0) -> random.Random:
    return random.Random(seed)


@dataclass(frozen=True)
class RangeCase:
    id: str
    cidr: str
    size: int  # usable addresses (bitmap slots)
    band: int  # static band
    first: str
    last: str  # last usable address


RANGE_CASES = [
    # IPv4: network and broadcast excluded; band from the CIDR's address count.
    RangeCase("v4-/28-no-band-cidr-size-16", "10.0.0.0/28", 14, 0, "10.0.0.1", "10.0.0.14"),
    RangeCase("v4-/24-band-16", "10.0.0.0/24", 254, 16, "10.0.0.1", "10.0.0.254"),
    # 4096 // 16 = 256 (the usable count 4094 would give 255: the off-by-one).
    RangeCase(
        "v4-/20-band-256-uses-cidr-size", "10.0.0.0/20", 4094, 256, "10.0.0.1", "10.0.15.254"
    ),
    RangeCase("v4-/16-band-capped-256", "10.96.0.0/16", 65534, 256, "10.96.0.1", "10.96.255.254"),
    RangeCase(
        "v4-/12-band-capped-256", "10.96.0.0/12", 1048574, 256, "10.96.0.1", "10.111.255.254"
    ),
    # IPv6: no broadcast, bitmap capped at 65536 slots minus the network address.
    RangeCase("v6-/112-band-256", "fd00::/112", 65535, 256, "fd00::1", "fd00::ffff"),
    RangeCase("v6-/108-capped-65535", "fd00::/108", 65535, 256, "fd00::1", "fd00::ffff"),
    RangeCase("v6-/64-capped-65535", "2001:db8::/64", 65535, 256, "2001:db8::1", "2001:db8::ffff"),
    RangeCase("v6-/120-band-16", "fd00::/120", 255, 16, "fd00::1", "fd00::ff"),
]


@pytest.mark.parametrize("case", RANGE_CASES, ids=lambda c: c.id)
def test_range_layout(case: RangeCase) -> None:
    r = IPRange(case.cidr)
    assert (r.size, r.static_band, r.first_ip) == (case.size, case.band, case.first)
    assert r.ip_at(r.size - 1) == case.last
    assert r.offset(case.first) == 0 and r.offset(case.last) == r.size - 1
    a = ClusterIPAllocator(case.cidr, rng())
    assert (a.size, a.static_band, a.first_ip, a.free()) == (
        case.size,
        case.band,
        case.first,
        case.size,
    )
    net = ipaddress.ip_network(case.cidr)
    assert static_band_size(net.num_addresses) == case.band


@dataclass(frozen=True)
class NotInRangeCase:
    id: str
    cidr: str
    ip: str


NOT_IN_RANGE_CASES = [
    NotInRangeCase("v4-network-address-excluded", "10.0.0.0/24", "10.0.0.0"),
    NotInRangeCase("v4-broadcast-excluded", "10.0.0.0/24", "10.0.0.255"),
    NotInRangeCase("v4-outside-cidr", "10.0.0.0/16", "10.1.0.5"),
    NotInRangeCase("v4-ip-in-v6-range", "fd00::/112", "10.0.0.1"),
    NotInRangeCase("v6-ip-in-v4-range", "10.0.0.0/24", "fd00::1"),
    NotInRangeCase("v6-network-address-excluded", "fd00::/112", "fd00::"),
    NotInRangeCase("v6-past-65535-slot-cap", "fd00::/108", "fd00::1:0"),
    NotInRangeCase("v6-/64-past-cap", "2001:db8::/64", "2001:db8::1:1"),
]


@pytest.mark.parametrize("case", NOT_IN_RANGE_CASES, ids=lambda c: c.id)
def test_not_in_range(case: NotInRangeCase) -> None:
    a = ClusterIPAllocator(case.cidr, rng())
    assert not a.contains(case.ip)
    with pytest.raises(NotInRange) as exc:
        a.allocate(case.ip)
    assert exc.value.range == a.cidr
    assert not a.has(case.ip)
    assert a.release(case.ip) is False  # never releasable either
    assert a.used() == 0


def test_error_messages_are_upstreams() -> None:
    a = ClusterIPAllocator("10.0.0.0/16", rng())
    a.allocate("10.0.0.5")
    with pytest.raises(AlreadyAllocated) as dup:
        a.allocate("10.0.0.5")
    assert str(dup.value) == "provided IP is already allocated"
    assert ip_allocation_detail("10.0.0.5", dup.value) == (
        "failed to allocate IP 10.0.0.5: provided IP is already allocated"
    )
    with pytest.raises(NotInRange) as out:
        a.allocate("10.1.0.5")
    assert str(out.value) == (
        "the provided IP (10.1.0.5) is not in the valid range. "
        "The range of valid IPs is 10.0.0.0/16"
    )
    assert out.value.value == ipaddress.ip_address("10.1.0.5")


def test_allocate_every_address_of_a_28_then_full() -> None:
    a = ClusterIPAllocator("192.168.1.0/28", rng(3))
    got = {a.allocate_next() for _ in range(14)}
    assert got == {f"192.168.1.{i}" for i in range(1, 15)}
    assert a.free() == 0
    with pytest.raises(Full) as exc:
        a.allocate_next()
    assert str(exc.value) == "range is full"
    assert next_ip_failure(exc.value) == "failed to allocate a serviceIP: range is full"
    a.release("192.168.1.7")
    assert a.allocate_next() == "192.168.1.7"


@pytest.mark.parametrize(
    "cidr", ["10.0.0.0/24", "10.0.0.0/26", "fd00::/120"], ids=["v4-/24", "v4-/26", "v6-/120"]
)
def test_dynamic_takes_upper_band_until_full_kep3070(cidr: str) -> None:
    a = ClusterIPAllocator(cidr, rng(5))
    band = a.static_band
    assert band == 16
    upper = [a.allocate_next() for _ in range(a.size - band)]
    assert not any(a.in_static_band(ip) for ip in upper)
    lower = [a.allocate_next() for _ in range(band)]
    assert all(a.in_static_band(ip) for ip in lower)
    with pytest.raises(Full):
        a.allocate_next()


def test_static_requests_honoured_in_both_bands() -> None:
    a = ClusterIPAllocator("10.96.0.0/16", rng(1))
    a.allocate(a.first_ip)  # default/kubernetes
    a.allocate("10.96.0.10")  # kube-dns, lower band
    a.allocate("10.96.200.7")  # upper band
    assert a.in_static_band("10.96.0.10") and a.in_static_band("10.96.1.0")
    assert not a.in_static_band("10.96.1.1")  # offset 256: first dynamic address
    assert a.has("10.96.0.1") and a.has("10.96.0.10") and a.has("10.96.200.7")
    assert set(a) == {"10.96.0.1", "10.96.0.10", "10.96.200.7"}


def test_release_then_reallocate() -> None:
    a = ClusterIPAllocator("10.0.0.0/24", rng())
    a.allocate("10.0.0.20")
    assert a.release("10.0.0.20") is True
    assert a.release("10.0.0.20") is False
    a.allocate("10.0.0.20")
    assert a.used() == 1


def test_accepts_address_objects_and_normalises_v6() -> None:
    a = ClusterIPAllocator("fd00:10:96::/112", rng())
    a.allocate(ipaddress.ip_address("fd00:10:96::a"))
    assert a.has("FD00:10:96:0::A")
    assert list(a) == ["fd00:10:96::a"]


def test_garbage_is_not_in_range() -> None:
    a = ClusterIPAllocator("10.0.0.0/24", rng())
    assert not a.contains("not-an-ip") and not a.has("not-an-ip")
    with pytest.raises(NotInRange):
        a.allocate("not-an-ip")


def test_snapshot_restore_round_trip() -> None:
    a = ClusterIPAllocator("10.0.0.0/20", rng(1))
    taken = {a.allocate_next() for _ in range(300)} | {"10.0.0.1", "10.0.0.10"}
    a.allocate("10.0.0.1")
    a.allocate("10.0.0.10")
    snap = a.snapshot()
    assert snap.range == "10.0.0.0/20"
    wire = RangeSnapshot.from_dict(snap.to_dict())
    assert wire == snap
    b = ClusterIPAllocator("10.0.0.0/20", rng(2))
    b.restore(wire)
    assert set(b) == taken and b.used() == len(taken)
    # Restored state keeps the band rule: no dynamic pick lands in the band.
    assert not any(b.in_static_band(b.allocate_next()) for _ in range(100))


def test_snapshot_data_matches_upstream_offsets() -> None:
    a = ClusterIPAllocator("10.0.0.0/24", rng())
    a.allocate("10.0.0.1")  # offset 0
    a.allocate("10.0.0.10")  # offset 9
    assert a.snapshot() == RangeSnapshot("10.0.0.0/24", b"\x02\x01")


def test_restore_checks_the_range() -> None:
    a = ClusterIPAllocator("10.0.0.0/24", rng())
    a.allocate("10.0.0.3")
    with pytest.raises(MismatchedRange) as exc:
        a.restore(RangeSnapshot("10.0.1.0/24", b"\x01"))
    assert str(exc.value) == "the provided network does not match the current range"
    with pytest.raises(MismatchedRange):
        a.restore(RangeSnapshot("garbage", b""))
    assert set(a) == {"10.0.0.3"}
    a.restore(RangeSnapshot("10.0.0.77/24", b"\x01"))  # sloppy CIDR: same network
    assert set(a) == {"10.0.0.1"}


def test_copy_is_independent() -> None:
    a = ClusterIPAllocator("10.0.0.0/24", rng())
    a.allocate("10.0.0.5")
    b = a.copy()
    b.allocate("10.0.0.6")
    assert set(a) == {"10.0.0.5"} and set(b) == {"10.0.0.5", "10.0.0.6"}


@pytest.mark.parametrize("cidr", ["", "10.0.0.0/33", "banana", "10.0.0.300/24"])
def test_invalid_cidr(cidr: str) -> None:
    with pytest.raises(InvalidRange):
        IPRange(cidr)


def test_host_bits_are_masked_like_parse_cidr_sloppy() -> None:
    assert IPRange("10.96.3.4/16").cidr == "10.96.0.0/16"


@pytest.mark.parametrize(
    ("cidr", "size"),
    [
        ("10.0.0.0/32", 0),
        ("10.0.0.0/31", 0),
        ("10.0.0.0/30", 2),
        ("fd00::/128", 0),
        ("fd00::/127", 1),
    ],
)
def test_tiny_ranges(cidr: str, size: int) -> None:
    a = ClusterIPAllocator(cidr, rng())
    assert a.size == size and a.static_band == 0
    assert len({a.allocate_next() for _ in range(size)}) == size
    with pytest.raises(Full):
        a.allocate_next()
