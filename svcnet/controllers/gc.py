"""Garbage collector core: ownerReferences -> explicit actions (pure).

Theory of operation (upstream ``pkg/controller/garbagecollector``: the
dependency graph, ``attemptToDeleteItem``, ``processDeletingDependentsItem``
and ``orphanDependents``), computed from a snapshot instead of a graph
kept up to date by events:

* Each ownerReference of a dependent is *solid* (the owner exists with that
  uid), *dangling* (no such owner) or *waiting* (the owner is being deleted
  in the foreground: deletionTimestamp + ``foregroundDeletion`` finalizer).
* Background: a dependent with no solid owner left is deleted (with the
  propagation its own finalizers ask for: Orphan, Foreground, else
  Background). One with a solid owner merely loses its dangling and
  waiting references.
* Foreground: dependents of a waiting owner are deleted (Foreground when
  they have dependents themselves, so the wait propagates down); the owner
  keeps its ``foregroundDeletion`` finalizer until no dependent that
  references it with ``blockOwnerDeletion: true`` exists any more (even
  one still terminating), then the finalizer is removed and the owner goes.
* Orphan: an owner being deleted with the ``orphan`` finalizer has its
  reference removed from every dependent, then loses the finalizer.

Dependents already being deleted are left alone (unless they are
themselves deleting in the foreground). The plan is idempotent: apply it,
let the world change, and compute again.

Safety: an owner missing from ``owners_present`` is treated as gone. The
shell must only call this with synced caches of every owner kind, and
should confirm a dangling owner with a live GET (404, or another uid)
before deleting a dependent, as upstream does.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Final

Obj = dict[str, Any]

ORPHAN: Final = "orphan"
FOREGROUND: Final = "foregroundDeletion"


@dataclass(frozen=True)
class OwnerState:
    """What the collector needs to know about an existing object as an owner."""

    uid: str
    deleting: bool = False
    finalizers: frozenset[str] = frozenset()

    @property
    def waiting_for_dependents(self) -> bool:
        return self.deleting and FOREGROUND in self.finalizers

    @property
    def orphaning(self) -> bool:
        return self.deleting and ORPHAN in self.finalizers


def owner_state(obj: Mapping[str, Any]) -> OwnerState:
    meta = obj.get("metadata") or {}
    return OwnerState(
        uid=meta.get("uid", ""),
        deleting=bool(meta.get("deletionTimestamp")),
        finalizers=frozenset(meta.get("finalizers") or ()),
    )


def owner_states(objects: Iterable[Mapping[str, Any]]) -> dict[str, OwnerState]:
    """``owners_present`` for `orphans_to_delete`, from every object known."""
    return {s.uid: s for s in map(owner_state, objects) if s.uid}


@dataclass(frozen=True)
class Delete:
    """DELETE the object with this propagationPolicy (and a uid precondition)."""

    uid: str
    propagation: str


@dataclass(frozen=True)
class RemoveOwnerReferences:
    """Drop the references to ``owners`` from the object (see `remove_owner_refs_patch`)."""

    uid: str
    owners: tuple[str, ...]


@dataclass(frozen=True)
class UnblockOwnerReferences:
    """Set blockOwnerDeletion false on the references to ``owners`` (breaks
    foreground cycles before the object is deleted in the foreground)."""

    uid: str
    owners: tuple[str, ...]


@dataclass(frozen=True)
class RemoveFinalizer:
    uid: str
    finalizer: str


@dataclass
class GCPlan:
    """Actions in the order the shell runs them. A finalizer removal follows
    the reference removals it depends on; skip it if one of those failed."""

    remove_owner_refs: list[RemoveOwnerReferences] = field(default_factory=list)
    unblock: list[UnblockOwnerReferences] = field(default_factory=list)
    delete: list[Delete] = field(default_factory=list)
    remove_finalizers: list[RemoveFinalizer] = field(default_factory=list)


def _refs(obj: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    return list((obj.get("metadata") or {}).get("ownerReferences") or [])


def _own_policy(obj: Mapping[str, Any]) -> str:
    """The propagation the object's own finalizers ask for (upstream's switch)."""
    finalizers = (obj.get("metadata") or {}).get("finalizers") or ()
    if ORPHAN in finalizers:
        return "Orphan"
    return "Foreground" if FOREGROUND in finalizers else "Background"


def orphans_to_delete(
    objects_by_uid: Mapping[str, Mapping[str, Any]],
    owners_present: Mapping[str, OwnerState],
) -> GCPlan:
    """Compute the garbage collector's actions for one snapshot.

    Args:
        objects_by_uid: every object that may be a dependent or an owner.
        owners_present: existing objects (uid -> state) that may be owners;
            usually ``owner_states(objects_by_uid.values())``.
    """
    plan = GCPlan()
    dependents: dict[str, list[tuple[str, Mapping[str, Any]]]] = defaultdict(list)
    for uid, obj in objects_by_uid.items():
        for ref in _refs(obj):
            dependents[ref.get("uid", "")].append((uid, ref))

    for uid in sorted(objects_by_uid):
        obj = objects_by_uid[uid]
        refs = _refs(obj)
        meta = obj.get("metadata") or {}
        if not refs or meta.get("deletionTimestamp"):
            continue
        solid, stale, waiting = [], [], []
        for ref in refs:
            owner = owners_present.get(ref.get("uid", ""))
            if owner is None:
                stale.append(ref["uid"])
            elif owner.waiting_for_dependents:
                waiting.append(ref["uid"])
            else:
                solid.append(ref["uid"])
        if solid:
            if stale or waiting:
                plan.remove_owner_refs.append(RemoveOwnerReferences(uid, tuple(stale + waiting)))
            continue
        has_dependents = bool(dependents.get(uid))
        if waiting and has_dependents:
            blocking = [ref.get("uid", "") for ref in refs if ref.get("blockOwnerDeletion")]
            if blocking and _deleting_dependents_below(uid, dependents, objects_by_uid):
                plan.unblock.append(UnblockOwnerReferences(uid, tuple(blocking)))
            plan.delete.append(Delete(uid, "Foreground"))
            continue
        plan.delete.append(Delete(uid, _own_policy(obj)))

    for uid in sorted(owners_present):
        owner = owners_present[uid]
        deps = dependents.get(uid, [])
        if owner.orphaning:
            for dep_uid, _ in sorted(deps, key=lambda d: d[0]):
                plan.remove_owner_refs.append(RemoveOwnerReferences(dep_uid, (uid,)))
            plan.remove_finalizers.append(RemoveFinalizer(uid, ORPHAN))
        elif owner.waiting_for_dependents and not any(r.get("blockOwnerDeletion") for _, r in deps):
            plan.remove_finalizers.append(RemoveFinalizer(uid, FOREGROUND))
    return plan


def _deleting_dependents_below(
    uid: str,
    dependents: Mapping[str, list[tuple[str, Mapping[str, Any]]]],
    objects_by_uid: Mapping[str, Mapping[str, Any]],
) -> bool:
    """Whether a dependent of ``uid`` is itself deleting in the foreground
    (upstream's cycle check before unblocking)."""
    for dep_uid, _ in dependents.get(uid, []):
        meta = (objects_by_uid.get(dep_uid) or {}).get("metadata") or {}
        if meta.get("deletionTimestamp") and FOREGROUND in (meta.get("finalizers") or ()):
            return True
    return False


# --------------------------------------------------------------------------
# Patches the shell sends (JSON merge patches; uid / resourceVersion guard them)


def remove_owner_refs_patch(obj: Mapping[str, Any], owners: Iterable[str]) -> Obj:
    """Merge patch dropping the ownerReferences to ``owners`` from ``obj``."""
    gone = set(owners)
    meta = obj.get("metadata") or {}
    refs = [r for r in _refs(obj) if r.get("uid") not in gone]
    return {"metadata": {"ownerReferences": refs or None, "uid": meta.get("uid")}}


def unblock_patch(obj: Mapping[str, Any], owners: Iterable[str]) -> Obj:
    """Merge patch setting blockOwnerDeletion false on references to ``owners``."""
    which = set(owners)
    refs = [
        {**r, "blockOwnerDeletion": False} if r.get("uid") in which else dict(r) for r in _refs(obj)
    ]
    return {"metadata": {"ownerReferences": refs, "uid": (obj.get("metadata") or {}).get("uid")}}


def remove_finalizer_patch(obj: Mapping[str, Any], finalizer: str) -> Obj:
    """Merge patch removing ``finalizer``, guarded by the resourceVersion."""
    meta = obj.get("metadata") or {}
    rest = [f for f in meta.get("finalizers") or [] if f != finalizer]
    return {
        "metadata": {"finalizers": rest or None, "resourceVersion": meta.get("resourceVersion")}
    }
