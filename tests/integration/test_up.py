"""`svcnet up -d` / `svcnet exec` / `svcnet down` end to end (issue 4).

A real cluster of network namespaces with a unique short name; `down` (and
the fixture's finally) must leave no namespace, process or /etc/netns entry.
"""

from __future__ import annotations

import json
import secrets
import subprocess
import sys
import time
from pathlib import Path

import pytest

pytestmark = pytest.mark.integration
ROOT = Path(__file__).resolve().parents[2]


def svcnet(*args: str, timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "svcnet.cli", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=ROOT,
    )


def netns_with(prefix: str) -> list[str]:
    out = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout
    return [line.split()[0] for line in out.splitlines() if line.startswith(prefix + "-")]


@pytest.fixture
def cluster(tmp_path: Path):
    name = f"t-{secrets.token_hex(3)}"
    data = tmp_path / "c"
    try:
        yield name, data
    finally:
        svcnet("down", "--name", name, "--data-dir", str(data))
        from svcnet.lab.netns import teardown

        teardown(name)


def kubectl(data: Path, *args: str) -> str:
    p = subprocess.run(
        ["kubectl", f"--kubeconfig={data / 'kubeconfig'}", *args],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert p.returncode == 0, p.stderr
    return p.stdout


def test_up_exec_down(cluster: tuple[str, Path]) -> None:
    name, data = cluster
    up = svcnet(
        "up",
        "--nodes",
        "2",
        "--name",
        name,
        "--data-dir",
        str(data),
        "--listen",
        "127.0.0.1:0",
        "-d",
    )
    assert up.returncode == 0, up.stdout + up.stderr
    assert f"export KUBECONFIG={data / 'kubeconfig'}" in up.stdout
    nodes = json.loads(kubectl(data, "get", "nodes", "-o", "json"))["items"]
    assert sorted(n["metadata"]["name"] for n in nodes) == [f"{name}-n0", f"{name}-n1"]
    assert all(
        any(c["type"] == "Ready" and c["status"] == "True" for c in n["status"]["conditions"])
        for n in nodes
    )
    kubectl(data, "create", "deployment", "web", "--image=svcnet/netexec", "--replicas=2")
    deadline = time.monotonic() + 60
    pods: list = []
    while time.monotonic() < deadline:
        pods = json.loads(kubectl(data, "get", "pods", "-o", "json"))["items"]
        running = [
            p
            for p in pods
            if p.get("status", {}).get("phase") == "Running" and p["status"].get("podIP")
        ]
        if len(running) == 2:
            break
        time.sleep(0.5)
    else:
        pytest.fail(f"pods not running: {pods}")
    a, b = running
    got = svcnet(
        "exec",
        "--name",
        name,
        "--data-dir",
        str(data),
        a["metadata"]["name"],
        "--",
        "curl",
        "-s",
        "--max-time",
        "5",
        f"http://{b['status']['podIP']}:8080/hostname",
    )
    assert got.stdout.strip() == b["metadata"]["name"], got.stderr
    status = json.loads(svcnet("status", "--name", name, "--data-dir", str(data)).stdout)
    assert status["running"] and all(p["alive"] for p in status["processes"].values())
    down = svcnet("down", "--name", name, "--data-dir", str(data))
    assert down.returncode == 0, down.stderr
    assert netns_with(name) == []
    assert not any(Path("/etc/netns").glob(f"{name}-*")) if Path("/etc/netns").exists() else True
    for p in status["processes"].values():
        assert (
            not Path(f"/proc/{p['pid']}").exists()
            or b"svcnet" not in Path(f"/proc/{p['pid']}/cmdline").read_bytes()
        )
