"""Acceptance: the real kubectl against a fresh `svcnet apiserver`.

Every test drives the kubectl on PATH (the dispatcher picks 1.31 from the
server's /version) and asserts what upstream kube-apiserver + kubectl 1.31
print or store. Read-mostly tests share one server (`shared_server`) and
keep to their own namespace; tests that need a pristine cluster use the
function-scoped `server`.

Object expectations name the upstream rule they check (defaulting in
`pkg/apis/core/v1/defaults.go`, apps defaults, validation in
`pkg/apis/core/validation`, strategic merge patch in
`apimachinery/pkg/util/strategicpatch`, printers in
`pkg/printers/internalversion`).
"""

from __future__ import annotations

import contextlib
import json
import queue
import re
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import yaml

pytestmark = pytest.mark.integration

WAIT_SECONDS = 10.0


# ------------------------------------------------------------------ helpers
def get_json(server, *args: str) -> dict[str, Any]:
    return json.loads(server.kubectl("get", *args, "-o", "json").stdout)


def apply(server, manifest: str, *args: str, check: bool = True) -> subprocess.CompletedProcess:
    return server.kubectl("apply", "-f", "-", *args, input=manifest, check=check)


def lines(text: str) -> list[str]:
    return [ln for ln in text.splitlines() if ln.strip()]


def table(text: str, drop: tuple[str, ...] = ("AGE",)) -> list[list[str]]:
    """Split kubectl's human table into cells; drop time-dependent columns."""
    rows = [re.split(r"\s{2,}", ln.strip()) for ln in lines(text)]
    header = rows[0]
    keep = [i for i, name in enumerate(header) if name not in drop]
    assert all(len(row) == len(header) for row in rows), rows
    return [[row[i] for i in keep] for row in rows]


def wait_until(pred: Callable[[], bool], timeout: float = WAIT_SECONDS) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if pred():
            return True
        time.sleep(0.1)
    return pred()


def gone(server, *args: str) -> bool:
    p = server.kubectl("get", *args, check=False)
    return p.returncode != 0 and "(NotFound)" in p.stderr


def rv(obj: dict[str, Any]) -> int:
    return int(obj["metadata"]["resourceVersion"])


def last_applied(obj: dict[str, Any]) -> dict[str, Any]:
    return json.loads(
        obj["metadata"]["annotations"]["kubectl.kubernetes.io/last-applied-configuration"]
    )


def as_applied(doc: dict[str, Any]) -> dict[str, Any]:
    """What kubectl writes into last-applied-configuration for `doc`."""
    doc = json.loads(json.dumps(doc))
    doc["metadata"].setdefault("annotations", {})
    return doc


# ------------------------------------------------- 1. apply, edit, re-apply
APPLY_V1 = """\
apiVersion: v1
kind: Namespace
metadata:
  name: kt-apply
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  namespace: kt-apply
  labels:
    app: web
    tier: frontend
spec:
  replicas: 2
  selector:
    matchLabels:
      app: web
  template:
    metadata:
      labels:
        app: web
    spec:
      containers:
      - name: web
        image: svcnet/netexec
        env:
        - name: A
          value: "1"
        - name: B
          value: "2"
---
apiVersion: v1
kind: Service
metadata:
  name: web
  namespace: kt-apply
  labels:
    app: web
    old: gone-soon
spec:
  selector:
    app: web
  ports:
  - name: http
    port: 80
    targetPort: 8080
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: cfg
  namespace: kt-apply
  labels:
    app: web
data:
  greeting: hello
"""

# The edit: Service gains a port and loses a label, the Deployment's label
# `tier` changes and `team` is added, container env var A is removed.
APPLY_V2 = (
    APPLY_V1.replace(
        "    port: 80\n    targetPort: 8080\n",
        "    port: 80\n    targetPort: 8080\n  - name: metrics\n    port: 9090\n",
    )
    .replace("    tier: frontend\n", "    tier: backend\n    team: net\n")
    .replace('        - name: A\n          value: "1"\n', "")
    .replace("    old: gone-soon\n", "")
)


