"""EndpointSlice controller core: (Service, Pods, Nodes, slices) -> Plan.

Theory of operation (upstream ``k8s.io/endpointslice`` ``reconciler.go``,
``utils.go``, ``util/endpointset.go``): for every address type the Service
supports (its ``ipFamilies``; without them the ClusterIP's family, or both
for a headless Service), the selected pods become desired endpoints, grouped
by the port list their ports resolve to (named targetPorts may resolve
differently per pod, so one Service can need several port groups). Each
group is then reconciled against the existing slices with the same ports,
with as little churn as upstream:

1. walk the existing slices: keep each endpoint still desired (replaced by
   its desired version), drop the others; a slice that lost everything is
   deleted, a changed one (endpoints or copied Service labels) is updated,
   the rest are "unchanged";
2. fill the slices already being updated, fullest first, up to the max;
3. put what is left into the unchanged slice that ends closest to full
   (only when fewer than ``max_per_slice`` remain), else into new slices.

Existing slices of port lists no longer desired, and slices not owned by
this Service (a previous Service with the same name), are deleted. When a
family ends up with no slice at all a placeholder (no ports, no endpoints)
is kept or created, so readers can tell "no endpoints" from "not synced".
Finally creates are recycled into updates of slices that would be deleted.

Invariants of a Plan: no endpoint appears twice; no slice made or refilled
here exceeds ``max_per_slice``; unchanged slices are not in it; inputs are
never mutated (updates are deep copies); creates have ``generateName`` and
no name; created and updated slices carry the trigger time annotation.

Endpoint identity is upstream's hash (sorted addresses, hostname, target
namespace/name); same-identity endpoints are equal when nodeName, zone, the
three conditions and the targetRef (minus resourceVersion) match. Port
lists compare as sets. Order is deterministic: pods and slices by name.

Deliberate difference: upstream leaves the slices of a Service that turned
ExternalName in place; here they are deleted.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Final

from svcnet.controllers.podutil import (
    IPV4,
    IPV6,
    LABEL_TOPOLOGY_ZONE,
    Obj,
    endpoint_hostname,
    find_port,
    format_rfc3339nano,
    ip_family,
    is_headless,
    is_pod_ready,
    is_pod_terminating,
    pod_ips_by_family,
    select_pods,
    service_has_selector,
    should_pod_be_in_endpoints,
)

CONTROLLER_NAME: Final = "endpointslice-controller.k8s.io"
LABEL_SERVICE_NAME: Final = "kubernetes.io/service-name"
LABEL_MANAGED_BY: Final = "endpointslice.kubernetes.io/managed-by"
LABEL_HEADLESS: Final = "service.kubernetes.io/headless"
ANNOTATION_TRIGGER_TIME: Final = "endpoints.kubernetes.io/last-change-trigger-time"
RESERVED_LABELS: Final = frozenset({LABEL_SERVICE_NAME, LABEL_MANAGED_BY, LABEL_HEADLESS})
DEFAULT_MAX_ENDPOINTS_PER_SLICE: Final = 100
MAX_ENDPOINTS_PER_SLICE_LIMIT: Final = 1000

Slice = dict[str, Any]
PortKey = tuple[tuple[str, Any, str, Any], ...]
EndpointKey = tuple[tuple[str, ...], str, str, str]


@dataclass
class Plan:
    """What a controller shell must write: creates, then updates, then deletes.

    ``requeue`` lists reasons to sync the key again later (with backoff)
    after applying the plan; ``warnings`` are worth an Event.
    """

    create: list[Slice] = field(default_factory=list)
    update: list[Slice] = field(default_factory=list)
    delete: list[Slice] = field(default_factory=list)
    requeue: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    @property
    def empty(self) -> bool:
        """True when nothing needs writing."""
        return not (self.create or self.update or self.delete)


@dataclass(frozen=True)
class EndpointGroup:
    """The desired endpoints sharing one resolved port list."""

    ports: list[dict[str, Any]]
    endpoints: list[dict[str, Any]]


# --- keys and comparisons ------------------------------------------------------


def port_key(ports: Iterable[Mapping[str, Any]] | None) -> PortKey:
    """Order-free identity of a port list (API defaults: name "", TCP)."""
    return tuple(
        sorted(
            (
                p.get("name") or "",
                p.get("port"),
                p.get("protocol") or "TCP",
                p.get("appProtocol"),
            )
            for p in ports or ()
        )
    )


def endpoint_key(ep: Mapping[str, Any]) -> EndpointKey:
    """Upstream's endpoint hash: sorted addresses, hostname, target ns/name."""
    ref = ep.get("targetRef") or {}
    return (
        tuple(sorted(ep.get("addresses") or ())),
        ep.get("hostname") or "",
        ref.get("namespace") or "",
        ref.get("name") or "",
    )


