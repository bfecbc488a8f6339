"""svcnet.client against a real `svcnet apiserver` process.

Each test starts its own API server (port 0 on 127.0.0.1, a private data
dir) and stops it by PID in teardown. Covered: CRUD over HTTPS with the
written kubeconfig and over the trusted unix socket, error mapping, retries
across a server restart, paged lists, raw watches, informers (event order,
cache == fresh list, resume at watch timeouts, label and field indexes,
surviving a server restart, a real 410 after the history moved on). The
informer loop's reaction to 410 mid-run (ERROR event, then HTTP 410) runs
against a tiny fake server in this module, the one edge case faked: svcnet
retains 50,000 events and a live watch never falls out of them.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import os
import signal
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest
import yaml
from aiohttp import web

from svcnet.client import (
    CONFIGMAPS,
    NAMESPACES,
    PODS,
    SERVICES,
    AlreadyExistsError,
    Client,
    ConflictError,
    GoneError,
    Informer,
    InvalidError,
    NotFoundError,
    TransportError,
    UnauthorizedError,
    index_by_field,
    index_by_label,
    is_not_found,
    key_string,
    load_kubeconfig,
)

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
NS = "client-test"
SMALL_HISTORY_SERVER = """
import sys
from pathlib import Path
from svcnet.apiserver.server import Options, serve
from svcnet.cli import run_async
data_dir, store, history = Path(sys.argv[1]), sys.argv[2], int(sys.argv[3])
run_async(serve(Options(data_dir=data_dir, listen="127.0.0.1:0", store=store, watch_history=history)))
"""


class ApiServer:
    """One `svcnet apiserver` subprocess on 127.0.0.1 (stopped by PID)."""

    def __init__(self, data_dir: Path, store: str = "memory", history: int | None = None) -> None:
        self.data_dir = data_dir
        self.store = store
        self.history = history
        self.proc: subprocess.Popen[bytes] | None = None
        self.log = data_dir.parent / f"{data_dir.name}.log"

    @property
    def kubeconfig(self) -> Path:
        return self.data_dir / "kubeconfig"

    @property
    def socket(self) -> Path:
        return self.data_dir / "api.sock"

    def start(self, timeout: float = 20.0) -> None:
        self.kubeconfig.unlink(missing_ok=True)
        if self.history is None:
            argv = [sys.executable, "-m", "svcnet.cli", "apiserver"]
            argv += ["--data-dir", str(self.data_dir), "--listen", "127.0.0.1:0"]
            argv += ["--store", self.store]
        else:  # the CLI has no flag for the watch history size (yet)
            argv = [sys.executable, "-c", SMALL_HISTORY_SERVER, str(self.data_dir)]
            argv += [self.store, str(self.history)]
        with open(self.log, "ab") as log:
            self.proc = subprocess.Popen(
                argv,
                stdout=log,
                stderr=subprocess.STDOUT,
                cwd=ROOT,
            )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"apiserver exited:\n{self.log.read_text()[-3000:]}")
            if self.kubeconfig.exists() and self.socket.exists():
                with contextlib.suppress(yaml.YAMLError, KeyError, TypeError, IndexError):
                    doc = yaml.safe_load(self.kubeconfig.read_text())
                    if doc["clusters"][0]["cluster"]["server"]:
                        return
            time.sleep(0.05)
        raise RuntimeError(f"apiserver did not start:\n{self.log.read_text()[-3000:]}")

    def stop(self) -> None:
        if self.proc is None:
            return
        if self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                os.kill(self.proc.pid, signal.SIGKILL)
                self.proc.wait(5)
        self.proc = None


@pytest.fixture
def apiserver(tmp_path: Path) -> Iterator[ApiServer]:
    s = ApiServer(tmp_path / "data")
    s.start()
    try:
        yield s
    finally:
        s.stop()


@pytest.fixture
async def https(apiserver: ApiServer) -> AsyncIterator[Client]:
    async with Client.from_kubeconfig(apiserver.kubeconfig) as c:
        await c.create(NAMESPACES, {"metadata": {"name": NS}})
        yield c


async def eventually(cond: Callable[[], bool], what: str, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not cond():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.02)


def cm(name: str, data: str = "v", **labels: str) -> dict[str, Any]:
    meta: dict[str, Any] = {"name": name}
    if labels:
        meta["labels"] = labels
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": meta, "data": {"k": data}}


def pod(name: str, node: str = "", **labels: str) -> dict[str, Any]:
    spec: dict[str, Any] = {"containers": [{"name": "c", "image": "svcnet/netexec"}]}
    if node:
        spec["nodeName"] = node
    return {"metadata": {"name": name, "labels": labels}, "spec": spec}


# --------------------------------------------------------------------- REST
async def test_crud_over_kubeconfig_https(https: Client) -> None:
    c = https
    assert c.server.startswith("https://127.0.0.1:")
    created = await c.create(CONFIGMAPS, cm("one", app="web"), namespace=NS)
    assert created["metadata"]["uid"] and created["metadata"]["namespace"] == NS
    got = await c.get(CONFIGMAPS, "one", NS)
    assert got["data"] == {"k": "v"}

    got["data"]["k"] = "v2"
    updated = await c.update(CONFIGMAPS, got)
    assert updated["data"]["k"] == "v2"
    assert updated["metadata"]["resourceVersion"] != got["metadata"]["resourceVersion"]
    # upstream optimistic concurrency: PUT with a stale resourceVersion is 409 Conflict
    with pytest.raises(ConflictError) as conflict:
        await c.update(CONFIGMAPS, got)
    assert conflict.value.code == 409 and conflict.value.reason == "Conflict"

    merged = await c.patch(CONFIGMAPS, "one", {"data": {"m": "1"}}, NS)
    assert merged["data"] == {"k": "v2", "m": "1"}
    jp = await c.patch(
        CONFIGMAPS, "one", [{"op": "remove", "path": "/data/m"}], NS, patch_type="json"
    )
    assert jp["data"] == {"k": "v2"}
    sp = await c.patch(
        CONFIGMAPS, "one", {"metadata": {"labels": {"tier": "fe"}}}, NS, patch_type="strategic"
    )
    assert sp["metadata"]["labels"] == {"app": "web", "tier": "fe"}

    await c.create(CONFIGMAPS, cm("two", app="db"), namespace=NS)
    lst = await c.list(CONFIGMAPS, NS, label_selector={"app": "web"})
    assert [i["metadata"]["name"] for i in lst["items"]] == ["one"]
    assert lst["metadata"]["resourceVersion"]

    status = await c.delete(CONFIGMAPS, "one", NS)
    assert status.get("status") == "Success" or status["metadata"]["name"] == "one"
    with pytest.raises(NotFoundError) as nf:
        await c.get(CONFIGMAPS, "one", NS)
    assert is_not_found(nf.value) and nf.value.message == 'configmaps "one" not found'


async def test_error_mapping(https: Client, apiserver: ApiServer) -> None:
    c = https
    await c.create(CONFIGMAPS, cm("dup"), namespace=NS)
    with pytest.raises(AlreadyExistsError) as ae:
        await c.create(CONFIGMAPS, cm("dup"), namespace=NS)
    assert ae.value.code == 409 and ae.value.reason == "AlreadyExists"
    with pytest.raises(NotFoundError):
        await c.delete(CONFIGMAPS, "missing", NS)
    with pytest.raises(NotFoundError):
        await c.patch(CONFIGMAPS, "missing", {"data": {}}, NS)
    with pytest.raises(InvalidError) as inv:
        await c.create(SERVICES, {"metadata": {"name": "Bad_Name"}, "spec": {}}, namespace=NS)
    assert inv.value.code == 422
    with pytest.raises(ConflictError):
        # delete precondition on a stale uid (upstream: 409 Conflict)
        await c.delete(CONFIGMAPS, "dup", NS, preconditions={"uid": "not-the-uid"})
    cfg = dataclasses.replace(load_kubeconfig(apiserver.kubeconfig), token="wrong-token")
    async with Client.from_config(cfg) as bad:
        with pytest.raises(UnauthorizedError) as unauth:
            await bad.list(CONFIGMAPS, NS)
    assert unauth.value.code == 401


async def test_crud_over_unix_socket(apiserver: ApiServer) -> None:
    async with Client.from_unix_socket(apiserver.socket) as c:
        await c.create(NAMESPACES, {"metadata": {"name": NS}})
        await c.create(CONFIGMAPS, cm("u1"), namespace=NS)
        got = await c.get(CONFIGMAPS, "u1", NS)
        got["data"]["k"] = "changed"
        await c.update(CONFIGMAPS, got)
        assert (await c.get(CONFIGMAPS, "u1", NS))["data"]["k"] == "changed"
        ns = await c.get(NAMESPACES, NS)
        assert ns["status"]["phase"] == "Active"
        await c.delete(CONFIGMAPS, "u1", NS)
        with pytest.raises(NotFoundError):
            await c.get(CONFIGMAPS, "u1", NS)


async def test_retries_connection_errors_until_server_is_back(tmp_path: Path) -> None:
    server = ApiServer(tmp_path / "data", store="sqlite")
    server.start()
    client = Client.from_unix_socket(server.socket, max_retries=12, retry_base=0.1, retry_cap=0.5)
    try:
        await client.create(NAMESPACES, {"metadata": {"name": NS}})
        server.stop()
        # a POST that could not connect reached nothing, so it is retried too
        pending = asyncio.create_task(client.create(CONFIGMAPS, cm("late"), namespace=NS))
        await asyncio.sleep(0.3)
        assert not pending.done()
        await asyncio.get_running_loop().run_in_executor(None, server.start)
        created = await asyncio.wait_for(pending, 20)
        assert created["metadata"]["name"] == "late"
        server.stop()
        quick = Client.from_unix_socket(server.socket, max_retries=1, retry_base=0.01)
        with pytest.raises(TransportError):
            await quick.get(CONFIGMAPS, "late", NS)
        await quick.close()
    finally:
        await client.close()
        server.stop()


async def test_update_status_and_subresource_patch(https: Client) -> None:
    c = https
    svc = {
        "metadata": {"name": "web"},
        "spec": {"type": "LoadBalancer", "ports": [{"port": 80}], "selector": {"app": "w"}},
    }
    created = await c.create(SERVICES, svc, namespace=NS)
    created["status"] = {"loadBalancer": {"ingress": [{"ip": "172.18.0.200"}]}}
    created["spec"]["ports"][0]["port"] = 81  # ignored by the status subresource
    st = await c.update_status(SERVICES, created)
    assert st["status"]["loadBalancer"]["ingress"] == [{"ip": "172.18.0.200"}]
    assert st["spec"]["ports"][0]["port"] == 80
    patched = await c.patch(
        SERVICES, "web", {"status": {"loadBalancer": {"ingress": None}}}, NS, subresource="status"
    )
    assert patched["status"]["loadBalancer"] == {}


async def test_paged_list(https: Client) -> None:
    c = https
    for i in range(7):
        await c.create(CONFIGMAPS, cm(f"p{i}"), namespace=NS)
    first = await c.list(CONFIGMAPS, NS, limit=3)
    assert len(first["items"]) == 3 and first["metadata"]["continue"]
    second = await c.list(CONFIGMAPS, NS, limit=3, continue_=first["metadata"]["continue"])
    assert [i["metadata"]["name"] for i in second["items"]] == ["p3", "p4", "p5"]
    items, rv = await c.list_all(CONFIGMAPS, NS, page_size=3)
    assert [i["metadata"]["name"] for i in items] == [f"p{i}" for i in range(7)]
    assert rv == first["metadata"]["resourceVersion"]


async def test_raw_watch(https: Client) -> None:
    c = https
    rv = (await c.list(CONFIGMAPS, NS))["metadata"]["resourceVersion"]
    await c.create(CONFIGMAPS, cm("w"), namespace=NS)
    await c.patch(CONFIGMAPS, "w", {"data": {"k": "2"}}, NS)
    await c.delete(CONFIGMAPS, "w", NS)
    seen: list[tuple[str, str]] = []
    stream = c.watch(CONFIGMAPS, NS, resource_version=rv, timeout_seconds=5)
    async with contextlib.aclosing(stream):  # type: ignore[type-var]
        async for etype, obj in stream:
            seen.append((etype, obj["metadata"]["name"]))
            if len(seen) == 3:
                break
    assert seen == [("ADDED", "w"), ("MODIFIED", "w"), ("DELETED", "w")]


# ---------------------------------------------------------------- informers
class Recorder:
    def __init__(self) -> None:
        self.events: list[tuple[str, str, str]] = []

    def add(self, o: dict[str, Any]) -> None:
        self.events.append(("add", key_string(o), (o.get("data") or {}).get("k", "")))

    def update(self, old: dict[str, Any], new: dict[str, Any]) -> None:
        self.events.append(("update", key_string(new), (new.get("data") or {}).get("k", "")))

    def delete(self, o: dict[str, Any]) -> None:
        self.events.append(("delete", key_string(o), (o.get("data") or {}).get("k", "")))


async def cache_matches_list(inf: Informer, c: Client, namespace: str | None) -> bool:
    items, _ = await c.list_all(inf.resource, namespace)
    fresh = {key_string(o): o["metadata"]["resourceVersion"] for o in items}
    cached = {key_string(o): o["metadata"]["resourceVersion"] for o in inf.list()}
    return fresh == cached


async def test_informer_sees_changes_in_order_and_matches_list(https: Client) -> None:
    c = https
    await c.create(CONFIGMAPS, cm("pre", "0"), namespace=NS)
    inf = Informer(c, CONFIGMAPS, NS, watch_timeout=1)  # watches of 1-2 s
    rec = Recorder()
    inf.add_handler(rec.add, rec.update, rec.delete)
    task = inf.start()
    try:
        assert await inf.wait_synced(10)
        assert rec.events == [("add", f"{NS}/pre", "0")]
        await c.create(CONFIGMAPS, cm("a", "1"), namespace=NS)
        await c.patch(CONFIGMAPS, "a", {"data": {"k": "2"}}, NS)
        await c.create(CONFIGMAPS, cm("b", "1"), namespace=NS)
        await c.delete(CONFIGMAPS, "pre", NS)
        await c.patch(CONFIGMAPS, "a", {"data": {"k": "3"}}, NS)
        await c.delete(CONFIGMAPS, "a", NS)
        await eventually(lambda: len(rec.events) == 7, "7 events")
        assert rec.events[1:] == [
            ("add", f"{NS}/a", "1"),
            ("update", f"{NS}/a", "2"),
            ("add", f"{NS}/b", "1"),
            ("delete", f"{NS}/pre", "0"),
            ("update", f"{NS}/a", "3"),
            ("delete", f"{NS}/a", "3"),
        ]
        assert await cache_matches_list(inf, c, NS)
        # watches that reach their timeout resume from the last resourceVersion
        await eventually(lambda: inf.watches >= 3, "two watch timeouts")
        await c.create(CONFIGMAPS, cm("c", "1"), namespace=NS)
        await eventually(lambda: len(rec.events) == 8, "event after resume")
        assert rec.events[-1] == ("add", f"{NS}/c", "1")
        assert inf.lists == 1, "no re-list at a watch timeout"
    finally:
        inf.stop()
        await asyncio.wait_for(task, 5)


async def test_informer_indexes(https: Client) -> None:
    c = https
    inf = Informer(
        c,
        PODS,
        indexers={"app": index_by_label("app"), "node": index_by_field("spec.nodeName")},
    )
    task = inf.start()
    try:
        assert await inf.wait_synced(10)
        await c.create(PODS, pod("w1", "node-1", app="web"), namespace=NS)
        await c.create(PODS, pod("w2", "node-2", app="web"), namespace=NS)
        await c.create(PODS, pod("d1", "node-1", app="db"), namespace=NS)
        await eventually(lambda: len(inf.list()) == 3, "3 pods cached")

        def names(idx: str, value: str) -> list[str]:
            return [o["metadata"]["name"] for o in inf.by_index(idx, value)]

        assert names("app", "web") == ["w1", "w2"]
        assert names("node", "node-1") == ["d1", "w1"]
        await c.patch(PODS, "w2", {"metadata": {"labels": {"app": "db"}}}, NS)
        await eventually(lambda: names("app", "db") == ["d1", "w2"], "relabel")
        assert names("app", "web") == ["w1"]
        await c.delete(PODS, "d1", NS, grace_period_seconds=0)
        await eventually(lambda: names("node", "node-1") == ["w1"], "delete")
        assert names("app", "db") == ["w2"]
    finally:
        inf.stop()
        await asyncio.wait_for(task, 5)


@pytest.mark.parametrize("store", ["sqlite", "memory"])
async def test_informer_survives_server_restart(tmp_path: Path, store: str) -> None:
    """sqlite keeps state across the restart; memory loses it, and the informer's
    re-list turns the loss into deletes. Either way the cache ends equal to a list."""
    server = ApiServer(tmp_path / "data", store=store)
    server.start()
    client = Client.from_unix_socket(server.socket, max_retries=0)
    inf = Informer(client, CONFIGMAPS, label_selector="owner=test")
    rec = Recorder()
    inf.add_handler(rec.add, rec.update, rec.delete)
    task: asyncio.Task[None] | None = None
    try:
        await client.create(NAMESPACES, {"metadata": {"name": NS}})
        await client.create(CONFIGMAPS, cm("keep", "1", owner="test"), namespace=NS)
        await client.create(CONFIGMAPS, cm("other", "1", owner="test"), namespace=NS)
        task = inf.start()
        assert await inf.wait_synced(10)
        server.stop()
        await asyncio.sleep(0.3)  # the informer notices and backs off
        server.start()
        if store == "memory":
            await client.create(NAMESPACES, {"metadata": {"name": NS}})
        await client.create(CONFIGMAPS, cm("after", "2", owner="test"), namespace=NS)
        await eventually(
            lambda: inf.get(NS, "after") is not None, "post-restart object", timeout=30
        )
        await client.patch(CONFIGMAPS, "after", {"data": {"k": "3"}}, NS)
        await eventually(
            lambda: (inf.get(NS, "after") or {}).get("data", {}).get("k") == "3", "update"
        )
        assert await cache_matches_list(inf, client, None)
        keys = sorted(key_string(o) for o in inf.list())
        if store == "sqlite":
            assert keys == [f"{NS}/after", f"{NS}/keep", f"{NS}/other"]
        else:
            assert keys == [f"{NS}/after"]
            assert ("delete", f"{NS}/keep", "1") in rec.events
            assert ("delete", f"{NS}/other", "1") in rec.events
        assert inf.lists >= 2, "the broken watch led to a re-list"
    finally:
        inf.stop()
        if task is not None:
            await asyncio.wait_for(task, 5)
        await client.close()
        server.stop()


async def test_real_410_from_svcnet_then_relist(tmp_path: Path) -> None:
    """With a 20-event history, an informer that was away for 40 writes gets a
    real 410 from svcnet on its own resourceVersion, and a re-list recovers."""
    from svcnet.apiserver.server import Options

    if "watch_history" not in getattr(Options, "__dataclass_fields__", {}):
        pytest.skip("this apiserver has no configurable watch history")
    server = ApiServer(tmp_path / "data", history=20)
    server.start()
    client = Client.from_unix_socket(server.socket)
    inf = Informer(client, CONFIGMAPS, NS)
    rec = Recorder()
    inf.add_handler(rec.add, rec.update, rec.delete)
    task: asyncio.Task[None] | None = None
    try:
        await client.create(NAMESPACES, {"metadata": {"name": NS}})
        await client.create(CONFIGMAPS, cm("old", "0"), namespace=NS)
        await inf.list_and_replace()
        stale = inf.resource_version
        for i in range(40):
            await client.create(CONFIGMAPS, cm(f"n{i}", "1"), namespace=NS)
        await client.delete(CONFIGMAPS, "old", NS)
        with pytest.raises(GoneError) as gone:
            await inf.watch_once(stale)
        assert gone.value.code == 410
        task = inf.start()  # run() re-lists, then watches
        await eventually(lambda: len(inf.list()) == 40, "re-listed cache")
        assert inf.lists == 2
        assert ("delete", f"{NS}/old", "0") in rec.events
        await client.create(CONFIGMAPS, cm("live", "2"), namespace=NS)
        await eventually(lambda: inf.get(NS, "live") is not None, "live event after re-list")
        assert await cache_matches_list(inf, client, NS)
    finally:
        inf.stop()
        if task is not None:
            await asyncio.wait_for(task, 5)
        await client.close()
        server.stop()


# ------------------------------------------------- 410 Gone (fake server)
class GoneServer:
    """A fake API server for the one edge case svcnet cannot produce on demand:
    a watch from resourceVersion "1" always gets an ERROR event with 410; of the
    other watches, #1 gets an ERROR event with 410, #2 an HTTP 410, later ones
    stay open. Each list returns a different set of objects."""

    def __init__(self) -> None:
        self.lists = 0
        self.watch_rvs: list[str] = []
        self.runner: web.AppRunner | None = None
        self.url = ""
        self.closing = asyncio.Event()

    def _items(self) -> tuple[list[dict[str, Any]], str]:
        n = self.lists
        rv = str(100 * n)
        items = [
            {"metadata": {"name": "stable", "namespace": "default", "resourceVersion": "1"}},
            {
                "metadata": {
                    "name": f"gen{n}",
                    "namespace": "default",
                    "resourceVersion": rv,
                }
            },
        ]
        return items, rv

    async def handle(self, request: web.Request) -> web.StreamResponse:
        gone = {
            "kind": "Status",
            "apiVersion": "v1",
            "status": "Failure",
            "message": "too old resource version: 1 (500)",
            "reason": "Expired",
            "code": 410,
        }
        if request.query.get("watch") != "true":
            self.lists += 1
            items, rv = self._items()
            return web.json_response(
                {"kind": "ConfigMapList", "metadata": {"resourceVersion": rv}, "items": items}
            )
        rv = request.query.get("resourceVersion", "")
        if rv == "1":  # an ancient resourceVersion: always expired
            resp = web.StreamResponse()
            await resp.prepare(request)
            await resp.write(orjson.dumps({"type": "ERROR", "object": gone}) + b"\n")
            return resp
        self.watch_rvs.append(rv)
        n = len(self.watch_rvs)
        if n == 2:
            return web.json_response(gone, status=410)
        resp = web.StreamResponse()
        await resp.prepare(request)
        if n == 1:
            await resp.write(orjson.dumps({"type": "ERROR", "object": gone}) + b"\n")
            return resp
        with contextlib.suppress(ConnectionResetError, asyncio.CancelledError, TimeoutError):
            await asyncio.wait_for(self.closing.wait(), 30)
        return resp

    async def start(self) -> None:
        app = web.Application()
        app.router.add_get("/api/v1/namespaces/default/configmaps", self.handle)
        self.runner = web.AppRunner(app)
        await self.runner.setup()
        site = web.TCPSite(self.runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self.url = f"http://127.0.0.1:{port}"

    async def stop(self) -> None:
        self.closing.set()
        if self.runner is not None:
            await self.runner.cleanup()


async def test_gone_triggers_relist() -> None:
    fake = GoneServer()
    await fake.start()
    client = Client(fake.url, namespace="default")
    inf = Informer(client, CONFIGMAPS, "default")
    rec = Recorder()
    inf.add_handler(rec.add, rec.update, rec.delete)
    task: asyncio.Task[None] | None = None
    try:
        # the informer's own watch, from a deliberately ancient resourceVersion
        with pytest.raises(GoneError) as gone:
            await inf.watch_once("1")
        assert gone.value.code == 410 and gone.value.reason == "Expired"
        task = inf.start()
        await eventually(lambda: len(fake.watch_rvs) >= 3, "watch after two 410s", timeout=15)
        assert fake.lists == 3, "each 410 led to a re-list"
        assert fake.watch_rvs == ["100", "200", "300"], "each watch starts at its list's RV"
        assert sorted(o["metadata"]["name"] for o in inf.list()) == ["gen3", "stable"]
        assert rec.events.count(("add", "default/stable", "")) == 1, "unchanged: no re-announce"
        assert ("delete", "default/gen1", "") in rec.events
        assert ("delete", "default/gen2", "") in rec.events
        assert inf.resource_version == "300"
    finally:
        inf.stop()
        if task is not None:
            await asyncio.wait_for(task, 5)
        await client.close()
        await fake.stop()
