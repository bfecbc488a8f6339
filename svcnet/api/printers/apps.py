"""Printers for apps/v1 Deployment and ReplicaSet (upstream `printers.go`).

Deployment READY is "ready/desired" (a string), UP-TO-DATE and AVAILABLE
are counts; its wide SELECTOR is the parsed selector's String() ("" when
empty, `<invalid>` when it does not parse). ReplicaSet prints DESIRED,
CURRENT and READY counts and formats its selector with
`FormatLabelSelector` (`<none>` / `<error>`). spec.replicas is defaulted to
1 by the API, so an unset value reads 1 here too.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from svcnet.api.printers import docs
from svcnet.api.printers.core import age
from svcnet.api.printers.format import (
    Obj,
    SelectorError,
    dig,
    format_label_selector,
    items,
    layout_container_cells,
    name_of,
    number,
    selector_string,
)
from svcnet.api.printers.table import AGE, NAME, Column, TablePrinter

CONTAINERS = Column(
    "Containers", priority=1, description="Names of each container in the template."
)
IMAGES = Column(
    "Images", priority=1, description="Images referenced by each container in the template."
)


def _template_containers(obj: Obj) -> tuple[str, str]:
    return layout_container_cells(items(obj, "spec", "template", "spec", "containers"))


def deployment_row(obj: Obj, now: dt.datetime) -> list[Any]:
    try:
        selector = selector_string(dig(obj, "spec", "selector"))
    except SelectorError:
        selector = "<invalid>"
    desired = number(obj, "spec", "replicas", default=1)
    return [
        name_of(obj),
        f"{number(obj, 'status', 'readyReplicas')}/{desired}",
        number(obj, "status", "updatedReplicas"),
        number(obj, "status", "availableReplicas"),
        age(obj, now),
        *_template_containers(obj),
        selector,
    ]


DEPLOYMENT_PRINTER = TablePrinter(
    columns=(
        NAME,
        Column("Ready", description="Number of the pod with ready state"),
        Column("Up-to-date", description=docs.DEPLOYMENT_UPDATED_REPLICAS),
        Column("Available", description=docs.DEPLOYMENT_AVAILABLE_REPLICAS),
        AGE,
        CONTAINERS,
        IMAGES,
        Column("Selector", priority=1, description=docs.DEPLOYMENT_SELECTOR),
    ),
    row=deployment_row,
)


def replica_set_row(obj: Obj, now: dt.datetime) -> list[Any]:
    return [
        name_of(obj),
        number(obj, "spec", "replicas", default=1),
        number(obj, "status", "replicas"),
        number(obj, "status", "readyReplicas"),
        age(obj, now),
        *_template_containers(obj),
        format_label_selector(dig(obj, "spec", "selector")),
    ]


REPLICA_SET_PRINTER = TablePrinter(
    columns=(
        NAME,
        Column("Desired", type="integer", description=docs.REPLICA_SET_REPLICAS),
        Column("Current", type="integer", description=docs.REPLICA_SET_STATUS_REPLICAS),
        Column("Ready", type="integer", description=docs.REPLICA_SET_READY_REPLICAS),
        AGE,
        CONTAINERS,
        IMAGES,
        Column("Selector", priority=1, description=docs.REPLICA_SET_SELECTOR),
    ),
    row=replica_set_row,
)
