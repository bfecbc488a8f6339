"""The records one Service owns, computed from its view and its slices. Pure.

Theory of operation: `service_records(svc, slices, zone, ttl)` turns one
Service and its EndpointSlices into a `ServiceRecords`: a small table
``owner name -> {qtype: RRs}`` for every name under
``<service>.<ns>.svc.<zone>``, plus the PTR targets of the Service's
addresses. The index builds it lazily, on the first query for the Service
after a change, and drops it when the Service or one of its slices changes.

Which records exist (Kubernetes DNS specification 1.1.0, with CoreDNS's
choices where the spec leaves room):

* ClusterIP (also NodePort, LoadBalancer): A/AAAA of the ClusterIPs (2.3.1);
  an SRV per named port to the Service name (2.3.2); PTR per ClusterIP
  (2.3.3). Like CoreDNS, also SRV at the Service name for every port, and
  ``<endpoint>.<service>...`` names for its ready endpoints.
* Headless: A/AAAA of the ready endpoints (2.4.1), NXDOMAIN when there is
  none; ``<hostname>.<service>...`` per ready endpoint, where the
  hostname is the endpoint's ``hostname`` or, as CoreDNS does, its address
  with dots or colons turned to dashes (the spec's "unique,
  system-assigned identifier"); an SRV per named port and ready endpoint to
  that name, with the EndpointSlice's port numbers (2.4.2); PTR per ready
  endpoint address to that name (2.4.3).
* ExternalName: a CNAME at the Service name (2.5) and an SRV per named
  port to the external name; no endpoint names. An externalName that is
  an IP address yields no records (CoreDNS does the same).
* _ready_ (2.1): the endpoint's ready condition, or every endpoint when
  the Service sets publishNotReadyAddresses (or the legacy
  tolerate-unready annotation).

SRV records use priority 0 and weight ``100 // n`` for n records, like
CoreDNS. Records are lowercase; the handler echoes the query's case.
Answers list records in a stable order (slice name, then endpoint order).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from dataclasses import dataclass, field

from dnslib import AAAA, CNAME, QTYPE, RR, SRV, A

from svcnet.dns.views import EndpointSliceView, EndpointView, PortView, ServiceView

__all__ = [
    "ServiceRecords",
    "endpoint_hostname",
    "ptr_targets",
    "ready_endpoints",
    "service_name",
    "service_records",
]

T_A = QTYPE.A
T_AAAA = QTYPE.AAAA
T_SRV = QTYPE.SRV
T_CNAME = QTYPE.CNAME


@dataclass(slots=True)
class ServiceRecords:
    """Every record owned by names under one Service.

    Attributes:
        names: owner name -> qtype -> RRs; an owner with an empty mapping is
            an empty non-terminal (NODATA, never NXDOMAIN).
        addresses: in-zone target name -> its A/AAAA RRs (SRV additionals).
        ptr: address -> PTR target name (for the reverse index).
        cname: the external name when the Service is an ExternalName.
    """

    names: dict[str, dict[int, list[RR]]] = field(default_factory=dict)
    addresses: dict[str, list[RR]] = field(default_factory=dict)
    ptr: dict[str, str] = field(default_factory=dict)
    cname: str = ""


def service_name(namespace: str, name: str, zone: str) -> str:
    """``<service>.<ns>.svc.<zone>.`` (zone given fully qualified)."""
    return f"{name}.{namespace}.svc.{zone}".lower()


def endpoint_hostname(ep: EndpointView, address: str) -> str:
    """The spec's _hostname_ of an endpoint address: its hostname field, or
    the address with separators turned to dashes (CoreDNS)."""
    if ep.hostname:
        return ep.hostname
    return address.replace(".", "-").replace(":", "-")


def ready_endpoints(
    svc: ServiceView, slices: Iterable[EndpointSliceView]
) -> list[tuple[EndpointSliceView, EndpointView]]:
    """The _ready_ endpoints (spec 2.1) of ``svc``, in slice-name order."""
    out = []
    for sl in sorted(slices, key=lambda s: s.name):
        for ep in sl.endpoints:
            if ep.ready or svc.publish_not_ready:
                out.append((sl, ep))
    return out


def _addr_rr(owner: str, ip: str, ttl: int) -> RR:
    if ":" in ip:
        return RR(owner, T_AAAA, ttl=ttl, rdata=AAAA(ip))
    return RR(owner, T_A, ttl=ttl, rdata=A(ip))


def _add(table: dict[str, dict[int, list[RR]]], owner: str, rr: RR | None = None) -> None:
    types = table.setdefault(owner, {})
    if rr is not None:
        types.setdefault(rr.rtype, []).append(rr)


def _srv_weight(rrs: list[RR]) -> None:
    """CoreDNS's weights: 100 split evenly among the records of one priority."""
    if rrs:
        w = 100 // len(rrs)
        for rr in rrs:
            rr.rdata.weight = w


def _port_owner(port: PortView, base: str) -> str:
    return f"_{port.name}._{port.protocol}.{base}".lower()


