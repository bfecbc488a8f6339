"""Property: applying any reconcile plan converges to exactly the desired slices.

Upstream contract (``reconciler.go`` Reconcile): after the writes, the
slices of each address type hold every desired endpoint exactly once, in a
slice whose ports are the endpoint's resolved ports, no slice over
``maxEndpointsPerSlice``, at least one slice (the placeholder) per family;
and reconciling the result again changes nothing.

Pods are drawn from a small pool (``web-000`` .. ``web-029``) with random
readiness, termination, IPs, named-port resolution and node; the existing
slices are whatever the controller left for an earlier random pod set.
"""

from __future__ import annotations

import copy
import json
from collections import Counter
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from svcnet.controllers.endpointslice import Plan, desired_endpoints, port_key, reconcile

Obj = dict[str, Any]

NODES = {
    "node-a": {"metadata": {"name": "node-a", "labels": {"topology.kubernetes.io/zone": "z-a"}}},
    "node-b": {"metadata": {"name": "node-b"}},
}


def make_service(dual: bool, named: bool, publish: bool) -> Obj:
    target: Any = "http" if named else 8080
    return {
        "metadata": {"name": "web", "namespace": "default", "uid": "svc-uid"},
        "spec": {
            "clusterIP": "10.96.0.10",
            "ipFamilies": ["IPv4", "IPv6"] if dual else ["IPv4"],
            "selector": {"app": "web"},
            "publishNotReadyAddresses": publish,
            "ports": [{"name": "http", "port": 80, "targetPort": target, "protocol": "TCP"}],
        },
    }


pod_strategy = st.fixed_dictionaries(
    {
        "i": st.integers(0, 29),
        "ready": st.booleans(),
        "deleting": st.booleans(),
        "has_ip": st.integers(0, 9).map(lambda n: n > 0),
        "dual": st.booleans(),
        "http_port": st.sampled_from([None, 8080, 9090]),
        "node": st.sampled_from(["node-a", "node-b", "node-gone"]),
    }
)


def make_pod(d: dict[str, Any]) -> Obj:
    i = d["i"]
    meta: Obj = {"name": f"web-{i:03d}", "namespace": "default", "uid": f"u{i}"}
    meta["labels"] = {"app": "web"}
    if d["deleting"]:
        meta["deletionTimestamp"] = "2024-05-01T10:00:00Z"
    status: Obj = {
        "phase": "Running",
        "conditions": [{"type": "Ready", "status": "True" if d["ready"] else "False"}],
    }
    if d["has_ip"]:
        ips = [f"10.244.0.{i + 1}"] + ([f"fd00::{i + 1:x}"] if d["dual"] else [])
        status["podIP"], status["podIPs"] = ips[0], [{"ip": ip} for ip in ips]
    container: Obj = {"name": "c"}
    if d["http_port"] is not None:
        container["ports"] = [{"name": "http", "containerPort": d["http_port"], "protocol": "TCP"}]
    return {
        "metadata": meta,
        "spec": {"nodeName": d["node"], "containers": [container]},
        "status": status,
    }


pods_strategy = st.lists(pod_strategy, max_size=30, unique_by=lambda d: d["i"]).map(
    lambda ds: [make_pod(d) for d in ds]
)


def apply(existing: list[Obj], plan: Plan) -> list[Obj]:
    by_name = {s["metadata"]["name"]: s for s in existing}
    touched = [s["metadata"]["name"] for s in plan.update + plan.delete]
    assert len(touched) == len(set(touched)), "a slice is both updated and deleted"
    for s in plan.update:
        assert s["metadata"]["name"] in by_name
        by_name[s["metadata"]["name"]] = copy.deepcopy(s)
    for s in plan.delete:
        del by_name[s["metadata"]["name"]]
    for n, s in enumerate(plan.create):
        assert "name" not in s["metadata"]
        s = copy.deepcopy(s)
        s["metadata"]["name"] = f"web-gen{len(by_name) + n:04d}x{n}"
        by_name[s["metadata"]["name"]] = s
    return list(by_name.values())


def canon(address_type: str, ports: Any, ep: Obj) -> str:
    return json.dumps([address_type, port_key(ports), ep], sort_keys=True)


@settings(max_examples=200, deadline=None)
@given(
    before=pods_strategy,
    after=pods_strategy,
    max_per_slice=st.integers(1, 8),
    dual=st.booleans(),
    named=st.booleans(),
    publish=st.booleans(),
)
def test_plan_converges_to_desired(
    before: list[Obj],
    after: list[Obj],
    max_per_slice: int,
    dual: bool,
    named: bool,
    publish: bool,
) -> None:
    service = make_service(dual, named, publish)
    existing = apply([], reconcile(service, before, NODES, [], max_per_slice=max_per_slice))

    plan = reconcile(service, after, NODES, existing, max_per_slice=max_per_slice)
    result = apply(existing, plan)

    families = ["IPv4", "IPv6"] if dual else ["IPv4"]
    got = Counter(canon(s["addressType"], s["ports"], ep) for s in result for ep in s["endpoints"])
    want = Counter(
        canon(family, g.ports, ep)
        for family in families
        for g in desired_endpoints(service, after, NODES, family)
        for ep in g.endpoints
    )
    assert got == want, "slices must hold every desired endpoint exactly once"
    assert all(len(s["endpoints"]) <= max_per_slice for s in result)
    assert {s["addressType"] for s in result} == set(families), "one slice per family at least"

    # Independent check of who is in: pods with an IPv4 address on a known
    # node (any node with publishNotReadyAddresses), not terminal.
    in_v4 = {
        p["metadata"]["name"]
        for p in after
        if p["status"].get("podIP") and (publish or p["spec"]["nodeName"] in NODES)
    }
    v4_names = {
        ep["targetRef"]["name"]
        for s in result
        if s["addressType"] == "IPv4"
        for ep in s["endpoints"]
    }
    assert v4_names == in_v4

    again = reconcile(service, after, NODES, result, max_per_slice=max_per_slice)
    assert again.empty, "reconciling the result again must change nothing"
