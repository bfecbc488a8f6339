"""Shells of the workload controllers: ReplicaSet and Deployment.

The pure cores (`replicaset.plan/status`, `deployment.sync`) decide; these
shells read informer caches and write. A `WriteTracker` stands in for
upstream's "expectations": after creating or deleting pods (or ReplicaSets)
a key is not planned again until the informer shows those writes, so a
stale cache never doubles a scale-up.
"""

from __future__ import annotations

import copy
from collections.abc import Callable

from svcnet.client import (
    DEPLOYMENTS,
    NAMESPACE_INDEX,
    PODS,
    REPLICASETS,
    index_by_namespace,
    is_already_exists,
    is_conflict,
    is_not_found,
    split_key,
)
from svcnet.controllers import deployment as deploycore
from svcnet.controllers import replicaset as rscore
from svcnet.controllers.base import Context, Controller, Obj, Requeue, utcnow
from svcnet.controllers.loops_endpoints import WriteTracker, shared


def _owner(obj: Obj, kind: str) -> str | None:
    ref = rscore.controller_of(obj)
    if ref is not None and ref.get("kind") == kind:
        ns = (obj.get("metadata") or {}).get("namespace", "")
        return f"{ns}/{ref.get('name', '')}"
    return None


def status_patch(old: Obj | None, new: Obj) -> Obj:
    """A merge patch turning status ``old`` into ``new`` (removed keys -> null)."""
    out: Obj = {k: None for k in (old or {}) if k not in new}
    out.update(new)
    return {"status": out}


class ReplicaSetController(Controller):
    name = "replicaset"

    def setup(self) -> None:
        self.rss = shared(self.ctx, REPLICASETS, **{NAMESPACE_INDEX: index_by_namespace})
        self.pods = shared(self.ctx, PODS, **{NAMESPACE_INDEX: index_by_namespace})
        self.rss.add_handler(
            on_add=self.enqueue,
            on_update=lambda old, new: self.enqueue(new),
            on_delete=self.enqueue,
        )
        self.pods.add_handler(
            on_add=self._pod,
            on_update=lambda old, new: (self._pod(old), self._pod(new)),
            on_delete=self._pod,
        )
        self.tracker = WriteTracker()

    def _pod(self, pod: Obj) -> None:
        key = _owner(pod, "ReplicaSet")
        if key is not None:
            self.queue.add(key)
            return
        # An orphan: the ReplicaSets that select it may adopt it.
        ns = (pod.get("metadata") or {}).get("namespace", "")
        labels = (pod.get("metadata") or {}).get("labels") or {}
        for rs in self.rss.by_index(NAMESPACE_INDEX, ns):
            if rscore.selector_of(rs).matches(labels):
                self.enqueue(rs)

    async def sync(self, key: str) -> None:
        ns, name = split_key(key)
        rs = self.rss.get(ns, name)
        if rs is None:
            self.tracker.forget(key)
            return
        pods = self.pods.by_index(NAMESPACE_INDEX, ns)
        if self.tracker.stale(key, pods):
            raise Requeue(f"pod cache of {key} is older than our writes")
        now = utcnow()
        owner = rscore.controller_of(rs)
        related = [
            p
            for p in pods
            if owner is not None
            and (rscore.controller_of(p) or {}).get("uid") != rs["metadata"].get("uid")
        ]
        plan = rscore.plan(rs, pods, related_pods=related, now=now)
        ref = rscore.controller_ref(rs, "apps/v1", "ReplicaSet")
        for pod in plan.adopt:
            await self._patch_pod(pod, rscore.adopt_patch(pod, ref))
        for pod in plan.release:
            await self._patch_pod(pod, rscore.release_patch(pod, rs["metadata"]["uid"]))
        error = await self._create(key, rs, plan.create) if plan.create else None
        for pod in plan.delete:
            error = error or await self._delete(key, pod)
        new_status = rscore.status(rs, pods, now, error)
        if new_status != (rs.get("status") or {}):
            try:
                await self.client.patch(
                    REPLICASETS,
                    name,
                    status_patch(rs.get("status"), new_status),
                    namespace=ns,
                    patch_type="merge",
                    subresource="status",
                )
            except Exception as e:
                if not is_not_found(e):
                    raise
        if error is not None:
            raise RuntimeError(error)
        after = rscore.requeue_after(rs, new_status)
        if after:
            self.queue.add_after(key, after)

    async def _patch_pod(self, pod: Obj, body: Obj) -> None:
        meta = pod["metadata"]
        try:
            await self.client.patch(
                PODS, meta["name"], body, namespace=meta["namespace"], patch_type="merge"
            )
        except Exception as e:
            if not (is_not_found(e) or is_conflict(e)):
                raise

    async def _create(self, key: str, rs: Obj, count: int) -> str | None:
        ns = rs["metadata"]["namespace"]
        for batch in rscore.slow_start_batches(count):
            for _ in range(batch):
                try:
                    out = await self.client.create(PODS, rscore.pod_from_template(rs), namespace=ns)
                except Exception as e:
                    if "being terminated" in str(e):
                        return None
                    self.record(rs, "Warning", "FailedCreate", f"Error creating: {e}")
                    return str(e)
                self.tracker.wrote(key, out)
                self.record(
                    rs, "Normal", "SuccessfulCreate", f"Created pod: {out['metadata']['name']}"
                )
        return None

    async def _delete(self, key: str, pod: Obj) -> str | None:
        meta = pod["metadata"]
        try:
            out = await self.client.delete(
                PODS, meta["name"], namespace=meta["namespace"], preconditions={"uid": meta["uid"]}
            )
        except Exception as e:
            if is_not_found(e) or is_conflict(e):
                return None
            return str(e)
        if (
            isinstance(out, dict)
            and out.get("kind") == "Pod"
            and out["metadata"].get("deletionTimestamp")
        ):
            # Terminating: seen once the cache has this version, or once it is gone.
            self.tracker.wrote(key, out, may_vanish=True)
        else:
            self.tracker.deleted(key, meta["name"])
        self.record(pod, "Normal", "SuccessfulDelete", f"Deleted pod: {meta['name']}")
        return None