def test_apply_multi_document_then_edit_then_unchanged(shared_server):
    s = shared_server
    docs_v1 = list(yaml.safe_load_all(APPLY_V1))
    docs_v2 = list(yaml.safe_load_all(APPLY_V2))
    assert APPLY_V2 != APPLY_V1

    out = apply(s, APPLY_V1).stdout
    assert lines(out) == [
        "namespace/kt-apply created",
        "deployment.apps/web created",
        "service/web created",
        "configmap/cfg created",
    ]
    ns1 = get_json(s, "namespace", "kt-apply")
    dep1 = get_json(s, "-n", "kt-apply", "deployment", "web")
    svc1 = get_json(s, "-n", "kt-apply", "service", "web")
    cm1 = get_json(s, "-n", "kt-apply", "configmap", "cfg")

    # Upstream SetDefaults_Service: protocol TCP; targetPort stays as given.
    assert svc1["spec"]["ports"] == [
        {"name": "http", "port": 80, "protocol": "TCP", "targetPort": 8080}
    ]
    assert svc1["spec"]["type"] == "ClusterIP"
    assert svc1["spec"]["sessionAffinity"] == "None"
    assert svc1["metadata"]["labels"] == {"app": "web", "old": "gone-soon"}
    container1 = dep1["spec"]["template"]["spec"]["containers"][0]
    assert container1["env"] == [{"name": "A", "value": "1"}, {"name": "B", "value": "2"}]
    # Upstream apps/v1 and core/v1 defaults for a Deployment's template.
    assert container1["imagePullPolicy"] == "Always"  # no tag -> :latest -> Always
    assert container1["terminationMessagePath"] == "/dev/termination-log"
    assert dep1["spec"]["strategy"] == {
        "type": "RollingUpdate",
        "rollingUpdate": {"maxSurge": "25%", "maxUnavailable": "25%"},
    }
    assert dep1["spec"]["revisionHistoryLimit"] == 10
    assert dep1["spec"]["progressDeadlineSeconds"] == 600
    assert dep1["metadata"]["generation"] == 1
    # Services and ConfigMaps have no generation upstream.
    assert "generation" not in svc1["metadata"]
    assert "generation" not in cm1["metadata"]
    assert cm1["data"] == {"greeting": "hello"}
    for obj, doc in zip((ns1, dep1, svc1, cm1), docs_v1, strict=True):
        assert last_applied(obj) == as_applied(doc), obj["kind"]

    out = apply(s, APPLY_V2).stdout
    assert lines(out) == [
        "namespace/kt-apply unchanged",
        "deployment.apps/web configured",
        "service/web configured",
        "configmap/cfg unchanged",
    ]
    ns2 = get_json(s, "namespace", "kt-apply")
    dep2 = get_json(s, "-n", "kt-apply", "deployment", "web")
    svc2 = get_json(s, "-n", "kt-apply", "service", "web")
    cm2 = get_json(s, "-n", "kt-apply", "configmap", "cfg")

    # Strategic merge by `port` with $setElementOrder: existing port kept,
    # the new one appended in manifest order, targetPort defaulted to port.
    assert svc2["spec"]["ports"] == [
        {"name": "http", "port": 80, "protocol": "TCP", "targetPort": 8080},
        {"name": "metrics", "port": 9090, "protocol": "TCP", "targetPort": 9090},
    ]
    # Three-way merge: a label dropped from the manifest is removed.
    assert svc2["metadata"]["labels"] == {"app": "web"}
    assert dep2["metadata"]["labels"] == {"app": "web", "tier": "backend", "team": "net"}
    container2 = dep2["spec"]["template"]["spec"]["containers"][0]
    assert container2["env"] == [{"name": "B", "value": "2"}]
    assert {k: v for k, v in container2.items() if k != "env"} == {
        k: v for k, v in container1.items() if k != "env"
    }
    # generation counts spec changes of the Deployment only.
    assert dep2["metadata"]["generation"] == 2
    assert "generation" not in svc2["metadata"]
    assert rv(dep2) > rv(dep1)
    assert rv(svc2) > rv(svc1)
    assert rv(cm2) == rv(cm1)
    assert rv(ns2) == rv(ns1)
    assert dep2["metadata"]["uid"] == dep1["metadata"]["uid"]
    assert svc2["metadata"]["uid"] == svc1["metadata"]["uid"]
    for obj, doc in zip((ns2, dep2, svc2, cm2), docs_v2, strict=True):
        assert last_applied(obj) == as_applied(doc), obj["kind"]

    out = apply(s, APPLY_V2).stdout
    assert lines(out) == [
        "namespace/kt-apply unchanged",
        "deployment.apps/web unchanged",
        "service/web unchanged",
        "configmap/cfg unchanged",
    ]
    listed = get_json(s, "-n", "kt-apply", "deployment/web", "service/web", "configmap/cfg")
    assert [rv(o) for o in listed["items"]] == [rv(dep2), rv(svc2), rv(cm2)]
    assert listed["items"][0]["metadata"]["generation"] == 2


# A label-only change of a Deployment leaves generation alone (upstream
# deployment strategy bumps it only when spec changes).
def test_label_only_change_keeps_deployment_generation(shared_server):
    s = shared_server
    s.kubectl("create", "namespace", "kt-gen")
    s.kubectl("create", "deployment", "web", "--image=svcnet/netexec", "-n", "kt-gen")
    before = get_json(s, "-n", "kt-gen", "deployment", "web")
    s.kubectl("label", "-n", "kt-gen", "deployment", "web", "extra=1")
    after = get_json(s, "-n", "kt-gen", "deployment", "web")
    assert after["metadata"]["labels"] == {"app": "web", "extra": "1"}
    assert after["metadata"]["generation"] == before["metadata"]["generation"] == 1
    assert rv(after) > rv(before)


@pytest.fixture(scope="module")
def status_ns(shared_server) -> str:
    s = shared_server
    s.kubectl("create", "namespace", "kt-status")
    s.kubectl("create", "deployment", "web", "--image=svcnet/netexec", "-n", "kt-status")
    s.kubectl("expose", "deployment", "web", "--port=80", "-n", "kt-status")
    return "kt-status"


# Go's encoding/json always writes non-pointer status structs, so upstream
# returns `status: {loadBalancer: {}}` for a Service and `status: {}` for a
# Deployment no controller has touched.
@pytest.mark.parametrize(
    ("kind", "name", "expected"),
    [
        ("service", "web", {"loadBalancer": {}}),
        ("deployment", "web", {}),
        ("namespace", "kt-status", {"phase": "Active"}),
    ],
    ids=["service", "deployment", "namespace"],
)
def test_new_objects_carry_upstream_status(shared_server, status_ns, kind, name, expected):
    obj = get_json(shared_server, "-n", status_ns, kind, name)
    assert obj.get("status") == expected


