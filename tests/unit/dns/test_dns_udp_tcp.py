"""The in-process `DNSServer` over real UDP and TCP sockets on 127.0.0.1:
EDNS0 and truncation, full answers over TCP, forwarding to fake upstreams
(cache, timeouts, SERVFAIL, TC fallback), malformed input, readiness,
and the HTTP endpoints."""

from __future__ import annotations

import socket
import struct
import urllib.error
import urllib.request
from collections.abc import Iterator

import pytest
from dnslib import OPCODE, QTYPE, RCODE, RR, DNSRecord

from svcnet.dns.index import RecordIndex
from svcnet.dns.views import ServiceView
from tests.unit.dns.helpers import (
    ZONE,
    FakeUpstream,
    LoopThread,
    ask,
    ep,
    eps,
    exchange,
    expect,
    got,
    headless,
    port,
    svc,
    threaded_server,
)

BIG = "big.default.svc.cluster.local."
N = 300


def big_cluster() -> RecordIndex:
    idx = RecordIndex(ZONE)
    idx.set_service(svc("web", ["10.96.0.20"]))
    idx.set_service(headless("big", [port("http", "TCP", 80)]))
    endpoints = [ep(f"10.244.{i // 250}.{i % 250 + 1}", hostname=f"pod-{i}") for i in range(N)]
    idx.set_endpointslice(eps("big-a", "big", endpoints, [port("http", "TCP", 8080)]))
    idx.set_service(
        ServiceView("default", "ext", type="ExternalName", external_name="www.example.com")
    )
    return idx


UPSTREAM_RECORDS = {
    "example.com.": ["example.com. 300 IN A 192.0.2.1", "example.com. 300 IN AAAA 2001:db8::1"],
    "www.example.com.": ["www.example.com. 120 IN A 192.0.2.53"],
    "99.99.96.10.in-addr.arpa.": ["99.99.96.10.in-addr.arpa. 60 IN PTR outside.example."],
    "many.example.com.": [f"many.example.com. 60 IN A 192.0.2.{i}" for i in range(1, 120)],
}


@pytest.fixture
def upstream() -> Iterator[tuple[FakeUpstream, LoopThread]]:
    lt = LoopThread()
    fake = FakeUpstream(UPSTREAM_RECORDS)
    lt.run(fake.start())
    try:
        yield fake, lt
    finally:
        lt.run(fake.stop())
        lt.close()


@pytest.fixture
def server(upstream: tuple[FakeUpstream, LoopThread]) -> Iterator[int]:
    fake, _ = upstream
    with threaded_server(big_cluster(), upstreams=[fake.address], forward_timeout=0.5) as (srv, _):
        yield srv.address[1]


# -- EDNS0, truncation and TCP ---------------------------------------------------------------


def test_big_answer_truncated_over_udp_full_over_tcp(server: int) -> None:
    udp = ask(server, BIG, "A", edns=1232)
    assert udp.header.tc == 1 and 0 < len(udp.rr) < N
    assert len(udp.pack()) <= 1232
    plain = ask(server, BIG, "A", edns=None)  # no EDNS: 512 bytes (RFC 1035)
    assert plain.header.tc == 1 and len(plain.pack()) <= 512
    tcp = ask(server, BIG, "A", tcp=True)
    assert tcp.header.tc == 0 and len(tcp.rr) == N
    assert {str(rr.rdata) for rr in tcp.rr} == {
        f"10.244.{i // 250}.{i % 250 + 1}" for i in range(N)
    }


def test_edns_payload_honoured(server: int) -> None:
    r = ask(server, BIG, "A", edns=4096)
    assert r.header.tc == 1 and 1232 < len(r.pack()) <= 4096
    r = ask(server, BIG, "A", edns=65000)  # capped at 4096 (udp_payload_cap)
    assert len(r.pack()) <= 4096


def test_big_srv_over_tcp_with_additionals(server: int) -> None:
    r = ask(server, f"_http._tcp.{BIG}", "SRV", tcp=True)
    assert len(r.rr) == N
    assert len([rr for rr in r.ar if rr.rtype == QTYPE.A]) == N


def test_tcp_pipelined_queries(server: int) -> None:
    q1 = DNSRecord.question("web.default.svc.cluster.local", "A")
    q2 = DNSRecord.question("nope.default.svc.cluster.local", "A")
    q1.header.id, q2.header.id = 1, 2
    with socket.create_connection(("127.0.0.1", server), timeout=3) as s:
        s.sendall(b"".join(struct.pack("!H", len(m)) + m for m in (q1.pack(), q2.pack())))
        replies = []
        for _ in range(2):
            size = struct.unpack("!H", s.recv(2, socket.MSG_WAITALL))[0]
            replies.append(DNSRecord.parse(s.recv(size, socket.MSG_WAITALL)))
    assert [(r.header.id, RCODE[r.header.rcode]) for r in replies] == [
        (1, "NOERROR"),
        (2, "NXDOMAIN"),
    ]


