"""Service env vars: upstream kubelet `envvars.FromServices` / `getServiceEnvVarMap`."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from svcnet.node.envvars import service_env_vars


def svc(name, ns="default", ip="10.0.0.11", ports=((6379, "", "TCP"),)):
    return {
        "metadata": {"name": name, "namespace": ns},
        "spec": {
            "clusterIP": ip,
            "ports": [{"port": p, "name": n, "protocol": proto} for p, n, proto in ports],
        },
    }


REDIS = [
    ("REDIS_MASTER_SERVICE_HOST", "10.0.0.11"),
    ("REDIS_MASTER_SERVICE_PORT", "6379"),
    ("REDIS_MASTER_PORT", "tcp://10.0.0.11:6379"),
    ("REDIS_MASTER_PORT_6379_TCP", "tcp://10.0.0.11:6379"),
    ("REDIS_MASTER_PORT_6379_TCP_PROTO", "tcp"),
    ("REDIS_MASTER_PORT_6379_TCP_PORT", "6379"),
    ("REDIS_MASTER_PORT_6379_TCP_ADDR", "10.0.0.11"),
]


@dataclass(frozen=True)
class Case:
    id: str
    services: list
    namespace: str
    links: bool
    want: list


CASES = [
    Case(
        "docs example: redis-master (kubernetes.io service env vars)",
        [svc("redis-master")],
        "default",
        True,
        REDIS,
    ),
    Case(
        "headless services have no variables (IsServiceIPSet)",
        [svc("h", ip="None")],
        "default",
        True,
        [],
    ),
    Case("ExternalName services have no variables", [svc("x", ip="")], "default", True, []),
    Case("other namespaces are invisible", [svc("redis-master", ns="other")], "default", True, []),
    Case(
        "enableServiceLinks false keeps only the master service",
        [svc("kubernetes", ip="10.0.0.1", ports=((443, "https", "TCP"),)), svc("a", ns="app")],
        "app",
        False,
        [
            ("KUBERNETES_SERVICE_HOST", "10.0.0.1"),
            ("KUBERNETES_SERVICE_PORT", "443"),
            ("KUBERNETES_SERVICE_PORT_HTTPS", "443"),
            ("KUBERNETES_PORT", "tcp://10.0.0.1:443"),
            ("KUBERNETES_PORT_443_TCP", "tcp://10.0.0.1:443"),
            ("KUBERNETES_PORT_443_TCP_PROTO", "tcp"),
            ("KUBERNETES_PORT_443_TCP_PORT", "443"),
            ("KUBERNETES_PORT_443_TCP_ADDR", "10.0.0.1"),
        ],
    ),
    Case(
        "multi-port: named ports get _SERVICE_PORT_<NAME>, UDP lower-cased in URLs",
        [svc("my-dns", ip="10.0.0.10", ports=((53, "dns", "UDP"), (53, "dns-tcp", "TCP")))],
        "default",
        True,
        [
            ("MY_DNS_SERVICE_HOST", "10.0.0.10"),
            ("MY_DNS_SERVICE_PORT", "53"),
            ("MY_DNS_SERVICE_PORT_DNS", "53"),
            ("MY_DNS_SERVICE_PORT_DNS_TCP", "53"),
            ("MY_DNS_PORT", "udp://10.0.0.10:53"),
            ("MY_DNS_PORT_53_UDP", "udp://10.0.0.10:53"),
            ("MY_DNS_PORT_53_UDP_PROTO", "udp"),
            ("MY_DNS_PORT_53_UDP_PORT", "53"),
            ("MY_DNS_PORT_53_UDP_ADDR", "10.0.0.10"),
            ("MY_DNS_PORT_53_TCP", "tcp://10.0.0.10:53"),
            ("MY_DNS_PORT_53_TCP_PROTO", "tcp"),
            ("MY_DNS_PORT_53_TCP_PORT", "53"),
            ("MY_DNS_PORT_53_TCP_ADDR", "10.0.0.10"),
        ],
    ),
    Case(
        "IPv6 ClusterIP is bracketed in URLs (net.JoinHostPort)",
        [svc("v6", ip="fd00::a", ports=((80, "", "TCP"),))],
        "default",
        True,
        [
            ("V6_SERVICE_HOST", "fd00::a"),
            ("V6_SERVICE_PORT", "80"),
            ("V6_PORT", "tcp://[fd00::a]:80"),
            ("V6_PORT_80_TCP", "tcp://[fd00::a]:80"),
            ("V6_PORT_80_TCP_PROTO", "tcp"),
            ("V6_PORT_80_TCP_PORT", "80"),
            ("V6_PORT_80_TCP_ADDR", "fd00::a"),
        ],
    ),
]


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_service_env_vars(case: Case) -> None:
    assert service_env_vars(case.services, case.namespace, case.links) == case.want


def test_services_in_name_order() -> None:
    got = [
        k
        for k, _ in service_env_vars([svc("b"), svc("a")], "default")
        if k.endswith("_SERVICE_HOST")
    ]
    assert got == ["A_SERVICE_HOST", "B_SERVICE_HOST"]
