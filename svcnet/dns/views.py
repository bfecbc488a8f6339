"""Slim, frozen views of the API objects cluster DNS reads.

Theory of operation: the informers hand us whole Service and EndpointSlice
objects (dicts); DNS needs a dozen fields of them. At the watch boundary
each object is parsed ONCE into a frozen view (`service_view`,
`endpointslice_view`), and the informer caches a tiny stand-in (`slim`)
that carries the view plus the metadata the cache needs. Nothing past this
module digs in raw dicts.

Parsing is defensive: the server may be a real cluster with fields we do
not know, or a hand-made object with wrong types. A field of the wrong
shape reads as absent, never as an exception, so one odd object cannot stop
the informer's handler (and with it DNS for everyone).

Invariants:
  * views are immutable and hashable (tuples, not lists);
  * names and namespaces are kept as written (Kubernetes names are
    lowercase by validation); hostnames are lowercased, IPs canonicalised
    (`ipaddress` form) so comparisons and PTR owners are stable;
  * an endpoint's ``ready`` is True unless the API says False ("a nil
    value should be interpreted as ready", discovery/v1).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

__all__ = [
    "EXTERNAL_NAME",
    "SERVICE_NAME_LABEL",
    "TOLERATE_UNREADY_ANNOTATION",
    "EndpointSliceView",
    "EndpointView",
    "PortView",
    "ServiceView",
    "canonical_ip",
    "endpointslice_view",
    "service_view",
    "slim",
    "view_of",
]

Obj = dict[str, Any]

SERVICE_NAME_LABEL = "kubernetes.io/service-name"
TOLERATE_UNREADY_ANNOTATION = "service.alpha.kubernetes.io/tolerate-unready-endpoints"
LAST_CHANGE_ANNOTATION = "endpoints.kubernetes.io/last-change-trigger-time"
EXTERNAL_NAME = "ExternalName"


@dataclass(frozen=True, slots=True)
class PortView:
    """One port: its name ("" when unnamed), protocol (TCP/UDP/SCTP) and number."""

    name: str
    protocol: str
    port: int


@dataclass(frozen=True, slots=True)
class ServiceView:
    """What DNS needs of a Service."""

    namespace: str
    name: str
    type: str = "ClusterIP"
    cluster_ips: tuple[str, ...] = ()
    headless: bool = False
    external_name: str = ""
    ports: tuple[PortView, ...] = ()
    publish_not_ready: bool = False
    has_selector: bool = False

    @property
    def key(self) -> tuple[str, str]:
        return (self.namespace, self.name)

    @property
    def is_external_name(self) -> bool:
        return self.type == EXTERNAL_NAME


@dataclass(frozen=True, slots=True)
class EndpointView:
    """One endpoint of a slice."""

    addresses: tuple[str, ...]
    ready: bool = True
    serving: bool = True
    terminating: bool = False
    hostname: str = ""
    node_name: str = ""
    pod: str = ""


@dataclass(frozen=True, slots=True)
class EndpointSliceView:
    """What DNS needs of an EndpointSlice (service it belongs to, endpoints, ports)."""

    namespace: str
    name: str
    service: str
    address_type: str = "IPv4"
    endpoints: tuple[EndpointView, ...] = ()
    ports: tuple[PortView, ...] = ()
    last_change: str = ""

    @property
    def key(self) -> tuple[str, str]:
        return (self.namespace, self.name)

    @property
    def service_key(self) -> tuple[str, str]:
        return (self.namespace, self.service)


# -- parsing helpers ----------------------------------------------------------


def _dict(v: Any) -> dict[str, Any]:
    return v if isinstance(v, dict) else {}


def _list(v: Any) -> list[Any]:
    return v if isinstance(v, list) else []


def _str(v: Any) -> str:
    return v if isinstance(v, str) else ""


def canonical_ip(text: Any) -> str:
    """The canonical text of an IP address, or "" when ``text`` is not one."""
    if not isinstance(text, str) or not text:
        return ""
    try:
        return str(ipaddress.ip_address(text))
    except ValueError:
        return ""


def _ports(items: Any) -> tuple[PortView, ...]:
    out: list[PortView] = []
    for p in _list(items):
        p = _dict(p)
        port = p.get("port")
        if not isinstance(port, int) or isinstance(port, bool) or not 0 < port < 65536:
            continue
        out.append(PortView(_str(p.get("name")), _str(p.get("protocol")) or "TCP", port))
    return tuple(out)


def _meta(obj: Obj) -> tuple[str, str, dict[str, Any], dict[str, Any]]:
    meta = _dict(obj.get("metadata"))
    return (
        _str(meta.get("namespace")),
        _str(meta.get("name")),
        _dict(meta.get("labels")),
        _dict(meta.get("annotations")),
    )


# -- views ---------------------------------------------------------------------


def service_view(obj: Obj) -> ServiceView:
    """Parse a Service object into a `ServiceView`."""
    ns, name, _, annotations = _meta(obj)
    spec = _dict(obj.get("spec"))
    stype = _str(spec.get("type")) or "ClusterIP"
    cluster_ip = _str(spec.get("clusterIP"))
    raw_ips = _list(spec.get("clusterIPs")) or ([cluster_ip] if cluster_ip else [])
    headless = cluster_ip == "None" or (not cluster_ip and "None" in raw_ips)
    ips: list[str] = []
    if stype != EXTERNAL_NAME and not headless:
        for ip in raw_ips:
            c = canonical_ip(ip)
            if c and c not in ips:
                ips.append(c)
    external = ""
    if stype == EXTERNAL_NAME:
        external = _str(spec.get("externalName")).strip().rstrip(".").lower()
    publish = spec.get("publishNotReadyAddresses") is True or (
        _str(annotations.get(TOLERATE_UNREADY_ANNOTATION)).lower() == "true"
    )
    return ServiceView(
        namespace=ns,
        name=name,
        type=stype,
        cluster_ips=tuple(ips),
        headless=headless and stype != EXTERNAL_NAME,
        external_name=external,
        ports=_ports(spec.get("ports")),
        publish_not_ready=publish,
        has_selector=bool(_dict(spec.get("selector"))),
    )


def _endpoint(e: Any, address_type: str) -> EndpointView | None:
    e = _dict(e)
    addrs: list[str] = []
    for a in _list(e.get("addresses")):
        c = canonical_ip(a)
        if not c:
            continue
        if (":" in c) != (address_type == "IPv6"):
            continue  # an address of the wrong family for its slice
        if c not in addrs:
            addrs.append(c)
    if not addrs:
        return None
    cond = _dict(e.get("conditions"))
    ready = cond.get("ready") is not False
    serving = cond.get("serving") is not False if "serving" in cond else ready
    ref = _dict(e.get("targetRef"))
    return EndpointView(
        addresses=tuple(addrs),
        ready=ready,
        serving=serving,
        terminating=cond.get("terminating") is True,
        hostname=_str(e.get("hostname")).lower(),
        node_name=_str(e.get("nodeName")),
        pod=_str(ref.get("name")) if _str(ref.get("kind")) in ("", "Pod") else "",
    )


def endpointslice_view(obj: Obj) -> EndpointSliceView:
    """Parse an EndpointSlice object into an `EndpointSliceView`.

    FQDN slices keep their metadata but no endpoints: DNS (like CoreDNS)
    only serves IP endpoints.
    """
    ns, name, labels, annotations = _meta(obj)
    address_type = _str(obj.get("addressType")) or "IPv4"
    eps: list[EndpointView] = []
    if address_type in ("IPv4", "IPv6"):
        for e in _list(obj.get("endpoints")):
            ev = _endpoint(e, address_type)
            if ev is not None:
                eps.append(ev)
    return EndpointSliceView(
        namespace=ns,
        name=name,
        service=_str(labels.get(SERVICE_NAME_LABEL)),
        address_type=address_type,
        endpoints=tuple(eps),
        ports=_ports(obj.get("ports")),
        last_change=_str(annotations.get(LAST_CHANGE_ANNOTATION)),
    )


def slim(view_fn: Callable[[Obj], Any]) -> Callable[[Obj], Obj]:
    """An informer ``transform``: cache a stand-in holding only the view.

    The informer's cache needs metadata.name, namespace and
    resourceVersion; everything else of the object is dropped here, so the
    DNS process holds views, not whole objects (memory at 100,000 pods).
    """

    def transform(obj: Obj) -> Obj:
        if "view" in obj and "spec" not in obj:
            return obj  # already slim (the informer may transform twice)
        meta = _dict(obj.get("metadata"))
        return {
            "metadata": {
                "name": meta.get("name"),
                "namespace": meta.get("namespace"),
                "resourceVersion": meta.get("resourceVersion"),
            },
            "view": view_fn(obj),
        }

    return transform


def view_of(slim_obj: Obj) -> Any:
    """The view inside a `slim` stand-in."""
    return slim_obj["view"]
