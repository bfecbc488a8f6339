"""categorize_endpoints, case by case against upstream ``pkg/proxy/topology_test.go``.

Upstream: ``TestCategorizeEndpoints`` (v1.31+, where the ServiceTrafficDistribution
gate makes kube-proxy honour hints without reading the Service annotation),
plus cases for the older annotation rule (``require_hints_opt_in``),
PreferClose / PreferSameNode hints, and Endpoint/ServicePortInfo basics.

Conventions: endpoints are ``10.x.y.z:80``; upstream's Go zero values are kept
(an endpoint that is not ready is not serving unless the case says so);
expected sets are ``None`` for "the port never uses this kind" and a set
(possibly empty) otherwise. When ``all`` is left out it is whichever of
cluster/local is not None, as upstream's test derives it.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest

from svcnet.proxy.model import LABEL_TOPOLOGY_ZONE, Endpoint, ServicePortInfo, ServicePortName
from svcnet.proxy.topology import (
    MODE_NONE,
    MODE_SAME_NODE,
    MODE_SAME_ZONE,
    categorize_endpoints,
    topology_mode,
)

SPN = ServicePortName("ns1", "svc1", "p80", "TCP")
ZONE_A = {LABEL_TOPOLOGY_ZONE: "zone-a"}


def svc(**kw: object) -> ServicePortInfo:
    return ServicePortInfo(name=SPN, cluster_ip="172.30.0.41", port=80, **kw)  # type: ignore[arg-type]


def ep(
    addr: str,
    *,
    ready: bool = True,
    serving: bool | None = None,
    terminating: bool = False,
    local: bool = False,
    zones: tuple[str, ...] = (),
    nodes: tuple[str, ...] = (),
) -> Endpoint:
    ip, port = addr.rsplit(":", 1)
    return Endpoint(
        ip=ip,
        port=int(port),
        ready=ready,
        serving=ready if serving is None else serving,
        terminating=terminating,
        is_local=local,
        zone_hints=frozenset(zones),
        node_hints=frozenset(nodes),
    )


@dataclass(frozen=True)
class Case:
    id: str
    info: ServicePortInfo
    endpoints: tuple[Endpoint, ...]
    cluster: set[str] | None
    local: set[str] | None
    all: set[str] | None = None
    only_remote: bool = False
    labels: dict[str, str] = field(default_factory=dict)
    node_name: str = "node-a"
    prefer_same_node: bool = True
    require_opt_in: bool = False


FOUR_ZONED = (
    ep("10.1.2.3:80", zones=("zone-a",)),
    ep("10.1.2.4:80", zones=("zone-b",)),
    ep("10.1.2.5:80", zones=("zone-c",)),
    ep("10.1.2.6:80", zones=("zone-a",)),
)
ALL_FOUR = {"10.1.2.3:80", "10.1.2.4:80", "10.1.2.5:80", "10.1.2.6:80"}

CASES = [
    # --- upstream TestCategorizeEndpoints, in its order -------------------------------
    Case(
        "hints: topology used when all endpoints have hints, node has a zone and one matches",
        svc(),
        FOUR_ZONED,
        cluster={"10.1.2.3:80", "10.1.2.6:80"},
        local=None,
        labels=ZONE_A,
    ),
    Case(
        "ETP Local: topology ignored for Local endpoints",
        svc(external_policy_local=True, node_port=8080),
        (
            ep("10.1.2.3:80", zones=("zone-a",), local=True),
            ep("10.1.2.4:80", zones=("zone-b",), local=True),
            ep("10.1.2.5:80", zones=("zone-c",)),
            ep("10.1.2.6:80", zones=("zone-a",)),
        ),
        cluster={"10.1.2.3:80", "10.1.2.6:80"},
        local={"10.1.2.3:80", "10.1.2.4:80"},
        all={"10.1.2.3:80", "10.1.2.4:80", "10.1.2.6:80"},
        labels=ZONE_A,
    ),
    Case(
        "ITP Local: topology ignored for Local endpoints",
        svc(internal_policy_local=True, node_port=8080),
        (
            ep("10.1.2.3:80", zones=("zone-a",), local=True),
            ep("10.1.2.4:80", zones=("zone-b",), local=True),
            ep("10.1.2.5:80", zones=("zone-c",)),
            ep("10.1.2.6:80", zones=("zone-a",)),
        ),
        cluster={"10.1.2.3:80", "10.1.2.6:80"},
        local={"10.1.2.3:80", "10.1.2.4:80"},
        all={"10.1.2.3:80", "10.1.2.4:80", "10.1.2.6:80"},
        labels=ZONE_A,
    ),
    Case(
        "hints ignored: empty node labels",
        svc(),
        (ep("10.1.2.3:80", zones=("zone-a",)),),
        cluster={"10.1.2.3:80"},
        local=None,
    ),
    Case(
        "hints ignored: empty zone label",
        svc(),
        (ep("10.1.2.3:80", zones=("zone-a",)),),
        cluster={"10.1.2.3:80"},
        local=None,
        labels={LABEL_TOPOLOGY_ZONE: ""},
    ),
    Case(
        "hints ignored: node in a zone no endpoint is hinted for",
        svc(),
        (ep("10.1.2.3:80", zones=("zone-a",)),),
        cluster={"10.1.2.3:80"},
        local=None,
        labels={LABEL_TOPOLOGY_ZONE: "zone-b"},
    ),
    Case(
        "hints: unready endpoint is not used",
        svc(),
        (*FOUR_ZONED[:3], ep("10.1.2.6:80", zones=("zone-a",), ready=False)),
        cluster={"10.1.2.3:80"},
        local=None,
        labels=ZONE_A,
    ),
    Case(
        "hints ignored: only unready endpoints in the node's zone",
        svc(),
        (
            ep("10.1.2.3:80", zones=("zone-a",), ready=False),
            ep("10.1.2.4:80", zones=("zone-b",)),
            ep("10.1.2.5:80", zones=("zone-c",)),
            ep("10.1.2.6:80", zones=("zone-a",), ready=False),
        ),
        cluster={"10.1.2.4:80", "10.1.2.5:80"},
        local=None,
        labels=ZONE_A,
    ),
    Case(
        "hints ignored when one endpoint lacks hints",
        svc(),
        (*FOUR_ZONED[:2], ep("10.1.2.5:80"), FOUR_ZONED[3]),
        cluster=ALL_FOUR,
        local=None,
        labels=ZONE_A,
    ),
    Case(
        "hints: multiple hints per endpoint, any endpoint hinted for the zone is used",
        svc(),
        (
            ep("10.1.2.3:80", zones=("zone-a", "zone-b", "zone-c")),
            ep("10.1.2.4:80", zones=("zone-b", "zone-c")),
            ep("10.1.2.5:80", zones=("zone-b", "zone-d")),
            ep("10.1.2.6:80", zones=("zone-c",)),
        ),
        cluster={"10.1.2.3:80", "10.1.2.4:80", "10.1.2.6:80"},
        local=None,
        labels={LABEL_TOPOLOGY_ZONE: "zone-c"},
    ),
    Case(
        "conflicting topology and localness require merging all reachable endpoints",
        svc(external_policy_local=True, node_port=8080),
        (
            ep("10.0.0.0:80", zones=("zone-a",), local=True),
            ep("10.0.0.1:80", zones=("zone-b",), local=True),
            ep("10.0.0.2:80", zones=("zone-a",)),
            ep("10.0.0.3:80", zones=("zone-b",)),
        ),
        cluster={"10.0.0.0:80", "10.0.0.2:80"},
        local={"10.0.0.0:80", "10.0.0.1:80"},
        all={"10.0.0.0:80", "10.0.0.1:80", "10.0.0.2:80"},
        labels=ZONE_A,
    ),
    Case(
        "ITP Local: with empty endpoints",
        svc(internal_policy_local=True),
        (),
        cluster=None,
        local=set(),
    ),
    Case(
        "ITP Local: all endpoints remote (none here, but some in the cluster)",
        svc(internal_policy_local=True),
        (ep("10.0.0.0:80"), ep("10.0.0.1:80")),
        cluster=None,
        local=set(),
        only_remote=True,
    ),
    Case(
        "ITP Local: all endpoints local",
        svc(internal_policy_local=True),
        (ep("10.0.0.0:80", local=True), ep("10.0.0.1:80", local=True)),
        cluster=None,
        local={"10.0.0.0:80", "10.0.0.1:80"},
    ),
    Case(
        "ITP Local: only local endpoints",
        svc(internal_policy_local=True),
        (ep("10.0.0.0:80", local=True), ep("10.0.0.1:80")),
        cluster=None,
        local={"10.0.0.0:80"},
    ),
    Case(
        "Cluster policy: endpoints not Ready are not used",
        svc(),
        (ep("10.0.0.0:80", ready=False), ep("10.0.0.1:80", ready=False)),
        cluster=set(),
        local=None,
    ),
    Case(
        "Cluster policy: only the Ready endpoints are used",
        svc(),
        (ep("10.0.0.0:80", ready=False), ep("10.0.0.1:80")),
        cluster={"10.0.0.1:80"},
        local=None,
    ),
    Case(
        "CategorizeEndpoints: terminating endpoints used when no ready endpoints exist",
        svc(),
        (
            ep("10.0.0.0:80", ready=False, serving=True, terminating=True, local=True),
            ep("10.0.0.1:80", ready=False, serving=True, terminating=True),
        ),
        cluster={"10.0.0.0:80", "10.0.0.1:80"},
        local=None,
    ),
    Case(
        "ITP Local, ETP Cluster: some endpoints local",
        svc(internal_policy_local=True, node_port=8080),
        (ep("10.0.0.0:80", local=True), ep("10.0.0.1:80")),
        cluster={"10.0.0.0:80", "10.0.0.1:80"},
        local={"10.0.0.0:80"},
        all={"10.0.0.0:80", "10.0.0.1:80"},
    ),
    Case(
        "ITP Cluster, ETP Local: some endpoints local",
        svc(external_policy_local=True, node_port=8080),
        (ep("10.0.0.0:80", local=True), ep("10.0.0.1:80")),
        cluster={"10.0.0.0:80", "10.0.0.1:80"},
        local={"10.0.0.0:80"},
        all={"10.0.0.0:80", "10.0.0.1:80"},
    ),
    Case(
        "ITP Local, ETP Local: some endpoints local",
        svc(internal_policy_local=True, external_policy_local=True, node_port=8080),
        (ep("10.0.0.0:80", local=True), ep("10.0.0.1:80")),
        cluster={"10.0.0.0:80", "10.0.0.1:80"},
        local={"10.0.0.0:80"},
        all={"10.0.0.0:80", "10.0.0.1:80"},
    ),
    Case(
        "ITP Local, ETP Local: all endpoints remote",
        svc(internal_policy_local=True, external_policy_local=True, node_port=8080),
        (ep("10.0.0.0:80"), ep("10.0.0.1:80")),
        cluster={"10.0.0.0:80", "10.0.0.1:80"},
        local=set(),
        all={"10.0.0.0:80", "10.0.0.1:80"},
    ),
    Case(
        "ITP Local, ETP Local: all endpoints remote and terminating",
        svc(internal_policy_local=True, external_policy_local=True, node_port=8080),
        (
            ep("10.0.0.0:80", ready=False, serving=True, terminating=True),
            ep("10.0.0.1:80", ready=False, serving=True, terminating=True),
        ),
        cluster={"10.0.0.0:80", "10.0.0.1:80"},
        local=set(),
        all={"10.0.0.0:80", "10.0.0.1:80"},
        only_remote=True,
    ),
    Case(
        "ITP Cluster, ETP Local: terminating endpoints used only when no ready one (per scope)",
        svc(external_policy_local=True, node_port=8080),
        (
            ep("10.0.0.0:80"),
            ep("10.0.0.1:80", ready=False, serving=False, local=True),
            ep("10.0.0.2:80", ready=False, serving=True, terminating=True, local=True),
            ep("10.0.0.3:80", ready=False, serving=True, terminating=True),
        ),
        cluster={"10.0.0.0:80"},
        local={"10.0.0.2:80"},
        all={"10.0.0.0:80", "10.0.0.2:80"},
    ),
    Case(
        "externalTrafficPolicy ignored if not externally accessible",
        svc(external_policy_local=True),
        (ep("10.0.0.0:80"), ep("10.0.0.1:80", local=True)),
        cluster={"10.0.0.0:80", "10.0.0.1:80"},
        local=None,
        all={"10.0.0.0:80", "10.0.0.1:80"},
    ),
    Case(
        "no cluster endpoints for an ITP Local internal-only service",
        svc(internal_policy_local=True),
        (ep("10.0.0.0:80"), ep("10.0.0.1:80", local=True)),
        cluster=None,
        local={"10.0.0.1:80"},
        all={"10.0.0.1:80"},
    ),
    # --- beyond upstream's table ----------------------------------------------------
    Case(
        "terminating endpoints not used while a ready one exists",
        svc(),
        (ep("10.0.0.0:80"), ep("10.0.0.1:80", ready=False, serving=True, terminating=True)),
        cluster={"10.0.0.0:80"},
        local=None,
    ),
    Case(
        "not-serving terminating endpoints are never used",
        svc(),
        (ep("10.0.0.0:80", ready=False, serving=False, terminating=True),),
        cluster=set(),
        local=None,
    ),
    Case(
        "PreferClose uses same-zone endpoints",
        svc(traffic_distribution="PreferClose"),
        FOUR_ZONED,
        cluster={"10.1.2.3:80", "10.1.2.6:80"},
        local=None,
        labels=ZONE_A,
    ),
    Case(
        "PreferClose falls back to all endpoints when none is hinted for the node's zone",
        svc(traffic_distribution="PreferClose"),
        FOUR_ZONED,
        cluster=ALL_FOUR,
        local=None,
        labels={LABEL_TOPOLOGY_ZONE: "zone-z"},
    ),
    Case(
        "ServiceTrafficDistribution: hints honoured even with annotation disabled",
        svc(hints_annotation="disabled"),
        FOUR_ZONED,
        cluster={"10.1.2.3:80", "10.1.2.6:80"},
        local=None,
        labels=ZONE_A,
    ),
    Case(
        "pre-ServiceTrafficDistribution: hints annotation Auto, hints used",
        svc(hints_annotation="Auto"),
        FOUR_ZONED,
        cluster={"10.1.2.3:80", "10.1.2.6:80"},
        local=None,
        labels=ZONE_A,
        require_opt_in=True,
    ),
    Case(
        "pre-ServiceTrafficDistribution: hints annotation disabled, hints ignored",
        svc(hints_annotation="disabled"),
        FOUR_ZONED,
        cluster=ALL_FOUR,
        local=None,
        labels=ZONE_A,
        require_opt_in=True,
    ),
    Case(
        "pre-ServiceTrafficDistribution: hints annotation empty, hints ignored",
        svc(),
        FOUR_ZONED,
        cluster=ALL_FOUR,
        local=None,
        labels=ZONE_A,
        require_opt_in=True,
    ),
    Case(
        "PreferSameNode: node hints for this node used",
        svc(traffic_distribution="PreferSameNode"),
        (
            ep("10.0.0.1:80", zones=("zone-a",), nodes=("node-a",), local=True),
            ep("10.0.0.2:80", zones=("zone-a",), nodes=("node-b",)),
            ep("10.0.0.3:80", zones=("zone-b",), nodes=("node-c",)),
        ),
        cluster={"10.0.0.1:80"},
        local=None,
        labels=ZONE_A,
    ),
    Case(
        "PreferSameNode: falls back to zone hints when no endpoint is hinted for this node",
        svc(traffic_distribution="PreferSameNode"),
        (
            ep("10.0.0.2:80", zones=("zone-a",), nodes=("node-b",)),
            ep("10.0.0.3:80", zones=("zone-b",), nodes=("node-c",)),
        ),
        cluster={"10.0.0.2:80"},
        local=None,
        labels=ZONE_A,
    ),
    Case(
        "PreferSameNode gate off: node hints ignored, zone hints used",
        svc(traffic_distribution="PreferSameNode"),
        (
            ep("10.0.0.1:80", zones=("zone-a",), nodes=("node-a",)),
            ep("10.0.0.2:80", zones=("zone-a",), nodes=("node-b",)),
            ep("10.0.0.3:80", zones=("zone-b",), nodes=("node-c",)),
        ),
        cluster={"10.0.0.1:80", "10.0.0.2:80"},
        local=None,
        labels=ZONE_A,
        prefer_same_node=False,
    ),
]


def _strs(eps: tuple[Endpoint, ...] | None) -> set[str] | None:
    return None if eps is None else {str(e) for e in eps}


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_categorize_endpoints(case: Case) -> None:
    got = categorize_endpoints(
        case.endpoints,
        case.info,
        case.node_name,
        case.labels,
        prefer_same_node=case.prefer_same_node,
        require_hints_opt_in=case.require_opt_in,
    )
    assert _strs(got.cluster) == case.cluster
    assert _strs(got.local) == case.local
    if case.cluster is not None and case.local is None:
        expected_all = case.cluster
    elif case.local is not None and case.cluster is None:
        expected_all = case.local
    else:
        expected_all = case.all or set()
    assert _strs(got.all_reachable) == expected_all
    assert len(got.all_reachable) == len(expected_all), "no endpoint twice"
    assert got.has_any == (bool(expected_all) or case.only_remote)


def test_output_keeps_input_order() -> None:
    eps = (ep("10.0.0.9:80"), ep("10.0.0.1:80"), ep("10.0.0.5:80"))
    got = categorize_endpoints(eps, svc(), "node-a", {})
    assert got.cluster == eps
    assert got.all_reachable == eps


@pytest.mark.parametrize(
    ("eps", "zone", "expected"),
    [
        ((ep("10.0.0.1:80", zones=("zone-a",)),), "zone-a", MODE_SAME_ZONE),
        ((ep("10.0.0.1:80", zones=("zone-a",), nodes=("node-a",)),), "zone-a", MODE_SAME_NODE),
        ((ep("10.0.0.1:80", ready=False, zones=("zone-a",)),), "zone-a", MODE_NONE),
        ((), "zone-a", MODE_NONE),
    ],
    ids=[
        "topologyModeFromHints: zone hints",
        "topologyModeFromHints: node hints win over zone hints",
        "topologyModeFromHints: no ready endpoints, no topology",
        "topologyModeFromHints: no endpoints, no topology",
    ],
)
def test_topology_mode(eps: tuple[Endpoint, ...], zone: str, expected: str) -> None:
    assert topology_mode(eps, "node-a", zone) == expected
