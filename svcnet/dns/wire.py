"""DNS messages on the wire: a strict query parser and reply templates. Sans-I/O.

Theory of operation. The hot path never builds a message object:

* `parse_query(data)` reads the header, the one question and any OPT
  record straight from the bytes (RFC 1035 4.1, RFC 6891) into a `Query`;
  it raises `Drop` for what must not be answered (no header, or a
  response) and `FormErr` for a readable header followed by nonsense.
* `encode(answer, query)` packs an index `Answer` ONCE, with dnslib, into a
  `Template`: the reply for the lowercase question without header or OPT,
  plus where each answer record ends. Templates are memoised on the Answer.
* `render(template, query, limit)` splices the template behind a fresh
  header and the query's own question bytes (so the query's case is echoed,
  including in every owner name compressed against it), appends an OPT
  when the query had one, and, when the reply exceeds ``limit`` (UDP),
  keeps the answer records that fit and sets TC (RFC 2181 9, as CoreDNS's
  truncation does). Compression pointers only point backwards, so any
  prefix of the answer section is valid on its own.

The forwarder's side: `scan(data)` walks any message (bounds-checked,
pointers never followed, so it always terminates) and records where each
record's TTL sits, the OPT record, and the SOA minimum for negative
caching. `strip_opt`/`Stored` keep an upstream reply without its OPT so
it can be re-rendered for any client (`render_stored`), TTLs aged in place.

Invariants: nothing here raises anything but `WireError` subclasses on
hostile input; a rendered reply always carries the query's ID, the query's
question bytes and, iff the query had EDNS, exactly one OPT record.
"""

from __future__ import annotations

import bisect
import re
import struct
from dataclasses import dataclass

from dnslib import QTYPE
from dnslib.label import DNSBuffer, DNSLabel

from svcnet.dns.answer import Answer
from svcnet.dns.errors import DNSError

__all__ = [
    "Drop",
    "FormErr",
    "Query",
    "Scan",
    "Stored",
    "Template",
    "WireError",
    "encode",
    "error_reply",
    "make_query",
    "parse_query",
    "render",
    "render_stored",
    "scan",
]

QR, AA, TC, RD, RA, AD, CD = 0x8000, 0x0400, 0x0200, 0x0100, 0x0080, 0x0020, 0x0010
OPCODE_MASK = 0x7800
T_OPT = 41
T_SOA = 6
CLASS_IN = 1
MAX_UDP = 512
OUR_PAYLOAD = 1232  # the size we advertise (DNS flag day 2020)
RCODE_BADVERS = 16

_HEADER = struct.Struct("!HHHHHH")
_PLAIN = re.compile(rb"[A-Za-z0-9_\-*]+\Z")


class WireError(DNSError):
    """A message the server cannot use."""


class Drop(WireError):
    """Not answerable: too short for a header, or not a query."""


class FormErr(WireError):
    """A readable header followed by a malformed message (answer FORMERR)."""

    def __init__(self, msg_id: int, flags: int, reason: str) -> None:
        super().__init__(reason)
        self.msg_id = msg_id
        self.flags = flags


@dataclass(slots=True)
class Query:
    """One parsed query. ``qname`` is lowercase presentation form with a
    trailing dot; ``question`` the raw question section as sent."""

    id: int
    flags: int
    qname: str
    qtype: int
    qclass: int
    question: bytes
    name_raw: bytes  # the question name, lowercase wire form
    edns: bool = False
    payload: int = MAX_UDP
    do: bool = False
    edns_version: int = 0

    @property
    def opcode(self) -> int:
        return (self.flags & OPCODE_MASK) >> 11

    def udp_limit(self, cap: int = 4096) -> int:
        """Largest UDP reply the client accepts (RFC 6891 6.2.5), at most ``cap``."""
        return min(max(MAX_UDP, self.payload), cap) if self.edns else MAX_UDP


def _label_text(label: bytes) -> str:
    if _PLAIN.match(label):
        return label.lower().decode("ascii")
    out = []
    for b in label.lower():
        c = chr(b)
        if (c.isalnum() and b < 128) or c in "-_*":
            out.append(c)
        else:
            out.append(f"\\{b:03d}")
    return "".join(out)


