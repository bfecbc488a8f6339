"""Upstream ``deploymentutil`` (``pkg/controller/deployment/util``): the
pure helpers the Deployment sync is built from.

Theory of operation. Everything here is a function of its arguments (API
objects as plain dicts, and ``now`` where time matters); nothing does I/O or
keeps state, so `deployment` can replay upstream's sync on working copies and
tests can check each rule alone. The helpers fall into five groups:

- small accessors (`meta_of`, `replicas_of`, `status_int`, ...) that read
  an object the way the API defaults it (``spec.replicas`` unset is 1,
  missing counts are 0);
- rollout arithmetic: `scaled_value` / `resolve_fenceposts` turn the
  IntOrString maxSurge / maxUnavailable into numbers (surge rounds up,
  unavailable down, never both zero), `new_rs_new_replicas` and
  `is_saturated` decide how far the new ReplicaSet may grow, and
  `rs_proportion` how a scaling event is shared among active ones;
- ReplicaSet identity and history: `equal_ignore_hash` (templates equal but
  for the pod-template-hash label), `revision`, `by_creation` and the
  annotation writers `set_new_rs_annotations` / `set_replicas_annotations`;
- conditions: `get_condition` / `new_condition` / `set_condition` /
  `remove_condition` with upstream's rule that setting the same status and
  reason is a no-op and the same status keeps ``lastTransitionTime``;
- progress: `deployment_complete`, `deployment_progressing`,
  `deployment_timed_out` (against an injected ``now``) and `rollout_status`
  (what ``kubectl rollout status`` prints, raising `DeploymentError` past
  the deadline).

Invariants: inputs are never modified except by the ``set_*`` / ``remove_*``
helpers, which change only the object passed to them; the ``set_*``
annotation helpers return whether they changed anything, so the caller
can tell a real write from a no-op.
"""

from __future__ import annotations

import copy
import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Final

from svcnet.controllers.hashing import POD_TEMPLATE_HASH_LABEL
from svcnet.controllers.replicaset import parse_time, rfc3339

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
    """A Deployment whose spec cannot be acted on (e.g. a bad IntOrString).

    Defined here, not in `deployment`, because the helpers raise it and
    `deployment` imports this module; `deployment` re-exports it.
    """


# --------------------------------------------------------------------------
# Small accessors


def meta_of(o: Mapping[str, Any]) -> Obj:
    """The object's metadata ({} when absent)."""
    return o.get("metadata") or {}


def replicas_of(o: Mapping[str, Any]) -> int:
    """``spec.replicas``, defaulted to 1 as the API server does."""
    r = (o.get("spec") or {}).get("replicas")
    return 1 if r is None else int(r)


def status_int(o: Mapping[str, Any] | None, key: str) -> int:
    """An integer ``status`` field, 0 when absent."""
    return int(((o or {}).get("status") or {}).get(key) or 0)


def annotation_int(o: Mapping[str, Any], key: str) -> int | None:
    """An integer annotation, None when absent or malformed."""
    try:
        return int((meta_of(o).get("annotations") or {})[key])
    except (KeyError, ValueError):
        return None


# --------------------------------------------------------------------------
# maxSurge / maxUnavailable


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


def rolling_update(d: Mapping[str, Any]) -> Obj | None:
    """The rollingUpdate parameters (defaulted), or None for Recreate."""
    strategy = (d.get("spec") or {}).get("strategy") or {}
    if strategy.get("type", "RollingUpdate") != "RollingUpdate":
        return None
    return strategy.get("rollingUpdate") or {"maxSurge": "25%", "maxUnavailable": "25%"}


def max_surge(d: Mapping[str, Any]) -> int:
    """maxSurge as a number (0 for Recreate; upstream ``MaxSurge``)."""
    ru = rolling_update(d)
    if ru is None:
        return 0
    return resolve_fenceposts(ru.get("maxSurge"), ru.get("maxUnavailable"), replicas_of(d))[0]


def max_unavailable(d: Mapping[str, Any]) -> int:
    """maxUnavailable as a number, at most spec.replicas (``MaxUnavailable``)."""
    ru, n = rolling_update(d), replicas_of(d)
    if ru is None or n == 0:
        return 0
    return min(resolve_fenceposts(ru.get("maxSurge"), ru.get("maxUnavailable"), n)[1], n)


