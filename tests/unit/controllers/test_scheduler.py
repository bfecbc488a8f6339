"""Scheduler core: upstream kube-scheduler Filter plugins (NodeUnschedulable,
TaintToleration, NodeAffinity, NodePorts, NodeResourcesFit) and FitError
messages; spreading is ours (fewest pods of the owner, then of all)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

import pytest

from svcnet.controllers import scheduler as sch


def node(
    name: str,
    labels: dict | None = None,
    ready: str | None = "True",
    taints: list | None = None,
    unschedulable: bool = False,
    max_pods: int | None = None,
) -> dict:
    status: dict = {}
    if ready is not None:
        status["conditions"] = [{"type": "Ready", "status": ready}]
    if max_pods is not None:
        status["allocatable"] = {"pods": str(max_pods)}
    return {
        "metadata": {"name": name, "labels": labels or {}},
        "spec": {"taints": taints or [], "unschedulable": unschedulable},
        "status": status,
    }


def pod(
    name: str = "p", owner: str | None = "rs1", labels: dict | None = None, **spec: Any
) -> dict:
    meta: dict = {"name": name, "namespace": "default", "labels": labels or {"app": "web"}}
    if owner:
        meta["ownerReferences"] = [{"uid": owner, "controller": True}]
    return {"metadata": meta, "spec": {"containers": [{"name": "c"}], **spec}, "status": {}}


def affinity(*exprs: dict, fields: list | None = None) -> dict:
    term: dict = {"matchExpressions": list(exprs)}
    if fields:
        term["matchFields"] = fields
    return {
        "nodeAffinity": {
            "requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": [term]}
        }
    }


THREE = [node("n1", {"zone": "a"}), node("n2", {"zone": "b"}), node("n3", {"zone": "c"})]
CP_TAINT = {"key": "node-role.kubernetes.io/control-plane", "effect": "NoSchedule"}


@dataclass
class Case:
    id: str
    pod: dict
    nodes: list[dict]
    want: str | None
    message: str = ""
    pods_by_node: dict = field(default_factory=dict)


CASES = [
    Case("even spread across 3 nodes: empty cluster picks by name", pod(), THREE, "n1"),
    Case(
        "even spread across 3 nodes: fewest pods of the same owner wins",
        pod(),
        THREE,
        "n3",
        pods_by_node={"n1": [pod("a")], "n2": [pod("b")]},
    ),
    Case(
        "spread: owner count beats total count",
        pod(),
        THREE,
        "n1",
        pods_by_node={"n1": [pod("x", owner="other")] * 3, "n2": [pod("a")], "n3": [pod("b")]},
    ),
    Case(
        "spread: terminal pods do not count",
        pod(),
        THREE[:2],
        "n1",
        pods_by_node={"n1": [{**pod("done"), "status": {"phase": "Succeeded"}}], "n2": []},
    ),
    Case(
        "spread without owner: same namespace and labels",
        pod(owner=None),
        THREE[:2],
        "n2",
        pods_by_node={
            "n1": [pod("x", owner=None)],
            "n2": [pod("y", owner=None, labels={"a": "b"})],
        },
    ),
    Case(
        "nodeSelector excludes nodes",
        pod(nodeSelector={"zone": "b"}),
        THREE,
        "n2",
    ),
    Case(
        "nodeSelector matching nothing: upstream FitError message",
        pod(nodeSelector={"zone": "z"}),
        THREE,
        None,
        "0/3 nodes are available: 3 node(s) didn't match Pod's node affinity/selector.",
    ),
    Case(
        "required affinity In",
        pod(affinity=affinity({"key": "zone", "operator": "In", "values": ["c", "d"]})),
        THREE,
        "n3",
    ),
    Case(
        "required affinity NotIn",
        pod(affinity=affinity({"key": "zone", "operator": "NotIn", "values": ["a", "b"]})),
        THREE,
        "n3",
    ),
    Case(
        "required affinity Exists / DoesNotExist",
        pod(affinity=affinity({"key": "gpu", "operator": "DoesNotExist"})),
        [node("n1", {"gpu": "1"}), node("n2")],
        "n2",
    ),
    Case(
        "required affinity Exists",
        pod(affinity=affinity({"key": "gpu", "operator": "Exists"})),
        [node("n1"), node("n2", {"gpu": "1"})],
        "n2",
    ),
    Case(
        "required affinity matchFields metadata.name",
        pod(
            affinity=affinity(fields=[{"key": "metadata.name", "operator": "In", "values": ["n2"]}])
        ),
        THREE,
        "n2",
    ),
    Case(
        "taint without toleration",
        pod(),
        [node("n1", taints=[CP_TAINT])],
        None,
        "0/1 nodes are available: 1 node(s) had untolerated taint {node-role.kubernetes.io/control-plane: }.",
    ),
    Case(
        "toleration with Exists tolerates the taint",
        pod(tolerations=[{"key": "node-role.kubernetes.io/control-plane", "operator": "Exists"}]),
        [node("n1", taints=[CP_TAINT])],
        "n1",
    ),
    Case(
        "toleration Equal needs the same value",
        pod(tolerations=[{"key": "k", "value": "x", "effect": "NoSchedule"}]),
        [node("n1", taints=[{"key": "k", "value": "y", "effect": "NoSchedule"}])],
        None,
        "0/1 nodes are available: 1 node(s) had untolerated taint {k: y}.",
    ),
    Case(
        "PreferNoSchedule taints do not filter",
        pod(),
        [node("n1", taints=[{"key": "k", "effect": "PreferNoSchedule"}])],
        "n1",
    ),
    Case(
        "not-Ready node carries the not-ready taint (TaintNodesByCondition)",
        pod(),
        [node("n1", ready="False"), node("n2", ready="Unknown"), node("n3", ready=None)],
        None,
        "0/3 nodes are available: 1 node(s) had untolerated taint {node.kubernetes.io/unreachable: }, "
        "2 node(s) had untolerated taint {node.kubernetes.io/not-ready: }.",
    ),
    Case(
        "a pod tolerating not-ready may land on a not-ready node",
        pod(tolerations=[{"key": "node.kubernetes.io/not-ready", "operator": "Exists"}]),
        [node("n1", ready="False")],
        "n1",
    ),
    Case(
        "spec.unschedulable (NodeUnschedulable) before taints; histogram sorted",
        pod(nodeSelector={"zone": "y"}),
        [node("n1", unschedulable=True, taints=[CP_TAINT]), node("n2", {"zone": "x"})],
        None,
        "0/2 nodes are available: 1 node(s) didn't match Pod's node affinity/selector, "
        "1 node(s) were unschedulable.",
    ),
    Case(
        "hostPort conflict (NodePorts)",
        pod(containers=[{"name": "c", "ports": [{"containerPort": 80, "hostPort": 8080}]}]),
        [node("n1"), node("n2")],
        "n2",
        pods_by_node={"n1": [pod("x", containers=[{"name": "c", "ports": [{"hostPort": 8080}]}])]},
    ),
    Case(
        "allocatable pods full (NodeResourcesFit)",
        pod(),
        [node("n1", max_pods=1)],
        None,
        "0/1 nodes are available: 1 Too many pods.",
        pods_by_node={"n1": [pod("x", owner="o")]},
    ),
    Case("no nodes at all", pod(), [], None, "no nodes available to schedule pods"),
]


@pytest.mark.parametrize("c", CASES, ids=lambda c: c.id)
def test_choose_node(c: Case) -> None:
    got = sch.choose_node(c.pod, c.nodes, c.pods_by_node)
    assert got.node == c.want
    assert got.message == c.message


def test_burst_spreads_evenly_when_bindings_are_fed_back() -> None:
    by_node: dict[str, list] = {}
    for i in range(9):
        p = pod(f"p{i}")
        name = sch.choose_node(p, THREE, by_node).node
        by_node.setdefault(name, []).append(p)
    assert {n: len(ps) for n, ps in by_node.items()} == {"n1": 3, "n2": 3, "n3": 3}


@dataclass(frozen=True)
class NeedCase:
    id: str
    pod: dict
    want: bool


NEED_CASES = [
    NeedCase("unbound pod needs scheduling", pod(), True),
    NeedCase("bound pod does not", pod(nodeName="n1"), False),
    NeedCase("another scheduler's pod is not ours", pod(schedulerName="other"), False),
    NeedCase("gated pod waits (schedulingGates)", pod(schedulingGates=[{"name": "g"}]), False),
    NeedCase(
        "terminating pod is skipped",
        {**pod(), "metadata": {**pod()["metadata"], "deletionTimestamp": "x"}},
        False,
    ),
]


@pytest.mark.parametrize("c", NEED_CASES, ids=lambda c: c.id)
def test_needs_scheduling(c: NeedCase) -> None:
    assert sch.needs_scheduling(c.pod) is c.want


def test_binding_and_condition() -> None:
    p = pod("web-1")
    p["metadata"]["uid"] = "u1"
    assert sch.binding(p, "n2") == {
        "apiVersion": "v1",
        "kind": "Binding",
        "metadata": {"name": "web-1", "namespace": "default", "uid": "u1"},
        "target": {"apiVersion": "v1", "kind": "Node", "name": "n2"},
    }
    c = sch.unschedulable_condition(
        "0/1 nodes are available: x.", dt.datetime(2024, 1, 1, tzinfo=dt.UTC)
    )
    assert (c["status"], c["reason"], c["lastTransitionTime"]) == (
        "False",
        "Unschedulable",
        "2024-01-01T00:00:00Z",
    )
