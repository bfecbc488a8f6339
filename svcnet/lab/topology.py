"""The lab's network plan: namespaces, links, addresses and routes (pure).

Theory of operation. `plan_topology` turns a few numbers into a frozen
`Topology` that says everything the shell (`svcnet.lab.netns`) will make,
so the whole wiring is readable and table-testable before a single netlink
message is sent. The model follows ../shared/DESIGN.md ("Network model of
the lab"), kind's defaults and flannel's host-gw backend:

- the underlay ("the datacenter L2") is a namespace ``<name>-net`` holding
  one bridge; its address .1 is the nodes' default gateway, a dead end
  (forwarding stays off there), so nothing can leave the lab;
- node i is a namespace ``<name>-n<i>`` whose ``eth0`` has 172.18.0.(10+i)
  and is one end of a veth pair whose other end is a port of the bridge;
- the external client ``<name>-ext`` sits on the same L2 at .254;
- node i's planned pod CIDR is subnet i of the cluster CIDR, which is what
  node IPAM hands out in Node creation order; the node agent still trusts
  the Node's ``spec.podCIDRs`` and re-syncs routes from it
  (`host_gw_routes`), the plan only predicts;
- host-gw: each node routes every other node's pod CIDR via that node's IP,
  all routes we own carry protocol `RTPROT_SVCNET` so a resync can find and
  remove stale ones without touching anything else;
- the LoadBalancer pool is .200-.250 of the underlay, announced there.

Invariants: every namespace name starts with ``<name>-`` and matches
`cluster_netns_re(name)`; every link the lab names itself matches
`cluster_link_re(name)` and is at most 15 characters (IFNAMSIZ - 1), cluster
names too long for that get a deterministic short link prefix
(`link_prefix`). Node names sort in index order (zero padded), so node
IPAM's name tie-break gives node i subnet i.
"""

from __future__ import annotations

import hashlib
import ipaddress
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

from svcnet.lab.errors import TopologyError

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
Address = ipaddress.IPv4Address | ipaddress.IPv6Address

DEFAULT_NAME: Final = "svcnet"
DEFAULT_UNDERLAY: Final = "172.18.0.0/24"
DEFAULT_UNDERLAY6: Final = "fc00:f853:ccd:e793::/64"  # kind's IPv6 network
DEFAULT_POD_CIDR: Final = "10.244.0.0/16"
DEFAULT_POD_CIDR6: Final = "fd00:10:244::/56"
DEFAULT_NODE_MASK: Final = 24
DEFAULT_NODE_MASK6: Final = 64

MAX_IFNAME: Final = 15  # IFNAMSIZ - 1
MAX_NAME: Final = 40  # keeps Node names (<name>-nNNN) valid hostname labels
MAX_LINK_PREFIX: Final = 10  # + "-v189" = 15
NODE_IFNAME: Final = "eth0"
EXTERNAL_IFNAME: Final = "eth0"
POD_BRIDGE: Final = "cni0"

GATEWAY_OFFSET: Final = 1
NODE_OFFSET: Final = 10
LB_FIRST_OFFSET: Final = 200
LB_LAST_OFFSET: Final = 250
EXTERNAL_OFFSET: Final = 254
MAX_NODES: Final = LB_FIRST_OFFSET - NODE_OFFSET  # node IPs stay below the LB pool

# Routing protocol number on every route the lab or the CNI installs
# ("proto 115" in `ip route`): resyncs touch only these.
RTPROT_SVCNET: Final = 115

_NAME_RE = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
_LABEL_VALUE_RE = re.compile(r"^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$")


# --- naming -----------------------------------------------------------------


def _hash(text: str, n: int) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:n]


def link_prefix(name: str) -> str:
    """The prefix of the links the lab names for cluster ``name`` (<= 10 chars).

    Short names are used as they are; longer ones become their first
    characters plus a hash of the whole name, so two long names that share
    a beginning still get different prefixes.
    """
    if len(name) <= MAX_LINK_PREFIX:
        return name
    return f"{name[:5].rstrip('-')}-{_hash(name, 4)}"


def underlay_netns(name: str) -> str:
    return f"{name}-net"


def external_netns(name: str) -> str:
    return f"{name}-ext"


def node_name(name: str, index: int, nodes: int = 1) -> str:
    """Node (and node namespace) name; zero padded so names sort like indices."""
    width = len(str(max(nodes - 1, 0)))
    return f"{name}-n{index:0{width}d}"


def pod_netns_name(cluster: str, pod_uid: str) -> str:
    """The sandbox namespace of a pod: ``<cluster>-p-<8 hex of the uid>``."""
    return f"{cluster}-p-{_hash(pod_uid, 8)}"


