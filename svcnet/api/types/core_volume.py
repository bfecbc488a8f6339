"""core/v1 pod volume sources and the small references they share.

Every volume source of v1.33 is declared field by field, including the
deprecated in-tree cloud and network volume plugins, so manifests that still
use them are accepted and shown by `kubectl explain`.

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
    ArrayOf,
    MapOf,
    f,
    struct,
)
from svcnet.api.types.meta import (
    OBJECT_META_REF,
    LabelSelector,
)

AWSElasticBlockStoreVolumeSource = struct(
    "io.k8s.api.core.v1.AWSElasticBlockStoreVolumeSource",
    "Deprecated AWS EBS disk mounted into the pod (moved to a CSI driver).",
    fsType=f(STRING, 'Filesystem type to mount, e.g. "ext4".'),
    partition=f(INT32, "Partition number to mount; 0 or unset means the whole disk."),
    readOnly=f(BOOL, "Mount the disk read-only."),
    volumeID=f(STRING, "ID of the EBS volume.", required=True),
)

AzureDiskVolumeSource = struct(
    "io.k8s.api.core.v1.AzureDiskVolumeSource",
    "Deprecated Azure data disk mounted into the pod (moved to a CSI driver).",
    cachingMode=f(STRING, "Host caching mode: None, ReadOnly or ReadWrite."),
    diskName=f(STRING, "Name of the data disk in blob storage.", required=True),
    diskURI=f(STRING, "URI of the data disk in blob storage.", required=True),
    fsType=f(STRING, "Filesystem type to mount."),
    kind=f(STRING, "Disk kind: Shared, Dedicated or Managed."),
    readOnly=f(BOOL, "Mount the disk read-only."),
)

AzureFileVolumeSource = struct(
    "io.k8s.api.core.v1.AzureFileVolumeSource",
    "Deprecated Azure File share mounted into the pod (moved to a CSI driver).",
    readOnly=f(BOOL, "Mount the share read-only."),
    secretName=f(STRING, "Secret holding the storage account name and key.", required=True),
    shareName=f(STRING, "Name of the file share.", required=True),
)

LocalObjectReference = struct(
    "io.k8s.api.core.v1.LocalObjectReference",
    "Names an object in the same namespace.",
    name=f(STRING, "Name of the referenced object."),
)

CephFSVolumeSource = struct(
    "io.k8s.api.core.v1.CephFSVolumeSource",
    "Deprecated CephFS mount that lives as long as the pod.",
    monitors=f(STRING_LIST, "Ceph monitor addresses.", required=True, list_type="atomic"),
    path=f(STRING, 'Path inside the Ceph filesystem to mount; defaults to "/".'),
    readOnly=f(BOOL, "Mount read-only."),
    secretFile=f(STRING, "Path of the keyring file for the Ceph user."),
    secretRef=f(LocalObjectReference, "Secret holding the authentication key for the Ceph user."),
    user=f(STRING, "Ceph (RADOS) user name."),
)

CinderVolumeSource = struct(
    "io.k8s.api.core.v1.CinderVolumeSource",
    "Deprecated OpenStack Cinder volume (moved to a CSI driver).",
    fsType=f(STRING, "Filesystem type to mount."),
    readOnly=f(BOOL, "Mount read-only."),
    secretRef=f(LocalObjectReference, "Secret with parameters for connecting to OpenStack."),
    volumeID=f(STRING, "ID of the Cinder volume.", required=True),
)

KeyToPath = struct(
    "io.k8s.api.core.v1.KeyToPath",
    "Maps one key of a ConfigMap or Secret to a file path in a volume.",
    key=f(STRING, "Key to project.", required=True),
    mode=f(
        INT32,
        "Permission bits of the file (octal 0000-0777); defaults to the volume's defaultMode.",
    ),
    path=f(STRING, 'Relative path of the file; must not contain "..".', required=True),
)

ConfigMapVolumeSource = struct(
    "io.k8s.api.core.v1.ConfigMapVolumeSource",
    "Exposes the keys of a ConfigMap as files.",
    defaultMode=f(INT32, "Permission bits for created files (octal 0000-0777); defaults to 0644."),
    items=f(
        ArrayOf(KeyToPath),
        "Keys to project and where; when empty every key becomes a file named after it.",
        list_type="atomic",
    ),
    name=f(STRING, "Name of the ConfigMap."),
    optional=f(BOOL, "Whether the ConfigMap, or the listed keys, may be missing."),
)

CSIVolumeSource = struct(
    "io.k8s.api.core.v1.CSIVolumeSource",
    "Ephemeral volume provided by a CSI driver.",
    driver=f(STRING, "Name of the CSI driver.", required=True),
    fsType=f(STRING, "Filesystem type to mount, passed to the driver."),
    nodePublishSecretRef=f(
        LocalObjectReference, "Secret passed to the driver's NodePublishVolume call."
    ),
    readOnly=f(BOOL, "Mount read-only."),
    volumeAttributes=f(STRING_MAP, "Driver-specific volume properties."),
)

ObjectFieldSelector = struct(
    "io.k8s.api.core.v1.ObjectFieldSelector",
    "Selects one field of the pod.",
    apiVersion=f(STRING, 'API version the fieldPath is written in; defaults to "v1".'),
    fieldPath=f(STRING, 'Path of the field to select, e.g. "metadata.name".', required=True),
)

ResourceFieldSelector = struct(
    "io.k8s.api.core.v1.ResourceFieldSelector",
    "Selects a resource request or limit of a container.",
    containerName=f(STRING, "Container to read from; required for volumes, optional for env vars."),
    divisor=f(QUANTITY, "Unit the value is divided by before exposure; defaults to 1."),
    resource=f(STRING, 'Resource to select, e.g. "limits.cpu".', required=True),
)

DownwardAPIVolumeFile = struct(
    "io.k8s.api.core.v1.DownwardAPIVolumeFile",
    "One file of a downward API volume.",
    fieldRef=f(ObjectFieldSelector, "Pod field to write into the file."),
    mode=f(INT32, "Permission bits of the file (octal 0000-0777)."),
    path=f(STRING, 'Relative path of the file; must not contain "..".', required=True),
    resourceFieldRef=f(
        ResourceFieldSelector, "Container resource request or limit to write into the file."
    ),
)

DownwardAPIVolumeSource = struct(
    "io.k8s.api.core.v1.DownwardAPIVolumeSource",
    "Exposes pod fields and container resources as files.",
    defaultMode=f(INT32, "Permission bits for created files (octal 0000-0777); defaults to 0644."),
    items=f(ArrayOf(DownwardAPIVolumeFile), "Files to create.", list_type="atomic"),
)

EmptyDirVolumeSource = struct(
    "io.k8s.api.core.v1.EmptyDirVolumeSource",
    "Scratch directory that starts empty and lives as long as the pod.",
    medium=f(STRING, 'Storage medium: "" for the node\'s default or "Memory" for tmpfs.'),
    sizeLimit=f(QUANTITY, "Upper bound on the storage the volume may use."),
)

TypedLocalObjectReference = struct(
    "io.k8s.api.core.v1.TypedLocalObjectReference",
    "Names an object of a given kind in the same namespace.",
    apiGroup=f(STRING, "API group of the referenced kind; empty for the core group."),
    kind=f(STRING, "Kind of the referenced object.", required=True),
    name=f(STRING, "Name of the referenced object.", required=True),
)

TypedObjectReference = struct(
    "io.k8s.api.core.v1.TypedObjectReference",
    "Names an object of a given kind, possibly in another namespace.",
    apiGroup=f(STRING, "API group of the referenced kind; empty for the core group."),
    kind=f(STRING, "Kind of the referenced object.", required=True),
    name=f(STRING, "Name of the referenced object.", required=True),
    namespace=f(
        STRING, "Namespace of the referenced object; cross-namespace use needs a ReferenceGrant."
    ),
)

VolumeResourceRequirements = struct(
    "io.k8s.api.core.v1.VolumeResourceRequirements",
    "Storage resources requested for a volume.",
    limits=f(MapOf(QUANTITY), "Maximum amount of each resource allowed."),
    requests=f(MapOf(QUANTITY), "Minimum amount of each resource required."),
)

PersistentVolumeClaimSpec = struct(
    "io.k8s.api.core.v1.PersistentVolumeClaimSpec",
    "Desired characteristics of a persistent volume claim.",
    accessModes=f(
        STRING_LIST,
        'Access modes the volume must support, e.g. "ReadWriteOnce".',
        list_type="atomic",
    ),
    dataSource=f(
        TypedLocalObjectReference,
        "Existing object (snapshot or claim) to populate the new volume from.",
    ),
    dataSourceRef=f(
        TypedObjectReference,
        "Object to populate the volume from, including custom populator kinds.",
    ),
    resources=f(
        VolumeResourceRequirements, "Minimum (and maximum) storage the volume must provide."
    ),
    selector=f(LabelSelector, "Label query over persistent volumes to bind to."),
    storageClassName=f(STRING, "Name of the StorageClass required by the claim."),
    volumeAttributesClassName=f(STRING, "VolumeAttributesClass to apply to the volume."),
    volumeMode=f(STRING, 'Whether the volume is used as "Filesystem" or raw "Block" device.'),
    volumeName=f(STRING, "Name of the persistent volume to bind to."),
)

PersistentVolumeClaimTemplate = struct(
    "io.k8s.api.core.v1.PersistentVolumeClaimTemplate",
    "Template from which a persistent volume claim is created.",
    metadata=f(OBJECT_META_REF, "Labels and annotations copied onto the created claim."),
    spec=f(PersistentVolumeClaimSpec, "Specification of the created claim.", required=True),
)

EphemeralVolumeSource = struct(
    "io.k8s.api.core.v1.EphemeralVolumeSource",
    "Volume backed by a claim that is created and deleted with the pod.",
    volumeClaimTemplate=f(
        PersistentVolumeClaimTemplate, "Template of the claim created for this pod."
    ),
)

FCVolumeSource = struct(
    "io.k8s.api.core.v1.FCVolumeSource",
    "Fibre Channel volume.",
    fsType=f(STRING, "Filesystem type to mount."),
    lun=f(INT32, "Target logical unit number."),
    readOnly=f(BOOL, "Mount read-only."),
    targetWWNs=f(STRING_LIST, "Target world wide names.", list_type="atomic"),
    wwids=f(
        STRING_LIST,
        "Volume world wide identifiers; alternative to targetWWNs with lun.",
        list_type="atomic",
    ),
)

FlexVolumeSource = struct(
    "io.k8s.api.core.v1.FlexVolumeSource",
    "Deprecated volume provisioned by an exec-based FlexVolume driver.",
    driver=f(STRING, "Name of the driver.", required=True),
    fsType=f(STRING, "Filesystem type to mount."),
    options=f(STRING_MAP, "Extra driver-specific options."),
    readOnly=f(BOOL, "Mount read-only."),
    secretRef=f(LocalObjectReference, "Secret passed to the driver's plugin scripts."),
)

FlockerVolumeSource = struct(
    "io.k8s.api.core.v1.FlockerVolumeSource",
    "Deprecated Flocker dataset volume.",
    datasetName=f(STRING, "Name of the dataset, stored as metadata."),
    datasetUUID=f(STRING, "UUID of the dataset."),
)

GCEPersistentDiskVolumeSource = struct(
    "io.k8s.api.core.v1.GCEPersistentDiskVolumeSource",
    "Deprecated GCE persistent disk (moved to a CSI driver).",
    fsType=f(STRING, "Filesystem type to mount."),
    partition=f(INT32, "Partition number to mount; 0 or unset means the whole disk."),
    pdName=f(STRING, "Name of the persistent disk in GCE.", required=True),
    readOnly=f(BOOL, "Mount read-only."),
)

GitRepoVolumeSource = struct(
    "io.k8s.api.core.v1.GitRepoVolumeSource",
    "Deprecated volume pre-filled with a clone of a git repository.",
    directory=f(STRING, 'Target directory name; "." clones into the volume root.'),
    repository=f(STRING, "URL of the repository.", required=True),
    revision=f(STRING, "Commit hash to check out."),
)

GlusterfsVolumeSource = struct(
    "io.k8s.api.core.v1.GlusterfsVolumeSource",
    "Glusterfs mount that lives as long as the pod.",
    endpoints=f(
        STRING, "Name of the Endpoints object listing the Glusterfs servers.", required=True
    ),
    path=f(STRING, "Glusterfs volume path.", required=True),
    readOnly=f(BOOL, "Mount read-only."),
)

HostPathVolumeSource = struct(
    "io.k8s.api.core.v1.HostPathVolumeSource",
    "Directory or file on the node mapped into the pod.",
    path=f(STRING, "Path on the node.", required=True),
    type=f(
        STRING, 'Expected kind of the path, e.g. "Directory" or "FileOrCreate"; empty skips checks.'
    ),
)

ImageVolumeSource = struct(
    "io.k8s.api.core.v1.ImageVolumeSource",
    "OCI image or artifact mounted read-only into the pod.",
    pullPolicy=f(STRING, "When to pull the image: Always, Never or IfNotPresent."),
    reference=f(STRING, "Image or artifact reference to pull."),
)

ISCSIVolumeSource = struct(
    "io.k8s.api.core.v1.ISCSIVolumeSource",
    "iSCSI disk attached to the node and mounted into the pod.",
    chapAuthDiscovery=f(BOOL, "Enable CHAP authentication for iSCSI discovery."),
    chapAuthSession=f(BOOL, "Enable CHAP authentication for the iSCSI session."),
    fsType=f(STRING, "Filesystem type to mount."),
    initiatorName=f(STRING, "Custom iSCSI initiator name."),
    iqn=f(STRING, "iSCSI qualified name of the target.", required=True),
    iscsiInterface=f(STRING, 'iSCSI interface name; defaults to "default" (tcp).'),
    lun=f(INT32, "Target logical unit number.", required=True),
    portals=f(STRING_LIST, "Additional target portals (ip or ip:port).", list_type="atomic"),
    readOnly=f(BOOL, "Mount read-only."),
    secretRef=f(LocalObjectReference, "Secret holding the CHAP credentials."),
    targetPortal=f(STRING, "Primary target portal (ip or ip:port).", required=True),
)

NFSVolumeSource = struct(
    "io.k8s.api.core.v1.NFSVolumeSource",
    "NFS export mounted for the lifetime of the pod.",
    path=f(STRING, "Path exported by the NFS server.", required=True),
    readOnly=f(BOOL, "Mount read-only."),
    server=f(STRING, "Hostname or IP address of the NFS server.", required=True),
)

PersistentVolumeClaimVolumeSource = struct(
    "io.k8s.api.core.v1.PersistentVolumeClaimVolumeSource",
    "Mounts the volume bound to a claim in the pod's namespace.",
    claimName=f(STRING, "Name of the persistent volume claim.", required=True),
    readOnly=f(BOOL, "Force the mount to be read-only."),
)

PhotonPersistentDiskVolumeSource = struct(
    "io.k8s.api.core.v1.PhotonPersistentDiskVolumeSource",
    "Deprecated Photon Controller persistent disk.",
    fsType=f(STRING, "Filesystem type to mount."),
    pdID=f(STRING, "ID of the Photon persistent disk.", required=True),
)

PortworxVolumeSource = struct(
    "io.k8s.api.core.v1.PortworxVolumeSource",
    "Deprecated Portworx volume (moved to a CSI driver).",
    fsType=f(STRING, "Filesystem type to mount."),
    readOnly=f(BOOL, "Mount read-only."),
    volumeID=f(STRING, "ID of the Portworx volume.", required=True),
)

ClusterTrustBundleProjection = struct(
    "io.k8s.api.core.v1.ClusterTrustBundleProjection",
    "Writes certificates from ClusterTrustBundle objects into a file.",
    labelSelector=f(
        LabelSelector, "Select bundles by label (with signerName); combined in the file."
    ),
    name=f(STRING, "Select a single bundle by object name."),
    optional=f(BOOL, "Write nothing instead of failing when no bundle matches."),
    path=f(STRING, "Relative path of the file to write.", required=True),
    signerName=f(STRING, "Select bundles that belong to this signer."),
)

ConfigMapProjection = struct(
    "io.k8s.api.core.v1.ConfigMapProjection",
    "Projects keys of a ConfigMap into a projected volume.",
    items=f(
        ArrayOf(KeyToPath),
        "Keys to project and where; when empty every key becomes a file.",
        list_type="atomic",
    ),
    name=f(STRING, "Name of the ConfigMap."),
    optional=f(BOOL, "Whether the ConfigMap, or the listed keys, may be missing."),
)

DownwardAPIProjection = struct(
    "io.k8s.api.core.v1.DownwardAPIProjection",
    "Projects pod fields and container resources into a projected volume.",
    items=f(ArrayOf(DownwardAPIVolumeFile), "Files to create.", list_type="atomic"),
)

SecretProjection = struct(
    "io.k8s.api.core.v1.SecretProjection",
    "Projects keys of a Secret into a projected volume.",
    items=f(
        ArrayOf(KeyToPath),
        "Keys to project and where; when empty every key becomes a file.",
        list_type="atomic",
    ),
    name=f(STRING, "Name of the Secret."),
    optional=f(BOOL, "Whether the Secret, or the listed keys, may be missing."),
)

ServiceAccountTokenProjection = struct(
    "io.k8s.api.core.v1.ServiceAccountTokenProjection",
    "Projects a bound service account token into a file.",
    audience=f(STRING, "Intended audience of the token; defaults to the API server's identifier."),
    expirationSeconds=f(
        INT64, "Requested token lifetime; at least 600 seconds, defaults to one hour."
    ),
    path=f(STRING, "Relative path of the token file.", required=True),
)

VolumeProjection = struct(
    "io.k8s.api.core.v1.VolumeProjection",
    "One source of a projected volume; exactly one member is set.",
    clusterTrustBundle=f(
        ClusterTrustBundleProjection, "Certificates from ClusterTrustBundle objects."
    ),
    configMap=f(ConfigMapProjection, "Keys of a ConfigMap."),
    downwardAPI=f(DownwardAPIProjection, "Pod fields and container resources."),
    secret=f(SecretProjection, "Keys of a Secret."),
    serviceAccountToken=f(ServiceAccountTokenProjection, "A bound service account token."),
)

ProjectedVolumeSource = struct(
    "io.k8s.api.core.v1.ProjectedVolumeSource",
    "Combines several sources into one directory.",
    defaultMode=f(INT32, "Permission bits for created files (octal 0000-0777)."),
    sources=f(ArrayOf(VolumeProjection), "Sources to project, in order.", list_type="atomic"),
)

QuobyteVolumeSource = struct(
    "io.k8s.api.core.v1.QuobyteVolumeSource",
    "Deprecated Quobyte mount that lives as long as the pod.",
    group=f(STRING, "Group to map access to; defaults to none."),
    readOnly=f(BOOL, "Mount read-only."),
    registry=f(STRING, "Quobyte registry addresses (host:port, comma separated).", required=True),
    tenant=f(STRING, "Quobyte tenant owning the volume."),
    user=f(STRING, "User to map access to; defaults to the service account user."),
    volume=f(STRING, "Name of an existing Quobyte volume.", required=True),
)

RBDVolumeSource = struct(
    "io.k8s.api.core.v1.RBDVolumeSource",
    "Deprecated Rados Block Device mount that lives as long as the pod.",
    fsType=f(STRING, "Filesystem type to mount."),
    image=f(STRING, "Name of the RADOS image.", required=True),
    keyring=f(STRING, "Path of the keyring for the RBD user; defaults to /etc/ceph/keyring."),
    monitors=f(STRING_LIST, "Ceph monitor addresses.", required=True, list_type="atomic"),
    pool=f(STRING, 'RADOS pool name; defaults to "rbd".'),
    readOnly=f(BOOL, "Mount read-only."),
    secretRef=f(LocalObjectReference, "Secret holding the authentication key for the RBD user."),
    user=f(STRING, 'RADOS user name; defaults to "admin".'),
)

ScaleIOVolumeSource = struct(
    "io.k8s.api.core.v1.ScaleIOVolumeSource",
    "Deprecated ScaleIO persistent volume.",
    fsType=f(STRING, 'Filesystem type to mount; defaults to "xfs".'),
    gateway=f(STRING, "Address of the ScaleIO API gateway.", required=True),
    protectionDomain=f(STRING, "ScaleIO protection domain of the storage."),
    readOnly=f(BOOL, "Mount read-only."),
    secretRef=f(
        LocalObjectReference, "Secret holding the ScaleIO user credentials.", required=True
    ),
    sslEnabled=f(BOOL, "Use SSL to talk to the gateway."),
    storageMode=f(STRING, '"ThickProvisioned" or "ThinProvisioned".'),
    storagePool=f(STRING, "ScaleIO storage pool of the protection domain."),
    system=f(STRING, "Name of the ScaleIO storage system.", required=True),
    volumeName=f(STRING, "Name of an existing ScaleIO volume."),
)

SecretVolumeSource = struct(
    "io.k8s.api.core.v1.SecretVolumeSource",
    "Exposes the keys of a Secret as files.",
    defaultMode=f(INT32, "Permission bits for created files (octal 0000-0777); defaults to 0644."),
    items=f(
        ArrayOf(KeyToPath),
        "Keys to project and where; when empty every key becomes a file.",
        list_type="atomic",
    ),
    optional=f(BOOL, "Whether the Secret, or the listed keys, may be missing."),
    secretName=f(STRING, "Name of the Secret in the pod's namespace."),
)

StorageOSVolumeSource = struct(
    "io.k8s.api.core.v1.StorageOSVolumeSource",
    "Deprecated StorageOS volume.",
    fsType=f(STRING, "Filesystem type to mount."),
    readOnly=f(BOOL, "Mount read-only."),
    secretRef=f(LocalObjectReference, "Secret holding the StorageOS API credentials."),
    volumeName=f(STRING, "Name of the StorageOS volume within its namespace."),
    volumeNamespace=f(
        STRING, "StorageOS namespace of the volume; defaults to the pod's namespace."
    ),
)

VsphereVirtualDiskVolumeSource = struct(
    "io.k8s.api.core.v1.VsphereVirtualDiskVolumeSource",
    "Deprecated vSphere virtual disk (moved to a CSI driver).",
    fsType=f(STRING, "Filesystem type to mount."),
    storagePolicyID=f(STRING, "ID of the storage policy (SPBM) of the disk."),
    storagePolicyName=f(STRING, "Name of the storage policy (SPBM) of the disk."),
    volumePath=f(STRING, "Path identifying the vSphere volume.", required=True),
)

Volume = struct(
    "io.k8s.api.core.v1.Volume",
    "Named volume that containers of the pod can mount; exactly one source is set.",
    awsElasticBlockStore=f(AWSElasticBlockStoreVolumeSource, "Deprecated AWS EBS disk."),
    azureDisk=f(AzureDiskVolumeSource, "Deprecated Azure data disk."),
    azureFile=f(AzureFileVolumeSource, "Deprecated Azure File share."),
    cephfs=f(CephFSVolumeSource, "Deprecated CephFS mount."),
    cinder=f(CinderVolumeSource, "Deprecated OpenStack Cinder volume."),
    configMap=f(ConfigMapVolumeSource, "Files from a ConfigMap."),
    csi=f(CSIVolumeSource, "Ephemeral volume from a CSI driver."),
    downwardAPI=f(DownwardAPIVolumeSource, "Files with pod fields and container resources."),
    emptyDir=f(EmptyDirVolumeSource, "Scratch directory that lives as long as the pod."),
    ephemeral=f(EphemeralVolumeSource, "Volume from a per-pod persistent volume claim."),
    fc=f(FCVolumeSource, "Fibre Channel disk."),
    flexVolume=f(FlexVolumeSource, "Deprecated FlexVolume driver volume."),
    flocker=f(FlockerVolumeSource, "Deprecated Flocker dataset."),
    gcePersistentDisk=f(GCEPersistentDiskVolumeSource, "Deprecated GCE persistent disk."),
    gitRepo=f(GitRepoVolumeSource, "Deprecated clone of a git repository."),
    glusterfs=f(GlusterfsVolumeSource, "Glusterfs mount."),
    hostPath=f(HostPathVolumeSource, "Path on the node; for privileged system workloads."),
    image=f(ImageVolumeSource, "Read-only OCI image or artifact."),
    iscsi=f(ISCSIVolumeSource, "iSCSI disk."),
    name=f(STRING, "Name of the volume, unique within the pod; a DNS label.", required=True),
    nfs=f(NFSVolumeSource, "NFS export."),
    persistentVolumeClaim=f(
        PersistentVolumeClaimVolumeSource, "Volume bound to an existing claim."
    ),
    photonPersistentDisk=f(PhotonPersistentDiskVolumeSource, "Deprecated Photon Controller disk."),
    portworxVolume=f(PortworxVolumeSource, "Deprecated Portworx volume."),
    projected=f(ProjectedVolumeSource, "Several sources combined in one directory."),
    quobyte=f(QuobyteVolumeSource, "Deprecated Quobyte mount."),
    rbd=f(RBDVolumeSource, "Deprecated Rados Block Device."),
    scaleIO=f(ScaleIOVolumeSource, "Deprecated ScaleIO volume."),
    secret=f(SecretVolumeSource, "Files from a Secret."),
    storageos=f(StorageOSVolumeSource, "Deprecated StorageOS volume."),
    vsphereVolume=f(VsphereVirtualDiskVolumeSource, "Deprecated vSphere virtual disk."),
)
