"""SQLiteStore durability: data, revisions and watch history survive close,
reopen and SIGKILL; open_store() picks backends by name."""

from __future__ import annotations

import asyncio
import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest

from svcnet.store import Expired, Key, MemoryStore, SQLiteStore, StoreError, open_store

REPO = Path(__file__).resolve().parents[3]


def obj(name: str, n: int = 0) -> dict[str, Any]:
    return {"metadata": {"name": name}, "spec": {"n": n}}


async def reopen(store: SQLiteStore, **kwargs: int) -> SQLiteStore:
    await store.close()
    return SQLiteStore(store.path, **kwargs)


async def test_data_and_revision_survive_reopen(tmp_path: Path) -> None:
    s = SQLiteStore(tmp_path / "s.db")
    await s.create(Key("pods", "a", "x"), obj("x"))
    await s.create(Key("pods", "b", "y"), obj("y"))
    await s.update(Key("pods", "a", "x"), obj("x", 1))
    await s.create(Key("nodes", "", "n1"), obj("n1"))
    await s.delete(Key("pods", "b", "y"))
    before, rv = await s.list("pods")
    s = await reopen(s)
    after, rv2 = await s.list("pods")
    assert rv2 == rv == s.revision == 5
    assert [(e.key, e.rv, e.raw, e.obj) for e in after] == [
        (e.key, e.rv, e.raw, e.obj) for e in before
    ]
    assert (await s.get(Key("pods", "a", "x"))).obj["spec"]["n"] == 1
    assert s.count("nodes") == 1 and s.count("pods") == 1
    assert (await s.create(Key("pods", "b", "y"), obj("y"))).rv == 6
    await s.close()


async def test_revision_never_goes_backwards(tmp_path: Path) -> None:
    # history=2, prune_every=1: the events table is pruned on every write
    s = SQLiteStore(tmp_path / "s.db", history=2, prune_every=1)
    keys = [Key("pods", "a", f"p{i}") for i in range(5)]
    for k in keys:
        await s.create(k, obj(k.name))
    for k in keys:
        await s.delete(k)
    assert s.revision == 10
    s = await reopen(s, history=2, prune_every=1)
    assert s.revision == 10 and s.count("pods") == 0
    assert (await s.create(keys[0], obj("p0"))).rv == 11
    # even with every event row gone
    with sqlite3.connect(s.path) as db:
        db.execute("DELETE FROM events")
        db.execute("DELETE FROM objects")
    s = await reopen(s)
    assert (s.revision, s.oldest_revision) == (11, 12)
    assert (await s.create(keys[1], obj("p1"))).rv == 12
    await s.close()


async def test_events_table_is_pruned_to_history(tmp_path: Path) -> None:
    s = SQLiteStore(tmp_path / "s.db", history=5, prune_every=3)
    for i in range(20):
        await s.create(Key("pods", "a", f"p{i}"), obj(f"p{i}"))
    await s.close()
    with sqlite3.connect(tmp_path / "s.db") as db:
        (n,) = db.execute("SELECT count(*) FROM events").fetchone()
        (mode,) = db.execute("PRAGMA journal_mode").fetchone()
    assert 5 <= n < 5 + 3
    assert mode == "wal"


async def test_watch_resumes_after_reopen(tmp_path: Path) -> None:
    s = SQLiteStore(tmp_path / "s.db", history=4)
    k = Key("pods", "a", "x")
    await s.create(Key("pods", "a", "other"), obj("other"))  # rv 1, pruned from memory
    await s.create(k, obj("x"))  # 2
    seen = s.revision
    await s.update(k, obj("x", 1))  # 3
    await s.create(Key("services", "a", "s"), obj("s"))  # 4
    await s.delete(k)  # 5
    s = await reopen(s, history=4)
    assert s.oldest_revision == 2
    with pytest.raises(Expired):
        s.watch("pods", None, 0)
    w = s.watch("pods", "a", seen)
    evs = [await asyncio.wait_for(w.__anext__(), 1) for _ in range(2)]  # type: ignore[attr-defined]
    assert [(e.type, e.rv) for e in evs] == [("MODIFIED", 3), ("DELETED", 5)]
    assert evs[0].prev is not None and evs[0].prev["spec"]["n"] == 0
    assert evs[1].prev == evs[0].obj
    assert evs[1].obj["metadata"]["resourceVersion"] == "5"
    await s.create(k, obj("x"))
    assert (await asyncio.wait_for(w.__anext__(), 1)).rv == 6  # type: ignore[attr-defined]
    await s.close()