def _ref_view(ref: Mapping[str, Any] | None) -> dict[str, Any] | None:
    if ref is None:
        return None
    return {k: v for k, v in ref.items() if k != "resourceVersion" and v not in ("", None)}


def endpoints_equal_beyond_key(a: Mapping[str, Any], b: Mapping[str, Any]) -> bool:
    """Upstream ``EndpointsEqualBeyondHash`` (hints are not compared)."""
    if a.get("nodeName") != b.get("nodeName") or a.get("zone") != b.get("zone"):
        return False
    ca, cb = a.get("conditions") or {}, b.get("conditions") or {}
    if any(ca.get(k) != cb.get(k) for k in ("ready", "serving", "terminating")):
        return False
    return _ref_view(a.get("targetRef")) == _ref_view(b.get("targetRef"))


# --- desired state ---------------------------------------------------------------


def address_types_for_service(service: Obj) -> list[str]:
    """The slice address types a Service gets (upstream ``getAddressTypesForService``).

    ``spec.ipFamilies`` in order; without them the ClusterIP's family; a
    headless Service without families gets both.
    """
    spec = service.get("spec") or {}
    types: list[str] = []
    for fam in spec.get("ipFamilies") or ():
        if fam in (IPV4, IPV6) and fam not in types:
            types.append(fam)
    if types:
        return types
    cluster_ip = spec.get("clusterIP") or ""
    if cluster_ip and cluster_ip != "None":
        return [IPV6 if ip_family(cluster_ip) == IPV6 else IPV4]
    return [IPV4, IPV6]


def endpoint_ports(service: Obj, pod: Obj) -> list[dict[str, Any]]:
    """The slice ports of one pod: each Service port whose target resolves.

    A headless Service may have no ports at all (upstream ``getEndpointPorts``).
    """
    ports: list[dict[str, Any]] = []
    for sp in (service.get("spec") or {}).get("ports") or ():
        number = find_port(pod, sp)
        if number is None:
            continue
        port = {
            "name": sp.get("name") or "",
            "port": number,
            "protocol": sp.get("protocol") or "TCP",
        }
        if sp.get("appProtocol") is not None:
            port["appProtocol"] = sp["appProtocol"]
        ports.append(port)
    return ports


def pod_to_endpoint(pod: Obj, node: Obj | None, service: Obj, address_type: str) -> dict[str, Any]:
    """One pod as a slice endpoint of an address type (upstream ``podToEndpoint``).

    serving = the pod is Ready; terminating = it has a deletionTimestamp;
    ready = serving and not terminating, or always with
    ``publishNotReadyAddresses``.
    """
    serving = is_pod_ready(pod)
    terminating = is_pod_terminating(pod)
    publish = bool((service.get("spec") or {}).get("publishNotReadyAddresses"))
    meta = pod.get("metadata") or {}
    ref = {"kind": "Pod", "namespace": meta.get("namespace", ""), "name": meta.get("name", "")}
    if meta.get("uid"):
        ref["uid"] = meta["uid"]
    ep: dict[str, Any] = {
        "addresses": pod_ips_by_family(pod)[address_type],
        "conditions": {
            "ready": publish or (serving and not terminating),
            "serving": serving,
            "terminating": terminating,
        },
    }
    hostname = endpoint_hostname(pod, service)
    if hostname is not None:
        ep["hostname"] = hostname
    ep["targetRef"] = ref
    node_name = (pod.get("spec") or {}).get("nodeName") or ""
    if node_name:
        ep["nodeName"] = node_name
    zone = (((node or {}).get("metadata") or {}).get("labels") or {}).get(LABEL_TOPOLOGY_ZONE)
    if zone:
        ep["zone"] = zone
    return ep


_Groups = dict[PortKey, tuple[list[dict[str, Any]], dict[EndpointKey, dict[str, Any]]]]


