"""Legacy v1 Endpoints core, and EndpointSlice mirroring of user-written Endpoints.

Endpoints (upstream ``pkg/controller/endpoint/endpoints_controller.go`` and
``pkg/api/v1/endpoints`` ``RepackSubsets``): each selected pod gives one
address of the Service's primary IP family (``ipFamilies[0]``), ready or
not ready (always ready with ``publishNotReadyAddresses``; terminating pods
only appear then), for every Service port whose target resolves on it. The
(address, port) pairs are repacked into the canonical form: addresses
offering exactly the same ports share one subset; an address is not ready
for a port if any source says so; addresses sort by IP then pod UID.
Beyond 1000 addresses the object is truncated (ready addresses first, each
subset keeping its proportional share) and annotated
``endpoints.kubernetes.io/over-capacity: truncated``.

Comparison with the existing object ignores subset, address and port order
and the targetRef resourceVersion, and (as upstream) the headless label.
Deliberate differences: subsets sort by a readable key rather than an MD5
of their Go dump; an over-capacity object is compared after truncation, so
it is not rewritten on every sync as upstream does; a subset truncation
empties is dropped rather than written (it would fail validation).

Mirroring (upstream ``pkg/controller/endpointslicemirroring``): the
Endpoints of a selectorless Service are copied into slices managed by
``endpointslicemirroring-controller.k8s.io``: one slice per address family
and repacked subset (up to 1000 addresses per subset, invalid IPs skipped),
labelled and annotated like the Endpoints, owned by it. Endpoints labelled
``endpointslice.kubernetes.io/skip-mirror: "true"``, leader-election
Endpoints, missing objects and Services with a selector get their mirrored
slices deleted instead.
"""

from __future__ import annotations

import copy
import json
import math
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any, Final

from svcnet.controllers.endpointslice import (
    ANNOTATION_TRIGGER_TIME,
    LABEL_HEADLESS,
    LABEL_MANAGED_BY,
    LABEL_SERVICE_NAME,
    EndpointKey,
    Plan,
    PortKey,
    Slice,
    endpoint_key,
    endpoints_equal_beyond_key,
    port_key,
)
from svcnet.controllers.podutil import (
    CLUSTER_IP_NONE,
    IPV4,
    IPV6,
    Obj,
    endpoint_hostname,
    find_port,
    format_rfc3339nano,
    ip_family,
    is_headless,
    is_pod_ready,
    normalize_ip,
    pod_ips,
    select_pods,
    service_has_selector,
    should_pod_be_in_endpoints,
)

ANNOTATION_OVER_CAPACITY: Final = "endpoints.kubernetes.io/over-capacity"
OVER_CAPACITY_TRUNCATED: Final = "truncated"
MAX_CAPACITY: Final = 1000
MIRRORING_CONTROLLER_NAME: Final = "endpointslicemirroring-controller.k8s.io"
LABEL_SKIP_MIRROR: Final = "endpointslice.kubernetes.io/skip-mirror"
ANNOTATION_LEADER: Final = "control-plane.alpha.kubernetes.io/leader"
ANNOTATION_LAST_APPLIED: Final = "kubectl.kubernetes.io/last-applied-configuration"
DEFAULT_MAX_ENDPOINTS_PER_SUBSET: Final = 1000

Subset = dict[str, Any]
_AddrKey = tuple[str, str]


def _meta(obj: Obj | None) -> Obj:
    return (obj or {}).get("metadata") or {}


def _spec(obj: Obj | None) -> Obj:
    return (obj or {}).get("spec") or {}


# --- one pod as an Endpoints address ---------------------------------------------


def endpoint_address(service: Obj, pod: Obj) -> dict[str, Any] | None:
    """The pod's address of the Service's primary family, or None.

    Upstream ``podToEndpointAddressForService``: the family is
    ``ipFamilies[0]``, else the ClusterIP's, else (headless) the pod IP's.
    """
    spec = _spec(service)
    families = spec.get("ipFamilies") or ()
    if families:
        family = families[0]
    elif spec.get("clusterIP") and spec["clusterIP"] != CLUSTER_IP_NONE:
        family = IPV6 if ip_family(spec["clusterIP"]) == IPV6 else IPV4
    else:
        primary = (pod.get("status") or {}).get("podIP") or ""
        family = IPV6 if ip_family(primary) == IPV6 else IPV4
    want_v6 = family == IPV6
    ip = next((ip for ip in pod_ips(pod) if (ip_family(ip) == IPV6) == want_v6), None)
    if ip is None:
        return None
    meta = _meta(pod)
    addr: dict[str, Any] = {"ip": ip}
    hostname = endpoint_hostname(pod, service)
    if hostname:
        addr["hostname"] = hostname
    if _spec(pod).get("nodeName"):
        addr["nodeName"] = _spec(pod)["nodeName"]
    ref = {"kind": "Pod", "namespace": meta.get("namespace", ""), "name": meta.get("name", "")}
    if meta.get("uid"):
        ref["uid"] = meta["uid"]
    addr["targetRef"] = ref
    return addr


