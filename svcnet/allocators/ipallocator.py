"""ClusterIP allocation over service CIDRs (upstream ``ipallocator/bitmap.go``).

Theory of operation
-------------------
An :class:`IPRange` maps the usable addresses of a service CIDR to bitmap
offsets; a :class:`ClusterIPAllocator` is a :class:`~.bitmap.Bitmap` over
that range, taking and returning IP strings; a :class:`DualStackAllocator`
(:mod:`.dualstack`) holds one allocator per configured family.

Layout of a range (upstream's ``Range``)::

    CIDR 10.0.0.0/24:   .0   .1  .2  ...  .16 | .17 ... .254  .255
    offset:              -    0   1  ...   15 | 16  ...  253    -
                      network  static band     dynamic band   broadcast

- The network address is never usable; for IPv4 neither is the broadcast
  address. They are excluded from the bitmap (not allocated in it), so they
  can never be released either, and asking for them is :class:`NotInRange`.
- IPv6 has no broadcast address, but the bitmap is capped at 65536 slots like
  upstream, so a range larger than /112 only uses its first 65535 addresses
  after the network address; later addresses are :class:`NotInRange`.
- ``first_ip`` (offset 0, network + 1) is what kube-apiserver gives to
  Service ``default/kubernetes``.
- The static band holds :func:`static_band_size` addresses (KEP-3070):
  ``min(max(16, n // 16), 256)`` where ``n`` is the CIDR's address count
  (network and broadcast included), and 0 when ``n <= 16``. A /24 has 16, a
  /20 and anything larger 256, a /28 none.

Invariants: every offset stored in the bitmap is that of a usable address;
``used() + free() == size``; the allocators never do I/O and never lock
(the API server serialises access and persists :meth:`snapshot` with
compare-and-swap, see :mod:`svcnet.allocators`).
"""

from __future__ import annotations

import ipaddress
import random
from collections.abc import Iterator

from svcnet.allocators.bitmap import Bitmap, RangeSnapshot, band_size
from svcnet.allocators.errors import AlreadyAllocated, InvalidRange, MismatchedRange, NotInRange

IPV4 = "IPv4"
IPV6 = "IPv6"

# Upstream keeps at most this many IPv6 slots (the bitmap is stored in etcd).
IPV6_MAX_SLOTS = 65536

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPLike = str | IPAddress


def static_band_size(cidr_size: int) -> int:
    """KEP-3070 static band of a service CIDR with ``cidr_size`` addresses."""
    return band_size(cidr_size, minimum=16, step=16, maximum=256)


def parse_ip(ip: IPLike) -> IPAddress | None:
    """``ip`` as an address object, or None when it is not an IP."""
    if isinstance(ip, ipaddress.IPv4Address | ipaddress.IPv6Address):
        return ip
    try:
        return ipaddress.ip_address(ip)
    except ValueError:
        return None


def family_of(ip: IPLike) -> str | None:
    """``"IPv4"``, ``"IPv6"`` (the ``ipFamilies`` values), or None if not an IP."""
    addr = parse_ip(ip)
    if addr is None:
        return None
    return IPV4 if addr.version == 4 else IPV6


class IPRange:
    """The usable addresses of one service CIDR and their bitmap offsets.

    Raises:
        InvalidRange: ``cidr`` is not a CIDR. Host bits are masked, like
            upstream's ``ParseCIDRSloppy`` (``10.96.0.5/16`` is ``10.96.0.0/16``).
    """

    __slots__ = ("base", "cidr", "family", "network", "size", "static_band")

    def __init__(self, cidr: str) -> None:
        try:
            net = ipaddress.ip_network(cidr.strip(), strict=False)
        except ValueError as e:
            raise InvalidRange(f"invalid CIDR {cidr!r}: {e}") from e
        self.network = net
        self.cidr = str(net)
        self.family = IPV4 if net.version == 4 else IPV6
        self.base = int(net.network_address) + 1  # offset 0
        total = net.num_addresses
        if net.version == 6:
            usable = min(total, IPV6_MAX_SLOTS) - 1
        else:
            usable = total - 2
        self.size = max(0, usable)
        self.static_band = static_band_size(total) if self.size else 0

    @property
    def first_ip(self) -> str | None:
        """The first usable address (Service ``default/kubernetes``), None if none."""
        return self.ip_at(0) if self.size else None

    def offset(self, ip: IPLike) -> int | None:
        """Bitmap offset of ``ip``, or None if it is not a usable address here."""
        addr = parse_ip(ip)
        if addr is None or addr.version != self.network.version:
            return None
        off = int(addr) - self.base
        return off if 0 <= off < self.size else None

    def contains(self, ip: IPLike) -> bool:
        """Whether ``ip`` is a usable address of this range."""
        return self.offset(ip) is not None

    def ip_at(self, offset: int) -> str:
        """The address at bitmap ``offset`` (no bounds check beyond the family)."""
        cls = ipaddress.IPv4Address if self.network.version == 4 else ipaddress.IPv6Address
        return str(cls(self.base + offset))

    def __str__(self) -> str:
        return self.cidr

    def __repr__(self) -> str:
        return f"IPRange({self.cidr!r})"


