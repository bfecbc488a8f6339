"""Acceptance (issue 3): the control plane with the real kubectl.

One `svcnet apiserver` (sqlite) and one `svcnet controller-manager` (every
controller, over the trusted unix socket) serve the whole module; the tests
run in file order and build on each other (create + expose -> roll out a
new image -> scale to 250 -> delete a pod -> scale back to 3), as a user's
session would.

There is no node agent yet, so the test plays the kubelet of three Nodes:
it registers them (Ready condition, addresses, capacity), keeps their Leases
in kube-node-lease renewed from a heartbeat thread, reports scheduled pods
Running and Ready through pods/status with an IP out of the node's
spec.podCIDR (given by node IPAM), and finishes graceful deletions with a
grace-period-0 delete. Node addresses are 172.18.0.1x as in the lab, but
they are only data: no traffic leaves 127.0.0.1.

Upstream rules checked:
* kubectl create deployment / expose / scale / rollout status / set image
  (``staging/src/k8s.io/kubectl``): objects and output as upstream.
* Service allocation (``pkg/registry/core/service``): ClusterIP in the
  service CIDR, nodePort in 30000-32767.
* Scheduler: pods go to Ready nodes, spread evenly (PodTopologySpread /
  SelectorSpread default scoring).
* EndpointSlice controller (``pkg/controller/endpointslice``, staging
  ``endpointslice/reconciler.go``): pods with an IP become endpoints with
  conditions ready/serving/terminating; at most --max-endpoints-per-slice
  (100) per slice and existing slices are filled before new ones are made;
  a terminating pod is ready=false, serving=<its readiness>,
  terminating=true; labels kubernetes.io/service-name and
  endpointslice.kubernetes.io/managed-by.
* Endpoints controller (``pkg/controller/endpoint``): ready pods in
  subsets[].addresses, terminating pods left out
  (``ShouldPodBeInEndpoints``).
* ReplicaSet / Deployment controllers: replacements for terminating pods,
  pod-template-hash, RollingUpdate to the new ReplicaSet, old one at 0.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import http.client
import inspect
import ipaddress
import json
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from tests.integration.conftest import ROOT, Server
from tests.integration.test_service_allocation import UnixApi

pytestmark = pytest.mark.integration

NODES = ("node-1", "node-2", "node-3")
ZONES = {"node-1": "zone-a", "node-2": "zone-b", "node-3": "zone-a"}
SERVICE_CIDR = ipaddress.ip_network("10.96.0.0/16")
CLUSTER_CIDR = ipaddress.ip_network("10.244.0.0/16")
NS = "default"
SELECTOR = "app=web"
MANAGED_BY = "endpointslice-controller.k8s.io"
LEASE_RENEW_EVERY = 5.0  # seconds; the controller-manager's grace period is 40 s
Obj = dict[str, Any]


# --------------------------------------------------------------- processes
def micro_now() -> str:
    return dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def now() -> str:
    return dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass
class ControllerManager:
    socket: Path
    log_path: Path
    args: list[str] = field(default_factory=list)
    proc: subprocess.Popen | None = None

    def start(self) -> None:
        log = open(self.log_path, "ab")  # noqa: SIM115 - closed with the process
        self.proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "svcnet.cli",
                "controller-manager",
                "--socket",
                str(self.socket),
                "--metrics-addr",
                "127.0.0.1:0",
                *self.args,
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
            cwd=ROOT,
        )
        log.close()

    def stop(self) -> None:
        if self.proc is None:
            return
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        self.proc = None

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")[-4000:]


class _UnixHTTPConnection(http.client.HTTPConnection):
    def __init__(self, path: str) -> None:
        super().__init__("localhost", timeout=10)
        self._path = path

    def connect(self) -> None:
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(10)
        self.sock.connect(self._path)


def unix_request(sock: Path, method: str, path: str, body: Obj, ctype: str) -> tuple[int, Obj]:
    """A blocking request over the unix socket (for the heartbeat thread)."""
    conn = _UnixHTTPConnection(str(sock))
    try:
        conn.request(method, path, json.dumps(body), {"Content-Type": ctype})
        resp = conn.getresponse()
        text = resp.read()
        return resp.status, (json.loads(text) if text else {})
    finally:
        conn.close()


class Heartbeat(threading.Thread):
    """Renews every node's Lease in kube-node-lease, as kubelets do."""

    def __init__(self, sock: Path) -> None:
        super().__init__(daemon=True, name="lease-heartbeat")
        self.sock = sock
        self.stopped = threading.Event()
        self.errors: list[str] = []

    def beat(self) -> None:
        for node in NODES:
            status, body = unix_request(
                self.sock,
                "PATCH",
                f"/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases/{node}",
                {"spec": {"renewTime": micro_now()}},
                "application/merge-patch+json",
            )
            if status != 200:
                self.errors.append(f"{node}: {status} {body.get('message')}")

    def run(self) -> None:
        while not self.stopped.wait(LEASE_RENEW_EVERY):
            try:
                self.beat()
            except OSError as e:
                self.errors.append(repr(e))


