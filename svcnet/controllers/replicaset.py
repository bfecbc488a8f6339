"""ReplicaSet controller core: claim, diff, rank, build pods, status (pure).

Theory of operation (upstream ``pkg/controller/replicaset`` and
``controller_utils.go``): one sync of a ReplicaSet looks at every pod of
its namespace and

1. keeps the active ones (not Succeeded/Failed, no deletionTimestamp:
   ``FilterActivePods``);
2. claims them through controller ownerReferences (``ClaimPods``): pods it
   controls and that still match its selector are its own; pods it
   controls that no longer match are released; orphans that match are
   adopted (never while either side is being deleted);
3. diffs the owned count against ``spec.replicas``: too few -> create that
   many pods from the template, too many -> delete the lowest ranked
   (``ActivePodsWithRanks``), both capped at `BURST_REPLICAS` per sync;
4. writes ``status`` computed from the owned pods (``calculateStatus``).

Everything here is a function of the objects and an injected ``now``; the
shell owns informers, expectations, slow-start batching (see
`slow_start_batches`) and the API writes.
"""

from __future__ import annotations

import copy
import datetime as dt
import math
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final

from svcnet.api.selectors import (
    NOTHING,
    LabelSelector,
    SelectorError,
    selector_from_label_selector_object,
    selector_from_map,
)

Obj = dict[str, Any]

BURST_REPLICAS: Final = 500  # upstream --replicaset-burst / BurstReplicas
REPLICA_FAILURE: Final = "ReplicaFailure"
_DELETION_COST: Final = "controller.kubernetes.io/pod-deletion-cost"
_PHASE_ORDINAL: Final = {"Pending": 0, "Unknown": 1, "Running": 2}


def rfc3339(t: dt.datetime) -> str:
    """``metav1.Time`` wire form (seconds precision, UTC)."""
    return t.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_time(s: str | None) -> dt.datetime | None:
    """Parse an RFC 3339 timestamp (``Z`` or offset; fractions allowed)."""
    if not s:
        return None
    t = dt.datetime.fromisoformat(s)
    return t if t.tzinfo else t.replace(tzinfo=dt.UTC)


# --------------------------------------------------------------------------
# Owner references (upstream metav1.NewControllerRef / GetControllerOf)


def controller_ref(owner: Mapping[str, Any], api_version: str, kind: str) -> Obj:
    """A controller ownerReference to ``owner`` (blockOwnerDeletion set, as upstream)."""
    meta = owner.get("metadata", {})
    return {
        "apiVersion": api_version,
        "kind": kind,
        "name": meta.get("name", ""),
        "uid": meta.get("uid", ""),
        "controller": True,
        "blockOwnerDeletion": True,
    }


def controller_of(obj: Mapping[str, Any]) -> Obj | None:
    """The ownerReference with ``controller: true``, if any."""
    for ref in obj.get("metadata", {}).get("ownerReferences") or []:
        if ref.get("controller"):
            return ref
    return None


def adopt_patch(obj: Mapping[str, Any], ref: Mapping[str, Any]) -> Obj:
    """JSON merge patch making ``ref`` a (controller) owner of ``obj``.

    The whole list is sent (merge patches replace lists) with the uid as a
    precondition, so a recreated object of the same name is never adopted.
    """
    meta = obj.get("metadata", {})
    refs = [r for r in meta.get("ownerReferences") or [] if r.get("uid") != ref.get("uid")]
    return {"metadata": {"ownerReferences": [*refs, dict(ref)], "uid": meta.get("uid")}}


def release_patch(obj: Mapping[str, Any], owner_uid: str) -> Obj:
    """JSON merge patch removing the ownerReference to ``owner_uid`` from ``obj``."""
    meta = obj.get("metadata", {})
    refs = [r for r in meta.get("ownerReferences") or [] if r.get("uid") != owner_uid]
    return {"metadata": {"ownerReferences": refs or None, "uid": meta.get("uid")}}


def selector_of(obj: Mapping[str, Any]) -> LabelSelector:
    """``spec.selector`` as a selector; an invalid one selects nothing."""
    try:
        return selector_from_label_selector_object(obj.get("spec", {}).get("selector"))
    except SelectorError:
        return NOTHING