# ------------------------------------------------------------ 2./3. reading
TABLES = """\
apiVersion: v1
kind: Namespace
metadata:
  name: kt-tables
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  namespace: kt-tables
  labels: {app: web}
spec:
  replicas: 2
  selector:
    matchLabels: {app: web}
  template:
    metadata:
      labels: {app: web}
    spec:
      containers:
      - name: web
        image: svcnet/netexec
        env:
        - {name: MODE, value: fast}
---
apiVersion: v1
kind: Service
metadata:
  name: web
  namespace: kt-tables
  labels: {app: web}
spec:
  clusterIP: 10.96.100.10
  selector: {app: web}
  ports:
  - {name: http, port: 80, targetPort: 8080}
  - {name: dns, port: 53, protocol: UDP}
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: cfg
  namespace: kt-tables
data: {a: "1", b: "2"}
---
apiVersion: v1
kind: Pod
metadata:
  name: p1
  namespace: kt-tables
  labels: {app: web}
spec:
  nodeName: node-1
  containers:
  - name: c
    image: svcnet/netexec
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata:
  name: web-abc12
  namespace: kt-tables
  labels:
    kubernetes.io/service-name: web
addressType: IPv4
ports:
- {name: http, port: 8080, protocol: TCP}
endpoints:
- addresses: ["10.244.1.5"]
  conditions: {ready: true}
- addresses: ["10.244.2.7"]
  conditions: {ready: true}
"""


@pytest.fixture(scope="module")
def tables_ns(shared_server) -> str:
    s = shared_server
    apply(s, TABLES)
    s.kubectl(
        "patch",
        "-n",
        "kt-tables",
        "pod",
        "p1",
        "--subresource=status",
        "--type=merge",
        "-p",
        '{"status":{"podIP":"10.244.1.5","podIPs":[{"ip":"10.244.1.5"}]}}',
    )
    return "kt-tables"


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        pytest.param(
            ["services"],
            [
                ["NAME", "TYPE", "CLUSTER-IP", "EXTERNAL-IP", "PORT(S)"],
                ["web", "ClusterIP", "10.96.100.10", "<none>", "80/TCP,53/UDP"],
            ],
            id="services",
        ),
        pytest.param(
            ["services", "-o", "wide"],
            [
                ["NAME", "TYPE", "CLUSTER-IP", "EXTERNAL-IP", "PORT(S)", "SELECTOR"],
                ["web", "ClusterIP", "10.96.100.10", "<none>", "80/TCP,53/UDP", "app=web"],
            ],
            id="services-wide",
        ),
        pytest.param(
            ["deployments"],
            [["NAME", "READY", "UP-TO-DATE", "AVAILABLE"], ["web", "0/2", "0", "0"]],
            id="deployments",
        ),
        pytest.param(
            ["deployments", "-o", "wide"],
            [
                ["NAME", "READY", "UP-TO-DATE", "AVAILABLE", "CONTAINERS", "IMAGES", "SELECTOR"],
                ["web", "0/2", "0", "0", "web", "svcnet/netexec", "app=web"],
            ],
            id="deployments-wide",
        ),
        pytest.param(["configmaps"], [["NAME", "DATA"], ["cfg", "2"]], id="configmaps"),
        pytest.param(
            ["pods", "-o", "wide"],
            [
                [
                    "NAME",
                    "READY",
                    "STATUS",
                    "RESTARTS",
                    "IP",
                    "NODE",
                    "NOMINATED NODE",
                    "READINESS GATES",
                ],
                ["p1", "0/1", "Pending", "0", "10.244.1.5", "node-1", "<none>", "<none>"],
            ],
            id="pods-wide",
        ),
        pytest.param(
            ["endpointslices"],
            [
                ["NAME", "ADDRESSTYPE", "PORTS", "ENDPOINTS"],
                ["web-abc12", "IPv4", "8080", "10.244.1.5,10.244.2.7"],
            ],
            id="endpointslices",
        ),
    ],
)
def test_get_tables(shared_server, tables_ns, args, expected):
    out = shared_server.kubectl("get", "-n", tables_ns, *args).stdout
    assert "AGE" in re.split(r"\s{2,}", out.splitlines()[0].strip())
    assert table(out) == expected


def test_get_namespaces_of_a_fresh_server(server):
    out = server.kubectl("get", "namespaces").stdout
    assert table(out) == [
        ["NAME", "STATUS"],
        ["default", "Active"],
        ["kube-node-lease", "Active"],
        ["kube-public", "Active"],
        ["kube-system", "Active"],
    ]
    assert out.splitlines()[0].split() == ["NAME", "STATUS", "AGE"]


@pytest.mark.parametrize(
    ("output", "check"),
    [
        pytest.param(
            "yaml",
            lambda out: (
                yaml.safe_load(out)["spec"]["ports"][0]
                == {"name": "http", "port": 80, "protocol": "TCP", "targetPort": 8080}
            ),
            id="yaml",
        ),
        pytest.param(
            "json",
            lambda out: (
                json.loads(out)["kind"] == "Service"
                and json.loads(out)["spec"]["ports"][1]
                == {"name": "dns", "port": 53, "protocol": "UDP", "targetPort": 53}
            ),
            id="json",
        ),
        pytest.param("jsonpath={.spec.ports[0].port}", lambda out: out == "80", id="jsonpath"),
        pytest.param("name", lambda out: out == "service/web\n", id="name"),
    ],
)
def test_get_output_formats(shared_server, tables_ns, output, check):
    out = shared_server.kubectl("get", "-n", tables_ns, "service", "web", "-o", output).stdout
    assert check(out), out


def test_get_name_lists_several_kinds(shared_server, tables_ns):
    out = shared_server.kubectl(
        "get", "-n", tables_ns, "deployments,services,configmaps", "-o", "name"
    ).stdout
    assert lines(out) == ["deployment.apps/web", "service/web", "configmap/cfg"]


