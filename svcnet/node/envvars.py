"""Service environment variables for a pod (pure), as the kubelet writes them.

Upstream (kubelet `getServiceEnvVarMap` + `envvars.FromServices`): a pod sees
every Service of its own namespace that has a ClusterIP (headless and
ExternalName Services have none) when `enableServiceLinks` is true, and
always the master Service `kubernetes` of namespace `default`. Services are
taken in name order; for each one the variables are

  {SVC}_SERVICE_HOST, {SVC}_SERVICE_PORT (first port), {SVC}_SERVICE_PORT_{NAME}
  (named ports), and the Docker-links set {SVC}_PORT, {SVC}_PORT_{port}_{PROTO}
  with _PROTO, _PORT and _ADDR suffixes,

where {SVC} is the upper-cased name with '-' turned into '_'.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

MASTER_SERVICES = frozenset({"kubernetes"})
MASTER_NAMESPACE = "default"


def _env_name(s: str) -> str:
    return s.replace("-", "_").upper()


def _has_cluster_ip(svc: dict[str, Any]) -> bool:
    ip = (svc.get("spec") or {}).get("clusterIP", "")
    return bool(ip) and ip != "None"


def _host_port(ip: str, port: int) -> str:
    return f"[{ip}]:{port}" if ":" in ip else f"{ip}:{port}"


def visible_services(
    services: Iterable[dict[str, Any]], namespace: str, enable_service_links: bool = True
) -> list[dict[str, Any]]:
    """The Services whose variables a pod in ``namespace`` gets, in name order."""
    chosen: dict[str, dict[str, Any]] = {}
    for svc in services:
        if not _has_cluster_ip(svc):
            continue
        meta = svc.get("metadata") or {}
        name, ns = meta.get("name", ""), meta.get("namespace", "")
        if ns == MASTER_NAMESPACE and name in MASTER_SERVICES:
            chosen.setdefault(name, svc)
        elif ns == namespace and enable_service_links:
            chosen[name] = svc
    return [chosen[n] for n in sorted(chosen)]


def service_env(svc: dict[str, Any]) -> list[tuple[str, str]]:
    """The variables one Service contributes, in the kubelet's order."""
    spec = svc.get("spec") or {}
    ports = spec.get("ports") or []
    if not _has_cluster_ip(svc) or not ports:
        return []
    ip = spec["clusterIP"]
    prefix = _env_name((svc.get("metadata") or {}).get("name", ""))
    out = [(f"{prefix}_SERVICE_HOST", ip), (f"{prefix}_SERVICE_PORT", str(ports[0]["port"]))]
    for p in ports:
        if p.get("name"):
            out.append((f"{prefix}_SERVICE_PORT_{_env_name(p['name'])}", str(p["port"])))
    for i, p in enumerate(ports):
        proto = p.get("protocol") or "TCP"
        url = f"{proto.lower()}://{_host_port(ip, p['port'])}"
        if i == 0:
            out.append((f"{prefix}_PORT", url))
        pp = f"{prefix}_PORT_{p['port']}_{proto.upper()}"
        out += [
            (pp, url),
            (f"{pp}_PROTO", proto.lower()),
            (f"{pp}_PORT", str(p["port"])),
            (f"{pp}_ADDR", ip),
        ]
    return out


def service_env_vars(
    services: Iterable[dict[str, Any]], namespace: str, enable_service_links: bool = True
) -> list[tuple[str, str]]:
    """All Service variables for a pod (pod-declared env wins over these)."""
    out: list[tuple[str, str]] = []
    for svc in visible_services(services, namespace, enable_service_links):
        out += service_env(svc)
    return out
