"""Controller shell framework: informers in, queue keys, one sync per key.

Theory of operation (client-go's controller pattern): informer handlers only
enqueue keys ("namespace/name"); workers take a key, read current state from
informer caches, call a PURE core to decide, and carry out the decision with
API writes. A failed sync is retried with the queue's rate limiter; the same
key is never synced by two workers at once. Controllers own nothing else, so
a restart (or a second instance) converges from the API state alone.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import secrets
from dataclasses import dataclass, field
from typing import Any

from svcnet.client import (
    EVENTS,
    Client,
    InformerFactory,
    RateLimitingQueue,
    is_already_exists,
    is_not_found,
    key_string,
)
from svcnet.client.workqueue import run_worker
from svcnet.util.log import get_logger
from svcnet.util.metrics import Counter, Histogram
from svcnet.util.metrics import Registry as MetricsRegistry

log = get_logger(__name__)
Obj = dict[str, Any]


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def rfc3339(t: dt.datetime, micro: bool = False) -> str:
    t = t.astimezone(dt.UTC)
    if micro:
        return t.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    return t.strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_time(s: str | None) -> dt.datetime | None:
    if not s:
        return None
    try:
        return dt.datetime.fromisoformat(s.replace("Z", "+00:00"))
    except ValueError:
        return None


@dataclass
class ManagerOptions:
    cluster_cidr: str = "10.244.0.0/16"
    node_cidr_mask_size: int = 24
    max_endpoints_per_slice: int = 100
    node_monitor_grace_period: float = 40.0
    workers: int = 4
    controllers: tuple[str, ...] = ("*",)


class Requeue(Exception):
    """Raised by a sync to retry the key after ``delay`` seconds, quietly
    (e.g. the informer has not yet seen the controller's own writes)."""

    def __init__(self, message: str = "", delay: float = 0.05) -> None:
        super().__init__(message)
        self.delay = delay


class EventRecorder:
    """Writes core/v1 Events for objects (best effort, never raises)."""

    def __init__(self, client: Client, component: str) -> None:
        self.client = client
        self.component = component
        self._pending: set[asyncio.Task[None]] = set()

    def record(self, obj: Obj, type_: str, reason: str, message: str) -> None:
        task = asyncio.get_running_loop().create_task(self._write(obj, type_, reason, message))
        self._pending.add(task)
        task.add_done_callback(self._pending.discard)

    async def _write(self, obj: Obj, type_: str, reason: str, message: str) -> None:
        meta = obj.get("metadata") or {}
        ns = meta.get("namespace") or "default"
        now = utcnow()
        event = {
            "apiVersion": "v1",
            "kind": "Event",
            "metadata": {
                "name": f"{meta.get('name', 'x')}.{secrets.token_hex(8)}",
                "namespace": ns,
            },
            "involvedObject": {
                "kind": obj.get("kind", ""),
                "apiVersion": obj.get("apiVersion", ""),
                "namespace": meta.get("namespace", ""),
                "name": meta.get("name", ""),
                "uid": meta.get("uid", ""),
                "resourceVersion": meta.get("resourceVersion", ""),
            },
            "reason": reason,
            "message": message,
            "type": type_,
            "source": {"component": self.component},
            "firstTimestamp": rfc3339(now),
            "lastTimestamp": rfc3339(now),
            "count": 1,
            "reportingComponent": self.component,
        }
        with contextlib.suppress(Exception):
            await self.client.create(EVENTS, event, namespace=ns)

    async def flush(self) -> None:
        if self._pending:
            await asyncio.gather(*self._pending, return_exceptions=True)


@dataclass
class Context:
    client: Client
    factory: InformerFactory
    options: ManagerOptions = field(default_factory=ManagerOptions)
    metrics: MetricsRegistry = field(default_factory=MetricsRegistry)
    events: EventRecorder | None = None

    def __post_init__(self) -> None:
        if self.events is None:
            self.events = EventRecorder(self.client, "controller-manager")
        self.syncs = Counter(
            "controller_syncs_total",
            "Syncs per controller and result.",
            ["controller", "result"],
            registry=self.metrics,
        )
        self.sync_seconds = Histogram(
            "controller_sync_duration_seconds",
            "Duration of one sync.",
            ["controller"],
            registry=self.metrics,
        )


class Controller:
    """A named reconcile loop over queue keys. Subclasses implement `setup`
    (informers and handlers) and `sync` (one key)."""

    name = "controller"

    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx
        self.client = ctx.client
        self.queue: RateLimitingQueue[str] = RateLimitingQueue(name=self.name)

    def setup(self) -> None:
        raise NotImplementedError

    async def sync(self, key: str) -> None:
        raise NotImplementedError

    def enqueue(self, obj: Obj) -> None:
        self.queue.add(key_string(obj))

    def record(self, obj: Obj, type_: str, reason: str, message: str) -> None:
        if self.ctx.events is not None:
            self.ctx.events.record(obj, type_, reason, message)

    async def _timed_sync(self, key: str) -> None:
        loop = asyncio.get_running_loop()
        start = loop.time()
        try:
            await self.sync(key)
        except Requeue as r:
            self.ctx.syncs.labels(controller=self.name, result="requeue").inc()
            self.queue.add_after(key, r.delay)
            return
        except Exception:
            self.ctx.syncs.labels(controller=self.name, result="error").inc()
            raise
        finally:
            self.ctx.sync_seconds.labels(controller=self.name).observe(loop.time() - start)
        self.ctx.syncs.labels(controller=self.name, result="ok").inc()

    async def run(self, workers: int) -> None:
        await asyncio.gather(*(run_worker(self.queue, self._timed_sync) for _ in range(workers)))

    def stop(self) -> None:
        self.queue.shut_down()


async def ignore_not_found(coro: Any) -> Any:
    """Await an API call; a 404 (already gone) is success."""
    try:
        return await coro
    except Exception as e:
        if is_not_found(e):
            return None
        raise


async def ignore_exists(coro: Any) -> Any:
    try:
        return await coro
    except Exception as e:
        if is_already_exists(e):
            return None
        raise


def handlers_enqueue(ctrl: Controller, key_fn: Any = None) -> dict[str, Any]:
    """Standard add/update/delete handlers that enqueue the object's key."""

    def one(obj: Obj) -> None:
        if key_fn is None:
            ctrl.enqueue(obj)
        else:
            for k in key_fn(obj):
                ctrl.queue.add(k)

    return {
        "on_add": one,
        "on_update": lambda old, new: one(new),
        "on_delete": one,
    }