def _endpoints_port(service_port: Obj, number: int) -> dict[str, Any]:
    port: dict[str, Any] = {}
    if service_port.get("name"):
        port["name"] = service_port["name"]
    port["port"] = number
    port["protocol"] = service_port.get("protocol") or "TCP"
    if service_port.get("appProtocol") is not None:
        port["appProtocol"] = service_port["appProtocol"]
    return port


def endpoint_subsets(service: Obj, pods: Iterable[Obj]) -> list[Subset]:
    """The repacked (untruncated) subsets for a Service and its pods."""
    spec = _spec(service)
    publish = bool(spec.get("publishNotReadyAddresses"))
    service_ports = spec.get("ports") or []
    raw: list[Subset] = []
    for pod in select_pods(service, pods):
        if not should_pod_be_in_endpoints(pod, include_terminating=publish):
            continue
        addr = endpoint_address(service, pod)
        if addr is None:
            continue
        field = "addresses" if publish or is_pod_ready(pod) else "notReadyAddresses"
        if not service_ports:
            if spec.get("clusterIP") == CLUSTER_IP_NONE:
                raw.append({field: [addr]})
            continue
        for sp in service_ports:
            number = find_port(pod, sp)
            if number is not None:
                raw.append({field: [addr], "ports": [_endpoints_port(sp, number)]})
    return repack_subsets(raw)


# --- RepackSubsets ----------------------------------------------------------------


def _addr_key(addr: Obj) -> _AddrKey:
    return addr.get("ip", ""), (addr.get("targetRef") or {}).get("uid", "")


def _addr_sort_key(addr: Obj) -> tuple[str, int, str]:
    ref = addr.get("targetRef")
    return addr.get("ip", ""), 0 if ref is None else 1, (ref or {}).get("uid", "")


def _port_tuple(port: Obj) -> tuple[str, Any, str, str]:
    return (
        port.get("name") or "",
        port.get("port"),
        port.get("protocol") or "TCP",
        port.get("appProtocol") or "",
    )


def _subset_sort_key(subset: Subset) -> str:
    return json.dumps(
        [subset.get("ports") or [], subset.get("addresses") or [], subset.get("notReadyAddresses")],
        sort_keys=True,
    )


def repack_subsets(subsets: Iterable[Obj] | None) -> list[Subset]:
    """Canonical subsets (upstream ``RepackSubsets`` + ``SortSubsets``).

    Addresses are de-duplicated by (IP, target UID), the first full copy
    wins; "not ready" for a port trumps "ready"; addresses with identical
    port sets share a subset. A subset without ports keeps its addresses
    (upstream's sentinel port).
    """
    all_addrs: dict[_AddrKey, dict[str, Any]] = {}
    by_port: dict[Any, tuple[Obj | None, dict[_AddrKey, bool]]] = {}
    for ss in subsets or ():
        ports: list[Obj | None] = list(ss.get("ports") or []) or [None]
        for port in ports:
            pkey = None if port is None else _port_tuple(port)
            _, ready_by_addr = by_port.setdefault(pkey, (port, {}))
            for field, ready in (("addresses", True), ("notReadyAddresses", False)):
                for addr in ss.get(field) or ():
                    key = _addr_key(addr)
                    all_addrs.setdefault(key, copy.deepcopy(dict(addr)))
                    if ready_by_addr.get(key, True):
                        ready_by_addr[key] = ready

    grouped: dict[frozenset[tuple[_AddrKey, bool]], list[Obj]] = {}
    for port, ready_by_addr in by_port.values():
        ports_of_set = grouped.setdefault(frozenset(ready_by_addr.items()), [])
        if port is not None:
            ports_of_set.append(port)

    final: list[Subset] = []
    for addr_set, ports in grouped.items():
        ready = sorted((all_addrs[k] for k, r in addr_set if r), key=_addr_sort_key)
        not_ready = sorted((all_addrs[k] for k, r in addr_set if not r), key=_addr_sort_key)
        subset: Subset = {}
        if ready:
            subset["addresses"] = ready
        if not_ready:
            subset["notReadyAddresses"] = not_ready
        if ports:
            subset["ports"] = [copy.deepcopy(dict(p)) for p in sorted(ports, key=_port_tuple)]
        final.append(subset)
    return sorted(final, key=_subset_sort_key)


