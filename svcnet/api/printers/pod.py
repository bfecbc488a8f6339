"""The Pod printer: upstream `printPod`, the STATUS/READY/RESTARTS rules.

Theory of operation. STATUS starts as `status.reason` or the phase, then is
refined in upstream's order:

1. a PodScheduled condition with reason SchedulingGated -> "SchedulingGated";
2. init containers, in order, until the first one not done: a terminated
   failure gives "Init:<reason>" (or "Init:Signal:N" / "Init:ExitCode:N"), a
   waiting reason other than PodInitializing gives "Init:<reason>", anything
   else "Init:<i>/<n>". Init containers that exited 0, and started sidecars
   (restartPolicy Always), are done;
3. unless still initializing (and not Initialized=True), regular containers
   from last to first: a waiting reason, a terminated reason (or
   "Signal:N" / "ExitCode:N"), so the FIRST container's state wins; a
   "Completed" pod with a running container reads "Running" when Ready,
   "NotReady" otherwise;
4. a deletionTimestamp gives "Unknown" for NodeLost pods and "Terminating"
   for pods not yet Succeeded/Failed.

READY counts ready running containers (plus started, ready sidecars) over
the containers plus sidecars. RESTARTS sums restart counts (init ones only
while initializing) and appends "(<age> ago)" of the latest
lastState.terminated.finishedAt.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from svcnet.api.printers import docs
from svcnet.api.printers.duration import parse_time, translate_timestamp_since
from svcnet.api.printers.format import Obj, dig, items, name_of, number, text
from svcnet.api.printers.table import AGE, NAME, Column, TablePrinter

NODE_UNREACHABLE_POD_REASON = "NodeLost"  # upstream pkg/util/node
TERMINAL_PHASES = ("Succeeded", "Failed")

COLUMNS = (
    NAME,
    Column("Ready", description="The aggregate readiness state of this pod for accepting traffic."),
    Column("Status", description="The aggregate status of the containers in this pod."),
    Column(
        "Restarts",
        description="The number of times the containers in this pod have been restarted and "
        "when the last container in this pod has restarted.",
    ),
    AGE,
    Column("IP", priority=1, description=docs.POD_IP),
    Column("Node", priority=1, description=docs.POD_NODE_NAME),
    Column("Nominated Node", priority=1, description=docs.POD_NOMINATED_NODE_NAME),
    Column("Readiness Gates", priority=1, description=docs.POD_READINESS_GATES),
)

_CONDITIONS = {
    "Succeeded": [
        {
            "type": "Completed",
            "status": "True",
            "reason": "Succeeded",
            "message": "The pod has completed successfully.",
        }
    ],
    "Failed": [
        {"type": "Completed", "status": "True", "reason": "Failed", "message": "The pod failed."}
    ],
}


def _has_condition(pod: Obj, ctype: str) -> bool:
    """The first condition of `ctype` has status True."""
    for c in items(pod, "status", "conditions"):
        if text(c, "type") == ctype:
            return text(c, "status") == "True"
    return False


def _terminated_reason(term: dict[str, Any], prefix: str) -> str:
    if text(term, "reason"):
        return prefix + text(term, "reason")
    if number(term, "signal"):
        return f"{prefix}Signal:{number(term, 'signal')}"
    return f"{prefix}ExitCode:{number(term, 'exitCode')}"


class _Restarts:
    """Restart count and the latest lastState.terminated.finishedAt."""

    def __init__(self) -> None:
        self.count = 0
        self.last: dt.datetime | None = None

    def add(self, status: dict[str, Any]) -> None:
        self.count += number(status, "restartCount")
        finished = parse_time(dig(status, "lastState", "terminated", "finishedAt"))
        if finished is not None and (self.last is None or finished > self.last):
            self.last = finished


def pod_status(pod: Obj) -> tuple[str, int, int, _Restarts]:
    """(STATUS, ready, total, restarts) by upstream's rules (module docstring)."""
    spec, status = pod.get("spec") or {}, pod.get("status") or {}
    phase = text(status, "phase")
    reason = text(status, "reason") or phase
    for c in items(status, "conditions"):
        if text(c, "type") == "PodScheduled" and text(c, "reason") == "SchedulingGated":
            reason = "SchedulingGated"

    init_specs = items(spec, "initContainers")
    sidecars = {text(c, "name") for c in init_specs if text(c, "restartPolicy") == "Always"}
    total = len(items(spec, "containers")) + len(sidecars)
    ready = 0
    restarts, sidecar_restarts = _Restarts(), _Restarts()

    initializing = False
    for i, cs in enumerate(items(status, "initContainerStatuses")):
        restarts.add(cs)
        is_sidecar = text(cs, "name") in sidecars
        if is_sidecar:
            sidecar_restarts.add(cs)
        term, waiting = dig(cs, "state", "terminated"), dig(cs, "state", "waiting")
        if isinstance(term, dict) and number(term, "exitCode") == 0:
            continue
        if is_sidecar and dig(cs, "started") is True:
            ready += 1 if dig(cs, "ready") is True else 0
            continue
        if isinstance(term, dict):
            reason = _terminated_reason(term, "Init:")
        elif text(waiting, "reason") and text(waiting, "reason") != "PodInitializing":
            reason = "Init:" + text(waiting, "reason")
        else:
            reason = f"Init:{i}/{len(init_specs)}"
        initializing = True
        break

    if not initializing or _has_condition(pod, "Initialized"):
        restarts = sidecar_restarts
        has_running = False
        for cs in reversed(items(status, "containerStatuses")):
            restarts.add(cs)
            term, waiting = dig(cs, "state", "terminated"), dig(cs, "state", "waiting")
            if text(waiting, "reason"):
                reason = text(waiting, "reason")
            elif isinstance(term, dict):
                reason = _terminated_reason(term, "")
            elif dig(cs, "ready") is True and isinstance(dig(cs, "state", "running"), dict):
                has_running = True
                ready += 1
        if reason == "Completed" and has_running:
            reason = "Running" if _has_condition(pod, "Ready") else "NotReady"

    if dig(pod, "metadata", "deletionTimestamp"):
        if text(status, "reason") == NODE_UNREACHABLE_POD_REASON:
            reason = "Unknown"
        elif phase not in TERMINAL_PHASES:
            reason = "Terminating"
    return reason, ready, total, restarts


