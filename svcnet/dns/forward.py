"""Forwarding names outside the cluster zone to upstream resolvers.

Theory of operation (CoreDNS's forward + cache plugins, reduced):

* `Forwarder.resolve(q, tcp)` answers a `Query` from the cache or asks the
  upstreams in order (the node's resolv.conf order, as glibc does), each
  with ``timeout`` seconds, over the client's transport: UDP for UDP
  clients (a truncated upstream reply reaches the client with TC set and it
  retries over TCP), TCP for TCP clients. A REFUSED or SERVFAIL reply, a
  timeout or a broken reply moves on to the next upstream; when none
  gives a usable reply the client gets SERVFAIL.
* We send our own query (fresh random ID, the client's question, our OPT
  with the client's DO bit) and accept only a reply with that ID and the
  same question, so a stray or spoofed datagram cannot poison the cache.
  Identical questions in flight share one upstream exchange.
* `ReplyCache` keeps replies without their OPT record, keyed by (name,
  type, class, DO), bounded (LRU) and TTL-respecting: positive replies
  live min(answer TTLs), negative ones min(SOA TTL, SOA minimum) (RFC
  2308), both capped (``max_ttl``, ``max_negative_ttl``); truncated, empty
  or SERVFAIL replies are not kept. Hits are re-rendered for each client
  with TTLs aged by the time spent in the cache (`wire.render_stored`).

The cache is pure (an injected clock gives "now"); only `Forwarder` does I/O.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import secrets
import struct
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

from svcnet.dns.errors import DNSConfigError
from svcnet.dns.wire import Query, Stored, WireError, make_query, scan, strip_opt
from svcnet.util.log import get_logger

__all__ = [
    "Forwarder",
    "ReplyCache",
    "Upstream",
    "parse_resolv_conf",
    "parse_upstream",
    "upstreams_from_resolv_conf",
]

log = get_logger(__name__)

TC = 0x0200
RCODE_SERVFAIL, RCODE_NXDOMAIN, RCODE_REFUSED = 2, 3, 5
RCODE_FORMERR, RCODE_NOTIMP = 1, 4


@dataclass(frozen=True, slots=True)
class Upstream:
    host: str
    port: int = 53

    def __str__(self) -> str:
        return f"[{self.host}]:{self.port}" if ":" in self.host else f"{self.host}:{self.port}"


def parse_upstream(text: str) -> Upstream:
    """``1.2.3.4``, ``1.2.3.4:5353``, ``[fd00::1]:53`` or ``fd00::1`` -> Upstream.

    Raises:
        DNSConfigError: not an address (a ValueError).
    """
    text = text.strip()
    host, port = text, "53"
    if text.startswith("["):
        host, _, rest = text[1:].partition("]")
        port = rest.lstrip(":") or "53"
    elif text.count(":") == 1:
        host, _, port = text.partition(":")
    try:
        ipaddress.ip_address(host)
        number = int(port)
    except ValueError:
        raise DNSConfigError(f"upstream {text!r} is not IP[:port]") from None
    if not 0 < number < 65536:
        raise DNSConfigError(f"bad port in upstream {text!r}")
    return Upstream(host, number)


def parse_resolv_conf(text: str) -> list[Upstream]:
    """The ``nameserver`` lines of a resolv.conf, in order (bad ones skipped)."""
    out: list[Upstream] = []
    for line in text.splitlines():
        parts = line.split("#", 1)[0].split(";", 1)[0].split()
        if len(parts) >= 2 and parts[0] == "nameserver":
            addr = parts[1].split("%", 1)[0]  # drop an IPv6 zone index
            with contextlib.suppress(DNSConfigError):
                out.append(parse_upstream(addr if ":" not in addr else f"[{addr}]:53"))
    return out


def upstreams_from_resolv_conf(path: str | Path) -> list[Upstream]:
    try:
        return parse_resolv_conf(Path(path).read_text())
    except OSError:
        return []


# -- cache -------------------------------------------------------------------------

CacheKey = tuple[bytes, int, int, bool]


@dataclass(slots=True)
class _Entry:
    stored: Stored
    at: float
    expires: float
    negative: bool


class ReplyCache:
    """Bounded, TTL-respecting store of upstream replies. Pure (clock injected)."""

    def __init__(
        self,
        size: int = 10_000,
        max_ttl: int = 3600,
        max_negative_ttl: int = 1800,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.size = size
        self.max_ttl = max_ttl
        self.max_negative_ttl = max_negative_ttl
        self.clock = clock
        self._entries: OrderedDict[CacheKey, _Entry] = OrderedDict()

    def __len__(self) -> int:
        return len(self._entries)

    def get(self, key: CacheKey) -> tuple[Stored, int, bool] | None:
        """(stored reply, whole seconds it aged, negative?) or None."""
        e = self._entries.get(key)
        if e is None:
            return None
        now = self.clock()
        if now >= e.expires:
            del self._entries[key]
            return None
        self._entries.move_to_end(key)
        return e.stored, int(now - e.at), e.negative

    def put(self, key: CacheKey, data: bytes) -> bool:
        """Keep the reply ``data`` when it may be cached; True when kept."""
        if self.size <= 0:
            return False
        try:
            s = scan(data)
        except WireError:
            return False
        rcode = s.flags & 0xF
        if s.flags & TC or rcode not in (0, RCODE_NXDOMAIN):
            return False
        if rcode == 0 and s.counts[1] > 0:
            ttl = min(s.min_answer_ttl or 0, self.max_ttl)
            negative = False
        else:
            if s.negative_ttl is None:
                return False
            ttl = min(s.negative_ttl, self.max_negative_ttl)
            negative = True
        if ttl <= 0:
            return False
        now = self.clock()
        self._entries[key] = _Entry(strip_opt(data, s), now, now + ttl, negative)
        self._entries.move_to_end(key)
        while len(self._entries) > self.size:
            self._entries.popitem(last=False)
        return True

    def clear(self) -> None:
        self._entries.clear()


# -- forwarder -------------------------------------------------------------------------


class _UDPExchange(asyncio.DatagramProtocol):
    def __init__(self, msg_id: int, name_raw: bytes, qtype: int, qclass: int) -> None:
        self.expect = (msg_id, name_raw, qtype, qclass)
        self.done: asyncio.Future[bytes] = asyncio.get_running_loop().create_future()

    def datagram_received(self, data: bytes, addr: object) -> None:
        if self.done.done():
            return
        try:
            s = scan(data)
        except WireError:
            return  # garbage is ignored; the timeout decides
        if (s.id, s.name_raw, s.qtype, s.qclass) == self.expect and s.flags & 0x8000:
            self.done.set_result(data)

    def error_received(self, exc: Exception) -> None:
        if not self.done.done():
            self.done.set_exception(exc)


class Forwarder:
    """Resolve queries through upstream resolvers (see the module docstring).

    Args:
        upstreams: resolvers in the order to try.
        timeout: seconds per upstream attempt.
        cache: a `ReplyCache` (None: a default one).
        on_upstream: optional callback(upstream, rcode_or_None, seconds) for metrics.
    """

    def __init__(
        self,
        upstreams: Iterable[Upstream],
        timeout: float = 2.0,
        cache: ReplyCache | None = None,
        on_upstream: Callable[[Upstream, int | None, float], None] | None = None,
    ) -> None:
        self.upstreams = list(upstreams)
        self.timeout = timeout
        self.cache = cache if cache is not None else ReplyCache()
        self.on_upstream = on_upstream
        self.hits = 0
        self.misses = 0
        self._inflight: dict[tuple[CacheKey, bool], asyncio.Future[bytes | None]] = {}

    @staticmethod
    def key(q: Query) -> CacheKey:
        return (q.name_raw, q.qtype, q.qclass, q.do)

    def cached(self, q: Query) -> tuple[Stored, int, bool] | None:
        """A cache hit for ``q`` (counted), or None (counted as a miss)."""
        hit = self.cache.get(self.key(q))
        if hit is None:
            self.misses += 1
        else:
            self.hits += 1
        return hit

    async def resolve(self, q: Query, tcp: bool = False) -> bytes | None:
        """The upstream reply to ``q`` (raw, our query's ID), or None when no
        upstream answered usefully. Cached replies are the caller's business
        (`cached`); this always asks, sharing identical exchanges in flight."""
        flight = (self.key(q), tcp)
        fut = self._inflight.get(flight)
        if fut is not None:
            return await asyncio.shield(fut)
        fut = asyncio.get_running_loop().create_future()
        self._inflight[flight] = fut
        try:
            data = await self._ask_all(q, tcp)
            if data is not None:
                self.cache.put(self.key(q), data)
            fut.set_result(data)
            return data
        except BaseException:
            fut.set_result(None)  # waiters answer SERVFAIL; the owner re-raises
            raise
        finally:
            del self._inflight[flight]

    async def _ask_all(self, q: Query, tcp: bool) -> bytes | None:
        fallback: bytes | None = None
        for up in self.upstreams:
            data = await self._ask(up, q, tcp, edns=True)
            if data is None:
                continue
            rcode = data[3] & 0xF
            if rcode in (RCODE_FORMERR, RCODE_NOTIMP):
                data = await self._ask(up, q, tcp, edns=False) or data  # an EDNS-less server
                rcode = data[3] & 0xF
            if rcode in (RCODE_SERVFAIL, RCODE_REFUSED):
                fallback = fallback or data
                continue
            return data
        return fallback if fallback is not None and fallback[3] & 0xF != RCODE_REFUSED else None

    async def _ask(self, up: Upstream, q: Query, tcp: bool, edns: bool) -> bytes | None:
        msg_id = secrets.randbelow(65536)
        wire = make_query(msg_id, q, edns)
        started = time.perf_counter()
        try:
            async with asyncio.timeout(self.timeout):
                if tcp:
                    data = await self._tcp(up, wire, msg_id, q)
                else:
                    data = await self._udp(up, wire, msg_id, q)
        except (TimeoutError, OSError, WireError, asyncio.IncompleteReadError) as e:
            log.debug("upstream failed", upstream=str(up), error=f"{type(e).__name__}: {e}")
            if self.on_upstream is not None:
                self.on_upstream(up, None, time.perf_counter() - started)
            return None
        if self.on_upstream is not None:
            self.on_upstream(up, data[3] & 0xF, time.perf_counter() - started)
        return data

    async def _udp(self, up: Upstream, wire: bytes, msg_id: int, q: Query) -> bytes:
        loop = asyncio.get_running_loop()
        transport, proto = await loop.create_datagram_endpoint(
            lambda: _UDPExchange(msg_id, q.name_raw, q.qtype, q.qclass),
            remote_addr=(up.host, up.port),
        )
        try:
            transport.sendto(wire)
            return await proto.done
        finally:
            transport.close()

    async def _tcp(self, up: Upstream, wire: bytes, msg_id: int, q: Query) -> bytes:
        reader, writer = await asyncio.open_connection(up.host, up.port)
        try:
            writer.write(struct.pack("!H", len(wire)) + wire)
            await writer.drain()
            while True:
                (size,) = struct.unpack("!H", await reader.readexactly(2))
                data = await reader.readexactly(size)
                s = scan(data)
                if (s.id, s.name_raw, s.qtype, s.qclass) == (msg_id, q.name_raw, q.qtype, q.qclass):
                    return data
        finally:
            writer.close()
            with contextlib.suppress(OSError):
                await writer.wait_closed()