@pytest.mark.parametrize(
    ("kind", "patterns"),
    [
        pytest.param(
            "service",
            [
                r"^Name:\s+web$",
                r"^Namespace:\s+kt-tables$",
                r"^Labels:\s+app=web$",
                r"^Selector:\s+app=web$",
                r"^Type:\s+ClusterIP$",
                r"^IP:\s+10\.96\.100\.10$",
                r"^Port:\s+http\s+80/TCP$",
                r"^TargetPort:\s+8080/TCP$",
                r"^Endpoints:\s+10\.244\.1\.5:8080,10\.244\.2\.7:8080$",
                r"^Port:\s+dns\s+53/UDP$",
                r"^Session Affinity:\s+None$",
            ],
            id="service",
        ),
        pytest.param(
            "deployment",
            [
                r"^Name:\s+web$",
                r"^Namespace:\s+kt-tables$",
                r"^Selector:\s+app=web$",
                r"^Replicas:\s+2 desired \| 0 updated \| 0 total \| 0 available \| 0 unavailable$",
                r"^StrategyType:\s+RollingUpdate$",
                r"^RollingUpdateStrategy:\s+25% max unavailable, 25% max surge$",
                r"^\s+Image:\s+svcnet/netexec$",
                r"^\s+MODE:\s+fast$",
            ],
            id="deployment",
        ),
    ],
)
def test_describe(shared_server, tables_ns, kind, patterns):
    p = shared_server.kubectl("describe", "-n", tables_ns, kind, "web")
    assert p.returncode == 0
    for pat in patterns:
        assert re.search(pat, p.stdout, re.M), f"{pat!r} not in:\n{p.stdout}"


# ------------------------------------------------- 4. label, annotate, patch
BASE_SVC = """\
apiVersion: v1
kind: Service
metadata:
  name: {name}
  namespace: kt-patch
  labels: {{app: web}}
spec:
  selector: {{app: web}}
  ports:
  - {{name: http, port: 80, targetPort: 8080}}
  - {{name: metrics, port: 9090}}
"""

BASE_DEPLOY = """\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: {name}
  namespace: kt-patch
spec:
  selector:
    matchLabels: {{app: web}}
  template:
    metadata:
      labels: {{app: web}}
    spec:
      containers:
      - name: web
        image: svcnet/netexec
        env:
        - {{name: A, value: "1"}}
        - {{name: B, value: "2"}}
      - name: side
        image: svcnet/echo
"""

HTTP = {"name": "http", "port": 80, "protocol": "TCP", "targetPort": 8080}
METRICS = {"name": "metrics", "port": 9090, "protocol": "TCP", "targetPort": 9090}
EXTRA = {"name": "extra", "port": 7070, "protocol": "TCP", "targetPort": 7070}


@pytest.fixture(scope="module")
def patch_ns(shared_server) -> str:
    shared_server.kubectl("create", "namespace", "kt-patch")
    return "kt-patch"


def test_label_overwrite_remove_and_annotate(shared_server, patch_ns):
    s = shared_server
    apply(s, BASE_SVC.format(name="lbl"))
    svc = ["-n", patch_ns, "service", "lbl"]

    assert s.kubectl("label", *svc, "env=prod").stdout == "service/lbl labeled\n"
    p = s.kubectl("label", *svc, "env=dev", check=False)
    assert p.returncode == 1
    assert "'env' already has a value (prod), and --overwrite is false" in p.stderr
    assert get_json(s, *svc)["metadata"]["labels"] == {"app": "web", "env": "prod"}

    assert s.kubectl("label", *svc, "env=dev", "--overwrite").stdout == "service/lbl labeled\n"
    assert get_json(s, *svc)["metadata"]["labels"] == {"app": "web", "env": "dev"}

    assert s.kubectl("label", *svc, "env-").stdout == "service/lbl unlabeled\n"
    assert get_json(s, *svc)["metadata"]["labels"] == {"app": "web"}

    assert s.kubectl("annotate", *svc, "owner=team-net").stdout == "service/lbl annotated\n"
    annotations = get_json(s, *svc)["metadata"]["annotations"]
    assert annotations["owner"] == "team-net"
    assert "kubectl.kubernetes.io/last-applied-configuration" in annotations

    # label selectors see the new labels
    s.kubectl("label", *svc, "tier=edge")
    out = s.kubectl("get", "-n", patch_ns, "services", "-l", "tier=edge", "-o", "name").stdout
    assert out == "service/lbl\n"


@pytest.mark.parametrize(
    ("name", "ptype", "patch", "ports"),
    [
        # RFC 7386: a list in a merge patch replaces the whole list.
        ("merge", "merge", '{"spec":{"ports":[{"name":"extra","port":7070}]}}', [EXTRA]),
        # RFC 6902: append at the end, then defaulting fills the new item.
        (
            "json",
            "json",
            '[{"op":"add","path":"/spec/ports/-","value":{"name":"extra","port":7070}}]',
            [HTTP, METRICS, EXTRA],
        ),
        # Strategic merge by patchMergeKey `port`: existing ports are kept;
        # strategicpatch.mergeSortedSlice puts patch-only items first.
        (
            "strategic",
            "strategic",
            '{"spec":{"ports":[{"name":"extra","port":7070}]}}',
            [EXTRA, HTTP, METRICS],
        ),
        # Strategic merge of an existing key merges into that item.
        (
            "strategic-merge-item",
            "strategic",
            '{"spec":{"ports":[{"port":9090,"targetPort":9091}]}}',
            [HTTP, {**METRICS, "targetPort": 9091}],
        ),
        # $patch: delete removes the item with that merge key.
        (
            "strategic-delete",
            "strategic",
            '{"spec":{"ports":[{"port":80,"$patch":"delete"}]}}',
            [METRICS],
        ),
    ],
    ids=["merge", "json", "strategic", "strategic-merge-item", "strategic-delete"],
)
def test_patch_service_ports(shared_server, patch_ns, name, ptype, patch, ports):
    s = shared_server
    svc_name = f"p-{name}"
    apply(s, BASE_SVC.format(name=svc_name))
    before = get_json(s, "-n", patch_ns, "service", svc_name)
    out = s.kubectl("patch", "-n", patch_ns, "service", svc_name, "--type", ptype, "-p", patch)
    assert out.stdout == f"service/{svc_name} patched\n"
    after = get_json(s, "-n", patch_ns, "service", svc_name)
    assert after["spec"]["ports"] == ports
    assert after["spec"]["selector"] == {"app": "web"}
    assert rv(after) > rv(before)


