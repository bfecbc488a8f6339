"""Node IPAM core: upstream pkg/controller/nodeipam/ipam/cidrset (CidrSet)
and the range allocator (AllocateOrOccupyCIDR, occupy on startup)."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from svcnet.controllers import nodeipam as ipam


def node(name: str, *cidrs: str, created: str = "2024-01-01T00:00:00Z") -> dict:
    spec: dict = {}
    if cidrs:
        spec = {"podCIDR": cidrs[0], "podCIDRs": list(cidrs)}
    return {"metadata": {"name": name, "creationTimestamp": created}, "spec": spec}


def test_slash16_cluster_with_slash24_masks_gives_256_cidrs_then_full() -> None:
    cs = ipam.CIDRSet("10.244.0.0/16", 24)
    got = [cs.allocate_next() for _ in range(256)]
    assert got[:3] == ["10.244.0.0/24", "10.244.1.0/24", "10.244.2.0/24"]
    assert got[-1] == "10.244.255.0/24"
    assert len(set(got)) == 256 and cs.allocated == 256
    with pytest.raises(ipam.CIDRRangeFull, match="no remaining CIDRs left"):
        cs.allocate_next()


def test_release_then_allocate_continues_round_robin() -> None:
    cs = ipam.CIDRSet("10.0.0.0/22", 24)
    a, b, _ = cs.allocate_next(), cs.allocate_next(), cs.allocate_next()
    cs.release(a)
    assert cs.allocate_next() == "10.0.3.0/24"  # nextCandidate, not the freed one
    assert cs.allocate_next() == a  # wraps around to the freed one
    cs.release(b)
    assert not cs.is_used(b)


@dataclass(frozen=True)
class OccupyCase:
    id: str
    cluster: str
    mask: int
    occupy: str
    used: int


OCCUPY_CASES = [
    OccupyCase("one subnet", "10.244.0.0/16", 24, "10.244.7.0/24", 1),
    OccupyCase("a bigger CIDR covers several subnets", "10.244.0.0/16", 24, "10.244.8.0/22", 4),
    OccupyCase("a smaller CIDR marks its subnet", "10.244.0.0/16", 24, "10.244.9.128/25", 1),
    OccupyCase("the whole cluster CIDR", "10.244.0.0/20", 24, "10.244.0.0/16", 16),
    OccupyCase("IPv6 /64 in a /56", "fd00:10:244::/56", 64, "fd00:10:244:5::/64", 1),
]


@pytest.mark.parametrize("c", OCCUPY_CASES, ids=lambda c: c.id)
def test_occupy(c: OccupyCase) -> None:
    cs = ipam.CIDRSet(c.cluster, c.mask)
    cs.occupy(c.occupy)
    cs.occupy(c.occupy)  # idempotent
    assert cs.allocated == c.used


@dataclass(frozen=True)
class ErrorCase:
    id: str
    cluster: str
    mask: int | None
    cidr: str | None
    error: type[Exception]
    match: str


ERROR_CASES = [
    ErrorCase(
        "out of range (getBeginningAndEndIndices)",
        "10.244.0.0/16",
        24,
        "10.245.0.0/24",
        ipam.CIDRNotInRange,
        "cidr 10.245.0.0/24 is out the range of cluster cidr 10.244.0.0/16",
    ),
    ErrorCase(
        "other family is out of range",
        "10.244.0.0/16",
        24,
        "fd00::/64",
        ipam.CIDRNotInRange,
        "out the range",
    ),
    ErrorCase(
        "IPv6 subnet more than 16 bits below the cluster (clusterSubnetMaxDiff)",
        "fd00::/40",
        None,
        None,
        ipam.CIDRSubnetTooBig,
        "the node CIDR size is too big",
    ),
    ErrorCase(
        "node mask shorter than the cluster's",
        "10.244.0.0/16",
        8,
        None,
        ipam.CIDRSetError,
        "does not fit",
    ),
]


@pytest.mark.parametrize("c", ERROR_CASES, ids=lambda c: c.id)
def test_errors(c: ErrorCase) -> None:
    with pytest.raises(c.error, match=c.match):
        cs = ipam.CIDRSet(c.cluster, c.mask)
        assert c.cidr is not None
        cs.occupy(c.cidr)


def test_default_masks_per_family() -> None:
    assert ipam.CIDRSet("10.244.0.0/16").node_mask == 24
    assert ipam.CIDRSet("fd00:10:244::/56").node_mask == 64


@dataclass
class AssignCase:
    id: str
    nodes: list[dict]
    clusters: list[tuple[str, int]]
    assigned: list[tuple[str, list[str]]]
    failed: list[str] = None  # type: ignore[assignment]


ASSIGN_CASES = [
    AssignCase(
        "node i of a fresh cluster gets 10.244.i.0/24 (creation order)",
        [
            node("w2", created="2024-01-01T00:00:02Z"),
            node("cp"),
            node("w1", created="2024-01-01T00:00:01Z"),
        ],
        [("10.244.0.0/16", 24)],
        [("cp", ["10.244.0.0/24"]), ("w1", ["10.244.1.0/24"]), ("w2", ["10.244.2.0/24"])],
    ),
    AssignCase(
        "occupancy is repaired from nodes that have pod CIDRs",
        [node("a", "10.244.0.0/24"), node("b", "10.244.1.0/24"), node("c")],
        [("10.244.0.0/16", 24)],
        [("c", ["10.244.2.0/24"])],
    ),
    AssignCase(
        "dual-stack gets one CIDR per family",
        [node("a")],
        [("10.244.0.0/16", 24), ("fd00:10:244::/56", 64)],
        [("a", ["10.244.0.0/24", "fd00:10:244::/64"])],
    ),
    AssignCase(
        "full: CIDRNotAvailable for the rest",
        [node("a"), node("b", created="2024-01-01T00:00:01Z")],
        [("10.244.0.0/24", 24)],
        [("a", ["10.244.0.0/24"])],
        ["b"],
    ),
    AssignCase(
        "a bad existing podCIDR is reported, the rest proceeds",
        [node("a", "192.168.0.0/24"), node("b")],
        [("10.244.0.0/16", 24)],
        [("b", ["10.244.0.0/24"])],
        ["a"],
    ),
]


@pytest.mark.parametrize("c", ASSIGN_CASES, ids=lambda c: c.id)
def test_assign(c: AssignCase) -> None:
    sets = [ipam.CIDRSet(cidr, mask) for cidr, mask in c.clusters]
    got = ipam.assign(c.nodes, sets)
    assert got.assigned == c.assigned
    assert [n for n, _ in got.failed] == (c.failed or [])


def test_full_family_releases_the_other_and_records_event() -> None:
    sets = [ipam.CIDRSet("10.244.0.0/16", 24), ipam.CIDRSet("fd00::/64", 64)]
    ipam.assign([node("a")], sets)
    got = ipam.assign([node("b")], sets)
    assert got.assigned == []
    assert got.failed == [
        (
            "b",
            "failed to allocate cidr from cluster cidr at idx:1: CIDR allocation failed; "
            "there are no remaining CIDRs left to allocate in the accepted range",
        )
    ]
    assert got.events == [
        ipam.NodeEvent("b", "Normal", "CIDRNotAvailable", "Node b status is now: CIDRNotAvailable")
    ]
    assert sets[0].allocated == 1  # b's IPv4 subnet was given back


def test_release_node_frees_its_cidrs() -> None:
    sets = [ipam.CIDRSet("10.244.0.0/16", 24)]
    ipam.assign([node("a", "10.244.5.0/24")], sets)
    ipam.release_node(node("a", "10.244.5.0/24"), sets)
    assert sets[0].allocated == 0
    assert ipam.spec_patch(["10.244.5.0/24"]) == {
        "spec": {"podCIDR": "10.244.5.0/24", "podCIDRs": ["10.244.5.0/24"]}
    }
