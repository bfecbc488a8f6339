"""The wire layer: the strict query parser (whole, every prefix, trailing
data, hostile shapes), reply templates with truncation, and the scan /
strip / re-render path of forwarded replies."""

from __future__ import annotations

import struct

import pytest
from dnslib import EDNS0, QTYPE, RR, A, DNSRecord

from svcnet.dns.answer import Answer
from svcnet.dns.wire import (
    AD,
    QR,
    RD,
    TC,
    Drop,
    FormErr,
    encode,
    error_reply,
    make_query,
    parse_query,
    render,
    render_stored,
    scan,
    strip_opt,
)


def query(
    name: str = "Web.default.svc.cluster.local",
    qtype: str = "A",
    edns: int | None = 1232,
    do: bool = False,
) -> bytes:
    q = DNSRecord.question(name, qtype)
    q.header.id = 0x1234
    if edns is not None:
        q.add_ar(EDNS0(udp_len=edns, flags="do" if do else ""))
    return q.pack()


def test_parse_plain_query() -> None:
    q = parse_query(query(edns=None))
    assert (q.id, q.qname, q.qtype, q.qclass) == (0x1234, "web.default.svc.cluster.local.", 1, 1)
    assert q.flags & RD
    assert not q.edns and q.payload == 512 and q.udp_limit() == 512
    assert q.question == query(edns=None)[12:]
    assert q.name_raw == b"\x03web\x07default\x03svc\x07cluster\x05local\x00"


def test_parse_edns_query() -> None:
    q = parse_query(query(edns=4096, do=True))
    assert q.edns and q.payload == 4096 and q.do and q.edns_version == 0
    assert q.udp_limit() == 4096 and q.udp_limit(cap=1232) == 1232
    q = parse_query(query(edns=100))
    assert q.udp_limit() == 512  # never below 512 (RFC 6891 6.2.5)


def test_every_prefix_is_dropped_or_formerr() -> None:
    data = query()
    for i in range(len(data)):
        if i < 12:
            with pytest.raises(Drop):
                parse_query(data[:i])
        else:
            with pytest.raises(FormErr) as e:
                parse_query(data[:i])
            assert e.value.msg_id == 0x1234


def test_trailing_garbage_is_formerr() -> None:
    with pytest.raises(FormErr, match="trailing"):
        parse_query(query() + b"\x00")


def _header(qd: int = 1, an: int = 0, ns: int = 0, ar: int = 0, flags: int = RD) -> bytes:
    return struct.pack("!HHHHHH", 7, flags, qd, an, ns, ar)


Q = b"\x03web\x00\x00\x01\x00\x01"


@pytest.mark.parametrize(
    ("data", "error"),
    [
        pytest.param(_header(flags=QR) + Q, Drop, id="a response is never answered"),
        pytest.param(_header(qd=0), FormErr, id="no question"),
        pytest.param(_header(qd=2) + Q + Q, FormErr, id="two questions"),
        pytest.param(
            _header() + b"\xc0\x0c\x00\x01\x00\x01", FormErr, id="pointer in the question"
        ),
        pytest.param(_header() + b"\x40web\x00\x00\x01\x00\x01", FormErr, id="extended label type"),
        pytest.param(
            _header() + b"\x3f" + b"a" * 63 * 5 + b"\x00\x00\x01\x00\x01",
            FormErr,
            id="name over 255",
        ),
        pytest.param(
            _header(ar=1) + Q + b"\x00\x00\x29\x04\xd0\x00\x00\x00\x00\x00\x05",
            FormErr,
            id="OPT rdata runs past the end",
        ),
        pytest.param(
            _header(ar=2) + Q + (b"\x00\x00\x29\x04\xd0\x00\x00\x00\x00\x00\x00") * 2,
            FormErr,
            id="two OPT records",
        ),
        pytest.param(
            _header(an=1) + Q + b"\x00\x00\x29\x04\xd0\x00\x00\x00\x00\x00\x00",
            FormErr,
            id="OPT in the answer section",
        ),
        pytest.param(
            _header(ar=1) + Q + b"\x01a\x00\x00\x29\x04\xd0\x00\x00\x00\x00\x00\x00",
            FormErr,
            id="OPT with a non-root owner",
        ),
        pytest.param(_header(ar=1) + Q + b"\xc0\xff", FormErr, id="additional record truncated"),
    ],
)
def test_hostile_queries(data: bytes, error: type[Exception]) -> None:
    with pytest.raises(error):
        parse_query(data)


def test_odd_bytes_in_labels_are_escaped() -> None:
    data = _header() + b"\x03a.B\x04c\x00\xff \x00\x00\x01\x00\x01"
    q = parse_query(data)
    assert q.qname == "a\\046b.c\\000\\255\\032."


def test_edns_version_and_records_in_other_sections_are_read() -> None:
    opt = b"\x00\x00\x29\x04\xd0\x00\x01\x00\x00\x00\x00"  # version 1
    rr = b"\xc0\x0c\x00\x01\x00\x01\x00\x00\x00\x05\x00\x04\x01\x02\x03\x04"
    q = parse_query(_header(an=1, ar=1) + Q + rr + opt)
    assert q.edns and q.edns_version == 1 and q.payload == 1232


