"""nftables rendering: golden rulesets and the rules behind them, each case naming the upstream rule.

Upstream: ``pkg/proxy/nftables/proxier.go`` (``syncProxyRules``: service-ips /
service-nodeports dispatch, no-endpoint-services REJECT/DROP, firewall-ips,
cluster-ips-check, mark-for-masquerade + masquerading, numgen load
balancing, affinity sets, hairpin masquerade in endpoint chains) and its
reference output in ``../shared/reference/kube-proxy-v1.30-nftables-ruleset.txt``.

Golden files: ``tests/golden/nftables/<scenario>.nft`` hold ``render_full``'s
script; the comparison ignores trailing whitespace and blank lines and fails
with a unified diff. Regenerate with ``SVCNET_UPDATE_GOLDEN=1 pytest ...``
and review the diff. The integration test applies every golden file to a
real kernel, so a golden file is also a ruleset nft accepts.

Conventions: this proxy runs on ``node-a``, node IPs 10.0.0.11 and
fd00:10::11; pods are 10.244.0.0/16 and fd00:10:244::/64 (local ones on
10.244.1.0/24); Services are 10.96.0.0/16 and fd00:10:96::/112; the
LoadBalancer VIP is 172.18.0.200.
"""

from __future__ import annotations

import difflib
import os
import re
from collections.abc import Iterable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import pytest

from svcnet.proxy.changes import family_changes
from svcnet.proxy.model import IPV4, IPV6, Endpoint, ProxyState, ServicePortName, empty_states
from svcnet.proxy.nft_render import (
    LB_RULES,
    MAP_FIREWALL_IPS,
    MAP_NO_ENDPOINT_NODEPORTS,
    MAP_NO_ENDPOINT_SERVICES,
    MAP_SERVICE_IPS,
    MAP_SERVICE_NODEPORTS,
    SET_CLUSTER_IPS,
    VERDICT_DROP,
    VERDICT_REJECT,
    RenderOptions,
    TableObjects,
    endpoint_chain_name,
    service_chain_name,
    table_objects,
)
from svcnet.proxy.nftables import render_states
from svcnet.proxy.plan import PlanOptions, plan_services

Obj = dict[str, Any]
GOLDEN = Path(__file__).resolve().parents[2] / "golden" / "nftables"
NODE = "node-a"
NODE_IPS = ("10.0.0.11", "fd00:10::11")
OPTIONS = RenderOptions(plan=PlanOptions(cluster_cidrs=("10.244.0.0/16", "fd00:10:244::/64")))


# --- API objects -------------------------------------------------------------------------


def svc(
    name: str,
    cluster_ips: tuple[str, ...],
    ports: list[Obj],
    *,
    ns: str = "default",
    lb_ips: tuple[str, ...] = (),
    **spec: Any,
) -> Obj:
    families = ["IPv6" if ":" in ip else "IPv4" for ip in cluster_ips]
    stype = spec.pop("type", "LoadBalancer" if lb_ips else "ClusterIP")
    return {
        "kind": "Service",
        "metadata": {"namespace": ns, "name": name},
        "spec": {
            "type": stype,
            "clusterIP": cluster_ips[0],
            "clusterIPs": list(cluster_ips),
            "ipFamilies": families,
            "ports": ports,
            **spec,
        },
        "status": {"loadBalancer": {"ingress": [{"ip": ip} for ip in lb_ips]}},
    }


def port(num: int, name: str = "", proto: str = "TCP", node_port: int = 0) -> Obj:
    out: Obj = {"name": name, "port": num, "protocol": proto}
    if node_port:
        out["nodePort"] = node_port
    return out


def eps(
    service: str,
    ports: list[Obj],
    *addresses: tuple[str, str],
    ns: str = "default",
    family: str = IPV4,
    suffix: str = "a",
) -> Obj:
    """An EndpointSlice; ``addresses`` are ``(ip, node)`` pairs, all ready."""
    return {
        "kind": "EndpointSlice",
        "metadata": {
            "namespace": ns,
            "name": f"{service}-{suffix}",
            "labels": {"kubernetes.io/service-name": service},
        },
        "addressType": family,
        "ports": ports,
        "endpoints": [
            {"addresses": [ip], "nodeName": node, "conditions": {"ready": True}}
            for ip, node in addresses
        ],
    }


