"""Legacy v1 Endpoints core, each case naming the upstream rule it checks.

Upstream: ``pkg/controller/endpoint/endpoints_controller.go`` (syncService,
podToEndpointAddressForService, addEndpointSubset, truncateEndpoints,
capacityAnnotationSetCorrectly) and ``pkg/api/v1/endpoints/util.go``
(RepackSubsets, SortSubsets).

Conventions: Service ``web`` in ``default`` selects ``app=web`` with port
``http`` 80 -> 8080; pod ``web-NNN`` has IP 10.244.x.y (and fd00::N when
dual-stack) on node ``node-a``.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import pytest

from svcnet.controllers.endpoints import (
    ANNOTATION_OVER_CAPACITY,
    desired_endpoints_object,
    endpoint_subsets,
    repack_subsets,
)
from svcnet.controllers.endpointslice import ANNOTATION_TRIGGER_TIME, LABEL_HEADLESS

Obj = dict[str, Any]

HTTP = {"name": "http", "port": 80, "targetPort": 8080, "protocol": "TCP"}


def svc(
    *,
    ports: list[Obj] | None = None,
    families: tuple[str, ...] = ("IPv4",),
    cluster_ip: str = "10.96.0.10",
    publish: bool = False,
    labels: dict[str, str] | None = None,
    selector: dict[str, str] | None = None,
    type_: str = "ClusterIP",
) -> Obj:
    spec: Obj = {
        "type": type_,
        "clusterIP": cluster_ip,
        "ipFamilies": list(families),
        "selector": {"app": "web"} if selector is None else selector,
        "ports": [HTTP] if ports is None else ports,
    }
    if publish:
        spec["publishNotReadyAddresses"] = True
    meta = {"name": "web", "namespace": "default", "labels": labels or {"app": "web"}}
    return {"metadata": meta, "spec": spec}


def pod(
    i: int,
    *,
    ready: bool = True,
    deleting: bool = False,
    dual: bool = False,
    http_port: int | None = None,
    rv: str = "1",
) -> Obj:
    ip = f"10.244.{i // 250}.{i % 250 + 1}"
    ips = [ip] + ([f"fd00::{i + 1:x}"] if dual else [])
    meta: Obj = {
        "name": f"web-{i:03d}",
        "namespace": "default",
        "uid": f"uid-{i:04d}",
        "resourceVersion": rv,
        "labels": {"app": "web"},
    }
    if deleting:
        meta["deletionTimestamp"] = "2024-05-01T10:00:00Z"
    container: Obj = {"name": "c"}
    if http_port is not None:
        container["ports"] = [{"name": "http", "containerPort": http_port, "protocol": "TCP"}]
    return {
        "metadata": meta,
        "spec": {"nodeName": "node-a", "containers": [container]},
        "status": {
            "phase": "Running",
            "podIP": ip,
            "podIPs": [{"ip": x} for x in ips],
            "conditions": [{"type": "Ready", "status": "True" if ready else "False"}],
        },
    }


def addr(i: int, ip: str | None = None) -> Obj:
    return {
        "ip": ip or f"10.244.0.{i + 1}",
        "nodeName": "node-a",
        "targetRef": {
            "kind": "Pod",
            "namespace": "default",
            "name": f"web-{i:03d}",
            "uid": f"uid-{i:04d}",
        },
    }


def port(number: int = 8080, name: str = "http") -> Obj:
    return {"name": name, "port": number, "protocol": "TCP"}


@dataclass(frozen=True)
class SubsetCase:
    id: str
    service: Obj
    pods: list[Obj]
    want: list[Obj]


NAMED = [{"name": "http", "port": 80, "targetPort": "http", "protocol": "TCP"}]

SUBSET_CASES = [
    SubsetCase(
        "ready and not-ready pods share the subset of their ports",
        svc(),
        [pod(1, ready=False), pod(0)],
        [{"addresses": [addr(0)], "notReadyAddresses": [addr(1)], "ports": [port()]}],
    ),
    SubsetCase(
        "named targetPort resolved per pod -> one subset per distinct ports",
        svc(ports=NAMED),
        [pod(0, http_port=8080), pod(1, http_port=9090), pod(2, http_port=8080)],
        [
            {"addresses": [addr(0), addr(2)], "ports": [port(8080)]},
            {"addresses": [addr(1)], "ports": [port(9090)]},
        ],
    ),
    SubsetCase(
        "pod whose named port does not resolve is left out",
        svc(ports=NAMED),
        [pod(0, http_port=8080), pod(1)],
        [{"addresses": [addr(0)], "ports": [port(8080)]}],
    ),
    SubsetCase(
        "terminating pods are left out without publishNotReadyAddresses",
        svc(),
        [pod(0), pod(1, deleting=True)],
        [{"addresses": [addr(0)], "ports": [port()]}],
    ),
    SubsetCase(
        "publishNotReadyAddresses marks all ready, terminating pods included",
        svc(publish=True),
        [pod(0, ready=False), pod(1, deleting=True)],
        [{"addresses": [addr(0), addr(1)], "ports": [port()]}],
    ),
    SubsetCase(
        "headless Service without ports keeps its addresses in a portless subset",
        svc(cluster_ip="None", ports=[]),
        [pod(0), pod(1, ready=False)],
        [{"addresses": [addr(0)], "notReadyAddresses": [addr(1)]}],
    ),
    SubsetCase(
        "a Service with a ClusterIP and no ports gets no subsets",
        svc(ports=[]),
        [pod(0)],
        [],
    ),
    SubsetCase(
        "dual-stack Service publishes only its primary family (ipFamilies[0])",
        svc(families=("IPv6", "IPv4")),
        [pod(0, dual=True)],
        [{"addresses": [addr(0, ip="fd00::1")], "ports": [port()]}],
    ),
    SubsetCase(
        "pod without an address of the primary family is left out",
        svc(families=("IPv6",)),
        [pod(0)],
        [],
    ),
    SubsetCase(
        "multi-port Service: ports of one address set share a subset, sorted",
        svc(
            ports=[
                {"name": "metrics", "port": 9100, "targetPort": 9100, "protocol": "TCP"},
                HTTP,
            ]
        ),
        [pod(0)],
        [{"addresses": [addr(0)], "ports": [port(8080), port(9100, "metrics")]}],
    ),
]


@pytest.mark.parametrize("case", SUBSET_CASES, ids=lambda c: c.id)
def test_endpoint_subsets(case: SubsetCase) -> None:
    assert endpoint_subsets(case.service, case.pods) == case.want


# --- RepackSubsets ----------------------------------------------------------------------


@dataclass(frozen=True)
class RepackCase:
    id: str
    subsets: list[Obj]
    want: list[Obj]


REPACK_CASES = [
    RepackCase(
        "duplicate addresses (same IP and UID) are merged",
        [
            {"addresses": [addr(0)], "ports": [port()]},
            {"addresses": [addr(0)], "ports": [port()]},
        ],
        [{"addresses": [addr(0)], "ports": [port()]}],
    ),
    RepackCase(
        "not ready trumps ready for the same address and port",
        [
            {"addresses": [addr(0)], "ports": [port()]},
            {"notReadyAddresses": [addr(0)], "ports": [port()]},
        ],
        [{"notReadyAddresses": [addr(0)], "ports": [port()]}],
    ),
    RepackCase(
        "addresses offering identical port sets are grouped",
        [
            {"addresses": [addr(1)], "ports": [port(8080)]},
            {"addresses": [addr(0)], "ports": [port(8080)]},
            {"addresses": [addr(0), addr(1)], "ports": [port(9090, "b")]},
        ],
        [{"addresses": [addr(0), addr(1)], "ports": [port(9090, "b"), port(8080)]}],
    ),
    RepackCase(
        "same IP with different target UIDs stays two addresses",
        [
            {"addresses": [addr(0), {**addr(1), "ip": "10.244.0.1"}], "ports": [port()]},
        ],
        [{"addresses": [addr(0), {**addr(1), "ip": "10.244.0.1"}], "ports": [port()]}],
    ),
    RepackCase(
        "subsets without ports keep their addresses (upstream's sentinel port)",
        [{"addresses": [addr(0)]}],
        [{"addresses": [addr(0)]}],
    ),
    RepackCase("nothing in, nothing out", [], []),
]


@pytest.mark.parametrize("case", REPACK_CASES, ids=lambda c: c.id)
def test_repack_subsets(case: RepackCase) -> None:
    assert repack_subsets(case.subsets) == case.want


def test_repack_is_idempotent_and_order_free() -> None:
    subsets = [
        {"addresses": [addr(2), addr(0)], "ports": [port(9090, "b"), port()]},
        {"notReadyAddresses": [addr(1)], "ports": [port()]},
    ]
    once = repack_subsets(subsets)
    assert repack_subsets(once) == once
    assert repack_subsets(list(reversed(subsets))) == once


# --- the Endpoints object ------------------------------------------------------------------


def current(service: Obj, pods: list[Obj]) -> Obj:
    obj = desired_endpoints_object(service, pods, None)
    assert obj is not None
    obj["metadata"]["resourceVersion"] = "42"
    return obj


def test_new_endpoints_object_like_upstream() -> None:
    when = datetime(2024, 5, 1, 10, 0, 0, tzinfo=UTC)
    obj = desired_endpoints_object(svc(labels={"app": "web", "tier": "fe"}), [pod(0)], None, when)
    assert obj == {
        "apiVersion": "v1",
        "kind": "Endpoints",
        "metadata": {
            "name": "web",
            "namespace": "default",
            "labels": {"app": "web", "tier": "fe"},
            "annotations": {ANNOTATION_TRIGGER_TIME: "2024-05-01T10:00:00Z"},
        },
        "subsets": [{"addresses": [addr(0)], "ports": [port()]}],
    }


@dataclass(frozen=True)
class ObjectCase:
    id: str
    service: Obj
    pods: list[Obj]
    existing: Obj | None
    changed: bool


BASE = current(svc(), [pod(0), pod(1)])
REORDERED = copy.deepcopy(BASE)
REORDERED["subsets"][0]["addresses"].reverse()
OLD_RV = copy.deepcopy(BASE)
OLD_RV["subsets"][0]["addresses"][0]["targetRef"]["resourceVersion"] = "7"
HEADLESS_EXISTING = current(svc(cluster_ip="None"), [pod(0)])
HEADLESS_UNLABELLED = copy.deepcopy(HEADLESS_EXISTING)
del HEADLESS_UNLABELLED["metadata"]["labels"][LABEL_HEADLESS]

OBJECT_CASES = [
    ObjectCase("unchanged input returns None (no write)", svc(), [pod(0), pod(1)], BASE, False),
    ObjectCase(
        "address order does not matter (compared repacked)",
        svc(),
        [pod(0), pod(1)],
        REORDERED,
        False,
    ),
    ObjectCase(
        "only the targetRef resourceVersion differs -> no write",
        svc(),
        [pod(0), pod(1)],
        OLD_RV,
        False,
    ),
    ObjectCase("a pod going away -> write", svc(), [pod(0)], BASE, True),
    ObjectCase("a readiness change -> write", svc(), [pod(0), pod(1, ready=False)], BASE, True),
    ObjectCase(
        "a Service label change -> write",
        svc(labels={"app": "web", "v": "2"}),
        [pod(0), pod(1)],
        BASE,
        True,
    ),
    ObjectCase(
        "the headless label is ignored when comparing (as upstream)",
        svc(cluster_ip="None"),
        [pod(0)],
        HEADLESS_UNLABELLED,
        False,
    ),
    ObjectCase("no existing object -> create", svc(), [], None, True),
    ObjectCase(
        "ExternalName Service -> no Endpoints from this controller",
        svc(type_="ExternalName"),
        [pod(0)],
        None,
        False,
    ),
    ObjectCase("Service without a selector -> left alone", svc(selector={}), [pod(0)], BASE, False),
]


@pytest.mark.parametrize("case", OBJECT_CASES, ids=lambda c: c.id)
def test_desired_endpoints_object(case: ObjectCase) -> None:
    frozen = copy.deepcopy(case.existing)
    got = desired_endpoints_object(case.service, case.pods, case.existing)
    assert (got is not None) is case.changed
    assert case.existing == frozen, "inputs must not be mutated"


def test_update_keeps_metadata_and_replaces_subsets() -> None:
    existing = copy.deepcopy(BASE)
    existing["metadata"]["annotations"] = {"note": "kept", ANNOTATION_TRIGGER_TIME: "old"}
    got = desired_endpoints_object(svc(), [pod(0)], existing, None)
    assert got is not None
    assert got["metadata"]["resourceVersion"] == "42"
    assert got["metadata"]["annotations"] == {"note": "kept"}
    assert got["subsets"] == [{"addresses": [addr(0)], "ports": [port()]}]


def test_headless_label_set_for_headless_services() -> None:
    got = desired_endpoints_object(svc(cluster_ip="None"), [pod(0)], None)
    assert got is not None and got["metadata"]["labels"] == {"app": "web", LABEL_HEADLESS: ""}


# --- over capacity ---------------------------------------------------------------------


def _counts(obj: Obj) -> list[tuple[int, int]]:
    return [
        (len(ss.get("addresses") or ()), len(ss.get("notReadyAddresses") or ()))
        for ss in obj["subsets"]
    ]


def test_over_capacity_truncated_to_1000_with_annotation() -> None:
    obj = desired_endpoints_object(svc(), [pod(i) for i in range(1200)], None)
    assert obj is not None
    assert _counts(obj) == [(1000, 0)]
    assert obj["metadata"]["annotations"] == {ANNOTATION_OVER_CAPACITY: "truncated"}
    # Truncation keeps the first addresses of the sorted list.
    assert obj["subsets"][0]["addresses"][0]["ip"] == "10.244.0.1"


def test_truncation_keeps_ready_addresses_first() -> None:
    pods = [pod(i) for i in range(990)] + [pod(i, ready=False) for i in range(990, 1020)]
    obj = desired_endpoints_object(svc(), pods, None)
    assert obj is not None and _counts(obj) == [(990, 10)]


def test_truncation_shares_room_by_proportion_across_subsets() -> None:
    # 800 pods on 8080, 400 on 9090 (named port): 1200 ready -> ceil(2/3*1000)=667, then 333.
    pods = [pod(i, http_port=8080) for i in range(800)] + [
        pod(i, http_port=9090) for i in range(800, 1200)
    ]
    obj = desired_endpoints_object(svc(ports=NAMED), pods, None)
    assert obj is not None
    assert sorted(_counts(obj)) == [(333, 0), (667, 0)]


def test_over_capacity_object_is_stable_and_annotation_cleared_when_back_under() -> None:
    pods = [pod(i) for i in range(1200)]
    obj = desired_endpoints_object(svc(), pods, None)
    assert obj is not None
    assert desired_endpoints_object(svc(), pods, obj) is None, "truncated result is stable"
    shrunk = desired_endpoints_object(svc(), pods[:10], obj)
    assert shrunk is not None
    assert ANNOTATION_OVER_CAPACITY not in shrunk["metadata"].get("annotations", {})
