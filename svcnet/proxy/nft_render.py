"""nftables rendering: service plans in, the objects of the ``svcnet`` tables out (pure).

Theory of operation (upstream ``pkg/proxy/nftables/proxier.go``, whose
ruleset is in ``../shared/reference/``): one table ``svcnet`` per family
(``ip svcnet``, ``ip6 svcnet``). Dispatch is O(1) through verdict maps:

- ``service-ips`` (``addr . proto . port : goto <chain>``): ClusterIPs go
  to the internal path's endpoint group, externalIPs and LB VIPs to the
  port's ``ext-`` chain; ``service-nodeports`` (``proto . port``) sends
  NodePorts on ``@nodeport-ips`` (or every local address) to ``ext-`` too.
  Both maps are consulted from the nat prerouting and output hooks.
- ``no-endpoint-services`` / ``no-endpoint-nodeports`` hold the frontends'
  filter verdicts (``goto reject-chain``: TCP reset / ICMP port-unreachable,
  or ``drop``), consulted for new connections in the input and forward
  hooks and in output *after* DNAT: a frontend that is DNATed never matches
  (its destination has changed), so traffic short-circuited by an ``ext-``
  chain passes while the rest meets the verdict. (Upstream checks output
  before DNAT; checking after lets the node's own traffic short-circuit.)
- ``firewall-ips`` sends LB VIPs with loadBalancerSourceRanges to a ``fw-``
  chain dropping other sources, before DNAT (prerouting and output).
- ``cluster-ips`` rejects new connections to a ClusterIP on a port no
  Service has (after DNAT, so real services are untouched).
- Masquerade as upstream: a chain sets mark bit ``0x4000``
  (``mark-for-masquerade``); nat postrouting masquerades marked packets.

Per service port (``<prefix>-<hash8>-<ns>/<name>/<proto>/<port name>``;
the hash is the same for all of a port's chains): ``svc-`` is the
Cluster-policy endpoint group, ``local-`` the Local-policy group (each an
optional ClusterIP masquerade rule, ClientIP affinity checks, and a
``numgen random mod N`` vmap over endpoint chains, or one ``numgen`` rule per
endpoint with ``LB_RULES``, see ``RenderOptions``), ``ext-`` the external
path (masquerade, short-circuits, then a group), ``fw-`` the source-range
firewall. Per endpoint ``ep-<hash8>-<port base>__<ip>/<port>``: hairpin
masquerade, affinity update, DNAT. ClientIP affinity uses one dynamic set
with a timeout per endpoint (``aff-`` + the endpoint chain's suffix).

``service_objects`` renders what one service port owns, ``base_objects`` the
skeleton, ``table_objects`` a whole table, ``table_text`` its nft block;
transactions over these objects (full and partial) are in
``svcnet.proxy.nftables``.

Invariants: rendering is deterministic (plans in name order, elements in
plan order); every rule of a service object carries a comment naming its
Service port (``ns/name:port``); a map key is owned by the first plan that
renders it.
"""

from __future__ import annotations

import base64
import hashlib
import ipaddress
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Final

from svcnet.proxy.model import IPV4, IPV6, Endpoint, ServicePortName
from svcnet.proxy.plan import (
    Masquerade,
    PlanOptions,
    Policy,
    Route,
    ServicePlan,
    Verdict,
)

# --- object names -----------------------------------------------------------------------

TABLE: Final = "svcnet"
TABLE_COMMENT: Final = "rules for svcnet service proxy"
TABLE_FAMILY: Final = {IPV4: "ip", IPV6: "ip6"}
ADDR_TYPE: Final = {IPV4: "ipv4_addr", IPV6: "ipv6_addr"}
LOOPBACK: Final = {IPV4: "127.0.0.0/8", IPV6: "::1"}

