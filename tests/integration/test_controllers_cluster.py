"""The cluster controllers (scheduler, garbage collector, node IPAM, node
lifecycle) against a real `svcnet apiserver` process.

Each test starts its own API server (memory store, 127.0.0.1 port 0, a
private data dir; stopped by PID in teardown) and runs only the controllers
it checks, in-process, over the trusted unix socket, exactly as
`svcnet controller-manager` wires them: shared informers, caches synced
before any worker runs. Assertions read real API objects and Events.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import subprocess
import sys
import time
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import pytest

from svcnet.client import (
    CONFIGMAPS,
    EVENTS,
    LEASES,
    NODES,
    PODS,
    REPLICASETS,
    Client,
    InformerFactory,
    is_not_found,
)
from svcnet.controllers.base import Context, ManagerOptions, rfc3339, utcnow
from svcnet.controllers.loops_cluster import CONTROLLERS

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
NS = "default"
T = TypeVar("T")
Obj = dict[str, Any]


# --------------------------------------------------------------------------
# Fixtures and helpers


@pytest.fixture
def data_dir(tmp_path: Path) -> Iterator[Path]:
    """A running `svcnet apiserver` (memory store); yields its data dir."""
    d = tmp_path / "data"
    log_path = tmp_path / "apiserver.log"
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "svcnet.cli",
                "apiserver",
                "--data-dir",
                str(d),
                "--listen",
                "127.0.0.1:0",
                "--store",
                "memory",
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
            cwd=ROOT,
        )
    try:
        deadline = time.monotonic() + 20
        while not (d / "kubeconfig").exists():
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"apiserver did not start: {log_path.read_text()[-2000:]}")
            time.sleep(0.05)
        yield d
    finally:
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(5)


@contextlib.asynccontextmanager
async def controllers(data_dir: Path, *names: str, **options: Any) -> AsyncIterator[Client]:
    """Run the named controllers in-process; yields a client for the test."""
    client = Client.from_unix_socket(data_dir / "api.sock")
    factory = InformerFactory(client)
    ctx = Context(client, factory, ManagerOptions(**options))
    ctrls = [CONTROLLERS[n](ctx) for n in names]
    tasks: list[asyncio.Task[None]] = []
    try:
        for c in ctrls:
            c.setup()
        factory.start()
        assert await factory.wait_for_cache_sync(timeout=10)
        tasks = [asyncio.create_task(c.run(2)) for c in ctrls]
        yield client
        for t in tasks:
            assert not t.done(), t  # a crashed worker loop would hide behind timeouts
    finally:
        for c in ctrls:
            c.stop()
        for t in tasks:
            t.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        assert ctx.events is not None
        await ctx.events.flush()
        await factory.shutdown()
        await client.close()


async def eventually(fn: Callable[[], Awaitable[T]], what: str, timeout: float = 10.0) -> T:
    """Poll ``fn`` until it returns something truthy."""
    deadline = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < deadline:
        last = await fn()
        if last:
            return last
        await asyncio.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}; last: {last!r}")


def ready_condition(status: str, heartbeat: dt.datetime) -> Obj:
    t = rfc3339(heartbeat)
    return {
        "type": "Ready",
        "status": status,
        "reason": "KubeletReady" if status == "True" else "KubeletNotReady",
        "message": "kubelet is posting ready status",
        "lastHeartbeatTime": t,
        "lastTransitionTime": t,
    }


async def make_node(
    client: Client,
    name: str,
    labels: dict[str, str] | None = None,
    ready: str = "True",
    heartbeat: dt.datetime | None = None,
    pod_cidr: str | None = None,
) -> Obj:
    """A Node with a Ready condition written through nodes/status, as a kubelet would."""
    spec = {"podCIDR": pod_cidr, "podCIDRs": [pod_cidr]} if pod_cidr else {}
    body = {"apiVersion": "v1", "kind": "Node", "metadata": {"name": name}, "spec": spec}
    if labels:
        body["metadata"]["labels"] = labels
    node = await client.create(NODES, body)
    node["status"] = {
        "conditions": [ready_condition(ready, heartbeat or utcnow())],
        "allocatable": {"pods": "110"},
    }
    return await client.update_status(NODES, node)


def pod_body(
    name: str,
    labels: dict[str, str] | None = None,
    node_selector: dict[str, str] | None = None,
    owners: list[Obj] | None = None,
    node_name: str | None = None,
) -> Obj:
    spec: Obj = {"containers": [{"name": "c", "image": "svcnet/netexec"}]}
    if node_selector:
        spec["nodeSelector"] = node_selector
    if node_name:
        spec["nodeName"] = node_name
    meta: Obj = {"name": name, "labels": labels or {"app": name}}
    if owners:
        meta["ownerReferences"] = owners
    return {"apiVersion": "v1", "kind": "Pod", "metadata": meta, "spec": spec}


def owner_ref(obj: Obj, block: bool = True) -> Obj:
    return {
        "apiVersion": obj["apiVersion"],
        "kind": obj["kind"],
        "name": obj["metadata"]["name"],
        "uid": obj["metadata"]["uid"],
        "controller": True,
        "blockOwnerDeletion": block,
    }


def configmap(
    name: str, owners: list[Obj] | None = None, finalizers: list[str] | None = None
) -> Obj:
    meta: Obj = {"name": name}
    if owners:
        meta["ownerReferences"] = owners
    if finalizers:
        meta["finalizers"] = finalizers
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": meta, "data": {"k": "v"}}


async def exists(client: Client, res: Any, name: str, namespace: str | None = NS) -> Obj | None:
    try:
        return await client.get(res, name, namespace=namespace)
    except Exception as e:
        if is_not_found(e):
            return None
        raise


def condition(obj: Obj, ctype: str) -> Obj:
    for c in (obj.get("status") or {}).get("conditions") or []:
        if c.get("type") == ctype:
            return c
    return {}


# --------------------------------------------------------------------------
# Scheduler


async def test_scheduler_spreads_evenly_skips_not_ready_and_honours_node_selector(
    data_dir: Path,
) -> None:
    async with controllers(data_dir, "scheduler") as client:
        for name, labels in (("n1", None), ("n2", {"disk": "ssd"}), ("n3", None)):
            await make_node(client, name, labels)
        await make_node(client, "n-down", ready="False")
        # A burst: the scheduler sees most pods before the informer shows any binding.
        await asyncio.gather(
            *(
                client.create(PODS, pod_body(f"web-{i}", labels={"app": "web"}), namespace=NS)
                for i in range(9)
            )
        )

        async def placed() -> Counter[str] | None:
            pods = (await client.list(PODS, NS))["items"]
            nodes = Counter(p["spec"].get("nodeName") for p in pods)
            return nodes if None not in nodes and sum(nodes.values()) == 9 else None

        # kube-scheduler's spreading: pods of one workload go to the emptiest
        # nodes; a node that is not Ready carries the not-ready taint.
        assert await eventually(placed, "9 pods bound") == Counter(n1=3, n2=3, n3=3)
        web0 = await client.get(PODS, "web-0", namespace=NS)
        assert condition(web0, "PodScheduled")["status"] == "True"

        await client.create(PODS, pod_body("db", node_selector={"disk": "ssd"}), namespace=NS)

        async def db_node() -> str | None:
            return (await client.get(PODS, "db", namespace=NS))["spec"].get("nodeName")

        assert await eventually(db_node, "db bound") == "n2"
        events = (await client.list(EVENTS, NS, field_selector={"reason": "Scheduled"}))["items"]
        assert "Successfully assigned default/db to n2" in {e["message"] for e in events}


async def test_scheduler_reports_unschedulable_pod_then_binds_it_when_a_node_fits(
    data_dir: Path,
) -> None:
    async with controllers(data_dir, "scheduler") as client:
        await make_node(client, "n1")
        await client.create(PODS, pod_body("mars", node_selector={"zone": "mars"}), namespace=NS)
        want = "0/1 nodes are available: 1 node(s) didn't match Pod's node affinity/selector."

        async def failed_event() -> list[Obj]:
            items = (await client.list(EVENTS, NS))["items"]
            return [
                e
                for e in items
                if e["reason"] == "FailedScheduling" and e["involvedObject"]["name"] == "mars"
            ]

        ev = (await eventually(failed_event, "a FailedScheduling event"))[0]
        assert (ev["type"], ev["message"]) == ("Warning", want)

        async def unschedulable() -> Obj:
            pod = await client.get(PODS, "mars", namespace=NS)
            return condition(pod, "PodScheduled")

        cond = await eventually(unschedulable, "PodScheduled=False")
        assert (cond["status"], cond["reason"], cond["message"]) == ("False", "Unschedulable", want)

        # A node change that makes the pod fit moves it out of the
        # unschedulable pool (after upstream's 1 s initial backoff).
        await client.patch(NODES, "n1", {"metadata": {"labels": {"zone": "mars"}}})

        async def bound() -> str | None:
            return (await client.get(PODS, "mars", namespace=NS))["spec"].get("nodeName")

        assert await eventually(bound, "mars bound after the node changed") == "n1"


# --------------------------------------------------------------------------
# Garbage collector


async def test_gc_background_deletes_dependents_and_keeps_unknown_owner_kinds(
    data_dir: Path,
) -> None:
    async with controllers(data_dir, "garbagecollector") as client:
        rs = await client.create(
            REPLICASETS,
            {
                "apiVersion": "apps/v1",
                "kind": "ReplicaSet",
                "metadata": {"name": "web"},
                "spec": {
                    "replicas": 2,
                    "selector": {"matchLabels": {"app": "web"}},
                    "template": {
                        "metadata": {"labels": {"app": "web"}},
                        "spec": {"containers": [{"name": "c", "image": "svcnet/netexec"}]},
                    },
                },
            },
            namespace=NS,
        )
        rs.setdefault("apiVersion", "apps/v1")
        rs.setdefault("kind", "ReplicaSet")
        for i in range(2):
            body = pod_body(f"web-{i}", labels={"app": "web"}, owners=[owner_ref(rs)])
            await client.create(PODS, body, namespace=NS)
        owner = await client.create(CONFIGMAPS, configmap("owner"), namespace=NS)
        await client.create(CONFIGMAPS, configmap("dep", [owner_ref(owner)]), namespace=NS)
        # Owned by a kind the collector does not watch: never collected.
        alien = {"apiVersion": "v1", "kind": "Node", "name": "nowhere", "uid": "0000-alien"}
        await client.create(PODS, pod_body("alien", owners=[alien]), namespace=NS)
        # Owned by a live ConfigMap: kept.
        await client.create(CONFIGMAPS, configmap("kept", [owner_ref(owner)]), namespace=NS)
        await asyncio.sleep(0.3)
        assert await exists(client, PODS, "web-0")

        await client.delete(REPLICASETS, "web", namespace=NS, propagation_policy="Background")
        await client.delete(CONFIGMAPS, "dep", namespace=NS)

        async def pods_gone() -> bool:
            return not any([await exists(client, PODS, f"web-{i}") for i in range(2)])

        await eventually(pods_gone, "the ReplicaSet's pods deleted")
        await client.delete(CONFIGMAPS, "owner", namespace=NS, propagation_policy="Background")

        async def kept_gone() -> bool:
            return await exists(client, CONFIGMAPS, "kept") is None

        await eventually(kept_gone, "the ConfigMap's dependent deleted")
        assert await exists(client, PODS, "alien")


async def test_gc_orphan_removes_owner_references_and_keeps_dependents(data_dir: Path) -> None:
    async with controllers(data_dir, "garbagecollector") as client:
        owner = await client.create(CONFIGMAPS, configmap("owner"), namespace=NS)
        other = await client.create(CONFIGMAPS, configmap("other"), namespace=NS)
        for i in range(2):
            refs = [owner_ref(owner), owner_ref(other, block=False)]
            refs[1]["controller"] = False
            await client.create(PODS, pod_body(f"p{i}", owners=refs), namespace=NS)
        await client.delete(CONFIGMAPS, "owner", namespace=NS, propagation_policy="Orphan")

        async def owner_gone() -> bool:
            return await exists(client, CONFIGMAPS, "owner") is None

        await eventually(owner_gone, "the orphaning owner deleted")
        for i in range(2):
            pod = await client.get(PODS, f"p{i}", namespace=NS)
            assert [r["name"] for r in pod["metadata"]["ownerReferences"]] == ["other"]
        await client.delete(CONFIGMAPS, "other", namespace=NS, propagation_policy="Orphan")
        await eventually(lambda: _no_refs(client, ["p0", "p1"]), "the last ownerReferences removed")


async def _no_refs(client: Client, names: list[str]) -> bool:
    pods = [await client.get(PODS, n, namespace=NS) for n in names]
    return all(not p["metadata"].get("ownerReferences") for p in pods)


async def test_gc_foreground_deletes_dependents_before_the_owner(data_dir: Path) -> None:
    hold = "test.svcnet.io/hold"
    async with controllers(data_dir, "garbagecollector") as client:
        owner = await client.create(CONFIGMAPS, configmap("owner"), namespace=NS)
        await client.create(PODS, pod_body("p", owners=[owner_ref(owner)]), namespace=NS)
        body = configmap("slow", [owner_ref(owner)], finalizers=[hold])
        await client.create(CONFIGMAPS, body, namespace=NS)
        await client.delete(CONFIGMAPS, "owner", namespace=NS, propagation_policy="Foreground")

        async def slow_terminating() -> bool:
            slow = await exists(client, CONFIGMAPS, "slow")
            return bool(slow and slow["metadata"].get("deletionTimestamp"))

        await eventually(slow_terminating, "the blocking dependent being deleted")
        assert await exists(client, PODS, "p") is None
        # A dependent with blockOwnerDeletion still exists: the owner waits.
        await asyncio.sleep(0.5)
        waiting = await client.get(CONFIGMAPS, "owner", namespace=NS)
        assert waiting["metadata"]["deletionTimestamp"]
        assert waiting["metadata"]["finalizers"] == ["foregroundDeletion"]

        await client.patch(CONFIGMAPS, "slow", {"metadata": {"finalizers": None}}, namespace=NS)

        async def owner_gone() -> bool:
            return await exists(client, CONFIGMAPS, "owner") is None

        await eventually(owner_gone, "the owner deleted after its dependents")


# --------------------------------------------------------------------------
# Node IPAM


async def test_nodeipam_assigns_distinct_subnets_after_repair_and_reports_exhaustion(
    data_dir: Path,
) -> None:
    async with Client.from_unix_socket(data_dir / "api.sock") as setup:
        # Written before the controller starts: its subnet must be repaired, not reused.
        await make_node(setup, "old", pod_cidr="10.244.0.0/24")
    async with controllers(data_dir, "nodeipam", cluster_cidr="10.244.0.0/22") as client:
        for name in ("a", "b", "c", "d"):
            await make_node(client, name)

        async def cidrs() -> dict[str, str] | None:
            nodes = (await client.list(NODES))["items"]
            got = {n["metadata"]["name"]: n["spec"].get("podCIDR") for n in nodes}
            return got if sum(1 for v in got.values() if v) == 4 else None

        got = await eventually(cidrs, "four nodes with pod CIDRs")
        assert got["old"] == "10.244.0.0/24"
        assert sorted(v for k, v in got.items() if k in "abcd" and v) == [
            "10.244.1.0/24",
            "10.244.2.0/24",
            "10.244.3.0/24",
        ]
        hungry = next(k for k, v in got.items() if not v)

        async def cidr_event() -> list[Obj]:
            items = await client.list(EVENTS, NS, field_selector={"reason": "CIDRNotAvailable"})
            return [e for e in items["items"] if e["involvedObject"]["name"] == hungry]

        ev = (await eventually(cidr_event, "a CIDRNotAvailable event"))[0]
        assert ev["message"] == f"Node {hungry} status is now: CIDRNotAvailable"

        # A deleted node's subnet goes to the node that waited for one.
        await client.delete(NODES, "old")

        async def hungry_cidrs() -> list[str] | None:
            return (await client.get(NODES, hungry))["spec"].get("podCIDRs")

        assert await eventually(hungry_cidrs, "the freed subnet reassigned") == ["10.244.0.0/24"]


async def test_nodeipam_dual_stack_gives_one_subnet_per_family(data_dir: Path) -> None:
    cidr = "10.244.0.0/16,fd00:10:244::/56"
    async with controllers(data_dir, "nodeipam", cluster_cidr=cidr) as client:
        await make_node(client, "n1")
        await make_node(client, "n2")

        async def both() -> list[list[str]] | None:
            nodes = (await client.list(NODES))["items"]
            got = [n["spec"].get("podCIDRs") for n in nodes]
            return got if all(got) else None

        got = sorted(await eventually(both, "dual-stack pod CIDRs"))
        assert got == [
            ["10.244.0.0/24", "fd00:10:244::/64"],
            ["10.244.1.0/24", "fd00:10:244:1::/64"],
        ]


# --------------------------------------------------------------------------
# Node lifecycle


async def make_lease(client: Client, node: str, renew: dt.datetime) -> None:
    await client.create(
        LEASES,
        {
            "apiVersion": "coordination.k8s.io/v1",
            "kind": "Lease",
            "metadata": {"name": node, "namespace": "kube-node-lease"},
            "spec": {
                "holderIdentity": node,
                "leaseDurationSeconds": 40,
                "renewTime": rfc3339(renew, micro=True),
            },
        },
        namespace="kube-node-lease",
    )


async def make_ready_pod(client: Client, name: str, node: str) -> None:
    pod = await client.create(PODS, pod_body(name, node_name=node), namespace=NS)
    now = rfc3339(utcnow())
    pod["status"] = {
        "phase": "Running",
        "conditions": [{"type": "Ready", "status": "True", "lastTransitionTime": now}],
    }
    await client.update_status(PODS, pod, namespace=NS)


async def test_nodelifecycle_marks_silent_nodes_unknown_tainted_and_their_pods_not_ready(
    data_dir: Path,
) -> None:
    grace = 2.0
    async with controllers(data_dir, "nodelifecycle", node_monitor_grace_period=grace) as client:
        long_ago = utcnow() - dt.timedelta(seconds=30)
        await make_node(client, "silent", heartbeat=long_ago)
        await make_lease(client, "silent", long_ago)
        await make_node(client, "alive")
        await make_lease(client, "alive", utcnow())
        await make_ready_pod(client, "on-silent", "silent")
        await make_ready_pod(client, "on-alive", "alive")

        async def renew() -> None:  # the kubelet of "alive"
            while True:
                await asyncio.sleep(0.4)
                body = {"spec": {"renewTime": rfc3339(utcnow(), micro=True)}}
                await client.patch(LEASES, "alive", body, namespace="kube-node-lease")

        renewer = asyncio.create_task(renew())
        try:

            async def silent_unknown() -> Obj | None:
                node = await client.get(NODES, "silent")
                return node if condition(node, "Ready").get("status") == "Unknown" else None

            node = await eventually(silent_unknown, "silent node Ready=Unknown")
            assert condition(node, "Ready")["reason"] == "NodeStatusUnknown"
            taints = {(t["key"], t["effect"]) for t in node["spec"]["taints"]}
            assert taints == {
                ("node.kubernetes.io/unreachable", "NoSchedule"),
                ("node.kubernetes.io/unreachable", "NoExecute"),
            }

            async def pod_not_ready() -> bool:
                pod = await client.get(PODS, "on-silent", namespace=NS)
                return condition(pod, "Ready").get("status") == "False"

            await eventually(pod_not_ready, "the silent node's pod not ready")

            await asyncio.sleep(2 * grace)  # well past the grace period
            alive = await client.get(NODES, "alive")
            assert condition(alive, "Ready")["status"] == "True"
            assert not alive["spec"].get("taints")
            pod = await client.get(PODS, "on-alive", namespace=NS)
            assert condition(pod, "Ready")["status"] == "True"
        finally:
            renewer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await renewer

        # Its kubelet stops: the re-check armed at its last renewal catches it.
        async def alive_unknown() -> bool:
            node = await client.get(NODES, "alive")
            return condition(node, "Ready").get("status") == "Unknown"

        await eventually(alive_unknown, "alive node Ready=Unknown after its lease expires", 6)
