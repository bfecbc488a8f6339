"""Service validation with upstream's rules, field paths and messages.

Theory of operation: `validate_service` reproduces what kube-apiserver
reports for a Service, in upstream's order and with its bail-outs:

1. The registry's IP-family initialisation (`init_ip_family_fields`): if the
   cluster cannot serve the requested clusterIPs / ipFamilies / policy, only
   those errors are reported.
2. The allocator's range checks: requested clusterIPs in their family's
   CIDR, requested nodePorts in the NodePort range. Upstream finds these
   while allocating; svcnet validates before allocating, so they are checked
   here, with the allocator's wording, and only for values not already held
   by the old object.
3. On update, upstream ``ValidateServiceUpdate``'s transition rules.
4. Upstream ``ValidateService`` (metadata excepted: the API machinery
   validates ObjectMeta with `svcnet.api.service.validate_name`).

The input is a defaulted Service (`svcnet.api.service_defaults`); nothing
here mutates it. One upstream check is dropped because svcnet validates
before allocating: a LoadBalancer with externalTrafficPolicy Local may omit
healthCheckNodePort (the allocator fills it).
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any, Final

from svcnet.api.service_config import (
    DEFAULT_CONFIG,
    PROTOCOLS,
    SERVICE_TYPES,
    TYPE_CLUSTER_IP,
    TYPE_EXTERNAL_NAME,
    TYPE_LOAD_BALANCER,
    TYPE_NODE_PORT,
    ServiceConfig,
    cluster_ips,
    externally_accessible,
    ip_families,
    is_headless,
    needs_health_check,
    needs_node_port,
    node_ports,
    ports_of,
    spec_of,
)
from svcnet.api.service_endpoints import validate_endpoint_ip
from svcnet.api.service_ipfamily import (
    init_ip_family_fields,
    validate_cluster_ips_in_range,
    validate_cluster_ips_related_fields,
    validate_upgrade_downgrade,
)
from svcnet.api.validation import (
    FIELD_IMMUTABLE,
    FieldError,
    Path,
    duplicate,
    forbidden,
    invalid,
    is_dns1123_label,
    is_dns1123_subdomain,
    is_qualified_name,
    is_valid_cidr,
    is_valid_ip,
    is_valid_port_name,
    is_valid_port_num,
    not_supported,
    required,
    validate_labels,
)

SPEC: Final = Path("spec")
ANNOTATIONS: Final = Path("metadata").child("annotations")
SESSION_AFFINITIES: Final = ("ClientIP", "None")
TRAFFIC_POLICIES: Final = ("Cluster", "Local")
# PreferSameZone / PreferSameNode need the PreferSameTrafficDistribution
# feature, off by default in v1.33 (the API version svcnet serves).
TRAFFIC_DISTRIBUTIONS: Final = ("PreferClose",)
MAX_CLIENT_IP_TIMEOUT_SECONDS: Final = 86400
TOPOLOGY_MODE_ANNOTATION: Final = "service.kubernetes.io/topology-mode"
TOPOLOGY_HINTS_ANNOTATION: Final = "service.kubernetes.io/topology-aware-hints"
SOURCE_RANGES_ANNOTATION: Final = "service.beta.kubernetes.io/load-balancer-source-ranges"
ONLY_LOAD_BALANCER: Final = "may only be used when `type` is 'LoadBalancer'"


# --------------------------------------------------------------------------
# Pieces of ValidateService


def _port_num_or_name(value: Any, path: Path) -> list[FieldError]:
    """Upstream ``ValidatePortNumOrName`` for an IntOrString."""
    if isinstance(value, str):
        return [invalid(path, value, m) for m in is_valid_port_name(value)]
    number = value or 0
    return [invalid(path, number, m) for m in is_valid_port_num(number)]


def validate_service_port(
    port: Mapping[str, Any], require_name: bool, names: set[str], path: Path
) -> list[FieldError]:
    """Upstream ``validateServicePort``."""
    errs: list[FieldError] = []
    name = port.get("name") or ""
    if require_name and not name:
        errs.append(required(path.child("name")))
    elif name:
        errs += [invalid(path.child("name"), name, m) for m in is_dns1123_label(name)]
        if name in names:
            errs.append(duplicate(path.child("name"), name))
        names.add(name)
    number = port.get("port") or 0
    errs += [invalid(path.child("port"), number, m) for m in is_valid_port_num(number)]
    proto = port.get("protocol") or ""
    if not proto:
        errs.append(required(path.child("protocol")))
    elif proto not in PROTOCOLS:
        errs.append(not_supported(path.child("protocol"), proto, PROTOCOLS))
    errs += _port_num_or_name(port.get("targetPort"), path.child("targetPort"))
    if port.get("appProtocol") is not None:
        app = port["appProtocol"]
        errs += [invalid(path.child("appProtocol"), app, m) for m in is_qualified_name(app)]
    return errs


def _type_rules(spec: Mapping[str, Any]) -> list[FieldError]:
    stype = spec.get("type")
    if stype in (TYPE_LOAD_BALANCER, TYPE_NODE_PORT):
        if is_headless(spec):
            return [
                invalid(
                    SPEC.child("clusterIPs").index(0),
                    "None",
                    f"may not be set to 'None' for {stype} services",
                )
            ]
        return []
    if stype != TYPE_EXTERNAL_NAME:
        return []
    errs: list[FieldError] = []
    for key, present in (
        ("clusterIPs", bool(cluster_ips(spec))),
        ("ipFamilies", bool(ip_families(spec))),
        ("ipFamilyPolicy", spec.get("ipFamilyPolicy") is not None),
    ):
        if present:
            errs.append(forbidden(SPEC.child(key), "may not be set for ExternalName services"))
    # The value (a CNAME) may end with a dot, marking it fully qualified.
    cname = (spec.get("externalName") or "").removesuffix(".")
    if cname:
        errs += [invalid(SPEC.child("externalName"), cname, m) for m in is_dns1123_subdomain(cname)]
    else:
        errs.append(required(SPEC.child("externalName")))
    return errs


def _session_affinity(spec: Mapping[str, Any]) -> list[FieldError]:
    affinity = spec.get("sessionAffinity") or ""
    path = SPEC.child("sessionAffinityConfig")
    if not affinity:
        return [required(SPEC.child("sessionAffinity"))]
    if affinity not in SESSION_AFFINITIES:
        return [not_supported(SPEC.child("sessionAffinity"), affinity, SESSION_AFFINITIES)]
    config = spec.get("sessionAffinityConfig")
    if affinity == "None":
        if config is not None:
            return [forbidden(path, "must not be set when session affinity is None")]
        return []
    why = "when session affinity type is ClientIP"
    if config is None:
        return [required(path, why)]
    client_ip = config.get("clientIP")
    if client_ip is None:
        return [required(path.child("clientIP"), why)]
    timeout = client_ip.get("timeoutSeconds")
    timeout_path = path.child("clientIP", "timeoutSeconds")
    if timeout is None:
        return [required(timeout_path, why)]
    if not 0 < timeout <= MAX_CLIENT_IP_TIMEOUT_SECONDS:
        # Upstream's wording, although 86400 itself is allowed.
        detail = f"must be greater than 0 and less than {MAX_CLIENT_IP_TIMEOUT_SECONDS}"
        return [invalid(timeout_path, timeout, detail)]
    return []


def _ports_uniqueness(spec: Mapping[str, Any]) -> list[FieldError]:
    errs: list[FieldError] = []
    ports_path = SPEC.child("ports")
    if spec.get("type") == TYPE_CLUSTER_IP:
        errs += [
            forbidden(
                ports_path.index(i).child("nodePort"), "may not be used when `type` is 'ClusterIP'"
            )
            for i, port in enumerate(ports_of(spec))
            if port.get("nodePort")
        ]
    seen_node_ports: set[tuple[str, int]] = set()
    for i, port in enumerate(ports_of(spec)):
        node_port = port.get("nodePort") or 0
        if not node_port:
            continue
        key = (port.get("protocol") or "", node_port)
        if key in seen_node_ports:
            errs.append(duplicate(ports_path.index(i).child("nodePort"), node_port))
        seen_node_ports.add(key)
    seen_ports: set[tuple[str, int]] = set()
    for i, port in enumerate(ports_of(spec)):
        proto, number = port.get("protocol") or "", port.get("port") or 0
        if (proto, number) in seen_ports:
            errs.append(duplicate(ports_path.index(i), {"port": number, "protocol": proto}))
        seen_ports.add((proto, number))
    return errs


def _source_ranges(svc: Mapping[str, Any], spec: Mapping[str, Any]) -> list[FieldError]:
    errs: list[FieldError] = []
    is_lb = spec.get("type") == TYPE_LOAD_BALANCER
    ranges = spec.get("loadBalancerSourceRanges") or []
    annotations = (svc.get("metadata") or {}).get("annotations") or {}
    if ranges:
        path = SPEC.child("LoadBalancerSourceRanges")  # sic: upstream's capital L
        if not is_lb:
            errs.append(forbidden(path, ONLY_LOAD_BALANCER))
        for i, value in enumerate(ranges):
            # Space padding is allowed, a leftover from the annotation form.
            value = value.strip()
            errs += [invalid(path.index(i), value, m) for m in is_valid_cidr(value)]
    elif SOURCE_RANGES_ANNOTATION in annotations:
        path = ANNOTATIONS.key(SOURCE_RANGES_ANNOTATION)
        if not is_lb:
            errs.append(forbidden(path, ONLY_LOAD_BALANCER))
        value = annotations[SOURCE_RANGES_ANNOTATION].strip()
        for cidr in value.split(",") if value else []:
            cidr = cidr.strip()
            errs += [invalid(path, cidr, m) for m in is_valid_cidr(cidr)]
    return errs


def _load_balancer_fields(spec: Mapping[str, Any]) -> list[FieldError]:
    errs: list[FieldError] = []
    is_lb = spec.get("type") == TYPE_LOAD_BALANCER
    allocate = spec.get("allocateLoadBalancerNodePorts")
    if allocate is not None and not is_lb:
        errs.append(forbidden(SPEC.child("allocateLoadBalancerNodePorts"), ONLY_LOAD_BALANCER))
    if is_lb and allocate is None:
        errs.append(required("allocateLoadBalancerNodePorts"))  # sic: upstream omits "spec."
    lb_class = spec.get("loadBalancerClass")
    class_path = SPEC.child("loadBalancerClass")
    if is_lb and lb_class is not None:
        errs += [invalid(class_path, lb_class, m) for m in is_qualified_name(lb_class)]
    elif lb_class is not None:
        errs.append(forbidden(class_path, ONLY_LOAD_BALANCER))
    return errs


def _traffic_policies(spec: Mapping[str, Any]) -> list[FieldError]:
    errs: list[FieldError] = []
    etp = spec.get("externalTrafficPolicy") or ""
    etp_path = SPEC.child("externalTrafficPolicy")
    if not externally_accessible(spec):
        if etp:
            errs.append(
                invalid(etp_path, etp, "may only be set for externally-accessible services")
            )
    elif not etp:
        errs.append(required(etp_path))
    elif etp not in TRAFFIC_POLICIES:
        errs.append(not_supported(etp_path, etp, TRAFFIC_POLICIES))

    hc = spec.get("healthCheckNodePort") or 0
    hc_path = SPEC.child("healthCheckNodePort")
    if not needs_health_check(spec):
        if hc:
            errs.append(
                invalid(
                    hc_path,
                    hc,
                    "may only be set when `type` is 'LoadBalancer' and "
                    "`externalTrafficPolicy` is 'Local'",
                )
            )
    elif hc:  # 0 is left for the allocator to fill
        errs += [invalid(hc_path, hc, m) for m in is_valid_port_num(hc)]

    itp = spec.get("internalTrafficPolicy")
    itp_path = SPEC.child("internalTrafficPolicy")
    if itp is None:
        # Other types are not checked, for objects stored before the field existed.
        if spec.get("type") in (TYPE_CLUSTER_IP, TYPE_NODE_PORT, TYPE_LOAD_BALANCER):
            errs.append(required(itp_path))
    elif itp not in TRAFFIC_POLICIES:
        errs.append(not_supported(itp_path, itp, TRAFFIC_POLICIES))

    distribution = spec.get("trafficDistribution")
    if distribution is not None and distribution not in TRAFFIC_DISTRIBUTIONS:
        errs.append(
            not_supported(SPEC.child("trafficDistribution"), distribution, TRAFFIC_DISTRIBUTIONS)
        )
    return errs


def validate_service_spec(svc: Mapping[str, Any]) -> list[FieldError]:
    """Upstream ``ValidateService`` without ``ValidateObjectMeta``."""
    spec = spec_of(svc)
    errs: list[FieldError] = []
    annotations = (svc.get("metadata") or {}).get("annotations") or {}
    mode, hints = (
        annotations.get(TOPOLOGY_MODE_ANNOTATION),
        annotations.get(TOPOLOGY_HINTS_ANNOTATION),
    )
    if mode is not None and hints is not None and mode != hints:
        errs.append(
            invalid(
                ANNOTATIONS.key(TOPOLOGY_MODE_ANNOTATION),
                mode,
                f"must match annotations[{TOPOLOGY_HINTS_ANNOTATION}] when both are specified",
            )
        )

    ports = ports_of(spec)
    if not ports and not is_headless(spec) and spec.get("type") != TYPE_EXTERNAL_NAME:
        errs.append(required(SPEC.child("ports")))
    errs += _type_rules(spec)
    names: set[str] = set()
    for i, port in enumerate(ports):
        errs += validate_service_port(port, len(ports) > 1, names, SPEC.child("ports").index(i))
    if spec.get("selector") is not None:
        errs += validate_labels(spec["selector"], SPEC.child("selector"))
    errs += _session_affinity(spec)
    errs += validate_cluster_ips_related_fields(spec)

    for i, ip in enumerate(spec.get("externalIPs") or []):
        path = SPEC.child("externalIPs").index(i)
        msgs = is_valid_ip(ip)
        errs += [invalid(path, ip, m) for m in msgs] if msgs else validate_endpoint_ip(ip, path)

    stype = spec.get("type") or ""
    if not stype:
        errs.append(required(SPEC.child("type")))
    elif stype not in SERVICE_TYPES:
        errs.append(not_supported(SPEC.child("type"), stype, SERVICE_TYPES))

    errs += _ports_uniqueness(spec)
    errs += _source_ranges(svc, spec)
    errs += _load_balancer_fields(spec)
    return errs + _traffic_policies(spec)


# --------------------------------------------------------------------------
# Update rules and the allocator's pre-checks


def validate_transitions(spec: Mapping[str, Any], old: Mapping[str, Any]) -> list[FieldError]:
    """Upstream ``ValidateServiceUpdate``'s own rules (without ValidateService)."""
    errs = validate_upgrade_downgrade(spec, old)
    if (
        spec.get("type") == TYPE_LOAD_BALANCER
        and old.get("type") == TYPE_LOAD_BALANCER
        and spec.get("loadBalancerClass") != old.get("loadBalancerClass")
    ):
        errs.append(
            invalid(
                SPEC.child("loadBalancerClass"),
                spec.get("loadBalancerClass"),
                "may not change once set",
            )
        )
    if (
        needs_health_check(old)
        and needs_health_check(spec)
        and (spec.get("healthCheckNodePort") or 0) != (old.get("healthCheckNodePort") or 0)
    ):
        errs.append(forbidden(SPEC.child("healthCheckNodePort"), FIELD_IMMUTABLE))
    return errs