@dataclass
class Cluster:
    server: Server
    cm: ControllerManager

    @property
    def socket(self) -> Path:
        return self.server.data_dir / "api.sock"

    def logs(self) -> str:
        return (
            f"--- apiserver ---\n{self.server.log()}\n--- controller-manager ---\n{self.cm.log()}"
        )

    def kubectl(self, *args: str, check: bool = True, timeout: float = 60) -> str:
        return self.server.kubectl(*args, check=check, timeout=timeout).stdout

    def kubectl_json(self, *args: str) -> Obj:
        return json.loads(self.kubectl(*args, "-o", "json"))


def register_nodes(sock: Path) -> None:
    """Nodes with Ready=True, addresses and capacity, and their Leases."""
    for i, node in enumerate(NODES, start=1):
        status, body = unix_request(
            sock,
            "POST",
            "/api/v1/nodes",
            {
                "apiVersion": "v1",
                "kind": "Node",
                "metadata": {
                    "name": node,
                    "labels": {
                        "kubernetes.io/hostname": node,
                        "kubernetes.io/os": "linux",
                        "topology.kubernetes.io/zone": ZONES[node],
                    },
                },
            },
            "application/json",
        )
        assert status == 201, body
        status, body = unix_request(
            sock,
            "POST",
            "/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases",
            {
                "apiVersion": "coordination.k8s.io/v1",
                "kind": "Lease",
                "metadata": {"name": node},
                "spec": {
                    "holderIdentity": node,
                    "leaseDurationSeconds": 40,
                    "renewTime": micro_now(),
                },
            },
            "application/json",
        )
        assert status == 201, body
        t = now()
        cond = {"lastHeartbeatTime": t, "lastTransitionTime": t}
        status, body = unix_request(
            sock,
            "PATCH",
            f"/api/v1/nodes/{node}/status",
            {
                "status": {
                    "conditions": [
                        {
                            "type": "Ready",
                            "status": "True",
                            "reason": "KubeletReady",
                            "message": "kubelet is posting ready status",
                            **cond,
                        },
                        {
                            "type": "MemoryPressure",
                            "status": "False",
                            "reason": "KubeletHasSufficientMemory",
                            **cond,
                        },
                        {
                            "type": "DiskPressure",
                            "status": "False",
                            "reason": "KubeletHasNoDiskPressure",
                            **cond,
                        },
                        {
                            "type": "PIDPressure",
                            "status": "False",
                            "reason": "KubeletHasSufficientPID",
                            **cond,
                        },
                    ],
                    "addresses": [
                        {"type": "InternalIP", "address": f"172.18.0.{10 + i}"},
                        {"type": "Hostname", "address": node},
                    ],
                    "capacity": {"cpu": "4", "memory": "8Gi", "pods": "110"},
                    "allocatable": {"cpu": "4", "memory": "8Gi", "pods": "110"},
                }
            },
            "application/merge-patch+json",
        )
        assert status == 200, body
        assert [c["status"] for c in body["status"]["conditions"] if c["type"] == "Ready"] == [
            "True"
        ]


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    base = tmp_path_factory.mktemp("cp")
    server = Server(base / "data", store="sqlite", cache_dir=base / "kcache")
    cm = ControllerManager(base / "data" / "api.sock", base / "cm.log")
    heartbeat: Heartbeat | None = None
    try:
        server.start()
        register_nodes(server.data_dir / "api.sock")
        heartbeat = Heartbeat(server.data_dir / "api.sock")
        heartbeat.start()
        cm.start()
        yield Cluster(server, cm)
        assert not heartbeat.errors, heartbeat.errors[:5]
    finally:
        if heartbeat is not None:
            heartbeat.stopped.set()
            heartbeat.join(15)
        cm.stop()
        server.stop()


