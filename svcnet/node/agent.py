"""`svcnet node`: the node agent ("kubelet-lite" + CNI bridge).

Theory of operation. One `NodeAgent` per node, running inside the node's
network namespace and talking to the API server (unix socket or
kubeconfig):

1. Registration: creates (or, after a restart, patches) its Node with the
   labels ``kubernetes.io/hostname``, ``kubernetes.io/os``,
   ``kubernetes.io/arch`` and ``topology.kubernetes.io/zone``, an InternalIP
   address, capacity/allocatable, nodeInfo and the kubelet endpoint, then
   posts its conditions. Ready stays False ("network not ready") until node
   IPAM has given the Node ``spec.podCIDRs`` and ``cni0`` is up.
2. Heartbeat: the Lease ``kube-node-lease/<node>`` is renewed every 10 s
   (duration 40 s); the Node status is re-posted every minute and on every
   change. A node that stops renewing is marked NotReady by the
   controller-manager's node lifecycle controller.
3. Network: on Node events, the own pod CIDRs set up ``cni0``
   (`svcnet.node.cni.setup_node_bridge`) and the pod IPAM; every Node's
   InternalIP and pod CIDRs give the host-gw routes
   (`svcnet.lab.netns.sync_host_routes`).
4. Pods: an informer with ``spec.nodeName=<node>`` feeds one `PodWorker`
   per pod UID (the kubelet's pod workers). A worker serialises everything
   about its pod: sandbox, init containers, containers (restart policy and
   CrashLoopBackOff decided by `svcnet.node.podstatus.decide`), probes (one
   loop per probe around a `svcnet.node.probes.ProbeWorker`) and the pod's
   status, written through ``pods/status`` only when it differs from what
   the API has. A pod with a deletionTimestamp is stopped (SIGTERM, the
   grace period, SIGKILL), its sandbox removed and its IP released, then
   it is deleted with grace 0 (uid precondition). A pod whose containers
   all finished for good (Succeeded/Failed) loses its sandbox and IP but
   keeps its records and logs until it is deleted.
5. Restart: containers outlive the agent; a new agent re-adopts them from
   the runtime's records (`svcnet.node.runtime.Runtime.load`) and tears
   down only the sandboxes whose pods are gone from the API.
6. HTTP (``--healthz-addr`` and the unix socket ``<data>/kubelet.sock``,
   reachable from any namespace): /healthz, /metrics, /pods and
   /containerLogs/<ns>/<pod>/<container> (``tailLines``, ``limitBytes``,
   ``previous``, ``follow``), the kubelet's log endpoint, from which the
   API server can serve ``pods/log``. The Node carries the socket path in
   the annotation ``svcnet.io/kubelet-socket``.

SIGTERM stops the agent cleanly and leaves every pod running.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import os
import platform
import signal
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

from aiohttp import web

from svcnet import __version__
from svcnet.client import (
    LEASES,
    NODES,
    PODS,
    SERVICES,
    AlreadyExistsError,
    Client,
    ClientError,
    ConflictError,
    InformerFactory,
    NotFoundError,
)
from svcnet.controllers.base import EventRecorder
from svcnet.node.podstatus import (
    ALWAYS,
    CONTAINER_CREATING,
    CONTAINERS_READY,
    CRASH_LOOP_BACK_OFF,
    CREATE_CONTAINER_CONFIG_ERROR,
    IMAGE_NOT_SUPPORTED,
    INITIALIZED,
    ON_FAILURE,
    POD_INITIALIZING,
    POD_READY_TO_START,
    READY,
    START_ERROR,
    TERMINAL_PHASES,
    ContainerView,
    CrashLoopBackOff,
    PodStatusInput,
    Running,
    Terminated,
    Waiting,
    decide,
    generate_pod_status,
    pod_description,
    rfc3339,
    status_differs,
)
from svcnet.node.probes import (
    LIVENESS,
    READINESS,
    STARTUP,
    ProbeTarget,
    ProbeWorker,
    Result,
    container_probes,
    run_probe,
)
from svcnet.node.runtime import (
    CONTAINER_ID_SCHEME,
    ConfigError,
    ContainerProcess,
    ContainerRecord,
    Launch,
    ResolvConf,
    Runtime,
    Sandbox,
    SandboxError,
    StartError,
    container_argv,
    container_env,
    parse_resolv_conf,
    pod_log_dir,
    process_env,
    referenced_objects,
)
from svcnet.util.log import get_logger
from svcnet.util.metrics import CONTENT_TYPE, Registry

log = get_logger(__name__)

Obj = dict[str, Any]

LEASE_NAMESPACE: Final = "kube-node-lease"
KUBELET_SOCKET: Final = "kubelet.sock"
KUBELET_SOCKET_ANNOTATION: Final = "svcnet.io/kubelet-socket"
LABEL_HOSTNAME: Final = "kubernetes.io/hostname"
LABEL_OS: Final = "kubernetes.io/os"
LABEL_ARCH: Final = "kubernetes.io/arch"
LABEL_ZONE: Final = "topology.kubernetes.io/zone"
KUBELET_VERSION: Final = f"v1.31.0-svcnet.{__version__}"
NETWORK_NOT_READY: Final = (
    "container runtime network not ready: NetworkReady=false "
    "reason:NetworkPluginNotReady message:waiting for the node's pod CIDR (spec.podCIDRs)"
)
_ARCH: Final = {"x86_64": "amd64", "aarch64": "arm64", "armv7l": "arm"}


@dataclass
class NodeOptions:
    """Everything `svcnet node` is told.

    Attributes:
        node_name: the Node's name.
        netns: the node's network namespace (holds ``cni0``); None: no pod
            networking (only hostNetwork pods run).
        node_ip: InternalIP(s), comma-separated for dual-stack.
        zone: ``topology.kubernetes.io/zone`` label value.
        socket / kubeconfig: how to reach the API server (socket wins).
        data_dir: state: IPAM, pod records, container logs, kubelet.sock.
        cluster_name: the lab prefix of pod namespaces (``<cluster>-p-...``).
        cluster_dns: cluster DNS IP(s), comma-separated ("" = none).
        cluster_domain: the cluster's DNS domain.
        healthz_addr: host:port of /healthz and /metrics ("" = only the socket).
    """

    node_name: str
    netns: str | None = None
    node_ip: str = ""
    zone: str | None = None
    socket: Path | None = None
    kubeconfig: Path | None = None
    data_dir: Path = field(default_factory=lambda: Path("."))
    cluster_name: str = "svcnet"
    cluster_dns: str = "10.96.0.10"
    cluster_domain: str = "cluster.local"
    healthz_addr: str = "127.0.0.1:10248"
    heartbeat_interval: float = 10.0
    lease_duration: int = 40
    status_report_interval: float = 60.0
    pod_resync_interval: float = 10.0
    max_pods: int = 110
    labels: Mapping[str, str] = field(default_factory=dict)

    @property
    def node_ips(self) -> tuple[str, ...]:
        return tuple(ip.strip() for ip in self.node_ip.split(",") if ip.strip())

    @property
    def cluster_dns_ips(self) -> tuple[str, ...]:
        return tuple(ip.strip() for ip in self.cluster_dns.split(",") if ip.strip())


# --- pure: the Node object -----------------------------------------------------------


def node_labels(opts: NodeOptions) -> dict[str, str]:
    labels = {
        LABEL_ARCH: _ARCH.get(platform.machine(), platform.machine()),
        LABEL_HOSTNAME: opts.node_name,
        LABEL_OS: "linux",
        **opts.labels,
    }
    if opts.zone:
        labels[LABEL_ZONE] = opts.zone
    return labels


def node_object(opts: NodeOptions) -> Obj:
    """The Node the agent registers (status is posted separately)."""
    return {
        "apiVersion": "v1",
        "kind": "Node",
        "metadata": {
            "name": opts.node_name,
            "labels": node_labels(opts),
            "annotations": {
                KUBELET_SOCKET_ANNOTATION: str(Path(opts.data_dir).resolve() / KUBELET_SOCKET),
            },
        },
        "spec": {},
    }


def _condition(
    ctype: str, status: str, reason: str, message: str, old: Mapping[str, Obj], now: float
) -> Obj:
    prev = old.get(ctype) or {}
    since = prev.get("lastTransitionTime") if prev.get("status") == status else None
    return {
        "type": ctype,
        "status": status,
        "lastHeartbeatTime": rfc3339(now),
        "lastTransitionTime": since or rfc3339(now),
        "reason": reason,
        "message": message,
    }


def node_status(
    opts: NodeOptions,
    ready: bool,
    old_conditions: Sequence[Obj],
    now: float,
    capacity: Mapping[str, str],
    node_info: Mapping[str, str],
    kubelet_port: int,
) -> Obj:
    """The Node status the kubelet posts (conditions keep their transition times)."""
    old = {c.get("type", ""): c for c in old_conditions}
    conditions = [
        _condition(
            "MemoryPressure",
            "False",
            "KubeletHasSufficientMemory",
            "kubelet has sufficient memory available",
            old,
            now,
        ),
        _condition(
            "DiskPressure",
            "False",
            "KubeletHasNoDiskPressure",
            "kubelet has no disk pressure",
            old,
            now,
        ),
        _condition(
            "PIDPressure",
            "False",
            "KubeletHasSufficientPID",
            "kubelet has sufficient PID available",
            old,
            now,
        ),
        _condition(
            "Ready",
            "True" if ready else "False",
            "KubeletReady" if ready else "KubeletNotReady",
            "kubelet is posting ready status" if ready else NETWORK_NOT_READY,
            old,
            now,
        ),
    ]
    addresses = [{"type": "InternalIP", "address": ip} for ip in opts.node_ips]
    addresses.append({"type": "Hostname", "address": opts.node_name})
    return {
        "capacity": dict(capacity),
        "allocatable": dict(capacity),
        "conditions": conditions,
        "addresses": addresses,
        "daemonEndpoints": {"kubeletEndpoint": {"Port": kubelet_port}},
        "nodeInfo": dict(node_info),
    }


def lease_object(opts: NodeOptions, node_uid: str, now: float) -> Obj:
    renew = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(now)) + f".{int(now % 1 * 1e6):06d}Z"
    meta: Obj = {"name": opts.node_name, "namespace": LEASE_NAMESPACE}
    if node_uid:
        meta["ownerReferences"] = [
            {"apiVersion": "v1", "kind": "Node", "name": opts.node_name, "uid": node_uid}
        ]
    return {
        "apiVersion": "coordination.k8s.io/v1",
        "kind": "Lease",
        "metadata": meta,
        "spec": {
            "holderIdentity": opts.node_name,
            "leaseDurationSeconds": opts.lease_duration,
            "renewTime": renew,
        },
    }


# --- shell: host facts -----------------------------------------------------------------


def _read(path: str, default: str = "") -> str:
    try:
        with open(path) as f:
            return f.read().strip()
    except OSError:
        return default


def host_capacity(data_dir: Path, max_pods: int) -> dict[str, str]:
    mem_kib = 0
    for line in _read("/proc/meminfo").splitlines():
        if line.startswith("MemTotal:"):
            mem_kib = int(line.split()[1])
    try:
        st = os.statvfs(data_dir)
        disk = st.f_blocks * st.f_frsize // 1024
    except OSError:
        disk = 0
    return {
        "cpu": str(os.cpu_count() or 1),
        "ephemeral-storage": f"{disk}Ki",
        "memory": f"{mem_kib}Ki",
        "pods": str(max_pods),
    }


def host_node_info() -> dict[str, str]:
    os_image = "Linux"
    for line in _read("/etc/os-release").splitlines():
        if line.startswith("PRETTY_NAME="):
            os_image = line.split("=", 1)[1].strip('"')
    machine_id = _read("/etc/machine-id")
    return {
        "architecture": _ARCH.get(platform.machine(), platform.machine()),
        "bootID": _read("/proc/sys/kernel/random/boot_id"),
        "containerRuntimeVersion": f"svcnet://{__version__}",
        "kernelVersion": platform.release(),
        "kubeProxyVersion": KUBELET_VERSION,
        "kubeletVersion": KUBELET_VERSION,
        "machineID": machine_id,
        "operatingSystem": "linux",
        "osImage": os_image,
        "systemUUID": machine_id,
    }


# --- metrics ----------------------------------------------------------------------------


class AgentMetrics:
    """The agent's Prometheus metrics (kubelet-like names under ``svcnet_node_``)."""

    def __init__(self) -> None:
        self.registry = Registry()
        r = self.registry
        self.pods = r.gauge("svcnet_node_pods", "Pods with a worker on this node.")
        self.containers_running = r.gauge(
            "svcnet_node_containers_running", "Container processes running on this node."
        )
        self.container_starts = r.counter(
            "svcnet_node_container_starts_total", "Container processes started."
        )
        self.container_exits = r.counter(
            "svcnet_node_container_exits_total", "Container exits by reason.", ["reason"]
        )
        self.probes = r.counter(
            "svcnet_node_prober_probe_total",
            "Probe checks by type and result.",
            ["probe_type", "result"],
        )
        self.pod_syncs = r.histogram(
            "svcnet_node_pod_worker_duration_seconds", "Duration of one pod worker sync."
        )
        self.pod_start = r.histogram(
            "svcnet_node_pod_start_duration_seconds",
            "From the agent seeing a pod to all its containers running.",
        )
        self.status_updates = r.counter(
            "svcnet_node_pod_status_updates_total", "pods/status writes by result.", ["result"]
        )
        self.lease_renewals = r.counter(
            "svcnet_node_lease_renewals_total", "Lease renewals by result.", ["result"]
        )
        self.node_status_updates = r.counter(
            "svcnet_node_status_updates_total", "Node status posts by result.", ["result"]
        )