@dataclass
class Claim:
    """Outcome of upstream ``ClaimObject`` over a list of candidates."""

    owned: list[Obj] = field(default_factory=list)  # includes the adopted ones
    adopt: list[Obj] = field(default_factory=list)
    release: list[Obj] = field(default_factory=list)


def claim(owner: Mapping[str, Any], candidates: Iterable[Obj], selector: LabelSelector) -> Claim:
    """Sort ``candidates`` into owned / to adopt / to release (``ClaimObject``)."""
    meta = owner.get("metadata", {})
    uid, ns, deleting = meta.get("uid"), meta.get("namespace"), bool(meta.get("deletionTimestamp"))
    out = Claim()
    for obj in candidates:
        ometa = obj.get("metadata", {})
        if ns and ometa.get("namespace", ns) != ns:
            continue
        matches = selector.matches(ometa.get("labels") or {})
        ref = controller_of(obj)
        if ref is not None:
            if ref.get("uid") != uid:
                continue
            if matches:
                out.owned.append(obj)
            elif not deleting:
                out.release.append(obj)
            continue
        if deleting or not matches or ometa.get("deletionTimestamp"):
            continue
        out.adopt.append(obj)
        out.owned.append(obj)
    return out


# --------------------------------------------------------------------------
# Pod predicates (upstream podutil)


def is_pod_active(pod: Mapping[str, Any]) -> bool:
    """Not terminal and not being deleted (upstream ``IsPodActive``)."""
    phase = pod.get("status", {}).get("phase")
    return phase not in ("Succeeded", "Failed") and not pod.get("metadata", {}).get(
        "deletionTimestamp"
    )


def pod_ready_condition(pod: Mapping[str, Any]) -> Obj | None:
    for c in pod.get("status", {}).get("conditions") or []:
        if c.get("type") == "Ready":
            return c
    return None


def is_pod_ready(pod: Mapping[str, Any]) -> bool:
    c = pod_ready_condition(pod)
    return c is not None and c.get("status") == "True"


def is_pod_available(pod: Mapping[str, Any], min_ready_seconds: int, now: dt.datetime) -> bool:
    """Ready for at least ``min_ready_seconds`` (upstream ``IsPodAvailable``)."""
    c = pod_ready_condition(pod)
    if c is None or c.get("status") != "True":
        return False
    if not min_ready_seconds:
        return True
    since = parse_time(c.get("lastTransitionTime"))
    return since is not None and since + dt.timedelta(seconds=min_ready_seconds) < now


def _max_restarts(pod: Mapping[str, Any]) -> int:
    status = pod.get("status", {})
    counts = [
        s.get("restartCount", 0)
        for s in (status.get("containerStatuses") or [])
        + (status.get("initContainerStatuses") or [])
    ]
    return max(counts, default=0)


def _log_rank(t: dt.datetime | None, now: dt.datetime | None) -> int | None:
    """Upstream ``logarithmicRankDiff`` bucket: floor(log2(age in ns)), -1 if not past."""
    if t is None or now is None:
        return None
    ns = (now - t) // dt.timedelta(microseconds=1) * 1000
    return int(math.log2(ns)) if ns > 0 else -1


def _time_key(t: dt.datetime | None, now: dt.datetime | None) -> tuple[int, float]:
    """Smaller sorts first: zero time, then newer, then older (``afterOrZero``).

    With ``now`` the age is bucketed on a log2 scale (upstream's
    LogarithmicScaleDown), so pods of similar age are treated as equal.
    """
    if t is None:
        return (0, 0.0)
    bucket = _log_rank(t, now)
    if bucket is not None:
        return (1, float(bucket))
    return (1, -t.timestamp())


def deletion_ranks(pods: Sequence[Obj], related: Iterable[Obj]) -> list[int]:
    """Per pod, how many active ready related pods share its node (upstream
    ``getPodsRankedByRelatedPodsOnSameNode``); more colocated -> deleted first."""
    on_node = Counter(
        p.get("spec", {}).get("nodeName", "")
        for p in related
        if is_pod_active(p) and is_pod_ready(p)
    )
    return [on_node[p.get("spec", {}).get("nodeName", "")] for p in pods]


