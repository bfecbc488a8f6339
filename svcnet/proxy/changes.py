"""Change trackers: watch events in, new ``ProxyState`` plus what changed out.

Theory of operation (upstream ``servicechangetracker.go``,
``endpointschangetracker.go``, ``endpointslicecache.go``): watch handlers
call ``update(previous, current)`` (``None`` for add/delete) at any rate;
the sync loop calls ``apply(state)`` when it is ready to program, getting
the new state, the Services whose ports or endpoints changed (so an
incremental sync rewrites only those), the UDP conntrack entries to flush,
and the EndpointSlice trigger times for the network-programming metric.

- ``ServiceChangeTracker`` keeps, per Service, (previous, current) port maps:
  previous is what the last ``apply`` saw, current the latest object. A
  change whose current equals its previous (an update undone before the
  sync) is dropped.
- ``EndpointsChangeTracker`` keeps, per Service and per slice name, the
  applied slice view and a pending one; a pending view equal to the applied
  one is dropped. Endpoints are aggregated over all of a Service's slices
  at ``apply``, deduplicated by ``ip:port`` (a local copy wins), so an
  endpoint moving between slices is no change at all.
- ``apply`` must be given the state the previous ``apply`` returned (the
  trackers remember what they applied). Services are applied before
  endpoints (``FamilyChanges`` does both), because conntrack cleanup for
  endpoints looks the Service up in the new state.

Stale UDP conntrack (upstream ``conntrack.CleanStaleEntries``): when a UDP
port goes from 0 to some serving endpoints, entries that blackholed earlier
packets are flushed for all of its IPs and its NodePort; when a serving UDP
endpoint disappears (or changes), flows DNATed to it are flushed; when a UDP
frontend (ip:port or NodePort) goes away, its entries are flushed.

Pure: no I/O; time enters only as the injected ``start_time``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from types import MappingProxyType
from typing import Any, Final, NamedTuple

from svcnet.proxy.model import (
    FAMILIES,
    TCP,
    UDP,
    Endpoint,
    Obj,
    ProxyState,
    ServiceName,
    ServicePortInfo,
    ServicePortName,
    parse_ip,
    service_name,
    service_port_infos,
)

LABEL_SERVICE_NAME: Final = "kubernetes.io/service-name"
ANNOTATION_TRIGGER_TIME: Final = "endpoints.kubernetes.io/last-change-trigger-time"

PortMap = Mapping[ServicePortName, ServicePortInfo]
EndpointsMap = dict[ServicePortName, tuple[Endpoint, ...]]


# --- results ----------------------------------------------------------------------------


@dataclass(frozen=True)
class ConntrackCleanup:
    """UDP conntrack entries to delete after the new rules are in place.

    Attributes:
        service_ip_ports: ``(ip, port)``: every UDP entry whose original
            destination is that ip:port (``conntrack -D -p udp --orig-dst IP --dport PORT``).
        node_ports: every UDP entry whose original destination port is that NodePort.
        endpoint_flows: ``(service ip, port, endpoint ip)``: UDP entries to that
            ip:port whose reply source is the endpoint (``--reply-src``).
        node_port_endpoint_flows: ``(node port, endpoint ip)``, likewise for NodePorts.
    """

    service_ip_ports: frozenset[tuple[str, int]] = frozenset()
    node_ports: frozenset[int] = frozenset()
    endpoint_flows: frozenset[tuple[str, int, str]] = frozenset()
    node_port_endpoint_flows: frozenset[tuple[int, str]] = frozenset()

    def __bool__(self) -> bool:
        return bool(
            self.service_ip_ports
            or self.node_ports
            or self.endpoint_flows
            or self.node_port_endpoint_flows
        )

    def __or__(self, other: ConntrackCleanup) -> ConntrackCleanup:
        return ConntrackCleanup(
            self.service_ip_ports | other.service_ip_ports,
            self.node_ports | other.node_ports,
            self.endpoint_flows | other.endpoint_flows,
            self.node_port_endpoint_flows | other.node_port_endpoint_flows,
        )


class ApplyResult(NamedTuple):
    """What ``apply`` returns.

    ``changed`` holds Services whose ports (service tracker) or endpoints
    (endpoints tracker) differ from before; ``trigger_times`` the
    last-change-trigger-time values seen per Service since the last apply.
    """

    state: ProxyState
    changed: frozenset[ServiceName]
    conntrack: ConntrackCleanup
    trigger_times: Mapping[ServiceName, tuple[datetime, ...]] = MappingProxyType({})


# --- services ------------------------------------------------------------------------------


@dataclass
class _ServiceChange:
    previous: dict[ServicePortName, ServicePortInfo]
    current: dict[ServicePortName, ServicePortInfo]


def _deleted_udp_frontends(previous: PortMap, current: PortMap) -> ConntrackCleanup:
    """UDP frontends the Service no longer has (upstream ``DeletedUDPClusterIPs``, by port)."""
    ip_ports: set[tuple[str, int]] = set()
    node_ports: set[int] = set()
    for spn, old in previous.items():
        if old.protocol != UDP:
            continue
        new = current.get(spn)
        ip_ports |= old.frontends() - (new.frontends() if new else frozenset())
        if old.node_port and (new is None or new.node_port != old.node_port):
            node_ports.add(old.node_port)
    return ConntrackCleanup(frozenset(ip_ports), frozenset(node_ports))


class ServiceChangeTracker:
    """Uncommitted Service changes of one IP family, keyed by Service."""

    def __init__(self, family: str) -> None:
        self.family = family
        self._items: dict[ServiceName, _ServiceChange] = {}

    def update(self, previous: Obj | None, current: Obj | None) -> bool:
        """Record a Service add (``None, obj``), update or delete (``obj, None``).

        Returns whether a change for this Service is now pending.
        """
        obj = current if current is not None else previous
        if obj is None:
            return False
        name = service_name(obj)
        change = self._items.get(name)
        if change is None:
            prev_map = service_port_infos(previous, self.family) if previous else {}
            change = self._items[name] = _ServiceChange(prev_map, {})
        change.current = service_port_infos(current, self.family) if current else {}
        if change.current == change.previous:
            del self._items[name]
            return False
        return True

    def pending(self) -> frozenset[ServiceName]:
        """Services with a change not yet applied (upstream ``PendingChanges``)."""
        return frozenset(self._items)

    def apply(self, state: ProxyState) -> ApplyResult:
        """Merge pending changes into ``state`` and forget them."""
        if not self._items:
            return ApplyResult(state, frozenset(), ConntrackCleanup())
        services = dict(state.services)
        index = dict(state.service_ports)
        cleanup = ConntrackCleanup()
        for name, change in self._items.items():
            for spn in change.previous:
                services.pop(spn, None)
            services.update(change.current)
            if change.current:
                index[name] = tuple(sorted(change.current))
            else:
                index.pop(name, None)
            cleanup |= _deleted_udp_frontends(change.previous, change.current)
        changed = frozenset(self._items)
        self._items = {}
        return ApplyResult(replace(state, services=services, service_ports=index), changed, cleanup)


# --- endpoint slices ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SliceEndpoint:
    """The part of one EndpointSlice endpoint the proxy uses (upstream ``endpointInfo``)."""

    address: str
    node_name: str = ""
    zone: str = ""
    ready: bool = True
    serving: bool = True
    terminating: bool = False
    zone_hints: frozenset[str] = frozenset()
    node_hints: frozenset[str] = frozenset()


@dataclass(frozen=True, slots=True)
class SliceView:
    """One EndpointSlice, slimmed (upstream ``endpointSliceInfo``): ports and endpoints, sorted."""

    ports: tuple[tuple[int, str, str], ...] = ()  # (port, name, protocol)
    endpoints: tuple[SliceEndpoint, ...] = ()


_NO_HINTS: Final[frozenset[str]] = frozenset()


def _hint_names(hints: Any, key: str) -> frozenset[str]:
    entries = hints.get(key) if hints else None
    if not entries:
        return _NO_HINTS
    return frozenset(e.get("name", "") for e in entries if isinstance(e, Mapping) and e.get("name"))


def slice_view(obj: Obj, family: str) -> SliceView:
    """Parse an EndpointSlice's ports and this family's endpoints (first address only, as upstream).

    Ports with no number (or 0) are ignored; a missing name or protocol takes
    the API defaults ("" and TCP).
    """
    ports = sorted(
        {
            (int(p["port"]), p.get("name") or "", p.get("protocol") or TCP)
            for p in obj.get("ports") or ()
            if isinstance(p, Mapping) and p.get("port")
        }
    )
    endpoints: list[SliceEndpoint] = []
    for ep in obj.get("endpoints") or ():
        addresses = ep.get("addresses") or ()
        parsed = parse_ip(addresses[0]) if addresses and isinstance(addresses[0], str) else None
        if parsed is None or parsed[0] != family:
            continue
        cond = ep.get("conditions") or {}
        hints = ep.get("hints")
        endpoints.append(
            SliceEndpoint(
                address=parsed[1],
                node_name=ep.get("nodeName") or "",
                zone=ep.get("zone") or "",
                ready=cond.get("ready") is not False,
                serving=cond.get("serving") is not False,
                terminating=cond.get("terminating") is True,
                zone_hints=_hint_names(hints, "forZones"),
                node_hints=_hint_names(hints, "forNodes"),
            )
        )
    endpoints.sort(key=lambda e: e.address)
    return SliceView(tuple(ports), tuple(endpoints))


def slice_keys(obj: Obj) -> tuple[ServiceName, str] | None:
    """``(Service, slice name)`` of an EndpointSlice, or None without the service-name label."""
    meta = obj.get("metadata") or {}
    service = (meta.get("labels") or {}).get(LABEL_SERVICE_NAME)
    if not service or not meta.get("name") or not meta.get("namespace"):
        return None
    return ServiceName(meta["namespace"], service), meta["name"]


def parse_trigger_time(obj: Obj) -> datetime | None:
    """The slice's last-change-trigger-time annotation (RFC 3339), or None."""
    value = ((obj.get("metadata") or {}).get("annotations") or {}).get(ANNOTATION_TRIGGER_TIME)
    if not isinstance(value, str) or not value:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def endpoints_map(
    service: ServiceName, slices: Iterable[SliceView], node_name: str
) -> EndpointsMap:
    """Aggregate a Service's slices into per-port endpoints (upstream ``endpointInfoByServicePort``).

    Deduplicated by ``ip:port``, a local copy winning; each list sorted by
    ``str(endpoint)``; ports without endpoints are left out.
    """
    by_port: dict[ServicePortName, dict[str, Endpoint]] = {}
    for view in slices:
        for port, port_name, protocol in view.ports:
            spn = ServicePortName(service.namespace, service.name, port_name, protocol)
            seen = by_port.setdefault(spn, {})
            for sep in view.endpoints:
                is_local = bool(node_name) and sep.node_name == node_name
                ep = Endpoint(
                    ip=sep.address,
                    port=port,
                    ready=sep.ready,
                    serving=sep.serving,
                    terminating=sep.terminating,
                    is_local=is_local,
                    node_name=sep.node_name,
                    zone=sep.zone,
                    zone_hints=sep.zone_hints,
                    node_hints=sep.node_hints,
                )
                key = str(ep)
                if key not in seen or is_local:
                    seen[key] = ep
    return {spn: tuple(seen[key] for key in sorted(seen)) for spn, seen in by_port.items() if seen}