# ------------------------------------------------------------------ kubelet
def is_ready(pod: Obj) -> bool:
    return any(
        c.get("type") == "Ready" and c.get("status") == "True"
        for c in (pod.get("status") or {}).get("conditions") or []
    )


def terminating(pod: Obj) -> bool:
    return bool(pod["metadata"].get("deletionTimestamp"))


class Kubelet:
    """Plays the kubelets of NODES: reports scheduled pods Running and Ready
    (pods/status, IP from the node's podCIDR) and completes graceful
    deletions (delete with gracePeriodSeconds=0)."""

    def __init__(self, api: UnixApi, cluster: Cluster) -> None:
        self.api = api
        self.cluster = cluster
        self.sem = asyncio.Semaphore(32)

    async def nodes(self) -> dict[str, Obj]:
        status, body = await self.api.call("GET", "/api/v1/nodes")
        assert status == 200, body
        return {n["metadata"]["name"]: n for n in body["items"]}

    async def pods(self) -> list[Obj]:
        status, body = await self.api.call(
            "GET", f"/api/v1/namespaces/{NS}/pods?labelSelector=app%3Dweb"
        )
        assert status == 200, body
        return body["items"]

    async def _ip_for(self, node: Obj, taken: set[str]) -> str:
        cidr = ipaddress.ip_network(node["spec"]["podCIDR"])
        for ip in list(cidr.hosts())[1:]:  # .1 is the node's bridge
            if str(ip) not in taken:
                taken.add(str(ip))
                return str(ip)
        raise AssertionError(f"no pod IP left in {cidr}")

    async def _mark_ready(self, pod: Obj, ip: str, node: Obj) -> None:
        t = now()
        host_ip = next(
            a["address"] for a in node["status"]["addresses"] if a["type"] == "InternalIP"
        )
        containers = pod["spec"]["containers"]
        patch = {
            "status": {
                "phase": "Running",
                "hostIP": host_ip,
                "hostIPs": [{"ip": host_ip}],
                "podIP": ip,
                "podIPs": [{"ip": ip}],
                "startTime": t,
                "conditions": [
                    {
                        "type": "PodReadyToStartContainers",
                        "status": "True",
                        "lastTransitionTime": t,
                    },
                    {"type": "Initialized", "status": "True", "lastTransitionTime": t},
                    {"type": "Ready", "status": "True", "lastTransitionTime": t},
                    {"type": "ContainersReady", "status": "True", "lastTransitionTime": t},
                    {"type": "PodScheduled", "status": "True", "lastTransitionTime": t},
                ],
                "containerStatuses": [
                    {
                        "name": c["name"],
                        "image": c["image"],
                        "imageID": "",
                        "ready": True,
                        "started": True,
                        "restartCount": 0,
                        "state": {"running": {"startedAt": t}},
                    }
                    for c in containers
                ],
            }
        }
        name = pod["metadata"]["name"]
        async with self.sem:
            status, body = await self.api.call(
                "PATCH",
                f"/api/v1/namespaces/{NS}/pods/{name}/status",
                patch,
                "application/merge-patch+json",
            )
        assert status in (200, 404, 409), (name, status, body)

    async def _finish_deletion(self, pod: Obj) -> None:
        name = pod["metadata"]["name"]
        async with self.sem:
            status, body = await self.api.call(
                "DELETE",
                f"/api/v1/namespaces/{NS}/pods/{name}",
                {
                    "kind": "DeleteOptions",
                    "apiVersion": "v1",
                    "gracePeriodSeconds": 0,
                    "preconditions": {"uid": pod["metadata"]["uid"]},
                },
            )
        assert status in (200, 404, 409), (name, status, body)

    async def sync(self, finish_deletions: bool = True) -> list[Obj]:
        """One pass over the pods of Deployment web; returns them as listed."""
        nodes = await self.nodes()
        pods = await self.pods()
        taken = {p["status"]["podIP"] for p in pods if (p.get("status") or {}).get("podIP")}
        work: list[Awaitable[None]] = []
        for p in pods:
            node = p["spec"].get("nodeName")
            if terminating(p):
                if finish_deletions:
                    work.append(self._finish_deletion(p))
            elif node and not is_ready(p):
                ip = p.get("status", {}).get("podIP") or await self._ip_for(nodes[node], taken)
                work.append(self._mark_ready(p, ip, nodes[node]))
        await asyncio.gather(*work)
        return pods

    async def until(
        self,
        check: Callable[[], Any],
        what: str,
        timeout: float = 30.0,
        finish_deletions: bool = True,
        act: bool = True,
    ) -> Any:
        """Run kubelet passes (when ``act``) until ``check()`` is truthy."""
        deadline = time.monotonic() + timeout
        last: Any = None
        while time.monotonic() < deadline:
            if act:
                await self.sync(finish_deletions)
            last = check()
            if inspect.isawaitable(last):
                last = await last
            if last:
                return last
            await asyncio.sleep(0.2)
        raise AssertionError(f"timed out: {what}; last: {str(last)[:2000]}\n{self.cluster.logs()}")


