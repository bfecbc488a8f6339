"""NodePort allocation against upstream ``portallocator``, KEP-3668 and apimachinery ``PortRange``."""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Any

import pytest

from svcnet.allocators import (
    AlreadyAllocated,
    Full,
    InvalidRange,
    MismatchedRange,
    NodePortAllocator,
    NotInRange,
    PortRange,
    RangeSnapshot,
    collect_node_ports,
    next_node_port_failure,
    node_port_static_band_size,
)


@dataclass(frozen=True)
class ParseCase:
    id: str
    value: str
    want: PortRange | None = None
    error: str = ""


PARSE_CASES = [
    ParseCase("default-range", "30000-32767", PortRange(30000, 2768)),
    ParseCase("whitespace-trimmed", " 100-200 ", PortRange(100, 101)),
    ParseCase("single-port", "30000", PortRange(30000, 1)),
    ParseCase("empty-is-empty-range", "", PortRange(0, 0)),
    ParseCase("plus-sign-like-atoi", "+100-+200", PortRange(100, 101)),
    ParseCase(
        "single-not-a-number",
        "abc",
        error='unable to parse port range: abc: strconv.Atoi: parsing "abc": invalid syntax, '
        "expected hyphen in port range or a single port number",
    ),
    ParseCase("single-out-of-range", "70000", error="the port range should between 0 and 65535"),
    ParseCase(
        "high-not-a-number",
        "30000-abc",
        error='unable to parse port range: 30000-abc: strconv.Atoi: parsing "abc": invalid syntax',
    ),
    ParseCase(
        "leading-hyphen-empty-low",
        "-5",
        error='unable to parse port range: -5: strconv.Atoi: parsing "": invalid syntax',
    ),
    ParseCase(
        "beyond-int64",
        "1-99999999999999999999",
        error="unable to parse port range: 1-99999999999999999999: strconv.Atoi: parsing "
        '"99999999999999999999": value out of range',
    ),
    ParseCase(
        "greater-than-65535",
        "30000-70000",
        error="the port range cannot be greater than 65535: 30000-70000",
    ),
    ParseCase(
        "end-before-start", "200-100", error="end port cannot be less than start port: 200-100"
    ),
]


@pytest.mark.parametrize("case", PARSE_CASES, ids=lambda c: c.id)
def test_parse_port_range_apimachinery(case: ParseCase) -> None:
    if case.error:
        with pytest.raises(InvalidRange) as exc:
            PortRange.parse(case.value)
        assert str(exc.value) == case.error
        with pytest.raises(ValueError):  # InvalidRange is a ValueError for config code
            NodePortAllocator(case.value)
    else:
        assert PortRange.parse(case.value) == case.want


@pytest.mark.parametrize(
    ("pr", "text"),
    [(PortRange(30000, 2768), "30000-32767"), (PortRange(80, 1), "80-80"), (PortRange(0, 0), "")],
)
def test_port_range_string(pr: PortRange, text: str) -> None:
    assert str(pr) == text


@dataclass(frozen=True)
class BandCase:
    id: str
    spec: str
    band: int


BAND_CASES = [
    BandCase("kep3668-default-86", "30000-32767", 86),
    BandCase("kep3668-16-ports-no-band", "30000-30015", 0),
    BandCase("kep3668-17-ports-floor-16", "30000-30016", 16),
    BandCase("kep3668-100-ports-floor-16", "30000-30099", 16),
    BandCase("kep3668-large-cap-128", "20000-32767", 128),
]


@pytest.mark.parametrize("case", BAND_CASES, ids=lambda c: c.id)
def test_static_band_kep3668(case: BandCase) -> None:
    a = NodePortAllocator(case.spec, random.Random(0))
    assert a.static_band == case.band == node_port_static_band_size(a.size)


@pytest.mark.parametrize("spec", ["30000-30099", "30000-32767"], ids=["100-ports", "default"])
def test_dynamic_takes_upper_band_until_full(spec: str) -> None:
    a = NodePortAllocator(spec, random.Random(8))
    upper = [a.allocate_next() for _ in range(a.size - a.static_band)]
    assert not any(a.in_static_band(p) for p in upper)
    lower = [a.allocate_next() for _ in range(a.static_band)]
    assert sorted(lower) == list(range(a.range.base, a.range.base + a.static_band))
    with pytest.raises(Full) as exc:
        a.allocate_next()
    assert next_node_port_failure(exc.value) == "failed to allocate a nodePort: range is full"


