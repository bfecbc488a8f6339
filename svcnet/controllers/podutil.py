"""Pure helpers the endpoints controllers share: pod state, ports, IPs, triggers.

Theory of operation: every function reads plain API dicts (as the store
keeps them) and returns plain values; nothing here does I/O or reads a clock.
The rules are upstream's, from ``k8s.io/endpointslice/util``
(``ShouldPodBeInEndpoints``, ``ShouldSetHostname``, ``podEndpointsChanged``,
``GetServicesToUpdateOnPodChange``), ``pkg/api/v1/pod`` (``IsPodReady``,
``FindPort``) and ``k8s.io/utils/net`` (IP families, ``ParseIPSloppy``).

Invariants:
- a Service "has a selector" when ``spec.selector`` is a non-empty mapping.
  Upstream tests ``Selector != nil``; an empty map does not survive the API
  server's round trip (omitempty), so ``{}`` and absent mean the same here;
- IP families are ``"IPv4"`` / ``"IPv6"`` (the EndpointSlice address types),
  and an IPv4-mapped IPv6 address is IPv4, as Go's ``To4()`` decides;
- ``pod_ips`` reads ``status.podIPs`` and falls back to ``status.podIP``, as
  the API server's v1 conversion fills one from the other.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any, Final

from svcnet.api.selectors import selector_from_map
from svcnet.api.validation import parse_ip_sloppy

Obj = Mapping[str, Any]

IPV4: Final = "IPv4"
IPV6: Final = "IPv6"
LABEL_TOPOLOGY_ZONE: Final = "topology.kubernetes.io/zone"
CLUSTER_IP_NONE: Final = "None"


def _meta(obj: Obj) -> Obj:
    return obj.get("metadata") or {}


def _spec(obj: Obj) -> Obj:
    return obj.get("spec") or {}


def _status(obj: Obj) -> Obj:
    return obj.get("status") or {}


def object_key(obj: Obj) -> tuple[str, str]:
    """(namespace, name) of an object: the work-queue key of its controller."""
    meta = _meta(obj)
    return meta.get("namespace", ""), meta.get("name", "")


# --- pod state -------------------------------------------------------------


def is_pod_ready(pod: Obj) -> bool:
    """The pod's ``Ready`` condition is ``"True"`` (upstream ``IsPodReady``)."""
    for cond in _status(pod).get("conditions") or ():
        if cond.get("type") == "Ready":
            return cond.get("status") == "True"
    return False


def is_pod_terminating(pod: Obj) -> bool:
    """The pod has a deletionTimestamp (being deleted, maybe still running)."""
    return bool(_meta(pod).get("deletionTimestamp"))


def is_pod_terminal(pod: Obj) -> bool:
    """Phase Failed or Succeeded: every container stopped for good."""
    return _status(pod).get("phase") in ("Failed", "Succeeded")


def should_pod_be_in_endpoints(pod: Obj, include_terminating: bool) -> bool:
    """Whether a pod belongs in Endpoints / EndpointSlices at all.

    Upstream ``ShouldPodBeInEndpoints``: terminal pods never (whatever their
    restartPolicy: the older "Never/OnFailure only" rule was replaced by the
    terminal-phase check), pods without an IP never, terminating pods only
    when ``include_terminating`` (always for slices; for v1 Endpoints only
    with ``publishNotReadyAddresses``).
    """
    if is_pod_terminal(pod):
        return False
    status = _status(pod)
    if not status.get("podIP") and not status.get("podIPs"):
        return False
    return include_terminating or not is_pod_terminating(pod)


# --- IPs -------------------------------------------------------------------


def normalize_ip(ip: str) -> tuple[str, str] | None:
    """(family, canonical text) of an IP as Go parses and re-prints it, or None.

    ``ParseIPSloppy`` accepts leading zeros in IPv4 octets; an IPv4-mapped
    IPv6 address prints as IPv4.
    """
    addr = parse_ip_sloppy(ip) if isinstance(ip, str) else None
    if addr is None:
        return None
    if isinstance(addr, ipaddress.IPv6Address):
        if addr.ipv4_mapped is not None:
            return IPV4, str(addr.ipv4_mapped)
        return IPV6, str(addr)
    return IPV4, str(addr)


def ip_family(ip: str) -> str | None:
    """``"IPv4"``, ``"IPv6"`` or None for an unparsable address."""
    norm = normalize_ip(ip)
    return norm[0] if norm else None