def states_of(
    objects: Iterable[Obj], node_ips: tuple[str, ...] = NODE_IPS
) -> dict[str, ProxyState]:
    """Feed objects through the change trackers, as the proxy does."""
    trackers = family_changes()
    states = empty_states(NODE, node_ips)
    for obj in objects:
        for family in trackers.values():
            if obj["kind"] == "Service":
                family.services.update(None, obj)
            else:
                family.endpoints.update(None, obj)
    return {f: trackers[f].apply(states[f]).state for f in states}


# --- scenarios ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Scenario:
    id: str
    rule: str  # the upstream behaviour the golden file shows
    objects: tuple[Obj, ...]
    families: tuple[str, ...] = (IPV4,)


WEB_PORTS = [port(80)]
SCENARIOS = [
    Scenario(
        "clusterip_nodeport",
        "ClusterIP + NodePort, 2 endpoints (upstream's reference cluster): service-ips and "
        "service-nodeports dispatch, numgen over 2 endpoint chains, off-cluster and NodePort "
        "masquerade, hairpin masquerade",
        (
            svc("kubernetes", ("10.96.0.1",), [port(443, "https")]),
            eps("kubernetes", [port(6443, "https")], ("10.0.0.11", "node-a")),
            svc("web", ("10.96.107.143",), [port(80, node_port=30080)], type="NodePort"),
            eps("web", WEB_PORTS, ("10.244.0.10", "node-b"), ("10.244.0.11", "node-c")),
        ),
    ),
    Scenario(
        "no_endpoints",
        "no endpoints: every frontend (ClusterIP, externalIP, NodePort; TCP and UDP) REJECTs "
        "through no-endpoint-services / no-endpoint-nodeports, nothing is DNATed",
        (
            svc(
                "web",
                ("10.96.0.20",),
                [port(80, node_port=30080)],
                type="NodePort",
                externalIPs=["192.0.2.7"],
            ),
            svc("dns", ("10.96.0.10",), [port(53, "dns", "UDP")]),
        ),
    ),
    Scenario(
        "etp_local",
        "externalTrafficPolicy Local: external traffic keeps the client IP and goes to local "
        "endpoints; pods and the node short-circuit to the Cluster group; with no local "
        "endpoint the external frontends DROP what is not short-circuited",
        (
            svc(
                "web",
                ("10.96.0.30",),
                [port(80, node_port=30080)],
                lb_ips=("172.18.0.200",),
                externalTrafficPolicy="Local",
                healthCheckNodePort=32000,
            ),
            eps("web", WEB_PORTS, ("10.244.1.5", "node-a"), ("10.244.2.5", "node-b")),
            svc(
                "remote",
                ("10.96.0.31",),
                [port(80, node_port=30081)],
                type="NodePort",
                externalTrafficPolicy="Local",
            ),
            eps("remote", WEB_PORTS, ("10.244.2.6", "node-b")),
        ),
    ),
    Scenario(
        "itp_local",
        "internalTrafficPolicy Local: ClusterIP traffic only to this node's endpoints; with "
        "none here the ClusterIP REJECTs (svcnet; upstream DROPs)",
        (
            svc("web", ("10.96.0.40",), WEB_PORTS, internalTrafficPolicy="Local"),
            eps("web", WEB_PORTS, ("10.244.1.5", "node-a"), ("10.244.2.5", "node-b")),
            svc("remote", ("10.96.0.41",), WEB_PORTS, internalTrafficPolicy="Local"),
            eps("remote", WEB_PORTS, ("10.244.2.6", "node-b")),
        ),
    ),
    Scenario(
        "session_affinity",
        "sessionAffinity ClientIP: one dynamic set with the timeout per endpoint, checked "
        "before numgen and updated in the endpoint chain",
        (
            svc(
                "web",
                ("10.96.0.50",),
                WEB_PORTS,
                sessionAffinity="ClientIP",
                sessionAffinityConfig={"clientIP": {"timeoutSeconds": 300}},
            ),
            eps("web", WEB_PORTS, ("10.244.1.5", "node-a"), ("10.244.2.5", "node-b")),
        ),
    ),
    Scenario(
        "lb_source_ranges",
        "loadBalancerSourceRanges: LB VIPs go through firewall-ips to a chain dropping other "
        "sources (the VIP itself allowed when a node IP is in a range); externalIPs and "
        "NodePorts are not filtered",
        (
            svc(
                "web",
                ("10.96.0.60",),
                [port(443, "https", node_port=30443)],
                lb_ips=("172.18.0.200",),
                externalIPs=["198.51.100.7"],
                loadBalancerSourceRanges=["192.0.2.0/24", "10.0.0.0/24", "192.0.2.128/25"],
            ),
            eps("web", [port(8443, "https")], ("10.244.1.5", "node-a")),
        ),
    ),
    Scenario(
        "dual_stack",
        "dual-stack: one table per family (ip svcnet, ip6 svcnet), each with its own "
        "ClusterIP, endpoints and node IP; IPv6 DNAT targets in brackets",
        (
            svc(
                "web",
                ("10.96.0.70", "fd00:10:96::70"),
                [port(80, "http", node_port=30070)],
                type="NodePort",
                ipFamilyPolicy="RequireDualStack",
            ),
            eps("web", [port(8080, "http")], ("10.244.1.5", "node-a"), ("10.244.2.5", "node-b")),
            eps(
                "web",
                [port(8080, "http")],
                ("fd00:10:244::15", "node-a"),
                family=IPV6,
                suffix="v6",
            ),
        ),
        families=(IPV4, IPV6),
    ),
]


