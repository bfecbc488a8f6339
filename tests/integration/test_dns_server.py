"""Cluster DNS against a real `svcnet apiserver`, queried with the real `dig`.

Address conventions: the API server listens on 127.0.0.1 port 0 and its
unix socket; the DNS server, its HTTP port and the fake upstream resolver
bind 127.0.0.1 port 0. `dig` only ever talks to 127.0.0.1. Every process
and loop a fixture starts is stopped in teardown (processes by PID).

The module starts one API server (memory store) and one in-process DNS
server fed by informers over the unix socket (`IndexSync`), in a loop
thread, so the test thread can run `dig` synchronously. Objects are
created through the API (no controllers run: EndpointSlices are written
by the tests). The last tests run `serve()` itself as a process.
"""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from dnslib import DNSRecord

from svcnet.client import ENDPOINTSLICES, NAMESPACES, SERVICES, Client
from svcnet.dns.index import RecordIndex
from svcnet.dns.metrics import DNSMetrics
from svcnet.dns.server import DNSServer, Options
from svcnet.dns.watch import IndexSync
from tests.unit.dns.helpers import FakeUpstream, LoopThread

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
Z = "cluster.local"


# -- processes ------------------------------------------------------------------------------------


class ApiServer:
    """One `svcnet apiserver` subprocess (memory store), stopped by PID."""

    def __init__(self, data_dir: Path) -> None:
        self.data_dir = data_dir
        self.proc: subprocess.Popen[bytes] | None = None
        self.log = data_dir.parent / "apiserver.log"

    @property
    def socket(self) -> Path:
        return self.data_dir / "api.sock"

    def start(self, timeout: float = 20.0) -> None:
        argv = [sys.executable, "-m", "svcnet.cli", "apiserver", "--data-dir", str(self.data_dir)]
        argv += ["--listen", "127.0.0.1:0", "--store", "memory"]
        with open(self.log, "ab") as log:
            self.proc = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, cwd=ROOT)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"apiserver exited:\n{self.log.read_text()[-3000:]}")
            if self.socket.exists() and (self.data_dir / "kubeconfig").exists():
                return
            time.sleep(0.05)
        raise RuntimeError(f"apiserver did not start:\n{self.log.read_text()[-3000:]}")

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                os.kill(self.proc.pid, signal.SIGKILL)
                self.proc.wait(5)
        self.proc = None


@dataclass
class Cluster:
    api: ApiServer
    lt: LoopThread
    client: Client
    index: RecordIndex
    sync: IndexSync
    server: DNSServer
    upstream: FakeUpstream

    @property
    def port(self) -> int:
        return self.server.address[1]

    def api_call(self, coro: Any) -> Any:
        return self.lt.run(coro)

    def create(self, resource: Any, body: dict[str, Any], ns: str = "default") -> dict[str, Any]:
        return self.lt.run(self.client.create(resource, body, ns))


UPSTREAM = {
    "example.com.": ["example.com. 300 IN A 192.0.2.1"],
    "www.example.com.": ["www.example.com. 120 IN A 192.0.2.53"],
}


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    base = tmp_path_factory.mktemp("dns")
    api = ApiServer(base / "data")
    api.start()
    lt = LoopThread()
    try:

        async def setup() -> Cluster:
            client = Client.from_unix_socket(api.socket)
            index = RecordIndex(Z)
            metrics = DNSMetrics("dns://test")
            sync = IndexSync(client, index, metrics)
            fake = FakeUpstream(UPSTREAM)
            await fake.start()
            opts = Options(listen="127.0.0.1:0", metrics="127.0.0.1:0", upstreams=[fake.address])
            server = DNSServer(index, opts, ready=lambda: sync.synced, metrics=metrics)
            await server.start()
            sync.start()
            assert await sync.wait_synced(15)
            await client.create(NAMESPACES, {"metadata": {"name": "other"}})
            return Cluster(api, lt, client, index, sync, server, fake)

        c = lt.run(setup(), timeout=30)
        try:
            yield c
        finally:

            async def teardown() -> None:
                await c.server.stop()
                await c.sync.stop()
                await c.upstream.stop()
                await c.client.close()

            lt.run(teardown(), timeout=30)
    finally:
        lt.close()
        api.stop()


