"""Built-in workload programs as real processes answering real HTTP/TCP/UDP on 127.0.0.1.

Every program is started the way the node agent starts it (the argv from
`svcnet.workloads.images.resolve` where an image is involved), bound to
127.0.0.1 (``--address``/``-listen``) on free ports picked here, probed
with real packets, then stopped with SIGTERM by its PID: it must exit 0
promptly. Teardown kills (by PID) whatever a failing test left running.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from svcnet.workloads.images import Resolved, resolve

pytestmark = pytest.mark.integration

LOCAL = "127.0.0.1"
START_TIMEOUT = 10.0
STOP_TIMEOUT = 5.0


def free_port(kind: socket.SocketKind = socket.SOCK_STREAM) -> int:
    with socket.socket(socket.AF_INET, kind) as s:
        s.bind((LOCAL, 0))
        return s.getsockname()[1]


class Workload:
    """One program under test; its stdout goes to a log file shown on failure."""

    def __init__(
        self, argv: list[str] | tuple[str, ...], log: Path, env: dict[str, str] | None = None
    ) -> None:
        self.log = log
        out = open(log, "wb")  # noqa: SIM115 - closed in stop()
        self._out = out
        self.proc = subprocess.Popen(
            list(argv),
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env={**os.environ, "PYTHONUNBUFFERED": "1", **(env or {})},
        )

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def wait_tcp(self, port: int) -> None:
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                pytest.fail(f"exited with {self.proc.returncode}:\n{self.output()}")
            with contextlib.suppress(OSError), socket.create_connection((LOCAL, port), timeout=0.5):
                return
            time.sleep(0.05)
        pytest.fail(f"port {port} never opened:\n{self.output()}")

    def terminate(self) -> int:
        """SIGTERM by PID; the exit code (fails if it does not exit promptly)."""
        os.kill(self.proc.pid, signal.SIGTERM)
        try:
            return self.proc.wait(STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            pytest.fail(f"did not exit {STOP_TIMEOUT}s after SIGTERM:\n{self.output()}")

    def stop(self) -> None:
        if self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGKILL)
            self.proc.wait()
        self._out.close()


@pytest.fixture
def start(tmp_path: Path) -> Iterator:
    started: list[Workload] = []

    def _start(argv, env: dict[str, str] | None = None) -> Workload:
        w = Workload(argv, tmp_path / f"workload-{len(started)}.log", env)
        started.append(w)
        return w

    yield _start
    for w in started:
        w.stop()


def module(name: str, *args: str) -> list[str]:
    return [sys.executable, "-m", f"svcnet.workloads.{name}", *args]


def image_argv(image: str, command: list[str] | None, args: list[str] | None) -> tuple[str, ...]:
    got = resolve(image, command, args)
    assert isinstance(got, Resolved), got
    return got.argv


def get(port: int, path: str, method: str = "GET", body: bytes | None = None, headers=None):
    conn = http.client.HTTPConnection(LOCAL, port, timeout=5)
    try:
        conn.request(method, path, body=body, headers=headers or {})
        resp = conn.getresponse()
        return resp.status, resp.read().decode(), dict(resp.getheaders())
    finally:
        conn.close()


def udp(port: int, payload: bytes) -> str:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.settimeout(3)
        s.sendto(payload, (LOCAL, port))
        return s.recvfrom(2048)[0].decode()


def test_agnhost_netexec_http_and_udp(start) -> None:
    http_port, udp_port = free_port(), free_port(socket.SOCK_DGRAM)
    argv = image_argv(
        "registry.k8s.io/e2e-test-images/agnhost:2.47",
        None,
        ["netexec", f"--http-port={http_port}", f"--udp-port={udp_port}", f"--address={LOCAL}"],
    )
    w = start(argv, env={"HOSTNAME": "web-7d9f-abcde"})
    w.wait_tcp(http_port)

    assert get(http_port, "/hostname")[:2] == (200, "web-7d9f-abcde")
    status, body, _ = get(http_port, "/clientip")
    assert status == 200 and body.startswith(f"{LOCAL}:")
    assert get(http_port, "/echo?msg=hello%20svcnet")[:2] == (200, "hello svcnet")
    assert get(http_port, "/echo?msg=gone&code=410")[:2] == (410, "gone")
    assert get(http_port, "/healthz")[0] == 200
    assert get(http_port, "/")[1].startswith("NOW: ")
    assert json.loads(get(http_port, "/shell?cmd=echo%20from-shell")[1]) == {
        "output": "from-shell\n"
    }
    assert get(http_port, "/header?key=X-Test", headers={"X-Test": "v1"})[1] == "v1"

    dial = json.loads(
        get(http_port, f"/dial?host={LOCAL}&port={http_port}&request=hostname&tries=2")[1]
    )
    assert dial == {"responses": ["web-7d9f-abcde", "web-7d9f-abcde"]}
    dial = json.loads(
        get(http_port, f"/dial?host={LOCAL}&port={udp_port}&request=echo%20x&protocol=udp")[1]
    )
    assert dial == {"responses": ["x"]}

    assert udp(udp_port, b"hostname") == "web-7d9f-abcde"
    assert udp(udp_port, b"echo ping\n") == "ping"
    assert udp(udp_port, b"clientip").startswith(f"{LOCAL}:")

    # One keep-alive connection serves several requests.
    conn = http.client.HTTPConnection(LOCAL, http_port, timeout=5)
    for msg in ("a", "b", "c"):
        conn.request("GET", f"/echo?msg={msg}")
        assert conn.getresponse().read() == msg.encode()
    conn.close()

    assert w.terminate() == 0
    assert "Started HTTP server" in w.output()


def test_netexec_exit_endpoint_sets_exit_code(start) -> None:
    port = free_port()
    w = start(module("netexec", f"--http-port={port}", "--udp-port=-1", f"--address={LOCAL}"))
    w.wait_tcp(port)
    assert get(port, "/healthz")[0] == 200, "ready without UDP when UDP is disabled"
    get(port, "/exit?code=3")
    assert w.proc.wait(STOP_TIMEOUT) == 3


def test_netexec_delay_shutdown_keeps_serving(start) -> None:
    port = free_port()
    w = start(
        module(
            "netexec",
            f"--http-port={port}",
            "--udp-port=-1",
            "--delay-shutdown=1",
            f"--address={LOCAL}",
        )
    )
    w.wait_tcp(port)
    os.kill(w.proc.pid, signal.SIGTERM)
    time.sleep(0.3)
    assert w.proc.poll() is None, "still running during --delay-shutdown"
    assert get(port, "/echo?msg=still-here")[1] == "still-here"
    assert w.proc.wait(STOP_TIMEOUT) == 0


def test_serve_hostname_http_via_command(start) -> None:
    port = free_port()
    argv = image_argv(
        "registry.k8s.io/e2e-test-images/agnhost:2.47",
        ["/agnhost", "serve-hostname"],
        [f"--port={port}", f"--address={LOCAL}"],
    )
    w = start(argv, env={"HOSTNAME": "hostnames-1"})
    w.wait_tcp(port)
    assert get(port, "/anything")[:2] == (200, "hostnames-1")
    assert w.terminate() == 0


def test_serve_hostname_tcp_and_udp(start) -> None:
    port = free_port()
    w = start(
        module(
            "serve_hostname",
            "--tcp",
            "--udp",
            "--http=false",
            f"--port={port}",
            f"--address={LOCAL}",
        ),
        env={"HOSTNAME": "raw-1"},
    )
    w.wait_tcp(port)
    with socket.create_connection((LOCAL, port), timeout=3) as s:
        assert s.recv(100) == b"raw-1"
    assert udp(port, b"x") == "raw-1"
    assert w.terminate() == 0


def test_nginx_default_page_and_root(start, tmp_path: Path) -> None:
    port = free_port()
    w = start(
        module("nginx", f"--port={port}", f"--address={LOCAL}", f"--root={tmp_path / 'absent'}")
    )
    w.wait_tcp(port)
    status, body, headers = get(port, "/")
    assert status == 200 and "Welcome to nginx!" in body
    assert headers["Server"] == "nginx" and headers["Content-Type"] == "text/html"
    assert get(port, "/missing")[0] == 404
    assert w.terminate() == 0

    site = tmp_path / "html"
    site.mkdir()
    (site / "index.html").write_text("<p>from configmap</p>")
    port = free_port()
    w = start(module("nginx", f"--port={port}", f"--address={LOCAL}", f"--root={site}"))
    w.wait_tcp(port)
    assert get(port, "/")[1] == "<p>from configmap</p>"
    status, body, headers = get(port, "/", method="HEAD")
    assert (status, body, headers["Content-Length"]) == (200, "", "21")
    assert w.terminate() == 0


def test_http_echo(start) -> None:
    port = free_port()
    argv = image_argv(
        "hashicorp/http-echo:1.0", None, ["-text=hello from echo", f"-listen={LOCAL}:{port}"]
    )
    w = start(argv)
    w.wait_tcp(port)
    status, body, headers = get(port, "/any/path")
    assert (status, body) == (200, "hello from echo\n")
    assert headers["X-App-Name"] == "http-echo"
    assert get(port, "/health")[1] == '{"status":"ok"}'
    assert w.terminate() == 0


def test_echo_server_echoes_request(start) -> None:
    port = free_port()
    w = start(
        module("echo_server", f"--port={port}", f"--address={LOCAL}"), env={"HOSTNAME": "echo-1"}
    )
    w.wait_tcp(port)
    status, body, _ = get(
        port, "/path?q=1", method="POST", body=b"payload", headers={"X-Custom": "yes"}
    )
    assert status == 200
    assert body.startswith("Request served by echo-1\n\nPOST /path?q=1 HTTP/1.1\n\n")
    assert "X-Custom: yes" in body and body.endswith("\npayload")
    assert w.terminate() == 0


def test_k8s_echoserver_format(start) -> None:
    port = free_port()
    argv = image_argv("registry.k8s.io/echoserver:1.10", None, None)
    w = start([*argv, f"--port={port}", f"--address={LOCAL}"], env={"HOSTNAME": "echo-2"})
    w.wait_tcp(port)
    body = get(port, "/x")[1]
    assert "Hostname: echo-2" in body and "\tmethod=GET" in body and "\treal path=/x" in body
    assert w.terminate() == 0


def test_liveness_healthz(start) -> None:
    port = free_port()
    w = start(module("liveness", f"--port={port}", f"--address={LOCAL}"))
    w.wait_tcp(port)
    assert get(port, "/healthz")[:2] == (200, "ok")
    assert w.terminate() == 0


def test_pause_exits_on_sigterm(start) -> None:
    w = start(image_argv("registry.k8s.io/pause:3.9", None, None))
    deadline = time.monotonic() + START_TIMEOUT
    while "waiting for SIGTERM" not in w.output() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert w.terminate() == 0


def test_busybox_command_runs_on_host(start) -> None:
    w = start(image_argv("busybox", ["sh", "-c", "echo hello-from-busybox"], None))
    assert w.proc.wait(STOP_TIMEOUT) == 0
    assert w.output() == "hello-from-busybox\n"
