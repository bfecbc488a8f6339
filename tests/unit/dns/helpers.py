"""Shared fixtures of the DNS unit tests: a small cluster and a threaded server.

Address conventions: ClusterIPs in 10.96.0.0/16 and fd00:10:96::/112,
endpoints in 10.244.0.0/16 and fd00:10:244::/64, all data only. Servers bind
127.0.0.1 port 0; fake upstream resolvers also live on 127.0.0.1 port 0.
Nothing here sends a packet anywhere else.
"""

from __future__ import annotations

import asyncio
import re
import socket
import struct
import threading
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future
from contextlib import contextmanager
from typing import Any

from dnslib import QTYPE, RR, DNSRecord

from svcnet.dns.answer import Answer, normalise_zone, zone_lines
from svcnet.dns.index import RecordIndex
from svcnet.dns.server import DNSServer, Options
from svcnet.dns.views import EndpointSliceView, EndpointView, PortView, ServiceView

ZONE = "cluster.local"
_SOA_SERIAL = re.compile(r"(IN SOA \S+ \S+ )\d+")


def port(name: str, proto: str, number: int) -> PortView:
    return PortView(name, proto, number)


def svc(
    name: str,
    ips: Iterable[str] = ("10.96.0.20",),
    ports: Iterable[PortView] = (PortView("http", "TCP", 80),),
    ns: str = "default",
    **kw: Any,
) -> ServiceView:
    return ServiceView(ns, name, cluster_ips=tuple(ips), ports=tuple(ports), **kw)


def headless(
    name: str, ports: Iterable[PortView] = (), ns: str = "default", **kw: Any
) -> ServiceView:
    return ServiceView(ns, name, headless=True, ports=tuple(ports), **kw)


def ep(*addresses: str, ready: bool = True, hostname: str = "") -> EndpointView:
    return EndpointView(tuple(addresses), ready=ready, hostname=hostname)


def eps(
    name: str,
    service: str,
    endpoints: Iterable[EndpointView],
    ports: Iterable[PortView] = (),
    ns: str = "default",
    address_type: str = "IPv4",
) -> EndpointSliceView:
    return EndpointSliceView(ns, name, service, address_type, tuple(endpoints), tuple(ports))


def cluster(ttl: int = 5) -> RecordIndex:
    """The cluster every spec case is asked against."""
    idx = RecordIndex(ZONE, ttl)
    idx.set_service(svc("kubernetes", ["10.96.0.1"], [port("https", "TCP", 443)]))
    idx.set_service(
        svc(
            "web",
            ["10.96.0.20"],
            [port("http", "TCP", 80), port("dns", "UDP", 53), port("", "TCP", 8080)],
        )
    )
    idx.set_service(svc("dual", ["10.96.0.30", "fd00:10:96::30"], [port("http", "TCP", 80)]))
    idx.set_service(svc("v6", ["fd00:10:96::40"], [port("http", "TCP", 80)]))
    idx.set_service(svc("unnamed", ["10.96.0.50"], [port("", "TCP", 80)]))
    idx.set_service(svc("web", ["10.96.5.5"], [port("http", "TCP", 80)], ns="other"))
    idx.set_service(
        svc(
            "kube-dns",
            ["10.96.0.10"],
            [port("dns", "UDP", 53), port("dns-tcp", "TCP", 53)],
            ns="kube-system",
        )
    )
    # A ClusterIP Service's ready endpoints get names too (as in CoreDNS).
    idx.set_endpointslice(
        eps("web-1", "web", [ep("10.244.9.9", hostname="w0")], [port("http", "TCP", 8080)])
    )
    idx.set_service(headless("headless", [port("http", "TCP", 80)]))
    idx.set_endpointslice(
        eps(
            "headless-a",
            "headless",
            [
                ep("10.244.1.10", hostname="my-pet"),
                ep("10.244.1.11"),
                ep("10.244.2.12", ready=False),
                ep("10.244.1.13", hostname="twin"),
                ep("10.244.1.14", hostname="twin"),
            ],
            [port("http", "TCP", 8080)],
        )
    )
    idx.set_endpointslice(
        eps(
            "headless-b",
            "headless",
            [ep("fd00:10:244::10", hostname="my-pet")],
            [port("http", "TCP", 8080)],
            address_type="IPv6",
        )
    )
    idx.set_service(headless("pub", [port("http", "TCP", 80)], publish_not_ready=True))
    idx.set_endpointslice(
        eps(
            "pub-a",
            "pub",
            [ep("10.244.3.1", ready=False, hostname="p0")],
            [port("http", "TCP", 80)],
        )
    )
    idx.set_service(headless("empty", [port("http", "TCP", 80)]))
    idx.set_service(headless("notready"))
    idx.set_endpointslice(eps("notready-a", "notready", [ep("10.244.4.1", ready=False)]))
    idx.set_service(
        ServiceView(
            "default",
            "ext",
            type="ExternalName",
            external_name="www.example.com",
            ports=(port("http", "TCP", 80),),
        )
    )
    idx.set_service(
        ServiceView(
            "default", "extin", type="ExternalName", external_name="web.default.svc.cluster.local"
        )
    )
    return idx


