"""Container probes: a pure state machine per probe, and the probe checks.

Theory of operation (kubelet ``pkg/kubelet/prober``). Each container probe
(readiness, liveness, startup) gets a `ProbeWorker` that follows upstream's
``worker.doProbe`` rules without doing I/O itself; the agent asks it when
the next check is due (`ProbeWorker.due`), runs the check (`run_probe`),
and feeds the outcome back (`ProbeWorker.record`):

- a new container instance (new container ID) resets the worker to the
  initial result: readiness Failure (not ready until a probe succeeds),
  liveness Success, startup Unknown; a held worker is released;
- nothing is probed while the container is not running (readiness then
  reads Failure), before ``initialDelaySeconds`` have passed since it
  started, or, for readiness and liveness, before the startup probe has
  succeeded; a startup probe stops once it has succeeded;
- a result changes what is published only after ``successThreshold``
  successes or ``failureThreshold`` failures in a row;
- until a container instance has passed its readiness probe once, the
  check repeats every ``STARTING_RECHECK`` seconds at most (the kubelet
  triggers an extra readiness check on every status sync while a container
  is not ready, so a server that needed a moment to listen is Ready in a
  second, not a full period later);
- a published liveness or startup failure puts the worker on hold (the
  container is about to be killed) until the next container instance;
- while the pod is being deleted, liveness and startup read Success and
  stop (a terminating container is not restarted).

Checks (the I/O helpers at the bottom): ``httpGet`` sends one HTTP/1.x GET
to the pod IP (the agent runs in the node namespace, where pod IPs are
routable); 200-399 is success, as the kubelet. ``tcpSocket`` opens a TCP
connection. ``exec`` runs the command inside the pod namespace with the
container's environment; exit status 0 is success. Every check has the
probe's ``timeoutSeconds``. Failure messages follow the kubelet's wording,
so events read like upstream (``Readiness probe failed: HTTP probe failed
with statuscode: 503``).
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
import ssl
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final

READINESS: Final = "Readiness"
LIVENESS: Final = "Liveness"
STARTUP: Final = "Startup"
PROBE_FIELDS: Final = {
    READINESS: "readinessProbe",
    LIVENESS: "livenessProbe",
    STARTUP: "startupProbe",
}
USER_AGENT: Final = "kube-probe/1.31"
MAX_OUTPUT: Final = 10 * 1024  # kubelet keeps at most 10 KiB of probe output
STARTING_RECHECK: Final = 1.0


class ProbeError(ValueError):
    """A probe spec the agent cannot run (no handler, a port it cannot resolve)."""


class Result(enum.Enum):
    SUCCESS = "success"
    FAILURE = "failure"
    UNKNOWN = "unknown"


# --- model -------------------------------------------------------------------


@dataclass(frozen=True)
class HTTPGet:
    port: int | str
    path: str = "/"
    host: str = ""
    scheme: str = "HTTP"
    headers: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class TCPSocket:
    port: int | str
    host: str = ""


@dataclass(frozen=True)
class Exec:
    command: tuple[str, ...]


@dataclass(frozen=True)
class GRPC:
    port: int
    service: str = ""


Handler = HTTPGet | TCPSocket | Exec | GRPC


@dataclass(frozen=True)
class Probe:
    """A probe spec with the API defaults applied."""

    handler: Handler
    initial_delay: float = 0.0
    period: float = 10.0
    timeout: float = 1.0
    success_threshold: int = 1
    failure_threshold: int = 3
    termination_grace_period: int | None = None

    @classmethod
    def from_api(cls, spec: Mapping[str, Any], probe_type: str = READINESS) -> Probe:
        """Parse a v1 Probe (defaults as the API server fills them).

        Raises:
            ProbeError: no handler, or more than one.
        """
        handlers: list[Handler] = []
        if isinstance(h := spec.get("httpGet"), Mapping):
            headers = tuple(
                (str(x.get("name", "")), str(x.get("value", "")))
                for x in h.get("httpHeaders") or ()
            )
            handlers.append(
                HTTPGet(
                    _port(h.get("port")),
                    h.get("path") or "/",
                    h.get("host") or "",
                    (h.get("scheme") or "HTTP").upper(),
                    headers,
                )
            )
        if isinstance(t := spec.get("tcpSocket"), Mapping):
            handlers.append(TCPSocket(_port(t.get("port")), t.get("host") or ""))
        if isinstance(e := spec.get("exec"), Mapping):
            handlers.append(Exec(tuple(str(a) for a in e.get("command") or ())))
        if isinstance(g := spec.get("grpc"), Mapping):
            handlers.append(GRPC(int(g.get("port") or 0), g.get("service") or ""))
        if len(handlers) != 1:
            raise ProbeError("a probe needs exactly one handler (httpGet, tcpSocket, exec or grpc)")
        success = int(spec.get("successThreshold") or 1)
        if probe_type != READINESS:
            success = 1  # validation forces 1 for liveness and startup
        grace = spec.get("terminationGracePeriodSeconds")
        return cls(
            handler=handlers[0],
            initial_delay=float(spec.get("initialDelaySeconds") or 0),
            period=float(spec.get("periodSeconds") or 10),
            timeout=float(spec.get("timeoutSeconds") or 1),
            success_threshold=max(1, success),
            failure_threshold=max(1, int(spec.get("failureThreshold") or 3)),
            termination_grace_period=int(grace) if isinstance(grace, int) else None,
        )


def _port(value: Any) -> int | str:
    if isinstance(value, bool) or value is None:
        raise ProbeError(f"invalid probe port {value!r}")
    if isinstance(value, int):
        return value
    s = str(value)
    return int(s) if s.isdigit() else s


def container_probes(container: Mapping[str, Any]) -> dict[str, Probe]:
    """The probes a container declares, by type (invalid ones are skipped)."""
    out = {}
    for ptype, fname in PROBE_FIELDS.items():
        spec = container.get(fname)
        if isinstance(spec, Mapping):
            with contextlib.suppress(ProbeError, ValueError, TypeError):
                out[ptype] = Probe.from_api(spec, ptype)
    return out


def resolve_port(port: int | str, container: Mapping[str, Any]) -> int:
    """A probe port number; a name is looked up in the container's ports.

    Raises:
        ProbeError: no container port has that name.
    """
    if isinstance(port, int):
        return port
    for p in container.get("ports") or ():
        if p.get("name") == port and p.get("containerPort"):
            return int(p["containerPort"])
    raise ProbeError(f"couldn't find port {port!r} in container ports")


def initial_result(probe_type: str) -> Result:
    """What a probe reads before its first check (kubelet worker initialValue)."""
    if probe_type == READINESS:
        return Result.FAILURE
    if probe_type == LIVENESS:
        return Result.SUCCESS
    return Result.UNKNOWN


# --- the state machine --------------------------------------------------------------


@dataclass
class ProbeWorker:
    """One probe of one container (see module docstring for the rules)."""

    probe_type: str
    probe: Probe
    container_id: str = ""
    started_at: float = 0.0
    result: Result = Result.UNKNOWN
    last_result: Result = Result.UNKNOWN
    result_run: int = 0
    on_hold: bool = False
    next_at: float | None = None
    stopped: bool = False
    probes: int = field(default=0)
    succeeded_once: bool = False  # this instance passed once (see STARTING_RECHECK)

    def __post_init__(self) -> None:
        self.result = initial_result(self.probe_type)

    def observe(self, container_id: str, running: bool, started_at: float = 0.0) -> bool:
        """Tell the worker about the container's current instance.

        Returns True when the published result changed (a new instance reset
        it, or readiness of a stopped container went to Failure).
        """
        before = self.result
        if container_id and container_id != self.container_id:
            self.container_id = container_id
            self.started_at = started_at
            self.result = initial_result(self.probe_type)
            self.last_result = Result.UNKNOWN
            self.result_run = 0
            self.on_hold = False
            self.stopped = False
            self.succeeded_once = False
            self.next_at = started_at + self.probe.initial_delay
        if not running and self.container_id:
            self.result = Result.FAILURE if self.probe_type == READINESS else self.result
            self.next_at = None
        return self.result != before

    def adopt(self, container_id: str, started_at: float, result: Result) -> None:
        """Take over a running container whose last published result is known
        (an agent restart), instead of starting from the initial result."""
        self.observe(container_id, True, started_at)
        self.result = result
        self.last_result = result
        self.result_run = 1
        self.succeeded_once = result == Result.SUCCESS

    def due(
        self, now: float, running: bool, started: bool, terminating: bool = False
    ) -> float | None:
        """When the next check should run (<= now: run it now), or None: not probing.

        Args:
            running: the current instance is running.
            started: the container counts as started (its startup probe, if
                any, has succeeded).
            terminating: the pod is being deleted.
        """
        if not running or not self.container_id or self.on_hold or self.stopped:
            return None
        if terminating and self.probe_type in (LIVENESS, STARTUP):
            self.result = Result.SUCCESS
            self.stopped = True
            return None
        if self.probe_type == STARTUP and started:
            return None
        if self.probe_type != STARTUP and not started:
            return None
        if self.next_at is None:
            self.next_at = max(now, self.started_at + self.probe.initial_delay)
        return self.next_at

    def record(self, result: Result, now: float) -> bool:
        """Feed one check's outcome; True when the published result changed.

        ``Result.UNKNOWN`` (the check itself could not run) changes nothing
        but the schedule, as the kubelet ignores probe errors.
        """
        self.probes += 1
        period = self.probe.period
        if self.probe_type == READINESS and not self.succeeded_once and result != Result.SUCCESS:
            period = min(period, STARTING_RECHECK)
        self.succeeded_once = self.succeeded_once or result == Result.SUCCESS
        self.next_at = now + period
        if result == Result.UNKNOWN:
            return False
        if result == self.last_result:
            self.result_run += 1
        else:
            self.last_result = result
            self.result_run = 1
        if (result == Result.FAILURE and self.result_run < self.probe.failure_threshold) or (
            result == Result.SUCCESS and self.result_run < self.probe.success_threshold
        ):
            return False
        changed = result != self.result
        self.result = result
        if result == Result.FAILURE and self.probe_type in (LIVENESS, STARTUP):
            self.on_hold = True
            self.result_run = 0
        return changed

    @property
    def failed(self) -> bool:
        """A published liveness/startup failure: the container must be restarted."""
        return self.probe_type in (LIVENESS, STARTUP) and self.result == Result.FAILURE


# --- the checks (I/O) --------------------------------------------------------------


@dataclass(frozen=True)
class ProbeTarget:
    """Where a container's probes go."""

    pod_ip: str
    container: Mapping[str, Any]  # the container spec (for named ports)
    exec_argv: Callable[[Sequence[str]], Sequence[str]] | None = None  # wraps a command
    env: Mapping[str, str] | None = None


