"""Server-side Table printing (`kubectl get` asks for `as=Table`).

Theory of operation: upstream's `pkg/printers/internalversion` as data.
Each built-in kind has a `TablePrinter` (columns + pure `row(obj, now)`),
looked up in `PRINTERS` by (group, kind), group "" for core. Kinds without
one use `DEFAULT_PRINTER` (upstream's `defaultTableConvertor`: Name,
Created At). `build_table` assembles the `meta.k8s.io/v1` Table and applies
`includeObject`. Ages come from `human_duration`, upstream's
`duration.HumanDuration`, with the clock injected as `now`.

Modules: `table` (model and assembly), `duration` (ages), `format` (shared
cell helpers), `pod`, `core`, `apps`, `networking`, `coordination` (one
section per kind), `docs` (column descriptions).
"""

from __future__ import annotations

from svcnet.api.printers.apps import DEPLOYMENT_PRINTER, REPLICA_SET_PRINTER
from svcnet.api.printers.coordination import LEASE_PRINTER
from svcnet.api.printers.core import (
    CONFIG_MAP_PRINTER,
    ENDPOINTS_PRINTER,
    EVENT_PRINTER,
    NAMESPACE_PRINTER,
    NODE_PRINTER,
    SECRET_PRINTER,
    SERVICE_ACCOUNT_PRINTER,
    SERVICE_PRINTER,
)
from svcnet.api.printers.duration import (
    human_duration,
    short_human_duration,
    translate_timestamp_since,
)
from svcnet.api.printers.networking import (
    ENDPOINT_SLICE_PRINTER,
    INGRESS_CLASS_PRINTER,
    INGRESS_PRINTER,
    NETWORK_POLICY_PRINTER,
)
from svcnet.api.printers.pod import POD_PRINTER
from svcnet.api.printers.table import (
    DEFAULT_PRINTER,
    Column,
    TablePrinter,
    build_table,
    partial_object_metadata,
)

PRINTERS: dict[tuple[str, str], TablePrinter] = {
    ("", "Namespace"): NAMESPACE_PRINTER,
    ("", "Pod"): POD_PRINTER,
    ("", "Service"): SERVICE_PRINTER,
    ("", "Endpoints"): ENDPOINTS_PRINTER,
    ("", "Node"): NODE_PRINTER,
    ("", "Event"): EVENT_PRINTER,
    ("", "ConfigMap"): CONFIG_MAP_PRINTER,
    ("", "Secret"): SECRET_PRINTER,
    ("", "ServiceAccount"): SERVICE_ACCOUNT_PRINTER,
    ("apps", "Deployment"): DEPLOYMENT_PRINTER,
    ("apps", "ReplicaSet"): REPLICA_SET_PRINTER,
    ("discovery.k8s.io", "EndpointSlice"): ENDPOINT_SLICE_PRINTER,
    ("networking.k8s.io", "Ingress"): INGRESS_PRINTER,
    ("networking.k8s.io", "IngressClass"): INGRESS_CLASS_PRINTER,
    ("networking.k8s.io", "NetworkPolicy"): NETWORK_POLICY_PRINTER,
    ("coordination.k8s.io", "Lease"): LEASE_PRINTER,
}

__all__ = [
    "DEFAULT_PRINTER",
    "PRINTERS",
    "Column",
    "TablePrinter",
    "build_table",
    "human_duration",
    "partial_object_metadata",
    "short_human_duration",
    "translate_timestamp_since",
]
