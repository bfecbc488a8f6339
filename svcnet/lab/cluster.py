"""`svcnet up/down/status`: a whole cluster of network namespaces and processes.

Theory of operation: `up` (1) stops what a crashed run of the same name left
(PIDs from its state file, only if they still run svcnet, then the
namespaces by name), (2) builds the topology (`svcnet.lab.netns`), (3)
starts the API server in the root namespace (port 0 unless given; agents use
the unix socket), the controller-manager, and one `svcnet node` per node
inside its namespace, (4) writes `<data-dir>/cluster.json` with every PID,
and (5) waits until every Node is Ready. Foreground `up` tears everything
down on Ctrl-C/SIGTERM; detached (`-d`) leaves it to `svcnet down`.

Children run in their own sessions so a terminal's Ctrl-C reaches only the
supervisor, which then stops them in order (agents, controllers, API
server) by PID. Nothing but processes and files is added to the root
namespace (DESIGN.md's safety rule; the lab code enforces the rest).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from svcnet.lab.topology import Topology, plan_topology

STATE_FILE = "cluster.json"
CLUSTER_DNS_IP = "10.96.0.10"


@dataclass
class ClusterSpec:
    name: str = "svcnet"
    nodes: int = 2
    zones: tuple[str, ...] = ()
    data_dir: Path = Path(".")
    listen: str = "127.0.0.1:0"
    store: str = "sqlite"
    proxy_mode: str = "nftables"


@dataclass
class ClusterState:
    """What `down` needs, persisted in <data-dir>/cluster.json."""

    name: str
    data_dir: str
    pids: dict[str, int] = field(default_factory=dict)
    namespaces: list[str] = field(default_factory=list)
    started: float = 0.0

    def save(self) -> None:
        path = Path(self.data_dir) / STATE_FILE
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(asdict(self), indent=2))
        tmp.replace(path)

    @classmethod
    def load(cls, data_dir: Path) -> ClusterState | None:
        try:
            return cls(**json.loads((data_dir / STATE_FILE).read_text()))
        except (OSError, ValueError, TypeError):
            return None


def is_ours(pid: int) -> bool:
    """The PID still runs an svcnet process (guards against PID reuse)."""
    try:
        cmd = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return False
    return b"svcnet" in cmd


def stop_pids(pids: Sequence[int], grace: float = 10.0) -> None:
    """SIGTERM, wait up to ``grace`` seconds, then SIGKILL; only our PIDs."""
    live = [p for p in pids if is_ours(p)]
    for p in live:
        with contextlib.suppress(ProcessLookupError):
            os.kill(p, signal.SIGTERM)
    deadline = time.monotonic() + grace
    while live and time.monotonic() < deadline:
        live = [p for p in live if _alive(p)]
        time.sleep(0.05)
    for p in live:
        with contextlib.suppress(ProcessLookupError):
            os.kill(p, signal.SIGKILL)


def _alive(pid: int) -> bool:
    try:
        waited, _ = os.waitpid(pid, os.WNOHANG)
        if waited == pid:
            return False
    except ChildProcessError:
        pass
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return Path(f"/proc/{pid}").exists() and "Z" not in _proc_state(pid)


def _proc_state(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/stat").read_text().split(")")[-1].split()[0]
    except (OSError, IndexError):
        return ""


def node_agent_argv(topo: Topology, index: int, data_dir: Path, proxy_mode: str) -> list[str]:
    """The `svcnet node` command for node ``index`` (run inside its netns)."""
    node = topo.nodes[index]
    argv = [
        sys.executable,
        "-m",
        "svcnet.cli",
        "node",
        "--node-name",
        node.name,
        "--netns",
        node.netns,
        "--node-ip",
        node.addresses[0].split("/")[0],
        "--socket",
        str(data_dir / "api.sock"),
        "--data-dir",
        str(data_dir / "nodes" / node.name),
        "--cluster-name",
        topo.name,
        "--cluster-dns",
        CLUSTER_DNS_IP,
    ]
    if node.zone:
        argv += ["--zone", node.zone]
    return argv


class Supervisor:
    """Starts and stops one lab cluster."""

    def __init__(self, spec: ClusterSpec, log: Callable[[str], None] = print) -> None:
        self.spec = spec
        self.data_dir = spec.data_dir
        self.log = log
        self.state = ClusterState(spec.name, str(spec.data_dir))
        self.procs: dict[str, subprocess.Popen[bytes]] = {}

    # ------------------------------------------------------------ processes
    def _start(self, key: str, argv: list[str], netns: str | None = None) -> None:
        from svcnet.lab.netns import exec_in

        logs = self.data_dir / "logs"
        logs.mkdir(parents=True, exist_ok=True)
        out = open(logs / f"{key}.log", "ab")  # noqa: SIM115 - owned by the child
        cmd = exec_in(netns, argv) if netns else argv
        proc = subprocess.Popen(
            cmd, stdout=out, stderr=subprocess.STDOUT, start_new_session=True, cwd=os.getcwd()
        )
        out.close()
        self.procs[key] = proc
        self.state.pids[key] = proc.pid
        self.state.save()

    # ------------------------------------------------------------------ up
    def cleanup_leftovers(self) -> None:
        """Stop and remove what a previous (possibly SIGKILLed) run left."""
        from svcnet.lab.netns import list_leftovers, teardown

        old = ClusterState.load(self.data_dir)
        if old is not None:
            stop_pids(list(old.pids.values()))
        left = list_leftovers(self.spec.name)
        stop_pids(list(left.pids))
        teardown(self.spec.name)
        (self.data_dir / STATE_FILE).unlink(missing_ok=True)

    def up(self) -> Topology:
        """Build the cluster; returns the topology (processes are running)."""
        from svcnet.lab.netns import apply_topology

        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.cleanup_leftovers()
        topo = plan_topology(self.spec.name, self.spec.nodes, list(self.spec.zones) or None)
        apply_topology(topo)
        self.state.namespaces = [n.netns for n in topo.nodes] + [
            topo.underlay.netns,
            topo.external.netns,
        ]
        self.state.started = time.time()
        self.state.save()
        kubeconfig = self.data_dir / "kubeconfig"
        kubeconfig.unlink(missing_ok=True)
        self._start(
            "apiserver",
            [
                sys.executable,
                "-m",
                "svcnet.cli",
                "apiserver",
                "--data-dir",
                str(self.data_dir),
                "--listen",
                self.spec.listen,
                "--store",
                self.spec.store,
            ],
        )
        _wait_for(lambda: kubeconfig.exists(), 30, "the API server to write its kubeconfig")
        self._start(
            "controller-manager",
            [
                sys.executable,
                "-m",
                "svcnet.cli",
                "controller-manager",
                "--socket",
                str(self.data_dir / "api.sock"),
                "--metrics-addr",
                "127.0.0.1:0",
                "--cluster-cidr",
                ",".join(topo.cluster_pod_cidrs),
            ],
        )
        for i, node in enumerate(topo.nodes):
            self._start(
                f"node-{node.name}",
                node_agent_argv(topo, i, self.data_dir, self.spec.proxy_mode),
                node.netns,
            )
        return topo

    async def wait_ready(self, topo: Topology, timeout: float = 60.0, progress: Any = None) -> None:
        """Poll the API until every Node reports Ready=True."""
        from svcnet.client import NODES, Client

        client = Client.from_unix_socket(self.data_dir / "api.sock")
        want = {n.name for n in topo.nodes}
        try:
            deadline = time.monotonic() + timeout
            while True:
                ready = set()
                with contextlib.suppress(Exception):
                    nodes = await client.list(NODES)
                    for n in nodes.get("items", []):
                        conds = (n.get("status") or {}).get("conditions") or []
                        if any(
                            c.get("type") == "Ready" and c.get("status") == "True" for c in conds
                        ):
                            ready.add(n["metadata"]["name"])
                if progress is not None:
                    progress(len(ready & want), len(want))
                if want <= ready:
                    return
                dead = [k for k, p in self.procs.items() if p.poll() is not None]
                if dead:
                    raise RuntimeError(f"{', '.join(dead)} exited; see {self.data_dir / 'logs'}")
                if time.monotonic() > deadline:
                    raise TimeoutError(
                        f"nodes not Ready after {timeout:.0f} s: {sorted(want - ready)}; "
                        f"see {self.data_dir / 'logs'}"
                    )
                await asyncio.sleep(0.1)
        finally:
            await client.close()

    # ---------------------------------------------------------------- down
    def down(self) -> None:
        """Stop every process (agents first) and remove every namespace."""
        from svcnet.lab.netns import list_leftovers, teardown

        state = ClusterState.load(self.data_dir) or self.state
        order = sorted(state.pids, key=lambda k: (k == "apiserver", k == "controller-manager", k))
        stop_pids([state.pids[k] for k in order if k.startswith("node-")])
        stop_pids([state.pids[k] for k in order if not k.startswith("node-")])
        stop_pids(list(list_leftovers(self.spec.name).pids))
        teardown(self.spec.name)
        (self.data_dir / STATE_FILE).unlink(missing_ok=True)


def _wait_for(cond: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not cond():
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out waiting for {what}")
        time.sleep(0.05)


def status(data_dir: Path) -> dict[str, Any]:
    """What runs for the cluster in ``data_dir`` (for `svcnet status`)."""
    state = ClusterState.load(data_dir)
    if state is None:
        return {"running": False}
    return {
        "running": True,
        "name": state.name,
        "processes": {k: {"pid": p, "alive": is_ours(p)} for k, p in state.pids.items()},
        "namespaces": state.namespaces,
        "kubeconfig": str(data_dir / "kubeconfig"),
    }