def truncate_subsets(subsets: list[Subset]) -> tuple[list[Subset], bool]:
    """Cut subsets to 1000 addresses (upstream ``truncateEndpoints``).

    Not-ready addresses go first; only if the ready ones alone exceed the
    cap are they cut too (and every not-ready one dropped). Each subset
    keeps ceil(its share x room), until the room is used up.

    Returns:
        (new subsets, whether anything was cut).
    """
    total_ready = sum(len(ss.get("addresses") or ()) for ss in subsets)
    total_not_ready = sum(len(ss.get("notReadyAddresses") or ()) for ss in subsets)
    if total_ready + total_not_ready <= MAX_CAPACITY:
        return subsets, False
    cut_ready = total_ready > MAX_CAPACITY
    room = MAX_CAPACITY if cut_ready else MAX_CAPACITY - total_ready
    total = total_ready if cut_ready else total_not_ready
    left = room
    out: list[Subset] = []
    for ss in subsets:
        ss = dict(ss)
        field = "addresses" if cut_ready else "notReadyAddresses"
        have = list(ss.get(field) or ())
        share = min(math.ceil(len(have) / total * room), left)
        ss[field] = have[:share]
        if cut_ready:
            ss["notReadyAddresses"] = []
        left -= len(ss[field])
        for key in ("addresses", "notReadyAddresses"):
            if not ss.get(key):
                ss.pop(key, None)
        if ss.get("addresses") or ss.get("notReadyAddresses"):
            out.append(ss)
    return out, True


def _canonical_subsets(subsets: Iterable[Obj] | None) -> list[Any]:
    """Order-free view of subsets, ignoring targetRef resourceVersions."""

    def addr_view(a: Obj) -> str:
        a = dict(a)
        if a.get("targetRef"):
            a["targetRef"] = {k: v for k, v in a["targetRef"].items() if k != "resourceVersion"}
        return json.dumps(a, sort_keys=True)

    return sorted(
        (
            sorted(addr_view(a) for a in ss.get("addresses") or ()),
            sorted(addr_view(a) for a in ss.get("notReadyAddresses") or ()),
            sorted(_port_tuple(p) for p in ss.get("ports") or ()),
        )
        for ss in subsets or ()
    )


def desired_endpoints_object(
    service: Obj,
    pods: Iterable[Obj],
    existing: Obj | None,
    now: datetime | str | None = None,
) -> dict[str, Any] | None:
    """The Endpoints object to write for a Service, or None to write nothing.

    Args:
        service: the Service. ExternalName Services and Services without a
            selector get None (their Endpoints, if any, are someone else's).
        pods: candidate pods (filtered by namespace and selector here).
        existing: the current Endpoints object, or None if there is none;
            the result is a create when it is None, else an update of a copy
            of it (its resourceVersion kept).
        now: the last-change trigger time to annotate; None clears it.
    """
    spec = _spec(service)
    if spec.get("type") == "ExternalName" or not service_has_selector(service):
        return None
    subsets, truncated = truncate_subsets(endpoint_subsets(service, pods))
    svc_labels = dict(_meta(service).get("labels") or {})
    if existing is not None:
        current_labels = {
            k: v for k, v in (_meta(existing).get("labels") or {}).items() if k != LABEL_HEADLESS
        }
        over = (_meta(existing).get("annotations") or {}).get(ANNOTATION_OVER_CAPACITY)
        if (
            _canonical_subsets(existing.get("subsets")) == _canonical_subsets(subsets)
            and current_labels == svc_labels
            and over == (OVER_CAPACITY_TRUNCATED if truncated else None)
        ):
            return None
        new = copy.deepcopy(dict(existing))
    else:
        ns, name = _meta(service).get("namespace", ""), _meta(service).get("name", "")
        new = {"apiVersion": "v1", "kind": "Endpoints", "metadata": {"name": name, "namespace": ns}}
    meta = new.setdefault("metadata", {})
    labels = svc_labels
    if is_headless(service):
        labels[LABEL_HEADLESS] = ""
    meta["labels"] = labels
    annotations = dict(meta.get("annotations") or {})
    if now is None:
        annotations.pop(ANNOTATION_TRIGGER_TIME, None)
    else:
        annotations[ANNOTATION_TRIGGER_TIME] = format_rfc3339nano(now)
    if truncated:
        annotations[ANNOTATION_OVER_CAPACITY] = OVER_CAPACITY_TRUNCATED
    else:
        annotations.pop(ANNOTATION_OVER_CAPACITY, None)
    meta["annotations"] = annotations
    if not annotations:
        del meta["annotations"]
    new["subsets"] = subsets
    return new


