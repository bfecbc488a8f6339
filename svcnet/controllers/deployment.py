"""Deployment controller core: one sync as a pure function (upstream
``pkg/controller/deployment``: sync.go, rolling.go, recreate.go, progress.go
and util/deployment_util.go).

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
Deployment's annotations and status.
"""

from __future__ import annotations

import copy
import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final

from svcnet.controllers.hashing import POD_TEMPLATE_HASH_LABEL, pod_template_hash
from svcnet.controllers.replicaset import (
    claim,
    controller_of,
    controller_ref,
    parse_time,
    rfc3339,
    selector_of,
)

Obj = dict[str, Any]

REVISION: Final = "deployment.kubernetes.io/revision"
REVISION_HISTORY: Final = "deployment.kubernetes.io/revision-history"
DESIRED_REPLICAS: Final = "deployment.kubernetes.io/desired-replicas"
MAX_REPLICAS: Final = "deployment.kubernetes.io/max-replicas"
# Deployment annotations not copied to its ReplicaSets (upstream annotationsToSkip).
_SKIP_COPY: Final = {REVISION, REVISION_HISTORY, DESIRED_REPLICAS, MAX_REPLICAS}
_SKIP_COPY |= {
    "kubectl.kubernetes.io/last-applied-configuration",
    "deprecated.deployment.rollback.to",
}
MAX_REV_HISTORY_CHARS: Final = 2000
MAX_INT32: Final = 2**31 - 1

AVAILABLE: Final = "Available"
PROGRESSING: Final = "Progressing"
REPLICA_FAILURE: Final = "ReplicaFailure"
# Upstream deploymentutil reasons.
NEW_RS_CREATED: Final = "NewReplicaSetCreated"
FOUND_NEW_RS: Final = "FoundNewReplicaSet"
RS_UPDATED: Final = "ReplicaSetUpdated"
NEW_RS_AVAILABLE: Final = "NewReplicaSetAvailable"
TIMED_OUT: Final = "ProgressDeadlineExceeded"
PAUSED: Final = "DeploymentPaused"
RESUMED: Final = "DeploymentResumed"
MIN_AVAILABLE: Final = "MinimumReplicasAvailable"
MIN_UNAVAILABLE: Final = "MinimumReplicasUnavailable"

_COUNTS: Final = ("replicas", "updatedReplicas", "readyReplicas", "availableReplicas")
_EPOCH: Final = dt.datetime.min.replace(tzinfo=dt.UTC)


class DeploymentError(ValueError):
    """A Deployment whose spec cannot be acted on (e.g. a bad IntOrString)."""


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
# Small accessors and upstream deploymentutil helpers


def _meta(o: Mapping[str, Any]) -> Obj:
    return o.get("metadata") or {}


def _replicas(o: Mapping[str, Any]) -> int:
    r = (o.get("spec") or {}).get("replicas")
    return 1 if r is None else int(r)


def _st(o: Mapping[str, Any] | None, key: str) -> int:
    return int(((o or {}).get("status") or {}).get(key) or 0)


def _annotation_int(o: Mapping[str, Any], key: str) -> int | None:
    try:
        return int((_meta(o).get("annotations") or {})[key])
    except (KeyError, ValueError):
        return None