def _readiness_gates(pod: Obj) -> str:
    gates = items(pod, "spec", "readinessGates")
    if not gates:
        return "<none>"
    true = 0
    for gate in gates:
        for c in items(pod, "status", "conditions"):
            if text(c, "type") == text(gate, "conditionType"):
                true += 1 if text(c, "status") == "True" else 0
                break
    return f"{true}/{len(gates)}"


def pod_row(pod: Obj, now: dt.datetime) -> list[Any]:
    reason, ready, total, restarts = pod_status(pod)
    restarts_cell = str(restarts.count)
    if restarts.count and restarts.last is not None:
        ago = translate_timestamp_since(restarts.last, now)
        restarts_cell = f"{restarts.count} ({ago} ago)"
    # v1 -> internal conversion fills podIPs from a lone podIP.
    pod_ips = items(pod, "status", "podIPs") or [{"ip": text(pod, "status", "podIP")}]
    return [
        name_of(pod),
        f"{ready}/{total}",
        reason,
        restarts_cell,
        translate_timestamp_since(dig(pod, "metadata", "creationTimestamp"), now),
        text(pod_ips[0], "ip") or "<none>",
        text(pod, "spec", "nodeName") or "<none>",
        text(pod, "status", "nominatedNodeName") or "<none>",
        _readiness_gates(pod),
    ]


def pod_conditions(pod: Obj) -> list[dict[str, Any]]:
    """Upstream marks Succeeded/Failed rows with a Completed row condition."""
    return [dict(c) for c in _CONDITIONS.get(text(pod, "status", "phase"), [])]


POD_PRINTER = TablePrinter(columns=COLUMNS, row=pod_row, conditions=pod_conditions)