def host_veth_name(pod_netns: str) -> str:
    """The node-side veth of a pod sandbox: ``veth<8 hex>`` (stable per sandbox)."""
    return f"veth{_hash(pod_netns, 8)}"


def bridge_mac(seed: str) -> str:
    """A stable locally administered unicast MAC for a bridge.

    A bridge without a set address takes the lowest MAC of its ports, so it
    would change as pods come and go and leave stale ARP entries behind.
    """
    b = bytes.fromhex(_hash(seed, 12))
    return ":".join(f"{x:02x}" for x in bytes([(b[0] & 0xFC) | 0x02]) + b[1:6])


def cluster_netns_re(name: str) -> re.Pattern[str]:
    """Matches exactly the namespaces of cluster ``name`` (not of ``name-x``)."""
    return re.compile(rf"^{re.escape(name)}-(net|ext|n\d+|p-[0-9a-f]{{8}})$")


def cluster_link_re(name: str) -> re.Pattern[str]:
    """Matches exactly the links the lab names for cluster ``name``."""
    return re.compile(rf"^{re.escape(link_prefix(name))}-(br|vx|v\d+)$")


# --- the plan ---------------------------------------------------------------


@dataclass(frozen=True)
class Route:
    """A route in a node namespace: ``dst via via dev dev proto 115``."""

    dst: str
    via: str
    dev: str = NODE_IFNAME

    @property
    def family(self) -> int:
        return ipaddress.ip_network(self.dst).version


@dataclass(frozen=True)
class UnderlayPlan:
    netns: str
    bridge: str
    bridge_mac: str
    cidrs: tuple[str, ...]  # v4 first
    addresses: tuple[str, ...]  # the bridge's gateway addresses, "172.18.0.1/24"

    @property
    def gateways(self) -> tuple[str, ...]:
        return tuple(a.split("/")[0] for a in self.addresses)


@dataclass(frozen=True)
class NodePlan:
    index: int
    name: str  # the Kubernetes Node name
    netns: str
    ifname: str
    underlay_veth: str  # the other end, a port of the underlay bridge
    addresses: tuple[str, ...]  # "172.18.0.10/24" (+ IPv6)
    gateways: tuple[str, ...]  # default routes, one per family
    pod_cidrs: tuple[str, ...]  # planned; the agent trusts spec.podCIDRs
    routes: tuple[Route, ...]  # host-gw routes to the other nodes' pod CIDRs
    zone: str | None = None

    @property
    def ips(self) -> tuple[str, ...]:
        return tuple(a.split("/")[0] for a in self.addresses)

    @property
    def internal_ip(self) -> str:
        return self.ips[0]

    @property
    def pod_cidr(self) -> str:
        return self.pod_cidrs[0]

    @property
    def bridge_addresses(self) -> tuple[str, ...]:
        return tuple(gateway_address(c) for c in self.pod_cidrs)


@dataclass(frozen=True)
class ExternalPlan:
    netns: str
    ifname: str
    underlay_veth: str
    addresses: tuple[str, ...]

    @property
    def ips(self) -> tuple[str, ...]:
        return tuple(a.split("/")[0] for a in self.addresses)


@dataclass(frozen=True)
class Topology:
    name: str
    link_prefix: str
    underlay: UnderlayPlan
    nodes: tuple[NodePlan, ...]
    external: ExternalPlan
    cluster_pod_cidrs: tuple[str, ...]
    node_masks: tuple[int, ...]
    lb_pools: tuple[tuple[str, str], ...]  # (first, last) per family
    dual_stack: bool = False

    @property
    def namespaces(self) -> tuple[str, ...]:
        """Every namespace of the plan, in creation order."""
        return (self.underlay.netns, *(n.netns for n in self.nodes), self.external.netns)

    @property
    def lb_pool(self) -> tuple[str, str]:
        return self.lb_pools[0]

    def node(self, key: int | str) -> NodePlan:
        """A node by index, Node name or namespace name."""
        for n in self.nodes:
            if key in (n.index, n.name, n.netns):
                return n
        raise KeyError(key)


def gateway_address(cidr: str) -> str:
    """The first host of ``cidr`` with its prefix: the bridge / gateway address."""
    net = ipaddress.ip_network(cidr, strict=False)
    return f"{net.network_address + GATEWAY_OFFSET}/{net.prefixlen}"


def _network(field: str, value: str, version: int) -> Network:
    try:
        net = ipaddress.ip_network(value)
    except (ValueError, TypeError) as e:
        raise TopologyError(field, f"invalid CIDR {value!r}: {e}") from None
    if net.version != version:
        raise TopologyError(field, f"{value} is not an IPv{version} CIDR")
    return net


