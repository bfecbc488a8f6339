"""In-memory store backend and the object cache every backend shares.

Theory of operation
-------------------
`ObjectCache` is the sans-I/O heart of the store: current entries, the
per-resource sorted indexes, the bounded event history, the revision counter
and the fan-out to watchers. A write happens in two steps:

1. ``plan_create`` / ``plan_update`` / ``plan_delete`` check the request
   against the current state (NotFound, AlreadyExists, Conflict), stamp the
   object with the next revision and encode it ONCE, returning a `Change`;
   nothing is modified yet.
2. ``apply(change)`` makes it the new state: index, history, revision, and
   delivery to watchers.

A durable backend persists the change between the two steps (see
`SQLiteStore`), so a failed persist leaves memory untouched and the revision
is not consumed. `MemoryStore` persists nothing.

Indexes: per resource, a dict ``(namespace, name) -> Entry`` serves get(),
and two parallel lists sorted by ``(namespace, name)`` (keys and entries)
serve list() as one slice copy, with no JSON decoding and no per-item
lookups; one namespace is a bisect range of the same lists.

Watches: `CacheWatch` is an async iterator. At creation it snapshots the
retained history events newer than ``since_rv`` (scanning the history from
the newest end, so recent resumes are cheap) and registers for live events
in the same synchronous step, so no event is missed or repeated. Live events
go to a per-watcher buffer bounded by ``watcher_queue``; a watcher whose
buffer is full is ended: it still yields what it buffered (a consistent
prefix), then stops, and the client re-watches from the last revision it
saw. ``close()`` ends iteration at once, also for a consumer blocked
awaiting the next event; cancelling a pending ``__anext__`` (e.g. by
``asyncio.wait_for``) loses nothing.

Invariants
----------
* every event has a unique revision; history is ordered by revision and its
  newest event carries ``revision`` (when the history is non-empty);
* ``oldest_revision`` is the oldest retained event's revision, or
  ``revision + 1`` when the history is empty; a watch may start from
  ``oldest_revision - 1`` or later (also from a future revision);
* entries and events are shared, never copied: callers must not mutate them.
"""

from __future__ import annotations

import asyncio
import bisect
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import orjson

from svcnet.store.base import (
    INTERNAL_PREFIX,
    AlreadyExists,
    Conflict,
    Entry,
    Event,
    Expired,
    Key,
    NotFound,
    StoreError,
)

__all__ = ["CacheWatch", "Change", "MemoryStore", "ObjectCache"]

ADDED, MODIFIED, DELETED = "ADDED", "MODIFIED", "DELETED"

_NsName = tuple[str, str]


@dataclass(frozen=True, slots=True)
class Change:
    """A planned write: the event to apply and the entry it replaces."""

    event: Event
    prev: Entry | None


class CacheWatch:
    """One watcher: replayed history first, then live events (see module doc)."""

    __slots__ = (
        "_cache",
        "_done",
        "_limit",
        "_live",
        "_replay",
        "_waiter",
        "namespace",
        "overflowed",
        "resource",
        "since_rv",
    )

    def __init__(
        self,
        cache: ObjectCache | None,
        resource: str,
        namespace: str | None,
        since_rv: int,
        replay: list[Event],
        limit: int,
    ) -> None:
        self._cache = cache
        self.resource = resource
        self.namespace = namespace
        self.since_rv = since_rv
        self._replay: deque[Event] = deque(replay)
        self._live: deque[Event] = deque()
        self._limit = limit
        self._done = cache is None
        self._waiter: asyncio.Future[None] | None = None
        #: True when the watcher was ended because it fell too far behind.
        self.overflowed = False

    def __aiter__(self) -> CacheWatch:
        return self

    async def __anext__(self) -> Event:
        while True:
            if self._replay:
                return self._replay.popleft()
            if self._live:
                return self._live.popleft()
            if self._done:
                raise StopAsyncIteration
            fut = asyncio.get_running_loop().create_future()
            self._waiter = fut
            try:
                await fut
            finally:
                self._waiter = None

    @property
    def closed(self) -> bool:
        """No further events will be added (buffered ones may remain)."""
        return self._done

    def push(self, ev: Event) -> bool:
        """Deliver a live event. Returns False (and ends the watcher) when the
        buffer is full; the cache then drops the watcher."""
        if len(self._live) >= self._limit:
            self.overflowed = True
            self._finish()
            return False
        self._live.append(ev)
        self._wake()
        return True

    def close(self) -> None:
        """Stop the stream now; pending and future iteration ends."""
        self._replay.clear()
        self._live.clear()
        if self._cache is not None:
            self._cache.unregister(self)
        self._finish()

    async def aclose(self) -> None:
        """Async alias of close() (async-generator style)."""
        self.close()

    def _finish(self) -> None:
        self._done = True
        self._cache = None
        self._wake()

    def _wake(self) -> None:
        w = self._waiter
        if w is not None and not w.done():
            w.set_result(None)


