"""allocate_service: upstream Service REST allocation rules (registry/core/service/storage)."""

from __future__ import annotations

import copy
import random
from dataclasses import dataclass, field

import pytest

from svcnet.allocators import DualStackAllocator, NodePortAllocator, PortRange
from svcnet.apiserver.serviceallocation import (
    AllocationInvalid,
    allocate_service,
    release_service,
)


def allocators(cidrs: str = "10.0.0.0/24") -> tuple[DualStackAllocator, NodePortAllocator]:
    rng = random.Random(1)
    return DualStackAllocator(cidrs, rng), NodePortAllocator(PortRange.parse("30000-30100"), rng)


def svc(**spec) -> dict:
    spec.setdefault("ports", [{"port": 80, "protocol": "TCP"}])
    return {"metadata": {"name": "s", "namespace": "default"}, "spec": spec}


@dataclass(frozen=True)
class Case:
    id: str
    new: dict
    old: dict | None = None
    want_ips: int = 1
    want_node_ports: int = 0
    want_hc: bool = False
    extra: dict = field(default_factory=dict)


CASES = [
    Case("ClusterIP gets one IP of the primary family", svc(type="ClusterIP")),
    Case("headless gets no IP", svc(type="ClusterIP", clusterIP="None"), want_ips=0),
    Case("ExternalName gets no IP", svc(type="ExternalName", externalName="x.example"), want_ips=0),
    Case(
        "NodePort gets a node port per port",
        svc(type="NodePort", ports=[{"port": 80}, {"port": 443}]),
        want_node_ports=2,
    ),
    Case(
        "TCP and UDP on one port number share the node port",
        svc(
            type="NodePort",
            ports=[{"port": 53, "protocol": "UDP"}, {"port": 53, "protocol": "TCP"}],
        ),
        want_node_ports=1,
    ),
    Case(
        "LoadBalancer allocates node ports by default", svc(type="LoadBalancer"), want_node_ports=1
    ),
    Case(
        "LoadBalancer with allocateLoadBalancerNodePorts=false gets none",
        svc(type="LoadBalancer", allocateLoadBalancerNodePorts=False),
        want_node_ports=0,
    ),
    Case(
        "LoadBalancer + externalTrafficPolicy Local gets a healthCheckNodePort",
        svc(type="LoadBalancer", externalTrafficPolicy="Local"),
        want_node_ports=1,
        want_hc=True,
    ),
]


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_allocation(case: Case) -> None:
    ips, ports = allocators()
    new = copy.deepcopy(case.new)
    allocate_service(new, case.old, ips, ports)
    spec = new["spec"]
    assert len(spec.get("clusterIPs") or []) == case.want_ips
    if case.want_ips:
        assert spec["clusterIP"] == spec["clusterIPs"][0] and ips.has(spec["clusterIP"])
    nps = {p["nodePort"] for p in spec["ports"] if p.get("nodePort")}
    assert len(nps) == case.want_node_ports
    assert all(ports.has(p) for p in nps)
    assert bool(spec.get("healthCheckNodePort")) == case.want_hc


def test_dynamic_ip_avoids_static_band() -> None:
    ips, ports = allocators("10.0.0.0/24")  # static band = 16 (KEP-3070)
    for _ in range(50):
        s = svc(type="ClusterIP")
        allocate_service(s, None, ips, ports)
        assert int(s["spec"]["clusterIP"].rsplit(".", 1)[1]) > 16


def test_static_ip_taken_is_invalid_with_upstream_message() -> None:
    ips, ports = allocators()
    allocate_service(svc(clusterIP="10.0.0.5"), None, ips, ports)
    with pytest.raises(AllocationInvalid) as e:
        allocate_service(svc(clusterIP="10.0.0.5"), None, ips, ports)
    assert e.value.errs[0].message() == (
        'spec.clusterIPs: Invalid value: []string{"10.0.0.5"}: failed to allocate IP 10.0.0.5: '
        "provided IP is already allocated"
    )


def test_update_nodeport_to_clusterip_releases_ports_keeps_ip() -> None:
    ips, ports = allocators()
    old = svc(type="NodePort")
    allocate_service(old, None, ips, ports)
    np = old["spec"]["ports"][0]["nodePort"]
    new = copy.deepcopy(old)
    new["spec"]["type"] = "ClusterIP"
    allocate_service(new, old, ips, ports)
    assert "nodePort" not in new["spec"]["ports"][0]
    assert not ports.has(np)
    assert new["spec"]["clusterIP"] == old["spec"]["clusterIP"]


def test_update_to_externalname_releases_ip_and_back_allocates() -> None:
    ips, ports = allocators()
    old = svc(type="ClusterIP")
    allocate_service(old, None, ips, ports)
    ip = old["spec"]["clusterIP"]
    ext = copy.deepcopy(old)
    ext["spec"].update(type="ExternalName", externalName="db.example")
    allocate_service(ext, old, ips, ports)
    assert "clusterIP" not in ext["spec"] and not ips.has(ip)
    back = copy.deepcopy(ext)
    back["spec"]["type"] = "ClusterIP"
    allocate_service(back, ext, ips, ports)
    assert ips.has(back["spec"]["clusterIP"])


def test_dual_stack_require_gets_two_and_downgrade_releases_secondary() -> None:
    ips, ports = allocators("10.0.0.0/24,fd00::/120")
    s = svc(ipFamilyPolicy="RequireDualStack", ipFamilies=["IPv4", "IPv6"])
    allocate_service(s, None, ips, ports)
    v4, v6 = s["spec"]["clusterIPs"]
    assert "." in v4 and ":" in v6
    down = copy.deepcopy(s)
    down["spec"].update(ipFamilyPolicy="SingleStack", ipFamilies=["IPv4"], clusterIPs=[v4])
    allocate_service(down, s, ips, ports)
    assert down["spec"]["clusterIPs"] == [v4] and not ips.has(v6) and ips.has(v4)


def test_release_service_frees_everything() -> None:
    ips, ports = allocators()
    s = svc(type="LoadBalancer", externalTrafficPolicy="Local")
    allocate_service(s, None, ips, ports)
    release_service(s, ips, ports)
    assert not ips.has(s["spec"]["clusterIP"])
    assert not ports.has(s["spec"]["ports"][0]["nodePort"])
    assert not ports.has(s["spec"]["healthCheckNodePort"])


def test_failed_static_request_is_all_or_nothing_for_the_caller() -> None:
    """The shell runs allocate_service on copies: an error leaves its maps untouched."""
    ips, ports = allocators()
    allocate_service(
        svc(type="NodePort", ports=[{"port": 80, "nodePort": 30050}]), None, ips, ports
    )
    work_ips, work_ports = ips.copy(), ports.copy()
    before = work_ips.snapshot()
    with pytest.raises(AllocationInvalid):
        allocate_service(
            svc(type="NodePort", ports=[{"port": 80, "nodePort": 30050}]),
            None,
            work_ips,
            work_ports,
        )
    assert ips.snapshot() == before
