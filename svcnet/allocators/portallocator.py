"""NodePort allocation over ``--service-node-port-range`` (upstream ``portallocator``).

Theory of operation
-------------------
A :class:`PortRange` is ``base`` and ``size`` (inclusive text form
``30000-32767``, parsed exactly like apimachinery's ``net.ParsePortRange``,
with its error messages). A :class:`NodePortAllocator` is a
:class:`~.bitmap.Bitmap` with offset ``port - base``.

Static/dynamic split (KEP-3668): the lower :func:`node_port_static_band_size`
ports, ``min(max(16, size // 32), 128)`` and 0 for ranges of 16 ports or
fewer, are left to users who pick their node port; dynamic allocation takes
the upper band first and only falls back to the lower band when the upper
band is full. The default range 30000-32767 (2768 ports) has a static band of
86 ports, 30000-30085.

:func:`collect_node_ports` lists the node ports a Service holds, with
upstream's rule that one node port used by several ports of *different*
protocols (DNS on TCP and UDP) counts once, while a repeat with the *same*
protocol counts twice (and is then reported as a duplicate).

Invariants: ports outside the range never enter the bitmap; the allocator
does no I/O and no locking (see :mod:`svcnet.allocators` for persistence).
"""

from __future__ import annotations

import random
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from svcnet.allocators.bitmap import Bitmap, RangeSnapshot, band_size
from svcnet.allocators.errors import AlreadyAllocated, InvalidRange, MismatchedRange, NotInRange

DEFAULT_NODE_PORT_RANGE = "30000-32767"

_DECIMAL = re.compile(r"[+-]?[0-9]+")


def node_port_static_band_size(range_size: int) -> int:
    """KEP-3668 static band of a node port range of ``range_size`` ports."""
    return band_size(range_size, minimum=16, step=32, maximum=128)


def _go_quote(s: str) -> str:
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _atoi(s: str) -> int:
    """Go's ``strconv.Atoi``, raising ValueError with its message."""
    if not _DECIMAL.fullmatch(s):
        raise ValueError(f"strconv.Atoi: parsing {_go_quote(s)}: invalid syntax")
    n = int(s)
    if not -(2**63) <= n < 2**63:
        raise ValueError(f"strconv.Atoi: parsing {_go_quote(s)}: value out of range")
    return n


@dataclass(frozen=True)
class PortRange:
    """Ports ``base .. base+size-1``; ``size == 0`` is the empty range."""

    base: int
    size: int

    @classmethod
    def parse(cls, value: str) -> PortRange:
        """Parse ``"min-max"`` (inclusive), a single port, or "" (empty).

        Raises:
            InvalidRange: with apimachinery's ``PortRange.Set`` message.
        """
        value = value.strip()
        if value == "":
            return cls(0, 0)
        low_s, hyphen, high_s = value.partition("-")
        if not hyphen:
            try:
                port = _atoi(value)
            except ValueError as e:
                raise InvalidRange(
                    f"unable to parse port range: {value}: {e}, expected hyphen in port "
                    "range or a single port number"
                ) from None
            if not 0 <= port <= 65535:
                raise InvalidRange("the port range should between 0 and 65535")
            return cls(port, 1)
        try:
            low = _atoi(low_s)
            high = _atoi(high_s)
        except ValueError as e:
            raise InvalidRange(f"unable to parse port range: {value}: {e}") from None
        if low > 65535 or high > 65535:
            raise InvalidRange(f"the port range cannot be greater than 65535: {value}")
        if high < low:
            raise InvalidRange(f"end port cannot be less than start port: {value}")
        return cls(low, 1 + high - low)

    @property
    def last(self) -> int:
        """Highest port of the range (``base - 1`` when empty)."""
        return self.base + self.size - 1

    def contains(self, port: int) -> bool:
        return port >= self.base and port - self.base < self.size

    def __str__(self) -> str:
        return f"{self.base}-{self.last}" if self.size else ""


