"""service_plan and the health check answer, each case naming the upstream rule.

Upstream: ``pkg/proxy/nftables/proxier.go`` and ``iptables/proxier.go``
``syncProxyRules`` (the decisions before rules are written: internal and
external policy chains, the EXT chain's masquerade and short-circuit rules,
no-endpoint REJECT/DROP verdicts, firewall for loadBalancerSourceRanges,
ClientIP affinity, hairpin masquerade in endpoint chains), and
``healthcheck/service_health.go`` (``hcHandler.ServeHTTP``,
``EndpointsMap.LocalReadyEndpoints``).

Conventions: node ``node-a`` with IP 172.18.0.11; cluster CIDR 10.244.0.0/16
when configured; Service ``ns/web`` port ``http`` 80 at ClusterIP 10.96.0.10;
endpoints 10.244.x.y:8080, local ones on 10.244.1.0/24.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pytest

from svcnet.proxy.model import (
    IPV4,
    Endpoint,
    ProxyState,
    ServiceName,
    ServicePortInfo,
    ServicePortName,
)
from svcnet.proxy.plan import (
    FrontendKind,
    Masquerade,
    PlanOptions,
    Policy,
    Route,
    ServicePlan,
    Verdict,
    health_check_headers,
    health_check_node_ports,
    health_check_response,
    local_ready_endpoint_counts,
    plan_port,
    plan_services,
    service_plan,
)
from svcnet.proxy.topology import categorize_endpoints

SPN = ServicePortName("ns", "web", "http", "TCP")
NODE_IPS = ("172.18.0.11",)
CIDR = PlanOptions(cluster_cidrs=("10.244.0.0/16",))

LOCAL = Endpoint("10.244.1.5", 8080, is_local=True)
REMOTE = Endpoint("10.244.2.5", 8080)
REMOTE2 = Endpoint("10.244.3.5", 8080)
TERMINATING = Endpoint("10.244.2.9", 8080, ready=False, serving=True, terminating=True)


def info(**kw: Any) -> ServicePortInfo:
    return ServicePortInfo(name=SPN, cluster_ip="10.96.0.10", port=80, **kw)


def summarize(plan: ServicePlan) -> dict[str, Any]:
    def names(eps: tuple[Endpoint, ...]) -> list[str]:
        return [str(e) for e in eps]

    return {
        "has_endpoints": plan.has_endpoints,
        "frontends": [
            (
                f.kind.value,
                f.ip,
                f.port,
                f.route and f.route.value,
                f.filter_verdict and f.filter_verdict.value,
                f.firewall,
            )
            for f in plan.frontends
        ],
        "internal": plan.internal
        and (plan.internal.policy.value, names(plan.internal.endpoints), plan.internal.masquerade),
        "external": plan.external
        and (
            plan.external.policy.value,
            names(plan.external.endpoints),
            plan.external.masquerade_all,
            plan.external.short_circuit_pods,
            plan.external.short_circuit_host,
        ),
        "targets": names(plan.endpoint_targets),
        "cluster_group": names(plan.cluster_endpoints),
        "local_group": names(plan.local_endpoints),
        "firewall": plan.firewall_sources,
        "affinity": plan.affinity_seconds,
    }


@dataclass(frozen=True)
class Case:
    id: str
    info: ServicePortInfo
    endpoints: tuple[Endpoint, ...]
    expected: dict[str, Any]
    options: PlanOptions = field(default_factory=PlanOptions)


NODEPORT = {"node_port": 30080}
CASES = [
    Case(
        "ClusterIP: internal traffic to the Cluster group, no masquerade without --cluster-cidr",
        info(),
        (LOCAL, REMOTE),
        {
            "has_endpoints": True,
            "frontends": [("ClusterIP", "10.96.0.10", 80, "internal", None, False)],
            "internal": ("Cluster", ["10.244.1.5:8080", "10.244.2.5:8080"], Masquerade.NONE),
            "external": None,
            "targets": ["10.244.1.5:8080", "10.244.2.5:8080"],
        },
    ),
    Case(
        "--cluster-cidr: masquerade traffic from outside the pod CIDR to the ClusterIP",
        info(),
        (REMOTE,),
        {"internal": ("Cluster", ["10.244.2.5:8080"], Masquerade.OFF_CLUSTER)},
        CIDR,
    ),
    Case(
        "--masquerade-all: masquerade all ClusterIP traffic",
        info(),
        (REMOTE,),
        {"internal": ("Cluster", ["10.244.2.5:8080"], Masquerade.ALL)},
        PlanOptions(cluster_cidrs=("10.244.0.0/16",), masquerade_all=True),
    ),
    Case(
        "no endpoints: every frontend REJECTs at once, nothing is DNATed",
        info(
            node_port=30080,
            external_ips=("192.0.2.7",),
            load_balancer_vips=("172.18.0.200",),
        ),
        (Endpoint("10.244.2.5", 8080, ready=False, serving=False),),
        {
            "has_endpoints": False,
            "frontends": [
                ("ClusterIP", "10.96.0.10", 80, None, "reject", False),
                ("ExternalIP", "192.0.2.7", 80, None, "reject", False),
                ("LoadBalancer", "172.18.0.200", 80, None, "reject", False),
                ("NodePort", None, 30080, None, "reject", False),
            ],
            "internal": None,
            "external": None,
            "targets": [],
        },
    ),
    Case(
        "ITP Local: only local endpoints serve the ClusterIP",
        info(internal_policy_local=True),
        (LOCAL, REMOTE),
        {
            "internal": ("Local", ["10.244.1.5:8080"], Masquerade.NONE),
            "targets": ["10.244.1.5:8080"],
            "cluster_group": [],
            "local_group": ["10.244.1.5:8080"],
        },
    ),
    Case(
        "ITP Local, none on this node: ClusterIP REJECTs (svcnet: refused at once)",
        info(internal_policy_local=True),
        (REMOTE,),
        {
            "has_endpoints": True,
            "frontends": [("ClusterIP", "10.96.0.10", 80, None, "reject", False)],
            "internal": None,
            "targets": [],
        },
    ),
    Case(
        "ITP Local, none on this node: ClusterIP DROPs with upstream's verdict",
        info(internal_policy_local=True),
        (REMOTE,),
        {"frontends": [("ClusterIP", "10.96.0.10", 80, None, "drop", False)]},
        PlanOptions(internal_no_local=Verdict.DROP),
    ),
    Case(
        "ETP Cluster: external traffic masqueraded (it may leave the node), to every endpoint",
        info(**NODEPORT, external_ips=("192.0.2.7",)),
        (LOCAL, REMOTE),
        {
            "frontends": [
                ("ClusterIP", "10.96.0.10", 80, "internal", None, False),
                ("ExternalIP", "192.0.2.7", 80, "external", None, False),
                ("NodePort", None, 30080, "external", None, False),
            ],
            "external": ("Cluster", ["10.244.1.5:8080", "10.244.2.5:8080"], True, False, False),
        },
        CIDR,
    ),
    Case(
        "ETP Local: external traffic only to local, no masquerade; pods and the node short-circuit",
        info(**NODEPORT, external_policy_local=True),
        (LOCAL, REMOTE),
        {
            "frontends": [
                ("ClusterIP", "10.96.0.10", 80, "internal", None, False),
                ("NodePort", None, 30080, "external", None, False),
            ],
            "internal": ("Cluster", ["10.244.1.5:8080", "10.244.2.5:8080"], Masquerade.OFF_CLUSTER),
            "external": ("Local", ["10.244.1.5:8080"], False, True, True),
            "cluster_group": ["10.244.1.5:8080", "10.244.2.5:8080"],
            "local_group": ["10.244.1.5:8080"],
        },
        CIDR,
    ),
    Case(
        "ETP Local without --cluster-cidr: no pod short-circuit (local detector not implemented)",
        info(**NODEPORT, external_policy_local=True),
        (LOCAL, REMOTE),
        {"external": ("Local", ["10.244.1.5:8080"], False, False, True)},
    ),
    Case(
        "ETP Local, no local endpoints: external frontends DROP what is not short-circuited",
        info(**NODEPORT, external_policy_local=True, load_balancer_vips=("172.18.0.200",)),
        (REMOTE,),
        {
            "frontends": [
                ("ClusterIP", "10.96.0.10", 80, "internal", None, False),
                ("LoadBalancer", "172.18.0.200", 80, "external", "drop", False),
                ("NodePort", None, 30080, "external", "drop", False),
            ],
            "external": ("Local", [], False, True, True),
            "targets": ["10.244.2.5:8080"],
        },
        CIDR,
    ),
    Case(
        "LB source ranges: firewall on LB VIPs only, NodePorts never filtered",
        info(
            **NODEPORT,
            load_balancer_vips=("172.18.0.200",),
            load_balancer_source_ranges=("203.0.113.0/24",),
        ),
        (REMOTE,),
        {
            "frontends": [
                ("ClusterIP", "10.96.0.10", 80, "internal", None, False),
                ("LoadBalancer", "172.18.0.200", 80, "external", None, True),
                ("NodePort", None, 30080, "external", None, False),
            ],
            "firewall": ("203.0.113.0/24",),
        },
    ),
    Case(
        "LB source ranges containing a node IP also allow the VIPs (hairpin via the VIP)",
        info(
            load_balancer_vips=("172.18.0.200",),
            load_balancer_source_ranges=("172.18.0.0/24",),
        ),
        (REMOTE,),
        {"firewall": ("172.18.0.0/24", "172.18.0.200")},
    ),
    Case(
        "LB source ranges without an LB VIP: no firewall",
        info(load_balancer_source_ranges=("203.0.113.0/24",)),
        (REMOTE,),
        {"firewall": None},
    ),
    Case(
        "session affinity ClientIP: timeout carried to every endpoint target",
        info(session_affinity="ClientIP", sticky_max_age_seconds=60),
        (REMOTE, REMOTE2),
        {"affinity": 60, "targets": ["10.244.2.5:8080", "10.244.3.5:8080"]},
    ),
    Case(
        "no session affinity",
        info(),
        (REMOTE,),
        {"affinity": None},
    ),
    Case(
        "terminating endpoints serve only when no ready endpoint exists",
        info(),
        (TERMINATING,),
        {
            "has_endpoints": True,
            "internal": ("Cluster", ["10.244.2.9:8080"], Masquerade.NONE),
        },
    ),
]


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_service_plan(case: Case) -> None:
    categorized = categorize_endpoints(case.endpoints, case.info, "node-a", {})
    got = summarize(service_plan(case.info, categorized, NODE_IPS, case.options))
    for key, value in case.expected.items():
        assert got[key] == value, key


def test_plan_from_state() -> None:
    web = info(node_port=30080)
    other_spn = ServicePortName("ns", "other", "", "TCP")
    other = ServicePortInfo(other_spn, "10.96.0.11", 80)
    st = ProxyState(
        IPV4,
        node_name="node-a",
        node_ips=NODE_IPS,
        services={SPN: web, other_spn: other},
        endpoints={SPN: (LOCAL,)},
        service_ports={SPN.service: (SPN,), other_spn.service: (other_spn,)},
    )
    plan = plan_port(st, SPN)
    assert plan is not None and plan.has_endpoints
    assert plan.internal is not None and plan.internal.policy is Policy.CLUSTER
    assert plan_port(st, ServicePortName("ns", "nope")) is None
    assert list(plan_services(st)) == [other_spn, SPN]
    only_web = plan_services(st, [ServiceName("ns", "web")])
    assert list(only_web) == [SPN]
    other_plan = plan_services(st)[other_spn]
    assert other_plan.frontends[0].kind is FrontendKind.CLUSTER_IP
    assert other_plan.frontends[0].route is None
    assert other_plan.frontends[0].filter_verdict is Verdict.REJECT
    assert plan.frontends[1].route is Route.EXTERNAL


# --- health check node port --------------------------------------------------------------


def test_health_check_body_is_upstreams() -> None:
    status, body = health_check_response(ServiceName("ns", "web"), 2)
    assert status == 200
    assert body == (
        "{\n"
        '\t"service": {\n'
        '\t\t"namespace": "ns",\n'
        '\t\t"name": "web"\n'
        "\t},\n"
        '\t"localEndpoints": 2,\n'
        '\t"serviceProxyHealthy": true\n'
        "}"
    )


@pytest.mark.parametrize(
    ("local", "healthy", "status"),
    [(1, True, 200), (0, True, 503), (3, False, 503)],
    ids=[
        "hcHandler: local endpoints and a healthy proxy answer 200",
        "hcHandler: no local endpoints answer 503 (the LB drains this node)",
        "hcHandler: an unhealthy proxy answers 503",
    ],
)
def test_health_check_status(local: int, healthy: bool, status: int) -> None:
    got = health_check_response(ServiceName("ns", "web"), local, proxy_healthy=healthy)
    assert got.status == status
    assert f'"localEndpoints": {local}' in got.body
    assert health_check_headers(local)["X-Load-Balancing-Endpoint-Weight"] == str(local)


def test_local_ready_endpoints_counted_by_ip_across_ports() -> None:
    """LocalReadyEndpoints: distinct local Ready IPs per Service; terminating ones never count."""
    https = ServicePortName("ns", "web", "https", "TCP")
    st = ProxyState(
        IPV4,
        services={
            SPN: info(health_check_node_port=32000),
            https: ServicePortInfo(https, "10.96.0.10", 443),
        },
        endpoints={
            SPN: (
                LOCAL,
                REMOTE,
                Endpoint("10.244.1.6", 8080, ready=False, terminating=True, is_local=True),
            ),
            https: (Endpoint("10.244.1.5", 8443, is_local=True),),
        },
    )
    assert local_ready_endpoint_counts(st) == {ServiceName("ns", "web"): 1}
    assert health_check_node_ports(st) == {ServiceName("ns", "web"): 32000}
