"""Printers for core/v1 kinds other than Pod (upstream `printers.go`).

One section per kind: its columns, then its pure row function. Rules worth
knowing, all upstream's:

- Service EXTERNAL-IP: ClusterIP/NodePort show spec.externalIPs or
  `<none>`; LoadBalancer shows ingress IPs/hostnames followed by
  externalIPs, `<pending>` when it has neither; ExternalName shows
  spec.externalName; an unknown type `<unknown>`. PORT(S) is
  "port[:nodePort]/proto" joined by ",", `<none>` when empty.
- Endpoints: up to 3 "ip:port" (or bare IPs for port-less subsets), then
  " + N more..."; `<none>` without subsets.
- Node STATUS is the Ready condition ("Ready"/"NotReady", "Unknown" when
  absent) plus ",SchedulingDisabled" when unschedulable; ROLES from
  node-role.kubernetes.io/<role> and kubernetes.io/role labels.
- Event LAST SEEN falls back to firstTimestamp, then eventTime; a series
  overrides it and the count; OBJECT is "kind/name" in lower case.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from svcnet.api.printers import docs
from svcnet.api.printers.duration import translate_timestamp_since
from svcnet.api.printers.format import (
    Obj,
    dig,
    format_labels,
    items,
    join_host_port,
    load_balancer_ingress,
    mapping,
    name_of,
    number,
    text,
)
from svcnet.api.printers.table import AGE, NAME, Column, TablePrinter

LABEL_NODE_ROLE_PREFIX = "node-role.kubernetes.io/"
LABEL_NODE_ROLE = "kubernetes.io/role"


def age(obj: Obj, now: dt.datetime) -> str:
    return translate_timestamp_since(dig(obj, "metadata", "creationTimestamp"), now)


# ------------------------------------------------------------- Namespace
def namespace_row(obj: Obj, now: dt.datetime) -> list[Any]:
    return [name_of(obj), text(obj, "status", "phase"), age(obj, now)]


NAMESPACE_PRINTER = TablePrinter(
    columns=(NAME, Column("Status", description="The status of the namespace"), AGE),
    row=namespace_row,
)


# --------------------------------------------------------------- Service
def service_external_ip(svc: Obj) -> str:
    """Upstream `getServiceExternalIP` as the server calls it (wide)."""
    svc_type = text(svc, "spec", "type")
    external_ips = [str(ip) for ip in items(svc, "spec", "externalIPs")]
    if svc_type in ("ClusterIP", "NodePort"):
        return ",".join(external_ips) if external_ips else "<none>"
    if svc_type == "LoadBalancer":
        lb = load_balancer_ingress(dig(svc, "status", "loadBalancer"))
        if external_ips:
            return ",".join(([*lb.split(",")] if lb else []) + external_ips)
        return lb or "<pending>"
    if svc_type == "ExternalName":
        return text(svc, "spec", "externalName")
    return "<unknown>"


def service_ports(svc: Obj) -> str:
    """Upstream `makePortString`, `<none>` when there are no ports."""
    pieces = []
    for p in items(svc, "spec", "ports"):
        # Stored objects are defaulted; TCP is the protocol's default.
        proto = text(p, "protocol") or "TCP"
        node_port = number(p, "nodePort")
        if node_port > 0:
            pieces.append(f"{number(p, 'port')}:{node_port}/{proto}")
        else:
            pieces.append(f"{number(p, 'port')}/{proto}")
    return ",".join(pieces) or "<none>"


def service_row(svc: Obj, now: dt.datetime) -> list[Any]:
    # v1 -> internal conversion fills clusterIPs from a lone clusterIP.
    cluster_ips = items(svc, "spec", "clusterIPs") or [text(svc, "spec", "clusterIP")]
    return [
        name_of(svc),
        text(svc, "spec", "type"),
        str(cluster_ips[0] or "<none>"),
        service_external_ip(svc),
        service_ports(svc),
        age(svc, now),
        format_labels(mapping(svc, "spec", "selector")),
    ]


SERVICE_PRINTER = TablePrinter(
    columns=(
        NAME,
        Column("Type", description=docs.SERVICE_TYPE),
        Column("Cluster-IP", description=docs.SERVICE_CLUSTER_IP),
        Column("External-IP", description=docs.SERVICE_EXTERNAL_IPS),
        Column("Port(s)", description=docs.SERVICE_PORTS),
        AGE,
        Column("Selector", priority=1, description=docs.SERVICE_SELECTOR),
    ),
    row=service_row,
)


# ------------------------------------------------------------- Endpoints
def format_endpoints(ep: Obj, limit: int = 3) -> str:
    """Upstream `formatEndpoints(endpoints, nil)`."""
    subsets = items(ep, "subsets")
    if not subsets:
        return "<none>"
    shown: list[str] = []
    count = 0
    for ss in subsets:
        ips = [text(a, "ip") for a in items(ss, "addresses")]
        ports = items(ss, "ports")
        # Headless services may have port-less subsets: bare IPs.
        groups = [(ip, None) for ip in ips] if not ports else []
        for port in ports:
            groups.extend((ip, number(port, "port")) for ip in ips)
        count += len(groups)
        for ip, port in groups:
            if len(shown) == limit:
                break
            shown.append(ip if port is None else join_host_port(ip, port))
    ret = ",".join(shown)
    return f"{ret} + {count - limit} more..." if count > limit else ret


def endpoints_row(ep: Obj, now: dt.datetime) -> list[Any]:
    return [name_of(ep), format_endpoints(ep), age(ep, now)]


ENDPOINTS_PRINTER = TablePrinter(
    columns=(NAME, Column("Endpoints", description=docs.ENDPOINTS_SUBSETS), AGE),
    row=endpoints_row,
)


# ------------------------------------------------------------------ Node
def node_status(node: Obj) -> str:
    status = []
    for c in items(node, "status", "conditions"):
        if text(c, "type") == "Ready":  # the last Ready condition wins, as upstream's map
            status = ["Ready" if text(c, "status") == "True" else "NotReady"]
    if not status:
        status = ["Unknown"]
    if dig(node, "spec", "unschedulable") is True:
        status.append("SchedulingDisabled")
    return ",".join(status)


def node_roles(node: Obj) -> str:
    roles: set[str] = set()
    for k, v in mapping(node, "metadata", "labels").items():
        if k.startswith(LABEL_NODE_ROLE_PREFIX) and k[len(LABEL_NODE_ROLE_PREFIX) :]:
            roles.add(k[len(LABEL_NODE_ROLE_PREFIX) :])
        elif k == LABEL_NODE_ROLE and v:
            roles.add(str(v))
    return ",".join(sorted(roles)) or "<none>"


def _node_address(node: Obj, addr_type: str) -> str:
    for a in items(node, "status", "addresses"):
        if text(a, "type") == addr_type:
            return text(a, "address")
    return "<none>"


def node_row(node: Obj, now: dt.datetime) -> list[Any]:
    info = dig(node, "status", "nodeInfo")
    return [
        name_of(node),
        node_status(node),
        node_roles(node),
        age(node, now),
        text(info, "kubeletVersion"),
        _node_address(node, "InternalIP"),
        _node_address(node, "ExternalIP"),
        text(info, "osImage") or "<unknown>",
        text(info, "kernelVersion") or "<unknown>",
        text(info, "containerRuntimeVersion") or "<unknown>",
    ]


NODE_PRINTER = TablePrinter(
    columns=(
        NAME,
        Column("Status", description="The status of the node"),
        Column("Roles", description="The roles of the node"),
        AGE,
        Column("Version", description=docs.NODE_KUBELET_VERSION),
        Column("Internal-IP", priority=1, description=docs.NODE_ADDRESSES),
        Column("External-IP", priority=1, description=docs.NODE_ADDRESSES),
        Column("OS-Image", priority=1, description=docs.NODE_OS_IMAGE),
        Column("Kernel-Version", priority=1, description=docs.NODE_KERNEL_VERSION),
        Column("Container-Runtime", priority=1, description=docs.NODE_CONTAINER_RUNTIME_VERSION),
    ),
    row=node_row,
)


# ----------------------------------------------------------------- Event
def event_source(ev: Obj) -> str:
    """Upstream `formatEventSource`: "component[, host]" with reporting* fallbacks."""
    component = text(ev, "source", "component") or text(ev, "reportingComponent")
    instance = text(ev, "source", "host") or text(ev, "reportingInstance")
    return f"{component}, {instance}" if instance else component


def event_row(ev: Obj, now: dt.datetime) -> list[Any]:
    first = translate_timestamp_since(ev.get("firstTimestamp"), now)
    if not ev.get("firstTimestamp"):
        first = translate_timestamp_since(ev.get("eventTime"), now)
    last = translate_timestamp_since(ev.get("lastTimestamp"), now)
    if not ev.get("lastTimestamp"):
        last = first
    count = number(ev, "count")
    if isinstance(ev.get("series"), dict):
        last = translate_timestamp_since(dig(ev, "series", "lastObservedTime"), now)
        count = number(ev, "series", "count")
    elif count == 0:
        count = 1  # singleton events of the new API carry no count
    kind = text(ev, "involvedObject", "kind").lower()
    obj_name = text(ev, "involvedObject", "name")
    return [
        last,
        text(ev, "type"),
        text(ev, "reason"),
        f"{kind}/{obj_name}" if obj_name else kind,
        text(ev, "involvedObject", "fieldPath"),
        event_source(ev),
        text(ev, "message").strip(),
        first,
        count,
        name_of(ev),
    ]


EVENT_PRINTER = TablePrinter(
    columns=(
        Column("Last Seen", description=docs.EVENT_LAST_TIMESTAMP),
        Column("Type", description=docs.EVENT_TYPE),
        Column("Reason", description=docs.EVENT_REASON),
        Column("Object", description=docs.EVENT_INVOLVED_OBJECT),
        Column("Subobject", priority=1, description=docs.EVENT_FIELD_PATH),
        Column("Source", priority=1, description=docs.EVENT_SOURCE),
        Column("Message", description=docs.EVENT_MESSAGE),
        Column("First Seen", priority=1, description=docs.EVENT_FIRST_TIMESTAMP),
        Column("Count", priority=1, description=docs.EVENT_COUNT),
        Column("Name", priority=1, format="name", description=docs.NAME),
    ),
    row=event_row,
)


# ------------------------------------------- ConfigMap, Secret, ServiceAccount
def config_map_row(obj: Obj, now: dt.datetime) -> list[Any]:
    data = len(mapping(obj, "data")) + len(mapping(obj, "binaryData"))
    return [name_of(obj), data, age(obj, now)]


def secret_row(obj: Obj, now: dt.datetime) -> list[Any]:
    return [name_of(obj), text(obj, "type"), len(mapping(obj, "data")), age(obj, now)]


def service_account_row(obj: Obj, now: dt.datetime) -> list[Any]:
    return [name_of(obj), len(items(obj, "secrets")), age(obj, now)]


CONFIG_MAP_PRINTER = TablePrinter(
    columns=(NAME, Column("Data", description=docs.CONFIG_MAP_DATA), AGE),
    row=config_map_row,
)
SECRET_PRINTER = TablePrinter(
    columns=(
        NAME,
        Column("Type", description=docs.SECRET_TYPE),
        Column("Data", description=docs.SECRET_DATA),
        AGE,
    ),
    row=secret_row,
)
SERVICE_ACCOUNT_PRINTER = TablePrinter(
    columns=(NAME, Column("Secrets", description=docs.SERVICE_ACCOUNT_SECRETS), AGE),
    row=service_account_row,
)