def render(scenario: Scenario) -> str:
    states = states_of(scenario.objects)
    return render_states({f: states[f] for f in scenario.families}, OPTIONS).script


def normalise(text: str) -> list[str]:
    return [line.rstrip() for line in text.splitlines() if line.strip()]


@pytest.mark.parametrize("scenario", SCENARIOS, ids=lambda s: s.id)
def test_golden_ruleset(scenario: Scenario) -> None:
    path = GOLDEN / f"{scenario.id}.nft"
    got = render(scenario)
    if os.environ.get("SVCNET_UPDATE_GOLDEN"):
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(f"# {scenario.rule}\n{got}")
    want = normalise(path.read_text())
    want = [line for line in want if not line.startswith("# ")]
    diff = "\n".join(difflib.unified_diff(want, normalise(got), str(path), "rendered", lineterm=""))
    if diff:
        pytest.fail(f"{scenario.id}: {scenario.rule}\n{diff}", pytrace=False)


def test_rendering_is_deterministic() -> None:
    """Same state in, byte-identical script out (goldens and partial diffs rely on it)."""
    objects = SCENARIOS[0].objects
    assert render(SCENARIOS[0]) == render(Scenario("again", "", tuple(reversed(objects))))


# --- names -------------------------------------------------------------------------------------------


def test_chain_names_readable_and_upstream_hashed() -> None:
    """Upstream ``servicePortChainNameBase`` / ``servicePortEndpointChainNameBase``: same hashes."""
    web = ServicePortName("default", "web", "", "TCP")
    assert service_chain_name("svc", web) == "svc-PFISGYVC-default/web/tcp/"
    assert endpoint_chain_name(web, Endpoint("10.244.0.10", 80)) == (
        "ep-36OKBY3J-default/web/tcp/__10.244.0.10/80"
    )
    api = ServicePortName("default", "kubernetes", "https", "TCP")
    assert service_chain_name("svc", api) == "svc-2QRHZV4L-default/kubernetes/tcp/https"
    assert endpoint_chain_name(api, Endpoint("10.0.0.11", 6443)).startswith("ep-O27DVVMS-")


def test_ipv6_endpoint_names_have_no_colons() -> None:
    """nft identifiers cannot hold ':'; IPv6 endpoints keep a readable dotted form."""
    name = endpoint_chain_name(ServicePortName("ns", "s", "p", "UDP"), Endpoint("fd00::1", 53))
    assert re.fullmatch(r"ep-[A-Z2-7]{8}-ns/s/udp/p__fd00\.\.1/53", name)


# --- rules behind the goldens ----------------------------------------------------------------------------


def table(scenario_id: str, family: str = IPV4) -> TableObjects:
    scenario = next(s for s in SCENARIOS if s.id == scenario_id)
    state = states_of(scenario.objects)[family]
    plans = plan_services(state, None, OPTIONS.plan).values()
    return table_objects(plans, family, state.node_ips, OPTIONS)


