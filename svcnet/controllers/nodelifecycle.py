"""Node lifecycle core: stale heartbeats -> Unknown conditions, taints, pods
not ready (pure).

Theory of operation (upstream ``pkg/controller/nodelifecycle``:
``tryUpdateNodeHealth``, ``doNoScheduleTaintingPass``,
``doNoExecuteTaintingPass`` and ``MarkPodsNotReady``):

* A node's last sign of life is the newer of its Lease ``renewTime`` and
  its Ready condition's ``lastHeartbeatTime`` (its creation time if it
  never posted status). When that is older than the grace period (40 s;
  60 s for a node that never posted status) the controller sets Ready,
  MemoryPressure, DiskPressure and PIDPressure to Unknown with reason
  NodeStatusUnknown, "Kubelet stopped posting node status." (or
  NodeStatusNeverUpdated, "Kubelet never posted node status.").
* Taints follow the conditions: Ready False/Unknown gives
  ``node.kubernetes.io/not-ready`` / ``unreachable`` with NoSchedule and
  NoExecute (the latter with ``timeAdded``), pressure conditions their
  NoSchedule taints, ``spec.unschedulable`` the unschedulable taint; a
  Ready node loses them. Taints the controller does not manage are kept.
* When a node stops being Ready its pods are marked not ready, which takes
  them out of Service endpoints.

Upstream rate-limits NoExecute tainting per zone; here it is immediate.
"""

from __future__ import annotations

import copy
import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Final

Obj = dict[str, Any]

GRACE: Final = dt.timedelta(seconds=40)  # --node-monitor-grace-period
STARTUP_GRACE: Final = dt.timedelta(seconds=60)  # nodeStartupGracePeriod
NOT_READY: Final = "node.kubernetes.io/not-ready"
UNREACHABLE: Final = "node.kubernetes.io/unreachable"
UNSCHEDULABLE: Final = "node.kubernetes.io/unschedulable"
_PRESSURE_TAINTS: Final = {
    "MemoryPressure": "node.kubernetes.io/memory-pressure",
    "DiskPressure": "node.kubernetes.io/disk-pressure",
    "PIDPressure": "node.kubernetes.io/pid-pressure",
    "NetworkUnavailable": "node.kubernetes.io/network-unavailable",
}
_NO_SCHEDULE_KEYS: Final = {NOT_READY, UNREACHABLE, UNSCHEDULABLE, *_PRESSURE_TAINTS.values()}
_CONDITIONS: Final = ("Ready", "MemoryPressure", "DiskPressure", "PIDPressure")


def _rfc3339(t: dt.datetime) -> str:
    return t.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _time(s: str | None) -> dt.datetime | None:
    if not s:
        return None
    t = dt.datetime.fromisoformat(s)
    return t if t.tzinfo else t.replace(tzinfo=dt.UTC)


def _condition(node: Mapping[str, Any], ctype: str) -> Obj | None:
    for c in (node.get("status") or {}).get("conditions") or []:
        if c.get("type") == ctype:
            return c
    return None


@dataclass(frozen=True)
class NodeUpdate:
    """New ``status.conditions`` and ``spec.taints``; None where unchanged."""

    ready: Obj | None
    conditions: list[Obj] | None
    taints: list[Obj] | None


def last_heartbeat(node: Mapping[str, Any], lease: Mapping[str, Any] | None) -> dt.datetime | None:
    """The newest of the lease renewal and the Ready heartbeat, else creation."""
    ready = _condition(node, "Ready") or {}
    seen = [
        _time(((lease or {}).get("spec") or {}).get("renewTime")),
        _time(ready.get("lastHeartbeatTime")),
    ]
    times = [t for t in seen if t is not None]
    if times:
        return max(times)
    return _time((node.get("metadata") or {}).get("creationTimestamp"))


def _grace_for(node: Mapping[str, Any], grace: dt.timedelta) -> dt.timedelta:
    return grace if _condition(node, "Ready") is not None else max(grace, STARTUP_GRACE)


def stale_conditions(
    node: Mapping[str, Any],
    lease: Mapping[str, Any] | None,
    now: dt.datetime,
    grace: dt.timedelta = GRACE,
) -> list[Obj] | None:
    """The node's conditions with Ready and the pressures set Unknown when the
    kubelet has been silent past the grace period; None if nothing changes."""
    seen = last_heartbeat(node, lease)
    if seen is not None and seen + _grace_for(node, grace) >= now:
        return None
    conds = copy.deepcopy(list((node.get("status") or {}).get("conditions") or []))
    created = (node.get("metadata") or {}).get("creationTimestamp")
    changed = False
    for ctype in _CONDITIONS:
        cur = next((c for c in conds if c.get("type") == ctype), None)
        if cur is None:
            conds.append(
                {
                    "type": ctype,
                    "status": "Unknown",
                    "lastHeartbeatTime": created,
                    "lastTransitionTime": _rfc3339(now),
                    "reason": "NodeStatusNeverUpdated",
                    "message": "Kubelet never posted node status.",
                }
            )
            changed = True
        elif cur.get("status") != "Unknown":
            cur.update(
                status="Unknown",
                reason="NodeStatusUnknown",
                message="Kubelet stopped posting node status.",
                lastTransitionTime=_rfc3339(now),
            )
            changed = True
    return conds if changed else None


