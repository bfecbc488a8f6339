"""REST client wire helpers: line framing, error mapping, query and bodies, resource paths."""

from __future__ import annotations

from typing import Any
from unittest import mock

import aiohttp
import orjson
import pytest

from svcnet.client.errors import (
    AlreadyExistsError,
    ApiError,
    ConflictError,
    GoneError,
    InvalidError,
    NotFoundError,
    TransportError,
    is_already_exists,
    is_conflict,
    is_gone,
    is_not_found,
)
from svcnet.client.resources import DEPLOYMENTS, NODES, PODS, Resource
from svcnet.client.rest import _retryable
from svcnet.client.wire import (
    LineSplitter,
    delete_options,
    error_from_body,
    query_value,
    selector_string,
)

EVENTS = (
    b'{"type":"ADDED","object":{"metadata":{"name":"a"}}}\n'
    b'{"type":"BOOKMARK","object":{"metadata":{"resourceVersion":"7"}}}\n'
    b'{"type":"DELETED","object":{"metadata":{"name":"a"}}}\n'
)


def _types(lines: list[bytes]) -> list[str]:
    return [orjson.loads(line)["type"] for line in lines]


@pytest.mark.parametrize("chunking", ["whole", "byte-by-byte", "split-7"], ids=lambda c: c)
def test_line_splitter_chunkings(chunking: str) -> None:
    if chunking == "whole":
        chunks = [EVENTS]
    elif chunking == "byte-by-byte":
        chunks = [EVENTS[i : i + 1] for i in range(len(EVENTS))]
    else:
        chunks = [EVENTS[i : i + 7] for i in range(0, len(EVENTS), 7)]
    sp = LineSplitter()
    out: list[bytes] = []
    for c in chunks:
        out += sp.feed(c)
    out += sp.flush()
    assert _types(out) == ["ADDED", "BOOKMARK", "DELETED"]


def test_line_splitter_trailing_unterminated_record_and_blank_lines() -> None:
    sp = LineSplitter()
    assert sp.feed(b"\n\r\n" + EVENTS[:20]) == []
    assert _types(sp.feed(EVENTS[20:-1])) == ["ADDED", "BOOKMARK"]
    assert _types(sp.flush()) == ["DELETED"]
    assert sp.flush() == []


def test_line_splitter_is_bounded() -> None:
    sp = LineSplitter(limit=100)
    sp.feed(b"x" * 100)
    with pytest.raises(TransportError):
        sp.feed(b"x")


def test_line_splitter_large_object() -> None:
    # bigger than aiohttp's 128 KiB readline limit
    big = orjson.dumps({"type": "ADDED", "object": {"data": "y" * 500_000}}) + b"\n"
    sp = LineSplitter()
    out = [line for i in range(0, len(big), 65536) for line in sp.feed(big[i : i + 65536])]
    assert len(out) == 1 and len(out[0]) == len(big) - 1


def status(code: int, reason: str, message: str = "m") -> bytes:
    return orjson.dumps(
        {
            "kind": "Status",
            "apiVersion": "v1",
            "status": "Failure",
            "code": code,
            "reason": reason,
            "message": message,
        }
    )


@pytest.mark.parametrize(
    ("code", "body", "cls"),
    [
        (404, status(404, "NotFound"), NotFoundError),
        # upstream IsAlreadyExists / IsConflict switch on the reason: both are 409
        (409, status(409, "AlreadyExists"), AlreadyExistsError),
        (409, status(409, "Conflict"), ConflictError),
        (410, status(410, "Expired"), GoneError),
        (410, status(410, "Gone"), GoneError),
        (422, status(422, "Invalid"), InvalidError),
        (404, b"<html>not found</html>", NotFoundError),
        (410, b"", GoneError),
        (500, b"oops", ApiError),
    ],
    ids=[
        "404",
        "409-already-exists",
        "409-conflict",
        "410-expired",
        "410-gone",
        "422",
        "404-html",
        "410-empty",
        "500-text",
    ],
)
def test_error_from_body(code: int, body: bytes, cls: type[ApiError]) -> None:
    err = error_from_body(code, body)
    assert type(err) is cls
    assert err.code == code
    assert err.reason


