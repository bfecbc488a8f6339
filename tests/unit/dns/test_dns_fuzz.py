"""Fuzzing the running server: 10,000 random and malformed packets in all.

Four hypothesis strategies send their packets to one in-process `DNSServer`
(127.0.0.1, port 0, forwarding to a fake upstream on 127.0.0.1):

* random bytes (3,000 examples);
* a plausible header followed by random bytes (2,000);
* valid queries with bytes flipped, inserted, deleted or cut, half of them
  over TCP (3,000);
* well-formed queries built from the cluster's own vocabulary with random
  case, types, flags and EDNS (2,000) -- their replies are checked against
  an oracle: a second, identical `RecordIndex` asked directly.

After every packet a valid probe query must still be answered correctly,
whatever came back for the packet must be a well-formed reply to it, and
the server must not have logged a handler failure.
"""

from __future__ import annotations

import logging
import socket
import struct
from collections.abc import Iterator
from typing import Any

import pytest
from dnslib import EDNS0, QTYPE, DNSHeader, DNSQuestion, DNSRecord
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from svcnet.dns.index import RecordIndex
from svcnet.dns.wire import scan
from tests.unit.dns.helpers import FakeUpstream, LoopThread, cluster, got, threaded_server

SETTINGS = dict(deadline=None, suppress_health_check=list(HealthCheck), derandomize=False)

PROBES = [
    ("web.default.svc.cluster.local.", "A", ["web.default.svc.cluster.local. 5 IN A 10.96.0.20"]),
    (
        "20.0.96.10.in-addr.arpa.",
        "PTR",
        ["20.0.96.10.in-addr.arpa. 5 IN PTR web.default.svc.cluster.local."],
    ),
    (
        "my-pet.headless.default.svc.cluster.local.",
        "A",
        ["my-pet.headless.default.svc.cluster.local. 5 IN A 10.244.1.10"],
    ),
]


class Harness:
    def __init__(self, port: int) -> None:
        self.port = port
        self.udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.udp.settimeout(5)
        self.next_probe = 0
        self.probe_id = 0
        self.sent_ids: set[bytes] = set()

    def send_udp(self, data: bytes) -> None:
        self.sent_ids.add(bytes(data[:2]))
        self.udp.sendto(data, ("127.0.0.1", self.port))

    def send_tcp(self, data: bytes) -> None:
        """Send one length-prefixed message; read what comes back (if anything)."""
        with socket.create_connection(("127.0.0.1", self.port), timeout=5) as s:
            s.sendall(struct.pack("!H", len(data) & 0xFFFF) + data)
            s.shutdown(socket.SHUT_WR)
            buf = b""
            while chunk := s.recv(65536):
                buf += chunk
        if len(buf) >= 2:
            size = struct.unpack("!H", buf[:2])[0]
            check_reply_to(data, buf[2 : 2 + size])

    def probe(self) -> None:
        """A valid query must be answered correctly; other replies must be sane
        replies to packets we sent (forwarded ones may come late)."""
        name, qtype, want = PROBES[self.next_probe % len(PROBES)]
        self.next_probe += 1
        self.probe_id = (self.probe_id + 1) % 65536
        q = DNSRecord.question(name, qtype)
        q.header.id = 0xF000 | (self.probe_id & 0x0FFF)
        self.sent_ids.add(bytes(q.pack()[:2]))  # a probe cut short by a failure may answer late
        self.udp.sendto(q.pack(), ("127.0.0.1", self.port))
        while True:
            data, _ = self.udp.recvfrom(65535)
            if data[:2] == q.pack()[:2] and data[12 : 12 + len(q.pack()) - 12] == q.pack()[12:]:
                rec = DNSRecord.parse(data)
                assert rec.header.rcode == 0 and got(rec.rr) == sorted(want)
                return
            check_reply(data)
            assert data[:2] in self.sent_ids, data


def check_reply(data: bytes) -> None:
    """A well-formed reply. (`wire.scan` walks it: dnslib cannot read labels
    that are not UTF-8, which we echo from hostile questions.)"""
    assert len(data) >= 12, data
    assert data[2] & 0x80  # QR
    s = scan(data)
    assert s.counts[0] <= 1


def check_reply_to(sent: bytes, data: bytes) -> None:
    check_reply(data)
    assert data[:2] == sent[:2]  # the query's ID


