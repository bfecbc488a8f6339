"""Service and EndpointSlice change trackers, each case naming the upstream rule.

Upstream: ``pkg/proxy/servicechangetracker.go`` (``Update``, ``ServicePortMap.Update``),
``endpointschangetracker.go`` (``EndpointSliceUpdate``, ``EndpointsMap.Update``,
``detectStaleConntrackEntries``), ``endpointslicecache.go`` (``updatePending``,
``esInfoChanged``, ``addEndpoints``), ``conntrack/cleanup.go`` (``CleanStaleEntries``).

Conventions: this proxy runs on node ``node-a``; Service ``ns/svc`` has
ClusterIP 10.96.0.10, port ``p`` 53; endpoints are 10.244.x.y on port 5353;
slices are ``svc-<suffix>``.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import pytest

from svcnet.proxy.changes import (
    ConntrackCleanup,
    EndpointsChangeTracker,
    FamilyChanges,
    ServiceChangeTracker,
    endpoints_map,
    family_changes,
    slice_view,
)
from svcnet.proxy.model import (
    IPV4,
    IPV6,
    ProxyState,
    ServiceName,
    ServicePortName,
    empty_states,
)

Obj = dict[str, Any]
SVC = ServiceName("ns", "svc")
NODE = "node-a"
T0 = datetime(2026, 1, 1, tzinfo=UTC)


def service(
    proto: str = "UDP",
    *,
    port_name: str = "p",
    node_port: int = 0,
    external_ips: tuple[str, ...] = (),
    lb_ips: tuple[str, ...] = (),
    annotations: dict[str, str] | None = None,
    name: str = "svc",
) -> Obj:
    port: Obj = {"name": port_name, "port": 53, "protocol": proto}
    if node_port:
        port["nodePort"] = node_port
    return {
        "metadata": {"namespace": "ns", "name": name, "annotations": annotations or {}},
        "spec": {
            "type": "LoadBalancer" if lb_ips else "NodePort" if node_port else "ClusterIP",
            "clusterIP": "10.96.0.10",
            "clusterIPs": ["10.96.0.10"],
            "ipFamilies": ["IPv4"],
            "ports": [port],
            "externalIPs": list(external_ips),
        },
        "status": {"loadBalancer": {"ingress": [{"ip": ip} for ip in lb_ips]}},
    }


def endpoint(
    ip: str, node: str = "node-b", *, ready: bool = True, serving: bool | None = None
) -> Obj:
    cond: Obj = {"ready": ready, "serving": ready if serving is None else serving}
    return {"addresses": [ip], "nodeName": node, "conditions": cond}


def eslice(
    suffix: str,
    *eps: Obj,
    proto: str = "UDP",
    family: str = IPV4,
    service_label: str | None = "svc",
    trigger: str | None = None,
    port_name: str = "p",
) -> Obj:
    labels = {"kubernetes.io/service-name": service_label} if service_label else {}
    annotations = {"endpoints.kubernetes.io/last-change-trigger-time": trigger} if trigger else {}
    return {
        "metadata": {
            "namespace": "ns",
            "name": f"svc-{suffix}",
            "labels": labels,
            "annotations": annotations,
        },
        "addressType": family,
        "ports": [{"name": port_name, "port": 5353, "protocol": proto}],
        "endpoints": list(eps),
    }


def udp(name: str = "p") -> ServicePortName:
    return ServicePortName("ns", "svc", name, "UDP")


def state() -> ProxyState:
    return ProxyState(IPV4, node_name=NODE, node_ips=("172.18.0.11",))


def ips(st: ProxyState, spn: ServicePortName | None = None) -> list[str]:
    return [str(e) for e in st.endpoints_for(spn or udp())]


# --- ServiceChangeTracker ----------------------------------------------------------------


def test_service_add_apply() -> None:
    tracker = ServiceChangeTracker(IPV4)
    assert tracker.update(None, service())
    assert tracker.pending() == {SVC}
    result = tracker.apply(state())
    assert result.changed == {SVC}
    assert set(result.state.services) == {udp()}
    assert result.state.ports_of(SVC) == (udp(),)
    assert tracker.pending() == frozenset()
    assert not result.conntrack


@pytest.mark.parametrize(
    "updates",
    [
        [(None, service()), (service(), None)],
        [(service(), service("TCP")), (service("TCP"), service())],
        [(service(), service(annotations={"a": "b"}))],
    ],
    ids=[
        "ServiceChangeTracker: add then delete before a sync, the change that undoes itself is dropped",
        "ServiceChangeTracker: update then revert, the change that undoes itself is dropped",
        "ServiceChangeTracker: an update the proxy does not see (annotation) is no change",
    ],
)
def test_service_change_that_undoes_itself_is_dropped(updates: list[tuple[Any, Any]]) -> None:
    tracker = ServiceChangeTracker(IPV4)
    for prev, cur in updates:
        tracker.update(prev, cur)
    assert tracker.pending() == frozenset()
    st = state()
    result = tracker.apply(st)
    assert result.state is st
    assert result.changed == frozenset()


def test_service_port_rename_replaces_port() -> None:
    tracker = ServiceChangeTracker(IPV4)
    tracker.update(None, service())
    st = tracker.apply(state()).state
    tracker.update(service(), service(port_name="q"))
    st = tracker.apply(st).state
    assert set(st.services) == {udp("q")}
    assert st.ports_of(SVC) == (udp("q"),)


def test_service_other_family_is_ignored() -> None:
    tracker = ServiceChangeTracker(IPV6)
    assert not tracker.update(None, service())
    assert tracker.pending() == frozenset()


def test_service_delete_removes_ports_and_index() -> None:
    tracker = ServiceChangeTracker(IPV4)
    tracker.update(None, service("TCP"))
    st = tracker.apply(state()).state
    tracker.update(service("TCP"), None)
    result = tracker.apply(st)
    assert result.state.services == {}
    assert result.state.ports_of(SVC) == ()
    assert result.changed == {SVC}
    assert not result.conntrack, "TCP needs no conntrack cleanup"


def test_deleted_udp_service_flushes_its_frontends() -> None:
    """DeletedUDPClusterIPs (by port): every ip:port and the NodePort of a deleted UDP port."""
    svc = service(node_port=30053, external_ips=("192.0.2.7",), lb_ips=("172.18.0.200",))
    tracker = ServiceChangeTracker(IPV4)
    tracker.update(None, svc)
    st = tracker.apply(state()).state
    tracker.update(svc, None)
    cleanup = tracker.apply(st).conntrack
    assert cleanup.service_ip_ports == {
        ("10.96.0.10", 53),
        ("192.0.2.7", 53),
        ("172.18.0.200", 53),
    }
    assert cleanup.node_ports == {30053}


def test_udp_frontend_removed_by_update_is_flushed() -> None:
    old = service(external_ips=("192.0.2.7", "192.0.2.8"))
    new = service(external_ips=("192.0.2.8",))
    tracker = ServiceChangeTracker(IPV4)
    tracker.update(None, old)
    st = tracker.apply(state()).state
    tracker.update(old, new)
    assert tracker.apply(st).conntrack == ConntrackCleanup(
        service_ip_ports=frozenset({("192.0.2.7", 53)})
    )


# --- EndpointsChangeTracker --------------------------------------------------------------


def test_slice_add_builds_sorted_endpoints_with_locality() -> None:
    tracker = EndpointsChangeTracker(IPV4)
    tracker.update(
        None,
        eslice("a", endpoint("10.244.1.9"), endpoint("10.244.1.10", NODE), endpoint("10.244.1.2")),
    )
    result = tracker.apply(state())
    assert result.changed == {SVC}
    eps = result.state.endpoints_for(udp())
    assert [str(e) for e in eps] == ["10.244.1.10:5353", "10.244.1.2:5353", "10.244.1.9:5353"]
    assert [e.is_local for e in eps] == [True, False, False]


@pytest.mark.parametrize(
    "updates",
    [
        [(None, eslice("a", endpoint("10.244.1.1"))), (eslice("a", endpoint("10.244.1.1")), None)],
        [
            (eslice("a", endpoint("10.244.1.1")), eslice("a", endpoint("10.244.1.2"))),
            (eslice("a", endpoint("10.244.1.2")), eslice("a", endpoint("10.244.1.1"))),
        ],
    ],
    ids=[
        "esInfoChanged: slice added then deleted before a sync, the change that undoes itself is dropped",
        "esInfoChanged: slice changed then changed back, the change that undoes itself is dropped",
    ],
)
def test_slice_change_that_undoes_itself_is_dropped(updates: list[tuple[Any, Any]]) -> None:
    tracker = EndpointsChangeTracker(IPV4)
    first_prev = updates[0][0]
    st = state()
    if first_prev is not None:
        tracker.update(None, first_prev)
        st = tracker.apply(st).state
    for prev, cur in updates:
        tracker.update(prev, cur)
    assert tracker.pending() == frozenset()
    assert tracker.apply(st).changed == frozenset()


def test_identical_resync_is_no_change() -> None:
    """esInfoChanged: an update equal to what was applied is not pending."""
    tracker = EndpointsChangeTracker(IPV4)
    s = eslice("a", endpoint("10.244.1.1"))
    tracker.update(None, s)
    tracker.apply(state())
    assert not tracker.update(s, s)
    assert tracker.pending() == frozenset()


def test_endpoint_moving_between_slices_is_no_change() -> None:
    """Slice-by-name cache: an endpoint moving to another slice is not removed."""
    tracker = EndpointsChangeTracker(IPV4)
    a1 = eslice("a", endpoint("10.244.1.1"), endpoint("10.244.1.2"))
    b1 = eslice("b", endpoint("10.244.1.3"))
    tracker.update(None, a1)
    tracker.update(None, b1)
    st = tracker.apply(state()).state
    tracker.update(a1, eslice("a", endpoint("10.244.1.1")))
    tracker.update(b1, eslice("b", endpoint("10.244.1.2"), endpoint("10.244.1.3")))
    assert tracker.pending() == {SVC}
    result = tracker.apply(st)
    assert result.changed == frozenset()
    assert ips(result.state) == ["10.244.1.1:5353", "10.244.1.2:5353", "10.244.1.3:5353"]


def test_duplicate_endpoint_deduplicated_local_wins() -> None:
    """addEndpoints: one entry per ip:port; a local copy is preferred."""
    tracker = EndpointsChangeTracker(IPV4)
    tracker.update(None, eslice("a", endpoint("10.244.1.1", "node-b")))
    tracker.update(None, eslice("b", endpoint("10.244.1.1", NODE)))
    eps = tracker.apply(state()).state.endpoints_for(udp())
    assert len(eps) == 1
    assert eps[0].is_local


@pytest.mark.parametrize(
    "obj",
    [
        eslice("a", endpoint("fd00::1"), family=IPV6),
        eslice("a", endpoint("10.244.1.1"), service_label=None),
        {**eslice("a", endpoint("example.com")), "addressType": "FQDN"},
    ],
    ids=[
        "EndpointSliceUpdate: slice of the other family ignored",
        "endpointSliceCacheKeys: slice without service-name label ignored",
        "EndpointSliceUpdate: FQDN address type not supported by kube-proxy",
    ],
)
def test_slices_ignored(obj: Obj) -> None:
    tracker = EndpointsChangeTracker(IPV4)
    assert not tracker.update(None, obj)
    assert tracker.pending() == frozenset()


def test_slice_view_conditions_and_hints() -> None:
    """newEndpointSliceInfo: ready/serving default true, terminating false; hints by name."""
    obj = eslice(
        "a",
        {"addresses": ["10.244.1.1"], "conditions": {}},
        {
            "addresses": ["10.244.1.2"],
            "conditions": {"ready": False, "serving": True, "terminating": True},
            "hints": {"forZones": [{"name": "zone-a"}], "forNodes": [{"name": "node-a"}]},
            "zone": "zone-a",
        },
        {"addresses": [], "conditions": {}},
    )
    view = slice_view(obj, IPV4)
    first, second = view.endpoints
    assert (first.ready, first.serving, first.terminating) == (True, True, False)
    assert (second.ready, second.serving, second.terminating) == (False, True, True)
    assert second.zone_hints == {"zone-a"}
    assert second.node_hints == {"node-a"}
    assert second.zone == "zone-a"


def test_port_without_number_ignored() -> None:
    """endpointInfoByServicePort: a port with no number is skipped."""
    obj = eslice("a", endpoint("10.244.1.1"))
    obj["ports"] = [{"name": "p", "protocol": "UDP"}]
    assert endpoints_map(SVC, [slice_view(obj, IPV4)], NODE) == {}


# --- stale UDP conntrack -----------------------------------------------------------------


@dataclass(frozen=True)
class ConntrackCase:
    id: str
    before: tuple[Obj, ...]  # endpoints in slice "a" at the first sync
    after: tuple[Obj, ...]  # endpoints in slice "a" at the second sync
    expected: ConntrackCleanup
    proto: str = "UDP"


ALL_IPS = frozenset({("10.96.0.10", 53), ("192.0.2.7", 53), ("172.18.0.200", 53)})

CONNTRACK_CASES = [
    ConntrackCase(
        "UDP service 0 -> 1 endpoints flags conntrack cleanup of its IPs and NodePort",
        (),
        (endpoint("10.244.1.1"),),
        ConntrackCleanup(service_ip_ports=ALL_IPS, node_ports=frozenset({30053})),
    ),
    ConntrackCase(
        "UDP endpoint removed: flows DNATed to it are flushed on every IP and the NodePort",
        (endpoint("10.244.1.1"), endpoint("10.244.1.2")),
        (endpoint("10.244.1.2"),),
        ConntrackCleanup(
            endpoint_flows=frozenset((ip, port, "10.244.1.1") for ip, port in ALL_IPS),
            node_port_endpoint_flows=frozenset({(30053, "10.244.1.1")}),
        ),
    ),
    ConntrackCase(
        "UDP endpoints N -> M in one sync: removed ones flushed, not newly active",
        (endpoint("10.244.1.1"),),
        (endpoint("10.244.1.2"),),
        ConntrackCleanup(
            endpoint_flows=frozenset((ip, port, "10.244.1.1") for ip, port in ALL_IPS),
            node_port_endpoint_flows=frozenset({(30053, "10.244.1.1")}),
        ),
    ),
    ConntrackCase(
        "UDP endpoint going not-serving is a changed endpoint: its flows are flushed",
        (endpoint("10.244.1.1"), endpoint("10.244.1.2")),
        (endpoint("10.244.1.1"), endpoint("10.244.1.2", ready=False)),
        ConntrackCleanup(
            endpoint_flows=frozenset((ip, port, "10.244.1.2") for ip, port in ALL_IPS),
            node_port_endpoint_flows=frozenset({(30053, "10.244.1.2")}),
        ),
    ),
    ConntrackCase(
        "a not-serving UDP endpoint removed had no traffic: nothing to flush",
        (endpoint("10.244.1.1"), endpoint("10.244.1.2", ready=False)),
        (endpoint("10.244.1.1"),),
        ConntrackCleanup(),
    ),
    ConntrackCase(
        "UDP 0 serving -> only not-serving endpoints is not newly active",
        (),
        (endpoint("10.244.1.1", ready=False),),
        ConntrackCleanup(),
    ),
    ConntrackCase(
        "TCP endpoint removed: no conntrack cleanup (UDP only)",
        (endpoint("10.244.1.1"), endpoint("10.244.1.2")),
        (endpoint("10.244.1.2"),),
        ConntrackCleanup(),
        proto="TCP",
    ),
]


@pytest.mark.parametrize("case", CONNTRACK_CASES, ids=[c.id for c in CONNTRACK_CASES])
def test_stale_udp_conntrack(case: ConntrackCase) -> None:
    changes = FamilyChanges(IPV4)
    svc = service(
        case.proto, node_port=30053, external_ips=("192.0.2.7",), lb_ips=("172.18.0.200",)
    )
    changes.services.update(None, svc)
    first = eslice("a", *case.before, proto=case.proto)
    changes.endpoints.update(None, first)
    st = changes.apply(state()).state
    changes.endpoints.update(first, eslice("a", *case.after, proto=case.proto))
    assert changes.apply(st).conntrack == case.expected


def test_udp_endpoints_one_zero_one_across_syncs() -> None:
    """The N -> 0 -> M case: removal flushes flows to the old endpoint, revival flushes the IPs."""
    changes = FamilyChanges(IPV4)
    changes.services.update(None, service())
    one = eslice("a", endpoint("10.244.1.1"))
    zero = eslice("a")
    changes.endpoints.update(None, one)
    st = changes.apply(state()).state
    changes.endpoints.update(one, zero)
    result = changes.apply(st)
    assert result.conntrack == ConntrackCleanup(
        endpoint_flows=frozenset({("10.96.0.10", 53, "10.244.1.1")})
    )
    assert result.state.endpoints_for(udp()) == ()
    changes.endpoints.update(zero, eslice("a", endpoint("10.244.1.5")))
    result = changes.apply(result.state)
    assert result.conntrack == ConntrackCleanup(service_ip_ports=frozenset({("10.96.0.10", 53)}))


def test_endpoints_of_unknown_service_kept_without_cleanup() -> None:
    """Slices can arrive before their Service: endpoints are kept, conntrack is skipped."""
    changes = FamilyChanges(IPV4)
    changes.endpoints.update(None, eslice("a", endpoint("10.244.1.1")))
    result = changes.apply(state())
    assert ips(result.state) == ["10.244.1.1:5353"]
    assert not result.conntrack


# --- trigger times -----------------------------------------------------------------------


def test_trigger_times_reported_for_changed_services() -> None:
    """network_programming_duration: last-change-trigger-time per Service, after tracker start."""
    changes = FamilyChanges(IPV4, start_time=T0)
    changes.endpoints.update(
        None, eslice("a", endpoint("10.244.1.1"), trigger="2025-12-31T23:59:59Z")
    )
    changes.endpoints.update(
        None, eslice("b", endpoint("10.244.1.2"), trigger="2026-01-01T00:00:01.5Z")
    )
    result = changes.apply(state())
    assert result.trigger_times == {SVC: (datetime(2026, 1, 1, 0, 0, 1, 500000, tzinfo=UTC),)}
    assert changes.apply(result.state).trigger_times == {}, "checked out once"


def test_trigger_times_dropped_with_undone_or_deleted_changes() -> None:
    tracker = EndpointsChangeTracker(IPV4, start_time=T0)
    s = eslice("a", endpoint("10.244.1.1"), trigger="2026-01-01T00:00:05Z")
    tracker.update(None, s)
    tracker.update(s, None)
    assert tracker.apply(state()).trigger_times == {}


# --- incremental == from scratch ---------------------------------------------------------


def test_incremental_updates_match_a_fresh_build() -> None:
    """Whatever the order and batching of updates, the state equals one built from the end result."""
    rng = random.Random(5)
    pool = [f"10.244.{i // 200}.{i % 200 + 1}" for i in range(12)]
    nodes = ["node-a", "node-b"]
    for _ in range(30):
        changes = FamilyChanges(IPV4)
        changes.services.update(None, service())
        st = state()
        current: dict[str, Obj] = {}
        for _step in range(25):
            name = rng.choice("abc")
            prev = current.get(name)
            if prev is not None and rng.random() < 0.25:
                changes.endpoints.update(prev, None)
                del current[name]
            else:
                eps = [
                    endpoint(ip, rng.choice(nodes), ready=rng.random() < 0.8)
                    for ip in rng.sample(pool, rng.randint(0, 4))
                ]
                new = eslice(name, *eps)
                changes.endpoints.update(prev, new)
                current[name] = new
            if rng.random() < 0.4:
                st = changes.apply(st).state
        st = changes.apply(st).state
        fresh = FamilyChanges(IPV4)
        fresh.services.update(None, service())
        for obj in current.values():
            fresh.endpoints.update(None, obj)
        assert st == fresh.apply(state()).state


def test_family_changes_feed_both_families() -> None:
    """One proxier per family: a dual-stack Service and its two slices split by family."""
    svc = service("TCP")
    svc["spec"].update(clusterIPs=["10.96.0.10", "fd00:10:96::a"], ipFamilies=["IPv4", "IPv6"])
    v4 = eslice("v4", endpoint("10.244.1.1"), proto="TCP")
    v6 = eslice("v6", endpoint("fd00:10:244::1"), proto="TCP", family=IPV6)
    trackers = family_changes()
    states = empty_states(NODE, ["172.18.0.11", "fd00:18::11"])
    for family, changes in trackers.items():
        changes.services.update(None, svc)
        changes.endpoints.update(None, v4)
        changes.endpoints.update(None, v6)
        states[family] = changes.apply(states[family]).state
    tcp = ServicePortName("ns", "svc", "p", "TCP")
    assert states[IPV4].services[tcp].cluster_ip == "10.96.0.10"
    assert ips(states[IPV4], tcp) == ["10.244.1.1:5353"]
    assert states[IPV6].services[tcp].cluster_ip == "fd00:10:96::a"
    assert ips(states[IPV6], tcp) == ["[fd00:10:244::1]:5353"]
