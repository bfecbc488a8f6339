"""Every rule of the Kubernetes DNS-Based Service Discovery specification,
schema 1.1.0 (kubernetes/dns docs/specification.md), one table row each.

Each case names the spec section it checks and writes the expected records
in zone-file syntax. The same table is asked twice: of the record index
directly (`RecordIndex.lookup`) and over UDP of an in-process `DNSServer`
(which must also set AA). Where the spec leaves a choice, the row says
which CoreDNS behaviour we follow. Negative answers carry the zone's SOA
(serials are masked: they count changes).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from dnslib import RCODE

from tests.unit.dns.helpers import SOA, ask, cluster, expect, sections, threaded_server

PTR6_DUAL = "0.3.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.6.9.0.0.0.1.0.0.0.0.d.f.ip6.arpa."
PTR6_PET = "0.1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.4.4.2.0.0.1.0.0.0.0.d.f.ip6.arpa."
HL = "headless.default.svc.cluster.local."


@dataclass(frozen=True)
class Case:
    id: str
    qname: str
    qtype: str
    rcode: str = "NOERROR"  # or NXDOMAIN, or FORWARD: not ours (fallthrough)
    answer: tuple[str, ...] = ()
    additional: tuple[str, ...] | None = None  # None: not checked
    authority: tuple[str, ...] | None = None  # None: SOA iff the answer is empty


def case(id: str, qname: str, qtype: str, *answer: str, **kw: object) -> Case:
    return Case(id, qname, qtype, answer=answer, **kw)  # type: ignore[arg-type]


CASES = [
    # 2.2 - Record for Schema Version
    case(
        "2.2 TXT record for the schema version",
        "dns-version.cluster.local.",
        "TXT",
        'dns-version.cluster.local. 5 IN TXT "1.1.0"',
    ),
    case("2.2 dns-version has no A record (NODATA)", "dns-version.cluster.local.", "A"),
    # 2.3.1 - A/AAAA Record
    case(
        "2.3.1 A record for ClusterIP service",
        "web.default.svc.cluster.local.",
        "A",
        "web.default.svc.cluster.local. 5 IN A 10.96.0.20",
    ),
    case(
        "2.3.1 AAAA record for IPv6 ClusterIP service",
        "v6.default.svc.cluster.local.",
        "AAAA",
        "v6.default.svc.cluster.local. 5 IN AAAA fd00:10:96::40",
    ),
    case(
        "2.3.1 dual-stack service: A for the IPv4 ClusterIP",
        "dual.default.svc.cluster.local.",
        "A",
        "dual.default.svc.cluster.local. 5 IN A 10.96.0.30",
    ),
    case(
        "2.3.1 dual-stack service: AAAA for the IPv6 ClusterIP",
        "dual.default.svc.cluster.local.",
        "AAAA",
        "dual.default.svc.cluster.local. 5 IN AAAA fd00:10:96::30",
    ),
    case("2.3.1 IPv4-only service has no AAAA (NODATA)", "web.default.svc.cluster.local.", "AAAA"),
    case("2.3.1 IPv6-only service has no A (NODATA)", "v6.default.svc.cluster.local.", "A"),
    case(
        "2.3.1 service in another namespace resolves with its namespace",
        "web.other.svc.cluster.local.",
        "A",
        "web.other.svc.cluster.local. 5 IN A 10.96.5.5",
    ),
    # 2.3.2 - SRV Records
    case(
        "2.3.2 SRV for a named TCP port points at the service",
        "_http._tcp.web.default.svc.cluster.local.",
        "SRV",
        "_http._tcp.web.default.svc.cluster.local. 5 IN SRV 0 100 80 web.default.svc.cluster.local.",
        additional=("web.default.svc.cluster.local. 5 IN A 10.96.0.20",),
    ),
    case(
        "2.3.2 SRV for a named UDP port",
        "_dns._udp.web.default.svc.cluster.local.",
        "SRV",
        "_dns._udp.web.default.svc.cluster.local. 5 IN SRV 0 100 53 web.default.svc.cluster.local.",
        additional=("web.default.svc.cluster.local. 5 IN A 10.96.0.20",),
    ),
    case(
        "2.3.2 SRV additional carries A and AAAA of a dual-stack service",
        "_http._tcp.dual.default.svc.cluster.local.",
        "SRV",
        "_http._tcp.dual.default.svc.cluster.local. 5 IN SRV 0 100 80 dual.default.svc.cluster.local.",
        additional=(
            "dual.default.svc.cluster.local. 5 IN A 10.96.0.30",
            "dual.default.svc.cluster.local. 5 IN AAAA fd00:10:96::30",
        ),
    ),
    case(
        "2.3.2 protocol must match the port's (NXDOMAIN)",
        "_http._udp.web.default.svc.cluster.local.",
        "SRV",
        rcode="NXDOMAIN",
    ),
    case(
        "2.3.2 unknown port name (NXDOMAIN)",
        "_nope._tcp.web.default.svc.cluster.local.",
        "SRV",
        rcode="NXDOMAIN",
    ),
    case(
        "2.3.2 unnamed ports have no SRV record (NXDOMAIN)",
        "_tcp.unnamed.default.svc.cluster.local.",
        "SRV",
        rcode="NXDOMAIN",
    ),
    case(
        "2.3.2 SRV name exists, other types are NODATA",
        "_http._tcp.web.default.svc.cluster.local.",
        "A",
    ),
    case(
        "2.3.2 CoreDNS: SRV at the service name lists every port",
        "web.default.svc.cluster.local.",
        "SRV",
        "web.default.svc.cluster.local. 5 IN SRV 0 33 80 web.default.svc.cluster.local.",
        "web.default.svc.cluster.local. 5 IN SRV 0 33 53 web.default.svc.cluster.local.",
        "web.default.svc.cluster.local. 5 IN SRV 0 33 8080 web.default.svc.cluster.local.",
        additional=("web.default.svc.cluster.local. 5 IN A 10.96.0.20",),
    ),
    # 2.3.3 - PTR Record
    case(
        "2.3.3 PTR record for an IPv4 ClusterIP",
        "20.0.96.10.in-addr.arpa.",
        "PTR",
        "20.0.96.10.in-addr.arpa. 5 IN PTR web.default.svc.cluster.local.",
    ),
    case(
        "2.3.3 PTR record for an IPv6 ClusterIP (ip6.arpa nibbles)",
        PTR6_DUAL,
        "PTR",
        f"{PTR6_DUAL} 5 IN PTR dual.default.svc.cluster.local.",
    ),
    case("2.3.3 PTR name without PTR type asked is NODATA", "20.0.96.10.in-addr.arpa.", "A"),
    case(
        "2.3.3 unknown address falls through to upstream (CoreDNS fallthrough)",
        "99.99.96.10.in-addr.arpa.",
        "PTR",
        rcode="FORWARD",
    ),
    # 2.4.1 - A/AAAA Records (headless)
    case(
        "2.4.1 A records for every ready endpoint of a headless service",
        HL,
        "A",
        f"{HL} 5 IN A 10.244.1.10",
        f"{HL} 5 IN A 10.244.1.11",
        f"{HL} 5 IN A 10.244.1.13",
        f"{HL} 5 IN A 10.244.1.14",
    ),
    case(
        "2.4.1 AAAA records for IPv6 ready endpoints", HL, "AAAA", f"{HL} 5 IN AAAA fd00:10:244::10"
    ),
    case(
        "2.4.1 headless service without ready endpoints is NXDOMAIN",
        "notready.default.svc.cluster.local.",
        "A",
        rcode="NXDOMAIN",
    ),
    case(
        "2.4.1 headless service without any endpoints is NXDOMAIN",
        "empty.default.svc.cluster.local.",
        "A",
        rcode="NXDOMAIN",
    ),
    case(
        "2.4.1 A record for an endpoint hostname",
        f"my-pet.{HL}",
        "A",
        f"my-pet.{HL} 5 IN A 10.244.1.10",
    ),
    case(
        "2.4.1 AAAA record for an endpoint hostname",
        f"my-pet.{HL}",
        "AAAA",
        f"my-pet.{HL} 5 IN AAAA fd00:10:244::10",
    ),
    case(
        "2.4.1 one A record per IP of a hostname",
        f"twin.{HL}",
        "A",
        f"twin.{HL} 5 IN A 10.244.1.13",
        f"twin.{HL} 5 IN A 10.244.1.14",
    ),
    case(
        "2.4.1 system-assigned hostname (CoreDNS: dashed IP) for an endpoint without one",
        f"10-244-1-11.{HL}",
        "A",
        f"10-244-1-11.{HL} 5 IN A 10.244.1.11",
    ),
    case(
        "2.4.1 not-ready endpoint has no hostname record",
        f"10-244-2-12.{HL}",
        "A",
        rcode="NXDOMAIN",
    ),
    case(
        "2.1 ready: publishNotReadyAddresses makes every endpoint ready",
        "pub.default.svc.cluster.local.",
        "A",
        "pub.default.svc.cluster.local. 5 IN A 10.244.3.1",
    ),
    case(
        "2.1 ready: publishNotReadyAddresses endpoint hostname",
        "p0.pub.default.svc.cluster.local.",
        "A",
        "p0.pub.default.svc.cluster.local. 5 IN A 10.244.3.1",
    ),
    case(
        "2.4.1 CoreDNS: ClusterIP service endpoints have hostname records",
        "w0.web.default.svc.cluster.local.",
        "A",
        "w0.web.default.svc.cluster.local. 5 IN A 10.244.9.9",
    ),
    # 2.4.2 - SRV Records (headless)
    case(
        "2.4.2 SRV per ready endpoint hostname and named port",
        f"_http._tcp.{HL}",
        "SRV",
        f"_http._tcp.{HL} 5 IN SRV 0 33 8080 my-pet.{HL}",
        f"_http._tcp.{HL} 5 IN SRV 0 33 8080 10-244-1-11.{HL}",
        f"_http._tcp.{HL} 5 IN SRV 0 33 8080 twin.{HL}",
        additional=(
            f"my-pet.{HL} 5 IN A 10.244.1.10",
            f"my-pet.{HL} 5 IN AAAA fd00:10:244::10",
            f"10-244-1-11.{HL} 5 IN A 10.244.1.11",
            f"twin.{HL} 5 IN A 10.244.1.13",
            f"twin.{HL} 5 IN A 10.244.1.14",
        ),
    ),
    case(
        "2.4.2 no SRV for a headless service without ready endpoints",
        "_http._tcp.empty.default.svc.cluster.local.",
        "SRV",
        rcode="NXDOMAIN",
    ),
    # 2.4.3 - PTR Records (headless)
    case(
        "2.4.3 PTR for a ready endpoint to its hostname name",
        "10.1.244.10.in-addr.arpa.",
        "PTR",
        f"10.1.244.10.in-addr.arpa. 5 IN PTR my-pet.{HL}",
    ),
    case(
        "2.4.3 PTR for a ready endpoint without hostname to the dashed name",
        "11.1.244.10.in-addr.arpa.",
        "PTR",
        f"11.1.244.10.in-addr.arpa. 5 IN PTR 10-244-1-11.{HL}",
    ),
    case(
        "2.4.3 PTR for an IPv6 ready endpoint", PTR6_PET, "PTR", f"{PTR6_PET} 5 IN PTR my-pet.{HL}"
    ),
    case(
        "2.4.3 no PTR for a not-ready endpoint (falls through)",
        "12.2.244.10.in-addr.arpa.",
        "PTR",
        rcode="FORWARD",
    ),
    # 2.5 - External Name
    case(
        "2.5 CNAME for an ExternalName service (A asked)",
        "ext.default.svc.cluster.local.",
        "A",
        "ext.default.svc.cluster.local. 5 IN CNAME www.example.com.",
    ),
    case(
        "2.5 CNAME for an ExternalName service (CNAME asked)",
        "ext.default.svc.cluster.local.",
        "CNAME",
        "ext.default.svc.cluster.local. 5 IN CNAME www.example.com.",
    ),
    case(
        "2.5 in-zone target: CNAME and the target's A record",
        "extin.default.svc.cluster.local.",
        "A",
        "extin.default.svc.cluster.local. 5 IN CNAME web.default.svc.cluster.local.",
        "web.default.svc.cluster.local. 5 IN A 10.96.0.20",
    ),
    case(
        "2.5 ExternalName named port: SRV to the external name",
        "_http._tcp.ext.default.svc.cluster.local.",
        "SRV",
        "_http._tcp.ext.default.svc.cluster.local. 5 IN SRV 0 100 80 www.example.com.",
    ),
    case(
        "2.5 ExternalName has no endpoint names",
        "x.ext.default.svc.cluster.local.",
        "A",
        rcode="NXDOMAIN",
    ),
    # 2.6 - Deprecated (pod) Records
    case(
        "2.6 pod A record a-b-c-d.<ns>.pod.<zone>",
        "10-244-1-5.default.pod.cluster.local.",
        "A",
        "10-244-1-5.default.pod.cluster.local. 5 IN A 10.244.1.5",
    ),
    case(
        "2.6 pod AAAA record (CoreDNS: dashes for colons)",
        "fd00-10-244--5.default.pod.cluster.local.",
        "AAAA",
        "fd00-10-244--5.default.pod.cluster.local. 5 IN AAAA fd00:10:244::5",
    ),
    case(
        "2.6 any namespace (pods insecure)",
        "1-2-3-4.anything.pod.cluster.local.",
        "A",
        "1-2-3-4.anything.pod.cluster.local. 5 IN A 1.2.3.4",
    ),
    case("2.6 IPv4 pod name has no AAAA (NODATA)", "10-244-1-5.default.pod.cluster.local.", "AAAA"),
    case(
        "2.6 a pod name that is no address is NXDOMAIN",
        "1-2-3.default.pod.cluster.local.",
        "A",
        rcode="NXDOMAIN",
    ),
    case(
        "2.6 octet out of range is NXDOMAIN",
        "1-2-3-256.default.pod.cluster.local.",
        "A",
        rcode="NXDOMAIN",
    ),
    # 2.1 - case-insensitive comparisons (the query's case is echoed)
    case(
        "2.1 matching is case-insensitive and the query case is echoed",
        "Web.Default.SVC.Cluster.LOCAL.",
        "A",
        "Web.Default.SVC.Cluster.LOCAL. 5 IN A 10.96.0.20",
    ),
    case(
        "2.1 case-insensitive SRV",
        "_HTTP._TCP.web.default.svc.cluster.local.",
        "SRV",
        "_HTTP._TCP.web.default.svc.cluster.local. 5 IN SRV 0 100 80 web.default.svc.cluster.local.",
        additional=("web.default.svc.cluster.local. 5 IN A 10.96.0.20",),
    ),
    # NXDOMAIN vs NODATA (RFC 2308, CoreDNS), names in the zone that are no record
    case(
        "NXDOMAIN for an unknown service", "nope.default.svc.cluster.local.", "A", rcode="NXDOMAIN"
    ),
    case(
        "NXDOMAIN for a service asked in the wrong namespace",
        "kubernetes.other.svc.cluster.local.",
        "A",
        rcode="NXDOMAIN",
    ),
    case(
        "NODATA for a namespace with services (empty non-terminal)",
        "default.svc.cluster.local.",
        "A",
    ),
    case(
        "NXDOMAIN for a namespace without services",
        "nons.svc.cluster.local.",
        "A",
        rcode="NXDOMAIN",
    ),
    case("NODATA for svc.<zone>", "svc.cluster.local.", "A"),
    case("NODATA for pod.<zone>", "pod.cluster.local.", "A"),
    case("NODATA for the _proto empty non-terminal", "_tcp.web.default.svc.cluster.local.", "A"),
    case("NXDOMAIN for a name neither svc nor pod", "foo.cluster.local.", "A", rcode="NXDOMAIN"),
    case(
        "NXDOMAIN for too many labels",
        "a.b.c.web.default.svc.cluster.local.",
        "A",
        rcode="NXDOMAIN",
    ),
    case("NODATA at the apex for A", "cluster.local.", "A"),
    case("SOA at the apex", "cluster.local.", "SOA", SOA, authority=()),
    case(
        "NS at the apex with the kube-dns ClusterIP as glue",
        "cluster.local.",
        "NS",
        "cluster.local. 5 IN NS ns.dns.cluster.local.",
        additional=("ns.dns.cluster.local. 5 IN A 10.96.0.10",),
    ),
    case(
        "ns.dns.<zone> has the kube-dns ClusterIP",
        "ns.dns.cluster.local.",
        "A",
        "ns.dns.cluster.local. 5 IN A 10.96.0.10",
    ),
    case("names outside the zone are not ours", "example.com.", "A", rcode="FORWARD"),
]


def _check(c: Case, rcode: str, ans: list[str], auth: list[str], extra: list[str]) -> None:
    assert rcode == c.rcode
    assert ans == expect(c.answer)
    want_auth = c.authority if c.authority is not None else ((SOA,) if not c.answer else ())
    assert auth == expect(want_auth)
    if c.additional is not None:
        assert extra == expect(c.additional)


@pytest.mark.parametrize("c", CASES, ids=[c.id for c in CASES])
def test_spec_index(c: Case) -> None:
    ans = cluster().lookup(c.qname, c.qtype)
    if ans is None:
        assert c.rcode == "FORWARD"
        return
    _check(c, RCODE[ans.rcode], *sections(ans))


@pytest.fixture(scope="module")
def server_port() -> Iterator[int]:
    with threaded_server(cluster()) as (server, _):
        yield server.address[1]


@pytest.mark.parametrize("c", CASES, ids=[c.id for c in CASES])
def test_spec_wire(c: Case, server_port: int) -> None:
    reply = ask(server_port, c.qname, c.qtype)
    assert str(reply.q.qname) == c.qname  # the question comes back as asked
    if c.rcode == "FORWARD":  # no upstreams configured: CoreDNS with no forward plugin
        assert RCODE[reply.header.rcode] == "REFUSED"
        return
    assert reply.header.aa == 1
    assert reply.header.tc == 0
    _check(c, RCODE[reply.header.rcode], *sections(reply))
