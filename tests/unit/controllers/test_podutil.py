"""Pod helpers of the endpoints controllers, each case naming the upstream rule.

Upstream: ``k8s.io/endpointslice/util`` (ShouldPodBeInEndpoints,
ShouldSetHostname, podEndpointsChanged, GetServicesToUpdateOnPodChange),
``pkg/api/v1/pod`` (IsPodReady, FindPort), ``k8s.io/utils/net``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest

from svcnet.controllers.podutil import (
    TriggerTimeTracker,
    endpoint_hostname,
    find_port,
    format_rfc3339nano,
    is_pod_ready,
    is_pod_terminating,
    normalize_ip,
    pod_endpoints_changed,
    pod_ips_by_family,
    select_pods,
    services_to_sync_for_pod,
    should_pod_be_in_endpoints,
)


def pod(
    name: str = "p",
    *,
    ns: str = "default",
    labels: dict[str, str] | None = None,
    ip: str | None = "10.244.1.5",
    ips: list[str] | None = None,
    ready: bool | None = True,
    phase: str = "Running",
    deleting: bool = False,
    restart: str = "Always",
    hostname: str = "",
    subdomain: str = "",
    containers: list[dict[str, Any]] | None = None,
    init_containers: list[dict[str, Any]] | None = None,
    rv: str = "1",
) -> dict[str, Any]:
    meta: dict[str, Any] = {
        "name": name,
        "namespace": ns,
        "uid": f"uid-{name}",
        "resourceVersion": rv,
        "labels": labels if labels is not None else {"app": "web"},
    }
    if deleting:
        meta["deletionTimestamp"] = "2024-05-01T10:00:00Z"
    status: dict[str, Any] = {"phase": phase}
    if ip:
        status["podIP"] = ip
    if ips is not None:
        status["podIPs"] = [{"ip": i} for i in ips]
    elif ip:
        status["podIPs"] = [{"ip": ip}]
    if ready is not None:
        status["conditions"] = [{"type": "Ready", "status": "True" if ready else "False"}]
    spec: dict[str, Any] = {"restartPolicy": restart, "containers": containers or []}
    if init_containers:
        spec["initContainers"] = init_containers
    if hostname:
        spec["hostname"] = hostname
    if subdomain:
        spec["subdomain"] = subdomain
    return {"metadata": meta, "spec": spec, "status": status}


def svc(name: str = "web", ns: str = "default", selector: dict[str, str] | None = None):
    spec: dict[str, Any] = {}
    if selector is not None:
        spec["selector"] = selector
    return {"metadata": {"name": name, "namespace": ns}, "spec": spec}


# --- readiness and membership ----------------------------------------------------


@dataclass(frozen=True)
class MemberCase:
    id: str
    pod: dict[str, Any]
    include_terminating: bool
    want: bool


MEMBER_CASES = [
    MemberCase("running pod with an IP is in endpoints", pod(), False, True),
    MemberCase("not-ready pod is still in endpoints", pod(ready=False), False, True),
    MemberCase("pod without an IP is left out", pod(ip=None), True, False),
    MemberCase("podIPs alone are enough", pod(ip=None, ips=["10.0.0.1"]), True, True),
    MemberCase("Succeeded pod is terminal and left out", pod(phase="Succeeded"), True, False),
    MemberCase("Failed pod is terminal and left out", pod(phase="Failed"), True, False),
    MemberCase(
        "terminal pod left out even with restartPolicy Always (terminal-phase rule)",
        pod(phase="Failed", restart="Always"),
        True,
        False,
    ),
    MemberCase(
        "terminating pod left out unless terminating pods are included",
        pod(deleting=True),
        False,
        False,
    ),
    MemberCase("terminating pod kept when included", pod(deleting=True), True, True),
]


@pytest.mark.parametrize("case", MEMBER_CASES, ids=lambda c: c.id)
def test_should_pod_be_in_endpoints(case: MemberCase) -> None:
    assert should_pod_be_in_endpoints(case.pod, case.include_terminating) is case.want


@pytest.mark.parametrize(
    ("p", "want"),
    [
        (pod(ready=True), True),
        (pod(ready=False), False),
        (pod(ready=None), False),
    ],
    ids=["Ready=True is ready", "Ready=False is not", "no Ready condition is not ready"],
)
def test_is_pod_ready(p: dict[str, Any], want: bool) -> None:
    assert is_pod_ready(p) is want


def test_terminating_means_deletion_timestamp() -> None:
    assert is_pod_terminating(pod(deleting=True))
    assert not is_pod_terminating(pod())


# --- ports -------------------------------------------------------------------------


def container(*ports: tuple[str, int, str]) -> dict[str, Any]:
    return {
        "name": "c",
        "ports": [{"name": n, "containerPort": p, "protocol": proto} for n, p, proto in ports],
    }


@dataclass(frozen=True)
class PortCase:
    id: str
    pod: dict[str, Any]
    service_port: dict[str, Any]
    want: int | None


PORT_CASES = [
    PortCase("integer targetPort used as is", pod(), {"port": 80, "targetPort": 8080}, 8080),
    PortCase("absent targetPort defaults to the port", pod(), {"port": 80}, 80),
    PortCase(
        "named targetPort resolved in the pod's containers",
        pod(containers=[container(("http", 9376, "TCP"))]),
        {"port": 80, "targetPort": "http", "protocol": "TCP"},
        9376,
    ),
    PortCase(
        "named targetPort needs the same protocol",
        pod(containers=[container(("dns", 53, "UDP"))]),
        {"port": 53, "targetPort": "dns", "protocol": "TCP"},
        None,
    ),
    PortCase(
        "named targetPort matches UDP with UDP",
        pod(containers=[container(("dns", 53, "TCP")), container(("dns", 5353, "UDP"))]),
        {"port": 53, "targetPort": "dns", "protocol": "UDP"},
        5353,
    ),
    PortCase(
        "missing protocol means TCP on both sides",
        pod(containers=[{"name": "c", "ports": [{"name": "http", "containerPort": 8080}]}]),
        {"port": 80, "targetPort": "http"},
        8080,
    ),
    PortCase(
        "unknown port name does not resolve",
        pod(containers=[container(("http", 8080, "TCP"))]),
        {"port": 80, "targetPort": "https", "protocol": "TCP"},
        None,
    ),
    PortCase(
        "sidecar (init container with restartPolicy Always) ports count",
        pod(init_containers=[{**container(("metrics", 9090, "TCP")), "restartPolicy": "Always"}]),
        {"port": 90, "targetPort": "metrics", "protocol": "TCP"},
        9090,
    ),
    PortCase(
        "plain init container ports do not count",
        pod(init_containers=[container(("metrics", 9090, "TCP"))]),
        {"port": 90, "targetPort": "metrics", "protocol": "TCP"},
        None,
    ),
]


@pytest.mark.parametrize("case", PORT_CASES, ids=lambda c: c.id)
def test_find_port(case: PortCase) -> None:
    assert find_port(case.pod, case.service_port) == case.want


# --- IPs, hostname, selection --------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "want"),
    [
        ("10.0.0.1", ("IPv4", "10.0.0.1")),
        ("010.000.000.001", ("IPv4", "10.0.0.1")),
        ("fd00::0001", ("IPv6", "fd00::1")),
        ("::ffff:10.0.0.1", ("IPv4", "10.0.0.1")),
        ("not-an-ip", None),
    ],
    ids=[
        "IPv4 as is",
        "ParseIPSloppy: leading zeros are decimal",
        "IPv6 re-printed canonically",
        "IPv4-mapped IPv6 is IPv4 (Go To4)",
        "garbage is no IP",
    ],
)
def test_normalize_ip(raw: str, want: tuple[str, str] | None) -> None:
    assert normalize_ip(raw) == want


def test_pod_ips_by_family_keeps_status_order_and_drops_garbage() -> None:
    p = pod(ips=["fd00::5", "10.1.0.5", "bogus", "10.1.0.6"])
    assert pod_ips_by_family(p) == {"IPv4": ["10.1.0.5", "10.1.0.6"], "IPv6": ["fd00::5"]}


def test_pod_ips_fall_back_to_pod_ip() -> None:
    p = pod(ip="10.1.0.7")
    del p["status"]["podIPs"]
    assert pod_ips_by_family(p)["IPv4"] == ["10.1.0.7"]


@pytest.mark.parametrize(
    ("p", "service", "want"),
    [
        (pod(hostname="db-0", subdomain="db"), svc("db"), "db-0"),
        (pod(hostname="db-0", subdomain="other"), svc("db"), None),
        (pod(subdomain="db"), svc("db"), None),
        (pod(hostname="db-0", subdomain="db", ns="x"), svc("db", ns="y"), None),
    ],
    ids=[
        "ShouldSetHostname: hostname and subdomain == service name",
        "other subdomain: no hostname",
        "no hostname: nothing to publish",
        "other namespace: no hostname",
    ],
)
def test_endpoint_hostname(p: dict[str, Any], service: dict[str, Any], want: str | None) -> None:
    assert endpoint_hostname(p, service) == want


def test_select_pods_by_namespace_and_selector() -> None:
    pods = [
        pod("b"),
        pod("a"),
        pod("other-ns", ns="kube-system"),
        pod("other-app", labels={"app": "db"}),
    ]
    chosen = select_pods(svc(selector={"app": "web"}), pods)
    assert [p["metadata"]["name"] for p in chosen] == ["a", "b"]


@pytest.mark.parametrize("selector", [None, {}], ids=["nil selector", "empty selector"])
def test_service_without_selector_selects_nothing(selector: dict[str, str] | None) -> None:
    assert select_pods(svc(selector=selector), [pod()]) == []


@pytest.mark.parametrize(
    ("when", "want"),
    [
        (datetime(2024, 5, 1, 10, 0, 0, tzinfo=UTC), "2024-05-01T10:00:00Z"),
        (datetime(2024, 5, 1, 10, 0, 0, 500000, tzinfo=UTC), "2024-05-01T10:00:00.5Z"),
        (
            datetime(2024, 5, 1, 12, 0, 0, 123, tzinfo=timezone(timedelta(hours=2))),
            "2024-05-01T10:00:00.000123Z",
        ),
        ("2024-05-01T10:00:00Z", "2024-05-01T10:00:00Z"),
    ],
    ids=[
        "RFC3339Nano: whole seconds have no fraction",
        "RFC3339Nano: trailing zeros trimmed",
        "converted to UTC",
        "strings pass through",
    ],
)
def test_format_rfc3339nano(when: datetime | str, want: str) -> None:
    assert format_rfc3339nano(when) == want


# --- which Services a pod event touches ------------------------------------------------


WEB = svc("web", selector={"app": "web"})
API = svc("api", selector={"tier": "api"})
NOSEL = svc("manual")
OTHER_NS = svc("web", ns="other", selector={"app": "web"})
SERVICES = [WEB, API, NOSEL, OTHER_NS]


@dataclass(frozen=True)
class SyncCase:
    id: str
    old: dict[str, Any] | None
    new: dict[str, Any] | None
    want: set[tuple[str, str]] = field(default_factory=set)


SYNC_CASES = [
    SyncCase("pod add touches the Services selecting it", None, pod(), {("default", "web")}),
    SyncCase("pod delete touches the Services selecting it", pod(), None, {("default", "web")}),
    SyncCase("informer resync (same resourceVersion) touches nothing", pod(), pod()),
    SyncCase("irrelevant change (new rv only) touches nothing", pod(), pod(rv="2")),
    SyncCase(
        "readiness change touches the Services selecting it",
        pod(),
        pod(ready=False, rv="2"),
        {("default", "web")},
    ),
    SyncCase(
        "IP change touches the Services selecting it",
        pod(),
        pod(ip="10.244.1.6", rv="2"),
        {("default", "web")},
    ),
    SyncCase(
        "deletionTimestamp touches the Services selecting it",
        pod(),
        pod(deleting=True, rv="2"),
        {("default", "web")},
    ),
    SyncCase(
        "label change alone touches only the Services joined or left",
        pod(labels={"app": "web", "tier": "api"}),
        pod(labels={"app": "web"}, rv="2"),
        {("default", "api")},
    ),
    SyncCase(
        "label and readiness change touch old and new Services",
        pod(labels={"app": "web", "tier": "api"}),
        pod(labels={"app": "web"}, ready=False, rv="2"),
        {("default", "api"), ("default", "web")},
    ),
    SyncCase(
        "hostname change alone touches nothing (symmetric difference of equal sets)",
        pod(),
        pod(hostname="h", rv="2"),
        set(),
    ),
]


@pytest.mark.parametrize("case", SYNC_CASES, ids=lambda c: c.id)
def test_services_to_sync_for_pod(case: SyncCase) -> None:
    assert services_to_sync_for_pod(SERVICES, case.old, case.new) == case.want


def test_pod_endpoints_changed_reports_both_kinds() -> None:
    assert pod_endpoints_changed(pod(), pod(ready=False)) == (True, False)
    assert pod_endpoints_changed(pod(), pod(subdomain="web")) == (False, True)
    assert pod_endpoints_changed(pod(), pod()) == (False, False)


# --- last-change trigger time (upstream TriggerTimeTracker) ------------------------------


def timed(name: str, when: str) -> dict[str, Any]:
    p = pod(name)
    p["status"]["conditions"][0]["lastTransitionTime"] = when
    return p


def test_trigger_time_tracker_like_upstream() -> None:
    service = svc(selector={"app": "web"})
    service["metadata"]["creationTimestamp"] = "2024-05-01T09:00:00Z"
    tracker = TriggerTimeTracker()
    t = datetime.fromisoformat
    a, b = timed("a", "2024-05-01T10:00:00Z"), timed("b", "2024-05-01T10:05:00Z")
    # A Service seen for the first time reports its creationTimestamp.
    assert tracker.compute(service, [a]) == t("2024-05-01T09:00:00+00:00")
    # Nothing moved since the previous sync: no trigger time.
    assert tracker.compute(service, [a]) is None
    # The earliest trigger time that moved forward wins.
    a2 = timed("a", "2024-05-01T10:10:00Z")
    assert tracker.compute(service, [a2, b]) == t("2024-05-01T10:05:00+00:00")
    tracker.delete_service("default", "web")
    assert tracker.compute(service, [a2, b]) == t("2024-05-01T09:00:00+00:00")
