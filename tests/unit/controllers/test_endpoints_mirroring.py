"""EndpointSlice mirroring of user-written Endpoints, each case naming the upstream rule.

Upstream: ``pkg/controller/endpointslicemirroring`` (syncEndpoints,
shouldMirror, reconciler.go reconcile / reconcileByPortMapping / finalize,
reconciler_helpers.go recycleSlices, utils.go newEndpointSlice /
addressToEndpoint).

Conventions: selectorless Service ``ext`` in ``default`` with hand-written
Endpoints ``ext`` (uid ``ep-uid``); existing slices come from applying an
earlier plan, a created slice being named ``ext-<5 digits>``.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest

from svcnet.controllers.endpoints import (
    ANNOTATION_LAST_APPLIED,
    LABEL_SKIP_MIRROR,
    MIRRORING_CONTROLLER_NAME,
    mirror_slices,
)
from svcnet.controllers.endpointslice import (
    ANNOTATION_TRIGGER_TIME,
    CONTROLLER_NAME,
    LABEL_MANAGED_BY,
    LABEL_SERVICE_NAME,
    Plan,
)

Obj = dict[str, Any]

SERVICE = {"metadata": {"name": "ext", "namespace": "default"}, "spec": {"ports": [{"port": 80}]}}
WITH_SELECTOR = {**SERVICE, "spec": {"selector": {"app": "web"}}}


def endpoints(
    *ips: str,
    not_ready: tuple[str, ...] = (),
    ports: list[Obj] | None = None,
    labels: dict[str, str] | None = None,
    annotations: dict[str, str] | None = None,
) -> Obj:
    subset: Obj = {"ports": ports if ports is not None else [{"port": 8080, "protocol": "TCP"}]}
    if ips:
        subset["addresses"] = [{"ip": ip} for ip in ips]
    if not_ready:
        subset["notReadyAddresses"] = [{"ip": ip} for ip in not_ready]
    meta: Obj = {"name": "ext", "namespace": "default", "uid": "ep-uid"}
    if labels is not None:
        meta["labels"] = labels
    if annotations is not None:
        meta["annotations"] = annotations
    return {"apiVersion": "v1", "kind": "Endpoints", "metadata": meta, "subsets": [subset]}


def apply(existing: list[Obj], plan: Plan) -> list[Obj]:
    by_name = {s["metadata"]["name"]: s for s in existing}
    for s in plan.update:
        assert s["metadata"]["name"] in by_name
        by_name[s["metadata"]["name"]] = copy.deepcopy(s)
    for s in plan.delete:
        del by_name[s["metadata"]["name"]]
    for s in plan.create:
        s = copy.deepcopy(s)
        n = 1
        while f"ext-{n:05d}" in by_name:
            n += 1
        s["metadata"]["name"] = f"ext-{n:05d}"
        del s["metadata"]["generateName"]
        by_name[s["metadata"]["name"]] = s
    return sorted(by_name.values(), key=lambda s: s["metadata"]["name"])


def mirrored(ep: Obj) -> list[Obj]:
    return apply([], mirror_slices(SERVICE, ep, []))


@dataclass(frozen=True)
class Want:
    create: list[tuple[str, list[str]]] = field(default_factory=list)
    update: dict[str, list[str]] = field(default_factory=dict)
    delete: list[str] = field(default_factory=list)


def summarize(plan: Plan) -> Want:
    def addrs(s: Obj) -> list[str]:
        return [e["addresses"][0] for e in s["endpoints"]]

    return Want(
        create=[(s["addressType"], addrs(s)) for s in plan.create],
        update={s["metadata"]["name"]: addrs(s) for s in plan.update},
        delete=[s["metadata"]["name"] for s in plan.delete],
    )


@dataclass(frozen=True)
class Case:
    id: str
    service: Obj | None
    endpoints: Obj | None
    want: Want
    existing: Callable[[], list[Obj]] = list
    max_per_subset: int = 1000


BASE = endpoints("10.0.0.1", "10.0.0.2")

CASES = [
    Case(
        "selectorless Service: Endpoints mirrored into one slice",
        SERVICE,
        BASE,
        Want(create=[("IPv4", ["10.0.0.1", "10.0.0.2"])]),
    ),
    Case(
        "one slice per address family",
        SERVICE,
        endpoints("10.0.0.1", "fd00::1"),
        Want(create=[("IPv4", ["10.0.0.1"]), ("IPv6", ["fd00::1"])]),
    ),
    Case(
        "unchanged Endpoints -> empty plan",
        SERVICE,
        BASE,
        Want(),
        existing=lambda: mirrored(BASE),
    ),
    Case(
        "address removed -> the slice is rewritten in place",
        SERVICE,
        endpoints("10.0.0.1"),
        Want(update={"ext-00001": ["10.0.0.1"]}),
        existing=lambda: mirrored(BASE),
    ),
    Case(
        "port change -> create recycled into an update of the old slice",
        SERVICE,
        endpoints("10.0.0.1", "10.0.0.2", ports=[{"port": 9090, "protocol": "TCP"}]),
        Want(update={"ext-00001": ["10.0.0.1", "10.0.0.2"]}),
        existing=lambda: mirrored(BASE),
    ),
    Case(
        "all addresses gone -> mirrored slices deleted (no placeholder when mirroring)",
        SERVICE,
        endpoints(),
        Want(delete=["ext-00001"]),
        existing=lambda: mirrored(BASE),
    ),
    Case(
        "Endpoints labelled skip-mirror -> mirrored slices deleted",
        SERVICE,
        endpoints("10.0.0.1", labels={LABEL_SKIP_MIRROR: "true"}),
        Want(delete=["ext-00001"]),
        existing=lambda: mirrored(BASE),
    ),
    Case(
        "Service with a selector -> mirrored slices deleted",
        WITH_SELECTOR,
        BASE,
        Want(delete=["ext-00001"]),
        existing=lambda: mirrored(BASE),
    ),
    Case(
        "Service gone -> mirrored slices deleted",
        None,
        BASE,
        Want(delete=["ext-00001"]),
        existing=lambda: mirrored(BASE),
    ),
    Case(
        "Endpoints gone -> mirrored slices deleted",
        SERVICE,
        None,
        Want(delete=["ext-00001"]),
        existing=lambda: mirrored(BASE),
    ),
    Case(
        "leader-election Endpoints are never mirrored",
        SERVICE,
        endpoints("10.0.0.1", annotations={"control-plane.alpha.kubernetes.io/leader": "{}"}),
        Want(),
    ),
    Case(
        "invalid IPs are skipped",
        SERVICE,
        endpoints("10.0.0.1", "not-an-ip"),
        Want(create=[("IPv4", ["10.0.0.1"])]),
    ),
    Case(
        "at most max-endpoints-per-subset addresses are mirrored per subset",
        SERVICE,
        endpoints("10.0.0.1", "10.0.0.2", "10.0.0.3"),
        Want(create=[("IPv4", ["10.0.0.1", "10.0.0.2"])]),
        max_per_subset=2,
    ),
    Case(
        "duplicate mirrored slices for one port set: all but the first deleted",
        SERVICE,
        BASE,
        Want(delete=["ext-00002"]),
        existing=lambda: apply(mirrored(BASE), mirror_slices(SERVICE, BASE, [])),
    ),
]


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_mirror_slices(case: Case) -> None:
    existing = case.existing()
    frozen = copy.deepcopy(existing)
    plan = mirror_slices(case.service, case.endpoints, existing, max_per_subset=case.max_per_subset)
    assert summarize(plan) == case.want
    assert existing == frozen, "inputs must not be mutated"


def test_mirrored_slice_like_upstream() -> None:
    ep = endpoints(
        "10.0.0.1",
        not_ready=("10.0.0.9",),
        ports=[{"port": 8080, "protocol": "TCP", "appProtocol": "http"}],
        labels={"team": "blue", LABEL_MANAGED_BY: "me"},
        annotations={"note": "x", ANNOTATION_TRIGGER_TIME: "t", ANNOTATION_LAST_APPLIED: "{}"},
    )
    ep["subsets"][0]["addresses"][0].update(
        nodeName="node-a",
        hostname="db-0",
        targetRef={"kind": "Pod", "namespace": "default", "name": "db-0", "uid": "u"},
    )
    (s,) = mirror_slices(SERVICE, ep, []).create
    assert s["metadata"] == {
        "generateName": "ext-",
        "namespace": "default",
        "labels": {
            "team": "blue",
            LABEL_SERVICE_NAME: "ext",
            LABEL_MANAGED_BY: MIRRORING_CONTROLLER_NAME,
        },
        "annotations": {"note": "x"},
        "ownerReferences": [
            {
                "apiVersion": "v1",
                "kind": "Endpoints",
                "name": "ext",
                "uid": "ep-uid",
                "controller": True,
                "blockOwnerDeletion": True,
            }
        ],
    }
    assert s["ports"] == [{"name": "", "port": 8080, "protocol": "TCP", "appProtocol": "http"}]
    assert s["endpoints"] == [
        {
            "addresses": ["10.0.0.1"],
            "conditions": {"ready": True},
            "hostname": "db-0",
            "targetRef": {"kind": "Pod", "namespace": "default", "name": "db-0", "uid": "u"},
            "nodeName": "node-a",
        },
        {"addresses": ["10.0.0.9"], "conditions": {"ready": False}},
    ]


def test_label_or_annotation_change_rewrites_the_slice() -> None:
    existing = mirrored(BASE)
    relabelled = endpoints("10.0.0.1", "10.0.0.2", labels={"v": "2"})
    assert summarize(mirror_slices(SERVICE, relabelled, existing)).update == {
        "ext-00001": ["10.0.0.1", "10.0.0.2"]
    }
    annotated = endpoints("10.0.0.1", "10.0.0.2", annotations={"note": "x"})
    assert mirror_slices(SERVICE, annotated, existing).update
    # The trigger-time annotation is not mirrored, so it alone changes nothing.
    triggered = endpoints("10.0.0.1", "10.0.0.2", annotations={ANNOTATION_TRIGGER_TIME: "t"})
    assert mirror_slices(SERVICE, triggered, existing).empty


def test_warnings_for_skipped_addresses() -> None:
    # Repacked order: "0bogus" (invalid), 10.0.0.1 (mirrored), 10.0.0.3 (over the max).
    plan = mirror_slices(SERVICE, endpoints("10.0.0.1", "0bogus", "10.0.0.3"), [], max_per_subset=1)
    assert plan.warnings == [
        "Skipped 1 invalid IP addresses when mirroring to EndpointSlices",
        "A max of 1 addresses can be mirrored to EndpointSlices per Endpoints subset. "
        "2 addresses were skipped",
    ]


def test_slices_of_the_endpointslice_controller_are_never_touched() -> None:
    ours = copy.deepcopy(mirrored(BASE)[0])
    ours["metadata"]["labels"][LABEL_MANAGED_BY] = CONTROLLER_NAME
    assert mirror_slices(WITH_SELECTOR, BASE, [ours]).empty
