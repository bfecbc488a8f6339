"""A small scheduler core: filter nodes like kube-scheduler, spread evenly (pure).

Theory of operation. For one pending pod, every node runs upstream's
default Filter plugins in their order, stopping at the first that fails
(its reason is the node's reason):

1. NodeUnschedulable: ``spec.unschedulable`` unless the pod tolerates
   ``node.kubernetes.io/unschedulable:NoSchedule``;
2. TaintToleration: the first NoSchedule/NoExecute taint the pod does not
   tolerate. A node whose Ready condition is not True also carries the
   taint the node lifecycle controller would add (``not-ready`` or
   ``unreachable``), so ordinary pods never land on dead nodes while
   pods that tolerate them still can, as upstream;
3. NodeAffinity: ``nodeSelector`` and required node affinity
   (matchExpressions In/NotIn/Exists/DoesNotExist/Gt/Lt, matchFields on
   ``metadata.name``; terms ORed, expressions ANDed);
4. NodePorts: a requested hostPort already used on the node;
5. NodeResourcesFit (pod count only): ``status.allocatable.pods``.

Feasible nodes are scored by spreading: fewest pods of the same owner
(controller uid, else same namespace and labels), then fewest pods, then
node name. When none is feasible the message is upstream's FitError
(``0/3 nodes are available: 3 node(s) didn't match Pod's node
affinity/selector.``), reasons counted and sorted as upstream prints them.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Final, NamedTuple

Obj = dict[str, Any]

DEFAULT_SCHEDULER: Final = "default-scheduler"
TAINT_UNSCHEDULABLE: Final = "node.kubernetes.io/unschedulable"
TAINT_NOT_READY: Final = "node.kubernetes.io/not-ready"
TAINT_UNREACHABLE: Final = "node.kubernetes.io/unreachable"

# Upstream plugin ErrReason strings.
ERR_UNSCHEDULABLE: Final = "node(s) were unschedulable"
ERR_AFFINITY: Final = "node(s) didn't match Pod's node affinity/selector"
ERR_PORTS: Final = "node(s) didn't have free ports for the requested pod ports"
ERR_TOO_MANY_PODS: Final = "Too many pods"
ERR_NO_NODES: Final = "no nodes available to schedule pods"


class Decision(NamedTuple):
    """A node name, or None with the FailedScheduling message."""

    node: str | None
    message: str = ""


# --------------------------------------------------------------------------
# Taints and tolerations (upstream v1helper / Toleration.ToleratesTaint)


def tolerates(toleration: Mapping[str, Any], taint: Mapping[str, Any]) -> bool:
    """Upstream ``Toleration.ToleratesTaint``; an empty key with Exists matches all."""
    if toleration.get("effect") and toleration["effect"] != taint.get("effect"):
        return False
    if toleration.get("key") and toleration["key"] != taint.get("key"):
        return False
    op = toleration.get("operator") or "Equal"
    if op == "Exists":
        return True
    return op == "Equal" and (toleration.get("value") or "") == (taint.get("value") or "")


def untolerated_taint(
    taints: Iterable[Mapping[str, Any]],
    tolerations: Sequence[Mapping[str, Any]],
    effects: tuple[str, ...] = ("NoSchedule", "NoExecute"),
) -> Mapping[str, Any] | None:
    """The first taint with one of ``effects`` no toleration matches
    (upstream ``FindMatchingUntoleratedTaint``)."""
    for taint in taints:
        if taint.get("effect") in effects and not any(tolerates(t, taint) for t in tolerations):
            return taint
    return None


def _ready_status(node: Mapping[str, Any]) -> str | None:
    for c in (node.get("status") or {}).get("conditions") or []:
        if c.get("type") == "Ready":
            return c.get("status")
    return None


def effective_taints(node: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    """The node's taints plus the NoSchedule taint its Ready condition implies."""
    taints = list((node.get("spec") or {}).get("taints") or [])
    ready = _ready_status(node)
    if ready != "True":
        key = TAINT_UNREACHABLE if ready == "Unknown" else TAINT_NOT_READY
        if not any(t.get("key") == key and t.get("effect") == "NoSchedule" for t in taints):
            taints.append({"key": key, "effect": "NoSchedule"})
    return taints


