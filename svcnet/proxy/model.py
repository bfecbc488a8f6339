"""Proxy model: slim, frozen views of Services, endpoints and the Node, one IP family at a time.

Theory of operation (upstream ``pkg/proxy`` ``serviceport.go``, ``endpoint.go``,
``types.go``, ``util/utils.go``): kube-proxy runs one proxier per IP family.
Each sees a service port map (``ServicePortName -> ServicePort``) and an
endpoints map (``ServicePortName -> [Endpoint]``), both restricted to its
family. Here the same, as frozen dataclasses parsed once from API objects
(plain dicts) at the watch boundary; ``ProxyState`` bundles both maps with
what the proxy knows about its own node.

Invariants:

- every ``ServicePortInfo`` in a ``ProxyState`` has a ClusterIP of the
  state's family; its external IPs, load-balancer VIPs and source ranges are
  filtered to that family; headless and ExternalName Services have none;
- ``ProxyState.endpoints`` holds only non-empty tuples, sorted by
  ``str(endpoint)`` (upstream's order), of addresses of the state's family;
- ``ProxyState.service_ports`` indexes ``services`` by Service.

Everything here is pure: no I/O, no clock. ``ProxyState`` is replaced, never
mutated: the trackers (``svcnet.proxy.changes``) return new states.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from functools import lru_cache
from typing import Any, Final

Obj = Mapping[str, Any]

IPV4: Final = "IPv4"
IPV6: Final = "IPv6"
FAMILIES: Final = (IPV4, IPV6)

TCP: Final = "TCP"
UDP: Final = "UDP"
SCTP: Final = "SCTP"

AFFINITY_CLIENT_IP: Final = "ClientIP"
AFFINITY_NONE: Final = "None"
DEFAULT_STICKY_SECONDS: Final = 10800

POLICY_LOCAL: Final = "Local"
TYPE_CLUSTER_IP: Final = "ClusterIP"
TYPE_NODE_PORT: Final = "NodePort"
TYPE_LOAD_BALANCER: Final = "LoadBalancer"
TYPE_EXTERNAL_NAME: Final = "ExternalName"

IP_MODE_VIP: Final = "VIP"
IP_MODE_PROXY: Final = "Proxy"

ANNOTATION_TOPOLOGY_MODE: Final = "service.kubernetes.io/topology-mode"
ANNOTATION_TOPOLOGY_AWARE_HINTS: Final = "service.kubernetes.io/topology-aware-hints"
LABEL_TOPOLOGY_ZONE: Final = "topology.kubernetes.io/zone"
LABEL_TOPOLOGY_REGION: Final = "topology.kubernetes.io/region"

TRAFFIC_DISTRIBUTION_PREFER_CLOSE: Final = "PreferClose"
TRAFFIC_DISTRIBUTION_PREFER_SAME_ZONE: Final = "PreferSameZone"
TRAFFIC_DISTRIBUTION_PREFER_SAME_NODE: Final = "PreferSameNode"


# --- addresses ---------------------------------------------------------------------


@lru_cache(maxsize=1 << 17)
def parse_ip(value: str) -> tuple[str, str] | None:
    """``(family, canonical text)`` of an IP address string, or None when it is not one.

    Memoized: the same pod IPs come back in every update of their slices.
    """
    try:
        addr = ipaddress.ip_address(value.strip())
    except ValueError:
        return None
    return (IPV6 if addr.version == 6 else IPV4), str(addr)


def ip_family(value: str) -> str | None:
    """The family of an IP address string, or None when it is not one."""
    parsed = parse_ip(value)
    return parsed[0] if parsed else None


def normalize_ip(value: str) -> str | None:
    """The canonical text of an IP address (``::1``, not ``0::1``), or None."""
    parsed = parse_ip(value)
    return parsed[1] if parsed else None


def _ips_of_family(values: Iterable[Any], family: str) -> tuple[str, ...]:
    """Upstream ``MapIPsByIPFamily(...)[family]``: invalid addresses are skipped."""
    out: list[str] = []
    for value in values:
        parsed = parse_ip(value) if isinstance(value, str) else None
        if parsed is not None and parsed[0] == family and parsed[1] not in out:
            out.append(parsed[1])
    return tuple(out)


def _cidrs_of_family(values: Iterable[Any], family: str) -> tuple[str, ...]:
    """Upstream ``MapCIDRsByIPFamily``, after trimming the whitespace validation lets through.

    Host bits are masked like Go's ``net.ParseCIDR`` network (``10.0.0.1/8`` -> ``10.0.0.0/8``).
    """
    out: list[str] = []
    for value in values:
        if not isinstance(value, str):
            continue
        try:
            net = ipaddress.ip_network(value.strip(), strict=False)
        except ValueError:
            continue
        if (IPV6 if net.version == 6 else IPV4) == family and str(net) not in out:
            out.append(str(net))
    return tuple(out)


# --- names ----------------------------------------------------------------------------


@dataclass(frozen=True, order=True, slots=True)
class ServiceName:
    """A Service's namespace and name (upstream ``types.NamespacedName``)."""

    namespace: str
    name: str

    def __str__(self) -> str:
        return f"{self.namespace}/{self.name}"