# --- the agent --------------------------------------------------------------------------------


class NodeAgent:
    """Registers the node, keeps its network and runs the pods bound to it."""

    def __init__(self, options: NodeOptions, client: Client) -> None:
        self.options = options
        self.client = client
        self.node_name = options.node_name
        options.data_dir = Path(options.data_dir)
        options.data_dir.mkdir(parents=True, exist_ok=True)
        self.runtime = Runtime(
            options.data_dir, options.cluster_name, options.netns, options.node_ips
        )
        self.factory = InformerFactory(client)
        self.pods = self.factory.informer(PODS, field_selector=f"spec.nodeName={self.node_name}")
        self.nodes = self.factory.informer(NODES)
        self.services = self.factory.informer(SERVICES)
        self.events = EventRecorder(client, "kubelet")
        self.metrics = AgentMetrics()
        self.host_resolv = parse_resolv_conf(_read("/etc/resolv.conf"))
        self.workers: dict[str, PodWorker] = {}
        self.adopted: dict[str, tuple[Sandbox, dict[str, ContainerRecord]]] = {}
        self.network_ready = asyncio.Event()
        self.node_uid = ""
        self.synced = False
        self.kubelet_port = 0
        self._node_conditions: list[Obj] = []
        self._routes: list[Any] | None = None
        self._bridge_cidrs: list[str] = []
        self._network_dirty = asyncio.Event()
        self._status_dirty = asyncio.Event()
        self._last_lease_ok = 0.0
        self._tasks: list[asyncio.Task[Any]] = []
        self._http: list[web.AppRunner] = []
        self._capacity = host_capacity(options.data_dir, options.max_pods)
        self._node_info = host_node_info()

    # ------------------------------------------------------------------ lifecycle
    async def start(self) -> None:
        """Register, sync caches, re-adopt, then run every loop (returns once running)."""
        await self._register()
        # Before any pod event can create a worker: a worker made without its
        # records would start a second copy of a running pod.
        self.adopted = await asyncio.to_thread(self.runtime.load)
        if self.adopted:
            log.info("re-adopting pods", pods=len(self.adopted))
        self.pods.add_handler(
            on_add=self._on_pod, on_update=lambda _o, n: self._on_pod(n), on_delete=self._on_pod
        )
        self.nodes.add_handler(
            on_add=self._on_node, on_update=lambda _o, n: self._on_node(n), on_delete=self._on_node
        )
        self.factory.start()
        while not await self.factory.wait_for_cache_sync(timeout=30):
            log.warning("waiting for informer caches to sync")
        try:
            await self._sync_network()
        except Exception as e:  # the network loop retries
            log.warning("network sync failed; retrying", error=str(e))
            self._network_dirty.set()
        await self._post_node_status()
        self.synced = True
        known = {p["metadata"]["uid"] for p in self.pods.list() if p.get("metadata", {}).get("uid")}
        for pod in self.pods.list():
            self._on_pod(pod)
        for uid in list(self.adopted):
            if uid not in known:
                self._ensure_worker(uid, None)  # its pod is gone: tear it down
        self._tasks += [
            asyncio.create_task(self._lease_loop(), name="lease"),
            asyncio.create_task(self._status_loop(), name="node-status"),
            asyncio.create_task(self._network_loop(), name="network"),
        ]
        self.events.record(self._node_ref(), "Normal", "Starting", "Starting kubelet.")
        log.info("node agent running", node=self.node_name, pods=len(self.workers))

    async def stop(self) -> None:
        """Stop every loop and worker; pods keep running for the next agent."""
        for t in self._tasks:
            t.cancel()
        for w in list(self.workers.values()):
            w.stop()
        pending = list(self._tasks)
        for w in self.workers.values():
            pending += w.pending_tasks()
        await asyncio.gather(*pending, return_exceptions=True)
        await self.events.flush()
        await self.factory.shutdown()
        for runner in self._http:
            await runner.cleanup()
        await self.client.close()

    def healthy(self) -> bool:
        fresh = time.time() - self._last_lease_ok < self.options.lease_duration
        return self.synced and fresh and all(not t.done() for t in self._tasks)

    def _node_ref(self) -> Obj:
        return {
            "kind": "Node",
            "apiVersion": "v1",
            "metadata": {"name": self.node_name, "uid": self.node_name},
        }

    # ------------------------------------------------------------------ node
    async def _register(self) -> None:
        delay = 0.2
        while True:
            try:
                try:
                    node = await self.client.create(NODES, node_object(self.options))
                    log.info("node registered", node=self.node_name)
                except AlreadyExistsError:
                    body = node_object(self.options)
                    patch = {
                        "metadata": {k: body["metadata"][k] for k in ("labels", "annotations")}
                    }
                    node = await self.client.patch(NODES, self.node_name, patch)
                    log.info("node exists, updated", node=self.node_name)
                self.node_uid = node["metadata"].get("uid", "")
                self._node_conditions = list((node.get("status") or {}).get("conditions") or ())
                spec = node.get("spec") or {}
                if not (spec.get("podCIDRs") or spec.get("podCIDR")):
                    # A new node says at once that it is not ready yet; a
                    # restarted one (pod CIDRs known) reports after its
                    # network sync, so its pods never flap to not ready.
                    await self._post_node_status()
                return
            except ClientError as e:
                log.warning("registering node failed; retrying", error=str(e), delay=delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 5.0)

    def node_ready(self) -> bool:
        return self.options.netns is None or self.network_ready.is_set()

    async def _post_node_status(self) -> None:
        status = node_status(
            self.options,
            self.node_ready(),
            self._node_conditions,
            time.time(),
            self._capacity,
            self._node_info,
            self.kubelet_port,
        )
        try:
            node = await self.client.patch(
                NODES, self.node_name, {"status": status}, subresource="status"
            )
        except ClientError as e:
            self.metrics.node_status_updates.labels("error").inc()
            log.warning("posting node status failed", error=str(e))
            return
        self.metrics.node_status_updates.labels("ok").inc()
        was_ready = _ready(self._node_conditions)
        self._node_conditions = list((node.get("status") or {}).get("conditions") or ())
        if _ready(self._node_conditions) and not was_ready:
            self.events.record(
                self._node_ref(),
                "Normal",
                "NodeReady",
                f"Node {self.node_name} status is now: NodeReady",
            )

    async def _status_loop(self) -> None:
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(
                    self._status_dirty.wait(), self.options.status_report_interval
                )
            self._status_dirty.clear()
            await self._post_node_status()

    async def _renew_lease(self) -> None:
        body = lease_object(self.options, self.node_uid, time.time())
        try:
            await self.client.update(LEASES, body, namespace=LEASE_NAMESPACE)
        except NotFoundError:
            await self.client.create(LEASES, body, namespace=LEASE_NAMESPACE)

    async def _lease_loop(self) -> None:
        while True:
            try:
                await self._renew_lease()
                self._last_lease_ok = time.time()
                self.metrics.lease_renewals.labels("ok").inc()
            except ClientError as e:
                self.metrics.lease_renewals.labels("error").inc()
                log.warning("renewing the node lease failed", error=str(e))
            await asyncio.sleep(self.options.heartbeat_interval)

    # ------------------------------------------------------------------ network
    def _on_node(self, _node: Obj) -> None:
        self._network_dirty.set()

    async def _network_loop(self) -> None:
        while True:
            await self._network_dirty.wait()
            await asyncio.sleep(0.05)  # coalesce a burst of Node events
            self._network_dirty.clear()
            try:
                await self._sync_network()
            except Exception as e:  # never let a netlink hiccup kill the loop
                log.warning("network sync failed; retrying", error=str(e))
                await asyncio.sleep(1.0)
                self._network_dirty.set()

    async def _sync_network(self) -> None:
        """Bridge and IPAM once the own pod CIDRs are known; host-gw routes always."""
        from svcnet.lab.netns import sync_host_routes
        from svcnet.lab.topology import NodeRouting, host_gw_routes
        from svcnet.node.cni import setup_node_bridge

        netns = self.options.netns
        if netns is None:
            return
        own = self.nodes.get("", self.node_name) or {}
        spec = own.get("spec") or {}
        cidrs = list(spec.get("podCIDRs") or ([spec["podCIDR"]] if spec.get("podCIDR") else []))
        if cidrs and cidrs != self._bridge_cidrs:
            await asyncio.to_thread(setup_node_bridge, netns, cidrs)
            self.runtime.set_pod_cidrs(cidrs)
            self._bridge_cidrs = cidrs
            if not self.network_ready.is_set():
                keep = set(self.adopted) | {uid for uid in self.workers}
                freed = await asyncio.to_thread(self.runtime.release_unknown_ips, keep)
                if freed:
                    log.info("released leaked pod IPs", ips=",".join(freed))
                self.network_ready.set()
                log.info("pod network ready", pod_cidrs=",".join(cidrs))
                self._status_dirty.set()
                for w in self.workers.values():
                    w.wake()
        routes = host_gw_routes(
            self.node_name, [NodeRouting.from_node(n) for n in self.nodes.list()]
        )
        if routes != self._routes:
            put, deleted = await asyncio.to_thread(sync_host_routes, netns, routes)
            self._routes = routes
            if put or deleted:
                log.info("host-gw routes synced", put=len(put), deleted=len(deleted))

    # ------------------------------------------------------------------ pods
    def _on_pod(self, pod: Obj) -> None:
        uid = (pod.get("metadata") or {}).get("uid")
        if not uid or not self.synced:
            return  # start() hands every cached pod over once it is ready
        self._ensure_worker(uid, pod).wake()

    def _ensure_worker(self, uid: str, pod: Obj | None) -> PodWorker:
        w = self.workers.get(uid)
        if w is None:
            adopted = self.adopted.pop(uid, None)
            w = self.workers[uid] = PodWorker(self, uid, pod, adopted)
            w.start()
            self.metrics.pods.set(len(self.workers))
        return w

    def worker_done(self, uid: str) -> None:
        self.workers.pop(uid, None)
        self.metrics.pods.set(len(self.workers))

    def pod(self, uid: str, key: tuple[str, str]) -> Obj | None:
        """The cached pod with this uid (None: deleted, or replaced by a namesake)."""
        pod = self.pods.get(*key)
        if pod is None or (pod.get("metadata") or {}).get("uid") != uid:
            return None
        return pod

    def resolv_conf_for(self, pod: Obj) -> ResolvConf | None:
        from svcnet.node.runtime import dns_config

        return dns_config(
            pod, self.options.cluster_dns_ips, self.options.cluster_domain, self.host_resolv
        )

    def record(self, pod: Obj, type_: str, reason: str, message: str) -> None:
        ref = {"kind": "Pod", "apiVersion": "v1", "metadata": pod.get("metadata") or {}}
        self.events.record(ref, type_, reason, message)

    def count_running(self) -> None:
        n = sum(w.running_containers() for w in self.workers.values())
        self.metrics.containers_running.set(n)

    # ------------------------------------------------------------------ HTTP
    async def start_http(self) -> None:
        """Serve /healthz, /metrics, /pods and /containerLogs (TCP and unix socket)."""
        app = web.Application()
        app.router.add_get("/healthz", self._healthz)
        app.router.add_get("/metrics", self._metrics)
        app.router.add_get("/pods", self._pods)
        app.router.add_get("/containerLogs/{namespace}/{pod}/{container}", self._logs)
        sock = self.options.data_dir / KUBELET_SOCKET
        with contextlib.suppress(FileNotFoundError):
            sock.unlink()
        runner = web.AppRunner(app, access_log=None, handle_signals=False)
        await runner.setup()
        await web.UnixSite(runner, str(sock)).start()
        os.chmod(sock, 0o600)
        self._http.append(runner)
        if self.options.healthz_addr:
            host, _, port = self.options.healthz_addr.rpartition(":")
            site = web.TCPSite(runner, host or "127.0.0.1", int(port))
            await site.start()
            server = getattr(site, "_server", None)
            sockets = getattr(server, "sockets", None) or ()
            if sockets:
                self.kubelet_port = sockets[0].getsockname()[1]
            log.info("serving /healthz and /metrics", addr=f"{host}:{self.kubelet_port}")

    async def _healthz(self, _: web.Request) -> web.Response:
        ok = self.healthy()
        return web.Response(text="ok" if ok else "not ready", status=200 if ok else 503)

    async def _metrics(self, _: web.Request) -> web.Response:
        self.count_running()
        resp = web.Response(body=self.metrics.registry.render())
        resp.headers["Content-Type"] = CONTENT_TYPE
        return resp

    async def _pods(self, _: web.Request) -> web.Response:
        return web.json_response({"kind": "PodList", "apiVersion": "v1", "items": self.pods.list()})

    async def _logs(self, request: web.Request) -> web.StreamResponse:
        ns, name, container = (request.match_info[k] for k in ("namespace", "pod", "container"))
        pod = self.pods.get(ns, name)
        if pod is None:
            raise web.HTTPNotFound(text=f'pods "{name}" not found')
        uid = pod["metadata"].get("uid", "")
        d = pod_log_dir(self.options.data_dir, ns, name, uid) / container
        files = sorted((f for f in d.glob("*.log") if f.stem.isdigit()), key=lambda f: int(f.stem))
        q = request.query
        previous = q.get("previous") in ("true", "1")
        if not files or (previous and len(files) < 2):
            what = "previous terminated container" if previous else "container"
            raise web.HTTPBadRequest(
                text=f'{what} "{container}" in pod "{name}" not found'
                if previous
                else f'container "{container}" in pod "{name}" is waiting to start'
            )
        path = files[-2] if previous else files[-1]
        data = await asyncio.to_thread(path.read_bytes)
        if q.get("tailLines", "").isdigit():
            n = int(q["tailLines"])
            lines = data.splitlines(keepends=True)
            data = b"".join(lines[-n:]) if n else b""
        if q.get("limitBytes", "").isdigit():
            data = data[: int(q["limitBytes"])]
        if q.get("follow") not in ("true", "1") or previous:
            return web.Response(body=data, content_type="text/plain")
        resp = web.StreamResponse()
        resp.content_type = "text/plain"
        await resp.prepare(request)
        await resp.write(data)
        offset = path.stat().st_size
        while self.pods.get(ns, name) is not None:
            with open(path, "rb") as f:
                f.seek(offset)
                chunk = f.read(1 << 16)
            if chunk:
                offset += len(chunk)
                await resp.write(chunk)
                continue
            newest = max((int(f.stem) for f in d.glob("*.log") if f.stem.isdigit()), default=-1)
            if newest > int(path.stem):
                break  # the container restarted: this instance is over
            await asyncio.sleep(0.2)
        return resp


