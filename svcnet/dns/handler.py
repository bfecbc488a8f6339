"""The request handler: bytes in, reply bytes out (or a coroutine for them).

Theory of operation: `Handler.handle(data, tcp)` is the whole policy of the
server, kept apart from sockets (server.py only moves bytes):

1. `wire.parse_query`: unreadable header or a response -> None (dropped);
   a readable header followed by nonsense -> FORMERR; opcode other than
   QUERY -> NOTIMP; EDNS version above 0 -> BADVERS (RFC 6891 6.1.3).
2. Names in the cluster zone, and reverse names, go to the record index
   (``lookup_lower``). AXFR/IXFR and non-IN classes there are REFUSED (as
   CoreDNS does). Until the informers have synced, a would-be NXDOMAIN is
   SERVFAIL instead, so a client retries rather than caches a lie
   (CoreDNS kubernetes handler). The reply comes from the Answer's
   template (`wire.encode` once, `wire.render` per query).
3. Everything else -- and reverse names the index does not know -- is
   forwarded: a cache hit is rendered at once, a miss returns a coroutine
   that asks the upstreams (SERVFAIL when none answers, REFUSED when there
   are no upstreams at all).
4. An ExternalName whose target is outside the zone: the CNAME, followed
   by the target's records from the upstreams when they answer (spec 2.5).

The synchronous path (zone names, cache hits) never awaits, so the UDP
transport answers it inline. Every reply is counted once in the metrics.
"""

from __future__ import annotations

import struct
import time
from collections.abc import Callable, Coroutine
from typing import Any

from dnslib import QTYPE, DNSRecord

from svcnet.dns.answer import NXDOMAIN, Answer
from svcnet.dns.forward import Forwarder
from svcnet.dns.index import RecordIndex
from svcnet.dns.metrics import DNSMetrics
from svcnet.dns.wire import (
    Drop,
    FormErr,
    Query,
    WireError,
    encode,
    error_reply,
    parse_query,
    qtype_name,
    render,
    render_stored,
    scan,
    strip_opt,
)

__all__ = ["Handler", "Reply"]

FORMERR, SERVFAIL, NOTIMP, REFUSED, BADVERS = 1, 2, 4, 5, 16
T_AXFR, T_IXFR = QTYPE.AXFR, QTYPE.IXFR
CLASS_IN = 1
ROOT = "."

Reply = bytes | None | Coroutine[Any, Any, bytes | None]


