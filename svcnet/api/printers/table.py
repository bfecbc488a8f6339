"""The `meta.k8s.io/v1` Table model and its assembly.

Theory of operation (upstream `pkg/printers` + apiserver `asTable`): a kind's
printer is data, a tuple of column definitions and a pure `row(obj, now)`
returning one cell per column. The server always converts with
`Wide: true` (`printers/storage.TableConvertor`), so rows carry every
column, priority 1 included; kubectl hides priority>0 columns unless
`-o wide`. `build_table` then replaces each row's object according to the
`includeObject` query parameter: `Metadata` (also the default and what
`kubectl get` sends unless it sorts) gives a `PartialObjectMetadata` whose
labels feed `--show-labels`; `Object` gives the full object (kubectl asks
for it with `--sort-by`); `None` gives `null`.

Kinds without a printer use upstream's `defaultTableConvertor`: Name and
Created At (RFC 3339, UTC).

Invariants: `len(row(obj, now)) == len(columns)` for every printer; nothing
here reads the clock or mutates the objects it is given.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from svcnet.api import errors
from svcnet.api.printers import docs
from svcnet.api.printers.duration import rfc3339
from svcnet.api.printers.format import Obj, dig, name_of

TABLE_API_VERSION = "meta.k8s.io/v1"
INCLUDE_OBJECT = "Object"
INCLUDE_METADATA = "Metadata"
INCLUDE_NONE = "None"

Row = Callable[[Obj, dt.datetime], list[Any]]
Conditions = Callable[[Obj], list[dict[str, Any]]]


@dataclass(frozen=True)
class Column:
    """One upstream `TableColumnDefinition`.

    Args:
        name: header as the server sends it ("Name", "Cluster-IP"); kubectl
            upper-cases it.
        type: "string" | "integer" | "number" | "boolean" | "date".
        format: "" or "name" (the column holding the object's name).
        description: the field's API documentation.
        priority: 0 = always shown, 1 = only with `-o wide`.
    """

    name: str
    type: str = "string"
    format: str = ""
    description: str = ""
    priority: int = 0

    def to_definition(self) -> dict[str, Any]:
        """The TableColumnDefinition JSON (every key present, as upstream)."""
        return {
            "name": self.name,
            "type": self.type,
            "format": self.format,
            "description": self.description,
            "priority": self.priority,
        }


def _no_conditions(obj: Obj) -> list[dict[str, Any]]:
    return []


@dataclass(frozen=True)
class TablePrinter:
    """A kind's table: its columns and the pure function producing one row.

    Args:
        columns: every column, wide ones included (priority 1).
        row: cells for one object at `now`, one per column.
        conditions: upstream `TableRow.conditions` (pods mark Succeeded and
            Failed rows "Completed").
    """

    columns: tuple[Column, ...]
    row: Row
    conditions: Conditions = _no_conditions

    def definitions(self) -> list[dict[str, Any]]:
        return [c.to_definition() for c in self.columns]


# The columns nearly every printer starts and ends with.
NAME = Column("Name", format="name", description=docs.NAME)
AGE = Column("Age", description=docs.CREATION_TIMESTAMP)


def _default_row(obj: Obj, now: dt.datetime) -> list[Any]:
    return [name_of(obj), rfc3339(dig(obj, "metadata", "creationTimestamp"))]


DEFAULT_PRINTER = TablePrinter(
    columns=(NAME, Column("Created At", type="date", description=docs.CREATION_TIMESTAMP)),
    row=_default_row,
)


def partial_object_metadata(obj: Obj, api_version: str = TABLE_API_VERSION) -> dict[str, Any]:
    """Upstream `meta.AsPartialObjectMetadata`: the whole metadata, no spec/status."""
    return {
        "kind": "PartialObjectMetadata",
        "apiVersion": api_version,
        "metadata": obj.get("metadata") or {},
    }


def _row_object(obj: Obj, include_object: str, api_version: str) -> Any:
    if include_object == INCLUDE_OBJECT:
        return obj
    if include_object in (INCLUDE_METADATA, ""):
        return partial_object_metadata(obj, api_version)
    if include_object == INCLUDE_NONE:
        return None
    # Go's %q; JSON string quoting matches it for printable text.
    raise errors.bad_request(f"unrecognized includeObject value: {json.dumps(include_object)}")


def _table_meta(list_meta: Mapping[str, Any] | None) -> dict[str, Any]:
    """ListMeta with upstream's omitempty: "" and null fields are dropped."""
    return {k: v for k, v in (list_meta or {}).items() if v not in ("", None)}


def build_table(
    printer: TablePrinter,
    objects: Iterable[Obj],
    now: dt.datetime,
    include_object: str = INCLUDE_METADATA,
    list_meta: Mapping[str, Any] | None = None,
    api_version: str = TABLE_API_VERSION,
) -> dict[str, Any]:
    """The Table JSON for `objects` (upstream `asTable`).

    Args:
        printer: the kind's printer (or DEFAULT_PRINTER).
        objects: the objects, already filtered and ordered.
        now: the clock reading for AGE cells.
        include_object: the `includeObject` query value: "Metadata" (or ""),
            "Object" or "None".
        list_meta: resourceVersion / continue / remainingItemCount.
        api_version: "meta.k8s.io/v1", or "meta.k8s.io/v1beta1" when the
            client negotiated that version; also used for the row objects.

    Raises:
        APIError: BadRequest for an unknown `include_object`, as upstream.
    """
    _row_object({}, include_object, api_version)  # validate even for no rows
    rows: list[dict[str, Any]] = []
    for obj in objects:
        row: dict[str, Any] = {"cells": printer.row(obj, now)}
        conditions = printer.conditions(obj)
        if conditions:
            row["conditions"] = conditions
        row["object"] = _row_object(obj, include_object, api_version)
        rows.append(row)
    return {
        "kind": "Table",
        "apiVersion": api_version,
        "metadata": _table_meta(list_meta),
        "columnDefinitions": printer.definitions(),
        "rows": rows,
    }
