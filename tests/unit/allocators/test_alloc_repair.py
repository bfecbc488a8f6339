"""Repair passes against upstream's ipallocator / portallocator repair controllers."""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from typing import Any

import pytest

from svcnet.allocators import (
    LEAK_PASSES,
    DualStackAllocator,
    NodePortAllocator,
    repair_ips,
    repair_ports,
    service_cluster_ips,
)

V4 = "10.0.0.0/24"
V6 = "fd00::/112"


def svc(name: str, *ips: str, ns: str = "default", **spec: Any) -> dict[str, Any]:
    s: dict[str, Any] = {"type": "ClusterIP", **spec}
    if ips:
        s["clusterIP"] = ips[0]
        s["clusterIPs"] = list(ips)
    return {"metadata": {"namespace": ns, "name": name, "uid": f"uid-{name}"}, "spec": s}


def stored_ips(*ips: str, cidrs: str = V4) -> DualStackAllocator:
    d = DualStackAllocator(cidrs, random.Random(0))
    for ip in ips:
        d.allocate(ip)
    return d


def events(result: Any) -> list[tuple[str, str, str]]:
    return [(e.name, e.reason, e.message) for e in result.events]


@dataclass(frozen=True)
class IPCase:
    id: str
    stored: tuple[str, ...]
    services: list[dict[str, Any]]
    want_allocated: set[str]
    want_events: list[tuple[str, str, str]] = field(default_factory=list)
    cidrs: str = V4


IP_CASES = [
    IPCase(
        "consistent-state-no-events",
        ("10.0.0.5",),
        [svc("a", "10.0.0.5")],
        {"10.0.0.5"},
    ),
    IPCase(
        "used-but-not-allocated-is-repaired",
        (),
        [svc("a", "10.0.0.5")],
        {"10.0.0.5"},
        [("a", "ClusterIPNotAllocated", "Cluster IP [IPv4]:10.0.0.5 is not allocated; repairing")],
    ),
    IPCase(
        "duplicate-second-service-by-name-order",
        ("10.0.0.5",),
        [svc("b", "10.0.0.5"), svc("a", "10.0.0.5")],
        {"10.0.0.5"},
        [
            (
                "b",
                "ClusterIPAlreadyAllocated",
                "Cluster IP [IPv4]:10.0.0.5 was assigned to multiple services; please recreate service",
            )
        ],
    ),
    IPCase(
        "out-of-range",
        (),
        [svc("a", "10.1.0.5")],
        set(),
        [
            (
                "a",
                "ClusterIPOutOfRange",
                "Cluster IP [IPv4]:10.1.0.5 is not within the service CIDR 10.0.0.0/24; "
                "please recreate service",
            )
        ],
    ),
    IPCase(
        "broadcast-is-out-of-range",
        (),
        [svc("a", "10.0.0.255")],
        set(),
        [
            (
                "a",
                "ClusterIPOutOfRange",
                "Cluster IP [IPv4]:10.0.0.255 is not within the service CIDR 10.0.0.0/24; "
                "please recreate service",
            )
        ],
    ),
    IPCase(
        "not-an-ip",
        (),
        [svc("a", "banana")],
        set(),
        [
            (
                "a",
                "ClusterIPNotValid",
                "Cluster IP banana is not a valid IP; please recreate service",
            )
        ],
    ),
    IPCase(
        "family-no-longer-configured",
        (),
        [svc("a", "10.0.0.5", "fd00::5")],
        {"10.0.0.5"},
        [
            (
                "a",
                "ClusterIPNotAllocated",
                "Cluster IP [IPv4]:10.0.0.5 is not allocated; repairing",
            ),
            (
                "a",
                "ClusterIPNotValid",
                "Cluster IP fd00::5(IPv6) is of ip family that is no longer configured on "
                "cluster; please recreate service",
            ),
        ],
    ),
    IPCase(
        "dual-stack-both-families",
        ("fd00::5",),
        [svc("a", "10.0.0.5", "fd00::5")],
        {"10.0.0.5", "fd00::5"},
        [("a", "ClusterIPNotAllocated", "Cluster IP [IPv4]:10.0.0.5 is not allocated; repairing")],
        cidrs=f"{V4},{V6}",
    ),
    IPCase(
        "headless-external-name-and-unset-skipped",
        (),
        [
            svc("h", "None"),
            {"metadata": {"namespace": "default", "name": "e"}, "spec": {"type": "ExternalName"}},
            svc("u"),
        ],
        set(),
    ),
    IPCase(
        "pre-dual-stack-object-without-clusterIPs",
        ("10.0.0.7",),
        [{"metadata": {"namespace": "x", "name": "old"}, "spec": {"clusterIP": "10.0.0.7"}}],
        {"10.0.0.7"},
    ),
]


@pytest.mark.parametrize("case", IP_CASES, ids=lambda c: c.id)
def test_repair_ips(case: IPCase) -> None:
    stored = stored_ips(*case.stored, cidrs=case.cidrs)
    before = stored.snapshot()
    result = repair_ips(stored, case.services)
    allocated = {ip for alloc in result.rebuilt.by_family.values() for ip in alloc}
    assert allocated == case.want_allocated
    assert result.in_use == case.want_allocated
    assert events(result) == case.want_events
    assert stored.snapshot() == before  # the input is never mutated
    assert result.changed == (before != result.rebuilt.snapshot())


def test_event_carries_involved_object() -> None:
    result = repair_ips(stored_ips(), [svc("a", "10.0.0.5", ns="prod")])
    (ev,) = result.events
    assert (ev.type, ev.action) == ("Warning", "ClusterIPAllocation")
    assert ev.involved_object() == {
        "kind": "Service",
        "apiVersion": "v1",
        "namespace": "prod",
        "name": "a",
        "uid": "uid-a",
    }


