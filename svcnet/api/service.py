"""Service strategy: defaulting and validation (pure).

This is the part of upstream's Service rules needed to store Services with
their basic shape; allocation (ClusterIP, NodePort) and the full rule set
come with the control-plane work and extend this module.
"""

from __future__ import annotations

from typing import Any

from svcnet.api.validation import (
    FieldError,
    duplicate,
    invalid,
    is_dns1035_label,
    not_supported,
    required,
)

Obj = dict[str, Any]
TYPES = ["ClusterIP", "ExternalName", "LoadBalancer", "NodePort"]
PROTOCOLS = ["SCTP", "TCP", "UDP"]


def validate_name(name: str) -> list[str]:
    """Upstream: Service names are DNS-1035 labels."""
    return is_dns1035_label(name)


def default(obj: Obj) -> None:
    spec = obj.setdefault("spec", {})
    spec.setdefault("type", "ClusterIP")
    spec.setdefault("sessionAffinity", "None")
    for p in spec.get("ports") or []:
        if isinstance(p, dict):
            p.setdefault("protocol", "TCP")
            if "targetPort" not in p and "port" in p:
                p["targetPort"] = p["port"]
    if spec["type"] != "ExternalName":
        spec.setdefault("internalTrafficPolicy", "Cluster")
    if spec["type"] in ("NodePort", "LoadBalancer"):
        spec.setdefault("externalTrafficPolicy", "Cluster")


def validate(obj: Obj) -> list[FieldError]:
    spec = obj.get("spec") or {}
    errs: list[FieldError] = []
    stype = spec.get("type", "ClusterIP")
    if stype not in TYPES:
        errs.append(not_supported("spec.type", stype, TYPES))
    ports = spec.get("ports") or []
    if not ports and stype != "ExternalName" and spec.get("clusterIP") != "None":
        errs.append(required("spec.ports", ""))
    names: set[str] = set()
    seen: set[tuple[int, str]] = set()
    for i, p in enumerate(ports):
        path = f"spec.ports[{i}]"
        name = p.get("name", "")
        if len(ports) > 1 and not name:
            errs.append(required(f"{path}.name", ""))
        if name:
            if name in names:
                errs.append(duplicate(f"{path}.name", name))
            names.add(name)
        port = p.get("port")
        if port is None:
            errs.append(required(f"{path}.port", ""))
        elif not 1 <= port <= 65535:
            errs.append(invalid(f"{path}.port", port, "must be between 1 and 65535, inclusive"))
        proto = p.get("protocol", "TCP")
        if proto not in PROTOCOLS:
            errs.append(not_supported(f"{path}.protocol", proto, PROTOCOLS))
        if port is not None:
            if (port, proto) in seen:
                errs.append(duplicate(path, {"port": port, "protocol": proto}))
            seen.add((port, proto))
        tp = p.get("targetPort")
        if isinstance(tp, int) and not 1 <= tp <= 65535:
            errs.append(invalid(f"{path}.targetPort", tp, "must be between 1 and 65535, inclusive"))
    return errs


def validate_update(obj: Obj, old: Obj) -> list[FieldError]:
    return []


def validate_endpointslice(obj: Obj) -> list[FieldError]:
    at = obj.get("addressType")
    if not at:
        return [required("addressType", "")]
    if at not in ("IPv4", "IPv6", "FQDN"):
        return [not_supported("addressType", at, ["FQDN", "IPv4", "IPv6"])]
    return []