def desired_taints(node: Mapping[str, Any], now: dt.datetime) -> list[Obj]:
    """``spec.taints`` as the controller wants them for the node's conditions.

    Managed taints already present are kept as they are (timeAdded too);
    NoExecute not-ready and unreachable swap into each other, as upstream.
    """
    spec = node.get("spec") or {}
    want_ns: list[str] = []
    ready = (_condition(node, "Ready") or {}).get("status")
    if ready in ("False", "Unknown"):
        want_ns.append(NOT_READY if ready == "False" else UNREACHABLE)
    for ctype, key in _PRESSURE_TAINTS.items():
        if (_condition(node, ctype) or {}).get("status") == "True":
            want_ns.append(key)
    if spec.get("unschedulable"):
        want_ns.append(UNSCHEDULABLE)
    want_ne = {"False": [NOT_READY], "Unknown": [UNREACHABLE]}.get(ready or "", [])

    def managed(t: Mapping[str, Any]) -> bool:
        if t.get("effect") == "NoSchedule":
            return t.get("key") in _NO_SCHEDULE_KEYS
        return t.get("effect") == "NoExecute" and t.get("key") in (NOT_READY, UNREACHABLE)

    out: list[Obj] = []
    for t in spec.get("taints") or []:
        keep = t.get("key") in (want_ns if t.get("effect") == "NoSchedule" else want_ne)
        if not managed(t) or keep:
            out.append(dict(t))
    have = {(t.get("key"), t.get("effect")) for t in out}
    for key in want_ns:
        if (key, "NoSchedule") not in have:
            out.append({"key": key, "effect": "NoSchedule"})
    for key in want_ne:
        if (key, "NoExecute") not in have:
            out.append({"key": key, "effect": "NoExecute", "timeAdded": _rfc3339(now)})
    return out


def node_conditions_update(
    node: Mapping[str, Any],
    lease: Mapping[str, Any] | None,
    now: dt.datetime,
    grace: dt.timedelta = GRACE,
) -> NodeUpdate | None:
    """What the node lifecycle controller writes for ``node`` now, or None.

    ``ready`` is the new Ready condition when it changed; ``conditions`` the
    whole new ``status.conditions`` (status subresource); ``taints`` the
    whole new ``spec.taints`` (an update or merge patch of the Node).
    """
    conds = stale_conditions(node, lease, now, grace)
    view = (
        node
        if conds is None
        else {**node, "status": {**(node.get("status") or {}), "conditions": conds}}
    )
    taints = desired_taints(view, now)
    if taints == list((node.get("spec") or {}).get("taints") or []):
        taints_out = None
    else:
        taints_out = taints
    if conds is None and taints_out is None:
        return None
    ready = _condition(view, "Ready") if conds is not None else None
    return NodeUpdate(ready=ready, conditions=conds, taints=taints_out)


def next_check(
    node: Mapping[str, Any],
    lease: Mapping[str, Any] | None,
    now: dt.datetime,
    grace: dt.timedelta = GRACE,
) -> float:
    """Seconds until the node would turn stale without a new heartbeat (>= 0)."""
    seen = last_heartbeat(node, lease) or now
    return max((seen + _grace_for(node, grace) - now).total_seconds(), 0.0)


def pods_to_mark_not_ready(
    node_name: str, pods: Iterable[Mapping[str, Any]], now: dt.datetime
) -> list[tuple[Mapping[str, Any], list[Obj]]]:
    """Pods on a node that stopped being Ready, with their new
    ``status.conditions`` (Ready False; upstream ``MarkPodsNotReady``)."""
    out = []
    for pod in pods:
        if (pod.get("spec") or {}).get("nodeName") != node_name:
            continue
        conds = copy.deepcopy(list((pod.get("status") or {}).get("conditions") or []))
        ready = next((c for c in conds if c.get("type") == "Ready"), None)
        if ready is None or ready.get("status") == "False":
            continue
        ready.update(status="False", lastTransitionTime=_rfc3339(now))
        out.append((pod, conds))
    return out
