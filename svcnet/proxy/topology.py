"""Which endpoints this node sends a Service port's traffic to (upstream ``topology.go``).

Theory of operation: ``categorize_endpoints`` is upstream ``CategorizeEndpoints``:

- **Cluster** endpoints (used when internalTrafficPolicy is Cluster, or the
  port is externally reachable at all): the Ready endpoints, narrowed by
  topology hints when the hints are usable (below); when that leaves none,
  the serving-and-terminating endpoints (anywhere).
- **Local** endpoints (used when internalTrafficPolicy is Local, or
  externalTrafficPolicy is Local on an externally reachable port): the
  Ready endpoints on this node; when there are none, this node's
  serving-and-terminating ones. Topology is ignored for Local.
- **All reachable**: the union, i.e. the endpoints this node needs a DNAT
  target for.
- **has_any**: some usable endpoint exists anywhere in the cluster (so
  "no endpoints" REJECTs, while "none here" only affects Local paths).

Topology hints (``topologyModeFromHints``): considering only Ready
endpoints, if every one carries a node hint and one is hinted for this node
(PreferSameNode), keep those; otherwise if every one carries a zone hint and
one is hinted for this node's zone (``topology.kubernetes.io/zone``), keep
those; otherwise use them all. The EndpointSlice controller writes hints
only for Services that ask (``service.kubernetes.io/topology-mode: Auto`` or
``trafficDistribution: PreferClose``/``PreferSameZone``/``PreferSameNode``),
so since the ServiceTrafficDistribution gate went on (v1.31) kube-proxy no
longer reads the annotation itself. ``require_hints_opt_in=True`` restores
the older rule (hints honoured only when the Service opted in), and
``prefer_same_node=False`` turns off node hints (the
PreferSameTrafficDistribution gate).

Cluster and Local being ``None`` means "this port never uses that kind",
distinct from an empty tuple ("uses it, has none"). Order follows the input.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Final, NamedTuple

from svcnet.proxy.model import (
    LABEL_TOPOLOGY_ZONE,
    TRAFFIC_DISTRIBUTION_PREFER_SAME_NODE,
    TRAFFIC_DISTRIBUTION_PREFER_SAME_ZONE,
    Endpoint,
    ServicePortInfo,
)

MODE_NONE: Final = ""
MODE_SAME_ZONE: Final = TRAFFIC_DISTRIBUTION_PREFER_SAME_ZONE
MODE_SAME_NODE: Final = TRAFFIC_DISTRIBUTION_PREFER_SAME_NODE


class CategorizedEndpoints(NamedTuple):
    """The result of ``categorize_endpoints`` (upstream's four return values)."""

    cluster: tuple[Endpoint, ...] | None
    local: tuple[Endpoint, ...] | None
    all_reachable: tuple[Endpoint, ...]
    has_any: bool


def topology_mode(
    endpoints: Iterable[Endpoint],
    node_name: str,
    zone: str,
    *,
    prefer_same_node: bool = True,
) -> str:
    """Upstream ``topologyModeFromHints``: which hints to honour, or ``""`` for none."""
    has_ready = False
    all_node_hints = all_zone_hints = True
    for_node = for_zone = False
    for ep in endpoints:
        if not ep.ready:
            continue
        has_ready = True
        if not ep.node_hints:
            all_node_hints = False
        elif node_name in ep.node_hints:
            for_node = True
        if not ep.zone_hints:
            all_zone_hints = False
        elif zone in ep.zone_hints:
            for_zone = True
    if not has_ready:
        return MODE_NONE
    if prefer_same_node and all_node_hints and for_node:
        return MODE_SAME_NODE
    if all_zone_hints and for_zone:
        return MODE_SAME_ZONE
    return MODE_NONE


def _available(ep: Endpoint, mode: str, node_name: str, zone: str) -> bool:
    """Upstream ``availableForTopology``: no fallback here, only the chosen mode."""
    if mode == MODE_NONE:
        return True
    if mode == MODE_SAME_NODE:
        return node_name in ep.node_hints
    return zone in ep.zone_hints


def categorize_endpoints(
    endpoints: Iterable[Endpoint],
    svc_info: ServicePortInfo,
    node_name: str,
    node_labels: Mapping[str, str],
    *,
    prefer_same_node: bool = True,
    require_hints_opt_in: bool = False,
) -> CategorizedEndpoints:
    """Split a port's endpoints by traffic policy and topology (see the module docstring).

    Args:
        endpoints: the port's endpoints (any order; the output keeps it).
        svc_info: the port's view; its traffic policies decide what is computed.
        node_name: this node, matched against node hints (locality is
            already in ``Endpoint.is_local``).
        node_labels: this node's labels; only the zone label is read.
        prefer_same_node: honour node hints (upstream PreferSameTrafficDistribution).
        require_hints_opt_in: honour hints only for Services that opted in
            (upstream before ServiceTrafficDistribution).
    """
    eps = tuple(endpoints)
    mode = MODE_NONE
    cluster: tuple[Endpoint, ...] | None = None
    has_any = False
    if svc_info.uses_cluster_endpoints:
        zone = node_labels.get(LABEL_TOPOLOGY_ZONE, "")
        if svc_info.hints_opt_in or not require_hints_opt_in:
            mode = topology_mode(eps, node_name, zone, prefer_same_node=prefer_same_node)
        cluster = tuple(ep for ep in eps if ep.ready and _available(ep, mode, node_name, zone))
        if not cluster:
            # Topology already fell back when no ready endpoint matched it, so
            # an empty list here means nothing is ready anywhere.
            cluster = tuple(ep for ep in eps if ep.serving_terminating)
        has_any = bool(cluster)

    if not svc_info.uses_local_endpoints:
        return CategorizedEndpoints(cluster, None, cluster or (), has_any)

    local_ready = local_terminating = False
    for ep in eps:
        if ep.ready:
            has_any = True
            local_ready = local_ready or ep.is_local
        elif ep.serving_terminating:
            has_any = True
            local_terminating = local_terminating or ep.is_local
    use_terminating = not local_ready and local_terminating
    local: tuple[Endpoint, ...] = ()
    if local_ready:
        local = tuple(ep for ep in eps if ep.is_local and ep.ready)
    elif use_terminating:
        local = tuple(ep for ep in eps if ep.is_local and ep.serving_terminating)

    if cluster is None:
        return CategorizedEndpoints(None, local, local, has_any)
    if mode == MODE_NONE and not use_terminating:
        # Every Ready endpoint is in cluster, and local holds only Ready ones.
        return CategorizedEndpoints(cluster, local, cluster, has_any)
    seen = {str(ep) for ep in cluster}
    merged = list(cluster)
    for ep in local:
        if str(ep) not in seen:
            seen.add(str(ep))
            merged.append(ep)
    return CategorizedEndpoints(cluster, local, tuple(merged), has_any)
