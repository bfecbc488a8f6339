"""Deployment controller core: one sync as a pure function (upstream
``pkg/controller/deployment``: sync.go, rolling.go, recreate.go and
progress.go; the ``deploymentutil`` helpers live in `deployment_util`).

Theory of operation. `sync` takes a Deployment, the ReplicaSets and Pods of
its namespace and ``now``, and replays upstream's ``syncDeployment`` on
working copies:

1. claim ReplicaSets through controller ownerReferences (adopt orphans
   that match the selector, release owned ones that no longer do);
2. find the *new* ReplicaSet (template equal to the Deployment's, ignoring
   the pod-template-hash label) or create ``<deploy>-<hash>``; keep the
   revision annotations in step (new RS = max old revision + 1);
3. choose a path like upstream: deleting -> status only; paused or a
   scaling event (an active RS whose desired-replicas annotation differs
   from spec.replicas) -> proportional `scale`; otherwise Recreate or
   RollingUpdate (surge the new RS, then scale old RSs down, unhealthy
   replicas first, never below ``replicas - maxUnavailable`` available);
4. trim old ReplicaSets beyond ``revisionHistoryLimit`` (only fully scaled
   down, observed ones) once the rollout is complete or while paused;
5. compute the status and the Available / Progressing / ReplicaFailure
   conditions with upstream's reasons and messages.

Upstream writes after each step and continues with the returned objects;
we fold the writes into one `Actions` (the final object of each changed
ReplicaSet), which reaches the same fixed point with fewer API calls. The
shell applies them in order: creates, updates, deletes, then the
Deployment's annotations and status. Invariant: the inputs are never
modified; every change is made on the working copies in `_Sync`.

This module re-exports the public `deployment_util` names (constants,
`DeploymentError`, `rollout_status`, `scaled_value`, ...) so callers need
only ``from svcnet.controllers import deployment``.
"""

from __future__ import annotations

import copy
import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from svcnet.controllers.deployment_util import (
    AVAILABLE,
    DESIRED_REPLICAS,
    FOUND_NEW_RS,
    MAX_INT32,
    MIN_AVAILABLE,
    MIN_UNAVAILABLE,
    NEW_RS_AVAILABLE,
    NEW_RS_CREATED,
    PAUSED,
    PROGRESSING,
    REPLICA_FAILURE,
    RESUMED,
    REVISION,
    RS_UPDATED,
    TIMED_OUT,
    Obj,
    annotation_int,
    by_creation,
    conditions_of,
    creation_key,
    deployment_complete,
    deployment_progressing,
    deployment_timed_out,
    equal_ignore_hash,
    filter_active,
    get_condition,
    is_saturated,
    max_surge,
    max_unavailable,
    meta_of,
    new_condition,
    new_rs_new_replicas,
    progress_deadline,
    remove_condition,
    replica_count,
    replicas_of,
    revision,
    rolling_update,
    rs_proportion,
    set_condition,
    set_new_rs_annotations,
    set_replicas_annotations,
    status_int,
)

# Re-exported: callers and tests import the whole deploymentutil surface from here.
from svcnet.controllers.deployment_util import MAX_REPLICAS as MAX_REPLICAS
from svcnet.controllers.deployment_util import MAX_REV_HISTORY_CHARS as MAX_REV_HISTORY_CHARS
from svcnet.controllers.deployment_util import REVISION_HISTORY as REVISION_HISTORY
from svcnet.controllers.deployment_util import DeploymentError as DeploymentError
from svcnet.controllers.deployment_util import resolve_fenceposts as resolve_fenceposts
from svcnet.controllers.deployment_util import rollout_status as rollout_status
from svcnet.controllers.deployment_util import scaled_value as scaled_value
from svcnet.controllers.hashing import POD_TEMPLATE_HASH_LABEL, pod_template_hash
from svcnet.controllers.replicaset import (
    claim,
    controller_of,
    controller_ref,
    parse_time,
    selector_of,
)


@dataclass(frozen=True)
class Event:
    """An event on the Deployment (``involvedObject`` is the Deployment)."""

    type: str
    reason: str
    message: str


