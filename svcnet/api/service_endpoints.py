"""Endpoints (core/v1) and EndpointSlice (discovery.k8s.io/v1) defaulting
and validation.

Theory of operation: endpoint addresses are where a Service's traffic is
sent, so upstream refuses addresses that make no sense as a destination
(`validate_endpoint_ip`, upstream ``ValidateEndpointIP``): unspecified,
loopback, link-local unicast and link-local multicast. The same check guards
a Service's externalIPs.

svcnet adds one rule upstream only documents ("Endpoint IP addresses cannot
be the cluster IPs of other Kubernetes Services, because kube-proxy doesn't
support virtual IPs as a destination"): an address may not be a Service's
ClusterIP. Whether it is needs the API server's state, so callers pass a
lookup ``is_cluster_ip(ip) -> bool``; the default knows no Service.

Defaulting (`default_endpoints`, `default_endpointslice`) fills what Go's
defaulting fills (port protocol TCP, slice port name ""); validation judges
ports as if it had run, so an omitted protocol is never "Required".
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, Final

from svcnet.api.service_config import PROTOCOLS, Obj, go_ip
from svcnet.api.validation import (
    FIELD_IMMUTABLE,
    FieldError,
    Path,
    duplicate,
    invalid,
    is_dns1123_label,
    is_dns1123_subdomain,
    is_qualified_name,
    is_valid_ip,
    is_valid_label_value,
    is_valid_port_num,
    not_supported,
    required,
    too_many,
    validate_labels,
)

IsClusterIP = Callable[[str], bool]

ADDRESS_TYPES: Final = ("FQDN", "IPv4", "IPv6")  # sorted, as upstream lists them
MAX_ENDPOINTS: Final = 1000
MAX_ADDRESSES: Final = 100
MAX_PORTS: Final = 20000  # upstream raised it from 100 to 20000
MAX_TOPOLOGY_LABELS: Final = 16
MAX_ZONE_HINTS: Final = 8
MAX_NODE_HINTS: Final = 8
CLUSTER_IP_MESSAGE: Final = "may not be a cluster IP of a Service"


def no_cluster_ips(ip: str) -> bool:
    """The default lookup: no address is a Service's ClusterIP."""
    return False


def _is_link_local_multicast(ip: Any) -> bool:
    # Go's IsLinkLocalMulticast: 224.0.0.0/24, or ffX2::/16 for any flags X.
    packed = ip.packed
    if ip.version == 4:
        return packed[:3] == b"\xe0\x00\x00"
    return packed[0] == 0xFF and packed[1] & 0x0F == 0x02


def validate_endpoint_ip(value: str, path: Path | str) -> list[FieldError]:
    """Upstream ``ValidateEndpointIP``: a destination address, not a special one."""
    ip = go_ip(value)
    if ip is None:
        return [invalid(path, value, "must be a valid IP address")]
    errs: list[FieldError] = []
    if ip.is_unspecified:
        errs.append(invalid(path, value, f"may not be unspecified ({value})"))
    if ip.is_loopback:
        errs.append(invalid(path, value, "may not be in the loopback range (127.0.0.0/8, ::1/128)"))
    if ip.is_link_local:
        errs.append(
            invalid(path, value, "may not be in the link-local range (169.254.0.0/16, fe80::/10)")
        )
    if _is_link_local_multicast(ip):
        errs.append(
            invalid(
                path,
                value,
                "may not be in the link-local multicast range (224.0.0.0/24, ff02::/10)",
            )
        )
    return errs


def _not_cluster_ip(value: str, path: Path, is_cluster_ip: IsClusterIP) -> list[FieldError]:
    if go_ip(value) is not None and is_cluster_ip(value):
        return [invalid(path, value, CLUSTER_IP_MESSAGE)]
    return []


def _dns_label(value: str, path: Path) -> list[FieldError]:
    return [invalid(path, value, m) for m in is_dns1123_label(value)]


def _node_name(value: str, path: Path) -> list[FieldError]:
    # Upstream ValidateNodeName: a DNS subdomain.
    return [invalid(path, value, m) for m in is_dns1123_subdomain(value)]


def _protocol(port: Mapping[str, Any], path: Path) -> list[FieldError]:
    proto = port.get("protocol")
    if proto is None:
        return [required(path)]
    if proto not in PROTOCOLS:
        return [not_supported(path, proto, PROTOCOLS)]
    return []


def _app_protocol(port: Mapping[str, Any], path: Path) -> list[FieldError]:
    value = port.get("appProtocol")
    if value is None:
        return []
    return [invalid(path, value, m) for m in is_qualified_name(value)]


def _dicts(items: Any) -> list[Mapping[str, Any]]:
    return [x if isinstance(x, Mapping) else {} for x in items or []]