def _skip_name(data: bytes, pos: int) -> int:
    """Position after the (possibly compressed) name at ``pos``."""
    n = len(data)
    while True:
        if pos >= n:
            raise WireError("name runs past the end")
        ln = data[pos]
        if ln == 0:
            return pos + 1
        if ln & 0xC0 == 0xC0:
            if pos + 2 > n:
                raise WireError("truncated pointer")
            return pos + 2
        if ln & 0xC0:
            raise WireError("unknown label type")
        pos += 1 + ln


def parse_query(data: bytes) -> Query:
    """Parse a query (see the module docstring for Drop/FormErr)."""
    if type(data) is not bytes:
        data = bytes(data)
    if len(data) < 12:
        raise Drop("shorter than a header")
    msg_id, flags, qd, an, ns, ar = _HEADER.unpack_from(data)
    if flags & QR:
        raise Drop("a response")
    if qd != 1:
        raise FormErr(msg_id, flags, f"{qd} questions")
    pos = 12
    n = len(data)
    labels: list[bytes] = []
    total = 1
    while True:
        if pos >= n:
            raise FormErr(msg_id, flags, "question name runs past the end")
        ln = data[pos]
        if ln == 0:
            pos += 1
            break
        if ln & 0xC0:
            raise FormErr(msg_id, flags, "compressed or extended label in the question")
        total += ln + 1
        if total > 255 or pos + 1 + ln > n:
            raise FormErr(msg_id, flags, "bad question name")
        labels.append(data[pos + 1 : pos + 1 + ln])
        pos += 1 + ln
    if pos + 4 > n:
        raise FormErr(msg_id, flags, "question truncated")
    qtype, qclass = struct.unpack_from("!HH", data, pos)
    name_end = pos
    pos += 4
    question = data[12:pos]
    q = Query(
        msg_id,
        flags,
        ".".join(map(_label_text, labels)) + "." if labels else ".",
        qtype,
        qclass,
        bytes(question),
        data[12:name_end].lower(),
    )
    if an or ns or ar:
        try:
            pos = _read_rest(data, pos, an + ns, ar, q)
        except WireError as e:
            raise FormErr(msg_id, flags, str(e)) from None
    if pos != n:
        raise FormErr(msg_id, flags, f"{n - pos} bytes of trailing garbage")
    return q


def _read_rest(data: bytes, pos: int, skip: int, ar: int, q: Query) -> int:
    n = len(data)
    for i in range(skip + ar):
        start = pos
        pos = _skip_name(data, pos)
        if pos + 10 > n:
            raise WireError("record header truncated")
        rtype, rclass, ttl, rdlen = struct.unpack_from("!HHIH", data, pos)
        pos += 10 + rdlen
        if pos > n:
            raise WireError("record data truncated")
        if rtype == T_OPT:
            if i < skip or q.edns or data[start] != 0:
                raise WireError("misplaced or repeated OPT record")
            q.edns = True
            q.payload = rclass
            q.edns_version = (ttl >> 16) & 0xFF
            q.do = bool(ttl & 0x8000)
    return pos


def _opt(q: Query, ext_rcode: int = 0) -> bytes:
    return b"\x00" + struct.pack(
        "!HHBBHH", T_OPT, OUR_PAYLOAD, ext_rcode, 0, 0x8000 if q.do else 0, 0
    )


def error_reply(q: Query | None, msg_id: int, flags: int, rcode: int) -> bytes:
    """A reply with no records: FORMERR/NOTIMP/REFUSED/SERVFAIL/BADVERS.

    With a parsed query the question (and an OPT, when it had one) is
    echoed; without one (FORMERR) only the header is sent.
    """
    out_flags = QR | (flags & (OPCODE_MASK | RD | CD))
    if q is None:
        return _HEADER.pack(msg_id, out_flags | (rcode & 0xF), 0, 0, 0, 0)
    opt = _opt(q, rcode >> 4) if q.edns else b""
    header = _HEADER.pack(msg_id, out_flags | (rcode & 0xF), 1, 0, 0, 1 if opt else 0)
    return header + q.question + opt