# --------------------------------------------------------------------------
# Node affinity (upstream component-helpers nodeaffinity)


def _match_requirement(req: Mapping[str, Any], values: Mapping[str, str]) -> bool:
    key, op, want = req.get("key", ""), req.get("operator", ""), req.get("values") or []
    present = key in values
    if op == "In":
        return present and values[key] in want
    if op == "NotIn":
        return not present or values[key] not in want
    if op == "Exists":
        return present
    if op == "DoesNotExist":
        return not present
    if op in ("Gt", "Lt") and present and len(want) == 1:
        try:
            have, bound = int(values[key]), int(want[0])
        except ValueError:
            return False
        return have > bound if op == "Gt" else have < bound
    return False


def match_node_selector_term(term: Mapping[str, Any], node: Mapping[str, Any]) -> bool:
    """All expressions and fields of ``term`` match; an empty term matches nothing."""
    exprs, fields = term.get("matchExpressions") or [], term.get("matchFields") or []
    if not exprs and not fields:
        return False
    labels = (node.get("metadata") or {}).get("labels") or {}
    name = {"metadata.name": (node.get("metadata") or {}).get("name", "")}
    return all(_match_requirement(e, labels) for e in exprs) and all(
        _match_requirement(f, name) for f in fields
    )


def matches_node_affinity(pod: Mapping[str, Any], node: Mapping[str, Any]) -> bool:
    """``nodeSelector`` and required node affinity (upstream ``RequiredNodeAffinity``)."""
    spec = pod.get("spec") or {}
    labels = (node.get("metadata") or {}).get("labels") or {}
    if any(labels.get(k) != v for k, v in (spec.get("nodeSelector") or {}).items()):
        return False
    affinity = (spec.get("affinity") or {}).get("nodeAffinity") or {}
    required = affinity.get("requiredDuringSchedulingIgnoredDuringExecution")
    if required is None:
        return True
    return any(match_node_selector_term(t, node) for t in required.get("nodeSelectorTerms") or [])


# --------------------------------------------------------------------------
# Filters and scoring


def _host_ports(pod: Mapping[str, Any]) -> set[tuple[str, str, int]]:
    return {
        (p.get("hostIP") or "0.0.0.0", p.get("protocol") or "TCP", int(p["hostPort"]))
        for c in (pod.get("spec") or {}).get("containers") or []
        for p in c.get("ports") or []
        if p.get("hostPort")
    }


def _ports_conflict(want: set[tuple[str, str, int]], used: set[tuple[str, str, int]]) -> bool:
    """Upstream ``HostPortInfo.CheckConflict``: same protocol and port, and the
    same IP or either one is the wildcard 0.0.0.0."""
    return any(
        port == uport and proto == uproto and (ip == uip or "0.0.0.0" in (ip, uip))
        for ip, proto, port in want
        for uip, uproto, uport in used
    )


