"""pods/binding semantics (upstream registry/core/pod/storage BindingREST)."""

from __future__ import annotations

import pytest

from svcnet.api.errors import APIError
from svcnet.apiserver.podsubresources import bind


def pod(node: str = "", deleting: bool = False) -> dict:
    meta: dict = {"name": "p", "namespace": "default"}
    if deleting:
        meta["deletionTimestamp"] = "2026-01-01T00:00:00Z"
    return {
        "metadata": meta,
        "spec": {"nodeName": node} if node else {},
        "status": {"phase": "Pending"},
    }


def test_binding_sets_node_and_pod_scheduled() -> None:
    out = bind(pod(), "n1", "2026-01-01T00:00:00Z")
    assert out["spec"]["nodeName"] == "n1"
    assert out["status"]["conditions"] == [
        {
            "type": "PodScheduled",
            "status": "True",
            "lastProbeTime": None,
            "lastTransitionTime": "2026-01-01T00:00:00Z",
        }
    ]


@pytest.mark.parametrize(
    ("p", "fragment"),
    [
        (pod(node="n0"), 'pod p is already assigned to node "n0"'),
        (pod(deleting=True), "pod is being deleted"),
    ],
    ids=["already assigned -> 409 Conflict", "terminating pod -> 409 Conflict"],
)
def test_binding_conflicts(p: dict, fragment: str) -> None:
    with pytest.raises(APIError) as e:
        bind(p, "n1", "t")
    assert e.value.code == 409 and fragment in e.value.message
