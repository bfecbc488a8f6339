"""Shared helpers for svcnet benchmarks: a managed apiserver, clients, figures.

Theory of operation: a benchmark starts its own `svcnet apiserver` as a
subprocess in a temporary data dir (port 0 on 127.0.0.1, HTTPS unless told
otherwise), waits for the kubeconfig the server writes, and talks to it
either over HTTPS with the bearer token and CA from that kubeconfig (as
users do) or over the trusted unix socket (as node agents do). The process
is stopped by its PID (SIGTERM, then SIGKILL after a grace period) in every
exit path. Nothing here touches an address outside 127.0.0.0/8.

Figures are plain `Figure` records so a script can print them as a table
and dump them as JSON with the environment and the parameters.
"""

from __future__ import annotations

import asyncio
import base64
import ctypes
import math
import os
import platform
import signal
import ssl
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import yaml

ROOT = Path(__file__).resolve().parents[1]
PR_SET_PDEATHSIG = 1

JSON_HEADERS = {"Content-Type": "application/json", "Accept": "application/json"}
MERGE_PATCH_HEADERS = {
    "Content-Type": "application/merge-patch+json",
    "Accept": "application/json",
}


class BenchError(Exception):
    """A benchmark cannot produce valid figures (server died, request failed)."""


# ------------------------------------------------------------------ server
@dataclass
class ServerProcess:
    """One `svcnet apiserver` subprocess owned by a benchmark.

    Args:
        data_dir: its data dir (the caller owns and removes it).
        store: "sqlite" or "memory".
        tls: HTTPS (the default, as users get it) or plain HTTP.
    """

    data_dir: Path
    store: str = "sqlite"
    tls: bool = True
    extra_args: list[str] = field(default_factory=list)
    proc: subprocess.Popen[bytes] | None = None
    url: str = ""
    token: str = ""
    ca_pem: bytes = b""

    @property
    def log_path(self) -> Path:
        return self.data_dir.parent / f"{self.data_dir.name}.log"

    @property
    def socket_path(self) -> Path:
        return self.data_dir / "api.sock"

    @property
    def kubeconfig(self) -> Path:
        return self.data_dir / "kubeconfig"

    @property
    def pid(self) -> int:
        if self.proc is None:
            raise BenchError("apiserver not started")
        return self.proc.pid

    def command(self) -> list[str]:
        cmd = [sys.executable, "-m", "svcnet.cli", "apiserver"]
        cmd += ["--data-dir", str(self.data_dir), "--listen", "127.0.0.1:0"]
        cmd += ["--store", self.store]
        if not self.tls:
            cmd.append("--insecure-http")
        return cmd + self.extra_args

    def start(self, timeout: float = 30.0) -> None:
        """Start the server and wait until its kubeconfig and socket exist."""
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.kubeconfig.unlink(missing_ok=True)
        with open(self.log_path, "ab") as log:
            self.proc = subprocess.Popen(
                self.command(),
                stdout=log,
                stderr=subprocess.STDOUT,
                cwd=ROOT,
                preexec_fn=_die_with_parent,
            )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise BenchError(f"apiserver exited ({self.proc.returncode}):\n{self.log_tail()}")
            if self.kubeconfig.exists() and self.socket_path.exists():
                try:
                    cfg = yaml.safe_load(self.kubeconfig.read_text())
                    cluster = cfg["clusters"][0]["cluster"]
                    self.url = cluster["server"]
                    self.token = cfg["users"][0]["user"]["token"]
                    ca = cluster.get("certificate-authority-data")
                    self.ca_pem = base64.b64decode(ca) if ca else b""
                    return
                except (yaml.YAMLError, KeyError, TypeError, IndexError, ValueError):
                    pass  # written atomically, but be lenient about a race
            time.sleep(0.05)
        self.stop()
        raise BenchError(f"apiserver did not start within {timeout}s:\n{self.log_tail()}")

    def stop(self, timeout: float = 10.0) -> int | None:
        """SIGTERM the server (SIGKILL after `timeout`); returns its exit code."""
        p = self.proc
        if p is None:
            return None
        if p.poll() is None:
            p.send_signal(signal.SIGTERM)
            try:
                p.wait(timeout)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait(5)
        return p.returncode

    def check_alive(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            raise BenchError(f"apiserver is not running:\n{self.log_tail()}")

    def log_tail(self, lines: int = 30) -> str:
        try:
            text = self.log_path.read_text(errors="replace")
        except OSError:
            return "(no log)"
        return "\n".join(text.splitlines()[-lines:])

    def memory_kib(self) -> dict[str, int]:
        """VmRSS and VmHWM (peak RSS) of the server process, in KiB."""
        return proc_status_kib(self.pid, ("VmRSS", "VmHWM"))

    def cpu_seconds(self) -> float:
        """CPU time (user + system) the server has used so far."""
        return proc_cpu_seconds(self.pid)

    def ssl_context(self) -> ssl.SSLContext | None:
        if not self.url.startswith("https:"):
            return None
        return ssl.create_default_context(cadata=self.ca_pem.decode("ascii"))

    # ------------------------------------------------------------ clients
    def https_session(self, limit: int, timeout: float | None = 60.0) -> aiohttp.ClientSession:
        """A keep-alive session to the TCP listener with the admin bearer token
        (`timeout` None: no total timeout, for watches)."""
        conn = aiohttp.TCPConnector(
            ssl=self.ssl_context() or False, limit=limit, keepalive_timeout=300
        )
        return aiohttp.ClientSession(
            base_url=self.url,
            connector=conn,
            headers={"Authorization": f"Bearer {self.token}"},
            timeout=aiohttp.ClientTimeout(total=timeout),
            auto_decompress=False,
        )

    def unix_session(self, limit: int, timeout: float = 60.0) -> aiohttp.ClientSession:
        """A keep-alive session over the trusted unix socket (no token)."""
        conn = aiohttp.UnixConnector(path=str(self.socket_path), limit=limit)
        return aiohttp.ClientSession(
            base_url="http://localhost",
            connector=conn,
            timeout=aiohttp.ClientTimeout(total=timeout),
            auto_decompress=False,
        )


def _die_with_parent() -> None:
    """In the child before exec: SIGTERM it when the benchmark dies, even by
    SIGKILL, so a server is never left behind (Linux prctl PR_SET_PDEATHSIG)."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)
    except (OSError, AttributeError):
        pass  # not Linux: stop() in the benchmark's finally still applies


def cancel_on_sigterm() -> None:
    """Within the running loop: SIGTERM cancels the current (main) task, so
    `finally` blocks stop the server; the caller sees CancelledError."""
    loop = asyncio.get_running_loop()
    task = asyncio.current_task()
    if task is not None:
        loop.add_signal_handler(signal.SIGTERM, task.cancel)


def proc_status_kib(pid: int, fields: Sequence[str]) -> dict[str, int]:
    """Read "<field>: N kB" lines of /proc/<pid>/status."""
    out: dict[str, int] = {}
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            name, _, rest = line.partition(":")
            if name in fields:
                out[name] = int(rest.split()[0])
    return out


def proc_cpu_seconds(pid: int) -> float:
    """utime + stime of a process, from /proc/<pid>/stat."""
    with open(f"/proc/{pid}/stat") as f:
        # The command name may hold spaces and parentheses: split after the last ")".
        fields = f.read().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def machine_busy_seconds() -> float:
    """CPU time all processes have used since boot (from /proc/stat), in seconds."""
    with open("/proc/stat") as f:
        parts = f.readline().split()
    # cpu user nice system idle iowait irq softirq steal ...
    busy = sum(int(x) for i, x in enumerate(parts[1:9]) if i not in (3, 4))
    return busy / os.sysconf("SC_CLK_TCK")


def own_cpu_seconds() -> float:
    """CPU time this (client) process has used so far."""
    t = os.times()
    return t.user + t.system


class CpuMeter:
    """How much CPU the benchmark's own processes and everything else used.

    Figures from a machine that is busy with other work are not comparable;
    the script reports the other load so a reader can tell.
    """

    def __init__(self, server: ServerProcess) -> None:
        self.server = server
        self.t0 = time.monotonic()
        self.machine0 = machine_busy_seconds()
        self.server0 = server.cpu_seconds()
        self.client0 = own_cpu_seconds()

    def read(self) -> dict[str, float]:
        """CPUs used on average since the start: server, client, other processes."""
        wall = max(time.monotonic() - self.t0, 1e-9)
        server = self.server.cpu_seconds() - self.server0
        client = own_cpu_seconds() - self.client0
        machine = machine_busy_seconds() - self.machine0
        return {
            "wall_s": wall,
            "server_cpus": server / wall,
            "client_cpus": client / wall,
            "other_cpus": max(0.0, machine - server - client) / wall,
        }


def load_average() -> float:
    with open("/proc/loadavg") as f:
        return float(f.read().split()[0])


async def expect(resp: aiohttp.ClientResponse, *codes: int) -> bytes:
    """Read the body; raise BenchError unless the status is one of `codes`."""
    body = await resp.read()
    if resp.status not in codes:
        raise BenchError(
            f"{resp.method} {resp.url.path}: HTTP {resp.status}: {body[:500].decode(errors='replace')}"
        )
    return body


# ----------------------------------------------------------------- figures
def percentile(values: Sequence[float], p: float) -> float:
    """Nearest-rank percentile (p in 0..100) of a non-empty sample."""
    if not values:
        raise ValueError("percentile of an empty sample")
    s = sorted(values)
    rank = max(1, math.ceil(p / 100 * len(s)))
    return s[rank - 1]


def short_count(n: int) -> str:
    """10000 -> "10k", 2500 -> "2.5k", 500 -> "500" (for figure names)."""
    if n >= 1000 and n % 100 == 0:
        return f"{n / 1000:g}k"
    return str(n)


def human_bytes(n: float) -> str:
    for unit in ("B", "KiB", "MiB", "GiB"):
        if n < 1024 or unit == "GiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    raise AssertionError("unreachable")


@dataclass
class Figure:
    """One reported number. `name` is what README's table shows."""

    name: str
    value: float
    unit: str
    note: str = ""

    def shown(self) -> str:
        if self.unit == "ms":
            return f"{self.value:.1f} ms" if self.value < 100 else f"{self.value:.0f} ms"
        if self.unit == "/s":
            return f"{self.value:,.0f} /s"
        if self.unit == "KiB":
            return human_bytes(self.value * 1024)
        if self.unit == "B":
            return human_bytes(self.value)
        return f"{self.value:g} {self.unit}".strip()


def print_table(title: str, rows: Sequence[tuple[str, str]]) -> None:
    """A two-column, aligned plain-text table."""
    width = max((len(k) for k, _ in rows), default=0)
    print(f"\n{title}")
    print("-" * max(len(title), width + 20))
    for k, v in rows:
        print(f"  {k:<{width}}  {v}")


def print_figures(figures: Sequence[Figure]) -> None:
    name_w = max(len(f.name) for f in figures)
    val_w = max(len(f.shown()) for f in figures)
    print(f"\n{'figure':<{name_w}}  {'value':>{val_w}}  notes")
    print(f"{'-' * name_w}  {'-' * val_w}  {'-' * 5}")
    for f in figures:
        print(f"{f.name:<{name_w}}  {f.shown():>{val_w}}  {f.note}")


def figures_json(figures: Sequence[Figure]) -> list[dict[str, Any]]:
    return [asdict(f) for f in figures]


# ------------------------------------------------------------- environment
def environment() -> dict[str, Any]:
    """What the figures depend on: machine, interpreter, library versions."""
    model = ""
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    model = line.partition(":")[2].strip()
                    break
    except OSError:
        pass
    try:
        usable = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        usable = os.cpu_count() or 0
    env: dict[str, Any] = {
        "cpus": os.cpu_count(),
        "cpus_usable": usable,
        "cpu_model": model,
        "python": platform.python_version(),
        "implementation": platform.python_implementation(),
        "platform": platform.platform(),
        "aiohttp": aiohttp.__version__,
        "commit": _git_commit(),
        "loadavg_1m": load_average(),
    }
    try:
        import uvloop

        env["uvloop"] = uvloop.__version__
    except ImportError:
        env["uvloop"] = None
    return env


def _git_commit() -> str:
    try:
        out = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=5,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        return ""
    return out.stdout.strip()


def run_loop(coro: Any) -> Any:
    """Run the benchmark's main coroutine (uvloop when available, like the server)."""
    try:
        import uvloop

        return uvloop.run(coro)
    except ImportError:
        return asyncio.run(coro)
