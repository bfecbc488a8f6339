"""ReplicaSet core: upstream pkg/controller/replicaset (syncReplicaSet,
manageReplicas, calculateStatus) and controller_utils.go (ClaimPods,
ActivePodsWithRanks, GetPodFromTemplate), rule by rule."""

from __future__ import annotations

import copy
import datetime as dt
from dataclasses import dataclass, field
from typing import Any

import pytest

from svcnet.controllers import replicaset as rsc

T0 = dt.datetime(2024, 1, 1, tzinfo=dt.UTC)


def ts(seconds: float = 0) -> str:
    return rsc.rfc3339(T0 + dt.timedelta(seconds=seconds))


def rs(replicas: int = 3, **spec: Any) -> dict:
    return {
        "apiVersion": "apps/v1",
        "kind": "ReplicaSet",
        "metadata": {"name": "web-abc", "namespace": "default", "uid": "rs-uid", "generation": 2},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": {"app": "web"}},
            "template": {
                "metadata": {"labels": {"app": "web", "tier": "fe"}},
                "spec": {"containers": [{"name": "c", "image": "nginx"}]},
            },
            **spec,
        },
    }


def pod(
    name: str,
    *,
    node: str = "n1",
    phase: str = "Running",
    ready: bool | None = True,
    ready_since: float = -3600,
    restarts: int = 0,
    age: float = 3600,
    owner: str | None = "rs-uid",
    labels: dict | None = None,
    deleting: bool = False,
    **extra_meta: Any,
) -> dict:
    meta: dict = {
        "name": name,
        "namespace": "default",
        "uid": f"uid-{name}",
        "labels": {"app": "web", "tier": "fe"} if labels is None else labels,
        "creationTimestamp": ts(-age),
        **extra_meta,
    }
    if owner:
        meta["ownerReferences"] = [{"uid": owner, "controller": True, "kind": "ReplicaSet"}]
    if deleting:
        meta["deletionTimestamp"] = ts()
    status: dict = {"phase": phase, "containerStatuses": [{"restartCount": restarts}]}
    if ready is not None:
        status["conditions"] = [
            {
                "type": "Ready",
                "status": "True" if ready else "False",
                "lastTransitionTime": ts(ready_since),
            }
        ]
    return {"metadata": meta, "spec": {"nodeName": node}, "status": status}


def names(pods: list[dict]) -> list[str]:
    return [p["metadata"]["name"] for p in pods]


# --------------------------------------------------------------------------
# Deletion ranking (ActivePodsWithRanks)


@dataclass(frozen=True)
class RankCase:
    id: str
    pods: list[dict]
    first: str
    now: dt.datetime | None = None
    related: list[dict] = field(default_factory=list)


RANK_CASES = [
    RankCase(
        "scale down deletes unscheduled before running (1. unassigned < assigned)",
        [pod("a"), pod("b", node="", phase="Pending", ready=None)],
        "b",
    ),
    RankCase(
        "pending before unknown before running (2. PodPending < PodUnknown < PodRunning)",
        [pod("run"), pod("unk", phase="Unknown"), pod("pend", phase="Pending", ready=False)],
        "pend",
    ),
    RankCase(
        "unknown before running (2.)",
        [pod("run"), pod("unk", phase="Unknown")],
        "unk",
    ),
    RankCase(
        "not ready before ready (3.)",
        [pod("ready"), pod("notready", ready=False)],
        "notready",
    ),
    RankCase(
        "lower pod-deletion-cost first (4.)",
        [
            pod("costly", annotations={"controller.kubernetes.io/pod-deletion-cost": "100"}),
            pod("cheap", annotations={"controller.kubernetes.io/pod-deletion-cost": "-5"}),
        ],
        "cheap",
    ),
    RankCase(
        "doubled up on a node with related pods first (5. rank)",
        [pod("alone", node="n1"), pod("crowded", node="n2")],
        "crowded",
        related=[pod("sib1", node="n2", owner="other"), pod("sib2", node="n2", owner="other")],
    ),
    RankCase(
        "shorter ready time first (6.)",
        [pod("old", ready_since=-7200), pod("young", ready_since=-60)],
        "young",
    ),
    RankCase(
        "more restarts first (7.)",
        [pod("calm", restarts=0), pod("crashy", restarts=5)],
        "crashy",
    ),
    RankCase(
        "newer creation first (8.)",
        [pod("elder", age=7200), pod("newer", age=60)],
        "newer",
    ),
    RankCase(
        "LogarithmicScaleDown: ready times in one log2 bucket tie, restarts decide",
        [pod("a", ready_since=-1010, restarts=3), pod("b", ready_since=-1000)],
        "a",
        now=T0,
    ),
]