# --- pod workers ----------------------------------------------------------------------------

MIN_GRACE: Final = 2.0  # kubelet minimumGracePeriodInSeconds
_OWN_CONDITIONS: Final = frozenset({POD_READY_TO_START, INITIALIZED, READY, CONTAINERS_READY})


def resolve_image(
    image: str, command: Sequence[str], args: Sequence[str]
) -> tuple[list[str], dict[str, str], str] | Waiting:
    """(argv, image env, working dir) of a container, or why it cannot run.

    The built-in image table (`svcnet.workloads.images.resolve`) decides;
    without it, a container that gives ``command`` runs it on the node.
    """
    try:
        from svcnet.workloads import images
    except ImportError:
        images = None  # type: ignore[assignment]
    resolve = getattr(images, "resolve", None)
    if resolve is not None:
        try:
            r = resolve(image, list(command), list(args))
        except Exception as e:  # a broken table entry must not kill the pod worker
            return Waiting(IMAGE_NOT_SUPPORTED, f"resolving image {image!r} failed: {e}")
        argv = getattr(r, "argv", None)
        if argv is not None:
            env = dict(getattr(r, "env", None) or {})
            cwd = getattr(r, "working_dir", "") or getattr(r, "cwd", "") or ""
            return [str(a) for a in argv], env, str(cwd)
        return Waiting(
            getattr(r, "reason", "") or IMAGE_NOT_SUPPORTED,
            getattr(r, "message", "") or f'image "{image}" is not supported',
        )
    if command:
        return [*command, *args], {}, ""
    return Waiting(
        IMAGE_NOT_SUPPORTED,
        f'image "{image}" has no built-in workload in svcnet and the container gives no '
        '"command"; set "command:" to a program on the node to run it',
    )