def pod_ips(pod: Obj) -> list[str]:
    """The pod's IPs as written, primary first (podIPs, else [podIP])."""
    status = _status(pod)
    ips = [p.get("ip", "") for p in status.get("podIPs") or ()]
    ips = [ip for ip in ips if ip]
    if not ips and status.get("podIP"):
        ips = [status["podIP"]]
    return ips


def pod_ips_by_family(pod: Obj) -> dict[str, list[str]]:
    """Canonical pod IPs grouped by family, in status order; bad IPs dropped."""
    out: dict[str, list[str]] = {IPV4: [], IPV6: []}
    for ip in pod_ips(pod):
        norm = normalize_ip(ip)
        if norm is not None:
            out[norm[0]].append(norm[1])
    return out


# --- services ----------------------------------------------------------------


def service_has_selector(service: Obj) -> bool:
    """The Service selects pods (see the module note on empty selectors)."""
    return bool(_spec(service).get("selector"))


def is_service_ip_set(service: Obj) -> bool:
    """ClusterIP neither empty nor "None" (upstream ``IsServiceIPSet``)."""
    return _spec(service).get("clusterIP", "") not in ("", CLUSTER_IP_NONE)


def is_headless(service: Obj) -> bool:
    """Labels call a Service headless when its ClusterIP is not set."""
    return not is_service_ip_set(service)


def select_pods(service: Obj, pods: Iterable[Obj]) -> list[Obj]:
    """The pods of the Service's namespace its selector matches, by name.

    A Service without a selector selects nothing (its endpoints are written
    by someone else).
    """
    if not service_has_selector(service):
        return []
    ns = _meta(service).get("namespace", "")
    sel = selector_from_map(_spec(service)["selector"])
    chosen = [
        p
        for p in pods
        if _meta(p).get("namespace", "") == ns and sel.matches(_meta(p).get("labels") or {})
    ]
    return sorted(chosen, key=lambda p: _meta(p).get("name", ""))


def endpoint_hostname(pod: Obj, service: Obj) -> str | None:
    """The pod's hostname when it should be published for this Service.

    Upstream ``ShouldSetHostname``: the pod sets ``spec.hostname`` and its
    ``spec.subdomain`` names this Service in the same namespace.
    """
    pspec = _spec(pod)
    hostname = pspec.get("hostname") or ""
    if not hostname:
        return None
    same_ns = _meta(pod).get("namespace", "") == _meta(service).get("namespace", "")
    if pspec.get("subdomain", "") == _meta(service).get("name") and same_ns:
        return hostname
    return None


def find_port(pod: Obj, service_port: Obj) -> int | None:
    """The container port a Service port targets on this pod, or None.

    Upstream ``FindPort``: an integer targetPort is used as is (absent means
    the Service port, as defaulting does); a string is a port name looked up
    in the containers' ports with the same protocol, then in sidecars
    (init containers with ``restartPolicy: Always``).
    """
    target = service_port.get("targetPort", service_port.get("port"))
    if isinstance(target, bool):
        return None
    if isinstance(target, int):
        return target
    if not isinstance(target, str) or not target:
        return None
    proto = service_port.get("protocol") or "TCP"
    pspec = _spec(pod)
    sidecars = [c for c in pspec.get("initContainers") or () if c.get("restartPolicy") == "Always"]
    for container in [*(pspec.get("containers") or ()), *sidecars]:
        for port in container.get("ports") or ():
            if port.get("name") == target and (port.get("protocol") or "TCP") == proto:
                return port.get("containerPort")
    return None


# --- time ------------------------------------------------------------------


def format_rfc3339nano(when: datetime | str) -> str:
    """Go's ``t.UTC().Format(time.RFC3339Nano)``; strings pass through.

    Trailing zeros of the fraction are dropped, and the dot with them.
    """
    if isinstance(when, str):
        return when
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    when = when.astimezone(UTC)
    frac = f".{when.microsecond:06d}".rstrip("0").rstrip(".")
    return when.strftime("%Y-%m-%dT%H:%M:%S") + frac + "Z"


# --- what a pod change means for Services ------------------------------------


def _ready_and_ips(pod: Obj) -> tuple[bool, list[str]]:
    return is_pod_ready(pod), pod_ips(pod)


