"""Server-side Table printing: upstream `printers.go` cells, `HumanDuration`, `asTable`.

Every case names the upstream rule it checks. Objects are the JSON dicts the
API stores; `NOW` is the injected clock.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

import pytest

from svcnet.api.errors import APIError
from svcnet.api.printers import (
    DEFAULT_PRINTER,
    PRINTERS,
    Column,
    TablePrinter,
    build_table,
    human_duration,
    short_human_duration,
    translate_timestamp_since,
)

NOW = dt.datetime(2024, 6, 1, 12, 0, 0, tzinfo=dt.UTC)


def ago(**kw: float) -> str:
    return (NOW - dt.timedelta(**kw)).strftime("%Y-%m-%dT%H:%M:%SZ")


def obj(name: str = "x", age_s: float = 300, **top: Any) -> dict[str, Any]:
    meta = {"name": name, "namespace": "default", "creationTimestamp": ago(seconds=age_s)}
    meta.update(top.pop("metadata", {}))
    return {"metadata": meta, **top}


def cells(group: str, kind: str, o: dict[str, Any]) -> list[Any]:
    return PRINTERS[(group, kind)].row(o, NOW)


def by_name(group: str, kind: str, o: dict[str, Any]) -> dict[str, Any]:
    """Cells keyed by column name, so cases state only what they check."""
    p = PRINTERS[(group, kind)]
    return dict(zip((c.name for c in p.columns), p.row(o, NOW), strict=True))


@dataclass(frozen=True)
class CellCase:
    id: str
    obj: dict[str, Any]
    want: dict[str, Any]


def check(group: str, kind: str, case: CellCase) -> None:
    got = by_name(group, kind, case.obj)
    assert {k: got[k] for k in case.want} == case.want


# ------------------------------------------------------------- duration
@dataclass(frozen=True)
class DurationCase:
    id: str
    d: float | dt.timedelta
    want: str


H, D, Y = 3600, 86400, 365 * 86400
HUMAN_CASES = [
    DurationCase("below -1s is invalid (skew tolerance)", -2, "<invalid>"),
    DurationCase("-1s counts as now", -1.5, "0s"),
    DurationCase("zero", 0, "0s"),
    DurationCase("seconds below 2m", 119, "119s"),
    DurationCase("2m exact drops seconds", 120, "2m"),
    DurationCase("under 10m keeps seconds", 182, "3m2s"),
    DurationCase("9m59s", 599, "9m59s"),
    DurationCase("10m to 3h minutes only", 600, "10m"),
    DurationCase("179m", 3 * H - 1, "179m"),
    DurationCase("3h exact", 3 * H, "3h"),
    DurationCase("under 8h keeps minutes", 3 * H + 60, "3h1m"),
    DurationCase("7h59m", 8 * H - 1, "7h59m"),
    DurationCase("8h to 48h hours only", 47 * H + 59 * 60, "47h"),
    DurationCase("2d exact", 48 * H, "2d"),
    DurationCase("under 8d keeps hours", 49 * H, "2d1h"),
    DurationCase("7d23h", 8 * D - 1, "7d23h"),
    DurationCase("5d", 5 * D, "5d"),
    DurationCase("8d to 2y days only", 8 * D + 5 * H, "8d"),
    DurationCase("729d", 2 * Y - 1, "729d"),
    DurationCase("2y exact", 2 * Y, "2y"),
    DurationCase("under 8y keeps days", 2 * Y + 45 * D, "2y45d"),
    DurationCase("8y and over years only", 8 * Y + 100 * D, "8y"),
    DurationCase("timedelta input", dt.timedelta(minutes=3, seconds=2), "3m2s"),
    DurationCase("truncates, never rounds", dt.timedelta(seconds=59, microseconds=999999), "59s"),
]


@pytest.mark.parametrize("case", HUMAN_CASES, ids=lambda c: c.id)
def test_human_duration(case: DurationCase) -> None:
    assert human_duration(case.d) == case.want


SHORT_CASES = [
    DurationCase("short: invalid", -2, "<invalid>"),
    DurationCase("short: seconds", 59, "59s"),
    DurationCase("short: minutes", 182, "3m"),
    DurationCase("short: hours", 5 * H + 59 * 60, "5h"),
    DurationCase("short: days", 364 * D, "364d"),
    DurationCase("short: years", 2 * Y + 45 * D, "2y"),
]


@pytest.mark.parametrize("case", SHORT_CASES, ids=lambda c: c.id)
def test_short_human_duration(case: DurationCase) -> None:
    assert short_human_duration(case.d) == case.want


@pytest.mark.parametrize(
    ("ts", "now", "want"),
    [
        (None, NOW, "<unknown>"),
        ("", NOW, "<unknown>"),
        (ago(minutes=5), NOW, "5m"),
        ("2024-06-01T11:59:50.123456Z", NOW, "9s"),  # MicroTime
        (ago(minutes=5), NOW.replace(tzinfo=None), "5m"),  # naive now is UTC
    ],
    ids=["unset is unknown", "empty is unknown", "Time", "MicroTime", "naive now"],
)
def test_translate_timestamp_since(ts: str | None, now: dt.datetime, want: str) -> None:
    assert translate_timestamp_since(ts, now) == want


# -------------------------------------------------------------- Service
def svc(svc_type: str, ports: list[dict[str, Any]] | None = None, **spec: Any) -> dict:
    spec = {"type": svc_type, "clusterIP": "10.0.0.10", "clusterIPs": ["10.0.0.10"], **spec}
    spec["ports"] = ports if ports is not None else [{"port": 80, "protocol": "TCP"}]
    status = spec.pop("status", {})
    return obj("web", spec=spec, status=status)


SERVICE_CASES = [
    CellCase(
        "ClusterIP without externalIPs is <none>",
        svc("ClusterIP", selector={"app": "web", "tier": "fe"}),
        {
            "Type": "ClusterIP",
            "Cluster-IP": "10.0.0.10",
            "External-IP": "<none>",
            "Port(s)": "80/TCP",
            "Age": "5m",
            "Selector": "app=web,tier=fe",
        },
    ),
    CellCase(
        "ClusterIP shows externalIPs",
        svc("ClusterIP", externalIPs=["1.2.3.4", "5.6.7.8"]),
        {"External-IP": "1.2.3.4,5.6.7.8", "Selector": "<none>"},
    ),
    CellCase(
        "NodePort ports are port:nodePort/proto",
        svc(
            "NodePort",
            [
                {"port": 80, "nodePort": 30080, "protocol": "TCP"},
                {"port": 443, "protocol": "TCP"},
                {"port": 53, "nodePort": 30053, "protocol": "UDP"},
            ],
        ),
        {"External-IP": "<none>", "Port(s)": "80:30080/TCP,443/TCP,53:30053/UDP"},
    ),
    CellCase(
        "LoadBalancer without ingress is <pending>",
        svc("LoadBalancer", [{"port": 80, "nodePort": 30080, "protocol": "TCP"}]),
        {"External-IP": "<pending>", "Port(s)": "80:30080/TCP"},
    ),
    CellCase(
        "LoadBalancer ingress IPs then hostnames, sorted and de-duplicated",
        svc(
            "LoadBalancer",
            status={
                "loadBalancer": {
                    "ingress": [
                        {"hostname": "lb.example.com"},
                        {"ip": "203.0.113.9"},
                        {"ip": "203.0.113.9", "hostname": "ignored.example.com"},
                    ]
                }
            },
        ),
        {"External-IP": "203.0.113.9,lb.example.com"},
    ),
    CellCase(
        "LoadBalancer ingress followed by externalIPs",
        svc(
            "LoadBalancer",
            externalIPs=["198.51.100.1"],
            status={"loadBalancer": {"ingress": [{"ip": "203.0.113.9"}]}},
        ),
        {"External-IP": "203.0.113.9,198.51.100.1"},
    ),
    CellCase(
        "LoadBalancer address not clipped server-side (Wide=true)",
        svc("LoadBalancer", status={"loadBalancer": {"ingress": [{"hostname": "a" * 40}]}}),
        {"External-IP": "a" * 40},
    ),
    CellCase(
        "ExternalName shows externalName, no cluster IP, no ports",
        svc("ExternalName", [], externalName="db.example.com", clusterIP="", clusterIPs=[]),
        {"Cluster-IP": "<none>", "External-IP": "db.example.com", "Port(s)": "<none>"},
    ),
    CellCase(
        "headless Service prints None",
        svc("ClusterIP", clusterIP="None", clusterIPs=["None"]),
        {"Cluster-IP": "None"},
    ),
    CellCase(
        "dual-stack shows the primary family clusterIPs[0]",
        svc("ClusterIP", clusterIPs=["fd00::10", "10.0.0.10"]),
        {"Cluster-IP": "fd00::10"},
    ),
    CellCase(
        "lone clusterIP is converted into clusterIPs",
        svc("ClusterIP", clusterIP="10.0.0.99", clusterIPs=None),
        {"Cluster-IP": "10.0.0.99"},
    ),
    CellCase("unknown type is <unknown>", svc("Weird"), {"External-IP": "<unknown>"}),
]


@pytest.mark.parametrize("case", SERVICE_CASES, ids=lambda c: c.id)
def test_service_cells(case: CellCase) -> None:
    check("", "Service", case)


# ------------------------------------------------------------------ Pod
def container_status(name: str = "app", **kw: Any) -> dict[str, Any]:
    return {"name": name, "ready": False, "restartCount": 0, **kw}


RUNNING = {"running": {"startedAt": ago(minutes=4)}}


def pod(
    phase: str = "Running",
    statuses: list[dict[str, Any]] | None = None,
    init: list[dict[str, Any]] | None = None,
    init_statuses: list[dict[str, Any]] | None = None,
    containers: int = 1,
    conditions: list[dict[str, Any]] | None = None,
    metadata: dict[str, Any] | None = None,
    **status: Any,
) -> dict[str, Any]:
    spec: dict[str, Any] = {"containers": [{"name": f"c{i}"} for i in range(containers)]}
    if init is not None:
        spec["initContainers"] = init
    st: dict[str, Any] = {"phase": phase, **status}
    if statuses is not None:
        st["containerStatuses"] = statuses
    if init_statuses is not None:
        st["initContainerStatuses"] = init_statuses
    if conditions is not None:
        st["conditions"] = conditions
    return obj("p", metadata=metadata or {}, spec=spec, status=st)


def cond(ctype: str, status: str = "True", reason: str = "") -> dict[str, Any]:
    return {"type": ctype, "status": status, "reason": reason}


POD_CASES = [
    CellCase(
        "Running: ready running container",
        pod(statuses=[container_status(ready=True, state=RUNNING)]),
        {"Ready": "1/1", "Status": "Running", "Restarts": "0", "Age": "5m"},
    ),
    CellCase(
        "Pending ContainerCreating: waiting reason wins over phase",
        pod("Pending", [container_status(state={"waiting": {"reason": "ContainerCreating"}})]),
        {"Ready": "0/1", "Status": "ContainerCreating"},
    ),
    CellCase(
        "Pending without statuses shows the phase",
        pod("Pending"),
        {"Ready": "0/1", "Status": "Pending"},
    ),
    CellCase(
        "CrashLoopBackOff waiting, restarts with (Xm ago) of lastState finishedAt",
        pod(
            statuses=[
                container_status(
                    restartCount=5,
                    state={"waiting": {"reason": "CrashLoopBackOff"}},
                    lastState={"terminated": {"exitCode": 1, "finishedAt": ago(minutes=2)}},
                )
            ]
        ),
        {"Ready": "0/1", "Status": "CrashLoopBackOff", "Restarts": "5 (2m ago)"},
    ),
    CellCase(
        "restarts without a known finishedAt have no suffix",
        pod(statuses=[container_status(restartCount=3, ready=True, state=RUNNING)]),
        {"Status": "Running", "Restarts": "3"},
    ),
    CellCase(
        "Completed: terminated reason of a Succeeded pod",
        pod("Succeeded", [container_status(state={"terminated": {"reason": "Completed"}})]),
        {"Ready": "0/1", "Status": "Completed"},
    ),
    CellCase(
        "terminated without reason is ExitCode:N",
        pod("Failed", [container_status(state={"terminated": {"exitCode": 137}})]),
        {"Status": "ExitCode:137"},
    ),
    CellCase(
        "terminated without reason but signal is Signal:N",
        pod("Failed", [container_status(state={"terminated": {"exitCode": 0, "signal": 9}})]),
        {"Status": "Signal:9"},
    ),
    CellCase(
        "Completed with a container still running and Ready condition is Running",
        pod(
            statuses=[
                container_status("a", state={"terminated": {"reason": "Completed"}}),
                container_status("b", ready=True, state=RUNNING),
            ],
            containers=2,
            conditions=[cond("Ready")],
        ),
        {"Ready": "1/2", "Status": "Running"},
    ),
    CellCase(
        "Completed with a container still running, not Ready, is NotReady",
        pod(
            statuses=[
                container_status("a", state={"terminated": {"reason": "Completed"}}),
                container_status("b", ready=True, state=RUNNING),
            ],
            containers=2,
            conditions=[cond("Ready", "False")],
        ),
        {"Status": "NotReady"},
    ),
    CellCase(
        "first container's state wins (statuses walked last to first)",
        pod(
            statuses=[
                container_status("a", state={"waiting": {"reason": "ImagePullBackOff"}}),
                container_status("b", state={"waiting": {"reason": "ErrImagePull"}}),
            ],
            containers=2,
        ),
        {"Status": "ImagePullBackOff"},
    ),
    CellCase(
        "Terminating when deletionTimestamp is set",
        pod(
            statuses=[container_status(ready=True, state=RUNNING)],
            metadata={"deletionTimestamp": ago(seconds=-30)},
        ),
        {"Ready": "1/1", "Status": "Terminating"},
    ),
    CellCase(
        "deleted Succeeded pod stays Completed (terminal phase)",
        pod(
            "Succeeded",
            [container_status(state={"terminated": {"reason": "Completed"}})],
            metadata={"deletionTimestamp": ago(seconds=-30)},
        ),
        {"Status": "Completed"},
    ),
    CellCase(
        "deleted NodeLost pod is Unknown",
        pod(
            statuses=[container_status(ready=True, state=RUNNING)],
            metadata={"deletionTimestamp": ago(seconds=-30)},
            reason="NodeLost",
        ),
        {"Status": "Unknown"},
    ),
    CellCase(
        "status.reason overrides the phase (Evicted)",
        pod("Failed", reason="Evicted"),
        {"Status": "Evicted"},
    ),
    CellCase(
        "SchedulingGated condition",
        pod("Pending", conditions=[cond("PodScheduled", "False", "SchedulingGated")]),
        {"Status": "SchedulingGated"},
    ),
    CellCase(
        "Init:0/1: first init container running",
        pod(
            "Pending",
            [container_status(state={"waiting": {"reason": "PodInitializing"}})],
            init=[{"name": "init"}],
            init_statuses=[container_status("init", state=RUNNING)],
        ),
        {"Ready": "0/1", "Status": "Init:0/1"},
    ),
    CellCase(
        "Init:1/2: first init container done, second waiting PodInitializing",
        pod(
            "Pending",
            init=[{"name": "i1"}, {"name": "i2"}],
            init_statuses=[
                container_status(
                    "i1", state={"terminated": {"exitCode": 0, "reason": "Completed"}}
                ),
                container_status("i2", state={"waiting": {"reason": "PodInitializing"}}),
            ],
        ),
        {"Status": "Init:1/2"},
    ),
    CellCase(
        "Init:CrashLoopBackOff with init restarts counted while initializing",
        pod(
            "Pending",
            [container_status(restartCount=7, state={"waiting": {"reason": "PodInitializing"}})],
            init=[{"name": "init"}],
            init_statuses=[
                container_status(
                    "init",
                    restartCount=2,
                    state={"waiting": {"reason": "CrashLoopBackOff"}},
                    lastState={"terminated": {"exitCode": 1, "finishedAt": ago(seconds=30)}},
                )
            ],
        ),
        {"Status": "Init:CrashLoopBackOff", "Restarts": "2 (30s ago)"},
    ),
    CellCase(
        "Init:Error: failed init container's terminated reason",
        pod(
            "Pending",
            init=[{"name": "init"}],
            init_statuses=[
                container_status("init", state={"terminated": {"exitCode": 1, "reason": "Error"}})
            ],
        ),
        {"Status": "Init:Error"},
    ),
    CellCase(
        "Init:ExitCode:N without reason",
        pod(
            "Pending",
            init=[{"name": "init"}],
            init_statuses=[container_status("init", state={"terminated": {"exitCode": 3}})],
        ),
        {"Status": "Init:ExitCode:3"},
    ),
    CellCase(
        "started ready sidecar (restartPolicy Always) counts in READY and total",
        pod(
            statuses=[container_status("app", ready=True, state=RUNNING)],
            init=[{"name": "sidecar", "restartPolicy": "Always"}],
            init_statuses=[
                container_status("sidecar", ready=True, started=True, restartCount=1, state=RUNNING)
            ],
            conditions=[cond("Initialized")],
        ),
        {"Ready": "2/2", "Status": "Running", "Restarts": "1"},
    ),
    CellCase(
        "wide: IP, node, nominated node, readiness gates",
        obj(
            "p",
            spec={
                "containers": [{"name": "app"}],
                "nodeName": "node-1",
                "readinessGates": [{"conditionType": "a"}, {"conditionType": "b"}],
            },
            status={
                "phase": "Running",
                "podIPs": [{"ip": "10.244.0.5"}, {"ip": "fd00::5"}],
                "conditions": [cond("a"), cond("b", "False")],
            },
        ),
        {
            "IP": "10.244.0.5",
            "Node": "node-1",
            "Nominated Node": "<none>",
            "Readiness Gates": "1/2",
        },
    ),
    CellCase(
        "wide: lone podIP, nothing scheduled",
        pod("Pending", podIP="10.244.0.6"),
        {"IP": "10.244.0.6", "Node": "<none>", "Readiness Gates": "<none>"},
    ),
]


@pytest.mark.parametrize("case", POD_CASES, ids=lambda c: c.id)
def test_pod_cells(case: CellCase) -> None:
    check("", "Pod", case)


@pytest.mark.parametrize(
    ("phase", "reason"),
    [("Succeeded", "Succeeded"), ("Failed", "Failed"), ("Running", None)],
    ids=["Succeeded row is Completed", "Failed row is Completed", "Running row has none"],
)
def test_pod_row_conditions(phase: str, reason: str | None) -> None:
    table = build_table(PRINTERS[("", "Pod")], [pod(phase)], NOW)
    row = table["rows"][0]
    if reason is None:
        assert "conditions" not in row
    else:
        assert [(c["type"], c["status"], c["reason"]) for c in row["conditions"]] == [
            ("Completed", "True", reason)
        ]


# ---------------------------------------------------- EndpointSlice, Endpoints
def eps(ports: list[dict[str, Any]], addrs: list[list[str]]) -> dict[str, Any]:
    endpoints = [{"addresses": a} for a in addrs]
    return obj("web-abc", addressType="IPv4", ports=ports, endpoints=endpoints)


ENDPOINT_SLICE_CASES = [
    CellCase(
        "more than 3 endpoints: first 3 then + N more...",
        eps([{"name": "http", "port": 80}], [[f"10.0.0.{i}"] for i in range(1, 6)]),
        {
            "AddressType": "IPv4",
            "Ports": "80",
            "Endpoints": "10.0.0.1,10.0.0.2,10.0.0.3 + 2 more...",
        },
    ),
    CellCase(
        "exactly 3 addresses across endpoints: no suffix",
        eps([{"port": 80}], [["10.0.0.1", "10.0.0.2"], ["10.0.0.3"]]),
        {"Endpoints": "10.0.0.1,10.0.0.2,10.0.0.3"},
    ),
    CellCase(
        "no endpoints and no ports are <unset>",
        eps([], []),
        {"Ports": "<unset>", "Endpoints": "<unset>"},
    ),
    CellCase(
        "port number, else name, else *; + N more... past 3",
        eps([{"port": 80}, {"name": "dns"}, {}, {"port": 9090}], [["10.0.0.1"]]),
        {"Ports": "80,dns,* + 1 more...", "Endpoints": "10.0.0.1"},
    ),
]


@pytest.mark.parametrize("case", ENDPOINT_SLICE_CASES, ids=lambda c: c.id)
def test_endpoint_slice_cells(case: CellCase) -> None:
    check("discovery.k8s.io", "EndpointSlice", case)


ENDPOINTS_CASES = [
    CellCase("no subsets is <none>", obj("web"), {"Endpoints": "<none>"}),
    CellCase(
        "ip:port per port then per address, + N more... past 3",
        obj(
            "web",
            subsets=[
                {
                    "addresses": [{"ip": "10.0.0.1"}, {"ip": "10.0.0.2"}],
                    "ports": [{"port": 80}, {"port": 443}],
                }
            ],
        ),
        {"Endpoints": "10.0.0.1:80,10.0.0.2:80,10.0.0.1:443 + 1 more..."},
    ),
    CellCase(
        "port-less (headless) subset prints bare IPs; IPv6 bracketed",
        obj(
            "web",
            subsets=[
                {"addresses": [{"ip": "10.0.0.1"}]},
                {"addresses": [{"ip": "fd00::1"}], "ports": [{"port": 80}]},
            ],
        ),
        {"Endpoints": "10.0.0.1,[fd00::1]:80"},
    ),
    CellCase(
        "subset with only notReadyAddresses prints empty",
        obj("web", subsets=[{"notReadyAddresses": [{"ip": "10.0.0.1"}], "ports": [{"port": 80}]}]),
        {"Endpoints": ""},
    ),
]


@pytest.mark.parametrize("case", ENDPOINTS_CASES, ids=lambda c: c.id)
def test_endpoints_cells(case: CellCase) -> None:
    check("", "Endpoints", case)


# ------------------------------------------------- Deployment, ReplicaSet
def deploy(desired: int | None, selector: Any = None, **status: int) -> dict[str, Any]:
    spec: dict[str, Any] = {
        "selector": selector if selector is not None else {"matchLabels": {"app": "web"}},
        "template": {
            "spec": {
                "containers": [
                    {"name": "web", "image": "nginx:1"},
                    {"name": "log", "image": "busybox"},
                ]
            }
        },
    }
    if desired is not None:
        spec["replicas"] = desired
    return obj("web", spec=spec, status=status)


DEPLOYMENT_CASES = [
    CellCase(
        "READY is ready/desired; UP-TO-DATE, AVAILABLE counts",
        deploy(3, readyReplicas=2, updatedReplicas=3, availableReplicas=2),
        {"Ready": "2/3", "Up-to-date": 3, "Available": 2, "Age": "5m"},
    ),
    CellCase("no status yet is 0/N", deploy(2), {"Ready": "0/2", "Up-to-date": 0}),
    CellCase("scaled to zero", deploy(0), {"Ready": "0/0"}),
    CellCase("unset replicas defaults to 1", deploy(None), {"Ready": "0/1"}),
    CellCase(
        "wide: containers, images, selector String()",
        deploy(
            1,
            {
                "matchLabels": {"app": "web"},
                "matchExpressions": [
                    {"key": "tier", "operator": "In", "values": ["fe", "be"]},
                    {"key": "canary", "operator": "DoesNotExist"},
                ],
            },
        ),
        {
            "Containers": "web,log",
            "Images": "nginx:1,busybox",
            "Selector": "app=web,!canary,tier in (be,fe)",
        },
    ),
    CellCase(
        "selector that does not parse is <invalid>",
        deploy(1, {"matchExpressions": [{"key": "a", "operator": "Bogus"}]}),
        {"Selector": "<invalid>"},
    ),
]


@pytest.mark.parametrize("case", DEPLOYMENT_CASES, ids=lambda c: c.id)
def test_deployment_cells(case: CellCase) -> None:
    check("apps", "Deployment", case)


REPLICA_SET_CASES = [
    CellCase(
        "DESIRED, CURRENT, READY are integers",
        deploy(3, replicas=3, readyReplicas=1),
        {"Desired": 3, "Current": 3, "Ready": 1, "Selector": "app=web"},
    ),
    CellCase(
        "empty selector is <none> (FormatLabelSelector)",
        deploy(1, {}),
        {"Selector": "<none>"},
    ),
    CellCase(
        "invalid selector is <error> (FormatLabelSelector)",
        deploy(1, {"matchExpressions": [{"key": "a", "operator": "In", "values": []}]}),
        {"Selector": "<error>"},
    ),
]


@pytest.mark.parametrize("case", REPLICA_SET_CASES, ids=lambda c: c.id)
def test_replica_set_cells(case: CellCase) -> None:
    check("apps", "ReplicaSet", case)


# ------------------------------------------------------------------ Node
def node(
    conditions: list[dict[str, Any]], labels: dict[str, str] | None = None, **spec: Any
) -> dict:
    return obj(
        "n1",
        metadata={"labels": labels or {}},
        spec=spec,
        status={
            "conditions": conditions,
            "nodeInfo": {"kubeletVersion": "v1.31.0", "osImage": "Debian", "kernelVersion": "6.1"},
            "addresses": [
                {"type": "Hostname", "address": "n1"},
                {"type": "InternalIP", "address": "10.1.0.1"},
            ],
        },
    )


NODE_CASES = [
    CellCase(
        "Ready condition True is Ready",
        node([cond("MemoryPressure", "False"), cond("Ready")]),
        {"Status": "Ready", "Roles": "<none>", "Version": "v1.31.0"},
    ),
    CellCase(
        "Ready condition False is NotReady", node([cond("Ready", "False")]), {"Status": "NotReady"}
    ),
    CellCase("no Ready condition is Unknown", node([]), {"Status": "Unknown"}),
    CellCase(
        "unschedulable appends SchedulingDisabled",
        node([cond("Ready")], unschedulable=True),
        {"Status": "Ready,SchedulingDisabled"},
    ),
    CellCase(
        "roles from node-role.kubernetes.io/* and kubernetes.io/role, sorted",
        node(
            [cond("Ready")],
            {
                "node-role.kubernetes.io/control-plane": "",
                "node-role.kubernetes.io/": "",
                "kubernetes.io/role": "etcd",
            },
        ),
        {"Roles": "control-plane,etcd"},
    ),
    CellCase(
        "wide: first InternalIP, <none> ExternalIP, <unknown> runtime",
        node([cond("Ready")]),
        {
            "Internal-IP": "10.1.0.1",
            "External-IP": "<none>",
            "OS-Image": "Debian",
            "Kernel-Version": "6.1",
            "Container-Runtime": "<unknown>",
        },
    ),
]


@pytest.mark.parametrize("case", NODE_CASES, ids=lambda c: c.id)
def test_node_cells(case: CellCase) -> None:
    check("", "Node", case)


# ----------------------------------------------------------------- Event
def event(**kw: Any) -> dict[str, Any]:
    base = {
        "involvedObject": {"kind": "Pod", "name": "web-1", "fieldPath": "spec.containers{web}"},
        "type": "Warning",
        "reason": "BackOff",
        "message": "  Back-off restarting failed container \n",
        "source": {"component": "kubelet", "host": "n1"},
    }
    return obj("web-1.17a", **{**base, **kw})


EVENT_CASES = [
    CellCase(
        "columns in upstream order; OBJECT is kind/name lower-cased; message trimmed",
        event(firstTimestamp=ago(minutes=10), lastTimestamp=ago(minutes=1), count=4),
        {
            "Last Seen": "60s",
            "Type": "Warning",
            "Reason": "BackOff",
            "Object": "pod/web-1",
            "Subobject": "spec.containers{web}",
            "Source": "kubelet, n1",
            "Message": "Back-off restarting failed container",
            "First Seen": "10m",
            "Count": 4,
            "Name": "web-1.17a",
        },
    ),
    CellCase(
        "LAST SEEN falls back to firstTimestamp, then eventTime; count defaults to 1",
        event(eventTime="2024-06-01T11:57:00.000000Z", source={}, reportingComponent="ctl"),
        {"Last Seen": "3m", "First Seen": "3m", "Count": 1, "Source": "ctl"},
    ),
    CellCase(
        "series overrides LAST SEEN and COUNT",
        event(
            eventTime=ago(minutes=30),
            series={"count": 12, "lastObservedTime": "2024-06-01T11:59:30.000000Z"},
        ),
        {"Last Seen": "30s", "First Seen": "30m", "Count": 12},
    ),
    CellCase(
        "OBJECT without a name is the kind alone",
        event(involvedObject={"kind": "Node"}),
        {"Object": "node", "Last Seen": "<unknown>"},
    ),
]


@pytest.mark.parametrize("case", EVENT_CASES, ids=lambda c: c.id)
def test_event_cells(case: CellCase) -> None:
    check("", "Event", case)


# -------------------------------------------- remaining kinds, one row each
@dataclass(frozen=True)
class RowCase:
    id: str
    group: str
    kind: str
    obj: dict[str, Any]
    want: list[Any] = field(default_factory=list)


ROW_CASES = [
    RowCase(
        "Namespace: NAME STATUS AGE",
        "",
        "Namespace",
        obj("dev", status={"phase": "Active"}),
        ["dev", "Active", "5m"],
    ),
    RowCase(
        "ConfigMap: DATA counts data and binaryData",
        "",
        "ConfigMap",
        obj("cm", data={"a": "1", "b": "2"}, binaryData={"c": "AA=="}),
        ["cm", 3, "5m"],
    ),
    RowCase(
        "Secret: TYPE and DATA",
        "",
        "Secret",
        obj("s", type="Opaque", data={"k": "dg=="}),
        ["s", "Opaque", 1, "5m"],
    ),
    RowCase(
        "ServiceAccount: SECRETS count", "", "ServiceAccount", obj("default"), ["default", 0, "5m"]
    ),
    RowCase(
        "Ingress: class, first 3 hosts + rules past 3, address, TLS ports",
        "networking.k8s.io",
        "Ingress",
        obj(
            "ing",
            spec={
                "ingressClassName": "nginx",
                "rules": [
                    {"host": "a.example"},
                    {},
                    {"host": "b.example"},
                    {"host": "c.example"},
                    {"host": "d.example"},
                ],
                "tls": [{"hosts": ["a.example"]}],
            },
            status={"loadBalancer": {"ingress": [{"ip": "203.0.113.7"}]}},
        ),
        [
            "ing",
            "nginx",
            "a.example,b.example,c.example + 2 more...",
            "203.0.113.7",
            "80, 443",
            "5m",
        ],
    ),
    RowCase(
        "Ingress: no class, no hosts is *, no TLS is 80",
        "networking.k8s.io",
        "Ingress",
        obj("ing", spec={"rules": [{}]}),
        ["ing", "<none>", "*", "", "80", "5m"],
    ),
    RowCase(
        "IngressClass: PARAMETERS is Kind.apiGroup/name",
        "networking.k8s.io",
        "IngressClass",
        obj(
            "nginx",
            spec={
                "controller": "k8s.io/ingress-nginx",
                "parameters": {
                    "apiGroup": "k8s.example.com",
                    "kind": "IngressParameters",
                    "name": "p",
                },
            },
        ),
        ["nginx", "k8s.io/ingress-nginx", "IngressParameters.k8s.example.com/p", "5m"],
    ),
    RowCase(
        "IngressClass: no parameters is <none>",
        "networking.k8s.io",
        "IngressClass",
        obj("c", spec={"controller": "x"}),
        ["c", "x", "<none>", "5m"],
    ),
    RowCase(
        "NetworkPolicy: empty podSelector is <none>",
        "networking.k8s.io",
        "NetworkPolicy",
        obj("deny-all", spec={"podSelector": {}}),
        ["deny-all", "<none>", "5m"],
    ),
    RowCase(
        "NetworkPolicy: POD-SELECTOR is the selector string",
        "networking.k8s.io",
        "NetworkPolicy",
        obj("np", spec={"podSelector": {"matchLabels": {"role": "db", "app": "x"}}}),
        ["np", "app=x,role=db", "5m"],
    ),
    RowCase(
        "Lease: HOLDER is holderIdentity",
        "coordination.k8s.io",
        "Lease",
        obj("kube-scheduler", spec={"holderIdentity": "n1_abc"}),
        ["kube-scheduler", "n1_abc", "5m"],
    ),
    RowCase("Lease: unheld is empty", "coordination.k8s.io", "Lease", obj("l"), ["l", "", "5m"]),
]


@pytest.mark.parametrize("case", ROW_CASES, ids=lambda c: c.id)
def test_row_cells(case: RowCase) -> None:
    assert cells(case.group, case.kind, case.obj) == case.want


# ------------------------------------------------------------- printers
ALL_PRINTERS = [*sorted(PRINTERS.items()), (("*", "default"), DEFAULT_PRINTER)]


@pytest.mark.parametrize(
    "printer",
    [p for _, p in ALL_PRINTERS],
    ids=[f"{g or 'core'}/{k}" for (g, k), _ in ALL_PRINTERS],
)
def test_printer_invariants(printer: TablePrinter) -> None:
    """One cell per column (the server always prints wide), one name column,
    and the row function tolerates a bare object."""
    assert len(printer.row(obj(), NOW)) == len(printer.columns)
    assert len(printer.row({}, NOW)) == len(printer.columns)
    assert [c.format for c in printer.columns].count("name") == 1
    assert all(c.priority in (0, 1) for c in printer.columns)
    assert all(
        c.type in ("string", "integer", "number", "boolean", "date") for c in printer.columns
    )


@pytest.mark.parametrize(
    ("key", "headers"),
    [
        (("", "Namespace"), "Name Status Age"),
        (("", "Pod"), "Name Ready Status Restarts Age | IP Node Nominated Node Readiness Gates"),
        (("", "Service"), "Name Type Cluster-IP External-IP Port(s) Age | Selector"),
        (("", "Endpoints"), "Name Endpoints Age"),
        (
            ("", "Node"),
            "Name Status Roles Age Version | Internal-IP External-IP OS-Image Kernel-Version Container-Runtime",
        ),
        (
            ("", "Event"),
            "Last Seen Type Reason Object Message | Subobject Source First Seen Count Name",
        ),
        (("", "ConfigMap"), "Name Data Age"),
        (("", "Secret"), "Name Type Data Age"),
        (("", "ServiceAccount"), "Name Secrets Age"),
        (
            ("apps", "Deployment"),
            "Name Ready Up-to-date Available Age | Containers Images Selector",
        ),
        (("apps", "ReplicaSet"), "Name Desired Current Ready Age | Containers Images Selector"),
        (("discovery.k8s.io", "EndpointSlice"), "Name AddressType Ports Endpoints Age"),
        (("networking.k8s.io", "Ingress"), "Name Class Hosts Address Ports Age"),
        (("networking.k8s.io", "IngressClass"), "Name Controller Parameters Age"),
        (("networking.k8s.io", "NetworkPolicy"), "Name Pod-Selector Age"),
        (("coordination.k8s.io", "Lease"), "Name Holder Age"),
    ],
    ids=lambda v: "/".join(v) if isinstance(v, tuple) else None,
)
def test_columns_match_upstream(key: tuple[str, str], headers: str) -> None:
    """kubectl shows priority-0 columns, and the priority-1 ones with -o wide."""
    cols = PRINTERS[key].columns
    normal = " ".join(c.name for c in cols if c.priority == 0)
    wide = " ".join(c.name for c in cols if c.priority == 1)
    assert (normal + (" | " + wide if wide else "")) == headers


def test_column_definition_shape() -> None:
    c = Column("Selector", priority=1, description="d")
    assert c.to_definition() == {
        "name": "Selector",
        "type": "string",
        "format": "",
        "description": "d",
        "priority": 1,
    }


# ----------------------------------------------------------- build_table
SERVICE = svc("ClusterIP", selector={"app": "web"})
SERVICE["metadata"]["labels"] = {"app": "web"}
SERVICE["metadata"]["resourceVersion"] = "42"


@dataclass(frozen=True)
class IncludeCase:
    id: str
    include: str
    want: Any


INCLUDE_CASES = [
    IncludeCase(
        "Metadata: PartialObjectMetadata (labels for --show-labels)",
        "Metadata",
        {
            "kind": "PartialObjectMetadata",
            "apiVersion": "meta.k8s.io/v1",
            "metadata": SERVICE["metadata"],
        },
    ),
    IncludeCase(
        "empty includeObject defaults to Metadata",
        "",
        {
            "kind": "PartialObjectMetadata",
            "apiVersion": "meta.k8s.io/v1",
            "metadata": SERVICE["metadata"],
        },
    ),
    IncludeCase("Object: the full object (kubectl --sort-by)", "Object", SERVICE),
    IncludeCase("None: null object", "None", None),
]


@pytest.mark.parametrize("case", INCLUDE_CASES, ids=lambda c: c.id)
def test_build_table_include_object(case: IncludeCase) -> None:
    table = build_table(PRINTERS[("", "Service")], [SERVICE], NOW, include_object=case.include)
    assert table["rows"][0]["object"] == case.want


def test_build_table_shape() -> None:
    table = build_table(
        PRINTERS[("", "Service")],
        [SERVICE],
        NOW,
        list_meta={"resourceVersion": "42", "continue": "tok", "remainingItemCount": 3},
    )
    assert table["kind"] == "Table"
    assert table["apiVersion"] == "meta.k8s.io/v1"
    assert table["metadata"] == {
        "resourceVersion": "42",
        "continue": "tok",
        "remainingItemCount": 3,
    }
    assert [c["name"] for c in table["columnDefinitions"]][:2] == ["Name", "Type"]
    assert table["columnDefinitions"][0]["format"] == "name"
    assert table["columnDefinitions"][-1]["priority"] == 1
    assert table["rows"] == [
        {
            "cells": ["web", "ClusterIP", "10.0.0.10", "<none>", "80/TCP", "5m", "app=web"],
            "object": {
                "kind": "PartialObjectMetadata",
                "apiVersion": "meta.k8s.io/v1",
                "metadata": SERVICE["metadata"],
            },
        }
    ]


def test_build_table_empty_list_meta_omitted() -> None:
    table = build_table(
        DEFAULT_PRINTER, [], NOW, list_meta={"resourceVersion": "7", "continue": ""}
    )
    assert table["metadata"] == {"resourceVersion": "7"}
    assert table["rows"] == []
    assert [c["name"] for c in table["columnDefinitions"]] == ["Name", "Created At"]


def test_build_table_v1beta1() -> None:
    table = build_table(DEFAULT_PRINTER, [obj()], NOW, api_version="meta.k8s.io/v1beta1")
    assert table["apiVersion"] == "meta.k8s.io/v1beta1"
    assert table["rows"][0]["object"]["apiVersion"] == "meta.k8s.io/v1beta1"


@pytest.mark.parametrize("rows", [[], [obj()]], ids=["no rows", "one row"])
def test_build_table_rejects_unknown_include_object(rows: list[dict[str, Any]]) -> None:
    with pytest.raises(APIError) as exc:
        build_table(DEFAULT_PRINTER, rows, NOW, include_object="Everything")
    assert exc.value.code == 400
    assert exc.value.message == 'unrecognized includeObject value: "Everything"'


@pytest.mark.parametrize(
    ("o", "want"),
    [
        (obj("a", age_s=3600), ["a", "2024-06-01T11:00:00Z"]),
        (
            obj("b", metadata={"creationTimestamp": "2024-06-01T13:00:00+02:00"}),
            ["b", "2024-06-01T11:00:00Z"],
        ),
        ({"metadata": {"name": "c"}}, ["c", "0001-01-01T00:00:00Z"]),
    ],
    ids=["Created At is RFC3339 UTC", "offset normalised to UTC", "unset is Go zero time"],
)
def test_default_printer_cells(o: dict[str, Any], want: list[str]) -> None:
    """Upstream defaultTableConvertor: Name, Created At (date)."""
    assert DEFAULT_PRINTER.row(o, NOW) == want
    assert [c.type for c in DEFAULT_PRINTER.columns] == ["string", "date"]


def test_build_table_does_not_mutate_objects() -> None:
    import copy

    before = copy.deepcopy(SERVICE)
    build_table(PRINTERS[("", "Service")], [SERVICE], NOW, include_object="Object")
    assert before == SERVICE
