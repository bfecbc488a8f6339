"""Service defaulting and validation against upstream kube-apiserver.

Each case id names the upstream rule it checks: ``SetDefaults_Service``
(pkg/apis/core/v1/defaults.go), ``ValidateService`` / ``validateServicePort`` /
``ValidateServiceClusterIPsRelatedFields`` / ``ValidateServiceUpdate``
(pkg/apis/core/validation/validation.go), and the Service registry's
``initIPFamilyFields`` / ``patchAllocatedValues`` / ``normalizeClusterIPs`` /
``dropTypeDependentFields`` (pkg/registry/core/service). Expected messages
are upstream's, written out literally so a wording drift fails here.

Address conventions: single-stack clusters use 10.96.0.0/16, dual-stack
ones add fd00:10:96::/112; NodePorts default to 30000-32767.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Any

import pytest

from svcnet.api import service as svc
from svcnet.api.service import DEFAULT_CONFIG, ServiceConfig

V4 = DEFAULT_CONFIG
DUAL = ServiceConfig(cidrs=("10.96.0.0/16", "fd00:10:96::/112"))
V6_DUAL = ServiceConfig(cidrs=("fd00:10:96::/112", "10.96.0.0/16"))
SMALL_PORTS = ServiceConfig(node_port_range=(20000, 20100))

LABEL_1123 = (
    "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or "
    "'-', and must start and end with an alphanumeric character (e.g. 'my-name',  or "
    "'123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')"
)
LABEL_1035 = (
    "a DNS-1035 label must consist of lower case alphanumeric characters or '-', start "
    "with an alphabetic character, and end with an alphanumeric character (e.g. "
    "'my-name',  or 'abc-123', regex used for validation is '[a-z]([-a-z0-9]*[a-z0-9])?')"
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
BAD_IP = "must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)"
PORT_RANGE = "must be between 1 and 65535, inclusive"
ONLY_LB = "may only be used when `type` is 'LoadBalancer'"
NOT_IN_NODE_PORT_RANGE = (
    "provided port is not in the valid range. The range of valid ports is 30000-32767"
)

WEB = {"app": "web"}


def service(spec: dict[str, Any], annotations: dict[str, str] | None = None) -> dict[str, Any]:
    meta: dict[str, Any] = {"name": "web", "namespace": "default"}
    if annotations:
        meta["annotations"] = annotations
    return {"apiVersion": "v1", "kind": "Service", "metadata": meta, "spec": copy.deepcopy(spec)}


def simple(**extra: Any) -> dict[str, Any]:
    """A one-port selector Service spec plus ``extra`` fields."""
    return {"selector": WEB, "ports": [{"port": 80}], **extra}


def allocate(obj: dict[str, Any], ips: list[str], node_ports: list[int] = (), hc: int = 0) -> None:
    """What the allocators would add after a successful create."""
    spec = obj["spec"]
    if ips:
        spec["clusterIP"], spec["clusterIPs"] = ips[0], list(ips)
    for port, node_port in zip(spec.get("ports") or [], node_ports, strict=False):
        port["nodePort"] = node_port
    if hc:
        spec["healthCheckNodePort"] = hc


def stored(
    spec: dict[str, Any],
    ips: list[str] = ("10.96.0.10",),
    node_ports: list[int] = (),
    hc: int = 0,
    config: ServiceConfig = V4,
) -> dict[str, Any]:
    """A Service as the store holds it: created, defaulted, allocated."""
    obj = service(spec)
    svc.default(obj, config=config)
    assert svc.validate(obj, config) == [], "fixture must be valid"
    allocate(
        obj, list(ips) if obj["spec"].get("type") != "ExternalName" else [], list(node_ports), hc
    )
    return obj


def messages(errs: list[Any]) -> list[str]:
    return [e.message() for e in errs]


# --------------------------------------------------------------------------
# Name


@pytest.mark.parametrize(
    ("name", "want"),
    [
        pytest.param("web", [], id="ValidateServiceName: DNS-1035 label accepted"),
        pytest.param("1web", [LABEL_1035], id="ValidateServiceName: must start with a letter"),
        pytest.param("Web", [LABEL_1035], id="ValidateServiceName: lower case only"),
    ],
)
def test_validate_name(name: str, want: list[str]) -> None:
    assert svc.validate_name(name) == want


# --------------------------------------------------------------------------
# Defaulting


@dataclass(frozen=True)
class DefaultCase:
    id: str
    spec: dict[str, Any]
    want: dict[str, Any]  # keys of the defaulted spec and their values
    absent: tuple[str, ...] = ()  # keys the defaulted spec must not have
    config: ServiceConfig = V4
    old: dict[str, Any] | None = None  # stored object: an update
    status: dict[str, Any] | None = None
    want_status: dict[str, Any] | None = None


OLD_NODEPORT = stored(
    {"type": "NodePort", "selector": WEB, "ports": [{"name": "http", "port": 80}]},
    node_ports=[30080],
)
OLD_LB_LOCAL = stored(
    {
        "type": "LoadBalancer",
        "selector": WEB,
        "ports": [{"port": 80}],
        "externalTrafficPolicy": "Local",
        "loadBalancerClass": "example.com/lb",
    },
    node_ports=[30080],
    hc=30100,
)
OLD_DUAL = stored(
    simple(ipFamilyPolicy="RequireDualStack"), ips=["10.96.0.10", "fd00:10:96::a"], config=DUAL
)

DEFAULT_CASES = [
    DefaultCase(
        "SetDefaults_Service: type ClusterIP, sessionAffinity None, protocol TCP, targetPort=port",
        {"selector": WEB, "ports": [{"port": 80}]},
        {
            "type": "ClusterIP",
            "sessionAffinity": "None",
            "ports": [{"port": 80, "protocol": "TCP", "targetPort": 80}],
            "internalTrafficPolicy": "Cluster",
            "ipFamilyPolicy": "SingleStack",
            "ipFamilies": ["IPv4"],
        },
        absent=(
            "externalTrafficPolicy",
            "allocateLoadBalancerNodePorts",
            "clusterIP",
            "clusterIPs",
        ),
    ),
    DefaultCase(
        'SetDefaults_Service: targetPort 0 and "" become port, a named targetPort is kept',
        {
            "selector": WEB,
            "ports": [
                {"name": "a", "port": 80, "targetPort": 0},
                {"name": "b", "port": 81, "targetPort": ""},
                {"name": "c", "port": 82, "targetPort": "http", "protocol": "UDP"},
            ],
        },
        {
            "ports": [
                {"name": "a", "port": 80, "targetPort": 80, "protocol": "TCP"},
                {"name": "b", "port": 81, "targetPort": 81, "protocol": "TCP"},
                {"name": "c", "port": 82, "targetPort": "http", "protocol": "UDP"},
            ]
        },
    ),
    DefaultCase(
        "SetDefaults_Service: ClientIP affinity gets timeoutSeconds 10800",
        simple(sessionAffinity="ClientIP"),
        {"sessionAffinityConfig": {"clientIP": {"timeoutSeconds": 10800}}},
    ),
    DefaultCase(
        "SetDefaults_Service: ClientIP affinity with clientIP but no timeout gets 10800",
        simple(sessionAffinity="ClientIP", sessionAffinityConfig={"clientIP": {}}),
        {"sessionAffinityConfig": {"clientIP": {"timeoutSeconds": 10800}}},
    ),
    DefaultCase(
        "SetDefaults_Service: ClientIP affinity keeps a given timeout",
        simple(
            sessionAffinity="ClientIP",
            sessionAffinityConfig={"clientIP": {"timeoutSeconds": 60}},
        ),
        {"sessionAffinityConfig": {"clientIP": {"timeoutSeconds": 60}}},
    ),
    DefaultCase(
        "SetDefaults_Service: affinity None drops sessionAffinityConfig",
        simple(sessionAffinityConfig={"clientIP": {"timeoutSeconds": 60}}),
        {"sessionAffinity": "None"},
        absent=("sessionAffinityConfig",),
    ),
    DefaultCase(
        "SetDefaults_Service: NodePort gets externalTrafficPolicy Cluster",
        simple(type="NodePort"),
        {"externalTrafficPolicy": "Cluster", "internalTrafficPolicy": "Cluster"},
        absent=("allocateLoadBalancerNodePorts",),
    ),
    DefaultCase(
        "SetDefaults_Service: LoadBalancer gets allocateLoadBalancerNodePorts true",
        simple(type="LoadBalancer"),
        {"externalTrafficPolicy": "Cluster", "allocateLoadBalancerNodePorts": True},
    ),
    DefaultCase(
        "SetDefaults_Service: allocateLoadBalancerNodePorts false is kept",
        simple(
            type="LoadBalancer", allocateLoadBalancerNodePorts=False, externalTrafficPolicy="Local"
        ),
        {"externalTrafficPolicy": "Local", "allocateLoadBalancerNodePorts": False},
    ),
    DefaultCase(
        "SetDefaults_Service: ExternallyAccessible includes ClusterIP with externalIPs",
        simple(externalIPs=["192.0.2.10"]),
        {"externalTrafficPolicy": "Cluster"},
    ),
    DefaultCase(
        "SetDefaults_Service: LoadBalancer status ingress ip gets ipMode VIP",
        simple(type="LoadBalancer"),
        {},
        status={"loadBalancer": {"ingress": [{"ip": "192.0.2.1"}, {"hostname": "lb.example.com"}]}},
        want_status={
            "loadBalancer": {
                "ingress": [{"ip": "192.0.2.1", "ipMode": "VIP"}, {"hostname": "lb.example.com"}]
            }
        },
    ),
    DefaultCase(
        "SetDefaults_Service + initIPFamilyFields: ExternalName gets no traffic policy nor families",
        {"type": "ExternalName", "externalName": "db.example.com"},
        {"type": "ExternalName", "sessionAffinity": "None"},
        absent=(
            "internalTrafficPolicy",
            "externalTrafficPolicy",
            "ipFamilies",
            "ipFamilyPolicy",
            "clusterIPs",
        ),
    ),
    DefaultCase(
        "normalizeClusterIPs: create with clusterIP only fills clusterIPs",
        simple(clusterIP="10.96.0.10"),
        {"clusterIP": "10.96.0.10", "clusterIPs": ["10.96.0.10"], "ipFamilies": ["IPv4"]},
    ),
    DefaultCase(
        "normalizeClusterIPs: create never fills clusterIP from clusterIPs",
        simple(clusterIPs=["10.96.0.10"]),
        {"clusterIPs": ["10.96.0.10"]},
        absent=("clusterIP",),
    ),
    DefaultCase(
        "initIPFamilyFields: headless with selector is SingleStack of the primary family",
        simple(clusterIP="None"),
        {"clusterIPs": ["None"], "ipFamilyPolicy": "SingleStack", "ipFamilies": ["IPv4"]},
    ),
    DefaultCase(
        "initIPFamilyFields: headless without selector is RequireDualStack, both families, "
        "even on a single-stack cluster",
        {"clusterIP": "None"},
        {"ipFamilyPolicy": "RequireDualStack", "ipFamilies": ["IPv4", "IPv6"]},
    ),
    DefaultCase(
        "initIPFamilyFields: headless without selector may ask for a family not configured",
        {"clusterIP": "None", "ipFamilies": ["IPv6"]},
        {"ipFamilyPolicy": "RequireDualStack", "ipFamilies": ["IPv6", "IPv4"]},
    ),
    DefaultCase(
        "initIPFamilyFields: PreferDualStack on a single-stack cluster gets one family",
        simple(ipFamilyPolicy="PreferDualStack"),
        {"ipFamilyPolicy": "PreferDualStack", "ipFamilies": ["IPv4"]},
    ),
    DefaultCase(
        "initIPFamilyFields: PreferDualStack on a dual-stack cluster gets both, primary first",
        simple(ipFamilyPolicy="PreferDualStack"),
        {"ipFamilies": ["IPv4", "IPv6"]},
        config=DUAL,
    ),
    DefaultCase(
        "initIPFamilyFields: RequireDualStack on an IPv6-primary cluster starts with IPv6",
        simple(ipFamilyPolicy="RequireDualStack"),
        {"ipFamilies": ["IPv6", "IPv4"]},
        config=V6_DUAL,
    ),
    DefaultCase(
        "initIPFamilyFields: SingleStack on a dual-stack cluster gets the primary family",
        simple(),
        {"ipFamilyPolicy": "SingleStack", "ipFamilies": ["IPv4"]},
        config=DUAL,
    ),
    DefaultCase(
        "initIPFamilyFields: families inferred from requested clusterIPs",
        simple(clusterIP="fd00:10:96::a"),
        {"ipFamilyPolicy": "SingleStack", "ipFamilies": ["IPv6"]},
        config=DUAL,
    ),
    DefaultCase(
        "initIPFamilyFields: RequireDualStack with one family appends the other",
        simple(ipFamilyPolicy="RequireDualStack", ipFamilies=["IPv6"]),
        {"ipFamilies": ["IPv6", "IPv4"]},
        config=DUAL,
    ),
    DefaultCase(
        "patchAllocatedValues: clusterIP and clusterIPs kept when omitted on update",
        simple(),
        {"clusterIP": "10.96.0.10", "clusterIPs": ["10.96.0.10"]},
        old=stored(simple()),
    ),
    DefaultCase(
        "patchAllocatedValues: nodePorts kept by port name when omitted on update",
        {"type": "NodePort", "selector": WEB, "ports": [{"name": "http", "port": 8080}]},
        {
            "ports": [
                {
                    "name": "http",
                    "port": 8080,
                    "nodePort": 30080,
                    "protocol": "TCP",
                    "targetPort": 8080,
                }
            ]
        },
        old=OLD_NODEPORT,
    ),
    DefaultCase(
        "patchAllocatedValues: a renamed port gets no old nodePort (the allocator picks one)",
        {"type": "NodePort", "selector": WEB, "ports": [{"name": "web", "port": 80}]},
        {"ports": [{"name": "web", "port": 80, "protocol": "TCP", "targetPort": 80}]},
        old=OLD_NODEPORT,
    ),
    DefaultCase(
        "patchAllocatedValues: a nodePort already used by another port is not reused",
        {
            "type": "NodePort",
            "selector": WEB,
            "ports": [{"name": "http", "port": 80}, {"name": "x", "port": 81, "nodePort": 30080}],
        },
        {
            "ports": [
                {"name": "http", "port": 80, "protocol": "TCP", "targetPort": 80},
                {"name": "x", "port": 81, "nodePort": 30080, "protocol": "TCP", "targetPort": 81},
            ]
        },
        old=OLD_NODEPORT,
    ),
    DefaultCase(
        "patchAllocatedValues: healthCheckNodePort kept when omitted on update",
        simple(
            type="LoadBalancer", externalTrafficPolicy="Local", loadBalancerClass="example.com/lb"
        ),
        {
            "healthCheckNodePort": 30100,
            "ports": [{"port": 80, "nodePort": 30080, "protocol": "TCP", "targetPort": 80}],
        },
        old=OLD_LB_LOCAL,
    ),
    DefaultCase(
        "initIPFamilyFields: ipFamilyPolicy kept from the old object on update",
        simple(),
        {
            "ipFamilyPolicy": "RequireDualStack",
            "ipFamilies": ["IPv4", "IPv6"],
            "clusterIPs": ["10.96.0.10", "fd00:10:96::a"],
        },
        config=DUAL,
        old=OLD_DUAL,
    ),
    DefaultCase(
        "initIPFamilyFields: SingleStack with unchanged lists downgrades to the primary",
        {**OLD_DUAL["spec"], "ipFamilyPolicy": "SingleStack"},
        {"clusterIP": "10.96.0.10", "clusterIPs": ["10.96.0.10"], "ipFamilies": ["IPv4"]},
        config=DUAL,
        old=OLD_DUAL,
    ),
    DefaultCase(
        "normalizeClusterIPs: an old client clearing clusterIP clears clusterIPs",
        {
            **stored(simple())["spec"],
            "type": "ExternalName",
            "externalName": "db.example.com",
            "clusterIP": "",
        },
        {"type": "ExternalName", "clusterIP": ""},
        absent=("clusterIPs", "ipFamilies", "ipFamilyPolicy"),
        old=stored(simple()),
    ),
    DefaultCase(
        "dropTypeDependentFields: ClusterIP to ExternalName drops unchanged IP fields",
        {**stored(simple())["spec"], "type": "ExternalName", "externalName": "db.example.com"},
        {"type": "ExternalName"},
        absent=("clusterIP", "clusterIPs", "ipFamilies", "ipFamilyPolicy"),
        old=stored(simple()),
    ),
    DefaultCase(
        "dropTypeDependentFields: NodePort to ClusterIP drops unchanged nodePorts and "
        "externalTrafficPolicy",
        {**OLD_NODEPORT["spec"], "type": "ClusterIP"},
        {"ports": [{"name": "http", "port": 80, "protocol": "TCP", "targetPort": 80}]},
        absent=("externalTrafficPolicy",),
        old=OLD_NODEPORT,
    ),
    DefaultCase(
        "dropTypeDependentFields: LoadBalancer to ClusterIP drops LB-only fields and LB status",
        {**OLD_LB_LOCAL["spec"], "type": "ClusterIP"},
        {"type": "ClusterIP"},
        absent=(
            "allocateLoadBalancerNodePorts",
            "loadBalancerClass",
            "healthCheckNodePort",
            "externalTrafficPolicy",
        ),
        old=OLD_LB_LOCAL,
        status={"loadBalancer": {"ingress": [{"ip": "192.0.2.1", "ipMode": "VIP"}]}},
        want_status={"loadBalancer": {}},
    ),
]


@pytest.mark.parametrize("case", DEFAULT_CASES, ids=lambda c: c.id)
def test_default(case: DefaultCase) -> None:
    obj = service(case.spec)
    if case.status is not None:
        obj["status"] = copy.deepcopy(case.status)
    old = copy.deepcopy(case.old)
    svc.default(obj, old, case.config)
    spec = obj["spec"]
    for key, value in case.want.items():
        assert spec.get(key) == value, key
    for key in case.absent:
        assert key not in spec, key
    if case.want_status is not None:
        assert obj["status"] == case.want_status
    assert old == case.old, "the old object is never modified"


def test_default_is_idempotent() -> None:
    """Defaulting a defaulted Service changes nothing (the API server may
    default an object it reads back)."""
    for case in DEFAULT_CASES:
        obj = service(case.spec)
        svc.default(obj, copy.deepcopy(case.old), case.config)
        again = copy.deepcopy(obj)
        svc.default(again, copy.deepcopy(case.old), case.config)
        assert again == obj, case.id


# --------------------------------------------------------------------------
# Validation on create


@dataclass(frozen=True)
class ValidateCase:
    id: str
    spec: dict[str, Any]
    want: list[str]
    config: ServiceConfig = V4
    annotations: dict[str, str] | None = None
    after_default: dict[str, Any] = field(default_factory=dict)  # set once defaulted


VALIDATE_CASES = [
    ValidateCase("ValidateService: a plain ClusterIP Service is valid", simple(), []),
    ValidateCase(
        "ValidateService: ports are required",
        {"selector": WEB},
        ["spec.ports: Required value"],
    ),
    ValidateCase(
        "ValidateService: a headless Service may have no ports", {"clusterIP": "None"}, []
    ),
    ValidateCase(
        "ValidateService: an ExternalName Service may have no ports",
        {"type": "ExternalName", "externalName": "db.example.com"},
        [],
    ),
    # validateServicePort
    ValidateCase(
        "validateServicePort: port must be 1-65535",
        {"selector": WEB, "ports": [{"port": 65536, "targetPort": 80}]},
        [f"spec.ports[0].port: Invalid value: 65536: {PORT_RANGE}"],
    ),
    ValidateCase(
        "validateServicePort: a numeric targetPort must be 1-65535",
        {"selector": WEB, "ports": [{"port": 80, "targetPort": 65536}]},
        [f"spec.ports[0].targetPort: Invalid value: 65536: {PORT_RANGE}"],
    ),
    ValidateCase(
        "validateServicePort: a named targetPort is an IANA_SVC_NAME",
        {"selector": WEB, "ports": [{"port": 80, "targetPort": "http"}]},
        [],
    ),
    ValidateCase(
        "validateServicePort: IANA_SVC_NAME has at least one letter",
        {"selector": WEB, "ports": [{"port": 80, "targetPort": "8080"}]},
        ['spec.ports[0].targetPort: Invalid value: "8080": must contain at least one letter (a-z)'],
    ),
    ValidateCase(
        "validateServicePort: IANA_SVC_NAME is at most 15 characters of [-a-z0-9]",
        {"selector": WEB, "ports": [{"port": 80, "targetPort": "http_metrics_port"}]},
        [
            'spec.ports[0].targetPort: Invalid value: "http_metrics_port": '
            "must be no more than 15 characters",
            'spec.ports[0].targetPort: Invalid value: "http_metrics_port": '
            "must contain only alpha-numeric characters (a-z, 0-9), and hyphens (-)",
        ],
    ),
    ValidateCase(
        "validateServicePort: names are required on multi-port Services",
        {"selector": WEB, "ports": [{"port": 80}, {"port": 443}]},
        ["spec.ports[0].name: Required value", "spec.ports[1].name: Required value"],
    ),
    ValidateCase(
        "validateServicePort: a single port needs no name",
        {"selector": WEB, "ports": [{"port": 80}]},
        [],
    ),
    ValidateCase(
        "validateServicePort: names are DNS-1123 labels",
        {"selector": WEB, "ports": [{"name": "HTTP", "port": 80}]},
        [f'spec.ports[0].name: Invalid value: "HTTP": {LABEL_1123}'],
    ),
    ValidateCase(
        "validateServicePort: names are unique",
        {"selector": WEB, "ports": [{"name": "http", "port": 80}, {"name": "http", "port": 81}]},
        ['spec.ports[1].name: Duplicate value: "http"'],
    ),
    ValidateCase(
        "validateServicePort: protocol is TCP, UDP or SCTP",
        {"selector": WEB, "ports": [{"port": 80, "protocol": "ICMP"}]},
        [
            'spec.ports[0].protocol: Unsupported value: "ICMP": '
            'supported values: "SCTP", "TCP", "UDP"'
        ],
    ),
    ValidateCase(
        "validateServicePort: appProtocol is a qualified name",
        {"selector": WEB, "ports": [{"port": 80, "appProtocol": "-h2c"}]},
        [f'spec.ports[0].appProtocol: Invalid value: "-h2c": {QNAME_PART}'],
    ),
    ValidateCase(
        "ValidateService: duplicate (port, protocol) pairs are rejected",
        {"selector": WEB, "ports": [{"name": "a", "port": 80}, {"name": "b", "port": 80}]},
        ['spec.ports[1]: Duplicate value: {"port":80,"protocol":"TCP"}'],
    ),
    ValidateCase(
        "ValidateService: one port number over two protocols is fine",
        {
            "selector": WEB,
            "ports": [
                {"name": "dns", "port": 53, "protocol": "UDP"},
                {"name": "dns-tcp", "port": 53},
            ],
        },
        [],
    ),
    # selector
    ValidateCase(
        "ValidateService: selector keys are qualified names",
        {"selector": {"bad key": "web"}, "ports": [{"port": 80}]},
        [f'spec.selector: Invalid value: "bad key": {QNAME_PART}'],
    ),
    ValidateCase(
        "ValidateService: selector values are label values",
        {"selector": {"app": "-web"}, "ports": [{"port": 80}]},
        [
            'spec.selector: Invalid value: "-web": a valid label must be an empty string or '
            "consist of alphanumeric characters, '-', '_' or '.', and must start and end with "
            "an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', regex "
            "used for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')"
        ],
    ),
    # sessionAffinity
    ValidateCase(
        "ValidateService: sessionAffinity is ClientIP or None",
        simple(sessionAffinity="Sticky"),
        ['spec.sessionAffinity: Unsupported value: "Sticky": supported values: "ClientIP", "None"'],
    ),
    ValidateCase(
        "validateAffinityTimeout: timeoutSeconds must be > 0",
        simple(
            sessionAffinity="ClientIP", sessionAffinityConfig={"clientIP": {"timeoutSeconds": 0}}
        ),
        [
            "spec.sessionAffinityConfig.clientIP.timeoutSeconds: Invalid value: 0: "
            "must be greater than 0 and less than 86400"
        ],
    ),
    ValidateCase(
        "validateAffinityTimeout: timeoutSeconds must be <= 86400",
        simple(
            sessionAffinity="ClientIP",
            sessionAffinityConfig={"clientIP": {"timeoutSeconds": 86401}},
        ),
        [
            "spec.sessionAffinityConfig.clientIP.timeoutSeconds: Invalid value: 86401: "
            "must be greater than 0 and less than 86400"
        ],
    ),
    ValidateCase(
        "validateAffinityTimeout: 86400 itself is allowed",
        simple(
            sessionAffinity="ClientIP",
            sessionAffinityConfig={"clientIP": {"timeoutSeconds": 86400}},
        ),
        [],
    ),
    ValidateCase(
        "ValidateService: sessionAffinityConfig forbidden when affinity is None",
        simple(),
        ["spec.sessionAffinityConfig: Forbidden: must not be set when session affinity is None"],
        after_default={"sessionAffinityConfig": {"clientIP": {"timeoutSeconds": 60}}},
    ),
    ValidateCase(
        "validateClientIPAffinityConfig: config required for ClientIP",
        simple(sessionAffinity="ClientIP"),
        ["spec.sessionAffinityConfig: Required value: when session affinity type is ClientIP"],
        after_default={"sessionAffinityConfig": None},
    ),
    # clusterIP / clusterIPs
    ValidateCase(
        "allocator ErrNotInRange: a requested clusterIP must be in the service CIDR",
        simple(clusterIP="1.2.3.4"),
        [
            'spec.clusterIPs[0]: Invalid value: "1.2.3.4": the provided IP (1.2.3.4) is not in '
            "the valid range. The range of valid IPs is 10.96.0.0/16"
        ],
    ),
    ValidateCase(
        "allocator ErrNotInRange: the network address is never allocated",
        simple(clusterIP="10.96.0.0"),
        [
            'spec.clusterIPs[0]: Invalid value: "10.96.0.0": the provided IP (10.96.0.0) is not '
            "in the valid range. The range of valid IPs is 10.96.0.0/16"
        ],
    ),
    ValidateCase(
        "allocator ErrNotInRange: nor the IPv4 broadcast address",
        simple(clusterIP="10.96.255.255"),
        [
            'spec.clusterIPs[0]: Invalid value: "10.96.255.255": the provided IP (10.96.255.255) '
            "is not in the valid range. The range of valid IPs is 10.96.0.0/16"
        ],
    ),
    ValidateCase(
        "allocator ErrNotInRange: a secondary IP must be in its own family's CIDR",
        simple(
            clusterIP="10.96.0.10",
            clusterIPs=["10.96.0.10", "fd00::1"],
            ipFamilyPolicy="RequireDualStack",
        ),
        [
            'spec.clusterIPs[1]: Invalid value: "fd00::1": the provided IP (fd00::1) is not in '
            "the valid range. The range of valid IPs is fd00:10:96::/112"
        ],
        config=DUAL,
    ),
    ValidateCase(
        "ValidateService: a clusterIP in range is valid", simple(clusterIP="10.96.0.10"), []
    ),
    ValidateCase(
        "ValidateServiceClusterIPsRelatedFields: clusterIPs must be valid IPs",
        simple(clusterIP="10.96.0.300"),
        [f'spec.clusterIPs[0]: Invalid value: "10.96.0.300": {BAD_IP}'],
    ),
    ValidateCase(
        "ValidateServiceClusterIPsRelatedFields: clusterIPs[0] must match clusterIP",
        simple(clusterIP="10.96.0.10", clusterIPs=["10.96.0.11"]),
        [
            'spec.clusterIPs: Invalid value: []string{"10.96.0.11"}: first value must match `clusterIP`'
        ],
    ),
    ValidateCase(
        "ValidateServiceClusterIPsRelatedFields: clusterIPs need clusterIP",
        simple(clusterIPs=["10.96.0.11"]),
        [
            'spec.clusterIPs: Invalid value: []string{"10.96.0.11"}: '
            "must be empty when `clusterIP` is not specified"
        ],
    ),
    ValidateCase(
        "ValidateServiceClusterIPsRelatedFields: 'None' must be the first and only value",
        simple(clusterIP="None", clusterIPs=["None", "10.96.0.10"]),
        [
            'spec.clusterIPs: Invalid value: []string{"None", "10.96.0.10"}: '
            "'None' must be the first and only value"
        ],
    ),
    ValidateCase(
        "ValidateServiceClusterIPsRelatedFields: at most two clusterIPs",
        simple(
            clusterIP="10.96.0.10",
            clusterIPs=["10.96.0.10", "fd00:10:96::a", "10.96.0.11"],
            ipFamilyPolicy="RequireDualStack",
        ),
        [
            'spec.clusterIPs: Invalid value: []string{"10.96.0.10", "fd00:10:96::a", "10.96.0.11"}: '
            "may only hold up to 2 values"
        ],
        config=DUAL,
    ),
    ValidateCase(
        "ValidateServiceClusterIPsRelatedFields: one IP per family",
        simple(
            clusterIP="10.96.0.10",
            clusterIPs=["10.96.0.10", "10.96.0.11"],
            ipFamilyPolicy="RequireDualStack",
        ),
        [
            'spec.clusterIPs: Invalid value: []string{"10.96.0.10", "10.96.0.11"}: '
            "may specify no more than one IP for each IP family"
        ],
        config=DUAL,
    ),
    ValidateCase(
        "ValidateServiceClusterIPsRelatedFields: clusterIPs match ipFamilies",
        simple(clusterIP="fd00:10:96::a", ipFamilies=["IPv4"]),
        [
            'spec.clusterIPs[0]: Invalid value: "fd00:10:96::a": '
            "expected an IPv4 value as indicated by `ipFamilies[0]`"
        ],
        config=DUAL,
    ),
    ValidateCase(
        "initIPFamilyFields: a requested IP of a family the cluster lacks",
        simple(clusterIP="fd00::1"),
        [
            'spec.clusterIPs[0]: Invalid value: []string{"fd00::1"}: IPv6 is not configured on this cluster'
        ],
    ),
    ValidateCase(
        "ValidateService: headless NodePort is forbidden",
        simple(type="NodePort", clusterIP="None"),
        [
            "spec.clusterIPs[0]: Invalid value: \"None\": may not be set to 'None' for NodePort services"
        ],
    ),
    ValidateCase(
        "ValidateService: headless LoadBalancer is forbidden",
        simple(type="LoadBalancer", clusterIP="None"),
        [
            'spec.clusterIPs[0]: Invalid value: "None": '
            "may not be set to 'None' for LoadBalancer services"
        ],
    ),
    # ipFamilies / ipFamilyPolicy
    ValidateCase(
        "ValidateServiceClusterIPsRelatedFields: ipFamilies are IPv4 or IPv6",
        simple(ipFamilies=["IPv5"]),
        ['spec.ipFamilies[0]: Unsupported value: "IPv5": supported values: "IPv4", "IPv6"'],
    ),
    ValidateCase(
        "ValidateServiceClusterIPsRelatedFields: ipFamilies are unique",
        simple(ipFamilies=["IPv4", "IPv4"], ipFamilyPolicy="PreferDualStack"),
        ['spec.ipFamilies[1]: Duplicate value: "IPv4"'],
        config=DUAL,
    ),
    ValidateCase(
        "ValidateServiceClusterIPsRelatedFields: ipFamilyPolicy values",
        simple(ipFamilyPolicy="DualStack"),
        [
            'spec.ipFamilyPolicy: Unsupported value: "DualStack": supported values: '
            '"PreferDualStack", "RequireDualStack", "SingleStack"'
        ],
    ),
    ValidateCase(
        "initIPFamilyFields: SingleStack takes exactly one family",
        simple(ipFamilies=["IPv4", "IPv6"]),
        [
            "spec.ipFamilyPolicy: Invalid value: \"SingleStack\": must be 'RequireDualStack' or "
            "'PreferDualStack' when multiple IP families are specified"
        ],
        config=DUAL,
    ),
    ValidateCase(
        "initIPFamilyFields: SingleStack takes exactly one clusterIP",
        simple(clusterIP="10.96.0.10", clusterIPs=["10.96.0.10", "fd00:10:96::a"]),
        [
            "spec.ipFamilyPolicy: Invalid value: \"SingleStack\": must be 'RequireDualStack' or "
            "'PreferDualStack' when multiple cluster IPs are specified"
        ],
        config=DUAL,
    ),
    ValidateCase(
        "initIPFamilyFields: RequireDualStack needs a dual-stack cluster",
        simple(ipFamilyPolicy="RequireDualStack"),
        [
            'spec.ipFamilyPolicy: Invalid value: "RequireDualStack": '
            "this cluster is not configured for dual-stack services"
        ],
    ),
    ValidateCase(
        "initIPFamilyFields: RequireDualStack gets two families on a dual-stack cluster",
        simple(ipFamilyPolicy="RequireDualStack"),
        [],
        config=DUAL,
    ),
    ValidateCase(
        "initIPFamilyFields: requested families must be configured",
        simple(ipFamilies=["IPv6"]),
        ['spec.ipFamilies[0]: Invalid value: "IPv6": not configured on this cluster'],
    ),
    # ExternalName
    ValidateCase(
        "ValidateService: ExternalName requires externalName",
        {"type": "ExternalName"},
        ["spec.externalName: Required value"],
    ),
    ValidateCase(
        "ValidateService: externalName is a lowercase DNS-1123 subdomain",
        {"type": "ExternalName", "externalName": "DB.example.com"},
        [f'spec.externalName: Invalid value: "DB.example.com": {SUBDOMAIN}'],
    ),
    ValidateCase(
        "ValidateService: externalName may end with a dot",
        {"type": "ExternalName", "externalName": "db.example.com."},
        [],
    ),
    ValidateCase(
        "ValidateService: ExternalName may not have a clusterIP",
        {"type": "ExternalName", "externalName": "db.example.com", "clusterIP": "10.96.0.10"},
        ["spec.clusterIPs: Forbidden: may not be set for ExternalName services"],
    ),
    ValidateCase(
        'ValidateService: ExternalName with clusterIP "" is fine',
        {"type": "ExternalName", "externalName": "db.example.com", "clusterIP": ""},
        [],
    ),
    ValidateCase(
        "ValidateService: ExternalName may not have ipFamilies nor ipFamilyPolicy",
        {
            "type": "ExternalName",
            "externalName": "db.example.com",
            "ipFamilies": ["IPv4"],
            "ipFamilyPolicy": "SingleStack",
        },
        [
            "spec.ipFamilies: Forbidden: may not be set for ExternalName services",
            "spec.ipFamilyPolicy: Forbidden: may not be set for ExternalName services",
        ],
    ),
    # type
    ValidateCase(
        "ValidateService: type values",
        simple(type="Foo"),
        [
            'spec.type: Unsupported value: "Foo": supported values: "ClusterIP", '
            '"ExternalName", "LoadBalancer", "NodePort"'
        ],
    ),
    # nodePort
    ValidateCase(
        "ValidateService: nodePort may not be set on a ClusterIP Service",
        {"selector": WEB, "ports": [{"port": 80, "nodePort": 30080}]},
        ["spec.ports[0].nodePort: Forbidden: may not be used when `type` is 'ClusterIP'"],
    ),
    ValidateCase(
        "portallocator ErrNotInRange: a requested nodePort must be in the NodePort range",
        {"type": "NodePort", "selector": WEB, "ports": [{"port": 80, "nodePort": 80}]},
        [f"spec.ports[0].nodePort: Invalid value: 80: {NOT_IN_NODE_PORT_RANGE}"],
    ),
    ValidateCase(
        "portallocator ErrNotInRange: the range is the cluster's",
        {"type": "NodePort", "selector": WEB, "ports": [{"port": 80, "nodePort": 30080}]},
        [
            "spec.ports[0].nodePort: Invalid value: 30080: provided port is not in the valid "
            "range. The range of valid ports is 20000-20100"
        ],
        config=SMALL_PORTS,
    ),
    ValidateCase(
        "ValidateService: nodePorts are unique per protocol",
        {
            "type": "NodePort",
            "selector": WEB,
            "ports": [
                {"name": "a", "port": 80, "nodePort": 30080},
                {"name": "b", "port": 81, "nodePort": 30080},
                {"name": "c", "port": 82, "nodePort": 30080, "protocol": "UDP"},
            ],
        },
        ["spec.ports[1].nodePort: Duplicate value: 30080"],
    ),
    # healthCheckNodePort
    ValidateCase(
        "validateServiceExternalTrafficPolicy: healthCheckNodePort only for LoadBalancer + Local",
        simple(type="LoadBalancer", healthCheckNodePort=30100),
        [
            "spec.healthCheckNodePort: Invalid value: 30100: may only be set when `type` is "
            "'LoadBalancer' and `externalTrafficPolicy` is 'Local'"
        ],
    ),
    ValidateCase(
        "validateServiceExternalTrafficPolicy: healthCheckNodePort is a port number",
        simple(type="LoadBalancer", externalTrafficPolicy="Local", healthCheckNodePort=65536),
        [f"spec.healthCheckNodePort: Invalid value: 65536: {PORT_RANGE}"],
    ),
    ValidateCase(
        "allocHealthCheckNodePort: a requested healthCheckNodePort must be in the NodePort range",
        simple(type="LoadBalancer", externalTrafficPolicy="Local", healthCheckNodePort=80),
        [
            "spec.healthCheckNodePort: Invalid value: 80: failed to allocate requested "
            f"HealthCheck NodePort 80: {NOT_IN_NODE_PORT_RANGE}"
        ],
    ),
    ValidateCase(
        "allocHealthCheckNodePort: an omitted healthCheckNodePort is the allocator's to fill",
        simple(type="LoadBalancer", externalTrafficPolicy="Local"),
        [],
    ),
    # traffic policies and distribution
    ValidateCase(
        "validateServiceExternalTrafficPolicy: only for externally-accessible Services",
        simple(externalTrafficPolicy="Local"),
        [
            'spec.externalTrafficPolicy: Invalid value: "Local": '
            "may only be set for externally-accessible services"
        ],
    ),
    ValidateCase(
        "validateServiceExternalTrafficPolicy: ClusterIP with externalIPs is externally accessible",
        simple(externalIPs=["192.0.2.10"], externalTrafficPolicy="Local"),
        [],
    ),
    ValidateCase(
        "validateServiceExternalTrafficPolicy: values Cluster and Local",
        simple(type="NodePort", externalTrafficPolicy="Global"),
        [
            'spec.externalTrafficPolicy: Unsupported value: "Global": '
            'supported values: "Cluster", "Local"'
        ],
    ),
    ValidateCase(
        "validateServiceInternalTrafficFieldsValue: values Cluster and Local",
        simple(internalTrafficPolicy="Node"),
        [
            'spec.internalTrafficPolicy: Unsupported value: "Node": '
            'supported values: "Cluster", "Local"'
        ],
    ),
    ValidateCase(
        "validateServiceInternalTrafficFieldsValue: required for ClusterIP/NodePort/LoadBalancer",
        simple(),
        ["spec.internalTrafficPolicy: Required value"],
        after_default={"internalTrafficPolicy": None},
    ),
    ValidateCase(
        "validateServiceTrafficDistribution: PreferClose is supported",
        simple(trafficDistribution="PreferClose"),
        [],
    ),
    ValidateCase(
        "validateServiceTrafficDistribution: other values are not (PreferSameTrafficDistribution off)",
        simple(trafficDistribution="PreferSameZone"),
        [
            'spec.trafficDistribution: Unsupported value: "PreferSameZone": '
            'supported values: "PreferClose"'
        ],
    ),
    # loadBalancerSourceRanges
    ValidateCase(
        "ValidateService: loadBalancerSourceRanges are CIDRs (upstream's capitalised path)",
        simple(type="LoadBalancer", loadBalancerSourceRanges=[" 10.0.0.0/8 ", "10.0.0.0/33"]),
        [
            'spec.LoadBalancerSourceRanges[1]: Invalid value: "10.0.0.0/33": '
            "must be a valid CIDR value, (e.g. 10.9.8.0/24 or 2001:db8::/64)"
        ],
    ),
    ValidateCase(
        "ValidateService: loadBalancerSourceRanges only for LoadBalancer",
        simple(loadBalancerSourceRanges=["10.0.0.0/8"]),
        [f"spec.LoadBalancerSourceRanges: Forbidden: {ONLY_LB}"],
    ),
    ValidateCase(
        "ValidateService: the source-ranges annotation is checked too",
        simple(type="LoadBalancer"),
        [
            "metadata.annotations[service.beta.kubernetes.io/load-balancer-source-ranges]: "
            'Invalid value: "nope": must be a valid CIDR value, (e.g. 10.9.8.0/24 or 2001:db8::/64)'
        ],
        annotations={"service.beta.kubernetes.io/load-balancer-source-ranges": "10.0.0.0/8, nope"},
    ),
    # externalIPs
    ValidateCase(
        "ValidateService: externalIPs are IPs",
        simple(externalIPs=["1.2.3"]),
        [f'spec.externalIPs[0]: Invalid value: "1.2.3": {BAD_IP}'],
    ),
    ValidateCase(
        "ValidateEndpointIP: externalIPs may not be loopback",
        simple(externalIPs=["127.0.0.1"]),
        [
            'spec.externalIPs[0]: Invalid value: "127.0.0.1": '
            "may not be in the loopback range (127.0.0.0/8, ::1/128)"
        ],
    ),
    # allocateLoadBalancerNodePorts / loadBalancerClass
    ValidateCase(
        "ValidateService: allocateLoadBalancerNodePorts only for LoadBalancer",
        simple(type="NodePort", allocateLoadBalancerNodePorts=True),
        [f"spec.allocateLoadBalancerNodePorts: Forbidden: {ONLY_LB}"],
    ),
    ValidateCase(
        "ValidateService: LoadBalancer requires allocateLoadBalancerNodePorts (upstream path "
        "without spec.)",
        simple(type="LoadBalancer"),
        ["allocateLoadBalancerNodePorts: Required value"],
        after_default={"allocateLoadBalancerNodePorts": None},
    ),
    ValidateCase(
        "validateLoadBalancerClassField: only for LoadBalancer",
        simple(loadBalancerClass="example.com/lb"),
        [f"spec.loadBalancerClass: Forbidden: {ONLY_LB}"],
    ),
    ValidateCase(
        "validateLoadBalancerClassField: a qualified name",
        simple(type="LoadBalancer", loadBalancerClass="example.com/-lb"),
        [f'spec.loadBalancerClass: Invalid value: "example.com/-lb": {QNAME_PART}'],
    ),
    ValidateCase(
        "validateLoadBalancerClassField: valid class",
        simple(type="LoadBalancer", loadBalancerClass="example.com/lb"),
        [],
    ),
    # annotations
    ValidateCase(
        "ValidateService: topology-mode must match topology-aware-hints when both are set",
        simple(),
        [
            "metadata.annotations[service.kubernetes.io/topology-mode]: Invalid value: "
            '"Auto": must match annotations[service.kubernetes.io/topology-aware-hints] '
            "when both are specified"
        ],
        annotations={
            "service.kubernetes.io/topology-mode": "Auto",
            "service.kubernetes.io/topology-aware-hints": "Disabled",
        },
    ),
]


@pytest.mark.parametrize("case", VALIDATE_CASES, ids=lambda c: c.id)
def test_validate_create(case: ValidateCase) -> None:
    obj = service(case.spec, case.annotations)
    svc.default(obj, config=case.config)
    for key, value in case.after_default.items():
        if value is None:
            obj["spec"].pop(key, None)
        else:
            obj["spec"][key] = value
    before = copy.deepcopy(obj)
    errs = svc.validate(obj, case.config)
    assert messages(errs) == case.want
    for err, want in zip(errs, case.want, strict=True):
        assert want.startswith(err.field + ": "), "the message leads with the field path"
    assert obj == before, "validation never mutates"


# --------------------------------------------------------------------------
# Validation on update


@dataclass(frozen=True)
class UpdateCase:
    id: str
    old: dict[str, Any]  # as stored
    spec: dict[str, Any]  # the new spec as the client sends it
    want: list[str]
    config: ServiceConfig = V4
    after_default: dict[str, Any] = field(default_factory=dict)


OLD_CLUSTER_IP = stored(simple())
OLD_EXTERNAL_NAME = stored({"type": "ExternalName", "externalName": "db.example.com"})
OLD_HEADLESS = stored(simple(clusterIP="None"), ips=[], config=DUAL)
OLD_PREFER_DUAL = stored(
    simple(ipFamilyPolicy="PreferDualStack"), ips=["10.96.0.10", "fd00:10:96::a"], config=DUAL
)

UPDATE_CASES = [
    UpdateCase(
        "patchAllocatedValues: resubmitting the create YAML is a valid update",
        OLD_CLUSTER_IP,
        simple(),
        [],
    ),
    UpdateCase(
        "validateUpgradeDowngradeClusterIPs: clusterIP may not change",
        OLD_CLUSTER_IP,
        simple(clusterIP="10.96.0.20"),
        ['spec.clusterIPs[0]: Invalid value: []string{"10.96.0.20"}: may not change once set'],
    ),
    UpdateCase(
        "validateUpgradeDowngradeClusterIPs: the primary clusterIP can not be unset",
        OLD_CLUSTER_IP,
        simple(),
        ["spec.clusterIPs[0]: Invalid value: null: primary clusterIP can not be unset"],
        after_default={"clusterIP": None, "clusterIPs": None},
    ),
    UpdateCase(
        "ValidateServiceUpdate: ClusterIP to ExternalName drops and releases the clusterIP",
        OLD_CLUSTER_IP,
        {**OLD_CLUSTER_IP["spec"], "type": "ExternalName", "externalName": "db.example.com"},
        [],
    ),
    UpdateCase(
        "ValidateServiceUpdate: ClusterIP to ExternalName with only the new fields",
        OLD_CLUSTER_IP,
        {"type": "ExternalName", "externalName": "db.example.com"},
        [],
    ),
    UpdateCase(
        "ValidateServiceUpdate: ExternalName to ClusterIP may request a clusterIP",
        OLD_EXTERNAL_NAME,
        simple(clusterIP="10.96.0.30"),
        [],
    ),
    UpdateCase(
        "ValidateServiceUpdate: ExternalName to ClusterIP checks the requested IP's range",
        OLD_EXTERNAL_NAME,
        simple(clusterIP="10.97.0.30"),
        [
            'spec.clusterIPs[0]: Invalid value: "10.97.0.30": the provided IP (10.97.0.30) is '
            "not in the valid range. The range of valid IPs is 10.96.0.0/16"
        ],
    ),
    UpdateCase(
        "ValidateServiceUpdate: NodePort to ClusterIP drops unchanged nodePorts",
        OLD_NODEPORT,
        {**OLD_NODEPORT["spec"], "type": "ClusterIP"},
        [],
    ),
    UpdateCase(
        "ValidateServiceUpdate: ClusterIP to NodePort is allowed",
        OLD_CLUSTER_IP,
        simple(type="NodePort"),
        [],
    ),
    UpdateCase(
        "portallocator: nodePorts the old object holds are not re-checked against the range",
        OLD_NODEPORT,
        OLD_NODEPORT["spec"],
        [],
        config=SMALL_PORTS,
    ),
    UpdateCase(
        "allocator: clusterIPs the old object holds are not re-checked against the range",
        OLD_CLUSTER_IP,
        simple(),
        [],
        config=ServiceConfig(cidrs=("10.97.0.0/16",)),
    ),
    UpdateCase(
        "validateUpgradeDowngradeIPFamilies: upgrade to RequireDualStack adds the secondary family",
        OLD_CLUSTER_IP,
        simple(ipFamilyPolicy="RequireDualStack"),
        [],
        config=DUAL,
    ),
    UpdateCase(
        "initIPFamilyFields: releasing the secondary clusterIP needs SingleStack",
        OLD_DUAL,
        {**OLD_DUAL["spec"], "clusterIPs": ["10.96.0.10"]},
        [
            'spec.ipFamilyPolicy: Invalid value: "RequireDualStack": '
            "must be 'SingleStack' to release the secondary cluster IP"
        ],
        config=DUAL,
    ),
    UpdateCase(
        "initIPFamilyFields: releasing the secondary family needs SingleStack",
        OLD_DUAL,
        {**OLD_DUAL["spec"], "ipFamilies": ["IPv4"]},
        [
            'spec.ipFamilyPolicy: Invalid value: "RequireDualStack": '
            "must be 'SingleStack' to release the secondary IP family"
        ],
        config=DUAL,
    ),
    UpdateCase(
        "validateUpgradeDowngradeClusterIPs: downgrade with SingleStack releases the secondary",
        OLD_DUAL,
        {**OLD_DUAL["spec"], "ipFamilyPolicy": "SingleStack"},
        [],
        config=DUAL,
    ),
    UpdateCase(
        "validateUpgradeDowngradeIPFamilies: the primary family may not change",
        OLD_CLUSTER_IP,
        simple(ipFamilies=["IPv6", "IPv4"], ipFamilyPolicy="RequireDualStack"),
        [
            'spec.clusterIPs[0]: Invalid value: "10.96.0.10": '
            "expected an IPv6 value as indicated by `ipFamilies[0]`"
        ],
        config=DUAL,
    ),
    UpdateCase(
        "validateUpgradeDowngradeIPFamilies: a headless Service may change families",
        OLD_HEADLESS,
        simple(clusterIP="None", ipFamilies=["IPv6"]),
        [],
        config=DUAL,
    ),
    UpdateCase(
        "isMatchingPreferDualStackClusterIPFields: an unchanged PreferDualStack Service "
        "survives the cluster turning single-stack",
        OLD_PREFER_DUAL,
        OLD_PREFER_DUAL["spec"],
        [],
        config=V4,
    ),
    UpdateCase(
        "validateServiceExternalTrafficFieldsUpdate: healthCheckNodePort is immutable",
        OLD_LB_LOCAL,
        {**OLD_LB_LOCAL["spec"], "healthCheckNodePort": 30200},
        ["spec.healthCheckNodePort: Forbidden: field is immutable"],
    ),
    UpdateCase(
        "validateLoadBalancerClassField: loadBalancerClass may not change",
        OLD_LB_LOCAL,
        {**OLD_LB_LOCAL["spec"], "loadBalancerClass": "example.com/other"},
        ['spec.loadBalancerClass: Invalid value: "example.com/other": may not change once set'],
    ),
    UpdateCase(
        "ValidateServiceUpdate: LoadBalancer to ClusterIP drops LB-only fields",
        OLD_LB_LOCAL,
        {**OLD_LB_LOCAL["spec"], "type": "ClusterIP"},
        [],
    ),
]


@pytest.mark.parametrize("case", UPDATE_CASES, ids=lambda c: c.id)
def test_validate_update(case: UpdateCase) -> None:
    old = copy.deepcopy(case.old)
    new = service(case.spec)
    svc.default(new, old, case.config)
    for key, value in case.after_default.items():
        if value is None:
            new["spec"].pop(key, None)
        else:
            new["spec"][key] = value
    errs = svc.validate(new, case.config, old=old)
    assert messages(errs) == case.want
    assert old == case.old, "the old object is never modified"
    # Machinery that adds validate(new) and validate_update(new, old) sees
    # every update error, each once.
    split = svc.validate(new, case.config) + svc.validate_update(new, old, case.config)
    assert set(case.want) <= set(messages(split))
    assert len(messages(split)) == len(set(messages(split)))


def test_validate_update_reports_only_what_the_update_adds() -> None:
    """validate_update's list is disjoint from validate(new)'s."""
    new = service(simple(clusterIP="10.96.0.20", externalIPs=["127.0.0.1"]))
    svc.default(new, OLD_CLUSTER_IP)
    assert messages(svc.validate_update(new, OLD_CLUSTER_IP)) == [
        'spec.clusterIPs[0]: Invalid value: []string{"10.96.0.20"}: may not change once set'
    ]
    assert messages(svc.validate(new)) == [
        'spec.externalIPs[0]: Invalid value: "127.0.0.1": '
        "may not be in the loopback range (127.0.0.0/8, ::1/128)"
    ]


def test_update_wired_through_prepare_update() -> None:
    """The kind table's ``default`` hook gets no old object; calling
    ``default(new, old, config)`` from ``prepare_update`` first (then the
    plain hook, then validate + validate_update) gives upstream's update: a
    PUT without clusterIP/ipFamilyPolicy keeps the allocated dual-stack IPs."""
    new = service(simple())
    svc.default(new, OLD_DUAL, DUAL)  # prepare_update(new, old)
    svc.default(new, config=DUAL)  # the generic default(new)
    assert svc.validate(new, DUAL) + svc.validate_update(new, OLD_DUAL, DUAL) == []
    assert new["spec"]["clusterIPs"] == ["10.96.0.10", "fd00:10:96::a"]
    assert new["spec"]["ipFamilyPolicy"] == "RequireDualStack"


def test_default_config_wrappers_bind_with_partial() -> None:
    """The API server binds its config once; the wrappers take it as a keyword."""
    import functools

    default = functools.partial(svc.default, config=DUAL)
    validate = functools.partial(svc.validate, config=DUAL)
    obj = service(simple(ipFamilyPolicy="RequireDualStack"))
    default(obj)
    assert obj["spec"]["ipFamilies"] == ["IPv4", "IPv6"]
    assert validate(obj) == []


@pytest.mark.parametrize(
    ("cidrs", "ports"),
    [
        pytest.param(
            ("10.96.0.0/16", "10.97.0.0/16"), (30000, 32767), id="two CIDRs of one family"
        ),
        pytest.param(
            ("10.96.0.0/16", "fd00::/112", "10.97.0.0/16"), (30000, 32767), id="three CIDRs"
        ),
        pytest.param(("10.96.0.0/33",), (30000, 32767), id="bad CIDR"),
        pytest.param(("10.96.0.0/16",), (32767, 30000), id="empty port range"),
    ],
)
def test_service_config_rejects_bad_settings(
    cidrs: tuple[str, ...], ports: tuple[int, int]
) -> None:
    with pytest.raises(ValueError):
        ServiceConfig(cidrs=cidrs, node_port_range=ports)


def test_service_config_families_primary_first() -> None:
    assert V4.families == ("IPv4",)
    assert DUAL.families == ("IPv4", "IPv6")
    assert V6_DUAL.families == ("IPv6", "IPv4")
