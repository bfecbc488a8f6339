"""Benchmark of `svcnet apiserver`: create throughput, big lists, watch fan-out.

Usage:
    .venv/bin/python bench/apiserver.py [--quick] [--store sqlite|memory] [--json out.json]

Method. The script starts its own apiserver (sqlite store by default, HTTPS
with the CA and bearer token from the kubeconfig it writes, exactly as users
get it) in a temporary data dir, and measures, from one client process
(aiohttp on uvloop, keep-alive connections; the client shares the machine's
CPUs with the server, as kubectl and controllers would):

1. creates/s: N ConfigMaps created by 1 client (one connection, one request
   at a time), then N more by 16 clients (16 connections, each sending its
   next request when the previous one is answered). Each client's TLS
   connection is opened before the clock starts.
2. list latency: 10,000 Services are loaded into one namespace over the
   unix socket (32 concurrent requests; the load rate is reported too), the
   server's RSS is read from /proc/<pid>/status, then the whole collection
   is listed L times over HTTPS, one call at a time; p50/p99 are
   nearest-rank percentiles of the time from sending the request to having
   read the whole body.
3. watch fan-out: W watchers (one HTTPS connection each) watch the Services
   collection of that namespace from the list's resourceVersion and sit idle
   for a second; then, R times, one Service is patched (merge patch of a
   label) and each watcher records when the matching MODIFIED event arrived.
   Per round: max and p50 over watchers of (event received - just before the
   PATCH was sent). The headline figure is the median of the rounds' max.

Every request must succeed (any unexpected status aborts the run); the
server is stopped by its PID on every exit path. Traffic stays on 127.0.0.1
and the unix socket. `--quick` shrinks the sizes for a smoke run (~10 s).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import aiohttp
import orjson
from _common import (
    JSON_HEADERS,
    MERGE_PATCH_HEADERS,
    BenchError,
    CpuMeter,
    Figure,
    ServerProcess,
    cancel_on_sigterm,
    environment,
    expect,
    figures_json,
    percentile,
    print_figures,
    print_table,
    run_loop,
    short_count,
)

NS_CREATE_1 = "bench-create-1"
NS_CREATE_N = "bench-create-n"
NS_LIST = "bench-list"
LOAD_CONCURRENCY = 32
WATCH_IDLE_S = 1.0
ROUND_GAP_S = 0.3
EVENT_TIMEOUT_S = 30.0
OTHER_LOAD_WARN = 0.2  # CPUs used by unrelated processes before the figures are flagged


@dataclass
class Params:
    store: str
    creates: int  # per measurement (1 client, then 16 clients)
    clients: int
    create_kind: str  # configmaps | services
    services: int
    lists: int
    watchers: int
    rounds: int
    deadline_s: float


FULL = {"creates": 2000, "services": 10_000, "lists": 50, "watchers": 100, "rounds": 5}
QUICK = {"creates": 300, "services": 1000, "lists": 20, "watchers": 10, "rounds": 3}


# ------------------------------------------------------------------ bodies
def configmap(name: str) -> bytes:
    return orjson.dumps(
        {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {"name": name, "labels": {"app": "bench"}},
            "data": {"key": "value", "config.yaml": "replicas: 3\nimage: svcnet/netexec\n"},
        }
    )


def service(name: str) -> bytes:
    """A typical ClusterIP Service (one named port, a selector, two labels)."""
    return orjson.dumps(
        {
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": {"name": name, "labels": {"app": name, "tier": "bench"}},
            "spec": {
                "selector": {"app": name},
                "ports": [{"name": "http", "port": 80, "targetPort": 8080, "protocol": "TCP"}],
            },
        }
    )


BODIES = {"configmaps": configmap, "services": service}


async def create_namespace(session: aiohttp.ClientSession, name: str) -> None:
    body = orjson.dumps({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}})
    async with session.post("/api/v1/namespaces", data=body, headers=JSON_HEADERS) as r:
        await expect(r, 201)


# ----------------------------------------------------------------- creates
async def _create_worker(
    session: aiohttp.ClientSession, path: str, bodies: list[bytes], lat: list[float]
) -> None:
    for body in bodies:
        t = time.perf_counter()
        async with session.post(path, data=body, headers=JSON_HEADERS) as r:
            await expect(r, 201)
        lat.append(time.perf_counter() - t)


async def bench_creates(
    server: ServerProcess, ns: str, kind: str, n: int, clients: int
) -> dict[str, float]:
    """N creates split over `clients` connections; returns rate and latencies."""
    path = f"/api/v1/namespaces/{ns}/{kind}"
    make = BODIES[kind]
    bodies = [make(f"obj-{i:06d}") for i in range(n)]
    sessions = [server.https_session(limit=1) for _ in range(clients)]
    try:
        # Open (and TLS-handshake) every connection before the clock starts.
        for s in sessions:
            async with s.get(path, params={"limit": "1"}) as r:
                await expect(r, 200)
        lat: list[float] = []
        shares = [bodies[i::clients] for i in range(clients)]
        cpu0 = server.cpu_seconds()
        t0 = time.perf_counter()
        await asyncio.gather(
            *(
                _create_worker(s, path, share, lat)
                for s, share in zip(sessions, shares, strict=True)
            )
        )
        elapsed = time.perf_counter() - t0
        cpu = server.cpu_seconds() - cpu0
    finally:
        for s in sessions:
            await s.close()
    return {
        "rate": n / elapsed,
        "elapsed_s": elapsed,
        "server_cpu_us": cpu / n * 1e6,
        "p50_ms": percentile(lat, 50) * 1e3,
        "p99_ms": percentile(lat, 99) * 1e3,
    }


# -------------------------------------------------------------------- load
async def load_services(server: ServerProcess, ns: str, n: int) -> dict[str, float]:
    """Create n Services over the unix socket with bounded concurrency."""
    path = f"/api/v1/namespaces/{ns}/services"
    bodies = [service(f"svc-{i:06d}") for i in range(n)]
    async with server.unix_session(limit=LOAD_CONCURRENCY) as s:
        lat: list[float] = []
        shares = [bodies[i::LOAD_CONCURRENCY] for i in range(LOAD_CONCURRENCY)]
        cpu0 = server.cpu_seconds()
        t0 = time.perf_counter()
        await asyncio.gather(*(_create_worker(s, path, share, lat) for share in shares))
        elapsed = time.perf_counter() - t0
        cpu = server.cpu_seconds() - cpu0
    return {"rate": n / elapsed, "elapsed_s": elapsed, "server_cpu_us": cpu / n * 1e6}


# -------------------------------------------------------------------- list
async def bench_list(server: ServerProcess, ns: str, calls: int, expect_items: int) -> dict:
    """Time `calls` sequential full lists of one namespace's Services."""
    path = f"/api/v1/namespaces/{ns}/services"
    lat: list[float] = []
    size = 0
    rv = ""
    async with server.https_session(limit=1) as s:
        # One untimed call: opens the connection and checks the content.
        async with s.get(path) as r:
            body = await expect(r, 200)
        doc = orjson.loads(body)
        got = len(doc["items"])
        if got != expect_items:
            raise BenchError(f"list returned {got} items, expected {expect_items}")
        for _ in range(calls):
            t = time.perf_counter()
            async with s.get(path) as r:
                body = await expect(r, 200)
            lat.append(time.perf_counter() - t)
        size = len(body)
        rv = orjson.loads(body)["metadata"]["resourceVersion"]
    return {
        "p50_ms": percentile(lat, 50) * 1e3,
        "p99_ms": percentile(lat, 99) * 1e3,
        "min_ms": min(lat) * 1e3,
        "max_ms": max(lat) * 1e3,
        "bytes": size,
        "resource_version": rv,
    }