def pod_endpoints_changed(old: Obj, new: Obj) -> tuple[bool, bool]:
    """(pod changed for endpoints, pod changed for Service membership).

    Upstream ``podEndpointsChanged``: membership changes with labels,
    hostname or subdomain; endpoints change with the deletionTimestamp,
    readiness or the pod IPs. Name, UID and nodeName are immutable once the
    pod has an IP.
    """
    om, nm = _meta(old), _meta(new)
    labels_changed = (
        (om.get("labels") or {}) != (nm.get("labels") or {})
        or _spec(old).get("hostname", "") != _spec(new).get("hostname", "")
        or _spec(old).get("subdomain", "") != _spec(new).get("subdomain", "")
    )
    changed = om.get("deletionTimestamp") != nm.get("deletionTimestamp") or _ready_and_ips(
        old
    ) != _ready_and_ips(new)
    return changed, labels_changed


def services_for_labels(
    services: Iterable[Obj], namespace: str, labels: Mapping[str, str]
) -> set[tuple[str, str]]:
    """Keys of the Services of a namespace whose selector matches the labels."""
    out: set[tuple[str, str]] = set()
    for svc in services:
        ns, name = object_key(svc)
        if ns != namespace or not service_has_selector(svc):
            continue
        if selector_from_map(_spec(svc)["selector"]).matches(labels):
            out.add((ns, name))
    return out


def services_to_sync_for_pod(
    services: Iterable[Obj], old: Obj | None, new: Obj | None
) -> set[tuple[str, str]]:
    """Which Services a pod add (old None), update or delete (new None) touches.

    Upstream ``GetServicesToUpdateOnPodChange``: an update with the same
    resourceVersion (an informer resync) or that changes nothing relevant
    touches none; when labels changed, the union of old and new matches if
    the pod also changed, else only the Services it joined or left.
    """
    services = list(services)
    pod = new if new is not None else old
    if pod is None:
        return set()
    ns = _meta(pod).get("namespace", "")
    if old is None or new is None:
        return services_for_labels(services, ns, _meta(pod).get("labels") or {})
    if _meta(old).get("resourceVersion") == _meta(new).get("resourceVersion"):
        return set()
    changed, labels_changed = pod_endpoints_changed(old, new)
    if not changed and not labels_changed:
        return set()
    now = services_for_labels(services, ns, _meta(new).get("labels") or {})
    if not labels_changed:
        return now
    before = services_for_labels(services, ns, _meta(old).get("labels") or {})
    return now | before if changed else now ^ before


# --- last-change trigger time ------------------------------------------------------


def _parse_time(value: Any) -> datetime | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def pod_trigger_time(pod: Obj) -> datetime | None:
    """When the pod last changed for endpoints: its Ready lastTransitionTime."""
    for cond in _status(pod).get("conditions") or ():
        if cond.get("type") == "Ready":
            return _parse_time(cond.get("lastTransitionTime"))
    return None


class TriggerTimeTracker:
    """The value of the last-change-trigger-time annotation, per Service.

    Upstream ``TriggerTimeTracker``: remembers, per Service, the pod trigger
    times seen at the previous sync. A Service seen for the first time
    reports its creationTimestamp; afterwards the earliest trigger time that
    moved forward since the previous sync (None when none did: the
    annotation is then cleared). Call once per sync, even when the sync
    writes nothing; not safe for concurrent calls on the same key.
    """

    def __init__(self) -> None:
        self._states: dict[tuple[str, str], tuple[datetime | None, dict[str, datetime]]] = {}

    def compute(self, service: Obj, pods: Iterable[Obj]) -> datetime | None:
        """Update the Service's state from its pods and return its trigger time."""
        key = object_key(service)
        known = key in self._states
        last_service, last_pods = self._states.get(key, (None, {}))
        changed: list[datetime] = []
        pod_times: dict[str, datetime] = {}
        for pod in select_pods(service, pods):
            when = pod_trigger_time(pod)
            if when is None:
                continue
            name = _meta(pod).get("name", "")
            pod_times[name] = when
            if name not in last_pods or when > last_pods[name]:
                changed.append(when)
        created = _parse_time(_meta(service).get("creationTimestamp"))
        if created is not None and (last_service is None or created > last_service):
            changed.append(created)
        self._states[key] = (created, pod_times)
        if not known:
            return created
        return min(changed, default=None)

    def delete_service(self, namespace: str, name: str) -> None:
        """Forget a deleted Service."""
        self._states.pop((namespace, name), None)
