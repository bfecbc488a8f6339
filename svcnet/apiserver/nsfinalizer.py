"""Namespace finalization: empty a terminating namespace, then remove it.

Upstream's namespace controller (kube-controller-manager) deletes every
object in a namespace whose deletionTimestamp is set, then clears the
"kubernetes" entry of spec.finalizers and the namespace goes away. svcnet
runs this loop inside the API server so a standalone `svcnet apiserver`
behaves like a cluster; it uses the same generic `Resources` verbs as
clients, so finalizers and graceful deletion of the contents are honoured.
"""

from __future__ import annotations

import asyncio
import contextlib

from svcnet.api.errors import APIError
from svcnet.apiserver.resources import DeleteOptions, ListOptions, Resources
from svcnet.store import Conflict, Key, NotFound
from svcnet.util.log import get_logger

log = get_logger(__name__)
RECHECK_SECONDS = 1.0


class NamespaceFinalizer:
    def __init__(self, resources: Resources) -> None:
        self.resources = resources
        self.wake = asyncio.Event()

    async def run(self) -> None:
        store = self.resources.store
        watcher = asyncio.create_task(self._watch(store.revision))
        try:
            while True:
                # asyncio.wait (not wait_for): on 3.11 wait_for can swallow a
                # cancellation when the event is already set, so SIGTERM hung.
                waiter = asyncio.ensure_future(self.wake.wait())
                try:
                    await asyncio.wait({waiter}, timeout=RECHECK_SECONDS)
                finally:
                    waiter.cancel()
                self.wake.clear()
                try:
                    await self.sync()
                except Exception:
                    log.exception("namespace finalization failed; will retry")
        finally:
            watcher.cancel()

    async def _watch(self, since: int) -> None:
        while True:
            try:
                async for ev in self.resources.store.watch("namespaces", None, since):
                    since = ev.rv
                    if ev.obj.get("metadata", {}).get("deletionTimestamp"):
                        self.wake.set()
            except Exception:
                since = self.resources.store.revision
            await asyncio.sleep(0.1)

    async def sync(self) -> None:
        entries, _ = await self.resources.store.list("namespaces")
        for e in entries:
            if e.obj.get("metadata", {}).get("deletionTimestamp"):
                await self.finalize(e.key.name)

    async def finalize(self, ns: str) -> bool:
        """One pass over namespace ``ns``; True when it is gone."""
        remaining = 0
        for spec in self.resources.registry.all():
            if not spec.namespaced:
                continue
            entries, _, _, _ = await self.resources.list(spec, ns, ListOptions())
            for e in entries:
                remaining += 1
                if e.obj["metadata"].get("deletionTimestamp"):
                    continue
                with contextlib.suppress(APIError):
                    await self.resources.delete(spec, ns, e.key.name, DeleteOptions())
        if remaining:
            return False  # re-checked on the next tick (RECHECK_SECONDS), never a busy loop
        store = self.resources.store
        try:
            cur = await store.get(Key("namespaces", "", ns))
        except NotFound:
            return True
        try:
            await store.delete(cur.key, expect_rv=cur.rv)
        except (Conflict, NotFound):
            return False
        log.info("namespace finalized", namespace=ns)
        return True