def _host_port(host: str, port: int) -> str:
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


async def http_get(
    host: str,
    port: int,
    path: str = "/",
    scheme: str = "HTTP",
    headers: Sequence[tuple[str, str]] = (),
    timeout: float = 1.0,
) -> tuple[Result, str]:
    """One HTTP GET; success for status 200-399 (kubelet ``DoHTTPProbe``)."""
    if not path.startswith("/"):
        path = "/" + path
    url = f"{scheme.lower()}://{_host_port(host, port)}{path}"
    hdrs = {"host": _host_port(host, port), "user-agent": USER_AGENT, "accept": "*/*"}
    for name, value in headers:
        hdrs[name.lower()] = value
    request = f"GET {path} HTTP/1.1\r\n"
    request += "".join(f"{k.title()}: {v}\r\n" for k, v in hdrs.items())
    request += "Connection: close\r\n\r\n"
    tls = None
    if scheme.upper() == "HTTPS":
        tls = ssl.create_default_context()
        tls.check_hostname = False
        tls.verify_mode = ssl.CERT_NONE  # the kubelet skips verification too
    writer = None
    try:
        async with asyncio.timeout(timeout):
            reader, writer = await asyncio.open_connection(host, port, ssl=tls)
            writer.write(request.encode("latin-1"))
            await writer.drain()
            line = await reader.readline()
    except TimeoutError:
        return (
            Result.FAILURE,
            f'Get "{url}": context deadline exceeded (Client.Timeout exceeded while awaiting headers)',
        )
    except OSError as e:
        return Result.FAILURE, f'Get "{url}": {_dial_error(host, port, e)}'
    finally:
        if writer is not None:
            writer.close()
            with contextlib.suppress(Exception):
                await writer.wait_closed()
    parts = line.decode("latin-1").split()
    if len(parts) < 2 or not parts[0].startswith("HTTP/") or not parts[1].isdigit():
        return Result.FAILURE, f'Get "{url}": malformed HTTP response {line[:80]!r}'
    code = int(parts[1])
    if 200 <= code < 400:
        return Result.SUCCESS, ""
    return Result.FAILURE, f"HTTP probe failed with statuscode: {code}"