def element(objs: TableObjects, container: str, key: str) -> str | None:
    found = objs.elements.get((container, key))
    return found.value if found else None


def test_every_service_rule_names_its_service() -> None:
    """Every rule of a per-service chain carries ``comment "ns/name[:port]"``."""
    for scenario in SCENARIOS:
        for family in scenario.families:
            objs = table(scenario.id, family)
            for chain in objs.chains.values():
                if not chain.name.startswith(("svc-", "local-", "ext-", "fw-", "ep-")):
                    continue
                ns_name = "/".join(chain.name.split("-", 2)[2].split("/")[:2])
                for rule in chain.rules:
                    assert f'comment "{ns_name}' in rule, (chain.name, rule)


def test_clusterip_dispatch_and_masquerade() -> None:
    """ClusterIP -> service chain; off-cluster sources masqueraded; NodePort masqueraded."""
    objs = table("clusterip_nodeport")
    web = ServicePortName("default", "web", "", "TCP")
    svc_chain = service_chain_name("svc", web)
    assert element(objs, MAP_SERVICE_IPS, "10.96.107.143 . tcp . 80") == f"goto {svc_chain}"
    assert element(objs, MAP_SERVICE_NODEPORTS, "tcp . 30080") == (
        f"goto {service_chain_name('ext', web)}"
    )
    assert element(objs, SET_CLUSTER_IPS, "10.96.107.143") is None  # a set: no value
    assert ("cluster-ips", "10.96.107.143") in objs.elements
    rules = objs.chains[svc_chain].rules
    assert rules[0].startswith(
        "ip daddr 10.96.107.143 tcp dport 80 ip saddr != 10.244.0.0/16 jump mark-for-masquerade"
    )
    assert rules[1].startswith("numgen random mod 2 vmap {")
    ext = objs.chains[service_chain_name("ext", web)].rules
    assert ext[0].startswith("jump mark-for-masquerade")
    assert ext[1].startswith(f"goto {svc_chain}")


def test_no_endpoints_reject_every_frontend() -> None:
    """Upstream: a Service without endpoints REJECTs on all frontends; no nat objects."""
    objs = table("no_endpoints")
    for key in ("10.96.0.20 . tcp . 80", "192.0.2.7 . tcp . 80", "10.96.0.10 . udp . 53"):
        assert element(objs, MAP_NO_ENDPOINT_SERVICES, key) == VERDICT_REJECT
        assert element(objs, MAP_SERVICE_IPS, key) is None
    assert element(objs, MAP_NO_ENDPOINT_NODEPORTS, "tcp . 30080") == VERDICT_REJECT
    assert not [n for n in objs.chains if n.startswith(("svc-", "ext-", "ep-"))]
    assert objs.chains["reject-chain"].rules == ("meta l4proto tcp reject with tcp reset", "reject")


def test_etp_local_short_circuits_and_drops() -> None:
    """ETP Local: no masquerade for external clients; pods and node short-circuit; DROP otherwise."""
    objs = table("etp_local")
    web = ServicePortName("default", "web", "", "TCP")
    ext = objs.chains[service_chain_name("ext", web)].rules
    assert not any(r.startswith("jump mark-for-masquerade") for r in ext)
    assert ext[0].startswith(f"ip saddr 10.244.0.0/16 goto {service_chain_name('svc', web)}")
    assert ext[1].startswith("fib saddr type local jump mark-for-masquerade")
    assert ext[-1].startswith(f"goto {service_chain_name('local', web)}")
    local = objs.chains[service_chain_name("local", web)].rules
    assert local[-1].startswith("numgen random mod 1 vmap { 0 : goto ep-")
    assert "10.244.1.5" in local[-1]
    # No local endpoint: the external frontends DROP what the ext chain did not DNAT.
    remote = ServicePortName("default", "remote", "", "TCP")
    assert element(objs, MAP_NO_ENDPOINT_NODEPORTS, "tcp . 30081") == VERDICT_DROP
    assert element(objs, MAP_SERVICE_NODEPORTS, "tcp . 30081") == (
        f"goto {service_chain_name('ext', remote)}"
    )
    assert service_chain_name("local", remote) not in objs.chains


