"""The ``nginx`` image: a static web server with nginx's default page.

Usage: ``python -m svcnet.workloads.nginx [--port=80] [--root=/usr/share/nginx/html]
[--address=IP]``.

Files are served from ``--root`` when that directory exists (so a hostPath
or a node-agent volume at /usr/share/nginx/html works); ``/`` and
``/index.html`` fall back to nginx's "Welcome to nginx!" page when the
root has no index.html. As nginx: GET and HEAD only (405 otherwise), a
directory without a trailing slash redirects (301), a directory without
index.html is 403, a missing file is 404 with nginx's error page, and
``..`` never leaves the root.
"""

from __future__ import annotations

import argparse
import mimetypes
import sys
from pathlib import Path

from svcnet.util.log import get_logger
from svcnet.workloads.httpcore import Request, Response
from svcnet.workloads.server import HttpServer, Lifecycle, run

log = get_logger("svcnet.workloads.nginx")

DEFAULT_ROOT = "/usr/share/nginx/html"
SERVER = "nginx"
MAX_FILE = 64 * 1024 * 1024

WELCOME_PAGE = """\
<!DOCTYPE html>
<html>
<head>
<title>Welcome to nginx!</title>
<style>
html { color-scheme: light dark; }
body { width: 35em; margin: 0 auto;
font-family: Tahoma, Verdana, Arial, sans-serif; }
</style>
</head>
<body>
<h1>Welcome to nginx!</h1>
<p>If you see this page, the nginx web server is successfully installed and
working. Further configuration is required.</p>

<p>For online documentation and support please refer to
<a href="http://nginx.org/">nginx.org</a>.<br/>
Commercial support is available at
<a href="http://nginx.com/">nginx.com</a>.</p>

<p><em>Thank you for using nginx.</em></p>
</body>
</html>
"""


def error_page(status: int, reason: str) -> Response:
    body = (
        f"<html>\r\n<head><title>{status} {reason}</title></head>\r\n<body>\r\n"
        f"<center><h1>{status} {reason}</h1></center>\r\n<hr><center>nginx</center>\r\n"
        "</body>\r\n</html>\r\n"
    )
    return Response(status, body, content_type="text/html")


class StaticSite:
    """Maps request paths to files under ``root`` (which may be missing)."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def handle(self, req: Request) -> Response:
        if req.method not in ("GET", "HEAD"):
            return error_page(405, "Not Allowed")
        path = req.path
        if "\x00" in path or not path.startswith("/"):
            return error_page(400, "Bad Request")
        root = self.root.resolve() if self.root.is_dir() else None
        if root is not None:
            target = (root / path.lstrip("/")).resolve()
            if target != root and root not in target.parents:
                return error_page(404, "Not Found")
            if target.is_dir():
                if not path.endswith("/"):
                    return Response(301, headers=[("Location", path + "/")], body="")
                index = target / "index.html"
                if index.is_file():
                    return self._file(index)
                if target != root:
                    return error_page(403, "Forbidden")
            elif target.is_file():
                return self._file(target)
        if path in ("/", "/index.html"):
            return Response(body=WELCOME_PAGE, content_type="text/html")
        return error_page(404, "Not Found")

    def _file(self, path: Path) -> Response:
        try:
            if path.stat().st_size > MAX_FILE:
                return error_page(403, "Forbidden")
            data = path.read_bytes()
        except PermissionError:
            return error_page(403, "Forbidden")
        except OSError:
            return error_page(404, "Not Found")
        ctype = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
        return Response(body=data, content_type=ctype)


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="nginx", description="Static web server with nginx's default page.", allow_abbrev=False
    )
    p.add_argument("--port", type=int, default=80, help="HTTP port")
    p.add_argument("--root", default=DEFAULT_ROOT, help="document root, used when it exists")
    p.add_argument("--address", default=None, help="bind this address only")
    return p


async def serve(opts: argparse.Namespace, lc: Lifecycle) -> int:
    site = StaticSite(Path(opts.root))
    http = HttpServer(site.handle, server_header=SERVER)
    await http.start(opts.address, opts.port)
    log.info("serving", port=http.port, root=opts.root, root_exists=site.root.is_dir())
    await lc.wait()
    await http.close(lc.grace)
    return lc.code


def main(argv: list[str] | None = None) -> None:
    opts = build_parser().parse_args(argv)
    run("nginx", lambda lc: serve(opts, lc))


if __name__ == "__main__":
    main(sys.argv[1:])
