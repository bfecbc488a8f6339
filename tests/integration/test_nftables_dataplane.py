"""The nftables dataplane with real packets, inside network namespaces this test makes.

Topology (prefix ``t-<6hex>``, all made here and deleted in teardown, even
on failure; nothing is added to the root namespace):

    <p>-c  (client)  eth0 10.200.1.2 --- vc  10.200.1.1 \\
    <p>-b1 (backend) eth0 10.200.2.2 --- vb1 10.200.2.1 -- <p>-node (the proxy's node,
    <p>-b2 (backend) eth0 10.200.3.2 --- vb2 10.200.3.1 /            ip_forward=1)

The client and backends route everything via the node; the node's default
route points at an "uplink" veth whose peer stays in the node (real nodes
have one; with no route at all, a ClusterIP nothing DNATs would be
unreachable before the forward hook's REJECT). Each backend runs
one Python echo server (TCP 8080, UDP 9090) answering ``<name> <peer ip>``;
servers are started here and stopped by PID. The proxy state is built the
way the proxy builds it: Service and EndpointSlice objects through the
change trackers, then ``NftablesDataplane.sync`` into the node namespace
(one ``nft`` batch per sync, through libnftables on a thread that entered
the namespace). The node is ``node-a``; ``b1`` is its local endpoint. The
cluster CIDR is 10.200.2.0/23 (the backends are the pods), so the client is
outside the cluster: its ClusterIP and NodePort traffic is masqueraded
(backends see the node's address), ETP Local keeps its IP, and pod traffic
keeps the pod's IP.
"""

from __future__ import annotations

import concurrent.futures
import ctypes
import os
import secrets
import shutil
import socket
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, TypeVar

import pytest

from svcnet.proxy.changes import FamilyChanges
from svcnet.proxy.model import IPV4, ProxyState, ServiceName, empty_states
from svcnet.proxy.nft_render import LB_RULES, RenderOptions
from svcnet.proxy.nftables import NftablesDataplane
from svcnet.proxy.nftwriter import BACKEND_LIBNFTABLES, NftWriter
from svcnet.proxy.plan import PlanOptions

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(
        os.geteuid() != 0 or not shutil.which("nft") or not shutil.which("ip"),
        reason="needs root, nft and ip (network namespaces)",
    ),
]

GOLDEN = Path(__file__).resolve().parents[1] / "golden" / "nftables"
NODE = "node-a"
NODE_IP = "10.200.1.1"
CLIENT_IP = "10.200.1.2"
WEB_IP, EMPTY_IP, DNS_IP, LOCAL_IP = "10.96.0.20", "10.96.0.21", "10.96.0.22", "10.96.0.23"
OPTIONS = RenderOptions(plan=PlanOptions(cluster_cidrs=("10.200.2.0/23",)))
BACKENDS = {"b1": ("10.200.2.1", "10.200.2.2"), "b2": ("10.200.3.1", "10.200.3.2")}

SERVER = r"""
import socket, sys, threading
name = sys.argv[1]
tcp = socket.socket()
tcp.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
tcp.bind(("0.0.0.0", 8080))
tcp.listen(256)
udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
udp.bind(("0.0.0.0", 9090))
def serve_udp():
    while True:
        data, peer = udp.recvfrom(2048)
        udp.sendto(f"{name} {peer[0]}".encode(), peer)
threading.Thread(target=serve_udp, daemon=True).start()
print("ready", flush=True)
while True:
    conn, peer = tcp.accept()
    conn.sendall(f"{name} {peer[0]}".encode())
    conn.close()
"""

T = TypeVar("T")


def sh(*args: str) -> None:
    proc = subprocess.run(args, capture_output=True, text=True, timeout=20, check=False)
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(args)}: {proc.stderr.strip()}")


def _enter_netns(name: str) -> None:
    libc = ctypes.CDLL("libc.so.6", use_errno=True)
    fd = os.open(f"/run/netns/{name}", os.O_RDONLY)
    try:
        if libc.setns(fd, 0x40000000) != 0:  # CLONE_NEWNET: this thread only
            raise OSError(ctypes.get_errno(), f"setns {name}")
    finally:
        os.close(fd)


class NetnsThread:
    """A worker thread living in one namespace: sockets it makes are that namespace's."""

    def __init__(self, netns: str) -> None:
        self._pool = concurrent.futures.ThreadPoolExecutor(
            1, initializer=_enter_netns, initargs=(netns,)
        )

    def run(self, fn: Callable[..., T], *args: Any) -> T:
        return self._pool.submit(fn, *args).result(timeout=30)

    def close(self) -> None:
        self._pool.shutdown(wait=True)


