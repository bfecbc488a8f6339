"""Dual-stack ClusterIP allocation: one :class:`ClusterIPAllocator` per IP family.

``--service-cluster-ip-range`` holds one CIDR, or two of different families
(the first is primary: the default family of SingleStack Services and of
``default/kubernetes``). :class:`DualStackAllocator` routes each address to
its family's allocator; an address of an unconfigured family is
:class:`NotInRange`. Deciding *which* families a Service gets (ipFamilyPolicy,
ipFamilies) is the API layer's job; it asks :attr:`DualStackAllocator.families`.

:func:`validate_service_cidrs` is kube-apiserver's flag validation, with its
messages, including the bitmap size limit (at most 20 host bits: /12 for
IPv4, /108 for IPv6), which :class:`IPRange` itself does not enforce.
"""

from __future__ import annotations

import ipaddress
import random
from collections.abc import Mapping, Sequence

from svcnet.allocators.bitmap import RangeSnapshot
from svcnet.allocators.errors import InvalidRange, MismatchedRange, NotInRange
from svcnet.allocators.ipallocator import ClusterIPAllocator, IPLike, family_of, parse_ip

# kube-apiserver refuses service CIDRs with more host bits than this.
MAX_CIDR_BITS = 20


def split_cidrs(cidrs: str | Sequence[str]) -> list[str]:
    """``"10.96.0.0/16,fd00::/112"`` (the flag form) or a list -> list of entries."""
    if isinstance(cidrs, str):
        return [c.strip() for c in cidrs.split(",") if c.strip()]
    return [c.strip() for c in cidrs]


def validate_service_cidrs(
    cidrs: str | Sequence[str], flag: str = "--service-cluster-ip-range"
) -> list[str]:
    """kube-apiserver's checks of ``--service-cluster-ip-range``; [] when valid.

    The messages are upstream's (``cmd/kube-apiserver/app/options/validation.go``).
    """
    entries = split_cidrs(cidrs)
    errs: list[str] = []
    if not entries:  # upstream falls back to a default range; svcnet wants one
        return [f"{flag} must be specified"]
    if len(entries) > 2:
        return [f"{flag} must not contain more than two entries"]
    nets = []
    for i, entry in enumerate(entries):
        try:
            nets.append(ipaddress.ip_network(entry, strict=False))
        except ValueError:
            what = "is not a valid cidr" if i == 0 else "is not an ip net"
            errs.append(f"{flag.lstrip('-')}[{i}] {what}")
    if errs:
        return errs
    if len(nets) == 2 and nets[0].version == nets[1].version:
        errs.append(f"{flag}[0] and {flag}[1] must be of different IP family")
    for i, net in enumerate(nets):
        bits = net.max_prefixlen
        if bits - net.prefixlen > MAX_CIDR_BITS:
            name = flag if i == 0 else f"{flag}[1]"
            errs.append(
                f"specified {name} is too large; for {bits}-bit addresses, "
                f"the mask must be >= {bits - MAX_CIDR_BITS}"
            )
    return errs


class DualStackAllocator:
    """One :class:`ClusterIPAllocator` per configured family, primary first.

    Args:
        cidrs: one or two CIDRs of different families, as a list or the
            comma-separated flag value. Size limits are not enforced here;
            run :func:`validate_service_cidrs` on configuration first.
        rng: random source shared by the families.

    Raises:
        InvalidRange: no CIDR, more than two, two of one family, or a bad CIDR.
    """

    def __init__(self, cidrs: str | Sequence[str], rng: random.Random | None = None) -> None:
        entries = split_cidrs(cidrs)
        if not 1 <= len(entries) <= 2:
            raise InvalidRange("expected one or two service CIDRs, got " + repr(entries))
        allocs = [ClusterIPAllocator(c, rng) for c in entries]
        if len(allocs) == 2 and allocs[0].family == allocs[1].family:
            raise InvalidRange(
                "--service-cluster-ip-range[0] and --service-cluster-ip-range[1] "
                "must be of different IP family"
            )
        self.by_family: dict[str, ClusterIPAllocator] = {a.family: a for a in allocs}

    @property
    def families(self) -> tuple[str, ...]:
        """Configured families, primary first (the default ``ipFamilies``)."""
        return tuple(self.by_family)

    @property
    def primary_family(self) -> str:
        return next(iter(self.by_family))

    @property
    def primary(self) -> ClusterIPAllocator:
        return self.by_family[self.primary_family]

    @property
    def is_dual_stack(self) -> bool:
        return len(self.by_family) == 2

    @property
    def cidrs(self) -> tuple[str, ...]:
        return tuple(a.cidr for a in self.by_family.values())

    @property
    def first_ip(self) -> str | None:
        """First address of the primary range (``default/kubernetes``)."""
        return self.primary.first_ip

    def __getitem__(self, family: str) -> ClusterIPAllocator:
        return self.by_family[family]

    def __contains__(self, family: object) -> bool:
        return family in self.by_family

    def get(self, family: str) -> ClusterIPAllocator | None:
        return self.by_family.get(family)

    def for_ip(self, ip: IPLike) -> ClusterIPAllocator | None:
        """The allocator of ``ip``'s family, None if unconfigured or not an IP."""
        fam = family_of(ip)
        return self.by_family.get(fam) if fam else None

    def allocate(self, ip: IPLike) -> None:
        """Take ``ip`` in its family's range (NotInRange if the family is unconfigured)."""
        alloc = self.for_ip(ip)
        if alloc is None:
            raise NotInRange(parse_ip(ip) or ip, ",".join(self.cidrs))
        alloc.allocate(ip)

    def allocate_next(self, family: str | None = None) -> str:
        """A free address of ``family`` (default: primary). KeyError if unconfigured."""
        return self.by_family[family or self.primary_family].allocate_next()

    def release(self, ip: IPLike) -> bool:
        alloc = self.for_ip(ip)
        return alloc is not None and alloc.release(ip)

    def has(self, ip: IPLike) -> bool:
        alloc = self.for_ip(ip)
        return alloc is not None and alloc.has(ip)

    def contains(self, ip: IPLike) -> bool:
        alloc = self.for_ip(ip)
        return alloc is not None and alloc.contains(ip)

    def clear(self) -> None:
        """Free every address of every family."""
        for a in self.by_family.values():
            a.clear()

    def snapshot(self) -> dict[str, RangeSnapshot]:
        """Per-family state to persist (one RangeAllocation object per family)."""
        return {fam: a.snapshot() for fam, a in self.by_family.items()}

    def restore(self, snaps: Mapping[str, RangeSnapshot]) -> None:
        """Load per-family snapshots; families missing from ``snaps`` are left as they are.

        Raises:
            MismatchedRange: a snapshot does not match its family's CIDR.
        """
        for fam, snap in snaps.items():
            alloc = self.by_family.get(fam)
            if alloc is None:
                raise MismatchedRange(",".join(self.cidrs), snap.range)
            alloc.restore(snap)

    def copy(self, rng: random.Random | None = None) -> DualStackAllocator:
        other = DualStackAllocator.__new__(DualStackAllocator)
        other.by_family = {f: a.copy(rng) for f, a in self.by_family.items()}
        return other

    def __repr__(self) -> str:
        return f"DualStackAllocator({list(self.cidrs)!r})"