# -- comparing answers ----------------------------------------------------------------


def mask_serial(lines: Iterable[str]) -> list[str]:
    """Zone lines with SOA serials replaced by 0 (the serial counts changes)."""
    return sorted(_SOA_SERIAL.sub(r"\g<1>0", line) for line in lines)


def expect(text: str | Iterable[str]) -> list[str]:
    """Expected records written in zone-file syntax, normalised."""
    return mask_serial(normalise_zone(text))


def got(rrs: Iterable[RR]) -> list[str]:
    return mask_serial(zone_lines(rrs))


SOA = "cluster.local. 5 IN SOA ns.dns.cluster.local. hostmaster.cluster.local. 0 7200 1800 86400 5"


def sections(ans: Answer | DNSRecord) -> tuple[list[str], list[str], list[str]]:
    if isinstance(ans, Answer):
        return got(ans.answer), got(ans.authority), got(ans.additional)
    extra = [rr for rr in ans.ar if rr.rtype != QTYPE.OPT]
    return got(ans.rr), got(ans.auth), got(extra)


# -- talking to a server ------------------------------------------------------------------


def ask(
    port_: int,
    name: str,
    qtype: str = "A",
    tcp: bool = False,
    edns: int | None = 1232,
    timeout: float = 3.0,
) -> DNSRecord:
    """One query to 127.0.0.1:port (dnslib), parsed reply."""
    q = DNSRecord.question(name, qtype)
    if edns is not None:
        q.add_ar(RR(".", QTYPE.OPT, rclass=edns, ttl=0, rdata=[]))
    return DNSRecord.parse(exchange(port_, q.pack(), tcp, timeout))


def exchange(port_: int, data: bytes, tcp: bool = False, timeout: float = 3.0) -> bytes:
    if tcp:
        with socket.create_connection(("127.0.0.1", port_), timeout=timeout) as s:
            s.sendall(struct.pack("!H", len(data)) + data)
            size = struct.unpack("!H", _recv_exact(s, 2))[0]
            return _recv_exact(s, size)
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.settimeout(timeout)
        s.sendto(data, ("127.0.0.1", port_))
        while True:
            reply, _ = s.recvfrom(65535)
            if reply[:2] == data[:2]:
                return reply


def _recv_exact(s: socket.socket, n: int) -> bytes:
    buf = b""
    while len(buf) < n:
        chunk = s.recv(n - len(buf))
        if not chunk:
            raise ConnectionError("closed")
        buf += chunk
    return buf


