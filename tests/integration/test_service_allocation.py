"""Acceptance (issue 3): ClusterIP and NodePort allocation by a real `svcnet apiserver`.

Clients speak raw HTTP over the API server's trusted unix socket
(``<data-dir>/api.sock``, aiohttp, no svcnet client code), so what is checked
is the server alone. Upstream kube-apiserver is the spec:

* ``pkg/registry/core/service/ipallocator`` (KEP-3070): dynamic ClusterIPs
  come from the upper band first; the static band of a service CIDR of
  ``n`` addresses is ``min(max(16, n/16), 256)`` addresses after the
  network address (10.96.0.1 .. 10.96.1.0 for 10.96.0.0/16), and the first
  address is Service default/kubernetes.
* ``pkg/registry/core/service/portallocator`` (KEP-3668): the static band
  of a node port range of ``n`` ports is ``min(max(16, n/32), 128)``
  (30000-30085 for 30000-32767).
* ``pkg/registry/core/service/storage/alloc.go``: static requests that
  cannot be honoured are 422 ``spec.clusterIPs: Invalid value: ...:
  failed to allocate IP <ip>: provided IP is already allocated`` and
  ``spec.ports[i].nodePort: Invalid value: <port>: provided port is already
  allocated``; a full range is a 500 ``failed to allocate a serviceIP:
  range is full`` / ``failed to allocate a nodePort: range is full``;
  ``initIPFamilyFields`` rejects dual-stack requests the cluster cannot
  serve ("this cluster is not configured for dual-stack services",
  "not configured on this cluster", "must be 'RequireDualStack' or
  'PreferDualStack' when multiple IP families are specified").
* ``pkg/apis/core/validation.ValidateServiceClusterIPsRelatedFields``:
  ``spec.ipFamilies[i]: Duplicate value``.
* ``pkg/registry/core/service/ipallocator/controller/repair.go``: values
  held by no stored Service are freed by the repair loop after
  ``numRepairsBeforeLeakCleanup`` (3) passes; values held by stored
  Services are never handed out again, also after a restart.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import json
import os
import signal
import socket
import sqlite3
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from tests.integration.conftest import Server

pytestmark = pytest.mark.integration

V4_RANGE = ipaddress.ip_network("10.96.0.0/16")
V6_RANGE = ipaddress.ip_network("fd00:10:96::/112")
NODE_PORTS = range(30000, 32768)
# KEP-3070 / KEP-3668 static bands of the default ranges.
V4_DYNAMIC_FROM = ipaddress.ip_address("10.96.1.1")  # 10.96.0.1 + 256
NODE_PORT_DYNAMIC_FROM = 30086  # 30000 + min(max(16, 2768 // 32), 128)
Obj = dict[str, Any]


# ------------------------------------------------------------------ helpers
class UnixApi:
    """Raw JSON requests to an API server over its trusted unix socket."""

    def __init__(self, socket: Path, limit: int = 100) -> None:
        self._session = aiohttp.ClientSession(
            connector=aiohttp.UnixConnector(path=str(socket), limit=limit),
            timeout=aiohttp.ClientTimeout(total=60),
        )

    async def __aenter__(self) -> UnixApi:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self._session.close()

    async def call(
        self,
        method: str,
        path: str,
        body: Any = None,
        content_type: str = "application/json",
    ) -> tuple[int, Obj]:
        data = None if body is None else json.dumps(body)
        headers = {"Content-Type": content_type, "Accept": "application/json"}
        async with self._session.request(
            method, f"http://localhost{path}", data=data, headers=headers
        ) as resp:
            text = await resp.text()
            return resp.status, (json.loads(text) if text else {})

    async def create_service(self, svc: Obj, namespace: str = "default") -> tuple[int, Obj]:
        return await self.call("POST", f"/api/v1/namespaces/{namespace}/services", svc)

    async def services(self) -> list[Obj]:
        status, body = await self.call("GET", "/api/v1/services")
        assert status == 200, body
        return body["items"]


def service(name: str, type_: str = "NodePort", ports: list[Obj] | None = None, **spec: Any) -> Obj:
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": name},
        "spec": {
            "type": type_,
            "selector": {"app": name},
            "ports": ports or [{"port": 80, "targetPort": 8080}],
            **spec,
        },
    }


def node_ports(svc: Obj) -> list[int]:
    return [p["nodePort"] for p in svc["spec"]["ports"] if p.get("nodePort")]


def assert_no_sharing(services: list[Obj]) -> None:
    """No ClusterIP and no NodePort is held by two Services."""
    ips: dict[str, str] = {}
    ports: dict[int, str] = {}
    for s in services:
        name = s["metadata"]["name"]
        for ip in s["spec"].get("clusterIPs") or []:
            assert ip not in ips, f"{ip} held by {ips[ip]} and {name}"
            ips[ip] = name
        for p in node_ports(s):
            assert p not in ports, f"nodePort {p} held by {ports[p]} and {name}"
            ports[p] = name


def causes(status: Obj) -> list[tuple[str, str]]:
    return [(c.get("field", ""), c.get("message", "")) for c in status["details"]["causes"]]


@contextlib.contextmanager
def running(server: Server) -> Iterator[Server]:
    server.start()
    try:
        yield server
    finally:
        server.stop()


def apiserver(tmp_path: Path, name: str, store: str, *args: str) -> Server:
    return Server(tmp_path / name, store=store, extra_args=list(args))


async def eventually_created(api: UnixApi, svc: Obj, timeout: float) -> tuple[int, Obj, int]:
    """Retry a create until it is answered 201 (or the deadline passes);
    returns the last answer and how many 422 answers came before."""
    deadline = time.monotonic() + timeout
    refused = 0
    while True:
        status, body = await api.create_service(svc)
        if status == 201 or time.monotonic() > deadline:
            return status, body, refused
        assert status == 422, body
        refused += 1
        await asyncio.sleep(0.2)


# -------------------------------------------------------------------- tests
def test_unix_socket_accepts_a_burst_of_200_connections(tmp_path: Path) -> None:
    """200 clients connecting at the same moment are all accepted, as by
    kube-apiserver (Go listeners use the kernel's somaxconn backlog, 4096
    here) and by svcnet's own HTTPS listener (backlog 1024). Node agents and
    the controller-manager all connect over this socket.

    Deterministic: the server is paused (SIGSTOP, by PID) while the clients
    connect, so every connection waits in the listen backlog; a non-blocking
    connect to a unix socket whose backlog is full fails with EAGAIN."""
    with running(apiserver(tmp_path, "burst", "memory")) as srv:
        assert srv.proc is not None
        path = str(srv.data_dir / "api.sock")
        conns: list[socket.socket] = []
        refused = 0
        os.kill(srv.proc.pid, signal.SIGSTOP)
        try:
            for _ in range(200):
                s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
                s.setblocking(False)
                try:
                    s.connect(path)
                    conns.append(s)
                except BlockingIOError:
                    refused += 1
                    s.close()
        finally:
            os.kill(srv.proc.pid, signal.SIGCONT)
        answered = 0
        try:
            for s in conns:
                s.settimeout(10)
                s.sendall(b"GET /healthz HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
                answered += s.recv(64).startswith(b"HTTP/1.1 200")
        finally:
            for s in conns:
                s.close()
        assert (refused, answered) == (0, 200), f"{refused} of 200 connects refused (EAGAIN)"


async def test_200_concurrent_creates_never_share_an_ip_or_node_port(tmp_path: Path) -> None:
    """200 NodePort Services created at once over the unix socket (sqlite):
    unique ClusterIPs and NodePorts, all in range, all from the upper bands;
    static requests are honoured in the lower band and refused when taken."""
    with running(apiserver(tmp_path, "conc", "sqlite")) as srv:
        async with UnixApi(srv.data_dir / "api.sock") as api:
            answers = await asyncio.gather(
                *(api.create_service(service(f"svc-{i:03d}")) for i in range(200))
            )
            bad = [(s, b.get("message")) for s, b in answers if s != 201]
            assert not bad, bad[:5]
            created = [b for _, b in answers]
            for s in created:
                spec = s["spec"]
                ip = ipaddress.ip_address(spec["clusterIP"])
                assert spec["clusterIPs"] == [spec["clusterIP"]]
                assert spec["ipFamilies"] == ["IPv4"]
                assert spec["ipFamilyPolicy"] == "SingleStack"
                assert ip in V4_RANGE and ip >= V4_DYNAMIC_FROM, ip
                (port,) = node_ports(s)
                assert port in NODE_PORTS and port >= NODE_PORT_DYNAMIC_FROM, port
            stored = await api.services()
            assert len(stored) == 201  # + default/kubernetes
            kubernetes = next(s for s in stored if s["metadata"]["name"] == "kubernetes")
            assert kubernetes["spec"]["clusterIP"] == "10.96.0.1"
            assert_no_sharing(stored)
            by_name = {s["metadata"]["name"]: s["spec"] for s in stored}
            for s in created:
                assert by_name[s["metadata"]["name"]] == s["spec"]

            # Static requests in the lower bands: honoured, then refused.
            status, body = await api.create_service(
                service("static-a", clusterIP="10.96.0.50", ports=[{"port": 80, "nodePort": 30050}])
            )
            assert status == 201, body
            assert body["spec"]["clusterIPs"] == ["10.96.0.50"]
            assert node_ports(body) == [30050]
            status, ip_taken = await api.create_service(service("static-b", clusterIP="10.96.0.50"))
            assert status == 422, ip_taken
            assert ip_taken["reason"] == "Invalid"
            assert [f for f, _ in causes(ip_taken)] == ["spec.clusterIPs"], ip_taken
            assert (
                "failed to allocate IP 10.96.0.50: provided IP is already allocated"
                in (ip_taken["message"])
            )
            status, body = await api.create_service(
                service("static-c", ports=[{"port": 80, "nodePort": 30050}])
            )
            assert status == 422, body
            assert causes(body) == [
                (
                    "spec.ports[0].nodePort",
                    "Invalid value: 30050: provided port is already allocated",
                )
            ], body
            taken = created[0]
            status, body = await api.create_service(
                service("static-d", clusterIP=taken["spec"]["clusterIP"])
            )
            assert status == 422, body
            assert "provided IP is already allocated" in body["message"], body
            # Nothing leaked by the refused creates: the values are free again
            # once their holders are gone.
            status, _ = await api.call("DELETE", "/api/v1/namespaces/default/services/static-a")
            assert status == 200
            status, body = await api.create_service(
                service("static-e", clusterIP="10.96.0.50", ports=[{"port": 80, "nodePort": 30050}])
            )
            assert status == 201, body

            # Upstream's exact text: the bad value is a []string printed with %#v.
            assert causes(ip_taken) == [
                (
                    "spec.clusterIPs",
                    'Invalid value: []string{"10.96.0.50"}: failed to allocate IP 10.96.0.50: '
                    "provided IP is already allocated",
                )
            ], ip_taken


async def test_dynamic_allocation_fills_the_upper_band_first_then_the_lower(
    tmp_path: Path,
) -> None:
    """Small ranges: 10.97.0.0/27 has 30 usable addresses, static band 16
    (10.97.0.1-10.97.0.16, .1 is kubernetes), dynamic band .17-.30; node
    ports 30000-30019 have static band 16 (30000-30015), dynamic 30016-30019.
    Dynamic allocation uses the upper band until it is full, then the lower
    band, then answers 500 range is full."""
    net = ipaddress.ip_network("10.97.0.0/27")
    upper_ip = ipaddress.ip_address("10.97.0.17")
    srv = apiserver(
        tmp_path,
        "bands",
        "memory",
        "--service-cluster-ip-range",
        str(net),
        "--service-node-port-range",
        "30000-30019",
    )
    with running(srv):
        async with UnixApi(srv.data_dir / "api.sock") as api:
            ips: list[ipaddress.IPv4Address] = []
            ports: list[int] = []
            for i in range(20):  # one at a time: the order is what is checked
                status, body = await api.create_service(service(f"np-{i:02d}"))
                assert status == 201, body
                ips.append(ipaddress.ip_address(body["spec"]["clusterIP"]))
                ports += node_ports(body)
            assert all(p >= 30016 for p in ports[:4]), ports
            assert all(30000 <= p < 30016 for p in ports[4:]), ports
            assert sorted(ports) == list(range(30000, 30020))
            assert all(ip >= upper_ip for ip in ips[:14]), ips
            assert all(ip < upper_ip for ip in ips[14:]), ips

            status, body = await api.create_service(service("np-full"))
            assert status == 500, body
            assert body["reason"] == "InternalError", body
            assert "failed to allocate a nodePort: range is full" in body["message"], body

            for i in range(9):  # 30 usable - kubernetes - 20
                status, body = await api.create_service(service(f"cip-{i}", type_="ClusterIP"))
                assert status == 201, body
                ips.append(ipaddress.ip_address(body["spec"]["clusterIP"]))
            status, body = await api.create_service(service("cip-full", type_="ClusterIP"))
            assert status == 500, body
            assert "failed to allocate a serviceIP: range is full" in body["message"], body
            everything = [*ips, ipaddress.ip_address("10.97.0.1")]
            assert sorted(everything) == list(net.hosts())
            assert_no_sharing(await api.services())


async def test_restart_keeps_allocations_and_repair_frees_leaks(tmp_path: Path) -> None:
    """Small ranges make reuse likely if the server forgot: 50 Services
    before a restart and 50 after never share an IP or port; a Service
    deleted from the store while the server is down keeps its values until
    the repair loop has seen them leaked, then they can be requested again."""
    args = (
        "--service-cluster-ip-range",
        "10.96.0.0/24",
        "--service-node-port-range",
        "30000-30199",
    )
    srv = apiserver(tmp_path, "restart", "sqlite", *args)
    with running(srv):
        async with UnixApi(srv.data_dir / "api.sock") as api:
            for status, body in await asyncio.gather(
                *(api.create_service(service(f"before-{i:02d}")) for i in range(50))
            ):
                assert status == 201, body
    with running(srv):
        async with UnixApi(srv.data_dir / "api.sock") as api:
            answers = await asyncio.gather(
                *(api.create_service(service(f"after-{i:02d}")) for i in range(50))
            )
            assert all(s == 201 for s, _ in answers), [b for s, b in answers if s != 201][:3]
            stored = await api.services()
            assert len(stored) == 101
            assert_no_sharing(stored)
            victim = next(s for s in stored if s["metadata"]["name"] == "before-07")
    victim_ip = victim["spec"]["clusterIP"]
    (victim_port,) = node_ports(victim)

    # Delete the Service behind the server's back.
    db = sqlite3.connect(srv.data_dir / "store.db")
    try:
        with db:
            cur = db.execute(
                "DELETE FROM objects WHERE resource = 'services' AND namespace = 'default' "
                "AND name = 'before-07'"
            )
            assert cur.rowcount == 1
    finally:
        db.close()
    claim = service("claim", clusterIP=victim_ip, ports=[{"port": 80, "nodePort": victim_port}])

    # Default repair interval (60 s): the leaked values stay allocated.
    with running(srv):
        async with UnixApi(srv.data_dir / "api.sock") as api:
            status, body = await api.create_service(claim)
            assert status == 422, body
            assert (
                f"failed to allocate IP {victim_ip}: provided IP is already allocated"
                in (body["message"])
            ), body

    # Repair every 0.3 s: after a few passes the leak is freed.
    srv.extra_args = [*args, "--allocation-repair-interval", "0.3"]
    with running(srv):
        async with UnixApi(srv.data_dir / "api.sock") as api:
            status, body, _refused = await eventually_created(api, claim, timeout=10.0)
            assert status == 201, (body, srv.log())
            assert body["spec"]["clusterIPs"] == [victim_ip]
            assert node_ports(body) == [victim_port]
            stored = await api.services()
            assert len(stored) == 101
            assert_no_sharing(stored)
            # A value held by a stored Service is never freed by the repair.
            held = next(s for s in stored if s["metadata"]["name"] == "after-03")
            await asyncio.sleep(1.5)  # five repair passes
            status, body = await api.create_service(
                service("steal", clusterIP=held["spec"]["clusterIP"])
            )
            assert status == 422, body
            assert "provided IP is already allocated" in body["message"], body


# -------------------------------------------------------------- dual-stack
DUAL_CASES: list[tuple[str, Obj, list[str]]] = [
    # (name, spec fields, expected ipFamilies); upstream alloc.go initIPFamilyFields
    ("require", {"ipFamilyPolicy": "RequireDualStack"}, ["IPv4", "IPv6"]),
    ("prefer", {"ipFamilyPolicy": "PreferDualStack"}, ["IPv4", "IPv6"]),
    ("default", {}, ["IPv4"]),
    ("single", {"ipFamilyPolicy": "SingleStack"}, ["IPv4"]),
    ("single-v6", {"ipFamilyPolicy": "SingleStack", "ipFamilies": ["IPv6"]}, ["IPv6"]),
    (
        "require-v6-first",
        {"ipFamilyPolicy": "RequireDualStack", "ipFamilies": ["IPv6"]},
        ["IPv6", "IPv4"],
    ),
    (
        "prefer-static",
        {
            "ipFamilyPolicy": "PreferDualStack",
            "clusterIP": "10.96.0.77",
            "clusterIPs": ["10.96.0.77", "fd00:10:96::77"],
        },
        ["IPv4", "IPv6"],
    ),
]

DUAL_INVALID: list[tuple[str, Obj, str]] = [
    (
        "single-two-families",
        {"ipFamilyPolicy": "SingleStack", "ipFamilies": ["IPv4", "IPv6"]},
        "spec.ipFamilyPolicy: Invalid value: \"SingleStack\": must be 'RequireDualStack' or "
        "'PreferDualStack' when multiple IP families are specified",
    ),
    (
        "dup-family",
        {"ipFamilyPolicy": "PreferDualStack", "ipFamilies": ["IPv4", "IPv4"]},
        'spec.ipFamilies[1]: Duplicate value: "IPv4"',
    ),
]


async def test_dual_stack_families_and_policies(tmp_path: Path) -> None:
    dual = apiserver(
        tmp_path, "dual", "memory", "--service-cluster-ip-range", f"{V4_RANGE},{V6_RANGE}"
    )
    with running(dual):
        async with UnixApi(dual.data_dir / "api.sock") as api:
            for name, fields, families in DUAL_CASES:
                status, body = await api.create_service(service(name, type_="ClusterIP", **fields))
                assert status == 201, (name, body)
                spec = body["spec"]
                assert spec["ipFamilies"] == families, (name, spec)
                assert spec["ipFamilyPolicy"] == fields.get("ipFamilyPolicy", "SingleStack")
                assert len(spec["clusterIPs"]) == len(families), (name, spec)
                assert spec["clusterIP"] == spec["clusterIPs"][0]
                for ip, fam in zip(spec["clusterIPs"], families, strict=True):
                    addr = ipaddress.ip_address(ip)
                    assert addr in (V4_RANGE if fam == "IPv4" else V6_RANGE), (name, ip)
                if "clusterIPs" in fields:
                    assert spec["clusterIPs"] == fields["clusterIPs"]
            for name, fields, message in DUAL_INVALID:
                status, body = await api.create_service(service(name, type_="ClusterIP", **fields))
                assert status == 422, (name, body)
                assert body["reason"] == "Invalid"
                assert body["message"] == f'Service "{name}" is invalid: {message}', body
            assert_no_sharing(await api.services())

    single = apiserver(tmp_path, "single", "memory", "--service-cluster-ip-range", str(V4_RANGE))
    with running(single):
        async with UnixApi(single.data_dir / "api.sock") as api:
            status, body = await api.create_service(
                service("require", type_="ClusterIP", ipFamilyPolicy="RequireDualStack")
            )
            assert status == 422, body
            assert body["message"] == (
                'Service "require" is invalid: spec.ipFamilyPolicy: Invalid value: '
                '"RequireDualStack": this cluster is not configured for dual-stack services'
            ), body
            assert body["details"]["causes"][0]["reason"] == "FieldValueInvalid"
            status, body = await api.create_service(
                service("v6", type_="ClusterIP", ipFamilies=["IPv6"])
            )
            assert status == 422, body
            assert body["message"] == (
                'Service "v6" is invalid: spec.ipFamilies[0]: Invalid value: "IPv6": '
                "not configured on this cluster"
            ), body
            # PreferDualStack on a single-stack cluster: one IP of the primary family.
            status, body = await api.create_service(
                service("prefer", type_="ClusterIP", ipFamilyPolicy="PreferDualStack")
            )
            assert status == 201, body
            assert body["spec"]["ipFamilies"] == ["IPv4"]
            assert body["spec"]["ipFamilyPolicy"] == "PreferDualStack"
            assert len(body["spec"]["clusterIPs"]) == 1
