"""The informer's local cache: objects by key, secondary indexes, and Replace diffs.

Theory of operation: a `Store` maps ``(namespace, name)`` (namespace "" for
cluster-scoped objects) to the latest known object, like client-go's
thread-safe store + Indexer. Named indexers are functions ``obj ->
iterable of index values`` ("pods by node": ``lambda p: [p["spec"].get(
"nodeName", "")]``); the store keeps ``index -> value -> set of keys`` and,
per key, the values it was filed under, so an update moves a key between
values in O(values) and `by_index` is a dict lookup.

`diff_replace(old, new_items)` is the pure heart of a re-list (client-go's
DeltaFIFO.Replace): objects only in the new list are adds, objects in both
whose resourceVersion changed are updates (old, new), and cached objects
missing from the new list are deletes carrying their last known state.
`Store.replace` applies it and returns the diff for the informer to
deliver.

Invariants: every cached key appears under exactly the index values its
indexers return for its current object; objects are shared, never copied,
so callers MUST NOT mutate what the cache returns.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "NAMESPACE_INDEX",
    "IndexFunc",
    "ObjectKey",
    "ReplaceDiff",
    "Store",
    "diff_replace",
    "index_by_field",
    "index_by_label",
    "index_by_namespace",
    "key_string",
    "object_key",
    "resource_version",
    "split_key",
]

Obj = dict[str, Any]
ObjectKey = tuple[str, str]
IndexFunc = Callable[[Obj], Iterable[str]]

NAMESPACE_INDEX = "namespace"


def object_key(obj: Obj) -> ObjectKey:
    """``(namespace, name)`` of an object ("" namespace when cluster-scoped)."""
    meta = obj.get("metadata") or {}
    return (meta.get("namespace") or "", meta.get("name") or "")


def key_string(obj_or_key: Obj | ObjectKey) -> str:
    """client-go's MetaNamespaceKeyFunc: "namespace/name", or "name" without namespace."""
    ns, name = obj_or_key if isinstance(obj_or_key, tuple) else object_key(obj_or_key)
    return f"{ns}/{name}" if ns else name


def split_key(key: str) -> ObjectKey:
    """Inverse of `key_string` (client-go SplitMetaNamespaceKey)."""
    parts = key.split("/")
    if len(parts) == 1:
        return ("", parts[0])
    if len(parts) == 2:
        return (parts[0], parts[1])
    raise ValueError(f"unexpected key format: {key!r}")


def resource_version(obj: Obj) -> str:
    return str((obj.get("metadata") or {}).get("resourceVersion") or "")


def index_by_namespace(obj: Obj) -> list[str]:
    """client-go's MetaNamespaceIndexFunc."""
    return [(obj.get("metadata") or {}).get("namespace") or ""]


def index_by_label(label: str) -> IndexFunc:
    """Index objects by the value of one label (absent label: not indexed)."""

    def fn(obj: Obj) -> list[str]:
        labels = (obj.get("metadata") or {}).get("labels") or {}
        v = labels.get(label)
        return [v] if v is not None else []

    return fn


def index_by_field(path: str) -> IndexFunc:
    """Index objects by a dotted field path, e.g. "spec.nodeName" (absent/empty: not indexed)."""
    parts = path.split(".")

    def fn(obj: Obj) -> list[str]:
        cur: Any = obj
        for p in parts:
            cur = cur.get(p) if isinstance(cur, dict) else None
        return [str(cur)] if cur not in (None, "") else []

    return fn


@dataclass
class ReplaceDiff:
    """What a re-list changed, in delivery order."""

    adds: list[Obj] = field(default_factory=list)
    updates: list[tuple[Obj, Obj]] = field(default_factory=list)
    deletes: list[Obj] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.adds or self.updates or self.deletes)


def _changed(old: Obj, new: Obj) -> bool:
    orv, nrv = resource_version(old), resource_version(new)
    if orv and nrv:
        return orv != nrv
    return old != new


def diff_replace(old: Mapping[ObjectKey, Obj], new_items: Iterable[Obj]) -> ReplaceDiff:
    """Compare a cache with a fresh list (pure).

    Adds and updates follow the list's order; deletes follow key order. An
    object is "changed" when its resourceVersion differs (or, without
    resourceVersions, when it is not equal).
    """
    diff = ReplaceDiff()
    seen: set[ObjectKey] = set()
    for obj in new_items:
        key = object_key(obj)
        seen.add(key)
        prev = old.get(key)
        if prev is None:
            diff.adds.append(obj)
        elif _changed(prev, obj):
            diff.updates.append((prev, obj))
    diff.deletes = [old[k] for k in sorted(old) if k not in seen]
    return diff