# ------------------------------------------------------------------- watch
class Watcher:
    """One watch stream on its own HTTPS connection."""

    def __init__(self, server: ServerProcess, path: str, rv: str) -> None:
        self.session = server.https_session(limit=1, timeout=None)
        self.path = path
        self.rv = rv
        self.resp: aiohttp.ClientResponse | None = None

    async def open(self) -> None:
        params = {"watch": "1", "resourceVersion": self.rv}
        self.resp = await self.session.get(self.path, params=params)
        if self.resp.status != 200:
            body = await self.resp.read()
            raise BenchError(f"watch: HTTP {self.resp.status}: {body[:300]!r}")

    async def close(self) -> None:
        if self.resp is not None:
            self.resp.close()
        await self.session.close()


async def bench_watch(
    server: ServerProcess, ns: str, rv: str, watchers: int, rounds: int, services: int
) -> dict[str, Any]:
    path = f"/api/v1/namespaces/{ns}/services"
    ws = [Watcher(server, path, rv) for _ in range(watchers)]
    rows: list[dict[str, float]] = []
    try:
        t_open = time.perf_counter()
        await asyncio.gather(*(w.open() for w in ws))
        open_s = time.perf_counter() - t_open
        await asyncio.sleep(WATCH_IDLE_S)
        async with server.https_session(limit=1) as writer:
            async with writer.get("/version") as r:  # open the writer's connection
                await expect(r, 200)
            for i in range(rounds):
                name = f"svc-{(i * 7919) % services:06d}"
                patch = orjson.dumps({"metadata": {"labels": {"bench-round": str(i)}}})
                # Each watcher's next-event wait is running before the clock starts;
                # with the rv unknown until the PATCH answers, hand it in a future.
                rv_fut: asyncio.Future[str] = asyncio.get_running_loop().create_future()
                waits = [asyncio.ensure_future(_wait_event(w, name, rv_fut)) for w in ws]
                await asyncio.sleep(0)
                t0 = time.perf_counter()
                async with writer.patch(
                    f"{path}/{name}", data=patch, headers=MERGE_PATCH_HEADERS
                ) as r:
                    body = await expect(r, 200)
                t_resp = time.perf_counter()
                rv_fut.set_result(orjson.loads(body)["metadata"]["resourceVersion"])
                try:
                    seen = await asyncio.wait_for(asyncio.gather(*waits), EVENT_TIMEOUT_S)
                except TimeoutError:
                    raise BenchError(
                        f"round {i}: not every watcher saw the change within {EVENT_TIMEOUT_S}s"
                    ) from None
                lat = [(t - t0) * 1e3 for t in seen]
                rows.append(
                    {
                        "max_ms": max(lat),
                        "p50_ms": percentile(lat, 50),
                        "min_ms": min(lat),
                        "patch_ms": (t_resp - t0) * 1e3,
                    }
                )
                await asyncio.sleep(ROUND_GAP_S)
    finally:
        await asyncio.gather(*(w.close() for w in ws), return_exceptions=True)
    return {
        "rounds": rows,
        "open_s": open_s,
        "max_ms": statistics.median(r["max_ms"] for r in rows),
        "p50_ms": statistics.median(r["p50_ms"] for r in rows),
        "worst_ms": max(r["max_ms"] for r in rows),
    }