# -- dig ----------------------------------------------------------------------------------------------


@dataclass
class Dig:
    status: str
    flags: set[str]
    answer: list[str]
    authority: list[str]
    additional: list[str]
    raw: str


def _norm(line: str) -> str:
    return " ".join(line.split())


def dig(port: int, *args: str) -> Dig:
    """Run the real dig against 127.0.0.1:port and parse its sections."""
    cmd = ["dig", "@127.0.0.1", "-p", str(port), "+tries=1", "+time=3", *args]
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=20).stdout
    m = re.search(r"status: (\w+)", out)
    f = re.search(r";; flags: ([a-z ]+);", out)
    sections: dict[str, list[str]] = {"ANSWER": [], "AUTHORITY": [], "ADDITIONAL": []}
    current = None
    for line in out.splitlines():
        h = re.match(r";; (\w+) SECTION:", line)
        if h:
            current = h.group(1)
            continue
        if not line.strip():
            current = None
        elif current in sections and not line.startswith(";"):
            sections[current].append(_norm(line))
    return Dig(
        m.group(1) if m else "",
        set(f.group(1).split()) if f else set(),
        sorted(sections["ANSWER"]),
        sorted(sections["AUTHORITY"]),
        sorted(sections["ADDITIONAL"]),
        out,
    )


def eventually(fn: Any, timeout: float = 5.0) -> Any:
    """Call ``fn`` until it returns a truthy value (the informer may lag the API write)."""
    deadline = time.monotonic() + timeout
    while True:
        v = fn()
        if v or time.monotonic() > deadline:
            return v
        time.sleep(0.02)


def service(name: str, ports: list[dict[str, Any]], **spec: Any) -> dict[str, Any]:
    return {"metadata": {"name": name}, "spec": {"ports": ports, "selector": {"app": name}, **spec}}


def endpointslice(
    name: str, svc: str, endpoints: list[dict[str, Any]], ports: list[dict[str, Any]]
) -> dict[str, Any]:
    return {
        "apiVersion": "discovery.k8s.io/v1",
        "kind": "EndpointSlice",
        "metadata": {"name": name, "labels": {"kubernetes.io/service-name": svc}},
        "addressType": "IPv4",
        "endpoints": endpoints,
        "ports": ports,
    }


def a_record(port: int, name: str, want: str) -> Dig | None:
    d = dig(port, name, "A")
    return d if any(line.endswith(f" A {want}") for line in d.answer) else None


# -- tests ------------------------------------------------------------------------------------------------