SET_CLUSTER_IPS: Final = "cluster-ips"
SET_NODEPORT_IPS: Final = "nodeport-ips"
MAP_NO_ENDPOINT_SERVICES: Final = "no-endpoint-services"
MAP_NO_ENDPOINT_NODEPORTS: Final = "no-endpoint-nodeports"
MAP_FIREWALL_IPS: Final = "firewall-ips"
MAP_SERVICE_IPS: Final = "service-ips"
MAP_SERVICE_NODEPORTS: Final = "service-nodeports"

CHAIN_FILTER_PREROUTING: Final = "filter-prerouting"
CHAIN_FILTER_INPUT: Final = "filter-input"
CHAIN_FILTER_FORWARD: Final = "filter-forward"
CHAIN_FILTER_OUTPUT: Final = "filter-output"
CHAIN_FILTER_OUTPUT_POST_DNAT: Final = "filter-output-post-dnat"
CHAIN_NAT_PREROUTING: Final = "nat-prerouting"
CHAIN_NAT_OUTPUT: Final = "nat-output"
CHAIN_NAT_POSTROUTING: Final = "nat-postrouting"
CHAIN_NODEPORT_ENDPOINTS_CHECK: Final = "nodeport-endpoints-check"
CHAIN_SERVICE_ENDPOINTS_CHECK: Final = "service-endpoints-check"
CHAIN_FIREWALL_CHECK: Final = "firewall-check"
CHAIN_SERVICES: Final = "services"
CHAIN_MASQUERADING: Final = "masquerading"
CHAIN_CLUSTER_IPS_CHECK: Final = "cluster-ips-check"
CHAIN_MARK_FOR_MASQUERADE: Final = "mark-for-masquerade"
CHAIN_REJECT: Final = "reject-chain"

PREFIX_CLUSTER: Final = "svc"  # Cluster-policy endpoint group
PREFIX_LOCAL: Final = "local"  # Local-policy endpoint group
PREFIX_EXTERNAL: Final = "ext"  # NodePort / externalIP / LB path
PREFIX_FIREWALL: Final = "fw"  # loadBalancerSourceRanges
PREFIX_ENDPOINT: Final = "ep"  # one endpoint's DNAT
PREFIX_AFFINITY: Final = "aff"  # one endpoint's ClientIP affinity set

MASQUERADE_BIT: Final = 0x4000
COMMENT_MAX_BYTES: Final = 128  # the kernel's limit on rule and element comments

LB_VMAP: Final = "numgen-vmap"
LB_RULES: Final = "numgen-rules"

VERDICT_REJECT: Final = f"goto {CHAIN_REJECT}"
VERDICT_DROP: Final = "drop"


@dataclass(frozen=True)
class RenderOptions:
    """Settings of the nftables dataplane.

    Attributes:
        plan: the planning options (their ``cluster_cidrs`` also drive the
            off-cluster masquerade and pod short-circuit rules).
        masquerade_bit: the packet mark bit meaning "masquerade me".
        nodeport_all_local: accept NodePorts on every local address
            (``fib daddr type local``, loopback excluded) instead of only
            the node IPs (``@nodeport-ips``); also used when a family has
            no node IP.
        load_balancing: ``LB_VMAP`` (upstream): one ``numgen random mod N
            vmap { ... }`` rule per group; ``LB_RULES``: a rule per endpoint,
            the i-th taking ``1/(N-i)`` of what reaches it (iptables'
            statistic-mode scheme, uniform overall). Each vmap literal is an
            anonymous kernel set, and the kernel names those in time linear
            in the table's sets, so full syncs with vmaps grow quadratically
            (measured on kernel 6.18 / nft 1.0.6, 10 endpoints per Service:
            ~1 s at 1,000 Services, ~11 s at 3,000, ~190 s at 10,000;
            ``LB_RULES`` 2 s and 7-9 s at 3,000 and 10,000).
    """

    plan: PlanOptions = field(default_factory=PlanOptions)
    masquerade_bit: int = MASQUERADE_BIT
    nodeport_all_local: bool = False
    load_balancing: str = LB_VMAP


