"""SQLite-backed store: the in-memory cache plus write-through persistence.

Theory of operation
-------------------
`SQLiteStore` is a `MemoryStore` whose `_persist` hook writes each planned
change to SQLite in ONE transaction before the change is applied in memory:
the object row (upsert, or delete), the event row, and the revision counter
in ``meta``. Reads (get, list) and watches are served from memory; SQLite is
only read when the store is opened, which loads every object and the newest
``history`` events, so a watch from a revision seen before a restart resumes
without 410 as long as that revision is still retained.

Schema::

    objects(resource, namespace, name, rv, data BLOB,
            PRIMARY KEY (resource, namespace, name))
    events(rv INTEGER PRIMARY KEY, type, resource, namespace, name,
           data BLOB, prev BLOB)
    meta(k TEXT PRIMARY KEY, v)       -- 'revision', 'schema'

Durability: WAL journal with ``synchronous=NORMAL``. A committed transaction
survives the process being killed (SIGKILL) because it is in the WAL file;
an OS crash or power loss may lose the last transactions but never corrupts
the database. A write is acknowledged only after COMMIT returns.

The events table is pruned to the history bound every ``prune_every`` writes
(inside that write's transaction), so its size stays between ``history`` and
``history + prune_every`` rows. Because ``meta.revision`` is written with
every change, revisions never go backwards, even when every object and event
has been deleted.

Errors: any ``sqlite3.Error`` is rolled back and re-raised as `StoreError`
(the in-memory state is untouched, the revision not consumed).

One process owns a database file: the memory cache is authoritative, so a
second writer would not be seen; its writes would collide on the events
primary key and fail (StoreError) rather than corrupt anything.

The connection is used from one thread at a time (the API server's loop);
writes block the loop for one small transaction (no fsync per commit in WAL
NORMAL mode; fsync happens at checkpoints).
"""

from __future__ import annotations

import gc
import os
import sqlite3
from pathlib import Path
from typing import Any

import orjson

from svcnet.store.base import INTERNAL_PREFIX, Entry, Event, Key, StoreError
from svcnet.store.memory import DELETED, Change, MemoryStore

__all__ = ["SQLiteStore"]

SCHEMA_VERSION = 1

_SCHEMA = """
CREATE TABLE IF NOT EXISTS objects (
    resource  TEXT NOT NULL,
    namespace TEXT NOT NULL,
    name      TEXT NOT NULL,
    rv        INTEGER NOT NULL,
    data      BLOB NOT NULL,
    PRIMARY KEY (resource, namespace, name)
);
CREATE TABLE IF NOT EXISTS events (
    rv        INTEGER PRIMARY KEY,
    type      TEXT NOT NULL,
    resource  TEXT NOT NULL,
    namespace TEXT NOT NULL,
    name      TEXT NOT NULL,
    data      BLOB NOT NULL,
    prev      BLOB
);
CREATE TABLE IF NOT EXISTS meta (
    k TEXT PRIMARY KEY,
    v
);
"""

_UPSERT = (
    "INSERT INTO objects (resource, namespace, name, rv, data) VALUES (?, ?, ?, ?, ?) "
    "ON CONFLICT (resource, namespace, name) DO UPDATE SET rv = excluded.rv, data = excluded.data"
)
_DELETE = "DELETE FROM objects WHERE resource = ? AND namespace = ? AND name = ?"
_EVENT = (
    "INSERT INTO events (rv, type, resource, namespace, name, data, prev) "
    "VALUES (?, ?, ?, ?, ?, ?, ?)"
)
_SET_REVISION = "INSERT OR REPLACE INTO meta (k, v) VALUES ('revision', ?)"
_PRUNE = "DELETE FROM events WHERE rv <= ?"


