"""Versioned object store: contract, backends and a factory.

`open_store(spec, data_dir)` picks a backend by name:

* ``"memory"``: `MemoryStore`, nothing survives the process;
* ``"sqlite"``: `SQLiteStore` in ``data_dir / "store.db"`` (write-through,
  survives kill -9, watches resume across restarts within the history).

See `svcnet.store.base` for the invariants every backend keeps.
"""

from __future__ import annotations

import pathlib

from svcnet.store.base import (
    AlreadyExists,
    Conflict,
    Entry,
    Event,
    Expired,
    Key,
    NotFound,
    Store,
    StoreError,
    Watch,
)
from svcnet.store.memory import CacheWatch, MemoryStore, ObjectCache
from svcnet.store.sqlite import SQLiteStore

__all__ = [
    "BACKENDS",
    "AlreadyExists",
    "CacheWatch",
    "Conflict",
    "Entry",
    "Event",
    "Expired",
    "Key",
    "MemoryStore",
    "NotFound",
    "ObjectCache",
    "SQLiteStore",
    "Store",
    "StoreError",
    "Watch",
    "open_store",
]

BACKENDS = ("memory", "sqlite")
SQLITE_FILE = "store.db"


def open_store(spec: str, data_dir: pathlib.Path | None, history: int = 50_000) -> Store:
    """Open the store backend named by ``spec``.

    Args:
        spec: "memory" or "sqlite".
        history: events kept for watches to resume from.
        data_dir: directory for durable backends (created if missing);
            required for "sqlite", ignored for "memory".

    Raises:
        ValueError: unknown backend, or "sqlite" without a data directory.
        StoreError: the backend cannot be opened.
    """
    name = spec.strip().lower()
    if name == "memory":
        return MemoryStore(history=history)
    if name == "sqlite":
        if data_dir is None:
            raise ValueError("store backend 'sqlite' needs a data directory")
        return SQLiteStore(pathlib.Path(data_dir) / SQLITE_FILE, history=history)
    raise ValueError(f"unknown store backend {spec!r}: expected one of {', '.join(BACKENDS)}")
