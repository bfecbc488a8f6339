"""core/v1 Pod: PodSpec (scheduling, security, DNS), PodStatus and PodTemplateSpec.

Containers live in `core_container`, volumes in `core_volume`.

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
    QUANTITY,
    STRING,
    STRING_LIST,
    STRING_MAP,
    TIME,
    ArrayOf,
    MapOf,
    enum,
    f,
    struct,
)
from svcnet.api.types.core_container import (
    AppArmorProfile,
    Container,
    ContainerStatus,
    EphemeralContainer,
    ResourceRequirements,
    SeccompProfile,
    SELinuxOptions,
    WindowsSecurityContextOptions,
)
from svcnet.api.types.core_volume import (
    LocalObjectReference,
    Volume,
)
from svcnet.api.types.meta import (
    OBJECT_META_REF,
    LabelSelector,
)

NodeSelectorRequirement = struct(
    "io.k8s.api.core.v1.NodeSelectorRequirement",
    "One clause relating a node label (or field) key to a set of values.",
    key=f(STRING, "Label or field key the clause applies to.", required=True),
    operator=f(
        enum("DoesNotExist", "Exists", "Gt", "In", "Lt", "NotIn"),
        "Relation: In, NotIn, Exists, DoesNotExist, Gt or Lt.",
        required=True,
    ),
    values=f(
        STRING_LIST,
        "Values to compare with; one integer for Gt and Lt, none for Exists and DoesNotExist.",
        list_type="atomic",
    ),
)

NodeSelectorTerm = struct(
    "io.k8s.api.core.v1.NodeSelectorTerm",
    "Node requirements that must all hold; an empty term matches nothing.",
    matchExpressions=f(
        ArrayOf(NodeSelectorRequirement), "Clauses over node labels.", list_type="atomic"
    ),
    matchFields=f(
        ArrayOf(NodeSelectorRequirement), "Clauses over node fields.", list_type="atomic"
    ),
)

PreferredSchedulingTerm = struct(
    "io.k8s.api.core.v1.PreferredSchedulingTerm",
    "Weighted node preference.",
    preference=f(NodeSelectorTerm, "Node requirements the preference refers to.", required=True),
    weight=f(INT32, "Weight added to matching nodes' score, 1-100.", required=True),
)

NodeSelector = struct(
    "io.k8s.api.core.v1.NodeSelector",
    "Node requirements; the terms are ORed.",
    nodeSelectorTerms=f(
        ArrayOf(NodeSelectorTerm),
        "Alternative node requirements.",
        required=True,
        list_type="atomic",
    ),
)

NodeAffinity = struct(
    "io.k8s.api.core.v1.NodeAffinity",
    "Node affinity rules of a pod.",
    preferredDuringSchedulingIgnoredDuringExecution=f(
        ArrayOf(PreferredSchedulingTerm),
        "Node preferences that raise a node's score.",
        list_type="atomic",
    ),
    requiredDuringSchedulingIgnoredDuringExecution=f(
        NodeSelector, "Node requirements that must hold at scheduling time."
    ),
)

PodAffinityTerm = struct(
    "io.k8s.api.core.v1.PodAffinityTerm",
    "Selects pods in some namespaces whose topology domain the pod should (not) share.",
    labelSelector=f(LabelSelector, "Label query over the pods to co-locate with (or avoid)."),
    matchLabelKeys=f(
        STRING_LIST,
        "Label keys whose values, taken from the incoming pod, are ANDed into labelSelector.",
        list_type="atomic",
    ),
    mismatchLabelKeys=f(
        STRING_LIST,
        "Label keys whose values, taken from the incoming pod, must differ, ANDed into labelSelector.",
        list_type="atomic",
    ),
    namespaceSelector=f(LabelSelector, "Label query over the namespaces searched."),
    namespaces=f(
        STRING_LIST,
        "Namespaces searched, in addition to namespaceSelector; defaults to the pod's own.",
        list_type="atomic",
    ),
    topologyKey=f(
        STRING, "Node label whose value defines the topology domain, e.g. a zone.", required=True
    ),
)

WeightedPodAffinityTerm = struct(
    "io.k8s.api.core.v1.WeightedPodAffinityTerm",
    "Weighted pod (anti-)affinity preference.",
    podAffinityTerm=f(
        PodAffinityTerm, "The pod affinity term the weight applies to.", required=True
    ),
    weight=f(INT32, "Weight added to matching nodes' score, 1-100.", required=True),
)

PodAffinity = struct(
    "io.k8s.api.core.v1.PodAffinity",
    "Rules placing the pod near other pods.",
    preferredDuringSchedulingIgnoredDuringExecution=f(
        ArrayOf(WeightedPodAffinityTerm),
        "Co-location preferences that raise a node's score.",
        list_type="atomic",
    ),
    requiredDuringSchedulingIgnoredDuringExecution=f(
        ArrayOf(PodAffinityTerm),
        "Co-location requirements that must hold at scheduling time.",
        list_type="atomic",
    ),
)

PodAntiAffinity = struct(
    "io.k8s.api.core.v1.PodAntiAffinity",
    "Rules keeping the pod away from other pods.",
    preferredDuringSchedulingIgnoredDuringExecution=f(
        ArrayOf(WeightedPodAffinityTerm),
        "Separation preferences that raise a node's score.",
        list_type="atomic",
    ),
    requiredDuringSchedulingIgnoredDuringExecution=f(
        ArrayOf(PodAffinityTerm),
        "Separation requirements that must hold at scheduling time.",
        list_type="atomic",
    ),
)

Affinity = struct(
    "io.k8s.api.core.v1.Affinity",
    "Scheduling constraints of a pod.",
    nodeAffinity=f(NodeAffinity, "Constraints over nodes."),
    podAffinity=f(PodAffinity, "Constraints to run near other pods."),
    podAntiAffinity=f(PodAntiAffinity, "Constraints to run away from other pods."),
)

PodDNSConfigOption = struct(
    "io.k8s.api.core.v1.PodDNSConfigOption",
    "One resolver option.",
    name=f(STRING, 'Option name, e.g. "ndots".'),
    value=f(STRING, "Option value, if any."),
)

PodDNSConfig = struct(
    "io.k8s.api.core.v1.PodDNSConfig",
    "Extra DNS settings merged into the pod's resolver configuration.",
    nameservers=f(STRING_LIST, "Extra nameserver addresses.", list_type="atomic"),
    options=f(
        ArrayOf(PodDNSConfigOption),
        "Extra resolver options; later entries override same-named ones.",
        list_type="atomic",
    ),
    searches=f(STRING_LIST, "Extra search domains.", list_type="atomic"),
)

HostAlias = struct(
    "io.k8s.api.core.v1.HostAlias",
    "Entry added to the pod's /etc/hosts.",
    hostnames=f(STRING_LIST, "Host names for the address.", list_type="atomic"),
    ip=f(STRING, "IP address of the entry.", required=True),
)

PodOS = struct(
    "io.k8s.api.core.v1.PodOS",
    "Operating system the pod's containers need.",
    name=f(STRING, 'Operating system name: "linux" or "windows".', required=True),
)

PodReadinessGate = struct(
    "io.k8s.api.core.v1.PodReadinessGate",
    "Extra pod condition that must be true for the pod to be ready.",
    conditionType=f(STRING, "Type of a condition in the pod's status.conditions.", required=True),
)

PodResourceClaim = struct(
    "io.k8s.api.core.v1.PodResourceClaim",
    "Names a resource claim available to the pod's containers.",
    name=f(
        STRING, "Name of the entry, unique within the pod; containers refer to it.", required=True
    ),
    resourceClaimName=f(STRING, "Name of an existing ResourceClaim in the pod's namespace."),
    resourceClaimTemplateName=f(
        STRING, "Name of a ResourceClaimTemplate from which a claim is made for this pod."
    ),
)

PodSchedulingGate = struct(
    "io.k8s.api.core.v1.PodSchedulingGate",
    "Gate that must be removed before the pod can be scheduled.",
    name=f(STRING, "Gate name, unique within the pod.", required=True),
)

Sysctl = struct(
    "io.k8s.api.core.v1.Sysctl",
    "One namespaced kernel parameter.",
    name=f(STRING, "Parameter name.", required=True),
    value=f(STRING, "Parameter value.", required=True),
)

PodSecurityContext = struct(
    "io.k8s.api.core.v1.PodSecurityContext",
    "Pod-wide security settings and defaults for its containers.",
    appArmorProfile=f(AppArmorProfile, "AppArmor profile for all containers."),
    fsGroup=f(INT64, "Supplementary GID owning supported volumes and added to every container."),
    fsGroupChangePolicy=f(
        STRING, 'When volume ownership is changed: "OnRootMismatch" or "Always".'
    ),
    runAsGroup=f(INT64, "Default GID for container processes."),
    runAsNonRoot=f(BOOL, "Refuse to start containers that would run as UID 0."),
    runAsUser=f(INT64, "Default UID for container processes."),
    seLinuxChangePolicy=f(
        STRING, 'How volumes get their SELinux label: "MountOption" or "Recursive".'
    ),
    seLinuxOptions=f(SELinuxOptions, "Default SELinux context for all containers."),
    seccompProfile=f(SeccompProfile, "Default seccomp profile for all containers."),
    supplementalGroups=f(
        ArrayOf(INT64),
        "Extra GIDs given to the first process of each container.",
        list_type="atomic",
    ),
    supplementalGroupsPolicy=f(
        STRING, 'How supplementary groups are computed: "Merge" or "Strict".'
    ),
    sysctls=f(ArrayOf(Sysctl), "Namespaced kernel parameters set for the pod.", list_type="atomic"),
    windowsOptions=f(WindowsSecurityContextOptions, "Default Windows-specific settings."),
)

Toleration = struct(
    "io.k8s.api.core.v1.Toleration",
    "Lets the pod be scheduled onto (or stay on) nodes with a matching taint.",
    effect=f(STRING, "Taint effect to match; empty matches all effects."),
    key=f(STRING, "Taint key to match; empty with operator Exists matches every taint."),
    operator=f(STRING, '"Exists" or "Equal" (default).'),
    tolerationSeconds=f(
        INT64, "For NoExecute taints, how long the pod stays bound after the taint appears."
    ),
    value=f(STRING, "Taint value to match with operator Equal."),
)

TopologySpreadConstraint = struct(
    "io.k8s.api.core.v1.TopologySpreadConstraint",
    "Rule for spreading matching pods across topology domains.",
    labelSelector=f(LabelSelector, "Label query over the pods counted in each domain."),
    matchLabelKeys=f(
        STRING_LIST,
        "Label keys whose values, taken from the incoming pod, narrow labelSelector.",
        list_type="atomic",
    ),
    maxSkew=f(INT32, "Largest allowed difference in matching pods between domains.", required=True),
    minDomains=f(INT32, "Minimum number of eligible domains assumed when computing skew."),
    nodeAffinityPolicy=f(STRING, 'Whether node affinity filters the domains: "Honor" or "Ignore".'),
    nodeTaintsPolicy=f(STRING, 'Whether node taints filter the domains: "Honor" or "Ignore".'),
    topologyKey=f(STRING, "Node label whose value defines a domain.", required=True),
    whenUnsatisfiable=f(
        STRING, '"DoNotSchedule" or "ScheduleAnyway" when the skew cannot be met.', required=True
    ),
)

PodSpec = struct(
    "io.k8s.api.core.v1.PodSpec",
    "Desired state of a pod.",
    activeDeadlineSeconds=f(INT64, "Seconds the pod may be active before the kubelet fails it."),
    affinity=f(Affinity, "Scheduling constraints."),
    automountServiceAccountToken=f(
        BOOL, "Whether the service account token is mounted automatically."
    ),
    containers=f(
        ArrayOf(Container),
        "Application containers; at least one is required.",
        required=True,
        merge_key="name",
        strategy="merge",
        list_type="map",
        map_keys=("name",),
    ),
    dnsConfig=f(PodDNSConfig, "Extra DNS settings."),
    dnsPolicy=f(
        enum("ClusterFirst", "ClusterFirstWithHostNet", "Default", "None"),
        "DNS policy: ClusterFirst (default), ClusterFirstWithHostNet, Default or None.",
    ),
    enableServiceLinks=f(
        BOOL,
        "Whether service environment variables (Docker link style) are injected; defaults to true.",
    ),
    ephemeralContainers=f(
        ArrayOf(EphemeralContainer),
        "Debug containers added to the running pod.",
        merge_key="name",
        strategy="merge",
        list_type="map",
        map_keys=("name",),
    ),
    hostAliases=f(
        ArrayOf(HostAlias),
        "Extra /etc/hosts entries.",
        merge_key="ip",
        strategy="merge",
        list_type="map",
        map_keys=("ip",),
    ),
    hostIPC=f(BOOL, "Use the node's IPC namespace."),
    hostNetwork=f(BOOL, "Use the node's network namespace."),
    hostPID=f(BOOL, "Use the node's PID namespace."),
    hostUsers=f(BOOL, "Use the node's user namespace; false gives the pod its own."),
    hostname=f(STRING, "Host name of the pod; defaults to the pod name."),
    imagePullSecrets=f(
        ArrayOf(LocalObjectReference),
        "Secrets in the namespace used to pull images.",
        merge_key="name",
        strategy="merge",
        list_type="map",
        map_keys=("name",),
    ),
    initContainers=f(
        ArrayOf(Container),
        "Containers run in order before the application containers start.",
        merge_key="name",
        strategy="merge",
        list_type="map",
        map_keys=("name",),
    ),
    nodeName=f(STRING, "Node the pod is bound to; normally set by the scheduler."),
    nodeSelector=f(STRING_MAP, "Node labels the pod's node must have."),
    os=f(PodOS, "Operating system the pod needs."),
    overhead=f(
        MapOf(QUANTITY), "Resources consumed by the pod sandbox, set from the RuntimeClass."
    ),
    preemptionPolicy=f(
        STRING, "Whether the pod may preempt lower-priority pods: PreemptLowerPriority or Never."
    ),
    priority=f(INT32, "Priority value, resolved from priorityClassName."),
    priorityClassName=f(STRING, "Name of the pod's PriorityClass."),
    readinessGates=f(
        ArrayOf(PodReadinessGate), "Extra conditions required for readiness.", list_type="atomic"
    ),
    resourceClaims=f(
        ArrayOf(PodResourceClaim),
        "Resource claims the pod's containers may use.",
        merge_key="name",
        strategy="merge,retainKeys",
        list_type="map",
        map_keys=("name",),
    ),
    resources=f(ResourceRequirements, "Pod-level compute resources shared by all containers."),
    restartPolicy=f(
        enum("Always", "Never", "OnFailure"),
        "Restart policy of containers: Always (default), OnFailure or Never.",
    ),
    runtimeClassName=f(STRING, "RuntimeClass used to run the pod."),
    schedulerName=f(STRING, "Scheduler responsible for the pod."),
    schedulingGates=f(
        ArrayOf(PodSchedulingGate),
        "Gates that hold the pod back from scheduling.",
        merge_key="name",
        strategy="merge",
        list_type="map",
        map_keys=("name",),
    ),
    securityContext=f(PodSecurityContext, "Pod-wide security settings."),
    serviceAccount=f(STRING, "Deprecated alias of serviceAccountName."),
    serviceAccountName=f(STRING, "Service account the pod runs as."),
    setHostnameAsFQDN=f(BOOL, "Set the kernel host name to the pod's fully qualified domain name."),
    shareProcessNamespace=f(BOOL, "Share one PID namespace among all containers."),
    subdomain=f(
        STRING, 'Subdomain giving the pod a DNS name "<hostname>.<subdomain>.<ns>.svc.<zone>".'
    ),
    terminationGracePeriodSeconds=f(
        INT64, "Seconds given to the pod to stop gracefully; defaults to 30."
    ),
    tolerations=f(ArrayOf(Toleration), "Taints the pod tolerates.", list_type="atomic"),
    topologySpreadConstraints=f(
        ArrayOf(TopologySpreadConstraint),
        "Rules for spreading pods across topology domains.",
        merge_key="topologyKey",
        strategy="merge",
        list_type="map",
        map_keys=("topologyKey", "whenUnsatisfiable"),
    ),
    volumes=f(
        ArrayOf(Volume),
        "Volumes the containers can mount.",
        merge_key="name",
        strategy="merge,retainKeys",
        list_type="map",
        map_keys=("name",),
    ),
)

PodCondition = struct(
    "io.k8s.api.core.v1.PodCondition",
    "One aspect of a pod's current state.",
    lastProbeTime=f(TIME, "When the condition was last probed."),
    lastTransitionTime=f(TIME, "When the condition last changed status."),
    message=f(STRING, "Human-readable details about the last transition."),
    observedGeneration=f(INT64, "metadata.generation the condition was set from."),
    reason=f(STRING, "CamelCase reason for the last transition."),
    status=f(STRING, '"True", "False" or "Unknown".', required=True),
    type=f(STRING, "Condition type, e.g. Ready or PodScheduled.", required=True),
)

HostIP = struct(
    "io.k8s.api.core.v1.HostIP",
    "One IP address of the node hosting the pod.",
    ip=f(STRING, "The IP address.", required=True),
)

PodIP = struct(
    "io.k8s.api.core.v1.PodIP",
    "One IP address allocated to the pod.",
    ip=f(STRING, "The IP address.", required=True),
)

PodResourceClaimStatus = struct(
    "io.k8s.api.core.v1.PodResourceClaimStatus",
    "Name of the ResourceClaim made for one pod claim entry.",
    name=f(STRING, "Name of the entry in spec.resourceClaims.", required=True),
    resourceClaimName=f(STRING, "Name of the generated ResourceClaim; unset when none was needed."),
)

PodStatus = struct(
    "io.k8s.api.core.v1.PodStatus",
    "Observed state of a pod.",
    conditions=f(
        ArrayOf(PodCondition),
        "Current conditions of the pod.",
        merge_key="type",
        strategy="merge",
        list_type="map",
        map_keys=("type",),
    ),
    containerStatuses=f(
        ArrayOf(ContainerStatus), "Status of each application container.", list_type="atomic"
    ),
    ephemeralContainerStatuses=f(
        ArrayOf(ContainerStatus), "Status of each ephemeral container.", list_type="atomic"
    ),
    hostIP=f(STRING, "Primary IP address of the node; empty until the pod is bound."),
    hostIPs=f(
        ArrayOf(HostIP),
        "IP addresses of the node, primary first.",
        merge_key="ip",
        strategy="merge",
        list_type="atomic",
    ),
    initContainerStatuses=f(
        ArrayOf(ContainerStatus), "Status of each init container.", list_type="atomic"
    ),
    message=f(STRING, "Human-readable details about the pod's state."),
    nominatedNodeName=f(STRING, "Node on which preemption is making room for the pod."),
    observedGeneration=f(INT64, "metadata.generation the status was computed from."),
    phase=f(
        enum("Failed", "Pending", "Running", "Succeeded", "Unknown"),
        "Summary of the pod's lifecycle: Pending, Running, Succeeded, Failed or Unknown.",
    ),
    podIP=f(STRING, "Primary IP address of the pod."),
    podIPs=f(
        ArrayOf(PodIP),
        "IP addresses of the pod, at most one per family, primary first.",
        merge_key="ip",
        strategy="merge",
        list_type="map",
        map_keys=("ip",),
    ),
    qosClass=f(STRING, "Quality of service class: Guaranteed, Burstable or BestEffort."),
    reason=f(STRING, 'Short CamelCase reason for the pod\'s state, e.g. "Evicted".'),
    resize=f(STRING, "Deprecated status of a pending in-place resize."),
    resourceClaimStatuses=f(
        ArrayOf(PodResourceClaimStatus),
        "Generated ResourceClaim names for the pod's claim entries.",
        merge_key="name",
        strategy="merge,retainKeys",
        list_type="map",
        map_keys=("name",),
    ),
    startTime=f(TIME, "When the kubelet accepted the pod, before image pulls."),
)

Pod = struct(
    "io.k8s.api.core.v1.Pod",
    "A group of containers scheduled together onto one node.",
    apiVersion=f(STRING, 'Versioned schema of this object, e.g. "v1" or "apps/v1".'),
    kind=f(STRING, 'REST kind of this object in CamelCase, e.g. "Pod".'),
    metadata=f(
        OBJECT_META_REF, "Standard object metadata: name, namespace, labels, annotations and so on."
    ),
    spec=f(PodSpec, "Desired behaviour of the pod."),
    status=f(PodStatus, "Most recently observed state of the pod; read-only."),
)

PodTemplateSpec = struct(
    "io.k8s.api.core.v1.PodTemplateSpec",
    "Template from which pods are created.",
    metadata=f(OBJECT_META_REF, "Metadata given to created pods."),
    spec=f(PodSpec, "Specification of created pods."),
)
