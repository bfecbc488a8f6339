"""networking.k8s.io/v1 Ingress, IngressClass and NetworkPolicy.

NetworkPolicy has no status in v1.33. All lists here are atomic upstream.

Each `struct` below carries upstream's OpenAPI definition name and every field
upstream Kubernetes v1.33 declares for it. Patch metadata (`merge_key`,
`strategy`, `list_type`, `map_keys`) mirrors upstream's Go struct tags and
`+listType`/`+listMapKey` markers exactly: kubectl's client-side apply and our
strategic merge patch both read it, so a mismatch would merge lists
differently from a real cluster. Structs are declared leaves first so each
name is bound before use; kinds reach ObjectMeta through `OBJECT_META_REF`.
"""

from __future__ import annotations

from svcnet.api.schema import (
    INT32,
    INT_OR_STRING,
    STRING,
    STRING_LIST,
    ArrayOf,
    enum,
    f,
    struct,
)
from svcnet.api.types.core_volume import (
    TypedLocalObjectReference,
)
from svcnet.api.types.meta import (
    OBJECT_META_REF,
    LabelSelector,
)

ServiceBackendPort = struct(
    "io.k8s.api.networking.v1.ServiceBackendPort",
    "Port of a service backend, by name or number.",
    name=f(STRING, "Port name of the service."),
    number=f(INT32, "Port number of the service."),
)

IngressServiceBackend = struct(
    "io.k8s.api.networking.v1.IngressServiceBackend",
    "A service receiving ingress traffic.",
    name=f(STRING, "Service name in the ingress's namespace.", required=True),
    port=f(ServiceBackendPort, "Port of the service."),
)

IngressBackend = struct(
    "io.k8s.api.networking.v1.IngressBackend",
    "Where ingress traffic is sent; exactly one member is set.",
    resource=f(
        TypedLocalObjectReference, "Object in the ingress's namespace, e.g. a storage bucket."
    ),
    service=f(IngressServiceBackend, "Service to send traffic to."),
)

HTTPIngressPath = struct(
    "io.k8s.api.networking.v1.HTTPIngressPath",
    "Sends requests for a path to a backend.",
    backend=f(IngressBackend, "Backend receiving matching requests.", required=True),
    path=f(STRING, 'Path to match, starting with "/"; defaults to "/".'),
    pathType=f(
        enum("Exact", "ImplementationSpecific", "Prefix"),
        "How path is matched: Exact, Prefix or ImplementationSpecific.",
        required=True,
    ),
)

HTTPIngressRuleValue = struct(
    "io.k8s.api.networking.v1.HTTPIngressRuleValue",
    "HTTP routes of an ingress rule.",
    paths=f(
        ArrayOf(HTTPIngressPath), "Paths and their backends.", required=True, list_type="atomic"
    ),
)

IngressRule = struct(
    "io.k8s.api.networking.v1.IngressRule",
    "Routes for one host; without a host it applies to all.",
    host=f(STRING, 'Fully qualified host name, optionally with a "*." wildcard prefix.'),
    http=f(HTTPIngressRuleValue, "HTTP routes for the host."),
)

IngressTLS = struct(
    "io.k8s.api.networking.v1.IngressTLS",
    "TLS settings for some hosts.",
    hosts=f(STRING_LIST, "Hosts covered by the certificate.", list_type="atomic"),
    secretName=f(STRING, "Secret holding the certificate and key."),
)

IngressSpec = struct(
    "io.k8s.api.networking.v1.IngressSpec",
    "Desired state of an ingress.",
    defaultBackend=f(IngressBackend, "Backend for requests matching no rule."),
    ingressClassName=f(STRING, "Name of the IngressClass handling this ingress."),
    rules=f(
        ArrayOf(IngressRule),
        "Host rules; unmatched traffic goes to defaultBackend.",
        list_type="atomic",
    ),
    tls=f(ArrayOf(IngressTLS), "TLS configuration.", list_type="atomic"),
)

IngressPortStatus = struct(
    "io.k8s.api.networking.v1.IngressPortStatus",
    "Observed status of one ingress port.",
    error=f(STRING, "Problem with the port in CamelCase, empty when fine."),
    port=f(INT32, "Port number.", required=True),
    protocol=f(STRING, "Protocol of the port: TCP, UDP or SCTP.", required=True),
)

IngressLoadBalancerIngress = struct(
    "io.k8s.api.networking.v1.IngressLoadBalancerIngress",
    "One entry point of an ingress load balancer.",
    hostname=f(STRING, "DNS name of the entry point."),
    ip=f(STRING, "IP address of the entry point."),
    ports=f(
        ArrayOf(IngressPortStatus), "Status of each port of the entry point.", list_type="atomic"
    ),
)

IngressLoadBalancerStatus = struct(
    "io.k8s.api.networking.v1.IngressLoadBalancerStatus",
    "Status of an ingress load balancer.",
    ingress=f(
        ArrayOf(IngressLoadBalancerIngress),
        "Entry points of the load balancer.",
        list_type="atomic",
    ),
)

IngressStatus = struct(
    "io.k8s.api.networking.v1.IngressStatus",
    "Observed state of an ingress.",
    loadBalancer=f(IngressLoadBalancerStatus, "Status of the load balancer."),
)

