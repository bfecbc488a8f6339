"""Per-service-port decisions shared by every dataplane (upstream ``syncProxyRules``, minus rules).

Theory of operation: for each service port, upstream's nftables and
iptables proxiers decide the same things before writing any rule; here
those decisions are one pure function, ``service_plan``, and a renderer only
translates a ``ServicePlan`` into its own objects:

- **Endpoint groups**: the "Cluster policy" group (``cluster_endpoints``),
  the "Local policy" group (``local_endpoints``) and every endpoint needing
  a DNAT target (``endpoint_targets``; each masquerades hairpin traffic,
  i.e. packets whose source is the endpoint itself, and records ClientIP
  affinity when ``affinity_seconds`` is set).
- **Internal path** (ClusterIP): goes to the internal-policy group; source
  NAT per ``masquerade``: everything with ``masquerade_all``, otherwise
  traffic from outside the cluster CIDRs when those are configured
  (``--cluster-cidr``), otherwise nothing.
- **External path** (NodePort, externalIPs, LB VIPs): with
  externalTrafficPolicy Cluster everything is masqueraded then goes to the
  Cluster group; with Local the client IP is kept and traffic goes to the
  Local group, except that pod traffic (source in the cluster CIDRs, when
  known) and traffic from the node itself (nft ``fib saddr type local``,
  iptables ``addrtype --src-type LOCAL``; also masqueraded) short-circuit
  to the Cluster group.
- **Frontends**: each address:port the port is reached at, with where it
  is DNATed (``route``) and what the filter hooks do to packets that are
  not (``filter_verdict``): no usable endpoint anywhere REJECTs every
  frontend at once; a Local policy without local endpoints DROPs the
  frontends of that path (upstream) for external traffic, and by default
  REJECTs for internal traffic (svcnet: a pod gets "connection refused" at
  once rather than a timeout; ``PlanOptions(internal_no_local=DROP)`` is
  upstream's choice).
- **Firewall**: LB VIPs with loadBalancerSourceRanges only admit those
  sources (plus the VIPs themselves when a node IP is in a range, for
  hairpin through the VIP); NodePorts are never filtered (upstream).

Also here: the health check node port answer for externalTrafficPolicy
Local (upstream ``healthcheck/service_health.go``).
"""

from __future__ import annotations

import ipaddress
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import NamedTuple

from svcnet.proxy.model import (
    Endpoint,
    ProxyState,
    ServiceName,
    ServicePortInfo,
    ServicePortName,
)
from svcnet.proxy.topology import CategorizedEndpoints, categorize_endpoints


class Verdict(StrEnum):
    REJECT = "reject"
    DROP = "drop"


class Route(StrEnum):
    INTERNAL = "internal"  # to the internal path (ClusterIP)
    EXTERNAL = "external"  # to the external path (NodePort, externalIPs, LB)


class Policy(StrEnum):
    CLUSTER = "Cluster"
    LOCAL = "Local"


class Masquerade(StrEnum):
    NONE = "none"
    ALL = "all"  # --masquerade-all
    OFF_CLUSTER = "off-cluster"  # source not in the cluster CIDRs


class FrontendKind(StrEnum):
    CLUSTER_IP = "ClusterIP"
    EXTERNAL_IP = "ExternalIP"
    LOAD_BALANCER = "LoadBalancer"
    NODE_PORT = "NodePort"


@dataclass(frozen=True)
class PlanOptions:
    """Proxy-wide settings that change plans (upstream kube-proxy flags).

    Attributes:
        cluster_cidrs: the pod network(s) (``--cluster-cidr``); empty means
            "unknown": no off-cluster masquerade and no pod short-circuit.
        masquerade_all: SNAT all ClusterIP traffic (``--masquerade-all``).
        internal_no_local: filter verdict for ClusterIP traffic under
            internalTrafficPolicy Local when this node has no endpoint.
        external_no_local: likewise for external traffic under
            externalTrafficPolicy Local (upstream: DROP).
        prefer_same_node, require_hints_opt_in: see ``categorize_endpoints``.
    """

    cluster_cidrs: tuple[str, ...] = ()
    masquerade_all: bool = False
    internal_no_local: Verdict = Verdict.REJECT
    external_no_local: Verdict = Verdict.DROP
    prefer_same_node: bool = True
    require_hints_opt_in: bool = False


@dataclass(frozen=True, slots=True)
class Frontend:
    """One address:port (``ip`` None: the NodePort on every node-port address)."""

    kind: FrontendKind
    ip: str | None
    port: int
    protocol: str
    route: Route | None
    filter_verdict: Verdict | None
    firewall: bool = False