def deletion_order(
    pods: Sequence[Obj], ranks: Sequence[int] | None = None, now: dt.datetime | None = None
) -> list[Obj]:
    """``pods`` sorted so that the first ones are deleted first (``ActivePodsWithRanks``).

    Order: unscheduled < scheduled; Pending < Unknown < Running; not ready <
    ready; lower pod-deletion-cost; more colocated related pods; ready for
    less time; more restarts; newer creation; then uid (for a total order).
    """
    ranks = ranks if ranks is not None else [0] * len(pods)

    def key(i: int) -> tuple[Any, ...]:
        p = pods[i]
        ready_cond = pod_ready_condition(p)
        ready = is_pod_ready(p)
        try:
            cost = int((p.get("metadata", {}).get("annotations") or {}).get(_DELETION_COST, "0"))
        except ValueError:
            cost = 0
        ready_time = parse_time(ready_cond.get("lastTransitionTime")) if ready else None
        return (
            bool(p.get("spec", {}).get("nodeName")),
            _PHASE_ORDINAL.get(p.get("status", {}).get("phase", ""), -1),
            ready,
            cost,
            -ranks[i],
            _time_key(ready_time, now) if ready else (0, 0.0),
            -_max_restarts(p),
            _time_key(parse_time(p.get("metadata", {}).get("creationTimestamp")), now),
            p.get("metadata", {}).get("uid", ""),
        )

    return [pods[i] for i in sorted(range(len(pods)), key=key)]


# --------------------------------------------------------------------------
# Plan


@dataclass
class Plan:
    """What one sync of a ReplicaSet should do."""

    create: int = 0
    delete: list[Obj] = field(default_factory=list)
    adopt: list[Obj] = field(default_factory=list)  # apply adopt_patch(pod, controller_ref(rs))
    release: list[Obj] = field(default_factory=list)  # apply release_patch(pod, rs uid)
    owned: list[Obj] = field(default_factory=list)  # active pods counted as the RS's


def plan(
    rs: Mapping[str, Any],
    pods: Iterable[Obj],
    *,
    related_pods: Iterable[Obj] = (),
    now: dt.datetime | None = None,
    burst: int = BURST_REPLICAS,
) -> Plan:
    """Diff a ReplicaSet against its pods (upstream ``syncReplicaSet`` + ``manageReplicas``).

    Args:
        rs: the ReplicaSet.
        pods: pods of its namespace (inactive and foreign ones are skipped).
        related_pods: pods of the RS's siblings (same owner), used to prefer
            deleting pods doubled up on a node with them.
        now: enables upstream's logarithmic age buckets in the ranking.
        burst: cap on creations or deletions per sync.
    """
    active = [p for p in pods if is_pod_active(p)]
    c = claim(rs, active, selector_of(rs))
    out = Plan(adopt=c.adopt, release=c.release, owned=c.owned)
    if rs.get("metadata", {}).get("deletionTimestamp"):
        return out
    diff = len(c.owned) - int(rs.get("spec", {}).get("replicas", 1))
    if diff < 0:
        out.create = min(-diff, burst)
    elif diff > 0:
        n = min(diff, burst)
        if n < len(c.owned):
            out.delete = deletion_order(c.owned, deletion_ranks(c.owned, related_pods), now)[:n]
        else:
            out.delete = list(c.owned)
    return out


def slow_start_batches(count: int, initial: int = 1) -> list[int]:
    """Batch sizes for creating ``count`` pods (upstream ``slowStartBatch``):
    1, 2, 4, ... so a failing template costs one call, not hundreds. The
    shell stops at the first batch with an error and skips the rest."""
    out, size = [], initial
    while count > 0:
        out.append(min(size, count))
        count -= out[-1]
        size *= 2
    return out