def test_itp_local_only_local_endpoints() -> None:
    objs = table("itp_local")
    web = ServicePortName("default", "web", "", "TCP")
    local = service_chain_name("local", web)
    assert element(objs, MAP_SERVICE_IPS, "10.96.0.40 . tcp . 80") == f"goto {local}"
    assert "10.244.2.5" not in " ".join(objs.chains[local].rules)
    assert element(objs, MAP_NO_ENDPOINT_SERVICES, "10.96.0.41 . tcp . 80") == VERDICT_REJECT
    assert element(objs, MAP_SERVICE_IPS, "10.96.0.41 . tcp . 80") is None


def test_session_affinity_sets() -> None:
    """Upstream: ``ip saddr @affinity-X goto endpoint-X`` before numgen; ``update @affinity-X``."""
    objs = table("session_affinity")
    web = ServicePortName("default", "web", "", "TCP")
    ep = Endpoint("10.244.1.5", 80)
    ep_chain = endpoint_chain_name(web, ep)
    aff = ep_chain.replace("ep-", "aff-", 1)
    assert objs.sets[aff].spec == ("type ipv4_addr", "flags dynamic,timeout", "timeout 300s")
    rules = objs.chains[service_chain_name("svc", web)].rules
    assert rules[1].startswith(f"ip saddr @{aff} goto {ep_chain}")
    assert rules[-1].startswith("numgen random mod 2")
    assert objs.chains[ep_chain].rules[1].startswith(f"update @{aff} {{ ip saddr }}")


def test_load_balancing_by_rules() -> None:
    """``LB_RULES``: iptables' statistic scheme, 1/3 then 1/2 then the rest (uniform overall)."""
    state = states_of(SCENARIOS[0].objects)[IPV4]
    spn = ServicePortName("default", "web", "", "TCP")
    state = replace(
        state,
        endpoints={**state.endpoints, spn: (*state.endpoints[spn], Endpoint("10.244.0.12", 80))},
    )
    options = replace(OPTIONS, load_balancing=LB_RULES)
    objs = table_objects(plan_services(state, None, options.plan).values(), IPV4, (), options)
    rules = objs.chains[service_chain_name("svc", spn)].rules[1:]
    chains = [endpoint_chain_name(spn, Endpoint(f"10.244.0.{i}", 80)) for i in (10, 11, 12)]
    assert [r.split(" comment ")[0] for r in rules] == [
        f"numgen random mod 3 == 0 goto {chains[0]}",
        f"numgen random mod 2 == 0 goto {chains[1]}",
        f"goto {chains[2]}",
    ]


def test_lb_source_ranges_firewall() -> None:
    objs = table("lb_source_ranges")
    web = ServicePortName("default", "web", "https", "TCP")
    fw = service_chain_name("fw", web)
    assert element(objs, MAP_FIREWALL_IPS, "172.18.0.200 . tcp . 443") == f"goto {fw}"
    assert element(objs, MAP_FIREWALL_IPS, "198.51.100.7 . tcp . 443") is None
    # Overlapping ranges collapse; the node IP 10.0.0.11 is in a range, so the VIP is allowed.
    assert (
        objs.chains[fw]
        .rules[0]
        .startswith("ip saddr != { 10.0.0.0/24, 172.18.0.200, 192.0.2.0/24 } drop")
    )


def test_dual_stack_tables() -> None:
    v6 = table("dual_stack", IPV6)
    web = ServicePortName("default", "web", "http", "TCP")
    assert element(v6, MAP_SERVICE_IPS, "fd00:10:96::70 . tcp . 80") == (
        f"goto {service_chain_name('svc', web)}"
    )
    ep_chain = endpoint_chain_name(web, Endpoint("fd00:10:244::15", 8080))
    assert (
        v6.chains[ep_chain].rules[-1].startswith("meta l4proto tcp dnat to [fd00:10:244::15]:8080")
    )
    assert ("nodeport-ips", "fd00:10::11") in v6.elements
    assert all("ip " not in r for c in v6.chains.values() for r in c.rules if "daddr" in r)


def test_nodeports_on_all_local_addresses() -> None:
    """``nodeport_all_local`` (or no node IP): NodePorts on every non-loopback local address."""
    state = states_of(SCENARIOS[0].objects, node_ips=())[IPV4]
    tx = render_states({IPV4: state}, OPTIONS)
    assert (
        "fib daddr type local ip daddr != 127.0.0.0/8 meta l4proto . th dport vmap @service-nodeports"
        in tx.script
    )