@dataclass(frozen=True, order=True, slots=True)
class ServicePortName:
    """One port of one Service (upstream ``ServicePortName``)."""

    namespace: str
    name: str
    port_name: str = ""
    protocol: str = TCP

    @property
    def service(self) -> ServiceName:
        return ServiceName(self.namespace, self.name)

    def __str__(self) -> str:
        """Upstream ``String()``: ``ns/name`` or ``ns/name:port`` (protocol not shown)."""
        suffix = f":{self.port_name}" if self.port_name else ""
        return f"{self.namespace}/{self.name}{suffix}"


# --- service ports ---------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ServicePortInfo:
    """What the proxy needs of one Service port in one family (upstream ``BaseServicePortInfo``)."""

    name: ServicePortName
    cluster_ip: str
    port: int
    protocol: str = TCP
    node_port: int = 0
    external_ips: tuple[str, ...] = ()
    load_balancer_vips: tuple[str, ...] = ()
    load_balancer_source_ranges: tuple[str, ...] = ()
    session_affinity: str = AFFINITY_NONE
    sticky_max_age_seconds: int = 0
    external_policy_local: bool = False
    internal_policy_local: bool = False
    health_check_node_port: int = 0
    traffic_distribution: str = ""
    hints_annotation: str = ""

    def __str__(self) -> str:
        """Upstream ``String()``: ``ip:port/protocol``."""
        host = f"[{self.cluster_ip}]" if ":" in self.cluster_ip else self.cluster_ip
        return f"{host}:{self.port}/{self.protocol}"

    @property
    def client_ip_affinity(self) -> bool:
        return self.session_affinity == AFFINITY_CLIENT_IP

    @property
    def externally_accessible(self) -> bool:
        """Reachable by something other than the ClusterIP (NodePort, externalIPs, LB)."""
        return bool(self.node_port or self.load_balancer_vips or self.external_ips)

    @property
    def uses_cluster_endpoints(self) -> bool:
        """Ever sends traffic by "Cluster" policy (external Local still short-circuits to it)."""
        return not self.internal_policy_local or self.externally_accessible

    @property
    def uses_local_endpoints(self) -> bool:
        """Ever sends traffic by "Local" policy."""
        return self.internal_policy_local or (
            self.external_policy_local and self.externally_accessible
        )

    @property
    def hints_opt_in(self) -> bool:
        """The Service asked for topology-aware routing (annotation or trafficDistribution)."""
        return self.hints_annotation not in ("", "disabled", "Disabled") or bool(
            self.traffic_distribution
        )

    def frontends(self) -> frozenset[tuple[str, int]]:
        """Every ``(ip, port)`` this port is reached at, NodePort excluded."""
        ips = (self.cluster_ip, *self.external_ips, *self.load_balancer_vips)
        return frozenset((ip, self.port) for ip in ips)


def _meta(obj: Obj) -> Obj:
    return obj.get("metadata") or {}


def _spec(obj: Obj) -> Obj:
    return obj.get("spec") or {}


def service_name(obj: Obj) -> ServiceName:
    meta = _meta(obj)
    return ServiceName(meta.get("namespace") or "default", meta.get("name") or "")


def should_skip_service(service: Obj) -> bool:
    """Upstream ``ShouldSkipService``: headless (ClusterIP None/empty) or ExternalName."""
    spec = _spec(service)
    cluster_ip = spec.get("clusterIP") or ""
    return cluster_ip in ("", "None") or spec.get("type") == TYPE_EXTERNAL_NAME


