"""`parse_request(qname, zone)`: what a query name asks for. Pure.

Theory of operation: a name is classified by its labels below the cluster
zone, read right to left (CoreDNS plugin/kubernetes/parse.go, extended
with the reverse zones and the names CoreDNS answers outside svc/pod):

    <zone>                                   APEX        (SOA, NS)
    dns-version.<zone>                       VERSION     (TXT "1.1.0", spec 2.2)
    dns.<zone>, ns.dns.<zone>                DNS_ENT, DNS_NS
    svc.<zone>                               SVC_ROOT    (empty non-terminal)
    <ns>.svc.<zone>                          NAMESPACE   (empty non-terminal)
    <service>.<ns>.svc.<zone>                SERVICE     (spec 2.3.1, 2.4.1, 2.5)
    <endpoint>.<service>.<ns>.svc.<zone>     ENDPOINT    (spec 2.4.1 hostnames)
    _<proto>.<service>.<ns>.svc.<zone>       PROTO       (empty non-terminal)
    _<port>._<proto>.<service>.<ns>.svc.<z>  PORT        (spec 2.3.2, 2.4.2)
    pod.<zone>, <ns>.pod.<zone>              POD_ENT
    <a-b-c-d>.<ns>.pod.<zone>                POD         (spec 2.6)
    <d>.<c>.<b>.<a>.in-addr.arpa             REVERSE     (spec 2.3.3, 2.4.3)
    <32 nibbles>.ip6.arpa                    REVERSE
    anything else in the zone                OTHER       (NXDOMAIN)
    anything else                            OUTSIDE     (forwarded)

Matching is case-insensitive: the name is lowercased first and every
field of the `Request` is lowercase. Names are fully qualified with a
trailing dot. A label that is not plain text (it contains a dot or
non-printable bytes, written with backslash escapes) never matches a
Kubernetes object, so such names fall to OTHER or OUTSIDE.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from enum import Enum

__all__ = ["Kind", "Request", "fqdn", "in_zone", "parse_request", "pod_ip", "reverse_ip"]


class Kind(Enum):
    APEX = "apex"
    VERSION = "dns-version"
    DNS_ENT = "dns"
    DNS_NS = "ns.dns"
    SVC_ROOT = "svc"
    NAMESPACE = "namespace"
    SERVICE = "service"
    ENDPOINT = "endpoint"
    PROTO = "proto"
    PORT = "port"
    POD_ENT = "pod-ent"
    POD = "pod"
    REVERSE = "reverse"
    OTHER = "other"
    OUTSIDE = "outside"


@dataclass(frozen=True, slots=True)
class Request:
    """A parsed query name. Fields not used by ``kind`` are ""."""

    kind: Kind
    name: str
    namespace: str = ""
    service: str = ""
    endpoint: str = ""
    port: str = ""
    protocol: str = ""
    ip: str = ""

    @property
    def service_key(self) -> tuple[str, str]:
        return (self.namespace, self.service)


def fqdn(name: str) -> str:
    """``name`` lowercased with exactly one trailing dot ("." for the root)."""
    name = name.lower().rstrip(".")
    return name + "." if name else "."


def in_zone(name: str, zone: str) -> bool:
    """Is the fully qualified, lowercase ``name`` at or below ``zone`` (also FQDN)?"""
    return name == zone or zone == "." or name.endswith("." + zone)


def _labels(prefix: str) -> list[str]:
    return prefix.split(".") if prefix else []


def pod_ip(label: str) -> str:
    """The address a pod name label spells (``10-244-1-5``, ``fd00--1``), or ""."""
    if label.count("-") == 3 and "--" not in label:
        text = label.replace("-", ".")
    else:
        text = label.replace("-", ":")
    try:
        return str(ipaddress.ip_address(text))
    except ValueError:
        return ""


def reverse_ip(name: str) -> str:
    """The address of a full reverse name (FQDN, lowercase), or ""."""
    if name.endswith(".in-addr.arpa."):
        parts = name[: -len(".in-addr.arpa.")].split(".")
        if len(parts) != 4:
            return ""
        for p in parts:
            if not p.isdigit() or not p.isascii() or (len(p) > 1 and p[0] == "0") or int(p) > 255:
                return ""
        return ".".join(reversed(parts))
    if name.endswith(".ip6.arpa."):
        parts = name[: -len(".ip6.arpa.")].split(".")
        if len(parts) != 32 or any(len(p) != 1 or p not in "0123456789abcdef" for p in parts):
            return ""
        digits = "".join(reversed(parts))
        return str(ipaddress.IPv6Address(int(digits, 16)))
    return ""


def _is_reverse(name: str) -> bool:
    return name.endswith((".in-addr.arpa.", ".ip6.arpa.")) or name in ("in-addr.arpa.", "ip6.arpa.")


def parse_request(qname: str, zone: str) -> Request:
    """Classify ``qname`` against the cluster ``zone`` (see the module docstring)."""
    name = fqdn(qname)
    zone = fqdn(zone)
    if not in_zone(name, zone):
        if _is_reverse(name):
            return Request(Kind.REVERSE, name, ip=reverse_ip(name))
        return Request(Kind.OUTSIDE, name)
    if name == zone:
        return Request(Kind.APEX, name)
    prefix = name[: -len(zone) - 1] if zone != "." else name[:-1]
    labels = _labels(prefix)
    n = len(labels)
    last = labels[-1]
    if last == "svc":
        if n == 1:
            return Request(Kind.SVC_ROOT, name)
        if n == 2:
            return Request(Kind.NAMESPACE, name, namespace=labels[0])
        ns, svc = labels[-2], labels[-3]
        if n == 3:
            return Request(Kind.SERVICE, name, namespace=ns, service=svc)
        if n == 4:
            first = labels[0]
            if first.startswith("_"):
                return Request(Kind.PROTO, name, namespace=ns, service=svc, protocol=first[1:])
            return Request(Kind.ENDPOINT, name, namespace=ns, service=svc, endpoint=first)
        if n == 5 and labels[0].startswith("_") and labels[1].startswith("_"):
            return Request(
                Kind.PORT,
                name,
                namespace=ns,
                service=svc,
                port=labels[0][1:],
                protocol=labels[1][1:],
            )
        return Request(Kind.OTHER, name)
    if last == "pod":
        if n <= 2:
            return Request(Kind.POD_ENT, name, namespace=labels[0] if n == 2 else "")
        if n == 3:
            return Request(Kind.POD, name, namespace=labels[1], ip=pod_ip(labels[0]))
        return Request(Kind.OTHER, name)
    if n == 1 and last == "dns-version":
        return Request(Kind.VERSION, name)
    if last == "dns":
        if n == 1:
            return Request(Kind.DNS_ENT, name)
        if n == 2 and labels[0] == "ns":
            return Request(Kind.DNS_NS, name)
    return Request(Kind.OTHER, name)
