"""EndpointSlice reconciler core, each case naming the upstream rule it checks.

Upstream: ``staging/src/k8s.io/endpointslice`` reconciler.go (Reconcile,
reconcileByAddressType, reconcileByPortMapping, finalize), utils.go
(podToEndpoint, getEndpointPorts, setEndpointSliceLabels, getSliceToFill,
getAddressTypesForService).

Conventions: Service ``web`` in ``default`` (uid ``svc-uid``, ClusterIP
10.96.0.10) selects ``app=web``; pod ``web-NNN`` has IP 10.244.x.y (and
fd00:10:244::NNN when dual-stack) on node ``node-a`` (zone ``zone-a``).
Existing slices are made by applying an earlier plan, the way the API
server would: a created slice gets the name ``<generateName><5 digits>``.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import pytest

from svcnet.controllers.endpointslice import (
    ANNOTATION_TRIGGER_TIME,
    CONTROLLER_NAME,
    LABEL_HEADLESS,
    LABEL_MANAGED_BY,
    LABEL_SERVICE_NAME,
    Plan,
    address_types_for_service,
    desired_endpoints,
    pod_to_endpoint,
    reconcile,
)

Obj = dict[str, Any]


def svc(
    *,
    families: tuple[str, ...] = ("IPv4",),
    cluster_ip: str = "10.96.0.10",
    selector: dict[str, str] | None = None,
    ports: list[Obj] | None = None,
    labels: dict[str, str] | None = None,
    publish: bool = False,
    type_: str = "ClusterIP",
    uid: str = "svc-uid",
    deleting: bool = False,
) -> Obj:
    meta: Obj = {"name": "web", "namespace": "default", "uid": uid, "labels": labels or {}}
    if deleting:
        meta["deletionTimestamp"] = "2024-05-01T10:00:00Z"
    spec: Obj = {
        "type": type_,
        "clusterIP": cluster_ip,
        "ipFamilies": list(families),
        "selector": {"app": "web"} if selector is None else selector,
        "ports": [{"name": "http", "port": 80, "targetPort": 8080, "protocol": "TCP"}]
        if ports is None
        else ports,
    }
    if publish:
        spec["publishNotReadyAddresses"] = True
    return {"apiVersion": "v1", "kind": "Service", "metadata": meta, "spec": spec}


def pod(
    i: int,
    *,
    ready: bool = True,
    deleting: bool = False,
    node: str = "node-a",
    dual: bool = False,
    http_port: int | None = None,
    hostname: str = "",
) -> Obj:
    ips = [f"10.244.{i // 250}.{i % 250 + 1}"]
    if dual:
        ips.append(f"fd00:10:244::{i + 1:x}")
    meta: Obj = {
        "name": f"web-{i:03d}",
        "namespace": "default",
        "uid": f"pod-uid-{i}",
        "labels": {"app": "web"},
    }
    if deleting:
        meta["deletionTimestamp"] = "2024-05-01T10:00:00Z"
    containers = [{"name": "c"}]
    if http_port is not None:
        containers[0]["ports"] = [{"name": "http", "containerPort": http_port, "protocol": "TCP"}]
    spec: Obj = {"nodeName": node, "containers": containers}
    if hostname:
        spec["hostname"], spec["subdomain"] = hostname, "web"
    return {
        "metadata": meta,
        "spec": spec,
        "status": {
            "phase": "Running",
            "podIP": ips[0],
            "podIPs": [{"ip": ip} for ip in ips],
            "conditions": [{"type": "Ready", "status": "True" if ready else "False"}],
        },
    }


def pods(n: int, start: int = 0, **kw: Any) -> list[Obj]:
    return [pod(i, **kw) for i in range(start, start + n)]


NODES = {
    "node-a": {"metadata": {"name": "node-a", "labels": {"topology.kubernetes.io/zone": "zone-a"}}},
    "node-b": {"metadata": {"name": "node-b"}},
}


def apply(existing: list[Obj], plan: Plan) -> list[Obj]:
    """Apply a plan like the API server would; names created slices."""
    by_name = {s["metadata"]["name"]: s for s in existing}
    for s in plan.update:
        assert s["metadata"]["name"] in by_name, "update of a slice that does not exist"
        by_name[s["metadata"]["name"]] = copy.deepcopy(s)
    for s in plan.delete:
        assert by_name.pop(s["metadata"]["name"], None) is not None, "delete of a missing slice"
    for s in plan.create:
        assert "name" not in s["metadata"]
        s = copy.deepcopy(s)
        n = 1
        while f"{s['metadata']['generateName']}{n:05d}" in by_name:
            n += 1
        s["metadata"]["name"] = f"{s['metadata']['generateName']}{n:05d}"
        by_name[s["metadata"]["name"]] = s
    return sorted(by_name.values(), key=lambda s: s["metadata"]["name"])


def state(service: Obj, pod_list: list[Obj], max_per_slice: int = 100) -> list[Obj]:
    """Slices as the controller leaves them for these pods, from nothing."""
    return apply([], reconcile(service, pod_list, NODES, [], max_per_slice=max_per_slice))


def names(s: Obj) -> list[str]:
    return [ep["targetRef"]["name"] for ep in s.get("endpoints") or []]


@dataclass(frozen=True)
class Want:
    """A plan by slice: creates as (addressType, size), updates name -> size."""

    create: list[tuple[str, int]] = field(default_factory=list)
    update: dict[str, int] = field(default_factory=dict)
    delete: list[str] = field(default_factory=list)


def summarize(plan: Plan) -> Want:
    return Want(
        create=[(s["addressType"], len(s["endpoints"])) for s in plan.create],
        update={s["metadata"]["name"]: len(s["endpoints"]) for s in plan.update},
        delete=[s["metadata"]["name"] for s in plan.delete],
    )


@dataclass(frozen=True)
class Case:
    id: str
    service: Obj
    pods: list[Obj]
    want: Want
    existing: Callable[[], list[Obj]] = list
    max_per_slice: int = 100
    check: Callable[[Plan], None] | None = None


def _slices_with_sizes(*sizes: int) -> Callable[[], list[Obj]]:
    """Existing slices of exactly these sizes (pods numbered consecutively)."""

    def build() -> list[Obj]:
        out: list[Obj] = []
        start = 0
        for size in sizes:
            out = apply(out, reconcile(svc(), pods(size, start), NODES, [], max_per_slice=1000))
            start += size
        return out

    return build


def _check_port_groups(plan: Plan) -> None:
    by_port = {s["ports"][0]["port"]: names(s) for s in plan.create}
    assert by_port == {8080: ["web-000", "web-001"], 9090: ["web-002"]}


def _check_no_port_group(plan: Plan) -> None:
    assert sorted((len(s["ports"]), names(s)) for s in plan.create) == [
        (0, ["web-001"]),
        (1, ["web-000"]),
    ]


def _check_placeholder(plan: Plan) -> None:
    (s,) = plan.update
    assert s["ports"] == [] and s["endpoints"] == []


def _check_ports_updated(plan: Plan) -> None:
    assert plan.update[0]["ports"][0]["port"] == 8081


def _check_labels(plan: Plan) -> None:
    for s in plan.update:
        assert s["metadata"]["labels"]["team"] == "blue"


def _check_requeue(plan: Plan) -> None:
    assert names(plan.create[0]) == ["web-000"]
    assert plan.requeue == [
        "skipping Pod web-001 for Service default/web: Node node-gone Not Found"
    ]


def _check_headless(plan: Plan) -> None:
    (s,) = plan.create
    assert s["metadata"]["labels"][LABEL_HEADLESS] == ""
    assert s["ports"] == []


def _check_dual(plan: Plan) -> None:
    v4, v6 = plan.create
    assert v4["endpoints"][0]["addresses"] == ["10.244.0.1"]
    assert v6["endpoints"][0]["addresses"] == ["fd00:10:244::1"]


def _check_conditions(plan: Plan) -> None:
    (s,) = plan.update
    assert s["endpoints"][0]["conditions"] == {
        "ready": False,
        "serving": False,
        "terminating": False,
    }


CASES = [
    Case(
        "250 pods -> 100/100/50",
        svc(),
        pods(250),
        Want(create=[("IPv4", 100)] * 2 + [("IPv4", 50)]),
    ),
    Case(
        "max-endpoints-per-slice flag is honoured (7 pods, max 3 -> 3/3/1)",
        svc(),
        pods(7),
        Want(create=[("IPv4", 3), ("IPv4", 3), ("IPv4", 1)]),
        max_per_slice=3,
    ),
    Case(
        "unchanged input produces an empty plan",
        svc(),
        pods(5),
        Want(),
        existing=lambda: state(svc(), pods(5)),
    ),
    Case(
        "pod deleted -> endpoint removed, slice kept",
        svc(),
        pods(2),
        Want(update={"web-00001": 2}),
        existing=lambda: state(svc(), pods(3)),
    ),
    Case(
        "no pods -> a placeholder slice (no ports, no endpoints) per family",
        svc(),
        [],
        Want(create=[("IPv4", 0)]),
    ),
    Case(
        "placeholder is kept, not recreated, while there are still no pods",
        svc(),
        [],
        Want(),
        existing=lambda: state(svc(), []),
    ),
    Case(
        "last pod gone -> its slice is recycled into the placeholder",
        svc(),
        [],
        Want(update={"web-00001": 0}),
        existing=lambda: state(svc(), pods(1)),
        check=_check_placeholder,
    ),
    Case(
        "first pod -> the placeholder is recycled, not deleted and recreated",
        svc(),
        pods(1),
        Want(update={"web-00001": 1}),
        existing=lambda: state(svc(), []),
    ),
    Case(
        "reconciler fills existing slices before creating new ones",
        svc(),
        pods(180),
        Want(update={"web-00002": 80}),
        existing=lambda: state(svc(), pods(150)),
    ),
    Case(
        "leftovers go to the unchanged slice that ends closest to full (getSliceToFill)",
        svc(),
        pods(265),
        Want(update={"web-00003": 95}),
        existing=_slices_with_sizes(100, 70, 90),
    ),
    Case(
        "slices being updated anyway are topped up fullest first",
        svc(),
        [p for p in pods(170) if p["metadata"]["name"] not in ("web-000", "web-080")],
        Want(update={"web-00001": 100, "web-00002": 68}),
        existing=_slices_with_sizes(80, 60),
    ),
    Case(
        "max or more left over -> a new full slice, the rest into an existing one",
        svc(),
        pods(170),
        Want(create=[("IPv4", 100)], update={"web-00001": 70}),
        existing=_slices_with_sizes(50),
    ),
    Case(
        "dual-stack: one slice per family",
        svc(families=("IPv4", "IPv6")),
        pods(3, dual=True),
        Want(create=[("IPv4", 3), ("IPv6", 3)]),
        check=_check_dual,
    ),
    Case(
        "family dropped from ipFamilies -> its slices deleted",
        svc(families=("IPv4",)),
        pods(3, dual=True),
        Want(delete=["web-00002"]),
        existing=lambda: state(svc(families=("IPv4", "IPv6")), pods(3, dual=True)),
    ),
    Case(
        "named targetPort resolved per pod -> one slice per distinct ports list",
        svc(ports=[{"name": "http", "port": 80, "targetPort": "http", "protocol": "TCP"}]),
        [pod(0, http_port=8080), pod(1, http_port=8080), pod(2, http_port=9090)],
        Want(create=[("IPv4", 2), ("IPv4", 1)]),
        check=_check_port_groups,
    ),
    Case(
        "pod whose named port does not resolve is an endpoint with no ports",
        svc(ports=[{"name": "http", "port": 80, "targetPort": "http", "protocol": "TCP"}]),
        [pod(0, http_port=8080), pod(1)],
        Want(create=[("IPv4", 1), ("IPv4", 1)]),
        check=_check_no_port_group,
    ),
    Case(
        "Service port change -> slices recycled by update, not delete + create",
        svc(ports=[{"name": "http", "port": 80, "targetPort": 8081, "protocol": "TCP"}]),
        pods(3),
        Want(update={"web-00001": 3}),
        existing=lambda: state(svc(), pods(3)),
        check=_check_ports_updated,
    ),
    Case(
        "Service label change -> every slice updated with the copied labels",
        svc(labels={"team": "blue"}),
        pods(150),
        Want(update={"web-00001": 100, "web-00002": 50}),
        existing=lambda: state(svc(), pods(150)),
        check=_check_labels,
    ),
    Case(
        "slice owned by an older Service of the same name is deleted, never reused",
        svc(uid="new-uid"),
        pods(2),
        Want(create=[("IPv4", 2)], delete=["web-00001"]),
        existing=lambda: state(svc(uid="old-uid"), pods(2)),
    ),
    Case(
        "readiness change -> endpoint updated in place",
        svc(),
        [pod(0, ready=False)],
        Want(update={"web-00001": 1}),
        existing=lambda: state(svc(), pods(1)),
        check=_check_conditions,
    ),
    Case(
        "pod on an unknown node is skipped and the Service requeued",
        svc(),
        [pod(0), pod(1, node="node-gone")],
        Want(create=[("IPv4", 1)]),
        check=_check_requeue,
    ),
    Case(
        "publishNotReadyAddresses publishes pods on unknown nodes",
        svc(publish=True),
        [pod(0), pod(1, node="node-gone")],
        Want(create=[("IPv4", 2)]),
    ),
    Case(
        "headless Service: headless label, and no ports is fine",
        svc(cluster_ip="None", ports=[]),
        pods(2),
        Want(create=[("IPv4", 2)]),
        check=_check_headless,
    ),
    Case(
        "Service without a selector is left alone",
        svc(selector={}),
        pods(3),
        Want(),
        existing=lambda: state(svc(), pods(3)),
    ),
    Case(
        "ExternalName Service -> managed slices deleted (svcnet; upstream leaves them)",
        svc(type_="ExternalName"),
        pods(3),
        Want(delete=["web-00001"]),
        existing=lambda: state(svc(), pods(3)),
    ),
    Case(
        "Service being deleted -> no new slices (race with the garbage collector)",
        svc(deleting=True),
        pods(3),
        Want(),
    ),
    Case(
        "terminal pods and pods without an IP are left out",
        svc(),
        [
            pod(0),
            {**pod(1), "status": {"phase": "Succeeded", "podIP": "10.244.0.2"}},
            {**pod(2), "status": {}},
        ],
        Want(create=[("IPv4", 1)]),
    ),
]


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_reconcile(case: Case) -> None:
    existing = case.existing()
    frozen = copy.deepcopy(existing)
    plan = reconcile(case.service, case.pods, NODES, existing, max_per_slice=case.max_per_slice)
    assert summarize(plan) == case.want
    assert existing == frozen, "reconcile must not mutate its inputs"
    if case.check:
        case.check(plan)


def test_slice_metadata_like_upstream() -> None:
    plan = reconcile(svc(labels={"team": "blue", LABEL_MANAGED_BY: "someone"}), pods(1), NODES, [])
    (s,) = plan.create
    assert s["apiVersion"] == "discovery.k8s.io/v1" and s["kind"] == "EndpointSlice"
    assert s["metadata"]["generateName"] == "web-"
    assert s["metadata"]["namespace"] == "default"
    assert s["metadata"]["labels"] == {
        "team": "blue",
        LABEL_SERVICE_NAME: "web",
        LABEL_MANAGED_BY: CONTROLLER_NAME,
    }
    assert s["metadata"]["ownerReferences"] == [
        {
            "apiVersion": "v1",
            "kind": "Service",
            "name": "web",
            "uid": "svc-uid",
            "controller": True,
            "blockOwnerDeletion": True,
        }
    ]
    assert s["addressType"] == "IPv4"
    assert s["ports"] == [{"name": "http", "port": 8080, "protocol": "TCP"}]


def test_app_protocol_and_unnamed_ports_copied() -> None:
    service = svc(
        ports=[{"port": 80, "targetPort": 8080, "protocol": "TCP", "appProtocol": "http"}]
    )
    (s,) = reconcile(service, pods(1), NODES, []).create
    assert s["ports"] == [{"name": "", "port": 8080, "protocol": "TCP", "appProtocol": "http"}]


def test_trigger_time_annotation_only_on_changed_slices() -> None:
    when = datetime(2024, 5, 1, 10, 0, 0, 250000, tzinfo=UTC)
    existing = state(svc(), pods(150))
    plan = reconcile(svc(), pods(149), NODES, existing, now=when)
    assert [s["metadata"]["name"] for s in plan.update] == ["web-00002"]
    assert plan.update[0]["metadata"]["annotations"] == {
        ANNOTATION_TRIGGER_TIME: "2024-05-01T10:00:00.25Z"
    }
    # No trigger time: the annotation is cleared from what is written.
    again = reconcile(svc(), pods(148), NODES, apply(existing, plan))
    assert ANNOTATION_TRIGGER_TIME not in again.update[0]["metadata"].get("annotations", {})


def test_slices_of_other_controllers_are_never_touched() -> None:
    foreign = copy.deepcopy(state(svc(), pods(2))[0])
    foreign["metadata"]["labels"][LABEL_MANAGED_BY] = "endpointslicemirroring-controller.k8s.io"
    plan = reconcile(svc(), pods(2), NODES, [foreign])
    assert summarize(plan) == Want(create=[("IPv4", 2)])


def test_endpoint_order_is_kept_and_new_ones_appended() -> None:
    existing = state(svc(), pods(3))
    plan = reconcile(svc(), [pod(2), pod(0), pod(5)], NODES, existing)
    assert names(plan.update[0]) == ["web-000", "web-002", "web-005"]


def test_max_per_slice_out_of_range_is_rejected() -> None:
    with pytest.raises(ValueError, match=r"1\.\.1000"):
        reconcile(svc(), [], NODES, [], max_per_slice=1001)


# --- one pod as an endpoint -----------------------------------------------------------


@dataclass(frozen=True)
class EndpointCase:
    id: str
    pod: Obj
    service: Obj
    want: Obj
    address_type: str = "IPv4"


REF0 = {"kind": "Pod", "namespace": "default", "name": "web-000", "uid": "pod-uid-0"}


def ep(ready: bool, serving: bool, terminating: bool, **extra: Any) -> Obj:
    out: Obj = {
        "addresses": extra.pop("addresses", ["10.244.0.1"]),
        "conditions": {"ready": ready, "serving": serving, "terminating": terminating},
    }
    if "hostname" in extra:
        out["hostname"] = extra.pop("hostname")
    out["targetRef"] = REF0
    out["nodeName"] = extra.pop("nodeName", "node-a")
    if extra.get("zone", "zone-a"):
        out["zone"] = extra.pop("zone", "zone-a")
    return out


ENDPOINT_CASES = [
    EndpointCase("ready pod is ready and serving", pod(0), svc(), ep(True, True, False)),
    EndpointCase(
        "not-ready pod is neither ready nor serving",
        pod(0, ready=False),
        svc(),
        ep(False, False, False),
    ),
    EndpointCase(
        "terminating pod is serving but not ready",
        pod(0, deleting=True),
        svc(),
        ep(False, True, True),
    ),
    EndpointCase(
        "terminating not-ready pod is only terminating",
        pod(0, deleting=True, ready=False),
        svc(),
        ep(False, False, True),
    ),
    EndpointCase(
        "publishNotReadyAddresses marks all ready",
        pod(0, ready=False),
        svc(publish=True),
        ep(True, False, False),
    ),
    EndpointCase(
        "publishNotReadyAddresses marks terminating pods ready too",
        pod(0, deleting=True),
        svc(publish=True),
        ep(True, True, True),
    ),
    EndpointCase(
        "hostname published when the pod's subdomain names the Service",
        pod(0, hostname="web-0"),
        svc(),
        ep(True, True, False, hostname="web-0"),
    ),
    EndpointCase(
        "no zone when the node has no topology label",
        pod(0, node="node-b"),
        svc(),
        ep(True, True, False, nodeName="node-b", zone=None),
    ),
    EndpointCase(
        "IPv6 address type takes only the pod's IPv6 addresses",
        pod(0, dual=True),
        svc(families=("IPv6", "IPv4")),
        ep(True, True, False, addresses=["fd00:10:244::1"]),
        address_type="IPv6",
    ),
]


@pytest.mark.parametrize("case", ENDPOINT_CASES, ids=lambda c: c.id)
def test_pod_to_endpoint(case: EndpointCase) -> None:
    node = NODES.get(case.pod["spec"]["nodeName"])
    assert pod_to_endpoint(case.pod, node, case.service, case.address_type) == case.want


def test_desired_endpoints_groups_by_ports() -> None:
    service = svc(ports=[{"name": "http", "port": 80, "targetPort": "http", "protocol": "TCP"}])
    groups = desired_endpoints(
        service,
        [pod(0, http_port=8080), pod(1, http_port=9090), pod(2, http_port=8080)],
        NODES,
        "IPv4",
    )
    assert [
        (g.ports[0]["port"], [e["targetRef"]["name"] for e in g.endpoints]) for g in groups
    ] == [
        (8080, ["web-000", "web-002"]),
        (9090, ["web-001"]),
    ]


@pytest.mark.parametrize(
    ("service", "want"),
    [
        (svc(families=("IPv6", "IPv4")), ["IPv6", "IPv4"]),
        (svc(families=()), ["IPv4"]),
        (svc(families=(), cluster_ip="fd00:10:96::a"), ["IPv6"]),
        (svc(families=(), cluster_ip="None"), ["IPv4", "IPv6"]),
    ],
    ids=[
        "ipFamilies decide the address types, in order",
        "no ipFamilies: the ClusterIP's family",
        "no ipFamilies: an IPv6 ClusterIP means IPv6",
        "no ipFamilies and headless: both families",
    ],
)
def test_address_types_for_service(service: Obj, want: list[str]) -> None:
    assert address_types_for_service(service) == want
