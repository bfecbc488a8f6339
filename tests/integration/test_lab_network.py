"""Lab network plumbing with real namespaces and real packets.

Address conventions (../shared/DESIGN.md, "Network model of the lab"): each
test cluster is named ``t-<6 hex>`` (unique per test, so parallel runs and
two clusters side by side never clash); its underlay is 172.18.0.0/24 inside
the namespace ``<name>-net``, node i is 172.18.0.(10+i) with pod CIDR
10.244.i.0/24, the external client 172.18.0.254. Nothing is added to the
root namespace (asserted), and every namespace is removed by the `clusters`
fixture in ``finally``, also when a test fails. Packets are ICMP echoes sent
with ``ip netns exec <ns> ping -c1 -W1`` (`svcnet.lab.probe` when iputils
is not installed).
"""

from __future__ import annotations

import os
import secrets
import shutil
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from svcnet.lab import netns as lab_netns
from svcnet.lab.errors import LabExistsError
from svcnet.lab.netns import (
    Lab,
    apply_topology,
    list_leftovers,
    list_netns,
    ping,
    read_sysctl,
    run_in,
    sync_host_routes,
    teardown,
)
from svcnet.lab.topology import (
    NodePlan,
    NodeRouting,
    Route,
    cluster_netns_re,
    host_gw_routes,
    plan_topology,
    pod_netns_name,
)
from svcnet.node import cni
from svcnet.node.ipam import PodIPAM

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(os.geteuid() != 0, reason="needs root for network namespaces"),
    pytest.mark.skipif(shutil.which("ip") is None, reason="needs iproute2"),
]

MakeCluster = Callable[..., Lab]


def unique_name() -> str:
    return f"t-{secrets.token_hex(3)}"


def root_state() -> tuple[str, ...]:
    """The root namespace's IPv4 addresses, routes and link names."""
    out = []
    for argv in (["ip", "-4", "-br", "addr"], ["ip", "-4", "route"], ["ip", "-br", "link"]):
        p = subprocess.run(argv, capture_output=True, text=True, check=True)
        out.append("\n".join(sorted(" ".join(line.split()[:3]) for line in p.stdout.splitlines())))
    return tuple(out)


@pytest.fixture
def clusters() -> Iterator[MakeCluster]:
    """Factory of applied lab clusters; all of them are torn down in finally."""
    names: list[str] = []

    def make(name: str | None = None, **kw: object) -> Lab:
        name = name or unique_name()
        names.append(name)  # before apply: a half-made cluster is cleaned too
        return apply_topology(plan_topology(name, **kw))  # type: ignore[arg-type]

    try:
        yield make
    finally:
        for name in names:
            teardown(name)
        left = [lo for lo in map(list_leftovers, names) if lo]
        assert not left, f"leftovers after teardown: {left}"


def add_pods(
    node: NodePlan, cluster: str, state: Path, count: int, cidrs: tuple[str, ...] | None = None
) -> list[cni.PodNetwork]:
    """``count`` pods on ``node`` with IPs from host-local style IPAM."""
    cidrs = cidrs or node.pod_cidrs
    cni.setup_node_bridge(node.netns, cidrs)
    ipams = [PodIPAM(c, state / node.name) for c in cidrs]
    pods = []
    for k in range(count):
        uid = f"{node.name}-pod-{k}"
        pods.append(
            cni.add_pod(node.netns, pod_netns_name(cluster, uid), [i.allocate(uid) for i in ipams])
        )
    return pods


def assert_ping(netns: str, ip: str) -> None:
    assert ping(netns, ip), f"no ICMP echo reply from {ip} in netns {netns}"


