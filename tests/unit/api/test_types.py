"""Checks of the API type declarations in `svcnet.api.types`.

The patch-metadata cases are copied from upstream v1.33 Go struct tags
(`patchStrategy`, `patchMergeKey`) and `+listType`/`+listMapKey` markers;
each case names the upstream field it checks.
"""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from svcnet.api import schema
from svcnet.api.schema import ArrayOf, Field, MapOf, Ref, Schema, Struct, resolve, walk_structs
from svcnet.api.types import DELETE_OPTIONS, ROOTS, SCALE, STATUS, WATCH_EVENT

OBJECT_META = "io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta"
ALL_ROOTS: list[Schema] = [*ROOTS.values(), SCALE, STATUS, DELETE_OPTIONS, WATCH_EVENT]


def field_at(root: Struct, path: str) -> Field:
    """The field at a dotted path; "[]" after a segment descends into list items."""
    node: Schema | None = root
    fl: Field | None = None
    for seg in path.split("."):
        many = seg.endswith("[]")
        name = seg.removesuffix("[]")
        fl, node = schema.child(node, name)
        assert fl is not None, f"{path}: no field {name!r}"
        if many:
            assert isinstance(node, ArrayOf), f"{path}: {name!r} is not a list"
            node = resolve(node.items)
    assert fl is not None
    return fl


def test_roots_are_kinds_with_standard_fields():
    for (_group, _version, kind), st in ROOTS.items():
        assert st.name.endswith("." + kind), st.name
        for name in ("apiVersion", "kind", "metadata"):
            assert name in st.fields, f"{kind} lacks {name}"
        meta = resolve(st.fields["metadata"].schema)
        assert isinstance(meta, Struct) and meta.name == OBJECT_META


def test_every_ref_resolves_and_names_are_unique():
    structs = walk_structs(ALL_ROOTS)
    registered = schema.registry()
    for name, st in structs.items():
        assert registered[name] is st, f"{name} declared twice"
        for fl in st.fields.values():
            stack = [fl.schema]
            while stack:
                s = stack.pop()
                if isinstance(s, Ref):
                    assert s.name in registered, f"{name}: dangling Ref {s.name}"
                elif isinstance(s, ArrayOf):
                    stack.append(s.items)
                elif isinstance(s, MapOf):
                    stack.append(s.values)


def test_every_struct_and_field_is_described():
    for name, st in walk_structs(ALL_ROOTS).items():
        assert st.description, name
        for key, fl in st.fields.items():
            assert fl.description, f"{name}.{key}"


def test_patch_metadata_is_well_formed():
    strategies = {None, "merge", "replace", "retainKeys", "merge,retainKeys"}
    for name, st in walk_structs(ALL_ROOTS).items():
        for key, fl in st.fields.items():
            where = f"{name}.{key}"
            assert fl.strategy in strategies, where
            if fl.merge_key is not None:
                assert isinstance(fl.schema, ArrayOf), where
                items = resolve(fl.schema.items)
                assert isinstance(items, Struct) and fl.merge_key in items.fields, where
            if fl.list_type == "map":
                items = resolve(fl.schema.items) if isinstance(fl.schema, ArrayOf) else None
                assert isinstance(items, Struct) and fl.map_keys, where
                assert all(k in items.fields for k in fl.map_keys), where
            else:
                assert not fl.map_keys, where


@dataclass(frozen=True)
class PatchCase:
    kind: tuple[str, str, str]
    path: str
    upstream: str
    merge_key: str | None = None
    strategy: str | None = None
    list_type: str | None = None
    map_keys: tuple[str, ...] = ()

    @property
    def id(self) -> str:
        return f"{self.kind[2]}:{self.path}"


SVC = ("", "v1", "Service")
POD = ("", "v1", "Pod")
NODE = ("", "v1", "Node")
DEPLOY = ("apps", "v1", "Deployment")
MAP_NAME = {"merge_key": "name", "strategy": "merge", "list_type": "map", "map_keys": ("name",)}
MAP_TYPE = {"merge_key": "type", "strategy": "merge", "list_type": "map", "map_keys": ("type",)}

