"""Shells of the cluster controllers: scheduler, garbage collector, node IPAM
and node lifecycle.

Each shell reads informer caches, asks its pure core for a decision and
writes it; the cores (`scheduler`, `gc`, `nodeipam`, `nodelifecycle`) decide
everything else. What the shells add is the I/O discipline upstream keeps
around the same decisions:

* scheduler: one key per pending pod. A chosen node is *assumed* (counted
  for that node) before the binding is POSTed, so a burst spreads evenly
  even though the informer shows the bindings later. A pod that fits
  nowhere gets a FailedScheduling event and PodScheduled=False, then waits
  for a change that could help it (a node's labels, taints, readiness or
  capacity; a bound pod going away; its own spec), with upstream's 1-10 s
  per-pod backoff, or at most `UNSCHEDULABLE_FLUSH` seconds.
* garbage collector: one key, a full pass over the caches of every owner
  kind, run when an event could matter (an ownerReference to an unknown
  uid, a delete of an owner or dependent, finalizers or references
  changing), while a pass still had work, and periodically. It never runs
  before every cache synced; an owner the cache lacks is confirmed gone by
  a live GET before its dependents lose anything; owners of kinds it does
  not watch are assumed present, so it never collects what it cannot see.
* node IPAM: one key per node; occupancy is repaired from every cached
  node before the first allocation; a CIDR being written is remembered
  until the informer shows it, so a stale cache never allocates twice.
* node lifecycle: one key per node, re-checked when it would turn stale
  (`nodelifecycle.next_check`); conditions go through nodes/status,
  taints through a patch, both guarded by resourceVersion; the pods of a
  node that is not Ready are marked not ready through pods/status, which
  takes them out of EndpointSlices.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

from svcnet.client import (
    CONFIGMAPS,
    DEPLOYMENTS,
    ENDPOINTS,
    ENDPOINTSLICES,
    LEASES,
    NODES,
    PODS,
    REPLICASETS,
    SECRETS,
    SERVICES,
    Informer,
    Resource,
    index_by_field,
    is_conflict,
    is_not_found,
    key_string,
    split_key,
)
from svcnet.controllers import gc as gccore
from svcnet.controllers import nodeipam as ipamcore
from svcnet.controllers import nodelifecycle as lifecore
from svcnet.controllers import scheduler as schedcore
from svcnet.controllers.base import Context, Controller, Obj, Requeue, utcnow
from svcnet.controllers.loops_endpoints import shared
from svcnet.util.log import get_logger

log = get_logger(__name__)

NODE_NAME_INDEX = "spec.nodeName"
by_node_name = index_by_field("spec.nodeName")
NODE_LEASE_NAMESPACE = "kube-node-lease"


def _meta(obj: Obj) -> Obj:
    return obj.get("metadata") or {}


def _ready_status(node: Obj) -> str | None:
    for c in (node.get("status") or {}).get("conditions") or []:
        if c.get("type") == "Ready":
            return c.get("status")
    return None


async def _tolerant(coro: Any) -> Any:
    """Await a write; None when the object is gone or changed meanwhile
    (404/409): the informer event that follows brings the next sync."""
    try:
        return await coro
    except Exception as e:
        if is_not_found(e) or is_conflict(e):
            return None
        raise


# --------------------------------------------------------------------------
# Scheduler

INITIAL_BACKOFF = 1.0  # upstream podInitialBackoffSeconds
MAX_BACKOFF = 10.0  # upstream podMaxBackoffSeconds
UNSCHEDULABLE_FLUSH = 300.0  # upstream podMaxInUnschedulablePodsDuration


def _node_fit_inputs(node: Obj) -> tuple[Any, ...]:
    """What a node change must touch to possibly help a pending pod."""
    return (
        _meta(node).get("labels"),
        (node.get("spec") or {}).get("unschedulable"),
        schedcore.effective_taints(node),
        (node.get("status") or {}).get("allocatable"),
    )


def _pod_fit_inputs(pod: Obj) -> tuple[Any, ...]:
    return (pod.get("spec"), _meta(pod).get("labels"))


class SchedulerController(Controller):
    """Binds pending pods to nodes (a small kube-scheduler)."""

    name = "scheduler"

    def setup(self) -> None:
        self.pods = shared(self.ctx, PODS, **{NODE_NAME_INDEX: by_node_name})
        self.nodes = shared(self.ctx, NODES)
        self.assumed: dict[str, tuple[str, Obj]] = {}  # pod key -> (uid, pod as bound)
        self.unschedulable: dict[str, tuple[int, float]] = {}  # key -> (attempts, last try)
        self.pods.add_handler(
            on_add=self._pod_added, on_update=self._pod_updated, on_delete=self._pod_deleted
        )
        self.nodes.add_handler(
            on_add=lambda n: self._retry_unschedulable(),
            on_update=self._node_updated,
        )

    # ---------------------------------------------------------- handlers
    def _forget(self, key: str) -> None:
        self.assumed.pop(key, None)
        self.unschedulable.pop(key, None)

    def _pod_added(self, pod: Obj) -> None:
        if schedcore.needs_scheduling(pod):
            self.enqueue(pod)

    def _pod_updated(self, old: Obj, new: Obj) -> None:
        key = key_string(new)
        if (new.get("spec") or {}).get("nodeName"):
            self._forget(key)  # bound: the cache counts it from now on
        elif schedcore.needs_scheduling(new) and (
            key not in self.unschedulable or _pod_fit_inputs(old) != _pod_fit_inputs(new)
        ):
            self.queue.add(key)

    def _pod_deleted(self, pod: Obj) -> None:
        self._forget(key_string(pod))
        if (pod.get("spec") or {}).get("nodeName"):
            self._retry_unschedulable()  # its node has room and ports again

    def _node_updated(self, old: Obj, new: Obj) -> None:
        if _node_fit_inputs(old) != _node_fit_inputs(new):
            self._retry_unschedulable()

    def _retry_unschedulable(self) -> None:
        now = self.queue.clock.now()
        for key, (attempts, last) in self.unschedulable.items():
            backoff = min(INITIAL_BACKOFF * 2 ** (attempts - 1), MAX_BACKOFF)
            self.queue.add_after(key, last + backoff - now)

    # -------------------------------------------------------------- sync
    async def sync(self, key: str) -> None:
        ns, name = split_key(key)
        pod = self.pods.get(ns, name)
        if pod is None or not schedcore.needs_scheduling(pod):
            self._forget(key)
            return
        uid = _meta(pod).get("uid", "")
        if key in self.assumed:
            if self.assumed[key][0] == uid:
                return  # bound by us; the informer has not shown it yet
            del self.assumed[key]
        nodes = self.nodes.list()
        decision = schedcore.choose_node(pod, nodes, self._pods_by_node(nodes))
        if decision.node is None:
            await self._failed(key, pod, decision.message)
            return
        bound = {**pod, "spec": {**(pod.get("spec") or {}), "nodeName": decision.node}}
        self.assumed[key] = (uid, bound)  # before any await: the next pod sees it
        try:
            await self.client.request(
                "POST",
                PODS.path(ns, name, "binding"),
                body=schedcore.binding(pod, decision.node),
            )
        except Exception as e:
            self.assumed.pop(key, None)
            if is_not_found(e):
                return
            if is_conflict(e):
                raise Requeue(f"binding {key}: {e}", 0.2) from None
            raise
        self.unschedulable.pop(key, None)
        self.record(pod, "Normal", "Scheduled", f"Successfully assigned {key} to {decision.node}")

    def _pods_by_node(self, nodes: list[Obj]) -> dict[str, list[Obj]]:
        out: dict[str, list[Obj]] = {}
        for node in nodes:
            name = _meta(node).get("name", "")
            out[name] = self.pods.by_index(NODE_NAME_INDEX, name)
        for key, (_, pod) in self.assumed.items():
            cached = self.pods.get_by_key(key)
            if cached is None or not (cached.get("spec") or {}).get("nodeName"):
                out.setdefault(pod["spec"]["nodeName"], []).append(pod)
        return out

    async def _failed(self, key: str, pod: Obj, message: str) -> None:
        attempts = self.unschedulable.get(key, (0, 0.0))[0] + 1
        self.unschedulable[key] = (attempts, self.queue.clock.now())
        self.record(pod, "Warning", "FailedScheduling", message)
        await self._set_unschedulable(pod, message)
        self.queue.add_after(key, UNSCHEDULABLE_FLUSH)

    async def _set_unschedulable(self, pod: Obj, message: str) -> None:
        conds = list((pod.get("status") or {}).get("conditions") or [])
        cur = next((c for c in conds if c.get("type") == "PodScheduled"), None)
        new = schedcore.unschedulable_condition(message, utcnow())
        if cur is not None and cur.get("status") == "False":
            if cur.get("message") == message and cur.get("reason") == new["reason"]:
                return
            new["lastTransitionTime"] = cur.get("lastTransitionTime")
        conds = [c for c in conds if c.get("type") != "PodScheduled"] + [new]
        meta = _meta(pod)
        await _tolerant(
            self.client.patch(
                PODS,
                meta.get("name", ""),
                {
                    "metadata": {"resourceVersion": meta.get("resourceVersion")},
                    "status": {"conditions": conds},
                },
                namespace=meta.get("namespace"),
                subresource="status",
            )
        )


# --------------------------------------------------------------------------
# Garbage collector

GC_KEY = "garbage-collection-pass"
GC_DEBOUNCE = 0.1  # batch the events of a burst into one pass
GC_BUSY_RESYNC = 2.0  # while a pass had work
GC_IDLE_RESYNC = 60.0
GC_RESOURCES: tuple[Resource, ...] = (
    PODS,
    REPLICASETS,
    DEPLOYMENTS,
    SERVICES,
    ENDPOINTSLICES,
    ENDPOINTS,
    CONFIGMAPS,
    SECRETS,
)
UID_INDEX = "metadata.uid"
OWNER_INDEX = "ownerReferences.uid"


def _uid_index(obj: Obj) -> list[str]:
    uid = _meta(obj).get("uid")
    return [uid] if uid else []


def _refs(obj: Obj) -> list[Obj]:
    return list(_meta(obj).get("ownerReferences") or [])


def _owner_index(obj: Obj) -> list[str]:
    return [r["uid"] for r in _refs(obj) if r.get("uid")]


def _group_kind(ref: Obj) -> tuple[str, str]:
    group = (ref.get("apiVersion") or "").rpartition("/")[0]
    return (group, ref.get("kind") or "")


def _deleting_with_finalizers(obj: Obj) -> bool:
    meta = _meta(obj)
    return bool(meta.get("deletionTimestamp") and meta.get("finalizers"))


def _gc_view(obj: Obj) -> tuple[Any, ...]:
    """What a change must touch to matter to the collector."""
    meta = _meta(obj)
    return (meta.get("ownerReferences"), meta.get("finalizers"), _deleting_with_finalizers(obj))


class GarbageCollector(Controller):
    """Deletes dependents whose owners are gone; runs foreground and orphan deletion."""

    name = "garbagecollector"

    def setup(self) -> None:
        self.kinds: dict[tuple[str, str], tuple[Resource, Informer]] = {}
        for res in GC_RESOURCES:
            inf = shared(self.ctx, res, **{UID_INDEX: _uid_index, OWNER_INDEX: _owner_index})
            inf.add_handler(on_add=self._added, on_update=self._updated, on_delete=self._deleted)
            self.kinds[(res.group, res.kind)] = (res, inf)
        self.queue.add(GC_KEY)  # one pass at start: what happened while we were away

    # ---------------------------------------------------------- handlers
    def _trigger(self) -> None:
        self.queue.add_after(GC_KEY, GC_DEBOUNCE)

    def _cached_owner(self, ref: Obj) -> Obj | None:
        entry = self.kinds.get(_group_kind(ref))
        if entry is None:
            return None
        found = entry[1].by_index(UID_INDEX, ref.get("uid", ""))
        return found[0] if found else None

    def _added(self, obj: Obj) -> None:
        # Deleting with finalizers (orphan, foreground), or owned by a uid not known.
        if _deleting_with_finalizers(obj) or any(
            _group_kind(r) in self.kinds and self._cached_owner(r) is None for r in _refs(obj)
        ):
            self._trigger()

    def _updated(self, old: Obj, new: Obj) -> None:
        if _gc_view(old) != _gc_view(new):
            self._trigger()

    def _deleted(self, obj: Obj) -> None:
        # An owner with dependents, or a dependent an owner may be waiting for.
        uid = _meta(obj).get("uid", "")
        if any(inf.by_index(OWNER_INDEX, uid) for _, inf in self.kinds.values()) or any(
            (owner := self._cached_owner(r)) is not None and _meta(owner).get("deletionTimestamp")
            for r in _refs(obj)
        ):
            self._trigger()

    # -------------------------------------------------------------- sync
    def _snapshot(self) -> tuple[dict[str, tuple[Resource, Obj]], dict[str, gccore.OwnerState]]:
        """Every dependent and deleting object (uid -> (resource, object)), and
        the owner states the plan needs (owners of unwatched kinds: present)."""
        objects: dict[str, tuple[Resource, Obj]] = {}
        for res, inf in self.kinds.values():
            for obj in inf.list():
                meta = _meta(obj)
                if meta.get("uid") and (
                    meta.get("ownerReferences") or meta.get("deletionTimestamp")
                ):
                    objects[meta["uid"]] = (res, obj)
        owners = gccore.owner_states(obj for _, obj in objects.values())
        for _, obj in objects.values():
            for ref in _refs(obj):
                uid = ref.get("uid", "")
                if uid in owners:
                    continue
                if _group_kind(ref) not in self.kinds:
                    owners[uid] = gccore.OwnerState(uid)
                elif (owner := self._cached_owner(ref)) is not None:
                    owners[uid] = gccore.owner_state(owner)
        return objects, owners

    async def sync(self, key: str) -> None:
        if not all(inf.has_synced for _, inf in self.kinds.values()):
            raise Requeue("garbage collector caches not synced", 0.5)
        objects, owners = self._snapshot()
        plan = gccore.orphans_to_delete({u: o for u, (_, o) in objects.items()}, owners)
        run = _GCPass(self, objects, owners)
        await run.apply(plan)
        busy = plan.remove_owner_refs or plan.unblock or plan.delete or plan.remove_finalizers
        self.queue.add_after(GC_KEY, GC_BUSY_RESYNC if busy else GC_IDLE_RESYNC)


class _GCPass:
    """Carries out one `GCPlan`, confirming absent owners with live GETs and
    computing each patch from the newest version of its object."""

    def __init__(
        self,
        gc: GarbageCollector,
        objects: dict[str, tuple[Resource, Obj]],
        owners: dict[str, gccore.OwnerState],
    ) -> None:
        self.gc = gc
        self.client = gc.client
        self.objects = objects
        self.owners = owners
        self.gone: dict[str, bool] = {}  # owner uid -> confirmed absent

    async def apply(self, plan: gccore.GCPlan) -> None:
        failed: set[str] = set()  # owners a reference removal did not happen for
        for rm in plan.remove_owner_refs:
            obj = self.objects[rm.uid][1]
            drop = [o for o in rm.owners if await self._may_drop(obj, o)]
            failed.update(o for o in rm.owners if o not in drop)
            if drop and not await self._patch(rm.uid, gccore.remove_owner_refs_patch(obj, drop)):
                failed.update(drop)
        for ub in plan.unblock:
            await self._patch(ub.uid, gccore.unblock_patch(self.objects[ub.uid][1], ub.owners))
        for d in plan.delete:
            res, obj = self.objects[d.uid]
            if not all([await self._may_drop(obj, r.get("uid", "")) for r in _refs(obj)]):
                continue  # an owner is still there: our cache is behind
            meta = _meta(obj)
            await _tolerant(
                self.client.delete(
                    res,
                    meta.get("name", ""),
                    namespace=meta.get("namespace"),
                    propagation_policy=d.propagation,
                    preconditions={"uid": d.uid},
                )
            )
        for rf in plan.remove_finalizers:
            if rf.uid in failed or rf.uid not in self.objects:
                continue
            obj = self.objects[rf.uid][1]
            await self._patch(rf.uid, gccore.remove_finalizer_patch(obj, rf.finalizer))

    async def _may_drop(self, obj: Obj, owner_uid: str) -> bool:
        """An owner reference may be acted on: the owner is known (deleting
        or orphaning) or confirmed gone by a live GET (404 or another uid)."""
        if owner_uid in self.owners:
            return True
        if owner_uid not in self.gone:
            self.gone[owner_uid] = await self._live_absent(obj, owner_uid)
        return self.gone[owner_uid]

    async def _live_absent(self, obj: Obj, owner_uid: str) -> bool:
        ref = next((r for r in _refs(obj) if r.get("uid") == owner_uid), None)
        entry = self.gc.kinds.get(_group_kind(ref)) if ref is not None else None
        if ref is None or entry is None:
            return False
        try:
            live = await self.client.get(
                entry[0], ref.get("name", ""), namespace=_meta(obj).get("namespace")
            )
        except Exception as e:
            if is_not_found(e):
                return True
            raise
        return _meta(live).get("uid") != owner_uid

    async def _patch(self, uid: str, body: Obj) -> bool:
        """Merge-patch an object guarded by its resourceVersion; remember the
        result so later actions of this pass patch the newest version."""
        res, obj = self.objects[uid]
        meta = _meta(obj)
        body["metadata"].setdefault("resourceVersion", meta.get("resourceVersion"))
        out = await _tolerant(
            self.client.patch(res, meta.get("name", ""), body, namespace=meta.get("namespace"))
        )
        if out is None:
            return False
        if _meta(out).get("uid") == uid:
            self.objects[uid] = (res, out)
        return True


# --------------------------------------------------------------------------
# Node IPAM


class CIDRNotAvailable(Exception):
    """No pod CIDR was free for a node (retried with backoff and on node deletes)."""


def cidr_sets(cluster_cidr: str, node_mask: int) -> list[ipamcore.CIDRSet]:
    """One CIDRSet per family of ``--cluster-cidr`` (comma-separated). IPv4
    uses ``node_mask``; IPv6 uses it only when it can be an IPv6 mask (> 32),
    else the core's /64."""
    out = []
    for cidr in (c.strip() for c in cluster_cidr.split(",")):
        if cidr:
            v6 = ":" in cidr
            out.append(ipamcore.CIDRSet(cidr, node_mask if not v6 or node_mask > 32 else None))
    return out