@dataclass(frozen=True, slots=True)
class InternalPath:
    """ClusterIP traffic: which group serves it and whether to SNAT it."""

    policy: Policy
    endpoints: tuple[Endpoint, ...]
    masquerade: Masquerade


@dataclass(frozen=True, slots=True)
class ExternalPath:
    """NodePort/externalIP/LB traffic (upstream's "EXT" chain), in rule order.

    ``masquerade_all``: SNAT everything (Cluster policy).
    ``short_circuit_pods``: sources in the cluster CIDRs go to the Cluster group.
    ``short_circuit_host``: node-originated traffic is SNATed and goes to the Cluster group.
    ``endpoints``: the policy group the rest goes to; when empty (Local, none
    here) the rest falls through to the frontends' ``filter_verdict``.
    """

    policy: Policy
    endpoints: tuple[Endpoint, ...]
    masquerade_all: bool
    short_circuit_pods: bool
    short_circuit_host: bool


@dataclass(frozen=True, slots=True)
class ServicePlan:
    """Everything a dataplane needs to program one service port (see the module docstring)."""

    name: ServicePortName
    info: ServicePortInfo
    has_endpoints: bool
    cluster_endpoints: tuple[Endpoint, ...]
    local_endpoints: tuple[Endpoint, ...]
    endpoint_targets: tuple[Endpoint, ...]
    internal: InternalPath | None
    external: ExternalPath | None
    frontends: tuple[Frontend, ...]
    firewall_sources: tuple[str, ...] | None
    affinity_seconds: int | None

    @property
    def uses_cluster_group(self) -> bool:
        return bool(self.cluster_endpoints)

    @property
    def uses_local_group(self) -> bool:
        return bool(self.local_endpoints)


def _in_any(ip: str, cidrs: Iterable[str]) -> bool:
    addr = ipaddress.ip_address(ip)
    for cidr in cidrs:
        net = ipaddress.ip_network(cidr, strict=False)
        if net.version == addr.version and addr in net:
            return True
    return False


def firewall_sources(info: ServicePortInfo, node_ips: Iterable[str]) -> tuple[str, ...] | None:
    """Sources allowed to reach the LB VIPs, or None when no firewall applies.

    Upstream: only with LB VIPs and source ranges; when a node IP is in a
    range the VIPs are allowed too (a node reaching the VIP loops back with
    the VIP as source).
    """
    ranges = info.load_balancer_source_ranges
    if not info.load_balancer_vips or not ranges:
        return None
    allowed = list(ranges)
    if any(_in_any(ip, ranges) for ip in node_ips):
        allowed += [vip for vip in info.load_balancer_vips if vip not in allowed]
    return tuple(allowed)


def service_plan(
    info: ServicePortInfo,
    categorized: CategorizedEndpoints,
    node_ips: Iterable[str] = (),
    options: PlanOptions | None = None,
) -> ServicePlan:
    """Decide how one service port is served on this node.

    Args:
        info: the port.
        categorized: ``categorize_endpoints`` of the port's endpoints.
        node_ips: this node's IPs of the port's family (firewall hairpin rule).
        options: proxy-wide settings; defaults to ``PlanOptions()``.
    """
    opts = options or PlanOptions()
    cluster = categorized.cluster or ()
    local = categorized.local or ()
    has_any = categorized.has_any
    has_internal = has_any and (bool(local) or not info.internal_policy_local)
    has_external = has_any and (bool(local) or not info.external_policy_local)

    internal_verdict: Verdict | None = None
    external_verdict: Verdict | None = None
    if not has_any:
        internal_verdict = external_verdict = Verdict.REJECT
    else:
        if not has_internal:
            internal_verdict = opts.internal_no_local
        if not has_external:
            external_verdict = opts.external_no_local

    internal: InternalPath | None = None
    if has_internal:
        if opts.masquerade_all:
            masq = Masquerade.ALL
        elif opts.cluster_cidrs:
            masq = Masquerade.OFF_CLUSTER
        else:
            masq = Masquerade.NONE
        if info.internal_policy_local:
            internal = InternalPath(Policy.LOCAL, local, masq)
        else:
            internal = InternalPath(Policy.CLUSTER, cluster, masq)

    external: ExternalPath | None = None
    if has_any and info.externally_accessible:
        if info.external_policy_local:
            external = ExternalPath(
                Policy.LOCAL,
                local,
                masquerade_all=False,
                short_circuit_pods=bool(opts.cluster_cidrs),
                short_circuit_host=True,
            )
        else:
            external = ExternalPath(Policy.CLUSTER, cluster, True, False, False)

    fw = firewall_sources(info, node_ips)
    ext_route = Route.EXTERNAL if external is not None else None
    frontends = [
        Frontend(
            FrontendKind.CLUSTER_IP,
            info.cluster_ip,
            info.port,
            info.protocol,
            Route.INTERNAL if internal is not None else None,
            internal_verdict,
        )
    ]
    frontends += [
        Frontend(
            FrontendKind.EXTERNAL_IP, ip, info.port, info.protocol, ext_route, external_verdict
        )
        for ip in info.external_ips
    ]
    frontends += [
        Frontend(
            FrontendKind.LOAD_BALANCER,
            ip,
            info.port,
            info.protocol,
            ext_route,
            external_verdict,
            firewall=fw is not None,
        )
        for ip in info.load_balancer_vips
    ]
    if info.node_port:
        frontends.append(
            Frontend(
                FrontendKind.NODE_PORT,
                None,
                info.node_port,
                info.protocol,
                ext_route,
                external_verdict,
            )
        )
    return ServicePlan(
        name=info.name,
        info=info,
        has_endpoints=has_any,
        cluster_endpoints=cluster,
        local_endpoints=local,
        endpoint_targets=categorized.all_reachable,
        internal=internal,
        external=external,
        frontends=tuple(frontends),
        firewall_sources=fw,
        affinity_seconds=info.sticky_max_age_seconds if info.client_ip_affinity else None,
    )


