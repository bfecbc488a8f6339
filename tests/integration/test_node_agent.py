"""The node agent (`python -m svcnet.node`) on a real 2-node lab cluster.

One cluster per module: a real `svcnet apiserver` (memory store, 127.0.0.1
port 0, its unix socket ``<tmp>/d/api.sock``), a real `svcnet
controller-manager` (scheduler, node IPAM, ReplicaSets, EndpointSlices...),
a lab topology ``t-<6 hex>`` built by `apply_topology` *without* host-gw
routes (the agents install them from the Nodes' pod CIDRs), and one agent
per node started inside its node namespace with ``ip netns exec``, talking
to the API over the unix socket (a file, reachable from any namespace).

Address conventions (../shared/DESIGN.md): underlay 172.18.0.0/24 inside
``<name>-net``, node i = 172.18.0.(10+i), pod CIDRs 10.244.x.0/24 from node
IPAM, pods in ``<name>-p-<8 hex>``. Workloads are ``python3 -m http.server``
processes; HTTP requests are sent with curl from inside pod namespaces.
Nothing is added to the root namespace. Teardown (also on failure): agents
by PID, then every process left inside the cluster's namespaces (the pods
the agents started), `teardown(name)`, controller-manager and apiserver by
PID.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import os
import secrets
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import aiohttp
import pytest

from svcnet.client import (
    CONFIGMAPS,
    DEPLOYMENTS,
    ENDPOINTSLICES,
    EVENTS,
    LEASES,
    NODES,
    PODS,
    SERVICES,
    Client,
    is_not_found,
)
from svcnet.lab.netns import apply_topology, list_leftovers, netns_exists, run_in, teardown
from svcnet.lab.topology import Topology, plan_topology, pod_netns_name

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(os.geteuid() != 0, reason="needs root for network namespaces"),
    pytest.mark.skipif(shutil.which("ip") is None, reason="needs iproute2"),
    pytest.mark.skipif(shutil.which("curl") is None, reason="needs curl"),
]

ROOT = Path(__file__).resolve().parents[2]
PY = str(ROOT / ".venv/bin/python") if (ROOT / ".venv/bin/python").exists() else sys.executable
NS = "default"
T = TypeVar("T")
Obj = dict[str, Any]


# --------------------------------------------------------------------------
# The cluster


@dataclass
class Cluster:
    name: str
    base: Path
    topo: Topology
    procs: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)

    @property
    def api_dir(self) -> Path:
        return self.base / "d"

    @property
    def socket(self) -> Path:
        return self.api_dir / "api.sock"

    def node_dir(self, i: int) -> Path:
        return self.base / f"n{i}"

    def log(self, what: str) -> str:
        p = self.base / f"{what}.log"
        return p.read_text(errors="replace")[-3000:] if p.exists() else ""

    def spawn(self, what: str, argv: list[str]) -> subprocess.Popen[bytes]:
        with open(self.base / f"{what}.log", "ab") as log:
            p = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, cwd=ROOT)
        self.procs[what] = p
        return p

    def start_agent(self, i: int) -> subprocess.Popen[bytes]:
        n = self.topo.nodes[i]
        argv = [
            "ip", "netns", "exec", n.netns, PY, "-m", "svcnet.node",
            "--node-name", n.name, "--netns", n.netns, "--node-ip", n.internal_ip,
            "--socket", str(self.socket), "--data-dir", str(self.node_dir(i)),
            "--cluster-name", self.name, "--healthz-addr", "127.0.0.1:0",
            *(["--zone", n.zone] if n.zone else []),
        ]  # fmt: skip
        return self.spawn(f"agent{i}", argv)

    def stop(self, what: str, sig: int = signal.SIGTERM, timeout: float = 10.0) -> int | None:
        p = self.procs.pop(what, None)
        if p is None:
            return None
        if p.poll() is None:
            p.send_signal(sig)
            try:
                p.wait(timeout)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait(5)
        return p.returncode


def _wait_file(path: Path, proc: subprocess.Popen[bytes], what: str, timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while not path.exists():
        if proc.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError(f"{what} did not start")
        time.sleep(0.05)


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    base = tmp_path_factory.mktemp("nodeagent")
    name = f"t-{secrets.token_hex(3)}"
    c = Cluster(name, base, plan_topology(name, nodes=2, zones="zone-a,zone-b"))
    try:
        api = c.spawn(
            "apiserver",
            [PY, "-m", "svcnet.cli", "apiserver", "--data-dir", str(c.api_dir),
             "--listen", "127.0.0.1:0", "--store", "memory"],
        )  # fmt: skip
        _wait_file(c.socket, api, "apiserver")
        _wait_file(c.api_dir / "kubeconfig", api, "apiserver")
        c.spawn(
            "controller-manager",
            [PY, "-m", "svcnet.cli", "controller-manager", "--socket", str(c.socket),
             "--metrics-addr", "127.0.0.1:0", "--node-monitor-grace-period", "40"],
        )  # fmt: skip
        apply_topology(c.topo, routes=False)
        for i in range(len(c.topo.nodes)):
            c.start_agent(i)
        yield c
    finally:
        for what in [w for w in c.procs if w.startswith("agent")]:
            c.stop(what)
        # The pods the agents started outlive them by design: stop them by PID.
        for pid in list_leftovers(name).pids:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        teardown(name)
        c.stop("controller-manager")
        c.stop("apiserver")
        assert not list_leftovers(name), list_leftovers(name)


@pytest.fixture
async def client(cluster: Cluster) -> Any:
    cl = Client.from_unix_socket(cluster.socket)
    try:
        yield cl
    finally:
        await cl.close()


async def eventually(
    fn: Callable[[], Awaitable[T | None]], what: str, cluster: Cluster, timeout: float = 20.0
) -> T:
    deadline = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < deadline:
        try:
            last = await fn()
        except AssertionError as e:
            last = e
        else:
            if last:
                return last
        await asyncio.sleep(0.1)
    logs = "\n".join(f"--- {w}\n{cluster.log(w)}" for w in ("agent0", "agent1"))
    raise AssertionError(f"timed out waiting for {what}; last: {last!r}\n{logs}")


def condition(obj: Obj, ctype: str) -> Obj:
    for c in (obj.get("status") or {}).get("conditions") or ():
        if c.get("type") == ctype:
            return c
    return {}


def is_ready(pod: Obj) -> bool:
    return condition(pod, "Ready").get("status") == "True"


def cstatus(pod: Obj, name: str | None = None) -> Obj:
    for s in (pod.get("status") or {}).get("containerStatuses") or ():
        if name is None or s.get("name") == name:
            return s
    return {}


async def ready_nodes(client: Client, n: int) -> list[Obj] | None:
    nodes = (await client.list(NODES))["items"]
    good = [x for x in nodes if is_ready(x) and (x.get("spec") or {}).get("podCIDR")]
    return good if len(good) == n else None


def web_pod_template(labels: dict[str, str], port: int = 8080) -> Obj:
    return {
        "metadata": {"labels": labels},
        "spec": {
            "terminationGracePeriodSeconds": 30,
            "containers": [
                {
                    "name": "web",
                    "image": "python:3",
                    "command": ["python3", "-m", "http.server", str(port)],
                    "ports": [{"name": "http", "containerPort": port}],
                    # default period (10 s): a starting server is rechecked every second
                    "readinessProbe": {"httpGet": {"path": "/", "port": "http"}},
                }
            ],
        },
    }


async def ensure_web(cluster: Cluster, client: Client) -> list[Obj]:
    """The `web` Service and Deployment (2 replicas); returns its 2 Ready pods."""
    await eventually(lambda: ready_nodes(client, 2), "2 Ready nodes", cluster, 30)
    labels = {"app": "web"}

    async def ready_pods() -> list[Obj] | None:
        pods = (await client.list(PODS, NS, label_selector="app=web"))["items"]
        good = [p for p in pods if p["status"].get("phase") == "Running" and is_ready(p)]
        return good if len(good) == 2 else None

    if (await client.list(DEPLOYMENTS, NS))["items"]:
        return await eventually(ready_pods, "2 Running and Ready web pods", cluster, 30)
    await client.create(
        SERVICES,
        {
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": {"name": "web"},
            "spec": {"selector": labels, "ports": [{"port": 80, "targetPort": 8080}]},
        },
        NS,
    )
    await client.create(
        DEPLOYMENTS,
        {
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": {"name": "web"},
            "spec": {
                "replicas": 2,
                "selector": {"matchLabels": labels},
                "template": web_pod_template(labels),
            },
        },
        NS,
    )

    return await eventually(ready_pods, "2 Running and Ready web pods", cluster, 30)


async def node_of(client: Client, pod: Obj) -> Obj:
    return await client.get(NODES, pod["spec"]["nodeName"])


# --------------------------------------------------------------------------
# Tests


async def test_nodes_register_ready_with_labels_lease_and_pod_cidrs(
    cluster: Cluster, client: Client
) -> None:
    nodes = await eventually(lambda: ready_nodes(client, 2), "2 Ready nodes", cluster, 30)
    by_name = {n["metadata"]["name"]: n for n in nodes}
    for plan in cluster.topo.nodes:
        node = by_name[plan.name]
        labels = node["metadata"]["labels"]
        assert labels["kubernetes.io/hostname"] == plan.name
        assert labels["topology.kubernetes.io/zone"] == plan.zone
        addrs = {a["type"]: a["address"] for a in node["status"]["addresses"]}
        assert addrs["InternalIP"] == plan.internal_ip
        assert node["status"]["capacity"]["pods"] == "110"
        assert condition(node, "Ready")["reason"] == "KubeletReady"
        lease = await client.get(LEASES, plan.name, "kube-node-lease")
        assert lease["spec"]["holderIdentity"] == plan.name
        assert lease["spec"]["leaseDurationSeconds"] == 40
        # cni0 carries the first address of the Node's pod CIDR
        cidr = ipaddress.ip_network(node["spec"]["podCIDR"])
        out = run_in(plan.netns, ["ip", "-4", "-o", "addr", "show", "cni0"]).stdout
        assert f"{cidr.network_address + 1}/{cidr.prefixlen}" in out
    # host-gw: each node routes the other's pod CIDR via its node IP
    for plan in cluster.topo.nodes:
        other = next(n for n in nodes if n["metadata"]["name"] != plan.name)
        routes = run_in(plan.netns, ["ip", "-4", "route"]).stdout
        assert f"{other['spec']['podCIDR']} via {addrs_of(other)}" in routes


def addrs_of(node: Obj) -> str:
    return next(a["address"] for a in node["status"]["addresses"] if a["type"] == "InternalIP")


async def test_deployment_pods_run_ready_talk_across_nodes_and_fill_endpointslices(
    cluster: Cluster, client: Client
) -> None:
    pods = await ensure_web(cluster, client)
    assert {p["spec"]["nodeName"] for p in pods} == {n.name for n in cluster.topo.nodes}
    for p in pods:
        node = await node_of(client, p)
        ip = ipaddress.ip_address(p["status"]["podIP"])
        assert ip in ipaddress.ip_network(node["spec"]["podCIDR"]), (ip, node["spec"])
        assert p["status"]["hostIP"] == addrs_of(node)
        st = cstatus(p, "web")
        assert st["ready"] is True and st["started"] is True and st["restartCount"] == 0
        assert "running" in st["state"] and st["containerID"].startswith("svcnet://")
        assert [c["type"] for c in p["status"]["conditions"]] == [
            "PodReadyToStartContainers",
            "Initialized",
            "Ready",
            "ContainersReady",
            "PodScheduled",
        ]

    # pod on node A -> pod on node B, through both nodes and the underlay
    a, b = pods
    ns_a = pod_netns_name(cluster.name, a["metadata"]["uid"])
    out = run_in(ns_a, ["curl", "-s", "-m", "5", f"http://{b['status']['podIP']}:8080/"])
    assert "Directory listing" in out.stdout
    # the pod sees its own resolv.conf, hosts and hostname
    resolv = run_in(ns_a, ["cat", "/etc/resolv.conf"]).stdout
    assert "nameserver 10.96.0.10" in resolv
    assert "search default.svc.cluster.local svc.cluster.local cluster.local" in resolv
    assert "options ndots:5" in resolv
    assert a["metadata"]["name"] in run_in(ns_a, ["cat", "/etc/hosts"]).stdout

    async def ready_slice() -> set[str] | None:
        slices = (
            await client.list(ENDPOINTSLICES, NS, label_selector="kubernetes.io/service-name=web")
        )["items"]
        ips = {
            addr
            for s in slices
            for e in s.get("endpoints") or ()
            if (e.get("conditions") or {}).get("ready")
            for addr in e["addresses"]
        }
        return ips if ips == {p["status"]["podIP"] for p in pods} else None

    await eventually(ready_slice, "EndpointSlice with both pods ready", cluster)

    # /healthz and /metrics through the agent's unix socket
    assert await kubelet_get(cluster, 0, "/healthz") == (200, "ok")
    _, text = await kubelet_get(cluster, 0, "/metrics")
    assert "svcnet_node_container_starts_total" in text
    assert 'svcnet_node_prober_probe_total{probe_type="readiness",result="success"}' in text


async def test_two_containers_share_localhost_env_and_exec_probe(
    cluster: Cluster, client: Client
) -> None:
    await eventually(lambda: ready_nodes(client, 2), "2 Ready nodes", cluster, 30)
    await client.create(
        CONFIGMAPS,
        {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {"name": "duo"},
            "data": {"greeting": "hi"},
        },
        NS,
    )
    check = (
        "import os, socket, urllib.request;"
        "assert socket.gethostname() == 'duo';"
        "urllib.request.urlopen('http://127.0.0.1:8081/', timeout=1);"
        "assert os.environ['MY_POD'] == 'duo' and os.environ['GREETING'] == 'hi';"
        "assert os.environ['MY_IP'] and os.environ['WEB_SERVICE_HOST']"
    )
    await client.create(
        PODS,
        {
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": {"name": "duo"},
            "spec": {
                "containers": [
                    {
                        "name": "server",
                        "image": "python:3",
                        "command": ["python3", "-m", "http.server", "8081"],
                    },
                    {
                        "name": "client",
                        "image": "python:3",
                        "command": ["sleep", "3600"],
                        "env": [
                            {
                                "name": "MY_POD",
                                "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}},
                            },
                            {
                                "name": "MY_IP",
                                "valueFrom": {"fieldRef": {"fieldPath": "status.podIP"}},
                            },
                            {
                                "name": "GREETING",
                                "valueFrom": {
                                    "configMapKeyRef": {"name": "duo", "key": "greeting"}
                                },
                            },
                        ],
                        "readinessProbe": {
                            "exec": {"command": ["python3", "-c", check]},
                            "periodSeconds": 1,
                            "timeoutSeconds": 5,
                        },
                    },
                ]
            },
        },
        NS,
    )

    async def ready() -> Obj | None:
        pod = await client.get(PODS, "duo", NS)
        return pod if is_ready(pod) else None

    pod = await eventually(ready, "pod duo Ready via its exec probe", cluster, 30)
    assert all(s["ready"] for s in pod["status"]["containerStatuses"])
    ns = pod_netns_name(cluster.name, pod["metadata"]["uid"])
    assert run_in(ns, ["cat", "/etc/hostname"]).stdout.strip() == "duo"
    await client.delete(PODS, "duo", NS, grace_period_seconds=1)


def node_index(cluster: Cluster, pod: Obj) -> int:
    return next(i for i, n in enumerate(cluster.topo.nodes) if n.name == pod["spec"]["nodeName"])


async def kubelet_get(cluster: Cluster, i: int, path: str) -> tuple[int, str]:
    conn = aiohttp.UnixConnector(path=str(cluster.node_dir(i) / "kubelet.sock"))
    async with aiohttp.ClientSession(connector=conn) as s, s.get(f"http://localhost{path}") as r:
        return r.status, await r.text()


async def test_builtin_image_hostname_and_container_logs(cluster: Cluster, client: Client) -> None:
    await eventually(lambda: ready_nodes(client, 2), "2 Ready nodes", cluster, 30)
    specs = {
        "agn": {
            "name": "agn",
            "image": "registry.k8s.io/e2e-test-images/agnhost:2.47",
            "args": ["netexec", "--http-port=8080"],
            "readinessProbe": {"httpGet": {"path": "/healthz", "port": 8080}},
        },
        "chatty": {
            "name": "chatty",
            "image": "busybox",
            "command": ["sh", "-c", "for i in 1 2 3 4 5; do echo line $i; done; exec sleep 3600"],
        },
    }
    for name, c in specs.items():
        body = {
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": {"name": name},
            "spec": {"containers": [c]},
        }
        await client.create(PODS, body, NS)

    async def agn_ready() -> Obj | None:
        pod = await client.get(PODS, "agn", NS)
        return pod if is_ready(pod) else None

    agn = await eventually(agn_ready, "agnhost netexec Ready", cluster, 20)
    node_ns = cluster.topo.nodes[node_index(cluster, agn)].netns
    out = run_in(
        node_ns, ["curl", "-s", "-m", "5", f"http://{agn['status']['podIP']}:8080/hostname"]
    )
    assert out.stdout.strip() == "agn"

    chatty = await client.get(PODS, "chatty", NS)

    async def logs() -> str | None:
        status, text = await kubelet_get(
            cluster, node_index(cluster, chatty), "/containerLogs/default/chatty/chatty?tailLines=2"
        )
        return text if status == 200 and text == "line 4\nline 5\n" else None

    await eventually(logs, "the last two log lines", cluster)
    for name in specs:
        await client.delete(PODS, name, NS, grace_period_seconds=1)


async def test_crash_loop_back_off_and_liveness_restart(cluster: Cluster, client: Client) -> None:
    await eventually(lambda: ready_nodes(client, 2), "2 Ready nodes", cluster, 30)
    crash = {
        "name": "crash",
        "image": "python:3",
        "command": ["python3", "-c", "import sys; print('bye'); sys.exit(3)"],
    }
    live = {
        "name": "live",
        "image": "python:3",
        "command": ["python3", "-m", "http.server", "8082"],
        "livenessProbe": {"tcpSocket": {"port": 9}, "periodSeconds": 1, "failureThreshold": 1},
    }
    for name, c in (("crash", crash), ("live", live)):
        await client.create(
            PODS,
            {
                "apiVersion": "v1",
                "kind": "Pod",
                "metadata": {"name": name},
                "spec": {"terminationGracePeriodSeconds": 2, "containers": [c]},
            },
            NS,
        )

    async def crash_looping() -> Obj | None:
        st = cstatus(await client.get(PODS, "crash", NS))
        waiting = (st.get("state") or {}).get("waiting") or {}
        return st if waiting.get("reason") == "CrashLoopBackOff" else None

    st = await eventually(crash_looping, "CrashLoopBackOff", cluster, 20)
    assert st["restartCount"] >= 1
    assert st["lastState"]["terminated"]["exitCode"] == 3
    assert st["lastState"]["terminated"]["reason"] == "Error"
    assert "back-off 10s restarting failed container=crash" in st["state"]["waiting"]["message"]

    async def restarted() -> Obj | None:
        st = cstatus(await client.get(PODS, "live", NS))
        return st if st.get("restartCount", 0) >= 1 else None

    await eventually(restarted, "liveness restart", cluster, 20)
    events = (await client.list(EVENTS, NS))["items"]
    reasons = {(e["involvedObject"]["name"], e["reason"]) for e in events}
    assert ("live", "Unhealthy") in reasons and ("live", "Killing") in reasons
    assert ("crash", "BackOff") in reasons
    for name in ("crash", "live"):
        await client.delete(PODS, name, NS)


async def test_unknown_image_without_command_waits_with_a_reason(
    cluster: Cluster, client: Client
) -> None:
    await eventually(lambda: ready_nodes(client, 2), "2 Ready nodes", cluster, 30)
    await client.create(
        PODS,
        {
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": {"name": "mystery"},
            "spec": {"containers": [{"name": "m", "image": "example.com/no/such-image:1"}]},
        },
        NS,
    )

    async def waiting() -> Obj | None:
        st = cstatus(await client.get(PODS, "mystery", NS))
        w = (st.get("state") or {}).get("waiting") or {}
        return w if w.get("reason") not in (None, "", "ContainerCreating") else None

    w = await eventually(waiting, "a waiting reason", cluster)
    assert w.get("message")
    pod = await client.get(PODS, "mystery", NS)
    assert pod["status"]["phase"] == "Pending"
    await client.delete(PODS, "mystery", NS)


async def test_agent_restart_readopts_running_pods(cluster: Cluster, client: Client) -> None:
    pods = await ensure_web(cluster, client)
    plan = cluster.topo.nodes[0]
    pod = next(p for p in pods if p["spec"]["nodeName"] == plan.name and is_ready(p))
    before = cstatus(pod, "web")
    ns = pod_netns_name(cluster.name, pod["metadata"]["uid"])
    pids = subprocess.run(
        ["ip", "netns", "pids", ns], capture_output=True, text=True
    ).stdout.split()
    assert pids
    assert cluster.stop("agent0") == 0  # SIGTERM: clean exit, pods left running
    for p in pids:
        os.kill(int(p), 0)  # still alive
    cluster.start_agent(0)
    lease0 = (await client.get(LEASES, plan.name, "kube-node-lease"))["spec"]["renewTime"]

    async def renewed() -> bool:
        lease = await client.get(LEASES, plan.name, "kube-node-lease")
        return lease["spec"]["renewTime"] != lease0

    await eventually(renewed, "the restarted agent to renew its lease", cluster, 20)
    await asyncio.sleep(1.5)  # a few probe periods
    after_pod = await client.get(PODS, pod["metadata"]["name"], NS)
    after = cstatus(after_pod, "web")
    assert after["containerID"] == before["containerID"]
    assert after["restartCount"] == 0 and is_ready(after_pod)
    assert (
        condition(after_pod, "Ready")["lastTransitionTime"]
        == condition(pod, "Ready")["lastTransitionTime"]
    ), "re-adoption must not flap readiness"
    now_pids = subprocess.run(["ip", "netns", "pids", ns], capture_output=True, text=True).stdout
    assert set(pids) <= set(now_pids.split())


TRAP_TERM = """
import os, signal, sys, time
def term(*_):
    with open(os.environ["MARKER"], "w") as f:
        f.write("TERM")
    time.sleep(1)  # a graceful shutdown that takes a while
    sys.exit(0)
