"""Tests for svcnet.api.patch: RFC 6902, RFC 7386 and strategic merge patch.

Each case names the rule it checks: an RFC appendix example, or the upstream
apimachinery ``strategicpatch`` function/test whose behaviour it pins.
Every case also checks that neither input was mutated.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any

import pytest

from svcnet.api import schema as s
from svcnet.api.patch import (
    InvalidPatch,
    PatchConflict,
    PatchError,
    PatchTestFailed,
    json_equal,
    json_patch,
    merge_patch,
    strategic_merge_patch,
)


@dataclass(frozen=True)
class Case:
    id: str
    doc: Any
    patch: Any
    want: Any = None
    error: type[PatchError] | None = None
    match: str | None = None


def check(fn: Any, case: Case, *args: Any) -> None:
    doc, patch = copy.deepcopy(case.doc), copy.deepcopy(case.patch)
    if case.error is not None:
        with pytest.raises(case.error, match=case.match):
            fn(doc, patch, *args)
    else:
        got = fn(doc, patch, *args)
        assert got == case.want
        assert got == fn(doc, patch, *args)  # deterministic
    assert doc == case.doc, "document was mutated"
    assert patch == case.patch, "patch was mutated"


def params(cases: list[Case]) -> Any:
    return pytest.mark.parametrize("case", [pytest.param(c, id=c.id) for c in cases])


# -- RFC 6902 ------------------------------------------------------------------

JSON_PATCH_CASES = [
    # RFC 6902 appendix A, in our own words.
    Case(
        "A.1-add-object-member",
        {"foo": "bar"},
        [{"op": "add", "path": "/baz", "value": "qux"}],
        {"foo": "bar", "baz": "qux"},
    ),
    Case(
        "A.2-add-array-element",
        {"foo": ["bar", "baz"]},
        [{"op": "add", "path": "/foo/1", "value": "qux"}],
        {"foo": ["bar", "qux", "baz"]},
    ),
    Case(
        "A.3-remove-object-member",
        {"baz": "qux", "foo": "bar"},
        [{"op": "remove", "path": "/baz"}],
        {"foo": "bar"},
    ),
    Case(
        "A.4-remove-array-element",
        {"foo": ["bar", "qux", "baz"]},
        [{"op": "remove", "path": "/foo/1"}],
        {"foo": ["bar", "baz"]},
    ),
    Case(
        "A.5-replace-value",
        {"baz": "qux", "foo": "bar"},
        [{"op": "replace", "path": "/baz", "value": "boo"}],
        {"baz": "boo", "foo": "bar"},
    ),
    Case(
        "A.6-move-value",
        {"foo": {"bar": "baz", "waldo": "fred"}, "qux": {"corge": "grault"}},
        [{"op": "move", "from": "/foo/waldo", "path": "/qux/thud"}],
        {"foo": {"bar": "baz"}, "qux": {"corge": "grault", "thud": "fred"}},
    ),
    Case(
        "A.7-move-array-element",
        {"foo": ["all", "grass", "cows", "eat"]},
        [{"op": "move", "from": "/foo/1", "path": "/foo/3"}],
        {"foo": ["all", "cows", "eat", "grass"]},
    ),
    Case(
        "A.8-test-success",
        {"baz": "qux", "foo": ["a", 2, "c"]},
        [
            {"op": "test", "path": "/baz", "value": "qux"},
            {"op": "test", "path": "/foo/1", "value": 2},
        ],
        {"baz": "qux", "foo": ["a", 2, "c"]},
    ),
    Case(
        "A.9-test-failure",
        {"baz": "qux"},
        [{"op": "test", "path": "/baz", "value": "bar"}],
        error=PatchTestFailed,
        match="/baz",
    ),
    Case(
        "A.10-add-nested-member-object",
        {"foo": "bar"},
        [{"op": "add", "path": "/child", "value": {"grandchild": {}}}],
        {"foo": "bar", "child": {"grandchild": {}}},
    ),
    Case(
        "A.11-ignore-unrecognized-members",
        {"foo": "bar"},
        [{"op": "add", "path": "/baz", "value": "qux", "xyz": 123}],
        {"foo": "bar", "baz": "qux"},
    ),
    Case(
        "A.12-add-to-nonexistent-target",
        {"foo": "bar"},
        [{"op": "add", "path": "/baz/bat", "value": "qux"}],
        error=PatchConflict,
        match='missing path "/baz"',
    ),
    # A.13 (duplicate "op" member) is a JSON decoding matter, not ours.
    Case(
        "A.14-tilde-escape-ordering",
        {"/": 9, "~1": 10},
        [{"op": "test", "path": "/~01", "value": 10}],
        {"/": 9, "~1": 10},
    ),
    Case(
        "A.15-string-is-not-number",
        {"/": 9, "~1": 10},
        [{"op": "test", "path": "/~01", "value": "10"}],
        error=PatchTestFailed,
    ),
    Case(
        "A.16-add-array-value-with-dash",
        {"foo": ["bar"]},
        [{"op": "add", "path": "/foo/-", "value": ["abc", "def"]}],
        {"foo": ["bar", ["abc", "def"]]},
    ),
    # RFC 6902 section 4 details beyond the appendix.
    Case(
        "4.1-add-at-end-index",
        {"a": [1, 2]},
        [{"op": "add", "path": "/a/2", "value": 3}],
        {"a": [1, 2, 3]},
    ),
    Case(
        "4.1-add-index-out-of-bounds",
        {"a": [1, 2]},
        [{"op": "add", "path": "/a/3", "value": 3}],
        error=PatchConflict,
        match="out of bounds",
    ),
    Case(
        "4.1-add-replaces-existing-member",
        {"a": 1, "b": 2},
        [{"op": "add", "path": "/a", "value": 9}],
        {"a": 9, "b": 2},
    ),
    Case(
        "4.1-add-root-replaces-document", {"a": 1}, [{"op": "add", "path": "", "value": [1]}], [1]
    ),
    Case(
        "4.2-remove-missing-member",
        {"a": 1},
        [{"op": "remove", "path": "/b"}],
        error=PatchConflict,
        match='missing path "/b"',
    ),
    Case(
        "4.2-remove-index-past-end",
        {"a": [1]},
        [{"op": "remove", "path": "/a/1"}],
        error=PatchConflict,
        match="out of bounds",
    ),
    Case(
        "4.2-remove-dash-is-not-an-index",
        {"a": [1]},
        [{"op": "remove", "path": "/a/-"}],
        error=PatchConflict,
        match="not a valid array index",
    ),
    Case(
        "4.3-replace-keeps-member-position",
        {"a": 1, "b": 2, "c": 3},
        [{"op": "replace", "path": "/b", "value": None}],
        {"a": 1, "b": None, "c": 3},
    ),
    Case(
        "4.3-replace-missing-target",
        {"a": 1},
        [{"op": "replace", "path": "/b", "value": 2}],
        error=PatchConflict,
    ),
    Case(
        "4.3-replace-root", {"a": 1}, [{"op": "replace", "path": "", "value": {"b": 2}}], {"b": 2}
    ),
    Case(
        "4.4-move-into-own-child",
        {"a": {"b": 1}},
        [{"op": "move", "from": "/a", "path": "/a/c"}],
        error=PatchConflict,
        match="children",
    ),
    Case(
        "4.4-move-missing-from",
        {"a": 1},
        [{"op": "move", "from": "/x", "path": "/y"}],
        error=PatchConflict,
    ),
    Case(
        "4.5-copy-is-deep",
        {"a": {"b": [1]}},
        [{"op": "copy", "from": "/a", "path": "/c"}, {"op": "add", "path": "/c/b/-", "value": 2}],
        {"a": {"b": [1]}, "c": {"b": [1, 2]}},
    ),
    Case(
        "4.6-test-numbers-compare-by-value",
        {"a": 1, "o": {"x": 1, "y": [True]}},
        [
            {"op": "test", "path": "/a", "value": 1.0},
            {"op": "test", "path": "/o", "value": {"y": [True], "x": 1}},
        ],
        {"a": 1, "o": {"x": 1, "y": [True]}},
    ),
    Case(
        "4.6-test-bool-is-not-number",
        {"a": 1},
        [{"op": "test", "path": "/a", "value": True}],
        error=PatchTestFailed,
    ),
    Case(
        "4.6-test-missing-path-fails",
        {"a": 1},
        [{"op": "test", "path": "/b", "value": None}],
        error=PatchTestFailed,
    ),
    Case(
        "5-failure-aborts-whole-patch",
        {"a": 1},
        [{"op": "add", "path": "/b", "value": 2}, {"op": "remove", "path": "/zzz"}],
        error=PatchConflict,
    ),
    Case(
        "rfc6901-leading-zero-index",
        {"a": [1, 2]},
        [{"op": "remove", "path": "/a/01"}],
        error=PatchConflict,
        match="not a valid array index",
    ),
    Case(
        "rfc6901-invalid-escape",
        {"a~2": 1},
        [{"op": "remove", "path": "/a~2"}],
        error=InvalidPatch,
        match="escape",
    ),
    Case(
        "rfc6901-pointer-must-start-with-slash",
        {"a": 1},
        [{"op": "remove", "path": "a"}],
        error=InvalidPatch,
    ),
    Case(
        "unknown-op",
        {},
        [{"op": "frobnicate", "path": "/a"}],
        error=InvalidPatch,
        match="unknown op",
    ),
    Case("missing-value", {}, [{"op": "add", "path": "/a"}], error=InvalidPatch, match='"value"'),
    Case(
        "missing-from", {"a": 1}, [{"op": "copy", "path": "/b"}], error=InvalidPatch, match='"from"'
    ),
    Case("patch-not-a-list", {}, {"op": "add"}, error=InvalidPatch, match="list of operations"),
    Case("operation-not-an-object", {}, ["add"], error=InvalidPatch),
    Case(
        "metadata-labels-escape",
        {"metadata": {"labels": {"app.kubernetes.io/name": "x"}}},
        [{"op": "replace", "path": "/metadata/labels/app.kubernetes.io~1name", "value": "y"}],
        {"metadata": {"labels": {"app.kubernetes.io/name": "y"}}},
    ),
]


@params(JSON_PATCH_CASES)
def test_json_patch(case: Case) -> None:
    check(json_patch, case)


def test_json_patch_result_shares_nothing_with_inputs() -> None:
    value = {"deep": [1]}
    doc = {"keep": {"x": [1]}}
    got = json_patch(doc, [{"op": "add", "path": "/v", "value": value}])
    got["v"]["deep"].append(2)
    got["keep"]["x"].append(2)
    assert value == {"deep": [1]}
    assert doc == {"keep": {"x": [1]}}


def test_json_equal() -> None:
    assert json_equal({"a": [1, 2.0]}, {"a": [1.0, 2]})
    assert not json_equal(True, 1)
    assert not json_equal(None, False)


# -- RFC 7386 ------------------------------------------------------------------

MERGE_PATCH_CASES = [
    # RFC 7386 appendix A, one case per row.
    Case("A-replace-member", {"a": "b"}, {"a": "c"}, {"a": "c"}),
    Case("A-add-member", {"a": "b"}, {"b": "c"}, {"a": "b", "b": "c"}),
    Case("A-null-deletes", {"a": "b"}, {"a": None}, {}),
    Case("A-null-deletes-only-that", {"a": "b", "b": "c"}, {"a": None}, {"b": "c"}),
    Case("A-string-replaces-array", {"a": ["b"]}, {"a": "c"}, {"a": "c"}),
    Case("A-array-replaces-string", {"a": "c"}, {"a": ["b"]}, {"a": ["b"]}),
    Case("A-nested-merge", {"a": {"b": "c"}}, {"a": {"b": "d", "c": None}}, {"a": {"b": "d"}}),
    Case("A-arrays-replace-wholesale", {"a": [{"b": "c"}]}, {"a": [1]}, {"a": [1]}),
    Case("A-array-doc-replaced", ["a", "b"], ["c", "d"], ["c", "d"]),
    Case("A-array-patch-replaces-object", {"a": "b"}, ["c"], ["c"]),
    Case("A-null-patch-is-null", {"a": "foo"}, None, None),
    Case("A-string-patch", {"a": "foo"}, "bar", "bar"),
    Case("A-existing-null-kept", {"e": None}, {"a": 1}, {"e": None, "a": 1}),
    Case("A-object-patch-over-array", [1, 2], {"a": "b", "c": None}, {"a": "b"}),
    Case("A-nulls-in-new-subtree-dropped", {}, {"a": {"bb": {"ccc": None}}}, {"a": {"bb": {}}}),
    # RFC 7386 section 3 example.
    Case(
        "3-example",
        {
            "title": "Goodbye!",
            "author": {"givenName": "John", "familyName": "Doe"},
            "tags": ["example", "sample"],
            "content": "This will be unchanged",
        },
        {
            "title": "Hello!",
            "phoneNumber": "+01-123-456-7890",
            "author": {"familyName": None},
            "tags": ["example"],
        },
        {
            "title": "Hello!",
            "author": {"givenName": "John"},
            "tags": ["example"],
            "content": "This will be unchanged",
            "phoneNumber": "+01-123-456-7890",
        },
    ),
]


@params(MERGE_PATCH_CASES)
def test_merge_patch(case: Case) -> None:
    check(merge_patch, case)


def test_merge_patch_result_shares_nothing_with_inputs() -> None:
    doc: dict[str, Any] = {"a": {"x": [1]}}
    patch: dict[str, Any] = {"b": {"y": [2]}}
    got = merge_patch(doc, patch)
    got["a"]["x"].append(9)
    got["b"]["y"].append(9)
    assert doc == {"a": {"x": [1]}}
    assert patch == {"b": {"y": [2]}}


# -- Strategic merge patch: test schema mirroring the upstream struct tags -------

ENV_VAR = s.struct("test.patch.EnvVar", name=s.STRING, value=s.STRING)
CONTAINER_PORT = s.struct(
    "test.patch.ContainerPort", name=s.STRING, containerPort=s.INT32, protocol=s.STRING
)
CONTAINER = s.struct(
    "test.patch.Container",
    name=s.STRING,
    image=s.STRING,
    args=s.STRING_LIST,  # no strategy: replaced
    env=s.f(s.ArrayOf(s.Ref("test.patch.EnvVar")), merge_key="name", strategy="merge"),
    ports=s.f(s.ArrayOf(CONTAINER_PORT), merge_key="containerPort", strategy="merge"),
    resources=s.MapOf(s.STRING_MAP),
)
VOLUME = s.struct("test.patch.Volume", name=s.STRING, configMap=s.STRING_MAP, secret=s.STRING_MAP)
TOLERATION = s.struct("test.patch.Toleration", key=s.STRING, effect=s.STRING)
POD_SPEC = s.struct(
    "test.patch.PodSpec",
    containers=s.f(s.ArrayOf(CONTAINER), merge_key="name", strategy="merge"),
    volumes=s.f(s.ArrayOf(VOLUME), merge_key="name", strategy="merge,retainKeys"),
    tolerations=s.ArrayOf(TOLERATION),
    nodeSelector=s.STRING_MAP,
    overhead=s.f(s.ANY, strategy="replace"),
)
OBJECT_META = s.struct(
    "test.patch.ObjectMeta",
    name=s.STRING,
    labels=s.STRING_MAP,
    annotations=s.STRING_MAP,
    finalizers=s.f(s.STRING_LIST, strategy="merge"),
)
ROLLING_UPDATE = s.struct(
    "test.patch.RollingUpdateDeployment", maxSurge=s.INT_OR_STRING, maxUnavailable=s.INT_OR_STRING
)
DEPLOYMENT_STRATEGY = s.struct(
    "test.patch.DeploymentStrategy", type=s.STRING, rollingUpdate=ROLLING_UPDATE
)
DEPLOYMENT = s.struct(
    "test.patch.Deployment",
    metadata=OBJECT_META,
    spec=s.struct(
        "test.patch.DeploymentSpec",
        replicas=s.INT32,
        strategy=s.f(DEPLOYMENT_STRATEGY, strategy="retainKeys"),
        template=s.struct("test.patch.PodTemplateSpec", metadata=OBJECT_META, spec=POD_SPEC),
        extra=s.ANY,  # x-kubernetes-preserve-unknown-fields
    ),
)
SERVICE_PORT = s.struct(
    "test.patch.ServicePort", name=s.STRING, port=s.INT32, targetPort=s.INT_OR_STRING
)
SERVICE = s.struct(
    "test.patch.Service",
    metadata=OBJECT_META,
    spec=s.struct(
        "test.patch.ServiceSpec",
        ports=s.f(s.ArrayOf(SERVICE_PORT), merge_key="port", strategy="merge"),
        selector=s.STRING_MAP,
    ),
)


def pod(**spec: Any) -> dict[str, Any]:
    """A Deployment whose pod template spec is ``spec``."""
    return {"spec": {"template": {"spec": spec}}}


def meta(**m: Any) -> dict[str, Any]:
    return {"metadata": m}


def ports(*p: Any, **extra: Any) -> dict[str, Any]:
    return {"spec": {"ports": list(p), **extra}}


APP = {
    "name": "app",
    "image": "app:1",
    "env": [{"name": "A", "value": "1"}, {"name": "B", "value": "2"}],
}
SIDECAR = {"name": "sidecar", "image": "side:1"}

DEPLOYMENT_CASES = [
    Case(
        # kubectl apply removing env B: mergeSliceWithSpecialElements "delete",
        # mergePatchIntoOriginal ordering by $setElementOrder.
        "apply-delete-env-var-by-merge-key",
        pod(containers=[APP, SIDECAR]),
        pod(
            **{
                "$setElementOrder/containers": [{"name": "app"}, {"name": "sidecar"}],
                "containers": [
                    {
                        "name": "app",
                        "image": "app:2",
                        "$setElementOrder/env": [{"name": "A"}],
                        "env": [{"$patch": "delete", "name": "B"}],
                    }
                ],
            }
        ),
        pod(
            containers=[
                {"name": "app", "image": "app:2", "env": [{"name": "A", "value": "1"}]},
                SIDECAR,
            ]
        ),
    ),
    Case(
        # mergeSliceWithoutSpecialElements: existing items merge by key in place.
        "merge-list-item-by-key",
        pod(containers=[APP, SIDECAR]),
        pod(containers=[{"name": "sidecar", "image": "side:2"}]),
        pod(containers=[APP, {"name": "sidecar", "image": "side:2"}]),
    ),
    Case(
        # mergeSortedSlice: without $setElementOrder a patch item unknown to
        # the live list sorts first (as in the kubectl patch docs' patch-demo).
        "new-item-without-order-sorts-first",
        pod(containers=[SIDECAR]),
        pod(containers=[{"name": "new", "image": "n:1"}]),
        pod(containers=[{"name": "new", "image": "n:1"}, SIDECAR]),
    ),
    Case(
        # kubectl apply adding a container: $setElementOrder puts it last.
        "new-item-placed-by-set-element-order",
        pod(containers=[SIDECAR]),
        pod(
            **{
                "$setElementOrder/containers": [{"name": "sidecar"}, {"name": "new"}],
                "containers": [{"name": "new", "image": "n:1"}],
            }
        ),
        pod(containers=[SIDECAR, {"name": "new", "image": "n:1"}]),
    ),
    Case(
        # custom case "preserve the order from the patch in a merging list 2".
        "patch-order-wins-over-live-order",
        pod(containers=[{"name": "1"}, {"name": "2", "image": "b"}, {"name": "3"}]),
        pod(containers=[{"name": "3", "image": "c"}, {"name": "1", "image": "a"}]),
        pod(
            containers=[
                {"name": "2", "image": "b"},
                {"name": "3", "image": "c"},
                {"name": "1", "image": "a"},
            ]
        ),
    ),
    Case(
        # custom case "delete all duplicate entries in a merging list".
        "delete-removes-all-duplicates",
        pod(containers=[{"name": "1"}, {"name": "1"}, {"name": "2", "image": "a"}, {"name": "3"}]),
        pod(containers=[{"name": "1", "$patch": "delete"}, {"name": "3", "$patch": "delete"}]),
        pod(containers=[{"name": "2", "image": "a"}]),
    ),
    Case(
        # nested merge list inside a merged item (env merged by name).
        "nested-merge-list",
        pod(containers=[APP]),
        pod(containers=[{"name": "app", "env": [{"name": "A", "value": "one"}]}]),
        pod(
            containers=[
                {
                    "name": "app",
                    "image": "app:1",
                    "env": [{"name": "A", "value": "one"}, APP["env"][1]],
                }
            ]
        ),
    ),
    Case(
        # a list without patchStrategy is replaced wholesale.
        "list-without-strategy-replaced",
        pod(containers=[{"name": "app", "args": ["a", "b"]}], tolerations=[{"key": "x"}]),
        pod(containers=[{"name": "app", "args": ["c"]}], tolerations=[{"key": "y"}]),
        pod(containers=[{"name": "app", "args": ["c"]}], tolerations=[{"key": "y"}]),
    ),
    Case(
        # custom case "delete all items from merging list": {"$patch": "replace"}.
        "patch-replace-empties-list",
        pod(containers=[APP, SIDECAR]),
        pod(containers=[{"$patch": "replace"}]),
        pod(containers=[]),
    ),
    Case(
        # $patch: replace in a list keeps only the patch's items.
        "patch-replace-on-list",
        pod(containers=[APP, SIDECAR]),
        pod(containers=[{"name": "only", "image": "o:1"}, {"$patch": "replace"}]),
        pod(containers=[{"name": "only", "image": "o:1"}]),
    ),
    Case(
        # handleDirectiveInMergeMap "replace": the map becomes the rest of the patch.
        "patch-replace-on-map",
        pod(nodeSelector={"disk": "ssd", "zone": "a"}),
        pod(nodeSelector={"$patch": "replace", "zone": "b"}),
        pod(nodeSelector={"zone": "b"}),
    ),
    Case(
        # custom case "delete map from nested map": the map is emptied.
        "patch-delete-on-map",
        pod(nodeSelector={"disk": "ssd"}, containers=[SIDECAR]),
        pod(nodeSelector={"$patch": "delete"}),
        pod(nodeSelector={}, containers=[SIDECAR]),
    ),
    Case(
        # removeDirectives: a directive map for an absent key adds nothing.
        "patch-delete-on-absent-map-adds-nothing",
        pod(containers=[SIDECAR]),
        pod(nodeSelector={"$patch": "delete"}),
        pod(containers=[SIDECAR]),
    ),
    Case(
        # removeDirectives: a new list drops its directive items.
        "directives-stripped-from-new-list",
        pod(),
        pod(containers=[{"name": "a"}, {"name": "b", "$patch": "delete"}]),
        pod(containers=[{"name": "a"}]),
    ),
    Case(
        # discardNullValuesFromPatch: nulls inside a new value are dropped.
        "nulls-dropped-from-new-value",
        pod(),
        pod(containers=[{"name": "a", "image": None}], nodeSelector={"x": None, "y": "1"}),
        pod(containers=[{"name": "a"}], nodeSelector={"y": "1"}),
    ),
    Case(
        # mergeMap: null deletes a key; unmatched nulls are ignored.
        "null-deletions",
        {"metadata": {"labels": {"a": "1", "b": "2"}}, "spec": {"replicas": 3}},
        {"metadata": {"labels": {"a": None, "zz": None}}, "spec": {"replicas": None}},
        {"metadata": {"labels": {"b": "2"}}, "spec": {}},
    ),
    Case(
        # null inside a merged list item deletes that item's field.
        "null-in-merged-list-item",
        pod(containers=[APP]),
        pod(containers=[{"name": "app", "image": None, "env": None}]),
        pod(containers=[{"name": "app"}]),
    ),
    Case(
        # kubectl apply switching RollingUpdate -> Recreate: applyRetainKeysDirective.
        "retain-keys-clears-unlisted",
        {"spec": {"strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 1}}}},
        {
            "spec": {
                "strategy": {"$retainKeys": ["type"], "rollingUpdate": None, "type": "Recreate"}
            }
        },
        {"spec": {"strategy": {"type": "Recreate"}}},
    ),
    Case(
        # applyRetainKeysDirective drops unlisted keys even when the patch omits them.
        "retain-keys-without-null",
        {"spec": {"strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 1}}}},
        {"spec": {"strategy": {"$retainKeys": ["type"], "type": "Recreate"}}},
        {"spec": {"strategy": {"type": "Recreate"}}},
    ),
    Case(
        # custom case "retainKeys map can add a field when no retainKeys directive present".
        "retain-keys-strategy-merges-without-directive",
        {"spec": {"strategy": {"type": "RollingUpdate"}}},
        {"spec": {"strategy": {"rollingUpdate": {"maxSurge": "25%"}}}},
        {"spec": {"strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": "25%"}}}},
    ),
    Case(
        # ErrBadPatchFormatForRetainKeys: patch keys must be listed.
        "retain-keys-must-list-patch-keys",
        {"spec": {"strategy": {"type": "RollingUpdate"}}},
        {"spec": {"strategy": {"$retainKeys": ["type"], "rollingUpdate": {"maxSurge": 1}}}},
        error=InvalidPatch,
        match="retainKeys",
    ),
    Case(
        "retain-keys-must-be-a-list",
        {"spec": {"strategy": {}}},
        {"spec": {"strategy": {"$retainKeys": "type"}}},
        error=InvalidPatch,
        match="retainKeys",
    ),
    Case(
        # "merge,retainKeys" list (volumes): the item's source switches.
        "retain-keys-in-merged-list-item",
        pod(volumes=[{"name": "v", "configMap": {"name": "c"}}, {"name": "w", "secret": {}}]),
        pod(
            **{
                "$setElementOrder/volumes": [{"name": "v"}, {"name": "w"}],
                "volumes": [
                    {"$retainKeys": ["name", "secret"], "name": "v", "secret": {"secretName": "s"}}
                ],
            }
        ),
        pod(volumes=[{"name": "v", "secret": {"secretName": "s"}}, {"name": "w", "secret": {}}]),
    ),
    Case(
        # patchStrategy "replace" on a map field: the patch replaces it.
        "replace-strategy-on-map",
        pod(overhead={"cpu": "1", "memory": "1Gi"}),
        pod(overhead={"cpu": "2", "gone": None}),
        pod(overhead={"cpu": "2"}),
    ),
    Case(
        # AnyValue (preserve-unknown-fields) merges like RFC 7386.
        "any-value-merges-like-json-merge-patch",
        {"spec": {"extra": {"m": {"a": 1, "b": 2}, "l": [1, 2]}}},
        {"spec": {"extra": {"m": {"a": None, "c": 3}, "l": [3]}}},
        {"spec": {"extra": {"m": {"b": 2, "c": 3}, "l": [3]}}},
    ),
    Case(
        # MapOf values: map keys merge, lists inside replace.
        "map-of-values-merge",
        pod(
            containers=[
                {"name": "a", "resources": {"limits": {"cpu": "1"}, "requests": {"cpu": "1"}}}
            ]
        ),
        pod(containers=[{"name": "a", "resources": {"limits": {"memory": "1Gi"}}}]),
        pod(
            containers=[
                {
                    "name": "a",
                    "resources": {
                        "limits": {"cpu": "1", "memory": "1Gi"},
                        "requests": {"cpu": "1"},
                    },
                }
            ]
        ),
    ),
    Case(
        # unknown fields: maps merge, lists replace.
        "unknown-fields-merge-like-json-merge-patch",
        {"spec": {"zz": {"a": 1, "l": [1]}}, "status": {"x": 1}},
        {"spec": {"zz": {"b": 2, "l": [2]}}, "status": {"y": 2}},
        {"spec": {"zz": {"a": 1, "l": [2], "b": 2}}, "status": {"x": 1, "y": 2}},
    ),
    Case(
        # mergeMap: a value of another JSON type replaces.
        "type-change-replaces",
        {"spec": {"replicas": 1, "extra": [1]}},
        {"spec": {"replicas": "2", "extra": {"a": {"b": None, "c": 1}}}},
        {"spec": {"replicas": "2", "extra": {"a": {"c": 1}}}},
    ),
    Case(
        # custom case "delete all keys from map" at the top level.
        "top-level-replace",
        {"metadata": {"name": "a"}, "spec": {"replicas": 1}},
        {"$patch": "replace", "spec": {"replicas": 2}},
        {"spec": {"replicas": 2}},
    ),
    Case("top-level-delete", {"spec": {"replicas": 1}}, {"$patch": "delete"}, {}),
    Case(
        "explicit-merge-directive-in-map",
        pod(nodeSelector={"a": "1"}),
        pod(nodeSelector={"$patch": "merge", "b": "2"}),
        pod(nodeSelector={"a": "1", "b": "2"}),
    ),
    Case(
        "explicit-merge-directive-in-merging-list",
        pod(containers=[SIDECAR]),
        pod(containers=[{"$patch": "merge"}, {"name": "sidecar", "image": "s:2"}]),
        pod(containers=[{"name": "sidecar", "image": "s:2"}]),
    ),
    # Errors.
    Case(
        # ErrBadPatchType in a map.
        "unknown-patch-type-in-map",
        pod(nodeSelector={}),
        pod(nodeSelector={"$patch": "remove"}),
        error=InvalidPatch,
        match="unknown patch type",
    ),
    Case(
        # ErrBadPatchType in a list item.
        "unknown-patch-type-in-list",
        pod(containers=[SIDECAR]),
        pod(containers=[{"name": "sidecar", "$patch": "explode"}]),
        error=InvalidPatch,
        match="unknown patch type",
    ),
    Case(
        "null-patch-type-rejected",
        pod(nodeSelector={}),
        pod(nodeSelector={"$patch": None}),
        error=InvalidPatch,
    ),
    Case(
        # mergeSliceWithSpecialElements "merging lists cannot yet be specified".
        "merge-directive-in-replaced-list",
        pod(tolerations=[]),
        pod(tolerations=[{"$patch": "merge"}]),
        error=InvalidPatch,
        match="cannot yet be specified",
    ),
    Case(
        # ErrNoMergeKey.
        "list-item-without-merge-key",
        pod(containers=[SIDECAR]),
        pod(containers=[{"image": "x"}]),
        error=PatchConflict,
        match="merge key",
    ),
    Case(
        "delete-directive-without-merge-key",
        pod(containers=[SIDECAR]),
        pod(containers=[{"$patch": "delete"}]),
        error=InvalidPatch,
        match="merge key",
    ),
    Case("patch-not-an-object", {}, [1], error=InvalidPatch),
]

FINALIZERS_CASES = [
    Case(
        # deleteFromSlice via the parallel list.
        "delete-from-primitive-list",
        meta(finalizers=["a", "b", "c", "b"]),
        meta(**{"$deleteFromPrimitiveList/finalizers": ["b"]}),
        meta(finalizers=["a", "c"]),
    ),
    Case(
        # kubectl apply replacing finalizer b with c: add + delete + $setElementOrder.
        "apply-primitive-list-add-delete-order",
        meta(finalizers=["a", "b"]),
        meta(
            **{
                "$setElementOrder/finalizers": ["c", "a"],
                "finalizers": ["c"],
                "$deleteFromPrimitiveList/finalizers": ["b"],
            }
        ),
        meta(finalizers=["c", "a"]),
    ),
    Case(
        # custom case "unique scalars when merging lists": set union, live order first.
        "primitive-merge-is-ordered-set-union",
        meta(finalizers=["1", "2"]),
        meta(finalizers=["2", "3"]),
        meta(finalizers=["1", "2", "3"]),
    ),
    Case(
        # mergeSortedSlice: a new value alone sorts before the live values.
        "primitive-new-value-without-order-sorts-first",
        meta(finalizers=["a", "b"]),
        meta(finalizers=["c"]),
        meta(finalizers=["c", "a", "b"]),
    ),
    Case(
        # custom case "preserve the order from the patch in a merging int list".
        "primitive-patch-order-preserved",
        meta(finalizers=["1", "2", "3"]),
        meta(finalizers=["3", "1"]),
        meta(finalizers=["2", "3", "1"]),
    ),
    Case(
        # raw case "$setElementOrder contains item that is not present in the int list".
        "primitive-order-only",
        meta(finalizers=["1", "3"]),
        meta(**{"$setElementOrder/finalizers": ["3", "2", "1"]}),
        meta(finalizers=["3", "1"]),
    ),
    Case(
        "delete-from-absent-list-is-noop",
        meta(name="x"),
        meta(**{"$deleteFromPrimitiveList/finalizers": ["a"]}),
        meta(name="x"),
    ),
    Case(
        "primitive-list-replace-directive",
        meta(finalizers=["a", "b"]),
        meta(finalizers=[{"$patch": "replace"}, "z"]),
        meta(finalizers=["z"]),
    ),
    Case(
        # ErrBadPatchFormatForPrimitiveList.
        "delete-list-must-be-a-list",
        meta(finalizers=["a"]),
        meta(**{"$deleteFromPrimitiveList/finalizers": "a"}),
        error=InvalidPatch,
        match="primitive list",
    ),
    Case(
        # extractKey: the directive needs "/<field>".
        "delete-list-needs-field-name",
        meta(finalizers=["a"]),
        meta(**{"$deleteFromPrimitiveList": ["a"]}),
        error=InvalidPatch,
        match="must look like",
    ),
]

SERVICE_PORTS_CASES = [
    Case(
        # kubectl apply on Service ports merged by "port", reordered and extended.
        "ports-merged-by-port-with-set-element-order",
        ports({"port": 80, "name": "http", "targetPort": 8080}, {"port": 443, "name": "https"}),
        {
            "spec": {
                "$setElementOrder/ports": [{"port": 443}, {"port": 80}, {"port": 8443}],
                "ports": [{"port": 80, "targetPort": 9090}, {"port": 8443, "name": "alt"}],
            }
        },
        ports(
            {"port": 443, "name": "https"},
            {"port": 80, "name": "http", "targetPort": 9090},
            {"port": 8443, "name": "alt"},
        ),
    ),
    Case(
        # raw case "$setElementOrder contains item that is not present in the list to be merged".
        "order-names-missing-item",
        ports({"port": 1}, {"port": 3}),
        {
            "spec": {
                "$setElementOrder/ports": [{"port": 3}, {"port": 2}, {"port": 1}],
                "ports": [{"port": 3, "name": "c"}, {"port": 1, "name": "a"}],
            }
        },
        ports({"port": 3, "name": "c"}, {"port": 1, "name": "a"}),
    ),
    Case(
        # live items not named in $setElementOrder come first (design proposal).
        "server-only-items-before-ordered",
        ports({"port": 1}, {"port": 2}, {"port": 3}),
        {"spec": {"$setElementOrder/ports": [{"port": 3}, {"port": 1}]}},
        ports({"port": 2}, {"port": 3}, {"port": 1}),
    ),
    Case(
        # kubectl apply deleting a port: delete item + $setElementOrder.
        "apply-delete-port",
        ports({"port": 80}, {"port": 443}),
        {
            "spec": {
                "$setElementOrder/ports": [{"port": 443}],
                "ports": [{"port": 80, "$patch": "delete"}],
            }
        },
        ports({"port": 443}),
    ),
    Case(
        # merge keys compare as JSON numbers.
        "merge-key-number-equality",
        ports({"port": 80, "name": "a"}),
        ports({"port": 80.0, "name": "b"}),
        ports({"port": 80.0, "name": "b"}),
    ),
    Case(
        # validatePatchWithSetOrderList: "doesn't match".
        "order-must-match-patch-list",
        ports({"port": 1}, {"port": 3}, {"port": 2}),
        {
            "spec": {
                "$setElementOrder/ports": [{"port": 1}, {"port": 2}, {"port": 3}],
                "ports": [{"port": 3, "name": "c"}, {"port": 1, "name": "a"}],
            }
        },
        error=InvalidPatch,
        match="doesn't match",
    ),
    Case(
        "order-must-be-a-list",
        ports({"port": 1}),
        {"spec": {"$setElementOrder/ports": {"port": 1}}},
        error=InvalidPatch,
    ),
    Case(
        "order-items-need-merge-key",
        ports({"port": 1}),
        {"spec": {"$setElementOrder/ports": [{"name": "x"}]}},
        error=InvalidPatch,
        match="merge key",
    ),
    Case(
        # a map field (selector) merges key by key.
        "selector-map-merges",
        {"spec": {"selector": {"app": "a", "tier": "web"}}},
        {"spec": {"selector": {"tier": "db"}}},
        {"spec": {"selector": {"app": "a", "tier": "db"}}},
    ),
]


@params(DEPLOYMENT_CASES)
def test_strategic_merge_patch_deployment(case: Case) -> None:
    check(strategic_merge_patch, case, DEPLOYMENT)


@params(FINALIZERS_CASES)
def test_strategic_merge_patch_primitive_list(case: Case) -> None:
    check(strategic_merge_patch, case, DEPLOYMENT)


@params(SERVICE_PORTS_CASES)
def test_strategic_merge_patch_service(case: Case) -> None:
    check(strategic_merge_patch, case, SERVICE)


NO_SCHEMA_CASES = [
    Case(
        "no-schema-lists-replace-maps-merge",
        {"a": {"x": 1, "l": [{"name": "n"}]}},
        {"a": {"y": 2, "l": [{"name": "m"}]}},
        {"a": {"x": 1, "l": [{"name": "m"}], "y": 2}},
    ),
    Case(
        "no-schema-directives-still-apply",
        {"a": {"x": 1}, "b": {"y": 1}},
        {"a": {"$patch": "replace", "z": 1}, "b": {"$patch": "delete"}},
        {"a": {"z": 1}, "b": {}},
    ),
]


@params(NO_SCHEMA_CASES)
def test_strategic_merge_patch_without_schema(case: Case) -> None:
    check(strategic_merge_patch, case, None)


def test_strategic_merge_patch_result_shares_nothing_with_inputs() -> None:
    doc = pod(containers=[copy.deepcopy(APP)])
    patch = pod(containers=[{"name": "new", "env": [{"name": "X"}]}], nodeSelector={"a": "b"})
    before = copy.deepcopy((doc, patch))
    got = strategic_merge_patch(doc, patch, DEPLOYMENT)
    for c in got["spec"]["template"]["spec"]["containers"]:
        c["env"].append({"name": "mutated"})
    got["spec"]["template"]["spec"]["nodeSelector"]["c"] = "d"
    assert (doc, patch) == before


def test_error_codes() -> None:
    assert InvalidPatch.code == 400
    assert PatchConflict.code == 422
    assert PatchTestFailed.code == 422
    assert issubclass(PatchTestFailed, PatchConflict)
