"""Helpers for the controller benchmark: a managed controller-manager, object
bodies, bulk loading over the unix socket, and an EndpointSlice tally.

Theory of operation: `bench/controllers.py` owns two kinds of subprocess,
the apiserver (`_common.ServerProcess`) and `svcnet controller-manager`
(`ManagerProcess` here), both stopped by PID on every exit path and both
told by the kernel to die with the benchmark (PR_SET_PDEATHSIG). The
controller-manager talks to the apiserver over its trusted unix socket;
its /healthz listens on 127.0.0.1 on a port picked here, and turns 200 once
every informer has synced and the loops run.

`SliceTally` follows a watch on EndpointSlices and keeps, per Service (the
kubernetes.io/service-name label), the number of ready endpoints and of
slices, so a scenario can tell the moment its target is reached from the
event that reached it. The watch is parsed from raw chunks (a slice with
1,000 endpoints is a line longer than aiohttp's readline buffer).
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import orjson
from _common import (
    JSON_HEADERS,
    MERGE_PATCH_HEADERS,
    ROOT,
    BenchError,
    _die_with_parent,
    expect,
    proc_cpu_seconds,
    proc_status_kib,
)

SERVICE_NAME_LABEL = "kubernetes.io/service-name"
SLICES_PATH = "/apis/discovery.k8s.io/v1/endpointslices"
NODE_NAME = "bench-node"
ZONE = "bench-zone-a"
# Pod IPs come from 10.128.0.0/9: clear of the default service CIDR
# (10.96.0.0/16) and of loopback/link-local, so EndpointSlice validation passes.
POD_IP_BASE = int(ipaddress.IPv4Address("10.128.0.0"))


# ----------------------------------------------------------------- bodies
def namespace_body(name: str) -> bytes:
    return orjson.dumps({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}})


def node_body(name: str = NODE_NAME) -> bytes:
    """A Node with a zone label (the controller copies it into each endpoint)."""
    return orjson.dumps(
        {
            "apiVersion": "v1",
            "kind": "Node",
            "metadata": {"name": name, "labels": {"topology.kubernetes.io/zone": ZONE}},
        }
    )


def service_body(name: str, app: str) -> bytes:
    """A ClusterIP Service selecting app=<app>, port 80 -> named targetPort http."""
    return orjson.dumps(
        {
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": {"name": name, "labels": {"tier": "bench"}},
            "spec": {
                "selector": {"app": app},
                "ports": [{"name": "http", "port": 80, "targetPort": "http", "protocol": "TCP"}],
            },
        }
    )


def pod_body(name: str, app: str, node: str = NODE_NAME) -> bytes:
    """A pod already bound to `node` (no scheduler needed), with a named port."""
    return orjson.dumps(
        {
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": {"name": name, "labels": {"app": app, "tier": "bench"}},
            "spec": {
                "nodeName": node,
                "containers": [
                    {
                        "name": "web",
                        "image": "svcnet/netexec",
                        "ports": [{"name": "http", "containerPort": 8080}],
                    }
                ],
            },
        }
    )


def pod_ip(i: int) -> str:
    return str(ipaddress.IPv4Address(POD_IP_BASE + 1 + i))


def ready_status_patch(ip: str, now: str) -> bytes:
    """What a kubelet writes when the pod's containers pass readiness (merge patch)."""
    cond = {"status": "True", "lastProbeTime": None, "lastTransitionTime": now}
    return orjson.dumps(
        {
            "status": {
                "phase": "Running",
                "hostIP": "172.18.0.11",
                "podIP": ip,
                "podIPs": [{"ip": ip}],
                "startTime": now,
                "conditions": [
                    {"type": "Initialized", **cond},
                    {"type": "Ready", **cond},
                    {"type": "ContainersReady", **cond},
                    {"type": "PodScheduled", **cond},
                ],
            }
        }
    )


def rfc3339_now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


# ---------------------------------------------------------------- requests
@dataclass(frozen=True)
class Request:
    method: str  # POST | PATCH
    path: str
    body: bytes


@dataclass
class LoadStats:
    requests: int = 0
    elapsed_s: float = 0.0
    first_sent: float = 0.0  # perf_counter just before the first request
    last_ack: float = 0.0  # perf_counter when the last answer was read

    @property
    def rate(self) -> float:
        return self.requests / self.elapsed_s if self.elapsed_s > 0 else 0.0


async def run_requests(
    session: aiohttp.ClientSession,
    jobs: Iterable[list[Request]],
    concurrency: int,
    progress: Callable[[int], None] | None = None,
) -> LoadStats:
    """Run jobs (each a list of requests sent in order, e.g. create a pod then
    write its status) with `concurrency` jobs in flight; every answer must
    be 200 or 201."""
    it = iter(jobs)
    stats = LoadStats()
    first: list[float] = []

    async def worker() -> None:
        for job in it:  # a shared iterator: each job is taken by one worker
            for req in job:
                headers = MERGE_PATCH_HEADERS if req.method == "PATCH" else JSON_HEADERS
                if not first:
                    first.append(time.perf_counter())
                async with session.request(
                    req.method, req.path, data=req.body, headers=headers
                ) as r:
                    await expect(r, 200, 201)
                stats.last_ack = time.perf_counter()
                stats.requests += 1
                if progress is not None:
                    progress(stats.requests)

    t0 = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    stats.elapsed_s = time.perf_counter() - t0
    stats.first_sent = first[0] if first else t0
    return stats


