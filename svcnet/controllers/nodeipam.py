"""Node IPAM core: pod CIDRs for Nodes out of the cluster CIDR(s) (pure).

Theory of operation (upstream ``pkg/controller/nodeipam/ipam/cidrset`` and
the range allocator): a `CIDRSet` splits one cluster CIDR into subnets of
``node_mask`` bits and keeps a bitmap of the used ones. Allocation scans
from the slot after the last one handed out, wrapping around, so a freed
subnet is not reused at once. `assign` is the level-driven sync: it first
marks every ``spec.podCIDRs`` already on a Node as used (the repair that
makes a restart safe), then gives every Node without pod CIDRs one subnet
per family (dual-stack: one per CIDRSet, in the order of
``--cluster-cidr``). A family that is full fails that node with
upstream's CIDRNotAvailable event, and nothing is half-allocated.
"""

from __future__ import annotations

import contextlib
import ipaddress
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final

Network = ipaddress.IPv4Network | ipaddress.IPv6Network

DEFAULT_NODE_MASK_V4: Final = 24
DEFAULT_NODE_MASK_V6: Final = 64
MAX_SUBNET_BITS: Final = 16  # upstream clusterSubnetMaxDiff


class CIDRSetError(Exception):
    """Base of the node IPAM errors."""


class CIDRRangeFull(CIDRSetError):
    def __init__(self) -> None:
        super().__init__(
            "CIDR allocation failed; there are no remaining CIDRs left to allocate in the accepted range"
        )


class CIDRSubnetTooBig(CIDRSetError):
    def __init__(self) -> None:
        super().__init__("New CIDR set failed; the node CIDR size is too big")


class CIDRNotInRange(CIDRSetError):
    """A CIDR outside the cluster CIDR (or of the other family)."""


class CIDRSet:
    """The subnets of ``node_mask`` bits in ``cluster_cidr`` (upstream ``CidrSet``)."""

    def __init__(self, cluster_cidr: str, node_mask: int | None = None) -> None:
        self.cluster: Network = ipaddress.ip_network(cluster_cidr, strict=False)
        if node_mask is None:
            node_mask = DEFAULT_NODE_MASK_V4 if self.cluster.version == 4 else DEFAULT_NODE_MASK_V6
        if not self.cluster.prefixlen <= node_mask <= self.cluster.max_prefixlen:
            raise CIDRSetError(f"node mask /{node_mask} does not fit cluster CIDR {self.cluster}")
        if self.cluster.version == 6 and node_mask - self.cluster.prefixlen > MAX_SUBNET_BITS:
            raise CIDRSubnetTooBig()
        self.node_mask = node_mask
        self.size = 1 << (node_mask - self.cluster.prefixlen)
        self._shift = self.cluster.max_prefixlen - node_mask
        self._used = 0  # bitmap
        self._count = 0
        self._next = 0

    @property
    def family(self) -> int:
        return self.cluster.version

    @property
    def allocated(self) -> int:
        return self._count

    def _subnet(self, index: int) -> str:
        base = int(self.cluster.network_address) + (index << self._shift)
        return f"{ipaddress.ip_address(base)}/{self.node_mask}"

    def _indices(self, cidr: str) -> range:
        """Slots a CIDR covers (upstream ``getBeginningAndEndIndices``)."""
        try:
            net = ipaddress.ip_network(cidr, strict=False)
        except ValueError as e:
            raise CIDRNotInRange(str(e)) from None
        if (
            net.version != self.cluster.version
            or not (net.subnet_of(self.cluster) or self.cluster.subnet_of(net))  # type: ignore[arg-type]
        ):
            raise CIDRNotInRange(f"cidr {cidr} is out the range of cluster cidr {self.cluster}")
        if net.prefixlen <= self.cluster.prefixlen:
            return range(self.size)
        offset = int(net.network_address) - int(self.cluster.network_address)
        begin = offset >> self._shift
        if net.prefixlen >= self.node_mask:
            return range(begin, begin + 1)
        return range(begin, begin + (1 << (self.node_mask - net.prefixlen)))

    def allocate_next(self) -> str:
        """The next free subnet, e.g. ``10.244.3.0/24``.

        Raises:
            CIDRRangeFull: every subnet is in use.
        """
        if self._count >= self.size:
            raise CIDRRangeFull()
        for i in range(self.size):
            index = (self._next + i) % self.size
            if not self._used >> index & 1:
                self._used |= 1 << index
                self._count += 1
                self._next = (index + 1) % self.size
                return self._subnet(index)
        raise CIDRRangeFull()  # unreachable: the count says one is free

    def occupy(self, cidr: str) -> None:
        """Mark ``cidr`` used (idempotent); it may span several subnets."""
        for i in self._indices(cidr):
            if not self._used >> i & 1:
                self._used |= 1 << i
                self._count += 1

    def release(self, cidr: str) -> None:
        """Free ``cidr`` (idempotent)."""
        for i in self._indices(cidr):
            if self._used >> i & 1:
                self._used &= ~(1 << i)
                self._count -= 1

    def is_used(self, cidr: str) -> bool:
        return all(self._used >> i & 1 for i in self._indices(cidr))


