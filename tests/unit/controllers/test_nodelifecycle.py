"""Node lifecycle core: upstream pkg/controller/nodelifecycle
(tryUpdateNodeHealth, doNoScheduleTaintingPass, doNoExecuteTaintingPass,
MarkPodsNotReady)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import pytest

from svcnet.controllers import nodelifecycle as nlc

T0 = dt.datetime(2024, 1, 1, 12, 0, 0, tzinfo=dt.UTC)


def ts(seconds: float) -> str:
    return (T0 + dt.timedelta(seconds=seconds)).strftime("%Y-%m-%dT%H:%M:%SZ")


def node(
    ready: str | None = "True",
    heartbeat: float = -5,
    taints: list | None = None,
    unschedulable: bool = False,
    created: float = -3600,
) -> dict:
    conds = []
    if ready is not None:
        conds.append(
            {
                "type": "Ready",
                "status": ready,
                "reason": "KubeletReady",
                "message": "kubelet is posting ready status",
                "lastHeartbeatTime": ts(heartbeat),
                "lastTransitionTime": ts(-3000),
            }
        )
    return {
        "metadata": {"name": "n1", "creationTimestamp": ts(created)},
        "spec": {"taints": taints or [], "unschedulable": unschedulable},
        "status": {"conditions": conds},
    }


def lease(renew: float) -> dict:
    micro = (T0 + dt.timedelta(seconds=renew)).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    return {"spec": {"holderIdentity": "n1", "renewTime": micro}}


def stale_node() -> dict:
    """A node the controller already marked Unknown and tainted."""
    n = node(heartbeat=-300)
    upd = nlc.node_conditions_update(n, None, T0 - dt.timedelta(seconds=30))
    assert upd is not None and upd.conditions and upd.taints
    return {**n, "spec": {"taints": upd.taints}, "status": {"conditions": upd.conditions}}


UNREACHABLE_TAINTS = [
    {"key": "node.kubernetes.io/unreachable", "effect": "NoSchedule"},
    {"key": "node.kubernetes.io/unreachable", "effect": "NoExecute", "timeAdded": ts(0)},
]


@dataclass
class Case:
    id: str
    node: dict
    lease: dict | None
    ready: tuple[str, str, str] | None  # (status, reason, message) of the new Ready condition
    taints: list | None


CASES = [
    Case("fresh heartbeat: nothing to do", node(heartbeat=-5), None, None, None),
    Case(
        "fresh lease renewal keeps an old heartbeat alive",
        node(heartbeat=-300),
        lease(-10),
        None,
        None,
    ),
    Case(
        "lease older than 40s: Ready Unknown NodeStatusUnknown plus unreachable taints",
        node(heartbeat=-300),
        lease(-41),
        ("Unknown", "NodeStatusUnknown", "Kubelet stopped posting node status."),
        UNREACHABLE_TAINTS,
    ),
    Case(
        "never posted status past the startup grace: NodeStatusNeverUpdated",
        node(ready=None, created=-61),
        None,
        ("Unknown", "NodeStatusNeverUpdated", "Kubelet never posted node status."),
        UNREACHABLE_TAINTS,
    ),
    Case(
        "never posted status within the startup grace (60s)",
        node(ready=None, created=-50),
        None,
        None,
        None,
    ),
    Case(
        "Ready False gets not-ready taints (NoSchedule and NoExecute)",
        node(ready="False"),
        None,
        None,
        [
            {"key": "node.kubernetes.io/not-ready", "effect": "NoSchedule"},
            {"key": "node.kubernetes.io/not-ready", "effect": "NoExecute", "timeAdded": ts(0)},
        ],
    ),
    Case(
        "recovered node loses the unreachable taints, keeps the user's",
        node(
            taints=[
                *UNREACHABLE_TAINTS,
                {"key": "dedicated", "value": "db", "effect": "NoSchedule"},
            ]
        ),
        None,
        None,
        [{"key": "dedicated", "value": "db", "effect": "NoSchedule"}],
    ),
    Case(
        "spec.unschedulable gets the unschedulable taint",
        node(unschedulable=True),
        None,
        None,
        [{"key": "node.kubernetes.io/unschedulable", "effect": "NoSchedule"}],
    ),
    Case(
        "already Unknown and tainted: nothing changes",
        stale_node(),
        None,
        None,
        None,
    ),
]


@pytest.mark.parametrize("c", CASES, ids=lambda c: c.id)
def test_node_conditions_update(c: Case) -> None:
    got = nlc.node_conditions_update(c.node, c.lease, T0)
    if c.ready is None and c.taints is None:
        assert got is None
        return
    assert got is not None
    if c.ready is None:
        assert got.ready is None
    else:
        assert (got.ready["status"], got.ready["reason"], got.ready["message"]) == c.ready
        assert got.ready["lastTransitionTime"] == ts(0)
        types = {k["type"]: k["status"] for k in got.conditions}
        assert types == {
            t: "Unknown" for t in ("Ready", "MemoryPressure", "DiskPressure", "PIDPressure")
        }
    assert got.taints == c.taints


def test_heartbeat_is_kept_when_marking_unknown() -> None:
    got = nlc.node_conditions_update(node(heartbeat=-100), None, T0)
    assert got is not None and got.ready["lastHeartbeatTime"] == ts(-100)


def test_unknown_to_false_swaps_noexecute_taint() -> None:
    n = node(ready="False", taints=UNREACHABLE_TAINTS)
    got = nlc.node_conditions_update(n, None, T0)
    assert got is not None and got.taints == [
        {"key": "node.kubernetes.io/not-ready", "effect": "NoSchedule"},
        {"key": "node.kubernetes.io/not-ready", "effect": "NoExecute", "timeAdded": ts(0)},
    ]


def test_next_check() -> None:
    assert nlc.next_check(node(heartbeat=-10), lease(-5), T0) == 35
    assert nlc.next_check(node(heartbeat=-100), None, T0) == 0


def test_pods_to_mark_not_ready() -> None:
    def pod(name: str, node_name: str, ready: str | None) -> dict:
        conds = (
            [{"type": "Ready", "status": ready, "lastTransitionTime": ts(-500)}] if ready else []
        )
        return {
            "metadata": {"name": name},
            "spec": {"nodeName": node_name},
            "status": {"conditions": conds},
        }

    pods = [
        pod("a", "n1", "True"),
        pod("b", "n2", "True"),
        pod("c", "n1", "False"),
        pod("d", "n1", None),
    ]
    got = nlc.pods_to_mark_not_ready("n1", pods, T0)
    assert [p["metadata"]["name"] for p, _ in got] == ["a"]
    assert got[0][1] == [{"type": "Ready", "status": "False", "lastTransitionTime": ts(0)}]
    assert pods[0]["status"]["conditions"][0]["status"] == "True"  # input untouched