def _defaulted_ports(items: Any, defaults: Mapping[str, str], unset: tuple[Any, ...]) -> list[Obj]:
    """Ports as validation sees them after upstream's defaulting (callers may
    not have run it; validation never mutates). A key whose value is in
    ``unset`` takes its default."""
    out: list[Obj] = []
    for port in _dicts(items):
        filled = dict(port)
        for key, value in defaults.items():
            if filled.get(key) in unset:
                filled[key] = value
        out.append(filled)
    return out


# --------------------------------------------------------------------------
# core/v1 Endpoints


def default_endpoints(obj: Obj) -> None:
    """Upstream ``SetDefaults_Endpoints``: ports default to TCP."""
    for subset in obj.get("subsets") or []:
        for port in (subset or {}).get("ports") or []:
            if isinstance(port, dict) and not port.get("protocol"):
                port["protocol"] = "TCP"


def _endpoint_address(
    addr: Mapping[str, Any], path: Path, is_cluster_ip: IsClusterIP
) -> list[FieldError]:
    ip_path = path.child("ip")
    ip = addr.get("ip", "")
    errs = [invalid(ip_path, ip, m) for m in is_valid_ip(ip)]
    if addr.get("hostname"):
        errs += _dns_label(addr["hostname"], path.child("hostname"))
    if addr.get("nodeName") is not None:
        errs += _node_name(addr["nodeName"], path.child("nodeName"))
    errs += validate_endpoint_ip(ip, ip_path)
    return errs + _not_cluster_ip(ip, ip_path, is_cluster_ip)


def _endpoint_port(port: Mapping[str, Any], require_name: bool, path: Path) -> list[FieldError]:
    errs: list[FieldError] = []
    name = port.get("name") or ""
    if require_name and not name:
        errs.append(required(path.child("name")))
    elif name:
        errs += _dns_label(name, path.child("name"))
    number = port.get("port") or 0
    errs += [invalid(path.child("port"), number, m) for m in is_valid_port_num(number)]
    errs += _protocol(port, path.child("protocol"))
    return errs + _app_protocol(port, path.child("appProtocol"))


def validate_endpoints(
    obj: Mapping[str, Any], is_cluster_ip: IsClusterIP = no_cluster_ips
) -> list[FieldError]:
    """Upstream ``ValidateEndpoints`` (metadata is the API machinery's), plus
    svcnet's ClusterIP rule.

    Args:
        obj: a defaulted v1 Endpoints.
        is_cluster_ip: whether an address is some Service's ClusterIP.
    """
    errs: list[FieldError] = []
    subsets_path = Path("subsets")
    for i, subset in enumerate(_dicts(obj.get("subsets"))):
        path = subsets_path.index(i)
        addresses, not_ready = (
            _dicts(subset.get("addresses")),
            _dicts(subset.get("notReadyAddresses")),
        )
        if not addresses and not not_ready:
            errs.append(required(path, "must specify `addresses` or `notReadyAddresses`"))
        for j, addr in enumerate(addresses):
            errs += _endpoint_address(addr, path.child("addresses").index(j), is_cluster_ip)
        for j, addr in enumerate(not_ready):
            errs += _endpoint_address(addr, path.child("notReadyAddresses").index(j), is_cluster_ip)
        ports = _defaulted_ports(subset.get("ports"), {"protocol": "TCP"}, (None, ""))
        for k, port in enumerate(ports):
            errs += _endpoint_port(port, len(ports) > 1, path.child("ports").index(k))
    return errs


# --------------------------------------------------------------------------
# discovery.k8s.io/v1 EndpointSlice


def default_endpointslice(obj: Obj) -> None:
    """Upstream ``SetDefaults_EndpointPort``: name "" and protocol TCP."""
    for port in obj.get("ports") or []:
        if isinstance(port, dict):
            if port.get("name") is None:
                port["name"] = ""
            if port.get("protocol") is None:
                port["protocol"] = "TCP"


def _fqdn(value: str, path: Path) -> list[FieldError]:
    """Upstream ``IsFullyQualifiedDomainName`` (a trailing dot is allowed)."""
    if not value:
        return [required(path)]
    name = value.removesuffix(".")
    if msgs := is_dns1123_subdomain(name):
        return [invalid(path, name, ",".join(msgs))]
    labels = name.split(".")
    if len(labels) < 2:
        return [
            invalid(path, name, "should be a domain with at least two segments separated by dots")
        ]
    for label in labels:
        if msgs := is_dns1123_label(label):
            return [invalid(path, label, ",".join(msgs))]
    return []