def _host(net: Network, offset: int) -> str:
    return f"{net.network_address + offset}/{net.prefixlen}"


def _subnet(net: Network, mask: int, index: int) -> str:
    """Subnet ``index`` of size /mask in ``net`` (node IPAM's order)."""
    base = int(net.network_address) + (index << (net.max_prefixlen - mask))
    return str(net.__class__((base, mask)))


def _check_name(name: Any) -> str:
    if not isinstance(name, str) or not _NAME_RE.match(name):
        raise TopologyError(
            "name",
            f"{name!r} must be lowercase letters, digits and '-', "
            "starting and ending with a letter or digit",
        )
    if len(name) > MAX_NAME:
        raise TopologyError("name", f"{name!r} is longer than {MAX_NAME} characters")
    return name


def _check_zones(zones: Sequence[str] | str | None) -> tuple[str, ...]:
    if zones is None:
        return ()
    if isinstance(zones, str):
        zones = [z.strip() for z in zones.split(",")]
    out = tuple(zones)
    if not out:
        raise TopologyError("zones", "must name at least one zone when given")
    for z in out:
        if not isinstance(z, str) or not z or len(z) > 63 or not _LABEL_VALUE_RE.match(z):
            raise TopologyError("zones", f"{z!r} is not a valid label value")
    return out


def _check_underlay(field: str, value: str, version: int) -> Network:
    net = _network(field, value, version)
    if net.num_addresses <= EXTERNAL_OFFSET + 1:
        raise TopologyError(
            field, f"{net} is too small: the lab uses host offsets up to .{EXTERNAL_OFFSET}"
        )
    return net


def _check_pod_cidr(
    field: str, value: str, version: int, mask: Any, nodes: int, underlay: Network
) -> Network:
    net = _network(field, value, version)
    max_mask = 30 if version == 4 else 126
    if isinstance(mask, bool) or not isinstance(mask, int):
        raise TopologyError(f"{field} mask", f"{mask!r} is not an integer")
    if not net.prefixlen <= mask <= max_mask:
        raise TopologyError(
            f"{field} mask", f"/{mask} must be between /{net.prefixlen} and /{max_mask}"
        )
    if version == 6 and mask - net.prefixlen > 16:
        raise TopologyError(f"{field} mask", f"/{mask} is more than 16 bits below {net}")
    if 1 << (mask - net.prefixlen) < nodes:
        raise TopologyError(field, f"{net} has fewer than {nodes} subnets of /{mask}")
    if net.overlaps(underlay):
        raise TopologyError(field, f"{net} overlaps the underlay {underlay}")
    return net


def plan_topology(
    name: str = DEFAULT_NAME,
    nodes: int = 2,
    zones: Sequence[str] | str | None = None,
    underlay: str = DEFAULT_UNDERLAY,
    pod_cidr: str = DEFAULT_POD_CIDR,
    node_mask: int = DEFAULT_NODE_MASK,
    dual_stack: bool = False,
    *,
    underlay6: str = DEFAULT_UNDERLAY6,
    pod_cidr6: str = DEFAULT_POD_CIDR6,
    node_mask6: int = DEFAULT_NODE_MASK6,
) -> Topology:
    """Plan a lab cluster.

    Args:
        name: cluster name, the prefix of every namespace and link.
        nodes: number of nodes (1..190).
        zones: zone names, given to the nodes round-robin (also "z1,z2").
        underlay / underlay6: the underlay networks (IPv6 only when dual_stack).
        pod_cidr / pod_cidr6: cluster pod CIDRs, split into /node_mask subnets.
        dual_stack: add IPv6 underlay addresses, pod CIDRs and routes.

    Raises:
        TopologyError: an input is invalid; ``.field`` names it.
    """
    name = _check_name(name)
    if isinstance(nodes, bool) or not isinstance(nodes, int):
        raise TopologyError("nodes", f"{nodes!r} is not an integer")
    if not 1 <= nodes <= MAX_NODES:
        raise TopologyError("nodes", f"{nodes} must be between 1 and {MAX_NODES}")
    zone_list = _check_zones(zones)

    underlays = [_check_underlay("underlay", underlay, 4)]
    pods = [_check_pod_cidr("pod_cidr", pod_cidr, 4, node_mask, nodes, underlays[0])]
    masks = [node_mask]
    if dual_stack:
        underlays.append(_check_underlay("underlay6", underlay6, 6))
        pods.append(_check_pod_cidr("pod_cidr6", pod_cidr6, 6, node_mask6, nodes, underlays[1]))
        masks.append(node_mask6)

    lp = link_prefix(name)
    node_cidrs = [
        tuple(_subnet(p, m, i) for p, m in zip(pods, masks, strict=True)) for i in range(nodes)
    ]
    node_addrs = [tuple(_host(u, NODE_OFFSET + i) for u in underlays) for i in range(nodes)]
    names = [node_name(name, i, nodes) for i in range(nodes)]
    infos = [
        NodeRouting(names[i], tuple(a.split("/")[0] for a in node_addrs[i]), node_cidrs[i])
        for i in range(nodes)
    ]
    plans = tuple(
        NodePlan(
            index=i,
            name=names[i],
            netns=names[i],
            ifname=NODE_IFNAME,
            underlay_veth=f"{lp}-v{i}",
            addresses=node_addrs[i],
            gateways=tuple(str(u.network_address + GATEWAY_OFFSET) for u in underlays),
            pod_cidrs=node_cidrs[i],
            routes=tuple(host_gw_routes(names[i], infos)),
            zone=zone_list[i % len(zone_list)] if zone_list else None,
        )
        for i in range(nodes)
    )
    return Topology(
        name=name,
        link_prefix=lp,
        underlay=UnderlayPlan(
            netns=underlay_netns(name),
            bridge=f"{lp}-br",
            bridge_mac=bridge_mac(underlay_netns(name)),
            cidrs=tuple(str(u) for u in underlays),
            addresses=tuple(_host(u, GATEWAY_OFFSET) for u in underlays),
        ),
        nodes=plans,
        external=ExternalPlan(
            netns=external_netns(name),
            ifname=EXTERNAL_IFNAME,
            underlay_veth=f"{lp}-vx",
            addresses=tuple(_host(u, EXTERNAL_OFFSET) for u in underlays),
        ),
        cluster_pod_cidrs=tuple(str(p) for p in pods),
        node_masks=tuple(masks),
        lb_pools=tuple(
            (str(u.network_address + LB_FIRST_OFFSET), str(u.network_address + LB_LAST_OFFSET))
            for u in underlays
        ),
        dual_stack=dual_stack,
    )


