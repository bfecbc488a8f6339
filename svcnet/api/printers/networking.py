"""Printers for discovery.k8s.io EndpointSlice and networking.k8s.io kinds.

Upstream's rules:

- EndpointSlice PORTS: up to 3 of port number, else port name, else "*";
  ENDPOINTS: up to 3 addresses across all endpoints; both add
  " + N more..." past 3 and read `<unset>` when empty.
- Ingress CLASS is spec.ingressClassName or `<none>`; HOSTS up to 3 rule
  hosts ("*" when none) with " + N more..." counting RULES past 3; ADDRESS
  the load-balancer IPs/hostnames; PORTS "80" or "80, 443" with TLS.
- IngressClass PARAMETERS is "Kind[.apiGroup]/name" or `<none>`.
- NetworkPolicy POD-SELECTOR is `FormatLabelSelector(podSelector)`.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from svcnet.api.printers import docs
from svcnet.api.printers.core import age
from svcnet.api.printers.format import (
    MORE_LIMIT,
    Obj,
    dig,
    format_label_selector,
    items,
    list_with_more,
    load_balancer_ingress,
    name_of,
    text,
)
from svcnet.api.printers.table import AGE, NAME, Column, TablePrinter


# --------------------------------------------------------- EndpointSlice
def format_discovery_ports(ports: list[Any]) -> str:
    shown = []
    for p in ports[:MORE_LIMIT]:
        port, pname = dig(p, "port"), dig(p, "name")
        if isinstance(port, int):
            shown.append(str(port))
        elif isinstance(pname, str):
            shown.append(pname)
        else:
            shown.append("*")
    return list_with_more(shown, len(ports))


def format_discovery_endpoints(endpoints: list[Any]) -> str:
    addresses = [str(a) for ep in endpoints for a in items(ep, "addresses")]
    return list_with_more(addresses[:MORE_LIMIT], len(addresses))


def endpoint_slice_row(obj: Obj, now: dt.datetime) -> list[Any]:
    return [
        name_of(obj),
        text(obj, "addressType"),
        format_discovery_ports(items(obj, "ports")),
        format_discovery_endpoints(items(obj, "endpoints")),
        age(obj, now),
    ]


ENDPOINT_SLICE_PRINTER = TablePrinter(
    columns=(
        NAME,
        Column("AddressType", description=docs.ENDPOINT_SLICE_ADDRESS_TYPE),
        Column("Ports", description=docs.ENDPOINT_SLICE_PORTS),
        Column("Endpoints", description=docs.ENDPOINT_SLICE_ENDPOINTS),
        AGE,
    ),
    row=endpoint_slice_row,
)


# --------------------------------------------------------------- Ingress
def format_hosts(rules: list[Any]) -> str:
    """Upstream `formatHosts`: the first 3 non-empty hosts; "more" once any
    rule follows the third host, counting RULES (not hosts) past 3."""
    hosts: list[str] = []
    more = False
    for r in rules:
        if len(hosts) == MORE_LIMIT:
            more = True
            break
        if text(r, "host"):
            hosts.append(text(r, "host"))
    if not hosts:
        return "*"
    ret = ",".join(hosts)
    return f"{ret} + {len(rules) - MORE_LIMIT} more..." if more else ret


def ingress_row(obj: Obj, now: dt.datetime) -> list[Any]:
    return [
        name_of(obj),
        text(obj, "spec", "ingressClassName") or "<none>",
        format_hosts(items(obj, "spec", "rules")),
        load_balancer_ingress(dig(obj, "status", "loadBalancer")),
        "80, 443" if items(obj, "spec", "tls") else "80",
        age(obj, now),
    ]


INGRESS_PRINTER = TablePrinter(
    columns=(
        NAME,
        Column(
            "Class",
            description="The name of the IngressClass resource that should be used for "
            "additional configuration",
        ),
        Column(
            "Hosts",
            description="Hosts that incoming requests are matched against before the ingress rule",
        ),
        Column(
            "Address",
            description="Address is a list containing ingress points for the load-balancer",
        ),
        Column("Ports", description="Ports of TLS configurations that open"),
        AGE,
    ),
    row=ingress_row,
)


# ---------------------------------------------------------- IngressClass
def ingress_class_parameters(obj: Obj) -> str:
    params = dig(obj, "spec", "parameters")
    if not isinstance(params, dict):
        return "<none>"
    out = text(params, "kind")
    if isinstance(params.get("apiGroup"), str):
        out += "." + params["apiGroup"]
    return out + "/" + text(params, "name")


def ingress_class_row(obj: Obj, now: dt.datetime) -> list[Any]:
    return [
        name_of(obj),
        text(obj, "spec", "controller"),
        ingress_class_parameters(obj),
        age(obj, now),
    ]


INGRESS_CLASS_PRINTER = TablePrinter(
    columns=(
        NAME,
        Column("Controller", description="Controller that is responsible for handling this class"),
        Column("Parameters", description="A reference to a resource with additional parameters"),
        AGE,
    ),
    row=ingress_class_row,
)


# --------------------------------------------------------- NetworkPolicy
def network_policy_row(obj: Obj, now: dt.datetime) -> list[Any]:
    # podSelector is a value, not a pointer, upstream: unset reads as {}.
    selector = dig(obj, "spec", "podSelector") or {}
    return [name_of(obj), format_label_selector(selector), age(obj, now)]


NETWORK_POLICY_PRINTER = TablePrinter(
    columns=(
        NAME,
        Column("Pod-Selector", description=docs.NETWORK_POLICY_POD_SELECTOR),
        AGE,
    ),
    row=network_policy_row,
)