class _Index:
    """Entries of one resource: a dict for get() and sorted parallel lists."""

    __slots__ = ("by_key", "entries", "keys")

    def __init__(self) -> None:
        self.by_key: dict[_NsName, Entry] = {}
        self.keys: list[_NsName] = []
        self.entries: list[Entry] = []

    def put(self, k: _NsName, entry: Entry) -> None:
        existed = k in self.by_key
        self.by_key[k] = entry
        keys = self.keys
        # Names usually arrive in order (generated, bulk creates): append fast path.
        if not existed and (not keys or keys[-1] < k):
            keys.append(k)
            self.entries.append(entry)
            return
        i = bisect.bisect_left(keys, k)
        if existed:
            self.entries[i] = entry
        else:
            keys.insert(i, k)
            self.entries.insert(i, entry)

    def remove(self, k: _NsName) -> None:
        del self.by_key[k]
        i = bisect.bisect_left(self.keys, k)
        del self.keys[i]
        del self.entries[i]

    def range(self, namespace: str | None) -> list[Entry]:
        if namespace is None:
            return self.entries[:]
        lo = bisect.bisect_left(self.keys, (namespace,))
        # (ns + "\0",) sorts after every (ns, name) and before any longer namespace.
        hi = bisect.bisect_left(self.keys, (namespace + "\0",), lo)
        return self.entries[lo:hi]


class ObjectCache:
    """Current state, history and watcher fan-out (sans-I/O; see module doc).

    Args:
        history: number of events retained for watch resumption (>= 1).
        watcher_queue: live events buffered per watcher before it is ended.
    """

    def __init__(self, history: int = 50_000, watcher_queue: int = 10_000) -> None:
        if history < 1:
            raise ValueError(f"history must be >= 1, got {history}")
        if watcher_queue < 1:
            raise ValueError(f"watcher_queue must be >= 1, got {watcher_queue}")
        self.history_limit = history
        self.watcher_queue = watcher_queue
        self.revision = 0
        self._indexes: dict[str, _Index] = {}
        self._history: deque[Event] = deque(maxlen=history)
        self._watchers: dict[tuple[str, str | None], set[CacheWatch]] = {}

    # ------------------------------------------------------------- reads
    @property
    def oldest_revision(self) -> int:
        return self._history[0].rv if self._history else self.revision + 1

    def lookup(self, key: Key) -> Entry | None:
        """The current entry or None."""
        idx = self._indexes.get(key.resource)
        return None if idx is None else idx.by_key.get((key.namespace, key.name))

    def get(self, key: Key) -> Entry:
        """The current entry. Raises NotFound."""
        entry = self.lookup(key)
        if entry is None:
            raise NotFound(str(key))
        return entry

    def list(self, resource: str, namespace: str | None = None) -> tuple[list[Entry], int]:
        """Entries sorted by (namespace, name) and the current revision."""
        idx = self._indexes.get(resource)
        return ([] if idx is None else idx.range(namespace)), self.revision

    def count(self, resource: str) -> int:
        idx = self._indexes.get(resource)
        return 0 if idx is None else len(idx.by_key)

    # ------------------------------------------------------- plan writes
    def plan_create(self, key: Key, obj: dict[str, Any]) -> Change:
        """Stamp and encode a new object. Raises AlreadyExists."""
        if self.lookup(key) is not None:
            raise AlreadyExists(str(key))
        rv = self.revision + 1
        raw = _stamp(obj, rv)
        return Change(Event(ADDED, key, obj, raw, rv, None), None)

    def plan_update(self, key: Key, obj: dict[str, Any], expect_rv: int | None = None) -> Change:
        """Stamp and encode a replacement. Raises NotFound, Conflict."""
        cur = self._current(key, expect_rv)
        rv = self.revision + 1
        raw = _stamp(obj, rv)
        return Change(Event(MODIFIED, key, obj, raw, rv, cur.obj), cur)

    def plan_delete(self, key: Key, expect_rv: int | None = None) -> Change:
        """The last state stamped with the deletion revision. Raises NotFound, Conflict."""
        cur = self._current(key, expect_rv)
        rv = self.revision + 1
        # Shallow copies suffice: shared nested values are never mutated.
        obj = dict(cur.obj)
        obj["metadata"] = dict(obj.get("metadata") or {})
        raw = _stamp(obj, rv)
        return Change(Event(DELETED, key, obj, raw, rv, cur.obj), cur)

    def _current(self, key: Key, expect_rv: int | None) -> Entry:
        cur = self.get(key)
        if expect_rv is not None and cur.rv != expect_rv:
            raise Conflict(key, expect_rv, cur.rv)
        return cur

    # ------------------------------------------------------------ apply
    def apply(self, change: Change) -> Entry:
        """Make a planned change the current state and notify watchers.
        Returns the new entry (for DELETED: the last state at the new rv)."""
        ev = change.event
        if ev.rv <= self.revision:
            raise StoreError(f"stale change {ev.rv} (revision is {self.revision})")
        key = ev.key
        entry = Entry(key, ev.obj, ev.raw, ev.rv)
        idx = self._indexes.get(key.resource)
        if idx is None:
            idx = self._indexes[key.resource] = _Index()
        if ev.type == DELETED:
            idx.remove((key.namespace, key.name))
        else:
            idx.put((key.namespace, key.name), entry)
        self.revision = ev.rv
        if not key.resource.startswith(INTERNAL_PREFIX):
            self._history.append(ev)
            self._fan_out(ev)
        return entry

    def load(self, entries: Iterable[Entry], events: Iterable[Event], revision: int) -> None:
        """Replace the state wholesale (a durable backend's startup). Events
        must be in revision order; only the newest `history` are kept."""
        self._indexes.clear()
        groups: dict[str, list[tuple[_NsName, Entry]]] = {}
        for e in entries:
            groups.setdefault(e.key.resource, []).append(((e.key.namespace, e.key.name), e))
        for resource, items in groups.items():
            items.sort(key=lambda it: it[0])
            idx = self._indexes[resource] = _Index()
            idx.keys = [k for k, _ in items]
            idx.entries = [e for _, e in items]
            idx.by_key = dict(items)
        self._history.clear()
        self._history.extend(events)
        newest = self._history[-1].rv if self._history else 0
        self.revision = max(revision, newest)

    # ----------------------------------------------------------- watches
    def watch(self, resource: str, namespace: str | None, since_rv: int) -> CacheWatch:
        """Events of ``resource`` (in ``namespace`` unless None) newer than
        ``since_rv``. Raises Expired when since_rv < oldest_revision - 1."""
        oldest = self.oldest_revision
        if since_rv < oldest - 1:
            raise Expired(since_rv, oldest)
        replay: list[Event] = []
        for ev in reversed(self._history):
            if ev.rv <= since_rv:
                break
            k = ev.key
            if k.resource == resource and (namespace is None or k.namespace == namespace):
                replay.append(ev)
        replay.reverse()
        w = CacheWatch(self, resource, namespace, since_rv, replay, self.watcher_queue)
        self._watchers.setdefault((resource, namespace), set()).add(w)
        return w

    def unregister(self, w: CacheWatch) -> None:
        slot = (w.resource, w.namespace)
        ws = self._watchers.get(slot)
        if ws is not None:
            ws.discard(w)
            if not ws:
                del self._watchers[slot]

    def close_watches(self) -> None:
        """End every watch (store shutdown)."""
        for ws in list(self._watchers.values()):
            for w in list(ws):
                w.close()
        self._watchers.clear()

    def watcher_count(self) -> int:
        return sum(len(ws) for ws in self._watchers.values())

    def _fan_out(self, ev: Event) -> None:
        if not self._watchers:
            return
        for slot in ((ev.key.resource, None), (ev.key.resource, ev.key.namespace)):
            ws = self._watchers.get(slot)
            if not ws:
                continue
            dropped = [w for w in ws if ev.rv > w.since_rv and not w.push(ev)]
            for w in dropped:
                self.unregister(w)