def plan_port(
    state: ProxyState, name: ServicePortName, options: PlanOptions | None = None
) -> ServicePlan | None:
    """Categorize and plan one port of ``state``; None when the port is unknown."""
    info = state.services.get(name)
    if info is None:
        return None
    opts = options or PlanOptions()
    categorized = categorize_endpoints(
        state.endpoints_for(name),
        info,
        state.node_name,
        state.node_labels,
        prefer_same_node=opts.prefer_same_node,
        require_hints_opt_in=opts.require_hints_opt_in,
    )
    return service_plan(info, categorized, state.node_ips, opts)


def plan_services(
    state: ProxyState,
    services: Iterable[ServiceName] | None = None,
    options: PlanOptions | None = None,
) -> dict[ServicePortName, ServicePlan]:
    """Plans for the ports of ``services`` (every Service when None), sorted by port name."""
    if services is None:
        names: Iterable[ServicePortName] = sorted(state.services)
    else:
        names = [spn for svc in sorted(set(services)) for spn in state.ports_of(svc)]
    plans = {}
    for spn in names:
        plan = plan_port(state, spn, options)
        if plan is not None:
            plans[spn] = plan
    return plans


# --- health check node ports --------------------------------------------------------------


class HealthCheckResponse(NamedTuple):
    status: int
    body: str


def health_check_node_ports(state: ProxyState) -> dict[ServiceName, int]:
    """Services needing a health check server, with its port (upstream ``HealthCheckNodePorts``)."""
    return {
        spn.service: info.health_check_node_port
        for spn, info in state.services.items()
        if info.health_check_node_port
    }


def local_ready_endpoint_counts(state: ProxyState) -> dict[ServiceName, int]:
    """Per Service, distinct IPs of Ready endpoints on this node (upstream ``LocalReadyEndpoints``).

    Counted by IP across all ports, so one pod serving two ports counts
    once; terminating endpoints never count (the health check must fail so
    load balancers drain the node).
    """
    ips: dict[ServiceName, set[str]] = {}
    for spn, eps in state.endpoints.items():
        for ep in eps:
            if ep.ready and ep.is_local:
                ips.setdefault(spn.service, set()).add(ep.ip)
    return {svc: len(found) for svc, found in ips.items()}


def health_check_response(
    service: ServiceName, local_endpoints: int, *, proxy_healthy: bool = True
) -> HealthCheckResponse:
    """The health check node port's answer: 200 with local endpoints and a healthy proxy, else 503.

    The body is upstream's, byte for byte (tab-indented JSON, no trailing newline).
    """
    status = 200 if local_endpoints and proxy_healthy else 503
    body = (
        "{\n"
        '\t"service": {\n'
        f'\t\t"namespace": {json.dumps(service.namespace)},\n'
        f'\t\t"name": {json.dumps(service.name)}\n'
        "\t},\n"
        f'\t"localEndpoints": {local_endpoints},\n'
        f'\t"serviceProxyHealthy": {"true" if proxy_healthy else "false"}\n'
        "}"
    )
    return HealthCheckResponse(status, body)


def health_check_headers(local_endpoints: int) -> Mapping[str, str]:
    """Upstream's response headers (the weight header lets LBs balance by local endpoints)."""
    return {
        "Content-Type": "application/json",
        "X-Content-Type-Options": "nosniff",
        "X-Load-Balancing-Endpoint-Weight": str(local_endpoints),
    }