class LoopThread:
    """An asyncio loop in a daemon thread, for driving servers from sync tests."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()

    def run(self, coro: Any, timeout: float = 10.0) -> Any:
        fut: Future[Any] = asyncio.run_coroutine_threadsafe(coro, self.loop)
        return fut.result(timeout)

    def call(self, fn: Callable[[], Any]) -> Any:
        async def _do() -> Any:
            return fn()

        return self.run(_do())

    def close(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(5)
        self.loop.close()


@contextmanager
def threaded_server(index: RecordIndex, **opts: Any) -> Iterator[tuple[DNSServer, LoopThread]]:
    """A `DNSServer` on 127.0.0.1 port 0 in its own loop thread."""
    ready = opts.pop("ready", None)
    lt = LoopThread()
    options = Options(listen="127.0.0.1:0", metrics=opts.pop("metrics", ""), **opts)
    server = DNSServer(index, options, ready=ready)
    try:
        lt.run(server.start())
        yield server, lt
    finally:
        lt.run(server.stop())
        lt.close()


class FakeUpstream:
    """A scripted resolver on 127.0.0.1 (UDP and TCP on one port).

    ``records`` maps lowercase names to zone lines; a name it does not know
    is NXDOMAIN with an SOA (negative TTL 60). ``mode`` scripts failures:
    "answer", "silent" (never replies), "servfail", "refused", "garbage"
    (replies noise, then nothing), "wrong-id" (replies with another ID).
    Over UDP a reply larger than the query's EDNS size (512 without) is
    sent truncated with TC set, as real servers do.
    """

    def __init__(self, records: dict[str, list[str]] | None = None, mode: str = "answer") -> None:
        self.records = {k.lower(): v for k, v in (records or {}).items()}
        self.mode = mode
        self.queries: list[tuple[str, str, str]] = []  # (name, type, transport)
        self.port = 0
        self._udp: Any = None
        self._tcp: Any = None

    def reply(self, data: bytes, tcp: bool) -> bytes | None:
        try:
            req = DNSRecord.parse(data)
        except Exception:  # dnslib cannot read non-UTF-8 labels: answer nothing
            return None
        name = str(req.q.qname).lower()
        self.queries.append((name, QTYPE[req.q.qtype], "tcp" if tcp else "udp"))
        if self.mode in ("silent",):
            return None
        if self.mode == "garbage":
            return b"\x00\x01garbage"
        rep = req.reply()
        rep.header.ra = 1
        if self.mode == "wrong-id":
            rep.header.id = (req.header.id + 1) & 0xFFFF
        if self.mode in ("servfail", "refused"):
            rep.header.rcode = 2 if self.mode == "servfail" else 5
            return rep.pack()
        lines = self.records.get(name)
        if lines is None:
            rep.header.rcode = 3
            rep.add_auth(*RR.fromZone("example. 60 IN SOA ns.example. h.example. 1 2 3 4 60"))
        else:
            for rr in RR.fromZone("\n".join(lines)):
                if rr.rtype == req.q.qtype:
                    rr.rname = req.q.qname
                    rep.add_answer(rr)
        out = rep.pack()
        if not tcp:
            size = max([512] + [rr.rclass for rr in req.ar if rr.rtype == QTYPE.OPT])
            if len(out) > size:
                rep.rr = []
                rep.header.tc = 1
                out = rep.pack()
        return out

    async def start(self) -> None:
        loop = asyncio.get_running_loop()
        fake = self

        class _P(asyncio.DatagramProtocol):
            def connection_made(self, t: Any) -> None:
                self.t = t

            def datagram_received(self, data: bytes, addr: Any) -> None:
                out = fake.reply(data, False)
                if out is not None:
                    self.t.sendto(out, addr)

        async def conn(r: asyncio.StreamReader, w: asyncio.StreamWriter) -> None:
            try:
                while True:
                    size = struct.unpack("!H", await r.readexactly(2))[0]
                    out = fake.reply(await r.readexactly(size), True)
                    if out is not None:
                        w.write(struct.pack("!H", len(out)) + out)
                        await w.drain()
            except (asyncio.IncompleteReadError, ConnectionError):
                pass
            finally:
                w.close()

        for _ in range(20):  # UDP and TCP on one port: retry when TCP's is taken
            self._udp, _ = await loop.create_datagram_endpoint(_P, local_addr=("127.0.0.1", 0))
            self.port = self._udp.get_extra_info("sockname")[1]
            try:
                self._tcp = await asyncio.start_server(conn, "127.0.0.1", self.port)
                return
            except OSError:
                self._udp.close()
        raise OSError("no free port pair")

    async def stop(self) -> None:
        if self._udp is not None:
            self._udp.close()
        if self._tcp is not None:
            self._tcp.close()
            await self._tcp.wait_closed()

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"