def test_patch_merge_sets_and_removes_fields(shared_server, patch_ns):
    s = shared_server
    apply(s, BASE_SVC.format(name="merge-null"))
    out = s.kubectl(
        "patch",
        "-n",
        patch_ns,
        "service",
        "merge-null",
        "--type",
        "merge",
        "-p",
        '{"metadata":{"labels":{"app":null,"role":"db"}},"spec":{"selector":{"tier":"db"}}}',
    ).stdout
    assert out == "service/merge-null patched\n"
    svc = get_json(s, "-n", patch_ns, "service", "merge-null")
    # RFC 7386: null removes a key, maps merge key by key.
    assert svc["metadata"]["labels"] == {"role": "db"}
    assert svc["spec"]["selector"] == {"app": "web", "tier": "db"}
    assert svc["spec"]["ports"] == [HTTP, METRICS]


# Upstream SetDefaults_Service: sessionAffinity ClientIP without a config
# gets sessionAffinityConfig.clientIP.timeoutSeconds = 10800 (3 hours).
def test_patch_to_client_ip_affinity_defaults_timeout(shared_server, patch_ns):
    s = shared_server
    apply(s, BASE_SVC.format(name="sticky"))
    s.kubectl(
        "patch",
        "-n",
        patch_ns,
        "service",
        "sticky",
        "--type",
        "merge",
        "-p",
        '{"spec":{"sessionAffinity":"ClientIP"}}',
    )
    svc = get_json(s, "-n", patch_ns, "service", "sticky")
    assert svc["spec"]["sessionAffinity"] == "ClientIP"
    assert svc["spec"].get("sessionAffinityConfig") == {"clientIP": {"timeoutSeconds": 10800}}


def test_patch_strategic_env_delete_and_add(shared_server, patch_ns):
    s = shared_server
    apply(s, BASE_DEPLOY.format(name="envs"))
    before = get_json(s, "-n", patch_ns, "deployment", "envs")
    s.kubectl(
        "patch",
        "-n",
        patch_ns,
        "deployment",
        "envs",
        "--type",
        "strategic",
        "-p",
        json.dumps(
            {
                "spec": {
                    "template": {
                        "spec": {
                            "containers": [
                                {
                                    "name": "web",
                                    "env": [
                                        {"name": "A", "$patch": "delete"},
                                        {"name": "C", "value": "3"},
                                    ],
                                }
                            ]
                        }
                    }
                }
            }
        ),
    )
    after = get_json(s, "-n", patch_ns, "deployment", "envs")
    containers = after["spec"]["template"]["spec"]["containers"]
    # containers merge by name: `side` is untouched; env merges by name.
    assert [c["name"] for c in containers] == ["web", "side"]
    assert containers[0]["env"] == [{"name": "C", "value": "3"}, {"name": "B", "value": "2"}]
    assert containers[0]["image"] == "svcnet/netexec"
    assert containers[1]["image"] == "svcnet/echo"
    assert after["metadata"]["generation"] == before["metadata"]["generation"] + 1


def test_patch_json_test_op_failure_leaves_object(shared_server, patch_ns):
    s = shared_server
    apply(s, BASE_SVC.format(name="json-test"))
    before = get_json(s, "-n", patch_ns, "service", "json-test")
    p = s.kubectl(
        "patch",
        "-n",
        patch_ns,
        "service",
        "json-test",
        "--type",
        "json",
        "-p",
        '[{"op":"test","path":"/spec/type","value":"NodePort"},'
        '{"op":"replace","path":"/spec/sessionAffinity","value":"ClientIP"}]',
        check=False,
    )
    assert p.returncode != 0
    after = get_json(s, "-n", patch_ns, "service", "json-test")
    assert rv(after) == rv(before)
    assert after["spec"]["sessionAffinity"] == "None"


# ------------------------------------------------------------- 5. deleting
def test_delete_service_and_not_found(shared_server):
    s = shared_server
    s.kubectl("create", "namespace", "kt-del")
    s.kubectl("create", "service", "clusterip", "x", "--tcp=80:8080", "-n", "kt-del")
    assert s.kubectl("delete", "-n", "kt-del", "svc", "x").stdout == 'service "x" deleted\n'
    assert gone(s, "-n", "kt-del", "service", "x")

    p = s.kubectl("delete", "-n", "kt-del", "svc", "nope", check=False)
    assert p.returncode == 1
    assert p.stderr == 'Error from server (NotFound): services "nope" not found\n'
    p = s.kubectl("get", "-n", "kt-del", "svc", "nope", check=False)
    assert p.returncode == 1
    assert p.stderr == 'Error from server (NotFound): services "nope" not found\n'


def test_delete_configmaps_by_label(shared_server):
    s = shared_server
    s.kubectl("create", "namespace", "kt-dellabel")
    for name in ("a", "b", "c", "d"):
        s.kubectl("create", "configmap", name, "-n", "kt-dellabel")
    s.kubectl("label", "-n", "kt-dellabel", "configmap", "a", "b", "k=v")
    s.kubectl("label", "-n", "kt-dellabel", "configmap", "c", "k=other")
    out = s.kubectl("delete", "-n", "kt-dellabel", "configmap", "-l", "k=v").stdout
    assert lines(out) == ['configmap "a" deleted', 'configmap "b" deleted']
    left = s.kubectl("get", "-n", "kt-dellabel", "configmap", "-o", "name").stdout
    assert lines(left) == ["configmap/c", "configmap/d"]