class SQLiteStore(MemoryStore):
    """A durable `Store` in one SQLite file (see module docstring).

    The constructor opens (creating if needed) and loads the database
    synchronously, so it can run before the event loop serves.

    Args:
        path: database file; its directory is created if missing.
        history: events retained in memory and on disk for watch resumption.
        watcher_queue: live events buffered per watcher before it is ended.
        prune_every: prune the events table once per this many writes.

    Raises:
        StoreError: the file cannot be opened or is not a valid store.
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        history: int = 50_000,
        watcher_queue: int = 10_000,
        prune_every: int = 1_000,
    ) -> None:
        super().__init__(history, watcher_queue)
        if prune_every < 1:
            raise ValueError(f"prune_every must be >= 1, got {prune_every}")
        self.path = Path(path)
        self._history_limit = history
        self._prune_every = prune_every
        self._writes = 0
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(
                self.path, isolation_level=None, check_same_thread=False, cached_statements=64
            )
        except (OSError, sqlite3.Error) as e:
            raise StoreError(f"cannot open store {self.path}: {e}") from e
        try:
            self._init_db()
            self._load()
        except sqlite3.Error as e:
            self._db.close()
            raise StoreError(f"cannot load store {self.path}: {e}") from e
        except BaseException:
            self._db.close()
            raise

    @classmethod
    def open(cls, path: str | os.PathLike[str], **kwargs: int) -> SQLiteStore:
        """Open (or create) a store at ``path``; same as the constructor."""
        return cls(path, **kwargs)

    # ------------------------------------------------------------ setup
    def _init_db(self) -> None:
        db = self._db
        mode = db.execute("PRAGMA journal_mode=WAL").fetchone()[0]
        if str(mode).lower() != "wal":
            raise StoreError(f"{self.path}: cannot enable WAL journal (got {mode})")
        db.execute("PRAGMA synchronous=NORMAL")
        db.execute("PRAGMA busy_timeout=5000")
        db.executescript(_SCHEMA)
        row = db.execute("SELECT v FROM meta WHERE k = 'schema'").fetchone()
        if row is None:
            db.execute("INSERT INTO meta (k, v) VALUES ('schema', ?)", (SCHEMA_VERSION,))
        elif int(row[0]) != SCHEMA_VERSION:
            raise StoreError(f"{self.path}: schema version {row[0]}, expected {SCHEMA_VERSION}")

    def _load(self) -> None:
        """Read every object and the newest events into the memory cache."""
        # Bulk decoding allocates many containers: cyclic GC passes over the
        # growing heap would dominate, and nothing here creates cycles.
        gc_was_enabled = gc.isenabled()
        gc.disable()
        try:
            entries, events, revision = self._read_all()
        finally:
            if gc_was_enabled:
                gc.enable()
        self._cache.load(entries, events, revision)

    def _read_all(self) -> tuple[list[Entry], list[Event], int]:
        db = self._db
        row = db.execute("SELECT v FROM meta WHERE k = 'revision'").fetchone()
        revision = int(row[0]) if row is not None else 0
        rows = db.execute(
            "SELECT rv, type, resource, namespace, name, data, prev FROM events "
            "ORDER BY rv DESC LIMIT ?",
            (self._history_limit,),
        ).fetchall()
        rows.reverse()
        # The same state appears several times (an event's prev is usually the
        # previous event's data; the newest event's data is the stored object):
        # decode each distinct state once and share it, as a live store does.
        last: dict[tuple[str, str, str], tuple[Key, bytes, dict[str, Any]]] = {}
        events: list[Event] = []
        for rv, etype, resource, namespace, name, data, prev_raw in rows:
            t = (resource, namespace, name)
            seen = last.get(t)
            key = seen[0] if seen is not None else Key(resource, namespace, name)
            prev = None
            if prev_raw is not None:
                prev = (
                    seen[2] if seen is not None and seen[1] == prev_raw else orjson.loads(prev_raw)
                )
            obj = orjson.loads(data)
            last[t] = (key, data, obj)
            events.append(Event(etype, key, obj, data, rv, prev))
        entries: list[Entry] = []
        for resource, namespace, name, rv, data in db.execute(
            "SELECT resource, namespace, name, rv, data FROM objects"
        ):
            seen = last.get((resource, namespace, name))
            if seen is not None and seen[1] == data:
                entries.append(Entry(seen[0], seen[2], data, rv))
            else:
                entries.append(Entry(Key(resource, namespace, name), orjson.loads(data), data, rv))
            revision = max(revision, rv)
        return entries, events, revision

    # ------------------------------------------------------------ writes
    def _persist(self, change: Change) -> None:
        ev = change.event
        k = ev.key
        prev_raw = change.prev.raw if change.prev is not None else None
        self._writes += 1
        prune = self._writes % self._prune_every == 0
        db = self._db
        try:
            db.execute("BEGIN")
            if ev.type == DELETED:
                db.execute(_DELETE, (k.resource, k.namespace, k.name))
            else:
                db.execute(_UPSERT, (k.resource, k.namespace, k.name, ev.rv, ev.raw))
            if not k.resource.startswith(INTERNAL_PREFIX):
                db.execute(
                    _EVENT, (ev.rv, ev.type, k.resource, k.namespace, k.name, ev.raw, prev_raw)
                )
            db.execute(_SET_REVISION, (ev.rv,))
            if prune:
                db.execute(_PRUNE, (ev.rv - self._history_limit,))
            db.execute("COMMIT")
        except sqlite3.Error as e:
            if db.in_transaction:
                try:
                    db.execute("ROLLBACK")
                except sqlite3.Error as re:
                    raise StoreError(f"sqlite rollback of {k} failed: {re}") from e
            raise StoreError(f"sqlite write of {k} failed: {e}") from e

    async def close(self) -> None:
        """End all watches and close the database (idempotent)."""
        if self._closed:
            return
        await super().close()
        try:
            self._db.close()
        except sqlite3.Error as e:
            raise StoreError(f"closing {self.path}: {e}") from e
