"""Watch semantics, on every backend: history replay then live events,
filtering, 410 Expired, bounded per-watcher buffers, close and prev."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest

from svcnet.store import Event, Expired, Key, Store, StoreError, Watch

MakeStore = Callable[..., Store]


def obj(name: str) -> dict[str, Any]:
    return {"metadata": {"name": name}, "spec": {"n": 0}}


async def take(w: Watch, n: int, timeout: float = 2.0) -> list[Event]:
    """The next ``n`` events (fails the test on timeout)."""
    it = w.__aiter__()
    return [await asyncio.wait_for(it.__anext__(), timeout) for _ in range(n)]


async def drain(w: Watch, timeout: float = 2.0) -> list[Event]:
    """All events until the watch ends."""

    async def run() -> list[Event]:
        return [ev async for ev in w]

    return await asyncio.wait_for(run(), timeout)


def summary(evs: list[Event]) -> list[tuple[str, str, int]]:
    return [(ev.type, str(ev.key), ev.rv) for ev in evs]


async def test_replay_then_live(store: Store) -> None:
    k = Key("pods", "a", "x")
    await store.create(k, obj("x"))
    await store.update(k, obj("x"))
    w = store.watch("pods", None, 0)
    assert summary(await take(w, 2)) == [
        ("ADDED", "pods/a/x", 1),
        ("MODIFIED", "pods/a/x", 2),
    ]
    await store.delete(k)
    assert summary(await take(w, 1)) == [("DELETED", "pods/a/x", 3)]
    w.close()


async def test_replay_from_middle(store: Store) -> None:
    for i in range(5):
        await store.create(Key("pods", "a", f"p{i}"), obj(f"p{i}"))
    w = store.watch("pods", "a", 3)
    assert [ev.rv for ev in await take(w, 2)] == [4, 5]
    w.close()
    assert await drain(w) == []


async def test_event_payload_is_the_stored_entry(store: Store) -> None:
    k = Key("pods", "a", "x")
    w = store.watch("pods", None, 0)
    e = await store.create(k, obj("x"))
    (ev,) = await take(w, 1)
    assert ev.obj is e.obj and ev.raw == e.raw and ev.rv == e.rv


@dataclass(frozen=True)
class FilterCase:
    id: str
    rule: str
    resource: str
    namespace: str | None
    want: list[str]


# writes, in order: pods/a/x, pods/b/y, services/a/s, nodes/n1, pods/ab/z
FILTER_CASES = [
    FilterCase(
        "resource-all-ns",
        "all namespaces of one resource",
        "pods",
        None,
        ["pods/a/x", "pods/b/y", "pods/ab/z"],
    ),
    FilterCase("one-ns", "only the asked namespace, not a prefix", "pods", "a", ["pods/a/x"]),
    FilterCase(
        "other-resource", "other resources are not delivered", "services", None, ["services/a/s"]
    ),
    FilterCase("cluster-scoped", "cluster-scoped resource", "nodes", None, ["nodes/n1"]),
    FilterCase(
        "cluster-scoped-empty-ns", "namespace '' matches cluster-scoped", "nodes", "", ["nodes/n1"]
    ),
    FilterCase("nothing", "a resource without writes sees nothing", "widgets", None, []),
]

FILTER_WRITES = [
    Key("pods", "a", "x"),
    Key("pods", "b", "y"),
    Key("services", "a", "s"),
    Key("nodes", "", "n1"),
    Key("pods", "ab", "z"),
]


@pytest.mark.parametrize("case", FILTER_CASES, ids=lambda c: c.id)
@pytest.mark.parametrize("phase", ["history", "live"])
async def test_watch_filtering(store: Store, case: FilterCase, phase: str) -> None:
    w = None
    if phase == "live":
        w = store.watch(case.resource, case.namespace, 0)
    for k in FILTER_WRITES:
        await store.create(k, obj(k.name))
    if w is None:
        w = store.watch(case.resource, case.namespace, 0)
    got = await take(w, len(case.want))
    assert [str(ev.key) for ev in got] == case.want, case.rule
    # nothing else is pending: a marker write arrives next
    marker = Key(case.resource, case.namespace or "", "zz-marker")
    await store.create(marker, obj("zz-marker"))
    assert [str(ev.key) for ev in await take(w, 1)] == [str(marker)]
    w.close()


@dataclass(frozen=True)
class ExpiryCase:
    id: str
    rule: str
    since: int
    expired: bool
    replay: list[int]


# history=3 after 5 writes retains revisions 3, 4, 5: oldest_revision is 3
EXPIRY_CASES = [
    ExpiryCase("before-oldest-minus-one", "older than retained history is 410", 1, True, []),
    ExpiryCase("zero", "0 after history was trimmed is 410", 0, True, []),
    ExpiryCase("oldest-minus-one", "oldest_revision - 1 replays all retained", 2, False, [3, 4, 5]),
    ExpiryCase("oldest", "from the oldest retained", 3, False, [4, 5]),
    ExpiryCase("current", "from the current revision: live only", 5, False, []),
    ExpiryCase("future", "a future revision waits for it", 9, False, []),
]


@pytest.mark.parametrize("case", EXPIRY_CASES, ids=lambda c: c.id)
async def test_expiry(make_store: MakeStore, case: ExpiryCase) -> None:
    store = make_store(history=3)
    for i in range(5):
        await store.create(Key("pods", "a", f"p{i}"), obj(f"p{i}"))
    assert store.oldest_revision == 3
    if case.expired:
        with pytest.raises(Expired) as ei:
            store.watch("pods", None, case.since)
        assert (ei.value.requested, ei.value.oldest) == (case.since, 3)
        return
    w = store.watch("pods", None, case.since)
    assert [ev.rv for ev in await take(w, len(case.replay))] == case.replay
    w.close()


async def test_empty_store_watch_from_zero(store: Store) -> None:
    assert (store.revision, store.oldest_revision) == (0, 1)
    w = store.watch("pods", None, 0)
    await store.create(Key("pods", "a", "x"), obj("x"))
    assert [ev.rv for ev in await take(w, 1)] == [1]
    w.close()


async def test_future_revision_skips_earlier_live_events(store: Store) -> None:
    w = store.watch("pods", None, 2)
    for i in range(4):
        await store.create(Key("pods", "a", f"p{i}"), obj(f"p{i}"))
    assert [ev.rv for ev in await take(w, 2)] == [3, 4]
    w.close()


async def test_slow_watcher_is_closed_not_buffered(make_store: MakeStore) -> None:
    store = make_store(watcher_queue=3)
    slow = store.watch("pods", None, 0)
    fast = store.watch("pods", None, 0)
    got_fast: list[int] = []
    for i in range(10):
        await store.create(Key("pods", "a", f"p{i}"), obj(f"p{i}"))
        got_fast += [ev.rv for ev in await take(fast, 1)]
    assert got_fast == list(range(1, 11))
    # the slow one gets the prefix it buffered, then its iteration ends
    assert [ev.rv for ev in await drain(slow)] == [1, 2, 3]
    assert getattr(slow, "overflowed", False)
    fast.close()


async def test_history_replay_is_not_limited_by_queue(make_store: MakeStore) -> None:
    store = make_store(watcher_queue=2)
    for i in range(10):
        await store.create(Key("pods", "a", f"p{i}"), obj(f"p{i}"))
    w = store.watch("pods", None, 0)
    await store.create(Key("pods", "a", "live"), obj("live"))
    assert [ev.rv for ev in await take(w, 11)] == list(range(1, 12))
    w.close()


async def test_close_unblocks_waiting_consumer(store: Store) -> None:
    w = store.watch("pods", None, 0)
    consumer = asyncio.create_task(drain(w))
    await asyncio.sleep(0.01)
    assert not consumer.done()
    w.close()
    assert await asyncio.wait_for(consumer, 1) == []


async def test_close_discards_pending_events(store: Store) -> None:
    w = store.watch("pods", None, 0)
    await store.create(Key("pods", "a", "x"), obj("x"))
    w.close()
    assert await drain(w) == []
    await store.create(Key("pods", "a", "y"), obj("y"))  # no delivery to a closed watch


async def test_store_close_ends_all_watches(store: Store) -> None:
    ws = [store.watch("pods", ns, 0) for ns in (None, "a", "b")]
    consumers = [asyncio.create_task(drain(w)) for w in ws]
    await asyncio.sleep(0.01)
    await store.close()
    assert await asyncio.wait_for(asyncio.gather(*consumers), 1) == [[], [], []]
    with pytest.raises(StoreError):
        store.watch("pods", None, 0)


async def test_cancelled_wait_loses_nothing(store: Store) -> None:
    """The API server polls with asyncio.wait_for(it.__anext__(), timeout)."""
    w = store.watch("pods", None, 0)
    it = w.__aiter__()
    with pytest.raises(TimeoutError):
        await asyncio.wait_for(it.__anext__(), 0.01)
    await store.create(Key("pods", "a", "x"), obj("x"))
    assert [ev.rv for ev in await take(w, 1)] == [1]
    w.close()


async def test_events_carry_prev(store: Store) -> None:
    k = Key("pods", "a", "x")
    w = store.watch("pods", None, 0)
    first = obj("x")
    second = obj("x")
    second["spec"]["n"] = 1
    await store.create(k, first)
    await store.update(k, second)
    await store.delete(k)
    added, modified, deleted = await take(w, 3)
    assert added.prev is None
    assert modified.prev is not None and modified.prev["spec"]["n"] == 0
    assert modified.prev["metadata"]["resourceVersion"] == "1"
    assert deleted.prev is not None and deleted.prev["metadata"]["resourceVersion"] == "2"
    assert deleted.obj["spec"]["n"] == 1
    assert deleted.obj["metadata"]["resourceVersion"] == "3"
    # history replay carries prev too
    again = store.watch("pods", None, 1)
    modified2, _ = await take(again, 2)
    assert modified2.prev == modified.prev
    w.close()
    again.close()


async def test_many_watchers_independent(store: Store) -> None:
    ws = [store.watch("pods", None, 0) for _ in range(50)]
    await store.create(Key("pods", "a", "x"), obj("x"))
    for w in ws:
        assert [ev.rv for ev in await take(w, 1)] == [1]
        w.close()
    await store.create(Key("pods", "a", "y"), obj("y"))