def pod_from_template(
    rs: Mapping[str, Any],
    template: Mapping[str, Any] | None = None,
    name_suffix: str | None = None,
    *,
    api_version: str = "apps/v1",
    kind: str = "ReplicaSet",
) -> Obj:
    """The Pod a controller creates (upstream ``GetPodFromTemplate``).

    ``generateName`` is ``<rs>-``; with ``name_suffix`` the name is set too
    (for shells that name pods themselves). Labels, annotations and
    finalizers come from the template; the pod is controlled by ``rs``.
    """
    meta = rs.get("metadata", {})
    tmpl = template if template is not None else rs.get("spec", {}).get("template", {})
    tmeta = tmpl.get("metadata") or {}
    prefix = f"{meta.get('name', '')}-"
    pmeta: Obj = {"generateName": prefix, "namespace": meta.get("namespace", "default")}
    if name_suffix:
        pmeta["name"] = prefix + name_suffix
    for key in ("labels", "annotations"):
        if tmeta.get(key):
            pmeta[key] = dict(tmeta[key])
    if tmeta.get("finalizers"):
        pmeta["finalizers"] = list(tmeta["finalizers"])
    pmeta["ownerReferences"] = [controller_ref(rs, api_version, kind)]
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": pmeta,
        "spec": copy.deepcopy(tmpl.get("spec") or {}),
    }


# --------------------------------------------------------------------------
# Status


def status(
    rs: Mapping[str, Any],
    pods: Iterable[Obj],
    now: dt.datetime,
    manage_error: str | None = None,
) -> Obj:
    """The ReplicaSet's new ``status`` (upstream ``calculateStatus``).

    ``pods`` may be the namespace's pods or `Plan.owned`; ownership and
    activity are (re)checked. ``manage_error`` is the message of a failed
    create/delete in this sync: it sets a ReplicaFailure condition
    (FailedCreate / FailedDelete); a clean sync removes it.
    """
    active = [p for p in pods if is_pod_active(p)]
    owned = claim(rs, active, selector_of(rs)).owned
    spec = rs.get("spec", {})
    min_ready = int(spec.get("minReadySeconds") or 0)
    template_labels = selector_from_map(
        (spec.get("template") or {}).get("metadata", {}).get("labels")
    )
    old = rs.get("status") or {}
    new: Obj = {k: copy.deepcopy(v) for k, v in old.items()}
    new["replicas"] = len(owned)
    new["fullyLabeledReplicas"] = sum(
        1 for p in owned if template_labels.matches(p.get("metadata", {}).get("labels") or {})
    )
    new["readyReplicas"] = sum(1 for p in owned if is_pod_ready(p))
    new["availableReplicas"] = sum(1 for p in owned if is_pod_available(p, min_ready, now))
    new["observedGeneration"] = rs.get("metadata", {}).get("generation", 0)
    conds = [c for c in old.get("conditions") or []]
    failure = next((c for c in conds if c.get("type") == REPLICA_FAILURE), None)
    if manage_error is not None and failure is None:
        diff = len(owned) - int(spec.get("replicas", 1))
        reason = "FailedCreate" if diff < 0 else "FailedDelete" if diff > 0 else ""
        conds.append(
            {
                "type": REPLICA_FAILURE,
                "status": "True",
                "lastTransitionTime": rfc3339(now),
                "reason": reason,
                "message": manage_error,
            }
        )
    elif manage_error is None and failure is not None:
        conds = [c for c in conds if c.get("type") != REPLICA_FAILURE]
    if conds:
        new["conditions"] = conds
    else:
        new.pop("conditions", None)
    for k in ("fullyLabeledReplicas", "readyReplicas", "availableReplicas"):
        if not new[k]:
            new.pop(k)  # omitempty, as upstream serialises them
    return new


def requeue_after(rs: Mapping[str, Any], new_status: Mapping[str, Any]) -> float | None:
    """Seconds after which to sync again so minReadySeconds can elapse
    (upstream resyncs after MinReadySeconds when all are ready but not all
    available), or None."""
    spec = rs.get("spec", {})
    min_ready = int(spec.get("minReadySeconds") or 0)
    replicas = int(spec.get("replicas", 1))
    ready = new_status.get("readyReplicas", 0)
    available = new_status.get("availableReplicas", 0)
    if min_ready > 0 and ready == replicas and available != replicas:
        return float(min_ready)
    return None