# -- zone answers ----------------------------------------------------------------


@dataclass(slots=True)
class Template:
    """A packed reply minus header and OPT (see `encode`)."""

    flags: int
    body: bytes  # everything after the question
    an: int
    ns: int
    ar: int
    an_ends: list[int]  # end of each answer record, relative to body


def encode(answer: Answer, q: Query) -> Template:
    """Pack ``answer`` for ``q``'s question once (memoised on the answer)."""
    t = answer.wire
    if isinstance(t, Template):
        return t
    buf = DNSBuffer()
    buf.pack("!HHHHHH", 0, 0, 0, 0, 0, 0)
    name = q.name_raw
    labels = []
    i = 0
    while name[i]:
        labels.append(name[i + 1 : i + 1 + name[i]])
        i += 1 + name[i]
    buf.encode_name(DNSLabel(labels))
    buf.pack("!HH", q.qtype, q.qclass)
    start = buf.offset
    ends = []
    for rr in answer.answer:
        rr.pack(buf)
        ends.append(buf.offset - start)
    for rr in answer.authority:
        rr.pack(buf)
    for rr in answer.additional:
        rr.pack(buf)
    t = Template(
        QR | AA | (answer.rcode & 0xF),
        bytes(buf.data[start:]),
        len(answer.answer),
        len(answer.authority),
        len(answer.additional),
        ends,
    )
    answer.wire = t
    return t


def render(t: Template, q: Query, limit: int = 65535) -> bytes:
    """The reply to ``q`` from template ``t``, truncated to ``limit`` bytes."""
    flags = t.flags | (q.flags & (RD | CD))
    opt = _opt(q) if q.edns else b""
    size = 12 + len(q.question) + len(t.body) + len(opt)
    if size <= limit:
        header = _HEADER.pack(q.id, flags, 1, t.an, t.ns, t.ar + (1 if opt else 0))
        return header + q.question + t.body + opt
    room = limit - 12 - len(q.question) - len(opt)
    k = bisect.bisect_right(t.an_ends, room)
    body = t.body[: t.an_ends[k - 1]] if k else b""
    header = _HEADER.pack(q.id, flags | TC, 1, k, 0, 1 if opt else 0)
    return header + q.question + body + opt


# -- forwarded answers ----------------------------------------------------------------


@dataclass(slots=True)
class Scan:
    """Where things are in a message (see `scan`)."""

    id: int
    flags: int
    counts: tuple[int, int, int, int]
    question_end: int
    name_raw: bytes  # lowercase question name, wire form ("" when qd != 1)
    qtype: int
    qclass: int
    ttls: list[tuple[int, int]]  # (offset of the TTL field, TTL) for non-OPT records
    opt: tuple[int, int] | None  # (start, end) of the OPT record
    min_answer_ttl: int | None
    negative_ttl: int | None  # min(SOA TTL, SOA minimum) of an authority SOA


def scan(data: bytes) -> Scan:
    """Walk a whole message; raises WireError when it is malformed."""
    if len(data) < 12:
        raise WireError("shorter than a header")
    msg_id, flags, qd, an, ns, ar = _HEADER.unpack_from(data)
    pos = 12
    name_raw, qtype, qclass = b"", 0, 0
    for _ in range(qd):
        end = _skip_name(data, pos)
        if end + 4 > len(data):
            raise WireError("question truncated")
        if qd == 1:
            name_raw = data[pos:end].lower()
            qtype, qclass = struct.unpack_from("!HH", data, end)
        pos = end + 4
    question_end = pos
    ttls: list[tuple[int, int]] = []
    opt = None
    min_ttl = None
    negative = None
    n = len(data)
    for i in range(an + ns + ar):
        start = pos
        pos = _skip_name(data, pos)
        if pos + 10 > n:
            raise WireError("record header truncated")
        rtype, _rclass, ttl, rdlen = struct.unpack_from("!HHIH", data, pos)
        rdata = pos + 10
        end = rdata + rdlen
        if end > n:
            raise WireError("record data truncated")
        if rtype == T_OPT:
            if opt is not None or i < an + ns:
                raise WireError("misplaced or repeated OPT record")
            opt = (start, end)
        else:
            ttls.append((pos + 4, ttl))
            if i < an:
                min_ttl = ttl if min_ttl is None else min(min_ttl, ttl)
            elif i < an + ns and rtype == T_SOA:
                p = _skip_name(data, _skip_name(data, rdata))
                if p + 20 <= end:
                    minimum = struct.unpack_from("!I", data, p + 16)[0]
                    negative = min(ttl, minimum)
        pos = end
    if pos != n:
        raise WireError("trailing garbage")
    return Scan(
        msg_id,
        flags,
        (qd, an, ns, ar),
        question_end,
        name_raw,
        qtype,
        qclass,
        ttls,
        opt,
        min_ttl,
        negative,
    )