# --- mirroring --------------------------------------------------------------------


def should_mirror(endpoints: Obj | None) -> bool:
    """Upstream ``shouldMirror``: not skip-mirror labelled, not a leader lock."""
    if endpoints is None:
        return False
    meta = _meta(endpoints)
    if (meta.get("labels") or {}).get(LABEL_SKIP_MIRROR) == "true":
        return False
    return ANNOTATION_LEADER not in (meta.get("annotations") or {})


def is_mirrored_slice(slice_: Obj, namespace: str, name: str) -> bool:
    """A slice the mirroring controller made for the Endpoints ns/name."""
    labels = _meta(slice_).get("labels") or {}
    return (
        labels.get(LABEL_MANAGED_BY) == MIRRORING_CONTROLLER_NAME
        and labels.get(LABEL_SERVICE_NAME) == name
        and _meta(slice_).get("namespace", "") in ("", namespace)
    )


def address_to_endpoint(address: Obj, ready: bool) -> tuple[dict[str, Any], str] | None:
    """One Endpoints address as a slice endpoint and its address type, or None."""
    norm = normalize_ip(address.get("ip", ""))
    if norm is None:
        return None
    ep: dict[str, Any] = {"addresses": [norm[1]], "conditions": {"ready": ready}}
    if address.get("hostname"):
        ep["hostname"] = address["hostname"]
    if address.get("targetRef") is not None:
        ep["targetRef"] = copy.deepcopy(dict(address["targetRef"]))
    if address.get("nodeName"):
        ep["nodeName"] = address["nodeName"]
    return ep, norm[0]


def _slice_ports(ports: Iterable[Obj] | None) -> list[dict[str, Any]]:
    out = []
    for p in ports or ():
        port = {
            "name": p.get("name") or "",
            "port": p.get("port"),
            "protocol": p.get("protocol") or "TCP",
        }
        if p.get("appProtocol") is not None:
            port["appProtocol"] = p["appProtocol"]
        out.append(port)
    return out


def _mirrored_annotations(endpoints: Obj) -> dict[str, str]:
    skip = (ANNOTATION_TRIGGER_TIME, ANNOTATION_LAST_APPLIED)
    return {k: v for k, v in (_meta(endpoints).get("annotations") or {}).items() if k not in skip}


def new_mirrored_slice(
    endpoints: Obj, ports: list[dict[str, Any]], address_type: str, name: str = ""
) -> Slice:
    """An empty mirrored slice (upstream mirroring ``newEndpointSlice``)."""
    meta = _meta(endpoints)
    ep_name = meta.get("name", "")
    labels = dict(meta.get("labels") or {})
    labels[LABEL_SERVICE_NAME] = ep_name
    labels[LABEL_MANAGED_BY] = MIRRORING_CONTROLLER_NAME
    smeta: dict[str, Any] = {}
    if name:
        smeta["name"] = name
    else:
        smeta["generateName"] = f"{ep_name}-" if len(ep_name) < 253 else ep_name
    smeta["namespace"] = meta.get("namespace", "")
    smeta["labels"] = labels
    smeta["annotations"] = _mirrored_annotations(endpoints)
    smeta["ownerReferences"] = [
        {
            "apiVersion": "v1",
            "kind": "Endpoints",
            "name": ep_name,
            "uid": meta.get("uid", ""),
            "controller": True,
            "blockOwnerDeletion": True,
        }
    ]
    return {
        "apiVersion": "discovery.k8s.io/v1",
        "kind": "EndpointSlice",
        "metadata": smeta,
        "addressType": address_type,
        "endpoints": [],
        "ports": copy.deepcopy(ports),
    }


def _unchanged(first: Obj, desired: Mapping[EndpointKey, Obj], endpoints: Obj) -> bool:
    matches = 0
    for ep in first.get("endpoints") or ():
        got = desired.get(endpoint_key(ep))
        if got is None or not endpoints_equal_beyond_key(got, ep):
            return False
        matches += 1
    if matches != len(desired):
        return False
    labels = {
        k: v
        for k, v in (_meta(first).get("labels") or {}).items()
        if k not in (LABEL_MANAGED_BY, LABEL_SERVICE_NAME)
    }
    return labels == (_meta(endpoints).get("labels") or {}) and _mirrored_annotations(
        endpoints
    ) == (_meta(first).get("annotations") or {})


