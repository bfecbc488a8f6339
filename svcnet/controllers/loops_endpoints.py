"""Shells of the endpoint controllers: EndpointSlice, Endpoints, mirroring.

Each sync reads informer caches, asks the pure core
(`svcnet.controllers.endpointslice` / `endpoints`) for a plan and writes it.
A `WriteTracker` remembers the slices this controller wrote (name and
resourceVersion) and the ones it deleted, so a sync that runs before the
informer caught up with our own writes is retried instead of planning from a
stale cache (upstream's endpointSliceTracker "stale slices" check).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from svcnet.client import (
    ENDPOINTS,
    ENDPOINTSLICES,
    NAMESPACE_INDEX,
    NODES,
    PODS,
    SERVICES,
    Informer,
    index_by_namespace,
    is_not_found,
    split_key,
)
from svcnet.controllers import endpoints as epcore
from svcnet.controllers import endpointslice as slicecore
from svcnet.controllers.base import Context, Controller, Obj, Requeue, ignore_not_found
from svcnet.controllers.podutil import TriggerTimeTracker, select_pods, services_to_sync_for_pod

SERVICE_INDEX = "service"
SERVICE_NAME_LABEL = "kubernetes.io/service-name"
MANAGED_BY = "endpointslice.kubernetes.io/managed-by"


class StaleCache(Requeue):
    """The informer has not yet seen our own writes; retry shortly."""


def shared(ctx: Context, resource: Any, **indexers: Callable[[Obj], list[str]]) -> Informer:
    """The shared informer of ``resource`` with the given indexes added."""
    inf = ctx.factory.informer(resource)
    have = set(inf.store.indexers())
    for name, fn in indexers.items():
        if name not in have:
            inf.add_indexer(name, fn)
    return inf


def slice_service_key(obj: Obj) -> list[str]:
    meta = obj.get("metadata") or {}
    svc = (meta.get("labels") or {}).get(SERVICE_NAME_LABEL)
    return [f"{meta.get('namespace', '')}/{svc}"] if svc else []


class WriteTracker:
    """Expectations: our recent writes per key, so a sync does not plan from
    a cache older than them (upstream ControllerExpectations / slice tracker).

    A written object is expected in the cache at >= the resourceVersion we
    got back; a deleted one is expected gone. An object written while being
    deleted (``may_vanish``) also counts as seen once it is gone. Like
    upstream's expectations, entries expire (``ttl`` seconds) so a missed
    event can delay a key but never stall it.
    """

    def __init__(self, ttl: float = 10.0, clock: Callable[[], float] = time.monotonic) -> None:
        self.ttl = ttl
        self.clock = clock
        # key -> name -> (resourceVersion, may_vanish, recorded at)
        self._written: dict[str, dict[str, tuple[int, bool, float]]] = {}
        self._deleted: dict[str, dict[str, float]] = {}

    def wrote(self, key: str, obj: Obj, may_vanish: bool = False) -> None:
        meta = obj.get("metadata") or {}
        rv = int(meta.get("resourceVersion") or 0)
        self._written.setdefault(key, {})[meta.get("name", "")] = (rv, may_vanish, self.clock())

    def deleted(self, key: str, name: str) -> None:
        self._deleted.setdefault(key, {})[name] = self.clock()
        self._written.get(key, {}).pop(name, None)

    def stale(self, key: str, cached: list[Obj]) -> bool:
        """True while the cache lacks a version we wrote or still has one we deleted."""
        now = self.clock()
        by_name = {
            (o.get("metadata") or {}).get("name", ""): int(
                (o.get("metadata") or {}).get("resourceVersion") or 0
            )
            for o in cached
        }
        written = self._written.get(key, {})
        for name, (rv, may_vanish, at) in list(written.items()):
            seen = by_name.get(name)
            if (
                (seen is None and may_vanish)
                or (seen is not None and seen >= rv)
                or now - at > self.ttl
            ):
                del written[name]
        deleted = self._deleted.get(key, {})
        for name, at in list(deleted.items()):
            if name not in by_name or now - at > self.ttl:
                del deleted[name]
        return bool(written) or bool(deleted)

    def is_own(self, key: str, obj: Obj) -> bool:
        """``obj`` is exactly a version this controller wrote (its own echo)."""
        meta = obj.get("metadata") or {}
        entry = self._written.get(key, {}).get(meta.get("name", ""))
        return entry is not None and entry[0] == int(meta.get("resourceVersion") or 0)

    def forget(self, key: str) -> None:
        self._written.pop(key, None)
        self._deleted.pop(key, None)


class _ServicePodsController(Controller):
    """Common informers and triggers: a Service's key is queued on its own
    changes and on changes of pods it selects."""

    def setup(self) -> None:
        self.services = shared(self.ctx, SERVICES, **{NAMESPACE_INDEX: index_by_namespace})
        self.pods = shared(self.ctx, PODS, **{NAMESPACE_INDEX: index_by_namespace})
        self.nodes = shared(self.ctx, NODES)
        self.services.add_handler(
            on_add=self.enqueue,
            on_update=lambda old, new: self.enqueue(new),
            on_delete=self.enqueue,
        )
        self.pods.add_handler(
            on_add=lambda p: self._pod_changed(None, p),
            on_update=self._pod_changed,
            on_delete=lambda p: self._pod_changed(p, None),
        )

    def _pod_changed(self, old: Obj | None, new: Obj | None) -> None:
        ns = ((new or old or {}).get("metadata") or {}).get("namespace", "")
        services = self.services.by_index(NAMESPACE_INDEX, ns)
        for key in services_to_sync_for_pod(services, old, new):
            self.queue.add(key if isinstance(key, str) else f"{key[0]}/{key[1]}")

    def _inputs(self, ns: str) -> tuple[list[Obj], dict[str, Obj]]:
        pods = self.pods.by_index(NAMESPACE_INDEX, ns)
        nodes = {(n.get("metadata") or {}).get("name", ""): n for n in self.nodes.list()}
        return pods, nodes


class EndpointSliceController(_ServicePodsController):
    name = "endpointslice"

    def setup(self) -> None:
        super().setup()
        self.slices = shared(self.ctx, ENDPOINTSLICES, **{SERVICE_INDEX: slice_service_key})
        self.slices.add_handler(
            on_add=self._slice_changed,
            on_update=lambda old, new: self._slice_changed(new),
            on_delete=self._slice_changed,
        )
        self.tracker = WriteTracker()
        self.trigger = TriggerTimeTracker()

    def _slice_changed(self, obj: Obj) -> None:
        labels = (obj.get("metadata") or {}).get("labels") or {}
        if labels.get(MANAGED_BY) == slicecore.CONTROLLER_NAME:
            for k in slice_service_key(obj):
                # Our own write coming back needs no sync (upstream only
                # queues slices its tracker does not expect).
                if not self.tracker.is_own(k, obj):
                    self.queue.add(k)

    async def sync(self, key: str) -> None:
        ns, name = split_key(key)
        svc = self.services.get(ns, name)
        if svc is None:
            # Slices carry an ownerReference: the garbage collector removes them.
            self.tracker.forget(key)
            self.trigger.delete_service(ns, name)
            return
        existing = [
            s
            for s in self.slices.by_index(SERVICE_INDEX, key)
            if slicecore.is_managed_slice(s, svc)
        ]
        if self.tracker.stale(key, existing):
            raise StaleCache(f"endpointslice cache of {key} is older than our writes")
        pods, nodes = self._inputs(ns)
        pods = select_pods(svc, pods)  # once; the cores re-check a short list
        now = self.trigger.compute(svc, pods)
        plan = slicecore.reconcile(
            svc,
            pods,
            nodes,
            existing,
            max_per_slice=self.ctx.options.max_endpoints_per_slice,
            now=now,
        )
        await apply_slice_plan(self, key, ns, plan)
        for w in plan.warnings:
            self.record(svc, "Warning", "EndpointSliceWarning", str(w))
        if plan.requeue:
            self.queue.add_rate_limited(key)


async def apply_slice_plan(ctrl: Any, key: str, ns: str, plan: Any) -> None:
    """Creates, then updates, then deletes (upstream order)."""
    for s in plan.create:
        out = await ctrl.client.create(ENDPOINTSLICES, s, namespace=ns)
        ctrl.tracker.wrote(key, out)
    for s in plan.update:
        out = await ctrl.client.update(ENDPOINTSLICES, s, namespace=ns)
        ctrl.tracker.wrote(key, out)
    for s in plan.delete:
        sname = (s.get("metadata") or {}).get("name", "")
        await ignore_not_found(ctrl.client.delete(ENDPOINTSLICES, sname, namespace=ns))
        ctrl.tracker.deleted(key, sname)


class EndpointsController(_ServicePodsController):
    """Legacy core/v1 Endpoints from Service selectors."""

    name = "endpoint"

    def setup(self) -> None:
        super().setup()
        self.endpoints = shared(self.ctx, ENDPOINTS)
        self.endpoints.add_handler(on_delete=self.enqueue)
        self.trigger = TriggerTimeTracker()
        self.tracker = WriteTracker()

    async def sync(self, key: str) -> None:
        ns, name = split_key(key)
        svc = self.services.get(ns, name)
        existing = self.endpoints.get(ns, name)
        if svc is None:
            # Upstream deletes the Endpoints of a deleted Service by name.
            self.tracker.forget(key)
            self.trigger.delete_service(ns, name)
            if existing is not None:
                await ignore_not_found(self.client.delete(ENDPOINTS, name, namespace=ns))
            return
        if not (svc.get("spec") or {}).get("selector"):
            return  # selectorless Services own their Endpoints (users write them)
        if self.tracker.stale(key, [existing] if existing else []):
            raise StaleCache(f"endpoints cache of {key} is older than our writes")
        pods, _ = self._inputs(ns)
        desired = epcore.desired_endpoints_object(
            svc, pods, existing, self.trigger.compute(svc, pods)
        )
        if desired is None:
            return
        if existing is None:
            try:
                out = await self.client.create(ENDPOINTS, desired, namespace=ns)
            except Exception as e:
                if "being terminated" in str(e):
                    return
                raise
        else:
            out = await self.client.update(ENDPOINTS, desired, namespace=ns)
        self.tracker.wrote(key, out)


class EndpointSliceMirroringController(Controller):
    """EndpointSlices mirrored from user-written Endpoints of selectorless Services."""

    name = "endpointslicemirroring"

    def setup(self) -> None:
        self.services = shared(self.ctx, SERVICES, **{NAMESPACE_INDEX: index_by_namespace})
        self.endpoints = shared(self.ctx, ENDPOINTS)
        self.slices = shared(self.ctx, ENDPOINTSLICES, **{SERVICE_INDEX: slice_service_key})
        self.endpoints.add_handler(
            on_add=self._ep_changed,
            on_update=lambda old, new: (self._ep_changed(old), self._ep_changed(new)),
            on_delete=self._ep_changed,
        )
        self.services.add_handler(
            on_add=self.enqueue,
            on_update=lambda old, new: self.enqueue(new),
            on_delete=self.enqueue,
        )
        self.slices.add_handler(
            on_add=self._slice_changed,
            on_update=lambda old, new: self._slice_changed(new),
            on_delete=self._slice_changed,
        )
        self.tracker = WriteTracker()

    def _ep_changed(self, obj: Obj) -> None:
        if epcore.should_mirror(obj):
            self.enqueue(obj)

    def _slice_changed(self, obj: Obj) -> None:
        labels = (obj.get("metadata") or {}).get("labels") or {}
        if labels.get(MANAGED_BY) == epcore.MIRRORING_CONTROLLER_NAME:
            for k in slice_service_key(obj):
                self.queue.add(k)

    async def sync(self, key: str) -> None:
        ns, name = split_key(key)
        svc = self.services.get(ns, name)
        ep = self.endpoints.get(ns, name)
        existing = [
            s
            for s in self.slices.by_index(SERVICE_INDEX, key)
            if epcore.is_mirrored_slice(s, ns, name)
        ]
        if svc is not None and (svc.get("spec") or {}).get("selector"):
            svc_for_plan = None  # a selector means the EndpointSlice controller owns the slices
        else:
            svc_for_plan = svc
        if self.tracker.stale(key, existing):
            raise StaleCache(f"mirrored slice cache of {key} is older than our writes")
        plan = epcore.mirror_slices(
            svc_for_plan, ep if svc_for_plan is not None else None, existing
        )
        try:
            await apply_slice_plan(self, key, ns, plan)
        except Exception as e:
            if is_not_found(e):
                return
            raise


CONTROLLERS: dict[str, Callable[[Context], Controller]] = {
    "endpointslice": EndpointSliceController,
    "endpoint": EndpointsController,
    "endpointslicemirroring": EndpointSliceMirroringController,
}
