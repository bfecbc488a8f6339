"""Resource descriptors: which URL a kind lives at.

A `Resource` names a REST collection the way client-go's
`schema.GroupVersionResource` does, plus whether it is namespaced (which
decides the URL shape) and its kind (for building bodies and messages).
Paths follow the Kubernetes API conventions:

    /api/v1[/namespaces/{ns}]/{plural}[/{name}[/{subresource}]]          core group
    /apis/{group}/{version}[/namespaces/{ns}]/{plural}[/{name}[/{sub}]]  named groups

A namespaced resource without a namespace addresses the collection across
all namespaces (list and watch only).
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import quote

__all__ = [
    "CONFIGMAPS",
    "DEPLOYMENTS",
    "ENDPOINTS",
    "ENDPOINTSLICES",
    "EVENTS",
    "INGRESSCLASSES",
    "INGRESSES",
    "LEASES",
    "NAMESPACES",
    "NETWORKPOLICIES",
    "NODES",
    "PODS",
    "REPLICASETS",
    "SECRETS",
    "SERVICEACCOUNTS",
    "SERVICES",
    "Resource",
]


@dataclass(frozen=True)
class Resource:
    """A REST collection: group, version, plural, scope and kind."""

    group: str
    version: str
    plural: str
    namespaced: bool
    kind: str = ""

    @property
    def api_version(self) -> str:
        """The apiVersion of its objects ("v1", "apps/v1", ...)."""
        return f"{self.group}/{self.version}" if self.group else self.version

    @property
    def group_resource(self) -> str:
        """``plural`` or ``plural.group`` (upstream GroupResource.String)."""
        return f"{self.plural}.{self.group}" if self.group else self.plural

    def path(
        self, namespace: str | None = None, name: str | None = None, subresource: str | None = None
    ) -> str:
        """The URL path of the collection, an object, or an object's subresource."""
        base = f"/apis/{self.group}/{self.version}" if self.group else f"/api/{self.version}"
        if self.namespaced and namespace:
            base += f"/namespaces/{quote(namespace, safe='')}"
        base += f"/{self.plural}"
        if name:
            base += f"/{quote(name, safe='')}"
            if subresource:
                base += f"/{subresource}"
        elif subresource:
            raise ValueError("a subresource needs an object name")
        return base

    def __str__(self) -> str:
        return self.group_resource


PODS = Resource("", "v1", "pods", True, "Pod")
SERVICES = Resource("", "v1", "services", True, "Service")
ENDPOINTS = Resource("", "v1", "endpoints", True, "Endpoints")
NODES = Resource("", "v1", "nodes", False, "Node")
NAMESPACES = Resource("", "v1", "namespaces", False, "Namespace")
EVENTS = Resource("", "v1", "events", True, "Event")
CONFIGMAPS = Resource("", "v1", "configmaps", True, "ConfigMap")
SECRETS = Resource("", "v1", "secrets", True, "Secret")
SERVICEACCOUNTS = Resource("", "v1", "serviceaccounts", True, "ServiceAccount")
DEPLOYMENTS = Resource("apps", "v1", "deployments", True, "Deployment")
REPLICASETS = Resource("apps", "v1", "replicasets", True, "ReplicaSet")
ENDPOINTSLICES = Resource("discovery.k8s.io", "v1", "endpointslices", True, "EndpointSlice")
INGRESSES = Resource("networking.k8s.io", "v1", "ingresses", True, "Ingress")
INGRESSCLASSES = Resource("networking.k8s.io", "v1", "ingressclasses", False, "IngressClass")
NETWORKPOLICIES = Resource("networking.k8s.io", "v1", "networkpolicies", True, "NetworkPolicy")
LEASES = Resource("coordination.k8s.io", "v1", "leases", True, "Lease")