# --- table objects ----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Chain:
    """One chain: ``hook`` is the base-chain spec (``type nat hook ...;``), empty for regular ones."""

    name: str
    rules: tuple[str, ...] = ()
    comment: str = ""
    hook: str = ""


@dataclass(frozen=True, slots=True)
class NamedSet:
    """A named set or map: ``spec`` holds its body lines (``type ...``, ``flags ...``)."""

    name: str
    spec: tuple[str, ...]
    is_map: bool = False


@dataclass(frozen=True, slots=True)
class Element:
    """One set or map element; ``value`` is None in sets."""

    container: str
    key: str
    value: str | None = None
    comment: str = ""


@dataclass
class TableObjects:
    """What one family's table holds (or the part of it one Service renders)."""

    family: str
    sets: dict[str, NamedSet] = field(default_factory=dict)
    chains: dict[str, Chain] = field(default_factory=dict)
    elements: dict[tuple[str, str], Element] = field(default_factory=dict)

    def add_chain(self, chain: Chain) -> None:
        self.chains[chain.name] = chain

    def add_element(self, element: Element) -> None:
        """Add unless the key is taken (the first owner wins, as in a sorted full render)."""
        self.elements.setdefault((element.container, element.key), element)

    def merge(self, other: TableObjects) -> None:
        self.sets.update(other.sets)
        self.chains.update(other.chains)
        for element in other.elements.values():
            self.add_element(element)

    def copy(self) -> TableObjects:
        return TableObjects(self.family, dict(self.sets), dict(self.chains), dict(self.elements))

    def rule_count(self) -> int:
        return sum(len(chain.rules) for chain in self.chains.values())


# --- names ------------------------------------------------------------------------------------


def _hash8(text: str) -> str:
    """Upstream's chain-name hash: base32 of sha256, 8 characters."""
    return base64.b32encode(hashlib.sha256(text.encode()).digest()).decode()[:8]


def port_base_name(name: ServicePortName) -> str:
    """``ns/name/proto/port`` (the port's name, empty for an unnamed port, like upstream)."""
    return f"{name.namespace}/{name.name}/{name.protocol.lower()}/{name.port_name}"


def service_chain_name(prefix: str, name: ServicePortName) -> str:
    """A per-service-port chain name: ``<prefix>-<hash8>-<ns>/<name>/<proto>/<port>``."""
    base = port_base_name(name)
    return f"{prefix}-{_hash8(base)}-{base}"


def _endpoint_suffix(endpoint: Endpoint) -> str:
    # ':' cannot appear in an nft identifier, so IPv6 colons become '.'.
    return f"{endpoint.ip.replace(':', '.')}/{endpoint.port}"


def endpoint_chain_name(
    name: ServicePortName, endpoint: Endpoint, prefix: str = PREFIX_ENDPOINT
) -> str:
    """``ep-<hash8>-<ns>/<name>/<proto>/<port>__<ip>/<port>`` (``aff-...`` for the affinity set)."""
    base = f"{port_base_name(name)}__{_endpoint_suffix(endpoint)}"
    return f"{prefix}-{_hash8(base)}-{base}"


def affinity_set_name(name: ServicePortName, endpoint: Endpoint) -> str:
    return endpoint_chain_name(name, endpoint, PREFIX_AFFINITY)


def _comment(text: str) -> str:
    raw = text.encode()[:COMMENT_MAX_BYTES]
    return raw.decode(errors="ignore").replace('"', "'")


def _with_comment(rule: str, comment: str) -> str:
    return f'{rule} comment "{comment}"' if comment else rule


# --- base objects --------------------------------------------------------------------------------


def _ip(family: str) -> str:
    return TABLE_FAMILY[family]