HELD_CM = """\
apiVersion: v1
kind: ConfigMap
metadata:
  name: held
  namespace: {ns}
  finalizers: [example.com/hold]
"""


def release_held(server, ns: str) -> None:
    server.kubectl(
        "patch",
        "-n",
        ns,
        "configmap",
        "held",
        "--type=merge",
        "-p",
        '{"metadata":{"finalizers":null}}',
        check=False,
    )


@contextlib.contextmanager
def terminating_namespace(server, ns: str) -> Iterator[None]:
    """A namespace being deleted, held in Terminating by a finalizer."""
    apply(server, HELD_CM.format(ns=ns))
    out = server.kubectl("delete", "namespace", ns, "--wait=false").stdout
    assert out == f'namespace "{ns}" deleted\n'
    try:
        yield
    finally:
        release_held(server, ns)


def test_delete_namespace_terminates_then_disappears_with_contents(shared_server):
    s = shared_server
    ns = "kt-delns"
    s.kubectl("create", "namespace", ns)
    s.kubectl("create", "deployment", "web", "--image=svcnet/netexec", "-n", ns)
    s.kubectl("expose", "deployment", "web", "--port=80", "-n", ns)
    s.kubectl("create", "configmap", "plain", "--from-literal=a=1", "-n", ns)
    with terminating_namespace(s, ns):
        nsobj = get_json(s, "namespace", ns)
        assert nsobj["status"]["phase"] == "Terminating"
        assert nsobj["metadata"]["deletionTimestamp"]
        assert nsobj["spec"]["finalizers"] == ["kubernetes"]
        assert table(s.kubectl("get", "namespace", ns).stdout) == [
            ["NAME", "STATUS"],
            [ns, "Terminating"],
        ]

        # The namespace controller empties it; only the held object stays.
        def only_held_left() -> bool:
            what = "deployments,services,configmaps"
            out = s.kubectl("get", "-n", ns, what, "-o", "name").stdout
            return lines(out) == ["configmap/held"]

        assert wait_until(only_held_left)
        held = get_json(s, "-n", ns, "configmap", "held")
        assert held["metadata"]["deletionTimestamp"]
        assert held["metadata"]["finalizers"] == ["example.com/hold"]
        assert get_json(s, "namespace", ns)["status"]["phase"] == "Terminating"

    assert wait_until(lambda: gone(s, "namespace", ns))
    p = s.kubectl("get", "namespace", ns, check=False)
    assert p.stderr == f'Error from server (NotFound): namespaces "{ns}" not found\n'
    p = s.kubectl("get", "-n", ns, "configmaps", check=False)
    assert p.stderr == f"No resources found in {ns} namespace.\n"


# NamespaceLifecycle admission: no new content in a terminating namespace;
# admission.NewForbidden names the object being created (on create the
# handler takes the name from the object).
def test_create_in_terminating_namespace_is_forbidden(shared_server):
    s = shared_server
    ns = "kt-nsforbid"
    s.kubectl("create", "namespace", ns)
    with terminating_namespace(s, ns):
        p = apply(
            s,
            f"apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: late\n  namespace: {ns}\n",
            check=False,
        )
        assert p.returncode == 1
        assert p.stderr == (
            'Error from server (Forbidden): error when creating "STDIN": configmaps "late" is '
            f"forbidden: unable to create new content in namespace {ns} because it is being "
            "terminated\n"
        )
        p = s.kubectl("create", "configmap", "late2", "-n", ns, check=False)
        assert p.returncode == 1
        assert p.stderr == (
            'error: failed to create configmap: configmaps "late2" is forbidden: unable to '
            f"create new content in namespace {ns} because it is being terminated\n"
        )
    assert wait_until(lambda: gone(s, "namespace", ns))


# A namespace that cannot finish (an object's finalizer holds it) must not
# keep the API server from stopping on SIGTERM.
def test_server_stops_promptly_while_namespace_terminating(server):
    server.kubectl("create", "namespace", "stuck")
    apply(server, HELD_CM.format(ns="stuck"))
    server.kubectl("delete", "namespace", "stuck", "--wait=false")
    time.sleep(1.0)  # a few passes of the namespace finalizer
    assert get_json(server, "namespace", "stuck")["status"]["phase"] == "Terminating"
    started = time.monotonic()
    rc = server.stop(timeout=5)
    assert rc == 0, f"apiserver did not exit on SIGTERM within 5s (rc={rc}):\n{server.log()}"
    assert time.monotonic() - started < 5


def test_delete_namespace_waits_until_gone(shared_server):
    s = shared_server
    s.kubectl("create", "namespace", "kt-delwait")
    s.kubectl("create", "configmap", "c", "-n", "kt-delwait")
    s.kubectl("create", "deployment", "web", "--image=svcnet/netexec", "-n", "kt-delwait")
    # Without --wait=false kubectl waits for the object to be gone.
    p = s.kubectl("delete", "namespace", "kt-delwait", "--timeout=10s")
    assert p.stdout == 'namespace "kt-delwait" deleted\n'
    assert gone(s, "namespace", "kt-delwait")
    p = s.kubectl("get", "-n", "kt-delwait", "configmaps,deployments", check=False)
    assert p.stdout == ""
    assert "No resources found in kt-delwait namespace." in p.stderr