def test_error_helpers() -> None:
    nf = error_from_body(404, status(404, "NotFound", 'pods "x" not found'))
    assert is_not_found(nf) and not is_conflict(nf)
    assert nf.message == 'pods "x" not found'
    assert is_already_exists(error_from_body(409, status(409, "AlreadyExists")))
    assert not is_conflict(error_from_body(409, status(409, "AlreadyExists")))
    assert is_gone(ApiError.from_status({"code": 410, "reason": "Expired"}))
    assert not is_not_found(ValueError())


def test_selectors_and_query_values() -> None:
    assert selector_string(None) is None
    assert selector_string("") is None
    assert selector_string("app=web,tier!=db") == "app=web,tier!=db"
    assert selector_string({"app": "web", "tier": "fe"}) == "app=web,tier=fe"
    assert query_value(True) == "true"
    assert query_value(30) == "30"


def test_delete_options() -> None:
    assert delete_options() is None
    body = delete_options("Foreground", 0, {"uid": "u1"}, dry_run=True)
    assert body == {
        "kind": "DeleteOptions",
        "apiVersion": "v1",
        "propagationPolicy": "Foreground",
        "gracePeriodSeconds": 0,
        "preconditions": {"uid": "u1"},
        "dryRun": ["All"],
    }


@pytest.mark.parametrize(
    ("res", "ns", "name", "sub", "path"),
    [
        (PODS, None, None, None, "/api/v1/pods"),
        (PODS, "default", None, None, "/api/v1/namespaces/default/pods"),
        (PODS, "default", "p1", "status", "/api/v1/namespaces/default/pods/p1/status"),
        (NODES, "ignored", "n1", None, "/api/v1/nodes/n1"),
        (
            DEPLOYMENTS,
            "kube-system",
            "dns",
            "scale",
            "/apis/apps/v1/namespaces/kube-system/deployments/dns/scale",
        ),
    ],
    ids=["all-namespaces", "namespace", "subresource", "cluster-scoped", "named-group"],
)
def test_resource_paths(
    res: Resource, ns: str | None, name: str | None, sub: str | None, path: str
) -> None:
    assert res.path(ns, name, sub) == path


def test_resource_metadata() -> None:
    assert DEPLOYMENTS.api_version == "apps/v1"
    assert PODS.api_version == "v1"
    assert str(DEPLOYMENTS) == "deployments.apps"
    with pytest.raises(ValueError):
        PODS.path("default", None, "status")


def _conn_refused() -> aiohttp.ClientConnectorError:
    key = mock.Mock(ssl=False, host="127.0.0.1", port=1)
    return aiohttp.ClientConnectorError(key, ConnectionRefusedError(111, "refused"))


@pytest.mark.parametrize(
    ("method", "err", "want"),
    [
        ("GET", aiohttp.ServerDisconnectedError(), True),
        ("PUT", TimeoutError(), True),
        ("DELETE", aiohttp.ClientPayloadError("cut"), True),
        ("POST", aiohttp.ServerDisconnectedError(), False),  # may have been applied
        ("PATCH", TimeoutError(), False),
        ("POST", "connect", True),  # never reached the server
        ("POST", aiohttp.ClientOSError(32, "Can not write request body for http://x"), True),
    ],
    ids=[
        "get-disconnect",
        "put-timeout",
        "delete-payload",
        "post-disconnect",
        "patch-timeout",
        "post-connect-refused",
        "post-stale-pooled-conn",
    ],
)
def test_retry_policy(method: str, err: Any, want: bool) -> None:
    if err == "connect":
        err = _conn_refused()
    assert _retryable(method, err) is want