def _family_cidrs(cidrs: Iterable[str], family: str) -> tuple[str, ...]:
    """The family's prefixes, overlaps merged (nft rejects overlapping set intervals), hosts bare."""
    version = 4 if family == IPV4 else 6
    nets = [ipaddress.ip_network(c, strict=False) for c in cidrs]
    merged = ipaddress.collapse_addresses(n for n in nets if n.version == version)
    return tuple(
        str(n.network_address) if n.prefixlen == n.max_prefixlen else str(n) for n in merged
    )


def _set_literal(items: Iterable[str]) -> str:
    """One value as itself, several as an anonymous set.

    Each anonymous set is a kernel set of its own, so a lone prefix (the usual
    single cluster CIDR) is matched directly, as upstream does.
    """
    values = list(items)
    return values[0] if len(values) == 1 else "{ " + ", ".join(values) + " }"


def _nodeport_match(family: str, node_ips: tuple[str, ...], options: RenderOptions) -> str:
    ip = _ip(family)
    if options.nodeport_all_local or not node_ips:
        return f"fib daddr type local {ip} daddr != {LOOPBACK[family]}"
    return f"{ip} daddr @{SET_NODEPORT_IPS}"


# The skeleton's sets and maps: name, key type ("{addr}": the family's), value type, comment.
_NAMED_SETS: Final = (
    (SET_CLUSTER_IPS, "{addr}", None, "Active ClusterIPs"),
    (SET_NODEPORT_IPS, "{addr}", None, "IPs that accept NodePort traffic"),
    (
        MAP_NO_ENDPOINT_SERVICES,
        "{addr} . inet_proto . inet_service",
        "verdict",
        "vmap to drop or reject packets to services with no endpoints",
    ),
    (
        MAP_NO_ENDPOINT_NODEPORTS,
        "inet_proto . inet_service",
        "verdict",
        "vmap to drop or reject packets to service nodeports with no endpoints",
    ),
    (
        MAP_FIREWALL_IPS,
        "{addr} . inet_proto . inet_service",
        "verdict",
        "destinations that are subject to LoadBalancerSourceRanges",
    ),
    (
        MAP_SERVICE_IPS,
        "{addr} . inet_proto . inet_service",
        "verdict",
        "ClusterIP, ExternalIP and LoadBalancer IP traffic",
    ),
    (MAP_SERVICE_NODEPORTS, "inet_proto . inet_service", "verdict", "NodePort traffic"),
)

# The base chains: name, hook, the chains they jump to. Filter chains look at new
# connections only. The no-endpoint checks run after DNAT everywhere (input,
# forward, output at -90), the firewall before it (prerouting, output at -110).
_HOOK_CHAINS: Final = (
    (
        CHAIN_FILTER_PREROUTING,
        "type filter hook prerouting priority dstnat - 10",
        (CHAIN_FIREWALL_CHECK,),
    ),
    (
        CHAIN_FILTER_INPUT,
        "type filter hook input priority -110",
        (CHAIN_NODEPORT_ENDPOINTS_CHECK, CHAIN_SERVICE_ENDPOINTS_CHECK),
    ),
    (
        CHAIN_FILTER_FORWARD,
        "type filter hook forward priority -110",
        (CHAIN_SERVICE_ENDPOINTS_CHECK, CHAIN_CLUSTER_IPS_CHECK),
    ),
    (CHAIN_FILTER_OUTPUT, "type filter hook output priority -110", (CHAIN_FIREWALL_CHECK,)),
    (
        CHAIN_FILTER_OUTPUT_POST_DNAT,
        "type filter hook output priority -90",
        (CHAIN_SERVICE_ENDPOINTS_CHECK, CHAIN_CLUSTER_IPS_CHECK),
    ),
    (CHAIN_NAT_PREROUTING, "type nat hook prerouting priority dstnat", (CHAIN_SERVICES,)),
    (CHAIN_NAT_OUTPUT, "type nat hook output priority -100", (CHAIN_SERVICES,)),
    (CHAIN_NAT_POSTROUTING, "type nat hook postrouting priority srcnat", (CHAIN_MASQUERADING,)),
)