def scaled_value(value: int | str | None, total: int, round_up: bool) -> int:
    """Upstream ``intstr.GetScaledValueFromIntOrPercent``."""
    if value is None:
        return 0
    if isinstance(value, int):
        return value
    if not value.endswith("%"):
        raise DeploymentError(
            "invalid value for IntOrString: invalid type: string is not a percentage"
        )
    try:
        pct = int(value[:-1])
    except ValueError as e:
        raise DeploymentError(f"invalid value {value!r}: {e}") from None
    return -(-pct * total // 100) if round_up else pct * total // 100


def resolve_fenceposts(
    surge: int | str | None, unavailable: int | str | None, desired: int
) -> tuple[int, int]:
    """(maxSurge, maxUnavailable) as numbers: surge rounds up, unavailable
    down; both zero becomes maxUnavailable 1 (upstream ``ResolveFenceposts``)."""
    s = scaled_value(surge, desired, True)
    u = scaled_value(unavailable, desired, False)
    return (s, 1) if s == 0 and u == 0 else (s, u)


def _rolling(d: Mapping[str, Any]) -> Obj | None:
    strategy = (d.get("spec") or {}).get("strategy") or {}
    if strategy.get("type", "RollingUpdate") != "RollingUpdate":
        return None
    return strategy.get("rollingUpdate") or {"maxSurge": "25%", "maxUnavailable": "25%"}


def max_surge(d: Mapping[str, Any]) -> int:
    ru = _rolling(d)
    if ru is None:
        return 0
    return resolve_fenceposts(ru.get("maxSurge"), ru.get("maxUnavailable"), _replicas(d))[0]


def max_unavailable(d: Mapping[str, Any]) -> int:
    ru, n = _rolling(d), _replicas(d)
    if ru is None or n == 0:
        return 0
    return min(resolve_fenceposts(ru.get("maxSurge"), ru.get("maxUnavailable"), n)[1], n)


def _created(rs: Mapping[str, Any]) -> tuple[dt.datetime, str]:
    meta = _meta(rs)
    return (parse_time(meta.get("creationTimestamp")) or _EPOCH, meta.get("name", ""))


def by_creation(rss: Iterable[Obj]) -> list[Obj]:
    """Oldest first, ties by name (upstream ``ReplicaSetsByCreationTimestamp``)."""
    return sorted(rss, key=_created)


def revision(rs: Mapping[str, Any]) -> int:
    return _annotation_int(rs, REVISION) or 0


def _without_hash(template: Mapping[str, Any] | None) -> Obj:
    t = copy.deepcopy(dict(template or {}))
    labels = (t.get("metadata") or {}).get("labels")
    if labels is not None:
        labels.pop(POD_TEMPLATE_HASH_LABEL, None)
        if not labels:
            t["metadata"].pop("labels")
    return t


def equal_ignore_hash(a: Mapping[str, Any] | None, b: Mapping[str, Any] | None) -> bool:
    """Templates equal but for the pod-template-hash label (``EqualIgnoreHash``)."""
    return _without_hash(a) == _without_hash(b)


def _active(rss: Iterable[Obj | None]) -> list[Obj]:
    return [rs for rs in rss if rs is not None and _replicas(rs) > 0]


def _sum(rss: Iterable[Obj | None], key: str | None = None) -> int:
    return sum((_replicas(rs) if key is None else _st(rs, key)) for rs in rss if rs is not None)


def new_rs_new_replicas(
    d: Mapping[str, Any], all_rss: Sequence[Obj], new_rs: Mapping[str, Any]
) -> int:
    """Replicas the new RS may have now (upstream ``NewRSNewReplicas``)."""
    want = _replicas(d)
    if _rolling(d) is None:
        return want
    max_total = want + max_surge(d)
    current = _sum(all_rss)
    if current >= max_total:
        return _replicas(new_rs)
    return _replicas(new_rs) + min(max_total - current, want - _replicas(new_rs))


def is_saturated(d: Mapping[str, Any], rs: Mapping[str, Any]) -> bool:
    """The RS has all the Deployment's replicas, available (``IsSaturated``)."""
    want = _replicas(d)
    return (
        _annotation_int(rs, DESIRED_REPLICAS) == want
        and _replicas(rs) == want
        and _st(rs, "availableReplicas") == want
    )


def _set_replicas_annotations(rs: Obj, desired: int, maximum: int) -> bool:
    ann = _meta(rs).get("annotations") or {}
    want = {DESIRED_REPLICAS: str(desired), MAX_REPLICAS: str(maximum)}
    if all(ann.get(k) == v for k, v in want.items()):
        return False
    rs["metadata"]["annotations"] = {**ann, **want}
    return True


def _set_new_rs_annotations(d: Mapping[str, Any], rs: Obj, new_revision: int, exists: bool) -> bool:
    """Upstream ``SetNewReplicaSetAnnotations``: copy the Deployment's
    annotations, raise the revision (remembering the old one in
    revision-history on rollback) and, on creation, the replica annotations."""
    ann = dict(_meta(rs).get("annotations") or {})
    changed = False
    for k, v in (_meta(d).get("annotations") or {}).items():
        if k not in _SKIP_COPY and ann.get(k) != v:
            ann[k] = v
            changed = True
    old = ann.get(REVISION)
    try:
        old_int = int(old) if old else 0
    except ValueError:
        old_int = new_revision  # upstream leaves a malformed revision alone
    if old_int < new_revision:
        ann[REVISION] = str(new_revision)
        changed = True
        if old:
            history = [h for h in ann.get(REVISION_HISTORY, "").split(",") if h] + [old]
            while len(",".join(history)) > MAX_REV_HISTORY_CHARS and len(history) > 1:
                history.pop(0)
            ann[REVISION_HISTORY] = ",".join(history)
    if changed:
        rs["metadata"]["annotations"] = ann
    if not exists and _set_replicas_annotations(rs, _replicas(d), _replicas(d) + max_surge(d)):
        changed = True
    return changed


# --------------------------------------------------------------------------
# Conditions (upstream deploymentutil)


def get_condition(status: Mapping[str, Any] | None, ctype: str) -> Obj | None:
    return next((c for c in (status or {}).get("conditions") or [] if c.get("type") == ctype), None)


def new_condition(ctype: str, status: str, reason: str, message: str, now: dt.datetime) -> Obj:
    t = rfc3339(now)
    c = {"type": ctype, "status": status, "lastUpdateTime": t, "lastTransitionTime": t}
    return {**c, "reason": reason, "message": message}


def set_condition(status: Obj, cond: Obj) -> None:
    """Upstream ``SetDeploymentCondition``: same status and reason is a no-op;
    same status keeps lastTransitionTime."""
    cur = get_condition(status, cond["type"]) or {}
    if cur.get("status") == cond["status"]:
        if cur.get("reason") == cond["reason"]:
            return
        cond = {**cond, "lastTransitionTime": cur.get("lastTransitionTime")}
    remove_condition(status, cond["type"])
    status.setdefault("conditions", []).append(cond)


def remove_condition(status: Obj, ctype: str) -> None:
    conds = [c for c in status.get("conditions") or [] if c.get("type") != ctype]
    if conds:
        status["conditions"] = conds
    else:
        status.pop("conditions", None)


def _conditions(rss: Iterable[Obj | None], ctype: str) -> list[Obj]:
    return [
        c
        for rs in rss
        if rs
        for c in rs.get("status", {}).get("conditions") or []
        if c.get("type") == ctype
    ]


def _progress_deadline(d: Mapping[str, Any]) -> int | None:
    s = (d.get("spec") or {}).get("progressDeadlineSeconds")
    return None if s is None or s == MAX_INT32 else int(s)


def deployment_complete(d: Mapping[str, Any], status: Mapping[str, Any]) -> bool:
    """Upstream ``DeploymentComplete``: all replicas updated and available, and
    the generation observed."""
    n = _replicas(d)
    return (
        status.get("updatedReplicas", 0) == n
        and status.get("replicas", 0) == n
        and status.get("availableReplicas", 0) == n
        and status.get("observedGeneration", 0) >= _meta(d).get("generation", 0)
    )


def _progressing(old: Mapping[str, Any], new: Mapping[str, Any]) -> bool:
    """Upstream ``DeploymentProgressing``: more updated / ready / available
    replicas, or fewer old ones, than the last status recorded."""

    o, n = ({k: int(s.get(k) or 0) for k in _COUNTS} for s in (old, new))
    return (
        n["updatedReplicas"] > o["updatedReplicas"]
        or n["replicas"] - n["updatedReplicas"] < o["replicas"] - o["updatedReplicas"]
        or n["readyReplicas"] > o["readyReplicas"]
        or n["availableReplicas"] > o["availableReplicas"]
    )


def rollout_status(d: Mapping[str, Any]) -> tuple[str, bool]:
    """What ``kubectl rollout status`` prints for ``d`` and whether it stops
    (kubectl ``DeploymentStatusViewer``).

    Raises:
        DeploymentError: ``deployment "x" exceeded its progress deadline``.
    """
    name, st = _meta(d).get("name", ""), d.get("status") or {}
    if _meta(d).get("generation", 0) > st.get("observedGeneration", 0):
        return "Waiting for deployment spec update to be observed...\n", False
    cond = get_condition(st, PROGRESSING)
    if cond is not None and cond.get("reason") == TIMED_OUT:
        raise DeploymentError(f'deployment "{name}" exceeded its progress deadline')
    updated, replicas = st.get("updatedReplicas", 0), st.get("replicas", 0)
    available, want = st.get("availableReplicas", 0), _replicas(d)
    prefix = f'Waiting for deployment "{name}" rollout to finish: '
    if updated < want:
        return f"{prefix}{updated} out of {want} new replicas have been updated...\n", False
    if replicas > updated:
        return f"{prefix}{replicas - updated} old replicas are pending termination...\n", False
    if available < updated:
        return f"{prefix}{available} of {updated} updated replicas are available...\n", False
    return f'deployment "{name}" successfully rolled out\n', True


# --------------------------------------------------------------------------
# The sync


class _Abort(Exception):
    """Stop this sync; write what was decided so far and retry soon."""


class _Sync:
    def __init__(self, d: Obj, rss: Iterable[Obj], pods: Iterable[Obj], now: dt.datetime):
        self.orig = d
        self.d = copy.deepcopy(d)
        self.d.setdefault("status", {})
        self.ns = _meta(d).get("namespace", "default")
        self.now = now
        self.originals = {
            _meta(rs).get("name"): rs
            for rs in rss
            if _meta(rs).get("namespace", self.ns) == self.ns
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
        return _meta(self.d).get("name", "")

    def scale_rs(self, rs: Obj, new_scale: int, *, if_size_changes: bool = True) -> bool:
        """Upstream ``scaleReplicaSet`` (``scaleReplicaSetAndRecordEvent`` when
        ``if_size_changes``). True if the size changed."""
        old = _replicas(rs)
        if if_size_changes and old == new_scale:
            return False
        want = _replicas(self.d)
        _set_replicas_annotations(rs, want, want + max_surge(self.d))
        if old == new_scale:
            return False
        rs.setdefault("spec", {})["replicas"] = new_scale
        op = "up" if old < new_scale else "down"
        name = _meta(rs).get("name")
        self.event("ScalingReplicaSet", f"Scaled {op} replica set {name} from {old} to {new_scale}")
        return True

    # -- replica sets ----------------------------------------------------

    def claim_replicasets(self) -> list[Obj]:
        c = claim(self.d, self.work.values(), selector_of(self.d))
        uid = _meta(self.d).get("uid")
        for rs in c.adopt:
            refs = _meta(rs).setdefault("ownerReferences", [])
            refs.append(controller_ref(self.d, "apps/v1", "Deployment"))
        for rs in c.release:
            meta = _meta(rs)
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
        deadline = _progress_deadline(d) is not None
        if new is not None:
            _set_new_rs_annotations(d, new, new_revision, exists=True)
            min_ready = (d.get("spec") or {}).get("minReadySeconds") or 0
            if (new["spec"].get("minReadySeconds") or 0) != min_ready:
                new["spec"]["minReadySeconds"] = min_ready
            self.set_revision(str(revision(new)))
            if deadline and get_condition(d["status"], PROGRESSING) is None:
                msg = f'Found new replica set "{_meta(new).get("name")}"'
                set_condition(d["status"], self.cond(PROGRESSING, "True", FOUND_NEW_RS, msg))
            return new, olds
        if not create:
            return None, olds
        new = self.new_replicaset(tmpl)
        replicas = new_rs_new_replicas(d, [*olds, new], new)
        new["spec"]["replicas"] = replicas
        _set_new_rs_annotations(d, new, new_revision, exists=False)
        self.out.create.append(new)
        name = _meta(new)["name"]
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
        ann = _meta(self.d).setdefault("annotations", {})
        if ann.get(REVISION) != rev:
            ann[REVISION] = rev

    def is_scaling_event(self, rs_list: list[Obj]) -> bool:
        new, olds = self.get_all(rs_list, False)
        want = _replicas(self.d)
        for rs in _active([*olds, new]):
            desired = _annotation_int(rs, DESIRED_REPLICAS)
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
        d, want = self.d, _replicas(self.d)
        if new is None and not olds:
            return
        active = _active([new, *olds])
        if len(active) <= 1:  # FindActiveOrLatest
            target = active[0] if active else new or by_creation(olds)[-1]
            if _replicas(target) != want:
                self.scale_rs(target, want)
            return
        if new is not None and is_saturated(d, new):
            for rs in _active(olds):
                self.scale_rs(rs, 0)
            return
        if _rolling(d) is None:
            return
        allowed = want + max_surge(d) if want > 0 else 0
        to_add = allowed - _sum(active)
        # Bigger first; on equal sizes newer first when adding, older first when removing.
        active = by_creation(active)
        if to_add > 0:
            active.reverse()
        active.sort(key=lambda rs: -_replicas(rs))
        added, sizes = 0, []
        for rs in active:
            p = self.proportion(rs, to_add, added) if to_add else 0
            sizes.append(_replicas(rs) + p)
            added += p
        if to_add:
            sizes[0] = max(sizes[0] + to_add - added, 0)  # leftovers to the largest
        for rs, size in zip(active, sizes, strict=True):
            self.scale_rs(rs, size, if_size_changes=False)

    def proportion(self, rs: Obj, to_add: int, added: int) -> int:
        """Upstream ``GetReplicaSetProportion`` / ``getReplicaSetFraction``."""
        if _replicas(rs) == 0 or to_add == 0 or to_add == added:
            return 0
        d = self.d
        if _replicas(d) == 0:
            fraction = -_replicas(rs)
        else:
            before = _annotation_int(rs, MAX_REPLICAS) or _st(d, "replicas")
            if not before:
                fraction = 0
            else:
                size = _replicas(rs) * (_replicas(d) + max_surge(d)) / before
                fraction = int(size + 0.5) - _replicas(rs)  # Go math.Round, size >= 0
        allowed = to_add - added
        return min(fraction, allowed) if to_add > 0 else max(fraction, allowed)

    # -- rolling update --------------------------------------------------

    def rollout_rolling(self, rs_list: list[Obj]) -> None:
        new, olds = self.get_all(rs_list, True)
        assert new is not None
        all_rss = [*olds, new]
        if self.reconcile_new(all_rss, new) or self.reconcile_old(all_rss, _active(olds), new):
            return self.sync_rollout_status(all_rss, new)
        if deployment_complete(self.d, self.d["status"]):
            self.cleanup(olds)
        self.sync_rollout_status(all_rss, new)

    def reconcile_new(self, all_rss: list[Obj], new: Obj) -> bool:
        want = _replicas(self.d)
        if _replicas(new) == want:
            return False
        if _replicas(new) > want:
            return self.scale_rs(new, want)
        return self.scale_rs(new, new_rs_new_replicas(self.d, all_rss, new))

    def reconcile_old(self, all_rss: list[Obj], olds: list[Obj], new: Obj) -> bool:
        """Upstream ``reconcileOldReplicaSets``: scale old RSs down as far as
        availability allows, unhealthy replicas first."""
        if _sum(olds) == 0:
            return False
        min_available = _replicas(self.d) - max_unavailable(self.d)
        new_unavailable = _replicas(new) - _st(new, "availableReplicas")
        max_scaled_down = _sum(all_rss) - min_available - new_unavailable
        if max_scaled_down <= 0:
            return False
        olds = by_creation(olds)
        cleaned = 0
        for rs in olds:  # cleanupUnhealthyReplicas
            if cleaned >= max_scaled_down:
                break
            unhealthy = _replicas(rs) - _st(rs, "availableReplicas")
            if _replicas(rs) == 0 or unhealthy <= 0:
                continue
            n = min(max_scaled_down - cleaned, unhealthy)
            self.scale_rs(rs, _replicas(rs) - n)
            cleaned += n
        # scaleDownOldReplicaSetsForRollingUpdate
        available = _sum([*olds, new], "availableReplicas")
        scaled = 0
        if available > min_available:
            total = available - min_available
            for rs in olds:
                if scaled >= total:
                    break
                if _replicas(rs) == 0:
                    continue
                n = min(_replicas(rs), total - scaled)
                self.scale_rs(rs, _replicas(rs) - n)
                scaled += n
        return cleaned + scaled > 0

    # -- recreate --------------------------------------------------------

    def rollout_recreate(self, rs_list: list[Obj]) -> None:
        new, olds = self.get_all(rs_list, False)
        scaled_down = False
        for rs in _active(olds):
            scaled_down |= self.scale_rs(rs, 0)
        if scaled_down or self.old_pods_running(new, olds, rs_list):
            return self.sync_rollout_status([*olds, new], new)
        if new is None:
            new, olds = self.get_all(rs_list, True)
            assert new is not None
        self.scale_rs(new, _replicas(self.d))
        if deployment_complete(self.d, self.d["status"]):
            self.cleanup(olds)
        self.sync_rollout_status([*olds, new], new)

    def old_pods_running(self, new: Obj | None, olds: list[Obj], rs_list: list[Obj]) -> bool:
        """Upstream ``oldPodsRunning``: any old RS pod not yet Succeeded/Failed
        (terminating pods count: Recreate waits until they are gone)."""
        if _sum(olds, "replicas") > 0:
            return True
        new_uid = _meta(new).get("uid") if new is not None else None
        old_uids = {_meta(rs).get("uid") for rs in rs_list} - {new_uid, None}
        selector = selector_of(self.d)
        for pod in self.pods:
            ref = controller_of(pod)
            if ref is None or ref.get("uid") not in old_uids:
                continue
            if _meta(pod).get("namespace", self.ns) != self.ns:
                continue
            if not selector.matches(_meta(pod).get("labels") or {}):
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
        alive = [rs for rs in olds if not _meta(rs).get("deletionTimestamp")]
        diff = len(alive) - int(limit)
        if diff <= 0:
            return
        alive.sort(key=lambda rs: (revision(rs), *_created(rs)))
        for rs in alive[:diff]:
            unobserved = _meta(rs).get("generation", 0) > _st(rs, "observedGeneration")
            if not (_st(rs, "replicas") or _replicas(rs) or unobserved):
                self.out.delete.append(rs)

    # -- status ----------------------------------------------------------

    def calculate_status(self, all_rss: list[Obj | None], new: Obj | None) -> Obj:
        """Upstream ``calculateStatus`` (zero counts omitted, as on the wire)."""
        d = self.d
        available = _sum(all_rss, "availableReplicas")
        counts = {
            "observedGeneration": _meta(d).get("generation", 0),
            "replicas": _sum(all_rss, "replicas"),
            "updatedReplicas": _st(new, "replicas") if new is not None else 0,
            "readyReplicas": _sum(all_rss, "readyReplicas"),
            "availableReplicas": available,
            "unavailableReplicas": max(_sum(all_rss) - available, 0),
        }
        status: Obj = {k: v for k, v in counts.items() if v}
        if d["status"].get("collisionCount") is not None:
            status["collisionCount"] = d["status"]["collisionCount"]
        if d["status"].get("conditions"):
            status["conditions"] = copy.deepcopy(d["status"]["conditions"])
        if available >= _replicas(d) - max_unavailable(d):
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
        deadline = _progress_deadline(d)
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
            what = f'ReplicaSet "{_meta(new).get("name")}"'

        if deadline is not None and not complete:
            if deployment_complete(d, status):
                msg = f"{what} has successfully progressed."
                set_condition(status, self.cond(PROGRESSING, "True", NEW_RS_AVAILABLE, msg))
            elif _progressing(d["status"], status):
                cond = self.cond(PROGRESSING, "True", RS_UPDATED, f"{what} is progressing.")
                if current is not None:
                    if current.get("status") == "True":
                        cond["lastTransitionTime"] = current.get("lastTransitionTime")
                    remove_condition(status, PROGRESSING)
                set_condition(status, cond)
            elif self.timed_out(status, deadline):
                msg = f"{what} has timed out progressing."
                set_condition(status, self.cond(PROGRESSING, "False", TIMED_OUT, msg))
        # The new RS's failure first (upstream getReplicaFailures), copied as is.
        for c in _conditions([new, *all_rss], REPLICA_FAILURE)[:1]:
            t = c.get("lastTransitionTime")
            set_condition(status, {**c, "lastUpdateTime": t, "lastTransitionTime": t})
        if not _conditions([new, *all_rss], REPLICA_FAILURE):
            remove_condition(status, REPLICA_FAILURE)
        d["status"] = status
        self.out.requeue_after = self.stuck_requeue(status, deadline)

    def timed_out(self, status: Obj, deadline: int) -> bool:
        """Upstream ``DeploymentTimedOut``."""
        cond = get_condition(status, PROGRESSING)
        if cond is None or cond.get("reason") == NEW_RS_AVAILABLE:
            return False
        if cond.get("reason") == TIMED_OUT:
            return True
        since = parse_time(cond.get("lastUpdateTime"))
        return since is not None and since + dt.timedelta(seconds=deadline) < self.now

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
        if _progress_deadline(self.d) is None:
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
        if (_meta(self.d).get("annotations") or {}) != (_meta(self.orig).get("annotations") or {}):
            out.annotations = _meta(self.d)["annotations"]
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
        if d["status"].get("observedGeneration", 0) < _meta(d).get("generation", 0):
            d["status"]["observedGeneration"] = _meta(d).get("generation", 0)
        return s.result()
    try:
        rs_list = s.claim_replicasets()
        if _meta(d).get("deletionTimestamp"):
            new, olds = s.get_all(rs_list, False)
            d["status"] = s.calculate_status([*olds, new], new)
            return s.result()
        s.check_paused_conditions()
        if (d.get("spec") or {}).get("paused") or s.is_scaling_event(rs_list):
            s.sync_scale(rs_list)
        elif _rolling(d) is None:
            s.rollout_recreate(rs_list)
        else:
            s.rollout_rolling(rs_list)
    except _Abort:
        s.out.requeue_after = 0.0
    return s.result()
