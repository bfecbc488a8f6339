"""agnhost ``netexec``: the HTTP/UDP test server of Kubernetes' e2e suite, reimplemented.

Usage: ``python -m svcnet.workloads.netexec [--http-port=8080] [--udp-port=8081]
[--delay-shutdown=SECONDS] [--address=IP]``.

HTTP endpoints (as upstream test/images/agnhost/netexec):
  /hostname, /hostName   the pod's hostname ($HOSTNAME, else the kernel's)
  /clientip              the peer as ``ip:port``
  /echo?msg=M[&code=N]   M, with status N
  /healthz               200 once the UDP server is up (or disabled), else 412
  /header?key=K          the request's header K
  /dial?host=&port=&request=&protocol=http|udp&tries=N
                         asks another server, answers {"responses": [...], "errors": [...]}
  /shell?cmd=C           runs ``/bin/sh -c C``: {"output": ..., "error": ...}
  /redirect?location=L[&code=N]
  /exit?code=N[&timeout=D][&wait=D], /shutdown
                         exit with code N (graceful within Go duration D)
  /                      ``NOW: <time>`` and an index of these endpoints (any other path too)

UDP (``--udp-port``, -1 disables): ``hostname``, ``echo <msg>``, ``clientip``;
like upstream the datagram is trimmed and lower-cased first.

SIGTERM stops the program with exit code 0; ``--delay-shutdown=S`` keeps
serving S seconds first (agnhost's flag for graceful-termination tests).
``--address`` (a svcnet addition) binds one address instead of all.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import ssl
import sys
from datetime import UTC, datetime

from svcnet.util.log import get_logger
from svcnet.workloads.goflags import go_duration
from svcnet.workloads.httpcore import Request, Response
from svcnet.workloads.server import HttpServer, Lifecycle, UdpServer, hostname, run

log = get_logger("svcnet.workloads.netexec")

DIAL_TIMEOUT = 5.0
SHELL_PATH = "/bin/sh"
MAX_SHELL_OUTPUT = 1024 * 1024

INDEX = """\
svcnet netexec (agnhost netexec) on {host}
GET /hostname                      pod hostname
GET /clientip                      your ip:port as seen by the pod
GET /echo?msg=hi[&code=N]          echo msg
GET /healthz                       200 when serving
GET /header?key=K                  a request header
GET /dial?host=H&port=P&request=hostname&protocol=http|udp&tries=1
GET /shell?cmd=C                   run a shell command
GET /redirect?location=L[&code=N]
GET /exit?code=N[&timeout=D&wait=D]
UDP {udp}: hostname | echo <msg> | clientip
"""


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="netexec",
        description="agnhost netexec: HTTP(S) and UDP servers with test endpoints.",
        allow_abbrev=False,
    )
    p.add_argument("--http-port", type=int, default=8080, help="HTTP listen port")
    p.add_argument("--udp-port", type=int, default=8081, help="UDP listen port (-1 disables)")
    p.add_argument("--sctp-port", type=int, default=-1, help="SCTP listen port (not supported; -1)")
    p.add_argument(
        "--udp-listen-addresses", default="", help="comma-separated UDP listen addresses"
    )
    p.add_argument("--tls-cert-file", default="", help="x509 certificate: serve HTTPS")
    p.add_argument("--tls-private-key-file", default="", help="private key for --tls-cert-file")
    p.add_argument("--http-override", default="", help="answer every request as GET of this path")
    p.add_argument(
        "--delay-shutdown", type=int, default=0, help="seconds to keep serving after SIGTERM"
    )
    p.add_argument("--address", default=None, help="bind this address only (svcnet addition)")
    return p


class Netexec:
    """The endpoint handlers; state is the UDP readiness and the lifecycle."""

    def __init__(self, lc: Lifecycle, override: str = "", udp_port: int = 8081) -> None:
        self.lc = lc
        self.override = override
        self.udp_port = udp_port
        self.ready = udp_port == -1
        self.routes = {
            "/clientip": self.clientip,
            "/dial": self.dial,
            "/echo": self.echo,
            "/exit": self.exit,
            "/header": self.header,
            "/healthz": self.healthz,
            "/hostname": self.hostname,
            "/hostName": self.hostname,
            "/redirect": self.redirect,
            "/shell": self.shell,
            "/shutdown": self.shutdown,
            "/upload": self.upload,
        }

    async def handle(self, req: Request) -> Response:
        if self.override:
            req = Request("GET", self.override, req.version, req.headers, b"", req.remote)
        handler = self.routes.get(req.path, self.root)
        result = handler(req)
        return await result if asyncio.iscoroutine(result) else result  # type: ignore[return-value]

    def root(self, req: Request) -> Response:
        now = datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S.%f +0000 UTC")
        udp = "disabled" if self.udp_port == -1 else str(self.udp_port)
        return Response(body=f"NOW: {now}\n" + INDEX.format(host=hostname(), udp=udp))

    def hostname(self, req: Request) -> Response:
        return Response(body=hostname())

    def clientip(self, req: Request) -> Response:
        return Response(body=req.remote)

    def echo(self, req: Request) -> Response:
        msg, code_s = req.arg("msg"), req.arg("code")
        if not code_s:
            return Response(body=msg)
        try:
            return Response(int(code_s), body=msg)
        except ValueError:
            return Response(body=f"argument 'code' must be an integer or empty, got {code_s!r}\n")

    def header(self, req: Request) -> Response:
        return Response(body=req.header(req.arg("key"), "") or "")

    def healthz(self, req: Request) -> Response:
        return Response(200 if self.ready else 412)

    def redirect(self, req: Request) -> Response:
        code_s = req.arg("code")
        try:
            code = int(code_s) if code_s else 302
        except ValueError:
            return Response(body=f"argument 'code' must be an integer or empty, got {code_s!r}\n")
        return Response(code, headers=[("Location", req.arg("location"))])

    def upload(self, req: Request) -> Response:
        return Response(501, json.dumps({"error": "upload is not supported by svcnet netexec"}))

    def shutdown(self, req: Request) -> Response:
        self.lc.request_stop("GET /shutdown", 0, grace=0.0)
        return Response(close=True)

    async def exit(self, req: Request) -> Response:
        code_s, timeout_s, wait_s = req.arg("code"), req.arg("timeout"), req.arg("wait")
        try:
            timeout = go_duration(timeout_s) if timeout_s else 0.0
        except ValueError:
            return Response(
                body=f"argument 'timeout' must be a valid golang duration or empty, got {timeout_s!r}\n"
            )
        try:
            wait = go_duration(wait_s) if wait_s else 0.0
        except ValueError:
            return Response(
                body=f"argument 'wait' must be a valid golang duration or empty, got {wait_s!r}\n"
            )
        try:
            code = int(code_s) if code_s else 0
        except ValueError:
            return Response(
                body=f"argument 'code' must be an integer [0-127] or empty, got {code_s!r}\n"
            )
        log.info("exit requested", code=code, timeout=timeout, wait=wait)
        await asyncio.sleep(wait)
        self.lc.request_stop("GET /exit", code, grace=timeout)
        return Response(close=True)

    async def shell(self, req: Request) -> Response:
        cmd = req.arg("shellCommand") or req.arg("cmd")
        proc = await asyncio.create_subprocess_exec(
            SHELL_PATH,
            "-c",
            cmd,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
        )
        out, _ = await proc.communicate()
        output: dict[str, str] = {}
        if out:
            output["output"] = out[:MAX_SHELL_OUTPUT].decode(errors="replace")
        if proc.returncode:
            output["error"] = f"exit status {proc.returncode}"
        return Response(body=json.dumps(output), content_type="application/json")

    async def dial(self, req: Request) -> Response:
        host, port, request = req.arg("host"), req.arg("port"), req.arg("request")
        protocol = req.arg("protocol").lower() or "http"
        tries_s = req.arg("tries") or "1"
        if not tries_s.isdigit():
            return Response(400, f"tries parameter is invalid. {tries_s!r}\n")
        if not request:
            return Response(400, "request parameter not specified.\n")
        if not port.isdigit() or not host:
            return Response(400, "host and/or port param are invalid.\n")
        dialers = {"http": _dial_http, "udp": _dial_udp}
        if protocol not in dialers:
            return Response(400, f"unsupported protocol. {protocol}\n")
        responses: list[str] = []
        errors: list[str] = []
        for _ in range(int(tries_s)):
            try:
                responses.append(await dialers[protocol](host, int(port), request))
            except (OSError, TimeoutError, ValueError) as e:
                errors.append(f"{protocol} dial failed: {e or type(e).__name__}")
        output: dict[str, list[str]] = {}
        if responses:
            output["responses"] = responses
        if errors:
            output["errors"] = errors
        return Response(body=json.dumps(output), content_type="application/json")

    def udp(self, data: bytes, client: str) -> bytes | None:
        text = data.decode(errors="replace").strip().lower()
        if text == "hostname":
            return hostname().encode()
        if text.startswith("echo "):
            return text.split(" ", 1)[1].encode()
        if text == "clientip":
            return client.encode()
        if text:
            log.info("unknown udp command", client=client, command=text[:64])
        return None


async def _dial_http(host: str, port: int, request: str) -> str:
    async def _get() -> str:
        reader, writer = await asyncio.open_connection(host, port)
        try:
            target = "/" + request.lstrip("/")
            writer.write(
                f"GET {target} HTTP/1.1\r\nHost: {host}:{port}\r\nConnection: close\r\n\r\n".encode()
            )
            await writer.drain()
            raw = await reader.read(-1)
        finally:
            writer.close()
        head, _, body = raw.partition(b"\r\n\r\n")
        if not head.startswith(b"HTTP/1."):
            raise ValueError("malformed HTTP response")
        return body.decode(errors="replace")

    return await asyncio.wait_for(_get(), DIAL_TIMEOUT)


class _OneShot(asyncio.DatagramProtocol):
    def __init__(self) -> None:
        self.reply: asyncio.Future[bytes] = asyncio.get_running_loop().create_future()

    def datagram_received(self, data: bytes, addr: tuple) -> None:  # type: ignore[override]
        if not self.reply.done():
            self.reply.set_result(data)

    def error_received(self, exc: Exception) -> None:
        if not self.reply.done():
            self.reply.set_exception(exc)


async def _dial_udp(host: str, port: int, request: str) -> str:
    loop = asyncio.get_running_loop()
    transport, proto = await loop.create_datagram_endpoint(_OneShot, remote_addr=(host, port))
    try:
        transport.sendto(request.encode())
        return (await asyncio.wait_for(proto.reply, DIAL_TIMEOUT)).decode(errors="replace")
    finally:
        transport.close()


async def serve(opts: argparse.Namespace, lc: Lifecycle) -> int:
    app = Netexec(lc, opts.http_override, opts.udp_port)
    if opts.sctp_port != -1:
        log.warning(
            "SCTP is not supported by svcnet netexec; ignoring --sctp-port", port=opts.sctp_port
        )
    ctx = None
    if opts.tls_cert_file:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(opts.tls_cert_file, opts.tls_private_key_file or None)
    udp_servers: list[UdpServer] = []
    if opts.udp_port != -1:
        hosts: list[str | None] = [
            a.strip() for a in opts.udp_listen_addresses.split(",") if a.strip()
        ]
        for host in hosts or [opts.address]:
            udp = UdpServer(app.udp)
            await udp.start(host, opts.udp_port)
            udp_servers.append(udp)
            log.info("Started UDP server", address=host or "", port=udp.port)
        app.ready = True
    http = HttpServer(app.handle)
    await http.start(opts.address, opts.http_port, ctx)
    log.info("Started HTTP server", port=http.port, tls=ctx is not None)
    await lc.wait()
    if lc.reason == "SIGTERM" and opts.delay_shutdown > 0:
        log.info("Sleeping before terminating", seconds=opts.delay_shutdown)
        await asyncio.sleep(opts.delay_shutdown)
    await http.close(lc.grace)
    for udp in udp_servers:
        udp.close()
    app.ready = False
    return lc.code


def main(argv: list[str] | None = None) -> None:
    opts = build_parser().parse_args(argv)
    run("netexec", lambda lc: serve(opts, lc))


if __name__ == "__main__":
    main(sys.argv[1:])
