"""Container probes: the kubelet prober worker's rules, and the checks.

Rules checked (kubernetes ``pkg/kubelet/prober/worker.go`` ``doProbe``):
initial results (readiness Failure, liveness Success, startup Unknown); no
probing before ``initialDelaySeconds``; readiness and liveness wait for the
startup probe; startup stops once it succeeded; ``successThreshold`` /
``failureThreshold`` runs before a result is published; a published
liveness/startup failure holds the worker until a new container ID;
readiness of a stopped container reads Failure; during pod deletion
liveness/startup read Success and stop. Probe API defaults
(``pkg/apis/core/v1/defaults.go``) and checks (``pkg/probe/http``,
``pkg/probe/tcp``): 200-399 is success, upstream failure messages.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import pytest

from svcnet.node.probes import (
    LIVENESS,
    READINESS,
    STARTUP,
    Exec,
    HTTPGet,
    Probe,
    ProbeError,
    ProbeTarget,
    ProbeWorker,
    Result,
    TCPSocket,
    container_probes,
    http_get,
    initial_result,
    resolve_port,
    run_probe,
    tcp_socket,
)

S, F, U = Result.SUCCESS, Result.FAILURE, Result.UNKNOWN
T0 = 1000.0


# --- the spec -------------------------------------------------------------------------


def test_probe_from_api_applies_the_defaults() -> None:
    p = Probe.from_api({"httpGet": {"port": 8080}})
    assert p == Probe(HTTPGet(8080, "/", "", "HTTP", ()), 0.0, 10.0, 1.0, 1, 3, None)


def test_liveness_and_startup_success_threshold_is_one() -> None:
    spec = {"tcpSocket": {"port": "http"}, "successThreshold": 3}
    assert Probe.from_api(spec, READINESS).success_threshold == 3
    assert Probe.from_api(spec, LIVENESS).success_threshold == 1
    assert Probe.from_api(spec, STARTUP).success_threshold == 1


@pytest.mark.parametrize(
    "spec",
    [{}, {"httpGet": {"port": 1}, "tcpSocket": {"port": 1}}],
    ids=["no handler", "two handlers"],
)
def test_probe_needs_exactly_one_handler(spec: dict[str, Any]) -> None:
    with pytest.raises(ProbeError):
        Probe.from_api(spec)


def test_container_probes_and_named_ports() -> None:
    c = {
        "name": "web",
        "ports": [{"name": "http", "containerPort": 8080}],
        "readinessProbe": {"httpGet": {"port": "http", "path": "/healthz"}},
        "livenessProbe": {"exec": {"command": ["true"]}},
        "startupProbe": {"bogus": {}},  # invalid: skipped
    }
    probes = container_probes(c)
    assert set(probes) == {READINESS, LIVENESS}
    assert resolve_port(probes[READINESS].handler.port, c) == 8080  # type: ignore[union-attr]
    assert resolve_port(9, c) == 9
    with pytest.raises(ProbeError):
        resolve_port("metrics", c)
    assert probes[LIVENESS].handler == Exec(("true",))


@pytest.mark.parametrize(
    ("ptype", "want"), [(READINESS, F), (LIVENESS, S), (STARTUP, U)], ids=lambda v: str(v)
)
def test_initial_results(ptype: str, want: Result) -> None:
    assert initial_result(ptype) == want
    assert ProbeWorker(ptype, Probe(TCPSocket(1))).result == want


# --- the worker -----------------------------------------------------------------------


@dataclass(frozen=True)
class ThresholdCase:
    id: str
    ptype: str
    success: int
    failure: int
    results: Sequence[Result]
    published: Sequence[Result]  # the published result after each check


THRESHOLD_CASES = [
    ThresholdCase(
        "readiness: one success publishes Ready",
        READINESS,
        1,
        3,
        [S, F, F, F, S],
        [S, S, S, F, S],
    ),
    ThresholdCase(
        "readiness: successThreshold 2 needs two successes in a row",
        READINESS,
        2,
        1,
        [S, F, S, S],
        [F, F, F, S],
    ),
    ThresholdCase(
        "liveness: failureThreshold 3 failures in a row, broken by a success",
        LIVENESS,
        1,
        3,
        [F, F, S, F, F, F],
        [S, S, S, S, S, F],
    ),
    ThresholdCase(
        "Unknown (the check could not run) changes nothing",
        READINESS,
        1,
        1,
        [U, S, U, U],
        [F, S, S, S],
    ),
]


@pytest.mark.parametrize("case", THRESHOLD_CASES, ids=lambda c: c.id)
def test_thresholds(case: ThresholdCase) -> None:
    w = ProbeWorker(
        case.ptype,
        Probe(TCPSocket(1), success_threshold=case.success, failure_threshold=case.failure),
    )
    w.observe("c1", True, T0)
    got = []
    for i, r in enumerate(case.results):
        w.record(r, T0 + i)
        got.append(w.result)
    assert got == list(case.published)


def test_initial_delay_and_period() -> None:
    w = ProbeWorker(READINESS, Probe(TCPSocket(1), initial_delay=5, period=2))
    assert w.due(T0, running=True, started=True) is None  # no container seen yet
    w.observe("c1", True, T0)
    assert w.due(T0 + 1, running=True, started=True) == T0 + 5
    w.record(S, T0 + 5)
    assert w.due(T0 + 5, running=True, started=True) == T0 + 7


def test_readiness_rechecks_a_starting_container_every_second() -> None:
    w = ProbeWorker(READINESS, Probe(TCPSocket(1), period=10))
    w.observe("c1", True, T0)
    w.record(F, T0)  # the server is not listening yet
    assert w.due(T0, running=True, started=True) == T0 + 1
    w.record(S, T0 + 1)
    w.record(F, T0 + 2)  # once it was ready, the period applies
    assert w.due(T0 + 2, running=True, started=True) == T0 + 12
    live = ProbeWorker(LIVENESS, Probe(TCPSocket(1), period=10))
    live.observe("c1", True, T0)
    live.record(F, T0)
    assert live.due(T0, running=True, started=True) == T0 + 10


def test_readiness_and_liveness_wait_for_startup_which_then_stops() -> None:
    probe = Probe(TCPSocket(1))
    ready, startup = ProbeWorker(READINESS, probe), ProbeWorker(STARTUP, probe)
    for w in (ready, startup):
        w.observe("c1", True, T0)
    assert ready.due(T0, running=True, started=False) is None
    assert startup.due(T0, running=True, started=False) == T0
    startup.record(S, T0)
    assert startup.result == S
    assert startup.due(T0 + 20, running=True, started=True) is None
    assert ready.due(T0 + 1, running=True, started=True) == T0


def test_liveness_failure_holds_until_a_new_container() -> None:
    w = ProbeWorker(LIVENESS, Probe(TCPSocket(1), failure_threshold=1))
    w.observe("c1", True, T0)
    assert w.record(F, T0) is True
    assert w.failed and w.on_hold
    assert w.due(T0 + 100, running=True, started=True) is None  # about to be killed
    assert w.observe("c2", True, T0 + 5) is True  # the restarted container
    assert w.result == S and not w.on_hold and not w.failed


def test_readiness_of_a_stopped_container_is_failure() -> None:
    w = ProbeWorker(READINESS, Probe(TCPSocket(1)))
    w.observe("c1", True, T0)
    w.record(S, T0)
    assert w.observe("", False) is True
    assert w.result == F
    assert w.due(T0 + 10, running=False, started=False) is None


def test_terminating_pod_stops_liveness_with_success() -> None:
    w = ProbeWorker(LIVENESS, Probe(TCPSocket(1), failure_threshold=1))
    w.observe("c1", True, T0)
    assert w.due(T0, running=True, started=True, terminating=True) is None
    assert w.result == S and not w.failed


def test_adopted_container_keeps_its_published_result() -> None:
    w = ProbeWorker(READINESS, Probe(TCPSocket(1)))
    w.adopt("c1", T0, S)
    assert w.result == S
    assert w.observe("c1", True, T0) is False  # same instance: no reset
    assert w.result == S


# --- the checks (loopback only) ------------------------------------------------------------


async def _serve(status: int) -> tuple[asyncio.AbstractServer, int, list[bytes]]:
    seen: list[bytes] = []

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        seen.append(await reader.readuntil(b"\r\n\r\n"))
        writer.write(f"HTTP/1.1 {status} X\r\nContent-Length: 0\r\n\r\n".encode())
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    return server, server.sockets[0].getsockname()[1], seen


@pytest.mark.parametrize(
    ("status", "want", "message"),
    [
        (200, S, ""),
        (302, S, ""),
        (503, F, "HTTP probe failed with statuscode: 503"),
    ],
    ids=["200 is success", "3xx is success", "503 is failure"],
)
async def test_http_get(status: int, want: Result, message: str) -> None:
    server, port, seen = await _serve(status)
    async with server:
        result, msg = await http_get("127.0.0.1", port, "healthz", headers=[("X-Probe", "1")])
    assert (result, msg) == (want, message)
    request = seen[0].decode()
    assert request.startswith("GET /healthz HTTP/1.1\r\n")
    assert "User-Agent: kube-probe/" in request and "X-Probe: 1" in request


async def test_refused_connections_fail_with_upstream_messages() -> None:
    server = await asyncio.start_server(lambda r, w: None, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    server.close()
    await server.wait_closed()
    result, msg = await http_get("127.0.0.1", port)
    assert result == F
    assert (
        msg
        == f'Get "http://127.0.0.1:{port}/": dial tcp 127.0.0.1:{port}: connect: connection refused'
    )
    assert await tcp_socket("127.0.0.1", port) == (
        F,
        f"dial tcp 127.0.0.1:{port}: connect: connection refused",
    )


async def test_tcp_socket_success() -> None:
    server, port, _ = await _serve(200)
    async with server:
        assert await tcp_socket("127.0.0.1", port) == (S, "")


@pytest.mark.parametrize(
    ("code", "want", "message"),
    [(0, S, ""), (1, F, "boom"), (None, F, "command 'check' timed out")],
    ids=["exit 0 is success", "non-zero is failure with output", "timeout"],
)
async def test_exec_probe(code: int | None, want: Result, message: str) -> None:
    calls: list[tuple[list[str], dict[str, str] | None, float]] = []

    async def run(argv: Sequence[str], env: Any, timeout: float) -> tuple[int | None, str]:
        calls.append((list(argv), env, timeout))
        return code, "boom"

    target = ProbeTarget(
        "10.0.0.1", {}, exec_argv=lambda cmd: ["ip", "netns", "exec", "p", *cmd], env={"A": "1"}
    )
    result = await run_probe(Probe(Exec(("check",)), timeout=3), target, run)
    assert result == (want, message)
    assert calls == [(["ip", "netns", "exec", "p", "check"], {"A": "1"}, 3)]


async def test_http_probe_goes_to_the_pod_ip_and_resolves_named_ports() -> None:
    server, port, seen = await _serve(200)
    container = {"ports": [{"name": "http", "containerPort": port}]}
    async with server:
        result = await run_probe(Probe(HTTPGet("http")), ProbeTarget("127.0.0.1", container))
    assert result == (S, "")
    assert f"Host: 127.0.0.1:{port}" in seen[0].decode()
