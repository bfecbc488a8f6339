"""agnhost ``liveness``: an HTTP server whose /healthz starts failing, for liveness-probe demos.

Usage: ``python -m svcnet.workloads.liveness [--port=8080] [--fail-after=10] [--address=IP]``.

As upstream (the server the Kubernetes "liveness HTTP request" tutorial
uses): /healthz answers 200 ``ok`` for the first 10 seconds after start,
then 500 ``error: <seconds>``; /started answers how long the server has
run. ``--port`` and ``--fail-after`` are svcnet additions (upstream has
8080 and 10 s fixed).
"""

from __future__ import annotations

import argparse
import sys
import time

from svcnet.util.log import get_logger
from svcnet.workloads.httpcore import Request, Response
from svcnet.workloads.server import HttpServer, Lifecycle, run

log = get_logger("svcnet.workloads.liveness")


def make_handler(started: float, fail_after: float, clock=time.monotonic):
    def handle(req: Request) -> Response:
        age = clock() - started
        if req.path == "/started":
            return Response(body=f"{age:.3f}s")
        if req.path == "/healthz":
            if age > fail_after:
                return Response(500, f"error: {age:.3f}")
            return Response(body="ok")
        return Response(404, "404 page not found\n")

    return handle


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="liveness", description="/healthz fails after a while.", allow_abbrev=False
    )
    p.add_argument("--port", type=int, default=8080, help="HTTP port")
    p.add_argument("--fail-after", type=float, default=10.0, help="seconds /healthz answers 200")
    p.add_argument("--address", default=None, help="bind this address only")
    return p


async def serve(opts: argparse.Namespace, lc: Lifecycle) -> int:
    http = HttpServer(make_handler(time.monotonic(), opts.fail_after))
    await http.start(opts.address, opts.port)
    log.info("serving", port=http.port, fail_after=opts.fail_after)
    await lc.wait()
    await http.close(lc.grace)
    return lc.code


def main(argv: list[str] | None = None) -> None:
    opts = build_parser().parse_args(argv)
    run("liveness", lambda lc: serve(opts, lc))


if __name__ == "__main__":
    main(sys.argv[1:])