@pytest.mark.parametrize("c", RANK_CASES, ids=lambda c: c.id)
def test_deletion_order(c: RankCase) -> None:
    ranks = rsc.deletion_ranks(c.pods, c.related)
    assert names(rsc.deletion_order(c.pods, ranks, c.now))[0] == c.first


# --------------------------------------------------------------------------
# plan


@dataclass
class PlanCase:
    id: str
    rs: dict
    pods: list[dict]
    create: int = 0
    delete: list[str] = field(default_factory=list)
    adopt: list[str] = field(default_factory=list)
    release: list[str] = field(default_factory=list)
    owned: int | None = None
    burst: int = rsc.BURST_REPLICAS


PLAN_CASES = [
    PlanCase(
        "scale up creates the missing replicas (manageReplicas diff < 0)", rs(3), [pod("a")], 2
    ),
    PlanCase("creations capped at burstReplicas per sync", rs(600), [], create=500),
    PlanCase(
        "deletions capped at the burst too",
        rs(0),
        [pod(f"p{i}") for i in range(4)],
        delete=["p0", "p1"],
        burst=2,
    ),
    PlanCase(
        "scale down deletes unscheduled before running",
        rs(1),
        [pod("sched"), pod("unsched", node="", phase="Pending", ready=None)],
        delete=["unsched"],
    ),
    PlanCase("steady state does nothing", rs(2), [pod("a"), pod("b")], owned=2),
    PlanCase(
        "inactive pods are not counted (FilterActivePods: Succeeded, Failed, deleting)",
        rs(2),
        [pod("done", phase="Succeeded"), pod("failed", phase="Failed"), pod("bye", deleting=True)],
        create=2,
        owned=0,
    ),
    PlanCase(
        "pods controlled by another owner are ignored (ClaimPods)",
        rs(1),
        [pod("theirs", owner="other-uid")],
        create=1,
        owned=0,
    ),
    PlanCase(
        "orphan matching the selector is adopted and counted",
        rs(1),
        [pod("orphan", owner=None)],
        adopt=["orphan"],
        owned=1,
    ),
    PlanCase(
        "owned pod no longer matching the selector is released",
        rs(1),
        [pod("relabelled", labels={"app": "other"})],
        create=1,
        release=["relabelled"],
        owned=0,
    ),
    PlanCase(
        "terminating orphan is not adopted",
        rs(1),
        [pod("orphan", owner=None, deleting=True)],
        create=1,
        owned=0,
    ),
    PlanCase(
        "a ReplicaSet being deleted creates and deletes nothing",
        {**rs(5), "metadata": {**rs()["metadata"], "deletionTimestamp": ts()}},
        [pod("a")],
        owned=1,
    ),
]


@pytest.mark.parametrize("c", PLAN_CASES, ids=lambda c: c.id)
def test_plan(c: PlanCase) -> None:
    before = copy.deepcopy(c.pods)
    got = rsc.plan(c.rs, c.pods, burst=c.burst)
    assert c.pods == before
    assert got.create == c.create
    assert names(got.delete) == c.delete
    assert names(got.adopt) == c.adopt
    assert names(got.release) == c.release
    if c.owned is not None:
        assert len(got.owned) == c.owned