def _active(pods: Iterable[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    return [p for p in pods if (p.get("status") or {}).get("phase") not in ("Succeeded", "Failed")]


def filter_node(
    pod: Mapping[str, Any], node: Mapping[str, Any], pods_on_node: Sequence[Mapping[str, Any]]
) -> str | None:
    """Why ``pod`` cannot run on ``node`` (the first failing plugin's reason), or None."""
    tolerations = (pod.get("spec") or {}).get("tolerations") or []
    if (node.get("spec") or {}).get("unschedulable"):
        implied = {"key": TAINT_UNSCHEDULABLE, "effect": "NoSchedule"}
        if not any(tolerates(t, implied) for t in tolerations):
            return ERR_UNSCHEDULABLE
    taint = untolerated_taint(effective_taints(node), tolerations)
    if taint is not None:
        return f"node(s) had untolerated taint {{{taint.get('key', '')}: {taint.get('value', '')}}}"
    if not matches_node_affinity(pod, node):
        return ERR_AFFINITY
    want = _host_ports(pod)
    if want and _ports_conflict(want, set().union(*map(_host_ports, pods_on_node))):
        return ERR_PORTS
    max_pods = ((node.get("status") or {}).get("allocatable") or {}).get("pods")
    if max_pods is not None and len(pods_on_node) + 1 > int(max_pods):
        return ERR_TOO_MANY_PODS
    return None


def _same_owner(pod: Mapping[str, Any]) -> Any:
    """A predicate for "pods of the same workload" used to spread."""
    meta = pod.get("metadata") or {}
    owner = next(
        (r.get("uid") for r in meta.get("ownerReferences") or [] if r.get("controller")), None
    )
    ns, labels = meta.get("namespace"), meta.get("labels") or {}

    def same(other: Mapping[str, Any]) -> bool:
        ometa = other.get("metadata") or {}
        if owner is not None:
            return any(r.get("uid") == owner for r in ometa.get("ownerReferences") or [])
        return (
            bool(labels) and ometa.get("namespace") == ns and (ometa.get("labels") or {}) == labels
        )

    return same


def fit_error(num_nodes: int, reasons: Iterable[str]) -> str:
    """Upstream ``FitError.Error``: reasons counted, formatted and sorted."""
    hist = sorted(f"{n} {r}" for r, n in Counter(reasons).items())
    return f"0/{num_nodes} nodes are available: {', '.join(hist)}."


def choose_node(
    pod: Mapping[str, Any],
    nodes: Sequence[Mapping[str, Any]],
    pods_by_node: Mapping[str, Sequence[Mapping[str, Any]]],
) -> Decision:
    """Pick a node for ``pod``, or None and the FailedScheduling message.

    Args:
        pod: the pending pod.
        nodes: all nodes.
        pods_by_node: pods bound to each node (terminal ones are ignored),
            including pods bound earlier in the same pass, so a burst of
            pods spreads.
    """
    if not nodes:
        return Decision(None, ERR_NO_NODES)
    same = _same_owner(pod)
    reasons: list[str] = []
    best: tuple[int, int, str] | None = None
    for node in nodes:
        name = (node.get("metadata") or {}).get("name", "")
        on_node = _active(pods_by_node.get(name, ()))
        reason = filter_node(pod, node, on_node)
        if reason is not None:
            reasons.append(reason)
            continue
        score = (sum(1 for p in on_node if same(p)), len(on_node), name)
        if best is None or score < best:
            best = score
    if best is None:
        return Decision(None, fit_error(len(nodes), reasons))
    return Decision(best[2])


# --------------------------------------------------------------------------
# What the shell writes


def needs_scheduling(pod: Mapping[str, Any], scheduler_name: str = DEFAULT_SCHEDULER) -> bool:
    """Unbound, ours, alive and not gated (upstream's unscheduled-pod informer filter)."""
    spec, meta = pod.get("spec") or {}, pod.get("metadata") or {}
    return (
        not spec.get("nodeName")
        and (spec.get("schedulerName") or DEFAULT_SCHEDULER) == scheduler_name
        and not meta.get("deletionTimestamp")
        and not spec.get("schedulingGates")
        and (pod.get("status") or {}).get("phase") not in ("Succeeded", "Failed")
    )


def binding(pod: Mapping[str, Any], node: str) -> Obj:
    """The Binding to POST to ``pods/<name>/binding``."""
    meta = pod.get("metadata") or {}
    return {
        "apiVersion": "v1",
        "kind": "Binding",
        "metadata": {
            "name": meta.get("name"),
            "namespace": meta.get("namespace"),
            "uid": meta.get("uid"),
        },
        "target": {"apiVersion": "v1", "kind": "Node", "name": node},
    }


def unschedulable_condition(message: str, now: dt.datetime) -> Obj:
    """The PodScheduled condition upstream writes with a FailedScheduling event."""
    return {
        "type": "PodScheduled",
        "status": "False",
        "lastProbeTime": None,
        "lastTransitionTime": now.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "reason": "Unschedulable",
        "message": message,
    }