def _stamp(obj: dict[str, Any], rv: int) -> bytes:
    """Set metadata.resourceVersion and return the object's JSON encoding."""
    meta = obj.get("metadata")
    if meta is None:
        meta = obj["metadata"] = {}
    meta["resourceVersion"] = str(rv)
    # orjson may return bytes backed by a much larger buffer (a 1.4 KB result
    # holding 16 KiB); entries live long, so keep an exact-size copy.
    return bytes(memoryview(orjson.dumps(obj)))


class MemoryStore:
    """A `Store` kept in process memory only (lost on exit).

    Subclasses add durability by overriding `_persist`, which runs between
    planning and applying each write and may raise StoreError to refuse it.
    """

    def __init__(self, history: int = 50_000, watcher_queue: int = 10_000) -> None:
        self._cache = ObjectCache(history, watcher_queue)
        self._closed = False

    @property
    def revision(self) -> int:
        return self._cache.revision

    @property
    def oldest_revision(self) -> int:
        return self._cache.oldest_revision

    @property
    def closed(self) -> bool:
        return self._closed

    async def get(self, key: Key) -> Entry:
        return self._cache.get(key)

    async def list(self, resource: str, namespace: str | None = None) -> tuple[list[Entry], int]:
        return self._cache.list(resource, namespace)

    async def create(self, key: Key, obj: dict[str, Any]) -> Entry:
        self._check_open()
        return self._commit(self._cache.plan_create(key, obj))

    async def update(self, key: Key, obj: dict[str, Any], expect_rv: int | None = None) -> Entry:
        self._check_open()
        return self._commit(self._cache.plan_update(key, obj, expect_rv))

    async def delete(self, key: Key, expect_rv: int | None = None) -> Entry:
        self._check_open()
        return self._commit(self._cache.plan_delete(key, expect_rv))

    def watch(self, resource: str, namespace: str | None, since_rv: int) -> CacheWatch:
        self._check_open()
        return self._cache.watch(resource, namespace, since_rv)

    def count(self, resource: str) -> int:
        return self._cache.count(resource)

    async def close(self) -> None:
        self._closed = True
        self._cache.close_watches()

    def _commit(self, change: Change) -> Entry:
        self._persist(change)
        return self._cache.apply(change)

    def _persist(self, change: Change) -> None:
        """Durability hook; the memory backend keeps nothing."""

    def _check_open(self) -> None:
        if self._closed:
            raise StoreError("store is closed")