@dataclass
class Actions:
    """The writes one sync asks for, in the order the shell applies them."""

    create: list[Obj] = field(default_factory=list)  # new ReplicaSets (POST)
    update: list[Obj] = field(default_factory=list)  # changed ReplicaSets (PUT, whole object)
    delete: list[Obj] = field(default_factory=list)  # old ReplicaSets (DELETE, uid precondition)
    annotations: Obj | None = None  # new Deployment metadata.annotations, if changed
    status: Obj | None = None  # new Deployment status (status subresource), if changed
    events: list[Event] = field(default_factory=list)
    requeue_after: float | None = None  # seconds; 0 means "again soon, rate limited"


# --------------------------------------------------------------------------
# The sync


class _Abort(Exception):
    """Stop this sync; write what was decided so far and retry soon."""


class _Sync:
    def __init__(self, d: Obj, rss: Iterable[Obj], pods: Iterable[Obj], now: dt.datetime):
        self.orig = d
        self.d = copy.deepcopy(d)
        self.d.setdefault("status", {})
        self.ns = meta_of(d).get("namespace", "default")
        self.now = now
        self.originals = {
            meta_of(rs).get("name"): rs
            for rs in rss
            if meta_of(rs).get("namespace", self.ns) == self.ns
        }
        self.work = {name: copy.deepcopy(rs) for name, rs in self.originals.items()}
        self.pods = list(pods)
        self.out = Actions()

    # -- helpers ---------------------------------------------------------

    def event(self, reason: str, message: str, type_: str = "Normal") -> None:
        self.out.events.append(Event(type_, reason, message))

    def cond(self, ctype: str, status: str, reason: str, message: str) -> Obj:
        return new_condition(ctype, status, reason, message, self.now)

    @property
    def name(self) -> str:
        return meta_of(self.d).get("name", "")

    def scale_rs(self, rs: Obj, new_scale: int, *, if_size_changes: bool = True) -> bool:
        """Upstream ``scaleReplicaSet`` (``scaleReplicaSetAndRecordEvent`` when
        ``if_size_changes``). True if the size changed."""
        old = replicas_of(rs)
        if if_size_changes and old == new_scale:
            return False
        want = replicas_of(self.d)
        set_replicas_annotations(rs, want, want + max_surge(self.d))
        if old == new_scale:
            return False
        rs.setdefault("spec", {})["replicas"] = new_scale
        op = "up" if old < new_scale else "down"
        name = meta_of(rs).get("name")
        self.event("ScalingReplicaSet", f"Scaled {op} replica set {name} from {old} to {new_scale}")
        return True

    # -- replica sets ----------------------------------------------------

    def claim_replicasets(self) -> list[Obj]:
        c = claim(self.d, self.work.values(), selector_of(self.d))
        uid = meta_of(self.d).get("uid")
        for rs in c.adopt:
            refs = meta_of(rs).setdefault("ownerReferences", [])
            refs.append(controller_ref(self.d, "apps/v1", "Deployment"))
        for rs in c.release:
            meta = meta_of(rs)
            meta["ownerReferences"] = [r for r in meta["ownerReferences"] if r.get("uid") != uid]
        return c.owned

    def get_all(self, rs_list: list[Obj], create: bool) -> tuple[Obj | None, list[Obj]]:
        """Upstream ``getAllReplicaSetsAndSyncRevision`` / ``getNewReplicaSet``."""
        d, tmpl = self.d, (self.d.get("spec") or {}).get("template") or {}
        same = [
            rs for rs in by_creation(rs_list) if equal_ignore_hash(rs["spec"].get("template"), tmpl)
        ]
        new = same[0] if same else None
        olds = [rs for rs in rs_list if rs is not new]
        new_revision = max((revision(rs) for rs in olds), default=0) + 1
        deadline = progress_deadline(d) is not None
        if new is not None:
            set_new_rs_annotations(d, new, new_revision, exists=True)
            min_ready = (d.get("spec") or {}).get("minReadySeconds") or 0
            if (new["spec"].get("minReadySeconds") or 0) != min_ready:
                new["spec"]["minReadySeconds"] = min_ready
            self.set_revision(str(revision(new)))
            if deadline and get_condition(d["status"], PROGRESSING) is None:
                msg = f'Found new replica set "{meta_of(new).get("name")}"'
                set_condition(d["status"], self.cond(PROGRESSING, "True", FOUND_NEW_RS, msg))
            return new, olds
        if not create:
            return None, olds
        new = self.new_replicaset(tmpl)
        replicas = new_rs_new_replicas(d, [*olds, new], new)
        new["spec"]["replicas"] = replicas
        set_new_rs_annotations(d, new, new_revision, exists=False)
        self.out.create.append(new)
        name = meta_of(new)["name"]
        if replicas > 0:
            self.event("ScalingReplicaSet", f"Scaled up replica set {name} from 0 to {replicas}")
        self.set_revision(str(new_revision))
        if deadline:
            msg = f'Created new replica set "{name}"'
            set_condition(d["status"], self.cond(PROGRESSING, "True", NEW_RS_CREATED, msg))
        return new, olds

    def new_replicaset(self, tmpl: Obj) -> Obj:
        """The ReplicaSet for the current template, or `_Abort` on a hash collision."""
        d = self.d
        h = pod_template_hash(tmpl, d["status"].get("collisionCount"))
        name = f"{self.name}-{h}"
        if name in self.work:
            # Upstream learns this from AlreadyExists; the cache tells us first.
            d["status"]["collisionCount"] = int(d["status"].get("collisionCount") or 0) + 1
            raise _Abort
        template = copy.deepcopy(tmpl)
        tmeta = template.setdefault("metadata", {})
        tmeta["labels"] = {**(tmeta.get("labels") or {}), POD_TEMPLATE_HASH_LABEL: h}
        selector = copy.deepcopy((d.get("spec") or {}).get("selector") or {})
        selector["matchLabels"] = {**selector.get("matchLabels", {}), POD_TEMPLATE_HASH_LABEL: h}
        spec = d.get("spec") or {}
        return {
            "apiVersion": "apps/v1",
            "kind": "ReplicaSet",
            "metadata": {
                "name": name,
                "namespace": self.ns,
                "labels": dict(tmeta["labels"]),
                "annotations": {},
                "ownerReferences": [controller_ref(d, "apps/v1", "Deployment")],
            },
            "spec": {
                "replicas": 0,
                "minReadySeconds": spec.get("minReadySeconds") or 0,
                "selector": selector,
                "template": template,
            },
        }

    def set_revision(self, rev: str) -> None:
        ann = meta_of(self.d).setdefault("annotations", {})
        if ann.get(REVISION) != rev:
            ann[REVISION] = rev

    def is_scaling_event(self, rs_list: list[Obj]) -> bool:
        new, olds = self.get_all(rs_list, False)
        want = replicas_of(self.d)
        for rs in filter_active([*olds, new]):
            desired = annotation_int(rs, DESIRED_REPLICAS)
            if desired is not None and desired != want:
                return True
        return False

    # -- paused / scaling ------------------------------------------------

    def sync_scale(self, rs_list: list[Obj]) -> None:
        """Upstream ``sync``: scale proportionally, trim history when paused."""
        new, olds = self.get_all(rs_list, False)
        self.scale(new, olds)
        if (self.d.get("spec") or {}).get("paused"):
            self.cleanup(olds)
        self.d["status"] = self.calculate_status([*olds, new], new)

    def scale(self, new: Obj | None, olds: list[Obj]) -> None:
        """Upstream ``scale``: proportional scaling of all active RSs."""
        d, want = self.d, replicas_of(self.d)
        if new is None and not olds:
            return
        active = filter_active([new, *olds])
        if len(active) <= 1:  # FindActiveOrLatest
            target = active[0] if active else new or by_creation(olds)[-1]
            if replicas_of(target) != want:
                self.scale_rs(target, want)
            return
        if new is not None and is_saturated(d, new):
            for rs in filter_active(olds):
                self.scale_rs(rs, 0)
            return
        if rolling_update(d) is None:
            return
        allowed = want + max_surge(d) if want > 0 else 0
        to_add = allowed - replica_count(active)
        # Bigger first; on equal sizes newer first when adding, older first when removing.
        active = by_creation(active)
        if to_add > 0:
            active.reverse()
        active.sort(key=lambda rs: -replicas_of(rs))
        added, sizes = 0, []
        for rs in active:
            p = rs_proportion(self.d, rs, to_add, added) if to_add else 0
            sizes.append(replicas_of(rs) + p)
            added += p
        if to_add:
            sizes[0] = max(sizes[0] + to_add - added, 0)  # leftovers to the largest
        for rs, size in zip(active, sizes, strict=True):
            self.scale_rs(rs, size, if_size_changes=False)

    # -- rolling update --------------------------------------------------

    def rollout_rolling(self, rs_list: list[Obj]) -> None:
        new, olds = self.get_all(rs_list, True)
        assert new is not None
        all_rss = [*olds, new]
        if self.reconcile_new(all_rss, new) or self.reconcile_old(
            all_rss, filter_active(olds), new
        ):
            return self.sync_rollout_status(all_rss, new)
        if deployment_complete(self.d, self.d["status"]):
            self.cleanup(olds)
        self.sync_rollout_status(all_rss, new)

    def reconcile_new(self, all_rss: list[Obj], new: Obj) -> bool:
        want = replicas_of(self.d)
        if replicas_of(new) == want:
            return False
        if replicas_of(new) > want:
            return self.scale_rs(new, want)
        return self.scale_rs(new, new_rs_new_replicas(self.d, all_rss, new))

    def reconcile_old(self, all_rss: list[Obj], olds: list[Obj], new: Obj) -> bool:
        """Upstream ``reconcileOldReplicaSets``: scale old RSs down as far as
        availability allows, unhealthy replicas first."""
        if replica_count(olds) == 0:
            return False
        min_available = replicas_of(self.d) - max_unavailable(self.d)
        new_unavailable = replicas_of(new) - status_int(new, "availableReplicas")
        max_scaled_down = replica_count(all_rss) - min_available - new_unavailable
        if max_scaled_down <= 0:
            return False
        olds = by_creation(olds)
        cleaned = 0
        for rs in olds:  # cleanupUnhealthyReplicas
            if cleaned >= max_scaled_down:
                break
            unhealthy = replicas_of(rs) - status_int(rs, "availableReplicas")
            if replicas_of(rs) == 0 or unhealthy <= 0:
                continue
            n = min(max_scaled_down - cleaned, unhealthy)
            self.scale_rs(rs, replicas_of(rs) - n)
            cleaned += n
        # scaleDownOldReplicaSetsForRollingUpdate
        available = replica_count([*olds, new], "availableReplicas")
        scaled = 0
        if available > min_available:
            total = available - min_available
            for rs in olds:
                if scaled >= total:
                    break
                if replicas_of(rs) == 0:
                    continue
                n = min(replicas_of(rs), total - scaled)
                self.scale_rs(rs, replicas_of(rs) - n)
                scaled += n
        return cleaned + scaled > 0

    # -- recreate --------------------------------------------------------

    def rollout_recreate(self, rs_list: list[Obj]) -> None:
        new, olds = self.get_all(rs_list, False)
        scaled_down = False
        for rs in filter_active(olds):
            scaled_down |= self.scale_rs(rs, 0)
        if scaled_down or self.old_pods_running(new, olds, rs_list):
            return self.sync_rollout_status([*olds, new], new)
        if new is None:
            new, olds = self.get_all(rs_list, True)
            assert new is not None
        self.scale_rs(new, replicas_of(self.d))
        if deployment_complete(self.d, self.d["status"]):
            self.cleanup(olds)
        self.sync_rollout_status([*olds, new], new)

    def old_pods_running(self, new: Obj | None, olds: list[Obj], rs_list: list[Obj]) -> bool:
        """Upstream ``oldPodsRunning``: any old RS pod not yet Succeeded/Failed
        (terminating pods count: Recreate waits until they are gone)."""
        if replica_count(olds, "replicas") > 0:
            return True
        new_uid = meta_of(new).get("uid") if new is not None else None
        old_uids = {meta_of(rs).get("uid") for rs in rs_list} - {new_uid, None}
        selector = selector_of(self.d)
        for pod in self.pods:
            ref = controller_of(pod)
            if ref is None or ref.get("uid") not in old_uids:
                continue
            if meta_of(pod).get("namespace", self.ns) != self.ns:
                continue
            if not selector.matches(meta_of(pod).get("labels") or {}):
                continue
            if (pod.get("status") or {}).get("phase") not in ("Succeeded", "Failed"):
                return True
        return False

    # -- history ---------------------------------------------------------

    def cleanup(self, olds: list[Obj]) -> None:
        """Upstream ``cleanupDeployment``: delete the oldest revisions beyond
        revisionHistoryLimit, skipping any with replicas or unobserved changes."""
        limit = (self.d.get("spec") or {}).get("revisionHistoryLimit")
        if limit is None or limit == MAX_INT32:
            return
        alive = [rs for rs in olds if not meta_of(rs).get("deletionTimestamp")]
        diff = len(alive) - int(limit)
        if diff <= 0:
            return
        alive.sort(key=lambda rs: (revision(rs), *creation_key(rs)))
        for rs in alive[:diff]:
            unobserved = meta_of(rs).get("generation", 0) > status_int(rs, "observedGeneration")
            if not (status_int(rs, "replicas") or replicas_of(rs) or unobserved):
                self.out.delete.append(rs)

    # -- status ----------------------------------------------------------

    def calculate_status(self, all_rss: list[Obj | None], new: Obj | None) -> Obj:
        """Upstream ``calculateStatus`` (zero counts omitted, as on the wire)."""
        d = self.d
        available = replica_count(all_rss, "availableReplicas")
        counts = {
            "observedGeneration": meta_of(d).get("generation", 0),
            "replicas": replica_count(all_rss, "replicas"),
            "updatedReplicas": status_int(new, "replicas") if new is not None else 0,
            "readyReplicas": replica_count(all_rss, "readyReplicas"),
            "availableReplicas": available,
            "unavailableReplicas": max(replica_count(all_rss) - available, 0),
        }
        status: Obj = {k: v for k, v in counts.items() if v}
        if d["status"].get("collisionCount") is not None:
            status["collisionCount"] = d["status"]["collisionCount"]
        if d["status"].get("conditions"):
            status["conditions"] = copy.deepcopy(d["status"]["conditions"])
        if available >= replicas_of(d) - max_unavailable(d):
            c = (AVAILABLE, "True", MIN_AVAILABLE, "Deployment has minimum availability.")
        else:
            c = (
                AVAILABLE,
                "False",
                MIN_UNAVAILABLE,
                "Deployment does not have minimum availability.",
            )
        set_condition(status, self.cond(*c))
        return status

    def sync_rollout_status(self, all_rss: list[Obj | None], new: Obj | None) -> None:
        """Upstream ``syncRolloutStatus`` (progress.go)."""
        d = self.d
        status = self.calculate_status(all_rss, new)
        deadline = progress_deadline(d)
        if deadline is None:
            remove_condition(status, PROGRESSING)
        current = get_condition(d["status"], PROGRESSING)
        complete = (
            status.get("replicas", 0) == status.get("updatedReplicas", 0)
            and current is not None
            and current.get("reason") == NEW_RS_AVAILABLE
        )
        what = f'Deployment "{self.name}"'
        if new is not None:
            what = f'ReplicaSet "{meta_of(new).get("name")}"'

        if deadline is not None and not complete:
            if deployment_complete(d, status):
                msg = f"{what} has successfully progressed."
                set_condition(status, self.cond(PROGRESSING, "True", NEW_RS_AVAILABLE, msg))
            elif deployment_progressing(d["status"], status):
                cond = self.cond(PROGRESSING, "True", RS_UPDATED, f"{what} is progressing.")
                if current is not None:
                    if current.get("status") == "True":
                        cond["lastTransitionTime"] = current.get("lastTransitionTime")
                    remove_condition(status, PROGRESSING)
                set_condition(status, cond)
            elif deployment_timed_out(status, deadline, self.now):
                msg = f"{what} has timed out progressing."
                set_condition(status, self.cond(PROGRESSING, "False", TIMED_OUT, msg))
        # The new RS's failure first (upstream getReplicaFailures), copied as is.
        for c in conditions_of([new, *all_rss], REPLICA_FAILURE)[:1]:
            t = c.get("lastTransitionTime")
            set_condition(status, {**c, "lastUpdateTime": t, "lastTransitionTime": t})
        if not conditions_of([new, *all_rss], REPLICA_FAILURE):
            remove_condition(status, REPLICA_FAILURE)
        d["status"] = status
        self.out.requeue_after = self.stuck_requeue(status, deadline)

    def stuck_requeue(self, status: Obj, deadline: int | None) -> float | None:
        """Upstream ``requeueStuckDeployment``: when to look again for a timeout."""
        cond = get_condition(status, PROGRESSING)
        if deadline is None or cond is None:
            return None
        if deployment_complete(self.d, status) or cond.get("reason") == TIMED_OUT:
            return None
        since = parse_time(cond.get("lastUpdateTime")) or self.now
        after = (since + dt.timedelta(seconds=deadline) - self.now).total_seconds()
        return 0.0 if after < 1 else after + 1

    def check_paused_conditions(self) -> None:
        """Upstream ``checkPausedConditions``: Progressing Unknown while paused."""
        if progress_deadline(self.d) is None:
            return
        cond = get_condition(self.d["status"], PROGRESSING)
        if cond is not None and cond.get("reason") == TIMED_OUT:
            return
        was_paused = cond is not None and cond.get("reason") == PAUSED
        paused = bool((self.d.get("spec") or {}).get("paused"))
        if paused != was_paused:
            reason, msg = (PAUSED, "paused") if paused else (RESUMED, "resumed")
            c = self.cond(PROGRESSING, "Unknown", reason, f"Deployment is {msg}")
            set_condition(self.d["status"], c)

    # -- result ----------------------------------------------------------

    def result(self) -> Actions:
        out = self.out
        deleted = {id(rs) for rs in out.delete}
        for name, rs in self.work.items():
            if id(rs) not in deleted and rs != self.originals[name]:
                out.update.append(rs)
        if (meta_of(self.d).get("annotations") or {}) != (
            meta_of(self.orig).get("annotations") or {}
        ):
            out.annotations = meta_of(self.d)["annotations"]
        if self.d["status"] != (self.orig.get("status") or {}):
            out.status = self.d["status"]
        return out


