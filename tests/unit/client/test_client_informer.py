"""Informer behaviour against a scripted fake client (client-go reflector and
shared informer semantics): list then watch, event delivery, re-watch on timeout,
re-list on 410 and on errors with backoff, resync, late handlers."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest

from svcnet.client.cache import index_by_field, key_string
from svcnet.client.clock import FakeClock
from svcnet.client.errors import GoneError, TransportError
from svcnet.client.informer import Informer, InformerFactory
from svcnet.client.resources import PODS, SERVICES

END = object()  # ends a scripted watch stream cleanly


def pod(name: str, rv: int, node: str = "") -> dict[str, Any]:
    return {
        "metadata": {"name": name, "namespace": "default", "resourceVersion": str(rv)},
        "spec": {"nodeName": node} if node else {},
    }


class FakeClient:
    """Implements the two methods informers use: list_all and watch."""

    def __init__(self, items: list[dict[str, Any]], rv: int) -> None:
        self.items = items
        self.rv = rv
        self.list_calls = 0
        self.watch_calls: list[tuple[str | None, asyncio.Queue[Any]]] = []
        self.timeouts: list[int] = []
        self.list_error: Exception | None = None

    async def list_all(self, resource: Any, *args: Any) -> tuple[list[dict[str, Any]], str]:
        self.list_calls += 1
        if self.list_error is not None:
            raise self.list_error
        return list(self.items), str(self.rv)

    async def watch(
        self, resource: Any, namespace: Any = None, resource_version: str | None = None, **kw: Any
    ) -> AsyncIterator[tuple[str, dict[str, Any]]]:
        assert kw["allow_bookmarks"] is True
        q: asyncio.Queue[Any] = asyncio.Queue()
        self.timeouts.append(kw["timeout_seconds"])
        self.watch_calls.append((resource_version, q))
        while True:
            item = await q.get()
            if item is END:
                return
            if isinstance(item, Exception):
                raise item
            yield item

    def push(self, *events: Any) -> None:
        q = self.watch_calls[-1][1]
        for ev in events:
            q.put_nowait(ev)


class Recorder:
    def __init__(self) -> None:
        self.events: list[tuple[str, str, str]] = []

    def on_add(self, o: dict[str, Any]) -> None:
        self.events.append(("add", key_string(o), o["metadata"]["resourceVersion"]))

    def on_update(self, old: dict[str, Any], new: dict[str, Any]) -> None:
        self.events.append(("update", key_string(new), new["metadata"]["resourceVersion"]))

    def on_delete(self, o: dict[str, Any]) -> None:
        self.events.append(("delete", key_string(o), o["metadata"]["resourceVersion"]))

    def take(self) -> list[tuple[str, str, str]]:
        out, self.events = self.events, []
        return out


async def until(cond: Callable[[], bool], what: str = "condition") -> None:
    for _ in range(1000):
        if cond():
            return
        await asyncio.sleep(0)
    raise AssertionError(f"timed out waiting for {what}")


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


_running: list[asyncio.Task[None]] = []


@pytest.fixture(autouse=True)
async def _stop_informers() -> AsyncIterator[None]:
    """Every informer a test started has returned by teardown."""
    yield
    tasks, _running[:] = list(_running), []
    for t in tasks:
        if not t.done():
            t.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await t


async def started(fake: FakeClient, clock: FakeClock, **kw: Any) -> tuple[Informer, Recorder]:
    inf = Informer(fake, PODS, clock=clock, **kw)  # type: ignore[arg-type]
    rec = Recorder()
    inf.add_handler(rec.on_add, rec.on_update, rec.on_delete)
    _running.append(inf.start())
    assert await inf.wait_synced(1)
    await until(lambda: len(fake.watch_calls) == 1, "first watch")
    return inf, rec


async def test_list_then_watch_from_list_rv(clock: FakeClock) -> None:
    fake = FakeClient([pod("a", 3), pod("b", 4)], rv=10)
    inf, rec = await started(fake, clock)
    assert rec.take() == [("add", "default/a", "3"), ("add", "default/b", "4")]
    assert fake.watch_calls[0][0] == "10"
    assert inf.resource_version == "10" and inf.has_synced
    inf.stop()


async def test_watch_events_in_order(clock: FakeClock) -> None:
    fake = FakeClient([pod("a", 3)], rv=10)
    inf, rec = await started(fake, clock, indexers={"node": index_by_field("spec.nodeName")})
    rec.take()
    fake.push(
        ("ADDED", pod("b", 11, node="n1")),
        ("MODIFIED", pod("a", 12, node="n1")),
        ("ADDED", pod("a", 13, node="n2")),  # ADDED of a cached key is an update
        ("DELETED", pod("b", 14, node="n1")),
        ("DELETED", pod("zzz", 15)),  # never seen: not announced
        ("BOOKMARK", {"metadata": {"resourceVersion": "20"}}),
    )
    await until(lambda: inf.resource_version == "20", "bookmark")
    assert rec.take() == [
        ("add", "default/b", "11"),
        ("update", "default/a", "12"),
        ("update", "default/a", "13"),
        ("delete", "default/b", "14"),
    ]
    assert [key_string(p) for p in inf.by_index("node", "n2")] == ["default/a"]
    assert inf.by_index("node", "n1") == []
    assert inf.get("default", "a")["metadata"]["resourceVersion"] == "13"
    inf.stop()


async def test_watch_timeout_resumes_from_last_rv_without_relist(clock: FakeClock) -> None:
    fake = FakeClient([], rv=10)
    inf, _ = await started(fake, clock)
    assert 300 <= fake.timeouts[0] <= 600, "client-go: random in [5m, 10m]"
    fake.push(("ADDED", pod("a", 11)))
    await until(lambda: inf.resource_version == "11", "event")
    clock.step(fake.timeouts[0])  # the server ends the stream at our timeout
    fake.push(END)
    await until(lambda: len(fake.watch_calls) == 2, "re-watch")
    assert fake.watch_calls[1][0] == "11"
    assert fake.list_calls == 1
    inf.stop()


async def test_early_close_backs_off_and_relists(clock: FakeClock) -> None:
    # a server that ends a stream before our timeout may have restarted and,
    # with the memory store, reused resourceVersions: only a re-list is safe
    fake = FakeClient([pod("a", 1)], rv=10)
    inf, rec = await started(fake, clock)
    rec.take()
    fake.push(("ADDED", pod("b", 11)), END)
    for _ in range(50):
        await asyncio.sleep(0)
    assert len(fake.watch_calls) == 1, "no hot loop on streams that end early"
    fake.items, fake.rv = [pod("c", 3)], 5  # the restarted server counts from 1 again
    clock.step(2.0)  # first backoff is 0.8s .. 1.6s
    await until(lambda: len(fake.watch_calls) == 2, "watch after re-list")
    assert fake.list_calls == 2
    assert fake.watch_calls[1][0] == "5"
    assert rec.take() == [
        ("add", "default/b", "11"),
        ("delete", "default/a", "1"),
        ("delete", "default/b", "11"),
        ("add", "default/c", "3"),
    ]
    inf.stop()


async def test_gone_relists_and_delivers_replace_diff(clock: FakeClock) -> None:
    fake = FakeClient([pod("keep", 1), pod("change", 2), pod("gone", 3)], rv=10)
    inf, rec = await started(fake, clock)
    rec.take()
    fake.items = [pod("change", 30), pod("keep", 1), pod("new", 31)]
    fake.rv = 40
    fake.push(GoneError({"code": 410, "reason": "Expired", "message": "too old"}))
    await until(lambda: len(fake.watch_calls) == 2, "watch after re-list")
    assert fake.list_calls == 2, "410 re-lists at once, without backoff"
    assert fake.watch_calls[1][0] == "40"
    assert rec.take() == [
        ("delete", "default/gone", "3"),  # last known state
        ("add", "default/new", "31"),
        ("update", "default/change", "30"),
    ]
    assert sorted(key_string(p) for p in inf.list()) == [
        "default/change",
        "default/keep",
        "default/new",
    ]
    inf.stop()


async def test_repeated_gone_backs_off(clock: FakeClock) -> None:
    fake = FakeClient([], rv=10)
    inf, _ = await started(fake, clock)
    gone = GoneError({"code": 410, "reason": "Expired", "message": "too old"})
    fake.push(gone)
    await until(lambda: len(fake.watch_calls) == 2, "second watch")
    fake.push(gone)  # again, before any event: back off now
    for _ in range(50):
        await asyncio.sleep(0)
    assert fake.list_calls == 2
    clock.step(2.0)
    await until(lambda: fake.list_calls == 3, "re-list after backoff")
    inf.stop()


async def test_transport_error_backs_off_then_relists(clock: FakeClock) -> None:
    fake = FakeClient([pod("a", 1)], rv=10)
    inf, rec = await started(fake, clock)
    rec.take()
    fake.items = []
    fake.push(TransportError("connection reset"))
    for _ in range(50):
        await asyncio.sleep(0)
    assert fake.list_calls == 1, "waits for the backoff"
    clock.step(2.0)
    await until(lambda: len(fake.watch_calls) == 2, "watch after re-list")
    assert fake.list_calls == 2
    assert rec.take() == [("delete", "default/a", "1")]
    inf.stop()


async def test_failing_list_retries_with_growing_backoff(clock: FakeClock) -> None:
    fake = FakeClient([], rv=10)
    fake.list_error = TransportError("refused")
    inf = Informer(fake, PODS, clock=clock)  # type: ignore[arg-type]
    task = inf.start()
    await until(lambda: fake.list_calls == 1, "first list")
    assert not inf.has_synced
    clock.step(1.7)
    await until(lambda: fake.list_calls == 2, "second list")
    clock.step(1.5)  # second delay is 1.6s .. 3.2s
    for _ in range(20):
        await asyncio.sleep(0)
    assert fake.list_calls == 2
    fake.list_error = None
    clock.step(2.0)
    assert await inf.wait_synced(1)
    inf.stop()
    await asyncio.wait_for(task, 1)


async def test_resync_updates_every_object(clock: FakeClock) -> None:
    fake = FakeClient([pod("a", 1), pod("b", 2)], rv=10)
    inf, rec = await started(fake, clock, resync_period=30.0)
    rec.take()
    clock.step(29)
    await asyncio.sleep(0)
    assert rec.take() == []
    clock.step(1)
    await until(lambda: len(rec.events) == 2, "resync")
    assert rec.take() == [("update", "default/a", "1"), ("update", "default/b", "2")]
    inf.stop()


async def test_late_handler_gets_cached_objects_and_failing_handler_is_isolated(
    clock: FakeClock,
) -> None:
    fake = FakeClient([pod("a", 1)], rv=10)
    inf, rec = await started(fake, clock)

    def boom(o: dict[str, Any]) -> None:
        raise RuntimeError("handler bug")

    inf.add_handler(on_add=boom)
    late = Recorder()
    h = inf.add_handler(late.on_add)
    assert late.take() == [("add", "default/a", "1")]
    fake.push(("ADDED", pod("b", 11)))
    await until(lambda: inf.resource_version == "11", "event")
    assert late.take() == [("add", "default/b", "11")]
    assert rec.take()[-1] == ("add", "default/b", "11")
    inf.remove_handler(h)
    fake.push(("ADDED", pod("c", 12)))
    await until(lambda: inf.resource_version == "12", "event")
    assert late.take() == []
    inf.stop()


async def test_transform_slims_objects(clock: FakeClock) -> None:
    def slim(o: dict[str, Any]) -> dict[str, Any]:
        return {"metadata": o["metadata"], "node": o["spec"].get("nodeName", "")}

    fake = FakeClient([pod("a", 1, node="n1")], rv=10)
    inf, _ = await started(fake, clock, transform=slim)
    fake.push(("MODIFIED", pod("a", 11, node="n2")))
    await until(lambda: inf.resource_version == "11", "event")
    assert inf.get("default", "a") == {"metadata": pod("a", 11)["metadata"], "node": "n2"}
    inf.stop()


async def test_stop_ends_run_and_wait_synced_false_when_stopped(clock: FakeClock) -> None:
    fake = FakeClient([], rv=1)
    fake.list_error = TransportError("down")
    inf = Informer(fake, PODS, clock=clock)  # type: ignore[arg-type]
    task = inf.start()
    waiter = asyncio.create_task(inf.wait_synced())
    await until(lambda: fake.list_calls == 1, "list")
    inf.stop()
    await asyncio.wait_for(task, 1)
    assert await waiter is False


async def test_factory_shares_informers(clock: FakeClock) -> None:
    fake = FakeClient([pod("a", 1)], rv=5)
    factory = InformerFactory(fake, clock=clock)  # type: ignore[arg-type]
    pods1 = factory.informer(PODS)
    assert factory.informer(PODS) is pods1
    assert factory.informer(PODS, label_selector={"app": "x"}) is not pods1
    svcs = factory.informer(SERVICES)
    factory.start()
    assert await factory.wait_for_cache_sync(1)
    assert len(pods1.list()) == 1 and len(svcs.list()) == 1
    assert len(list(factory)) == 3
    await factory.shutdown()