def _serving(eps: Iterable[Endpoint]) -> int:
    return sum(1 for ep in eps if ep.serving)


def stale_udp_endpoints(
    previous: EndpointsMap, current: EndpointsMap, services: PortMap
) -> ConntrackCleanup:
    """Upstream ``detectStaleConntrackEntries`` + ``deleteStale*ConntrackEntries``.

    A serving UDP endpoint that is gone or changed has its flows flushed on
    every service IP and the NodePort; a UDP port going from 0 to >0 serving
    endpoints has every entry to its IPs and NodePort flushed. Ports whose
    Service is not (or no longer) known are skipped.
    """
    ip_ports: set[tuple[str, int]] = set()
    node_ports: set[int] = set()
    flows: set[tuple[str, int, str]] = set()
    np_flows: set[tuple[int, str]] = set()
    for spn, old_eps in previous.items():
        info = services.get(spn)
        if spn.protocol != UDP or info is None:
            continue
        new_eps = set(current.get(spn, ()))
        for ep in old_eps:
            if ep.serving and ep not in new_eps:
                flows |= {(ip, port, ep.ip) for ip, port in info.frontends()}
                if info.node_port:
                    np_flows.add((info.node_port, ep.ip))
    for spn, new_eps in current.items():
        info = services.get(spn)
        if spn.protocol != UDP or info is None:
            continue
        if _serving(new_eps) and not _serving(previous.get(spn, ())):
            ip_ports |= info.frontends()
            if info.node_port:
                node_ports.add(info.node_port)
    return ConntrackCleanup(
        frozenset(ip_ports), frozenset(node_ports), frozenset(flows), frozenset(np_flows)
    )


