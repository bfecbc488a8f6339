"""Printer for coordination.k8s.io Lease: HOLDER is spec.holderIdentity ("" when unset)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from svcnet.api.printers import docs
from svcnet.api.printers.core import age
from svcnet.api.printers.format import Obj, name_of, text
from svcnet.api.printers.table import AGE, NAME, Column, TablePrinter


def lease_row(obj: Obj, now: dt.datetime) -> list[Any]:
    return [name_of(obj), text(obj, "spec", "holderIdentity"), age(obj, now)]


LEASE_PRINTER = TablePrinter(
    columns=(NAME, Column("Holder", description=docs.LEASE_HOLDER_IDENTITY), AGE),
    row=lease_row,
)
