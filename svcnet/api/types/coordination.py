"""coordination.k8s.io/v1 Lease, used for leader election and node heartbeats.

acquireTime and renewTime are MicroTime (RFC 3339 with microseconds).

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
    MICRO_TIME,
    STRING,
    f,
    struct,
)
from svcnet.api.types.meta import (
    OBJECT_META_REF,
)

LeaseSpec = struct(
    "io.k8s.api.coordination.v1.LeaseSpec",
    "Desired state of a lease.",
    acquireTime=f(MICRO_TIME, "When the current holder acquired the lease."),
    holderIdentity=f(STRING, "Identity of the current holder."),
    leaseDurationSeconds=f(
        INT32, "Seconds candidates wait after the last renewal before taking over."
    ),
    leaseTransitions=f(INT32, "Number of times the lease changed holder."),
    preferredHolder=f(STRING, "Holder that should take over next; used with strategy."),
    renewTime=f(MICRO_TIME, "When the holder last renewed the lease."),
    strategy=f(STRING, "Strategy for choosing the next holder in coordinated leader election."),
)

Lease = struct(
    "io.k8s.api.coordination.v1.Lease",
    "Lightweight lock used for leader election and node heartbeats.",
    apiVersion=f(STRING, 'Versioned schema of this object, e.g. "v1" or "apps/v1".'),
    kind=f(STRING, 'REST kind of this object in CamelCase, e.g. "Pod".'),
    metadata=f(
        OBJECT_META_REF, "Standard object metadata: name, namespace, labels, annotations and so on."
    ),
    spec=f(LeaseSpec, "Desired state of the lease."),
)