signal.signal(signal.SIGTERM, term)
while True:
    time.sleep(1)
"""
IGNORE_TERM = "import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); time.sleep(3600)"


async def gone_after(client: Client, name: str, t0: float, timeout: float = 20.0) -> float:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            await client.get(PODS, name, NS)
        except Exception as e:
            if is_not_found(e):
                return time.monotonic() - t0
            raise
        await asyncio.sleep(0.05)
    raise AssertionError(f"pod {name} still exists after {timeout}s")


async def test_delete_pod_sigterm_grace_sigkill_and_ip_released(
    cluster: Cluster, client: Client
) -> None:
    marker = cluster.base / "term-marker"
    for name, script, grace in (("term", TRAP_TERM, 5), ("stubborn", IGNORE_TERM, 2)):
        await client.create(
            PODS,
            {
                "apiVersion": "v1",
                "kind": "Pod",
                "metadata": {"name": name},
                "spec": {
                    "terminationGracePeriodSeconds": grace,
                    "nodeName": cluster.topo.nodes[1].name,
                    "containers": [
                        {
                            "name": "c",
                            "image": "python:3",
                            "command": ["python3", "-c", script],
                            "env": [{"name": "MARKER", "value": str(marker)}],
                        }
                    ],
                },
            },
            NS,
        )

    async def running() -> list[Obj] | None:
        pods = [await client.get(PODS, n, NS) for n in ("term", "stubborn")]
        return pods if all("running" in cstatus(p).get("state", {}) for p in pods) else None

    await eventually(running, "term and stubborn running", cluster)
    await asyncio.sleep(0.5)  # let python install its signal handlers
    pods = await ensure_web(cluster, client)
    web = next(p for p in pods if is_ready(p))
    name, uid, ip = web["metadata"]["name"], web["metadata"]["uid"], web["status"]["podIP"]
    i = next(i for i, n in enumerate(cluster.topo.nodes) if n.name == web["spec"]["nodeName"])
    ipam_file = cluster.node_dir(i) / "ipam" / ip
    assert ipam_file.exists()
    stubborn_ns = pod_netns_name(
        cluster.name, (await client.get(PODS, "stubborn", NS))["metadata"]["uid"]
    )

    t0 = time.monotonic()
    for n in (name, "term", "stubborn"):
        await client.delete(PODS, n, NS)
    t_web, t_term, t_stubborn = await asyncio.gather(
        gone_after(client, name, t0),
        gone_after(client, "term", t0),
        gone_after(client, "stubborn", t0),
    )
    assert marker.read_text() == "TERM", "the container got SIGTERM"
    assert 1.0 <= t_term < 5.0, t_term  # its own 1 s shutdown, within its 5 s grace
    assert 2.0 <= t_stubborn < 8.0, t_stubborn  # SIGKILL after its 2 s grace
    assert t_web < 10, "http.server exits on SIGTERM: its 30 s grace is not waited out"
    assert not ipam_file.exists(), "the pod IP is released"
    assert not netns_exists(pod_netns_name(cluster.name, uid)), "the sandbox is removed"
    assert not netns_exists(stubborn_ns)
