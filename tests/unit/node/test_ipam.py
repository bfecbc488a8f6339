"""Pod IPAM: CNI host-local semantics (plugins/ipam/host-local).

Rules checked: the network address, the gateway and the IPv4 broadcast are
never handed out (range.go canonicalize / lastIP); allocation is
round-robin from ``last_reserved_ip`` (allocator.go GetIter); one file per
IP holding the owner, so a restart keeps allocations (disk backend);
"no IP addresses available in range set" when full.
"""

from __future__ import annotations

import ipaddress
import os
from dataclasses import dataclass
from pathlib import Path

import pytest

from svcnet.node.ipam import (
    InvalidOwner,
    InvalidRange,
    IPRange,
    PodIPAM,
    RangeFull,
    parse_allocation,
)


def ips(*values: str) -> set:
    return {ipaddress.ip_address(v) for v in values}


# --- pure range --------------------------------------------------------------


@dataclass(frozen=True)
class RangeCase:
    id: str
    cidr: str
    start: str
    end: str
    gateway: str | None
    size: int
    kwargs: dict | None = None


RANGE_CASES = [
    RangeCase(
        "v4 /24: .1 gateway, no network, no broadcast",
        "10.244.1.0/24",
        "10.244.1.1",
        "10.244.1.254",
        "10.244.1.1",
        253,
    ),
    RangeCase(
        "host bits ignored", "10.244.1.7/24", "10.244.1.1", "10.244.1.254", "10.244.1.1", 253
    ),
    RangeCase("v4 /30: one pod", "10.0.0.0/30", "10.0.0.1", "10.0.0.2", "10.0.0.1", 1),
    RangeCase(
        "v6 /64 keeps the last address",
        "fd00:10:244:1::/64",
        "fd00:10:244:1::1",
        "fd00:10:244:1:ffff:ffff:ffff:ffff",
        "fd00:10:244:1::1",
        2**64 - 2,
    ),
    RangeCase("no gateway", "10.0.0.0/29", "10.0.0.1", "10.0.0.6", None, 6, {"gateway": None}),
    RangeCase(
        "explicit gateway",
        "10.0.0.0/29",
        "10.0.0.1",
        "10.0.0.6",
        "10.0.0.6",
        5,
        {"gateway": "10.0.0.6"},
    ),
    RangeCase(
        "narrowed range",
        "10.0.0.0/24",
        "10.0.0.100",
        "10.0.0.109",
        "10.0.0.1",
        10,
        {"range_start": "10.0.0.100", "range_end": "10.0.0.109"},
    ),
]


@pytest.mark.parametrize("c", RANGE_CASES, ids=lambda c: c.id)
def test_range(c: RangeCase) -> None:
    r = IPRange.from_cidr(c.cidr, **(c.kwargs or {}))
    assert (str(r.start), str(r.end)) == (c.start, c.end)
    assert (str(r.gateway) if r.gateway else None) == c.gateway
    assert r.size == c.size


@pytest.mark.parametrize(
    "cidr,kwargs,match",
    [
        ("nope", {}, "invalid pod CIDR"),
        ("10.0.0.0/31", {}, "too small"),
        ("fd00::1/128", {}, "too small"),
        ("10.0.0.0/24", {"gateway": "10.0.1.1"}, "not in"),
        ("10.0.0.0/24", {"range_start": "10.0.0.0"}, "not inside"),
        ("10.0.0.0/24", {"range_end": "10.0.0.255"}, "not inside"),
        ("10.0.0.0/24", {"range_start": "10.0.0.9", "range_end": "10.0.0.5"}, "not inside"),
        ("10.0.0.0/24", {"range_start": "x"}, "invalid range start"),
    ],
)
def test_invalid_ranges(cidr: str, kwargs: dict, match: str) -> None:
    with pytest.raises(InvalidRange, match=match):
        IPRange.from_cidr(cidr, **kwargs)


@dataclass(frozen=True)
class NextCase:
    id: str
    cidr: str
    used: tuple[str, ...]
    last: str | None
    want: str


NEXT_CASES = [
    NextCase("first is .2 (skips the gateway)", "10.0.0.0/24", (), None, "10.0.0.2"),
    NextCase("continues after last reserved", "10.0.0.0/24", (), "10.0.0.7", "10.0.0.8"),
    NextCase("skips used", "10.0.0.0/24", ("10.0.0.8", "10.0.0.9"), "10.0.0.7", "10.0.0.10"),
    NextCase(
        "wraps past the end, skipping the gateway",
        "10.0.0.0/29",
        ("10.0.0.3",),
        "10.0.0.6",
        "10.0.0.2",
    ),
    NextCase(
        "a freed IP is not reused at once",
        "10.0.0.0/29",
        ("10.0.0.2", "10.0.0.4"),
        "10.0.0.4",
        "10.0.0.5",
    ),
    NextCase(
        "last outside the range restarts at the start", "10.0.0.0/24", (), "192.168.0.1", "10.0.0.2"
    ),
    NextCase("v6", "fd00:10:244:1::/64", ("fd00:10:244:1::2",), None, "fd00:10:244:1::3"),
    NextCase("v6 wraps from the last address", "fd00::/120", (), "fd00::ff", "fd00::2"),
]


@pytest.mark.parametrize("c", NEXT_CASES, ids=lambda c: c.id)
def test_next_free(c: NextCase) -> None:
    r = IPRange.from_cidr(c.cidr)
    last = ipaddress.ip_address(c.last) if c.last else None
    assert str(r.next_free(ips(*c.used), last)) == c.want