# ------------------------------------------------------------- API helpers
async def slices(api: UnixApi) -> list[Obj]:
    status, body = await api.call(
        "GET",
        f"/apis/discovery.k8s.io/v1/namespaces/{NS}/endpointslices"
        "?labelSelector=kubernetes.io%2Fservice-name%3Dweb",
    )
    assert status == 200, body
    return body["items"]


def endpoints_of(items: list[Obj]) -> list[Obj]:
    return [e for s in items for e in s.get("endpoints") or []]


def ready_ips(pods: list[Obj]) -> set[str]:
    return {p["status"]["podIP"] for p in pods if is_ready(p) and not terminating(p)}


class Miss(str):
    """A falsy check result that says what was seen (for timeout messages)."""

    def __bool__(self) -> bool:
        return False


def fully_ready(items: list[Obj], ips: set[str]) -> bool | Miss:
    """Exactly ``ips`` as endpoints, each once, all ready/serving, no slice
    over --max-endpoints-per-slice (100)."""
    eps = endpoints_of(items)
    got = [a for e in eps for a in e["addresses"]]
    conds = [e["conditions"] for e in eps]
    ok = (
        all(len(s.get("endpoints") or []) <= 100 for s in items)
        and len(got) == len(set(got))
        and set(got) == ips
        and all(c == {"ready": True, "serving": True, "terminating": False} for c in conds)
    )
    if ok:
        return True
    sizes = sorted(len(s.get("endpoints") or []) for s in items)
    bad = [c for c in conds if c != {"ready": True, "serving": True, "terminating": False}]
    return Miss(
        f"slice sizes {sizes}, {len(got)} addresses ({len(set(got))} distinct), "
        f"missing {sorted(ips - set(got))[:5]}, extra {sorted(set(got) - ips)[:5]}, "
        f"other conditions {bad[:3]}"
    )


