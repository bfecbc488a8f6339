"""discovery.k8s.io/v1 EndpointSlice.

Both endpoints and ports are atomic lists upstream: a patch replaces them
whole rather than merging by key.

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
    BOOL,
    INT32,
    STRING,
    STRING_LIST,
    STRING_MAP,
    ArrayOf,
    enum,
    f,
    struct,
)
from svcnet.api.types.core import (
    ObjectReference,
)
from svcnet.api.types.meta import (
    OBJECT_META_REF,
)

EndpointConditions = struct(
    "io.k8s.api.discovery.v1.EndpointConditions",
    "Readiness state of an endpoint.",
    ready=f(BOOL, "Whether the endpoint should receive traffic; false while terminating."),
    serving=f(BOOL, "Whether the endpoint is ready, ignoring the terminating state."),
    terminating=f(BOOL, "Whether the endpoint is being terminated."),
)

ForNode = struct(
    "io.k8s.api.discovery.v1.ForNode",
    "Names a node for topology hints.",
    name=f(STRING, "Node name.", required=True),
)

ForZone = struct(
    "io.k8s.api.discovery.v1.ForZone",
    "Names a zone for topology hints.",
    name=f(STRING, "Zone name.", required=True),
)

EndpointHints = struct(
    "io.k8s.api.discovery.v1.EndpointHints",
    "Routing hints for an endpoint.",
    forNodes=f(ArrayOf(ForNode), "Nodes that should use this endpoint.", list_type="atomic"),
    forZones=f(ArrayOf(ForZone), "Zones that should use this endpoint.", list_type="atomic"),
)

Endpoint = struct(
    "io.k8s.api.discovery.v1.Endpoint",
    "One backend of a service.",
    addresses=f(
        STRING_LIST,
        "Addresses of the endpoint, all of the slice's addressType; consumers use the first.",
        required=True,
        list_type="set",
    ),
    conditions=f(EndpointConditions, "Readiness state of the endpoint."),
    deprecatedTopology=f(STRING_MAP, "Deprecated topology labels copied from v1beta1."),
    hints=f(EndpointHints, "Routing hints for topology-aware routing."),
    hostname=f(STRING, "Host name of the endpoint, used for DNS."),
    nodeName=f(STRING, "Node hosting the endpoint."),
    targetRef=f(ObjectReference, "Object (usually a pod) behind the endpoint."),
    zone=f(STRING, "Zone the endpoint is in."),
)

EndpointPort = struct(
    "io.k8s.api.discovery.v1.EndpointPort",
    "One port of an endpoint slice.",
    appProtocol=f(STRING, "Application protocol carried on the port."),
    name=f(STRING, "Port name, matching the service port's name; may be empty."),
    port=f(INT32, "Port number; unset means all ports."),
    protocol=f(enum("SCTP", "TCP", "UDP"), "IP protocol: TCP (default), UDP or SCTP."),
)

EndpointSlice = struct(
    "io.k8s.api.discovery.v1.EndpointSlice",
    "Subset of the endpoints of a service.",
    addressType=f(
        enum("FQDN", "IPv4", "IPv6"),
        "Type of the addresses in the slice: IPv4, IPv6 or FQDN.",
        required=True,
    ),
    apiVersion=f(STRING, 'Versioned schema of this object, e.g. "v1" or "apps/v1".'),
    endpoints=f(
        ArrayOf(Endpoint), "Endpoints in the slice, up to 1000.", required=True, list_type="atomic"
    ),
    kind=f(STRING, 'REST kind of this object in CamelCase, e.g. "Pod".'),
    metadata=f(
        OBJECT_META_REF, "Standard object metadata: name, namespace, labels, annotations and so on."
    ),
    ports=f(
        ArrayOf(EndpointPort),
        "Ports available on every endpoint; empty means none are defined.",
        list_type="atomic",
    ),
)