def test_pods_reach_each_other_within_and_across_nodes(
    clusters: MakeCluster, tmp_path: Path
) -> None:
    before = root_state()
    lab = clusters(nodes=2)
    topo, name = lab.topology, lab.name
    n0, n1 = topo.nodes
    pods0 = add_pods(n0, name, tmp_path, 2)
    pods1 = add_pods(n1, name, tmp_path, 2)

    assert [p.ips for p in pods0] == [("10.244.0.2",), ("10.244.0.3",)]
    assert [p.ips for p in pods1] == [("10.244.1.2",), ("10.244.1.3",)]
    assert all(p.gateways == ("10.244.1.1",) for p in pods1)
    assert root_state() == before, "the root namespace must not change"

    assert_ping(pods0[0].netns, pods1[0].ips[0])  # pod on node 0 -> pod on node 1
    assert_ping(pods1[1].netns, pods0[1].ips[0])  # and back, another pair
    assert_ping(pods0[0].netns, pods0[1].ips[0])  # same node, across cni0
    assert_ping(n0.netns, n1.internal_ip)  # node to node over the underlay
    assert_ping(topo.external.netns, n0.internal_ip)  # external client to a node
    assert_ping(n0.netns, pods1[0].ips[0])  # node to a remote pod (host-gw)
    assert_ping(pods1[0].netns, n0.internal_ip)  # pod to another node
    assert not ping(
        topo.external.netns, pods0[0].ips[0], timeout=0.3
    )  # pods are not routed outside

    assert read_sysctl(n0.netns, "net.ipv4.ip_forward") == "1"
    assert read_sysctl(n0.netns, "net.bridge.bridge-nf-call-iptables") == "1"
    assert read_sysctl(topo.underlay.netns, "net.ipv4.ip_forward") == "0"

    # the node end is a hairpin port of cni0, the pod has lo and a default route
    links = run_in(n0.netns, ["bridge", "-d", "link", "show", "dev", pods0[0].host_veth]).stdout
    assert "master cni0" in links and "hairpin on" in links
    routes = run_in(pods0[0].netns, ["ip", "route"]).stdout
    assert "default via 10.244.0.1 dev eth0" in routes
    assert_ping(pods0[0].netns, "127.0.0.1")

    # add_pod again (a restarted agent re-adopting the pod) changes nothing
    again = cni.add_pod(n0.netns, pods0[0].netns, pods0[0].ips[0])
    assert again == pods0[0]

    # per-pod DNS files, seen by processes started with ip netns exec
    search = ["default.svc.cluster.local", "svc.cluster.local", "cluster.local"]
    cni.write_resolv_conf(pods0[0].netns, "10.96.0.10", search, ndots=5)
    cni.write_hosts(pods0[0].netns, "web-0", pods0[0].ips)
    resolv = run_in(pods0[0].netns, ["cat", "/etc/resolv.conf"]).stdout
    assert resolv == (
        "search default.svc.cluster.local svc.cluster.local cluster.local\n"
        "nameserver 10.96.0.10\noptions ndots:5\n"
    )
    hosts = run_in(pods0[0].netns, ["cat", "/etc/hosts"]).stdout
    assert "10.244.0.2\tweb-0" in hosts and "127.0.0.1\tlocalhost" in hosts

    # deleting a pod removes its namespace, veth and files; its IP is free again
    assert cni.del_pod(n0.netns, pods0[0].netns)
    assert pods0[0].netns not in list_netns()
    assert pods0[0].host_veth not in run_in(n0.netns, ["ip", "-br", "link"]).stdout
    assert not Path("/etc/netns", pods0[0].netns).exists()
    assert not cni.del_pod(n0.netns, pods0[0].netns)  # idempotent
    ipam = PodIPAM(n0.pod_cidr, tmp_path / n0.name)
    assert ipam.release(f"{n0.name}-pod-0") == ["10.244.0.2"]
    assert not ping(pods0[1].netns, pods0[0].ips[0], timeout=0.3)
    assert_ping(pods0[1].netns, pods1[1].ips[0])

    removed = lab.teardown()
    assert f"{name}-net" in removed.namespaces and pods1[0].netns in removed.namespaces
    assert not list_leftovers(name)
    assert not [ns for ns in list_netns() if cluster_netns_re(name).match(ns)]
    assert root_state() == before


def test_dual_stack_pods(clusters: MakeCluster, tmp_path: Path) -> None:
    lab = clusters(nodes=2, dual_stack=True)
    n0, n1 = lab.topology.nodes
    (a,) = add_pods(n0, lab.name, tmp_path, 1)
    (b,) = add_pods(n1, lab.name, tmp_path, 1)
    assert a.ips == ("10.244.0.2", "fd00:10:244::2")
    assert b.ips == ("10.244.1.2", "fd00:10:244:1::2")
    assert_ping(a.netns, b.ips[1])  # IPv6 across nodes via host-gw
    assert_ping(b.netns, a.ips[0])
    assert_ping(lab.topology.external.netns, "fc00:f853:ccd:e793::a")
    assert "default via fd00:10:244::1" in run_in(a.netns, ["ip", "-6", "route"]).stdout


