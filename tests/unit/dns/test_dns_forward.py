"""Forwarding pieces that need no sockets: the reply cache (TTL rules of
RFC 2308 and CoreDNS's cache plugin, bounded, clock injected) and reading
upstreams from resolv.conf or flags."""

from __future__ import annotations

import pytest
from dnslib import QTYPE, RR, A, DNSRecord

from svcnet.dns.forward import ReplyCache, Upstream, parse_resolv_conf, parse_upstream
from svcnet.dns.wire import parse_query, render_stored


class Clock:
    def __init__(self) -> None:
        self.t = 1000.0

    def __call__(self) -> float:
        return self.t


def reply(
    name: str = "example.com",
    ttls: tuple[int, ...] = (300,),
    rcode: int = 0,
    soa: str | None = None,
    tc: bool = False,
) -> bytes:
    rec = DNSRecord.question(name).reply()
    rec.header.rcode = rcode
    rec.header.tc = int(tc)
    for i, ttl in enumerate(ttls):
        rec.add_answer(RR(name, QTYPE.A, ttl=ttl, rdata=A(f"192.0.2.{i + 1}")))
    if soa:
        rec.add_auth(*RR.fromZone(soa))
    return rec.pack()


KEY = (b"\x07example\x03com\x00", 1, 1, False)
SOA = "example.com. 900 IN SOA ns.example.com. h.example.com. 1 2 3 4 {minimum}"


@pytest.mark.parametrize(
    ("data", "kept", "lifetime"),
    [
        pytest.param(reply(ttls=(300, 60)), True, 60, id="positive: the smallest answer TTL"),
        pytest.param(reply(ttls=(86400,)), True, 3600, id="positive: capped at max_ttl"),
        pytest.param(reply(ttls=(0,)), False, 0, id="TTL 0 is not cached"),
        pytest.param(
            reply(ttls=(), rcode=3, soa=SOA.format(minimum=30)),
            True,
            30,
            id="NXDOMAIN: min(SOA TTL, SOA minimum) (RFC 2308)",
        ),
        pytest.param(
            reply(ttls=(), rcode=0, soa=SOA.format(minimum=7200)),
            True,
            900,
            id="NODATA: SOA TTL when smaller than minimum",
        ),
        pytest.param(reply(ttls=(), rcode=3), False, 0, id="NXDOMAIN without SOA is not cached"),
        pytest.param(reply(ttls=(), rcode=2), False, 0, id="SERVFAIL is not cached"),
        pytest.param(reply(tc=True), False, 0, id="truncated replies are not cached"),
        pytest.param(b"\x00\x01", False, 0, id="garbage is not cached"),
    ],
)
def test_cache_lifetimes(data: bytes, kept: bool, lifetime: int) -> None:
    clock = Clock()
    cache = ReplyCache(clock=clock)
    assert cache.put(KEY, data) is kept
    if not kept:
        assert cache.get(KEY) is None
        return
    clock.t += lifetime - 0.5
    assert cache.get(KEY) is not None
    clock.t += 1
    assert cache.get(KEY) is None


def test_cache_hit_ages_ttls() -> None:
    clock = Clock()
    cache = ReplyCache(clock=clock)
    cache.put(KEY, reply(ttls=(300, 100)))
    clock.t += 42.7
    hit = cache.get(KEY)
    assert hit is not None
    stored, aged, negative = hit
    assert (aged, negative) == (42, False)
    q = parse_query(DNSRecord.question("EXAMPLE.com").pack())
    out = DNSRecord.parse(render_stored(stored, q, aged))
    assert sorted(rr.ttl for rr in out.rr) == [58, 258]
    assert str(out.q.qname) == "EXAMPLE.com."


def test_cache_is_bounded_lru() -> None:
    cache = ReplyCache(size=3, clock=Clock())
    keys = [(f"n{i}".encode(), 1, 1, False) for i in range(5)]
    for k in keys[:3]:
        cache.put(k, reply())
    assert cache.get(keys[0]) is not None  # touch: most recently used
    cache.put(keys[3], reply())
    cache.put(keys[4], reply())
    assert len(cache) == 3
    assert cache.get(keys[0]) is not None and cache.get(keys[1]) is None


def test_cache_size_zero_disables() -> None:
    cache = ReplyCache(size=0, clock=Clock())
    assert not cache.put(KEY, reply())


@pytest.mark.parametrize(
    ("text", "want"),
    [
        ("1.2.3.4", Upstream("1.2.3.4", 53)),
        ("127.0.0.1:5353", Upstream("127.0.0.1", 5353)),
        ("[fd00::1]:53", Upstream("fd00::1", 53)),
        ("[fd00::1]", Upstream("fd00::1", 53)),
        ("::1", Upstream("::1", 53)),
    ],
)
def test_parse_upstream(text: str, want: Upstream) -> None:
    assert parse_upstream(text) == want


@pytest.mark.parametrize("text", ["example.com", "1.2.3.4:0", "1.2.3.4:99999", "[::1]:x", ""])
def test_parse_upstream_rejects(text: str) -> None:
    with pytest.raises(ValueError):
        parse_upstream(text)


def test_parse_resolv_conf() -> None:
    text = """
    # generated
    search default.svc.cluster.local svc.cluster.local
    nameserver 10.0.0.2
    nameserver fe80::1%eth0   ; link-local with a zone
    nameserver bogus
    options ndots:5
    nameserver 127.0.0.53 # stub
    """
    assert parse_resolv_conf(text) == [
        Upstream("10.0.0.2"),
        Upstream("fe80::1"),
        Upstream("127.0.0.53"),
    ]
    assert str(Upstream("fe80::1")) == "[fe80::1]:53"