class Handler:
    """Answer DNS messages from a `RecordIndex` and a `Forwarder`.

    Args:
        index: the cluster records.
        metrics: where replies are counted.
        forwarder: upstream resolution (None: names outside the zone are REFUSED).
        ready: True once the index reflects the API (informers synced).
        udp_cap: the largest UDP reply we send, whatever the client offers.
    """

    def __init__(
        self,
        index: RecordIndex,
        metrics: DNSMetrics,
        forwarder: Forwarder | None = None,
        ready: Callable[[], bool] = lambda: True,
        udp_cap: int = 4096,
    ) -> None:
        self.index = index
        self.metrics = metrics
        self.forwarder = forwarder if forwarder is not None and forwarder.upstreams else None
        self.ready = ready
        self.udp_cap = udp_cap
        self.zone = index.zone
        self._suffix = "." + index.zone

    def _mine(self, name: str) -> bool:
        return (
            name.endswith(self._suffix)
            or name == self.zone
            or name.endswith((".in-addr.arpa.", ".ip6.arpa."))
        )

    def _zone_label(self, name: str) -> str:
        if name.endswith(self._suffix) or name == self.zone:
            return self.zone
        return "in-addr.arpa." if name.endswith(".in-addr.arpa.") else "ip6.arpa."

    def handle(self, data: bytes, tcp: bool = False, family: str = "1") -> Reply:
        """The reply to ``data``: bytes, None (drop), or a coroutine (forwarding)."""
        t0 = time.perf_counter()
        proto = "tcp" if tcp else "udp"
        try:
            q = parse_query(data)
        except Drop:
            self.metrics.malformed_request("dropped")
            return None
        except FormErr as e:
            self.metrics.malformed_request("formerr")
            return error_reply(None, e.msg_id, e.flags, FORMERR)
        limit = 65535 if tcp else q.udp_limit(self.udp_cap)
        if q.edns and q.edns_version != 0:
            reply = error_reply(q, q.id, q.flags, BADVERS)
            return self._done(reply, q, ROOT, proto, family, t0, rcode=BADVERS)
        if q.opcode != 0:
            return self._done(error_reply(q, q.id, q.flags, NOTIMP), q, ROOT, proto, family, t0)
        name = q.qname
        if self._mine(name):
            zone_label = self._zone_label(name)
            if q.qclass != CLASS_IN or q.qtype in (T_AXFR, T_IXFR):
                reply = error_reply(q, q.id, q.flags, REFUSED)
                return self._done(reply, q, zone_label, proto, family, t0)
            ans = self.index.lookup_lower(name, q.qtype)
            if ans is not None:
                if ans.rcode == NXDOMAIN and not self.ready():
                    reply = error_reply(q, q.id, q.flags, SERVFAIL)
                    return self._done(reply, q, zone_label, proto, family, t0)
                if ans.chase and self.forwarder is not None:
                    return self._chase(q, ans, limit, proto, family, t0)
                reply = render(encode(ans, q), q, limit)
                return self._done(reply, q, zone_label, proto, family, t0, "kubernetes")
        fw = self.forwarder
        if fw is None:
            return self._done(error_reply(q, q.id, q.flags, REFUSED), q, ROOT, proto, family, t0)
        hit = fw.cached(q)
        if hit is not None:
            stored, aged, negative = hit
            self.metrics.cache_hit(negative)
            reply = render_stored(stored, q, aged, limit)
            return self._done(reply, q, ROOT, proto, family, t0, "cache")
        self.metrics.cache_miss()
        return self._forward(q, tcp, limit, proto, family, t0)

    def _done(
        self,
        reply: bytes,
        q: Query,
        zone: str,
        proto: str,
        family: str,
        t0: float,
        plugin: str = "",
        rcode: int | None = None,
    ) -> bytes:
        if rcode is None:
            rcode = reply[3] & 0xF
        self.metrics.observe(
            zone, proto, family, qtype_name(q.qtype), rcode, plugin, time.perf_counter() - t0
        )
        return reply

    async def _forward(
        self, q: Query, tcp: bool, limit: int, proto: str, family: str, t0: float
    ) -> bytes | None:
        assert self.forwarder is not None
        data = await self.forwarder.resolve(q, tcp)
        if data is None:
            return self._done(error_reply(q, q.id, q.flags, SERVFAIL), q, ROOT, proto, family, t0)
        hit = self.forwarder.cache.get(self.forwarder.key(q))
        if hit is not None:
            reply = render_stored(hit[0], q, hit[1], limit)
        else:
            reply = _relay(data, q, limit)
        return self._done(reply, q, ROOT, proto, family, t0, "forward")

    async def _chase(
        self, q: Query, ans: Answer, limit: int, proto: str, family: str, t0: float
    ) -> bytes | None:
        """CNAME to an outside name: append the target's records from upstream."""
        assert self.forwarder is not None
        target = _question_for(ans.chase, q)
        extra: list[Any] = []
        rcode = ans.rcode
        hit = self.forwarder.cached(target)
        data = render_stored(hit[0], target, hit[1]) if hit is not None else None
        if data is None:
            data = await self.forwarder.resolve(target, tcp=False)
        if data is not None:
            try:
                rec = DNSRecord.parse(data)
                extra = list(rec.rr)
                rcode = rec.header.rcode
            except Exception:  # an upstream reply dnslib cannot read: keep the CNAME
                extra = []
        reply = render(encode(Answer(rcode, [*ans.answer, *extra]), q), q, limit)
        return self._done(reply, q, self.zone, proto, family, t0, "kubernetes")


def _question_for(name: str, q: Query) -> Query:
    """A query for ``name`` with ``q``'s type and flags (for chasing CNAMEs)."""
    labels = [lb.encode() for lb in name.rstrip(".").split(".") if lb]
    raw = b"".join(bytes([len(lb)]) + lb for lb in labels) + b"\x00"
    question = raw + struct.pack("!HH", q.qtype, q.qclass)
    return Query(0, q.flags, name, q.qtype, q.qclass, question, raw.lower(), do=q.do, edns=True)


def _relay(data: bytes, q: Query, limit: int) -> bytes:
    """An upstream reply that could not be cached, readdressed to ``q``."""
    try:
        s = scan(data)
    except WireError:
        return error_reply(q, q.id, q.flags, SERVFAIL)
    return render_stored(strip_opt(data, s), q, 0, limit)