# -------------------------------------------------------------------- tests
async def test_deployment_exposed_as_node_port_gets_ready_endpoints(cluster: Cluster) -> None:
    async with UnixApi(cluster.socket) as api:
        kubelet = Kubelet(api, cluster)

        async def cidrs() -> dict[str, str] | None:
            nodes = await kubelet.nodes()
            got = {n: (o.get("spec") or {}).get("podCIDR") for n, o in nodes.items()}
            return got if all(got.values()) else None

        pod_cidrs = await kubelet.until(cidrs, "node IPAM gives every node a podCIDR", act=False)
        nets = [ipaddress.ip_network(c) for c in pod_cidrs.values()]
        assert all(n.subnet_of(CLUSTER_CIDR) and n.prefixlen == 24 for n in nets), pod_cidrs
        assert len(set(nets)) == 3, pod_cidrs

        out = cluster.kubectl(
            "create", "deployment", "web", "--image=svcnet/netexec", "--replicas=3"
        )
        assert out.strip() == "deployment.apps/web created"
        out = cluster.kubectl(
            "expose", "deployment", "web", "--port=80", "--target-port=8080", "--type=NodePort"
        )
        assert out.strip() == "service/web exposed"
        svc = cluster.kubectl_json("get", "service", "web")
        assert ipaddress.ip_address(svc["spec"]["clusterIP"]) in SERVICE_CIDR, svc["spec"]
        assert svc["spec"]["selector"] == {"app": "web"}
        (port,) = svc["spec"]["ports"]
        assert (port["port"], port["targetPort"], port["protocol"]) == (80, 8080, "TCP")
        assert 30000 <= port["nodePort"] <= 32767, port

        async def scheduled() -> list[Obj] | None:
            pods = await kubelet.pods()
            ok = len(pods) == 3 and all(p["spec"].get("nodeName") for p in pods)
            return pods if ok else None

        pods = await kubelet.until(scheduled, "3 pods scheduled", act=False)
        assert sorted(p["spec"]["nodeName"] for p in pods) == list(NODES), "spread evenly"

        # Not Ready and without IPs: no endpoints yet (upstream keeps one
        # empty placeholder slice for the Service).
        async def placeholder() -> list[Obj] | None:
            items = await slices(api)
            return items if len(items) == 1 and not endpoints_of(items) else None

        await kubelet.until(placeholder, "an empty placeholder EndpointSlice", act=False)

        pods = await kubelet.until(
            lambda: _all_ready(kubelet, 3), "kubelet marks 3 pods Ready", timeout=20
        )
        ips = ready_ips(pods)
        for p in pods:
            assert ipaddress.ip_address(p["status"]["podIP"]) in ipaddress.ip_network(
                pod_cidrs[p["spec"]["nodeName"]]
            )

        async def sliced() -> bool | Miss:
            return fully_ready(await slices(api), ips)

        await kubelet.until(sliced, "3 ready endpoints in the EndpointSlice")

        # What the user sees.
        lst = cluster.kubectl_json("get", "endpointslices", "-l", "kubernetes.io/service-name=web")
        assert len(lst["items"]) == 1, lst
        (es,) = lst["items"]
        assert es["addressType"] == "IPv4"
        assert es["metadata"]["labels"]["endpointslice.kubernetes.io/managed-by"] == MANAGED_BY
        assert es["metadata"]["generateName"] == "web-"
        assert [(p.get("name", ""), p["port"], p["protocol"]) for p in es["ports"]] == [
            ("", 8080, "TCP")
        ]
        owner = es["metadata"]["ownerReferences"][0]
        assert (owner["kind"], owner["name"], owner["uid"]) == (
            "Service",
            "web",
            svc["metadata"]["uid"],
        )
        by_ip = {p["status"]["podIP"]: p for p in pods}
        assert len(es["endpoints"]) == 3
        for e in es["endpoints"]:
            (ip,) = e["addresses"]
            pod = by_ip[ip]
            assert e["conditions"] == {"ready": True, "serving": True, "terminating": False}
            assert e["nodeName"] == pod["spec"]["nodeName"]
            assert e["zone"] == ZONES[pod["spec"]["nodeName"]]
            ref = e["targetRef"]
            assert (ref["kind"], ref["name"], ref["namespace"], ref["uid"]) == (
                "Pod",
                pod["metadata"]["name"],
                NS,
                pod["metadata"]["uid"],
            )

        ep = cluster.kubectl_json("get", "endpoints", "web")
        (subset,) = ep["subsets"]
        assert {a["ip"] for a in subset["addresses"]} == ips
        assert not subset.get("notReadyAddresses")
        assert [(p["port"], p["protocol"]) for p in subset["ports"]] == [(8080, "TCP")]
        table = cluster.kubectl("get", "endpoints", "web").splitlines()
        assert table[0].split()[:2] == ["NAME", "ENDPOINTS"], table
        name, shown = table[1].split()[:2]
        assert name == "web"
        assert set(shown.split(",")) == {f"{ip}:8080" for ip in ips}, table

        # The nodes stayed healthy (leases renewed): no not-ready taints.
        for node in (await kubelet.nodes()).values():
            assert not node["spec"].get("taints"), node["spec"]


