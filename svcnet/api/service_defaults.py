"""Service defaulting: upstream's static defaults plus the registry's
update-time fix-ups.

Theory of operation: upstream fills a Service in four steps, reproduced in
`default_service` in the same order:

1. `set_defaults` (``SetDefaults_Service``): static defaults when the object
   is decoded (type, sessionAffinity, protocol, targetPort, traffic policies,
   allocateLoadBalancerNodePorts).
2. `patch_allocated_values` (update only, the registry's ``patchAllocatedValues``):
   values the server allocated and the client left out (clusterIP(s),
   nodePorts matched by port name, healthCheckNodePort) are kept from the
   stored object, so re-applying the same YAML is idempotent.
3. `normalize_cluster_ips` (``normalizeClusterIPs``): clusterIPs follows
   clusterIP for clients that only know the singular field.
4. `init_ip_family_fields` (svcnet.api.service_ipfamily): ipFamilyPolicy and
   ipFamilies from the cluster's families.
5. `drop_type_dependent_fields` (update only, the strategy's
   ``dropTypeDependentFields``): on a type change, fields the new type cannot
   use are cleared when the client did not change them.

Allocation (clusterIPs, nodePorts, healthCheckNodePort) is not done here;
it happens after validation, in the allocators.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from svcnet.api.service_config import (
    DEFAULT_CONFIG,
    TYPE_CLUSTER_IP,
    TYPE_LOAD_BALANCER,
    TYPE_NODE_PORT,
    Obj,
    ServiceConfig,
    cluster_ips,
    externally_accessible,
    needs_cluster_ip,
    needs_health_check,
    needs_node_port,
    node_ports,
)
from svcnet.api.service_ipfamily import init_ip_family_fields

DEFAULT_CLIENT_IP_TIMEOUT_SECONDS = 10800  # 3 hours, upstream's default


def _spec(svc: Obj) -> Obj:
    spec = svc.get("spec")
    if not isinstance(spec, dict):
        spec = svc["spec"] = {}
    return spec


def _dict_ports(spec: Mapping[str, Any]) -> list[Obj]:
    return [p for p in spec.get("ports") or [] if isinstance(p, dict)]


def _is_zero_target_port(tp: Any) -> bool:
    # Go: TargetPort == intstr.FromInt32(0) || == intstr.FromString("")
    return tp is None or tp == "" or (type(tp) is int and tp == 0)


def set_defaults(svc: Obj) -> None:
    """Upstream ``SetDefaults_Service``, in place."""
    spec = _spec(svc)
    if not spec.get("sessionAffinity"):
        spec["sessionAffinity"] = "None"
    if spec["sessionAffinity"] == "None":
        spec.pop("sessionAffinityConfig", None)
    elif spec["sessionAffinity"] == "ClientIP":
        config = spec.get("sessionAffinityConfig")
        client_ip = config.get("clientIP") if isinstance(config, dict) else None
        if not isinstance(client_ip, dict) or client_ip.get("timeoutSeconds") is None:
            spec["sessionAffinityConfig"] = {
                "clientIP": {"timeoutSeconds": DEFAULT_CLIENT_IP_TIMEOUT_SECONDS}
            }
    if not spec.get("type"):
        spec["type"] = TYPE_CLUSTER_IP
    for port in _dict_ports(spec):
        if not port.get("protocol"):
            port["protocol"] = "TCP"
        if _is_zero_target_port(port.get("targetPort")):
            port["targetPort"] = port.get("port", 0)
    if externally_accessible(spec) and not spec.get("externalTrafficPolicy"):
        spec["externalTrafficPolicy"] = "Cluster"
    if spec.get("internalTrafficPolicy") is None and spec["type"] in (
        TYPE_CLUSTER_IP,
        TYPE_NODE_PORT,
        TYPE_LOAD_BALANCER,
    ):
        spec["internalTrafficPolicy"] = "Cluster"
    if spec["type"] == TYPE_LOAD_BALANCER:
        if spec.get("allocateLoadBalancerNodePorts") is None:
            spec["allocateLoadBalancerNodePorts"] = True
        status = svc.get("status") or {}
        for ingress in (status.get("loadBalancer") or {}).get("ingress") or []:
            if isinstance(ingress, dict) and ingress.get("ip") and ingress.get("ipMode") is None:
                ingress["ipMode"] = "VIP"


def patch_allocated_values(spec: Obj, old: Mapping[str, Any]) -> None:
    """Keep server-allocated values the client omitted (upstream
    ``patchAllocatedValues``), in place."""
    if needs_cluster_ip(old) and needs_cluster_ip(spec):
        if not spec.get("clusterIP") and old.get("clusterIP"):
            spec["clusterIP"] = old["clusterIP"]
        if not cluster_ips(spec) and cluster_ips(old):
            spec["clusterIPs"] = cluster_ips(old)
    if needs_node_port(old) and needs_node_port(spec):
        used = node_ports(old) & node_ports(spec)
        by_name = {
            p.get("name", ""): p.get("nodePort") or 0
            for p in old.get("ports") or []
            if isinstance(p, dict)
        }
        for port in _dict_ports(spec):
            if not port.get("nodePort"):
                old_value = by_name.get(port.get("name", ""), 0)
                if old_value and old_value not in used:
                    port["nodePort"] = old_value
    if (
        needs_health_check(old)
        and needs_health_check(spec)
        and not spec.get("healthCheckNodePort")
        and old.get("healthCheckNodePort")
    ):
        spec["healthCheckNodePort"] = old["healthCheckNodePort"]


def normalize_cluster_ips(spec: Obj, old: Mapping[str, Any] | None) -> None:
    """Sync clusterIPs with clusterIP (upstream ``normalizeClusterIPs``).

    On create only the plural is filled from the singular: a client that
    sends clusterIPs must send clusterIP too (validation says so). On update a
    client that knows only the singular keeps, clears or replaces the plural
    through it.
    """
    new_ip = spec.get("clusterIP", "")
    if old is None:
        if new_ip and not cluster_ips(spec):
            spec["clusterIPs"] = [new_ip]
        return
    old_ip = old.get("clusterIP", "")
    if cluster_ips(old) and not cluster_ips(spec) and old_ip == new_ip:
        spec["clusterIPs"] = cluster_ips(old)
    if old_ip != new_ip and cluster_ips(old) == cluster_ips(spec):
        if old_ip and not new_ip:
            spec.pop("clusterIPs", None)
        else:
            spec["clusterIPs"] = [new_ip]


def drop_type_dependent_fields(svc: Obj, old_svc: Mapping[str, Any]) -> None:
    """On a type change, clear what the new type cannot use and the client
    did not change (upstream ``dropTypeDependentFields``), in place."""
    spec, old = _spec(svc), old_svc.get("spec") or {}
    if needs_cluster_ip(old) and not needs_cluster_ip(spec):
        if old.get("clusterIP", "") == spec.get("clusterIP", "") and cluster_ips(
            old
        ) == cluster_ips(spec):
            spec.pop("clusterIP", None)
            spec.pop("clusterIPs", None)
        if old.get("ipFamilies") == spec.get("ipFamilies"):
            spec.pop("ipFamilies", None)
        if (old.get("ipFamilyPolicy") or "") == (spec.get("ipFamilyPolicy") or ""):
            spec.pop("ipFamilyPolicy", None)
    if needs_node_port(old) and not needs_node_port(spec) and node_ports(spec) <= node_ports(old):
        for port in _dict_ports(spec):
            port.pop("nodePort", None)
    if (
        needs_health_check(old)
        and not needs_health_check(spec)
        and (old.get("healthCheckNodePort") or 0) == (spec.get("healthCheckNodePort") or 0)
    ):
        spec.pop("healthCheckNodePort", None)
    if old.get("type") == TYPE_LOAD_BALANCER and spec.get("type") != TYPE_LOAD_BALANCER:
        old_alloc, new_alloc = (
            old.get("allocateLoadBalancerNodePorts"),
            spec.get("allocateLoadBalancerNodePorts"),
        )
        if old_alloc is not None and new_alloc is not None and old_alloc == new_alloc:
            spec.pop("allocateLoadBalancerNodePorts", None)
        if old.get("loadBalancerClass") == spec.get("loadBalancerClass"):
            spec.pop("loadBalancerClass", None)
    if (
        externally_accessible(old)
        and not externally_accessible(spec)
        and (old.get("externalTrafficPolicy") or "") == (spec.get("externalTrafficPolicy") or "")
    ):
        spec.pop("externalTrafficPolicy", None)
    status = svc.get("status")
    if (
        spec.get("type") != TYPE_LOAD_BALANCER
        and isinstance(status, dict)
        and status.get("loadBalancer")
    ):
        status["loadBalancer"] = {}


def default_service(
    svc: Obj, old: Mapping[str, Any] | None = None, config: ServiceConfig = DEFAULT_CONFIG
) -> None:
    """Fill a Service's defaults in place, as upstream does before allocation.

    Args:
        svc: the Service being created or the new object of an update.
        old: the stored Service on update, None on create.
        config: the cluster's service CIDRs and NodePort range.
    """
    set_defaults(svc)
    spec = _spec(svc)
    old_spec = (old.get("spec") or {}) if old is not None else None
    if old_spec is not None:
        patch_allocated_values(spec, old_spec)
    normalize_cluster_ips(spec, old_spec)
    init_ip_family_fields(spec, old_spec, config)  # errors are validation's to report
    if old is not None:
        drop_type_dependent_fields(svc, old)