class PodWorker:
    """Everything about one pod, serialised on one task (kubelet podWorkers + SyncPod)."""

    def __init__(
        self,
        agent: NodeAgent,
        uid: str,
        pod: Obj | None,
        adopted: tuple[Sandbox, dict[str, ContainerRecord]] | None = None,
    ) -> None:
        self.agent = agent
        self.uid = uid
        self.pod = pod  # the last API object seen
        meta = (pod or {}).get("metadata") or {}
        self.key = (meta.get("namespace", ""), meta.get("name", ""))
        self.sandbox: Sandbox | None = None
        self.records: dict[str, ContainerRecord] = {}
        self.finished = False  # every container done for good; sandbox removed
        self.terminating = False
        self.done = False
        self.task: asyncio.Task[None] | None = None
        self._wake = asyncio.Event()
        self._changed = asyncio.Event()
        self._probes: dict[tuple[str, str], ProbeWorker] = {}
        self._probe_tasks: dict[tuple[str, str], asyncio.Task[None]] = {}
        self._dying: set[asyncio.Task[None]] = set()
        self._env: dict[str, Mapping[str, str]] = {}
        self._backoff = CrashLoopBackOff()
        self._sent: Obj | None = None
        self._sent_rv: str | None = None
        self._status_retry = False
        self._seen_at = time.time()
        self._start_reported = False
        self._events_sent: dict[str, str] = {}
        self.log = log.bind(pod=f"{self.key[0]}/{self.key[1]}", uid=uid)
        if adopted is not None:
            self.sandbox, self.records = adopted
            self.key = (self.sandbox.namespace, self.sandbox.name)
            self.finished = self.sandbox.removed
            self._start_reported = True
            self.log = log.bind(pod=f"{self.key[0]}/{self.key[1]}", uid=uid)

    # ------------------------------------------------------------------ plumbing
    def start(self) -> None:
        for rec in self.records.values():
            if rec.process is not None and not rec.process.exited:
                rec.process.watch(self._on_exit)
        self.task = asyncio.create_task(self._run(), name=f"pod-{self.uid[:8]}")

    def stop(self) -> None:
        """Agent shutdown: stop working, leave the processes running."""
        self._cancel_probes()
        if self.task is not None:
            self.task.cancel()
        for rec in self.records.values():
            if rec.process is not None:
                rec.process.unwatch()

    def pending_tasks(self) -> list[asyncio.Task[None]]:
        """The worker's task and its probe loops still winding down."""
        return [t for t in (self.task, *self._dying) if t is not None]

    def wake(self) -> None:
        self._wake.set()
        changed, self._changed = self._changed, asyncio.Event()
        changed.set()  # probe loops re-read the containers

    def _on_exit(self, _proc: ContainerProcess) -> None:
        self.wake()

    def running_containers(self) -> int:
        return sum(1 for r in self.records.values() if r.running)

    def _event(self, pod: Obj | None, type_: str, reason: str, message: str) -> None:
        if pod is not None:
            self.agent.record(pod, type_, reason, message)

    def _event_once(
        self, pod: Obj, key: str, value: str, type_: str, reason: str, msg: str
    ) -> None:
        if self._events_sent.get(key) != value:
            self._events_sent[key] = value
            self._event(pod, type_, reason, msg)

    async def _run(self) -> None:
        resync = self.agent.options.pod_resync_interval
        while not self.done:
            self._wake.clear()
            t0 = time.monotonic()
            try:
                delay = await self._sync()
            except asyncio.CancelledError:
                raise
            except Exception:
                self.log.exception("pod sync failed; retrying")
                delay = 2.0
            self.agent.metrics.pod_syncs.observe(time.monotonic() - t0)
            if self.done:
                break
            timeout = resync if delay is None else min(resync, max(0.0, delay))
            if self._status_retry:
                timeout = min(timeout, 1.0)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout)
        self.agent.worker_done(self.uid)

    # ------------------------------------------------------------------ sync
    async def _sync(self) -> float | None:
        pod = self.agent.pod(self.uid, self.key) if self.key[1] else None
        if pod is not None:
            self.pod = pod
        if pod is None or (pod.get("metadata") or {}).get("deletionTimestamp"):
            await self._terminate(pod)
            return None
        if self.finished:
            await self._report(pod)
            return None
        spec = pod.get("spec") or {}
        if self.sandbox is None:
            if (pod.get("status") or {}).get("phase") in TERMINAL_PHASES:
                self.finished = True  # it finished before this agent knew it
                return None
            if not spec.get("hostNetwork") and not self.agent.network_ready.is_set():
                await self._report(pod)
                return None  # woken when the network is ready
            try:
                self.sandbox = await self._create_sandbox(pod)
            except SandboxError as e:
                self._event(
                    pod, "Warning", "FailedCreatePodSandBox", f"Failed to create pod sandbox: {e}"
                )
                await self._report(pod)
                return 5.0
        now = time.time()
        policy = spec.get("restartPolicy") or ALWAYS
        delays: list[float | None] = []
        if await self._sync_init(pod, now, delays):
            for c in spec.get("containers") or ():
                delays.append(await self._sync_container(pod, c, now, policy))
        self._ensure_probes(pod)
        status = await self._report(pod)
        regular = [self.records.get(c.get("name", "")) for c in spec.get("containers") or ()]
        if (
            not self._start_reported
            and regular
            and all(r is not None and r.running for r in regular)
        ):
            self._start_reported = True
            self.agent.metrics.pod_start.observe(time.time() - self._seen_at)
        if status is not None and status.get("phase") in TERMINAL_PHASES and not self.finished:
            self.log.info("pod finished; removing its sandbox", phase=status["phase"])
            self.finished = True
            self._cancel_probes()
            await self.agent.runtime.remove_sandbox(self.sandbox)
            await self._report(pod)
        return min((d for d in delays if d is not None), default=None)

    async def _create_sandbox(self, pod: Obj) -> Sandbox:
        from svcnet.node.runtime import host_aliases, pod_hostname

        hostname, fqdn = pod_hostname(pod, self.agent.options.cluster_domain)
        if (pod.get("spec") or {}).get("hostNetwork"):
            hostname, fqdn = self.agent.node_name, None
        sb = await self.agent.runtime.create_sandbox(
            pod, self.agent.resolv_conf_for(pod), hostname, fqdn, host_aliases(pod)
        )
        self.log.info("sandbox ready", netns=sb.netns, ips=",".join(sb.ips))
        return sb

    def _record(self, c: Obj) -> ContainerRecord:
        name = c.get("name", "")
        rec = self.records.get(name)
        if rec is None:
            rec = self.records[name] = ContainerRecord(name, c.get("image", ""))
        rec.image = c.get("image", "")
        return rec

    def _collect_exit(self, rec: ContainerRecord) -> None:
        p = rec.process
        if p is not None and p.exited:
            t = p.termination()
            rec.add_termination(t)
            rec.process = None
            if self.sandbox is not None:
                self.agent.runtime.save(self.sandbox, rec)
            self.agent.metrics.container_exits.labels(t.reason).inc()
            self.log.info(
                "container exited", container=rec.name, exit_code=t.exit_code, reason=t.reason
            )

    async def _sync_init(self, pod: Obj, now: float, delays: list[float | None]) -> bool:
        """Run init containers in order; True once every one exited 0."""
        spec = pod.get("spec") or {}
        policy = spec.get("restartPolicy") or ALWAYS
        init_policy = ON_FAILURE if policy == ALWAYS else policy
        for c in spec.get("initContainers") or ():
            rec = self._record(c)
            self._collect_exit(rec)
            if rec.running:
                return False
            last = rec.last_termination
            if last is not None and last.exit_code == 0:
                continue
            delays.append(await self._decide_and_start(pod, c, rec, init_policy, now))
            return False
        return True

    async def _sync_container(self, pod: Obj, c: Obj, now: float, policy: str) -> float | None:
        rec = self._record(c)
        self._collect_exit(rec)
        if rec.running and rec.process is not None:
            failed = self._failed_probe(rec.name)
            if failed is not None:
                self._event(
                    pod,
                    "Normal",
                    "Killing",
                    f"Container {rec.name} failed {failed.lower()} probe, will be restarted",
                )
                await self.agent.runtime.stop(rec.process, self._probe_grace(pod, rec.name, failed))
                self._collect_exit(rec)
        return await self._decide_and_start(pod, c, rec, policy, now)

    async def _decide_and_start(
        self, pod: Obj, c: Obj, rec: ContainerRecord, policy: str, now: float
    ) -> float | None:
        d = decide(
            policy,
            rec.running,
            rec.last_termination,
            self._backoff,
            f"{self.uid}/{rec.name}",
            now,
            rec.name,
            pod_description(pod),
        )
        if d.action == "keep":
            return None
        if d.action == "done":
            rec.waiting = None
            return None
        if d.action == "backoff":
            rec.waiting = Waiting(CRASH_LOOP_BACK_OFF, d.message)
            self._event_once(
                pod,
                f"backoff/{rec.name}",
                d.message,
                "Warning",
                "BackOff",
                f"Back-off restarting failed container {rec.name} in pod {pod_description(pod)}",
            )
            return max(0.0, (d.until or now) - now)
        return await self._start_container(pod, c, rec)

    async def _start_container(self, pod: Obj, c: Obj, rec: ContainerRecord) -> float | None:
        assert self.sandbox is not None
        prepared = await self._prepare(pod, c)
        if isinstance(prepared, Waiting):
            rec.waiting = prepared
            self._event_once(
                pod,
                f"waiting/{rec.name}",
                prepared.message,
                "Warning",
                "Failed",
                f"Error: {prepared.message}",
            )
            return 10.0 if prepared.reason == CREATE_CONTAINER_CONFIG_ERROR else None
        try:
            proc = self.agent.runtime.start(self.sandbox, rec, prepared)
        except StartError as e:
            rec.runs += 1
            rec.restart_count = max(0, rec.runs - 1)
            rec.add_termination(Terminated(128, START_ERROR, None, time.time(), str(e)))
            rec.waiting = None
            self.agent.runtime.save(self.sandbox, rec)
            self._event(
                pod, "Warning", "Failed", f"Error: failed to start container {rec.name!r}: {e}"
            )
            return 0.0
        proc.watch(self._on_exit)
        self._env[rec.name] = prepared.env
        self.agent.metrics.container_starts.inc()
        self.log.info(
            "container started", container=rec.name, pid=proc.pid, restart=rec.restart_count
        )
        image = c.get("image", "")
        self._event(
            pod, "Normal", "Pulled", f'Container image "{image}" already present on machine'
        )
        self._event(pod, "Normal", "Created", f"Created container {rec.name}")
        self._event(pod, "Normal", "Started", f"Started container {rec.name}")
        self.wake()
        return None

    async def _get_optional(self, res: Any, name: str, ns: str) -> Obj | None:
        try:
            return await self.agent.client.get(res, name, ns)
        except NotFoundError:
            return None

    async def _prepare(self, pod: Obj, c: Obj) -> Launch | Waiting:
        """The process to run for container ``c``, or why it must wait."""
        from svcnet.client import CONFIGMAPS, SECRETS
        from svcnet.node.envvars import service_env_vars

        assert self.sandbox is not None
        ns = self.key[0]
        spec = pod.get("spec") or {}
        cm_names, secret_names = referenced_objects({"spec": {"containers": [c]}})
        try:
            cms = {n: await self._get_optional(CONFIGMAPS, n, ns) for n in sorted(cm_names)}
            secs = {n: await self._get_optional(SECRETS, n, ns) for n in sorted(secret_names)}
        except ClientError as e:
            return Waiting(
                CREATE_CONTAINER_CONFIG_ERROR, f"failed to sync configmap/secret cache: {e}"
            )
        links = spec.get("enableServiceLinks") is not False
        try:
            env = container_env(
                pod,
                c,
                configmaps=cms,
                secrets_=secs,
                service_env=service_env_vars(self.agent.services.list(), ns, links),
                pod_ips=self.sandbox.ips,
                host_ips=self.agent.options.node_ips,
            )
        except ConfigError as e:
            return Waiting(CREATE_CONTAINER_CONFIG_ERROR, str(e))
        command, args = container_argv(c, env)
        resolved = resolve_image(c.get("image", ""), command, args)
        if isinstance(resolved, Waiting):
            return resolved
        argv, image_env, cwd = resolved
        penv = process_env([*image_env.items(), *env], self.sandbox.hostname)
        return Launch(c.get("name", ""), tuple(argv), penv, c.get("workingDir") or cwd)

    # ------------------------------------------------------------------ probes
    def _ensure_probes(self, pod: Obj) -> None:
        if self.terminating or self.finished:
            return
        for c in (pod.get("spec") or {}).get("containers") or ():
            for ptype, probe in container_probes(c).items():
                key = (c.get("name", ""), ptype)
                if key not in self._probes:
                    w = self._probes[key] = ProbeWorker(ptype, probe)
                    self._seed_adopted(pod, c.get("name", ""), w)
                    self._probe_tasks[key] = asyncio.create_task(
                        self._probe_loop(c, w), name=f"probe-{key[0]}-{ptype}"
                    )

    def _seed_adopted(self, pod: Obj, name: str, w: ProbeWorker) -> None:
        """A re-adopted container keeps the probe results the API shows for it.

        Without this, readiness would read Failure until the first probe of
        the new agent, and its endpoints would flap.
        """
        rec = self.records.get(name)
        if rec is None or rec.process is None or not rec.process.adopted:
            return
        p = rec.process
        for st in (pod.get("status") or {}).get("containerStatuses") or ():
            if (
                st.get("name") != name
                or st.get("containerID") != CONTAINER_ID_SCHEME + p.container_id
            ):
                continue
            ok = st.get("ready") if w.probe_type == READINESS else st.get("started")
            if w.probe_type == LIVENESS or ok:
                w.adopt(p.container_id, p.started_at, Result.SUCCESS)

    def _cancel_probes(self) -> None:
        for t in self._probe_tasks.values():
            t.cancel()
            self._dying.add(t)  # referenced until the cancellation is through
            t.add_done_callback(self._dying.discard)
        self._probe_tasks.clear()

    def started(self, name: str) -> bool:
        rec = self.records.get(name)
        if rec is None or not rec.running:
            return False
        w = self._probes.get((name, STARTUP))
        return w is None or w.result == Result.SUCCESS

    def ready(self, name: str) -> bool:
        w = self._probes.get((name, READINESS))
        return self.started(name) and (w is None or w.result == Result.SUCCESS)

    def _failed_probe(self, name: str) -> str | None:
        rec = self.records.get(name)
        cid = rec.process.container_id if rec and rec.process else ""
        for ptype in (LIVENESS, STARTUP):
            w = self._probes.get((name, ptype))
            if w is not None and w.failed and w.container_id == cid:
                return ptype
        return None

    def _probe_grace(self, pod: Obj, name: str, ptype: str) -> float:
        w = self._probes.get((name, ptype))
        if w is not None and w.probe.termination_grace_period is not None:
            return max(MIN_GRACE, float(w.probe.termination_grace_period))
        spec = pod.get("spec") or {}
        return max(MIN_GRACE, float(spec.get("terminationGracePeriodSeconds", 30)))

    async def _probe_loop(self, c: Obj, w: ProbeWorker) -> None:
        name = c.get("name", "")
        while True:
            changed = self._changed
            rec = self.records.get(name)
            proc = rec.process if rec is not None and rec.running else None
            if w.observe(
                proc.container_id if proc else "",
                proc is not None,
                proc.started_at if proc else 0.0,
            ):
                self._wake.set()
            now = time.time()
            at = w.due(now, proc is not None, self.started(name), self.terminating)
            if at is None or at > now or self.sandbox is None:
                timeout = None if at is None else max(0.05, at - now)
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(changed.wait(), timeout)
                continue
            sb = self.sandbox
            target = ProbeTarget(
                sb.ips[0] if sb.ips else "127.0.0.1",
                c,
                exec_argv=lambda cmd, sb=sb: self.agent.runtime.exec_argv(sb, cmd),
                env=self._env.get(name),
            )
            cid = w.container_id
            try:
                result, message = await run_probe(w.probe, target, self.agent.runtime.run_command)
            except Exception as e:  # a probe must never kill its loop
                result, message = Result.UNKNOWN, str(e)
            if w.container_id != cid:
                continue
            self.agent.metrics.probes.labels(w.probe_type.lower(), result.value).inc()
            published = w.record(result, time.time())
            if result == Result.FAILURE and (published or w.result_run == 1):
                self._event(
                    self.pod, "Warning", "Unhealthy", f"{w.probe_type} probe failed: {message}"
                )
            if published:
                self.log.info(
                    "probe result changed",
                    container=name,
                    probe=w.probe_type,
                    result=w.result.value,
                )
                self.wake()

    # ------------------------------------------------------------------ status
    def _view(self, c: Obj, default: str) -> ContainerView:
        name, image = c.get("name", ""), c.get("image", "")
        rec = self.records.get(name)
        if rec is None:
            return ContainerView(name, image, Waiting(default))
        if rec.running and rec.process is not None:
            p = rec.process
            started = self.started(name)
            return ContainerView(
                name,
                image,
                Running(p.started_at),
                rec.last_termination,
                rec.restart_count,
                ready=started and self.ready(name) and not self.terminating,
                started=started,
                container_id=CONTAINER_ID_SCHEME + p.container_id,
            )
        if rec.waiting is not None:
            return ContainerView(name, image, rec.waiting, rec.last_termination, rec.restart_count)
        last = rec.last_termination
        if last is not None:
            prev = rec.terminations[-2] if len(rec.terminations) > 1 else None
            return ContainerView(
                name, image, last, prev, rec.restart_count, container_id=last.container_id
            )
        return ContainerView(name, image, Waiting(default), None, rec.restart_count)

    async def _report(self, pod: Obj) -> Obj | None:
        """Compute the pod's status and write it when the API's differs."""
        spec = pod.get("spec") or {}
        inits = spec.get("initContainers") or ()
        init_views = [
            self._view(c, POD_INITIALIZING if i else CONTAINER_CREATING)
            for i, c in enumerate(inits)
        ]
        init_done = all(
            isinstance(v.state, Terminated) and v.state.exit_code == 0 for v in init_views
        )
        regular = CONTAINER_CREATING if init_done else POD_INITIALIZING
        views = [self._view(c, regular) for c in spec.get("containers") or ()]
        base = pod
        if self._sent is not None:
            status = dict(pod.get("status") or {})
            ours = [
                c for c in self._sent.get("conditions") or () if c.get("type") in _OWN_CONDITIONS
            ]
            theirs = [
                c for c in status.get("conditions") or () if c.get("type") not in _OWN_CONDITIONS
            ]
            status["conditions"] = ours + theirs
            base = {**pod, "status": status}
        sb = self.sandbox
        status = generate_pod_status(
            PodStatusInput(
                base,
                views,
                init_views,
                sb.ips if sb else (),
                self.agent.options.node_ips,
                sandbox_ready=sb is not None and not sb.removed,
                terminal=self.terminating,
                now=time.time(),
                start_time=self._seen_at,
            )
        )
        rv = (pod.get("metadata") or {}).get("resourceVersion")
        if not status_differs(status, pod.get("status")) or (
            status == self._sent and rv == self._sent_rv
        ):
            self._status_retry = False
            return status
        try:
            await self.agent.client.patch(
                PODS, self.key[1], {"status": status}, self.key[0], subresource="status"
            )
        except NotFoundError:
            return status
        except ClientError as e:
            self.agent.metrics.status_updates.labels("error").inc()
            self.log.warning("updating pod status failed", error=str(e))
            self._status_retry = True
            return status
        self.agent.metrics.status_updates.labels("ok").inc()
        self.log.debug(
            "pod status updated",
            phase=status.get("phase"),
            ready=next((c["status"] for c in status["conditions"] if c["type"] == READY), ""),
        )
        self._status_retry = False
        self._sent, self._sent_rv = status, rv
        return status

    # ------------------------------------------------------------------ termination
    def _grace(self, pod: Obj | None) -> float:
        if pod is None:
            return MIN_GRACE
        meta = pod.get("metadata") or {}
        g = meta.get("deletionGracePeriodSeconds")
        if g is None:
            g = (pod.get("spec") or {}).get("terminationGracePeriodSeconds", 30)
        try:
            return max(MIN_GRACE, float(g))
        except (TypeError, ValueError):
            return 30.0

    async def _terminate(self, pod: Obj | None) -> None:
        """Stop the containers, remove the sandbox and IP, then delete the pod (grace 0)."""
        last = pod or self.pod
        if not self.terminating:
            self.terminating = True
            self._cancel_probes()
            self.log.info("stopping pod", grace=self._grace(last), gone=pod is None)
        grace = self._grace(last)
        running = [r for r in self.records.values() if r.running and r.process is not None]
        for r in running:
            self._event(last, "Normal", "Killing", f"Stopping container {r.name}")
        await asyncio.gather(
            *(self.agent.runtime.stop(r.process, grace) for r in running if r.process is not None)
        )
        for r in self.records.values():
            self._collect_exit(r)
        if self.sandbox is not None:
            await self.agent.runtime.remove_sandbox(self.sandbox)
        if pod is not None:
            await self._report(pod)
            await self._delete(pod)
        self.agent.runtime.forget_pod(self.uid, *self.key)
        self.log.info("pod removed")
        self.done = True

    async def _delete(self, pod: Obj) -> None:
        delay = 0.2
        for _ in range(20):
            try:
                await self.agent.client.delete(
                    PODS,
                    self.key[1],
                    self.key[0],
                    grace_period_seconds=0,
                    preconditions={"uid": self.uid},
                )
                return
            except (NotFoundError, ConflictError):
                return  # gone, or a namesake with another uid
            except ClientError as e:
                self.log.warning("deleting pod failed; retrying", error=str(e))
                await asyncio.sleep(delay)
                delay = min(delay * 2, 5.0)