async def _all_ready(kubelet: Kubelet, n: int) -> list[Obj] | None:
    pods = [p for p in await kubelet.pods() if not terminating(p)]
    return pods if len(pods) == n and all(is_ready(p) for p in pods) else None


async def rollout_status(cluster: Cluster, kubelet: Kubelet) -> str:
    """`kubectl rollout status deployment/web`, with the kubelet running."""
    task = asyncio.create_task(
        asyncio.to_thread(
            cluster.server.kubectl,
            "rollout",
            "status",
            "deployment/web",
            "--timeout=30s",
            check=False,
            timeout=60,
        )
    )
    await kubelet.until(task.done, "kubectl rollout status returns", timeout=60)
    p = task.result()
    assert p.returncode == 0, (
        f"rollout status failed:\n{p.stdout}{p.stderr}\n{workload_status(cluster)}\n"
        f"{cluster.logs()}"
    )
    return p.stdout


async def test_rollout_status_and_set_image(cluster: Cluster) -> None:
    """kubectl rollout status waits for the Ready pods; set image makes a new
    ReplicaSet (new pod-template-hash, revision 2) that RollingUpdate brings
    to 3 while the old one goes to 0, with the kubelet reporting new pods
    Ready and finishing the old ones' graceful deletions."""
    async with UnixApi(cluster.socket) as api:
        kubelet = Kubelet(api, cluster)
        out = await rollout_status(cluster, kubelet)
        assert out.strip().splitlines()[-1] == 'deployment "web" successfully rolled out', out

        def replicasets() -> list[Obj]:
            return cluster.kubectl_json("get", "replicasets", "-l", SELECTOR)["items"]

        (old,) = replicasets()
        old_hash = old["metadata"]["labels"]["pod-template-hash"]
        assert old["metadata"]["name"] == f"web-{old_hash}"

        out = cluster.kubectl("set", "image", "deployment/web", "netexec=svcnet/netexec:v2")
        assert out.strip() == "deployment.apps/web image updated"
        out = await rollout_status(cluster, kubelet)
        assert out.strip().splitlines()[-1] == 'deployment "web" successfully rolled out', out

        async def old_drained() -> bool:
            rs = {r["metadata"]["name"]: r for r in replicasets()}
            o = rs.get(old["metadata"]["name"])
            return bool(o) and o["spec"]["replicas"] == 0 and not o["status"].get("replicas")

        await kubelet.until(old_drained, "old ReplicaSet at 0")
        rss = replicasets()
        assert len(rss) == 2, rss
        (new,) = [r for r in rss if r["metadata"]["uid"] != old["metadata"]["uid"]]
        new_hash = new["metadata"]["labels"]["pod-template-hash"]
        assert new_hash != old_hash
        assert new["metadata"]["name"] == f"web-{new_hash}"
        assert new["spec"]["selector"]["matchLabels"]["pod-template-hash"] == new_hash
        assert new["spec"]["replicas"] == 3
        assert new["status"]["readyReplicas"] == 3
        assert new["metadata"]["annotations"]["deployment.kubernetes.io/revision"] == "2"
        assert [c["image"] for c in new["spec"]["template"]["spec"]["containers"]] == [
            "svcnet/netexec:v2"
        ]

        pods = await kubelet.until(lambda: _all_ready(kubelet, 3), "3 new pods Ready")
        assert {p["metadata"]["labels"]["pod-template-hash"] for p in pods} == {new_hash}
        ips = ready_ips(pods)
        await kubelet.until(
            lambda: _slices_ready(api, ips), "EndpointSlices list only the new pods"
        )
        dep = cluster.kubectl_json("get", "deployment", "web")
        st = dep["status"]
        assert st["observedGeneration"] == dep["metadata"]["generation"]
        assert (
            st["replicas"],
            st["updatedReplicas"],
            st["readyReplicas"],
            st["availableReplicas"],
        ) == (
            3,
            3,
            3,
            3,
        ), st
        conds = {c["type"]: (c["status"], c["reason"]) for c in st["conditions"]}
        assert conds["Available"] == ("True", "MinimumReplicasAvailable"), conds
        assert conds["Progressing"] == ("True", "NewReplicaSetAvailable"), conds


