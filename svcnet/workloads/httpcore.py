"""A minimal HTTP/1.1 server protocol core for the workload programs (sans-I/O, pure).

Theory of operation: `RequestParser` is fed bytes (`receive_data`) and
hands out events (`next_event`): a `Request` once its head and body are
complete, `NEED_DATA` while more bytes are needed, or `CONTINUE` when the
client sent ``Expect: 100-continue`` and waits for the interim response
before its body. Bytes after one request stay buffered for the next
(pipelining and keep-alive). `render_response` turns a `Response` into
bytes. The asyncio shell (`server.py`) only moves bytes.

Invariants:
  * buffers are bounded: a head over `MAX_HEAD` or a body over `MAX_BODY`
    raises `HttpError` (431 / 413), never grows without limit;
  * framing is Content-Length or chunked; a request with both, or with a
    malformed length, is a 400 (request smuggling guard);
  * every response carries Content-Length, so connections stay reusable.
"""

from __future__ import annotations

import email.utils
from dataclasses import dataclass, field
from urllib.parse import parse_qs, unquote, urlsplit

__all__ = [
    "CONTINUE",
    "MAX_BODY",
    "MAX_HEAD",
    "NEED_DATA",
    "HttpError",
    "Request",
    "RequestParser",
    "Response",
    "format_addr",
    "render_response",
]

MAX_HEAD = 64 * 1024
MAX_BODY = 8 * 1024 * 1024
NEED_DATA = "NEED_DATA"
CONTINUE = "CONTINUE"

REASONS = {
    100: "Continue",
    200: "OK",
    201: "Created",
    204: "No Content",
    301: "Moved Permanently",
    302: "Found",
    304: "Not Modified",
    307: "Temporary Redirect",
    308: "Permanent Redirect",
    400: "Bad Request",
    403: "Forbidden",
    404: "Not Found",
    405: "Method Not Allowed",
    412: "Precondition Failed",
    413: "Request Entity Too Large",
    417: "Expectation Failed",
    431: "Request Header Fields Too Large",
    500: "Internal Server Error",
    501: "Not Implemented",
    503: "Service Unavailable",
}


class HttpError(Exception):
    """The request cannot be parsed; answer with ``status`` and close."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def format_addr(host: str, port: int) -> str:
    """``ip:port`` as Go prints it: IPv6 in brackets, IPv4-mapped IPv6 as plain IPv4."""
    if host.startswith("::ffff:") and "." in host:
        host = host[len("::ffff:") :]
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


@dataclass(frozen=True)
class Request:
    """One parsed request. ``headers`` keep their order and spelling."""

    method: str
    target: str
    version: str
    headers: tuple[tuple[str, str], ...]
    body: bytes = b""
    remote: str = ""

    @property
    def path(self) -> str:
        return unquote(urlsplit(self.target).path) or "/"

    @property
    def query(self) -> str:
        return urlsplit(self.target).query

    def header(self, name: str, default: str | None = None) -> str | None:
        """The first value of header ``name`` (case-insensitive)."""
        low = name.lower()
        for k, v in self.headers:
            if k.lower() == low:
                return v
        return default

    def arg(self, name: str, default: str = "") -> str:
        """Like Go's ``FormValue``: the first value from the query, then a urlencoded form body."""
        values = parse_qs(self.query, keep_blank_values=True).get(name)
        if values:
            return values[0]
        ctype = (self.header("content-type") or "").split(";")[0].strip().lower()
        if ctype == "application/x-www-form-urlencoded" and self.method in ("POST", "PUT", "PATCH"):
            values = parse_qs(self.body.decode("latin-1"), keep_blank_values=True).get(name)
            if values:
                return values[0]
        return default

    @property
    def keep_alive(self) -> bool:
        conn = (self.header("connection") or "").lower()
        tokens = {t.strip() for t in conn.split(",")}
        if self.version == "HTTP/1.0":
            return "keep-alive" in tokens
        return "close" not in tokens


@dataclass
class Response:
    """A response to render. ``headers`` are extra headers beside the framing ones."""

    status: int = 200
    body: bytes | str = b""
    content_type: str = "text/plain; charset=utf-8"
    headers: list[tuple[str, str]] = field(default_factory=list)
    close: bool = False

    @property
    def body_bytes(self) -> bytes:
        return self.body.encode() if isinstance(self.body, str) else self.body


def render_response(
    resp: Response,
    *,
    head_only: bool = False,
    keep_alive: bool = True,
    now: float | None = None,
    server: str = "",
) -> bytes:
    """Serialise ``resp`` as HTTP/1.1; ``head_only`` omits the body (HEAD) but keeps its length."""
    body = resp.body_bytes
    lines = [f"HTTP/1.1 {resp.status} {REASONS.get(resp.status, 'Status')}"]
    if server:
        lines.append(f"Server: {server}")
    lines.append(f"Date: {email.utils.formatdate(now, usegmt=True)}")
    names = {k.lower() for k, _ in resp.headers}
    if body and "content-type" not in names and resp.content_type:
        lines.append(f"Content-Type: {resp.content_type}")
    lines.append(f"Content-Length: {len(body)}")
    lines.extend(f"{k}: {v}" for k, v in resp.headers)
    if not keep_alive or resp.close:
        lines.append("Connection: close")
    head = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")
    return head if head_only else head + body