Ingress = struct(
    "io.k8s.api.networking.v1.Ingress",
    "HTTP(S) routing rules from outside the cluster to services.",
    apiVersion=f(STRING, 'Versioned schema of this object, e.g. "v1" or "apps/v1".'),
    kind=f(STRING, 'REST kind of this object in CamelCase, e.g. "Pod".'),
    metadata=f(
        OBJECT_META_REF, "Standard object metadata: name, namespace, labels, annotations and so on."
    ),
    spec=f(IngressSpec, "Desired behaviour of the ingress."),
    status=f(IngressStatus, "Most recently observed state of the ingress; read-only."),
)

IngressClassParametersReference = struct(
    "io.k8s.api.networking.v1.IngressClassParametersReference",
    "Object holding controller-specific settings for an ingress class.",
    apiGroup=f(STRING, "API group of the referenced kind."),
    kind=f(STRING, "Kind of the referenced object.", required=True),
    name=f(STRING, "Name of the referenced object.", required=True),
    namespace=f(STRING, "Namespace of the referenced object when scope is Namespace."),
    scope=f(STRING, 'Whether the object is "Cluster" (default) or "Namespace" scoped.'),
)

IngressClassSpec = struct(
    "io.k8s.api.networking.v1.IngressClassSpec",
    "Desired state of an ingress class.",
    controller=f(
        STRING, 'Name of the controller implementing the class, e.g. "example.com/ingress-ctl".'
    ),
    parameters=f(IngressClassParametersReference, "Object with extra settings for the controller."),
)

IngressClass = struct(
    "io.k8s.api.networking.v1.IngressClass",
    "Names a kind of ingress and its controller.",
    apiVersion=f(STRING, 'Versioned schema of this object, e.g. "v1" or "apps/v1".'),
    kind=f(STRING, 'REST kind of this object in CamelCase, e.g. "Pod".'),
    metadata=f(
        OBJECT_META_REF, "Standard object metadata: name, namespace, labels, annotations and so on."
    ),
    spec=f(IngressClassSpec, "Desired behaviour of the ingress class."),
)

NetworkPolicyPort = struct(
    "io.k8s.api.networking.v1.NetworkPolicyPort",
    "Port matched by a network policy rule.",
    endPort=f(INT32, "Last port of a range starting at port."),
    port=f(INT_OR_STRING, "Port number or named pod port; unset matches all ports."),
    protocol=f(enum("SCTP", "TCP", "UDP"), "IP protocol: TCP (default), UDP or SCTP."),
)

IPBlock = struct(
    "io.k8s.api.networking.v1.IPBlock",
    "A CIDR, minus exceptions, matched by a network policy rule.",
    cidr=f(STRING, 'CIDR to allow, e.g. "192.168.1.0/24".', required=True),
    **{"except": f(STRING_LIST, "CIDRs inside cidr to exclude.", list_type="atomic")},
)

NetworkPolicyPeer = struct(
    "io.k8s.api.networking.v1.NetworkPolicyPeer",
    "Pods, namespaces or addresses a rule applies to.",
    ipBlock=f(IPBlock, "Address range to match."),
    namespaceSelector=f(
        LabelSelector, "Label query over namespaces; alone it selects all their pods."
    ),
    podSelector=f(
        LabelSelector,
        "Label query over pods, in the policy's namespace unless namespaceSelector is set.",
    ),
)

NetworkPolicyEgressRule = struct(
    "io.k8s.api.networking.v1.NetworkPolicyEgressRule",
    "Traffic allowed out of the selected pods.",
    ports=f(
        ArrayOf(NetworkPolicyPort),
        "Destination ports allowed; empty allows all.",
        list_type="atomic",
    ),
    to=f(ArrayOf(NetworkPolicyPeer), "Destinations allowed; empty allows all.", list_type="atomic"),
)

NetworkPolicyIngressRule = struct(
    "io.k8s.api.networking.v1.NetworkPolicyIngressRule",
    "Traffic allowed into the selected pods.",
    **{
        "from": f(
            ArrayOf(NetworkPolicyPeer), "Sources allowed; empty allows all.", list_type="atomic"
        )
    },
    ports=f(ArrayOf(NetworkPolicyPort), "Ports allowed; empty allows all.", list_type="atomic"),
)

NetworkPolicySpec = struct(
    "io.k8s.api.networking.v1.NetworkPolicySpec",
    "Desired state of a network policy.",
    egress=f(
        ArrayOf(NetworkPolicyEgressRule),
        "Outgoing traffic allowed when Egress is among policyTypes.",
        list_type="atomic",
    ),
    ingress=f(
        ArrayOf(NetworkPolicyIngressRule),
        "Incoming traffic allowed when Ingress is among policyTypes.",
        list_type="atomic",
    ),
    podSelector=f(
        LabelSelector,
        "Pods in the namespace the policy applies to; empty selects all.",
        required=True,
    ),
    policyTypes=f(
        ArrayOf(enum("Egress", "Ingress")),
        "Directions the policy applies to: Ingress, Egress or both.",
        list_type="atomic",
    ),
)

NetworkPolicy = struct(
    "io.k8s.api.networking.v1.NetworkPolicy",
    "Traffic allowed to and from a set of pods.",
    apiVersion=f(STRING, 'Versioned schema of this object, e.g. "v1" or "apps/v1".'),
    kind=f(STRING, 'REST kind of this object in CamelCase, e.g. "Pod".'),
    metadata=f(
        OBJECT_META_REF, "Standard object metadata: name, namespace, labels, annotations and so on."
    ),
    spec=f(NetworkPolicySpec, "Desired behaviour of the network policy."),
)