def base_objects(
    family: str, node_ips: Iterable[str] = (), options: RenderOptions | None = None
) -> TableObjects:
    """The table's fixed skeleton: dispatch maps, hook chains, masquerade and reject helpers."""
    opts = options or RenderOptions()
    ip, addr = _ip(family), ADDR_TYPE[family]
    ips = tuple(node_ips)
    mark = f"0x{opts.masquerade_bit:08x}"
    objs = TableObjects(family)
    for name, key, value, comment in _NAMED_SETS:
        key = key.format(addr=addr)
        spec = (f"type {key} : {value}" if value else f"type {key}", f'comment "{comment}"')
        objs.sets[name] = NamedSet(name, spec, is_map=value is not None)
    for node_ip in ips:
        objs.add_element(Element(SET_NODEPORT_IPS, node_ip))
    for name, hook, targets in _HOOK_CHAINS:
        new = "ct state new " if hook.startswith("type filter") else ""
        rules = tuple(f"{new}jump {target}" for target in targets)
        objs.add_chain(Chain(name, rules, hook=f"{hook}; policy accept;"))

    nodeport = _nodeport_match(family, ips, opts)
    dest = f"{ip} daddr . meta l4proto . th dport"
    reject_comment = "Reject traffic to invalid ports of ClusterIPs"
    helpers = {
        CHAIN_NODEPORT_ENDPOINTS_CHECK: [
            f"{nodeport} meta l4proto . th dport vmap @{MAP_NO_ENDPOINT_NODEPORTS}"
        ],
        CHAIN_SERVICE_ENDPOINTS_CHECK: [f"{dest} vmap @{MAP_NO_ENDPOINT_SERVICES}"],
        CHAIN_FIREWALL_CHECK: [f"{dest} vmap @{MAP_FIREWALL_IPS}"],
        CHAIN_SERVICES: [
            f"{dest} vmap @{MAP_SERVICE_IPS}",
            f"{nodeport} meta l4proto . th dport vmap @{MAP_SERVICE_NODEPORTS}",
        ],
        CHAIN_MASQUERADING: [
            f"meta mark & {mark} == 0x00000000 return",
            f"meta mark set meta mark ^ {mark}",
            "masquerade fully-random",
        ],
        CHAIN_CLUSTER_IPS_CHECK: [
            _with_comment(f"{ip} daddr @{SET_CLUSTER_IPS} goto {CHAIN_REJECT}", reject_comment)
        ],
        CHAIN_MARK_FOR_MASQUERADE: [f"meta mark set meta mark | {mark}"],
    }
    for name, rules in helpers.items():
        objs.add_chain(Chain(name, tuple(rules)))
    objs.add_chain(
        Chain(
            CHAIN_REJECT,
            ("meta l4proto tcp reject with tcp reset", "reject"),
            comment=f"helper for @{MAP_NO_ENDPOINT_SERVICES} / @{MAP_NO_ENDPOINT_NODEPORTS}",
        )
    )
    return objs


# --- service objects ---------------------------------------------------------------------------------


def _dnat_target(endpoint: Endpoint) -> str:
    host = f"[{endpoint.ip}]" if ":" in endpoint.ip else endpoint.ip
    return f"{host}:{endpoint.port}"


def _verdict(verdict: Verdict) -> str:
    return VERDICT_REJECT if verdict is Verdict.REJECT else VERDICT_DROP


def _balance(chains: list[str], options: RenderOptions) -> list[str]:
    """Rules sending a new connection to one of ``chains`` uniformly at random."""
    if options.load_balancing == LB_RULES:
        count = len(chains)
        picks = [f"numgen random mod {count - i} == 0 goto {c}" for i, c in enumerate(chains[:-1])]
        return [*picks, f"goto {chains[-1]}"]
    targets = ", ".join(f"{i} : goto {c}" for i, c in enumerate(chains))
    return [f"numgen random mod {len(chains)} vmap {{ {targets} }}"]