class DeploymentController(Controller):
    name = "deployment"

    def setup(self) -> None:
        self.deploys = shared(self.ctx, DEPLOYMENTS, **{NAMESPACE_INDEX: index_by_namespace})
        self.rss = shared(self.ctx, REPLICASETS, **{NAMESPACE_INDEX: index_by_namespace})
        self.pods = shared(self.ctx, PODS, **{NAMESPACE_INDEX: index_by_namespace})
        self.deploys.add_handler(
            on_add=self.enqueue,
            on_update=lambda old, new: self.enqueue(new),
            on_delete=self.enqueue,
        )
        self.rss.add_handler(
            on_add=self._rs,
            on_update=lambda old, new: (self._rs(old), self._rs(new)),
            on_delete=self._rs,
        )
        self.pods.add_handler(on_delete=self._pod_deleted)
        self.tracker = WriteTracker()

    def _rs(self, rs: Obj) -> None:
        key = _owner(rs, "Deployment")
        if key is not None:
            self.queue.add(key)
            return
        ns = (rs.get("metadata") or {}).get("namespace", "")
        for d in self.deploys.by_index(NAMESPACE_INDEX, ns):
            self.enqueue(d)

    def _pod_deleted(self, pod: Obj) -> None:
        # Recreate waits for old pods to be gone.
        rs_key = _owner(pod, "ReplicaSet")
        if rs_key is None:
            return
        ns, name = split_key(rs_key)
        rs = self.rss.get(ns, name)
        if rs is not None and (key := _owner(rs, "Deployment")) is not None:
            self.queue.add(key)

    async def sync(self, key: str) -> None:
        ns, name = split_key(key)
        d = self.deploys.get(ns, name)
        if d is None:
            self.tracker.forget(key)
            return
        rss = self.rss.by_index(NAMESPACE_INDEX, ns)
        if self.tracker.stale(key, rss):
            raise Requeue(f"replicaset cache of {key} is older than our writes")
        pods = self.pods.by_index(NAMESPACE_INDEX, ns)
        try:
            acts = deploycore.sync(d, rss, pods, utcnow())
        except deploycore.DeploymentError as e:
            self.record(d, "Warning", "InvalidDeployment", str(e))
            return
        for rs in acts.create:
            try:
                out = await self.client.create(REPLICASETS, rs, namespace=ns)
            except Exception as e:
                if is_already_exists(e):
                    raise Requeue("replicaset exists; waiting for the cache", 0.2) from None
                raise
            self.tracker.wrote(key, out)
        for rs in acts.update:
            try:
                out = await self.client.update(REPLICASETS, rs, namespace=ns)
            except Exception as e:
                if is_conflict(e) or is_not_found(e):
                    raise Requeue("replicaset changed; retry", 0.1) from None
                raise
            self.tracker.wrote(key, out)
        for rs in acts.delete:
            meta = rs["metadata"]
            try:
                await self.client.delete(
                    REPLICASETS, meta["name"], namespace=ns, preconditions={"uid": meta["uid"]}
                )
            except Exception as e:
                if not (is_not_found(e) or is_conflict(e)):
                    raise
            self.tracker.deleted(key, meta["name"])
        if acts.annotations is not None:
            old = (d.get("metadata") or {}).get("annotations") or {}
            patch: Obj = {k: None for k in old if k not in acts.annotations}
            patch.update(acts.annotations)
            await self.client.patch(
                DEPLOYMENTS,
                name,
                {"metadata": {"annotations": patch}},
                namespace=ns,
                patch_type="merge",
            )
        if acts.status is not None:
            await self.client.patch(
                DEPLOYMENTS,
                name,
                status_patch(d.get("status"), copy.deepcopy(acts.status)),
                namespace=ns,
                patch_type="merge",
                subresource="status",
            )
        for ev in acts.events:
            self.record(d, ev.type, ev.reason, ev.message)
        # A sync that returns normally resets the key's backoff (run_worker
        # forgets it), so "again soon" is an explicit short delay.
        if acts.requeue_after == 0:
            raise Requeue("deployment wants another pass", 1.0)
        if acts.requeue_after is not None:
            self.queue.add_after(key, acts.requeue_after)


CONTROLLERS: dict[str, Callable[[Context], Controller]] = {
    "replicaset": ReplicaSetController,
    "deployment": DeploymentController,
}

__all__ = ["CONTROLLERS", "DeploymentController", "ReplicaSetController"]