# -- forwarding -----------------------------------------------------------------------------


def test_forward_and_cache(server: int, upstream: tuple[FakeUpstream, LoopThread]) -> None:
    fake, _ = upstream
    r = ask(server, "Example.COM", "A")
    assert got(r.rr) == expect("Example.COM. 300 IN A 192.0.2.1")
    assert r.header.aa == 0 and r.header.ra == 1
    r2 = ask(server, "example.com", "A")
    assert got(r2.rr) == expect("example.com. 300 IN A 192.0.2.1")
    assert [q for q in fake.queries if q[0] == "example.com."] == [("example.com.", "A", "udp")]
    # Negative answers are cached too (RFC 2308).
    assert RCODE[ask(server, "nope.example", "A").header.rcode] == "NXDOMAIN"
    assert RCODE[ask(server, "nope.example", "A").header.rcode] == "NXDOMAIN"
    assert len([q for q in fake.queries if q[0] == "nope.example."]) == 1


def test_forward_over_tcp_and_tc_fallback(
    server: int, upstream: tuple[FakeUpstream, LoopThread]
) -> None:
    fake, _ = upstream
    r = ask(server, "many.example.com", "A", edns=None)
    assert r.header.tc == 1  # the upstream truncated for us, the client retries over TCP
    r = ask(server, "many.example.com", "A", tcp=True)
    assert r.header.tc == 0 and len(r.rr) == 119
    assert ("many.example.com.", "A", "tcp") in fake.queries


def test_reverse_names_we_do_not_know_are_forwarded(server: int) -> None:
    r = ask(server, "99.99.96.10.in-addr.arpa", "PTR")
    assert got(r.rr) == expect("99.99.96.10.in-addr.arpa. 60 IN PTR outside.example.")


def test_externalname_target_resolved_through_upstream(server: int) -> None:
    r = ask(server, "ext.default.svc.cluster.local", "A")
    assert got(r.rr) == expect(
        [
            "ext.default.svc.cluster.local. 5 IN CNAME www.example.com.",
            "www.example.com. 120 IN A 192.0.2.53",
        ]
    )
    assert r.header.aa == 1


@pytest.mark.parametrize("mode", ["silent", "servfail", "refused", "garbage", "wrong-id"])
def test_servfail_when_upstream_fails(mode: str) -> None:
    lt = LoopThread()
    bad = FakeUpstream(UPSTREAM_RECORDS, mode=mode)
    lt.run(bad.start())
    try:
        with threaded_server(big_cluster(), upstreams=[bad.address], forward_timeout=0.3) as (
            srv,
            _,
        ):
            r = ask(srv.address[1], "example.com", "A")
            assert RCODE[r.header.rcode] == "SERVFAIL"
            # Zone names never depend on the upstream.
            assert (
                RCODE[ask(srv.address[1], "web.default.svc.cluster.local", "A").header.rcode]
                == "NOERROR"
            )
    finally:
        lt.run(bad.stop())
        lt.close()


def test_next_upstream_after_a_failing_one() -> None:
    lt = LoopThread()
    bad, good = FakeUpstream(mode="silent"), FakeUpstream(UPSTREAM_RECORDS)
    lt.run(bad.start())
    lt.run(good.start())
    try:
        ups = [bad.address, good.address]
        with threaded_server(big_cluster(), upstreams=ups, forward_timeout=0.3) as (srv, _):
            r = ask(srv.address[1], "example.com", "A")
            assert got(r.rr) == expect("example.com. 300 IN A 192.0.2.1")
            assert len(bad.queries) == 1 and len(good.queries) == 1
    finally:
        lt.run(bad.stop())
        lt.run(good.stop())
        lt.close()


def test_no_upstreams_refuses_outside_names() -> None:
    with threaded_server(big_cluster()) as (srv, _):
        assert RCODE[ask(srv.address[1], "example.com", "A").header.rcode] == "REFUSED"


# -- malformed input and odd queries --------------------------------------------------------------


def test_malformed_packets(server: int) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.settimeout(0.3)
        s.sendto(b"\x12", ("127.0.0.1", server))  # no header: dropped
        with pytest.raises(TimeoutError):
            s.recvfrom(512)
        s.sendto(b"\xab\xcd\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00\x05abc", ("127.0.0.1", server))
        reply = DNSRecord.parse(s.recvfrom(512)[0])
        assert reply.header.id == 0xABCD and RCODE[reply.header.rcode] == "FORMERR"
    assert RCODE[ask(server, "web.default.svc.cluster.local", "A").header.rcode] == "NOERROR"


