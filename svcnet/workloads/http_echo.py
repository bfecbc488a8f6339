"""The ``hashicorp/http-echo`` image: answers every request with a fixed text.

Usage: ``python -m svcnet.workloads.http_echo -text="hello" [-listen=:5678] [-status-code=200]``.

Flags are read in Go's ``flag`` syntax (``-text=hi``, ``-text hi``,
``--text=hi``) as manifests write them. ``-text`` falls back to the
ECHO_TEXT environment variable; with neither the program exits 1 like
upstream. Every path answers ``<text>\\n`` with the status code and the
headers X-App-Name / X-App-Version; ``/health`` answers ``{"status":"ok"}``.
"""

from __future__ import annotations

import argparse
import os
import sys

from svcnet.util.log import get_logger
from svcnet.workloads.goflags import join_flag_values, split_listen
from svcnet.workloads.httpcore import Request, Response
from svcnet.workloads.server import HttpServer, Lifecycle, run

log = get_logger("svcnet.workloads.http_echo")

VERSION = "1.0.0"
APP_HEADERS = [("X-App-Name", "http-echo"), ("X-App-Version", VERSION)]
VALUE_FLAGS = ("listen", "text", "status-code")


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="http-echo", description="Echo a fixed text over HTTP.", allow_abbrev=False
    )
    p.add_argument("-listen", "--listen", default=":5678", help="address and port to listen")
    p.add_argument("-text", "--text", default="", help="text to put on the webpage")
    p.add_argument("-status-code", "--status-code", type=int, default=200, help="response code")
    p.add_argument("-version", "--version", action="store_true", help="display version information")
    return p


def make_handler(text: str, status: int):
    body = text + "\n"

    def handle(req: Request) -> Response:
        if req.path == "/health":
            return Response(
                200, '{"status":"ok"}', content_type="application/json", headers=list(APP_HEADERS)
            )
        return Response(status, body, headers=list(APP_HEADERS))

    return handle


async def serve(opts: argparse.Namespace, text: str, lc: Lifecycle) -> int:
    host, port = split_listen(opts.listen)
    http = HttpServer(make_handler(text, opts.status_code))
    await http.start(host, port)
    log.info("Server is listening", listen=opts.listen, port=http.port)
    await lc.wait()
    await http.close(lc.grace)
    return lc.code


def main(argv: list[str] | None = None) -> None:
    args = join_flag_values(sys.argv[1:] if argv is None else argv, VALUE_FLAGS)
    opts, extra = build_parser().parse_known_args(args)
    if opts.version:
        print(f"http-echo v{VERSION} (svcnet)")
        sys.exit(0)
    if extra:
        print("Too many arguments!", file=sys.stderr)
        sys.exit(127)
    text = opts.text or os.environ.get("ECHO_TEXT", "")
    if not text:
        print("Missing -text option or ECHO_TEXT env var!", file=sys.stderr)
        sys.exit(1)
    try:
        split_listen(opts.listen)
    except ValueError as e:
        print(str(e), file=sys.stderr)
        sys.exit(1)
    run("http-echo", lambda lc: serve(opts, text, lc))


if __name__ == "__main__":
    main()