def _parse_head(head: bytes) -> tuple[str, str, str, tuple[tuple[str, str], ...]]:
    try:
        text = head.decode("latin-1")
    except UnicodeDecodeError as e:  # pragma: no cover - latin-1 decodes any byte
        raise HttpError(400, "bad encoding") from e
    lines = text.split("\r\n")
    parts = lines[0].split(" ")
    if len(parts) != 3 or not parts[0].isalpha() or not parts[2].startswith("HTTP/1."):
        raise HttpError(400, f"malformed request line {lines[0][:80]!r}")
    method, target, version = parts
    if version not in ("HTTP/1.0", "HTTP/1.1"):
        raise HttpError(400, f"unsupported version {version!r}")
    headers: list[tuple[str, str]] = []
    for line in lines[1:]:
        name, colon, value = line.partition(":")
        if not colon or not name or name != name.strip():
            raise HttpError(400, f"malformed header line {line[:80]!r}")
        headers.append((name, value.strip()))
    return method, target, version, tuple(headers)


class RequestParser:
    """Incremental request parser: `receive_data(bytes)`, then `next_event()` until `NEED_DATA`."""

    def __init__(self, *, remote: str = "", max_body: int = MAX_BODY) -> None:
        self._buf = bytearray()
        self._remote = remote
        self._max_body = max_body
        self._head: tuple[str, str, str, tuple[tuple[str, str], ...]] | None = None
        self._continue_sent = False
        self.closed = False

    def receive_data(self, data: bytes) -> None:
        """Buffer ``data``; empty bytes mean the peer closed its side."""
        if not data:
            self.closed = True
        self._buf += data

    @property
    def trailing(self) -> bytes:
        """Bytes buffered beyond the last complete request."""
        return bytes(self._buf)

    def next_event(self) -> Request | str:
        """The next `Request`, `CONTINUE` (send ``100 Continue``) or `NEED_DATA`.

        Raises:
            HttpError: the bytes are not a request svcnet answers.
        """
        if self._head is None:
            # Tolerate blank lines between pipelined requests (RFC 9112 2.2).
            while self._buf[:2] == b"\r\n":
                del self._buf[:2]
            end = self._buf.find(b"\r\n\r\n")
            if end < 0:
                if len(self._buf) > MAX_HEAD:
                    raise HttpError(431, "request head too large")
                return NEED_DATA
            if end > MAX_HEAD:
                raise HttpError(431, "request head too large")
            self._head = _parse_head(bytes(self._buf[:end]))
            del self._buf[: end + 4]
            self._continue_sent = False
        method, target, version, headers = self._head
        lowered = {k.lower(): v for k, v in headers}
        te = lowered.get("transfer-encoding", "").lower()
        if te and "content-length" in lowered:
            raise HttpError(400, "both Transfer-Encoding and Content-Length")
        if te:
            if te != "chunked":
                raise HttpError(501, f"transfer encoding {te!r} not supported")
            body = self._chunked_body()
        else:
            body = self._sized_body(lowered.get("content-length", "0"))
        if body is None:
            if lowered.get("expect", "").lower() == "100-continue" and not self._continue_sent:
                self._continue_sent = True
                return CONTINUE
            return NEED_DATA
        self._head = None
        return Request(method, target, version, headers, body, self._remote)

    def _sized_body(self, raw: str) -> bytes | None:
        if not raw.isdigit():
            raise HttpError(400, f"invalid Content-Length {raw!r}")
        n = int(raw)
        if n > self._max_body:
            raise HttpError(413, "request body too large")
        if len(self._buf) < n:
            return None
        body = bytes(self._buf[:n])
        del self._buf[:n]
        return body

    def _chunked_body(self) -> bytes | None:
        body = bytearray()
        pos = 0
        while True:
            eol = self._buf.find(b"\r\n", pos)
            if eol < 0:
                return None
            size_s = self._buf[pos:eol].split(b";", 1)[0].strip()
            try:
                size = int(size_s, 16)
            except ValueError:
                raise HttpError(400, "invalid chunk size") from None
            if len(body) + size > self._max_body:
                raise HttpError(413, "request body too large")
            start = eol + 2
            if size == 0:
                # Skip trailer fields up to the empty line.
                end = self._buf.find(b"\r\n", start)
                while end >= 0 and end != start:
                    start = end + 2
                    end = self._buf.find(b"\r\n", start)
                if end < 0:
                    return None
                del self._buf[: end + 2]
                return bytes(body)
            if len(self._buf) < start + size + 2:
                return None
            body += self._buf[start : start + size]
            pos = start + size + 2