# --------------------------------------------------------------------------
# ReplicaSet history, sizing and annotations


def creation_key(rs: Mapping[str, Any]) -> tuple[dt.datetime, str]:
    """Sort key: creationTimestamp, then name."""
    meta = meta_of(rs)
    return (parse_time(meta.get("creationTimestamp")) or _EPOCH, meta.get("name", ""))


def by_creation(rss: Iterable[Obj]) -> list[Obj]:
    """Oldest first, ties by name (upstream ``ReplicaSetsByCreationTimestamp``)."""
    return sorted(rss, key=creation_key)


def revision(rs: Mapping[str, Any]) -> int:
    """The revision annotation, 0 when absent (upstream ``Revision``)."""
    return annotation_int(rs, REVISION) or 0


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


def filter_active(rss: Iterable[Obj | None]) -> list[Obj]:
    """ReplicaSets with replicas > 0 (upstream ``FilterActiveReplicaSets``)."""
    return [rs for rs in rss if rs is not None and replicas_of(rs) > 0]


def replica_count(rss: Iterable[Obj | None], key: str | None = None) -> int:
    """Sum of spec.replicas, or of ``status[key]`` when ``key`` is given."""
    return sum(
        (replicas_of(rs) if key is None else status_int(rs, key)) for rs in rss if rs is not None
    )


def new_rs_new_replicas(
    d: Mapping[str, Any], all_rss: Sequence[Obj], new_rs: Mapping[str, Any]
) -> int:
    """Replicas the new RS may have now (upstream ``NewRSNewReplicas``)."""
    want = replicas_of(d)
    if rolling_update(d) is None:
        return want
    max_total = want + max_surge(d)
    current = replica_count(all_rss)
    if current >= max_total:
        return replicas_of(new_rs)
    return replicas_of(new_rs) + min(max_total - current, want - replicas_of(new_rs))


def is_saturated(d: Mapping[str, Any], rs: Mapping[str, Any]) -> bool:
    """The RS has all the Deployment's replicas, available (``IsSaturated``)."""
    want = replicas_of(d)
    return (
        annotation_int(rs, DESIRED_REPLICAS) == want
        and replicas_of(rs) == want
        and status_int(rs, "availableReplicas") == want
    )


def rs_proportion(d: Mapping[str, Any], rs: Mapping[str, Any], to_add: int, added: int) -> int:
    """Upstream ``GetReplicaSetProportion`` / ``getReplicaSetFraction``."""
    if replicas_of(rs) == 0 or to_add == 0 or to_add == added:
        return 0
    if replicas_of(d) == 0:
        fraction = -replicas_of(rs)
    else:
        before = annotation_int(rs, MAX_REPLICAS) or status_int(d, "replicas")
        if not before:
            fraction = 0
        else:
            size = replicas_of(rs) * (replicas_of(d) + max_surge(d)) / before
            fraction = int(size + 0.5) - replicas_of(rs)  # Go math.Round, size >= 0
    allowed = to_add - added
    return min(fraction, allowed) if to_add > 0 else max(fraction, allowed)


def set_replicas_annotations(rs: Obj, desired: int, maximum: int) -> bool:
    """Set desired-/max-replicas (``SetReplicasAnnotations``); True if changed."""
    ann = meta_of(rs).get("annotations") or {}
    want = {DESIRED_REPLICAS: str(desired), MAX_REPLICAS: str(maximum)}
    if all(ann.get(k) == v for k, v in want.items()):
        return False
    rs["metadata"]["annotations"] = {**ann, **want}
    return True


def set_new_rs_annotations(d: Mapping[str, Any], rs: Obj, new_revision: int, exists: bool) -> bool:
    """Upstream ``SetNewReplicaSetAnnotations``: copy the Deployment's
    annotations, raise the revision (remembering the old one in
    revision-history on rollback) and, on creation, the replica annotations."""
    ann = dict(meta_of(rs).get("annotations") or {})
    changed = False
    for k, v in (meta_of(d).get("annotations") or {}).items():
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
    if not exists and set_replicas_annotations(rs, replicas_of(d), replicas_of(d) + max_surge(d)):
        changed = True
    return changed


# --------------------------------------------------------------------------
# Conditions (upstream deploymentutil)


