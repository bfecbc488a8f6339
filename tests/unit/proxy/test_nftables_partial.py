"""Partial nftables syncs and the dataplane's sync decisions.

Upstream: ``pkg/proxy/nftables/proxier.go`` partial syncs (only changed
services' chains and elements are rewritten; ``needFullSync`` after a
failure or at the periodic resync) and ``syncProxyRules``'s ordering
(flush before delete, affinity sets kept across syncs).

The central property: for any two states, a full sync of the first then a
partial sync of the Services that changed leaves the table exactly as a full
sync of the second would (checked on ``FakeNftWriter``'s model of the
table, which applies ops with the kernel's existence and reference rules).

Conventions: node ``node-a`` (10.0.0.11), pods 10.244.0.0/16 (local ones
10.244.1.x), Services ``ns/s<i>`` at 10.96.0.<i+1>, LB VIPs 172.18.0.20x.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from svcnet.proxy.changes import ConntrackCleanup
from svcnet.proxy.model import (
    IPV4,
    Endpoint,
    ProxyState,
    ServiceName,
    ServicePortInfo,
    ServicePortName,
)
from svcnet.proxy.nft_render import LB_RULES, LB_VMAP, RenderOptions, table_objects
from svcnet.proxy.nftables import (
    AddChain,
    AddElement,
    AddSet,
    DeleteChain,
    DeleteElement,
    DeleteSet,
    FillChain,
    FlushChain,
    NftablesDataplane,
    ReplaceTable,
    Transaction,
    render_partial,
)
from svcnet.proxy.nftwriter import FakeNftWriter, NftError
from svcnet.proxy.plan import PlanOptions, plan_services

NODE = "node-a"
NODE_IPS = ("10.0.0.11",)
OPTIONS = RenderOptions(plan=PlanOptions(cluster_cidrs=("10.244.0.0/16",)))
POOL = ("10.244.1.5", "10.244.1.6", "10.244.2.5", "10.244.3.5")


def make_state(services: Mapping[str, tuple[ServicePortInfo, tuple[Endpoint, ...]]]) -> ProxyState:
    infos = {info.name: info for info, _ in services.values()}
    eps = {info.name: e for info, e in services.values() if e}
    index: dict[ServiceName, tuple[ServicePortName, ...]] = {}
    for spn in sorted(infos):
        index[spn.service] = (*index.get(spn.service, ()), spn)
    return ProxyState(IPV4, NODE, NODE_IPS, {}, infos, eps, index)


@st.composite
def service_entry(draw: st.DrawFn, index: int) -> tuple[ServicePortInfo, tuple[Endpoint, ...]]:
    proto = draw(st.sampled_from(["TCP", "UDP"]))
    spn = ServicePortName("ns", f"s{index}", draw(st.sampled_from(["", "http"])), proto)
    lb = draw(st.booleans())
    info = ServicePortInfo(
        name=spn,
        cluster_ip=f"10.96.0.{index + 1}",
        port=draw(st.sampled_from([80, 443])),
        protocol=proto,
        node_port=draw(st.sampled_from([0, 30000 + index])),
        external_ips=draw(st.sampled_from([(), (f"192.0.2.{index + 1}",)])),
        load_balancer_vips=(f"172.18.0.20{index}",) if lb else (),
        load_balancer_source_ranges=draw(st.sampled_from([(), ("192.0.2.0/24", "10.0.0.0/24")])),
        session_affinity="ClientIP" if draw(st.booleans()) else "None",
        sticky_max_age_seconds=draw(st.sampled_from([60, 10800])),
        external_policy_local=draw(st.booleans()),
        internal_policy_local=draw(st.booleans()),
    )
    ips = draw(st.lists(st.sampled_from(POOL), unique=True, max_size=3))
    target = draw(st.sampled_from([8080, 8443]))
    endpoints = tuple(
        Endpoint(ip, target, is_local=ip.startswith("10.244.1."), node_name="x")
        for ip in sorted(ips)
    )
    return info, endpoints


@st.composite
def proxy_state(draw: st.DrawFn) -> dict[str, tuple[ServicePortInfo, tuple[Endpoint, ...]]]:
    present = draw(st.lists(st.integers(0, 3), unique=True, max_size=4))
    return {f"s{i}": draw(service_entry(i)) for i in sorted(present)}


def full_table(state: ProxyState, options: RenderOptions = OPTIONS):
    plans = plan_services(state, None, options.plan).values()
    return table_objects(plans, IPV4, NODE_IPS, options)


def changed_services(a: ProxyState, b: ProxyState) -> set[ServiceName]:
    names = set(a.service_ports) | set(b.service_ports)
    return {
        svc
        for svc in names
        if [(a.services.get(p), a.endpoints_for(p)) for p in a.ports_of(svc)]
        != [(b.services.get(p), b.endpoints_for(p)) for p in b.ports_of(svc)]
    }


@pytest.mark.parametrize("balancing", [LB_VMAP, LB_RULES])
@settings(max_examples=150, deadline=None)
@given(proxy_state(), proxy_state())
def test_full_then_partial_equals_full(balancing: str, first: dict, second: dict) -> None:
    options = replace(OPTIONS, load_balancing=balancing)
    s1, s2 = make_state(first), make_state(second)
    fake = FakeNftWriter()
    dataplane = NftablesDataplane(fake, options)
    assert dataplane.sync({IPV4: s1}).full
    tx = dataplane.sync({IPV4: s2}, changed_services(s1, s2))
    assert not tx.full
    assert fake.state(IPV4) == full_table(s2, options)


@settings(max_examples=50, deadline=None)
@given(proxy_state(), proxy_state())
def test_partial_with_unchanged_services_is_a_no_op(first: dict, second: dict) -> None:
    """Re-planning Services that did not change writes nothing for them."""
    s1 = make_state(first)
    dataplane = NftablesDataplane(FakeNftWriter(), OPTIONS)
    dataplane.sync({IPV4: s1})
    assert not dataplane.sync({IPV4: s1}, set(s1.service_ports))


# --- concrete partial syncs ------------------------------------------------------------------------------

WEB = ServicePortName("ns", "web", "http", "TCP")
OTHER = ServicePortName("ns", "other", "", "TCP")


def web(*ips: str, affinity: bool = False) -> dict:
    info = ServicePortInfo(
        WEB,
        "10.96.0.20",
        80,
        node_port=30080,
        session_affinity="ClientIP" if affinity else "None",
        sticky_max_age_seconds=10800 if affinity else 0,
    )
    other = ServicePortInfo(OTHER, "10.96.0.21", 80)
    return {
        "web": (info, tuple(Endpoint(ip, 8080) for ip in ips)),
        "other": (other, (Endpoint("10.244.3.5", 8080),)),
    }


def ops_after(before: dict, after: dict) -> list:
    s1, s2 = make_state(before), make_state(after)
    fake = FakeNftWriter()
    dataplane = NftablesDataplane(fake, OPTIONS)
    dataplane.sync({IPV4: s1})
    tx = dataplane.sync({IPV4: s2}, {WEB.service})
    assert fake.state(IPV4) == full_table(s2)
    return list(tx.ops)


def touched(ops: list) -> set[str]:
    names: set[str] = set()
    for op in ops:
        if isinstance(op, FillChain | AddChain):
            names.add(op.chain.name)
        elif isinstance(op, FlushChain | DeleteChain | DeleteSet):
            names.add(op.name)
        elif isinstance(op, AddSet):
            names.add(op.set.name)
        elif isinstance(op, AddElement | DeleteElement):
            names.add(f"{op.element.container}:{op.element.key}")
    return names


def test_endpoint_added_rewrites_only_that_service() -> None:
    """An endpoint change rewrites the service chain and adds one endpoint chain; no map churn."""
    ops = ops_after(web("10.244.1.5"), web("10.244.1.5", "10.244.2.5"))
    names = touched(ops)
    assert all("ns/web/" in n for n in names), names
    assert not any(isinstance(op, AddElement | DeleteElement) for op in ops)
    created = [op.chain.name for op in ops if isinstance(op, AddChain)]
    assert len(created) == 1 and created[0].endswith("__10.244.2.5/8080")


def test_endpoint_removed_flushes_then_deletes_its_chain() -> None:
    ops = ops_after(web("10.244.1.5", "10.244.2.5"), web("10.244.1.5"))
    kinds = [type(op).__name__ for op in ops]
    assert kinds.index("FlushChain") < kinds.index("DeleteChain") < kinds.index("FillChain")
    assert "AddChain" not in kinds
    deleted = [op.name for op in ops if isinstance(op, DeleteChain)]
    assert len(deleted) == 1 and deleted[0].endswith("__10.244.2.5/8080")


def test_one_to_zero_endpoints_switches_to_reject() -> None:
    """N -> 0: the DNAT elements go, the REJECT elements come, chains are deleted."""
    ops = ops_after(web("10.244.1.5"), web())
    added = {(op.element.container, op.element.value) for op in ops if isinstance(op, AddElement)}
    assert added == {
        ("no-endpoint-services", "goto reject-chain"),
        ("no-endpoint-nodeports", "goto reject-chain"),
    }
    removed = {op.element.container for op in ops if isinstance(op, DeleteElement)}
    assert removed == {"service-ips", "service-nodeports"}


def test_zero_to_one_endpoints() -> None:
    ops = ops_after(web(), web("10.244.1.5"))
    removed = {op.element.container for op in ops if isinstance(op, DeleteElement)}
    assert removed == {"no-endpoint-services", "no-endpoint-nodeports"}


def test_affinity_sets_survive_endpoint_changes() -> None:
    """ClientIP affinity entries of surviving endpoints are kept (their sets are not recreated)."""
    ops = ops_after(
        web("10.244.1.5", "10.244.2.5", affinity=True), web("10.244.1.5", affinity=True)
    )
    assert [op.name for op in ops if isinstance(op, DeleteSet)] == [
        n for n in touched(ops) if n.startswith("aff-") and n.endswith("10.244.2.5/8080")
    ]
    assert not [op for op in ops if isinstance(op, AddSet)]


def test_affinity_timeout_change_recreates_sets_and_their_users() -> None:
    before = web("10.244.1.5", affinity=True)
    after = web("10.244.1.5", affinity=True)
    info, eps = after["web"]
    after["web"] = (
        ServicePortInfo(
            **{**{f: getattr(info, f) for f in info.__slots__}, "sticky_max_age_seconds": 60}
        ),
        eps,
    )
    ops = ops_after(before, after)
    assert [type(op) for op in ops if isinstance(op, DeleteSet | AddSet)] == [DeleteSet, AddSet]


def test_service_deleted_removes_everything_it_owned() -> None:
    before = web("10.244.1.5", "10.244.2.5", affinity=True)
    after = {"other": before["other"]}
    ops = ops_after(before, after)
    assert not [op for op in ops if isinstance(op, FillChain | AddSet | AddElement)]
    assert ("cluster-ips:10.96.0.20") in touched(ops)


def test_partial_script_text() -> None:
    s1, s2 = make_state(web("10.244.1.5")), make_state(web())
    plans1 = list(plan_services(s1, [WEB.service], OPTIONS.plan).values())
    plans2 = list(plan_services(s2, [WEB.service], OPTIONS.plan).values())
    script = render_partial({IPV4: plans1}, {IPV4: plans2}, OPTIONS).script
    assert "flush chain ip svcnet svc-" in script
    assert "delete element ip svcnet service-ips { 10.96.0.20 . tcp . 80 }" in script
    assert (
        'add element ip svcnet no-endpoint-services { 10.96.0.20 . tcp . 80 comment "ns/web:http" '
        ": goto reject-chain }" in script
    )
    assert "table ip svcnet {" not in script


# --- the dataplane's full/partial decisions ---------------------------------------------------------------


def test_first_sync_is_full_then_partial() -> None:
    fake = FakeNftWriter()
    dataplane = NftablesDataplane(fake, OPTIONS)
    state = make_state(web("10.244.1.5"))
    assert dataplane.sync({IPV4: state}, {WEB.service}).full
    assert not dataplane.sync({IPV4: state}, set()).full
    assert dataplane.sync({IPV4: state}, None).full  # periodic resync


def test_failed_sync_forces_full_and_keeps_previous_programming() -> None:
    fake = FakeNftWriter()
    dataplane = NftablesDataplane(fake, OPTIONS)
    s1, s2 = make_state(web("10.244.1.5")), make_state(web("10.244.2.5"))
    dataplane.sync({IPV4: s1})
    fake.fail_next = NftError("nft failed", stderr="Error: boom")
    with pytest.raises(NftError, match="boom"):
        dataplane.sync({IPV4: s2}, {WEB.service})
    assert dataplane.need_full_sync
    assert fake.state(IPV4) == full_table(s1)
    tx = dataplane.sync({IPV4: s2}, {WEB.service})
    assert tx.full and fake.state(IPV4) == full_table(s2)
    assert not dataplane.need_full_sync


def test_node_ip_change_forces_full() -> None:
    dataplane = NftablesDataplane(FakeNftWriter(), OPTIONS)
    state = make_state(web("10.244.1.5"))
    dataplane.sync({IPV4: state})
    moved = ProxyState(
        IPV4, NODE, ("10.0.0.12",), {}, state.services, state.endpoints, state.service_ports
    )
    assert dataplane.sync({IPV4: moved}, set()).full


def test_conntrack_cleanup_after_apply() -> None:
    fake = FakeNftWriter()
    dataplane = NftablesDataplane(fake, OPTIONS)
    cleanup = ConntrackCleanup(service_ip_ports=frozenset({("10.96.0.20", 53)}))
    dataplane.sync({IPV4: make_state(web())}, None, cleanup)
    assert fake.conntrack == [cleanup]


def test_fake_rejects_what_the_kernel_rejects() -> None:
    """The fake fails like nft: flushing a missing chain fails the whole batch."""
    fake = FakeNftWriter()
    dataplane = NftablesDataplane(fake, OPTIONS)
    dataplane.sync({IPV4: make_state(web("10.244.1.5"))})
    before = fake.state(IPV4)
    bad = Transaction((FlushChain(IPV4, "svc-NOPE-ns/x/tcp/"),), "", False, (IPV4,))
    with pytest.raises(NftError, match="no chain"):
        fake.apply(bad)
    assert fake.state(IPV4) == before
    assert isinstance(fake.applied[0].ops[0], ReplaceTable)
