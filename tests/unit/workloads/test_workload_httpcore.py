"""The workloads' HTTP/1.1 protocol core: bytes whole, byte by byte, and with trailing data."""

from __future__ import annotations

import pytest

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

GET = b"GET /echo?msg=hi%20there&code=201 HTTP/1.1\r\nHost: x\r\nUser-Agent: t\r\n\r\n"
POST = b"POST /p HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello"
CHUNKED = b"POST /c HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n5;ext=1\r\nhello\r\n6\r\n world\r\n0\r\nX-Trailer: 1\r\n\r\n"


def feed_whole(data: bytes) -> list[Request]:
    p = RequestParser(remote="1.2.3.4:5")
    p.receive_data(data)
    out = []
    while isinstance(ev := p.next_event(), Request):
        out.append(ev)
    return out


def feed_bytewise(data: bytes) -> list[Request]:
    p = RequestParser(remote="1.2.3.4:5")
    out = []
    for i in range(len(data)):
        p.receive_data(data[i : i + 1])
        while True:
            ev = p.next_event()
            if isinstance(ev, Request):
                out.append(ev)
                continue
            break
    return out


@pytest.mark.parametrize("feed", [feed_whole, feed_bytewise], ids=["whole", "byte by byte"])
@pytest.mark.parametrize(
    ("data", "method", "path", "body"),
    [
        (GET, "GET", "/echo", b""),
        (POST, "POST", "/p", b"hello"),
        (CHUNKED, "POST", "/c", b"hello world"),
    ],
    ids=["get", "content-length", "chunked"],
)
def test_parse_one(feed, data, method, path, body) -> None:
    [req] = feed(data)
    assert (req.method, req.path, req.body, req.remote) == (method, path, body, "1.2.3.4:5")


@pytest.mark.parametrize("feed", [feed_whole, feed_bytewise], ids=["whole", "byte by byte"])
def test_pipelined_requests_and_trailing_data(feed) -> None:
    reqs = feed(GET + POST + CHUNKED + b"GET /partial HT")
    assert [r.path for r in reqs] == ["/echo", "/p", "/c"]


def test_request_accessors() -> None:
    [req] = feed_whole(GET)
    assert req.arg("msg") == "hi there"
    assert req.arg("code") == "201"
    assert req.arg("missing", "d") == "d"
    assert req.header("user-agent") == "t"
    assert req.keep_alive


def test_form_body_args() -> None:
    body = b"cmd=echo+hi"
    data = (
        b"POST /shell HTTP/1.1\r\nContent-Type: application/x-www-form-urlencoded\r\n"
        + f"Content-Length: {len(body)}\r\n\r\n".encode()
        + body
    )
    [req] = feed_whole(data)
    assert req.arg("cmd") == "echo hi"


@pytest.mark.parametrize(
    ("head", "keep"),
    [
        (b"GET / HTTP/1.1\r\n\r\n", True),
        (b"GET / HTTP/1.1\r\nConnection: close\r\n\r\n", False),
        (b"GET / HTTP/1.0\r\n\r\n", False),
        (b"GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n", True),
    ],
    ids=["1.1 default", "1.1 close", "1.0 default", "1.0 keep-alive"],
)
def test_keep_alive(head, keep) -> None:
    [req] = feed_whole(head)
    assert req.keep_alive is keep


def test_expect_continue() -> None:
    p = RequestParser()
    p.receive_data(b"PUT /x HTTP/1.1\r\nExpect: 100-continue\r\nContent-Length: 2\r\n\r\n")
    assert p.next_event() == CONTINUE
    assert p.next_event() == NEED_DATA
    p.receive_data(b"ok")
    req = p.next_event()
    assert isinstance(req, Request) and req.body == b"ok"


@pytest.mark.parametrize(
    ("data", "status"),
    [
        (b"GARBAGE\r\n\r\n", 400),
        (b"GET / HTTP/2.0\r\n\r\n", 400),
        (b"GET / HTTP/1.1\r\nbad header\r\n\r\n", 400),
        (b"GET / HTTP/1.1\r\nContent-Length: x\r\n\r\n", 400),
        (b"GET / HTTP/1.1\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n", 400),
        (b"GET / HTTP/1.1\r\nTransfer-Encoding: gzip\r\n\r\n", 501),
        (b"GET / HTTP/1.1\r\nContent-Length: 999999999\r\n\r\n", 413),
        (b"GET / HTTP/1.1\r\nX: " + b"a" * 70000, 431),
    ],
    ids=[
        "request line",
        "version",
        "header",
        "length",
        "smuggling",
        "te",
        "too big",
        "head too big",
    ],
)
def test_errors(data, status) -> None:
    p = RequestParser()
    p.receive_data(data)
    with pytest.raises(HttpError) as e:
        p.next_event()
    assert e.value.status == status


def test_render_response() -> None:
    out = render_response(Response(201, "hi", headers=[("X-A", "1")]), now=0)
    head, _, body = out.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 201 Created\r\n")
    assert b"Content-Length: 2" in head and b"X-A: 1" in head
    assert b"Date: Thu, 01 Jan 1970 00:00:00 GMT" in head
    assert body == b"hi"
    only = render_response(Response(200, "hi"), head_only=True, keep_alive=False)
    assert only.endswith(b"Connection: close\r\n\r\n") and b"Content-Length: 2" in only


@pytest.mark.parametrize(
    ("host", "port", "want"),
    [
        ("10.0.0.1", 80, "10.0.0.1:80"),
        ("::1", 80, "[::1]:80"),
        ("::ffff:10.0.0.1", 5, "10.0.0.1:5"),
    ],
)
def test_format_addr(host, port, want) -> None:
    assert format_addr(host, port) == want