def service_objects(
    plan: ServicePlan, family: str, options: RenderOptions | None = None
) -> TableObjects:
    """Everything one service port owns in its family's table (chains, affinity sets, elements)."""
    opts = options or RenderOptions()
    objs = TableObjects(family)
    name, info = plan.name, plan.info
    ip, proto = _ip(family), info.protocol.lower()
    comment = _comment(str(name))
    mfm = f"jump {CHAIN_MARK_FOR_MASQUERADE}"
    cidrs = _family_cidrs(opts.plan.cluster_cidrs, family)

    def chain(prefix: str, rules: list[str]) -> str:
        chain_name = service_chain_name(prefix, name)
        objs.add_chain(Chain(chain_name, tuple(_with_comment(r, comment) for r in rules), comment))
        return chain_name

    group_endpoints = {Policy.CLUSTER: plan.cluster_endpoints, Policy.LOCAL: plan.local_endpoints}
    group_prefix = {Policy.CLUSTER: PREFIX_CLUSTER, Policy.LOCAL: PREFIX_LOCAL}
    groups: dict[Policy, list[str]] = {}  # policy -> leading rules (ClusterIP masquerade)
    internal_group: str | None = None
    if plan.internal is not None and group_endpoints[plan.internal.policy]:
        rules = groups.setdefault(plan.internal.policy, [])
        match = f"{ip} daddr {info.cluster_ip} {proto} dport {info.port}"
        if plan.internal.masquerade is Masquerade.ALL:
            rules.append(f"{match} {mfm}")
        elif plan.internal.masquerade is Masquerade.OFF_CLUSTER and cidrs:
            rules.append(f"{match} {ip} saddr != {_set_literal(cidrs)} {mfm}")
        internal_group = service_chain_name(group_prefix[plan.internal.policy], name)

    ext_rules: list[str] = []
    external = plan.external
    cluster_chain = service_chain_name(PREFIX_CLUSTER, name)
    if external is not None:
        short_circuit = plan.cluster_endpoints and (
            external.short_circuit_pods or external.short_circuit_host
        )
        if short_circuit:
            groups.setdefault(Policy.CLUSTER, [])
        if external.masquerade_all:
            ext_rules.append(mfm)
        if short_circuit and external.short_circuit_pods and cidrs:
            ext_rules.append(f"{ip} saddr {_set_literal(cidrs)} goto {cluster_chain}")
        if short_circuit and external.short_circuit_host:
            ext_rules.append(f"fib saddr type local {mfm}")
            ext_rules.append(f"fib saddr type local goto {cluster_chain}")
        if group_endpoints[external.policy]:
            groups.setdefault(external.policy, [])
            ext_rules.append(f"goto {service_chain_name(group_prefix[external.policy], name)}")

    for policy in (Policy.CLUSTER, Policy.LOCAL):
        if policy not in groups:
            continue
        rules = list(groups[policy])
        endpoints = group_endpoints[policy]
        if plan.affinity_seconds is not None:
            rules += [
                f"{ip} saddr @{affinity_set_name(name, ep)} goto {endpoint_chain_name(name, ep)}"
                for ep in endpoints
            ]
        rules += _balance([endpoint_chain_name(name, ep) for ep in endpoints], opts)
        chain(group_prefix[policy], rules)

    ext_chain = chain(PREFIX_EXTERNAL, ext_rules) if external is not None else None
    fw_chain = None
    if plan.firewall_sources is not None:
        sources = _family_cidrs(plan.firewall_sources, family)
        fw_chain = chain(PREFIX_FIREWALL, [f"{ip} saddr != {_set_literal(sources)} drop"])

    for ep in plan.endpoint_targets:
        rules = [f"{ip} saddr {ep.ip} {mfm}"]
        if plan.affinity_seconds is not None:
            set_name = affinity_set_name(name, ep)
            objs.sets[set_name] = NamedSet(
                set_name,
                (
                    f"type {ADDR_TYPE[family]}",
                    "flags dynamic,timeout",
                    f"timeout {plan.affinity_seconds}s",
                ),
            )
            rules.append(f"update @{set_name} {{ {ip} saddr }}")
        rules.append(f"meta l4proto {proto} dnat to {_dnat_target(ep)}")
        ep_chain = endpoint_chain_name(name, ep)
        objs.add_chain(Chain(ep_chain, tuple(_with_comment(r, comment) for r in rules), comment))

    objs.add_element(Element(SET_CLUSTER_IPS, info.cluster_ip, comment=_comment(str(name.service))))
    for fe in plan.frontends:
        if fe.ip is None:
            key = f"{proto} . {fe.port}"
            route_map, verdict_map = MAP_SERVICE_NODEPORTS, MAP_NO_ENDPOINT_NODEPORTS
        else:
            key = f"{fe.ip} . {proto} . {fe.port}"
            route_map, verdict_map = MAP_SERVICE_IPS, MAP_NO_ENDPOINT_SERVICES
        target = internal_group if fe.route is Route.INTERNAL else ext_chain
        if fe.route is not None and target is not None:
            objs.add_element(Element(route_map, key, f"goto {target}", comment))
        if fe.filter_verdict is not None:
            objs.add_element(Element(verdict_map, key, _verdict(fe.filter_verdict), comment))
        if fe.firewall and fw_chain is not None and fe.ip is not None:
            objs.add_element(Element(MAP_FIREWALL_IPS, key, f"goto {fw_chain}", comment))
    return objs