async def _wait_event(w: Watcher, name: str, rv_fut: asyncio.Future[str]) -> float:
    """Collect event lines until the one for `name` at the PATCH's rv."""
    assert w.resp is not None
    while True:
        line = await w.resp.content.readline()
        t = time.perf_counter()  # before any parsing: the receive time
        if not line:
            raise BenchError("watch stream ended early")
        ev = orjson.loads(line)
        if ev.get("type") == "ERROR":
            raise BenchError(f"watch error event: {ev}")
        rv = await rv_fut
        meta = ev["object"]["metadata"]
        if meta.get("name") == name and meta.get("resourceVersion") == rv:
            if ev["type"] != "MODIFIED":
                raise BenchError(f"expected MODIFIED, got {ev['type']}")
            return t


# -------------------------------------------------------------------- main
async def run(p: Params, data_dir: Path) -> dict[str, Any]:
    server = ServerProcess(data_dir, store=p.store)
    server.start()
    figures: list[Figure] = []
    details: dict[str, Any] = {}
    try:
        meter = CpuMeter(server)
        async with server.unix_session(limit=4) as admin:
            for ns in (NS_CREATE_1, NS_CREATE_N, NS_LIST):
                await create_namespace(admin, ns)
        mem0 = server.memory_kib()
        details["rss_start_kib"] = mem0["VmRSS"]

        print(f"[1/4] creates: {p.creates} {p.create_kind}, 1 client ...", flush=True)
        c1 = await bench_creates(server, NS_CREATE_1, p.create_kind, p.creates, 1)
        print(f"[1/4] creates: {p.creates} {p.create_kind}, {p.clients} clients ...", flush=True)
        cn = await bench_creates(server, NS_CREATE_N, p.create_kind, p.creates, p.clients)
        details["creates_1"], details["creates_n"] = c1, cn
        figures.append(
            Figure(
                "creates/s (1 client)",
                c1["rate"],
                "/s",
                f"{p.create_kind}; latency p50 {c1['p50_ms']:.1f} ms, p99 {c1['p99_ms']:.1f} ms; "
                f"server CPU {c1['server_cpu_us']:.0f} us/create",
            )
        )
        figures.append(
            Figure(
                f"creates/s ({p.clients} clients)",
                cn["rate"],
                "/s",
                f"{p.create_kind}; latency p50 {cn['p50_ms']:.1f} ms, p99 {cn['p99_ms']:.1f} ms; "
                f"server CPU {cn['server_cpu_us']:.0f} us/create",
            )
        )

        print(f"[2/4] loading {p.services} services over the unix socket ...", flush=True)
        load = await load_services(server, NS_LIST, p.services)
        server.check_alive()
        mem = server.memory_kib()
        details["load"], details["rss_loaded_kib"] = load, mem["VmRSS"]
        figures.append(
            Figure(
                f"load {short_count(p.services)} services (unix socket)",
                load["rate"],
                "/s",
                f"{LOAD_CONCURRENCY} concurrent; {load['elapsed_s']:.1f} s; "
                f"server CPU {load['server_cpu_us']:.0f} us/create",
            )
        )
        figures.append(
            Figure(
                f"server RSS with {short_count(p.services)} services",
                mem["VmRSS"],
                "KiB",
                f"VmRSS; {mem0['VmRSS'] / 1024:.1f} MiB before the benchmark, "
                f"peak so far {mem['VmHWM'] / 1024:.1f} MiB",
            )
        )

        print(f"[3/4] listing {p.services} services x {p.lists} ...", flush=True)
        lst = await bench_list(server, NS_LIST, p.lists, p.services)
        details["list"] = lst
        label = f"list {short_count(p.services)} services"
        size_note = f"{lst['bytes'] / 1e6:.1f} MB per response; {p.lists} calls"
        figures.append(Figure(f"{label} p50", lst["p50_ms"], "ms", size_note))
        figures.append(Figure(f"{label} p99", lst["p99_ms"], "ms", f"max {lst['max_ms']:.0f} ms"))

        print(f"[4/4] {p.watchers} watchers x {p.rounds} changes ...", flush=True)
        w = await bench_watch(
            server, NS_LIST, lst["resource_version"], p.watchers, p.rounds, p.services
        )
        details["watch"] = w
        figures.append(
            Figure(
                f"{p.watchers} watchers see one change (max)",
                w["max_ms"],
                "ms",
                f"median of {p.rounds} rounds; worst round {w['worst_ms']:.1f} ms",
            )
        )
        figures.append(
            Figure(
                f"{p.watchers} watchers see one change (p50)",
                w["p50_ms"],
                "ms",
                f"median over rounds of the per-round p50; streams opened in {w['open_s']:.2f} s",
            )
        )
        server.check_alive()
        details["rss_end_kib"] = server.memory_kib()["VmRSS"]
        details["cpu"] = meter.read()
    finally:
        code = server.stop()
        details["server_exit_code"] = code
    if code not in (0, None):
        raise BenchError(f"apiserver exited with {code}:\n{server.log_tail()}")
    return {"figures": figures, "details": details}