def _is_ip(text: str) -> bool:
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return True


def service_records(
    svc: ServiceView, slices: Iterable[EndpointSliceView], zone: str, ttl: int
) -> ServiceRecords:
    """Build the `ServiceRecords` of ``svc`` (``zone`` fully qualified)."""
    base = service_name(svc.namespace, svc.name, zone)
    recs = ServiceRecords()
    names = recs.names
    if svc.is_external_name:
        if not svc.external_name or _is_ip(svc.external_name):
            return recs
        target = svc.external_name + "."
        recs.cname = target
        _add(names, base, RR(base, T_CNAME, ttl=ttl, rdata=CNAME(target)))
        for p in svc.ports:
            if p.name:
                owner = _port_owner(p, base)
                _add(names, owner.split(".", 1)[1])
                _add(names, owner, RR(owner, T_SRV, ttl=ttl, rdata=SRV(0, 100, p.port, target)))
        return recs

    slices = list(slices)
    recs.ptr = ptr_targets(svc, slices, zone)
    ready = ready_endpoints(svc, slices)
    if svc.headless:
        _headless(svc, ready, base, ttl, recs)
    elif svc.cluster_ips:
        _cluster_ip(svc, ready, base, ttl, recs)
    for rrs_by_type in names.values():
        srv = rrs_by_type.get(T_SRV)
        if srv:
            _srv_weight(srv)
    return recs


def ptr_targets(svc: ServiceView, slices: Iterable[EndpointSliceView], zone: str) -> dict[str, str]:
    """address -> PTR target of ``svc``: its ClusterIPs (spec 2.3.3), or for a
    headless Service its ready endpoint addresses (2.4.3). Cheap: the index
    keeps these eagerly while the rest of the records are built lazily."""
    base = service_name(svc.namespace, svc.name, zone)
    if svc.is_external_name:
        return {}
    if not svc.headless:
        return dict.fromkeys(svc.cluster_ips, base)
    out: dict[str, str] = {}
    for _, ep in ready_endpoints(svc, slices):
        for ip in ep.addresses:
            out.setdefault(ip, f"{endpoint_hostname(ep, ip)}.{base}")
    return out


def _endpoint_names(
    ready: list[tuple[EndpointSliceView, EndpointView]], base: str, ttl: int, recs: ServiceRecords
) -> None:
    """``<hostname>.<base>`` A/AAAA for every ready endpoint address."""
    seen: set[tuple[str, str]] = set()
    for _, ep in ready:
        for ip in ep.addresses:
            owner = f"{endpoint_hostname(ep, ip)}.{base}"
            if (owner, ip) in seen:
                continue
            seen.add((owner, ip))
            rr = _addr_rr(owner, ip, ttl)
            _add(recs.names, owner, rr)
            recs.addresses.setdefault(owner, []).append(rr)


def _cluster_ip(
    svc: ServiceView,
    ready: list[tuple[EndpointSliceView, EndpointView]],
    base: str,
    ttl: int,
    recs: ServiceRecords,
) -> None:
    names = recs.names
    _add(names, base)
    for ip in svc.cluster_ips:
        rr = _addr_rr(base, ip, ttl)
        _add(names, base, rr)
        recs.addresses.setdefault(base, []).append(rr)
    for p in svc.ports:
        _add(names, base, RR(base, T_SRV, ttl=ttl, rdata=SRV(0, 100, p.port, base)))
        if p.name:
            owner = _port_owner(p, base)
            _add(names, owner.split(".", 1)[1])
            _add(names, owner, RR(owner, T_SRV, ttl=ttl, rdata=SRV(0, 100, p.port, base)))
    _endpoint_names(ready, base, ttl, recs)


def _headless(
    svc: ServiceView,
    ready: list[tuple[EndpointSliceView, EndpointView]],
    base: str,
    ttl: int,
    recs: ServiceRecords,
) -> None:
    names = recs.names
    if not ready:
        return  # spec 2.4.1: no ready endpoints -> NXDOMAIN for every name
    seen_ip: set[str] = set()
    for _, ep in ready:
        for ip in ep.addresses:
            if ip not in seen_ip:
                seen_ip.add(ip)
                _add(names, base, _addr_rr(base, ip, ttl))
    _endpoint_names(ready, base, ttl, recs)
    seen_srv: set[tuple[str, int, str, str]] = set()
    for sl, ep in ready:
        for p in sl.ports:
            for ip in ep.addresses:
                target = f"{endpoint_hostname(ep, ip)}.{base}"
                if (p.name, p.port, p.protocol, target) in seen_srv:
                    continue
                seen_srv.add((p.name, p.port, p.protocol, target))
                _add(names, base, RR(base, T_SRV, ttl=ttl, rdata=SRV(0, 100, p.port, target)))
                if p.name:
                    owner = _port_owner(p, base)
                    _add(names, owner.split(".", 1)[1])
                    rr = RR(owner, T_SRV, ttl=ttl, rdata=SRV(0, 100, p.port, target))
                    _add(names, owner, rr)
