"""The official `kubernetes` Python client against a real `svcnet apiserver`.

The client is one of the two clients of record (DESIGN.md, compatibility
contract): every call here goes through its typed APIs (CoreV1Api, AppsV1Api,
DiscoveryV1Api, NetworkingV1Api, CoordinationV1Api), so responses must also
deserialize into its models. The upstream behaviour each test checks is named
in its docstring (kube-apiserver generic registry, watch cache, client-go
watch semantics).
"""

from __future__ import annotations

import base64
import ipaddress
import json
import signal
import subprocess
import sys
import textwrap
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import kubernetes
import pytest
import yaml
from kubernetes import client, watch
from kubernetes.client.exceptions import ApiException

from tests.integration.conftest import ROOT, Server

pytestmark = pytest.mark.integration

Body = dict[str, Any]


def load(server: Server) -> None:
    """Point the client's default configuration at ``server``."""
    kubernetes.config.load_kube_config(config_file=str(server.kubeconfig))


def uniq(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def api_error(exc: pytest.ExceptionInfo[ApiException]) -> dict[str, Any]:
    """The Status body of an ApiException (checked to be a v1 Status)."""
    st = json.loads(exc.value.body)
    assert st["kind"] == "Status" and st["apiVersion"] == "v1", st
    assert st["code"] == exc.value.status, st
    return st


def wait_gone(read: Callable[[], Any], timeout: float = 10.0) -> None:
    """Poll ``read`` until it raises 404."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            read()
        except ApiException as e:
            if e.status == 404:
                return
            raise
        if time.monotonic() > deadline:
            raise AssertionError("object still present")
        time.sleep(0.1)


@pytest.fixture
def kube(shared_server: Server) -> Server:
    load(shared_server)
    return shared_server


@pytest.fixture
def ns(kube: Server) -> str:
    name = uniq("pyc")
    client.CoreV1Api().create_namespace({"metadata": {"name": name}})
    return name


# ------------------------------------------------------------ kind table
@dataclass(frozen=True)
class Kind:
    """How the typed client reaches one kind: ``api`` class, the snake-case
    ``suffix`` of its methods (create_namespaced_<suffix>, read_<suffix>, ...)
    and a factory of a minimal valid body. ``returns_object``: a delete
    answers with the deleted object rather than a Status (upstream's
    ReturnDeletedObject, set for pods, services and serviceaccounts)."""

    id: str
    api: type
    suffix: str
    namespaced: bool
    body: Callable[[str, str], Body]
    returns_object: bool = False

    def method(self, verb: str) -> Callable[..., Any]:
        scope = "namespaced_" if self.namespaced else ""
        if verb == "list" and not self.namespaced:
            return getattr(self.api(), f"list_{self.suffix}")
        return getattr(self.api(), f"{verb}_{scope}{self.suffix}")

    def call(self, verb: str, ns: str, *args: Any, **kwargs: Any) -> Any:
        """Call ``verb`` with the namespace inserted where the client wants it."""
        fn = self.method(verb)
        if not self.namespaced:
            return fn(*args, **kwargs)
        if verb in ("create", "list"):
            return fn(ns, *args, **kwargs)
        name, *rest = args
        return fn(name, ns, *rest, **kwargs)


def _containers() -> list[Body]:
    return [{"name": "app", "image": "svcnet/netexec", "ports": [{"containerPort": 8080}]}]


def _workload(name: str, _ns: str) -> Body:
    labels = {"app": name}
    return {
        "metadata": {"name": name, "labels": labels},
        "spec": {
            "replicas": 2,
            "selector": {"matchLabels": labels},
            "template": {"metadata": {"labels": labels}, "spec": {"containers": _containers()}},
        },
    }


KINDS = [
    Kind(
        "namespaces", client.CoreV1Api, "namespace", False, lambda n, _: {"metadata": {"name": n}}
    ),
    Kind(
        "pods",
        client.CoreV1Api,
        "pod",
        True,
        lambda n, _: {"metadata": {"name": n}, "spec": {"containers": _containers()}},
        returns_object=True,
    ),
    Kind(
        "services",
        client.CoreV1Api,
        "service",
        True,
        lambda n, _: {
            "metadata": {"name": n},
            "spec": {"selector": {"app": n}, "ports": [{"port": 80, "targetPort": 8080}]},
        },
        returns_object=True,
    ),
    Kind(
        "endpoints",
        client.CoreV1Api,
        "endpoints",
        True,
        lambda n, _: {
            "metadata": {"name": n},
            "subsets": [{"addresses": [{"ip": "10.244.1.5"}], "ports": [{"port": 8080}]}],
        },
    ),
    Kind(
        "nodes",
        client.CoreV1Api,
        "node",
        False,
        lambda n, _: {"metadata": {"name": n}, "spec": {"podCIDR": "10.244.9.0/24"}},
    ),
    Kind(
        "events",
        client.CoreV1Api,
        "event",
        True,
        lambda n, ns: {
            "metadata": {"name": n},
            "involvedObject": {"kind": "Pod", "name": "web-1", "namespace": ns},
            "reason": "Testing",
            "message": "hello from the python client",
            "type": "Normal",
            "source": {"component": "pytest"},
            "count": 1,
        },
    ),
    Kind(
        "configmaps",
        client.CoreV1Api,
        "config_map",
        True,
        lambda n, _: {"metadata": {"name": n}, "data": {"key": "value"}},
    ),
    Kind(
        "secrets",
        client.CoreV1Api,
        "secret",
        True,
        lambda n, _: {
            "metadata": {"name": n},
            "type": "Opaque",
            "data": {"password": base64.b64encode(b"hunter2").decode()},
        },
    ),
    Kind(
        "serviceaccounts",
        client.CoreV1Api,
        "service_account",
        True,
        lambda n, _: {"metadata": {"name": n}},
        returns_object=True,
    ),
    Kind("deployments", client.AppsV1Api, "deployment", True, _workload),
    Kind("replicasets", client.AppsV1Api, "replica_set", True, _workload),
    Kind(
        "endpointslices",
        client.DiscoveryV1Api,
        "endpoint_slice",
        True,
        lambda n, _: {
            "metadata": {"name": n, "labels": {"kubernetes.io/service-name": "web"}},
            "addressType": "IPv4",
            "endpoints": [{"addresses": ["10.244.1.5"], "conditions": {"ready": True}}],
            "ports": [{"name": "http", "port": 8080, "protocol": "TCP"}],
        },
    ),
    Kind(
        "ingresses",
        client.NetworkingV1Api,
        "ingress",
        True,
        lambda n, _: {
            "metadata": {"name": n},
            "spec": {
                "rules": [
                    {
                        "host": "web.example.com",
                        "http": {
                            "paths": [
                                {
                                    "path": "/",
                                    "pathType": "Prefix",
                                    "backend": {"service": {"name": "web", "port": {"number": 80}}},
                                }
                            ]
                        },
                    }
                ]
            },
        },
    ),
    Kind(
        "ingressclasses",
        client.NetworkingV1Api,
        "ingress_class",
        False,
        lambda n, _: {"metadata": {"name": n}, "spec": {"controller": "svcnet.io/ingress"}},
    ),
    Kind(
        "networkpolicies",
        client.NetworkingV1Api,
        "network_policy",
        True,
        lambda n, _: {
            "metadata": {"name": n},
            "spec": {
                "podSelector": {"matchLabels": {"app": "db"}},
                "policyTypes": ["Ingress"],
                "ingress": [{"from": [{"podSelector": {"matchLabels": {"app": "web"}}}]}],
            },
        },
    ),
    Kind(
        "leases",
        client.CoordinationV1Api,
        "lease",
        True,
        lambda n, _: {
            "metadata": {"name": n},
            "spec": {"holderIdentity": "pytest", "leaseDurationSeconds": 15},
        },
    ),
]


@pytest.mark.parametrize("kind", KINDS, ids=[k.id for k in KINDS])
def test_crud_every_kind(kind: Kind, ns: str) -> None:
    """create, read, list, replace, patch (strategic, merge, JSON) and delete
    through the typed client; every answer deserializes into its model."""
    name = uniq(kind.id)
    created = kind.call("create", ns, kind.body(name, ns))
    meta = created.metadata
    assert meta.name == name
    assert meta.uid and meta.resource_version and meta.creation_timestamp
    assert (meta.namespace == ns) if kind.namespaced else not meta.namespace

    got = kind.call("read", ns, name)
    assert got.metadata.uid == meta.uid
    assert got.metadata.resource_version == meta.resource_version

    listed = kind.call("list", ns)
    assert name in [i.metadata.name for i in listed.items]
    assert int(listed.metadata.resource_version) >= int(meta.resource_version)

    got.metadata.labels = {**(got.metadata.labels or {}), "step": "replaced"}
    replaced = kind.call("replace", ns, name, got)
    assert replaced.metadata.labels["step"] == "replaced"
    assert int(replaced.metadata.resource_version) > int(meta.resource_version)
    assert replaced.metadata.uid == meta.uid

    patched = kind.call("patch", ns, name, {"metadata": {"labels": {"step": "strategic"}}})
    assert patched.metadata.labels["step"] == "strategic"
    patched = kind.call(
        "patch",
        ns,
        name,
        {"metadata": {"annotations": {"svcnet.io/merged": "yes"}}},
        _content_type="application/merge-patch+json",
    )
    assert patched.metadata.annotations["svcnet.io/merged"] == "yes"
    assert patched.metadata.labels["step"] == "strategic"
    patched = kind.call(
        "patch", ns, name, [{"op": "replace", "path": "/metadata/labels/step", "value": "json"}]
    )
    assert patched.metadata.labels["step"] == "json"
    assert kind.call("read", ns, name).metadata.labels["step"] == "json"

    deleted = kind.call("delete", ns, name)
    if kind.returns_object:
        assert deleted.metadata.uid == meta.uid, deleted
        assert deleted.metadata.name == name
    else:
        assert deleted["kind"] in ("Status", created.kind), deleted
    wait_gone(lambda: kind.call("read", ns, name))
    assert name not in [i.metadata.name for i in kind.call("list", ns).items]


def test_list_for_all_namespaces(ns: str) -> None:
    """Namespaced kinds list across all namespaces with *_for_all_namespaces."""
    core = client.CoreV1Api()
    name = uniq("cm")
    core.create_namespaced_config_map(ns, {"metadata": {"name": name}})
    items = core.list_config_map_for_all_namespaces().items
    assert (ns, name) in [(i.metadata.namespace, i.metadata.name) for i in items]


# ------------------------------------------------------- subresources
def test_service_status_subresource(ns: str) -> None:
    """Upstream service status strategy: /status changes only status; the main
    resource ignores status."""
    core = client.CoreV1Api()
    name = uniq("lb")
    body = {"metadata": {"name": name}, "spec": {"type": "LoadBalancer", "ports": [{"port": 80}]}}
    core.create_namespaced_service(ns, body)

    st = {"status": {"loadBalancer": {"ingress": [{"ip": "172.18.0.201"}]}}}
    patched = core.patch_namespaced_service_status(name, ns, st)
    assert patched.status.load_balancer.ingress[0].ip == "172.18.0.201"

    cur = core.read_namespaced_service_status(name, ns)
    cur.status.load_balancer.ingress[0].ip = "172.18.0.202"
    cur.spec.ports[0].port = 8081  # ignored by /status
    replaced = core.replace_namespaced_service_status(name, ns, cur)
    assert replaced.status.load_balancer.ingress[0].ip == "172.18.0.202"
    assert replaced.spec.ports[0].port == 80

    main = core.read_namespaced_service(name, ns)
    main.status.load_balancer.ingress = []  # ignored by the main resource
    main.metadata.labels = {"touched": "yes"}
    after = core.replace_namespaced_service(name, ns, main)
    assert after.metadata.labels == {"touched": "yes"}
    assert after.status.load_balancer.ingress[0].ip == "172.18.0.202"


def test_service_allocations(ns: str) -> None:
    """Upstream service REST: a ClusterIP from --service-cluster-ip-range
    (default 10.96.0.0/16) and, for LoadBalancer, a NodePort from
    --service-node-port-range (default 30000-32767), unique per service."""
    core = client.CoreV1Api()
    ips, ports = set(), set()
    for i in range(3):
        body = {
            "metadata": {"name": f"alloc-{i}"},
            "spec": {"type": "LoadBalancer", "ports": [{"port": 80}]},
        }
        svc = core.create_namespaced_service(ns, body)
        assert svc.spec.cluster_ip, svc.spec
        assert ipaddress.ip_address(svc.spec.cluster_ip) in ipaddress.ip_network("10.96.0.0/16")
        assert svc.spec.cluster_ips == [svc.spec.cluster_ip]
        assert 30000 <= svc.spec.ports[0].node_port <= 32767
        ips.add(svc.spec.cluster_ip)
        ports.add(svc.spec.ports[0].node_port)
    assert len(ips) == 3 and len(ports) == 3


def test_pod_status_subresource(ns: str) -> None:
    core = client.CoreV1Api()
    name = uniq("pod")
    core.create_namespaced_pod(
        ns, {"metadata": {"name": name}, "spec": {"containers": _containers()}}
    )
    patched = core.patch_namespaced_pod_status(
        name, ns, {"status": {"phase": "Running", "podIP": "10.244.1.7", "hostIP": "172.18.0.11"}}
    )
    assert patched.status.phase == "Running"
    assert patched.status.pod_ip == "10.244.1.7"
    cur = core.read_namespaced_pod_status(name, ns)
    cur.status.phase = "Succeeded"
    replaced = core.replace_namespaced_pod_status(name, ns, cur)
    assert replaced.status.phase == "Succeeded"
    assert core.read_namespaced_pod(name, ns).status.phase == "Succeeded"
    # A spec-only patch of the main resource keeps the status.
    core.patch_namespaced_pod(
        name, ns, {"metadata": {"labels": {"x": "y"}}, "status": {"phase": "Failed"}}
    )
    assert core.read_namespaced_pod(name, ns).status.phase == "Succeeded"


def test_deployment_status_and_scale_subresources(ns: str) -> None:
    apps = client.AppsV1Api()
    name = uniq("deploy")
    created = apps.create_namespaced_deployment(ns, _workload(name, ns))
    assert created.metadata.generation == 1
    st = {
        "status": {
            "observedGeneration": 1,
            "replicas": 2,
            "updatedReplicas": 2,
            "readyReplicas": 1,
            "availableReplicas": 1,
        }
    }
    patched = apps.patch_namespaced_deployment_status(name, ns, st)
    assert patched.status.ready_replicas == 1
    cur = apps.read_namespaced_deployment_status(name, ns)
    cur.status.ready_replicas = 2
    cur.status.available_replicas = 2
    replaced = apps.replace_namespaced_deployment_status(name, ns, cur)
    assert replaced.status.ready_replicas == 2
    assert replaced.metadata.generation == 1  # status writes do not bump generation

    scale = apps.read_namespaced_deployment_scale(name, ns)
    assert scale.kind == "Scale" and scale.api_version == "autoscaling/v1"
    assert scale.spec.replicas == 2
    assert scale.status.replicas == 2
    assert scale.status.selector == f"app={name}"

    scaled = apps.patch_namespaced_deployment_scale(name, ns, {"spec": {"replicas": 5}})
    assert scaled.spec.replicas == 5
    dep = apps.read_namespaced_deployment(name, ns)
    assert dep.spec.replicas == 5
    assert dep.metadata.generation == 2

    scale = apps.read_namespaced_deployment_scale(name, ns)
    scale.spec.replicas = 3
    assert apps.replace_namespaced_deployment_scale(name, ns, scale).spec.replicas == 3
    assert apps.read_namespaced_deployment(name, ns).spec.replicas == 3

    # A Scale with a stale resourceVersion conflicts like any other update.
    scale.spec.replicas = 7
    with pytest.raises(ApiException) as exc:
        apps.replace_namespaced_deployment_scale(name, ns, scale)
    assert exc.value.status == 409
    assert api_error(exc)["reason"] == "Conflict"

    with pytest.raises(ApiException) as exc:
        apps.patch_namespaced_deployment_scale(name, ns, {"spec": {"replicas": -1}})
    assert exc.value.status == 422
    assert apps.read_namespaced_deployment(name, ns).spec.replicas == 3


def test_node_status_subresource(kube: Server) -> None:
    core = client.CoreV1Api()
    name = uniq("node")
    core.create_node({"metadata": {"name": name}})
    st = {
        "status": {
            "addresses": [{"type": "InternalIP", "address": "172.18.0.11"}],
            "capacity": {"cpu": "2", "pods": "110"},
            "conditions": [
                {
                    "type": "Ready",
                    "status": "True",
                    "reason": "KubeletReady",
                    "lastHeartbeatTime": "2024-01-01T00:00:00Z",
                    "lastTransitionTime": "2024-01-01T00:00:00Z",
                }
            ],
        }
    }
    patched = core.patch_node_status(name, st)
    assert patched.status.addresses[0].address == "172.18.0.11"
    assert patched.status.capacity["pods"] == "110"
    cur = core.read_node_status(name)
    cur.status.addresses[0].address = "172.18.0.12"
    replaced = core.replace_node_status(name, cur)
    assert replaced.status.addresses[0].address == "172.18.0.12"
    assert core.read_node(name).status.conditions[0].type == "Ready"
    core.delete_node(name)


# ------------------------------------------------------ concurrency
def test_replace_with_stale_resource_version_conflicts(ns: str) -> None:
    """Optimistic concurrency: an update carrying an old resourceVersion is
    rejected with 409 Conflict and changes nothing."""
    core = client.CoreV1Api()
    name = uniq("cm")
    core.create_namespaced_config_map(ns, {"metadata": {"name": name}, "data": {"v": "0"}})
    stale = core.read_namespaced_config_map(name, ns)
    fresh = core.read_namespaced_config_map(name, ns)
    fresh.data = {"v": "1"}
    core.replace_namespaced_config_map(name, ns, fresh)

    stale.data = {"v": "stale"}
    with pytest.raises(ApiException) as exc:
        core.replace_namespaced_config_map(name, ns, stale)
    assert exc.value.status == 409
    st = api_error(exc)
    assert st["reason"] == "Conflict"
    assert "the object has been modified" in st["message"]
    assert core.read_namespaced_config_map(name, ns).data == {"v": "1"}

    # A patch that pins a stale resourceVersion conflicts too.
    with pytest.raises(ApiException) as exc:
        core.patch_namespaced_config_map(
            name,
            ns,
            {"metadata": {"resourceVersion": stale.metadata.resource_version}, "data": {"v": "x"}},
        )
    assert exc.value.status == 409


# ------------------------------------------------------------ lists
def test_label_selectors(ns: str) -> None:
    core = client.CoreV1Api()
    for name, labels in {
        "a1": {"env": "a", "tier": "web"},
        "a2": {"env": "a"},
        "b1": {"env": "b", "tier": "db"},
        "c1": {"env": "c"},
        "none": {"tier": "web"},
    }.items():
        core.create_namespaced_config_map(ns, {"metadata": {"name": name, "labels": labels}})

    def names(selector: str) -> list[str]:
        items = core.list_namespaced_config_map(ns, label_selector=selector).items
        return sorted(i.metadata.name for i in items)

    assert names("env=a") == ["a1", "a2"]
    assert names("env==b") == ["b1"]
    assert names("env!=a") == ["b1", "c1", "none"]
    assert names("env in (a,b)") == ["a1", "a2", "b1"]
    assert names("env notin (a,b)") == ["c1", "none"]
    assert names("!env") == ["none"]
    assert names("tier") == ["a1", "b1", "none"]
    assert names("env=a,tier=web") == ["a1"]
    assert names("env in (a,b),!tier") == ["a2"]
    assert names("env=zzz") == []


def test_field_selectors(ns: str) -> None:
    core = client.CoreV1Api()
    for name in ("one", "two"):
        core.create_namespaced_config_map(ns, {"metadata": {"name": name}})
    items = core.list_namespaced_config_map(ns, field_selector="metadata.name=two").items
    assert [i.metadata.name for i in items] == ["two"]
    items = core.list_namespaced_config_map(ns, field_selector="metadata.name!=two").items
    assert [i.metadata.name for i in items] == ["one"]
    items = core.list_config_map_for_all_namespaces(field_selector=f"metadata.namespace={ns}").items
    assert sorted(i.metadata.name for i in items) == ["one", "two"]

    for name, node in (("p1", "node-a"), ("p2", "node-a"), ("p3", "node-b"), ("p4", None)):
        spec: Body = {"containers": _containers()}
        if node:
            spec["nodeName"] = node
        core.create_namespaced_pod(ns, {"metadata": {"name": name}, "spec": spec})
    core.patch_namespaced_pod_status("p2", ns, {"status": {"phase": "Running"}})
    core.patch_namespaced_pod_status("p3", ns, {"status": {"phase": "Running"}})

    def pods(selector: str) -> list[str]:
        return sorted(
            i.metadata.name for i in core.list_namespaced_pod(ns, field_selector=selector).items
        )

    assert pods("spec.nodeName=node-a") == ["p1", "p2"]
    assert pods("spec.nodeName=") == ["p4"]
    assert pods("status.phase=Running") == ["p2", "p3"]
    assert pods("status.phase=Pending") == ["p1", "p4"]
    assert pods("spec.nodeName=node-a,status.phase=Running") == ["p2"]
    assert pods("status.phase!=Running") == ["p1", "p4"]

    with pytest.raises(ApiException) as exc:
        core.list_namespaced_config_map(ns, field_selector="spec.nodeName=node-a")
    assert exc.value.status == 400


def test_paging_with_limit_and_continue(ns: str) -> None:
    """limit + continue: 25 objects in pages of 10 -> 10, 10, 5; every name
    exactly once; the last page has no continue token."""
    core = client.CoreV1Api()
    want = [f"page-{i:02d}" for i in range(25)]
    for name in want:
        core.create_namespaced_config_map(ns, {"metadata": {"name": name}})
    pages: list[list[str]] = []
    token = None
    while True:
        kwargs: dict[str, Any] = {"limit": 10}
        if token:
            kwargs["_continue"] = token
        resp = core.list_namespaced_config_map(ns, **kwargs)
        pages.append([i.metadata.name for i in resp.items])
        token = resp.metadata._continue
        if not token:
            break
        assert resp.metadata.remaining_item_count == 25 - sum(map(len, pages))
        assert len(pages) < 10, "paging does not terminate"
    assert [len(p) for p in pages] == [10, 10, 5]
    flat = [n for p in pages for n in p]
    assert sorted(flat) == want
    assert len(set(flat)) == 25


# ---------------------------------------------------- create options
def test_generate_name_creates_unique_names(ns: str) -> None:
    core = client.CoreV1Api()
    names = set()
    for _ in range(10):
        cm = core.create_namespaced_config_map(ns, {"metadata": {"generateName": "gen-"}})
        assert cm.metadata.name.startswith("gen-")
        assert len(cm.metadata.name) == len("gen-") + 5
        assert cm.metadata.generate_name == "gen-"
        names.add(cm.metadata.name)
    assert len(names) == 10
    listed = {i.metadata.name for i in core.list_namespaced_config_map(ns).items}
    assert names <= listed


def test_dry_run_create_stores_nothing(ns: str) -> None:
    core = client.CoreV1Api()
    rv_before = core.list_namespaced_config_map(ns).metadata.resource_version
    out = core.create_namespaced_config_map(
        ns, {"metadata": {"name": "dry"}, "data": {"k": "v"}}, dry_run="All"
    )
    assert out.metadata.name == "dry"
    assert out.data == {"k": "v"}
    with pytest.raises(ApiException) as exc:
        core.read_namespaced_config_map("dry", ns)
    assert exc.value.status == 404
    listed = core.list_namespaced_config_map(ns)
    assert "dry" not in [i.metadata.name for i in listed.items]
    assert listed.metadata.resource_version == rv_before
    # dry run of a service allocates no ClusterIP for good either
    svc = {"metadata": {"name": "dry-svc"}, "spec": {"ports": [{"port": 80}]}}
    core.create_namespaced_service(ns, svc, dry_run="All")
    with pytest.raises(ApiException) as exc:
        core.read_namespaced_service("dry-svc", ns)
    assert exc.value.status == 404


# ------------------------------------------------------------ delete
@pytest.mark.parametrize(
    ("policy", "finalizer"), [("Orphan", "orphan"), ("Foreground", "foregroundDeletion")]
)
def test_delete_propagation_adds_gc_finalizer(ns: str, policy: str, finalizer: str) -> None:
    """Upstream adds the garbage collector's finalizer for Orphan/Foreground
    deletion; the object stays (with deletionTimestamp) until it is removed."""
    apps = client.AppsV1Api()
    name = uniq("rs")
    apps.create_namespaced_replica_set(ns, _workload(name, ns))
    apps.delete_namespaced_replica_set(name, ns, propagation_policy=policy)
    cur = apps.read_namespaced_replica_set(name, ns)
    assert cur.metadata.deletion_timestamp is not None
    assert finalizer in cur.metadata.finalizers
    time.sleep(0.5)
    assert apps.read_namespaced_replica_set(name, ns).metadata.finalizers == [finalizer]
    # Removing the last finalizer completes the deletion.
    apps.patch_namespaced_replica_set(name, ns, {"metadata": {"finalizers": None}})
    wait_gone(lambda: apps.read_namespaced_replica_set(name, ns))


def test_user_finalizer_blocks_deletion_until_removed(ns: str) -> None:
    core = client.CoreV1Api()
    name = uniq("cm")
    body = {"metadata": {"name": name, "finalizers": ["svcnet.io/block"]}, "data": {"k": "v"}}
    created = core.create_namespaced_config_map(ns, body)
    core.delete_namespaced_config_map(name, ns)
    cur = core.read_namespaced_config_map(name, ns)
    assert cur.metadata.deletion_timestamp is not None
    assert cur.metadata.finalizers == ["svcnet.io/block"]
    assert cur.metadata.uid == created.metadata.uid
    # Deleting again changes nothing; the object is still listed.
    core.delete_namespaced_config_map(name, ns)
    assert name in [i.metadata.name for i in core.list_namespaced_config_map(ns).items]
    core.patch_namespaced_config_map(name, ns, [{"op": "remove", "path": "/metadata/finalizers"}])
    wait_gone(lambda: core.read_namespaced_config_map(name, ns))


def test_delete_preconditions(ns: str) -> None:
    core = client.CoreV1Api()
    name = uniq("cm")
    created = core.create_namespaced_config_map(ns, {"metadata": {"name": name}})
    wrong = client.V1DeleteOptions(preconditions=client.V1Preconditions(uid=str(uuid.uuid4())))
    with pytest.raises(ApiException) as exc:
        core.delete_namespaced_config_map(name, ns, body=wrong)
    assert exc.value.status == 409
    assert api_error(exc)["reason"] == "Conflict"
    stale_rv = client.V1DeleteOptions(preconditions=client.V1Preconditions(resource_version="1"))
    with pytest.raises(ApiException) as exc:
        core.delete_namespaced_config_map(name, ns, body=stale_rv)
    assert exc.value.status == 409
    assert core.read_namespaced_config_map(name, ns).metadata.uid == created.metadata.uid
    right = client.V1DeleteOptions(preconditions=client.V1Preconditions(uid=created.metadata.uid))
    core.delete_namespaced_config_map(name, ns, body=right)
    wait_gone(lambda: core.read_namespaced_config_map(name, ns))


# ------------------------------------------------------------- watch
def test_watch_sees_added_modified_deleted(ns: str) -> None:
    """A watch from a list's resourceVersion replays what happened since and
    then streams live changes."""
    core = client.CoreV1Api()
    rv = core.list_namespaced_config_map(ns).metadata.resource_version
    core.create_namespaced_config_map(ns, {"metadata": {"name": "w1"}, "data": {"n": "0"}})
    seen: list[tuple[str, str, str]] = []
    w = watch.Watch()
    for ev in w.stream(
        core.list_namespaced_config_map, ns, resource_version=rv, timeout_seconds=10
    ):
        obj = ev["object"]
        assert isinstance(obj, client.V1ConfigMap)
        seen.append((ev["type"], obj.metadata.name, obj.metadata.resource_version))
        if ev["type"] == "ADDED":  # replayed from history; the rest is live
            core.patch_namespaced_config_map("w1", ns, {"data": {"n": "1"}})
        elif ev["type"] == "MODIFIED":
            assert obj.data == {"n": "1"}
            core.delete_namespaced_config_map("w1", ns)
        elif ev["type"] == "DELETED":
            w.stop()
    assert [(t, n) for t, n, _ in seen] == [("ADDED", "w1"), ("MODIFIED", "w1"), ("DELETED", "w1")]
    rvs = [int(r) for _, _, r in seen]
    assert rvs == sorted(rvs) and len(set(rvs)) == 3 and rvs[0] > int(rv)


def test_watch_with_label_selector(ns: str) -> None:
    """Selector transitions: entering the selection is ADDED, leaving it DELETED."""
    core = client.CoreV1Api()
    rv = core.list_namespaced_config_map(ns).metadata.resource_version
    core.create_namespaced_config_map(ns, {"metadata": {"name": "s1", "labels": {"app": "x"}}})
    core.create_namespaced_config_map(ns, {"metadata": {"name": "s2"}})
    core.patch_namespaced_config_map("s2", ns, {"metadata": {"labels": {"app": "x"}}})
    core.patch_namespaced_config_map("s1", ns, {"metadata": {"labels": {"app": "y"}}})
    events = [
        (e["type"], e["object"].metadata.name)
        for e in watch.Watch().stream(
            core.list_namespaced_config_map,
            ns,
            label_selector="app=x",
            resource_version=rv,
            timeout_seconds=1,
        )
    ]
    assert events == [("ADDED", "s1"), ("ADDED", "s2"), ("DELETED", "s1")]


def test_watch_resumes_across_restart(server: Server) -> None:
    """A watch from a resourceVersion recorded before a restart delivers every
    later change exactly once: those made before the restart (from the
    persisted history) and those made after it."""
    load(server)
    core = client.CoreV1Api()
    ns = "resume"
    core.create_namespace({"metadata": {"name": ns}})
    core.create_namespaced_config_map(ns, {"metadata": {"name": "old"}})
    rv = core.list_namespaced_config_map(ns).metadata.resource_version

    core.create_namespaced_config_map(ns, {"metadata": {"name": "a"}, "data": {"n": "0"}})
    core.patch_namespaced_config_map("a", ns, {"data": {"n": "1"}})
    core.create_namespaced_config_map(ns, {"metadata": {"name": "b"}})
    core.delete_namespaced_config_map("old", ns)

    assert server.stop(signal.SIGTERM) == 0
    server.start()
    load(server)  # the port changes: reload the kubeconfig
    core = client.CoreV1Api()

    core.create_namespaced_config_map(ns, {"metadata": {"name": "c"}})
    core.delete_namespaced_config_map("b", ns)
    core.patch_namespaced_config_map("a", ns, {"data": {"n": "2"}})

    events = list(
        watch.Watch().stream(
            core.list_namespaced_config_map, ns, resource_version=rv, timeout_seconds=2
        )
    )
    got = [(e["type"], e["object"].metadata.name) for e in events]
    assert got == [
        ("ADDED", "a"),
        ("MODIFIED", "a"),
        ("ADDED", "b"),
        ("DELETED", "old"),
        ("ADDED", "c"),
        ("DELETED", "b"),
        ("MODIFIED", "a"),
    ]
    rvs = [int(e["object"].metadata.resource_version) for e in events]
    assert rvs == sorted(rvs) and len(set(rvs)) == len(rvs), rvs
    assert rvs[0] > int(rv)
    assert events[-1]["object"].data == {"n": "2"}

    # Resuming from the last event delivers nothing more.
    more = list(
        watch.Watch().stream(
            core.list_namespaced_config_map, ns, resource_version=str(rvs[-1]), timeout_seconds=1
        )
    )
    assert more == []


# ----------------------------------------------- 410 Gone / re-list
SMALL_HISTORY = 20

# `svcnet apiserver` has no flag for the watch history size (50,000 events),
# which is too many to push out within this suite's time budget. This
# launcher runs the same APIServer as `svcnet apiserver` (as its `serve()`
# does) on a SQLite store whose history holds SMALL_HISTORY events.
_LAUNCHER = textwrap.dedent(
    f"""
    import asyncio, signal, sys
    from pathlib import Path
    from svcnet.apiserver.server import APIServer, Options
    from svcnet.store import SQLiteStore

    async def main():
        d = Path(sys.argv[1])
        store = SQLiteStore(d / "store.db", history={SMALL_HISTORY}, prune_every=1)
        srv = APIServer(Options(data_dir=d, listen="127.0.0.1:0"), store=store)
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        await srv.start()
        await stop.wait()
        await srv.stop()

    asyncio.run(main())
    """
)


@pytest.fixture
def small_history_server(tmp_path: Path) -> Iterator[Server]:
    s = Server(tmp_path / "data")
    data = s.data_dir
    data.mkdir(parents=True)
    log = open(tmp_path / "small.log", "ab")  # noqa: SIM115 - closed after Popen
    s.log_path = tmp_path / "small.log"
    s.proc = subprocess.Popen(
        [sys.executable, "-c", _LAUNCHER, str(data)], stdout=log, stderr=subprocess.STDOUT, cwd=ROOT
    )
    log.close()
    try:
        deadline = time.monotonic() + 20
        while True:
            if s.proc.poll() is not None:
                raise RuntimeError(f"launcher exited: {s.log()}")
            if s.kubeconfig.exists():
                try:
                    cfg = yaml.safe_load(s.kubeconfig.read_text())
                    s.url = cfg["clusters"][0]["cluster"]["server"]
                    break
                except (yaml.YAMLError, KeyError, TypeError, IndexError):
                    pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"launcher did not start: {s.log()}")
            time.sleep(0.05)
        yield s
    finally:
        s.stop()


def test_watch_too_old_resource_version_is_410_and_relist_recovers(
    small_history_server: Server,
) -> None:
    """Upstream watch cache: a watch from a resourceVersion older than the
    retained history gets an ERROR event carrying Status 410 Expired; the
    client must re-list and watch from the list's resourceVersion."""
    load(small_history_server)
    core = client.CoreV1Api()
    ns = "expire"
    core.create_namespace({"metadata": {"name": ns}})
    core.create_namespaced_config_map(ns, {"metadata": {"name": "first"}})
    old_rv = core.list_namespaced_config_map(ns).metadata.resource_version
    for i in range(SMALL_HISTORY + 5):
        core.create_namespaced_config_map(ns, {"metadata": {"name": f"push-{i:02d}"}})

    # The raw stream: HTTP 200, then one ERROR event with the Status.
    resp = core.list_namespaced_config_map(
        ns, watch=True, resource_version=old_rv, timeout_seconds=5, _preload_content=False
    )
    try:
        lines = [ln for ln in resp.read().decode().splitlines() if ln.strip()]
    finally:
        resp.release_conn()
    assert len(lines) == 1, lines
    ev = json.loads(lines[0])
    assert ev["type"] == "ERROR"
    st = ev["object"]
    assert st["kind"] == "Status" and st["status"] == "Failure"
    assert st["code"] == 410
    assert st["reason"] == "Expired"
    assert "too old resource version" in st["message"]

    # kubernetes.watch retries a 410 once, then raises ApiException(410).
    with pytest.raises(ApiException) as exc:
        for _ in watch.Watch().stream(core.list_namespaced_config_map, ns, resource_version=old_rv):
            raise AssertionError("no event may be delivered from an expired version")
    assert exc.value.status == 410
    assert "Expired" in str(exc.value.reason)

    # Re-list, then watch from the list's resourceVersion: it works.
    fresh = core.list_namespaced_config_map(ns)
    assert len(fresh.items) == SMALL_HISTORY + 6
    core.create_namespaced_config_map(ns, {"metadata": {"name": "after-relist"}})
    events = [
        (e["type"], e["object"].metadata.name)
        for e in watch.Watch().stream(
            core.list_namespaced_config_map,
            ns,
            resource_version=fresh.metadata.resource_version,
            timeout_seconds=1,
        )
    ]
    assert events == [("ADDED", "after-relist")]