class ClusterIPAllocator:
    """Allocates ClusterIPs of one family from one CIDR.

    Args:
        cidr: the service CIDR (or an :class:`IPRange`).
        rng: random source for :meth:`allocate_next`; inject a seeded one in tests.
    """

    def __init__(self, cidr: str | IPRange, rng: random.Random | None = None) -> None:
        self.range = cidr if isinstance(cidr, IPRange) else IPRange(cidr)
        self._bitmap = Bitmap(
            self.range.size, self.range.static_band, rng, range_spec=self.range.cidr
        )

    # -- description -----------------------------------------------------

    @property
    def cidr(self) -> str:
        return self.range.cidr

    @property
    def family(self) -> str:
        return self.range.family

    @property
    def first_ip(self) -> str | None:
        """Network address + 1: reserved by convention for ``default/kubernetes``."""
        return self.range.first_ip

    @property
    def size(self) -> int:
        """Number of usable addresses."""
        return self.range.size

    @property
    def static_band(self) -> int:
        """Number of addresses in the lower (static) band."""
        return self.range.static_band

    def in_static_band(self, ip: IPLike) -> bool:
        """Whether ``ip`` is a usable address of the lower band."""
        off = self.range.offset(ip)
        return off is not None and off < self.range.static_band

    # -- operations ------------------------------------------------------

    def allocate(self, ip: IPLike) -> None:
        """Take the requested ``ip``.

        Raises:
            NotInRange: ``ip`` is not a usable address of this CIDR (other
                family, network or broadcast address, not an IP at all).
            AlreadyAllocated: ``ip`` is taken.
        """
        off = self.range.offset(ip)
        if off is None:
            addr = parse_ip(ip)
            raise NotInRange(addr if addr is not None else ip, self.cidr)
        if not self._bitmap.allocate(off):
            raise AlreadyAllocated(self.range.ip_at(off), self.cidr)

    def allocate_next(self) -> str:
        """Take a free address, upper band first, and return it.

        Raises:
            Full: no address is free.
        """
        return self.range.ip_at(self._bitmap.allocate_next())

    def release(self, ip: IPLike) -> bool:
        """Return ``ip``; a no-op (False) for free or out-of-range addresses."""
        off = self.range.offset(ip)
        return off is not None and self._bitmap.release(off)

    def has(self, ip: IPLike) -> bool:
        """Whether ``ip`` is taken (allocating it would raise AlreadyAllocated)."""
        off = self.range.offset(ip)
        return off is not None and self._bitmap.has(off)

    def contains(self, ip: IPLike) -> bool:
        """Whether ``ip`` is a usable address of this CIDR, taken or not."""
        return self.range.contains(ip)

    def free(self) -> int:
        return self._bitmap.free()

    def used(self) -> int:
        return self._bitmap.used()

    def __iter__(self) -> Iterator[str]:
        """Taken addresses, lowest first."""
        for off in self._bitmap:
            yield self.range.ip_at(off)

    # -- state -----------------------------------------------------------

    def clear(self) -> None:
        """Free every address."""
        self._bitmap.clear()

    def snapshot(self) -> RangeSnapshot:
        """The state to persist (upstream ``RangeAllocation``)."""
        return RangeSnapshot(self.cidr, self._bitmap.snapshot())

    def restore(self, snap: RangeSnapshot) -> None:
        """Load a :meth:`snapshot`.

        Raises:
            MismatchedRange: the snapshot is of another CIDR; state unchanged.
        """
        try:
            same = ipaddress.ip_network(snap.range, strict=False) == self.range.network
        except ValueError:
            same = False
        if not same:
            raise MismatchedRange(self.cidr, snap.range)
        self._bitmap.restore(snap.data)

    def copy(self, rng: random.Random | None = None) -> ClusterIPAllocator:
        """An independent allocator with the same state (e.g. for dry runs)."""
        other = ClusterIPAllocator.__new__(ClusterIPAllocator)
        other.range = self.range
        other._bitmap = self._bitmap.copy(rng)
        return other

    def __repr__(self) -> str:
        return f"ClusterIPAllocator({self.cidr!r}, used={self.used()})"