# ---------------------------------------------------------------- 6. watch
def test_watch_prints_added_modified_deleted(shared_server):
    s = shared_server
    ns = "kt-watch"
    s.kubectl("create", "namespace", ns)
    s.kubectl("create", "configmap", "seed", "-n", ns)
    cmd = ["kubectl", f"--kubeconfig={s.kubeconfig}"]
    if s.cache_dir is not None:
        cmd.append(f"--cache-dir={s.cache_dir}")
    cmd += ["get", "configmaps", "-n", ns, "-w", "--output-watch-events", "--request-timeout=30s"]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    got: queue.Queue[str] = queue.Queue()

    def pump() -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            got.put(line.rstrip("\n"))

    threading.Thread(target=pump, daemon=True).start()
    seen: list[list[str]] = []

    def read_until(event: str, name: str) -> None:
        deadline = time.monotonic() + WAIT_SECONDS
        while time.monotonic() < deadline:
            try:
                line = got.get(timeout=0.2)
            except queue.Empty:
                continue
            cells = line.split()
            seen.append(cells)
            if cells[:2] == [event, name]:
                return
        raise AssertionError(f"no {event} {name} within {WAIT_SECONDS}s; saw {seen}")

    try:
        read_until("ADDED", "seed")  # the watch is established
        s.kubectl("create", "configmap", "x", "--from-literal=a=1", "-n", ns)
        s.kubectl("label", "configmap", "x", "k=v", "-n", ns)
        s.kubectl("delete", "configmap", "x", "-n", ns)
        read_until("DELETED", "x")
    finally:
        proc.kill()
        proc.wait(5)
    # EVENT NAME DATA AGE
    assert [c[:3] for c in seen] == [
        ["EVENT", "NAME", "DATA"],
        ["ADDED", "seed", "0"],
        ["ADDED", "x", "1"],
        ["MODIFIED", "x", "1"],
        ["DELETED", "x", "1"],
    ]
    assert seen[0] == ["EVENT", "NAME", "DATA", "AGE"]


# -------------------------------------------------------------- 7. explain
@pytest.mark.parametrize(
    ("path", "header", "fields"),
    [
        (
            "service.spec.ports",
            ["KIND:       Service", "VERSION:    v1", "FIELD: ports <[]ServicePort>"],
            {
                "port": r"^  port\t<integer> -required-$",
                "targetPort": r"^  targetPort\t<",
                "nodePort": r"^  nodePort\t<integer>$",
                "protocol": r"^  protocol\t<string>\n  enum: SCTP, TCP, UDP$",
                "name": r"^  name\t<string>$",
            },
        ),
        (
            "deployment.spec.strategy",
            [
                "GROUP:      apps",
                "KIND:       Deployment",
                "VERSION:    v1",
                "FIELD: strategy <DeploymentStrategy>",
            ],
            {
                "rollingUpdate": r"^  rollingUpdate\t<RollingUpdateDeployment>$",
                "type": r"^  type\t<string>\n  enum: Recreate, RollingUpdate$",
            },
        ),
    ],
    ids=["service.spec.ports", "deployment.spec.strategy"],
)
def test_explain(shared_server, path, header, fields):
    out = shared_server.kubectl("explain", path).stdout
    assert [ln for ln in out.splitlines() if ln][: len(header)] == header
    assert re.search(r"^DESCRIPTION:\n    \S", out, re.M)
    assert re.search(r"^FIELDS:$", out, re.M)
    for name, pat in fields.items():
        assert re.search(pat, out, re.M), f"field {name} missing:\n{out}"


def test_explain_unknown_field(shared_server):
    p = shared_server.kubectl("explain", "service.spec.nosuch", check=False)
    assert p.returncode == 1
    assert 'field "nosuch" does not exist' in p.stderr


# ------------------------------------------------ 8. raw, discovery, create
def test_raw_readyz_and_version(shared_server):
    s = shared_server
    assert s.kubectl("get", "--raw", "/readyz").stdout == "ok"
    version = json.loads(s.kubectl("get", "--raw", "/version").stdout)
    assert version["major"] == "1"
    assert version["minor"] == "31"
    assert version["gitVersion"].startswith("v1.31.")
    assert set(version) >= {
        "major",
        "minor",
        "gitVersion",
        "gitCommit",
        "gitTreeState",
        "buildDate",
        "goVersion",
        "compiler",
        "platform",
    }


@pytest.fixture(scope="module")
def api_resources(shared_server) -> dict[str, list[str]]:
    out = shared_server.kubectl("api-resources").stdout
    rows = out.splitlines()
    header = rows[0]
    assert header.split() == ["NAME", "SHORTNAMES", "APIVERSION", "NAMESPACED", "KIND"]
    starts = [header.index(col) for col in ("SHORTNAMES", "APIVERSION", "NAMESPACED", "KIND")]
    result = {}
    for row in rows[1:]:
        cells = [row[: starts[0]]] + [
            row[a:b] for a, b in zip(starts, [*starts[1:], len(row)], strict=True)
        ]
        cells = [c.strip() for c in cells]
        result[cells[0]] = cells[1:]
    return result


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("services", ["svc", "v1", "true", "Service"]),
        ("deployments", ["deploy", "apps/v1", "true", "Deployment"]),
        ("endpointslices", ["", "discovery.k8s.io/v1", "true", "EndpointSlice"]),
        ("ingresses", ["ing", "networking.k8s.io/v1", "true", "Ingress"]),
        ("networkpolicies", ["netpol", "networking.k8s.io/v1", "true", "NetworkPolicy"]),
        ("namespaces", ["ns", "v1", "false", "Namespace"]),
        ("configmaps", ["cm", "v1", "true", "ConfigMap"]),
    ],
)
def test_api_resources(api_resources, name, expected):
    assert api_resources.get(name) == expected


