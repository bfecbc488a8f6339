"""Allocation bitmap with a static and a dynamic band (upstream ``allocator/bitmap.go``).

Theory of operation
-------------------
A :class:`Bitmap` tracks ``size`` slots, offsets ``0 .. size-1``; bit ``i``
set means slot ``i`` is taken. The range types (:mod:`.ipallocator`,
:mod:`.portallocator`) map addresses and ports to offsets; the bitmap knows
nothing about them.

The slots are split at ``static_band`` (KEP-3070 for ClusterIPs, KEP-3668 for
NodePorts)::

    0 ............ static_band-1 | static_band ............ size-1
    lower ("static") band         upper ("dynamic") band

:meth:`Bitmap.allocate` (a user asked for a value) honours any free slot in
either band. :meth:`Bitmap.allocate_next` (the system picks) draws a random
start in the upper band and scans forward, wrapping inside the band; only
when the upper band is full does it do the same in the lower band. So users
who pick their values from the lower band (e.g. 10.96.0.10 for DNS) rarely
collide with dynamic allocations. This is upstream's
``randomScanStrategyWithOffset``.

Invariants
----------
- ``used() == number of set bits``, ``free() == size - used()``;
  ``_static_used`` counts the set bits below ``static_band``.
- Bits at offsets ``>= size`` (padding of the last byte) are always 0.
- ``0 <= static_band < size``, or ``static_band == size == 0``.

Complexity
----------
Bits live in a ``bytearray`` (bit ``i`` = byte ``i >> 3``, mask ``1 << (i & 7)``).
``allocate``, ``release``, ``has``, ``free`` and ``used`` are O(1).
``allocate_next`` is O(1) expected while the band is sparse: it tests at most
the 8 bits of the start byte in Python, then looks for a byte that is not
``0xff`` in the next 64 bytes with a compiled regular expression (C). Past
that window (band nearly full) it maps the rest of the band through a
256-entry ``bytes.translate`` table and ``find`` locates the first non-full byte:
one O(band/8) pass in C, about 7 µs for the 8 KiB of a /16.
``snapshot``, ``restore``, iteration and ``copy`` are O(size/8).

Snapshot format
---------------
:meth:`Bitmap.snapshot` returns the set as a big-endian unsigned integer
without leading zero bytes, bit ``i`` = offset ``i``. That is Go's
``big.Int.Bytes()``, i.e. the ``data`` of an upstream ``RangeAllocation``,
so a state written by svcnet reads the same way upstream's would.
"""

from __future__ import annotations

import base64
import random
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from svcnet.allocators.errors import Full, MismatchedRange

# First byte with a zero bit / with a set bit.
_NOT_FULL = re.compile(rb"[^\xff]")
_NOT_EMPTY = re.compile(rb"[^\x00]")
# bytes.translate table: 0xff (full byte) -> 0, any other byte -> 1.
_NOT_FULL_TABLE = bytes(0 if i == 0xFF else 1 for i in range(256))
# Bytes searched with the regex before switching to translate + find.
_WINDOW = 64