class NodePortAllocator:
    """Allocates node ports from one :class:`PortRange`.

    Args:
        port_range: e.g. ``"30000-32767"`` or a :class:`PortRange`.
        rng: random source for :meth:`allocate_next`; inject a seeded one in tests.
    """

    def __init__(
        self,
        port_range: str | PortRange = DEFAULT_NODE_PORT_RANGE,
        rng: random.Random | None = None,
    ) -> None:
        pr = port_range if isinstance(port_range, PortRange) else PortRange.parse(port_range)
        self.range = pr
        self._bitmap = Bitmap(pr.size, node_port_static_band_size(pr.size), rng, range_spec=str(pr))

    @property
    def static_band(self) -> int:
        """Number of ports in the lower (static) band."""
        return self._bitmap.static_band

    @property
    def size(self) -> int:
        return self.range.size

    def in_static_band(self, port: int) -> bool:
        return self.range.contains(port) and port - self.range.base < self.static_band

    def allocate(self, port: int) -> None:
        """Take the requested ``port``.

        Raises:
            NotInRange: ``port`` is outside the range.
            AlreadyAllocated: ``port`` is taken.
        """
        if not self.range.contains(port):
            raise NotInRange(port, str(self.range), "port")
        if not self._bitmap.allocate(port - self.range.base):
            raise AlreadyAllocated(port, str(self.range), "port")

    def allocate_next(self) -> int:
        """Take a free port, upper band first. Raises Full when none is left."""
        return self.range.base + self._bitmap.allocate_next()

    def release(self, port: int) -> bool:
        """Return ``port``; a no-op (False) for free or out-of-range ports."""
        return self.range.contains(port) and self._bitmap.release(port - self.range.base)

    def has(self, port: int) -> bool:
        return self.range.contains(port) and self._bitmap.has(port - self.range.base)

    def contains(self, port: int) -> bool:
        return self.range.contains(port)

    def free(self) -> int:
        return self._bitmap.free()

    def used(self) -> int:
        return self._bitmap.used()

    def __iter__(self) -> Iterator[int]:
        """Taken ports, lowest first."""
        for off in self._bitmap:
            yield self.range.base + off

    def clear(self) -> None:
        """Free every port."""
        self._bitmap.clear()

    def snapshot(self) -> RangeSnapshot:
        """The state to persist (upstream ``RangeAllocation``)."""
        return RangeSnapshot(str(self.range), self._bitmap.snapshot())

    def restore(self, snap: RangeSnapshot) -> None:
        """Load a :meth:`snapshot`. Raises MismatchedRange for another range."""
        try:
            same = PortRange.parse(snap.range) == self.range
        except InvalidRange:
            same = False
        if not same:
            raise MismatchedRange(str(self.range), snap.range, "port")
        self._bitmap.restore(snap.data)

    def copy(self, rng: random.Random | None = None) -> NodePortAllocator:
        other = NodePortAllocator.__new__(NodePortAllocator)
        other.range = self.range
        other._bitmap = self._bitmap.copy(rng)
        return other

    def __repr__(self) -> str:
        return f"NodePortAllocator({str(self.range)!r}, used={self.used()})"


def collect_node_ports(service: Mapping[str, Any]) -> list[int]:
    """Node ports held by a Service (API dict), upstream ``collectServiceNodePorts``.

    A node port shared by ports of different protocols is listed once; a repeat
    with the same protocol is listed again. ``spec.healthCheckNodePort`` is
    added unless a port already holds it for a protocol other than TCP only.
    """
    spec = service.get("spec") or {}
    out: list[int] = []
    seen: dict[int, set[str]] = {}
    for port in spec.get("ports") or ():
        node_port = int(port.get("nodePort") or 0)
        if not node_port:
            continue
        proto = port.get("protocol") or "TCP"
        protos = seen.get(node_port)
        if protos is None:
            seen[node_port] = {proto}
            out.append(node_port)
        elif proto in protos:
            out.append(node_port)
        else:
            protos.add(proto)
    health = int(spec.get("healthCheckNodePort") or 0)
    if health:
        protos = seen.get(health)
        if protos is None or "TCP" in protos:
            out.append(health)
    return out