def _desired(
    service: Obj, pods: Iterable[Obj], nodes_by_name: Mapping[str, Obj], address_type: str
) -> tuple[_Groups, list[str]]:
    groups: _Groups = {}
    requeue: list[str] = []
    publish = bool((service.get("spec") or {}).get("publishNotReadyAddresses"))
    ns, name = _ns_name(service)
    for pod in select_pods(service, pods):
        if not should_pod_be_in_endpoints(pod, include_terminating=True):
            continue
        ports = endpoint_ports(service, pod)
        ports_and_eps = groups.setdefault(port_key(ports), (ports, {}))
        node_name = (pod.get("spec") or {}).get("nodeName") or ""
        node = nodes_by_name.get(node_name) if node_name else None
        if node is None and not publish:
            # Upstream: leave the pod out now and retry, so a pod bound to a
            # vanished node cannot wedge the slices forever.
            pod_name = (pod.get("metadata") or {}).get("name", "")
            requeue.append(
                f"skipping Pod {pod_name} for Service {ns}/{name}: Node {node_name} Not Found"
            )
            continue
        ep = pod_to_endpoint(pod, node, service, address_type)
        if ep["addresses"]:
            ports_and_eps[1][endpoint_key(ep)] = ep
    return groups, requeue


def desired_endpoints(
    service: Obj, pods: Iterable[Obj], nodes_by_name: Mapping[str, Obj], address_type: str
) -> list[EndpointGroup]:
    """The desired endpoints of one address type, grouped by resolved ports.

    Pods are filtered by the Service's namespace and selector here; pods in
    the right place but without an address of this family give a group with
    no endpoints (their ports still count, as upstream).
    """
    groups, _ = _desired(service, pods, nodes_by_name, address_type)
    return [EndpointGroup(ports, list(eps.values())) for ports, eps in groups.values()]


# --- slice objects ---------------------------------------------------------------


def _ns_name(obj: Obj) -> tuple[str, str]:
    meta = obj.get("metadata") or {}
    return meta.get("namespace", ""), meta.get("name", "")


def owner_reference(service: Obj) -> dict[str, Any]:
    """The controller reference a managed slice points at its Service with."""
    meta = service.get("metadata") or {}
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "name": meta.get("name", ""),
        "uid": meta.get("uid", ""),
        "controller": True,
        "blockOwnerDeletion": True,
    }


def owned_by(slice_: Obj, service: Obj) -> bool:
    """The slice has an ownerReference to this very Service (same UID)."""
    uid = (service.get("metadata") or {}).get("uid", "")
    return any(
        o.get("uid", "") == uid and o.get("kind") == "Service" and o.get("apiVersion") == "v1"
        for o in (slice_.get("metadata") or {}).get("ownerReferences") or ()
    )


def slice_labels(
    current: Mapping[str, str] | None, service: Obj, controller_name: str = CONTROLLER_NAME
) -> tuple[dict[str, str], bool]:
    """(labels a slice should carry, whether the copied Service labels differ).

    Upstream ``setEndpointSliceLabels``: the Service's labels minus the
    reserved ones, plus the headless marker, the service name and the
    managed-by value. Only a difference in the copied labels counts as a
    change; reserved labels are overwritten whenever the slice is written.
    """
    svc_labels = {
        k: v
        for k, v in ((service.get("metadata") or {}).get("labels") or {}).items()
        if k not in RESERVED_LABELS
    }
    mine = {k: v for k, v in (current or {}).items() if k not in RESERVED_LABELS}
    changed = mine != svc_labels
    labels = dict(svc_labels)
    if is_headless(service):
        labels[LABEL_HEADLESS] = ""
    labels[LABEL_SERVICE_NAME] = _ns_name(service)[1]
    labels[LABEL_MANAGED_BY] = controller_name
    return labels, changed


def new_slice(
    service: Obj,
    ports: list[dict[str, Any]],
    address_type: str,
    controller_name: str = CONTROLLER_NAME,
) -> Slice:
    """An empty slice for a Service (upstream ``newEndpointSlice``)."""
    ns, name = _ns_name(service)
    labels, _ = slice_labels({}, service, controller_name)
    return {
        "apiVersion": "discovery.k8s.io/v1",
        "kind": "EndpointSlice",
        "metadata": {
            "generateName": f"{name}-",
            "namespace": ns,
            "labels": labels,
            "ownerReferences": [owner_reference(service)],
        },
        "addressType": address_type,
        "endpoints": [],
        "ports": copy.deepcopy(ports),
    }


def _is_placeholder_of(existing: Obj, placeholder: Obj) -> bool:
    """Upstream ``placeholderSliceCompare``: namespace, labels, owners, content."""
    em, pm = existing.get("metadata") or {}, placeholder.get("metadata") or {}
    return (
        em.get("namespace", "") == pm.get("namespace", "")
        and (em.get("labels") or {}) == (pm.get("labels") or {})
        and [_ref_view(o) for o in em.get("ownerReferences") or ()]
        == [_ref_view(o) for o in pm.get("ownerReferences") or ()]
        and existing.get("addressType") == placeholder.get("addressType")
        and not existing.get("endpoints")
        and not existing.get("ports")
    )