def sync(
    deployment: Mapping[str, Any],
    replicasets: Iterable[Obj],
    pods: Iterable[Obj],
    now: dt.datetime,
) -> Actions:
    """One reconcile of ``deployment`` (upstream ``syncDeployment``).

    Args:
        deployment: the Deployment (as cached; not modified).
        replicasets: ReplicaSets of its namespace (foreign ones are skipped,
            orphans matching its selector are adopted).
        pods: Pods of its namespace (read only for Recreate's "old pods gone").
        now: the injected clock, for conditions and deadlines.

    Raises:
        DeploymentError: when maxSurge / maxUnavailable cannot be resolved.
    """
    s = _Sync(dict(deployment), replicasets, pods, now)
    d = s.d
    sel = (d.get("spec") or {}).get("selector") or {}
    if not sel.get("matchLabels") and not sel.get("matchExpressions"):
        msg = "This deployment is selecting all pods. A non-empty selector is required."
        s.event("SelectingAll", msg, "Warning")
        if d["status"].get("observedGeneration", 0) < meta_of(d).get("generation", 0):
            d["status"]["observedGeneration"] = meta_of(d).get("generation", 0)
        return s.result()
    try:
        rs_list = s.claim_replicasets()
        if meta_of(d).get("deletionTimestamp"):
            new, olds = s.get_all(rs_list, False)
            d["status"] = s.calculate_status([*olds, new], new)
            return s.result()
        s.check_paused_conditions()
        if (d.get("spec") or {}).get("paused") or s.is_scaling_event(rs_list):
            s.sync_scale(rs_list)
        elif rolling_update(d) is None:
            s.rollout_recreate(rs_list)
        else:
            s.rollout_rolling(rs_list)
    except _Abort:
        s.out.requeue_after = 0.0
    return s.result()