def cluster_ip_for_family(service: Obj, family: str) -> str:
    """Upstream ``GetClusterIPByFamily``, tolerating objects without ``ipFamilies`` (skew)."""
    spec = _spec(service)
    families = spec.get("ipFamilies") or []
    if not families:
        cluster_ip = spec.get("clusterIP") or ""
        if cluster_ip in ("", "None") or ip_family(cluster_ip) != family:
            return ""
        return normalize_ip(cluster_ip) or ""
    ips = spec.get("clusterIPs") or []
    for index, fam in enumerate(families):
        if fam == family and index < len(ips):
            return normalize_ip(ips[index]) or ""
    return ""


def _externally_accessible(spec: Obj) -> bool:
    """Upstream ``apiservice.ExternallyAccessible``."""
    stype = spec.get("type") or TYPE_CLUSTER_IP
    return stype in (TYPE_LOAD_BALANCER, TYPE_NODE_PORT) or (
        stype == TYPE_CLUSTER_IP and bool(spec.get("externalIPs"))
    )


def _load_balancer_vips(service: Obj, family: str) -> tuple[str, ...]:
    """Ingress IPs in VIP mode (``ipMode`` unset or ``VIP``); ``Proxy`` mode is the LB's job."""
    status = service.get("status") or {}
    ingress = (status.get("loadBalancer") or {}).get("ingress") or []
    ips = [
        ing.get("ip")
        for ing in ingress
        if isinstance(ing, Mapping) and ing.get("ip") and ing.get("ipMode") in (None, IP_MODE_VIP)
    ]
    return _ips_of_family(ips, family)


def service_port_infos(service: Obj, family: str) -> dict[ServicePortName, ServicePortInfo]:
    """Upstream ``serviceToServiceMap`` + ``newBaseServiceInfo`` for one family.

    Returns an empty map for Services the proxy skips or that have no
    ClusterIP of this family.
    """
    if should_skip_service(service):
        return {}
    cluster_ip = cluster_ip_for_family(service, family)
    if not cluster_ip:
        return {}
    meta, spec = _meta(service), _spec(service)
    svc = service_name(service)
    ext_local = _externally_accessible(spec) and spec.get("externalTrafficPolicy") == POLICY_LOCAL
    affinity = spec.get("sessionAffinity") or AFFINITY_NONE
    sticky = 0
    if affinity == AFFINITY_CLIENT_IP:
        client_ip = (spec.get("sessionAffinityConfig") or {}).get("clientIP") or {}
        sticky = int(client_ip.get("timeoutSeconds") or DEFAULT_STICKY_SECONDS)
    health_port = 0
    if spec.get("type") == TYPE_LOAD_BALANCER and ext_local:
        health_port = int(spec.get("healthCheckNodePort") or 0)
    annotations = meta.get("annotations") or {}
    hints = annotations.get(ANNOTATION_TOPOLOGY_MODE) or annotations.get(
        ANNOTATION_TOPOLOGY_AWARE_HINTS, ""
    )
    common: dict[str, Any] = {
        "cluster_ip": cluster_ip,
        "external_ips": _ips_of_family(spec.get("externalIPs") or (), family),
        "load_balancer_vips": _load_balancer_vips(service, family),
        "load_balancer_source_ranges": _cidrs_of_family(
            spec.get("loadBalancerSourceRanges") or (), family
        ),
        "session_affinity": affinity,
        "sticky_max_age_seconds": sticky,
        "external_policy_local": ext_local,
        "internal_policy_local": spec.get("internalTrafficPolicy") == POLICY_LOCAL,
        "health_check_node_port": health_port,
        "traffic_distribution": spec.get("trafficDistribution") or "",
        "hints_annotation": hints,
    }
    infos: dict[ServicePortName, ServicePortInfo] = {}
    for port in spec.get("ports") or ():
        protocol = port.get("protocol") or TCP
        spn = ServicePortName(svc.namespace, svc.name, port.get("name") or "", protocol)
        infos[spn] = ServicePortInfo(
            name=spn,
            port=int(port.get("port") or 0),
            protocol=protocol,
            node_port=int(port.get("nodePort") or 0),
            **common,
        )
    return infos


def service_port_infos_by_family(service: Obj) -> dict[str, dict[ServicePortName, ServicePortInfo]]:
    """``service_port_infos`` for both families (an empty map for a family the Service lacks)."""
    return {family: service_port_infos(service, family) for family in FAMILIES}


