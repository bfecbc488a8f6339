"""ICMP echo encoding of the lab probe (RFC 792 / RFC 4443 echo messages)."""

from __future__ import annotations

import struct

from svcnet.lab.probe import _checksum, echo_request, parse_echo_reply


def test_echo_request_v4_has_a_valid_internet_checksum() -> None:
    pkt = echo_request(0x1234, 7, b"abc")
    assert pkt[0] == 8 and pkt[1] == 0
    assert struct.unpack("!HH", pkt[4:8]) == (0x1234, 7)
    assert _checksum(pkt) == 0  # RFC 1071: a packet with its checksum sums to 0


def test_echo_request_v6_leaves_the_checksum_to_the_kernel() -> None:
    pkt = echo_request(1, 2, b"x", v6=True)
    assert pkt[0] == 128 and pkt[2:4] == b"\0\0"


def reply_v4(ident: int, seq: int, kind: int = 0) -> bytes:
    ip_header = bytes([0x45]) + bytes(19)
    return ip_header + struct.pack("!BBHHH", kind, 0, 0, ident, seq) + b"data"


def test_parse_reply_v4_skips_the_ip_header() -> None:
    assert parse_echo_reply(reply_v4(9, 3)) == (9, 3)
    assert parse_echo_reply(reply_v4(9, 3, kind=8)) is None  # our own request
    assert parse_echo_reply(b"\x45" + bytes(10)) is None


def test_parse_reply_v6_has_no_ip_header() -> None:
    assert parse_echo_reply(struct.pack("!BBHHH", 129, 0, 0, 5, 6), v6=True) == (5, 6)
    assert parse_echo_reply(struct.pack("!BBHHH", 135, 0, 0, 5, 6), v6=True) is None  # NS
    assert parse_echo_reply(b"\x81", v6=True) is None