class NodeIpamController(Controller):
    """Gives every Node spec.podCIDR(s) from the cluster CIDR(s)."""

    name = "nodeipam"

    def setup(self) -> None:
        opts = self.ctx.options
        self.cidrsets = cidr_sets(opts.cluster_cidr, opts.node_cidr_mask_size)
        self.nodes = shared(self.ctx, NODES)
        self.repaired = False
        self.writing: dict[str, list[str]] = {}  # node -> CIDRs patched, not yet cached
        self.failed: set[str] = set()
        self.nodes.add_handler(
            on_add=self.enqueue,
            on_update=self._updated,
            on_delete=self._deleted,
        )

    def _updated(self, old: Obj, new: Obj) -> None:
        cidrs = ipamcore.pod_cidrs(new)
        if not cidrs or cidrs != ipamcore.pod_cidrs(old):
            self.enqueue(new)

    def _deleted(self, node: Obj) -> None:
        name = _meta(node).get("name", "")
        ipamcore.release_node(node, self.cidrsets)
        self._release(name)
        for other in self.failed:
            self.queue.add(other)  # a CIDR may be free now

    def _release(self, name: str) -> None:
        for cs, cidr in zip(self.cidrsets, self.writing.pop(name, ()), strict=False):
            cs.release(cidr)

    async def sync(self, key: str) -> None:
        if not self.repaired:
            for name, err in ipamcore.repair(self.nodes.list(), self.cidrsets):
                log.warning("pod CIDR not repaired", node=name, error=err)
            self.repaired = True
        node = self.nodes.get("", key)
        if node is None:
            self.failed.discard(key)
            return
        if ipamcore.pod_cidrs(node):
            self.writing.pop(key, None)
        elif key in self.writing:
            return  # our patch is on its way into the cache
        plan = ipamcore.assign([node], self.cidrsets)
        for name, cidrs in plan.assigned:
            self.writing[name] = cidrs
            try:
                await self.client.patch(NODES, name, ipamcore.spec_patch(cidrs))
            except Exception as e:
                self._release(name)
                if is_not_found(e):
                    return
                raise
            log.info("pod CIDRs assigned", node=name, cidrs=",".join(cidrs))
        for ev in plan.events:
            self.record(node, ev.type, ev.reason, ev.message)
        if plan.events:
            self.failed.add(key)
            raise CIDRNotAvailable("; ".join(err for _, err in plan.failed))
        for name, err in plan.failed:
            log.warning("pod CIDR not repaired", node=name, error=err)
        self.failed.discard(key)