def is_managed_slice(slice_: Obj, service: Obj, controller_name: str = CONTROLLER_NAME) -> bool:
    """The slice is this controller's for the Service's name and namespace."""
    labels = (slice_.get("metadata") or {}).get("labels") or {}
    ns, name = _ns_name(service)
    return (
        labels.get(LABEL_MANAGED_BY) == controller_name
        and labels.get(LABEL_SERVICE_NAME) == name
        and _ns_name(slice_)[0] in ("", ns)
    )


def set_trigger_time(slice_: Slice, now: datetime | str | None) -> None:
    """Set (or clear when None) the last-change-trigger-time annotation."""
    meta = slice_.setdefault("metadata", {})
    annotations = dict(meta.get("annotations") or {})
    if now is None:
        annotations.pop(ANNOTATION_TRIGGER_TIME, None)
    else:
        annotations[ANNOTATION_TRIGGER_TIME] = format_rfc3339nano(now)
    meta["annotations"] = annotations
    if not annotations:
        del meta["annotations"]


# --- reconciliation ---------------------------------------------------------------


def _pop_first(desired: dict[EndpointKey, dict[str, Any]]) -> dict[str, Any]:
    return desired.pop(next(iter(desired)))


def slice_to_fill(slices: Iterable[Obj], count: int, max_per_slice: int) -> Obj | None:
    """The slice closest to full after adding ``count`` endpoints, if any fits.

    Upstream ``getSliceToFill``: the first slice with the smallest room left.
    """
    best, best_room = None, max_per_slice
    for s in slices:
        room = max_per_slice - (count + len(s.get("endpoints") or ()))
        if 0 <= room < best_room:
            best, best_room = s, room
            if room == 0:
                break
    return best


def _reconcile_port_group(
    service: Obj,
    existing: list[Slice],
    desired: dict[EndpointKey, dict[str, Any]],
    ports: list[dict[str, Any]],
    address_type: str,
    max_per_slice: int,
    controller_name: str,
) -> tuple[list[Slice], list[Slice], list[Slice]]:
    by_name: dict[str, Slice] = {}
    unchanged: list[str] = []
    to_update: list[str] = []
    to_delete: list[str] = []

    # 1. Keep what is still desired where it is; drop the rest.
    for s in existing:
        name = s["metadata"]["name"]
        by_name[name] = s
        old = s.get("endpoints") or []
        kept: list[dict[str, Any]] = []
        updated = False
        for ep in old:
            got = desired.pop(endpoint_key(ep), None)
            if got is not None:
                kept.append(got)
                updated = updated or not endpoints_equal_beyond_key(got, ep)
        labels, labels_changed = slice_labels(s["metadata"].get("labels"), service, controller_name)
        changed = updated or len(old) != len(kept)
        if changed and not kept:
            to_delete.append(name)
        elif changed or labels_changed:
            by_name[name] = s = copy.deepcopy(s)
            s["endpoints"] = kept if changed else list(s.get("endpoints") or [])
            s["metadata"]["labels"] = labels
            to_update.append(name)
        else:
            unchanged.append(name)

    # 2. Top up the slices being written anyway, fullest first.
    if desired and to_update:
        for s in sorted((by_name[n] for n in to_update), key=lambda s: -len(s["endpoints"])):
            while desired and len(s["endpoints"]) < max_per_slice:
                s["endpoints"].append(_pop_first(desired))

    # 3. The rest: into the unchanged slice closest to full, else new slices.
    created: list[Slice] = []
    while desired:
        target: Slice | None = None
        if len(desired) < max_per_slice and unchanged:
            target = slice_to_fill([by_name[n] for n in unchanged], len(desired), max_per_slice)
        if target is None:
            target = new_slice(service, ports, address_type, controller_name)
        else:
            target = copy.deepcopy(target)
            target["endpoints"] = list(target.get("endpoints") or [])
            by_name[target["metadata"]["name"]] = target
        while desired and len(target["endpoints"]) < max_per_slice:
            target["endpoints"].append(_pop_first(desired))
        name = target["metadata"].get("name")
        if name:
            to_update.append(name)
            unchanged.remove(name)
        else:
            created.append(target)

    return created, [by_name[n] for n in to_update], [by_name[n] for n in to_delete]


