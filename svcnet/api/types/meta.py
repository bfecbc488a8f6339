"""apimachinery meta/v1 types shared by every kind, plus autoscaling/v1 Scale.

ObjectMeta, OwnerReference, ManagedFieldsEntry, ListMeta, LabelSelector,
Status, DeleteOptions, the standard Condition and WatchEvent.

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
    ANY,
    BOOL,
    INT32,
    INT64,
    STRING,
    STRING_LIST,
    STRING_MAP,
    TIME,
    ArrayOf,
    Ref,
    f,
    struct,
)

# Every kind points at ObjectMeta through this Ref so OpenAPI shares one definition.
OBJECT_META_REF = Ref("io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta")

ManagedFieldsEntry = struct(
    "io.k8s.apimachinery.pkg.apis.meta.v1.ManagedFieldsEntry",
    "Records which field manager owns which fields of an object and how it set them.",
    apiVersion=f(STRING, "API version of the object the owned field set was written with."),
    fieldsType=f(STRING, 'Encoding of the fieldsV1 value; only "FieldsV1" is defined.'),
    fieldsV1=f(ANY, "Owned field set, encoded as a trie of field paths."),
    manager=f(STRING, "Name of the client (field manager) that owns these fields."),
    operation=f(STRING, 'Kind of request that set the fields: "Apply" or "Update".'),
    subresource=f(
        STRING, "Subresource the fields were written through, empty for the main resource."
    ),
    time=f(TIME, "When these fields were last changed by this manager."),
)

OwnerReference = struct(
    "io.k8s.apimachinery.pkg.apis.meta.v1.OwnerReference",
    "Points at an object that owns this one; owned objects are garbage collected with their owner.",
    apiVersion=f(STRING, "API version of the owner.", required=True),
    blockOwnerDeletion=f(
        BOOL, "If true, foreground deletion of the owner waits until this object is removed."
    ),
    controller=f(BOOL, "True if the owner is the managing controller of this object."),
    kind=f(STRING, "Kind of the owner.", required=True),
    name=f(STRING, "Name of the owner.", required=True),
    uid=f(STRING, "UID of the owner.", required=True),
)

ObjectMeta = struct(
    "io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta",
    "Metadata every persisted object carries.",
    annotations=f(
        STRING_MAP, "Unstructured key/value data kept with the object; not used for selection."
    ),
    creationTimestamp=f(TIME, "Server time at which the object was created; read-only."),
    deletionGracePeriodSeconds=f(
        INT64,
        "Seconds the object is allowed to terminate gracefully once deletion began; read-only.",
    ),
    deletionTimestamp=f(
        TIME,
        "Time after which the object will be removed, set when deletion is requested; read-only.",
    ),
    finalizers=f(
        STRING_LIST,
        "Names of finalizers that must be cleared before the object is removed from storage.",
        strategy="merge",
        list_type="set",
    ),
    generateName=f(STRING, "Prefix the server uses to generate a unique name when name is empty."),
    generation=f(
        INT64, "Sequence number of the desired state; bumped by the server on spec changes."
    ),
    labels=f(STRING_MAP, "Key/value pairs used to organise and select objects."),
    managedFields=f(
        ArrayOf(ManagedFieldsEntry),
        "Field ownership records maintained by the server for server-side apply.",
        list_type="atomic",
    ),
    name=f(
        STRING,
        "Name of the object, unique within its namespace (or cluster-wide for cluster-scoped kinds).",
    ),
    namespace=f(STRING, "Namespace the object lives in; empty for cluster-scoped kinds."),
    ownerReferences=f(
        ArrayOf(OwnerReference),
        "Objects that own this one; at most one may be the managing controller.",
        merge_key="uid",
        strategy="merge",
        list_type="map",
        map_keys=("uid",),
    ),
    resourceVersion=f(
        STRING, "Opaque version of the object for optimistic concurrency and watches."
    ),
    selfLink=f(STRING, "Deprecated URL of the object; no longer populated."),
    uid=f(STRING, "Unique, server-assigned identifier of the object for its whole lifetime."),
)

ListMeta = struct(
    "io.k8s.apimachinery.pkg.apis.meta.v1.ListMeta",
    "Metadata carried by list responses.",
    **{"continue": f(STRING, "Token to pass back to fetch the next chunk of a paginated list.")},
    remainingItemCount=f(INT64, "Approximate number of items left after this chunk, when known."),
    resourceVersion=f(STRING, "Version of the collection at which the list was served."),
    selfLink=f(STRING, "Deprecated URL of the list; no longer populated."),
)

StatusCause = struct(
    "io.k8s.apimachinery.pkg.apis.meta.v1.StatusCause",
    "One specific reason an operation failed, optionally tied to a field.",
    field=f(STRING, 'Path of the field that caused the failure, e.g. "spec.ports[0].port".'),
    message=f(STRING, "Human-readable explanation of this cause."),
    reason=f(STRING, "Machine-readable cause code."),
)

StatusDetails = struct(
    "io.k8s.apimachinery.pkg.apis.meta.v1.StatusDetails",
    "Extra structured data describing a failed operation.",
    causes=f(ArrayOf(StatusCause), "Individual causes of the failure.", list_type="atomic"),
    group=f(STRING, "API group of the resource involved."),
    kind=f(STRING, "Kind of the resource involved."),
    name=f(STRING, "Name of the resource involved."),
    retryAfterSeconds=f(INT32, "Suggested number of seconds to wait before retrying."),
    uid=f(STRING, "UID of the resource involved."),
)

Status = struct(
    "io.k8s.apimachinery.pkg.apis.meta.v1.Status",
    "Result of an operation that does not return an object, usually an error.",
    apiVersion=f(STRING, 'Versioned schema of this object, e.g. "v1" or "apps/v1".'),
    code=f(INT32, "HTTP status code of the result."),
    details=f(
        StatusDetails, "Structured data about the failure, depending on reason.", list_type="atomic"
    ),
    kind=f(STRING, 'REST kind of this object in CamelCase, e.g. "Pod".'),
    message=f(STRING, "Human-readable description of the result."),
    metadata=f(ListMeta, "List metadata; normally empty."),
    reason=f(STRING, 'Machine-readable reason, e.g. "NotFound" or "AlreadyExists".'),
    status=f(STRING, '"Success" or "Failure".'),
)

Preconditions = struct(
    "io.k8s.apimachinery.pkg.apis.meta.v1.Preconditions",
    "Conditions the object must still meet for the operation to go ahead.",
    resourceVersion=f(STRING, "Required current resource version of the object."),
    uid=f(STRING, "Required UID of the object."),
)

DeleteOptions = struct(
    "io.k8s.apimachinery.pkg.apis.meta.v1.DeleteOptions",
    "Options accepted by delete requests.",
    apiVersion=f(STRING, 'Versioned schema of this object, e.g. "v1" or "apps/v1".'),
    dryRun=f(
        STRING_LIST,
        'When present ("All"), validate and report the result without persisting anything.',
        list_type="atomic",
    ),
    gracePeriodSeconds=f(
        INT64, "Seconds to allow the object to terminate gracefully; 0 means delete immediately."
    ),
    ignoreStoreReadErrorWithClusterBreakingPotential=f(
        BOOL, "Unsafe: delete objects that cannot be read from storage."
    ),
    kind=f(STRING, 'REST kind of this object in CamelCase, e.g. "Pod".'),
    orphanDependents=f(BOOL, "Deprecated: whether dependents are orphaned; use propagationPolicy."),
    preconditions=f(Preconditions, "Conditions that must hold for the deletion to proceed."),
    propagationPolicy=f(
        STRING, 'How dependents are garbage collected: "Orphan", "Background" or "Foreground".'
    ),
)

WatchEvent = struct(
    "io.k8s.apimachinery.pkg.apis.meta.v1.WatchEvent",
    "One change notification sent on a watch stream.",
    object=f(
        ANY,
        "The object after the change, or its last state for deletions, or a Status for errors.",
        required=True,
    ),
    type=f(STRING, "Event type: ADDED, MODIFIED, DELETED, BOOKMARK or ERROR.", required=True),
)

Condition = struct(
    "io.k8s.apimachinery.pkg.apis.meta.v1.Condition",
    "One aspect of an object's current state, in the standard condition shape.",
    lastTransitionTime=f(TIME, "When the condition last changed status.", required=True),
    message=f(STRING, "Human-readable details about the last transition.", required=True),
    observedGeneration=f(INT64, "metadata.generation the condition was computed from."),
    reason=f(STRING, "CamelCase machine-readable reason for the last transition.", required=True),
    status=f(STRING, '"True", "False" or "Unknown".', required=True),
    type=f(STRING, 'Condition type in CamelCase, e.g. "Ready".', required=True),
)

LabelSelectorRequirement = struct(
    "io.k8s.apimachinery.pkg.apis.meta.v1.LabelSelectorRequirement",
    "One selector clause relating a label key to a set of values.",
    key=f(STRING, "Label key the clause applies to.", required=True),
    operator=f(
        STRING, "Relation between key and values: In, NotIn, Exists or DoesNotExist.", required=True
    ),
    values=f(
        STRING_LIST,
        "Values to compare with; must be empty for Exists and DoesNotExist.",
        list_type="atomic",
    ),
)

LabelSelector = struct(
    "io.k8s.apimachinery.pkg.apis.meta.v1.LabelSelector",
    "Label query over a set of objects; all clauses are ANDed, and an empty selector matches everything.",
    matchExpressions=f(
        ArrayOf(LabelSelectorRequirement),
        "Set-based clauses that must all match.",
        list_type="atomic",
    ),
    matchLabels=f(STRING_MAP, "Exact key/value pairs that must all be present."),
)

ScaleSpec = struct(
    "io.k8s.api.autoscaling.v1.ScaleSpec",
    "Desired scale of a scalable resource.",
    replicas=f(INT32, "Desired number of instances."),
)

ScaleStatus = struct(
    "io.k8s.api.autoscaling.v1.ScaleStatus",
    "Observed scale of a scalable resource.",
    replicas=f(INT32, "Number of instances actually observed.", required=True),
    selector=f(STRING, "Label selector of the counted pods, in query-string form."),
)

Scale = struct(
    "io.k8s.api.autoscaling.v1.Scale",
    "Scale subresource of a scalable workload.",
    apiVersion=f(STRING, 'Versioned schema of this object, e.g. "v1" or "apps/v1".'),
    kind=f(STRING, 'REST kind of this object in CamelCase, e.g. "Pod".'),
    metadata=f(
        OBJECT_META_REF, "Standard object metadata: name, namespace, labels, annotations and so on."
    ),
    spec=f(ScaleSpec, "Desired number of replicas."),
    status=f(ScaleStatus, "Current number of replicas; read-only."),
)
