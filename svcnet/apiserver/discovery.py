"""API discovery documents, computed from the kind registry (pure).

Serves both forms kubectl understands: the legacy per-group documents
(APIVersions, APIGroupList, APIGroup, APIResourceList) and aggregated
discovery (apidiscovery.k8s.io/v2 APIGroupDiscoveryList), which kubectl
>= 1.30 asks for first on /api and /apis.
"""

from __future__ import annotations

import hashlib
from typing import Any

from svcnet.api.registry import KindSpec, Registry

AGGREGATED_V2 = "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList"
AGGREGATED_V2BETA1 = "application/json;g=apidiscovery.k8s.io;v=v2beta1;as=APIGroupDiscoveryList"

_SUB_VERBS = {
    "status": ["get", "patch", "update"],
    "scale": ["get", "patch", "update"],
    "log": ["get"],
    "binding": ["create"],
    "eviction": ["create"],
    "finalize": ["update"],
}


def _sub_kind(spec: KindSpec, sub: str) -> tuple[str, str, str]:
    if sub == "scale":
        return "autoscaling", "v1", "Scale"
    if sub == "binding":
        return "", "v1", "Binding"
    if sub == "eviction":
        return "policy", "v1", "Eviction"
    return spec.group, spec.version, spec.kind


def _hash(spec: KindSpec) -> str:
    raw = f"{spec.group}/{spec.version}/{spec.kind}".encode()
    return hashlib.sha256(raw).digest()[:8].hex()


def api_versions(server_address: str) -> dict[str, Any]:
    return {
        "kind": "APIVersions",
        "versions": ["v1"],
        "serverAddressByClientCIDRs": [
            {"clientCIDR": "0.0.0.0/0", "serverAddress": server_address}
        ],
    }


def api_group(name: str, versions: list[str]) -> dict[str, Any]:
    vs = [{"groupVersion": f"{name}/{v}", "version": v} for v in versions]
    return {
        "kind": "APIGroup",
        "apiVersion": "v1",
        "name": name,
        "versions": vs,
        "preferredVersion": vs[0],
    }


def api_group_list(registry: Registry) -> dict[str, Any]:
    groups = [
        {k: v for k, v in api_group(name, versions).items() if k not in ("kind", "apiVersion")}
        for name, versions in sorted(registry.groups().items())
        if name
    ]
    return {"kind": "APIGroupList", "apiVersion": "v1", "groups": groups}


def resource_list(registry: Registry, group: str, version: str) -> dict[str, Any] | None:
    specs = registry.in_group_version(group, version)
    if not specs:
        return None
    resources: list[dict[str, Any]] = []
    for s in specs:
        r: dict[str, Any] = {
            "name": s.plural,
            "singularName": s.singular,
            "namespaced": s.namespaced,
            "kind": s.kind,
            "verbs": sorted(s.verbs),
            "storageVersionHash": _hash(s),
        }
        if s.short_names:
            r["shortNames"] = list(s.short_names)
        if s.categories:
            r["categories"] = list(s.categories)
        resources.append(r)
        for sub in sorted(s.subresources):
            g, v, k = _sub_kind(s, sub)
            sr: dict[str, Any] = {
                "name": f"{s.plural}/{sub}",
                "singularName": "",
                "namespaced": s.namespaced,
                "kind": k,
                "verbs": _SUB_VERBS.get(sub, ["get"]),
            }
            if g != s.group or v != s.version:
                sr["group"], sr["version"] = g, v
            resources.append(sr)
    gv = f"{group}/{version}" if group else version
    return {
        "kind": "APIResourceList",
        "apiVersion": "v1",
        "groupVersion": gv,
        "resources": resources,
    }


def _aggregated_version(registry: Registry, group: str, version: str) -> dict[str, Any]:
    resources = []
    for s in registry.in_group_version(group, version):
        r: dict[str, Any] = {
            "resource": s.plural,
            "responseKind": {"group": s.group, "version": s.version, "kind": s.kind},
            "scope": "Namespaced" if s.namespaced else "Cluster",
            "singularResource": s.singular,
            "verbs": sorted(s.verbs),
        }
        if s.short_names:
            r["shortNames"] = list(s.short_names)
        if s.categories:
            r["categories"] = list(s.categories)
        subs = []
        for sub in sorted(s.subresources):
            g, v, k = _sub_kind(s, sub)
            subs.append(
                {
                    "subresource": sub,
                    "responseKind": {"group": g, "version": v, "kind": k},
                    "verbs": _SUB_VERBS.get(sub, ["get"]),
                }
            )
        if subs:
            r["subresources"] = subs
        resources.append(r)
    return {"version": version, "resources": resources, "freshness": "Current"}


def aggregated(registry: Registry, legacy: bool, api_version: str) -> dict[str, Any]:
    """APIGroupDiscoveryList for /api (legacy=True) or /apis."""
    items = []
    for name, versions in sorted(registry.groups().items()):
        if (name == "") != legacy:
            continue
        items.append(
            {
                "metadata": {"name": name} if name else {},
                "versions": [_aggregated_version(registry, name, v) for v in versions],
            }
        )
    return {
        "kind": "APIGroupDiscoveryList",
        "apiVersion": api_version,
        "metadata": {},
        "items": items,
    }


def negotiate_aggregated(accept: str) -> str | None:
    """The aggregated media type the client accepts, if any (v2 preferred)."""
    if "as=APIGroupDiscoveryList" not in accept:
        return None
    for part in accept.split(","):
        p = part.replace(" ", "")
        if "as=APIGroupDiscoveryList" in p and "v=v2beta1" not in p and "v=v2" in p:
            return AGGREGATED_V2
    for part in accept.split(","):
        if "v=v2beta1" in part and "as=APIGroupDiscoveryList" in part:
            return AGGREGATED_V2BETA1
    return None
