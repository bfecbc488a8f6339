"""apps/v1 Deployment and ReplicaSet.

DeploymentSpec.strategy uses patch strategy "retainKeys" so that switching
the type to Recreate drops the rollingUpdate block in a patch.

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
    INT64,
    INT_OR_STRING,
    STRING,
    TIME,
    ArrayOf,
    enum,
    f,
    struct,
)
from svcnet.api.types.core_pod import (
    PodTemplateSpec,
)
from svcnet.api.types.meta import (
    OBJECT_META_REF,
    LabelSelector,
)

RollingUpdateDeployment = struct(
    "io.k8s.api.apps.v1.RollingUpdateDeployment",
    "Parameters of a rolling update.",
    maxSurge=f(
        INT_OR_STRING,
        "Pods allowed above the desired count during the update, as a number or percentage; defaults to 25%.",
    ),
    maxUnavailable=f(
        INT_OR_STRING,
        "Pods allowed to be unavailable during the update, as a number or percentage; defaults to 25%.",
    ),
)

DeploymentStrategy = struct(
    "io.k8s.api.apps.v1.DeploymentStrategy",
    "How old pods are replaced by new ones.",
    rollingUpdate=f(RollingUpdateDeployment, "Parameters for RollingUpdate."),
    type=f(enum("Recreate", "RollingUpdate"), "Strategy: RollingUpdate (default) or Recreate."),
)

DeploymentSpec = struct(
    "io.k8s.api.apps.v1.DeploymentSpec",
    "Desired state of a deployment.",
    minReadySeconds=f(
        INT32, "Seconds a new pod must be ready without crashing to count as available."
    ),
    paused=f(BOOL, "Whether the deployment is paused."),
    progressDeadlineSeconds=f(
        INT32, "Seconds before a stalled rollout is reported as failed; defaults to 600."
    ),
    replicas=f(INT32, "Desired number of pods; defaults to 1."),
    revisionHistoryLimit=f(INT32, "Number of old ReplicaSets kept for rollback; defaults to 10."),
    selector=f(
        LabelSelector,
        "Label query over the pods managed; must match the template's labels.",
        required=True,
    ),
    strategy=f(DeploymentStrategy, "How pods are replaced on update.", strategy="retainKeys"),
    template=f(PodTemplateSpec, "Template of the pods to create.", required=True),
)

DeploymentCondition = struct(
    "io.k8s.api.apps.v1.DeploymentCondition",
    "One aspect of a deployment's current state.",
    lastTransitionTime=f(TIME, "When the condition last changed status."),
    lastUpdateTime=f(TIME, "When the condition was last updated."),
    message=f(STRING, "Human-readable details about the last transition."),
    reason=f(STRING, "CamelCase reason for the last transition."),
    status=f(STRING, '"True", "False" or "Unknown".', required=True),
    type=f(STRING, "Condition type: Available, Progressing or ReplicaFailure.", required=True),
)

DeploymentStatus = struct(
    "io.k8s.api.apps.v1.DeploymentStatus",
    "Observed state of a deployment.",
    availableReplicas=f(INT32, "Pods ready for at least minReadySeconds."),
    collisionCount=f(INT32, "Count of hash collisions, used to name new ReplicaSets."),
    conditions=f(
        ArrayOf(DeploymentCondition),
        "Current conditions of the deployment.",
        merge_key="type",
        strategy="merge",
        list_type="map",
        map_keys=("type",),
    ),
    observedGeneration=f(INT64, "Generation last acted on by the controller."),
    readyReplicas=f(INT32, "Pods with a Ready condition."),
    replicas=f(INT32, "Non-terminating pods targeted by the deployment."),
    terminatingReplicas=f(INT32, "Pods being terminated."),
    unavailableReplicas=f(INT32, "Pods still needed to reach full availability."),
    updatedReplicas=f(INT32, "Non-terminating pods matching the current template."),
)

Deployment = struct(
    "io.k8s.api.apps.v1.Deployment",
    "Declarative updates for a set of pods via ReplicaSets.",
    apiVersion=f(STRING, 'Versioned schema of this object, e.g. "v1" or "apps/v1".'),
    kind=f(STRING, 'REST kind of this object in CamelCase, e.g. "Pod".'),
    metadata=f(
        OBJECT_META_REF, "Standard object metadata: name, namespace, labels, annotations and so on."
    ),
    spec=f(DeploymentSpec, "Desired behaviour of the deployment."),
    status=f(DeploymentStatus, "Most recently observed state of the deployment; read-only."),
)

ReplicaSetSpec = struct(
    "io.k8s.api.apps.v1.ReplicaSetSpec",
    "Desired state of a replica set.",
    minReadySeconds=f(
        INT32, "Seconds a new pod must be ready without crashing to count as available."
    ),
    replicas=f(INT32, "Desired number of pods; defaults to 1."),
    selector=f(
        LabelSelector,
        "Label query over the pods managed; must match the template's labels.",
        required=True,
    ),
    template=f(PodTemplateSpec, "Template of the pods created when too few exist."),
)

ReplicaSetCondition = struct(
    "io.k8s.api.apps.v1.ReplicaSetCondition",
    "One aspect of a replica set's current state.",
    lastTransitionTime=f(TIME, "When the condition last changed status."),
    message=f(STRING, "Human-readable details about the last transition."),
    reason=f(STRING, "CamelCase reason for the last transition."),
    status=f(STRING, '"True", "False" or "Unknown".', required=True),
    type=f(STRING, "Condition type, e.g. ReplicaFailure.", required=True),
)

ReplicaSetStatus = struct(
    "io.k8s.api.apps.v1.ReplicaSetStatus",
    "Observed state of a replica set.",
    availableReplicas=f(INT32, "Pods ready for at least minReadySeconds."),
    conditions=f(
        ArrayOf(ReplicaSetCondition),
        "Current conditions of the replica set.",
        merge_key="type",
        strategy="merge",
        list_type="map",
        map_keys=("type",),
    ),
    fullyLabeledReplicas=f(INT32, "Pods whose labels match the template's labels."),
    observedGeneration=f(INT64, "Generation last acted on by the controller."),
    readyReplicas=f(INT32, "Pods with a Ready condition."),
    replicas=f(INT32, "Non-terminating pods currently managed.", required=True),
    terminatingReplicas=f(INT32, "Pods being terminated."),
)

ReplicaSet = struct(
    "io.k8s.api.apps.v1.ReplicaSet",
    "Keeps a given number of identical pods running.",
    apiVersion=f(STRING, 'Versioned schema of this object, e.g. "v1" or "apps/v1".'),
    kind=f(STRING, 'REST kind of this object in CamelCase, e.g. "Pod".'),
    metadata=f(
        OBJECT_META_REF, "Standard object metadata: name, namespace, labels, annotations and so on."
    ),
    spec=f(ReplicaSetSpec, "Desired behaviour of the replica set."),
    status=f(ReplicaSetStatus, "Most recently observed state of the replica set; read-only."),
)