def pod_cidrs(node: Mapping[str, Any]) -> list[str]:
    """``spec.podCIDRs``, or ``[spec.podCIDR]`` for nodes written by old clients."""
    spec = node.get("spec") or {}
    if spec.get("podCIDRs"):
        return list(spec["podCIDRs"])
    return [spec["podCIDR"]] if spec.get("podCIDR") else []


@dataclass(frozen=True)
class NodeEvent:
    node: str
    type: str
    reason: str
    message: str


@dataclass
class Assignment:
    """Pod CIDRs to write (``spec.podCIDR`` = first, ``spec.podCIDRs`` = all)."""

    assigned: list[tuple[str, list[str]]] = field(default_factory=list)
    failed: list[tuple[str, str]] = field(default_factory=list)  # (node, error)
    events: list[NodeEvent] = field(default_factory=list)


def _name(node: Mapping[str, Any]) -> str:
    return (node.get("metadata") or {}).get("name", "")


def _order(node: Mapping[str, Any]) -> tuple[str, str]:
    meta = node.get("metadata") or {}
    return (meta.get("creationTimestamp") or "", meta.get("name", ""))


def spec_patch(cidrs: Sequence[str]) -> dict[str, Any]:
    """The merge patch for a Node (podCIDR(s) are immutable once set)."""
    return {"spec": {"podCIDR": cidrs[0], "podCIDRs": list(cidrs)}}


def repair(
    nodes: Iterable[Mapping[str, Any]], cidrsets: Sequence[CIDRSet]
) -> list[tuple[str, str]]:
    """Mark every node's pod CIDRs used; returns (node, error) for bad ones.

    CIDRs beyond the configured families are ignored (a cluster that went
    from dual-stack to single-stack), as upstream does.
    """
    errors = []
    for node in sorted(nodes, key=_order):
        for idx, cidr in enumerate(pod_cidrs(node)[: len(cidrsets)]):
            try:
                cidrsets[idx].occupy(cidr)
            except CIDRSetError as e:
                name = _name(node)
                msg = (
                    f"failed to mark cidr[{cidr}] at idx [{idx}] as occupied for node: {name}: {e}"
                )
                errors.append((name, msg))
    return errors


def assign(nodes: Sequence[Mapping[str, Any]], cidrsets: Sequence[CIDRSet]) -> Assignment:
    """Give pod CIDRs to the nodes that have none (upstream ``AllocateOrOccupyCIDR``).

    ``cidrsets`` are updated in place; keep them for the next call (or build
    fresh ones each time: `repair` makes that correct too). Nodes are served
    in creation order, so node i of a fresh cluster gets subnet i.
    """
    out = Assignment(failed=repair(nodes, cidrsets))
    for node in sorted(nodes, key=_order):
        meta = node.get("metadata") or {}
        if pod_cidrs(node) or meta.get("deletionTimestamp"):
            continue
        name, got = _name(node), []
        for idx, cs in enumerate(cidrsets):
            try:
                got.append(cs.allocate_next())
            except CIDRRangeFull as e:
                for cidr, prev in zip(got, cidrsets, strict=False):
                    prev.release(cidr)
                out.failed.append(
                    (name, f"failed to allocate cidr from cluster cidr at idx:{idx}: {e}")
                )
                msg = f"Node {name} status is now: CIDRNotAvailable"
                out.events.append(NodeEvent(name, "Normal", "CIDRNotAvailable", msg))
                break
        else:
            out.assigned.append((name, got))
    return out


def release_node(node: Mapping[str, Any], cidrsets: Sequence[CIDRSet]) -> None:
    """Free a deleted node's pod CIDRs (upstream ``ReleaseCIDR``)."""
    for idx, cidr in enumerate(pod_cidrs(node)[: len(cidrsets)]):
        with contextlib.suppress(CIDRNotInRange):  # never ours: nothing to free
            cidrsets[idx].release(cidr)