def _reconcile_address_type(
    service: Obj,
    pods: list[Obj],
    nodes_by_name: Mapping[str, Obj],
    existing: list[Slice],
    address_type: str,
    max_per_slice: int,
    controller_name: str,
) -> Plan:
    plan = Plan()
    existing_by_ports: dict[PortKey, list[Slice]] = {}
    for s in existing:
        if owned_by(s, service):
            existing_by_ports.setdefault(port_key(s.get("ports")), []).append(s)
        else:
            plan.delete.append(s)

    groups, plan.requeue = _desired(service, pods, nodes_by_name, address_type)
    for key, (ports, desired) in groups.items():
        existing_group = existing_by_ports.get(key, [])
        created, updated, deleted = _reconcile_port_group(
            service, existing_group, desired, ports, address_type, max_per_slice, controller_name
        )
        plan.create += created
        plan.update += updated
        plan.delete += deleted
    for key, slices in existing_by_ports.items():
        if key not in groups:
            plan.delete += slices

    # Keep one (placeholder) slice per family so "no endpoints" is visible.
    if len(existing) == len(plan.delete) and not plan.create:
        placeholder = new_slice(service, [], address_type, controller_name)
        if len(plan.delete) == 1 and _is_placeholder_of(plan.delete[0], placeholder):
            plan.delete = []
        else:
            plan.create.append(placeholder)

    # Upstream ``finalize``: turn creates into updates of doomed slices.
    i = 0
    while i < len(plan.delete) and plan.create:
        doomed = plan.delete[i]
        fresh = plan.create[-1]
        if doomed.get("addressType") == fresh["addressType"] and owned_by(doomed, service):
            fresh["metadata"]["name"] = doomed["metadata"]["name"]
            if doomed["metadata"].get("resourceVersion"):
                fresh["metadata"]["resourceVersion"] = doomed["metadata"]["resourceVersion"]
            plan.update.append(plan.create.pop())
            del plan.delete[i]
        else:
            i += 1
    return plan


def reconcile(
    service: Obj,
    pods: Iterable[Obj],
    nodes_by_name: Mapping[str, Obj],
    existing_slices: Iterable[Obj],
    *,
    max_per_slice: int = DEFAULT_MAX_ENDPOINTS_PER_SLICE,
    now: datetime | str | None = None,
    controller_name: str = CONTROLLER_NAME,
) -> Plan:
    """Plan the slice writes that make a Service's slices match its pods.

    Args:
        service: the Service (must exist; its deletion is the garbage
            collector's business through the slices' ownerReferences).
        pods: candidate pods; only those in the Service's namespace matching
            its selector are used, so the shell may pass a superset.
        nodes_by_name: Node objects for zone and existence checks. A pod
            whose node is unknown is skipped (unless publishNotReadyAddresses)
            and ``Plan.requeue`` says why.
        existing_slices: candidate slices; only this controller's slices for
            the Service (by labels) are considered or touched.
        max_per_slice: endpoints per slice, 1..1000 (upstream flag
            ``--max-endpoints-per-slice``).
        now: the last-change trigger time written on changed slices.

    Returns:
        The Plan; empty when nothing changed, or for a Service without a
        selector (its slices are someone else's).

    Raises:
        ValueError: ``max_per_slice`` out of range.
    """
    if not 1 <= max_per_slice <= MAX_ENDPOINTS_PER_SLICE_LIMIT:
        raise ValueError(f"max_per_slice must be in 1..1000, got {max_per_slice}")
    managed = sorted(
        (s for s in existing_slices if is_managed_slice(s, service, controller_name)),
        key=lambda s: (s.get("metadata") or {}).get("name", ""),
    )
    spec = service.get("spec") or {}
    if spec.get("type") == "ExternalName":
        return Plan(delete=list(managed))
    if not service_has_selector(service):
        return Plan()

    pods = list(pods)
    types = address_types_for_service(service)
    unsupported = [s for s in managed if s.get("addressType") not in types]
    plan = Plan()
    for address_type in types:
        mine = [s for s in managed if s.get("addressType") == address_type]
        sub = _reconcile_address_type(
            service, pods, nodes_by_name, mine, address_type, max_per_slice, controller_name
        )
        plan.create += sub.create
        plan.update += sub.update
        plan.delete += sub.delete
        plan.requeue += [r for r in sub.requeue if r not in plan.requeue]
    plan.delete += unsupported

    # Upstream: no new slices while the Service is being deleted (the
    # garbage collector would race with them).
    if (service.get("metadata") or {}).get("deletionTimestamp"):
        plan.create = []
    for s in plan.create + plan.update:
        set_trigger_time(s, now)
    return plan
