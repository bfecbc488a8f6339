"""Service allocators: ClusterIPs per family and NodePorts (upstream ``registry/core/service``).

Layers, each pure (no I/O, no locks, no clock):

- :mod:`.bitmap`: :class:`Bitmap`, an allocation map with a static (lower)
  and a dynamic (upper) band and upstream's random-scan strategy;
  :class:`RangeSnapshot`, its persisted form (upstream ``RangeAllocation``).
- :mod:`.ipallocator`: :class:`IPRange`, :class:`ClusterIPAllocator` (one CIDR).
- :mod:`.dualstack`: :class:`DualStackAllocator` (family -> allocator) and
  :func:`validate_service_cidrs` (kube-apiserver's flag checks).
- :mod:`.portallocator`: :class:`PortRange`, :class:`NodePortAllocator`.
- :mod:`.repair`: :func:`repair_ips` / :func:`repair_ports`, one pass of the
  level-driven repair loop as a function of (stored state, Services, leak
  counters).
- :mod:`.errors`: :class:`Full`, :class:`AlreadyAllocated`,
  :class:`NotInRange`, :class:`MismatchedRange`, :class:`InvalidRange`
  under :class:`AllocatorError`, worded like upstream.

Persistence and concurrency (the API server's job)
--------------------------------------------------
Like upstream's ``allocator/storage``, the allocation map is stored as one
object per range (``{"range": ..., "data": base64}``, see
:meth:`RangeSnapshot.to_dict`) with a resourceVersion. Every mutation is a
compare-and-swap: read object (rv) -> ``restore`` -> ``allocate`` /
``release`` -> ``snapshot`` -> update with precondition rv; on conflict
re-read and redo the operation. With several API servers this guarantees
that no value is handed out twice; the repair loop cleans up values taken
by a create that failed after the write.

A repair pass reads the range object (rv) *before* listing Services, runs
:func:`repair_ips` / :func:`repair_ports`, and writes
``result.rebuilt.snapshot()`` with precondition rv when ``result.changed``.
It adopts ``result.leaks`` only once that write succeeded (or was not
needed); on a conflict it discards the result and runs the pass again.
"""

from svcnet.allocators.bitmap import Bitmap, RangeSnapshot, band_size
from svcnet.allocators.dualstack import DualStackAllocator, validate_service_cidrs
from svcnet.allocators.errors import (
    AllocatorError,
    AlreadyAllocated,
    Full,
    InvalidRange,
    MismatchedRange,
    NotInRange,
    health_check_node_port_failure,
    ip_allocation_detail,
    next_ip_failure,
    next_node_port_failure,
)
from svcnet.allocators.ipallocator import (
    IPV4,
    IPV6,
    ClusterIPAllocator,
    IPRange,
    family_of,
    parse_ip,
    static_band_size,
)
from svcnet.allocators.portallocator import (
    DEFAULT_NODE_PORT_RANGE,
    NodePortAllocator,
    PortRange,
    collect_node_ports,
    node_port_static_band_size,
)
from svcnet.allocators.repair import (
    LEAK_PASSES,
    RepairEvent,
    RepairResult,
    repair_ips,
    repair_ports,
    service_cluster_ips,
)

__all__ = [
    "DEFAULT_NODE_PORT_RANGE",
    "IPV4",
    "IPV6",
    "LEAK_PASSES",
    "AllocatorError",
    "AlreadyAllocated",
    "Bitmap",
    "ClusterIPAllocator",
    "DualStackAllocator",
    "Full",
    "IPRange",
    "InvalidRange",
    "MismatchedRange",
    "NodePortAllocator",
    "NotInRange",
    "PortRange",
    "RangeSnapshot",
    "RepairEvent",
    "RepairResult",
    "band_size",
    "collect_node_ports",
    "family_of",
    "health_check_node_port_failure",
    "ip_allocation_detail",
    "next_ip_failure",
    "next_node_port_failure",
    "node_port_static_band_size",
    "parse_ip",
    "repair_ips",
    "repair_ports",
    "service_cluster_ips",
    "static_band_size",
    "validate_service_cidrs",
]
