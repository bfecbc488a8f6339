"""Echo servers: answer every HTTP request with a text report of that request.

Usage: ``python -m svcnet.workloads.echo_server [--port=8080] [--format=jmalloc|echoserver]
[--address=IP]``.

Two upstream formats, chosen by the image table:
  * ``jmalloc`` (kicbase/echo-server, jmalloc/echo-server): ``Request served
    by <hostname>``, the request line, ``Host:``, the headers sorted, then
    the body. Port from $PORT, else 8080 (``--port`` wins). Honours
    SEND_SERVER_HOSTNAME=false / the X-Send-Server-Hostname header and
    SEND_HEADER_<NAME>=value response headers, as upstream.
  * ``echoserver`` (k8s.gcr.io/echoserver, registry.k8s.io/echoserver):
    the ``Hostname`` / ``Pod Information`` / ``Request Information`` /
    ``Request Headers`` / ``Request Body`` report of that nginx+lua image;
    pod fields come from NODE_NAME, POD_NAME, POD_NAMESPACE, POD_IP.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Mapping

from svcnet.util.log import get_logger
from svcnet.workloads.httpcore import Request, Response
from svcnet.workloads.server import HttpServer, Lifecycle, hostname, run

log = get_logger("svcnet.workloads.echo_server")

FORMATS = ("jmalloc", "echoserver")


def _canonical(name: str) -> str:
    """Go's CanonicalMIMEHeaderKey: ``user-agent`` -> ``User-Agent``."""
    return "-".join(p[:1].upper() + p[1:].lower() for p in name.split("-"))


def jmalloc_report(req: Request, host: str, send_hostname: bool) -> str:
    """The body jmalloc/echo-server writes for a plain HTTP request."""
    lines = []
    if send_hostname:
        lines += [f"Request served by {host}", ""]
    lines += [f"{req.method} {req.target} {req.version}", "", f"Host: {req.header('host', '')}"]
    headers = sorted(
        ((_canonical(k), v) for k, v in req.headers if k.lower() != "host"), key=lambda kv: kv[0]
    )
    lines += [f"{k}: {v}" for k, v in headers]
    text = "\n".join(lines) + "\n"
    if req.body:
        text += "\n" + req.body.decode(errors="replace")
    return text


def echoserver_report(req: Request, host: str, env: Mapping[str, str], port: int) -> str:
    """The body of the k8s echoserver image (nginx + lua template)."""
    pod_keys = (
        ("node name", "NODE_NAME"),
        ("pod name", "POD_NAME"),
        ("pod namespace", "POD_NAMESPACE"),
        ("pod IP", "POD_IP"),
    )
    pod = [f"\t{label}:\t{env[key]}" for label, key in pod_keys if env.get(key)]
    client = req.remote.rsplit(":", 1)[0].strip("[]")
    host_header = req.header("host") or f"{host}:{port}"
    headers = sorted((k.lower(), v) for k, v in req.headers)
    body = req.body.decode(errors="replace") if req.body else "\t-no body in request-"
    lines = [
        "",
        "",
        f"Hostname: {host}",
        "",
        "Pod Information:",
        *(pod or ["\t-no pod information available-"]),
        "",
        "Server values:",
        "\tserver_version=nginx: 1.14.2 - lua: 10015",
        "",
        "Request Information:",
        f"\tclient_address={client}",
        f"\tmethod={req.method}",
        f"\treal path={req.path}",
        f"\tquery={req.query}",
        f"\trequest_version={req.version.removeprefix('HTTP/')}",
        "\trequest_scheme=http",
        f"\trequest_uri=http://{host_header}{req.target}",
        "",
        "Request Headers:",
        *(f"\t{k}={v}" for k, v in headers),
        "",
        "Request Body:",
        body,
        "",
        "",
    ]
    return "\n".join(lines)


def make_handler(fmt: str, port: int, env: Mapping[str, str]):
    extra = [
        (k[len("SEND_HEADER_") :].replace("_", "-"), v)
        for k, v in env.items()
        if k.startswith("SEND_HEADER_")
    ]

    def handle(req: Request) -> Response:
        host = hostname()
        if fmt == "echoserver":
            return Response(body=echoserver_report(req, host, env, port))
        send = req.header("x-send-server-hostname") or env.get("SEND_SERVER_HOSTNAME", "")
        return Response(
            body=jmalloc_report(req, host, send.lower() != "false"),
            content_type="text/plain",
            headers=list(extra),
        )

    return handle


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="echo-server", description="Echo the HTTP request as text.", allow_abbrev=False
    )
    p.add_argument("--port", type=int, default=None, help="HTTP port (default $PORT or 8080)")
    p.add_argument("--format", choices=FORMATS, default="jmalloc", help="report format")
    p.add_argument("--address", default=None, help="bind this address only")
    return p


async def serve(opts: argparse.Namespace, lc: Lifecycle) -> int:
    env = dict(os.environ)
    port = opts.port if opts.port is not None else int(env.get("PORT") or 8080)
    http = HttpServer(make_handler(opts.format, port, env))
    await http.start(opts.address, port)
    log.info(f"Echo server listening on port {http.port}.", format=opts.format)
    await lc.wait()
    await http.close(lc.grace)
    return lc.code


def main(argv: list[str] | None = None) -> None:
    opts = build_parser().parse_args(argv)
    run("echo-server", lambda lc: serve(opts, lc))


if __name__ == "__main__":
    main(sys.argv[1:])