def test_clusterip_a_srv_ptr(cluster: Cluster) -> None:
    svc = cluster.create(
        SERVICES,
        service(
            "web", [{"name": "http", "port": 80}, {"name": "dns", "port": 53, "protocol": "UDP"}]
        ),
    )
    ip = svc["spec"]["clusterIP"]
    name = "web.default.svc.cluster.local."
    d = eventually(lambda: a_record(cluster.port, name, ip))
    assert d is not None, "service never answered"
    assert d.answer == [f"{name} 5 IN A {ip}"]
    assert d.status == "NOERROR" and "aa" in d.flags
    srv = dig(cluster.port, "SRV", f"_http._tcp.{name}")
    assert srv.answer == [f"_http._tcp.{name} 5 IN SRV 0 100 80 {name}"]
    assert f"{name} 5 IN A {ip}" in srv.additional
    udp = dig(cluster.port, "SRV", f"_dns._udp.{name}")
    assert udp.answer == [f"_dns._udp.{name} 5 IN SRV 0 100 53 {name}"]
    ptr = dig(cluster.port, "-x", ip)
    rev = ".".join(reversed(ip.split("."))) + ".in-addr.arpa."
    assert ptr.answer == [f"{rev} 5 IN PTR {name}"]
    # NODATA: the name exists without AAAA; NXDOMAIN: the name does not exist.
    nodata = dig(cluster.port, "AAAA", name)
    assert nodata.status == "NOERROR" and nodata.answer == []
    assert nodata.authority[0].startswith("cluster.local. 5 IN SOA ns.dns.cluster.local.")
    nx = dig(cluster.port, "A", "nope.default.svc.cluster.local.")
    assert nx.status == "NXDOMAIN" and nx.answer == [] and "aa" in nx.flags
    assert dig(cluster.port, "TXT", "dns-version.cluster.local.").answer == [
        'dns-version.cluster.local. 5 IN TXT "1.1.0"'
    ]
    tcp = dig(cluster.port, "+tcp", name)
    assert tcp.answer == [f"{name} 5 IN A {ip}"]


def test_other_namespace_needs_its_namespace(cluster: Cluster) -> None:
    svc = cluster.create(SERVICES, service("api", [{"port": 8080}]), ns="other")
    ip = svc["spec"]["clusterIP"]
    assert eventually(lambda: a_record(cluster.port, "api.other.svc.cluster.local.", ip))
    assert dig(cluster.port, "api.default.svc.cluster.local.").status == "NXDOMAIN"


def test_headless_endpoints_hostnames_and_updates(cluster: Cluster) -> None:
    cluster.create(SERVICES, service("db", [{"name": "pg", "port": 5432}], clusterIP="None"))
    eps = [
        {"addresses": ["10.244.1.10"], "conditions": {"ready": True}, "hostname": "db-0"},
        {"addresses": ["10.244.1.11"], "conditions": {"ready": True}, "hostname": "db-1"},
        {"addresses": ["10.244.2.12"], "conditions": {"ready": False}, "hostname": "db-2"},
    ]
    ports = [{"name": "pg", "protocol": "TCP", "port": 5432}]
    sl = cluster.create(ENDPOINTSLICES, endpointslice("db-abc", "db", eps, ports))
    name = "db.default.svc.cluster.local."
    d = eventually(lambda: (r := dig(cluster.port, name)).answer and len(r.answer) == 2 and r)
    assert d and d.answer == [f"{name} 5 IN A 10.244.1.10", f"{name} 5 IN A 10.244.1.11"]
    assert dig(cluster.port, f"db-0.{name}").answer == [f"db-0.{name} 5 IN A 10.244.1.10"]
    assert dig(cluster.port, f"db-2.{name}").status == "NXDOMAIN"  # not ready
    srv = dig(cluster.port, "SRV", f"_pg._tcp.{name}")
    assert srv.answer == [
        f"_pg._tcp.{name} 5 IN SRV 0 50 5432 db-0.{name}",
        f"_pg._tcp.{name} 5 IN SRV 0 50 5432 db-1.{name}",
    ]
    assert srv.additional == [f"db-0.{name} 5 IN A 10.244.1.10", f"db-1.{name} 5 IN A 10.244.1.11"]
    assert dig(cluster.port, "-x", "10.244.1.11").answer == [
        f"11.1.244.10.in-addr.arpa. 5 IN PTR db-1.{name}"
    ]
    # db-2 turns ready: a fourth A record within moments of the API write.
    sl["endpoints"][2]["conditions"]["ready"] = True
    cluster.api_call(cluster.client.update(ENDPOINTSLICES, sl))
    d = eventually(lambda: len((r := dig(cluster.port, name)).answer) == 3 and r)
    assert d and f"{name} 5 IN A 10.244.2.12" in d.answer
    # Every endpoint gone: NXDOMAIN (spec 2.4.1).
    cluster.api_call(cluster.client.delete(ENDPOINTSLICES, "db-abc", "default"))
    assert eventually(lambda: dig(cluster.port, name).status == "NXDOMAIN")


