"""`svcnet dns`: the cluster DNS server (UDP + TCP + HTTP), and its entry point.

Theory of operation: `DNSServer` is the thin I/O shell around a `Handler`
(handler.py holds every decision). It binds UDP and TCP on the same port
(port 0: the kernel picks one for UDP, TCP takes the same), answers UDP
datagrams inline when the handler returns bytes and in a task when it
returns a coroutine (forwarding), reads TCP as length-prefixed messages
(RFC 1035 4.2.2, pipelined, one reply per query in order, idle
connections closed after ``tcp_idle_timeout``), and serves /health,
/ready and /metrics over HTTP (CoreDNS's health, ready and prometheus
plugins on one port). An exception in the handler is logged and the
message dropped: the server never dies of a packet.

`serve(options)` is the process: a client (unix socket, kubeconfig, or
in-cluster), an `IndexSync` feeding a `RecordIndex`, a `Forwarder` to the
upstreams (``--upstream`` or the node's resolv.conf), the server, until
SIGTERM/SIGINT. /ready turns 200 once the informers synced; after a
signal it turns 503 for ``lameduck`` seconds while queries are still
answered (CoreDNS ``health { lameduck }``), then everything stops.

`DNSServer` itself never reads resolv.conf: tests and embedders pass
upstreams explicitly, so nothing is sent anywhere they did not name.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import struct
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aiohttp import web

from svcnet.dns.forward import Forwarder, ReplyCache, Upstream, parse_upstream
from svcnet.dns.forward import upstreams_from_resolv_conf as _from_resolv_conf
from svcnet.dns.handler import Handler
from svcnet.dns.index import RecordIndex
from svcnet.dns.metrics import CONTENT_TYPE, DNSMetrics
from svcnet.util.log import get_logger

__all__ = ["DNSServer", "Options", "serve", "split_hostport"]

log = get_logger(__name__)

MAX_PENDING_UDP = 4096  # forwarded UDP queries in flight; beyond that we drop


@dataclass
class Options:
    """Everything `svcnet dns` can be told (defaults as CoreDNS in a cluster)."""

    listen: str = "127.0.0.1:53"
    metrics: str = "127.0.0.1:9153"  # /metrics, /health, /ready ("" disables HTTP)
    zone: str = "cluster.local"
    ttl: int = 5
    upstreams: list[str] = field(default_factory=list)
    resolv_conf: str = "/etc/resolv.conf"  # read by serve() when upstreams is empty
    kubeconfig: str | None = None
    socket: str | None = None
    forward_timeout: float = 2.0
    cache_size: int = 10_000  # forwarded replies kept
    max_cache_ttl: int = 3600
    answer_cache_size: int = 100_000  # zone answers kept by the index
    udp_payload_cap: int = 4096
    tcp_idle_timeout: float = 10.0
    lameduck: float = 0.0


def split_hostport(addr: str, default_port: int = 53) -> tuple[str, int]:
    """``host:port`` / ``[v6]:port`` / ``:port`` -> (host, port)."""
    if addr.startswith("["):
        host, _, rest = addr[1:].partition("]")
        return host, int(rest.lstrip(":") or default_port)
    host, sep, port = addr.rpartition(":")
    if not sep:
        return addr, default_port
    return host or "0.0.0.0", int(port)


class _UDP(asyncio.DatagramProtocol):
    def __init__(self, server: DNSServer, family: str) -> None:
        self.server = server
        self.family = family
        self.transport: asyncio.DatagramTransport | None = None
        self.pending: set[asyncio.Task[None]] = set()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def datagram_received(self, data: bytes, addr: Any) -> None:
        try:
            reply = self.server.handler.handle(data, False, self.family)
        except Exception:
            log.exception("dns handler failed", peer=str(addr))
            return
        if reply is None:
            return
        if isinstance(reply, bytes):
            self.transport.sendto(reply, addr)  # type: ignore[union-attr]
            return
        if len(self.pending) >= MAX_PENDING_UDP:
            reply.close()
            return
        task = asyncio.get_running_loop().create_task(self._later(reply, addr))
        self.pending.add(task)
        task.add_done_callback(self.pending.discard)

    async def _later(self, coro: Any, addr: Any) -> None:
        try:
            reply = await coro
        except Exception:
            log.exception("dns forwarding failed", peer=str(addr))
            return
        if reply is not None and self.transport is not None and not self.transport.is_closing():
            self.transport.sendto(reply, addr)

    def error_received(self, exc: Exception) -> None:
        log.debug("udp error", error=str(exc))


class DNSServer:
    """The DNS server over a `RecordIndex`, usable in-process (tests) or by `serve`.

    Args:
        index: the records to serve.
        options: addresses, zone is taken from the index, forwarding knobs.
        ready: True once the index reflects the API (default: always).
        metrics: a `DNSMetrics` (default: a fresh one with its own registry).
    """

    def __init__(
        self,
        index: RecordIndex,
        options: Options | None = None,
        *,
        ready: Callable[[], bool] | None = None,
        metrics: DNSMetrics | None = None,
    ) -> None:
        self.index = index
        self.options = opts = options or Options()
        self._own_metrics = metrics is None
        self.metrics = metrics or DNSMetrics(f"dns://{opts.listen}")
        self._ready = ready or (lambda: True)
        self.draining = False
        cache = ReplyCache(opts.cache_size, opts.max_cache_ttl)
        self.forwarder = Forwarder(
            [parse_upstream(u) for u in opts.upstreams],
            opts.forward_timeout,
            cache,
            on_upstream=lambda up, rc, s: self.metrics.upstream(str(up), rc, s),
        )
        self.handler = Handler(
            index, self.metrics, self.forwarder, self.ready, udp_cap=opts.udp_payload_cap
        )
        self.metrics.watch_gauges(
            lambda: index.services,
            lambda: index.endpointslices,
            lambda: index.cached,
            lambda: len(cache),
        )
        self._udp: asyncio.DatagramTransport | None = None
        self._udp_proto: _UDP | None = None
        self._tcp: asyncio.Server | None = None
        self._http: web.AppRunner | None = None
        self._conns: set[asyncio.Task[Any]] = set()
        self.udp_address: tuple[str, int] = ("", 0)
        self.http_address: tuple[str, int] | None = None

    def ready(self) -> bool:
        return self._ready()

    @property
    def address(self) -> tuple[str, int]:
        """(host, port) of both the UDP and the TCP listener."""
        return self.udp_address

    # ---------------------------------------------------------------- lifecycle
    async def start(self) -> None:
        host, port = split_hostport(self.options.listen)
        family = "2" if ":" in host else "1"
        loop = asyncio.get_running_loop()
        for attempt in range(20):
            transport, proto = await loop.create_datagram_endpoint(
                lambda: _UDP(self, family), local_addr=(host, port)
            )
            bound = transport.get_extra_info("sockname")[1]
            try:
                self._tcp = await asyncio.start_server(
                    lambda r, w: self._tcp_conn(r, w, family), host, bound, reuse_address=True
                )
            except OSError:
                transport.close()
                if port != 0 or attempt == 19:
                    raise
                continue  # TCP port taken: let the kernel pick another pair
            self._udp, self._udp_proto = transport, proto  # type: ignore[assignment]
            self.udp_address = (host, bound)
            break
        if self._own_metrics:
            self.metrics.server = f"dns://{host}:{self.udp_address[1]}"
        self._drop_self_upstream()
        if self.options.metrics:
            await self._start_http()
        log.info(
            "dns listening",
            addr=f"{host}:{self.udp_address[1]}",
            zone=self.index.zone,
            upstreams=",".join(map(str, self.forwarder.upstreams)) or "-",
            http=f"{self.http_address[0]}:{self.http_address[1]}" if self.http_address else "-",
        )

    def _drop_self_upstream(self) -> None:
        """Forwarding to ourselves would loop until every query times out."""
        me = Upstream(self.udp_address[0], self.udp_address[1])
        if me in self.forwarder.upstreams:
            log.warning("ignoring upstream that is this server", upstream=str(me))
            self.forwarder.upstreams.remove(me)
        if not self.forwarder.upstreams:
            self.handler.forwarder = None

    async def stop(self) -> None:
        if self._udp is not None:
            self._udp.close()
            self._udp = None
        if self._udp_proto is not None:
            for t in list(self._udp_proto.pending):
                t.cancel()
        if self._tcp is not None:
            self._tcp.close()
            for t in list(self._conns):
                t.cancel()
            with contextlib.suppress(Exception):
                await self._tcp.wait_closed()
            self._tcp = None
        if self._http is not None:
            await self._http.cleanup()
            self._http = None

    async def __aenter__(self) -> DNSServer:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    # ---------------------------------------------------------------------- TCP
    async def _tcp_conn(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, family: str
    ) -> None:
        task = asyncio.current_task()
        if task is not None:
            self._conns.add(task)
        idle = self.options.tcp_idle_timeout
        try:
            while True:
                async with asyncio.timeout(idle):
                    (size,) = struct.unpack("!H", await reader.readexactly(2))
                    data = await reader.readexactly(size)
                try:
                    reply = self.handler.handle(data, True, family)
                    if reply is not None and not isinstance(reply, bytes):
                        reply = await reply
                except Exception:
                    log.exception("dns handler failed", transport="tcp")
                    reply = None
                if reply is None:
                    break  # nothing sensible to say: close, as for garbage
                writer.write(struct.pack("!H", len(reply)) + reply)
                await writer.drain()
        except (TimeoutError, asyncio.IncompleteReadError, ConnectionError, OSError):
            pass
        except asyncio.CancelledError:
            pass
        finally:
            if task is not None:
                self._conns.discard(task)
            writer.close()
            with contextlib.suppress(Exception):
                await writer.wait_closed()

    # --------------------------------------------------------------------- HTTP
    async def _start_http(self) -> None:
        async def health(_: web.Request) -> web.Response:
            return web.Response(text="OK")

        async def ready(_: web.Request) -> web.Response:
            ok = self.ready() and not self.draining
            return web.Response(text="OK" if ok else "not ready", status=200 if ok else 503)

        async def metrics(_: web.Request) -> web.Response:
            resp = web.Response(body=self.metrics.render())
            resp.headers["Content-Type"] = CONTENT_TYPE
            return resp

        app = web.Application()
        for path in ("/health", "/healthz"):
            app.router.add_get(path, health)
        for path in ("/ready", "/readyz"):
            app.router.add_get(path, ready)
        app.router.add_get("/metrics", metrics)
        self._http = web.AppRunner(app, access_log=None, handle_signals=False)
        await self._http.setup()
        host, port = split_hostport(self.options.metrics, 9153)
        site = web.TCPSite(self._http, host, port)
        await site.start()
        sock = site._server.sockets[0]  # type: ignore[union-attr]
        self.http_address = sock.getsockname()[:2]


# ------------------------------------------------------------------------- entry


def _client(options: Options) -> Any:
    from svcnet.client import Client

    if options.socket:
        return Client.from_unix_socket(options.socket)
    if options.kubeconfig:
        return Client.from_kubeconfig(options.kubeconfig)
    return Client.in_cluster()


def upstreams_for(options: Options) -> list[str]:
    """``options.upstreams``, or the nameservers of ``options.resolv_conf``."""
    if options.upstreams:
        return list(options.upstreams)
    if options.resolv_conf and Path(options.resolv_conf).exists():
        return [str(u) for u in _from_resolv_conf(options.resolv_conf)]
    return []


async def serve(options: Options) -> None:
    """Run cluster DNS until SIGTERM/SIGINT (see the module docstring)."""
    from svcnet.dns.watch import IndexSync

    opts = Options(**{**options.__dict__, "upstreams": upstreams_for(options)})
    client = _client(opts)
    index = RecordIndex(
        opts.zone, opts.ttl, cache_size=opts.answer_cache_size, serial=int(time.time())
    )
    metrics = DNSMetrics(f"dns://{opts.listen}")
    sync = IndexSync(client, index, metrics)
    server = DNSServer(index, opts, ready=lambda: sync.synced, metrics=metrics)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await server.start()
    sync.start()
    try:
        if await _first(sync.wait_synced(), stop.wait()):
            log.info("dns informers synced", services=index.services, slices=index.endpointslices)
        await stop.wait()
        log.info("dns shutting down", lameduck=opts.lameduck)
        server.draining = True
        if opts.lameduck > 0:
            await asyncio.sleep(opts.lameduck)
    finally:
        await server.stop()
        await sync.stop()
        await client.close()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.remove_signal_handler(sig)


async def _first(synced: Any, stopped: Any) -> bool:
    """Wait for whichever comes first; True when the informers synced."""
    a, b = asyncio.ensure_future(synced), asyncio.ensure_future(stopped)
    done, pending = await asyncio.wait({a, b}, return_when=asyncio.FIRST_COMPLETED)
    for t in pending:
        t.cancel()
    return a in done and bool(a.result())