def _dial_error(host: str, port: int, e: OSError) -> str:
    text = {
        111: "connect: connection refused",
        113: "connect: no route to host",
        101: "connect: network is unreachable",
    }.get(e.errno or 0, str(e.strerror or e))
    return f"dial tcp {_host_port(host, port)}: {text}"


async def tcp_socket(host: str, port: int, timeout: float = 1.0) -> tuple[Result, str]:
    """Open (and close) one TCP connection."""
    try:
        async with asyncio.timeout(timeout):
            _, writer = await asyncio.open_connection(host, port)
    except TimeoutError:
        return Result.FAILURE, f"dial tcp {_host_port(host, port)}: i/o timeout"
    except OSError as e:
        return Result.FAILURE, _dial_error(host, port, e)
    writer.close()
    with contextlib.suppress(Exception):
        await writer.wait_closed()
    return Result.SUCCESS, ""


RunCommand = Callable[
    [Sequence[str], Mapping[str, str] | None, float], Awaitable[tuple[int | None, str]]
]


async def run_probe(
    probe: Probe, target: ProbeTarget, run_command: RunCommand | None = None
) -> tuple[Result, str]:
    """Run one check of ``probe`` against ``target``: (result, failure message).

    ``run_command(argv, env, timeout) -> (exit status or None on timeout,
    output)`` runs exec probes; the agent passes the runtime's.
    """
    h = probe.handler
    try:
        if isinstance(h, HTTPGet):
            port = resolve_port(h.port, target.container)
            return await http_get(
                h.host or target.pod_ip, port, h.path, h.scheme, h.headers, probe.timeout
            )
        if isinstance(h, TCPSocket):
            port = resolve_port(h.port, target.container)
            return await tcp_socket(h.host or target.pod_ip, port, probe.timeout)
        if isinstance(h, Exec):
            if run_command is None or target.exec_argv is None:
                return Result.UNKNOWN, "exec probes need a runtime"
            argv = list(target.exec_argv(h.command))
            code, output = await run_command(argv, target.env, probe.timeout)
            if code is None:
                return Result.FAILURE, f"command {' '.join(h.command)!r} timed out"
            if code == 0:
                return Result.SUCCESS, ""
            return Result.FAILURE, output[:MAX_OUTPUT]
        # grpc: the health protocol needs a gRPC client this project does not carry.
        return Result.UNKNOWN, "grpc probes are not supported by svcnet"
    except ProbeError as e:
        return Result.UNKNOWN, str(e)