def test_next_free_full_range() -> None:
    r = IPRange.from_cidr("10.0.0.0/29")  # .2-.6 allocatable
    used = ips(*(f"10.0.0.{i}" for i in range(2, 7)))
    with pytest.raises(
        RangeFull, match=r"no IP addresses available in range set: 10\.0\.0\.1-10\.0\.0\.6"
    ):
        r.next_free(used)
    # addresses outside the range (another family, another node) do not count
    assert str(r.next_free(ips("10.0.1.5", "fd00::2", "10.0.0.1"))) == "10.0.0.2"


def test_parse_allocation() -> None:
    assert parse_allocation("uid-1\neth0") == ("uid-1", "eth0")
    assert parse_allocation("uid-1\n") == ("uid-1", "")
    assert parse_allocation("") == ("", "")


# --- persisted allocator -----------------------------------------------------


def test_allocate_is_idempotent_and_unique(tmp_path: Path) -> None:
    ipam = PodIPAM("10.244.1.0/24", tmp_path)
    a = ipam.allocate("pod-a")
    b = ipam.allocate("pod-b")
    assert (a, b) == ("10.244.1.2", "10.244.1.3")
    assert ipam.allocate("pod-a") == a
    assert ipam.lookup("pod-b") == b
    assert ipam.owner(a) == "pod-a"
    assert ipam.allocations() == {a: "pod-a", b: "pod-b"}
    assert ipam.gateway == "10.244.1.1" and ipam.prefixlen == 24
    assert ipam.interface_address(a) == "10.244.1.2/24"


def test_files_like_host_local(tmp_path: Path) -> None:
    ipam = PodIPAM("10.244.1.0/24", tmp_path)
    ip = ipam.allocate("uid-123", ifname="eth0")
    assert (tmp_path / ip).read_text() == "uid-123\neth0"
    assert (tmp_path / "last_reserved_ip.4").read_text() == ip


def test_restart_keeps_allocations_and_position(tmp_path: Path) -> None:
    first = PodIPAM("10.244.1.0/24", tmp_path)
    a = first.allocate("pod-a")
    first.allocate("pod-b")
    first.release("pod-b")
    again = PodIPAM("10.244.1.0/24", tmp_path)  # the agent restarted
    assert again.allocate("pod-a") == a
    assert again.allocate("pod-c") == "10.244.1.4"  # .3 was just freed: not reused yet


def test_release(tmp_path: Path) -> None:
    ipam = PodIPAM("10.0.0.0/29", tmp_path)
    a = ipam.allocate("pod-a")
    assert ipam.release("pod-a") == [a]
    assert ipam.release("pod-a") == []  # idempotent
    assert ipam.lookup("pod-a") is None
    b = ipam.allocate("pod-b")
    assert ipam.release_ip(b) and not ipam.release_ip(b)


def test_never_twice_while_in_use_then_reused_when_freed(tmp_path: Path) -> None:
    ipam = PodIPAM("10.0.0.0/29", tmp_path)  # 5 addresses
    got = [ipam.allocate(f"pod-{i}") for i in range(5)]
    assert len(set(got)) == 5
    assert all(ip not in ("10.0.0.0", "10.0.0.1", "10.0.0.7") for ip in got)
    with pytest.raises(RangeFull):
        ipam.allocate("pod-5")
    ipam.release("pod-2")
    assert ipam.allocate("pod-5") == got[2]


def test_a_file_made_by_someone_else_is_respected(tmp_path: Path) -> None:
    (tmp_path / "10.0.0.2").write_text("foreign\neth0")
    ipam = PodIPAM("10.0.0.0/24", tmp_path)
    assert ipam.allocate("mine") == "10.0.0.3"


def test_garbage_collection_of_dead_owners(tmp_path: Path) -> None:
    ipam = PodIPAM("10.0.0.0/24", tmp_path)
    for uid in ("live-1", "dead-1", "live-2", "dead-2"):
        ipam.allocate(uid)
    assert ipam.release_unless({"live-1", "live-2"}) == ["10.0.0.3", "10.0.0.5"]
    assert set(ipam.allocations().values()) == {"live-1", "live-2"}


def test_ipv6_and_dual_stack_share_a_directory(tmp_path: Path) -> None:
    v4 = PodIPAM("10.244.1.0/24", tmp_path)
    v6 = PodIPAM("fd00:10:244:1::/64", tmp_path)
    assert v4.allocate("pod-a") == "10.244.1.2"
    assert v6.allocate("pod-a") == "fd00:10:244:1::2"
    assert v6.allocate("pod-b") == "fd00:10:244:1::3"
    assert v4.allocations() == {"10.244.1.2": "pod-a"}
    assert v6.gateway == "fd00:10:244:1::1" and v6.prefixlen == 64
    assert (tmp_path / "last_reserved_ip.6").read_text() == "fd00:10:244:1::3"
    assert v4.release("pod-a") == ["10.244.1.2"]
    assert v6.lookup("pod-a") == "fd00:10:244:1::2"


def test_unrelated_files_are_ignored(tmp_path: Path) -> None:
    (tmp_path / "README").write_text("hello")
    (tmp_path / "10.9.9.9").write_text("other node")
    ipam = PodIPAM("10.0.0.0/24", tmp_path)
    assert ipam.allocations() == {}


@pytest.mark.parametrize("owner", ["", "  ", "a\nb", "a\rb"])
def test_invalid_owner(tmp_path: Path, owner: str) -> None:
    with pytest.raises(InvalidOwner):
        PodIPAM("10.0.0.0/24", tmp_path).allocate(owner)


def test_state_dir_is_created(tmp_path: Path) -> None:
    d = tmp_path / "a" / "b"
    PodIPAM("10.0.0.0/24", d).allocate("x")
    assert sorted(os.listdir(d)) == ["10.0.0.2", "last_reserved_ip.4", "lock"]
