"""Cluster configuration for Service rules, and the small predicates they share.

Theory of operation: some Service rules depend on how the cluster is set
up, not only on the object: which IP families exist and in which order
(``--service-cluster-ip-range``), which CIDR each family allocates from, and
the NodePort range (``--service-node-port-range``). `ServiceConfig` carries
exactly that, frozen, so the pure defaulting and validation functions take it
as an argument; the API server binds its own instance once (e.g. with
``functools.partial``).

The helpers below read a Service (a plain JSON dict) with Go's zero-value
semantics: an absent string is ``""``, an absent list is empty, an absent
pointer is ``None``. IPs are parsed the way Go's ``netutils.ParseIPSloppy``
does, and an IPv4-mapped IPv6 address counts as IPv4 (Go's ``To4() != nil``).

Invariants: ``ServiceConfig.cidrs`` holds one CIDR, or two of different
families; ``families[0]`` is the primary family (that of ``cidrs[0]``).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cached_property
from typing import Any, Final

from svcnet.api.validation import parse_ip_sloppy

Obj = dict[str, Any]
IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

IPV4: Final = "IPv4"
IPV6: Final = "IPv6"
CLUSTER_IP_NONE: Final = "None"
SINGLE_STACK: Final = "SingleStack"
PREFER_DUAL_STACK: Final = "PreferDualStack"
REQUIRE_DUAL_STACK: Final = "RequireDualStack"

TYPE_CLUSTER_IP: Final = "ClusterIP"
TYPE_NODE_PORT: Final = "NodePort"
TYPE_LOAD_BALANCER: Final = "LoadBalancer"
TYPE_EXTERNAL_NAME: Final = "ExternalName"

# Sorted, as upstream lists supported values (sets.List).
SERVICE_TYPES: Final = (TYPE_CLUSTER_IP, TYPE_EXTERNAL_NAME, TYPE_LOAD_BALANCER, TYPE_NODE_PORT)
PROTOCOLS: Final = ("SCTP", "TCP", "UDP")
IP_FAMILIES: Final = (IPV4, IPV6)
IP_FAMILY_POLICIES: Final = (PREFER_DUAL_STACK, REQUIRE_DUAL_STACK, SINGLE_STACK)


def go_ip(value: str) -> IPAddress | None:
    """An IP as Go sees it: sloppy parse, IPv4-mapped IPv6 unwrapped to IPv4."""
    ip = parse_ip_sloppy(value)
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    return ip


def family_of(value: str) -> str:
    """``IPv4``, ``IPv6``, or ``unknown`` for a non-IP (upstream ``familyOf``)."""
    ip = go_ip(value)
    if ip is None:
        return "unknown"
    return IPV4 if ip.version == 4 else IPV6


def other_family(family: str) -> str:
    return IPV6 if family == IPV4 else IPV4


@dataclass(frozen=True)
class ServiceConfig:
    """The cluster settings Service rules depend on.

    Args:
        cidrs: service CIDRs, primary first (``--service-cluster-ip-range``);
            one, or two of different families for a dual-stack cluster.
        node_port_range: inclusive NodePort range (``--service-node-port-range``).

    Raises:
        ValueError: on an unparsable CIDR, more than two CIDRs, two of one
            family, or an empty or out-of-bounds port range.
    """

    cidrs: tuple[str, ...] = ("10.96.0.0/16",)
    node_port_range: tuple[int, int] = (30000, 32767)

    def __post_init__(self) -> None:
        nets = self.networks
        if not 1 <= len(nets) <= 2:
            raise ValueError(f"expected one or two service CIDRs, got {len(nets)}")
        if len(nets) == 2 and nets[0].version == nets[1].version:
            raise ValueError("two service CIDRs must be of different IP families")
        lo, hi = self.node_port_range
        if not 1 <= lo <= hi <= 65535:
            raise ValueError(f"invalid node port range {lo}-{hi}")

    @cached_property
    def networks(self) -> tuple[IPNetwork, ...]:
        """The CIDRs parsed (host bits allowed, as Go's ParseCIDR does)."""
        return tuple(ipaddress.ip_network(c, strict=False) for c in self.cidrs)

    @cached_property
    def families(self) -> tuple[str, ...]:
        """Configured IP families, primary first."""
        return tuple(IPV4 if n.version == 4 else IPV6 for n in self.networks)

    @property
    def dual_stack(self) -> bool:
        return len(self.cidrs) == 2

    def network_for(self, family: str) -> IPNetwork | None:
        """The CIDR that allocates ``family``, or None if not configured."""
        for fam, net in zip(self.families, self.networks, strict=True):
            if fam == family:
                return net
        return None

    def node_port_range_text(self) -> str:
        """As upstream's ``PortRange.String()``: ``30000-32767``."""
        return f"{self.node_port_range[0]}-{self.node_port_range[1]}"


DEFAULT_CONFIG: Final = ServiceConfig()


# --------------------------------------------------------------------------
# Reading a Service with Go zero values


def spec_of(svc: Mapping[str, Any] | None) -> Mapping[str, Any]:
    return ((svc or {}).get("spec")) or {}


def cluster_ips(spec: Mapping[str, Any]) -> list[str]:
    return list(spec.get("clusterIPs") or [])


def ip_families(spec: Mapping[str, Any]) -> list[str]:
    return list(spec.get("ipFamilies") or [])


def ports_of(spec: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    return [p if isinstance(p, Mapping) else {} for p in spec.get("ports") or []]


def is_headless(spec: Mapping[str, Any]) -> bool:
    """Upstream ``isHeadlessService``: clusterIPs is exactly ``["None"]``."""
    return cluster_ips(spec) == [CLUSTER_IP_NONE]


def externally_accessible(spec: Mapping[str, Any]) -> bool:
    """Upstream ``ExternallyAccessible``: NodePort, LoadBalancer, or
    ClusterIP with externalIPs."""
    stype = spec.get("type", "")
    return stype in (TYPE_LOAD_BALANCER, TYPE_NODE_PORT) or (
        stype == TYPE_CLUSTER_IP and bool(spec.get("externalIPs"))
    )


def needs_health_check(spec: Mapping[str, Any]) -> bool:
    """Upstream ``NeedsHealthCheck``: LoadBalancer with externalTrafficPolicy Local."""
    return spec.get("type") == TYPE_LOAD_BALANCER and spec.get("externalTrafficPolicy") == "Local"


def needs_cluster_ip(spec: Mapping[str, Any]) -> bool:
    return spec.get("type") != TYPE_EXTERNAL_NAME


def needs_node_port(spec: Mapping[str, Any]) -> bool:
    return spec.get("type") in (TYPE_NODE_PORT, TYPE_LOAD_BALANCER)


def node_ports(spec: Mapping[str, Any]) -> set[int]:
    """Every non-zero nodePort of the Service."""
    return {p.get("nodePort") or 0 for p in ports_of(spec)} - {0}
