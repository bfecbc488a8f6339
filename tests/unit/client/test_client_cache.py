"""Informer cache: keys, indexes, and the re-list diff (client-go thread_safe_store.go,
index.go, DeltaFIFO.Replace)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pytest

from svcnet.client.cache import (
    NAMESPACE_INDEX,
    Store,
    diff_replace,
    index_by_field,
    index_by_label,
    index_by_namespace,
    key_string,
    object_key,
    split_key,
)


def pod(name: str, ns: str = "default", rv: str = "1", node: str = "", **labels: str) -> dict:
    meta: dict[str, Any] = {"name": name, "resourceVersion": rv}
    if ns:
        meta["namespace"] = ns
    if labels:
        meta["labels"] = labels
    return {"metadata": meta, "spec": {"nodeName": node} if node else {}}


def names(objs: list[dict]) -> list[str]:
    return [key_string(o) for o in objs]


# ------------------------------------------------------------------ keys
@pytest.mark.parametrize(
    ("obj", "key", "text"),
    [
        (pod("a", "ns1"), ("ns1", "a"), "ns1/a"),
        (pod("node-1", ""), ("", "node-1"), "node-1"),  # cluster-scoped
    ],
    ids=["namespaced", "cluster-scoped"],
)
def test_keys_meta_namespace_key_func(obj: dict, key: tuple, text: str) -> None:
    assert object_key(obj) == key
    assert key_string(obj) == text
    assert key_string(key) == text
    assert split_key(text) == key


def test_split_key_rejects_extra_slashes() -> None:
    with pytest.raises(ValueError):
        split_key("a/b/c")


# ----------------------------------------------------------- diff_replace
@dataclass(frozen=True)
class ReplaceCase:
    id: str
    old: list[dict]
    new: list[dict]
    adds: list[str] = field(default_factory=list)
    updates: list[str] = field(default_factory=list)
    deletes: list[str] = field(default_factory=list)


REPLACE_CASES = [
    ReplaceCase("empty-to-list", [], [pod("a"), pod("b")], adds=["default/a", "default/b"]),
    ReplaceCase("list-to-empty", [pod("b"), pod("a")], [], deletes=["default/a", "default/b"]),
    ReplaceCase("unchanged-rv-is-not-an-update", [pod("a", rv="5")], [pod("a", rv="5")]),
    ReplaceCase(
        "changed-rv-is-an-update", [pod("a", rv="5")], [pod("a", rv="9")], updates=["default/a"]
    ),
    ReplaceCase(
        "mixed",
        [pod("keep", rv="1"), pod("change", rv="1"), pod("gone", rv="1")],
        [pod("new", rv="7"), pod("change", rv="6"), pod("keep", rv="1")],
        adds=["default/new"],
        updates=["default/change"],
        deletes=["default/gone"],
    ),
    ReplaceCase(
        "same-name-other-namespace-is-distinct",
        [pod("a", "ns1")],
        [pod("a", "ns2")],
        adds=["ns2/a"],
        deletes=["ns1/a"],
    ),
    ReplaceCase(
        "no-resource-version-compares-content",
        [{"metadata": {"name": "x"}, "data": 1}],
        [{"metadata": {"name": "x"}, "data": 2}],
        updates=["x"],
    ),
]


@pytest.mark.parametrize("case", REPLACE_CASES, ids=lambda c: c.id)
def test_diff_replace(case: ReplaceCase) -> None:
    old = {object_key(o): o for o in case.old}
    diff = diff_replace(old, case.new)
    assert names(diff.adds) == case.adds
    assert [key_string(n) for _, n in diff.updates] == case.updates
    assert names(diff.deletes) == case.deletes
    assert bool(diff) == bool(case.adds or case.updates or case.deletes)


def test_diff_replace_delete_carries_last_known_state() -> None:
    last = pod("a", rv="41", app="web")
    diff = diff_replace({object_key(last): last}, [])
    assert diff.deletes == [last]


def test_diff_replace_update_pairs_old_and_new() -> None:
    old, new = pod("a", rv="1"), pod("a", rv="2")
    assert diff_replace({object_key(old): old}, [new]).updates == [(old, new)]


# ---------------------------------------------------------------- Store
def test_store_crud() -> None:
    s = Store()
    assert s.upsert(pod("a")) is None
    prev = s.upsert(pod("a", rv="2"))
    assert prev is not None and prev["metadata"]["resourceVersion"] == "1"
    assert s.get(("default", "a"))["metadata"]["resourceVersion"] == "2"
    assert s.get_by_key("default/a") is s.get(("default", "a"))
    assert len(s) == 1 and ("default", "a") in s
    assert s.delete(("default", "a")) is not None
    assert s.delete(("default", "a")) is None
    assert len(s) == 0


def test_index_pods_by_node_moves_on_update() -> None:
    s = Store({"node": index_by_field("spec.nodeName")})
    s.upsert(pod("a", node="n1"))
    s.upsert(pod("b", node="n1"))
    s.upsert(pod("c"))  # unscheduled: not indexed
    assert names(s.by_index("node", "n1")) == ["default/a", "default/b"]
    s.upsert(pod("a", node="n2", rv="2"))
    assert names(s.by_index("node", "n1")) == ["default/b"]
    assert names(s.by_index("node", "n2")) == ["default/a"]
    assert s.index_values("node") == ["n1", "n2"]
    s.delete(("default", "b"))
    assert s.by_index("node", "n1") == []
    assert s.index_values("node") == ["n2"], "empty index values are dropped"


def test_index_by_label_and_multi_values() -> None:
    s = Store(
        {
            "svc": index_by_label("kubernetes.io/service-name"),
            "ports": lambda o: [str(p) for p in o.get("ports", [])],
        }
    )
    a = {**pod("s1", **{"kubernetes.io/service-name": "web"}), "ports": [80, 443, 80]}
    s.upsert(a)
    s.upsert(pod("s2", **{"kubernetes.io/service-name": "db"}))
    assert names(s.by_index("svc", "web")) == ["default/s1"]
    assert names(s.by_index("ports", "80")) == ["default/s1"]
    assert names(s.by_index("ports", "443")) == ["default/s1"]
    assert s.index_keys("svc", "db") == [("default", "s2")]


def test_add_indexer_files_existing_objects() -> None:
    s = Store()
    s.upsert(pod("a", "ns1"))
    s.upsert(pod("b", "ns2"))
    s.add_indexer(NAMESPACE_INDEX, index_by_namespace)
    assert names(s.by_index(NAMESPACE_INDEX, "ns2")) == ["ns2/b"]
    assert names(s.list("ns1")) == ["ns1/a"]


def test_list_by_namespace_without_index() -> None:
    s = Store()
    s.upsert(pod("a", "ns1"))
    s.upsert(pod("b", "ns2"))
    assert names(s.list("ns2")) == ["ns2/b"]
    assert len(s.list()) == 2


def test_unknown_index_is_keyerror() -> None:
    with pytest.raises(KeyError):
        Store().by_index("nope", "x")


def test_replace_keeps_indexes_consistent() -> None:
    s = Store({"node": index_by_field("spec.nodeName")})
    s.replace([pod("a", node="n1"), pod("b", node="n1"), pod("c", node="n2")])
    diff = s.replace([pod("a", node="n2", rv="2"), pod("c", node="n2"), pod("d", node="n1")])
    assert names(diff.adds) == ["default/d"]
    assert [key_string(n) for _, n in diff.updates] == ["default/a"]
    assert names(diff.deletes) == ["default/b"]
    assert names(s.by_index("node", "n1")) == ["default/d"]
    assert names(s.by_index("node", "n2")) == ["default/a", "default/c"]
    assert sorted(s.keys()) == [("default", "a"), ("default", "c"), ("default", "d")]