@pytest.fixture(scope="module")
def harness() -> Iterator[Harness]:
    failures: list[logging.LogRecord] = []

    class Catch(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            if record.levelno >= logging.ERROR:
                failures.append(record)

    catch = Catch()
    logging.getLogger("svcnet.dns").addHandler(catch)
    lt = LoopThread()
    fake = FakeUpstream({"example.com.": ["example.com. 300 IN A 192.0.2.1"]})
    lt.run(fake.start())
    try:
        with threaded_server(cluster(), upstreams=[fake.address], forward_timeout=0.2) as (srv, _):
            h = Harness(srv.address[1])
            try:
                yield h
                h.probe()
            finally:
                h.udp.close()
    finally:
        lt.run(fake.stop())
        lt.close()
        logging.getLogger("svcnet.dns").removeHandler(catch)
    assert not failures, [r.getMessage() for r in failures]


@settings(max_examples=3000, **SETTINGS)  # type: ignore[arg-type]
@given(data=st.binary(max_size=600))
def test_fuzz_random_bytes(harness: Harness, data: bytes) -> None:
    harness.send_udp(data)
    harness.probe()


@settings(max_examples=2000, **SETTINGS)  # type: ignore[arg-type]
@given(
    msg_id=st.integers(0, 0xFFFF),
    flags=st.integers(0, 0xFFFF),
    counts=st.tuples(*[st.integers(0, 3)] * 4),
    tail=st.binary(max_size=300),
)
def test_fuzz_header_then_noise(
    harness: Harness, msg_id: int, flags: int, counts: tuple[int, ...], tail: bytes
) -> None:
    data = struct.pack("!HHHHHH", msg_id, flags, *counts) + tail
    harness.send_udp(data)
    harness.probe()


BASE_QUERIES = [
    DNSRecord.question(n, t).pack()
    for n, t in [
        ("web.default.svc.cluster.local", "A"),
        ("_http._tcp.headless.default.svc.cluster.local", "SRV"),
        ("example.com", "A"),
        ("1.0.96.10.in-addr.arpa", "PTR"),
    ]
]
_opt = DNSRecord.question("headless.default.svc.cluster.local", "AAAA")
_opt.add_ar(EDNS0(udp_len=1232, flags="do"))
BASE_QUERIES.append(_opt.pack())


@st.composite
def mutated(draw: Any) -> bytes:
    data = bytearray(draw(st.sampled_from(BASE_QUERIES)))
    for _ in range(draw(st.integers(1, 4))):
        op = draw(st.sampled_from(["flip", "insert", "delete", "cut", "set"]))
        i = draw(st.integers(0, max(0, len(data) - 1)))
        if op == "flip" and data:
            data[i] ^= 1 << draw(st.integers(0, 7))
        elif op == "insert":
            data[i:i] = draw(st.binary(min_size=1, max_size=8))
        elif op == "delete" and data:
            del data[i : i + draw(st.integers(1, 8))]
        elif op == "cut":
            del data[i:]
        elif op == "set" and data:
            data[i] = draw(st.sampled_from([0x00, 0xC0, 0xFF, 0x3F, 0x40, 0x29]))
    return bytes(data)


@settings(max_examples=3000, **SETTINGS)  # type: ignore[arg-type]
@given(data=mutated(), tcp=st.booleans())
def test_fuzz_mutated_queries(harness: Harness, data: bytes, tcp: bool) -> None:
    if tcp:
        harness.send_tcp(data)
        harness.probe()
    else:
        harness.send_udp(data)
        harness.probe()


WORDS = [
    "web",
    "default",
    "svc",
    "pod",
    "headless",
    "my-pet",
    "twin",
    "_http",
    "_tcp",
    "_udp",
    "kube-dns",
    "kube-system",
    "10-244-1-5",
    "dns-version",
    "dns",
    "ns",
    "other",
    "pub",
    "x",
]
TYPES = ["A", "AAAA", "SRV", "PTR", "TXT", "CNAME", "SOA", "NS", "MX", "ANY", "HTTPS"]
ORACLE = cluster()


def _case(draw: Any, text: str) -> str:
    flips = draw(st.lists(st.booleans(), min_size=len(text), max_size=len(text)))
    return "".join(c.upper() if f else c for c, f in zip(text, flips, strict=True))


@st.composite
def zone_queries(draw: Any) -> tuple[bytes, str, str]:
    labels = draw(st.lists(st.sampled_from(WORDS), min_size=0, max_size=5))
    name = ".".join([*labels, "cluster", "local"]) + "."
    name = _case(draw, name)
    qtype = draw(st.sampled_from(TYPES))
    header = DNSHeader(id=draw(st.integers(0, 0x0FFF)), rd=int(draw(st.booleans())))
    header.cd = int(draw(st.booleans()))
    q = DNSRecord(header, q=DNSQuestion(name, getattr(QTYPE, qtype)))
    if draw(st.booleans()):
        q.add_ar(
            EDNS0(udp_len=draw(st.integers(0, 65535)), flags="do" if draw(st.booleans()) else "")
        )
    return q.pack(), name, qtype


@settings(max_examples=2000, **SETTINGS)  # type: ignore[arg-type]
@given(case=zone_queries())
def test_fuzz_zone_queries_match_the_oracle(harness: Harness, case: tuple[bytes, str, str]) -> None:
    data, name, qtype = case
    qlen = len(DNSRecord.question(name, qtype).pack()) - 12
    harness.send_udp(data)
    while True:
        reply, _ = harness.udp.recvfrom(65535)
        if reply[:2] == data[:2] and reply[12 : 12 + qlen] == data[12 : 12 + qlen]:
            break
    rec = DNSRecord.parse(reply)
    assert str(rec.q.qname) == name  # case echoed
    want = oracle(name, qtype)
    assert rec.header.aa == 1 and rec.header.rcode == want.rcode
    # Names are compared case-insensitively (rdata names compressed against
    # the question take its case, as with CoreDNS); owners echo the query.
    answer = [line.lower() for line in got(rec.rr)]
    if not rec.header.tc:
        assert answer == [line.lower() for line in got(want.answer)]
    else:
        assert set(answer) <= {line.lower() for line in got(want.answer)}
    for rr in rec.rr:
        if str(rr.rname).lower() == name.lower():
            assert str(rr.rname) == name
    harness.probe()


def oracle(name: str, qtype: str) -> Any:
    ans = ORACLE.lookup(name, qtype)
    assert ans is not None  # every name built above is in the zone
    return ans


def test_oracle_is_the_served_cluster() -> None:
    assert isinstance(ORACLE, RecordIndex) and ORACLE.services == cluster().services
    assert QTYPE.A == 1
