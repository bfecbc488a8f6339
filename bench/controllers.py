"""Benchmark of `svcnet controller-manager`: EndpointSlice latency and cold start.

Usage:
    .venv/bin/python bench/controllers.py [--quick] [--json out.json] [--py-spy OUT.raw]
        [--services S --namespaces K] [--only ready|cold] [--keep-dir DIR]

Method. Each scenario starts its own `svcnet apiserver` (memory store) in a
temporary data dir and its own `svcnet controller-manager` talking to it
over the trusted unix socket, as node agents and the controller-manager of
`svcnet up` do. The benchmark client (aiohttp on uvloop, one process)
shares the machine's CPUs with both servers.

1. "1000 pods Ready -> in slices": a Node, a Service `bench` (selector
   app=bench, named targetPort) and 1,000 pods bound to the Node
   (spec.nodeName, so no scheduler is involved), none of them Ready, are
   created first. Then the controller-manager starts (`--controllers
   endpointslice,endpoint` by default) and the script waits for /healthz
   (caches synced) and for the Service's placeholder slice to settle. A
   watch on EndpointSlices labelled kubernetes.io/service-name=bench is
   open from then on. All 1,000 pods are flipped to Ready through
   pods/status (merge patch of phase, podIP, podIPs and the Ready /
   ContainersReady conditions, what a kubelet writes), C requests in flight
   over the unix socket. The figure is the time from just before the first
   status write is sent to the arrival of the watch event after which the
   slices hold 1,000 ready endpoints in total; the time the last status
   write was acknowledged, the number of slices and their sizes are
   reported beside it. (10 slices if packed; as upstream, the controller
   fills existing slices before making new ones but never repacks, so pods
   turning Ready over several syncs can leave a few slices part-full.)
2. "10k services x 10 pods cold-start reconcile": S Services spread over K
   namespaces and 10 Ready pods per Service (created, then their status
   written with a podIP, as in 1) are loaded into a fresh apiserver before
   any controller runs (C requests in flight; not timed, but the load time
   is printed). Full size: 10,000 Services over 100 namespaces, so 1,000
   pods per namespace. A sync reads every pod of its Service's namespace
   (as upstream's pod lister does), so one huge namespace costs S x pods
   per pass and is a different benchmark (`--namespaces 1`). A watch on every EndpointSlice is opened,
   then the controller-manager is started with `--controllers
   endpointslice`. The figure is the time from spawning the process to the
   watch event after which every Service has slices holding exactly 10
   ready endpoints. Time to healthy (informers listed), to the first ready
   slice, when 50/90/99/100% of the Services were complete, the syncs the
   controller ran (from its /metrics), CPU used and progress every 10 s
   are reported too.
3. Peak memory: VmHWM from /proc/<pid>/status of the controller-manager of
   scenario 2 when it has finished, and of that scenario's apiserver.

`--py-spy OUT` samples the controller-manager of scenario 2 with py-spy
(raw collapsed stacks, 100 Hz, non-blocking) from its start to the end of
the reconcile, and prints the functions holding the most samples.

Every request must succeed; the processes are stopped by PID on every exit
path and die with the benchmark. Traffic stays on 127.0.0.1 and the unix
socket. `--quick` runs scenario 2 at 1,000 Services x 10 pods (10
namespaces); the full size takes about 7 minutes on 2 CPUs, most of it
loading 210,000 objects and status writes into the apiserver.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import aiohttp
from _common import (
    JSON_HEADERS,
    BenchError,
    Figure,
    ServerProcess,
    cancel_on_sigterm,
    environment,
    expect,
    figures_json,
    machine_busy_seconds,
    own_cpu_seconds,
    percentile,
    print_figures,
    print_table,
    run_loop,
    short_count,
)
from _controllers_common import (
    SERVICE_NAME_LABEL,
    ManagerProcess,
    Request,
    SliceTally,
    list_into,
    namespace_body,
    node_body,
    pod_body,
    pod_ip,
    progress_printer,
    ready_status_patch,
    rfc3339_now,
    run_requests,
    service_body,
    wait_done,
    watch_slices,
)

NS_READY = "bench-ready"
READY_SERVICE = "bench"
SETTLE_QUIET_S = 1.0  # no slice events for this long = the controller is idle
SETTLE_MAX_S = 30.0
PROGRESS_EVERY_S = 10.0
OTHER_LOAD_WARN = 0.2
METRICS_WAIT_S = 300.0


@dataclass
class Params:
    ready_pods: int
    ready_controllers: str
    services: int
    pods_per_service: int
    namespaces: int
    cold_controllers: str
    concurrency: int
    max_endpoints_per_slice: int
    workers: int
    cm_log_level: str
    reconcile_timeout_s: float
    deadline_s: float
    skip_ready: bool
    skip_cold: bool


FULL = {"services": 10_000, "namespaces": 100}
QUICK = {"services": 1_000, "namespaces": 10}


# -------------------------------------------------------------- helpers
async def create_all(session: aiohttp.ClientSession, path: str, bodies: list[bytes]) -> None:
    for body in bodies:
        async with session.post(path, data=body, headers=JSON_HEADERS) as r:
            await expect(r, 201)


def manager_args(p: Params) -> list[str]:
    return [
        "--max-endpoints-per-slice",
        str(p.max_endpoints_per_slice),
        "--workers",
        str(p.workers),
        "--log-level",
        p.cm_log_level,
    ]


async def settle(tally: SliceTally, quiet_s: float, max_s: float) -> None:
    """Wait until no slice event arrived for `quiet_s` (at most `max_s`)."""
    deadline = time.perf_counter() + max_s
    seen = -1
    while time.perf_counter() < deadline:
        if tally.events == seen:
            return
        seen = tally.events
        await asyncio.sleep(quiet_s)


class PySpy:
    """`py-spy record` attached to a PID, stopped with SIGINT (it then writes)."""

    def __init__(self, pid: int, out: Path) -> None:
        self.out = out
        exe = Path(sys.executable).with_name("py-spy")
        if not exe.exists():
            raise BenchError(
                f"{exe} not found: install it with `{sys.executable} -m pip install py-spy`"
            )
        cmd = [str(exe), "record", "--pid", str(pid), "--rate", "100", "--nonblocking"]
        cmd += ["--format", "raw", "--output", str(out)]
        self.log = out.with_suffix(out.suffix + ".log")
        with open(self.log, "wb") as log:
            self.proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)


def hotspots(raw: Path, top: int = 15) -> list[tuple[str, float, float]]:
    """(frame, self share, inclusive share) of a py-spy raw (collapsed) profile."""
    self_n: Counter[str] = Counter()
    incl_n: Counter[str] = Counter()
    total = 0
    for line in raw.read_text(errors="replace").splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack or not count.isdigit():
            continue
        n = int(count)
        total += n
        frames = stack.split(";")
        self_n[frames[-1]] += n
        for f in set(frames):
            incl_n[f] += n
    if not total:
        return []
    return [(f, n / total, incl_n[f] / total) for f, n in self_n.most_common(top)]


# ---------------------------------------------------- scenario 1: 1000 Ready
async def scenario_ready(p: Params, work: Path) -> dict[str, Any]:
    server = ServerProcess(work / "ready-api", store="memory")
    server.start()
    cm = ManagerProcess(
        server.socket_path, work / "ready-cm.log", p.ready_controllers, manager_args(p)
    )
    out: dict[str, Any] = {}
    watch: asyncio.Task[None] | None = None
    try:
        async with server.unix_session(limit=p.concurrency) as s:
            await create_all(s, "/api/v1/namespaces", [namespace_body(NS_READY)])
            await create_all(s, "/api/v1/nodes", [node_body()])
            base = f"/api/v1/namespaces/{NS_READY}"
            await create_all(s, f"{base}/services", [service_body(READY_SERVICE, "bench")])
            pods = [f"bench-{i:05d}" for i in range(p.ready_pods)]
            jobs = ([Request("POST", f"{base}/pods", pod_body(n, "bench"))] for n in pods)
            load = await run_requests(s, jobs, p.concurrency)
            print(
                f"      created {p.ready_pods} pods (not Ready) in {load.elapsed_s:.1f} s",
                flush=True,
            )

            cm.start()
            healthy_at = await cm.wait_healthy(60)
            out["cm_healthy_s"] = healthy_at - cm.started_at
            tally = SliceTally(target=p.ready_pods, services=1)
            selector = f"{SERVICE_NAME_LABEL}={READY_SERVICE}"
            rv = await list_into(s, tally, selector)
            watch = asyncio.create_task(watch_slices(server.socket_path, tally, rv, selector))
            await settle(tally, SETTLE_QUIET_S, SETTLE_MAX_S)
            out["slices_before"] = tally.total_slices
            out["ready_before"] = tally.total_ready
            if tally.total_ready:
                raise BenchError(f"{tally.total_ready} endpoints ready before any pod is Ready")

            now = rfc3339_now()
            jobs = (
                [Request("PATCH", f"{base}/pods/{n}/status", ready_status_patch(pod_ip(i), now))]
                for i, n in enumerate(pods)
            )
            cpu0 = cm.cpu_seconds()
            syncs0 = await cm.sync_counts()
            flip = await run_requests(s, jobs, p.concurrency)
            if not await wait_done(tally, watch, p.reconcile_timeout_s):
                raise BenchError(
                    f"only {tally.total_ready}/{p.ready_pods} endpoints ready in slices "
                    f"{p.reconcile_timeout_s:g}s after the status writes"
                )
            assert tally.done_at is not None
            slices_at_done = tally.total_slices
            await settle(tally, SETTLE_QUIET_S, SETTLE_MAX_S)
            out.update(
                {
                    "ready_s": tally.done_at - flip.first_sent,
                    "slices_at_done": slices_at_done,
                    "ready_final": tally.total_ready,
                    "slice_sizes": tally.sizes(),
                    "writes_s": flip.last_ack - flip.first_sent,
                    "after_last_ack_s": tally.done_at - flip.last_ack,
                    "write_rate": flip.rate,
                    "slices": tally.total_slices,
                    "expected_slices": math.ceil(p.ready_pods / p.max_endpoints_per_slice),
                    "slice_events": tally.events,
                    "cm_cpu_s": cm.cpu_seconds() - cpu0,
                    "cm_memory_kib": cm.memory_kib(),
                    "cm_syncs": {
                        k: v - syncs0.get(k, 0.0) for k, v in (await cm.sync_counts()).items()
                    },
                }
            )
            server.check_alive()
            cm.check_alive()
    finally:
        if watch is not None:
            watch.cancel()
            await asyncio.gather(watch, return_exceptions=True)
        out["cm_exit_code"] = cm.stop()
        out["server_exit_code"] = server.stop()
        out["cm_log_problems"] = cm.log_errors()[:20]
    return out


# ------------------------------------------------- scenario 2: cold start
def cold_jobs(p: Params) -> tuple[list[list[Request]], list[list[Request]]]:
    """(service jobs, pod jobs): each pod job creates a pod, then makes it Ready."""
    per_ns = p.services // p.namespaces
    svc_jobs: list[list[Request]] = []
    pod_jobs: list[list[Request]] = []
    now = rfc3339_now()
    ip = 0
    for k in range(p.namespaces):
        base = f"/api/v1/namespaces/{cold_namespace(k)}"
        for j in range(per_ns):
            name = f"svc-{j:05d}"
            svc_jobs.append([Request("POST", f"{base}/services", service_body(name, name))])
            for r in range(p.pods_per_service):
                pod = f"{name}-{r:02d}"
                pod_jobs.append(
                    [
                        Request("POST", f"{base}/pods", pod_body(pod, name)),
                        Request(
                            "PATCH",
                            f"{base}/pods/{pod}/status",
                            ready_status_patch(pod_ip(ip), now),
                        ),
                    ]
                )
                ip += 1
    return svc_jobs, pod_jobs


def cold_namespace(k: int) -> str:
    return f"bench-cold-{k:04d}"


async def scenario_cold(p: Params, work: Path, py_spy: Path | None) -> dict[str, Any]:
    server = ServerProcess(work / "cold-api", store="memory")
    server.start()
    cm = ManagerProcess(
        server.socket_path, work / "cold-cm.log", p.cold_controllers, manager_args(p)
    )
    out: dict[str, Any] = {"complete": False}
    watch: asyncio.Task[None] | None = None
    spy: PySpy | None = None
    try:
        async with server.unix_session(limit=p.concurrency, timeout=120) as s:
            t0 = time.perf_counter()
            await create_all(s, "/api/v1/nodes", [node_body()])
            await create_all(
                s,
                "/api/v1/namespaces",
                [namespace_body(cold_namespace(k)) for k in range(p.namespaces)],
            )
            svc_jobs, pod_jobs = cold_jobs(p)
            svc = await run_requests(s, svc_jobs, p.concurrency)
            print(
                f"      {len(svc_jobs):,} services in {svc.elapsed_s:.1f} s ({svc.rate:,.0f}/s)",
                flush=True,
            )
            total_pods = len(pod_jobs)
            pods = await run_requests(
                s,
                pod_jobs,
                p.concurrency,
                progress_printer(2 * total_pods, "pod creates + status writes"),
            )
            print(
                f"      {total_pods:,} pods created and made Ready in {pods.elapsed_s:.1f} s "
                f"({pods.rate:,.0f} requests/s)",
                flush=True,
            )
            out["load_s"] = time.perf_counter() - t0
            out["load_requests"] = 1 + p.namespaces + svc.requests + pods.requests
            out["server_after_load_kib"] = server.memory_kib()
            del svc_jobs, pod_jobs

            tally = SliceTally(target=p.pods_per_service, services=p.services)
            rv = await list_into(s, tally)
            watch = asyncio.create_task(watch_slices(server.socket_path, tally, rv))

            print("      starting controller-manager ...", flush=True)
            busy0, client0 = machine_busy_seconds(), own_cpu_seconds()
            server_cpu0 = server.cpu_seconds()
            cm.start()
            if py_spy is not None:
                spy = PySpy(cm.pid, py_spy)
            healthy_at = await cm.wait_healthy(p.reconcile_timeout_s)
            out["cm_healthy_s"] = healthy_at - cm.started_at
            print(f"      healthy (caches synced) after {out['cm_healthy_s']:.1f} s", flush=True)
            deadline = cm.started_at + p.reconcile_timeout_s
            while not tally.done.is_set():
                left = deadline - time.perf_counter()
                if left <= 0:
                    break
                if not await wait_done(tally, watch, min(left, PROGRESS_EVERY_S)):
                    cm.check_alive()
                    mem = cm.memory_kib()
                    print(
                        f"      +{time.perf_counter() - cm.started_at:5.0f} s: "
                        f"{tally.complete:,}/{p.services:,} services complete, "
                        f"{tally.total_slices:,} slices, cm RSS {mem['VmRSS'] / 1024:.0f} MiB, "
                        f"cm CPU {cm.cpu_seconds():.0f} s",
                        flush=True,
                    )
            end = tally.done_at if tally.done_at is not None else time.perf_counter()
            wall = end - cm.started_at
            if spy is not None:
                spy.stop()
            cm.check_alive()
            cm_cpu = cm.cpu_seconds()
            server_cpu = server.cpu_seconds() - server_cpu0
            client_cpu = own_cpu_seconds() - client0
            busy = machine_busy_seconds() - busy0
            out.update(
                {
                    "complete": tally.done.is_set(),
                    "reconcile_s": wall,
                    "services_complete": tally.complete,
                    "slices": tally.total_slices,
                    "ready_endpoints": tally.total_ready,
                    "slice_events": tally.events,
                    "first_ready_slice_s": (
                        tally.first_ready_at - cm.started_at
                        if tally.first_ready_at is not None
                        else None
                    ),
                    "completion_s": {
                        f"p{q}": percentile(tally.completions, q) - cm.started_at
                        for q in (50, 90, 99, 100)
                    }
                    if tally.completions
                    else {},
                    "cm_cpu_s": cm_cpu,
                    "server_cpu_s": server_cpu,
                    "client_cpu_s": client_cpu,
                    "other_cpus": max(0.0, busy - cm_cpu - server_cpu - client_cpu) / wall,
                    "cm_memory_kib": cm.memory_kib(),
                    "server_memory_kib": server.memory_kib(),
                }
            )
            server.check_alive()
            # The loop may still be busy with syncs its own writes triggered;
            # /metrics answers when it is free again (that delay is reported).
            t_metrics = time.perf_counter()
            out["cm_syncs"] = await cm.sync_counts(timeout_s=METRICS_WAIT_S)
            out["metrics_wait_s"] = time.perf_counter() - t_metrics
    finally:
        if spy is not None:
            spy.stop()
        if watch is not None:
            watch.cancel()
            await asyncio.gather(watch, return_exceptions=True)
        out["cm_exit_code"] = cm.stop()
        out["server_exit_code"] = server.stop()
        out["cm_log_problems"] = cm.log_errors()[:20]
    return out


# ------------------------------------------------------------------- main
def build_figures(p: Params, ready: dict[str, Any] | None, cold: dict[str, Any] | None) -> list:
    figs: list[Figure] = []
    if ready is not None:
        figs.append(
            Figure(
                f"{p.ready_pods} pods Ready -> in slices",
                ready["ready_s"] * 1e3,
                "ms",
                f"{ready['slices']} slices when settled (expected {ready['expected_slices']}; "
                f"{ready['slices_at_done']} at that moment); status writes "
                f"acked within {ready['writes_s'] * 1e3:.0f} ms ({ready['write_rate']:,.0f}/s), "
                f"slices complete {ready['after_last_ack_s'] * 1e3:.0f} ms after the last ack; "
                f"--controllers {p.ready_controllers}",
            )
        )
    if cold is not None:
        size = f"{short_count(p.services)} services x {p.pods_per_service} pods"
        per_ns = p.services // p.namespaces
        if cold["complete"]:
            note = (
                f"{p.namespaces} namespaces x {per_ns} services; healthy after "
                f"{cold['cm_healthy_s']:.1f} s; {cold['slices']:,} slices; "
                f"controller-manager CPU {cold['cm_cpu_s']:.0f} s"
            )
        else:
            note = (
                f"NOT COMPLETE: {cold['services_complete']:,}/{p.services:,} services "
                f"reconciled when the {p.reconcile_timeout_s:g}s budget ran out"
            )
        figs.append(
            Figure(f"{size} cold-start reconcile", round(cold["reconcile_s"], 1), "s", note)
        )
        figs.append(
            Figure(
                "controller-manager peak RSS",
                cold["cm_memory_kib"]["VmHWM"],
                "KiB",
                f"VmHWM at {size}; --controllers {p.cold_controllers}",
            )
        )
        figs.append(
            Figure(
                "apiserver peak RSS",
                cold["server_memory_kib"]["VmHWM"],
                "KiB",
                f"VmHWM, memory store holding {size} (+ slices); "
                f"{cold['server_after_load_kib']['VmRSS'] / 1024:.0f} MiB RSS after loading",
            )
        )
    return figs


async def run(p: Params, work: Path, py_spy: Path | None) -> dict[str, Any]:
    details: dict[str, Any] = {}
    if not p.skip_ready:
        print(
            f"[1/2] {p.ready_pods} pods turning Ready behind one Service "
            f"(--controllers {p.ready_controllers}) ...",
            flush=True,
        )
        details["ready"] = await scenario_ready(p, work)
    if not p.skip_cold:
        print(
            f"[2/2] cold start: loading {p.services:,} services and "
            f"{p.services * p.pods_per_service:,} Ready pods ...",
            flush=True,
        )
        details["cold"] = await scenario_cold(p, work, py_spy)
    figures = build_figures(p, details.get("ready"), details.get("cold"))
    return {"figures": figures, "details": details}


def parse_args(argv: list[str] | None = None) -> tuple[Params, argparse.Namespace]:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="scenario 2 at 1,000 services")
    ap.add_argument("--json", type=Path, metavar="OUT", help="also write the results as JSON")
    ap.add_argument("--ready-pods", type=int, default=1000, help="pods behind one Service (1000)")
    ap.add_argument(
        "--ready-controllers",
        default="endpointslice,endpoint",
        help="controllers of scenario 1 (endpointslice,endpoint)",
    )
    ap.add_argument("--services", type=int, help="Services of scenario 2 (full 10000, quick 1000)")
    ap.add_argument("--pods-per-service", type=int, default=10, help="(10)")
    ap.add_argument(
        "--namespaces", type=int, help="namespaces the Services are spread over (full 100)"
    )
    ap.add_argument("--cold-controllers", default="endpointslice", help="controllers of scenario 2")
    ap.add_argument("--concurrency", type=int, default=32, help="requests in flight (32)")
    ap.add_argument("--max-endpoints-per-slice", type=int, default=100)
    ap.add_argument("--workers", type=int, default=4, help="controller-manager --workers (4)")
    ap.add_argument(
        "--reconcile-timeout",
        type=float,
        default=900.0,
        help="give up waiting for a reconcile after this many seconds (900)",
    )
    ap.add_argument("--deadline", type=float, default=1500.0, help="abort after this many seconds")
    ap.add_argument("--only", choices=("ready", "cold"), help="run one scenario")
    ap.add_argument(
        "--py-spy", type=Path, metavar="OUT", help="profile scenario 2's controller-manager"
    )
    ap.add_argument(
        "--keep-dir",
        type=Path,
        metavar="DIR",
        help="keep data dirs and process logs in DIR (default: a removed temp dir)",
    )
    ap.add_argument("--cm-log-level", default="info", help="controller-manager --log-level (info)")
    a = ap.parse_args(argv)
    sizes = dict(QUICK if a.quick else FULL)
    for k in sizes:
        v = getattr(a, k)
        if v is not None:
            sizes[k] = v
    if min(sizes["services"], sizes["namespaces"], a.pods_per_service, a.ready_pods) < 1:
        ap.error("sizes must be >= 1")
    if sizes["services"] % sizes["namespaces"]:
        ap.error("--services must be a multiple of --namespaces")
    if a.concurrency < 1:
        ap.error("--concurrency must be >= 1")
    params = Params(
        ready_pods=a.ready_pods,
        ready_controllers=a.ready_controllers,
        services=sizes["services"],
        pods_per_service=a.pods_per_service,
        namespaces=sizes["namespaces"],
        cold_controllers=a.cold_controllers,
        concurrency=a.concurrency,
        max_endpoints_per_slice=a.max_endpoints_per_slice,
        workers=a.workers,
        cm_log_level=a.cm_log_level,
        reconcile_timeout_s=a.reconcile_timeout,
        deadline_s=a.deadline,
        skip_ready=a.only == "cold",
        skip_cold=a.only == "ready",
    )
    return params, a


def fmt_syncs(m: dict[str, float]) -> str:
    """'endpointslice ok=2001 ...; mean 12.3 ms' from sync_counts() output."""
    parts = []
    for k, v in sorted(m.items()):
        if k.startswith("controller_syncs_total{"):
            labels = dict(x.split("=", 1) for x in k[k.index("{") + 1 : -1].split(","))
            ctrl, res = labels["controller"].strip('"'), labels["result"].strip('"')
            parts.append(f"{ctrl} {res}={v:.0f}")
    return ", ".join(parts) or "(metrics unavailable)"


def print_details(p: Params, details: dict[str, Any]) -> None:
    ready = details.get("ready")
    if ready is not None:
        print(
            f"\nscenario 1: healthy {ready['cm_healthy_s']:.2f} s after start; "
            f"{ready['slices_before']} slice(s) before the flip; {ready['slice_events']} slice "
            f"events; controller-manager CPU {ready['cm_cpu_s']:.2f} s during the flip; "
            f"ready endpoints per slice when settled: {ready['slice_sizes']}; "
            f"syncs during the flip: {fmt_syncs(ready['cm_syncs'])}"
        )
    cold = details.get("cold")
    if cold is not None:
        first = cold["first_ready_slice_s"]
        print(
            f"scenario 2: loaded {cold['load_requests']:,} objects/writes in "
            f"{cold['load_s']:.1f} s (not timed); healthy after {cold['cm_healthy_s']:.1f} s; "
            f"first ready slice at "
            f"{'-' if first is None else f'{first:.1f} s'}; "
            f"{cold['services_complete']:,}/{p.services:,} services complete; "
            f"{cold['slice_events']:,} slice events"
        )
        comp = cold["completion_s"]
        if comp:
            print(
                "Services complete (s after the controller-manager was spawned): "
                + ", ".join(f"{k} {v:.1f}" for k, v in comp.items())
            )
        print(
            f"controller-manager syncs: {fmt_syncs(cold.get('cm_syncs', {}))} "
            f"(/metrics answered {cold.get('metrics_wait_s', 0):.1f} s after the last slice)"
        )
        print(
            f"CPU seconds during the reconcile: controller-manager {cold['cm_cpu_s']:.0f}, "
            f"apiserver {cold['server_cpu_s']:.0f}, benchmark client {cold['client_cpu_s']:.0f}; "
            f"other processes {cold['other_cpus']:.2f} CPUs on average"
        )
        if cold["other_cpus"] > OTHER_LOAD_WARN:
            print(
                "warning: other processes kept the machine busy; these figures are not "
                "comparable with a quiet machine's"
            )
    for name in ("ready", "cold"):
        d = details.get(name)
        if d and d["cm_log_problems"]:
            print(f"\ncontroller-manager warnings/errors in scenario {name}:")
            for ln in d["cm_log_problems"]:
                print(f"  {ln[:200]}")


def main(argv: list[str] | None = None) -> int:
    p, a = parse_args(argv)
    env = environment()
    print("svcnet controller-manager benchmark" + (" (quick)" if a.quick else ""))
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
    per_ns = p.services // p.namespaces
    print_table(
        "parameters",
        [
            ("apiserver", "memory store; clients over the unix socket"),
            ("scenario 1", f"{p.ready_pods} pods, 1 Service; --controllers {p.ready_controllers}"),
            (
                "scenario 2",
                f"{p.services:,} Services x {p.pods_per_service} Ready pods in "
                f"{p.namespaces} namespaces ({per_ns} Services each); "
                f"--controllers {p.cold_controllers}",
            ),
            (
                "controller-manager",
                f"--workers {p.workers}, --max-endpoints-per-slice {p.max_endpoints_per_slice}",
            ),
            ("client concurrency", f"{p.concurrency} requests in flight"),
            ("reconcile budget", f"{p.reconcile_timeout_s:g} s per scenario"),
        ],
    )
    print(flush=True)
    t0 = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="svcnet-bench-cm-") as tmp_dir:
        tmp = a.keep_dir or tmp_dir
        if a.keep_dir:
            a.keep_dir.mkdir(parents=True, exist_ok=True)

        async def guarded() -> dict[str, Any]:
            cancel_on_sigterm()
            return await asyncio.wait_for(run(p, Path(tmp), a.py_spy), p.deadline_s)

        try:
            result = run_loop(guarded())
        except TimeoutError:
            print(f"error: benchmark exceeded --deadline {p.deadline_s:g}s", file=sys.stderr)
            return 1
        except BenchError as e:
            print(f"error: {e}", file=sys.stderr)
            return 1
        except (KeyboardInterrupt, asyncio.CancelledError):
            print("interrupted; processes stopped", file=sys.stderr)
            return 130
    total = time.monotonic() - t0
    figures: list[Figure] = result["figures"]
    print_figures(figures)
    print_details(p, result["details"])
    if a.py_spy is not None:
        if a.py_spy.exists():
            print(f"\npy-spy hotspots of the controller-manager ({a.py_spy}):")
            print("   self  inclusive  function (file:line)")
            for frame, own, incl in hotspots(a.py_spy):
                print(f"  {own * 100:5.1f}%  {incl * 100:8.1f}%  {frame}")
        else:
            print(f"\npy-spy wrote no profile; see {a.py_spy}.log")
    print(f"\ntotal time {total:.1f} s")
    if a.json:
        doc = {
            "benchmark": "controllers",
            "environment": env,
            "parameters": asdict(p),
            "figures": figures_json(figures),
            "details": result["details"],
            "total_s": total,
        }
        a.json.write_text(json.dumps(doc, indent=2) + "\n")
        print(f"wrote {a.json}")
    cold = result["details"].get("cold")
    return 0 if cold is None or cold["complete"] else 2


if __name__ == "__main__":
    sys.exit(main())
