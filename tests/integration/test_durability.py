"""Durability of acknowledged writes across `kill -9` (SQLite store).

Eight concurrent clients create 1,000 ConfigMaps over HTTPS (bearer token,
the server's CA). After about 400 acknowledged creates the API server is
killed with SIGKILL mid-stream, then restarted on the same data directory.

What must hold (the store contract in svcnet/store/base.py and upstream's
etcd semantics):
* every acknowledged create (201) is there after the restart, with the same
  uid and resourceVersion;
* writes whose answer was lost in the crash are either fully there or not at
  all (never a half object, never a duplicate);
* resourceVersions never go backwards: every write after the restart gets a
  resourceVersion greater than any handed out before it;
* no uid or resourceVersion repeats among the 1,000 objects.
"""

from __future__ import annotations

import asyncio
import base64
import signal
import ssl
from collections.abc import Iterator
from dataclasses import dataclass, field

import aiohttp
import pytest
import yaml

from tests.integration.conftest import Server

pytestmark = pytest.mark.integration

TOTAL = 1000
CLIENTS = 8
KILL_AFTER = 400
NS = "durable"
TIME_LIMIT = 60.0


@dataclass(frozen=True)
class Ack:
    name: str
    uid: str
    rv: int


@dataclass
class Run:
    """Bookkeeping of one batch of creates."""

    acked: dict[str, Ack] = field(default_factory=dict)
    in_doubt: set[str] = field(default_factory=set)  # sent, answer lost
    errors: list[str] = field(default_factory=list)  # unexpected answers
    killed: bool = False


def endpoint(server: Server) -> tuple[str, dict[str, str], ssl.SSLContext]:
    cfg = yaml.safe_load(server.kubeconfig.read_text())
    cluster = cfg["clusters"][0]["cluster"]
    assert cluster["server"].startswith("https://127.0.0.1:"), cluster["server"]
    ca = base64.b64decode(cluster["certificate-authority-data"]).decode()
    ctx = ssl.create_default_context(cadata=ca)
    headers = {"Authorization": f"Bearer {cfg['users'][0]['user']['token']}"}
    return cluster["server"], headers, ctx


async def create_all(
    server: Server, names: list[str], run: Run, kill_after: int | None = None
) -> None:
    """Create ``names`` from CLIENTS concurrent workers. With ``kill_after``,
    SIGKILL the server as soon as that many creates are acknowledged."""
    url, headers, ctx = endpoint(server)
    todo = iter(names)
    path = f"{url}/api/v1/namespaces/{NS}/configmaps"
    timeout = aiohttp.ClientTimeout(total=15)

    async def worker(session: aiohttp.ClientSession) -> None:
        for name in todo:
            if run.killed:
                return
            body = {
                "apiVersion": "v1",
                "kind": "ConfigMap",
                "metadata": {"name": name, "labels": {"batch": "durability"}},
                "data": {"name": name},
            }
            try:
                async with session.post(path, json=body) as resp:
                    data = await resp.json(content_type=None)
                    status = resp.status
            except (TimeoutError, aiohttp.ClientError, ConnectionError) as e:
                if not run.killed:
                    run.errors.append(f"{name}: {type(e).__name__}: {e}")
                run.in_doubt.add(name)
                return
            if status != 201:
                run.errors.append(f"{name}: HTTP {status}: {data}")
                return
            meta = data["metadata"]
            run.acked[name] = Ack(name, meta["uid"], int(meta["resourceVersion"]))
            if kill_after is not None and not run.killed and len(run.acked) >= kill_after:
                run.killed = True
                server.stop(signal.SIGKILL)

    connector = aiohttp.TCPConnector(ssl=ctx, limit=CLIENTS)
    async with aiohttp.ClientSession(
        connector=connector, headers=headers, timeout=timeout
    ) as session:
        await asyncio.gather(*(worker(session) for _ in range(CLIENTS)))