def _slice_address(
    address: str, address_type: str, path: Path, is_cluster_ip: IsClusterIP
) -> list[FieldError]:
    if address_type == "FQDN":
        return _fqdn(address, path)
    if address_type not in ("IPv4", "IPv6"):
        return []  # unknown types are reported on addressType only
    ip = go_ip(address)
    if ip is None or ip.version != int(address_type[-1]):
        errs = [invalid(path, address, f"must be a valid {address_type} address")]
    else:
        errs = []
    errs += validate_endpoint_ip(address, path)
    return errs + _not_cluster_ip(address, path, is_cluster_ip)


def _hints(hints: Mapping[str, Any], path: Path) -> list[FieldError]:
    errs: list[FieldError] = []
    for key, limit, check in (
        ("forZones", MAX_ZONE_HINTS, is_valid_label_value),
        ("forNodes", MAX_NODE_HINTS, is_dns1123_subdomain),
    ):
        items = _dicts(hints.get(key))
        if len(items) > limit:
            errs.append(too_many(path.child(key), len(items), limit))
            continue
        seen: set[str] = set()
        for i, item in enumerate(items):
            name_path = path.child(key).index(i).child("name")
            name = item.get("name", "")
            if name in seen:
                errs.append(duplicate(name_path, name))
            seen.add(name)
            errs += [invalid(name_path, name, m) for m in check(name)]
    return errs


def _slice_endpoint(
    ep: Mapping[str, Any], address_type: str, path: Path, is_cluster_ip: IsClusterIP
) -> list[FieldError]:
    errs: list[FieldError] = []
    addr_path = path.child("addresses")
    addresses = list(ep.get("addresses") or [])
    if not addresses:
        errs.append(required(addr_path, "must contain at least 1 address"))
    elif len(addresses) > MAX_ADDRESSES:
        errs.append(too_many(addr_path, len(addresses), MAX_ADDRESSES))
    for i, address in enumerate(addresses):
        errs += _slice_address(address, address_type, addr_path.index(i), is_cluster_ip)
    if ep.get("nodeName") is not None:
        errs += _node_name(ep["nodeName"], path.child("nodeName"))
    topology = ep.get("deprecatedTopology") or {}
    topo_path = path.child("deprecatedTopology")
    if len(topology) > MAX_TOPOLOGY_LABELS:
        errs.append(too_many(topo_path, len(topology), MAX_TOPOLOGY_LABELS))
    errs += validate_labels(topology, topo_path)
    if ep.get("hostname") is not None:
        errs += _dns_label(ep["hostname"], path.child("hostname"))
    if isinstance(ep.get("hints"), Mapping):
        errs += _hints(ep["hints"], path.child("hints"))
    return errs


def _slice_ports(ports: list[Mapping[str, Any]], path: Path) -> list[FieldError]:
    if len(ports) > MAX_PORTS:
        return [too_many(path, len(ports), MAX_PORTS)]
    errs: list[FieldError] = []
    names: set[str] = set()
    for i, port in enumerate(ports):
        port_path = path.index(i)
        name = port.get("name") or ""
        if name:
            errs += _dns_label(name, port_path.child("name"))
        if name in names:
            errs.append(duplicate(port_path.child("name"), name))
        names.add(name)
        errs += _protocol(port, port_path.child("protocol"))
        errs += _app_protocol(port, port_path.child("appProtocol"))
    return errs


def validate_endpointslice(
    obj: Mapping[str, Any], is_cluster_ip: IsClusterIP = no_cluster_ips
) -> list[FieldError]:
    """Upstream ``ValidateEndpointSlice`` (metadata is the API machinery's),
    plus svcnet's ClusterIP rule.

    Upstream checks neither endpoint conditions nor zone (any string), nor
    port numbers (a nil port means "all ports"); neither does svcnet.
    """
    errs: list[FieldError] = []
    address_type = obj.get("addressType") or ""
    if not address_type:
        errs.append(required("addressType"))
    elif address_type not in ADDRESS_TYPES:
        errs.append(not_supported("addressType", address_type, ADDRESS_TYPES))
    endpoints = _dicts(obj.get("endpoints"))
    eps_path = Path("endpoints")
    if len(endpoints) > MAX_ENDPOINTS:
        errs.append(too_many(eps_path, len(endpoints), MAX_ENDPOINTS))
    else:
        for i, ep in enumerate(endpoints):
            errs += _slice_endpoint(ep, address_type, eps_path.index(i), is_cluster_ip)
    ports = _defaulted_ports(obj.get("ports"), {"name": "", "protocol": "TCP"}, (None,))
    return errs + _slice_ports(ports, Path("ports"))


def validate_endpointslice_update(
    obj: Mapping[str, Any], old: Mapping[str, Any]
) -> list[FieldError]:
    """The update-only rule: addressType is immutable."""
    new_type, old_type = obj.get("addressType") or "", old.get("addressType") or ""
    if new_type != old_type:
        return [invalid("addressType", new_type, FIELD_IMMUTABLE)]
    return []
