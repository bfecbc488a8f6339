"""Service/Node views, each case naming the upstream rule.

Upstream: ``pkg/proxy/serviceport.go`` (``newBaseServiceInfo``),
``servicechangetracker.go`` (``serviceToServiceMap``), ``util/utils.go``
(``ShouldSkipService``, ``GetClusterIPByFamily``, ``MapIPsByIPFamily``),
``util/nodeaddress`` / ``GetNodeHostIPs``.

Conventions: Service ``ns/web`` with ClusterIP 10.96.0.10 (and
fd00:10:96::a when dual-stack), one TCP port ``http`` 80 -> 8080.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any

import pytest

from svcnet.proxy.model import (
    IPV4,
    IPV6,
    LABEL_TOPOLOGY_ZONE,
    Endpoint,
    ProxyState,
    ServiceName,
    ServicePortInfo,
    ServicePortName,
    empty_states,
    node_view,
    service_port_infos,
    service_port_infos_by_family,
)

Obj = dict[str, Any]


def service(**spec: Any) -> Obj:
    base: Obj = {
        "type": "ClusterIP",
        "clusterIP": "10.96.0.10",
        "clusterIPs": ["10.96.0.10"],
        "ipFamilies": ["IPv4"],
        "ports": [{"name": "http", "port": 80, "protocol": "TCP", "targetPort": 8080}],
    }
    status = spec.pop("status", {})
    annotations = spec.pop("annotations", {})
    base.update(spec)
    return {
        "metadata": {"namespace": "ns", "name": "web", "annotations": annotations},
        "spec": base,
        "status": status,
    }


HTTP = ServicePortName("ns", "web", "http", "TCP")


def only(infos: dict[ServicePortName, ServicePortInfo]) -> ServicePortInfo:
    assert list(infos) == [HTTP]
    return infos[HTTP]


@dataclass(frozen=True)
class Case:
    id: str
    svc: Obj
    family: str
    expected: dict[str, Any] | None  # fields of the one port's info; None: no ports


LB_DUAL = service(
    type="LoadBalancer",
    clusterIPs=["10.96.0.10", "fd00:10:96::a"],
    ipFamilies=["IPv4", "IPv6"],
    ports=[{"name": "http", "port": 80, "protocol": "TCP", "nodePort": 30080}],
    externalIPs=["192.0.2.7", "2001:db8::7", "not-an-ip"],
    loadBalancerSourceRanges=[" 203.0.113.0/24 ", "2001:db8::/32", "198.51.100.9/16"],
    status={
        "loadBalancer": {
            "ingress": [
                {"ip": "172.18.0.200", "ipMode": "VIP"},
                {"ip": "172.18.0.201", "ipMode": "Proxy"},
                {"ip": "172.18.0.202"},
                {"hostname": "lb.example.com"},
                {"ip": "2001:db8::c8"},
            ]
        }
    },
)

CASES = [
    Case(
        "newBaseServiceInfo: ClusterIP port basics",
        service(),
        IPV4,
        {"cluster_ip": "10.96.0.10", "port": 80, "protocol": "TCP", "node_port": 0},
    ),
    Case(
        "ShouldSkipService: headless Service (clusterIP None) is not proxied",
        service(clusterIP="None", clusterIPs=["None"]),
        IPV4,
        None,
    ),
    Case(
        "ShouldSkipService: ExternalName is not proxied",
        service(type="ExternalName", externalName="example.com"),
        IPV4,
        None,
    ),
    Case(
        "GetClusterIPByFamily: single-stack IPv4 Service has nothing for IPv6",
        service(),
        IPV6,
        None,
    ),
    Case(
        "GetClusterIPByFamily: without ipFamilies (skew) the clusterIP's family decides",
        service(ipFamilies=[], clusterIPs=[]),
        IPV4,
        {"cluster_ip": "10.96.0.10"},
    ),
    Case(
        "LB ingress: ipMode VIP and unset are programmed, Proxy is not; family filtered",
        LB_DUAL,
        IPV4,
        {
            "cluster_ip": "10.96.0.10",
            "node_port": 30080,
            "external_ips": ("192.0.2.7",),
            "load_balancer_vips": ("172.18.0.200", "172.18.0.202"),
            "load_balancer_source_ranges": ("203.0.113.0/24", "198.51.0.0/16"),
        },
    ),
    Case(
        "MapIPsByIPFamily / MapCIDRsByIPFamily: the IPv6 proxier sees the IPv6 half",
        LB_DUAL,
        IPV6,
        {
            "cluster_ip": "fd00:10:96::a",
            "external_ips": ("2001:db8::7",),
            "load_balancer_vips": ("2001:db8::c8",),
            "load_balancer_source_ranges": ("2001:db8::/32",),
        },
    ),
    Case(
        "ClientIP session affinity keeps its timeout",
        service(
            sessionAffinity="ClientIP",
            sessionAffinityConfig={"clientIP": {"timeoutSeconds": 60}},
        ),
        IPV4,
        {"session_affinity": "ClientIP", "sticky_max_age_seconds": 60},
    ),
    Case(
        "ClientIP session affinity without config: the API default 10800s",
        service(sessionAffinity="ClientIP"),
        IPV4,
        {"sticky_max_age_seconds": 10800},
    ),
    Case(
        "ExternalPolicyLocal: ignored for a ClusterIP Service without externalIPs",
        service(externalTrafficPolicy="Local"),
        IPV4,
        {"external_policy_local": False, "health_check_node_port": 0},
    ),
    Case(
        "ExternalPolicyLocal: NodePort Service, no health check (LoadBalancer only)",
        service(
            type="NodePort",
            externalTrafficPolicy="Local",
            ports=[{"name": "http", "port": 80, "nodePort": 30080}],
        ),
        IPV4,
        {"external_policy_local": True, "health_check_node_port": 0, "node_port": 30080},
    ),
    Case(
        "NeedsHealthCheck: LoadBalancer with externalTrafficPolicy Local",
        service(
            type="LoadBalancer",
            externalTrafficPolicy="Local",
            healthCheckNodePort=32000,
            ports=[{"name": "http", "port": 80, "nodePort": 30080}],
        ),
        IPV4,
        {"external_policy_local": True, "health_check_node_port": 32000},
    ),
    Case(
        "InternalPolicyLocal",
        service(internalTrafficPolicy="Local"),
        IPV4,
        {"internal_policy_local": True, "uses_local_endpoints": True},
    ),
    Case(
        "hints annotation: topology-mode, falling back to topology-aware-hints",
        service(annotations={"service.kubernetes.io/topology-aware-hints": "auto"}),
        IPV4,
        {"hints_annotation": "auto", "hints_opt_in": True},
    ),
    Case(
        "trafficDistribution is kept",
        service(trafficDistribution="PreferClose"),
        IPV4,
        {"traffic_distribution": "PreferClose", "hints_opt_in": True},
    ),
]


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_service_port_infos(case: Case) -> None:
    before = copy.deepcopy(case.svc)
    infos = service_port_infos(case.svc, case.family)
    assert case.svc == before, "the API object is not mutated"
    if case.expected is None:
        assert infos == {}
        return
    info = only(infos)
    for attr, value in case.expected.items():
        assert getattr(info, attr) == value, attr


def test_ports_keyed_by_name_and_protocol() -> None:
    svc = service(
        ports=[
            {"name": "dns", "port": 53, "protocol": "UDP"},
            {"name": "dns-tcp", "port": 53, "protocol": "TCP"},
        ]
    )
    infos = service_port_infos(svc, IPV4)
    assert set(infos) == {
        ServicePortName("ns", "web", "dns", "UDP"),
        ServicePortName("ns", "web", "dns-tcp", "TCP"),
    }


def test_both_families() -> None:
    by_family = service_port_infos_by_family(LB_DUAL)
    assert only(by_family[IPV4]).cluster_ip == "10.96.0.10"
    assert only(by_family[IPV6]).cluster_ip == "fd00:10:96::a"


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (ServicePortName("default", "kubernetes", "https", "TCP"), "default/kubernetes:https"),
        (ServicePortName("default", "web", "", "TCP"), "default/web"),
        (ServiceName("default", "web"), "default/web"),
        (Endpoint("10.244.0.10", 80), "10.244.0.10:80"),
        (Endpoint("fd00::10", 80), "[fd00::10]:80"),
        (ServicePortInfo(HTTP, "10.96.0.10", 80, "UDP"), "10.96.0.10:80/UDP"),
    ],
    ids=[
        "ServicePortName.String: ns/name:port",
        "ServicePortName.String: unnamed port",
        "NamespacedName.String",
        "Endpoint.String: ip:port",
        "Endpoint.String: IPv6 in brackets",
        "ServicePort.String: ip:port/protocol",
    ],
)
def test_string_forms(value: object, text: str) -> None:
    assert str(value) == text


def test_externally_accessible_and_policies() -> None:
    internal_local = ServicePortInfo(HTTP, "10.96.0.10", 80, internal_policy_local=True)
    assert not internal_local.externally_accessible
    assert not internal_local.uses_cluster_endpoints
    assert internal_local.uses_local_endpoints
    nodeport_local = ServicePortInfo(
        HTTP, "10.96.0.10", 80, node_port=30080, external_policy_local=True
    )
    assert nodeport_local.uses_cluster_endpoints, "Local external policy still short-circuits"
    assert nodeport_local.uses_local_endpoints


def test_node_view_primary_ip_per_family() -> None:
    node = {
        "metadata": {"name": "n1", "labels": {LABEL_TOPOLOGY_ZONE: "zone-a", "x": "y"}},
        "status": {
            "addresses": [
                {"type": "Hostname", "address": "n1"},
                {"type": "ExternalIP", "address": "203.0.113.5"},
                {"type": "InternalIP", "address": "172.18.0.11"},
                {"type": "InternalIP", "address": "172.18.0.99"},
                {"type": "InternalIP", "address": "fd00:18::11"},
            ]
        },
    }
    view = node_view(node)
    assert view.ips == {IPV4: ("172.18.0.11",), IPV6: ("fd00:18::11",)}
    state = ProxyState(IPV4).with_node(view)
    assert state.node_name == "n1"
    assert state.node_ips == ("172.18.0.11",)
    assert state.node_labels == {LABEL_TOPOLOGY_ZONE: "zone-a"}, "only topology labels"


def test_empty_states_split_node_ips() -> None:
    states = empty_states("n1", ["172.18.0.11", "fd00:18::11"], {LABEL_TOPOLOGY_ZONE: "z"})
    assert states[IPV4].node_ips == ("172.18.0.11",)
    assert states[IPV6].node_ips == ("fd00:18::11",)
    assert states[IPV6].family == IPV6
    changed = ProxyState(IPV4, node_name="n1", node_labels={LABEL_TOPOLOGY_ZONE: "other"})
    assert states[IPV4].topology_differs(changed)
    assert not states[IPV4].topology_differs(states[IPV4])