def tcp_ask(ip: str, port: int, timeout: float = 2.0) -> str:
    with socket.create_connection((ip, port), timeout=timeout) as conn:
        return conn.recv(256).decode()


def udp_ask(ip: str, port: int, src_port: int = 0, timeout: float = 2.0) -> str:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("0.0.0.0", src_port))
        sock.settimeout(timeout)
        sock.connect((ip, port))
        sock.send(b"hello")
        return sock.recv(256).decode()


def refused_within(fn: Callable[[], Any], seconds: float) -> float:
    """Run ``fn`` expecting ConnectionRefusedError; returns how long that took."""
    start = time.monotonic()
    with pytest.raises(ConnectionRefusedError):
        fn()
    elapsed = time.monotonic() - start
    assert elapsed < seconds, f"refused only after {elapsed:.2f}s"
    return elapsed


# --- API objects ---------------------------------------------------------------------------------


def service(name: str, ip: str, port: int, target: int, proto: str = "TCP", **spec: Any) -> dict:
    node_port = spec.pop("node_port", 0)
    ports = [{"name": "p", "port": port, "targetPort": target, "protocol": proto}]
    if node_port:
        ports[0]["nodePort"] = node_port
    return {
        "metadata": {"namespace": "default", "name": name},
        "spec": {
            "type": "NodePort" if node_port else "ClusterIP",
            "clusterIP": ip,
            "clusterIPs": [ip],
            "ipFamilies": ["IPv4"],
            "ports": ports,
            **spec,
        },
    }


def endpoint_slice(name: str, target: int, proto: str, *backends: str) -> dict:
    nodes = {"b1": NODE, "b2": "node-b"}
    return {
        "metadata": {
            "namespace": "default",
            "name": f"{name}-x",
            "labels": {"kubernetes.io/service-name": name},
        },
        "addressType": "IPv4",
        "ports": [{"name": "p", "port": target, "protocol": proto}],
        "endpoints": [
            {"addresses": [BACKENDS[b][1]], "nodeName": nodes[b], "conditions": {"ready": True}}
            for b in backends
        ],
    }


@dataclass
class Proxy:
    """The proxy loop in miniature: trackers -> state -> one nft transaction per sync."""

    dataplane: NftablesDataplane
    changes: FamilyChanges = field(default_factory=lambda: FamilyChanges(IPV4))
    state: ProxyState = field(default_factory=lambda: empty_states(NODE, [NODE_IP])[IPV4])
    slices: dict[str, dict] = field(default_factory=dict)

    def add_service(self, obj: dict) -> None:
        self.changes.services.update(None, obj)

    def set_endpoints(self, name: str, target: int, proto: str, *backends: str) -> None:
        new = endpoint_slice(name, target, proto, *backends)
        self.changes.endpoints.update(self.slices.get(name), new)
        self.slices[name] = new

    def sync(self, full: bool = False):
        result = self.changes.apply(self.state)
        self.state = result.state
        changed: set[ServiceName] | None = None if full else set(result.changed)
        return self.dataplane.sync({IPV4: self.state}, changed, result.conntrack)


# --- the lab ---------------------------------------------------------------------------------------


@dataclass
class Lab:
    prefix: str
    namespaces: list[str] = field(default_factory=list)
    servers: list[subprocess.Popen] = field(default_factory=list)
    threads: dict[str, NetnsThread] = field(default_factory=dict)
    writer: NftWriter | None = None

    def ns(self, role: str) -> str:
        return f"{self.prefix}-{role}"

    def add_ns(self, role: str) -> str:
        name = self.ns(role)
        sh("ip", "netns", "add", name)
        self.namespaces.append(name)
        sh("ip", "-n", name, "link", "set", "lo", "up")
        return name

    def wire(self, role: str, node_link: str, node_addr: str, peer_addr: str) -> None:
        """A veth made inside the node namespace, its peer moved straight into ``role``'s."""
        node, peer = self.ns("node"), self.add_ns(role)
        sh(
            "ip",
            "-n",
            node,
            "link",
            "add",
            node_link,
            "type",
            "veth",
            "peer",
            "name",
            "eth0",
            "netns",
            peer,
        )
        sh("ip", "-n", node, "addr", "add", f"{node_addr}/24", "dev", node_link)
        sh("ip", "-n", node, "link", "set", node_link, "up")
        sh("ip", "-n", peer, "addr", "add", f"{peer_addr}/24", "dev", "eth0")
        sh("ip", "-n", peer, "link", "set", "eth0", "up")
        sh("ip", "-n", peer, "route", "add", "default", "via", node_addr)

    def start_server(self, role: str) -> None:
        proc = subprocess.Popen(
            ["ip", "netns", "exec", self.ns(role), sys.executable, "-c", SERVER, role],
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
        )
        self.servers.append(proc)
        assert proc.stdout is not None
        if proc.stdout.readline().strip() != "ready":
            raise RuntimeError(f"server in {role} did not start")

    def thread(self, role: str) -> NetnsThread:
        if role not in self.threads:
            self.threads[role] = NetnsThread(self.ns(role))
        return self.threads[role]

    def teardown(self) -> None:
        for thread in self.threads.values():
            thread.close()
        if self.writer is not None:
            self.writer.close()
        for proc in self.servers:  # only the processes this test started, by PID
            if proc.poll() is None:
                proc.terminate()
                try:
                    proc.wait(5)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait(5)
            if proc.stdout is not None:
                proc.stdout.close()
        for name in reversed(self.namespaces):
            subprocess.run(["ip", "netns", "del", name], capture_output=True, check=False)


