"""Endpoints and EndpointSlice validation against upstream kube-apiserver.

Each case id names the upstream rule it checks: ``ValidateEndpointIP``,
``ValidateEndpoints`` / ``validateEndpointSubsets`` / ``validateEndpointAddress``
/ ``validateEndpointPort`` (pkg/apis/core/validation/validation.go) and
``ValidateEndpointSlice`` (pkg/apis/discovery/validation/validation.go); the
defaults are ``SetDefaults_Endpoints`` and discovery/v1's
``SetDefaults_EndpointPort``. "svcnet:" marks the one rule upstream only
documents: an endpoint address may not be a Service's ClusterIP.

Address conventions: endpoints use 10.244.0.0/16 (pod CIDR) and
2001:db8::/32; 10.96.0.0/16 holds ClusterIPs.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest

from svcnet.api import service as svc

LABEL_1123 = (
    "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or "
    "'-', and must start and end with an alphanumeric character (e.g. 'my-name',  or "
    "'123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')"
)
SUBDOMAIN = (
    "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, "
    "'-' or '.', and must start and end with an alphanumeric character (e.g. "
    "'example.com', regex used for validation is "
    "'[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')"
)
QNAME_PART = (
    "name part must consist of alphanumeric characters, '-', '_' or '.', and must start "
    "and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', "
    "regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')"
)
LOOPBACK = "may not be in the loopback range (127.0.0.0/8, ::1/128)"
LINK_LOCAL = "may not be in the link-local range (169.254.0.0/16, fe80::/10)"
LINK_LOCAL_MULTICAST = "may not be in the link-local multicast range (224.0.0.0/24, ff02::/10)"
BAD_IP = "must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)"

CLUSTER_IPS = {"10.96.0.10", "fd00:10:96::a"}


def is_cluster_ip(ip: str) -> bool:
    return ip in CLUSTER_IPS


def messages(errs: list[Any]) -> list[str]:
    return [e.message() for e in errs]


# --------------------------------------------------------------------------
# ValidateEndpointIP


@pytest.mark.parametrize(
    ("ip", "want"),
    [
        pytest.param("10.244.1.5", [], id="ValidateEndpointIP: a pod IP is fine"),
        pytest.param("2001:db8::5", [], id="ValidateEndpointIP: a global IPv6 is fine"),
        pytest.param(
            "0.0.0.0",
            ["may not be unspecified (0.0.0.0)"],
            id="ValidateEndpointIP: unspecified IPv4",
        ),
        pytest.param(
            "::", ["may not be unspecified (::)"], id="ValidateEndpointIP: unspecified IPv6"
        ),
        pytest.param("127.0.0.1", [LOOPBACK], id="ValidateEndpointIP: loopback 127.0.0.0/8"),
        pytest.param("127.1.2.3", [LOOPBACK], id="ValidateEndpointIP: all of 127.0.0.0/8"),
        pytest.param("::1", [LOOPBACK], id="ValidateEndpointIP: loopback ::1"),
        pytest.param(
            "::ffff:127.0.0.1", [LOOPBACK], id="ValidateEndpointIP: IPv4-mapped loopback (Go To4)"
        ),
        pytest.param("169.254.169.254", [LINK_LOCAL], id="ValidateEndpointIP: link-local IPv4"),
        pytest.param("fe80::1", [LINK_LOCAL], id="ValidateEndpointIP: link-local IPv6"),
        pytest.param("224.0.0.251", [LINK_LOCAL_MULTICAST], id="ValidateEndpointIP: 224.0.0.0/24"),
        pytest.param("ff02::fb", [LINK_LOCAL_MULTICAST], id="ValidateEndpointIP: ff02::/16"),
        pytest.param(
            "239.1.2.3", [], id="ValidateEndpointIP: other multicast is allowed (upstream quirk)"
        ),
        pytest.param("10.0.0", ["must be a valid IP address"], id="ValidateEndpointIP: not an IP"),
    ],
)
def test_validate_endpoint_ip(ip: str, want: list[str]) -> None:
    errs = svc.validate_endpoint_ip(ip, "x")
    assert messages(errs) == [f'x: Invalid value: "{ip}": {m}' for m in want]


# --------------------------------------------------------------------------
# core/v1 Endpoints


@dataclass(frozen=True)
class EndpointsCase:
    id: str
    subsets: list[dict[str, Any]]
    want: list[str]


def ep_subset(*ips: str, ports: list[dict[str, Any]] | None = None, **extra: Any) -> dict[str, Any]:
    subset: dict[str, Any] = {"addresses": [{"ip": ip} for ip in ips], **extra}
    subset["ports"] = ports if ports is not None else [{"port": 8080}]
    return subset


ENDPOINTS_CASES = [
    EndpointsCase("ValidateEndpoints: a plain subset is valid", [ep_subset("10.244.1.5")], []),
    EndpointsCase("ValidateEndpoints: no subsets is valid", [], []),
    EndpointsCase(
        "validateEndpointSubsets: addresses or notReadyAddresses required",
        [{"ports": [{"port": 8080}]}],
        ["subsets[0]: Required value: must specify `addresses` or `notReadyAddresses`"],
    ),
    EndpointsCase(
        "validateEndpointSubsets: notReadyAddresses alone is fine, ports are optional",
        [{"notReadyAddresses": [{"ip": "10.244.1.6"}]}],
        [],
    ),
    EndpointsCase(
        "validateEndpointAddress: ip must be an IP (both IsValidIP and ValidateEndpointIP report)",
        [ep_subset("10.244.1")],
        [
            f'subsets[0].addresses[0].ip: Invalid value: "10.244.1": {BAD_IP}',
            'subsets[0].addresses[0].ip: Invalid value: "10.244.1": must be a valid IP address',
        ],
    ),
    EndpointsCase(
        "validateEndpointAddress: loopback is refused, ready or not",
        [{"notReadyAddresses": [{"ip": "127.0.0.1"}], "ports": [{"port": 8080}]}],
        [f'subsets[0].notReadyAddresses[0].ip: Invalid value: "127.0.0.1": {LOOPBACK}'],
    ),
    EndpointsCase(
        "validateEndpointAddress: hostname is a DNS-1123 label",
        [{"addresses": [{"ip": "10.244.1.5", "hostname": "web.0"}]}],
        ['subsets[0].addresses[0].hostname: Invalid value: "web.0": must not contain dots'],
    ),
    EndpointsCase(
        "validateEndpointAddress: nodeName is a DNS subdomain",
        [{"addresses": [{"ip": "10.244.1.5", "nodeName": "Node_1"}]}],
        [f'subsets[0].addresses[0].nodeName: Invalid value: "Node_1": {SUBDOMAIN}'],
    ),
    EndpointsCase(
        "svcnet: an endpoint address may not be a Service's ClusterIP",
        [ep_subset("10.244.1.5", "10.96.0.10")],
        [
            'subsets[0].addresses[1].ip: Invalid value: "10.96.0.10": '
            "may not be a cluster IP of a Service"
        ],
    ),
    EndpointsCase(
        "validateEndpointPort: names required when there are several ports",
        [ep_subset("10.244.1.5", ports=[{"port": 80}, {"name": "https", "port": 443}])],
        ["subsets[0].ports[0].name: Required value"],
    ),
    EndpointsCase(
        "validateEndpointPort: name is a DNS-1123 label",
        [ep_subset("10.244.1.5", ports=[{"name": "Http", "port": 80}])],
        [f'subsets[0].ports[0].name: Invalid value: "Http": {LABEL_1123}'],
    ),
    EndpointsCase(
        "validateEndpointPort: port is 1-65535 (absent is 0)",
        [ep_subset("10.244.1.5", ports=[{"name": "a", "port": 0}, {"name": "b"}])],
        [
            "subsets[0].ports[0].port: Invalid value: 0: must be between 1 and 65535, inclusive",
            "subsets[0].ports[1].port: Invalid value: 0: must be between 1 and 65535, inclusive",
        ],
    ),
    EndpointsCase(
        "validateEndpointPort: protocol TCP/UDP/SCTP (SetDefaults_Endpoints fills TCP)",
        [
            ep_subset(
                "10.244.1.5",
                ports=[{"name": "a", "port": 80, "protocol": "HTTP"}, {"name": "b", "port": 81}],
            )
        ],
        [
            'subsets[0].ports[0].protocol: Unsupported value: "HTTP": '
            'supported values: "SCTP", "TCP", "UDP"'
        ],
    ),
    EndpointsCase(
        "validateEndpointPort: appProtocol is a qualified name",
        [ep_subset("10.244.1.5", ports=[{"port": 80, "appProtocol": "kubernetes.io/-h2c"}])],
        [f'subsets[0].ports[0].appProtocol: Invalid value: "kubernetes.io/-h2c": {QNAME_PART}'],
    ),
]


@pytest.mark.parametrize("case", ENDPOINTS_CASES, ids=lambda c: c.id)
def test_validate_endpoints(case: EndpointsCase) -> None:
    obj = {"metadata": {"name": "web", "namespace": "default"}, "subsets": case.subsets}
    errs = svc.validate_endpoints(obj, is_cluster_ip)
    assert messages(errs) == case.want
    for err, want in zip(errs, case.want, strict=True):
        assert want.startswith(err.field + ": ")


def test_default_endpoints_fills_tcp() -> None:
    """SetDefaults_Endpoints: an omitted protocol is TCP."""
    obj = {"subsets": [{"addresses": [{"ip": "10.244.1.5"}], "ports": [{"port": 80}]}]}
    svc.default_endpoints(obj)
    assert obj["subsets"][0]["ports"] == [{"port": 80, "protocol": "TCP"}]


def test_cluster_ip_lookup_defaults_to_none() -> None:
    """Without a lookup no address is a ClusterIP (validation stays pure)."""
    obj = {"subsets": [ep_subset("10.96.0.10")]}
    assert svc.validate_endpoints(obj) == []


# --------------------------------------------------------------------------
# discovery.k8s.io/v1 EndpointSlice


@dataclass(frozen=True)
class SliceCase:
    id: str
    slice: dict[str, Any]
    want: list[str]


def eps(*addresses: str, **extra: Any) -> dict[str, Any]:
    return {"addresses": list(addresses), **extra}


def es(
    address_type: str = "IPv4", endpoints: list[Any] | None = None, ports: Any = None
) -> dict[str, Any]:
    obj: dict[str, Any] = {
        "metadata": {"name": "web-abc12", "namespace": "default"},
        "addressType": address_type,
        "endpoints": endpoints if endpoints is not None else [eps("10.244.1.5")],
    }
    obj["ports"] = ports if ports is not None else [{"name": "http", "port": 8080}]
    return obj


SLICE_CASES = [
    SliceCase("ValidateEndpointSlice: a plain slice is valid", es(), []),
    SliceCase(
        "validateAddressType: addressType is required",
        {**es(), "addressType": ""},
        ["addressType: Required value"],
    ),
    SliceCase(
        "validateAddressType: IPv4, IPv6 or FQDN",
        es("IP"),
        ['addressType: Unsupported value: "IP": supported values: "FQDN", "IPv4", "IPv6"'],
    ),
    SliceCase(
        "validateEndpoints: an IPv4 slice holds IPv4 addresses",
        es("IPv4", [eps("2001:db8::5")]),
        ['endpoints[0].addresses[0]: Invalid value: "2001:db8::5": must be a valid IPv4 address'],
    ),
    SliceCase(
        "validateEndpoints: an IPv6 slice holds IPv6 addresses (IPv4-mapped counts as IPv4)",
        es("IPv6", [eps("2001:db8::5", "::ffff:10.244.1.5")]),
        [
            'endpoints[0].addresses[1]: Invalid value: "::ffff:10.244.1.5": '
            "must be a valid IPv6 address"
        ],
    ),
    SliceCase(
        "validateEndpoints: a malformed address fails both format checks",
        es("IPv4", [eps("10.244.1")]),
        [
            'endpoints[0].addresses[0]: Invalid value: "10.244.1": must be a valid IPv4 address',
            'endpoints[0].addresses[0]: Invalid value: "10.244.1": must be a valid IP address',
        ],
    ),
    SliceCase(
        "ValidateEndpointIP: special addresses are refused in slices",
        es("IPv4", [eps("10.244.1.5"), eps("169.254.0.1")]),
        [f'endpoints[1].addresses[0]: Invalid value: "169.254.0.1": {LINK_LOCAL}'],
    ),
    SliceCase(
        "svcnet: a slice address may not be a Service's ClusterIP",
        es("IPv6", [eps("fd00:10:96::a")]),
        [
            'endpoints[0].addresses[0]: Invalid value: "fd00:10:96::a": '
            "may not be a cluster IP of a Service"
        ],
    ),
    SliceCase(
        "IsFullyQualifiedDomainName: FQDN slices hold domain names (a trailing dot is fine)",
        es("FQDN", [eps("db.example.com."), eps("db"), eps("DB.example.com")]),
        [
            'endpoints[1].addresses[0]: Invalid value: "db": '
            "should be a domain with at least two segments separated by dots",
            f'endpoints[2].addresses[0]: Invalid value: "DB.example.com": {SUBDOMAIN}',
        ],
    ),
    SliceCase(
        "validateEndpoints: at least one address",
        es("IPv4", [eps()]),
        ["endpoints[0].addresses: Required value: must contain at least 1 address"],
    ),
    SliceCase(
        "validateEndpoints: at most 100 addresses",
        es("IPv4", [eps(*[f"10.244.1.{i}" for i in range(1, 102)])]),
        ["endpoints[0].addresses: Too many: 101: must have at most 100 items"],
    ),
    SliceCase(
        "validateEndpoints: at most 1000 endpoints (the rest is not checked)",
        es("IPv4", [eps("127.0.0.1")] * 1001),
        ["endpoints: Too many: 1001: must have at most 1000 items"],
    ),
    SliceCase(
        "validateEndpoints: 1000 endpoints are fine",
        es("IPv4", [eps(f"10.244.{i // 250}.{i % 250 + 1}") for i in range(1000)]),
        [],
    ),
    SliceCase(
        "validateEndpoints: nodeName is a DNS subdomain",
        es("IPv4", [eps("10.244.1.5", nodeName="Node_1")]),
        [f'endpoints[0].nodeName: Invalid value: "Node_1": {SUBDOMAIN}'],
    ),
    SliceCase(
        "validateEndpoints: hostname is a DNS-1123 label",
        es("IPv4", [eps("10.244.1.5", hostname="web.0")]),
        ['endpoints[0].hostname: Invalid value: "web.0": must not contain dots'],
    ),
    SliceCase(
        "validateEndpoints: zone and conditions are free (upstream checks neither)",
        es(
            "IPv4",
            [
                eps(
                    "10.244.1.5",
                    zone="Zone A/1",
                    conditions={"ready": False, "serving": True, "terminating": True},
                )
            ],
        ),
        [],
    ),
    SliceCase(
        "validateEndpoints: at most 16 deprecatedTopology labels",
        es("IPv4", [eps("10.244.1.5", deprecatedTopology={f"k{i}": "v" for i in range(17)})]),
        ["endpoints[0].deprecatedTopology: Too many: 17: must have at most 16 items"],
    ),
    SliceCase(
        "validateHints: at most 8 zone hints",
        es("IPv4", [eps("10.244.1.5", hints={"forZones": [{"name": f"z{i}"} for i in range(9)]})]),
        ["endpoints[0].hints.forZones: Too many: 9: must have at most 8 items"],
    ),
    SliceCase(
        "validateHints: zone hints are unique",
        es("IPv4", [eps("10.244.1.5", hints={"forZones": [{"name": "a"}, {"name": "a"}]})]),
        ['endpoints[0].hints.forZones[1].name: Duplicate value: "a"'],
    ),
    SliceCase(
        "validatePorts: port names are DNS-1123 labels",
        es(ports=[{"name": "HTTP", "port": 80}]),
        [f'ports[0].name: Invalid value: "HTTP": {LABEL_1123}'],
    ),
    SliceCase(
        "validatePorts: port names are unique, the empty name too",
        es(ports=[{"port": 80}, {"port": 81}]),
        ['ports[1].name: Duplicate value: ""'],
    ),
    SliceCase(
        "validatePorts: protocol TCP/UDP/SCTP (SetDefaults_EndpointPort fills TCP)",
        es(ports=[{"name": "a", "port": 80, "protocol": "ICMP"}, {"name": "b", "port": 81}]),
        ['ports[0].protocol: Unsupported value: "ICMP": supported values: "SCTP", "TCP", "UDP"'],
    ),
    SliceCase(
        "validatePorts: appProtocol is a qualified name",
        es(ports=[{"name": "a", "port": 80, "appProtocol": "-h2c"}]),
        [f'ports[0].appProtocol: Invalid value: "-h2c": {QNAME_PART}'],
    ),
    SliceCase(
        "validatePorts: port numbers are not checked (a nil port means all ports)",
        es(ports=[{"name": "all"}]),
        [],
    ),
    SliceCase(
        "validatePorts: at most 20000 ports",
        es(ports=[{"name": f"p{i}", "port": 1 + i % 65535} for i in range(20001)]),
        ["ports: Too many: 20001: must have at most 20000 items"],
    ),
]


@pytest.mark.parametrize("case", SLICE_CASES, ids=lambda c: c.id)
def test_validate_endpointslice(case: SliceCase) -> None:
    errs = svc.validate_endpointslice(case.slice, is_cluster_ip)
    assert messages(errs) == case.want
    for err, want in zip(errs, case.want, strict=True):
        assert want.startswith(err.field + ": ")


def test_validate_endpointslice_update_address_type_immutable() -> None:
    """ValidateEndpointSliceUpdate: addressType is immutable."""
    errs = svc.validate_endpointslice_update(es("IPv6", [eps("2001:db8::5")]), es("IPv4"))
    assert messages(errs) == ['addressType: Invalid value: "IPv6": field is immutable']
    assert svc.validate_endpointslice_update(es(), es()) == []


def test_default_endpointslice_fills_name_and_protocol() -> None:
    """SetDefaults_EndpointPort: name "" and protocol TCP."""
    obj = es(ports=[{"port": 80}, {"name": "dns", "port": 53, "protocol": "UDP"}])
    svc.default_endpointslice(obj)
    assert obj["ports"] == [
        {"port": 80, "name": "", "protocol": "TCP"},
        {"name": "dns", "port": 53, "protocol": "UDP"},
    ]


def test_validate_endpointslice_default_lookup_is_pure() -> None:
    """Called as the kind table calls it (one argument), nothing is a ClusterIP."""
    assert svc.validate_endpointslice(es("IPv4", [eps("10.96.0.10")])) == []