async def test_scale_to_250_gives_three_slices_of_100_100_50(cluster: Cluster) -> None:
    """Upstream's reconciler (reconcileByPortMapping) puts new endpoints in
    new slices of 100 while 100 or more are left, then fits the rest into
    the existing slice closest to full that can take *all* of them
    (getSliceToFill). So when the 247 new endpoints reach one sync the result
    is 100/100/50 (3 + 47 in the first slice). When readiness trickles in,
    batches that do not fit whole open new slices (upstream too), which can
    end as 100/94/56; so the kubelet reports the new pods Ready while the
    controller-manager is down, and the restarted one (caches synced before
    any worker runs, as upstream) reconciles them in one sync.

    Trickling readiness is what the next tests do; `fully_ready` checks the
    invariants that hold either way (each ready pod once, all ready, at most
    100 endpoints per slice)."""
    out = cluster.kubectl("scale", "deployment", "web", "--replicas=250")
    assert out.strip() == "deployment.apps/web scaled"
    async with UnixApi(cluster.socket) as api:
        kubelet = Kubelet(api, cluster)

        async def all_scheduled() -> list[Obj] | Miss:
            pods = await kubelet.pods()
            bound = [p for p in pods if p["spec"].get("nodeName")]
            return pods if len(bound) == len(pods) == 250 else Miss(f"{len(bound)}/{len(pods)}")

        pods = await kubelet.until(all_scheduled, "250 pods scheduled", timeout=60, act=False)
        per_node = sorted(sum(p["spec"]["nodeName"] == n for p in pods) for n in NODES)
        assert per_node[-1] - per_node[0] <= 1, per_node

        cluster.cm.stop()
        try:
            await kubelet.sync()
        finally:
            cluster.cm.start()
        pods = await kubelet.until(lambda: _all_ready(kubelet, 250), "250 pods Ready", act=False)
        ips = ready_ips(pods)
        assert len(ips) == 250

        async def three_slices() -> bool | Miss:
            items = await slices(api)
            sizes = sorted(len(s.get("endpoints") or []) for s in items)
            ready = fully_ready(items, ips)
            return ready if not ready else (sizes == [50, 100, 100] or Miss(f"sizes {sizes}"))

        await kubelet.until(three_slices, "3 EndpointSlices of 100/100/50 ready endpoints")
        lst = cluster.kubectl_json("get", "endpointslices", "-l", "kubernetes.io/service-name=web")
        assert sorted(len(s["endpoints"]) for s in lst["items"]) == [50, 100, 100]
        ep = cluster.kubectl_json("get", "endpoints", "web")
        assert {a["ip"] for s in ep["subsets"] for a in s["addresses"]} == ips


async def test_deleted_pod_is_terminating_then_gone_and_replaced(cluster: Cluster) -> None:
    async with UnixApi(cluster.socket) as api:
        kubelet = Kubelet(api, cluster)
        pods = await kubelet.pods()
        victim = sorted(pods, key=lambda p: p["metadata"]["name"])[0]
        name, ip = victim["metadata"]["name"], victim["status"]["podIP"]
        before = {p["metadata"]["name"] for p in pods}

        out = cluster.kubectl("delete", "pod", name, "--wait=false")
        assert out.strip() == f'pod "{name}" deleted'
        pod = cluster.kubectl_json("get", "pod", name)
        assert pod["metadata"].get("deletionTimestamp"), pod["metadata"]
        assert pod["metadata"]["deletionGracePeriodSeconds"] == 30

        async def terminating_endpoint() -> Obj | None:
            for e in endpoints_of(await slices(api)):
                if e["addresses"] == [ip] and e["conditions"].get("terminating"):
                    return e
            return None

        # The kubelet keeps the pod (its grace period) and marks new pods Ready.
        ep = await kubelet.until(
            terminating_endpoint, f"endpoint {ip} terminating", finish_deletions=False
        )
        assert ep["conditions"] == {"ready": False, "serving": True, "terminating": True}

        async def replaced() -> list[Obj] | None:
            pods = [p for p in await kubelet.pods() if not terminating(p)]
            fresh = [p for p in pods if p["metadata"]["name"] not in before]
            return fresh if len(pods) == 250 and len(fresh) == 1 and is_ready(fresh[0]) else None

        (fresh,) = await kubelet.until(
            replaced, "ReplicaSet replaces the terminating pod", finish_deletions=False
        )
        legacy = cluster.kubectl_json("get", "endpoints", "web")
        listed = {a["ip"] for s in legacy["subsets"] for a in s.get("addresses") or []}
        listed |= {a["ip"] for s in legacy["subsets"] for a in s.get("notReadyAddresses") or []}
        assert ip not in listed, "v1 Endpoints leave terminating pods out"

        # The kubelet finishes: the pod and its endpoint are gone.
        cluster.kubectl("delete", "pod", name, "--grace-period=0", "--force")
        gone = cluster.kubectl("get", "pod", name, "--ignore-not-found")
        assert gone.strip() == ""

        async def settled() -> bool | Miss:
            items = await slices(api)
            ips = ready_ips(await kubelet.pods())
            assert ip not in ips and fresh["status"]["podIP"] in ips
            return fully_ready(items, ips)

        await kubelet.until(settled, f"endpoint {ip} gone, replacement ready")
        # The replacement went where there was room while the terminating
        # endpoint still held its place (upstream fills the fullest slice
        # with room and never rebalances): still 3 slices, none over 100.
        sizes = [len(s.get("endpoints") or []) for s in await slices(api)]
        assert len(sizes) == 3 and sum(sizes) == 250 and max(sizes) <= 100, sizes


