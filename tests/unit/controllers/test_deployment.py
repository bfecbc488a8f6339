"""Deployment core: upstream pkg/controller/deployment (sync.go, rolling.go,
recreate.go, progress.go, util/deployment_util.go) rule by rule, plus a
small simulated cluster driving whole rollouts to `kubectl rollout status`."""

from __future__ import annotations

import copy
import datetime as dt
import itertools
import os
import subprocess
import sys
from dataclasses import dataclass, field
from typing import Any

import pytest

from svcnet.controllers import deployment as dep
from svcnet.controllers import replicaset as rsc
from svcnet.controllers.hashing import SAFE_ALPHABET, fnv32a, pod_template_hash

T0 = dt.datetime(2024, 1, 1, tzinfo=dt.UTC)


def ts(seconds: float = 0) -> str:
    return rsc.rfc3339(T0 + dt.timedelta(seconds=seconds))


def template(image: str = "nginx:1") -> dict:
    return {
        "metadata": {"labels": {"app": "web"}},
        "spec": {"containers": [{"name": "c", "image": image}]},
    }


def deployment(
    replicas: int = 3,
    image: str = "nginx:1",
    surge: Any = "25%",
    unavailable: Any = "25%",
    strategy: str = "RollingUpdate",
    status: dict | None = None,
    **spec: Any,
) -> dict:
    strat: dict = {"type": strategy}
    if strategy == "RollingUpdate":
        strat["rollingUpdate"] = {"maxSurge": surge, "maxUnavailable": unavailable}
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "web", "namespace": "default", "uid": "d-uid", "generation": 1},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": {"app": "web"}},
            "template": template(image),
            "strategy": strat,
            "revisionHistoryLimit": 10,
            "progressDeadlineSeconds": 600,
            **spec,
        },
        "status": status or {},
    }


def rs_for(
    d: dict,
    image: str,
    replicas: int,
    available: int | None = None,
    revision: int = 1,
    age: int = 100,
    desired: int | None = None,
    max_replicas: int | None = None,
    status_replicas: int | None = None,
) -> dict:
    """A ReplicaSet the controller made earlier for template(image)."""
    h = pod_template_hash(template(image))
    tmpl = template(image)
    tmpl["metadata"]["labels"]["pod-template-hash"] = h
    want = d["spec"]["replicas"] if desired is None else desired
    available = replicas if available is None else available
    return {
        "apiVersion": "apps/v1",
        "kind": "ReplicaSet",
        "metadata": {
            "name": f"web-{h}",
            "namespace": "default",
            "uid": f"uid-{image}",
            "generation": 1,
            "creationTimestamp": ts(-age),
            "labels": dict(tmpl["metadata"]["labels"]),
            "annotations": {
                dep.REVISION: str(revision),
                dep.DESIRED_REPLICAS: str(want),
                dep.MAX_REPLICAS: str(max_replicas if max_replicas is not None else want + 1),
            },
            "ownerReferences": [rsc.controller_ref(d, "apps/v1", "Deployment")],
        },
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": {"app": "web", "pod-template-hash": h}},
            "template": tmpl,
        },
        "status": {
            "replicas": replicas if status_replicas is None else status_replicas,
            "readyReplicas": available,
            "availableReplicas": available,
            "observedGeneration": 1,
        },
    }


def name_of(image: str) -> str:
    return f"web-{pod_template_hash(template(image))}"


def sizes(actions: dep.Actions) -> dict[str, int]:
    return {
        rs["metadata"]["name"]: rs["spec"]["replicas"] for rs in actions.create + actions.update
    }


def cond(status: dict | None, ctype: str) -> dict:
    return dep.get_condition(status, ctype) or {}


# --------------------------------------------------------------------------
# pod-template-hash (controller.ComputeHash)


def test_fnv32a_matches_the_reference_vectors() -> None:
    assert fnv32a(b"") == 0x811C9DC5
    assert fnv32a(b"a") == 0xE40C292C
    assert fnv32a(b"foobar") == 0xBF9CF968


@dataclass(frozen=True)
class HashCase:
    id: str
    a: tuple[dict, int | None]
    b: tuple[dict, int | None]
    equal: bool