@dataclass
class _SliceTracker:
    applied: dict[str, SliceView] = field(default_factory=dict)
    pending: dict[str, SliceView | None] = field(default_factory=dict)  # None: removed
    built: EndpointsMap = field(default_factory=dict)  # endpoints_map(applied) ...
    built_for: str = ""  # ... for this node name


class EndpointsChangeTracker:
    """Uncommitted EndpointSlice changes of one IP family, cached per Service and slice name."""

    def __init__(self, family: str, *, start_time: datetime | None = None) -> None:
        """``start_time``: trigger times before it are ignored (changes older than this proxy)."""
        self.family = family
        self._start_time = start_time
        self._trackers: dict[ServiceName, _SliceTracker] = {}
        self._pending: set[ServiceName] = set()
        self._trigger_times: dict[ServiceName, list[datetime]] = {}

    def update(self, previous: Obj | None, current: Obj | None) -> bool:
        """Record an EndpointSlice add, update or delete (``None`` on the missing side).

        Slices of the other address type (or FQDN), or without the
        service-name label, are ignored. Returns whether a change for the
        slice's Service is now pending.
        """
        prev_keys = self._keys(previous)
        cur_keys = self._keys(current)
        if prev_keys and prev_keys != cur_keys:
            # Deleted, or relabelled to another Service. Upstream: a deletion's
            # trigger time is the last update's, not this change's, so drop them.
            self._set_pending(*prev_keys, None)
            self._trigger_times.pop(prev_keys[0], None)
        view = slice_view(current, self.family) if cur_keys and current is not None else None
        if cur_keys and current is not None and self._set_pending(*cur_keys, view):
            when = parse_trigger_time(current)
            if when is not None and (self._start_time is None or when > self._start_time):
                self._trigger_times.setdefault(cur_keys[0], []).append(when)
        keys = cur_keys or prev_keys
        if keys is None:
            return False
        service = keys[0]
        if service not in self._pending:
            self._trigger_times.pop(service, None)
            return False
        return True

    def _keys(self, obj: Obj | None) -> tuple[ServiceName, str] | None:
        if obj is None or obj.get("addressType") != self.family:
            return None
        return slice_keys(obj)

    def _set_pending(self, service: ServiceName, name: str, view: SliceView | None) -> bool:
        """Make ``view`` the slice's pending value; returns whether that changed anything."""
        tracker = self._trackers.setdefault(service, _SliceTracker())
        before = tracker.pending.get(name, tracker.applied.get(name))
        if view == tracker.applied.get(name):
            tracker.pending.pop(name, None)  # the change undid itself
        else:
            tracker.pending[name] = view
        if tracker.pending:
            self._pending.add(service)
        else:
            self._pending.discard(service)
            if not tracker.applied:
                del self._trackers[service]
        return view != before

    def pending(self) -> frozenset[ServiceName]:
        """Services with slice changes not yet applied (some may net to no endpoint change)."""
        return frozenset(self._pending)

    def apply(self, state: ProxyState) -> ApplyResult:
        """Merge pending slice changes into ``state.endpoints`` and forget them."""
        endpoints = dict(state.endpoints)
        changed: set[ServiceName] = set()
        cleanup = ConntrackCleanup()
        for service in sorted(self._pending):
            tracker = self._trackers[service]
            previous = tracker.built
            if tracker.built_for != state.node_name:
                previous = endpoints_map(service, self._ordered(tracker), state.node_name)
            for name, view in tracker.pending.items():
                if view is None:
                    tracker.applied.pop(name, None)
                else:
                    tracker.applied[name] = view
            tracker.pending.clear()
            current = endpoints_map(service, self._ordered(tracker), state.node_name)
            tracker.built, tracker.built_for = current, state.node_name
            if not tracker.applied:
                del self._trackers[service]
            if current == previous:
                continue
            for spn in previous:
                endpoints.pop(spn, None)
            endpoints.update(current)
            changed.add(service)
            cleanup |= stale_udp_endpoints(previous, current, state.services)
        times = {svc: tuple(ts) for svc, ts in self._trigger_times.items() if svc in changed}
        self._trigger_times = {}
        self._pending = set()
        new_state = replace(state, endpoints=endpoints) if changed else state
        return ApplyResult(new_state, frozenset(changed), cleanup, times)

    @staticmethod
    def _ordered(tracker: _SliceTracker) -> list[SliceView]:
        return [tracker.applied[name] for name in sorted(tracker.applied)]


# --- both, per family -------------------------------------------------------------------------


class FamilyChanges:
    """The Service and EndpointSlice trackers of one family, applied in upstream's order."""

    def __init__(self, family: str, *, start_time: datetime | None = None) -> None:
        self.family = family
        self.services = ServiceChangeTracker(family)
        self.endpoints = EndpointsChangeTracker(family, start_time=start_time)

    def pending(self) -> frozenset[ServiceName]:
        return self.services.pending() | self.endpoints.pending()

    def apply(self, state: ProxyState) -> ApplyResult:
        """Services first, then endpoints (whose conntrack cleanup reads the new Services)."""
        svc = self.services.apply(state)
        eps = self.endpoints.apply(svc.state)
        return ApplyResult(
            eps.state, svc.changed | eps.changed, svc.conntrack | eps.conntrack, eps.trigger_times
        )


def family_changes(*, start_time: datetime | None = None) -> dict[str, FamilyChanges]:
    """One ``FamilyChanges`` per IP family (feed every event to both; each keeps its own)."""
    return {family: FamilyChanges(family, start_time=start_time) for family in FAMILIES}