def band_size(range_size: int, *, minimum: int, step: int, maximum: int) -> int:
    """Static band size: ``min(max(minimum, range_size // step), maximum)``.

    Upstream's ``calculateRangeOffset``: ranges of ``minimum`` values or fewer
    have no static band at all (returns 0), so the band is always smaller than
    the range. ``range_size`` is the size of the configured range (for a CIDR
    the address count including network and broadcast, not the usable count).
    """
    if range_size <= minimum:
        return 0
    return min(max(minimum, range_size // step), maximum)


class Bitmap:
    """A set of ``size`` slots with upstream's two-band random scan.

    Args:
        size: number of slots.
        static_band: slots ``[0, static_band)`` form the lower band, used by
            :meth:`allocate_next` only once the upper band is full.
        rng: source of the random scan start; inject a seeded
            ``random.Random`` for reproducible tests.
        range_spec: the range this bitmap represents (e.g. ``10.96.0.0/16``);
            carried into :class:`Full` and checked by nothing else here.
    """

    __slots__ = ("_bits", "_count", "_rng", "_size", "_static", "_static_used", "range_spec")

    def __init__(
        self,
        size: int,
        static_band: int = 0,
        rng: random.Random | None = None,
        *,
        range_spec: str = "",
    ) -> None:
        if size < 0:
            raise ValueError(f"bitmap size must not be negative, got {size}")
        if not (0 <= static_band < size or static_band == size == 0):
            raise ValueError(f"static band {static_band} must be smaller than the size {size}")
        self._size = size
        self._static = static_band
        self._rng = rng if rng is not None else random.Random()
        self._bits = bytearray((size + 7) >> 3)
        self._count = 0
        self._static_used = 0
        self.range_spec = range_spec

    # -- queries ---------------------------------------------------------

    @property
    def size(self) -> int:
        """Number of slots."""
        return self._size

    @property
    def static_band(self) -> int:
        """Size of the lower band (first offset of the upper band)."""
        return self._static

    def has(self, i: int) -> bool:
        """Whether slot ``i`` is taken; False for offsets outside the bitmap."""
        if not 0 <= i < self._size:
            return False
        return bool(self._bits[i >> 3] >> (i & 7) & 1)

    def free(self) -> int:
        """Number of free slots."""
        return self._size - self._count

    def used(self) -> int:
        """Number of taken slots."""
        return self._count

    def __iter__(self) -> Iterator[int]:
        """Taken offsets in increasing order (iterates over a copy)."""
        data = bytes(self._bits)
        for m in _NOT_EMPTY.finditer(data):
            base = m.start() << 3
            b = data[m.start()]
            while b:
                low = b & -b
                yield base + low.bit_length() - 1
                b ^= low

    # -- mutations -------------------------------------------------------

    def allocate(self, i: int) -> bool:
        """Take slot ``i``.

        Returns:
            True if it was free and is now taken, False if it was taken already.
        Raises:
            IndexError: ``i`` is not an offset of this bitmap.
        """
        if not 0 <= i < self._size:
            raise IndexError(f"offset {i} out of range [0,{self._size})")
        byte, mask = i >> 3, 1 << (i & 7)
        if self._bits[byte] & mask:
            return False
        self._bits[byte] |= mask
        self._count += 1
        if i < self._static:
            self._static_used += 1
        return True

    def allocate_next(self) -> int:
        """Take a free slot, upper band first, from a random start.

        Raises:
            Full: every slot is taken.
        """
        if self._count >= self._size:
            raise Full(self.range_spec)
        lo, hi = self._static, self._size
        if (self._count - self._static_used) >= hi - lo:
            lo, hi = 0, self._static  # upper band full: fall back to the lower band
        start = lo + self._rng.randrange(hi - lo)
        at = self._first_zero(start, hi)
        if at < 0:
            at = self._first_zero(lo, start)
        if at < 0:  # the counters say the band has a free slot
            raise RuntimeError("bitmap counters out of sync with bits")
        self.allocate(at)
        return at

    def release(self, i: int) -> bool:
        """Free slot ``i``; a no-op for free slots and offsets outside the bitmap.

        Returns:
            True if the slot was taken.
        """
        if not self.has(i):
            return False
        self._bits[i >> 3] &= ~(1 << (i & 7)) & 0xFF
        self._count -= 1
        if i < self._static:
            self._static_used -= 1
        return True

    def clear(self) -> None:
        """Free every slot."""
        self._bits = bytearray(len(self._bits))
        self._count = 0
        self._static_used = 0

    # -- state -----------------------------------------------------------

    def snapshot(self) -> bytes:
        """The taken set as upstream ``RangeAllocation.data`` (``big.Int.Bytes()``)."""
        n = int.from_bytes(self._bits, "little")
        return n.to_bytes((n.bit_length() + 7) >> 3, "big")

    def restore(self, data: bytes) -> None:
        """Replace the taken set by a :meth:`snapshot`.

        Raises:
            MismatchedRange: ``data`` has bits past ``size`` (it was taken
                from a larger range); the bitmap is left unchanged.
        """
        n = int.from_bytes(data, "big")
        if n.bit_length() > self._size:
            raise MismatchedRange(self.range_spec, f"{n.bit_length()} slots")
        self._bits = bytearray(n.to_bytes(len(self._bits), "little"))
        self._count = n.bit_count()
        self._static_used = (n & ((1 << self._static) - 1)).bit_count()

    def copy(self, rng: random.Random | None = None) -> Bitmap:
        """An independent bitmap with the same state (sharing ``rng`` unless given)."""
        other = Bitmap(
            self._size,
            self._static,
            rng if rng is not None else self._rng,
            range_spec=self.range_spec,
        )
        other._bits = bytearray(self._bits)
        other._count = self._count
        other._static_used = self._static_used
        return other

    # -- internals -------------------------------------------------------

    def _first_zero(self, lo: int, hi: int) -> int:
        """Lowest free offset in ``[lo, hi)``, or -1."""
        bits = self._bits
        i = lo
        while i < hi and i & 7:  # leading partial byte, bit by bit
            if not bits[i >> 3] >> (i & 7) & 1:
                return i
            i += 1
        if i >= hi:
            return -1
        first, end = i >> 3, (hi + 7) >> 3
        # Sparse case: a free byte is near. Dense case: one C pass that maps
        # full bytes to 0 and others to 1, then memchr for the first 1.
        m = _NOT_FULL.search(bits, first, min(end, first + _WINDOW))
        if m is not None:
            byte = m.start()
        else:
            found = bits[first + _WINDOW : end].translate(_NOT_FULL_TABLE).find(1)
            if found < 0:
                return -1
            byte = first + _WINDOW + found
        b = bits[byte]
        at = (byte << 3) + ((~b & (b + 1)).bit_length() - 1)  # lowest zero bit
        return at if at < hi else -1


@dataclass(frozen=True)
class RangeSnapshot:
    """Persisted state of one range: upstream's ``RangeAllocation`` (``range``, ``data``).

    ``data`` is :meth:`Bitmap.snapshot`; ``range`` the canonical range string
    (``10.96.0.0/16``, ``30000-32767``) that :meth:`restore` checks.
    """

    range: str
    data: bytes = b""

    def to_dict(self) -> dict[str, str]:
        """JSON form, ``data`` base64-encoded as a Go ``[]byte`` would be."""
        return {"range": self.range, "data": base64.b64encode(self.data).decode("ascii")}

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> RangeSnapshot:
        """Inverse of :meth:`to_dict`; a missing ``data`` means an empty range."""
        return cls(str(d.get("range", "")), base64.b64decode(d.get("data") or b""))