# --------------------------------------------------------------------------
# Node lifecycle

RECHECK_SLACK = 0.1  # seconds past the moment a node turns stale


class NodeLifecycleController(Controller):
    """Marks silent nodes Unknown and tainted, and their pods not ready."""

    name = "nodelifecycle"

    def setup(self) -> None:
        self.grace = dt.timedelta(seconds=self.ctx.options.node_monitor_grace_period)
        self.nodes = shared(self.ctx, NODES)
        self.leases = self.ctx.factory.informer(LEASES, namespace=NODE_LEASE_NAMESPACE)
        self.pods = shared(self.ctx, PODS, **{NODE_NAME_INDEX: by_node_name})
        self.nodes.add_handler(
            on_add=self.enqueue,
            on_update=lambda old, new: self.enqueue(new),
        )
        self.leases.add_handler(
            on_add=self._lease_changed,
            on_update=lambda old, new: self._lease_changed(new),
        )
        self.pods.add_handler(
            on_add=self._pod_changed,
            on_update=lambda old, new: self._pod_changed(new),
        )

    def _lease_changed(self, lease: Obj) -> None:
        self.queue.add(_meta(lease).get("name", ""))

    def _pod_changed(self, pod: Obj) -> None:
        node_name = (pod.get("spec") or {}).get("nodeName")
        node = self.nodes.get("", node_name) if node_name else None
        if node is not None and _ready_status(node) != "True":
            self.queue.add(node_name)  # a pod on a node that is not Ready

    async def sync(self, key: str) -> None:
        node = self.nodes.get("", key)
        if node is None:
            return
        lease = self.leases.get(NODE_LEASE_NAMESPACE, key)
        now = utcnow()
        update = lifecore.node_conditions_update(node, lease, now, self.grace)
        if update is not None:
            written = await self._write(node, update)
            if written is None:
                return  # deleted or changed meanwhile: its event brings the next sync
            node = written
        if _ready_status(node) != "True":
            await self._mark_pods_not_ready(key, now)
        delay = lifecore.next_check(node, lease, now, self.grace)
        if delay <= 0:
            delay = self.grace.total_seconds()  # silent already: look again later
        self.queue.add_after(key, delay + RECHECK_SLACK)

    async def _write(self, node: Obj, update: lifecore.NodeUpdate) -> Obj | None:
        name = _meta(node).get("name", "")
        if update.conditions is not None:
            body = {
                "metadata": {"resourceVersion": _meta(node).get("resourceVersion")},
                "status": {"conditions": update.conditions},
            }
            node = await _tolerant(self.client.patch(NODES, name, body, subresource="status"))
            if node is None:
                return None
            if update.ready is not None and update.ready.get("status") != "True":
                self.record(
                    node, "Normal", "NodeNotReady", f"Node {name} status is now: NodeNotReady"
                )
        if update.taints is not None:
            body = {
                "metadata": {"resourceVersion": _meta(node).get("resourceVersion")},
                "spec": {"taints": update.taints or None},
            }
            node = await _tolerant(self.client.patch(NODES, name, body))
        return node

    async def _mark_pods_not_ready(self, node_name: str, now: dt.datetime) -> None:
        pods = self.pods.by_index(NODE_NAME_INDEX, node_name)
        for pod, conds in lifecore.pods_to_mark_not_ready(node_name, pods, now):
            meta = _meta(pod)
            body = {
                "metadata": {"resourceVersion": meta.get("resourceVersion")},
                "status": {"conditions": conds},
            }
            out = await _tolerant(
                self.client.patch(
                    PODS,
                    meta.get("name", ""),
                    body,
                    namespace=meta.get("namespace"),
                    subresource="status",
                )
            )
            if out is not None:
                self.record(pod, "Warning", "NodeNotReady", "Node is not ready")


CONTROLLERS: dict[str, Callable[[Context], Controller]] = {
    "scheduler": SchedulerController,
    "garbagecollector": GarbageCollector,
    "nodeipam": NodeIpamController,
    "nodelifecycle": NodeLifecycleController,
}

__all__ = [
    "CONTROLLERS",
    "GarbageCollector",
    "NodeIpamController",
    "NodeLifecycleController",
    "SchedulerController",
]