def workload_status(cluster: Cluster) -> str:
    """The Deployment's and ReplicaSets' spec/status, for failure messages."""
    out = []
    dep = cluster.kubectl_json("get", "deployment", "web")
    out.append(
        f"deployment gen={dep['metadata']['generation']} spec.replicas="
        f"{dep['spec']['replicas']} status={json.dumps(dep['status'])}"
    )
    for rs in cluster.kubectl_json("get", "replicasets", "-l", SELECTOR)["items"]:
        out.append(
            f"rs {rs['metadata']['name']} spec.replicas={rs['spec']['replicas']} "
            f"status={json.dumps(rs['status'])}"
        )
    pods = cluster.kubectl_json("get", "pods", "-l", SELECTOR)["items"]
    out.append(f"{len(pods)} pods, {sum(terminating(p) for p in pods)} terminating")
    return "\n".join(out)


async def _slices_ready(api: UnixApi, ips: set[str]) -> bool | Miss:
    return fully_ready(await slices(api), ips)


async def test_scale_down_to_3_updates_replicaset_and_deployment(cluster: Cluster) -> None:
    """Scaling 250 -> 3: the ReplicaSet deletes 247 pods (graceful, the
    kubelet finishes them), then its status and the Deployment's come back
    to 3 and the slices list the 3 remaining pods (upstream ReplicaSet
    controller: expectations are satisfied by the deletes it observes, so
    the ReplicaSet keeps being synced)."""
    out = cluster.kubectl("scale", "deployment", "web", "--replicas=3")
    assert out.strip() == "deployment.apps/web scaled"
    async with UnixApi(cluster.socket) as api:
        kubelet = Kubelet(api, cluster)
        pods = await kubelet.until(lambda: _all_ready(kubelet, 3), "3 pods left", timeout=60)
        ips = ready_ips(pods)

        async def statuses() -> bool | Miss:
            dep = cluster.kubectl_json("get", "deployment", "web")
            rss = cluster.kubectl_json("get", "replicasets", "-l", SELECTOR)["items"]
            current = [r for r in rss if r["spec"]["replicas"]]
            st = dep["status"]
            ok = (
                len(current) == 1
                and current[0]["status"].get("replicas") == 3
                and current[0]["status"].get("observedGeneration")
                == current[0]["metadata"]["generation"]
                and (st.get("replicas"), st.get("readyReplicas")) == (3, 3)
            )
            return ok or Miss(workload_status(cluster))

        await kubelet.until(statuses, "ReplicaSet and Deployment status at 3 replicas", timeout=20)
        await kubelet.until(lambda: _slices_ready(api, ips), "EndpointSlices list the 3 pods")
        out = await rollout_status(cluster, kubelet)
        assert out.strip().splitlines()[-1] == 'deployment "web" successfully rolled out', out