@pytest.mark.parametrize(
    "passes", [1, 2, LEAK_PASSES], ids=lambda n: f"leak-freed-after-{n}-passes"
)
def test_leak_freed_only_after_consecutive_passes(passes: int) -> None:
    # numRepairsBeforeLeakCleanup: an allocated IP no Service holds stays
    # allocated (a create may be in flight) until seen unused N times.
    state = stored_ips("10.0.0.5", "10.0.0.50")
    services = [svc("a", "10.0.0.5")]
    leaks: dict[str, int] = {}
    for n in range(1, passes):
        result = repair_ips(state, services, leaks, leak_passes=passes)
        assert result.leak_pending == {"10.0.0.50"} and not result.freed
        assert result.leaks == {"10.0.0.50": n}
        assert result.rebuilt.has("10.0.0.50")
        assert not result.changed and not result.events
        state, leaks = result.rebuilt, dict(result.leaks)
    result = repair_ips(state, services, leaks, leak_passes=passes)
    assert result.freed == {"10.0.0.50"} and not result.leak_pending
    assert result.leaks == {}
    assert not result.rebuilt.has("10.0.0.50") and result.rebuilt.has("10.0.0.5")
    assert result.changed


def test_leak_counter_reset_when_value_used_again() -> None:
    state = stored_ips("10.0.0.50")
    r1 = repair_ips(state, [])
    assert r1.leaks == {"10.0.0.50": 1}
    # The in-flight create lands: the IP is used, so it is no leak any more.
    r2 = repair_ips(r1.rebuilt, [svc("late", "10.0.0.50")], r1.leaks)
    assert r2.leaks == {} and not r2.events
    # Deleted later without release: counting starts from scratch.
    r3 = repair_ips(r2.rebuilt, [], r2.leaks)
    assert r3.leaks == {"10.0.0.50": 1} and r3.rebuilt.has("10.0.0.50")


def test_repair_is_idempotent() -> None:
    services = [svc("a", "10.0.0.5"), svc("b", "10.0.0.5"), svc("c", "10.0.0.9")]
    r1 = repair_ips(stored_ips(), services)
    assert r1.changed and r1.repaired == {"10.0.0.5", "10.0.0.9"}
    r2 = repair_ips(r1.rebuilt, services, r1.leaks)
    assert not r2.changed and not r2.repaired
    # Only the standing duplicate is reported again.
    assert [e.reason for e in r2.events] == ["ClusterIPAlreadyAllocated"]


def test_rejects_zero_leak_passes() -> None:
    with pytest.raises(ValueError):
        repair_ips(stored_ips(), [], leak_passes=0)


def test_service_cluster_ips() -> None:
    assert service_cluster_ips(svc("a", "10.0.0.5", "fd00::5")) == ["10.0.0.5", "fd00::5"]
    assert service_cluster_ips(svc("h", "None")) == []
    assert service_cluster_ips({"spec": {}}) == []


def port_svc(name: str, *node_ports: int, health: int = 0) -> dict[str, Any]:
    ports = [{"port": 80 + i, "protocol": "TCP", "nodePort": p} for i, p in enumerate(node_ports)]
    spec: dict[str, Any] = {"type": "NodePort", "ports": ports}
    if health:
        spec["healthCheckNodePort"] = health
    return {"metadata": {"namespace": "default", "name": name}, "spec": spec}


def stored_ports(*ports: int) -> NodePortAllocator:
    a = NodePortAllocator("30000-32767", random.Random(0))
    for p in ports:
        a.allocate(p)
    return a


@dataclass(frozen=True)
class PortCase:
    id: str
    stored: tuple[int, ...]
    services: list[dict[str, Any]]
    want_allocated: set[int]
    want_events: list[tuple[str, str, str]] = field(default_factory=list)


PORT_CASES = [
    PortCase("consistent", (30080,), [port_svc("a", 30080)], {30080}),
    PortCase(
        "not-allocated-repaired",
        (),
        [port_svc("a", 30080, health=31000)],
        {30080, 31000},
        [
            ("a", "PortNotAllocated", "Port 30080 is not allocated; repairing"),
            ("a", "PortNotAllocated", "Port 31000 is not allocated; repairing"),
        ],
    ),
    PortCase(
        "duplicate-across-services",
        (30080,),
        [port_svc("a", 30080), port_svc("b", 30080)],
        {30080},
        [
            (
                "b",
                "PortAlreadyAllocated",
                "Port 30080 was assigned to multiple services; please recreate service",
            )
        ],
    ),
    PortCase(
        "out-of-range",
        (),
        [port_svc("a", 80)],
        set(),
        [
            (
                "a",
                "PortOutOfRange",
                "Port 80 is not within the port range 30000-32767; please recreate service",
            )
        ],
    ),
]


@pytest.mark.parametrize("case", PORT_CASES, ids=lambda c: c.id)
def test_repair_ports(case: PortCase) -> None:
    stored = stored_ports(*case.stored)
    before = stored.snapshot()
    result = repair_ports(stored, case.services)
    assert set(result.rebuilt) == case.want_allocated
    assert events(result) == case.want_events
    assert stored.snapshot() == before


def test_port_leaks_freed_after_three_passes() -> None:
    state, leaks = stored_ports(30080, 31111), {}
    services = [port_svc("a", 30080)]
    for n in (1, 2):
        r = repair_ports(state, services, leaks)
        assert r.leaks == {31111: n} and 31111 in set(r.rebuilt)
        state, leaks = r.rebuilt, dict(r.leaks)
    r = repair_ports(state, services, leaks)
    assert r.freed == {31111} and set(r.rebuilt) == {30080} and r.changed
