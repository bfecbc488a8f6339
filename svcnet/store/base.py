"""Versioned object store: the contract every backend implements.

Theory of operation: the store holds API objects as JSON-able dicts keyed by
(resource, namespace, name) and stamps every write with the next value of ONE
cluster-wide, strictly increasing revision, exposed to clients as
``metadata.resourceVersion`` (a decimal string). Each write also appends an
`Event` to a bounded history; watchers replay history from the revision they
ask for and then receive live events. Asking for a revision older than the
retained history raises `Expired` (the API server turns it into 410 Gone).

Invariants:
* revisions never go backwards, also across restarts (durable backends);
* an acknowledged write is visible to every later read;
* returned objects (`Entry.obj`, `Event.obj`) are shared and MUST NOT be
  mutated by callers; take a private copy with `Entry.copy()`;
* `Entry.raw` is the compact JSON encoding of `Entry.obj`, computed once at
  write time so list and watch responses are assembled from bytes.

The API server runs on one asyncio loop; backends may assume calls are not
concurrent with each other within a process. The interface is async so a
networked backend (etcd) fits the same shape.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any, Protocol

import orjson

# Resources under this prefix are the server's own bookkeeping (e.g. allocation
# maps): stored and versioned like any object, but never watched, so their
# writes stay out of the watch history.
INTERNAL_PREFIX = "_internal/"


class StoreError(Exception):
    """Base of store errors."""


class NotFound(StoreError):
    """The key does not exist."""


class AlreadyExists(StoreError):
    """create() of a key that exists."""


class Conflict(StoreError):
    """update()/delete() with an expected revision that is not the current one."""

    def __init__(self, key: Key, expected: int, actual: int) -> None:
        super().__init__(f"{key}: expected revision {expected}, current is {actual}")
        self.key, self.expected, self.actual = key, expected, actual


class Expired(StoreError):
    """watch() from a revision older than the retained history."""

    def __init__(self, requested: int, oldest: int) -> None:
        super().__init__(f"too old resource version: {requested} ({oldest})")
        self.requested, self.oldest = requested, oldest


@dataclass(frozen=True, order=True)
class Key:
    """Where an object lives. ``resource`` is "plural" for the core group and
    "group/plural" otherwise (e.g. "services", "apps/deployments");
    ``namespace`` is "" for cluster-scoped objects."""

    resource: str
    namespace: str
    name: str

    def __str__(self) -> str:
        ns = f"{self.namespace}/" if self.namespace else ""
        return f"{self.resource}/{ns}{self.name}"


@dataclass(frozen=True, slots=True)
class Entry:
    """A stored object with its revision and cached encoding."""

    key: Key
    obj: dict[str, Any]
    raw: bytes
    rv: int

    def copy(self) -> dict[str, Any]:
        """A private, mutable deep copy of the object (decoded from ``raw``)."""
        return orjson.loads(self.raw)


@dataclass(frozen=True, slots=True)
class Event:
    """One change. ``type`` is ADDED, MODIFIED or DELETED. For DELETED, ``obj``
    is the last state stamped with the deletion revision. ``prev`` is the
    object before the change (None for ADDED): the API server needs it to
    turn selector transitions into ADDED/DELETED like upstream's watch cache.
    """

    type: str
    key: Key
    obj: dict[str, Any]
    raw: bytes
    rv: int
    prev: dict[str, Any] | None


class Watch(Protocol):
    """A stream of events for one resource (optionally one namespace)."""

    def __aiter__(self) -> AsyncIterator[Event]: ...

    def close(self) -> None:
        """Stop the stream; pending iteration ends (StopAsyncIteration)."""


class Store(Protocol):
    """A versioned object store (see module docstring for the invariants)."""

    @property
    def revision(self) -> int:
        """The latest revision handed out (0 for an empty new store)."""

    @property
    def oldest_revision(self) -> int:
        """The oldest revision a watch may start from without `Expired`."""

    async def get(self, key: Key) -> Entry:
        """The current entry. Raises NotFound."""

    async def list(self, resource: str, namespace: str | None = None) -> tuple[list[Entry], int]:
        """All entries of a resource (one namespace when given, "" never
        matches namespaced objects), sorted by (namespace, name), and the
        store revision the list reflects."""

    async def create(self, key: Key, obj: dict[str, Any]) -> Entry:
        """Store a new object; sets metadata.resourceVersion. Raises AlreadyExists.
        The store takes ownership of ``obj``."""

    async def update(self, key: Key, obj: dict[str, Any], expect_rv: int | None = None) -> Entry:
        """Replace an object (compare-and-swap on ``expect_rv`` when given).
        Raises NotFound, Conflict. The store takes ownership of ``obj``."""

    async def delete(self, key: Key, expect_rv: int | None = None) -> Entry:
        """Remove an object; returns its last state stamped with the deletion
        revision. Raises NotFound, Conflict."""

    def watch(self, resource: str, namespace: str | None, since_rv: int) -> Watch:
        """Events of ``resource`` with revision > ``since_rv``, history first,
        then live. Raises Expired when since_rv < oldest_revision - 1. A
        watcher that falls more than a bounded number of events behind is
        closed (clients re-watch), never buffering without limit."""

    def count(self, resource: str) -> int:
        """Number of stored objects of a resource (for metrics)."""

    async def close(self) -> None:
        """Flush and release resources; ends all watches."""