PATCH_CASES = [
    PatchCase(
        SVC, "spec.ports", "core/v1 ServiceSpec.Ports", "port", "merge", "map", ("port", "protocol")
    ),
    PatchCase(SVC, "spec.clusterIPs", "core/v1 ServiceSpec.ClusterIPs", list_type="atomic"),
    PatchCase(SVC, "spec.ipFamilies", "core/v1 ServiceSpec.IPFamilies", list_type="atomic"),
    PatchCase(SVC, "status.conditions", "core/v1 ServiceStatus.Conditions", **MAP_TYPE),
    PatchCase(
        SVC, "status.loadBalancer.ingress", "core/v1 LoadBalancerStatus.Ingress", list_type="atomic"
    ),
    PatchCase(POD, "spec.containers", "core/v1 PodSpec.Containers", **MAP_NAME),
    PatchCase(POD, "spec.initContainers", "core/v1 PodSpec.InitContainers", **MAP_NAME),
    PatchCase(POD, "spec.ephemeralContainers", "core/v1 PodSpec.EphemeralContainers", **MAP_NAME),
    PatchCase(
        POD, "spec.volumes", "core/v1 PodSpec.Volumes", "name", "merge,retainKeys", "map", ("name",)
    ),
    PatchCase(POD, "spec.imagePullSecrets", "core/v1 PodSpec.ImagePullSecrets", **MAP_NAME),
    PatchCase(
        POD, "spec.hostAliases", "core/v1 PodSpec.HostAliases", "ip", "merge", "map", ("ip",)
    ),
    PatchCase(POD, "spec.tolerations", "core/v1 PodSpec.Tolerations", list_type="atomic"),
    PatchCase(POD, "spec.readinessGates", "core/v1 PodSpec.ReadinessGates", list_type="atomic"),
    PatchCase(
        POD,
        "spec.topologySpreadConstraints",
        "core/v1 PodSpec.TopologySpreadConstraints",
        "topologyKey",
        "merge",
        "map",
        ("topologyKey", "whenUnsatisfiable"),
    ),
    PatchCase(POD, "spec.schedulingGates", "core/v1 PodSpec.SchedulingGates", **MAP_NAME),
    PatchCase(
        POD,
        "spec.resourceClaims",
        "core/v1 PodSpec.ResourceClaims",
        "name",
        "merge,retainKeys",
        "map",
        ("name",),
    ),
    PatchCase(POD, "spec.containers[].env", "core/v1 Container.Env", **MAP_NAME),
    PatchCase(POD, "spec.containers[].envFrom", "core/v1 Container.EnvFrom", list_type="atomic"),
    PatchCase(
        POD,
        "spec.containers[].ports",
        "core/v1 Container.Ports",
        "containerPort",
        "merge",
        "map",
        ("containerPort", "protocol"),
    ),
    PatchCase(
        POD,
        "spec.containers[].volumeMounts",
        "core/v1 Container.VolumeMounts",
        "mountPath",
        "merge",
        "map",
        ("mountPath",),
    ),
    PatchCase(
        POD,
        "spec.containers[].volumeDevices",
        "core/v1 Container.VolumeDevices",
        "devicePath",
        "merge",
        "map",
        ("devicePath",),
    ),
    PatchCase(
        POD,
        "spec.containers[].resources.claims",
        "core/v1 ResourceRequirements.Claims",
        list_type="map",
        map_keys=("name",),
    ),
    PatchCase(POD, "status.conditions", "core/v1 PodStatus.Conditions", **MAP_TYPE),
    PatchCase(POD, "status.podIPs", "core/v1 PodStatus.PodIPs", "ip", "merge", "map", ("ip",)),
    PatchCase(POD, "status.hostIPs", "core/v1 PodStatus.HostIPs", "ip", "merge", "atomic"),
    PatchCase(
        POD, "status.containerStatuses", "core/v1 PodStatus.ContainerStatuses", list_type="atomic"
    ),
    PatchCase(
        POD,
        "status.resourceClaimStatuses",
        "core/v1 PodStatus.ResourceClaimStatuses",
        "name",
        "merge,retainKeys",
        "map",
        ("name",),
    ),
    PatchCase(
        POD,
        "metadata.finalizers",
        "meta/v1 ObjectMeta.Finalizers",
        strategy="merge",
        list_type="set",
    ),
    PatchCase(
        POD,
        "metadata.ownerReferences",
        "meta/v1 ObjectMeta.OwnerReferences",
        "uid",
        "merge",
        "map",
        ("uid",),
    ),
    PatchCase(
        POD, "metadata.managedFields", "meta/v1 ObjectMeta.ManagedFields", list_type="atomic"
    ),
    PatchCase(
        NODE, "spec.podCIDRs", "core/v1 NodeSpec.PodCIDRs", strategy="merge", list_type="set"
    ),
    PatchCase(NODE, "spec.taints", "core/v1 NodeSpec.Taints", list_type="atomic"),
    PatchCase(NODE, "status.addresses", "core/v1 NodeStatus.Addresses", **MAP_TYPE),
    PatchCase(NODE, "status.conditions", "core/v1 NodeStatus.Conditions", **MAP_TYPE),
    PatchCase(
        ("", "v1", "Namespace"),
        "status.conditions",
        "core/v1 NamespaceStatus.Conditions",
        **MAP_TYPE,
    ),
    PatchCase(
        ("", "v1", "ServiceAccount"), "secrets", "core/v1 ServiceAccount.Secrets", **MAP_NAME
    ),
    PatchCase(("", "v1", "Endpoints"), "subsets", "core/v1 Endpoints.Subsets", list_type="atomic"),
    PatchCase(DEPLOY, "spec.strategy", "apps/v1 DeploymentSpec.Strategy", strategy="retainKeys"),
    PatchCase(DEPLOY, "status.conditions", "apps/v1 DeploymentStatus.Conditions", **MAP_TYPE),
    PatchCase(
        DEPLOY,
        "spec.template.spec.containers",
        "core/v1 PodSpec.Containers (via PodTemplateSpec)",
        **MAP_NAME,
    ),
    PatchCase(
        ("apps", "v1", "ReplicaSet"),
        "status.conditions",
        "apps/v1 ReplicaSetStatus.Conditions",
        **MAP_TYPE,
    ),
    PatchCase(
        ("discovery.k8s.io", "v1", "EndpointSlice"),
        "endpoints",
        "discovery/v1 EndpointSlice.Endpoints",
        list_type="atomic",
    ),
    PatchCase(
        ("discovery.k8s.io", "v1", "EndpointSlice"),
        "ports",
        "discovery/v1 EndpointSlice.Ports",
        list_type="atomic",
    ),
    PatchCase(
        ("discovery.k8s.io", "v1", "EndpointSlice"),
        "endpoints[].addresses",
        "discovery/v1 Endpoint.Addresses",
        list_type="set",
    ),
    PatchCase(
        ("networking.k8s.io", "v1", "Ingress"),
        "spec.rules",
        "networking/v1 IngressSpec.Rules",
        list_type="atomic",
    ),
    PatchCase(
        ("networking.k8s.io", "v1", "NetworkPolicy"),
        "spec.ingress",
        "networking/v1 NetworkPolicySpec.Ingress",
        list_type="atomic",
    ),
]