def parse_args(argv: list[str] | None = None) -> tuple[Params, argparse.Namespace]:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="small sizes for a smoke run (~10 s)")
    ap.add_argument("--store", choices=("sqlite", "memory"), default="sqlite")
    ap.add_argument("--json", type=Path, metavar="OUT", help="also write the results as JSON")
    ap.add_argument("--creates", type=int, help="creates per measurement (full: 2000)")
    ap.add_argument("--clients", type=int, default=16, help="concurrent clients (16)")
    ap.add_argument("--create-kind", choices=tuple(BODIES), default="configmaps")
    ap.add_argument("--services", type=int, help="services loaded and listed (full: 10000)")
    ap.add_argument("--lists", type=int, help="timed list calls (full: 50)")
    ap.add_argument("--watchers", type=int, help="concurrent watchers (full: 100)")
    ap.add_argument("--rounds", type=int, help="changes the watchers must see (full: 5)")
    ap.add_argument("--deadline", type=float, default=600.0, help="abort after this many seconds")
    a = ap.parse_args(argv)
    sizes = dict(QUICK if a.quick else FULL)
    for k in sizes:
        v = getattr(a, k)
        if v is not None:
            if v < 1:
                ap.error(f"--{k} must be >= 1")
            sizes[k] = v
    if a.clients < 1:
        ap.error("--clients must be >= 1")
    params = Params(
        store=a.store,
        creates=sizes["creates"],
        clients=a.clients,
        create_kind=a.create_kind,
        services=sizes["services"],
        lists=sizes["lists"],
        watchers=sizes["watchers"],
        rounds=sizes["rounds"],
        deadline_s=a.deadline,
    )
    return params, a


