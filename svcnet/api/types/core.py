"""core/v1 kinds other than Pod: Namespace, Service, Endpoints, Node, Event,
ConfigMap, Secret and ServiceAccount, with ObjectReference.

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
    BYTES,
    INT32,
    INT64,
    INT_OR_STRING,
    MICRO_TIME,
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
from svcnet.api.types.core_volume import (
    LocalObjectReference,
)
from svcnet.api.types.meta import (
    OBJECT_META_REF,
    Condition,
)

NamespaceSpec = struct(
    "io.k8s.api.core.v1.NamespaceSpec",
    "Desired state of a namespace.",
    finalizers=f(
        STRING_LIST,
        "Finalizers that must finish before the namespace is removed.",
        list_type="atomic",
    ),
)

NamespaceCondition = struct(
    "io.k8s.api.core.v1.NamespaceCondition",
    "One aspect of a namespace's current state.",
    lastTransitionTime=f(TIME, "When the condition last changed status."),
    message=f(STRING, "Human-readable details about the last transition."),
    reason=f(STRING, "CamelCase reason for the last transition."),
    status=f(STRING, '"True", "False" or "Unknown".', required=True),
    type=f(STRING, "Condition type, e.g. NamespaceDeletionContentFailure.", required=True),
)

NamespaceStatus = struct(
    "io.k8s.api.core.v1.NamespaceStatus",
    "Observed state of a namespace.",
    conditions=f(
        ArrayOf(NamespaceCondition),
        "Current conditions of the namespace.",
        merge_key="type",
        strategy="merge",
        list_type="map",
        map_keys=("type",),
    ),
    phase=f(enum("Active", "Terminating"), "Lifecycle phase: Active or Terminating."),
)

Namespace = struct(
    "io.k8s.api.core.v1.Namespace",
    "Scope for names; most objects live in one.",
    apiVersion=f(STRING, 'Versioned schema of this object, e.g. "v1" or "apps/v1".'),
    kind=f(STRING, 'REST kind of this object in CamelCase, e.g. "Pod".'),
    metadata=f(
        OBJECT_META_REF, "Standard object metadata: name, namespace, labels, annotations and so on."
    ),
    spec=f(NamespaceSpec, "Desired state, i.e. finalizers."),
    status=f(NamespaceStatus, "Observed state; read-only."),
)

ServicePort = struct(
    "io.k8s.api.core.v1.ServicePort",
    "One port a service exposes.",
    appProtocol=f(
        STRING,
        'Application protocol carried on the port, e.g. "http" or a prefixed name like "kubernetes.io/h2c".',
    ),
    name=f(
        STRING, "Port name, unique within the service; required when there is more than one port."
    ),
    nodePort=f(
        INT32, "Port on every node for NodePort and LoadBalancer services; allocated when unset."
    ),
    port=f(INT32, "Port number the service exposes.", required=True),
    protocol=f(enum("SCTP", "TCP", "UDP"), "IP protocol: TCP (default), UDP or SCTP."),
    targetPort=f(
        INT_OR_STRING,
        "Number or named container port the traffic is sent to on the pods; defaults to port.",
    ),
)

ClientIPConfig = struct(
    "io.k8s.api.core.v1.ClientIPConfig",
    "Settings of client IP based session affinity.",
    timeoutSeconds=f(INT32, "Seconds a session sticks to an endpoint, 1-86400; defaults to 10800."),
)

SessionAffinityConfig = struct(
    "io.k8s.api.core.v1.SessionAffinityConfig",
    "Session affinity settings.",
    clientIP=f(ClientIPConfig, "Settings for ClientIP affinity."),
)

ServiceSpec = struct(
    "io.k8s.api.core.v1.ServiceSpec",
    "Desired state of a service.",
    allocateLoadBalancerNodePorts=f(
        BOOL, "Whether LoadBalancer services get node ports allocated; defaults to true."
    ),
    clusterIP=f(
        STRING,
        'Primary virtual IP of the service, "None" for a headless service; allocated when unset.',
    ),
    clusterIPs=f(
        STRING_LIST,
        "Virtual IPs of the service, at most one per family, primary first.",
        list_type="atomic",
    ),
    externalIPs=f(
        STRING_LIST,
        "Extra IP addresses on which the cluster accepts traffic for the service.",
        list_type="atomic",
    ),
    externalName=f(STRING, "DNS name returned as a CNAME for ExternalName services."),
    externalTrafficPolicy=f(
        enum("Cluster", "Local"),
        "Routing of external traffic: Cluster (any node) or Local (node-local endpoints, source IP kept).",
    ),
    healthCheckNodePort=f(
        INT32, "Node port serving health checks for Local external traffic policy."
    ),
    internalTrafficPolicy=f(
        enum("Cluster", "Local"),
        "Routing of in-cluster traffic: Cluster or Local (node-local endpoints only).",
    ),
    ipFamilies=f(
        ArrayOf(enum("IPv4", "IPv6")),
        "IP families assigned to the service, primary first.",
        list_type="atomic",
    ),
    ipFamilyPolicy=f(
        enum("PreferDualStack", "RequireDualStack", "SingleStack"),
        "Dual-stack requirement: SingleStack, PreferDualStack or RequireDualStack.",
    ),
    loadBalancerClass=f(STRING, "Load balancer implementation that should handle the service."),
    loadBalancerIP=f(STRING, "Deprecated request for a specific load balancer address."),
    loadBalancerSourceRanges=f(
        STRING_LIST, "Client CIDRs allowed through the cloud load balancer.", list_type="atomic"
    ),
    ports=f(
        ArrayOf(ServicePort),
        "Ports exposed by the service.",
        merge_key="port",
        strategy="merge",
        list_type="map",
        map_keys=("port", "protocol"),
    ),
    publishNotReadyAddresses=f(BOOL, "Publish endpoints of pods that are not ready."),
    selector=f(
        STRING_MAP,
        "Labels of the pods receiving the traffic; when empty, endpoints are managed externally.",
    ),
    sessionAffinity=f(enum("ClientIP", "None"), "Session stickiness: None (default) or ClientIP."),
    sessionAffinityConfig=f(SessionAffinityConfig, "Settings of the session affinity."),
    trafficDistribution=f(
        STRING, 'Preference for how traffic is spread over endpoints, e.g. "PreferClose".'
    ),
    type=f(
        enum("ClusterIP", "ExternalName", "LoadBalancer", "NodePort"),
        "How the service is exposed: ClusterIP (default), NodePort, LoadBalancer or ExternalName.",
    ),
)

PortStatus = struct(
    "io.k8s.api.core.v1.PortStatus",
    "Observed status of one load balancer port.",
    error=f(STRING, "Problem with the port in CamelCase, empty when fine."),
    port=f(INT32, "Port number.", required=True),
    protocol=f(
        enum("SCTP", "TCP", "UDP"), "Protocol of the port: TCP, UDP or SCTP.", required=True
    ),
)

LoadBalancerIngress = struct(
    "io.k8s.api.core.v1.LoadBalancerIngress",
    "One entry point of a load balancer.",
    hostname=f(STRING, "DNS name of the entry point."),
    ip=f(STRING, "IP address of the entry point."),
    ipMode=f(STRING, 'How traffic reaches the nodes: "VIP" (to the address itself) or "Proxy".'),
    ports=f(ArrayOf(PortStatus), "Status of each port of the entry point.", list_type="atomic"),
)

LoadBalancerStatus = struct(
    "io.k8s.api.core.v1.LoadBalancerStatus",
    "Status of a load balancer.",
    ingress=f(
        ArrayOf(LoadBalancerIngress), "Entry points of the load balancer.", list_type="atomic"
    ),
)

ServiceStatus = struct(
    "io.k8s.api.core.v1.ServiceStatus",
    "Observed state of a service.",
    conditions=f(
        ArrayOf(Condition),
        "Current conditions of the service.",
        merge_key="type",
        strategy="merge",
        list_type="map",
        map_keys=("type",),
    ),
    loadBalancer=f(LoadBalancerStatus, "Status of the load balancer, if any."),
)

Service = struct(
    "io.k8s.api.core.v1.Service",
    "A named abstraction over a set of pods: a virtual IP, ports and a selector.",
    apiVersion=f(STRING, 'Versioned schema of this object, e.g. "v1" or "apps/v1".'),
    kind=f(STRING, 'REST kind of this object in CamelCase, e.g. "Pod".'),
    metadata=f(
        OBJECT_META_REF, "Standard object metadata: name, namespace, labels, annotations and so on."
    ),
    spec=f(ServiceSpec, "Desired behaviour of the service."),
    status=f(ServiceStatus, "Most recently observed state of the service; read-only."),
)

ObjectReference = struct(
    "io.k8s.api.core.v1.ObjectReference",
    "Reference to an object, possibly a field inside it.",
    apiVersion=f(STRING, "API version of the referent."),
    fieldPath=f(
        STRING, 'Field of the referent when only part of it is meant, e.g. "spec.containers{web}".'
    ),
    kind=f(STRING, "Kind of the referent."),
    name=f(STRING, "Name of the referent."),
    namespace=f(STRING, "Namespace of the referent."),
    resourceVersion=f(STRING, "Resource version of the referent the reference was made against."),
    uid=f(STRING, "UID of the referent."),
)

EndpointAddress = struct(
    "io.k8s.api.core.v1.EndpointAddress",
    "One endpoint address.",
    hostname=f(STRING, "Host name of the endpoint."),
    ip=f(STRING, "IP address of the endpoint.", required=True),
    nodeName=f(STRING, "Node hosting the endpoint."),
    targetRef=f(ObjectReference, "Object (usually a pod) behind the endpoint."),
)

EndpointPort = struct(
    "io.k8s.api.core.v1.EndpointPort",
    "One port of an endpoint set.",
    appProtocol=f(STRING, "Application protocol carried on the port."),
    name=f(STRING, "Port name, matching the service port's name."),
    port=f(INT32, "Port number.", required=True),
    protocol=f(enum("SCTP", "TCP", "UDP"), "IP protocol: TCP (default), UDP or SCTP."),
)

EndpointSubset = struct(
    "io.k8s.api.core.v1.EndpointSubset",
    "Addresses that all share the same ports.",
    addresses=f(ArrayOf(EndpointAddress), "Addresses that are ready.", list_type="atomic"),
    notReadyAddresses=f(
        ArrayOf(EndpointAddress), "Addresses that are not ready yet.", list_type="atomic"
    ),
    ports=f(ArrayOf(EndpointPort), "Ports available on every address.", list_type="atomic"),
)

Endpoints = struct(
    "io.k8s.api.core.v1.Endpoints",
    "Legacy list of a service's endpoints, superseded by EndpointSlice.",
    apiVersion=f(STRING, 'Versioned schema of this object, e.g. "v1" or "apps/v1".'),
    kind=f(STRING, 'REST kind of this object in CamelCase, e.g. "Pod".'),
    metadata=f(
        OBJECT_META_REF, "Standard object metadata: name, namespace, labels, annotations and so on."
    ),
    subsets=f(ArrayOf(EndpointSubset), "Groups of addresses with their ports.", list_type="atomic"),
)

ConfigMapNodeConfigSource = struct(
    "io.k8s.api.core.v1.ConfigMapNodeConfigSource",
    "Deprecated: ConfigMap holding kubelet configuration.",
    kubeletConfigKey=f(STRING, "Key of the ConfigMap holding the configuration.", required=True),
    name=f(STRING, "Name of the ConfigMap.", required=True),
    namespace=f(STRING, "Namespace of the ConfigMap.", required=True),
    resourceVersion=f(STRING, "Resource version of the ConfigMap, set in status."),
    uid=f(STRING, "UID of the ConfigMap, set in status."),
)

NodeConfigSource = struct(
    "io.k8s.api.core.v1.NodeConfigSource",
    "Deprecated: source of dynamic kubelet configuration.",
    configMap=f(ConfigMapNodeConfigSource, "ConfigMap holding the configuration."),
)

Taint = struct(
    "io.k8s.api.core.v1.Taint",
    "Marks a node so that pods not tolerating it are repelled.",
    effect=f(
        enum("NoExecute", "NoSchedule", "PreferNoSchedule"),
        "Effect on pods that do not tolerate the taint: NoSchedule, PreferNoSchedule or NoExecute.",
        required=True,
    ),
    key=f(STRING, "Taint key.", required=True),
    timeAdded=f(TIME, "When a NoExecute taint was added."),
    value=f(STRING, "Taint value."),
)

NodeSpec = struct(
    "io.k8s.api.core.v1.NodeSpec",
    "Desired state of a node.",
    configSource=f(NodeConfigSource, "Deprecated dynamic kubelet configuration source."),
    externalID=f(STRING, "Deprecated; not used."),
    podCIDR=f(STRING, "Primary pod IP range assigned to the node."),
    podCIDRs=f(
        STRING_LIST,
        "Pod IP ranges assigned to the node, at most one per family, primary first.",
        strategy="merge",
        list_type="set",
    ),
    providerID=f(STRING, "Cloud provider ID of the node."),
    taints=f(ArrayOf(Taint), "Taints of the node.", list_type="atomic"),
    unschedulable=f(BOOL, "Whether new pods are kept off the node (cordoned)."),
)

NodeAddress = struct(
    "io.k8s.api.core.v1.NodeAddress",
    "One address of a node.",
    address=f(STRING, "The address.", required=True),
    type=f(
        STRING,
        "Address type: Hostname, InternalIP, ExternalIP, InternalDNS or ExternalDNS.",
        required=True,
    ),
)

NodeCondition = struct(
    "io.k8s.api.core.v1.NodeCondition",
    "One aspect of a node's current state.",
    lastHeartbeatTime=f(TIME, "When the condition was last refreshed."),
    lastTransitionTime=f(TIME, "When the condition last changed status."),
    message=f(STRING, "Human-readable details about the last transition."),
    reason=f(STRING, "CamelCase reason for the last transition."),
    status=f(STRING, '"True", "False" or "Unknown".', required=True),
    type=f(STRING, "Condition type, e.g. Ready or MemoryPressure.", required=True),
)

NodeConfigStatus = struct(
    "io.k8s.api.core.v1.NodeConfigStatus",
    "Deprecated: status of dynamic kubelet configuration.",
    active=f(NodeConfigSource, "Configuration the node is running."),
    assigned=f(NodeConfigSource, "Configuration the node will try to use."),
    error=f(STRING, "Problem reconciling the configuration."),
    lastKnownGood=f(NodeConfigSource, "Configuration the node falls back to on error."),
)

DaemonEndpoint = struct(
    "io.k8s.api.core.v1.DaemonEndpoint",
    "Port a node daemon listens on.",
    Port=f(INT32, "Port number.", required=True),
)

NodeDaemonEndpoints = struct(
    "io.k8s.api.core.v1.NodeDaemonEndpoints",
    "Ports of daemons running on a node.",
    kubeletEndpoint=f(DaemonEndpoint, "Port of the kubelet."),
)

NodeFeatures = struct(
    "io.k8s.api.core.v1.NodeFeatures",
    "Optional features a node implements.",
    supplementalGroupsPolicy=f(
        BOOL, "Whether the node supports the supplementalGroupsPolicy pod setting."
    ),
)

ContainerImage = struct(
    "io.k8s.api.core.v1.ContainerImage",
    "An image present on a node.",
    names=f(STRING_LIST, "Names and digests of the image.", list_type="atomic"),
    sizeBytes=f(INT64, "Size of the image."),
)

NodeSwapStatus = struct(
    "io.k8s.api.core.v1.NodeSwapStatus",
    "Swap memory of a node.",
    capacity=f(INT64, "Total swap in bytes."),
)

NodeSystemInfo = struct(
    "io.k8s.api.core.v1.NodeSystemInfo",
    "Facts about a node's system.",
    architecture=f(STRING, "CPU architecture.", required=True),
    bootID=f(STRING, "ID of the current boot.", required=True),
    containerRuntimeVersion=f(
        STRING, 'Container runtime and version, e.g. "containerd://1.7.0".', required=True
    ),
    kernelVersion=f(STRING, "Kernel release.", required=True),
    kubeProxyVersion=f(STRING, "Deprecated kube-proxy version.", required=True),
    kubeletVersion=f(STRING, "Kubelet version.", required=True),
    machineID=f(STRING, "Machine ID (/etc/machine-id).", required=True),
    operatingSystem=f(STRING, "Operating system.", required=True),
    osImage=f(STRING, "Operating system image, e.g. distribution and release.", required=True),
    swap=f(NodeSwapStatus, "Swap memory information."),
    systemUUID=f(STRING, "System UUID reported by the hardware.", required=True),
)

NodeRuntimeHandlerFeatures = struct(
    "io.k8s.api.core.v1.NodeRuntimeHandlerFeatures",
    "Features a runtime handler supports.",
    recursiveReadOnlyMounts=f(BOOL, "Whether recursive read-only mounts are supported."),
    userNamespaces=f(BOOL, "Whether user namespaces are supported."),
)

NodeRuntimeHandler = struct(
    "io.k8s.api.core.v1.NodeRuntimeHandler",
    "A runtime handler available on a node.",
    features=f(NodeRuntimeHandlerFeatures, "Features of the handler."),
    name=f(STRING, "Handler name; empty for the default."),
)

AttachedVolume = struct(
    "io.k8s.api.core.v1.AttachedVolume",
    "A volume attached to a node.",
    devicePath=f(STRING, "Where the device is available on the node.", required=True),
    name=f(STRING, "Name of the attached volume.", required=True),
)

NodeStatus = struct(
    "io.k8s.api.core.v1.NodeStatus",
    "Observed state of a node.",
    addresses=f(
        ArrayOf(NodeAddress),
        "Addresses reachable on the node.",
        merge_key="type",
        strategy="merge",
        list_type="map",
        map_keys=("type",),
    ),
    allocatable=f(MapOf(QUANTITY), "Resources available to pods."),
    capacity=f(MapOf(QUANTITY), "Total resources of the node."),
    conditions=f(
        ArrayOf(NodeCondition),
        "Current conditions of the node.",
        merge_key="type",
        strategy="merge",
        list_type="map",
        map_keys=("type",),
    ),
    config=f(NodeConfigStatus, "Deprecated dynamic configuration status."),
    daemonEndpoints=f(NodeDaemonEndpoints, "Ports of daemons on the node."),
    features=f(NodeFeatures, "Optional features the node implements."),
    images=f(ArrayOf(ContainerImage), "Images present on the node.", list_type="atomic"),
    nodeInfo=f(NodeSystemInfo, "System facts about the node."),
    phase=f(STRING, "Deprecated lifecycle phase."),
    runtimeHandlers=f(
        ArrayOf(NodeRuntimeHandler), "Runtime handlers available on the node.", list_type="atomic"
    ),
    volumesAttached=f(ArrayOf(AttachedVolume), "Volumes attached to the node.", list_type="atomic"),
    volumesInUse=f(STRING_LIST, "Attached volumes currently in use.", list_type="atomic"),
)

Node = struct(
    "io.k8s.api.core.v1.Node",
    "A worker machine in the cluster.",
    apiVersion=f(STRING, 'Versioned schema of this object, e.g. "v1" or "apps/v1".'),
    kind=f(STRING, 'REST kind of this object in CamelCase, e.g. "Pod".'),
    metadata=f(
        OBJECT_META_REF, "Standard object metadata: name, namespace, labels, annotations and so on."
    ),
    spec=f(NodeSpec, "Desired behaviour of the node."),
    status=f(NodeStatus, "Most recently observed state of the node; read-only."),
)

EventSeries = struct(
    "io.k8s.api.core.v1.EventSeries",
    "Data about a series of repeated events.",
    count=f(INT32, "Number of occurrences in the series so far."),
    lastObservedTime=f(MICRO_TIME, "When the last occurrence was seen."),
)

EventSource = struct(
    "io.k8s.api.core.v1.EventSource",
    "Component that reported an event.",
    component=f(STRING, "Reporting component."),
    host=f(STRING, "Node the event was generated on."),
)

Event = struct(
    "io.k8s.api.core.v1.Event",
    "Report of something that happened to an object.",
    action=f(STRING, "What was done, or failed, regarding the involved object."),
    apiVersion=f(STRING, 'Versioned schema of this object, e.g. "v1" or "apps/v1".'),
    count=f(INT32, "Number of times the event occurred."),
    eventTime=f(MICRO_TIME, "When the event was first observed, with microsecond precision."),
    firstTimestamp=f(TIME, "When the event was first recorded."),
    involvedObject=f(ObjectReference, "Object the event is about.", required=True),
    kind=f(STRING, 'REST kind of this object in CamelCase, e.g. "Pod".'),
    lastTimestamp=f(TIME, "When the event most recently recurred."),
    message=f(STRING, "Human-readable description of the event."),
    metadata=f(
        OBJECT_META_REF,
        "Standard object metadata: name, namespace, labels, annotations and so on.",
        required=True,
    ),
    reason=f(STRING, 'Short CamelCase reason, e.g. "Scheduled".'),
    related=f(ObjectReference, "Secondary object involved in the event."),
    reportingComponent=f(STRING, 'Controller that emitted the event, e.g. "kubelet".'),
    reportingInstance=f(STRING, "Instance of the reporting controller, e.g. a node name."),
    series=f(EventSeries, "Data about a series of repeated events."),
    source=f(EventSource, "Component that reported the event."),
    type=f(STRING, "Event type: Normal or Warning."),
)

ConfigMap = struct(
    "io.k8s.api.core.v1.ConfigMap",
    "Non-secret configuration data for pods.",
    apiVersion=f(STRING, 'Versioned schema of this object, e.g. "v1" or "apps/v1".'),
    binaryData=f(MapOf(BYTES), "Binary values, base64 encoded; keys must not clash with data."),
    data=f(STRING_MAP, "UTF-8 string values."),
    immutable=f(BOOL, "When true, data cannot be changed after creation."),
    kind=f(STRING, 'REST kind of this object in CamelCase, e.g. "Pod".'),
    metadata=f(
        OBJECT_META_REF, "Standard object metadata: name, namespace, labels, annotations and so on."
    ),
)

Secret = struct(
    "io.k8s.api.core.v1.Secret",
    "Sensitive data such as passwords, tokens or keys.",
    apiVersion=f(STRING, 'Versioned schema of this object, e.g. "v1" or "apps/v1".'),
    data=f(MapOf(BYTES), "Values, base64 encoded."),
    immutable=f(BOOL, "When true, data cannot be changed after creation."),
    kind=f(STRING, 'REST kind of this object in CamelCase, e.g. "Pod".'),
    metadata=f(
        OBJECT_META_REF, "Standard object metadata: name, namespace, labels, annotations and so on."
    ),
    stringData=f(STRING_MAP, "Write-only plain-text values merged into data on write."),
    type=f(STRING, 'Secret type used for programmatic handling, e.g. "Opaque".'),
)

ServiceAccount = struct(
    "io.k8s.api.core.v1.ServiceAccount",
    "Identity for processes running in pods.",
    apiVersion=f(STRING, 'Versioned schema of this object, e.g. "v1" or "apps/v1".'),
    automountServiceAccountToken=f(
        BOOL, "Whether pods using this account mount its token by default."
    ),
    imagePullSecrets=f(
        ArrayOf(LocalObjectReference),
        "Secrets used to pull images for pods using this account.",
        list_type="atomic",
    ),
    kind=f(STRING, 'REST kind of this object in CamelCase, e.g. "Pod".'),
    metadata=f(
        OBJECT_META_REF, "Standard object metadata: name, namespace, labels, annotations and so on."
    ),
    secrets=f(
        ArrayOf(ObjectReference),
        "Deprecated: Secrets the account's pods may use.",
        merge_key="name",
        strategy="merge",
        list_type="map",
        map_keys=("name",),
    ),
)
