"""Supervisor bookkeeping: state file, PID ownership, node agent command."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from svcnet.lab.cluster import ClusterState, is_ours, node_agent_argv, stop_pids
from svcnet.lab.topology import plan_topology


def test_state_round_trips(tmp_path: Path) -> None:
    st = ClusterState(
        "c1", str(tmp_path), pids={"apiserver": 123}, namespaces=["c1-net"], started=1.0
    )
    st.save()
    assert ClusterState.load(tmp_path) == st
    assert ClusterState.load(tmp_path / "missing") is None


def test_is_ours_only_for_svcnet_processes() -> None:
    assert (
        not is_ours(os.getpid()) or b"svcnet" in Path(f"/proc/{os.getpid()}/cmdline").read_bytes()
    )
    assert not is_ours(2**22 + 12345)  # no such PID


def test_stop_pids_never_touches_foreign_processes() -> None:
    """A PID that does not run svcnet (e.g. reused) is left alone."""
    p = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        stop_pids([p.pid], grace=0.2)
        assert p.poll() is None
    finally:
        p.kill()
        p.wait()


def test_node_agent_argv_runs_svcnet_node_with_its_plan(tmp_path: Path) -> None:
    topo = plan_topology("c1", 2, ["z1", "z2"])
    argv = node_agent_argv(topo, 1, tmp_path, "nftables")
    node = topo.nodes[1]
    assert argv[1:4] == ["-m", "svcnet.cli", "node"]
    assert argv[argv.index("--node-name") + 1] == node.name
    assert argv[argv.index("--netns") + 1] == node.netns
    assert argv[argv.index("--node-ip") + 1] == node.addresses[0].split("/")[0]
    assert argv[argv.index("--socket") + 1] == str(tmp_path / "api.sock")
    assert argv[argv.index("--zone") + 1] == "z2"
