"""Declarations of every API type svcnet serves, keyed by group/version/kind.

Theory of operation: each module declares one API group's types with the
schema DSL (`svcnet.api.schema`); importing this package registers them all.
`ROOTS` maps a served kind to its top-level struct; OpenAPI emission,
strategic merge patch and unknown-field detection all start from there.
List kinds are not declared: they are generated around the item struct.

Invariants: every root has apiVersion, kind and metadata fields; every `Ref`
reachable from a root resolves (checked in tests/unit/api/test_types.py).
"""

from __future__ import annotations

from svcnet.api.schema import Struct
from svcnet.api.types import (
    apps,
    coordination,
    core,
    core_container,
    core_pod,
    core_volume,
    discovery,
    meta,
    networking,
)

ROOTS: dict[tuple[str, str, str], Struct] = {
    ("", "v1", "Namespace"): core.Namespace,
    ("", "v1", "Pod"): core_pod.Pod,
    ("", "v1", "Service"): core.Service,
    ("", "v1", "Endpoints"): core.Endpoints,
    ("", "v1", "Node"): core.Node,
    ("", "v1", "Event"): core.Event,
    ("", "v1", "ConfigMap"): core.ConfigMap,
    ("", "v1", "Secret"): core.Secret,
    ("", "v1", "ServiceAccount"): core.ServiceAccount,
    ("apps", "v1", "Deployment"): apps.Deployment,
    ("apps", "v1", "ReplicaSet"): apps.ReplicaSet,
    ("discovery.k8s.io", "v1", "EndpointSlice"): discovery.EndpointSlice,
    ("networking.k8s.io", "v1", "Ingress"): networking.Ingress,
    ("networking.k8s.io", "v1", "IngressClass"): networking.IngressClass,
    ("networking.k8s.io", "v1", "NetworkPolicy"): networking.NetworkPolicy,
    ("coordination.k8s.io", "v1", "Lease"): coordination.Lease,
}

# Subresource and protocol types that are not stored kinds of their own.
SCALE: Struct = meta.Scale
STATUS: Struct = meta.Status
DELETE_OPTIONS: Struct = meta.DeleteOptions
WATCH_EVENT: Struct = meta.WatchEvent
OBJECT_META: Struct = meta.ObjectMeta
LIST_META: Struct = meta.ListMeta
POD_TEMPLATE_SPEC: Struct = core_pod.PodTemplateSpec

__all__ = [
    "DELETE_OPTIONS",
    "LIST_META",
    "OBJECT_META",
    "POD_TEMPLATE_SPEC",
    "ROOTS",
    "SCALE",
    "STATUS",
    "WATCH_EVENT",
    "apps",
    "coordination",
    "core",
    "core_container",
    "core_pod",
    "core_volume",
    "discovery",
    "meta",
    "networking",
]