def _mirror_port_group(
    endpoints: Obj,
    existing: list[Slice],
    desired: dict[EndpointKey, dict[str, Any]],
    ports: list[dict[str, Any]],
    address_type: str,
) -> Plan:
    if not desired:
        return Plan(delete=list(existing))
    plan = Plan(delete=list(existing[1:]))
    if existing and _unchanged(existing[0], desired, endpoints):
        return plan
    name = _meta(existing[0]).get("name", "") if existing else ""
    fresh = new_mirrored_slice(endpoints, ports, address_type, name)
    fresh["endpoints"] = list(desired.values())
    if name:
        if _meta(existing[0]).get("resourceVersion"):
            fresh["metadata"]["resourceVersion"] = _meta(existing[0])["resourceVersion"]
        plan.update.append(fresh)
    else:
        plan.create.append(fresh)
    return plan


def mirror_slices(
    service: Obj | None,
    endpoints: Obj | None,
    existing_slices: Iterable[Obj],
    *,
    max_per_subset: int = DEFAULT_MAX_ENDPOINTS_PER_SUBSET,
) -> Plan:
    """Plan the mirrored slices of one Endpoints object.

    Args:
        service: the Service of the same name, or None if there is none.
        endpoints: the Endpoints, or None if there is none.
        existing_slices: candidate slices; only the mirroring controller's
            slices for this name are considered or touched.
        max_per_subset: addresses mirrored per subset (upstream flag
            ``--mirroring-max-endpoints-per-subset``, default 1000).

    Returns:
        The Plan; ``warnings`` report skipped invalid or excess addresses.
    """
    source = endpoints if endpoints is not None else service
    ns, name = _meta(source).get("namespace", ""), _meta(source).get("name", "")
    mirrored = sorted(
        (s for s in existing_slices if is_mirrored_slice(s, ns, name)),
        key=lambda s: _meta(s).get("name", ""),
    )
    if (
        endpoints is None
        or service is None
        or not should_mirror(endpoints)
        or service_has_selector(service)
    ):
        return Plan(delete=mirrored)

    desired: dict[tuple[str, PortKey], tuple[list[dict[str, Any]], dict[EndpointKey, Any]]] = {}
    invalid = skipped = 0
    for ss in repack_subsets(endpoints.get("subsets")):
        ports = _slice_ports(ss.get("ports"))
        keys = {at: (at, port_key(ports)) for at in (IPV4, IPV6)}
        for key in keys.values():
            desired.setdefault(key, (ports, {}))
        total = len(ss.get("addresses") or ()) + len(ss.get("notReadyAddresses") or ())
        added = 0
        for field, ready in (("addresses", True), ("notReadyAddresses", False)):
            for address in ss.get(field) or ():
                if added >= max_per_subset:
                    break
                converted = address_to_endpoint(address, ready)
                if converted is None:
                    invalid += 1
                    continue
                ep, address_type = converted
                desired[keys[address_type]][1][endpoint_key(ep)] = ep
                added += 1
        skipped += total - added

    plan = Plan()
    if invalid:
        plan.warnings.append(
            f"Skipped {invalid} invalid IP addresses when mirroring to EndpointSlices"
        )
    if skipped > invalid:
        plan.warnings.append(
            f"A max of {max_per_subset} addresses can be mirrored to EndpointSlices per "
            f"Endpoints subset. {skipped} addresses were skipped"
        )

    existing_by_key: dict[tuple[str, PortKey], list[Slice]] = {}
    for s in mirrored:
        key = (s.get("addressType", ""), port_key(s.get("ports")))
        existing_by_key.setdefault(key, []).append(s)
    for key, (ports, eps) in desired.items():
        sub = _mirror_port_group(endpoints, existing_by_key.get(key, []), eps, ports, key[0])
        plan.create += sub.create
        plan.update += sub.update
        plan.delete += sub.delete
    for key, slices in existing_by_key.items():
        if key not in desired:
            plan.delete += slices

    # Upstream ``recycleSlices``: pair creates with deletes of the same family.
    for address_type in (IPV4, IPV6):
        creates = [s for s in plan.create if s["addressType"] == address_type]
        doomed = [s for s in plan.delete if s.get("addressType") == address_type]
        for fresh, old in zip(creates, doomed, strict=False):
            plan.create = [s for s in plan.create if s is not fresh]
            plan.delete = [s for s in plan.delete if s is not old]
            fresh["metadata"].pop("generateName", None)
            fresh["metadata"]["name"] = _meta(old)["name"]
            if _meta(old).get("resourceVersion"):
                fresh["metadata"]["resourceVersion"] = _meta(old)["resourceVersion"]
            plan.update.append(fresh)

    if _meta(endpoints).get("deletionTimestamp"):
        plan.create = []
    return plan