# --- endpoints --------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Endpoint:
    """One backend address of one Service port (upstream ``BaseEndpointInfo``).

    ``ready``/``serving``/``terminating`` are the EndpointSlice conditions
    (ready and serving default to true, terminating to false); ``is_local``
    means the endpoint's nodeName is the proxy's node.
    """

    ip: str
    port: int
    ready: bool = True
    serving: bool = True
    terminating: bool = False
    is_local: bool = False
    node_name: str = ""
    zone: str = ""
    zone_hints: frozenset[str] = frozenset()
    node_hints: frozenset[str] = frozenset()

    def __str__(self) -> str:
        """Upstream ``String()``: ``ip:port``, IPv6 in brackets."""
        host = f"[{self.ip}]" if ":" in self.ip else self.ip
        return f"{host}:{self.port}"

    @property
    def serving_terminating(self) -> bool:
        """Usable as a fallback when nothing is ready (upstream ProxyTerminatingEndpoints)."""
        return self.serving and self.terminating


# --- node -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class NodeView:
    """What the proxy needs of its own Node object."""

    name: str
    ips: Mapping[str, tuple[str, ...]]
    labels: Mapping[str, str]


def node_view(node: Obj) -> NodeView:
    """Parse a Node: its name, labels and primary IP per family.

    Upstream ``GetNodeHostIPs``: InternalIP addresses first, then ExternalIP,
    and the first of each family is that family's node IP.
    """
    addresses = (node.get("status") or {}).get("addresses") or []
    ordered = [a.get("address", "") for a in addresses if a.get("type") == "InternalIP"]
    ordered += [a.get("address", "") for a in addresses if a.get("type") == "ExternalIP"]
    ips: dict[str, tuple[str, ...]] = {}
    for family in FAMILIES:
        found = _ips_of_family(ordered, family)
        ips[family] = found[:1]
    meta = _meta(node)
    return NodeView(name=meta.get("name") or "", ips=ips, labels=dict(meta.get("labels") or {}))


def topology_labels(labels: Mapping[str, str]) -> dict[str, str]:
    """Upstream ``ExtractTopologyLabels``: only zone and region matter to routing."""
    keep = (LABEL_TOPOLOGY_ZONE, LABEL_TOPOLOGY_REGION)
    return {key: labels[key] for key in keep if key in labels}


# --- state -------------------------------------------------------------------------------


@dataclass(frozen=True)
class ProxyState:
    """Everything one family's proxier renders from (see the module invariants)."""

    family: str
    node_name: str = ""
    node_ips: tuple[str, ...] = ()
    node_labels: Mapping[str, str] = field(default_factory=dict)
    services: Mapping[ServicePortName, ServicePortInfo] = field(default_factory=dict)
    endpoints: Mapping[ServicePortName, tuple[Endpoint, ...]] = field(default_factory=dict)
    service_ports: Mapping[ServiceName, tuple[ServicePortName, ...]] = field(default_factory=dict)

    def endpoints_for(self, name: ServicePortName) -> tuple[Endpoint, ...]:
        return self.endpoints.get(name, ())

    def ports_of(self, service: ServiceName) -> tuple[ServicePortName, ...]:
        """The Service's ports in this family, sorted; empty when it has none."""
        return self.service_ports.get(service, ())

    def with_node(self, node: NodeView) -> ProxyState:
        """This state with the node's IPs (of this family) and topology labels."""
        return replace(
            self,
            node_name=node.name or self.node_name,
            node_ips=tuple(node.ips.get(self.family, ())),
            node_labels=topology_labels(node.labels),
        )

    def topology_differs(self, other: ProxyState) -> bool:
        """Node name or topology labels changed: every Service must be re-planned."""
        return self.node_name != other.node_name or dict(self.node_labels) != dict(
            other.node_labels
        )


def empty_states(
    node_name: str = "",
    node_ips: Iterable[str] = (),
    node_labels: Mapping[str, str] | None = None,
) -> dict[str, ProxyState]:
    """One empty ``ProxyState`` per family, node IPs split by family."""
    ips = tuple(node_ips)
    labels = topology_labels(node_labels or {})
    return {
        family: ProxyState(
            family=family,
            node_name=node_name,
            node_ips=_ips_of_family(ips, family),
            node_labels=labels,
        )
        for family in FAMILIES
    }