def plans_objects(
    plans: Iterable[ServicePlan], family: str, options: RenderOptions | None = None
) -> TableObjects:
    """The merged objects of many plans, in name order (so map-key ownership is deterministic)."""
    objs = TableObjects(family)
    for plan in sorted(plans, key=lambda p: p.name):
        objs.merge(service_objects(plan, family, options))
    return objs


def table_objects(
    plans: Iterable[ServicePlan],
    family: str,
    node_ips: Iterable[str] = (),
    options: RenderOptions | None = None,
) -> TableObjects:
    """The whole table of one family: the skeleton plus every plan's objects."""
    objs = base_objects(family, node_ips, options)
    objs.merge(plans_objects(plans, family, options))
    return objs


# --- text -------------------------------------------------------------------------------------------


def element_text(element: Element) -> str:
    text = element.key
    if element.comment:
        text += f' comment "{element.comment}"'
    if element.value is not None:
        text += f" : {element.value}"
    return text


def _by_container(elements: Iterable[Element]) -> dict[str, list[Element]]:
    grouped: dict[str, list[Element]] = {}
    for element in elements:
        grouped.setdefault(element.container, []).append(element)
    return grouped


def table_text(objs: TableObjects) -> str:
    """The table as an nft block (the shape ``nft list table`` prints)."""
    lines = [f"table {_ip(objs.family)} {TABLE} {{", f'\tcomment "{TABLE_COMMENT}"']
    elements = _by_container(objs.elements.values())
    for named in objs.sets.values():
        lines.append(f"\t{'map' if named.is_map else 'set'} {named.name} {{")
        lines += [f"\t\t{line}" for line in named.spec]
        members = elements.get(named.name, ())
        if members:
            lines.append("\t\telements = {")
            lines += [f"\t\t\t{element_text(e)}," for e in members]
            lines.append("\t\t}")
        lines.append("\t}")
    for chain in objs.chains.values():
        lines.append(f"\tchain {chain.name} {{")
        if chain.hook:
            lines.append(f"\t\t{chain.hook}")
        if chain.comment:
            lines.append(f'\t\tcomment "{chain.comment}"')
        lines += [f"\t\t{rule}" for rule in chain.rules]
        lines.append("\t}")
    lines.append("}")
    return "\n".join(lines) + "\n"