def test_adopt_and_release_patches_carry_uid_precondition() -> None:
    p = pod("orphan", owner=None)
    ref = rsc.controller_ref(rs(), "apps/v1", "ReplicaSet")
    assert rsc.adopt_patch(p, ref) == {"metadata": {"ownerReferences": [ref], "uid": "uid-orphan"}}
    assert rsc.release_patch(pod("x"), "rs-uid") == {
        "metadata": {"ownerReferences": None, "uid": "uid-x"}
    }


def test_slow_start_batches() -> None:
    assert rsc.slow_start_batches(10) == [1, 2, 4, 3]
    assert rsc.slow_start_batches(0) == []


def test_pod_from_template() -> None:
    r = rs()
    r["spec"]["template"]["metadata"]["annotations"] = {"a": "b"}
    got = rsc.pod_from_template(r)
    assert got["metadata"] == {
        "generateName": "web-abc-",
        "namespace": "default",
        "labels": {"app": "web", "tier": "fe"},
        "annotations": {"a": "b"},
        "ownerReferences": [
            {
                "apiVersion": "apps/v1",
                "kind": "ReplicaSet",
                "name": "web-abc",
                "uid": "rs-uid",
                "controller": True,
                "blockOwnerDeletion": True,
            }
        ],
    }
    assert got["spec"] == r["spec"]["template"]["spec"]
    assert got["spec"] is not r["spec"]["template"]["spec"]
    assert rsc.pod_from_template(r, name_suffix="x7k2p")["metadata"]["name"] == "web-abc-x7k2p"


# --------------------------------------------------------------------------
# status (calculateStatus)


@dataclass
class StatusCase:
    id: str
    rs: dict
    pods: list[dict]
    want: dict
    manage_error: str | None = None


STATUS_CASES = [
    StatusCase(
        "counts replicas, fullyLabeled, ready, available; observedGeneration",
        rs(3),
        [pod("a"), pod("b", ready=False), pod("c", labels={"app": "web"})],
        {
            "replicas": 3,
            "fullyLabeledReplicas": 2,
            "readyReplicas": 2,
            "availableReplicas": 2,
            "observedGeneration": 2,
        },
    ),
    StatusCase(
        "minReadySeconds: ready for less is not available (IsPodAvailable)",
        rs(2, minReadySeconds=30),
        [pod("old", ready_since=-60), pod("fresh", ready_since=-10)],
        {
            "replicas": 2,
            "fullyLabeledReplicas": 2,
            "readyReplicas": 2,
            "availableReplicas": 1,
            "observedGeneration": 2,
        },
    ),
    StatusCase(
        "failed create sets ReplicaFailure FailedCreate",
        rs(2),
        [],
        {
            "replicas": 0,
            "observedGeneration": 2,
            "conditions": [
                {
                    "type": "ReplicaFailure",
                    "status": "True",
                    "lastTransitionTime": ts(),
                    "reason": "FailedCreate",
                    "message": 'pods "web-abc-" is forbidden: exceeded quota',
                }
            ],
        },
        manage_error='pods "web-abc-" is forbidden: exceeded quota',
    ),
    StatusCase(
        "a clean sync removes ReplicaFailure",
        {**rs(0), "status": {"conditions": [{"type": "ReplicaFailure", "status": "True"}]}},
        [],
        {"replicas": 0, "observedGeneration": 2},
    ),
]


@pytest.mark.parametrize("c", STATUS_CASES, ids=lambda c: c.id)
def test_status(c: StatusCase) -> None:
    assert rsc.status(c.rs, c.pods, T0, c.manage_error) == c.want


def test_requeue_after_min_ready_seconds() -> None:
    r = rs(2, minReadySeconds=30)
    st = rsc.status(r, [pod("a", ready_since=-5), pod("b", ready_since=-5)], T0)
    assert rsc.requeue_after(r, st) == 30
    assert rsc.requeue_after(rs(2), rsc.status(rs(2), [pod("a"), pod("b")], T0)) is None