# --- host-gw routes from API Nodes -----------------------------------------


@dataclass(frozen=True)
class NodeRouting:
    """What host-gw needs of a Node: its name, node IPs and pod CIDRs."""

    name: str
    ips: tuple[str, ...]
    pod_cidrs: tuple[str, ...]

    @classmethod
    def from_node(cls, node: Mapping[str, Any]) -> NodeRouting:
        """Slim an API Node: InternalIP addresses and ``spec.podCIDRs``."""
        meta = node.get("metadata") or {}
        spec = node.get("spec") or {}
        status = node.get("status") or {}
        ips = tuple(
            a.get("address", "")
            for a in status.get("addresses") or ()
            if a.get("type") == "InternalIP" and a.get("address")
        )
        cidrs = spec.get("podCIDRs") or ([spec["podCIDR"]] if spec.get("podCIDR") else [])
        return cls(meta.get("name", ""), ips, tuple(cidrs))


def host_gw_routes(local: str, nodes: Iterable[NodeRouting], dev: str = NODE_IFNAME) -> list[Route]:
    """Routes node ``local`` needs: every other node's pod CIDRs via its IP.

    A CIDR is routed via the node's first IP of the same family; nodes with
    no such IP (not registered yet) or with bad data are skipped, and so
    is any CIDR that overlaps the local node's own pod CIDRs.
    """
    nodes = list(nodes)
    own: list[Network] = []
    for n in nodes:
        if n.name == local:
            own += [net for c in n.pod_cidrs if (net := _parse_net(c)) is not None]
    out: list[Route] = []
    for n in sorted(nodes, key=lambda n: n.name):
        if n.name == local:
            continue
        for cidr in n.pod_cidrs:
            net = _parse_net(cidr)
            if net is None or any(net.overlaps(o) for o in own if o.version == net.version):
                continue
            via = next((ip for ip in n.ips if _version(ip) == net.version), None)
            if via is not None:
                out.append(Route(str(net), via, dev))
    return out


def diff_routes(
    current: Iterable[Route], desired: Iterable[Route]
) -> tuple[list[Route], list[Route]]:
    """(routes to put in place, routes to delete) to go from current to desired.

    Routes are keyed by destination: a destination whose gateway changed is
    replaced, not deleted.
    """
    want = {r.dst: r for r in desired}
    have = {r.dst: r for r in current}
    put = [r for dst, r in want.items() if have.get(dst) != r]
    delete = [r for dst, r in have.items() if dst not in want]
    return put, delete


def _parse_net(cidr: str) -> Network | None:
    try:
        return ipaddress.ip_network(cidr, strict=False)
    except ValueError:
        return None


def _version(ip: str) -> int | None:
    try:
        return ipaddress.ip_address(ip).version
    except ValueError:
        return None
