"""Lab topology planner (pure): ../shared/DESIGN.md "Network model of the lab".

Each case names the rule it checks: the DESIGN table (node i = 172.18.0.(10+i),
pod CIDR 10.244.i.0/24 as node IPAM assigns in creation order, ext at .254,
LB pool .200-.250), Linux IFNAMSIZ (link names <= 15 chars), flannel host-gw
(each node routes the others' pod CIDRs via their node IPs).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pytest

from svcnet.controllers.nodeipam import CIDRSet
from svcnet.lab.errors import TopologyError
from svcnet.lab.topology import (
    MAX_IFNAME,
    MAX_NODES,
    NodeRouting,
    Route,
    bridge_mac,
    cluster_link_re,
    cluster_netns_re,
    diff_routes,
    host_gw_routes,
    host_veth_name,
    link_prefix,
    node_name,
    plan_topology,
    pod_netns_name,
)


def test_defaults_follow_the_design_table() -> None:
    t = plan_topology()
    assert t.name == "svcnet"
    assert t.underlay.netns == "svcnet-net"
    assert t.underlay.bridge == "svcnet-br"
    assert t.underlay.addresses == ("172.18.0.1/24",)
    assert t.external.netns == "svcnet-ext"
    assert t.external.addresses == ("172.18.0.254/24",)
    assert [n.name for n in t.nodes] == ["svcnet-n0", "svcnet-n1"]
    assert [n.netns for n in t.nodes] == ["svcnet-n0", "svcnet-n1"]
    assert [n.addresses for n in t.nodes] == [("172.18.0.10/24",), ("172.18.0.11/24",)]
    assert [n.internal_ip for n in t.nodes] == ["172.18.0.10", "172.18.0.11"]
    assert [n.pod_cidr for n in t.nodes] == ["10.244.0.0/24", "10.244.1.0/24"]
    assert [n.bridge_addresses for n in t.nodes] == [("10.244.0.1/24",), ("10.244.1.1/24",)]
    assert all(n.ifname == "eth0" and n.gateways == ("172.18.0.1",) for n in t.nodes)
    assert t.lb_pool == ("172.18.0.200", "172.18.0.250")
    assert t.cluster_pod_cidrs == ("10.244.0.0/16",)
    assert t.namespaces == ("svcnet-net", "svcnet-n0", "svcnet-n1", "svcnet-ext")
    assert not t.dual_stack


def test_host_gw_routes_reach_every_other_node() -> None:
    t = plan_topology(nodes=3)
    assert t.node(0).routes == (
        Route("10.244.1.0/24", "172.18.0.11"),
        Route("10.244.2.0/24", "172.18.0.12"),
    )
    assert t.node("svcnet-n2").routes == (
        Route("10.244.0.0/24", "172.18.0.10"),
        Route("10.244.1.0/24", "172.18.0.11"),
    )
    for n in t.nodes:
        assert n.pod_cidr not in {r.dst for r in n.routes}


@pytest.mark.parametrize("nodes", [1, 3, 11, 40])
def test_planned_pod_cidrs_are_what_node_ipam_assigns_in_name_order(nodes: int) -> None:
    """Node IPAM serves nodes by (creationTimestamp, name): with equal
    timestamps the name decides, so zero-padded names keep subnet i on node i."""
    t = plan_topology("t-abc123", nodes=nodes)
    cs = CIDRSet("10.244.0.0/16", 24)
    by_name = sorted(t.nodes, key=lambda n: n.name)
    assert [n.pod_cidr for n in by_name] == [cs.allocate_next() for _ in by_name]
    assert [n.index for n in by_name] == list(range(nodes))


def test_dual_stack_adds_ipv6_everywhere() -> None:
    t = plan_topology("t-ds0001", nodes=2, dual_stack=True)
    n1 = t.node(1)
    assert n1.addresses == ("172.18.0.11/24", "fc00:f853:ccd:e793::b/64")
    assert n1.gateways == ("172.18.0.1", "fc00:f853:ccd:e793::1")
    assert n1.pod_cidrs == ("10.244.1.0/24", "fd00:10:244:1::/64")
    assert n1.bridge_addresses == ("10.244.1.1/24", "fd00:10:244:1::1/64")
    assert n1.routes == (
        Route("10.244.0.0/24", "172.18.0.10"),
        Route("fd00:10:244::/64", "fc00:f853:ccd:e793::a"),
    )
    assert t.external.addresses == ("172.18.0.254/24", "fc00:f853:ccd:e793::fe/64")
    assert t.cluster_pod_cidrs == ("10.244.0.0/16", "fd00:10:244::/56")
    assert t.node_masks == (24, 64)
    assert len(t.lb_pools) == 2


def test_zones_round_robin() -> None:
    t = plan_topology(nodes=5, zones=["a", "b"])
    assert [n.zone for n in t.nodes] == ["a", "b", "a", "b", "a"]
    assert [n.zone for n in plan_topology(nodes=3, zones="z1,z2,z3").nodes] == ["z1", "z2", "z3"]
    assert {n.zone for n in plan_topology(nodes=2).nodes} == {None}


def test_custom_networks() -> None:
    t = plan_topology(
        "lab", nodes=2, underlay="192.168.50.0/24", pod_cidr="10.1.0.0/20", node_mask=26
    )
    assert t.node(1).addresses == ("192.168.50.11/24",)
    assert [n.pod_cidr for n in t.nodes] == ["10.1.0.0/26", "10.1.0.64/26"]
    assert t.lb_pool == ("192.168.50.200", "192.168.50.250")


def test_node_lookup_by_index_name_or_netns() -> None:
    t = plan_topology(nodes=2)
    assert t.node(1) is t.node("svcnet-n1")
    with pytest.raises(KeyError):
        t.node(5)


# --- naming ----------------------------------------------------------------


@dataclass(frozen=True)
class NameCase:
    id: str
    name: str
    nodes: int
    link_prefix: str = ""  # "" = don't check


NAME_CASES = [
    NameCase("default name kept", "svcnet", 2, "svcnet"),
    NameCase("test prefix kept", "t-0a1b2c", 3, "t-0a1b2c"),
    NameCase("ten chars kept", "abcdefghij", 2, "abcdefghij"),
    NameCase("long name shortened", "my-very-long-cluster", 2),
    NameCase("longest name, most nodes", "a" * 40, MAX_NODES),
    NameCase("max nodes with a ten-char name", "abcdefghij", MAX_NODES, "abcdefghij"),
]


@pytest.mark.parametrize("c", NAME_CASES, ids=lambda c: c.id)
def test_every_link_name_fits_ifnamsiz(c: NameCase) -> None:
    t = plan_topology(c.name, nodes=c.nodes)
    links = [t.underlay.bridge, t.external.underlay_veth, t.external.ifname]
    links += [n.underlay_veth for n in t.nodes] + [n.ifname for n in t.nodes]
    assert all(len(x) <= MAX_IFNAME for x in links), max(links, key=len)
    underlay_side = [t.underlay.bridge, t.external.underlay_veth] + [
        n.underlay_veth for n in t.nodes
    ]
    assert len(set(underlay_side)) == len(underlay_side)
    pattern = cluster_link_re(c.name)
    assert all(pattern.match(x) for x in underlay_side)
    assert all(cluster_netns_re(c.name).match(ns) for ns in t.namespaces)
    if c.link_prefix:
        assert t.link_prefix == c.link_prefix


def test_link_prefix_is_deterministic_and_distinct() -> None:
    a, b = "production-east-1", "production-east-2"
    assert link_prefix(a) == link_prefix(a)
    assert link_prefix(a) != link_prefix(b)
    assert len(link_prefix(a)) <= 10 and link_prefix(a).startswith("produ-")


def test_node_names_are_zero_padded_to_sort_by_index() -> None:
    assert node_name("c", 3, 4) == "c-n3"
    assert node_name("c", 3, 11) == "c-n03"
    assert node_name("c", 7, 190) == "c-n007"


def test_pod_names() -> None:
    ns = pod_netns_name("t-abc123", "8f1e0c7a-2b1d-4e2a-9a55-0c1f2d3e4f5a")
    assert ns.startswith("t-abc123-p-") and len(ns) == len("t-abc123-p-") + 8
    assert ns == pod_netns_name("t-abc123", "8f1e0c7a-2b1d-4e2a-9a55-0c1f2d3e4f5a")
    assert cluster_netns_re("t-abc123").match(ns)
    veth = host_veth_name(ns)
    assert veth.startswith("veth") and len(veth) == 12 <= MAX_IFNAME
    assert host_veth_name(ns) == veth != host_veth_name(pod_netns_name("t-abc123", "other"))


@pytest.mark.parametrize(
    "netns,matches",
    [
        ("t-abc-net", True),
        ("t-abc-ext", True),
        ("t-abc-n0", True),
        ("t-abc-n017", True),
        ("t-abc-p-0123abcd", True),
        ("t-abc-x-net", False),  # cluster "t-abc-x"
        ("t-abc-n0-net", False),  # cluster "t-abc-n0"
        ("t-abcd-net", False),
        ("t-abc-p-0123abc", False),
        ("t-abc-net2", False),
        ("t-ab-net", False),
    ],
)
def test_cluster_netns_pattern_never_matches_another_cluster(netns: str, matches: bool) -> None:
    assert bool(cluster_netns_re("t-abc").match(netns)) is matches


def test_bridge_mac_is_stable_local_unicast() -> None:
    mac = bridge_mac("svcnet-n0")
    first = int(mac.split(":")[0], 16)
    assert mac == bridge_mac("svcnet-n0") != bridge_mac("svcnet-n1")
    assert first & 0x02 and not first & 0x01
    assert len(mac.split(":")) == 6


# --- validation ------------------------------------------------------------


@dataclass(frozen=True)
class BadCase:
    id: str
    kwargs: dict[str, Any] = field(default_factory=dict)
    field: str = ""
    match: str = ""


BAD_CASES = [
    BadCase("uppercase name", {"name": "Svcnet"}, "name", "lowercase"),
    BadCase("empty name", {"name": ""}, "name"),
    BadCase("name ends with dash", {"name": "svc-"}, "name"),
    BadCase("name with a dot", {"name": "a.b"}, "name"),
    BadCase("name with a slash", {"name": "a/b"}, "name"),
    BadCase("name too long", {"name": "a" * 41}, "name", "longer than 40"),
    BadCase("zero nodes", {"nodes": 0}, "nodes", "between 1 and 190"),
    BadCase("too many nodes for the underlay", {"nodes": 191}, "nodes"),
    BadCase("nodes not an int", {"nodes": "2"}, "nodes", "not an integer"),
    BadCase("nodes a bool", {"nodes": True}, "nodes"),
    BadCase("underlay not a CIDR", {"underlay": "nope"}, "underlay", "invalid CIDR"),
    BadCase("underlay host bits", {"underlay": "172.18.0.5/24"}, "underlay", "host bits"),
    BadCase("underlay too small", {"underlay": "172.18.0.0/25"}, "underlay", "too small"),
    BadCase("underlay IPv6", {"underlay": "fc00::/64"}, "underlay", "not an IPv4"),
    BadCase("pod CIDR invalid", {"pod_cidr": "10.244.0.0/33"}, "pod_cidr"),
    BadCase("pod CIDR IPv6 in v4 slot", {"pod_cidr": "fd00::/48"}, "pod_cidr", "IPv4"),
    BadCase("node mask shorter than cluster", {"node_mask": 8}, "pod_cidr mask"),
    BadCase("node mask too long", {"node_mask": 31}, "pod_cidr mask"),
    BadCase("node mask not int", {"node_mask": "24"}, "pod_cidr mask"),
    BadCase(
        "pod CIDR too small for nodes",
        {"nodes": 5, "pod_cidr": "10.244.0.0/22"},
        "pod_cidr",
        "fewer than 5 subnets",
    ),
    BadCase("pod CIDR overlaps underlay", {"pod_cidr": "172.18.0.0/16"}, "pod_cidr", "overlaps"),
    BadCase("empty zones", {"zones": []}, "zones"),
    BadCase("bad zone", {"zones": ["ok", "not ok"]}, "zones", "label value"),
    BadCase("empty zone in list", {"zones": "a,,b"}, "zones"),
    BadCase(
        "dual-stack v6 underlay is v4",
        {"dual_stack": True, "underlay6": "10.0.0.0/16"},
        "underlay6",
    ),
    BadCase(
        "dual-stack v6 node mask too far",
        {"dual_stack": True, "pod_cidr6": "fd00::/40", "node_mask6": 64},
        "pod_cidr6 mask",
        "16 bits",
    ),
]


@pytest.mark.parametrize("c", BAD_CASES, ids=lambda c: c.id)
def test_validation(c: BadCase) -> None:
    with pytest.raises(TopologyError, match=c.match or None) as info:
        plan_topology(**c.kwargs)
    assert info.value.field == c.field
    assert isinstance(info.value, ValueError)
    assert str(info.value).startswith(f"{c.field}: ")


def test_v6_settings_are_ignored_without_dual_stack() -> None:
    assert plan_topology(underlay6="garbage").cluster_pod_cidrs == ("10.244.0.0/16",)


# --- host-gw from API Nodes ------------------------------------------------


def api_node(name: str, ips: list[str], cidrs: list[str]) -> dict[str, Any]:
    return {
        "metadata": {"name": name},
        "spec": {"podCIDR": cidrs[0], "podCIDRs": cidrs} if cidrs else {},
        "status": {
            "addresses": [{"type": "Hostname", "address": name}]
            + [{"type": "InternalIP", "address": ip} for ip in ips]
        },
    }


def test_node_routing_from_api_node() -> None:
    n = NodeRouting.from_node(api_node("a", ["172.18.0.10", "fc00::a"], ["10.244.3.0/24"]))
    assert n == NodeRouting("a", ("172.18.0.10", "fc00::a"), ("10.244.3.0/24",))
    old = {"metadata": {"name": "b"}, "spec": {"podCIDR": "10.244.4.0/24"}}
    assert NodeRouting.from_node(old) == NodeRouting("b", (), ("10.244.4.0/24",))
    assert NodeRouting.from_node({}) == NodeRouting("", (), ())


@dataclass(frozen=True)
class GwCase:
    id: str
    nodes: list[dict[str, Any]]
    want: list[Route]
    local: str = "a"


GW_CASES = [
    GwCase(
        "routes follow the Nodes' real podCIDRs, not the plan",
        [
            api_node("a", ["172.18.0.10"], ["10.244.1.0/24"]),
            api_node("b", ["172.18.0.11"], ["10.244.0.0/24"]),
        ],
        [Route("10.244.0.0/24", "172.18.0.11")],
    ),
    GwCase(
        "a node without podCIDR yet gets no route",
        [api_node("a", ["172.18.0.10"], ["10.244.0.0/24"]), api_node("b", ["172.18.0.11"], [])],
        [],
    ),
    GwCase(
        "a node without InternalIP yet gets no route",
        [api_node("a", ["172.18.0.10"], ["10.244.0.0/24"]), api_node("b", [], ["10.244.1.0/24"])],
        [],
    ),
    GwCase(
        "dual-stack: each family via the same-family node IP",
        [
            api_node("a", ["172.18.0.10", "fc00::a"], ["10.244.0.0/24", "fd00:10:244::/64"]),
            api_node("b", ["fc00::b", "172.18.0.11"], ["10.244.1.0/24", "fd00:10:244:1::/64"]),
        ],
        [Route("10.244.1.0/24", "172.18.0.11"), Route("fd00:10:244:1::/64", "fc00::b")],
    ),
    GwCase(
        "an IPv6 CIDR of a node with only IPv4 addresses is skipped",
        [api_node("b", ["172.18.0.11"], ["10.244.1.0/24", "fd00:10:244:1::/64"])],
        [Route("10.244.1.0/24", "172.18.0.11")],
    ),
    GwCase(
        "a CIDR overlapping our own (bad data) is never routed away",
        [
            api_node("a", ["172.18.0.10"], ["10.244.0.0/24"]),
            api_node("b", ["172.18.0.11"], ["10.244.0.0/23"]),
        ],
        [],
    ),
    GwCase(
        "garbage CIDRs are skipped",
        [api_node("b", ["172.18.0.11"], ["nope"])],
        [],
    ),
]


@pytest.mark.parametrize("c", GW_CASES, ids=lambda c: c.id)
def test_host_gw_routes(c: GwCase) -> None:
    got = host_gw_routes(c.local, [NodeRouting.from_node(n) for n in c.nodes])
    assert got == c.want


def test_diff_routes() -> None:
    cur = [Route("10.244.1.0/24", "172.18.0.11"), Route("10.244.2.0/24", "172.18.0.12")]
    want = [Route("10.244.1.0/24", "172.18.0.21"), Route("10.244.3.0/24", "172.18.0.13")]
    put, delete = diff_routes(cur, want)
    assert put == want  # gateway changed: replace; new: add
    assert delete == [Route("10.244.2.0/24", "172.18.0.12")]
    assert diff_routes(cur, cur) == ([], [])
