"""`parse_request(qname, zone)`: CoreDNS plugin/kubernetes/parse.go's cases,
plus the reverse zones and the names CoreDNS answers outside svc/pod."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from svcnet.dns.parse import Kind, Request, fqdn, in_zone, parse_request, pod_ip, reverse_ip

Z = "cluster.local"


@dataclass(frozen=True)
class Case:
    id: str
    qname: str
    want: Request
    zone: str = Z


def R(kind: Kind, name: str, **kw: str) -> Request:
    return Request(kind, name, **kw)


CASES = [
    Case("apex", "cluster.local.", R(Kind.APEX, "cluster.local.")),
    Case("apex without trailing dot", "cluster.local", R(Kind.APEX, "cluster.local.")),
    Case(
        "schema version (spec 2.2)",
        "dns-version.cluster.local.",
        R(Kind.VERSION, "dns-version.cluster.local."),
    ),
    Case("svc root", "svc.cluster.local.", R(Kind.SVC_ROOT, "svc.cluster.local.")),
    Case(
        "namespace",
        "default.svc.cluster.local.",
        R(Kind.NAMESPACE, "default.svc.cluster.local.", namespace="default"),
    ),
    Case(
        "service (spec 2.3.1)",
        "web.default.svc.cluster.local.",
        R(Kind.SERVICE, "web.default.svc.cluster.local.", namespace="default", service="web"),
    ),
    Case(
        "endpoint hostname (spec 2.4.1)",
        "my-pet.headless.default.svc.cluster.local.",
        R(
            Kind.ENDPOINT,
            "my-pet.headless.default.svc.cluster.local.",
            namespace="default",
            service="headless",
            endpoint="my-pet",
        ),
    ),
    Case(
        "port and protocol (spec 2.3.2)",
        "_https._tcp.kubernetes.default.svc.cluster.local.",
        R(
            Kind.PORT,
            "_https._tcp.kubernetes.default.svc.cluster.local.",
            namespace="default",
            service="kubernetes",
            port="https",
            protocol="tcp",
        ),
    ),
    Case(
        "protocol only is an empty non-terminal",
        "_tcp.web.default.svc.cluster.local.",
        R(
            Kind.PROTO,
            "_tcp.web.default.svc.cluster.local.",
            namespace="default",
            service="web",
            protocol="tcp",
        ),
    ),
    Case(
        "five labels without underscores is no record",
        "a.b.web.default.svc.cluster.local.",
        R(Kind.OTHER, "a.b.web.default.svc.cluster.local."),
    ),
    Case(
        "too many labels",
        "x._a._b.web.ns.svc.cluster.local.",
        R(Kind.OTHER, "x._a._b.web.ns.svc.cluster.local."),
    ),
    Case(
        "case-insensitive: everything lowercased",
        "_HTTP._Tcp.WEB.Default.SVC.Cluster.Local.",
        R(
            Kind.PORT,
            "_http._tcp.web.default.svc.cluster.local.",
            namespace="default",
            service="web",
            port="http",
            protocol="tcp",
        ),
    ),
    Case("pod root", "pod.cluster.local.", R(Kind.POD_ENT, "pod.cluster.local.")),
    Case(
        "pod namespace",
        "default.pod.cluster.local.",
        R(Kind.POD_ENT, "default.pod.cluster.local.", namespace="default"),
    ),
    Case(
        "pod IPv4 (spec 2.6)",
        "10-244-1-5.default.pod.cluster.local.",
        R(Kind.POD, "10-244-1-5.default.pod.cluster.local.", namespace="default", ip="10.244.1.5"),
    ),
    Case(
        "pod IPv6",
        "fd00--5.default.pod.cluster.local.",
        R(Kind.POD, "fd00--5.default.pod.cluster.local.", namespace="default", ip="fd00::5"),
    ),
    Case(
        "pod name that is no address",
        "web-0.default.pod.cluster.local.",
        R(Kind.POD, "web-0.default.pod.cluster.local.", namespace="default", ip=""),
    ),
    Case("ns.dns", "ns.dns.cluster.local.", R(Kind.DNS_NS, "ns.dns.cluster.local.")),
    Case("dns", "dns.cluster.local.", R(Kind.DNS_ENT, "dns.cluster.local.")),
    Case("neither svc nor pod", "foo.cluster.local.", R(Kind.OTHER, "foo.cluster.local.")),
    Case("outside the zone", "example.com.", R(Kind.OUTSIDE, "example.com.")),
    Case("a zone lookalike is outside", "xcluster.local.", R(Kind.OUTSIDE, "xcluster.local.")),
    Case("root is outside", ".", R(Kind.OUTSIDE, ".")),
    Case(
        "reverse IPv4 (spec 2.3.3)",
        "1.0.96.10.in-addr.arpa.",
        R(Kind.REVERSE, "1.0.96.10.in-addr.arpa.", ip="10.96.0.1"),
    ),
    Case(
        "reverse IPv6 nibbles",
        "0.1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.4.4.2.0.0.1.0.0.0.0.d.f.ip6.arpa.",
        R(
            Kind.REVERSE,
            "0.1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.4.4.2.0.0.1.0.0.0.0.d.f.ip6.arpa.",
            ip="fd00:10:244::10",
        ),
    ),
    Case(
        "reverse IPv6 upper-case nibbles",
        "A.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.D.F.IP6.ARPA.",
        R(
            Kind.REVERSE,
            "a.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.d.f.ip6.arpa.",
            ip="fd00::a",
        ),
    ),
    Case(
        "partial reverse name", "96.10.in-addr.arpa.", R(Kind.REVERSE, "96.10.in-addr.arpa.", ip="")
    ),
    Case(
        "reverse octet out of range",
        "1.0.96.300.in-addr.arpa.",
        R(Kind.REVERSE, "1.0.96.300.in-addr.arpa.", ip=""),
    ),
    Case(
        "reverse octet with leading zero",
        "01.0.96.10.in-addr.arpa.",
        R(Kind.REVERSE, "01.0.96.10.in-addr.arpa.", ip=""),
    ),
    Case("reverse zone apex", "in-addr.arpa.", R(Kind.REVERSE, "in-addr.arpa.", ip="")),
    Case(
        "another zone",
        "web.default.svc.example.org.",
        R(Kind.SERVICE, "web.default.svc.example.org.", namespace="default", service="web"),
        zone="example.org.",
    ),
]


@pytest.mark.parametrize("c", CASES, ids=[c.id for c in CASES])
def test_parse_request(c: Case) -> None:
    assert parse_request(c.qname, c.zone) == c.want


@pytest.mark.parametrize(
    ("label", "ip"),
    [
        ("10-244-1-5", "10.244.1.5"),
        ("0-0-0-0", "0.0.0.0"),
        ("fd00-10-244--5", "fd00:10:244::5"),
        ("--1", "::1"),
        ("1-2-3", ""),
        ("1-2-3-4-5", ""),
        ("256-1-1-1", ""),
        ("a-b-c-d", ""),
        ("", ""),
    ],
)
def test_pod_ip(label: str, ip: str) -> None:
    assert pod_ip(label) == ip


def test_reverse_ip_roundtrip() -> None:
    import ipaddress

    for addr in ("10.96.0.1", "255.255.255.255", "fd00:10:96::1", "::1", "2001:db8::abcd:1"):
        assert reverse_ip(ipaddress.ip_address(addr).reverse_pointer + ".") == addr


def test_fqdn_and_in_zone() -> None:
    assert fqdn("Web.Default.") == "web.default."
    assert fqdn("") == "."
    assert in_zone("a.cluster.local.", "cluster.local.")
    assert in_zone("cluster.local.", "cluster.local.")
    assert not in_zone("acluster.local.", "cluster.local.")
