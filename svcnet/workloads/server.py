"""The asyncio shell shared by the workload programs: listeners, HTTP connections, lifecycle.

Theory of operation: every workload is ``run(component, main)``: logging
goes to stdout in svcnet's structured format, SIGTERM and SIGINT ask the
`Lifecycle` to stop, ``main`` serves until then and returns the exit code.
`HttpServer` moves bytes between sockets and `httpcore.RequestParser`;
handlers are plain (sync or async) functions ``Request -> Response``.

Listeners bind like a Go program's ``":port"``: one dual-stack socket on
``::`` (IPv4 peers appear as plain IPv4 via `httpcore.format_addr`), or
``0.0.0.0`` when the namespace has no IPv6. A host (``--address``) binds
that address only; tests use 127.0.0.1.

Invariants: a stop request closes the listeners first, lets in-flight
requests finish within the grace period, then closes what is left; a
handler exception is a 500 and a log line, never a dead server.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import os
import signal
import socket
import ssl
import sys
import time
from collections.abc import Awaitable, Callable
from typing import NoReturn, cast

from svcnet.util.log import get_logger, setup_logging
from svcnet.workloads.httpcore import (
    CONTINUE,
    NEED_DATA,
    HttpError,
    Request,
    RequestParser,
    Response,
    format_addr,
    render_response,
)

__all__ = [
    "HttpServer",
    "Lifecycle",
    "UdpServer",
    "bind_socket",
    "hostname",
    "run",
]

Handler = Callable[[Request], "Response | Awaitable[Response]"]
READ_SIZE = 64 * 1024
IDLE_TIMEOUT = 120.0

log = get_logger("svcnet.workloads")


def hostname() -> str:
    """The pod's hostname: $HOSTNAME (set by the node agent) or the kernel's."""
    return os.environ.get("HOSTNAME") or socket.gethostname()


def bind_socket(host: str | None, port: int, kind: socket.SocketKind) -> socket.socket:
    """A bound (not yet listening) socket: ``host`` only, or every address dual-stack.

    Raises:
        OSError: the address is in use or not local.
    """
    if host is None:
        try:
            sock = socket.socket(socket.AF_INET6, kind)
            sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
            return _bind(sock, ("::", port), kind)
        except OSError:
            host = "0.0.0.0"
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    return _bind(socket.socket(family, kind), (host, port), kind)


def _bind(sock: socket.socket, addr: tuple[str, int], kind: socket.SocketKind) -> socket.socket:
    try:
        if kind == socket.SOCK_STREAM:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(addr)
        sock.setblocking(False)
    except OSError:
        sock.close()
        raise
    return sock


class Lifecycle:
    """Why and how the program stops: SIGTERM, SIGINT or a request such as agnhost's /exit."""

    def __init__(self) -> None:
        self.stop_requested = asyncio.Event()
        self.code = 0
        self.grace = 5.0
        self.reason = ""

    def request_stop(self, reason: str, code: int = 0, grace: float | None = None) -> None:
        """Ask the program to stop; the first request decides the exit code."""
        if self.stop_requested.is_set():
            return
        self.reason, self.code = reason, code
        if grace is not None:
            self.grace = grace
        log.info("stopping", reason=reason, code=code)
        self.stop_requested.set()

    async def wait(self) -> None:
        await self.stop_requested.wait()


def run(component: str, main: Callable[[Lifecycle], Awaitable[int]]) -> NoReturn:
    """Run ``main`` under asyncio with SIGTERM/SIGINT wired to its `Lifecycle`; exit with its code."""
    setup_logging(component, stream=sys.stdout)

    async def _amain() -> int:
        lc = Lifecycle()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, lc.request_stop, sig.name)
        return await main(lc)

    try:
        code = asyncio.run(_amain())
    except OSError as e:
        log.error("cannot serve", error=str(e))
        code = 1
    sys.stdout.flush()
    sys.exit(code)