def _answer(n: int) -> Answer:
    owner = "big.default.svc.cluster.local."
    return Answer(
        0,
        [RR(owner, QTYPE.A, ttl=5, rdata=A(f"10.244.{i // 250}.{i % 250 + 1}")) for i in range(n)],
    )


def test_render_echoes_question_and_sets_aa() -> None:
    data = query("BIG.default.svc.cluster.local", edns=None)
    q = parse_query(data)
    reply = DNSRecord.parse(render(encode(_answer(2), q), q))
    assert reply.header.id == 0x1234 and reply.header.aa and reply.header.rd and not reply.header.ra
    assert str(reply.q.qname) == "BIG.default.svc.cluster.local."
    assert [str(rr.rname) for rr in reply.rr] == [
        "BIG.default.svc.cluster.local."
    ] * 2  # compressed to it


def test_template_is_memoised_on_the_answer() -> None:
    q = parse_query(query())
    ans = _answer(3)
    assert encode(ans, q) is encode(ans, q)


def test_udp_truncation_keeps_whole_records_and_sets_tc() -> None:
    q = parse_query(query("big.default.svc.cluster.local"))  # EDNS 1232
    ans = _answer(300)
    full = render(encode(ans, q), q)
    assert len(full) > 1232
    assert len(DNSRecord.parse(full).rr) == 300
    small = render(encode(ans, q), q, q.udp_limit())
    assert len(small) <= 1232
    rec = DNSRecord.parse(small)
    assert rec.header.tc == 1
    assert 0 < len(rec.rr) < 300
    assert [rr.rtype for rr in rec.ar] == [QTYPE.OPT]  # the OPT survives truncation


def test_error_replies() -> None:
    assert error_reply(None, 9, RD | (2 << 11), 1) == struct.pack(
        "!HHHHHH", 9, QR | RD | (2 << 11) | 1, 0, 0, 0, 0
    )
    q = parse_query(query(edns=1232))
    rec = DNSRecord.parse(error_reply(q, q.id, q.flags, 16))  # BADVERS: extended rcode in the OPT
    assert rec.header.rcode == 0
    assert rec.ar[0].rtype == QTYPE.OPT and (rec.ar[0].ttl >> 24) == 1


def _upstream_reply(q_wire: bytes, ttl: int = 300, edns: bool = True) -> bytes:
    req = DNSRecord.parse(q_wire)
    rep = req.reply()
    rep.header.ad = 1
    rep.add_answer(RR(req.q.qname, QTYPE.A, ttl=ttl, rdata=A("192.0.2.1")))
    rep.add_answer(RR(req.q.qname, QTYPE.A, ttl=ttl + 10, rdata=A("192.0.2.2")))
    rep.ar = [rr for rr in rep.ar if rr.rtype != QTYPE.OPT]
    if edns:
        rep.add_ar(EDNS0(udp_len=4096))
    return rep.pack()


def test_scan_strip_and_rerender_forwarded_reply() -> None:
    client = parse_query(query("Example.COM", do=False))
    up = make_query(0xBEEF, client)
    assert parse_query(up).edns  # we always offer EDNS upstream
    data = _upstream_reply(up)
    s = scan(data)
    assert s.id == 0xBEEF and s.min_answer_ttl == 300 and s.opt is not None
    stored = strip_opt(data, s)
    out = DNSRecord.parse(render_stored(stored, client, elapsed=100))
    assert out.header.id == client.id and out.header.ad == 0 and not out.header.aa
    assert str(out.q.qname) == "Example.COM."
    assert sorted(rr.ttl for rr in out.rr) == [200, 210]
    assert [rr.rtype for rr in out.ar] == [QTYPE.OPT]
    # A client without EDNS gets no OPT; one that asks DNSSEC keeps AD.
    plain = parse_query(query("example.com", edns=None))
    assert DNSRecord.parse(render_stored(stored, plain, 0)).ar == []
    assert DNSRecord.parse(render_stored(stored, parse_query(query(do=True)), 0)).header.ad == 1


def test_rerender_too_big_for_udp_is_empty_with_tc() -> None:
    client = parse_query(query("example.com", edns=None))
    stored = strip_opt(data := _upstream_reply(make_query(1, client)), scan(data))
    out = render_stored(stored, client, 0, limit=40)
    rec = DNSRecord.parse(out)
    assert rec.header.tc == 1 and rec.rr == [] and out[2] & (TC >> 8)


def test_scan_negative_ttl_from_soa() -> None:
    req = DNSRecord.question("nope.example.com")
    rep = req.reply()
    rep.header.rcode = 3
    rep.add_auth(*RR.fromZone("example.com. 900 IN SOA ns.example.com. h.example.com. 1 2 3 4 60"))
    assert scan(rep.pack()).negative_ttl == 60


def test_ad_flag_constant() -> None:
    assert AD == 0x20
