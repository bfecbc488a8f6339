"""agnhost ``serve-hostname``: answers with the pod's hostname over HTTP, raw TCP or UDP.

Usage: ``python -m svcnet.workloads.serve_hostname [--port=9376] [--http[=true|false]]
[--tcp] [--udp] [--close] [--address=IP]``.

As upstream: HTTP is on by default and cannot be combined with --tcp or
--udp (pass ``--http=false``); raw TCP writes the hostname and closes; UDP
answers every datagram with the hostname; ``--close`` adds
``Connection: close`` to HTTP answers. The hostname is $HOSTNAME (set by
the node agent to the pod name) or the kernel's. SIGTERM exits 0 at once
(upstream sleeps 60 s "awaiting pod deletion"; the kubelet's grace period
makes that pointless here).
"""

from __future__ import annotations

import argparse
import asyncio
import socket
import sys

from svcnet.util.log import get_logger
from svcnet.workloads.goflags import go_bool
from svcnet.workloads.httpcore import Request, Response
from svcnet.workloads.server import HttpServer, Lifecycle, UdpServer, bind_socket, hostname, run

log = get_logger("svcnet.workloads.serve_hostname")


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="serve-hostname",
        description="Serves the hostname through HTTP / TCP / UDP on the given port.",
        allow_abbrev=False,
    )

    def flag(name: str, default: bool, help_: str) -> None:
        p.add_argument(
            f"--{name}", type=go_bool, nargs="?", const=True, default=default, help=help_
        )

    flag("tcp", False, "serve raw over TCP")
    flag("udp", False, "serve raw over UDP")
    flag("http", True, "serve HTTP")
    flag("close", False, "close the connection after each HTTP request")
    p.add_argument("--port", type=int, default=9376, help="port number")
    p.add_argument("--address", default=None, help="bind this address only (svcnet addition)")
    return p


async def serve(opts: argparse.Namespace, lc: Lifecycle) -> int:
    if opts.http and (opts.tcp or opts.udp):
        log.error("Can't serve TCP/UDP mode and HTTP mode at the same time")
        return 1
    name = hostname()
    closers = []
    if opts.tcp:

        async def on_tcp(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            log.info("TCP request", client=str(writer.get_extra_info("peername")))
            writer.write(name.encode())
            writer.close()

        sock = bind_socket(opts.address, opts.port, socket.SOCK_STREAM)
        tcp = await asyncio.start_server(on_tcp, sock=sock)
        closers.append(tcp.close)
    if opts.udp:

        def on_udp(data: bytes, client: str) -> bytes:
            log.info("UDP request", client=client)
            return name.encode()

        udp = UdpServer(on_udp)
        await udp.start(opts.address, opts.port)
        closers.append(udp.close)
    http = None
    if opts.http:

        def on_http(req: Request) -> Response:
            return Response(body=name, close=opts.close)

        http = HttpServer(on_http)
        await http.start(opts.address, opts.port)
    log.info("Serving", port=opts.port, http=opts.http, tcp=opts.tcp, udp=opts.udp)
    await lc.wait()
    for close in closers:
        close()
    if http is not None:
        await http.close(lc.grace)
    return lc.code


def main(argv: list[str] | None = None) -> None:
    opts = build_parser().parse_args(argv)
    run("serve-hostname", lambda lc: serve(opts, lc))


if __name__ == "__main__":
    main(sys.argv[1:])