def validate_node_ports_in_range(
    spec: Mapping[str, Any], old: Mapping[str, Any] | None, config: ServiceConfig
) -> list[FieldError]:
    """Requested nodePorts (and healthCheckNodePort) must lie in the NodePort
    range (the port allocator's ``ErrNotInRange``); ports the old object
    already holds are not re-checked."""
    lo, hi = config.node_port_range
    not_in_range = (
        "provided port is not in the valid range. "
        f"The range of valid ports is {config.node_port_range_text()}"
    )
    held = node_ports(old) if old is not None and needs_node_port(old) else set()
    errs: list[FieldError] = []
    if needs_node_port(spec):
        for i, port in enumerate(ports_of(spec)):
            node_port = port.get("nodePort") or 0
            if node_port and node_port not in held and not lo <= node_port <= hi:
                errs.append(
                    invalid(SPEC.child("ports").index(i).child("nodePort"), node_port, not_in_range)
                )
    hc = spec.get("healthCheckNodePort") or 0
    old_hc = (old.get("healthCheckNodePort") or 0) if old is not None else 0
    if needs_health_check(spec) and hc and hc != old_hc and 1 <= hc <= 65535 and not lo <= hc <= hi:
        detail = f"failed to allocate requested HealthCheck NodePort {hc}: {not_in_range}"
        errs.append(invalid(SPEC.child("healthCheckNodePort"), hc, detail))
    return errs


def validate_service(
    svc: Mapping[str, Any],
    config: ServiceConfig = DEFAULT_CONFIG,
    old: Mapping[str, Any] | None = None,
) -> list[FieldError]:
    """Everything upstream reports for a Service create (``old`` None) or
    update (``old`` the stored object), ObjectMeta excepted.

    Args:
        svc: the defaulted Service.
        config: the cluster's service CIDRs and NodePort range.
        old: the stored Service on update.
    """
    spec = spec_of(svc)
    old_spec = spec_of(old) if old is not None else None
    if errs := init_ip_family_fields(copy.deepcopy(dict(spec)), old_spec, config):
        return errs
    errs = validate_cluster_ips_in_range(spec, old_spec, config)
    errs += validate_node_ports_in_range(spec, old_spec, config)
    if errs:
        return errs
    if old_spec is not None:
        errs = validate_transitions(spec, old_spec)
    return errs + validate_service_spec(svc)