def main(argv: list[str] | None = None) -> int:
    p, a = parse_args(argv)
    env = environment()
    print("svcnet apiserver benchmark" + (" (quick)" if a.quick else ""))
    print_table(
        "environment",
        [
            ("CPUs", f"{env['cpus']} ({env['cpus_usable']} usable) {env['cpu_model']}"),
            ("Python", f"{env['implementation']} {env['python']}"),
            ("platform", env["platform"]),
            ("client", f"aiohttp {env['aiohttp']}, uvloop {env['uvloop']}"),
            ("svcnet commit", env["commit"] or "?"),
            ("load average", f"{env['loadavg_1m']:.2f} (1 min, at start)"),
        ],
    )
    print_table(
        "parameters",
        [
            ("store", p.store + " (HTTPS + bearer token, CA from the kubeconfig)"),
            ("creates", f"{p.creates} {p.create_kind} with 1 client, then with {p.clients}"),
            ("services", f"{p.services} in one namespace (loaded over the unix socket)"),
            ("list calls", f"{p.lists}, sequential, full collection"),
            ("watchers", f"{p.watchers} on that collection, {p.rounds} changes"),
        ],
    )
    print(flush=True)
    t0 = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="svcnet-bench-") as tmp:

        async def guarded() -> dict[str, Any]:
            cancel_on_sigterm()
            return await asyncio.wait_for(run(p, Path(tmp) / "data"), p.deadline_s)

        try:
            result = run_loop(guarded())
        except TimeoutError:
            print(f"error: benchmark exceeded --deadline {p.deadline_s:g}s", file=sys.stderr)
            return 1
        except BenchError as e:
            print(f"error: {e}", file=sys.stderr)
            return 1
        except (KeyboardInterrupt, asyncio.CancelledError):
            print("interrupted; apiserver stopped", file=sys.stderr)
            return 130
    total = time.monotonic() - t0
    figures: list[Figure] = result["figures"]
    print_figures(figures)
    rounds = result["details"]["watch"]["rounds"]
    print("\nwatch rounds (ms, from just before the PATCH to each watcher's event):")
    for i, r in enumerate(rounds):
        print(
            f"  round {i}: max {r['max_ms']:.1f}  p50 {r['p50_ms']:.1f}  "
            f"min {r['min_ms']:.1f}  (PATCH answered after {r['patch_ms']:.1f})"
        )
    cpu = result["details"]["cpu"]
    print(
        f"\nCPUs busy on average: server {cpu['server_cpus']:.2f}, "
        f"benchmark client {cpu['client_cpus']:.2f}, other processes {cpu['other_cpus']:.2f}"
    )
    if cpu["other_cpus"] > OTHER_LOAD_WARN:
        print(
            f"warning: other processes kept {cpu['other_cpus']:.2f} CPUs busy during the run; "
            "these figures are not comparable with a quiet machine's"
        )
    print(f"total time {total:.1f} s")
    if a.json:
        doc = {
            "benchmark": "apiserver",
            "environment": env,
            "parameters": asdict(p),
            "figures": figures_json(figures),
            "details": result["details"],
            "total_s": total,
        }
        a.json.write_text(json.dumps(doc, indent=2) + "\n")
        print(f"wrote {a.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