async def test_failed_write_changes_nothing(tmp_path: Path) -> None:
    s = SQLiteStore(tmp_path / "s.db")
    await s.create(Key("pods", "a", "x"), obj("x"))
    w = s.watch("pods", None, 1)
    # an event row at the next revision makes the INSERT fail (primary key)
    s._db.execute("INSERT INTO events VALUES (2, 'ADDED', 'pods', 'a', 'z', x'7b7d', NULL)")
    with pytest.raises(StoreError):
        await s.create(Key("pods", "a", "y"), obj("y"))
    assert s.revision == 1 and s.count("pods") == 1
    assert not s._db.in_transaction
    with pytest.raises(TimeoutError):
        await asyncio.wait_for(w.__anext__(), 0.05)  # type: ignore[attr-defined]
    w.close()
    await s.close()


def test_open_rejects_garbage(tmp_path: Path) -> None:
    bad = tmp_path / "bad.db"
    bad.write_bytes(b"this is not a database" * 100)
    with pytest.raises(StoreError):
        SQLiteStore(bad)


CHILD = textwrap.dedent(
    """
    import asyncio, sys
    from svcnet.store import Key, SQLiteStore

    async def main() -> None:
        s = SQLiteStore(sys.argv[1])
        i = 0
        while True:
            e = await s.create(Key("pods", "a", f"p{i:06d}"), {"metadata": {"name": "x"}})
            sys.stdout.write(f"{e.key.name} {e.rv}\\n")
            sys.stdout.flush()
            i += 1

    asyncio.run(main())
    """
)


async def test_acknowledged_writes_survive_sigkill(tmp_path: Path) -> None:
    path = tmp_path / "s.db"
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    proc = subprocess.Popen(
        [sys.executable, "-c", CHILD, str(path)], stdout=subprocess.PIPE, env=env, text=True
    )
    acked: list[tuple[str, int]] = []
    try:
        assert proc.stdout is not None
        while len(acked) < 300:
            line = proc.stdout.readline()
            assert line, f"child exited early with {proc.poll()}"
            name, rv = line.split()
            acked.append((name, int(rv)))
        os.kill(proc.pid, signal.SIGKILL)
        rest, _ = proc.communicate(timeout=10)
    finally:
        if proc.poll() is None:
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait()
    assert proc.returncode == -signal.SIGKILL
    for line in rest.splitlines(keepends=True):
        if line.endswith("\n"):  # a torn last line was never acknowledged
            name, rv = line.split()
            acked.append((name, int(rv)))

    s = SQLiteStore(path)
    try:
        entries, rv = await s.list("pods", "a")
        stored = {e.key.name: e.rv for e in entries}
        for name, acked_rv in acked:
            assert stored.get(name) == acked_rv, name
        rvs = [e.rv for e in entries]
        assert len(set(rvs)) == len(rvs)
        assert rv >= max(r for _, r in acked)
        assert (await s.create(Key("pods", "a", "after"), obj("after"))).rv == rv + 1
    finally:
        await s.close()


async def test_open_store(tmp_path: Path) -> None:
    mem = open_store("memory", None)
    assert isinstance(mem, MemoryStore) and not isinstance(mem, SQLiteStore)
    await mem.close()
    sq = open_store("sqlite", tmp_path / "data")
    assert isinstance(sq, SQLiteStore)
    assert sq.path == tmp_path / "data" / "store.db" and sq.path.exists()
    await sq.close()


@pytest.mark.parametrize(
    ("spec", "data_dir", "match"),
    [
        ("etcd", Path("/tmp"), "unknown store backend 'etcd'"),
        ("", None, "unknown store backend ''"),
        ("sqlite", None, "needs a data directory"),
    ],
    ids=["etcd-not-yet", "empty", "sqlite-without-dir"],
)
def test_open_store_rejects(spec: str, data_dir: Path | None, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        open_store(spec, data_dir)