# kubectl maps short names through discovery; an unknown one fails with
# `the server doesn't have a resource type "..."`.
@pytest.mark.parametrize(
    ("short", "kind"),
    [
        ("svc", "Service"),
        ("deploy", "Deployment"),
        ("ing", "Ingress"),
        ("netpol", "NetworkPolicy"),
        ("cm", "ConfigMap"),
        ("endpointslice", "EndpointSlice"),
    ],
)
def test_short_names_resolve(shared_server, tables_ns, short, kind):
    p = shared_server.kubectl("get", short, "-n", tables_ns, "-o", "json")
    assert json.loads(p.stdout)["kind"] == "List"
    assert {item["kind"] for item in json.loads(p.stdout)["items"]} <= {kind}


def test_create_expose_scale(shared_server):
    s = shared_server
    ns = "kt-create"
    s.kubectl("create", "namespace", ns)
    out = s.kubectl("create", "deployment", "web", "--image=svcnet/netexec", "-n", ns).stdout
    assert out == "deployment.apps/web created\n"
    out = s.kubectl(
        "create", "configmap", "cfg", "--from-literal=a=1", "--from-literal=b=two", "-n", ns
    ).stdout
    assert out == "configmap/cfg created\n"
    out = s.kubectl(
        "expose", "deployment", "web", "--port", "80", "--target-port", "8080", "-n", ns
    ).stdout
    assert out == "service/web exposed\n"
    dep = get_json(s, "-n", ns, "deployment", "web")
    assert dep["spec"]["replicas"] == 1
    assert dep["spec"]["selector"] == {"matchLabels": {"app": "web"}}
    assert dep["metadata"]["labels"] == {"app": "web"}
    assert [c["name"] for c in dep["spec"]["template"]["spec"]["containers"]] == ["netexec"]

    cm = get_json(s, "-n", ns, "configmap", "cfg")
    assert cm["data"] == {"a": "1", "b": "two"}

    svc = get_json(s, "-n", ns, "service", "web")
    assert svc["spec"]["ports"] == [{"port": 80, "protocol": "TCP", "targetPort": 8080}]
    assert svc["spec"]["selector"] == {"app": "web"}
    assert svc["metadata"]["labels"] == {"app": "web"}

    out = s.kubectl("scale", "deployment", "web", "--replicas=5", "-n", ns).stdout
    assert out == "deployment.apps/web scaled\n"
    scaled = get_json(s, "-n", ns, "deployment", "web")
    assert scaled["spec"]["replicas"] == 5
    assert scaled["metadata"]["generation"] == dep["metadata"]["generation"] + 1
    out = s.kubectl("get", "-n", ns, "deployment", "web", "-o", "jsonpath={.spec.replicas}")
    assert out.stdout == "5"

    # --current-replicas is a precondition checked against the scale subresource
    p = s.kubectl(
        "scale", "deployment", "web", "--current-replicas=3", "--replicas=2", "-n", ns, check=False
    )
    assert p.returncode == 1
    assert p.stderr == "error: Expected replicas to be 3, was 5\n"
    assert get_json(s, "-n", ns, "deployment", "web")["spec"]["replicas"] == 5


# ---------------------------------------------------------- 9. error shapes
INVALID_CASES = [
    pytest.param(
        "apiVersion: v1\nkind: Service\nmetadata: {name: bad, namespace: kt-errors}\n"
        "spec:\n  ports: [{port: 0, targetPort: 8080}]\n",
        'The Service "bad" is invalid: spec.ports[0].port: Invalid value: 0: '
        "must be between 1 and 65535, inclusive\n",
        id="service-port-0",
    ),
    # Defaulting copies port (0) into targetPort first, so both are invalid
    # and kubectl lists the causes.
    pytest.param(
        "apiVersion: v1\nkind: Service\nmetadata: {name: bad, namespace: kt-errors}\n"
        "spec:\n  ports: [{port: 0}]\n",
        'The Service "bad" is invalid: \n'
        "* spec.ports[0].port: Invalid value: 0: must be between 1 and 65535, inclusive\n"
        "* spec.ports[0].targetPort: Invalid value: 0: must be between 1 and 65535, inclusive\n",
        id="service-port-0-defaulted-target",
    ),
    pytest.param(
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x, namespace: nope}\ndata: {a: b}\n",
        'Error from server (NotFound): error when creating "STDIN": namespaces "nope" not found\n',
        id="missing-namespace",
    ),
    # kubectl apply asks for fieldValidation=Strict; upstream's create
    # handler answers 400 with the strict decoding error.
    pytest.param(
        "apiVersion: v1\nkind: Service\nmetadata: {name: unk, namespace: kt-errors}\n"
        "spec:\n  colour: red\n  ports: [{port: 80}]\n",
        'Error from server (BadRequest): error when creating "STDIN": strict decoding error: '
        'unknown field "spec.colour"\n',
        id="unknown-field",
    ),
]


@pytest.fixture(scope="module")
def errors_ns(shared_server) -> str:
    shared_server.kubectl("create", "namespace", "kt-errors")
    return "kt-errors"


@pytest.mark.parametrize(("manifest", "stderr"), INVALID_CASES)
def test_apply_errors(shared_server, errors_ns, manifest, stderr):
    p = apply(shared_server, manifest, check=False)
    assert p.returncode == 1
    assert p.stdout == ""
    assert p.stderr == stderr
    names = shared_server.kubectl("get", "-n", errors_ns, "services", "-o", "name").stdout
    assert names == ""


def test_unknown_field_ignored_when_validation_off(shared_server, errors_ns):
    manifest = (
        "apiVersion: v1\nkind: Service\nmetadata: {name: lax, namespace: kt-errors}\n"
        "spec:\n  colour: red\n  ports: [{port: 80}]\n"
    )
    p = apply(shared_server, manifest, "--validate=false")
    assert p.stdout == "service/lax created\n"
    svc = get_json(shared_server, "-n", errors_ns, "service", "lax")
    assert "colour" not in svc["spec"]
    shared_server.kubectl("delete", "-n", errors_ns, "service", "lax")
