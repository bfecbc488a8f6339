"""Informers: a local, indexed, event-driven mirror of one API collection.

Theory of operation (client-go's Reflector + DeltaFIFO + sharedIndexInformer,
collapsed onto one asyncio task because handlers run on the same loop):

1. LIST the collection (paged, consistent read) and `Store.replace` the
   cache with it. The returned diff is delivered to handlers: deletes
   (with the last known state) first, so a name or address freed by a
   gone object is free before an added one claims it, then adds, then
   updates. The first successful list marks the informer synced.
2. WATCH from the list's resourceVersion with allowWatchBookmarks and a
   randomised server-side timeout (5-10 minutes, as client-go). Each event
   updates the cache, then handlers; every event and bookmark advances
   `resource_version`.
3. When the stream ends at the timeout we asked for, WATCH again from the
   last resourceVersion: nothing is missed and nothing is re-listed.
4. On 410 Gone (an HTTP 410 or an ERROR event with code 410) the history
   we would resume from is gone: re-list at once (with backoff if it
   keeps happening). On any other error (connection refused or reset,
   5xx, a broken stream), and when the server ends a stream before our
   timeout (shutdown, restart, a watcher that fell behind), back off
   (jittered, 0.8s doubling to 30s) and re-list. Unlike client-go we do
   not resume after an early close: a restarted svcnet with the memory
   store counts resourceVersions from 1 again, so resuming from an old
   one would silently skip every new event, while a re-list converges
   from anything and delivers exactly the difference.
5. Every `resync_period` seconds, `on_update(obj, obj)` is called for every
   cached object so level-driven controllers re-check the world.

Handlers are plain functions called synchronously in event order; they
must be quick and must not mutate the objects (the cache shares them).
The usual handler enqueues a key into a `RateLimitingQueue`. A handler
that raises is logged and skipped; the cache stays correct. A handler
added after objects are cached receives them as adds at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import orjson

from svcnet.client.cache import (
    IndexFunc,
    ReplaceDiff,
    Store,
    object_key,
    resource_version,
)
from svcnet.client.clock import Backoff, Clock, RealClock
from svcnet.client.errors import ApiError, GoneError, TransportError
from svcnet.client.resources import Resource
from svcnet.client.rest import Client, selector_string
from svcnet.util.log import get_logger

__all__ = ["EventHandler", "Informer", "InformerFactory"]

log = get_logger(__name__)

Obj = dict[str, Any]
MIN_WATCH_TIMEOUT = 300.0
# A stream that ends cleanly this close to the timeout we asked for ended
# because of it; one that ends sooner was closed by the server.
TIMEOUT_SLACK = 1.0


@dataclass(eq=False)
class EventHandler:
    """Callbacks of one consumer; returned by `Informer.add_handler` for removal."""

    on_add: Callable[[Obj], None] | None = None
    on_update: Callable[[Obj, Obj], None] | None = None
    on_delete: Callable[[Obj], None] | None = None


class Informer:
    """List+watch one collection into an indexed cache and notify handlers.

    Args:
        client: the REST client.
        resource: what to watch (e.g. `svcnet.client.PODS`).
        namespace: one namespace, or None for all.
        label_selector / field_selector: server-side filters (str or mapping).
        resync_period: seconds between resyncs (None: never).
        clock: time source for resync and backoff.
        indexers: initial indexes, name -> function (see `Store`).
        transform: applied to each object before caching (slim views); it
            must keep metadata.name, namespace and resourceVersion.
        page_size: list page size (None: one request).
        watch_timeout: the minimum server-side watch timeout; each watch
            asks for a random value between it and twice it.
    """

    def __init__(
        self,
        client: Client,
        resource: Resource,
        namespace: str | None = None,
        label_selector: str | Mapping[str, str] | None = None,
        field_selector: str | Mapping[str, str] | None = None,
        resync_period: float | None = None,
        clock: Clock | None = None,
        *,
        indexers: Mapping[str, IndexFunc] | None = None,
        transform: Callable[[Obj], Obj] | None = None,
        page_size: int | None = 500,
        watch_timeout: float = MIN_WATCH_TIMEOUT,
    ) -> None:
        self.client = client
        self.resource = resource
        self.namespace = namespace if resource.namespaced else None
        self.label_selector = selector_string(label_selector)
        self.field_selector = selector_string(field_selector)
        self.resync_period = resync_period
        self.clock: Clock = clock or RealClock()
        self.store = Store(indexers)
        self.transform = transform
        self.page_size = page_size
        self.watch_timeout = watch_timeout
        self.resource_version = ""
        self.lists = 0  # successful lists (observability and tests)
        self.watches = 0  # watch requests started
        self._backoff = Backoff(self.clock)
        self._handlers: list[EventHandler] = []
        self._synced = asyncio.Event()
        self._stopping = asyncio.Event()
        self._running = False
        self._gone_streak = 0
        where = f" in {namespace}" if self.namespace else ""
        self.name = f"{resource.group_resource}{where}"

    # ------------------------------------------------------------ cache API
    def add_indexer(self, name: str, fn: IndexFunc) -> None:
        self.store.add_indexer(name, fn)

    def by_index(self, name: str, value: str) -> list[Obj]:
        return self.store.by_index(name, value)

    def get(self, namespace: str, name: str) -> Obj | None:
        """The cached object (namespace "" for cluster-scoped kinds)."""
        return self.store.get((namespace or "", name))

    def get_by_key(self, key: str) -> Obj | None:
        """The cached object for a "namespace/name" key."""
        return self.store.get_by_key(key)

    def list(self, namespace: str | None = None) -> list[Obj]:
        return self.store.list(namespace)

    @property
    def has_synced(self) -> bool:
        """True once the first list is cached and delivered to handlers."""
        return self._synced.is_set()

    async def wait_synced(self, timeout: float | None = None) -> bool:
        """Wait until synced; False on timeout or when stopped before syncing."""
        if self.has_synced:
            return True
        waits = {
            asyncio.ensure_future(self._synced.wait()),
            asyncio.ensure_future(self._stopping.wait()),
        }
        try:
            await asyncio.wait(waits, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for w in waits:
                w.cancel()
        return self.has_synced

    # ------------------------------------------------------------- handlers
    def add_handler(
        self,
        on_add: Callable[[Obj], None] | None = None,
        on_update: Callable[[Obj, Obj], None] | None = None,
        on_delete: Callable[[Obj], None] | None = None,
    ) -> EventHandler:
        """Register callbacks; objects already cached are delivered as adds now."""
        h = EventHandler(on_add, on_update, on_delete)
        self._handlers.append(h)
        if on_add is not None:
            for obj in self.store.list():
                self._call(on_add, obj)
        return h

    def remove_handler(self, handler: EventHandler) -> None:
        with contextlib.suppress(ValueError):
            self._handlers.remove(handler)

    def _call(self, fn: Callable[..., None], *args: Obj) -> None:
        try:
            fn(*args)
        except Exception:
            log.exception("informer handler failed", informer=self.name)

    def _added(self, obj: Obj) -> None:
        for h in list(self._handlers):
            if h.on_add is not None:
                self._call(h.on_add, obj)

    def _updated(self, old: Obj, new: Obj) -> None:
        for h in list(self._handlers):
            if h.on_update is not None:
                self._call(h.on_update, old, new)

    def _deleted(self, obj: Obj) -> None:
        for h in list(self._handlers):
            if h.on_delete is not None:
                self._call(h.on_delete, obj)

    def _deliver(self, diff: ReplaceDiff) -> None:
        for obj in diff.deletes:
            self._deleted(obj)
        for obj in diff.adds:
            self._added(obj)
        for old, new in diff.updates:
            self._updated(old, new)

    # ------------------------------------------------------------ lifecycle
    def start(self) -> asyncio.Task[None]:
        """Run in a new task (convenience for ``create_task(informer.run())``)."""
        return asyncio.get_running_loop().create_task(self.run(), name=f"informer {self.name}")

    def stop(self) -> None:
        """Ask `run()` to return (idempotent)."""
        self._stopping.set()

    async def run(self) -> None:
        """List and watch until `stop()`; errors are retried, never raised."""
        if self._running:
            raise RuntimeError(f"informer {self.name} is already running")
        self._running = True
        tasks = [
            asyncio.ensure_future(self._reflect()),
            asyncio.ensure_future(self._stopping.wait()),
        ]
        if self.resync_period:
            tasks.append(asyncio.ensure_future(self._resync_loop(self.resync_period)))
        try:
            await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for t in tasks:
                t.cancel()
            for t in tasks:
                with contextlib.suppress(asyncio.CancelledError):
                    await t
            self._running = False

    async def _resync_loop(self, period: float) -> None:
        while True:
            await self.clock.sleep(period)
            if self.has_synced:
                self.resync()

    def resync(self) -> None:
        """Deliver on_update(obj, obj) for every cached object now."""
        for obj in self.store.list():
            self._updated(obj, obj)

    # -------------------------------------------------------------- reflector
    async def _reflect(self) -> None:
        need_list = True
        while not self._stopping.is_set():
            try:
                if need_list:
                    await self.list_and_replace()
                    need_list = False
                if await self.watch_once():
                    continue  # our timeout: resume from the last resourceVersion
                need_list = True
                delay = self._backoff.next_delay()
                log.info(
                    "watch closed by the server; will re-list",
                    informer=self.name,
                    retry_in=round(delay, 3),
                )
            except GoneError as e:
                need_list = True
                self._gone_streak += 1
                log.info("resourceVersion expired; re-listing", informer=self.name, error=e.message)
                if self._gone_streak == 1:
                    continue
                delay = self._backoff.next_delay()
            except (ApiError, TransportError, orjson.JSONDecodeError) as e:
                need_list = True
                delay = self._backoff.next_delay()
                log.warning(
                    "list/watch failed; will re-list",
                    informer=self.name,
                    error=f"{type(e).__name__}: {e}",
                    retry_in=round(delay, 3),
                )
            await self.clock.sleep(delay)

    async def list_and_replace(self) -> ReplaceDiff:
        """LIST the collection, replace the cache and deliver the difference."""
        items, rv = await self.client.list_all(
            self.resource,
            self.namespace,
            self.label_selector,
            self.field_selector,
            self.page_size,
        )
        if self.transform is not None:
            items = [self.transform(o) for o in items]
        diff = self.store.replace(items)
        self.resource_version = rv
        self.lists += 1
        self._deliver(diff)
        self._synced.set()
        return diff

    async def watch_once(self, resource_version: str | None = None) -> bool:
        """One WATCH from ``resource_version`` (default: the last one seen),
        applying events until the stream ends.

        Returns True when the stream ended at the timeout we asked for (safe
        to resume from the last resourceVersion), False when the server
        closed it earlier (shutdown, restart, overload: re-list).

        Raises:
            GoneError: the resourceVersion is too old (re-list needed).
            ApiError, TransportError: the watch failed.
        """
        rv = resource_version if resource_version is not None else self.resource_version
        timeout = int(random.uniform(self.watch_timeout, 2 * self.watch_timeout))
        started = self.clock.now()
        events = 0
        self.watches += 1
        stream = self.client.watch(
            self.resource,
            self.namespace,
            resource_version=rv,
            label_selector=self.label_selector,
            field_selector=self.field_selector,
            timeout_seconds=timeout,
            allow_bookmarks=True,
        )
        async with contextlib.aclosing(stream):  # type: ignore[type-var]
            async for etype, obj in stream:
                self.apply_event(etype, obj)
                events += 1
                if events == 1:
                    self._gone_streak = 0
                    self._backoff.reset()
        return self.clock.now() - started >= timeout - TIMEOUT_SLACK

    def apply_event(self, etype: str, obj: Obj) -> None:
        """Apply one watch event to the cache and notify handlers."""
        rv = resource_version(obj)
        if etype == "BOOKMARK":
            if rv:
                self.resource_version = rv
            return
        if etype in ("ADDED", "MODIFIED"):
            if self.transform is not None:
                obj = self.transform(obj)
            old = self.store.upsert(obj)
            if old is None:
                self._added(obj)
            else:
                self._updated(old, obj)
        elif etype == "DELETED":
            if self.transform is not None:
                obj = self.transform(obj)
            # Unknown keys (deleted between list pages) were never announced.
            if self.store.delete(object_key(obj)) is not None:
                self._deleted(obj)
        else:
            log.warning("unknown watch event type", informer=self.name, type=etype)
            return
        if rv:
            self.resource_version = rv


class InformerFactory:
    """Shares one informer per (resource, namespace, selectors) among controllers.

    Usage: ``pods = factory.informer(PODS)``; register handlers and
    indexers; ``factory.start()``; ``await factory.wait_for_cache_sync()``;
    ``await factory.shutdown()`` at the end.
    """

    def __init__(
        self,
        client: Client,
        resync_period: float | None = None,
        namespace: str | None = None,
        clock: Clock | None = None,
    ) -> None:
        self.client = client
        self.resync_period = resync_period
        self.namespace = namespace
        self.clock = clock
        self._informers: dict[tuple[Any, ...], Informer] = {}
        self._tasks: dict[tuple[Any, ...], asyncio.Task[None]] = {}

    def informer(
        self,
        resource: Resource,
        namespace: str | None = None,
        label_selector: str | Mapping[str, str] | None = None,
        field_selector: str | Mapping[str, str] | None = None,
        **kw: Any,
    ) -> Informer:
        """The shared informer for these parameters (created on first request)."""
        ns = namespace if namespace is not None else self.namespace
        key = (resource, ns, selector_string(label_selector), selector_string(field_selector))
        inf = self._informers.get(key)
        if inf is None:
            inf = Informer(
                self.client,
                resource,
                ns,
                label_selector,
                field_selector,
                kw.pop("resync_period", self.resync_period),
                self.clock,
                **kw,
            )
            self._informers[key] = inf
        return inf

    def start(self) -> None:
        """Start every informer not yet running."""
        for key, inf in self._informers.items():
            if key not in self._tasks:
                self._tasks[key] = inf.start()

    async def wait_for_cache_sync(self, timeout: float | None = None) -> bool:
        """True when every informer synced within ``timeout`` seconds."""
        infs = list(self._informers.values())
        results = await asyncio.gather(*(i.wait_synced(timeout) for i in infs))
        return all(results)

    async def shutdown(self) -> None:
        """Stop every informer and wait for them to finish."""
        for inf in self._informers.values():
            inf.stop()
        if self._tasks:
            await asyncio.gather(*self._tasks.values(), return_exceptions=True)
        self._tasks.clear()

    def __iter__(self) -> Iterator[Informer]:
        return iter(self._informers.values())