def _ready(conditions: Sequence[Obj]) -> bool:
    return any(c.get("type") == "Ready" and c.get("status") == "True" for c in conditions)


def _check_options(options: NodeOptions) -> None:
    if not options.node_name:
        raise ValueError("--node-name is required")
    for ip in options.node_ips:
        ipaddress.ip_address(ip)
    if options.socket is None and options.kubeconfig is None:
        raise ValueError("give --socket or --kubeconfig")


def _reset_signals_in_forked_child() -> None:
    """Forked children must not share the event loop's signal wakeup fd.

    pyroute2 forks a helper for every namespaced netlink socket and stops it
    with SIGTERM; a child that inherited the loop's wakeup fd and handlers
    writes that SIGTERM into the parent's wakeup socket, and the agent would
    take it for its own shutdown signal.
    """
    with contextlib.suppress(ValueError, OSError):
        signal.set_wakeup_fd(-1)
    for sig in (signal.SIGTERM, signal.SIGINT):
        with contextlib.suppress(ValueError, OSError):
            signal.signal(sig, signal.SIG_DFL)


_FORK_HOOK_INSTALLED = False
CLONE_NEWNS: Final = 0x00020000


def enter_host_mount_namespace() -> bool:
    """Move this process back into the host's mount namespace; True when it moved.

    ``ip netns exec <node-ns>`` starts the agent in a private mount
    namespace whose mounts never propagate back (it makes every mount a
    slave). The bind mounts that make pod namespaces (``/run/netns/<pod>``)
    would then exist for the agent alone: nobody else could ``ip netns
    exec`` into a pod, and the namespaces would leak. The host namespace is
    PID 1's, or, where that is not readable (sandboxes), the one of the
    process that ran ``ip netns exec`` (our parent: ``ip`` execs). The
    network namespace is not touched. Must run while single-threaded.
    """
    import ctypes

    def ident(path: str) -> tuple[int, int] | None:
        try:
            st = os.stat(path)
        except OSError:
            return None
        return st.st_dev, st.st_ino

    mine = ident("/proc/self/ns/mnt")
    target = None
    for path in ("/proc/1/ns/mnt", f"/proc/{os.getppid()}/ns/mnt"):
        other = ident(path)
        if other is None:
            continue
        if other != mine:
            target = path
        break
    if mine is None or target is None:
        return False
    libc = ctypes.CDLL(None, use_errno=True)
    fd = os.open(target, os.O_RDONLY)
    try:
        if libc.setns(fd, CLONE_NEWNS) != 0:
            err = ctypes.get_errno()
            raise OSError(err, os.strerror(err), f"setns({target})")
    finally:
        os.close(fd)
    return True