def test_static_requests_and_errors() -> None:
    a = NodePortAllocator(rng=random.Random(1))
    a.allocate(30000)  # lower band
    a.allocate(30080)
    a.allocate(32767)  # upper band, last port
    assert a.has(30080) and a.in_static_band(30080) and not a.in_static_band(30086)
    with pytest.raises(AlreadyAllocated) as dup:
        a.allocate(30080)
    assert str(dup.value) == "provided port is already allocated"
    assert (dup.value.value, dup.value.range) == (30080, "30000-32767")
    for port in (29999, 32768, 80):
        with pytest.raises(NotInRange) as out:
            a.allocate(port)
        assert str(out.value) == (
            "provided port is not in the valid range. The range of valid ports is 30000-32767"
        )
    assert a.release(30080) and not a.release(30080) and not a.release(80)
    assert list(a) == [30000, 32767]


def test_small_range_full() -> None:
    a = NodePortAllocator("30000-30009", random.Random(2))
    assert {a.allocate_next() for _ in range(10)} == set(range(30000, 30010))
    with pytest.raises(Full):
        a.allocate_next()


def test_empty_range() -> None:
    a = NodePortAllocator("", random.Random(0))
    with pytest.raises(NotInRange):
        a.allocate(30000)
    with pytest.raises(Full):
        a.allocate_next()


def test_snapshot_restore() -> None:
    a = NodePortAllocator(rng=random.Random(3))
    taken = {a.allocate_next() for _ in range(50)} | {30000}
    a.allocate(30000)
    snap = RangeSnapshot.from_dict(a.snapshot().to_dict())
    assert snap.range == "30000-32767"
    b = NodePortAllocator(rng=random.Random(4))
    b.restore(snap)
    assert set(b) == taken
    with pytest.raises(MismatchedRange) as exc:
        NodePortAllocator("30000-30100").restore(snap)
    assert str(exc.value) == "the provided port range does not match the current port range"
    c = a.copy()
    c.clear()
    assert a.used() == 51 and c.used() == 0


def svc(ports: list[dict[str, Any]], health: int = 0) -> dict[str, Any]:
    spec: dict[str, Any] = {"type": "LoadBalancer", "ports": ports}
    if health:
        spec["healthCheckNodePort"] = health
    return {"metadata": {"namespace": "ns", "name": "s"}, "spec": spec}


@dataclass(frozen=True)
class CollectCase:
    id: str
    service: dict[str, Any]
    want: list[int]


COLLECT_CASES = [
    CollectCase("no-node-ports", svc([{"port": 80}]), []),
    CollectCase("one-port", svc([{"port": 80, "nodePort": 30080}]), [30080]),
    CollectCase(
        "same-nodeport-different-protocols-counted-once",
        svc(
            [
                {"port": 53, "protocol": "TCP", "nodePort": 30053},
                {"port": 53, "protocol": "UDP", "nodePort": 30053},
            ]
        ),
        [30053],
    ),
    CollectCase(
        "same-nodeport-same-protocol-counted-twice",
        svc([{"port": 80, "nodePort": 30080}, {"port": 81, "nodePort": 30080}]),
        [30080, 30080],
    ),
    CollectCase("health-check-port", svc([{"port": 80, "nodePort": 30080}], 31000), [30080, 31000]),
    CollectCase(
        "health-check-equal-to-tcp-nodeport-duplicate",
        svc([{"port": 80, "nodePort": 30080}], 30080),
        [30080, 30080],
    ),
    CollectCase(
        "health-check-equal-to-udp-only-nodeport-shared",
        svc([{"port": 53, "protocol": "UDP", "nodePort": 30053}], 30053),
        [30053],
    ),
]


@pytest.mark.parametrize("case", COLLECT_CASES, ids=lambda c: c.id)
def test_collect_service_node_ports(case: CollectCase) -> None:
    assert collect_node_ports(case.service) == case.want