HASH_CASES = [
    HashCase("same template, same hash", (template(), None), (template(), None), True),
    HashCase("key order does not matter", ({"b": 1, "a": 2}, None), ({"a": 2, "b": 1}, None), True),
    HashCase(
        "image change changes the hash", (template("v1"), None), (template("v2"), None), False
    ),
    HashCase("collisionCount changes the hash", (template(), None), (template(), 1), False),
    HashCase(
        "collisionCount 0 differs from nil, as upstream", (template(), None), (template(), 0), False
    ),
]


@pytest.mark.parametrize("c", HASH_CASES, ids=lambda c: c.id)
def test_pod_template_hash(c: HashCase) -> None:
    ha, hb = pod_template_hash(*c.a), pod_template_hash(*c.b)
    assert (ha == hb) is c.equal
    assert set(ha) <= set(SAFE_ALPHABET) and 1 <= len(ha) <= 10


def test_pod_template_hash_is_stable_across_processes() -> None:
    code = "from svcnet.controllers.hashing import pod_template_hash as h; print(h({'a': [1, 'x']}, 2))"
    outs = {
        subprocess.run(
            [sys.executable, "-c", code],
            env={**os.environ, "PYTHONHASHSEED": seed},
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        for seed in ("1", "2")
    }
    assert outs == {pod_template_hash({"a": [1, "x"]}, 2) + "\n"}


# --------------------------------------------------------------------------
# Fenceposts


@dataclass(frozen=True)
class FenceCase:
    id: str
    surge: Any
    unavailable: Any
    desired: int
    want: tuple[int, int]


FENCE_CASES = [
    FenceCase("defaults 25%/25% of 4 give 1/1", "25%", "25%", 4, (1, 1)),
    FenceCase("surge rounds up, unavailable rounds down (10 -> 3/2)", "25%", "25%", 10, (3, 2)),
    FenceCase("25%/25% of 1 gives surge 1, unavailable 0", "25%", "25%", 1, (1, 0)),
    FenceCase("both resolving to 0 forces maxUnavailable 1", "10%", "10%", 1, (1, 0)),
    FenceCase("explicit 0/0 forces maxUnavailable 1 (ResolveFenceposts)", 0, 0, 3, (0, 1)),
    FenceCase("absolute numbers pass through", 2, 3, 10, (2, 3)),
    FenceCase("0% of anything plus 0 gives 0/1", "0%", 0, 5, (0, 1)),
]


@pytest.mark.parametrize("c", FENCE_CASES, ids=lambda c: c.id)
def test_resolve_fenceposts(c: FenceCase) -> None:
    assert dep.resolve_fenceposts(c.surge, c.unavailable, c.desired) == c.want


def test_non_percentage_string_is_an_error() -> None:
    with pytest.raises(dep.DeploymentError, match="string is not a percentage"):
        dep.scaled_value("5", 10, True)


def test_max_unavailable_is_capped_at_replicas() -> None:
    assert dep.max_unavailable(deployment(replicas=2, unavailable=5)) == 2
    assert dep.max_unavailable(deployment(replicas=3, strategy="Recreate")) == 0
    assert dep.max_surge(deployment(replicas=3, strategy="Recreate")) == 0


# --------------------------------------------------------------------------
# One sync, rule by rule


@dataclass
class SyncCase:
    id: str
    d: dict
    rss: list[dict]
    want_sizes: dict[str, int]
    pods: list[dict] = field(default_factory=list)
    want_deleted: list[str] = field(default_factory=list)
    want_events: list[str] = field(default_factory=list)
    progressing: tuple[str, str] | None = None  # (reason, message)
    now: float = 0


def _mid_rollout() -> tuple[dict, list[dict]]:
    """10 replicas, maxSurge 3, maxUnavailable 2: old 8 + new 5 (upstream's example)."""
    d = deployment(replicas=15, image="v2", surge=3, unavailable=2)
    old = rs_for(d, "v1", 8, desired=10, max_replicas=13, age=200)
    new = rs_for(d, "v2", 5, available=0, revision=2, desired=10, max_replicas=13)
    return d, [old, new]


def _limit_case() -> tuple[dict, list[dict]]:
    d = deployment(replicas=2, image="v4", revisionHistoryLimit=2)
    rss = [
        rs_for(d, "v1", 0, revision=1, age=400),
        rs_for(d, "v2", 0, revision=2, age=300),
        rs_for(d, "v3", 0, revision=3, age=200),
        rs_for(d, "v4", 2, revision=4, age=100),
    ]
    d["status"] = {
        "observedGeneration": 1,
        "replicas": 2,
        "updatedReplicas": 2,
        "availableReplicas": 2,
        "readyReplicas": 2,
    }
    return d, rss


def _old_pod(phase: str = "Running") -> dict:
    return {
        "metadata": {
            "name": "old-pod",
            "namespace": "default",
            "labels": {"app": "web"},
            "ownerReferences": [{"uid": "uid-v1", "controller": True}],
            "deletionTimestamp": ts(),
        },
        "status": {"phase": phase},
    }


def settled(n: int) -> dict:
    """The status of a Deployment whose last rollout finished with n replicas."""
    return {
        "observedGeneration": 1,
        "replicas": n,
        "updatedReplicas": n,
        "readyReplicas": n,
        "availableReplicas": n,
    }


_D4 = deployment(replicas=4, image="v2", status=settled(4))
_D3_NO_SURGE = deployment(replicas=3, image="v2", surge=0, unavailable=1)
_RECREATE = deployment(replicas=3, image="v2", strategy="Recreate")
_MID = _mid_rollout()
_LIMIT = _limit_case()

SYNC_CASES = [
    SyncCase(
        "new deployment creates <deploy>-<hash> scaled to the surge limit (getNewReplicaSet)",
        deployment(replicas=3),
        [],
        {name_of("nginx:1"): 3},
        want_events=[f"Scaled up replica set {name_of('nginx:1')} from 0 to 3"],
        progressing=("NewReplicaSetCreated", f'Created new replica set "{name_of("nginx:1")}"'),
    ),
    SyncCase(
        "rolling update 25%/25% with 4 replicas surges 1 and scales old down 1 (rolling.go)",
        _D4,
        [rs_for(_D4, "v1", 4)],
        {name_of("v2"): 1, name_of("v1"): 3},
        want_events=[
            f"Scaled up replica set {name_of('v2')} from 0 to 1",
            f"Scaled down replica set {name_of('v1')} from 4 to 3",
        ],
        progressing=("NewReplicaSetCreated", f'Created new replica set "{name_of("v2")}"'),
    ),
    SyncCase(
        "maxSurge 0 maxUnavailable 1 creates the new RS at 0 and scales old down first",
        _D3_NO_SURGE,
        [rs_for(_D3_NO_SURGE, "v1", 3)],
        {name_of("v2"): 0, name_of("v1"): 2},
    ),
    SyncCase(
        "new RS pods unavailable block old scale-down (reconcileOldReplicaSets maxScaledDown)",
        _D4,
        [rs_for(_D4, "v1", 3), rs_for(_D4, "v2", 2, available=0, revision=2, age=10)],
        {},
    ),
    SyncCase(
        "cleanupUnhealthyReplicas scales down unavailable old replicas first",
        _D4,
        [
            rs_for(_D4, "v1", 4, available=2, age=300),
            rs_for(_D4, "v2", 1, available=1, revision=2, age=10),
        ],
        {name_of("v1"): 2},
    ),
    SyncCase(
        "proportional scaling when spec.replicas changes mid-rollout (scale, 8+5 -> 11+7)",
        _MID[0],
        _MID[1],
        {name_of("v1"): 11, name_of("v2"): 7},
        want_events=[
            f"Scaled up replica set {name_of('v1')} from 8 to 11",
            f"Scaled up replica set {name_of('v2')} from 5 to 7",
        ],
    ),
    SyncCase(
        "scaling event with one active RS scales it to spec.replicas (FindActiveOrLatest)",
        deployment(replicas=5, image="v1"),
        [rs_for(deployment(), "v1", 3)],
        {name_of("v1"): 5},
    ),
    SyncCase(
        "Recreate scales old RSs to 0 before anything else (rolloutRecreate)",
        _RECREATE,
        [rs_for(_RECREATE, "v1", 3)],
        {name_of("v1"): 0},
    ),
    SyncCase(
        "Recreate waits for old pods (oldPodsRunning counts terminating pods)",
        _RECREATE,
        [rs_for(_RECREATE, "v1", 0, available=0, status_replicas=0)],
        {},
        pods=[_old_pod()],
    ),
    SyncCase(
        "Recreate creates the new RS at full size once old pods are gone",
        _RECREATE,
        [rs_for(_RECREATE, "v1", 0, available=0, status_replicas=0)],
        {name_of("v2"): 3},
        pods=[_old_pod("Succeeded")],
    ),
    SyncCase(
        "revisionHistoryLimit 2 deletes oldest zero-replica RS (cleanupDeployment)",
        _LIMIT[0],
        _LIMIT[1],
        {},
        want_deleted=[name_of("v1")],
        progressing=(
            "NewReplicaSetAvailable",
            f'ReplicaSet "{name_of("v4")}" has successfully progressed.',
        ),
    ),
    SyncCase(
        "paused deployment does not create the new RS (checkPausedConditions)",
        deployment(replicas=3, image="v2", paused=True),
        [rs_for(deployment(), "v1", 3)],
        {},
        progressing=("DeploymentPaused", "Deployment is paused"),
    ),
]


@pytest.mark.parametrize("c", SYNC_CASES, ids=lambda c: c.id)
def test_sync(c: SyncCase) -> None:
    before = copy.deepcopy((c.d, c.rss))
    out = dep.sync(c.d, c.rss, c.pods, T0 + dt.timedelta(seconds=c.now))
    assert (c.d, c.rss) == before, "inputs must not be modified"
    assert sizes(out) == c.want_sizes
    assert [rs["metadata"]["name"] for rs in out.delete] == c.want_deleted
    if c.want_events:
        assert [e.message for e in out.events] == c.want_events
    if c.progressing:
        got = cond(out.status, "Progressing")
        assert (got.get("reason"), got.get("message")) == c.progressing


@dataclass(frozen=True)
class ScaleCase:
    id: str
    replicas: tuple[int, int]  # (before, after)
    new: int | None
    olds: tuple[int, ...]  # newest first
    want_new: int | None
    want_olds: tuple[int, ...]
    surge: tuple[int, int] = (0, 0)  # (before, after)
    new_available: int | None = None


# Upstream sync_test.go TestScale, ported (maxSurge/maxUnavailable 0 unless given).
SCALE_CASES = [
    ScaleCase("normal scaling event: 10 -> 12", (10, 12), 10, (), 12, ()),
    ScaleCase("normal scaling event: 10 -> 5", (10, 5), 10, (), 5, ()),
    ScaleCase("proportional scaling: 5 -> 10", (5, 10), 2, (3,), 4, (6,)),
    ScaleCase("proportional scaling: 5 -> 3", (5, 3), 2, (3,), 1, (2,)),
    ScaleCase("proportional scaling: 9 -> 4", (9, 4), 8, (1,), 4, (0,)),
    ScaleCase("proportional scaling: 7 -> 10", (7, 10), 2, (3, 2), 3, (4, 3)),
    ScaleCase("proportional scaling: 13 -> 8", (13, 8), 2, (8, 3), 1, (5, 2)),
    ScaleCase("leftover distribution: 3 -> 4 scales up the new RS", (3, 4), 1, (1, 1), 2, (1, 1)),
    ScaleCase(
        "leftover distribution: 3 -> 2 scales down the older RS", (3, 2), 1, (1, 1), 1, (1, 0)
    ),
    ScaleCase("proportional scaling (no new rs): 4 -> 5", (4, 5), None, (2, 2), None, (3, 2)),
    ScaleCase("proportional scaling: 6 -> 0", (6, 0), 3, (2, 1), 0, (0, 0)),
    ScaleCase("proportional scaling: 0 -> 6 scales up the newest", (6, 6), 0, (0, 0), 6, (0, 0)),
    ScaleCase("deployment with surge pods", (10, 20), 6, (6,), 11, (11,), surge=(2, 2)),
    ScaleCase("change both surge and size", (10, 50), 5, (8,), 22, (34,), surge=(3, 6)),
    ScaleCase("change both size and template", (10, 14), None, (7, 3), None, (10, 4)),
    ScaleCase(
        "saturated but broken new replica set does not affect old pods",
        (2, 2),
        2,
        (1,),
        2,
        (1,),
        surge=(1, 1),
        new_available=0,
    ),
]


@pytest.mark.parametrize("c", SCALE_CASES, ids=lambda c: c.id)
def test_scale(c: ScaleCase) -> None:
    def make(name: str, n: int, age: int, before: int, surge: int) -> dict:
        return {
            "metadata": {
                "name": name,
                "creationTimestamp": ts(-age),
                "annotations": {
                    dep.DESIRED_REPLICAS: str(before),
                    dep.MAX_REPLICAS: str(before + surge),
                },
            },
            "spec": {"replicas": n},
            "status": {"availableReplicas": n},
        }

    d = deployment(c.replicas[1], surge=c.surge[1], unavailable=1 if c.surge[1] else 0)
    s = dep._Sync(d, [], [], T0)
    new = None if c.new is None else make("new", c.new, 1, c.replicas[0], c.surge[0])
    if new is not None and c.new_available is not None:
        new["status"]["availableReplicas"] = c.new_available
    olds = [
        make(f"old{i}", n, 10 * (i + 2), c.replicas[0], c.surge[0]) for i, n in enumerate(c.olds)
    ]
    s.scale(new, olds)
    assert (None if new is None else new["spec"]["replicas"]) == c.want_new
    assert tuple(rs["spec"]["replicas"] for rs in olds) == c.want_olds


def test_new_replicaset_shape() -> None:
    """pod-template-hash on selector, labels and template; revision and replica annotations."""
    d = deployment(replicas=4)
    d["metadata"]["annotations"] = {
        "kubernetes.io/change-cause": "kubectl set image",
        "kubectl.kubernetes.io/last-applied-configuration": "{}",
    }
    out = dep.sync(d, [], [], T0)
    (rs,) = out.create
    h = pod_template_hash(d["spec"]["template"])
    assert rs["metadata"]["name"] == f"web-{h}"
    assert rs["metadata"]["labels"] == {"app": "web", "pod-template-hash": h}
    assert rs["spec"]["selector"] == {"matchLabels": {"app": "web", "pod-template-hash": h}}
    assert rs["spec"]["template"]["metadata"]["labels"]["pod-template-hash"] == h
    assert rs["metadata"]["annotations"] == {
        "kubernetes.io/change-cause": "kubectl set image",
        dep.REVISION: "1",
        dep.DESIRED_REPLICAS: "4",
        dep.MAX_REPLICAS: "5",
    }
    ref = rs["metadata"]["ownerReferences"][0]
    assert ref["kind"] == "Deployment" and ref["uid"] == "d-uid" and ref["controller"]
    assert out.annotations == {**d["metadata"]["annotations"], dep.REVISION: "1"}


def test_revision_is_max_old_plus_one_and_rollback_keeps_history() -> None:
    d = deployment(replicas=2, image="v1")
    old_current = rs_for(d, "v2", 2, revision=2, age=10)
    back = rs_for(d, "v1", 0, revision=1, age=100)
    out = dep.sync(d, [back, old_current], [], T0)
    upd = {rs["metadata"]["name"]: rs for rs in out.update}
    ann = upd[name_of("v1")]["metadata"]["annotations"]
    assert ann[dep.REVISION] == "3"
    assert ann[dep.REVISION_HISTORY] == "1"
    assert out.annotations[dep.REVISION] == "3"


def test_adopts_orphan_replicaset_matching_selector() -> None:
    d = deployment(replicas=2, image="v1")
    orphan = rs_for(d, "v1", 2)
    orphan["metadata"]["ownerReferences"] = []
    foreign = rs_for(d, "v9", 1)
    foreign["metadata"]["ownerReferences"] = [{"uid": "other", "controller": True}]
    out = dep.sync(d, [orphan, foreign], [], T0)
    (adopted,) = out.update
    assert adopted["metadata"]["ownerReferences"][0]["uid"] == "d-uid"
    assert not out.create


def test_hash_collision_bumps_collision_count() -> None:
    d = deployment(replicas=1, image="v2")
    squatter = rs_for(d, "v1", 1)
    squatter["metadata"]["name"] = name_of("v2")
    squatter["metadata"]["ownerReferences"] = [{"uid": "someone-else", "controller": True}]
    out = dep.sync(d, [squatter], [], T0)
    assert not out.create
    assert out.status["collisionCount"] == 1
    assert out.requeue_after == 0
    d["status"] = out.status
    out = dep.sync(d, [squatter], [], T0)
    assert out.create[0]["metadata"]["name"] == f"web-{pod_template_hash(template('v2'), 1)}"


def test_selecting_all_pods_is_refused() -> None:
    d = deployment()
    d["spec"]["selector"] = {}
    out = dep.sync(d, [], [], T0)
    assert not out.create
    assert out.events == [
        dep.Event(
            "Warning",
            "SelectingAll",
            "This deployment is selecting all pods. A non-empty selector is required.",
        )
    ]
    assert out.status == {"observedGeneration": 1}


def test_progress_deadline_exceeded() -> None:
    d = deployment(replicas=2, image="v2")
    d["status"] = {
        "observedGeneration": 1,
        "replicas": 3,
        "updatedReplicas": 1,
        "availableReplicas": 2,
        "readyReplicas": 2,
        "conditions": [
            {
                "type": "Progressing",
                "status": "True",
                "reason": "ReplicaSetUpdated",
                "message": "x",
                "lastUpdateTime": ts(-601),
                "lastTransitionTime": ts(-601),
            }
        ],
    }
    rss = [rs_for(d, "v1", 2, age=300), rs_for(d, "v2", 1, available=0, revision=2)]
    out = dep.sync(d, rss, [], T0)
    got = cond(out.status, "Progressing")
    assert (got["status"], got["reason"], got["message"]) == (
        "False",
        "ProgressDeadlineExceeded",
        f'ReplicaSet "{name_of("v2")}" has timed out progressing.',
    )
    d["status"] = out.status
    with pytest.raises(
        dep.DeploymentError, match='deployment "web" exceeded its progress deadline'
    ):
        dep.rollout_status(d)


def test_stuck_deployment_is_requeued_at_its_deadline() -> None:
    d = deployment(replicas=2, image="v2")
    rss = [rs_for(d, "v1", 2, age=300), rs_for(d, "v2", 1, available=0, revision=2)]
    d["status"] = dep.sync(d, rss, [], T0).status
    out = dep.sync(d, rss, [], T0 + dt.timedelta(seconds=100))
    assert out.status is None  # nothing changed
    assert out.requeue_after == 501  # lastUpdate + 600s - now, plus a second


# --------------------------------------------------------------------------
# A small cluster: Deployment + ReplicaSet cores until kubectl says done


class Cluster:
    def __init__(self, d: dict, ready_delay: int = 0) -> None:
        self.d, self.rss, self.pods = d, {}, {}
        self.now = T0
        self.ready_delay = ready_delay
        self.ids = itertools.count()
        self.max_total = 0
        self.min_available = 10**9

    def step(self) -> None:
        out = dep.sync(self.d, list(self.rss.values()), list(self.pods.values()), self.now)
        for rs in out.create:
            rs = copy.deepcopy(rs)
            rs["metadata"].update(
                uid=f"rs-{next(self.ids)}", generation=1, creationTimestamp=rsc.rfc3339(self.now)
            )
            rs["status"] = {}
            self.rss[rs["metadata"]["name"]] = rs
        for rs in out.update:
            cur = self.rss[rs["metadata"]["name"]]
            if cur["spec"] != rs["spec"]:
                rs = {**copy.deepcopy(rs), "status": cur["status"]}
                rs["metadata"]["generation"] += 1
            self.rss[rs["metadata"]["name"]] = rs
        for rs in out.delete:
            del self.rss[rs["metadata"]["name"]]
        if out.annotations is not None:
            self.d["metadata"]["annotations"] = out.annotations
        if out.status is not None:
            self.d["status"] = out.status
        self.run_replicasets()
        self.now += dt.timedelta(seconds=1)
        self.check_invariants()

    def run_replicasets(self) -> None:
        for p in self.pods.values():  # pods turn ready after ready_delay seconds
            born = rsc.parse_time(p["metadata"]["creationTimestamp"])
            if self.now - born >= dt.timedelta(seconds=self.ready_delay):
                p["status"]["conditions"] = [
                    {"type": "Ready", "status": "True", "lastTransitionTime": rsc.rfc3339(self.now)}
                ]
        for rs in self.rss.values():
            plan = rsc.plan(rs, self.pods.values())
            for _ in range(plan.create):
                pod = rsc.pod_from_template(rs, name_suffix=f"{next(self.ids)}")
                pod["metadata"].update(uid=pod["metadata"]["name"])
                pod["metadata"]["creationTimestamp"] = rsc.rfc3339(self.now)
                pod["status"] = {"phase": "Running"}
                self.pods[pod["metadata"]["name"]] = pod
            for pod in plan.delete:
                del self.pods[pod["metadata"]["name"]]
            rs["status"] = rsc.status(rs, self.pods.values(), self.now)

    def check_invariants(self) -> None:
        self.max_total = max(self.max_total, len(self.pods))
        ready = sum(rsc.is_pod_ready(p) for p in self.pods.values())
        self.min_available = min(self.min_available, ready)

    def rollout(self, max_steps: int = 100) -> list[str]:
        printed = []
        for _ in range(max_steps):
            self.step()
            msg, done = dep.rollout_status(self.d)
            if not printed or printed[-1] != msg:
                printed.append(msg)
            if done:
                return printed
        raise AssertionError(f"rollout did not finish: {printed[-3:]}")


@dataclass(frozen=True)
class RolloutCase:
    id: str
    replicas: int
    surge: Any
    unavailable: Any
    strategy: str = "RollingUpdate"
    ready_delay: int = 0


ROLLOUT_CASES = [
    RolloutCase("default 25%/25% of 4: at most 5 pods, at least 3 ready", 4, "25%", "25%"),
    RolloutCase("maxSurge 0 maxUnavailable 1 never exceeds replicas", 3, 0, 1, ready_delay=2),
    RolloutCase("maxSurge 2 maxUnavailable 0 keeps all replicas ready", 5, 2, 0, ready_delay=3),
    RolloutCase("Recreate drops to zero then comes back", 3, None, None, "Recreate"),
]


@pytest.mark.parametrize("c", ROLLOUT_CASES, ids=lambda c: c.id)
def test_set_image_rollout_completes_like_kubectl(c: RolloutCase) -> None:
    cl = Cluster(deployment(c.replicas, "v1", c.surge, c.unavailable, c.strategy), c.ready_delay)
    printed = cl.rollout()
    assert printed[-1] == 'deployment "web" successfully rolled out\n'
    assert cond(cl.d["status"], "Available")["reason"] == "MinimumReplicasAvailable"
    # kubectl set image: new template, new generation
    cl.d["spec"]["template"] = template("v2")
    cl.d["metadata"]["generation"] = 2
    cl.max_total, cl.min_available = 0, 10**9
    printed = cl.rollout()
    assert printed[0] == "Waiting for deployment spec update to be observed...\n" or printed[
        0
    ].startswith('Waiting for deployment "web" rollout to finish')
    assert printed[-1] == 'deployment "web" successfully rolled out\n'
    surge, unavail = (
        dep.resolve_fenceposts(c.surge, c.unavailable, c.replicas)
        if c.strategy == "RollingUpdate"
        else (0, c.replicas)
    )
    assert cl.max_total <= c.replicas + surge
    assert cl.min_available >= c.replicas - unavail
    images = {p["spec"]["containers"][0]["image"] for p in cl.pods.values()}
    assert images == {"v2"} and len(cl.pods) == c.replicas
    st = cl.d["status"]
    assert (st["replicas"], st["updatedReplicas"], st["availableReplicas"]) == (c.replicas,) * 3
    got = cond(st, "Progressing")
    new_name = f"web-{pod_template_hash(template('v2'))}"
    assert got["reason"] == "NewReplicaSetAvailable"
    assert got["message"] == f'ReplicaSet "{new_name}" has successfully progressed.'
    assert cl.d["metadata"]["annotations"][dep.REVISION] == "2"


def test_settled_deployment_writes_nothing() -> None:
    """Level-triggered and idempotent: a finished rollout's resync is a no-op."""
    cl = Cluster(deployment(3, "v1"))
    cl.rollout()
    cl.step()
    out = dep.sync(cl.d, list(cl.rss.values()), list(cl.pods.values()), cl.now)
    assert out == dep.Actions(requeue_after=None)


def test_kubectl_scale_mid_rollout_settles_at_new_size() -> None:
    cl = Cluster(deployment(4, "v1"), ready_delay=2)
    cl.rollout()
    cl.d["spec"]["template"] = template("v2")
    cl.d["metadata"]["generation"] = 2
    cl.step()
    cl.step()
    cl.d["spec"]["replicas"] = 10
    cl.d["metadata"]["generation"] = 3
    cl.rollout()
    assert len(cl.pods) == 10
    assert {rs["metadata"]["name"]: rs["spec"]["replicas"] for rs in cl.rss.values()} == {
        f"web-{pod_template_hash(template('v1'))}": 0,
        f"web-{pod_template_hash(template('v2'))}": 10,
    }