class HttpServer:
    """HTTP/1.1 with keep-alive on one socket, answering with ``handler``."""

    def __init__(
        self, handler: Handler, *, server_header: str = "", access_log: bool = True
    ) -> None:
        self._handler = handler
        self._server_header = server_header
        self._access_log = access_log
        self._server: asyncio.Server | None = None
        self._idle: set[asyncio.StreamWriter] = set()
        self._tasks: set[asyncio.Task[None]] = set()
        self.port = 0

    async def start(
        self, host: str | None, port: int, ssl_context: ssl.SSLContext | None = None
    ) -> None:
        sock = bind_socket(host, port, socket.SOCK_STREAM)
        self.port = sock.getsockname()[1]
        self._server = await asyncio.start_server(
            self._on_connection, sock=sock, ssl=ssl_context, limit=READ_SIZE
        )

    async def close(self, grace: float) -> None:
        """Stop accepting, drop idle keep-alive connections, give in-flight requests ``grace`` seconds."""
        if self._server is not None:
            self._server.close()
        for w in list(self._idle):
            w.close()
        if self._tasks:
            _, pending = await asyncio.wait(set(self._tasks), timeout=max(grace, 0.0))
            for t in pending:
                t.cancel()
            await asyncio.gather(*pending, return_exceptions=True)

    async def _on_connection(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        peer = writer.get_extra_info("peername") or ("", 0)
        remote = format_addr(peer[0], peer[1])
        parser = RequestParser(remote=remote)
        try:
            await self._serve(reader, writer, parser)
        except (ConnectionError, asyncio.IncompleteReadError, TimeoutError, ssl.SSLError):
            pass
        finally:
            self._idle.discard(writer)
            self._tasks.discard(task)
            writer.close()
            with contextlib.suppress(Exception):
                await writer.wait_closed()

    async def _serve(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, parser: RequestParser
    ) -> None:
        while True:
            try:
                event = parser.next_event()
            except HttpError as e:
                writer.write(
                    render_response(Response(e.status, e.message + "\n"), keep_alive=False)
                )
                await writer.drain()
                return
            if event == NEED_DATA:
                if parser.closed:
                    return
                self._idle.add(writer)
                try:
                    data = await asyncio.wait_for(reader.read(READ_SIZE), IDLE_TIMEOUT)
                finally:
                    self._idle.discard(writer)
                parser.receive_data(data)
                continue
            if event == CONTINUE:
                writer.write(b"HTTP/1.1 100 Continue\r\n\r\n")
                continue
            assert isinstance(event, Request)
            resp = await self._respond(event)
            keep = event.keep_alive and not resp.close and self._serving()
            writer.write(
                render_response(
                    resp,
                    head_only=event.method == "HEAD",
                    keep_alive=keep,
                    server=self._server_header,
                )
            )
            await writer.drain()
            if not keep:
                return

    def _serving(self) -> bool:
        return self._server is not None and self._server.is_serving()

    async def _respond(self, req: Request) -> Response:
        started = time.monotonic()
        try:
            result = self._handler(req)
            resp = await result if inspect.isawaitable(result) else result
        except Exception as e:
            log.error("handler failed", path=req.path, error=repr(e), exc_info=True)
            resp = Response(500, f"internal error: {e}\n")
        if self._access_log:
            log.info(
                "request",
                client=req.remote,
                method=req.method,
                uri=req.target,
                status=resp.status,
                bytes=len(resp.body_bytes),
                ms=round((time.monotonic() - started) * 1000, 1),
            )
        return resp


class _UdpProtocol(asyncio.DatagramProtocol):
    def __init__(self, handler: Callable[[bytes, str], bytes | None]) -> None:
        self._handler = handler
        self.transport: asyncio.DatagramTransport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.DatagramTransport, transport)

    def datagram_received(self, data: bytes, addr: tuple) -> None:  # type: ignore[override]
        try:
            reply = self._handler(data, format_addr(addr[0], addr[1]))
        except Exception as e:
            log.error("udp handler failed", error=repr(e), exc_info=True)
            return
        if reply is not None and self.transport is not None:
            self.transport.sendto(reply, addr)

    def error_received(self, exc: Exception) -> None:
        log.warning("udp error", error=str(exc))


class UdpServer:
    """Answers each datagram with ``handler(data, "ip:port")`` (None sends nothing)."""

    def __init__(self, handler: Callable[[bytes, str], bytes | None]) -> None:
        self._handler = handler
        self._transport: asyncio.DatagramTransport | None = None
        self.port = 0

    async def start(self, host: str | None, port: int) -> None:
        sock = bind_socket(host, port, socket.SOCK_DGRAM)
        self.port = sock.getsockname()[1]
        loop = asyncio.get_running_loop()
        transport, _ = await loop.create_datagram_endpoint(
            lambda: _UdpProtocol(self._handler), sock=sock
        )
        self._transport = transport

    def close(self) -> None:
        if self._transport is not None:
            self._transport.close()