@pytest.mark.parametrize("case", PATCH_CASES, ids=lambda c: c.id)
def test_patch_metadata_matches_upstream(case: PatchCase):
    fl = field_at(ROOTS[case.kind], case.path)
    got = (fl.merge_key, fl.strategy, fl.list_type, fl.map_keys)
    want = (case.merge_key, case.strategy, case.list_type, case.map_keys)
    assert got == want, f"{case.upstream}: got {got}, want {want}"


@dataclass(frozen=True)
class RequiredCase:
    kind: tuple[str, str, str]
    path: str
    upstream: str
    required: bool = True

    @property
    def id(self) -> str:
        return f"{self.kind[2]}:{self.path}"


REQUIRED_CASES = [
    RequiredCase(SVC, "spec.ports[].port", "core/v1 ServicePort.Port (no omitempty)"),
    RequiredCase(POD, "spec.containers", "core/v1 PodSpec.Containers (no omitempty)"),
    RequiredCase(POD, "spec.containers[].name", "core/v1 Container.Name (no omitempty)"),
    RequiredCase(DEPLOY, "spec.selector", "apps/v1 DeploymentSpec.Selector (no omitempty)"),
    RequiredCase(SVC, "metadata.name", "meta/v1 ObjectMeta.Name (+optional)", required=False),
    RequiredCase(SVC, "spec.type", "core/v1 ServiceSpec.Type (+optional)", required=False),
]


@pytest.mark.parametrize("case", REQUIRED_CASES, ids=lambda c: c.id)
def test_required_matches_upstream(case: RequiredCase):
    assert field_at(ROOTS[case.kind], case.path).required is case.required, case.upstream