class Store:
    """Objects by ``(namespace, name)`` with named secondary indexes."""

    def __init__(self, indexers: Mapping[str, IndexFunc] | None = None) -> None:
        self._items: dict[ObjectKey, Obj] = {}
        self._indexers: dict[str, IndexFunc] = {}
        self._indices: dict[str, dict[str, set[ObjectKey]]] = {}
        self._filed: dict[str, dict[ObjectKey, tuple[str, ...]]] = {}
        for name, fn in (indexers or {}).items():
            self.add_indexer(name, fn)

    # ----------------------------------------------------------------- reads
    def __len__(self) -> int:
        return len(self._items)

    def __contains__(self, key: object) -> bool:
        return key in self._items

    def __iter__(self) -> Iterator[ObjectKey]:
        return iter(self._items)

    def get(self, key: ObjectKey) -> Obj | None:
        return self._items.get(key)

    def get_by_key(self, key: str) -> Obj | None:
        """Look up by "namespace/name" (or "name")."""
        return self._items.get(split_key(key))

    def keys(self) -> list[ObjectKey]:
        return list(self._items)

    def list(self, namespace: str | None = None) -> list[Obj]:
        """All objects, or those of one namespace."""
        if namespace is None:
            return list(self._items.values())
        if NAMESPACE_INDEX in self._indexers:
            return self.by_index(NAMESPACE_INDEX, namespace)
        return [o for (ns, _), o in self._items.items() if ns == namespace]

    def snapshot(self) -> dict[ObjectKey, Obj]:
        """A shallow copy of the key -> object map."""
        return dict(self._items)

    # --------------------------------------------------------------- indexes
    def add_indexer(self, name: str, fn: IndexFunc) -> None:
        """Register (or replace) an index; existing objects are filed at once."""
        self._indexers[name] = fn
        self._indices[name] = {}
        self._filed[name] = {}
        for key, obj in self._items.items():
            self._file(name, key, obj)

    def indexers(self) -> list[str]:
        return list(self._indexers)

    def by_index(self, name: str, value: str) -> list[Obj]:
        """Objects filed under ``value`` in index ``name`` (KeyError if no such index)."""
        keys = self._index(name).get(value, ())
        return [self._items[k] for k in sorted(keys)]

    def index_keys(self, name: str, value: str) -> list[ObjectKey]:
        return sorted(self._index(name).get(value, ()))

    def index_values(self, name: str) -> list[str]:
        """Every value index ``name`` currently has objects under."""
        return sorted(self._index(name))

    def _index(self, name: str) -> dict[str, set[ObjectKey]]:
        try:
            return self._indices[name]
        except KeyError:
            raise KeyError(f"no index named {name!r}") from None

    def _file(self, name: str, key: ObjectKey, obj: Obj | None) -> None:
        index, filed = self._indices[name], self._filed[name]
        old_vals = filed.get(key, ())
        new_vals = tuple(dict.fromkeys(self._indexers[name](obj))) if obj is not None else ()
        if old_vals == new_vals:
            return
        for v in old_vals:
            if v not in new_vals:
                keys = index.get(v)
                if keys is not None:
                    keys.discard(key)
                    if not keys:
                        del index[v]
        for v in new_vals:
            if v not in old_vals:
                index.setdefault(v, set()).add(key)
        if new_vals:
            filed[key] = new_vals
        else:
            filed.pop(key, None)

    # ---------------------------------------------------------------- writes
    def upsert(self, obj: Obj) -> Obj | None:
        """Add or replace an object; returns the previous one (None if new)."""
        key = object_key(obj)
        old = self._items.get(key)
        self._items[key] = obj
        for name in self._indexers:
            self._file(name, key, obj)
        return old

    def delete(self, key: ObjectKey) -> Obj | None:
        """Remove a key; returns the object it held (None if absent)."""
        old = self._items.pop(key, None)
        if old is not None:
            for name in self._indexers:
                self._file(name, key, None)
        return old

    def replace(self, items: Iterable[Obj]) -> ReplaceDiff:
        """Make the store hold exactly ``items``; returns what changed."""
        items = list(items)
        diff = diff_replace(self._items, items)
        for obj in diff.deletes:
            self.delete(object_key(obj))
        for obj in diff.adds:
            self.upsert(obj)
        for _, obj in diff.updates:
            self.upsert(obj)
        return diff