def test_host_gw_routes_follow_the_nodes_real_pod_cidrs(
    clusters: MakeCluster, tmp_path: Path
) -> None:
    """Node IPAM may not give node i subnet i: the agent re-syncs from the Nodes."""
    lab = clusters(nodes=2)
    n0, n1 = lab.topology.nodes
    real = {n0.name: ("10.244.7.0/24",), n1.name: ("10.244.3.0/24",)}
    nodes = [NodeRouting(n.name, n.ips, real[n.name]) for n in (n0, n1)]
    put, deleted = sync_host_routes(n0.netns, host_gw_routes(n0.name, nodes))
    assert put == [Route("10.244.3.0/24", "172.18.0.11")]
    assert deleted == [Route("10.244.1.0/24", "172.18.0.11")]  # the planned one
    sync_host_routes(n1.netns, host_gw_routes(n1.name, nodes))
    assert sync_host_routes(n0.netns, host_gw_routes(n0.name, nodes)) == ([], [])
    default = run_in(n0.netns, ["ip", "route", "show", "default"]).stdout
    assert "via 172.18.0.1" in default  # resync never touches the default route

    (a,) = add_pods(n0, lab.name, tmp_path, 1, real[n0.name])
    (b,) = add_pods(n1, lab.name, tmp_path, 1, real[n1.name])
    assert (a.ips, b.ips) == (("10.244.7.2",), ("10.244.3.2",))
    assert_ping(a.netns, b.ips[0])


def test_crashed_run_leftovers_are_found_and_cleaned(clusters: MakeCluster, tmp_path: Path) -> None:
    name = unique_name()
    lab = clusters(name, nodes=2)
    (pod,) = add_pods(lab.topology.nodes[1], name, tmp_path, 1)
    cni.write_resolv_conf(pod.netns, "10.96.0.10")
    del lab  # the supervisor died: only the name is left

    left = list_leftovers(name)
    assert set(left.namespaces) == {
        f"{name}-net",
        f"{name}-ext",
        f"{name}-n0",
        f"{name}-n1",
        pod.netns,
    }
    assert left.etc_dirs == (pod.netns,) and left.root_links == () and left.pids == ()
    with pytest.raises(LabExistsError, match="already has network namespaces"):
        apply_topology(plan_topology(name, nodes=2))

    removed = teardown(name)
    assert set(removed.namespaces) == set(left.namespaces)
    assert not list_leftovers(name)
    assert teardown(name) == list_leftovers(name)  # idempotent: nothing left to do

    # crash again; the next `up` cleans the leftover itself and works
    apply_topology(plan_topology(name, nodes=1))
    lab = apply_topology(plan_topology(name, nodes=2), clean_leftovers=True)
    assert_ping(lab.topology.external.netns, lab.topology.nodes[1].internal_ip)


def test_two_clusters_side_by_side(clusters: MakeCluster, tmp_path: Path) -> None:
    a = clusters(nodes=2)
    b = clusters(nodes=2)  # same addresses, different namespaces
    pa = add_pods(a.topology.nodes[0], a.name, tmp_path / "a", 1)[0]
    pb = add_pods(b.topology.nodes[1], b.name, tmp_path / "b", 1)[0]
    assert_ping(pa.netns, a.topology.nodes[1].internal_ip)
    assert_ping(pb.netns, b.topology.nodes[0].internal_ip)

    a.teardown()
    assert not list_leftovers(a.name)
    assert set(list_leftovers(b.name).namespaces) >= set(b.topology.namespaces)
    assert_ping(pb.netns, b.topology.nodes[0].internal_ip)  # b is untouched
    assert_ping(b.topology.external.netns, b.topology.nodes[1].internal_ip)


async def test_usable_from_an_asyncio_loop(tmp_path: Path) -> None:
    """pyroute2's blocking API cannot run on a loop thread; the lab handles it."""
    name = unique_name()
    try:
        lab = apply_topology(plan_topology(name, nodes=1))
        node = lab.topology.nodes[0]
        cni.setup_node_bridge(node.netns, node.pod_cidrs)
        pod = cni.add_pod(node.netns, pod_netns_name(name, "uid"), "10.244.0.9")
        assert pod.addresses == ("10.244.0.9/24",)
        assert cni.del_pod(node.netns, pod.netns)
    finally:
        teardown(name)
    assert not list_leftovers(name)


def test_failures_leave_nothing_behind(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    name = unique_name()
    try:

        def boom(*_: object) -> None:
            raise lab_netns.NetnsError("configure eth0", f"{name}-n0", OSError("injected"))

        with monkeypatch.context() as m:
            m.setattr(lab_netns, "_setup_endpoint", boom)
            with pytest.raises(lab_netns.NetnsError, match="injected"):
                apply_topology(plan_topology(name, nodes=2))
        assert not list_leftovers(name)  # a half-made cluster is removed again

        node = apply_topology(plan_topology(name, nodes=1)).topology.nodes[0]
        cni.setup_node_bridge(node.netns, node.pod_cidrs)
        pod_ns = pod_netns_name(name, "uid")
        with pytest.raises(cni.CNIError, match="none of the bridge's subnets"):
            cni.add_pod(node.netns, pod_ns, "10.99.0.5")
        assert pod_ns not in list_netns()  # the fresh sandbox is removed again
    finally:
        teardown(name)
    assert not list_leftovers(name)
