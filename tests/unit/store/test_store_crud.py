"""Create/get/update/delete/list semantics, on every backend.

Revisions are deterministic in a fresh store (the n-th write gets n), so the
tables below name expected revisions directly.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import orjson
import pytest

from svcnet.store import AlreadyExists, Conflict, Key, NotFound, Store


def pod(name: str, namespace: str = "a") -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name, "namespace": namespace},
        "spec": {"containers": [{"name": "c", "image": "busybox"}]},
    }


def key(name: str, namespace: str = "a", resource: str = "pods") -> Key:
    return Key(resource, namespace, name)


@dataclass(frozen=True)
class Op:
    """One store call on key pods/a/<name>; ``rv`` is the expected revision of
    the result, ``raises`` the expected error instead."""

    verb: str
    name: str = "x"
    expect_rv: int | None = None
    rv: int | None = None
    raises: type[Exception] | None = None


@dataclass(frozen=True)
class CrudCase:
    id: str
    rule: str
    ops: list[Op] = field(default_factory=list)


CRUD_CASES = [
    CrudCase(
        "create-get",
        "create stamps the next revision; get returns it",
        [Op("create", rv=1), Op("get", rv=1)],
    ),
    CrudCase(
        "create-twice",
        "create of an existing key is AlreadyExists and consumes no revision",
        [Op("create", rv=1), Op("create", raises=AlreadyExists), Op("create", "y", rv=2)],
    ),
    CrudCase("get-missing", "get of a missing key is NotFound", [Op("get", raises=NotFound)]),
    CrudCase(
        "update-missing", "update of a missing key is NotFound", [Op("update", raises=NotFound)]
    ),
    CrudCase(
        "delete-missing", "delete of a missing key is NotFound", [Op("delete", raises=NotFound)]
    ),
    CrudCase(
        "update-unconditional",
        "update without expect_rv always applies",
        [Op("create", rv=1), Op("update", rv=2), Op("update", rv=3), Op("get", rv=3)],
    ),
    CrudCase(
        "update-cas-current",
        "update with the current revision applies",
        [Op("create", rv=1), Op("update", expect_rv=1, rv=2), Op("update", expect_rv=2, rv=3)],
    ),
    CrudCase(
        "update-cas-stale",
        "update with a stale revision is Conflict and changes nothing",
        [
            Op("create", rv=1),
            Op("update", rv=2),
            Op("update", expect_rv=1, raises=Conflict),
            Op("get", rv=2),
        ],
    ),
    CrudCase(
        "delete-cas-stale",
        "delete with a stale revision is Conflict and keeps the object",
        [
            Op("create", rv=1),
            Op("update", rv=2),
            Op("delete", expect_rv=1, raises=Conflict),
            Op("get", rv=2),
        ],
    ),
    CrudCase(
        "delete-cas-current",
        "delete with the current revision removes the object at a new revision",
        [Op("create", rv=1), Op("delete", expect_rv=1, rv=2), Op("get", raises=NotFound)],
    ),
    CrudCase(
        "recreate",
        "a deleted key can be created again, at a later revision",
        [Op("create", rv=1), Op("delete", rv=2), Op("create", rv=3), Op("get", rv=3)],
    ),
]


async def run_op(store: Store, op: Op) -> int:
    k = key(op.name)
    if op.verb == "create":
        return (await store.create(k, pod(op.name))).rv
    if op.verb == "update":
        return (await store.update(k, pod(op.name), expect_rv=op.expect_rv)).rv
    if op.verb == "delete":
        return (await store.delete(k, expect_rv=op.expect_rv)).rv
    return (await store.get(k)).rv


@pytest.mark.parametrize("case", CRUD_CASES, ids=lambda c: c.id)
async def test_crud(store: Store, case: CrudCase) -> None:
    for i, op in enumerate(case.ops):
        if op.raises is not None:
            with pytest.raises(op.raises):
                await run_op(store, op)
        else:
            assert await run_op(store, op) == op.rv, f"op {i} {op} ({case.rule})"


async def test_write_stamps_object_and_raw(store: Store) -> None:
    obj = pod("x")
    e = await store.create(key("x"), obj)
    assert e.obj["metadata"]["resourceVersion"] == "1"
    assert orjson.loads(e.raw) == e.obj
    assert e.key == key("x")
    assert e.copy() == e.obj and e.copy() is not e.obj
    got = await store.get(key("x"))
    assert got.raw == e.raw and got.obj is e.obj  # shared, never copied


async def test_create_without_metadata(store: Store) -> None:
    e = await store.create(key("x"), {"kind": "Thing"})
    assert e.obj == {"kind": "Thing", "metadata": {"resourceVersion": "1"}}


async def test_update_replaces_object(store: Store) -> None:
    await store.create(key("x"), pod("x"))
    new = pod("x")
    new["spec"]["nodeName"] = "n1"
    e = await store.update(key("x"), new)
    assert (await store.get(key("x"))).obj["spec"]["nodeName"] == "n1"
    assert orjson.loads(e.raw)["metadata"]["resourceVersion"] == "2"


async def test_delete_returns_last_state_at_new_revision(store: Store) -> None:
    created = await store.create(key("x"), pod("x"))
    gone = await store.delete(key("x"))
    assert gone.rv == 2 and store.revision == 2
    assert gone.obj["metadata"]["resourceVersion"] == "2"
    assert orjson.loads(gone.raw) == gone.obj
    assert gone.obj["spec"] == created.obj["spec"]
    # the stored (shared) object of the previous revision is not touched
    assert created.obj["metadata"]["resourceVersion"] == "1"
    assert store.count("pods") == 0


async def test_conflict_carries_revisions(store: Store) -> None:
    await store.create(key("x"), pod("x"))
    await store.update(key("x"), pod("x"))
    with pytest.raises(Conflict) as ei:
        await store.update(key("x"), pod("x"), expect_rv=1)
    assert (ei.value.key, ei.value.expected, ei.value.actual) == (key("x"), 1, 2)


async def test_revision_monotonic_across_resources(store: Store) -> None:
    assert store.revision == 0
    seen = [store.revision]
    await store.create(key("x"), pod("x"))
    seen.append(store.revision)
    await store.create(Key("nodes", "", "n1"), {"metadata": {"name": "n1"}})
    seen.append(store.revision)
    await store.update(key("x"), pod("x"))
    seen.append(store.revision)
    with pytest.raises(AlreadyExists):
        await store.create(key("x"), pod("x"))
    seen.append(store.revision)
    await store.delete(Key("nodes", "", "n1"))
    seen.append(store.revision)
    assert seen == [0, 1, 2, 3, 3, 4]


@dataclass(frozen=True)
class ListCase:
    id: str
    rule: str
    resource: str
    namespace: str | None
    want: list[str]


# objects: pods b/z, a/y, a/x, b/a, a/aa ; services a/s ; nodes n2, n1
LIST_CASES = [
    ListCase(
        "all",
        "all namespaces, sorted by (namespace, name)",
        "pods",
        None,
        ["a/aa", "a/x", "a/y", "b/a", "b/z"],
    ),
    ListCase("ns-a", "one namespace", "pods", "a", ["a/aa", "a/x", "a/y"]),
    ListCase("ns-b", "one namespace", "pods", "b", ["b/a", "b/z"]),
    ListCase("ns-prefix", "a namespace is not a prefix match", "pods", "", []),
    ListCase("ns-missing", "unknown namespace lists nothing", "pods", "c", []),
    ListCase("other-resource", "resources are separate", "services", None, ["a/s"]),
    ListCase(
        "cluster-scoped", "cluster-scoped objects list by name", "nodes", None, ["/n1", "/n2"]
    ),
    ListCase(
        "cluster-scoped-empty-ns",
        "namespace '' matches cluster-scoped objects",
        "nodes",
        "",
        ["/n1", "/n2"],
    ),
    ListCase("unknown-resource", "unknown resource is empty", "widgets", None, []),
]


async def fill_for_list(store: Store) -> None:
    for ns, name in [("b", "z"), ("a", "y"), ("a", "x"), ("b", "a"), ("a", "aa"), ("ab", "q")]:
        await store.create(key(name, ns), pod(name, ns))
    await store.delete(key("q", "ab"))
    await store.create(Key("services", "a", "s"), {"metadata": {"name": "s"}})
    for n in ["n2", "n1"]:
        await store.create(Key("nodes", "", n), {"metadata": {"name": n}})


@pytest.mark.parametrize("case", LIST_CASES, ids=lambda c: c.id)
async def test_list(store: Store, case: ListCase) -> None:
    await fill_for_list(store)
    entries, rv = await store.list(case.resource, case.namespace)
    assert [f"{e.key.namespace}/{e.key.name}" for e in entries] == case.want, case.rule
    assert rv == store.revision


async def test_list_shares_entries_and_is_a_snapshot(store: Store) -> None:
    await fill_for_list(store)
    entries, rv = await store.list("pods")
    assert entries[0] is await store.get(entries[0].key)
    await store.create(key("b", "a"), pod("b"))
    await store.update(key("x"), pod("x"))
    assert len(entries) == 5  # the returned list is not a live view
    again, rv2 = await store.list("pods", "a")
    assert [e.key.name for e in again] == ["aa", "b", "x", "y"] and rv2 == rv + 2
    assert again[2].rv == rv2


async def test_count(store: Store) -> None:
    assert store.count("pods") == 0
    await fill_for_list(store)
    assert (store.count("pods"), store.count("nodes"), store.count("widgets")) == (5, 2, 0)


async def test_writes_after_close_fail(store: Store) -> None:
    from svcnet.store import StoreError

    await store.close()
    with pytest.raises(StoreError):
        await store.create(key("x"), pod("x"))
    await store.close()  # idempotent