async def list_all(server: Server) -> tuple[dict[str, Ack], int]:
    url, headers, ctx = endpoint(server)
    connector = aiohttp.TCPConnector(ssl=ctx)
    async with (
        aiohttp.ClientSession(connector=connector, headers=headers) as session,
        session.get(f"{url}/api/v1/namespaces/{NS}/configmaps") as resp,
    ):
        assert resp.status == 200, await resp.text()
        data = await resp.json()
    out = {}
    for item in data["items"]:
        meta = item["metadata"]
        assert item["data"] == {"name": meta["name"]}, item  # never a half object
        out[meta["name"]] = Ack(meta["name"], meta["uid"], int(meta["resourceVersion"]))
    assert len(out) == len(data["items"]), "a name is listed twice"
    return out, int(data["metadata"]["resourceVersion"])


def list_now(server: Server) -> tuple[dict[str, Ack], int]:
    return asyncio.run(list_all(server))


@pytest.fixture
def durable_server(server: Server) -> Iterator[Server]:
    assert server.store == "sqlite"
    url, headers, ctx = endpoint(server)

    async def make_ns() -> None:
        body = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": NS}}
        async with (
            aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(ssl=ctx), headers=headers
            ) as session,
            session.post(f"{url}/api/v1/namespaces", json=body) as resp,
        ):
            assert resp.status == 201, await resp.text()

    asyncio.run(make_ns())
    yield server


@pytest.mark.timeout(TIME_LIMIT)
def test_acknowledged_creates_survive_sigkill(durable_server: Server) -> None:
    server = durable_server
    names = [f"cm-{i:04d}" for i in range(TOTAL)]

    # Phase 1: creates until the server is killed mid-stream.
    before = Run()
    asyncio.run(create_all(server, names, before, kill_after=KILL_AFTER))
    assert before.killed, "the server was never killed"
    assert not before.errors, before.errors[:5]
    assert server.proc is None  # stopped by SIGKILL, reaped
    assert KILL_AFTER <= len(before.acked) < TOTAL
    max_acked_rv = max(a.rv for a in before.acked.values())
    rvs = [a.rv for a in before.acked.values()]
    assert len(set(rvs)) == len(rvs), "two acknowledged creates share a resourceVersion"

    # Phase 2: restart on the same data dir; every acknowledged create is there.
    server.start()
    present, list_rv = list_now(server)
    missing = sorted(set(before.acked) - set(present))
    assert not missing, f"{len(missing)} acknowledged creates lost, e.g. {missing[:5]}"
    for name, ack in before.acked.items():
        assert present[name].uid == ack.uid, (name, present[name], ack)
        assert present[name].rv == ack.rv, (name, present[name], ack)
    sent = set(before.acked) | before.in_doubt
    unexpected = sorted(set(present) - sent)
    assert not unexpected, f"objects never sent are stored: {unexpected[:5]}"
    max_before = max(a.rv for a in present.values())
    assert max_before >= max_acked_rv
    assert list_rv >= max_before

    # Phase 3: finish the remaining creates after the restart.
    remaining = [n for n in names if n not in present]
    after = Run()
    asyncio.run(create_all(server, remaining, after))
    assert not after.errors, after.errors[:5]
    assert not after.in_doubt, sorted(after.in_doubt)[:5]
    assert sorted(after.acked) == remaining
    assert min(a.rv for a in after.acked.values()) > max(max_before, list_rv), (
        "a resourceVersion handed out after the restart is not greater than every one before it"
    )

    final, final_rv = list_now(server)
    assert sorted(final) == names
    uids = [a.uid for a in final.values()]
    assert len(set(uids)) == TOTAL, "a uid repeats"
    final_rvs = [a.rv for a in final.values()]
    assert len(set(final_rvs)) == TOTAL, "a resourceVersion repeats"
    assert final_rv >= max(final_rvs)
    for name, ack in {**before.acked, **after.acked}.items():
        assert final[name] == ack, (final[name], ack)