@pytest.fixture(scope="module")
def lab() -> Iterator[Lab]:
    lab = Lab(f"t-{secrets.token_hex(3)}")
    try:
        lab.add_ns("node")
        node = lab.ns("node")
        sh("ip", "netns", "exec", node, "sysctl", "-qw", "net.ipv4.ip_forward=1")
        # An "uplink" with the default route, as every real node has: packets to a
        # ClusterIP nothing DNATs must be routable to reach the forward hook's REJECT.
        sh("ip", "-n", node, "link", "add", "up0", "type", "veth", "peer", "name", "up1")
        sh("ip", "-n", node, "link", "set", "up1", "up")
        sh("ip", "-n", node, "link", "set", "up0", "up")
        sh("ip", "-n", node, "route", "add", "default", "dev", "up0")
        lab.wire("c", "vc", NODE_IP, CLIENT_IP)
        for role, (node_addr, addr) in BACKENDS.items():
            lab.wire(role, f"v{role}", node_addr, addr)
            lab.start_server(role)
        lab.writer = NftWriter(lab.ns("node"))
        yield lab
    finally:
        lab.teardown()


def start_proxy(lab: Lab, options: RenderOptions = OPTIONS) -> Proxy:
    """A fresh proxy (trackers and dataplane) whose first sync replaces the node's tables."""
    assert lab.writer is not None
    proxy = Proxy(NftablesDataplane(lab.writer, options))
    proxy.add_service(service("web", WEB_IP, 80, 8080, node_port=30080))
    proxy.set_endpoints("web", 8080, "TCP", "b1", "b2")
    proxy.add_service(service("empty", EMPTY_IP, 80, 8080, node_port=30082))
    proxy.add_service(service("dns", DNS_IP, 53, 9090, "UDP"))
    proxy.set_endpoints("dns", 9090, "UDP", "b1", "b2")
    proxy.add_service(
        service("local", LOCAL_IP, 80, 8080, node_port=30081, externalTrafficPolicy="Local")
    )
    proxy.set_endpoints("local", 8080, "TCP", "b1", "b2")
    assert proxy.sync(full=True).full
    return proxy


@pytest.fixture
def proxy(lab: Lab) -> Proxy:
    return start_proxy(lab)


def ask_many(lab: Lab, role: str, fn: Callable[..., str], *args: Any, n: int = 40) -> Counter:
    return Counter(lab.thread(role).run(lambda: [fn(*args) for _ in range(n)]))


# --- tests ---------------------------------------------------------------------------------------


def test_writer_uses_libnftables_inside_the_node(lab: Lab, proxy: Proxy) -> None:
    assert lab.writer is not None and lab.writer.backend == BACKEND_LIBNFTABLES
    dump = lab.writer.dump()
    assert dump.startswith("table ip svcnet {")
    assert 'comment "default/web:p"' in dump


def test_clusterip_reaches_both_backends(lab: Lab, proxy: Proxy) -> None:
    """Both endpoints answer; the off-cluster client is masqueraded to the node's address."""
    answers = ask_many(lab, "c", tcp_ask, WEB_IP, 80)
    assert set(answers) == {"b1 10.200.2.1", "b2 10.200.3.1"}, answers


def test_service_without_endpoints_is_refused_at_once(lab: Lab, proxy: Proxy) -> None:
    client = lab.thread("c")
    client.run(refused_within, lambda: tcp_ask(EMPTY_IP, 80), 1.0)
    client.run(refused_within, lambda: tcp_ask(NODE_IP, 30082), 1.0)
    # A ClusterIP on a port no Service has is refused too (cluster-ips-check).
    client.run(refused_within, lambda: tcp_ask(WEB_IP, 81), 1.0)