def test_headless_300_endpoints_truncated_over_udp_full_over_tcp(cluster: Cluster) -> None:
    cluster.create(SERVICES, service("big", [{"name": "http", "port": 80}], clusterIP="None"))
    eps = [
        {"addresses": [f"10.245.{i // 250}.{i % 250 + 1}"], "conditions": {"ready": True}}
        for i in range(300)
    ]
    cluster.create(
        ENDPOINTSLICES,
        endpointslice("big-a", "big", eps, [{"name": "http", "protocol": "TCP", "port": 80}]),
    )
    name = "big.default.svc.cluster.local."
    assert eventually(lambda: len(dig(cluster.port, "+tcp", name).answer) == 300)
    udp = dig(cluster.port, "+ignore", "+notcp", name)  # take the UDP reply as it is
    assert "tc" in udp.flags and 0 < len(udp.answer) < 300
    auto = dig(cluster.port, name)  # dig retries over TCP on TC by itself
    assert "Truncated, retrying in TCP mode" in auto.raw and len(auto.answer) == 300
    tcp = dig(cluster.port, "+tcp", name)
    assert "tc" not in tcp.flags and len(tcp.answer) == 300


def test_externalname_cname_and_target(cluster: Cluster) -> None:
    cluster.create(
        SERVICES,
        {
            "metadata": {"name": "ext"},
            "spec": {"type": "ExternalName", "externalName": "www.example.com"},
        },
    )
    name = "ext.default.svc.cluster.local."
    d = eventually(lambda: (r := dig(cluster.port, name)).answer and r)
    assert d and d.answer == sorted(
        [f"{name} 5 IN CNAME www.example.com.", "www.example.com. 120 IN A 192.0.2.53"]
    )
    assert dig(cluster.port, "CNAME", name).answer == [f"{name} 5 IN CNAME www.example.com."]


def test_forwarding_to_the_upstream(cluster: Cluster) -> None:
    d = dig(cluster.port, "example.com")
    assert (
        d.answer == ["example.com. 300 IN A 192.0.2.1"] and "ra" in d.flags and "aa" not in d.flags
    )
    assert dig(cluster.port, "+tcp", "example.com").answer == ["example.com. 300 IN A 192.0.2.1"]
    assert dig(cluster.port, "nothing.example").status == "NXDOMAIN"
    assert ("example.com.", "A", "udp") in cluster.upstream.queries


def test_service_deleted(cluster: Cluster) -> None:
    svc = cluster.create(SERVICES, service("gone", [{"port": 80}]))
    name = "gone.default.svc.cluster.local."
    assert eventually(lambda: a_record(cluster.port, name, svc["spec"]["clusterIP"]))
    cluster.api_call(cluster.client.delete(SERVICES, "gone", "default"))
    assert eventually(lambda: dig(cluster.port, name).status == "NXDOMAIN")


def _ask_until(port: int, name: str, want_ip: str, timeout: float = 5.0) -> float:
    """Query over UDP as fast as possible until the answer holds ``want_ip``;
    return the perf_counter time of the first correct answer."""
    q = DNSRecord.question(name, "A")
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.settimeout(1)
        deadline = time.perf_counter() + timeout
        while time.perf_counter() < deadline:
            s.sendto(q.pack(), ("127.0.0.1", port))
            reply = DNSRecord.parse(s.recvfrom(65535)[0])
            if any(str(rr.rdata) == want_ip for rr in reply.rr):
                return time.perf_counter()
    raise AssertionError(f"{name} never answered {want_ip}")


