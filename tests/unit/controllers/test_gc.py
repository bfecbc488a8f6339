"""Garbage collector core: upstream pkg/controller/garbagecollector
(attemptToDeleteItem, processDeletingDependentsItem, orphanDependents)."""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest

from svcnet.controllers import gc
from svcnet.controllers.gc import Delete, RemoveFinalizer, RemoveOwnerReferences


def obj(
    uid: str,
    *owners: str,
    block: bool = True,
    deleting: bool = False,
    finalizers: tuple[str, ...] = (),
) -> dict:
    meta: dict = {"name": uid, "uid": uid, "resourceVersion": "7"}
    if owners:
        meta["ownerReferences"] = [
            {"uid": o, "kind": "X", "name": o, "controller": i == 0, "blockOwnerDeletion": block}
            for i, o in enumerate(owners)
        ]
    if deleting:
        meta["deletionTimestamp"] = "2024-01-01T00:00:00Z"
    if finalizers:
        meta["finalizers"] = list(finalizers)
    return {"metadata": meta}


@dataclass
class Case:
    id: str
    objects: list[dict]
    delete: list[Delete] = field(default_factory=list)
    remove_refs: list[RemoveOwnerReferences] = field(default_factory=list)
    remove_finalizers: list[RemoveFinalizer] = field(default_factory=list)
    unblock: list[str] = field(default_factory=list)


CASES = [
    Case("owner present: nothing to do", [obj("d"), obj("rs", "d"), obj("pod", "rs")]),
    Case(
        "background: dependents whose owners are all gone are deleted",
        [obj("rs", "gone-deploy"), obj("pod", "rs")],
        delete=[Delete("rs", "Background")],
    ),
    Case(
        "background: one solid owner left -> only the dangling reference goes",
        [obj("a"), obj("cm", "a", "gone")],
        remove_refs=[RemoveOwnerReferences("cm", ("gone",))],
    ),
    Case(
        "dependents already being deleted are left alone",
        [obj("pod", "gone", deleting=True)],
    ),
    Case(
        "orphan removes ownerReferences, then the finalizer",
        [
            obj("rs", deleting=True, finalizers=("orphan",)),
            obj("p1", "rs"),
            obj("p2", "rs", "other"),
            obj("other"),
        ],
        remove_refs=[RemoveOwnerReferences("p1", ("rs",)), RemoveOwnerReferences("p2", ("rs",))],
        remove_finalizers=[RemoveFinalizer("rs", "orphan")],
    ),
    Case(
        "foreground deletion waits for blocking dependents",
        [obj("rs", deleting=True, finalizers=("foregroundDeletion",)), obj("p1", "rs")],
        delete=[Delete("p1", "Background")],
    ),
    Case(
        "foreground deletion: a terminating blocking dependent still blocks",
        [
            obj("rs", deleting=True, finalizers=("foregroundDeletion",)),
            obj("p1", "rs", deleting=True),
        ],
    ),
    Case(
        "foreground deletion: non-blocking dependents are deleted but do not block",
        [
            obj("rs", deleting=True, finalizers=("foregroundDeletion",)),
            obj("p1", "rs", block=False),
        ],
        delete=[Delete("p1", "Background")],
        remove_finalizers=[RemoveFinalizer("rs", "foregroundDeletion")],
    ),
    Case(
        "foreground deletion: no dependents left removes the finalizer",
        [obj("rs", deleting=True, finalizers=("foregroundDeletion",))],
        remove_finalizers=[RemoveFinalizer("rs", "foregroundDeletion")],
    ),
    Case(
        "foreground propagates: a dependent with dependents is deleted in the foreground",
        [
            obj("d", deleting=True, finalizers=("foregroundDeletion",)),
            obj("rs", "d"),
            obj("pod", "rs"),
        ],
        delete=[Delete("rs", "Foreground")],
    ),
    Case(
        "foreground: dependent with another solid owner only drops the waiting reference",
        [
            obj("a", deleting=True, finalizers=("foregroundDeletion",)),
            obj("b"),
            obj("cm", "a", "b"),
        ],
        remove_refs=[RemoveOwnerReferences("cm", ("a",))],
    ),
    Case(
        "foreground cycle: unblock references before deleting (unblockOwnerReferences)",
        [
            obj("a", deleting=True, finalizers=("foregroundDeletion",)),
            obj("b", "a"),
            obj("c", "b", deleting=True, finalizers=("foregroundDeletion",)),
        ],
        delete=[Delete("b", "Foreground")],
        remove_finalizers=[RemoveFinalizer("c", "foregroundDeletion")],
        unblock=["b"],
    ),
]


@pytest.mark.parametrize("c", CASES, ids=lambda c: c.id)
def test_orphans_to_delete(c: Case) -> None:
    by_uid = {o["metadata"]["uid"]: o for o in c.objects}
    plan = gc.orphans_to_delete(by_uid, gc.owner_states(c.objects))
    assert plan.delete == c.delete
    assert plan.remove_owner_refs == c.remove_refs
    assert plan.remove_finalizers == c.remove_finalizers
    assert [u.uid for u in plan.unblock] == c.unblock


def test_patches() -> None:
    o = obj("cm", "a", "b")
    assert gc.remove_owner_refs_patch(o, ["a"])["metadata"]["ownerReferences"] == [
        o["metadata"]["ownerReferences"][1]
    ]
    assert gc.remove_owner_refs_patch(o, ["a", "b"]) == {
        "metadata": {"ownerReferences": None, "uid": "cm"}
    }
    refs = gc.unblock_patch(o, ["b"])["metadata"]["ownerReferences"]
    assert [r["blockOwnerDeletion"] for r in refs] == [True, False]
    owner = obj("rs", finalizers=("orphan", "example.com/keep"))
    assert gc.remove_finalizer_patch(owner, "orphan") == {
        "metadata": {"finalizers": ["example.com/keep"], "resourceVersion": "7"}
    }


def test_converges_foreground_chain() -> None:
    """Applying plans repeatedly deletes a Deployment -> RS -> Pod chain bottom-up."""
    world = {
        "d": obj("d", deleting=True, finalizers=("foregroundDeletion",)),
        "rs": obj("rs", "d"),
        "pod": obj("pod", "rs"),
    }
    for _ in range(10):
        plan = gc.orphans_to_delete(world, gc.owner_states(world.values()))
        for d in plan.delete:  # the API server: finalizer for Foreground, else gone
            if d.propagation == "Foreground":
                m = world[d.uid]["metadata"]
                m["deletionTimestamp"] = "now"
                m["finalizers"] = ["foregroundDeletion"]
            else:
                del world[d.uid]
        for f in plan.remove_finalizers:
            m = world[f.uid]["metadata"]
            m["finalizers"].remove(f.finalizer)
            if not m["finalizers"] and m.get("deletionTimestamp"):
                del world[f.uid]
        if not world:
            return
    raise AssertionError(f"left over: {sorted(world)}")