def test_rule_based_load_balancing(lab: Lab) -> None:
    """``LB_RULES`` (one numgen rule per endpoint) spreads connections over both backends too."""
    start_proxy(lab, replace(OPTIONS, load_balancing=LB_RULES))
    answers = ask_many(lab, "c", tcp_ask, WEB_IP, 80)
    assert set(answers) == {"b1 10.200.2.1", "b2 10.200.3.1"}, answers


def test_nodeport_on_the_node_ip_is_masqueraded(lab: Lab, proxy: Proxy) -> None:
    answers = ask_many(lab, "c", tcp_ask, NODE_IP, 30080)
    assert set(answers) == {"b1 10.200.2.1", "b2 10.200.3.1"}, answers


def test_nodeport_external_policy_local_keeps_client_ip(lab: Lab, proxy: Proxy) -> None:
    """ETP Local: only this node's endpoint (b1) answers, and it sees the client's own IP."""
    answers = ask_many(lab, "c", tcp_ask, NODE_IP, 30081, n=20)
    assert set(answers) == {f"b1 {CLIENT_IP}"}, answers


def test_hairpin_is_masqueraded(lab: Lab, proxy: Proxy) -> None:
    """A pod reaching its own Service lands on itself sometimes: that works through SNAT.

    Reaching the other backend keeps the pod's IP (a pod is not masqueraded).
    """
    answers = ask_many(lab, "b1", tcp_ask, WEB_IP, 80)
    assert set(answers) == {"b1 10.200.2.1", "b2 10.200.2.2"}, answers


def test_udp_clusterip(lab: Lab, proxy: Proxy) -> None:
    answers = ask_many(lab, "c", udp_ask, DNS_IP, 53, n=20)
    assert set(answers) <= {"b1 10.200.2.1", "b2 10.200.3.1"} and answers, answers


def test_endpoint_change_applied_as_partial_transaction(lab: Lab, proxy: Proxy) -> None:
    assert lab.writer is not None
    proxy.set_endpoints("web", 8080, "TCP", "b1")
    tx = proxy.sync()
    assert not tx.full
    assert "default/web" in tx.script and "default/dns" not in tx.script
    assert set(ask_many(lab, "c", tcp_ask, WEB_IP, 80, n=20)) == {"b1 10.200.2.1"}
    assert "default/web/tcp/p__10.200.3.2/8080" not in lab.writer.dump()  # b2 chain deleted

    proxy.set_endpoints("web", 8080, "TCP")
    assert not proxy.sync().full
    lab.thread("c").run(refused_within, lambda: tcp_ask(WEB_IP, 80), 1.0)
    dump = lab.writer.dump()
    assert '10.96.0.20 . tcp . 80 comment "default/web:p" : goto reject-chain' in dump
    assert "svc-X546UWPH-default/web/tcp/p" not in dump

    proxy.set_endpoints("web", 8080, "TCP", "b2", "b1")
    assert not proxy.sync().full
    assert len(ask_many(lab, "c", tcp_ask, WEB_IP, 80)) == 2


def test_udp_flows_follow_endpoint_changes_through_conntrack_cleanup(
    lab: Lab, proxy: Proxy
) -> None:
    """One UDP 5-tuple: 1 endpoint -> another (stale flow flushed) -> 0 (refused) -> 1 again."""
    client = lab.thread("c")
    src = 40000 + secrets.randbelow(20000)

    def ask() -> str:
        return client.run(udp_ask, DNS_IP, 53, src)

    proxy.set_endpoints("dns", 9090, "UDP", "b1")
    proxy.sync()
    assert ask().startswith("b1 ")
    proxy.set_endpoints("dns", 9090, "UDP", "b2")
    proxy.sync()  # without the flush this 5-tuple would stay pinned to b1 (still alive)
    assert ask().startswith("b2 ")
    proxy.set_endpoints("dns", 9090, "UDP")
    proxy.sync()
    client.run(refused_within, lambda: udp_ask(DNS_IP, 53, src), 1.0)
    proxy.set_endpoints("dns", 9090, "UDP", "b1")
    proxy.sync()
    assert ask().startswith("b1 ")


@pytest.mark.parametrize("golden", sorted(GOLDEN.glob("*.nft")), ids=lambda p: p.stem)
def test_golden_rulesets_are_accepted_by_the_kernel(lab: Lab, golden: Path) -> None:
    """Every golden ruleset applies as one batch (through ``nft -f -`` here) and lists back."""
    with NftWriter(lab.ns("node"), use_libnftables=False) as writer:
        writer.apply(golden.read_text())
        assert writer.dump().startswith("table ip svcnet {")
        if "table ip6 svcnet" in golden.read_text():
            assert "dnat to [fd00:10:244::15]:8080" in writer.dump("IPv6")
        writer.delete_tables()
        assert writer.dump() == ""