def test_tcp_garbage_then_valid_connection(server: int) -> None:
    with socket.create_connection(("127.0.0.1", server), timeout=3) as s:
        s.sendall(b"\x00\x03abc")  # no header: nothing to answer, the connection closes
        assert s.recv(2, socket.MSG_WAITALL) == b""
    with socket.create_connection(("127.0.0.1", server), timeout=3) as s:
        bad = b"\xab\xcd\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00\x05abc"
        s.sendall(struct.pack("!H", len(bad)) + bad)  # a header, then nonsense: FORMERR
        size = struct.unpack("!H", s.recv(2, socket.MSG_WAITALL))[0]
        reply = DNSRecord.parse(s.recv(size, socket.MSG_WAITALL))
        assert reply.header.id == 0xABCD and RCODE[reply.header.rcode] == "FORMERR"
    assert ask(server, "web.default.svc.cluster.local", "A", tcp=True).header.rcode == 0


@pytest.mark.parametrize(
    ("qname", "qtype", "mutate", "rcode"),
    [
        ("web.default.svc.cluster.local", "A", "opcode", "NOTIMP"),
        ("cluster.local", "AXFR", None, "REFUSED"),
        ("cluster.local", "IXFR", None, "REFUSED"),
        ("web.default.svc.cluster.local", "A", "chaos", "REFUSED"),
        ("web.default.svc.cluster.local", "A", "qr", None),
    ],
)
def test_odd_queries(
    server: int, qname: str, qtype: str, mutate: str | None, rcode: str | None
) -> None:
    q = DNSRecord.question(qname, qtype)
    if mutate == "opcode":
        q.header.opcode = OPCODE.NOTIFY
    if mutate == "chaos":
        q.q.qclass = 3
    if mutate == "qr":
        q.header.qr = 1
    if rcode is None:
        with pytest.raises(TimeoutError):
            exchange(server, q.pack(), timeout=0.3)
        return
    assert RCODE[DNSRecord.parse(exchange(server, q.pack())).header.rcode] == rcode


def test_badvers(server: int) -> None:
    q = DNSRecord.question("web.default.svc.cluster.local", "A")
    q.add_ar(RR(".", QTYPE.OPT, rclass=1232, ttl=1 << 16, rdata=[]))  # EDNS version 1
    r = DNSRecord.parse(exchange(server, q.pack()))
    opt = next(rr for rr in r.ar if rr.rtype == QTYPE.OPT)
    assert (opt.ttl >> 24) == 1 and r.rr == []  # BADVERS = 16


# -- readiness, health, metrics ---------------------------------------------------------------------


def http_status(url: str) -> int:
    try:
        with urllib.request.urlopen(url, timeout=3) as resp:
            return resp.status
    except urllib.error.HTTPError as e:
        e.close()
        return e.code


def test_servfail_instead_of_nxdomain_until_synced() -> None:
    synced = {"ok": False}
    with threaded_server(big_cluster(), ready=lambda: synced["ok"], metrics="127.0.0.1:0") as (
        srv,
        _,
    ):
        p = srv.address[1]
        http = f"http://127.0.0.1:{srv.http_address[1]}"
        assert RCODE[ask(p, "nope.default.svc.cluster.local", "A").header.rcode] == "SERVFAIL"
        assert RCODE[ask(p, "web.default.svc.cluster.local", "A").header.rcode] == "NOERROR"
        assert http_status(f"{http}/ready") == 503
        assert http_status(f"{http}/health") == 200
        synced["ok"] = True
        assert RCODE[ask(p, "nope.default.svc.cluster.local", "A").header.rcode] == "NXDOMAIN"
        assert http_status(f"{http}/ready") == 200


def test_metrics_endpoint() -> None:
    with threaded_server(big_cluster(), metrics="127.0.0.1:0") as (srv, _):
        p = srv.address[1]
        ask(p, "web.default.svc.cluster.local", "A")
        ask(p, "nope.default.svc.cluster.local", "AAAA")
        exchange(p, b"\x00\x01\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00")  # FORMERR
        url = f"http://127.0.0.1:{srv.http_address[1]}/metrics"
        with urllib.request.urlopen(url, timeout=3) as resp:
            text = resp.read().decode()
    assert 'coredns_dns_requests_total{server="dns://127.0.0.1:' in text
    assert 'zone="cluster.local.",proto="udp",family="1",type="A"} 1' in text
    assert 'rcode="NXDOMAIN",plugin="kubernetes"} 1' in text
    assert "coredns_dns_request_duration_seconds_bucket" in text
    assert 'svcnet_dns_malformed_requests_total{server="dns://127.0.0.1:' in text
    assert "svcnet_dns_index_services 3" in text


def test_index_update_seen_by_next_query_over_udp() -> None:
    idx = big_cluster()
    with threaded_server(idx) as (srv, lt):
        p = srv.address[1]
        name = "new.default.svc.cluster.local"
        assert RCODE[ask(p, name, "A").header.rcode] == "NXDOMAIN"
        lt.call(lambda: idx.set_service(svc("new", ["10.96.7.7"])))
        assert got(ask(p, name, "A").rr) == expect(f"{name}. 5 IN A 10.96.7.7")
