"""core/v1 containers: Container, EphemeralContainer and ContainerStatus.

Also their environment, probes, lifecycle hooks, ports, resources, security
context and volume mounts.

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
    QUANTITY,
    STRING,
    STRING_LIST,
    TIME,
    ArrayOf,
    MapOf,
    enum,
    f,
    struct,
)
from svcnet.api.types.core_volume import (
    ObjectFieldSelector,
    ResourceFieldSelector,
)

ConfigMapKeySelector = struct(
    "io.k8s.api.core.v1.ConfigMapKeySelector",
    "Selects one key of a ConfigMap.",
    key=f(STRING, "Key to select.", required=True),
    name=f(STRING, "Name of the ConfigMap in the pod's namespace."),
    optional=f(BOOL, "Whether the ConfigMap or key may be missing."),
)

SecretKeySelector = struct(
    "io.k8s.api.core.v1.SecretKeySelector",
    "Selects one key of a Secret.",
    key=f(STRING, "Key to select.", required=True),
    name=f(STRING, "Name of the Secret in the pod's namespace."),
    optional=f(BOOL, "Whether the Secret or key may be missing."),
)

EnvVarSource = struct(
    "io.k8s.api.core.v1.EnvVarSource",
    "Where an environment variable takes its value from; exactly one member is set.",
    configMapKeyRef=f(ConfigMapKeySelector, "A key of a ConfigMap."),
    fieldRef=f(ObjectFieldSelector, "A field of the pod, e.g. metadata.name or status.podIP."),
    resourceFieldRef=f(ResourceFieldSelector, "A resource request or limit of the container."),
    secretKeyRef=f(SecretKeySelector, "A key of a Secret."),
)

EnvVar = struct(
    "io.k8s.api.core.v1.EnvVar",
    "One environment variable of a container.",
    name=f(STRING, "Variable name.", required=True),
    value=f(STRING, "Literal value; $(VAR) references to earlier variables are expanded."),
    valueFrom=f(EnvVarSource, "Source of the value when it is not given literally."),
)

ConfigMapEnvSource = struct(
    "io.k8s.api.core.v1.ConfigMapEnvSource",
    "Imports every key of a ConfigMap as environment variables.",
    name=f(STRING, "Name of the ConfigMap."),
    optional=f(BOOL, "Whether the ConfigMap may be missing."),
)

SecretEnvSource = struct(
    "io.k8s.api.core.v1.SecretEnvSource",
    "Imports every key of a Secret as environment variables.",
    name=f(STRING, "Name of the Secret."),
    optional=f(BOOL, "Whether the Secret may be missing."),
)

EnvFromSource = struct(
    "io.k8s.api.core.v1.EnvFromSource",
    "Bulk source of environment variables.",
    configMapRef=f(ConfigMapEnvSource, "ConfigMap whose keys become variables."),
    prefix=f(STRING, "Prefix prepended to every imported variable name."),
    secretRef=f(SecretEnvSource, "Secret whose keys become variables."),
)

ExecAction = struct(
    "io.k8s.api.core.v1.ExecAction",
    "Runs a command inside the container.",
    command=f(
        STRING_LIST,
        "Command line, run directly rather than through a shell; exit status 0 means success.",
        list_type="atomic",
    ),
)

HTTPHeader = struct(
    "io.k8s.api.core.v1.HTTPHeader",
    "One header of an HTTP probe request.",
    name=f(STRING, "Header name.", required=True),
    value=f(STRING, "Header value.", required=True),
)

HTTPGetAction = struct(
    "io.k8s.api.core.v1.HTTPGetAction",
    "Performs an HTTP GET request.",
    host=f(STRING, "Host to connect to; defaults to the pod IP."),
    httpHeaders=f(ArrayOf(HTTPHeader), "Extra request headers.", list_type="atomic"),
    path=f(STRING, "Path to request."),
    port=f(INT_OR_STRING, "Port number or named container port to connect to.", required=True),
    scheme=f(enum("HTTP", "HTTPS"), "Scheme to use: HTTP (default) or HTTPS."),
)

SleepAction = struct(
    "io.k8s.api.core.v1.SleepAction",
    "Pauses for a while.",
    seconds=f(INT64, "Number of seconds to sleep.", required=True),
)

TCPSocketAction = struct(
    "io.k8s.api.core.v1.TCPSocketAction",
    "Opens a TCP connection.",
    host=f(STRING, "Host to connect to; defaults to the pod IP."),
    port=f(INT_OR_STRING, "Port number or named container port to connect to.", required=True),
)

LifecycleHandler = struct(
    "io.k8s.api.core.v1.LifecycleHandler",
    "Action run at a container lifecycle hook; exactly one member is set.",
    exec=f(ExecAction, "Command to run."),
    httpGet=f(HTTPGetAction, "HTTP request to send."),
    sleep=f(SleepAction, "Time to pause."),
    tcpSocket=f(TCPSocketAction, "Deprecated; accepted only for backward compatibility."),
)

Lifecycle = struct(
    "io.k8s.api.core.v1.Lifecycle",
    "Actions the kubelet runs around container start and stop.",
    postStart=f(LifecycleHandler, "Handler run right after the container is created."),
    preStop=f(LifecycleHandler, "Handler run before the container is terminated."),
    stopSignal=f(STRING, "Signal used to stop the container, overriding the image's default."),
)

GRPCAction = struct(
    "io.k8s.api.core.v1.GRPCAction",
    "Calls the gRPC health checking service.",
    port=f(INT32, "Port number of the gRPC service.", required=True),
    service=f(STRING, "Service name sent in the health check request."),
)

Probe = struct(
    "io.k8s.api.core.v1.Probe",
    "Periodic health check of a container.",
    exec=f(ExecAction, "Command to run."),
    failureThreshold=f(
        INT32, "Consecutive failures after which the probe counts as failed; defaults to 3."
    ),
    grpc=f(GRPCAction, "gRPC health check to call."),
    httpGet=f(HTTPGetAction, "HTTP request to send."),
    initialDelaySeconds=f(INT32, "Seconds after container start before the first probe."),
    periodSeconds=f(INT32, "Seconds between probes; defaults to 10."),
    successThreshold=f(INT32, "Consecutive successes needed after a failure; defaults to 1."),
    tcpSocket=f(TCPSocketAction, "TCP connection to open."),
    terminationGracePeriodSeconds=f(
        INT64, "Grace period used when a failing probe kills the container, overriding the pod's."
    ),
    timeoutSeconds=f(INT32, "Seconds after which a probe attempt times out; defaults to 1."),
)

ContainerPort = struct(
    "io.k8s.api.core.v1.ContainerPort",
    "One network port a container listens on.",
    containerPort=f(INT32, "Port number on the pod's IP address.", required=True),
    hostIP=f(STRING, "Host address to bind an exposed host port to."),
    hostPort=f(INT32, "Port number exposed on the node; rarely needed."),
    name=f(STRING, "IANA_SVC_NAME unique within the pod, usable by services as a target port."),
    protocol=f(enum("SCTP", "TCP", "UDP"), "UDP, TCP or SCTP; defaults to TCP."),
)

ContainerResizePolicy = struct(
    "io.k8s.api.core.v1.ContainerResizePolicy",
    "How a container reacts to an in-place change of one resource.",
    resourceName=f(
        STRING, 'Resource the policy applies to, e.g. "cpu" or "memory".', required=True
    ),
    restartPolicy=f(STRING, '"NotRequired" or "RestartContainer".', required=True),
)

ResourceClaim = struct(
    "io.k8s.api.core.v1.ResourceClaim",
    "Makes one of the pod's resource claims available to a container.",
    name=f(STRING, "Name of an entry in the pod's spec.resourceClaims.", required=True),
    request=f(STRING, "Name of a single request within the claim; empty means the whole claim."),
)

ResourceRequirements = struct(
    "io.k8s.api.core.v1.ResourceRequirements",
    "Compute resources required by a container or pod.",
    claims=f(
        ArrayOf(ResourceClaim),
        "Resource claims (from pod spec.resourceClaims) used by this container.",
        list_type="map",
        map_keys=("name",),
    ),
    limits=f(MapOf(QUANTITY), "Maximum amount of each compute resource allowed."),
    requests=f(
        MapOf(QUANTITY), "Minimum amount of each compute resource required; used for scheduling."
    ),
)

AppArmorProfile = struct(
    "io.k8s.api.core.v1.AppArmorProfile",
    "AppArmor settings for a pod or container.",
    localhostProfile=f(STRING, "Name of a profile loaded on the node; for type Localhost only."),
    type=f(STRING, "Kind of profile: Localhost, RuntimeDefault or Unconfined.", required=True),
)

Capabilities = struct(
    "io.k8s.api.core.v1.Capabilities",
    "Linux capabilities to add to or drop from the container.",
    add=f(STRING_LIST, "Capabilities to add.", list_type="atomic"),
    drop=f(STRING_LIST, "Capabilities to remove.", list_type="atomic"),
)

SELinuxOptions = struct(
    "io.k8s.api.core.v1.SELinuxOptions",
    "SELinux label applied to a container.",
    level=f(STRING, "SELinux level."),
    role=f(STRING, "SELinux role."),
    type=f(STRING, "SELinux type."),
    user=f(STRING, "SELinux user."),
)

SeccompProfile = struct(
    "io.k8s.api.core.v1.SeccompProfile",
    "Seccomp settings for a pod or container.",
    localhostProfile=f(
        STRING, "Profile file under the kubelet's seccomp directory; for type Localhost only."
    ),
    type=f(STRING, "Kind of profile: Localhost, RuntimeDefault or Unconfined.", required=True),
)

WindowsSecurityContextOptions = struct(
    "io.k8s.api.core.v1.WindowsSecurityContextOptions",
    "Windows-specific security settings.",
    gmsaCredentialSpec=f(STRING, "Inline GMSA credential spec contents."),
    gmsaCredentialSpecName=f(STRING, "Name of the GMSA credential spec to use."),
    hostProcess=f(BOOL, "Run the container as a Windows HostProcess container."),
    runAsUserName=f(STRING, "Windows user to run the entrypoint as."),
)

SecurityContext = struct(
    "io.k8s.api.core.v1.SecurityContext",
    "Security settings of one container; they override the pod's where both are set.",
    allowPrivilegeEscalation=f(
        BOOL, "Whether a process may gain more privileges than its parent (no_new_privs)."
    ),
    appArmorProfile=f(AppArmorProfile, "AppArmor profile for the container."),
    capabilities=f(Capabilities, "Capabilities to add or drop."),
    privileged=f(BOOL, "Run as privileged, equivalent to root on the host."),
    procMount=f(STRING, 'Kind of /proc mount: "Default" or "Unmasked".'),
    readOnlyRootFilesystem=f(BOOL, "Mount the container's root filesystem read-only."),
    runAsGroup=f(INT64, "GID to run the entrypoint as."),
    runAsNonRoot=f(BOOL, "Refuse to start the container if it would run as UID 0."),
    runAsUser=f(INT64, "UID to run the entrypoint as."),
    seLinuxOptions=f(SELinuxOptions, "SELinux context for the container."),
    seccompProfile=f(SeccompProfile, "Seccomp profile for the container."),
    windowsOptions=f(WindowsSecurityContextOptions, "Windows-specific settings."),
)

VolumeDevice = struct(
    "io.k8s.api.core.v1.VolumeDevice",
    "Maps a raw block volume into the container.",
    devicePath=f(STRING, "Path in the container where the device appears.", required=True),
    name=f(STRING, "Name of a persistent volume claim volume of the pod.", required=True),
)

VolumeMount = struct(
    "io.k8s.api.core.v1.VolumeMount",
    "Mounts a pod volume into a container.",
    mountPath=f(STRING, "Path in the container to mount at; must not contain ':'.", required=True),
    mountPropagation=f(
        STRING,
        "How mounts propagate between host and container: None, HostToContainer or Bidirectional.",
    ),
    name=f(STRING, "Name of the pod volume to mount.", required=True),
    readOnly=f(BOOL, "Mount read-only."),
    recursiveReadOnly=f(
        STRING,
        "Whether a read-only mount is made recursively read-only: Disabled, IfPossible or Enabled.",
    ),
    subPath=f(STRING, "Path inside the volume to mount instead of its root."),
    subPathExpr=f(
        STRING, "Like subPath, with $(VAR) references to the container's environment expanded."
    ),
)

Container = struct(
    "io.k8s.api.core.v1.Container",
    "One application container of a pod.",
    args=f(
        STRING_LIST,
        "Arguments to the entrypoint; the image's CMD is used when empty.",
        list_type="atomic",
    ),
    command=f(
        STRING_LIST,
        "Entrypoint array, not run in a shell; the image's ENTRYPOINT is used when empty.",
        list_type="atomic",
    ),
    env=f(
        ArrayOf(EnvVar),
        "Environment variables to set.",
        merge_key="name",
        strategy="merge",
        list_type="map",
        map_keys=("name",),
    ),
    envFrom=f(
        ArrayOf(EnvFromSource),
        "Sources whose keys become environment variables; explicit env entries win.",
        list_type="atomic",
    ),
    image=f(STRING, "Container image name."),
    imagePullPolicy=f(
        enum("Always", "IfNotPresent", "Never"),
        "When to pull the image: Always, Never or IfNotPresent.",
    ),
    lifecycle=f(Lifecycle, "Actions run after start and before stop."),
    livenessProbe=f(Probe, "Probe whose failure restarts the container."),
    name=f(STRING, "Name of the container, unique within the pod; a DNS label.", required=True),
    ports=f(
        ArrayOf(ContainerPort),
        "Ports the container exposes; informational but used for named ports.",
        merge_key="containerPort",
        strategy="merge",
        list_type="map",
        map_keys=("containerPort", "protocol"),
    ),
    readinessProbe=f(Probe, "Probe whose failure removes the pod from service endpoints."),
    resizePolicy=f(
        ArrayOf(ContainerResizePolicy),
        "How the container reacts to in-place resource changes.",
        list_type="atomic",
    ),
    resources=f(ResourceRequirements, "Compute resources the container needs."),
    restartPolicy=f(
        STRING,
        'For init containers only: "Always" makes it a sidecar that runs for the pod\'s lifetime.',
    ),
    securityContext=f(SecurityContext, "Security settings of the container."),
    startupProbe=f(Probe, "Probe that must succeed before the other probes start."),
    stdin=f(BOOL, "Allocate a stdin buffer for the container."),
    stdinOnce=f(BOOL, "Close stdin after the first attached client disconnects."),
    terminationMessagePath=f(STRING, "File whose contents become the termination message."),
    terminationMessagePolicy=f(
        enum("FallbackToLogsOnError", "File"),
        "Where the termination message comes from: File or FallbackToLogsOnError.",
    ),
    tty=f(BOOL, "Allocate a TTY; needs stdin."),
    volumeDevices=f(
        ArrayOf(VolumeDevice),
        "Raw block devices to map into the container.",
        merge_key="devicePath",
        strategy="merge",
        list_type="map",
        map_keys=("devicePath",),
    ),
    volumeMounts=f(
        ArrayOf(VolumeMount),
        "Pod volumes to mount into the container's filesystem.",
        merge_key="mountPath",
        strategy="merge",
        list_type="map",
        map_keys=("mountPath",),
    ),
    workingDir=f(STRING, "Working directory of the entrypoint."),
)

EphemeralContainer = struct(
    "io.k8s.api.core.v1.EphemeralContainer",
    "Temporary container added to a running pod for debugging.",
    args=f(
        STRING_LIST,
        "Arguments to the entrypoint; the image's CMD is used when empty.",
        list_type="atomic",
    ),
    command=f(
        STRING_LIST,
        "Entrypoint array, not run in a shell; the image's ENTRYPOINT is used when empty.",
        list_type="atomic",
    ),
    env=f(
        ArrayOf(EnvVar),
        "Environment variables to set.",
        merge_key="name",
        strategy="merge",
        list_type="map",
        map_keys=("name",),
    ),
    envFrom=f(
        ArrayOf(EnvFromSource),
        "Sources whose keys become environment variables; explicit env entries win.",
        list_type="atomic",
    ),
    image=f(STRING, "Container image name."),
    imagePullPolicy=f(
        enum("Always", "IfNotPresent", "Never"),
        "When to pull the image: Always, Never or IfNotPresent.",
    ),
    lifecycle=f(Lifecycle, "Not allowed for ephemeral containers."),
    livenessProbe=f(Probe, "Not allowed for ephemeral containers."),
    name=f(
        STRING,
        "Name of the ephemeral container, unique among all containers of the pod.",
        required=True,
    ),
    ports=f(
        ArrayOf(ContainerPort),
        "Not allowed for ephemeral containers.",
        merge_key="containerPort",
        strategy="merge",
        list_type="map",
        map_keys=("containerPort", "protocol"),
    ),
    readinessProbe=f(Probe, "Not allowed for ephemeral containers."),
    resizePolicy=f(
        ArrayOf(ContainerResizePolicy), "Not allowed for ephemeral containers.", list_type="atomic"
    ),
    resources=f(
        ResourceRequirements, "Not allowed; ephemeral containers use the pod's spare resources."
    ),
    restartPolicy=f(STRING, "Not allowed for ephemeral containers."),
    securityContext=f(SecurityContext, "Security settings of the container."),
    startupProbe=f(Probe, "Not allowed for ephemeral containers."),
    stdin=f(BOOL, "Allocate a stdin buffer for the container."),
    stdinOnce=f(BOOL, "Close stdin after the first attached client disconnects."),
    targetContainerName=f(STRING, "Container whose namespaces (IPC, PID, ...) this one joins."),
    terminationMessagePath=f(STRING, "File whose contents become the termination message."),
    terminationMessagePolicy=f(
        enum("FallbackToLogsOnError", "File"),
        "Where the termination message comes from: File or FallbackToLogsOnError.",
    ),
    tty=f(BOOL, "Allocate a TTY; needs stdin."),
    volumeDevices=f(
        ArrayOf(VolumeDevice),
        "Raw block devices to map into the container.",
        merge_key="devicePath",
        strategy="merge",
        list_type="map",
        map_keys=("devicePath",),
    ),
    volumeMounts=f(
        ArrayOf(VolumeMount),
        "Pod volumes to mount; subPath is not allowed.",
        merge_key="mountPath",
        strategy="merge",
        list_type="map",
        map_keys=("mountPath",),
    ),
    workingDir=f(STRING, "Working directory of the entrypoint."),
)

ResourceHealth = struct(
    "io.k8s.api.core.v1.ResourceHealth",
    "Health of one device allocated to a container.",
    health=f(STRING, "Health state: Healthy, Unhealthy or Unknown."),
    resourceID=f(STRING, "Unique ID of the device within its resource.", required=True),
)

ResourceStatus = struct(
    "io.k8s.api.core.v1.ResourceStatus",
    "Health of the devices backing one resource of a container.",
    name=f(
        STRING,
        'Resource name, e.g. an extended resource or "claim:<claim>/<request>".',
        required=True,
    ),
    resources=f(
        ArrayOf(ResourceHealth),
        "Health of each allocated device.",
        list_type="map",
        map_keys=("resourceID",),
    ),
)

ContainerStateRunning = struct(
    "io.k8s.api.core.v1.ContainerStateRunning",
    "The container is running.",
    startedAt=f(TIME, "When the container last (re)started."),
)

ContainerStateTerminated = struct(
    "io.k8s.api.core.v1.ContainerStateTerminated",
    "The container ran and exited.",
    containerID=f(STRING, "ID of the container in the runtime."),
    exitCode=f(INT32, "Exit status of the last run.", required=True),
    finishedAt=f(TIME, "When the container last exited."),
    message=f(STRING, "Message about the termination."),
    reason=f(STRING, "Short reason for the termination."),
    signal=f(INT32, "Signal that killed the container, if any."),
    startedAt=f(TIME, "When the last run started."),
)

ContainerStateWaiting = struct(
    "io.k8s.api.core.v1.ContainerStateWaiting",
    "The container is not running yet.",
    message=f(STRING, "Message about why it is waiting."),
    reason=f(STRING, 'Short reason it is waiting, e.g. "ImagePullBackOff".'),
)

ContainerState = struct(
    "io.k8s.api.core.v1.ContainerState",
    "State of a container; exactly one member is set.",
    running=f(ContainerStateRunning, "Details when running."),
    terminated=f(ContainerStateTerminated, "Details when terminated."),
    waiting=f(ContainerStateWaiting, "Details when waiting; the default."),
)

LinuxContainerUser = struct(
    "io.k8s.api.core.v1.LinuxContainerUser",
    "Identity of a container's first process on Linux.",
    gid=f(INT64, "Primary GID.", required=True),
    supplementalGroups=f(ArrayOf(INT64), "Supplementary GIDs.", list_type="atomic"),
    uid=f(INT64, "UID.", required=True),
)

ContainerUser = struct(
    "io.k8s.api.core.v1.ContainerUser",
    "Identity of a container's first process.",
    linux=f(LinuxContainerUser, "Linux identity."),
)

VolumeMountStatus = struct(
    "io.k8s.api.core.v1.VolumeMountStatus",
    "Observed state of one volume mount.",
    mountPath=f(STRING, "Path the volume is mounted at.", required=True),
    name=f(STRING, "Name of the mounted volume.", required=True),
    readOnly=f(BOOL, "Whether the mount is read-only."),
    recursiveReadOnly=f(STRING, "Whether the read-only mount is recursive: Disabled or Enabled."),
)

ContainerStatus = struct(
    "io.k8s.api.core.v1.ContainerStatus",
    "Observed state of one container of a pod.",
    allocatedResources=f(MapOf(QUANTITY), "Resources the node allocated to the container."),
    allocatedResourcesStatus=f(
        ArrayOf(ResourceStatus),
        "Health of the devices allocated to the container.",
        merge_key="name",
        strategy="merge",
        list_type="map",
        map_keys=("name",),
    ),
    containerID=f(STRING, 'Runtime ID of the container, e.g. "containerd://...".'),
    image=f(STRING, "Image the container is running.", required=True),
    imageID=f(STRING, "Digest of the image the container is running.", required=True),
    lastState=f(ContainerState, "Details of the container's previous termination."),
    name=f(STRING, "Name of the container from the pod spec.", required=True),
    ready=f(BOOL, "Whether the container passes its readiness probe.", required=True),
    resources=f(ResourceRequirements, "Resources the runtime actually applied to the container."),
    restartCount=f(INT32, "How many times the container has been restarted.", required=True),
    started=f(BOOL, "Whether the container passed its startup probe."),
    state=f(ContainerState, "Current state of the container."),
    stopSignal=f(STRING, "Signal that will be used to stop the container."),
    user=f(ContainerUser, "Identity the container's process runs as."),
    volumeMounts=f(
        ArrayOf(VolumeMountStatus),
        "Status of the container's volume mounts.",
        merge_key="mountPath",
        strategy="merge",
        list_type="map",
        map_keys=("mountPath",),
    ),
)
