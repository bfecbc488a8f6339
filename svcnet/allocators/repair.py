"""Pure repair of ClusterIP and NodePort state from stored Services.

Upstream's repair controllers (``ipallocator/controller/repair.go``,
``portallocator/controller/repair.go``) run at kube-apiserver start and then
periodically. Each pass is level driven and idempotent: it rebuilds the
allocation map from scratch out of what the stored Services hold, compares it
with the stored map, and writes the rebuilt map back (compare-and-swap).
This module is that computation without the I/O: the API server reads the
stored snapshot and lists Services, calls :func:`repair_ips` /
:func:`repair_ports`, records the events, writes
``result.rebuilt.snapshot()`` if ``result.changed``, and keeps
``result.leaks`` for the next pass.

One pass:

1. Services are visited in ``(namespace, name)`` order (the store's list
   order, as upstream), each value they hold is taken in a fresh map:
   - taken, and set in the stored map: normal;
   - taken, but missing from the stored map: set now, event
     ``ClusterIPNotAllocated`` / ``PortNotAllocated`` ("repairing");
   - already taken by an earlier Service: event ``...AlreadyAllocated``
     (both Services keep it; the user must recreate one);
   - outside the range: event ``ClusterIPOutOfRange`` / ``PortOutOfRange``;
   - not an IP, or of an unconfigured family: event ``ClusterIPNotValid``.
2. Values set in the stored map that no Service holds may be *leaks*, or may
   belong to a create still in flight (allocated, Service not yet written).
   So a leak is only freed when it was seen unused in ``leak_passes``
   consecutive passes (upstream ``numRepairsBeforeLeakCleanup = 3``); until
   then it stays set in the rebuilt map and its count is in ``result.leaks``.
   A value that is used again, or no longer set, drops out of the counters.

Invariants: the inputs are never mutated; running a pass twice on the same
inputs (with the returned ``leaks``) converges: no new events about the
stored map, and ``changed`` is False once leaks are settled.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from svcnet.allocators.dualstack import DualStackAllocator
from svcnet.allocators.errors import AlreadyAllocated, NotInRange
from svcnet.allocators.ipallocator import family_of, parse_ip
from svcnet.allocators.portallocator import NodePortAllocator, collect_node_ports

# Upstream numRepairsBeforeLeakCleanup.
LEAK_PASSES = 3

A = TypeVar("A", DualStackAllocator, NodePortAllocator)
V = TypeVar("V", str, int)


@dataclass(frozen=True)
class RepairEvent:
    """A Warning event to record on a Service (reason and message are upstream's)."""

    namespace: str
    name: str
    uid: str
    reason: str
    message: str
    action: str = ""
    type: str = "Warning"

    def involved_object(self) -> dict[str, str]:
        """``involvedObject`` / ``regarding`` of the Event."""
        ref = {"kind": "Service", "apiVersion": "v1", "namespace": self.namespace}
        ref["name"] = self.name
        if self.uid:
            ref["uid"] = self.uid
        return ref


@dataclass(frozen=True)
class RepairResult(Generic[A, V]):
    """Outcome of one repair pass.

    Attributes:
        rebuilt: allocator holding the repaired state; persist its snapshot.
        changed: whether ``rebuilt`` differs from the stored state.
        in_use: values held by some Service (first claimant wins).
        repaired: values in use that the stored state had lost.
        leak_pending: unused values kept allocated while their count runs.
        freed: unused values released by this pass.
        leaks: counters to pass to the next pass (value -> passes seen unused).
        events: problems to record, in Service order.
    """

    rebuilt: A
    changed: bool
    in_use: frozenset[V]
    repaired: frozenset[V]
    leak_pending: frozenset[V]
    freed: frozenset[V]
    leaks: Mapping[V, int]
    events: tuple[RepairEvent, ...] = field(default=())


def _sorted_services(services: Iterable[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    def key(svc: Mapping[str, Any]) -> tuple[str, str]:
        meta = svc.get("metadata") or {}
        return (meta.get("namespace") or "", meta.get("name") or "")

    return sorted(services, key=key)


def _event(svc: Mapping[str, Any], reason: str, message: str, action: str) -> RepairEvent:
    meta = svc.get("metadata") or {}
    return RepairEvent(
        namespace=meta.get("namespace") or "",
        name=meta.get("name") or "",
        uid=meta.get("uid") or "",
        reason=reason,
        message=message,
        action=action,
    )


def service_cluster_ips(service: Mapping[str, Any]) -> list[str]:
    """ClusterIPs a Service holds: none when headless, ExternalName or unset.

    Upstream ``IsServiceIPSet``: ``spec.clusterIP`` must be set and not
    ``None``; then every entry of ``spec.clusterIPs`` (falling back to
    ``[clusterIP]`` for objects written before dual-stack) counts.
    """
    spec = service.get("spec") or {}
    primary = spec.get("clusterIP") or ""
    if primary in ("", "None"):
        return []
    return list(spec.get("clusterIPs") or [primary])


# kind -> (reason, action, message template). Reasons and messages are
# upstream's bitmap repair controllers' (dual-stack era); {value} is the
# normalised IP or the port.
_Messages = Mapping[str, tuple[str, str, str]]
_IP_MESSAGES: _Messages = {
    "invalid": (
        "ClusterIPNotValid",
        "ClusterIPValidation",
        "Cluster IP {value} is not a valid IP; please recreate service",
    ),
    "family": (
        "ClusterIPNotValid",
        "ClusterIPValidation",
        "Cluster IP {value}({family}) is of ip family that is no longer configured on "
        "cluster; please recreate service",
    ),
    "duplicate": (
        "ClusterIPAlreadyAllocated",
        "ClusterIPAllocation",
        "Cluster IP [{family}]:{value} was assigned to multiple services; please recreate service",
    ),
    "out_of_range": (
        "ClusterIPOutOfRange",
        "ClusterIPAllocation",
        "Cluster IP [{family}]:{value} is not within the service CIDR {range}; "
        "please recreate service",
    ),
    "not_allocated": (
        "ClusterIPNotAllocated",
        "ClusterIPAllocation",
        "Cluster IP [{family}]:{value} is not allocated; repairing",
    ),
}
_PORT_MESSAGES: _Messages = {
    "duplicate": (
        "PortAlreadyAllocated",
        "PortAllocation",
        "Port {value} was assigned to multiple services; please recreate service",
    ),
    "out_of_range": (
        "PortOutOfRange",
        "PortAllocation",
        "Port {value} is not within the port range {range}; please recreate service",
    ),
    "not_allocated": (
        "PortNotAllocated",
        "PortAllocation",
        "Port {value} is not allocated; repairing",
    ),
}


class _Pass(Generic[V]):
    """Bookkeeping of one repair pass: claims, events, then the leak sweep."""

    def __init__(self, messages: _Messages) -> None:
        self.messages = messages
        self.events: list[RepairEvent] = []
        self.in_use: set[V] = set()
        self.repaired: set[V] = set()

    def warn(self, svc: Mapping[str, Any], kind: str, **fields: object) -> None:
        reason, action, template = self.messages[kind]
        self.events.append(_event(svc, reason, template.format(**fields), action))

    def claim(
        self,
        svc: Mapping[str, Any],
        value: V,
        rebuilt: Any,
        leftover: Any,
        item: object = None,
        **fields: object,
    ) -> None:
        """Take ``value`` for ``svc`` in ``rebuilt``; strike it from ``leftover``.

        ``item`` is what the allocators are given (a parsed address, to parse
        each IP once), ``value`` what the result and the events show.
        """
        item = value if item is None else item
        try:
            rebuilt.allocate(item)
        except AlreadyAllocated:
            self.warn(svc, "duplicate", value=value, **fields)
            return
        except NotInRange:
            self.warn(svc, "out_of_range", value=value, **fields)
            return
        self.in_use.add(value)
        if not leftover.release(item):
            self.repaired.add(value)
            self.warn(svc, "not_allocated", value=value, **fields)

    def finish(
        self,
        stored: A,
        rebuilt: A,
        leftovers: Iterable[V],
        previous: Mapping[V, int],
        leak_passes: int,
    ) -> RepairResult[A, V]:
        """Sweep leaks: hold those seen fewer than ``leak_passes`` times, free the rest."""
        pending: set[V] = set()
        freed: set[V] = set()
        counters: dict[V, int] = {}
        for value in leftovers:
            seen = previous.get(value, 0) + 1
            if seen >= leak_passes:
                freed.add(value)
            else:
                counters[value] = seen
                pending.add(value)
                rebuilt.allocate(value)  # pretend it is in use until the count runs out
        return RepairResult(
            rebuilt=rebuilt,
            changed=rebuilt.snapshot() != stored.snapshot(),
            in_use=frozenset(self.in_use),
            repaired=frozenset(self.repaired),
            leak_pending=frozenset(pending),
            freed=frozenset(freed),
            leaks=counters,
            events=tuple(self.events),
        )


def _check_leak_passes(leak_passes: int) -> None:
    if leak_passes < 1:
        raise ValueError(f"leak_passes must be at least 1, got {leak_passes}")


def repair_ips(
    stored: DualStackAllocator,
    services: Iterable[Mapping[str, Any]],
    leaks: Mapping[str, int] | None = None,
    *,
    leak_passes: int = LEAK_PASSES,
) -> RepairResult[DualStackAllocator, str]:
    """Rebuild ClusterIP state of every configured family from ``services``.

    Args:
        stored: allocator restored from the persisted snapshots (not mutated).
            If a snapshot could not be restored (range changed), pass an
            empty allocator: every IP in use is then "not allocated; repairing".
        services: all stored Services, as API dicts.
        leaks: ``result.leaks`` of the previous pass (IP string -> count).
        leak_passes: consecutive unused sightings before a leak is freed.
    """
    _check_leak_passes(leak_passes)
    rebuilt = stored.copy()
    rebuilt.clear()
    leftover = stored.copy()  # what no Service claims stays here
    run: _Pass[str] = _Pass(_IP_MESSAGES)
    for svc in _sorted_services(services):
        for raw in service_cluster_ips(svc):
            addr = parse_ip(raw)
            if addr is None:
                run.warn(svc, "invalid", value=raw)
                continue
            ip, family = str(addr), family_of(addr) or ""
            alloc, left = rebuilt.get(family), leftover.get(family)
            if alloc is None or left is None:
                run.warn(svc, "family", value=ip, family=family)
                continue
            run.claim(svc, ip, alloc, left, addr, family=family, range=alloc.cidr)
    leftovers = [ip for alloc in leftover.by_family.values() for ip in alloc]
    return run.finish(stored, rebuilt, leftovers, leaks or {}, leak_passes)


def repair_ports(
    stored: NodePortAllocator,
    services: Iterable[Mapping[str, Any]],
    leaks: Mapping[int, int] | None = None,
    *,
    leak_passes: int = LEAK_PASSES,
) -> RepairResult[NodePortAllocator, int]:
    """Rebuild NodePort state (node ports and health check ports) from ``services``.

    Arguments as :func:`repair_ips`; ``leaks`` maps port -> count.
    """
    _check_leak_passes(leak_passes)
    rebuilt = stored.copy()
    rebuilt.clear()
    leftover = stored.copy()
    run: _Pass[int] = _Pass(_PORT_MESSAGES)
    for svc in _sorted_services(services):
        for port in collect_node_ports(svc):
            run.claim(svc, port, rebuilt, leftover, range=rebuilt.range)
    return run.finish(stored, rebuilt, list(leftover), leaks or {}, leak_passes)