def progress_printer(total: int, label: str, every_s: float = 10.0) -> Callable[[int], None]:
    """A callback printing "label: n/total" at most every `every_s` seconds."""
    last = [time.monotonic()]

    def cb(n: int) -> None:
        now = time.monotonic()
        if now - last[0] >= every_s:
            last[0] = now
            print(f"      {label}: {n:,}/{total:,}", flush=True)

    return cb


# ---------------------------------------------------- controller-manager
def free_port() -> int:
    """A TCP port on 127.0.0.1 that was free a moment ago (for /healthz)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class ManagerProcess:
    """One `svcnet controller-manager` subprocess talking over the unix socket."""

    api_socket: Path
    log_path: Path
    controllers: str
    extra_args: list[str] = field(default_factory=list)
    proc: subprocess.Popen[bytes] | None = None
    port: int = 0
    started_at: float = 0.0  # perf_counter just before the process was spawned

    @property
    def pid(self) -> int:
        if self.proc is None:
            raise BenchError("controller-manager not started")
        return self.proc.pid

    def command(self) -> list[str]:
        return [
            sys.executable,
            "-m",
            "svcnet.cli",
            "controller-manager",
            "--socket",
            str(self.api_socket),
            "--metrics-addr",
            f"127.0.0.1:{self.port}",
            "--controllers",
            self.controllers,
            *self.extra_args,
        ]

    def start(self) -> None:
        self.port = free_port()
        with open(self.log_path, "ab") as log:
            self.started_at = time.perf_counter()
            self.proc = subprocess.Popen(
                self.command(),
                stdout=log,
                stderr=subprocess.STDOUT,
                cwd=ROOT,
                preexec_fn=_die_with_parent,
            )

    async def wait_healthy(self, timeout: float) -> float:
        """Poll /healthz until 200 (caches synced, loops running); returns the
        perf_counter time it first answered 200."""
        deadline = time.perf_counter() + timeout
        url = f"http://127.0.0.1:{self.port}/healthz"
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=2)) as s:
            while time.perf_counter() < deadline:
                self.check_alive()
                with contextlib.suppress(aiohttp.ClientError, TimeoutError):
                    async with s.get(url) as r:
                        await r.read()
                        if r.status == 200:
                            return time.perf_counter()
                await asyncio.sleep(0.05)
        raise BenchError(f"controller-manager not healthy after {timeout}s:\n{self.log_tail()}")

    def check_alive(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            raise BenchError(f"controller-manager is not running:\n{self.log_tail()}")

    async def sync_counts(self, timeout_s: float = 10.0) -> dict[str, float]:
        """controller_syncs_total by controller/result and sync-duration sums,
        from /metrics (empty if the page cannot be read within `timeout_s`)."""
        out: dict[str, float] = {}
        url = f"http://127.0.0.1:{self.port}/metrics"
        timeout = aiohttp.ClientTimeout(total=timeout_s)
        try:
            async with aiohttp.ClientSession(timeout=timeout) as s, s.get(url) as r:
                text = await r.text()
        except (aiohttp.ClientError, TimeoutError):
            return out
        for line in text.splitlines():
            if line.startswith(("controller_syncs_total", "controller_sync_duration_seconds_sum")):
                name, _, value = line.rpartition(" ")
                out[name] = float(value)
        return out

    def stop(self, timeout: float = 10.0) -> int | None:
        p = self.proc
        if p is None:
            return None
        if p.poll() is None:
            p.terminate()
            try:
                p.wait(timeout)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait(5)
        return p.returncode

    def memory_kib(self) -> dict[str, int]:
        return proc_status_kib(self.pid, ("VmRSS", "VmHWM"))

    def cpu_seconds(self) -> float:
        return proc_cpu_seconds(self.pid)

    def log_tail(self, lines: int = 30) -> str:
        try:
            text = self.log_path.read_text(errors="replace")
        except OSError:
            return "(no log)"
        return "\n".join(text.splitlines()[-lines:])

    def log_errors(self) -> list[str]:
        """Log lines at level warning or error (a clean run has none)."""
        try:
            text = self.log_path.read_text(errors="replace")
        except OSError:
            return []
        return [
            ln
            for ln in text.splitlines()
            if "level=error" in ln or "level=warning" in ln or "Traceback" in ln
        ]


# ------------------------------------------------------------ slice tally
def ready_count(slice_: dict[str, Any]) -> int:
    """Endpoints whose conditions.ready is true (upstream: nil counts as ready)."""
    n = 0
    for ep in slice_.get("endpoints") or ():
        if (ep.get("conditions") or {}).get("ready", True) is not False:
            n += 1
    return n


class SliceTally:
    """Ready endpoints and slices per Service, from a watch on EndpointSlices.

    Args:
        target: ready endpoints every Service must reach.
        services: how many Services must reach it.
    """

    def __init__(self, target: int, services: int) -> None:
        self.target = target
        self.services = services
        self.slices: dict[str, tuple[str, int]] = {}  # ns/slice -> (ns/service, ready)
        self.ready: dict[str, int] = {}
        self.slice_count: dict[str, int] = {}
        self.complete = 0
        self.events = 0
        self.first_ready_at: float | None = None
        self.done_at: float | None = None
        self.done = asyncio.Event()
        self.rv = ""
        self.completions: list[float] = []  # when a Service reached the target, in order
        self._now = 0.0

    def _set_ready(self, svc: str, delta: int) -> None:
        before = self.ready.get(svc, 0)
        after = before + delta
        self.ready[svc] = after
        step = (after == self.target) - (before == self.target)
        self.complete += step
        if step > 0:
            self.completions.append(self._now)

    def apply(self, etype: str, obj: dict[str, Any], at: float) -> None:
        meta = obj.get("metadata") or {}
        self.rv = meta.get("resourceVersion") or self.rv
        if etype == "BOOKMARK":
            return
        self.events += 1
        self._now = at
        ns = meta.get("namespace", "")
        key = f"{ns}/{meta.get('name', '')}"
        svc = f"{ns}/{(meta.get('labels') or {}).get(SERVICE_NAME_LABEL, '')}"
        old = self.slices.pop(key, None)
        if old is not None:
            self._set_ready(old[0], -old[1])
            self.slice_count[old[0]] -= 1
        if etype != "DELETED":
            n = ready_count(obj)
            self.slices[key] = (svc, n)
            self._set_ready(svc, n)
            self.slice_count[svc] = self.slice_count.get(svc, 0) + 1
            if n and self.first_ready_at is None:
                self.first_ready_at = at
        if self.complete >= self.services and self.done_at is None:
            self.done_at = at
            self.done.set()

    def sizes(self) -> list[int]:
        """Ready endpoints of each slice, largest first."""
        return sorted((n for _, n in self.slices.values()), reverse=True)

    @property
    def total_ready(self) -> int:
        return sum(self.ready.values())

    @property
    def total_slices(self) -> int:
        return len(self.slices)


async def watch_slices(
    api_socket: Path,
    tally: SliceTally,
    rv: str,
    label_selector: str | None = None,
    timeout_s: int = 3600,
) -> None:
    """Feed `tally` from a watch on every namespace's EndpointSlices, from
    `rv`, until cancelled; resumes from the last resourceVersion when the
    server ends a stream. Its own connection, with no client-side timeout."""
    tally.rv = rv
    async with aiohttp.ClientSession(
        base_url="http://localhost",
        connector=aiohttp.UnixConnector(path=str(api_socket), limit=1),
        timeout=aiohttp.ClientTimeout(total=None, sock_read=None),
    ) as session:
        await _watch_loop(session, tally, label_selector, timeout_s)


async def _watch_loop(
    session: aiohttp.ClientSession, tally: SliceTally, label_selector: str | None, timeout_s: int
) -> None:
    while True:
        params = {"watch": "1", "resourceVersion": tally.rv, "timeoutSeconds": str(timeout_s)}
        params["allowWatchBookmarks"] = "true"
        if label_selector:
            params["labelSelector"] = label_selector
        async with session.get(SLICES_PATH, params=params) as r:
            if r.status != 200:
                body = await r.read()
                raise BenchError(f"watch slices: HTTP {r.status}: {body[:300]!r}")
            buf = b""
            async for chunk in r.content.iter_any():
                at = time.perf_counter()  # receive time, before parsing
                buf += chunk
                *lines, buf = buf.split(b"\n")
                for line in lines:
                    if not line.strip():
                        continue
                    ev = orjson.loads(line)
                    if ev.get("type") == "ERROR":
                        raise BenchError(f"watch slices: error event {ev.get('object')}")
                    tally.apply(ev["type"], ev["object"], at)


async def wait_done(tally: SliceTally, watch: asyncio.Task[None], timeout: float) -> bool:
    """Wait for the tally's target (True) or `timeout` (False); a failed watch raises."""
    if tally.done.is_set():
        return True
    done_wait = asyncio.ensure_future(tally.done.wait())
    try:
        await asyncio.wait({done_wait, watch}, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
    finally:
        done_wait.cancel()
    if watch.done() and not tally.done.is_set():
        exc = None if watch.cancelled() else watch.exception()
        raise BenchError(f"the EndpointSlice watch ended: {exc!r}")
    return tally.done.is_set()


async def list_into(
    session: aiohttp.ClientSession, tally: SliceTally, label_selector: str | None = None
) -> str:
    """Feed every existing EndpointSlice to `tally` as ADDED; returns the list's
    resourceVersion, where the watch starts."""
    params = {"labelSelector": label_selector} if label_selector else {}
    async with session.get(SLICES_PATH, params=params) as r:
        body = await expect(r, 200)
    doc = orjson.loads(body)
    at = time.perf_counter()
    for item in doc.get("items") or ():
        tally.apply("ADDED", item, at)
    return str(doc["metadata"]["resourceVersion"])
