"""The built-in kinds svcnet serves, as `KindSpec` declarations.

Each kind is data: names and scope as upstream's discovery shows them, its
schema (svcnet.api.types), its table printer, its strategy (prepare,
default, validate) and its selectable fields. Strategies here implement the
upstream rules needed by every kind (status reset on create, namespace
finalizers, pod graceful deletion, workload selector checks); the
Service-specific rules live in `svcnet.api.service`.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from functools import partial
from typing import Any

from svcnet.api import pods as podrules
from svcnet.api import service as svcrules
from svcnet.api import workloads
from svcnet.api.printers import PRINTERS
from svcnet.api.registry import KindSpec, Obj, Registry
from svcnet.api.types import ROOTS
from svcnet.api.validation import is_dns1123_label, is_dns1123_subdomain

ALL = ("all",)


def _meta(obj: Obj) -> dict[str, Any]:
    return obj.setdefault("metadata", {})


def _reset_status(status: dict[str, Any] | None = None) -> Callable[[Obj], None]:
    """Upstream PrepareForCreate: clients cannot set status on create. The
    reset value is what Go serialises for an empty status struct (e.g.
    Service -> {"loadBalancer": {}}, Deployment -> {})."""

    def prepare(obj: Obj) -> None:
        obj["status"] = copy.deepcopy(status or {})

    return prepare


# ------------------------------------------------------------ namespaces
def _ns_prepare_create(obj: Obj) -> None:
    obj["status"] = {"phase": "Active"}
    obj.setdefault("spec", {})["finalizers"] = ["kubernetes"]


def _ns_default(obj: Obj) -> None:
    meta = _meta(obj)
    meta.setdefault("labels", {})["kubernetes.io/metadata.name"] = meta.get("name", "")


def _ns_prepare_update(obj: Obj, old: Obj) -> None:
    # Only the finalize subresource may change spec.finalizers (upstream).
    obj["spec"] = dict(old.get("spec") or {})


def _ns_before_delete(obj: Obj, now: Any) -> None:
    obj.setdefault("status", {})["phase"] = "Terminating"


def _ns_pending(obj: Obj) -> bool:
    return bool((obj.get("spec") or {}).get("finalizers"))


def _ensure_spec(obj: Obj) -> None:
    """Go serialises a non-pointer spec struct even when empty (``"spec": {}``)."""
    obj.setdefault("spec", {})


# --------------------------------------------------------------- secrets
def _secret_default(obj: Obj) -> None:
    obj.setdefault("type", "Opaque")
    string_data = obj.pop("stringData", None) or {}
    if string_data:
        import base64

        data = obj.setdefault("data", {})
        for k, v in string_data.items():
            data[k] = base64.b64encode(str(v).encode()).decode()


# -------------------------------------------------------------- fields
def _pod_fields(obj: Obj) -> dict[str, str]:
    spec = obj.get("spec") or {}
    st = obj.get("status") or {}
    return {
        "spec.nodeName": spec.get("nodeName", ""),
        "spec.restartPolicy": spec.get("restartPolicy", ""),
        "spec.schedulerName": spec.get("schedulerName", ""),
        "spec.serviceAccountName": spec.get("serviceAccountName", ""),
        "spec.hostNetwork": str(bool(spec.get("hostNetwork", False))).lower(),
        "status.phase": st.get("phase", ""),
        "status.podIP": st.get("podIP", ""),
        "status.nominatedNodeName": st.get("nominatedNodeName", ""),
    }


def _event_fields(obj: Obj) -> dict[str, str]:
    io = obj.get("involvedObject") or {}
    src = obj.get("source") or {}
    out = {
        f"involvedObject.{k}": str(io.get(k, ""))
        for k in ("kind", "namespace", "name", "uid", "apiVersion", "resourceVersion", "fieldPath")
    }
    out.update(
        {
            "reason": obj.get("reason", ""),
            "reportingComponent": obj.get("reportingComponent", ""),
            "source": src.get("component", ""),
            "type": obj.get("type", ""),
        }
    )
    return out


def _simple_fields(**paths: str):
    def fields(obj: Obj) -> dict[str, str]:
        out = {}
        for name, path in paths.items():
            cur: Any = obj
            for part in path.split("."):
                cur = cur.get(part) if isinstance(cur, dict) else None
            out[name] = (
                "" if cur is None else (str(cur).lower() if isinstance(cur, bool) else str(cur))
            )
        return out

    return fields


def _kind(
    group: str,
    kind: str,
    plural: str,
    *,
    namespaced: bool = True,
    short: tuple[str, ...] = (),
    categories: tuple[str, ...] = (),
    subresources: tuple[str, ...] = (),
    generation: bool = False,
    **kw: Any,
) -> KindSpec:
    version = "v1"
    extra = kw.pop("extra", {})
    return KindSpec(
        group=group,
        version=version,
        kind=kind,
        plural=plural,
        singular=kind.lower(),
        namespaced=namespaced,
        schema=ROOTS[(group, version, kind)],
        short_names=short,
        categories=categories,
        subresources=frozenset(subresources),
        printer=PRINTERS.get((group, kind)),
        generation_tracked=generation,
        extra=extra,
        **kw,
    )


def builtin_kinds(
    service_config: svcrules.ServiceConfig = svcrules.DEFAULT_CONFIG,
    is_cluster_ip: Callable[[str], bool] = svcrules.no_cluster_ips,
) -> list[KindSpec]:
    """Every kind of the compatibility contract (DESIGN.md).

    Args:
        service_config: the cluster's service CIDRs and node port range
            (Service defaulting and validation depend on them).
        is_cluster_ip: whether an IP is a Service's ClusterIP (endpoint IPs
            may not be).
    """
    cfg = service_config

    def svc_prepare_update(new: Obj, old: Obj) -> None:
        # Upstream keeps allocated values a client omitted (PUT without
        # clusterIP/nodePort), which needs the old object.
        svcrules.default(new, old, cfg)

    return [
        _kind(
            "",
            "Namespace",
            "namespaces",
            namespaced=False,
            short=("ns",),
            subresources=("status", "finalize"),
            prepare_create=_ns_prepare_create,
            prepare_update=_ns_prepare_update,
            default=_ns_default,
            name_validator=is_dns1123_label,
            fields=_simple_fields(**{"status.phase": "status.phase"}),
            extra={"before_delete": _ns_before_delete, "delete_pending": _ns_pending},
        ),
        _kind(
            "",
            "Pod",
            "pods",
            short=("po",),
            categories=ALL,
            subresources=("status", "log", "binding", "eviction"),
            prepare_create=podrules.prepare_create,
            default=podrules.default,
            validate=podrules.validate,
            validate_update=podrules.validate_update,
            fields=_pod_fields,
            extra={"graceful_delete": podrules.grace_period, "return_deleted_object": True},
        ),
        _kind(
            "",
            "Service",
            "services",
            short=("svc",),
            categories=ALL,
            subresources=("status",),
            prepare_create=_reset_status({"loadBalancer": {}}),
            prepare_update=svc_prepare_update,
            default=partial(svcrules.default, config=cfg),
            validate=partial(svcrules.validate, config=cfg),
            validate_update=partial(svcrules.validate_update, config=cfg),
            name_validator=svcrules.validate_name,
            fields=_simple_fields(**{"spec.clusterIP": "spec.clusterIP", "spec.type": "spec.type"}),
            extra={"return_deleted_object": True},
        ),
        _kind(
            "",
            "Endpoints",
            "endpoints",
            short=("ep",),
            default=svcrules.default_endpoints,
            validate=partial(svcrules.validate_endpoints, is_cluster_ip=is_cluster_ip),
            extra={"allow_create_on_update": True},
        ),
        _kind(
            "",
            "Node",
            "nodes",
            namespaced=False,
            short=("no",),
            subresources=("status",),
            default=_ensure_spec,
            fields=_simple_fields(**{"spec.unschedulable": "spec.unschedulable"}),
        ),
        _kind("", "Event", "events", short=("ev",), fields=_event_fields),
        _kind("", "ConfigMap", "configmaps", short=("cm",)),
        _kind(
            "",
            "Secret",
            "secrets",
            default=_secret_default,
            fields=_simple_fields(type="type"),
        ),
        _kind(
            "",
            "ServiceAccount",
            "serviceaccounts",
            short=("sa",),
            extra={"return_deleted_object": True},
        ),
        _kind(
            "apps",
            "Deployment",
            "deployments",
            short=("deploy",),
            categories=ALL,
            subresources=("status", "scale"),
            generation=True,
            prepare_create=_reset_status(),
            default=workloads.default_deployment,
            validate=workloads.validate_deployment,
            validate_update=workloads.validate_selector_immutable,
        ),
        _kind(
            "apps",
            "ReplicaSet",
            "replicasets",
            short=("rs",),
            categories=ALL,
            subresources=("status", "scale"),
            generation=True,
            prepare_create=_reset_status({"replicas": 0}),
            default=workloads.default_replicaset,
            validate=workloads.validate_replicaset,
            validate_update=workloads.validate_selector_immutable,
            fields=_simple_fields(**{"status.replicas": "status.replicas"}),
        ),
        _kind(
            "discovery.k8s.io",
            "EndpointSlice",
            "endpointslices",
            generation=True,
            default=svcrules.default_endpointslice,
            validate=partial(svcrules.validate_endpointslice, is_cluster_ip=is_cluster_ip),
            validate_update=svcrules.validate_endpointslice_update,
        ),
        _kind(
            "networking.k8s.io",
            "Ingress",
            "ingresses",
            short=("ing",),
            subresources=("status",),
            generation=True,
            prepare_create=_reset_status({"loadBalancer": {}}),
        ),
        _kind(
            "networking.k8s.io", "IngressClass", "ingressclasses", namespaced=False, generation=True
        ),
        _kind(
            "networking.k8s.io",
            "NetworkPolicy",
            "networkpolicies",
            short=("netpol",),
            generation=True,
            default=workloads.default_networkpolicy,
        ),
        _kind("coordination.k8s.io", "Lease", "leases", extra={"allow_create_on_update": True}),
    ]


def builtin_registry(
    service_config: svcrules.ServiceConfig = svcrules.DEFAULT_CONFIG,
    is_cluster_ip: Callable[[str], bool] = svcrules.no_cluster_ips,
) -> Registry:
    return Registry(builtin_kinds(service_config, is_cluster_ip))


__all__ = ["builtin_kinds", "builtin_registry", "is_dns1123_subdomain"]
