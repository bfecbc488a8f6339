"""ICMP echo ("ping") without iputils: real packets from the current netns.

Machines running the lab need not have ``ping`` installed, and tests must
show real packets either way. `icmp_echo` sends one echo request over a raw
socket of the calling thread's network namespace and waits for the matching
reply (same identifier, sequence and source). ``python -m svcnet.lab.probe
ping [-c N] [-W SECONDS] IP`` speaks ping's flags and exit status (0 when at
least one reply came back, 1 otherwise), so ``ip netns exec NS`` can run it.
Needs CAP_NET_RAW (the lab runs as root).
"""

from __future__ import annotations

import argparse
import ipaddress
import random
import select
import socket
import struct
import sys
import time
from collections.abc import Sequence

ICMP_ECHO_REQUEST = 8
ICMP_ECHO_REPLY = 0
ICMP6_ECHO_REQUEST = 128
ICMP6_ECHO_REPLY = 129


def _checksum(data: bytes) -> int:
    if len(data) % 2:
        data += b"\0"
    total = sum(struct.unpack(f"!{len(data) // 2}H", data))
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return ~total & 0xFFFF


def echo_request(ident: int, seq: int, payload: bytes, v6: bool = False) -> bytes:
    """An ICMP(v6) echo request; the kernel fills the ICMPv6 checksum."""
    kind = ICMP6_ECHO_REQUEST if v6 else ICMP_ECHO_REQUEST
    header = struct.pack("!BBHHH", kind, 0, 0, ident, seq)
    if v6:
        return header + payload
    csum = _checksum(header + payload)
    return struct.pack("!BBHHH", kind, 0, csum, ident, seq) + payload


def parse_echo_reply(packet: bytes, v6: bool = False) -> tuple[int, int] | None:
    """(identifier, sequence) of an echo reply, else None.

    IPv4 raw sockets deliver the IP header; IPv6 ones do not.
    """
    if not v6:
        if len(packet) < 20:
            return None
        packet = packet[(packet[0] & 0x0F) * 4 :]
    if len(packet) < 8:
        return None
    kind, _code, _csum, ident, seq = struct.unpack("!BBHHH", packet[:8])
    if kind != (ICMP6_ECHO_REPLY if v6 else ICMP_ECHO_REPLY):
        return None
    return ident, seq


def icmp_echo(ip: str, timeout: float = 1.0, seq: int = 1) -> float | None:
    """Round-trip time in seconds of one echo to ``ip``, or None on timeout."""
    addr = ipaddress.ip_address(ip)
    v6 = addr.version == 6
    family, proto = (
        (socket.AF_INET6, socket.IPPROTO_ICMPV6) if v6 else (socket.AF_INET, socket.IPPROTO_ICMP)
    )
    ident = random.getrandbits(16)
    with socket.socket(family, socket.SOCK_RAW, proto) as sock:
        start = time.monotonic()
        try:
            sock.sendto(echo_request(ident, seq, b"svcnet-probe", v6), (str(addr), 0))
        except OSError:  # no route / unreachable: like ping, just no reply
            return None
        deadline = start + timeout
        while (left := deadline - time.monotonic()) > 0:
            ready, _, _ = select.select([sock], [], [], left)
            if not ready:
                break
            data, src = sock.recvfrom(65535)
            if ipaddress.ip_address(src[0].split("%")[0]) != addr:
                continue
            if parse_echo_reply(data, v6) == (ident, seq):
                return time.monotonic() - start
    return None


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m svcnet.lab.probe")
    sub = parser.add_subparsers(dest="cmd", required=True)
    ping = sub.add_parser("ping", help="ICMP echo, like ping -c N -W T")
    ping.add_argument("-c", "--count", type=int, default=1)
    ping.add_argument("-W", "--timeout", type=float, default=1.0)
    ping.add_argument("ip")
    args = parser.parse_args(argv)
    replies = 0
    for seq in range(1, args.count + 1):
        rtt = icmp_echo(args.ip, args.timeout, seq)
        if rtt is None:
            print(f"no reply from {args.ip}: icmp_seq={seq}")
        else:
            replies += 1
            print(f"reply from {args.ip}: icmp_seq={seq} time={rtt * 1000:.3f} ms")
    print(f"{args.count} packets transmitted, {replies} received")
    return 0 if replies else 1


if __name__ == "__main__":
    sys.exit(main())