async def serve(options: NodeOptions) -> None:
    """Run the node agent until SIGTERM/SIGINT (pods keep running afterwards)."""
    global _FORK_HOOK_INSTALLED
    _check_options(options)
    # Paths first: entering another mount namespace resets the working directory.
    options.data_dir = Path(options.data_dir).resolve()
    if options.socket is not None:
        options.socket = Path(options.socket).resolve()
    if options.kubeconfig is not None:
        options.kubeconfig = Path(options.kubeconfig).resolve()
    try:
        if enter_host_mount_namespace():
            log.info("entered the host mount namespace (pod namespaces must be visible to all)")
    except OSError as e:
        log.warning(
            "staying in a private mount namespace; pod namespaces are visible to this agent only",
            error=str(e),
        )
    if not _FORK_HOOK_INSTALLED:
        os.register_at_fork(after_in_child=_reset_signals_in_forked_child)
        _FORK_HOOK_INSTALLED = True
    if options.socket is not None:
        client = Client.from_unix_socket(options.socket)
    else:
        client = Client.from_kubeconfig(options.kubeconfig)
    agent = NodeAgent(options, client)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await agent.start_http()
    starter = asyncio.create_task(agent.start())
    waiter = asyncio.create_task(stop.wait())
    done, _ = await asyncio.wait({starter, waiter}, return_when=asyncio.FIRST_COMPLETED)
    if starter in done and starter.exception() is not None:
        waiter.cancel()
        await agent.stop()
        raise starter.exception()  # type: ignore[misc]
    await waiter
    log.info("shutting down; pods keep running")
    starter.cancel()
    with contextlib.suppress(BaseException):
        await starter
    await agent.stop()