def test_new_services_are_answered_and_latency_reported(
    cluster: Cluster, record_property: Any
) -> None:
    """Issue 6 item 3: a new Service is answered after its informer event; the
    latency (target 100 ms) is reported here and belongs in bench/dns.py.

    In-process: from the moment the informer handler updated the index to the
    first correct answer over UDP. End to end: from the API write (create
    call) to that answer; reported, not asserted (it includes the API server).
    """
    events: dict[str, float] = {}

    def on_event(kind: str, event: str, view: Any) -> None:
        if kind == "service" and event == "add":
            events.setdefault(view.name, time.perf_counter())

    cluster.sync.listeners.append(on_event)
    figures = []
    try:
        for i in range(5):
            name = f"fast{i}"
            t_write = time.perf_counter()
            svc = cluster.create(SERVICES, service(name, [{"port": 80}]))
            t_answer = _ask_until(
                cluster.port, f"{name}.default.svc.cluster.local.", svc["spec"]["clusterIP"]
            )
            # Timing is a benchmark figure (reported below), never a timed
            # assert: the test checks that each new Service gets answered.
            figures.append((t_answer - events[name], t_answer - t_write))
    finally:
        cluster.sync.listeners.remove(on_event)
    worst_event = max(f[0] for f in figures) * 1000
    worst_e2e = max(f[1] for f in figures) * 1000
    record_property("dns_after_informer_event_ms_max", round(worst_event, 2))
    record_property("dns_after_api_write_ms_max", round(worst_e2e, 2))
    print(
        f"\nDNS programming latency over 5 Services: after informer event max {worst_event:.2f} ms;"
        f" after API write (end to end) max {worst_e2e:.2f} ms"
    )


def test_metrics_and_ready(cluster: Cluster) -> None:
    http = f"http://127.0.0.1:{cluster.server.http_address[1]}"
    with urllib.request.urlopen(f"{http}/ready", timeout=3) as r:
        assert r.status == 200
    with urllib.request.urlopen(f"{http}/metrics", timeout=3) as r:
        text = r.read().decode()
    assert 'coredns_dns_requests_total{server="dns://test",zone="cluster.local."' in text
    assert 'coredns_forward_requests_total{to="127.0.0.1:' in text
    assert "svcnet_dns_index_services" in text


# -- serve() as a process --------------------------------------------------------------------------------

SERVE = """
import sys
from svcnet.cli import run_async
from svcnet.dns.server import Options, serve
from svcnet.util.log import setup_logging
setup_logging("dns", "info", "logfmt")
run_async(serve(Options(listen=sys.argv[1], metrics=sys.argv[2], socket=sys.argv[3], upstreams=[sys.argv[4]])))
"""


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as u, socket.socket() as t:
        u.bind(("127.0.0.1", 0))
        port = u.getsockname()[1]
        t.bind(("127.0.0.1", port))  # free for TCP too
        return port


def test_serve_process(cluster: Cluster, tmp_path: Path) -> None:
    """`serve(options)` -- what `svcnet dns` runs -- against the same API server."""
    dns_port, http_port = _free_port(), _free_port()
    log = tmp_path / "dns.log"
    argv = [sys.executable, "-c", SERVE, f"127.0.0.1:{dns_port}", f"127.0.0.1:{http_port}"]
    argv += [str(cluster.api.socket), cluster.upstream.address]
    with open(log, "wb") as out:
        proc = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT, cwd=ROOT)
    try:

        def ready() -> bool:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{http_port}/ready", timeout=1) as r:
                    return r.status == 200
            except (urllib.error.URLError, ConnectionError):
                return False

        assert eventually(ready, timeout=15), log.read_text()
        d = dig(dns_port, "web.default.svc.cluster.local.")
        assert d.status == "NOERROR" and len(d.answer) == 1
        assert dig(dns_port, "example.com").answer == ["example.com. 300 IN A 192.0.2.1"]
        os.kill(proc.pid, signal.SIGTERM)
        assert proc.wait(10) == 0
        assert "dns informers synced" in log.read_text()
    finally:
        if proc.poll() is None:
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait(5)