def get_condition(status: Mapping[str, Any] | None, ctype: str) -> Obj | None:
    """The condition of type ``ctype``, or None."""
    return next((c for c in (status or {}).get("conditions") or [] if c.get("type") == ctype), None)


def new_condition(ctype: str, status: str, reason: str, message: str, now: dt.datetime) -> Obj:
    """A condition stamped with ``now`` (upstream ``NewDeploymentCondition``)."""
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
    """Drop conditions of type ``ctype`` (and an emptied list)."""
    conds = [c for c in status.get("conditions") or [] if c.get("type") != ctype]
    if conds:
        status["conditions"] = conds
    else:
        status.pop("conditions", None)


def conditions_of(rss: Iterable[Obj | None], ctype: str) -> list[Obj]:
    """Conditions of type ``ctype`` from the given ReplicaSets, in order."""
    return [
        c
        for rs in rss
        if rs
        for c in rs.get("status", {}).get("conditions") or []
        if c.get("type") == ctype
    ]


# --------------------------------------------------------------------------
# Progress and rollout status


def progress_deadline(d: Mapping[str, Any]) -> int | None:
    """progressDeadlineSeconds; None when unset or MaxInt32 (no deadline)."""
    s = (d.get("spec") or {}).get("progressDeadlineSeconds")
    return None if s is None or s == MAX_INT32 else int(s)


def deployment_complete(d: Mapping[str, Any], status: Mapping[str, Any]) -> bool:
    """Upstream ``DeploymentComplete``: all replicas updated and available, and
    the generation observed."""
    n = replicas_of(d)
    return (
        status.get("updatedReplicas", 0) == n
        and status.get("replicas", 0) == n
        and status.get("availableReplicas", 0) == n
        and status.get("observedGeneration", 0) >= meta_of(d).get("generation", 0)
    )


def deployment_progressing(old: Mapping[str, Any], new: Mapping[str, Any]) -> bool:
    """Upstream ``DeploymentProgressing``: more updated / ready / available
    replicas, or fewer old ones, than the last status recorded."""

    o, n = ({k: int(s.get(k) or 0) for k in _COUNTS} for s in (old, new))
    return (
        n["updatedReplicas"] > o["updatedReplicas"]
        or n["replicas"] - n["updatedReplicas"] < o["replicas"] - o["updatedReplicas"]
        or n["readyReplicas"] > o["readyReplicas"]
        or n["availableReplicas"] > o["availableReplicas"]
    )


def deployment_timed_out(status: Mapping[str, Any], deadline: int, now: dt.datetime) -> bool:
    """Upstream ``DeploymentTimedOut``."""
    cond = get_condition(status, PROGRESSING)
    if cond is None or cond.get("reason") == NEW_RS_AVAILABLE:
        return False
    if cond.get("reason") == TIMED_OUT:
        return True
    since = parse_time(cond.get("lastUpdateTime"))
    return since is not None and since + dt.timedelta(seconds=deadline) < now


def rollout_status(d: Mapping[str, Any]) -> tuple[str, bool]:
    """What ``kubectl rollout status`` prints for ``d`` and whether it stops
    (kubectl ``DeploymentStatusViewer``).

    Raises:
        DeploymentError: ``deployment "x" exceeded its progress deadline``.
    """
    name, st = meta_of(d).get("name", ""), d.get("status") or {}
    if meta_of(d).get("generation", 0) > st.get("observedGeneration", 0):
        return "Waiting for deployment spec update to be observed...\n", False
    cond = get_condition(st, PROGRESSING)
    if cond is not None and cond.get("reason") == TIMED_OUT:
        raise DeploymentError(f'deployment "{name}" exceeded its progress deadline')
    updated, replicas = st.get("updatedReplicas", 0), st.get("replicas", 0)
    available, want = st.get("availableReplicas", 0), replicas_of(d)
    prefix = f'Waiting for deployment "{name}" rollout to finish: '
    if updated < want:
        return f"{prefix}{updated} out of {want} new replicas have been updated...\n", False
    if replicas > updated:
        return f"{prefix}{replicas - updated} old replicas are pending termination...\n", False
    if available < updated:
        return f"{prefix}{available} of {updated} updated replicas are available...\n", False
    return f'deployment "{name}" successfully rolled out\n', True