@dataclass(slots=True)
class Stored:
    """An upstream reply kept for re-rendering: no header, question or OPT."""

    flags: int
    an: int
    ns: int
    ar: int
    body: bytes
    ttls: list[tuple[int, int]]  # (offset in body, original TTL)


def strip_opt(data: bytes, s: Scan) -> Stored:
    """``data`` (scanned as ``s``) without header, question and OPT record."""
    qe = s.question_end
    body = data[qe:]
    ar = s.counts[3]
    if s.opt is not None:
        a, b = s.opt
        body = data[qe:a] + data[b:]
        ar -= 1
        ttls = [(off - qe if off < a else off - qe - (b - a), ttl) for off, ttl in s.ttls]
    else:
        ttls = [(off - qe, ttl) for off, ttl in s.ttls]
    return Stored(s.flags, s.counts[1], s.counts[2], ar, body, ttls)


def render_stored(st: Stored, q: Query, elapsed: int, limit: int = 65535) -> bytes:
    """A stored upstream reply for ``q``, TTLs aged by ``elapsed`` seconds.

    Too big for ``limit``: an empty reply with TC set (the client retries
    over TCP). AA is cleared (we answer from a cache, not the zone), RD and
    CD come from the query, AD only survives for a client that asked DNSSEC.
    """
    body = st.body
    if elapsed > 0 and st.ttls:
        buf = bytearray(body)
        for off, ttl in st.ttls:
            struct.pack_into("!I", buf, off, max(0, ttl - elapsed))
        body = bytes(buf)
    keep_ad = AD if (q.do or q.flags & AD) else 0
    flags = QR | (st.flags & (TC | RA | keep_ad | 0xF)) | (q.flags & (RD | CD))
    opt = _opt(q) if q.edns else b""
    if 12 + len(q.question) + len(body) + len(opt) > limit:
        return _HEADER.pack(q.id, flags | TC, 1, 0, 0, 1 if opt else 0) + q.question + opt
    header = _HEADER.pack(q.id, flags, 1, st.an, st.ns, st.ar + (1 if opt else 0))
    return header + q.question + body + opt


def make_query(msg_id: int, q: Query, edns: bool = True) -> bytes:
    """The query we send upstream for ``q``: its question, RD, CD, our OPT."""
    flags = RD | (q.flags & CD)
    opt = b""
    if edns:
        opt = b"\x00" + struct.pack("!HHBBHH", T_OPT, OUR_PAYLOAD, 0, 0, 0x8000 if q.do else 0, 0)
    return _HEADER.pack(msg_id, flags, 1, 0, 0, 1 if opt else 0) + q.question + opt


def qtype_name(qtype: int) -> str:
    """CoreDNS's metric label for a query type (uncommon types are "other")."""
    return _TYPE_LABELS.get(qtype, "other")


_TYPE_LABELS = {
    int(getattr(QTYPE, t)): t
    for t in (
        "A",
        "AAAA",
        "NS",
        "PTR",
        "SOA",
        "CNAME",
        "MX",
        "TXT",
        "SRV",
        "NAPTR",
        "DS",
        "DNSKEY",
        "RRSIG",
        "NSEC",
        "NSEC3",
        "HINFO",
        "IXFR",
        "AXFR",
        "ANY",
        "HTTPS",
        "SVCB",
        "CAA",
    )
    if hasattr(QTYPE, t)
}
