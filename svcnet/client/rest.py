"""Async REST client for Kubernetes-compatible API servers (svcnet's or a real one).

Theory of operation: a `Client` owns one aiohttp session (a connection pool
over TCP+TLS or over a unix socket) created lazily on first use inside the
running loop. Typed verbs (`get`, `list`, `create`, `update`, `patch`,
`delete`, `watch`) build a URL from a `Resource` descriptor and go through
`request()`, which adds credentials, encodes JSON, decodes the answer and
maps failures: a non-2xx answer becomes a typed `ApiError` from its Status
body, and connection-level failures become `TransportError`.

Retries: a request that cannot have reached the server (the connection
did not open, or writing to a stale pooled connection failed) is retried
for every verb; one that failed after it was sent is retried only for
idempotent verbs (GET, HEAD, PUT, DELETE); TLS trust failures never;
429/5xx answers carrying Retry-After are retried for every verb, as
client-go does, because the server says it did not act. Backoff is
exponential with jitter, capped, for at most ``max_retries`` retries.

Watches are async iterators of ``(type, object)``; an ERROR event is raised
as the matching `ApiError` (410 -> `GoneError`) so callers handle one error
path. Lines are split by the client (objects may exceed aiohttp's line
limit); a line above `MAX_EVENT_BYTES` is an error, never an unbounded
buffer.
"""

from __future__ import annotations

import asyncio
import base64
import random
import time
from collections.abc import AsyncIterator, Mapping
from pathlib import Path
from types import TracebackType
from typing import Any

import aiohttp
import orjson

from svcnet.client.config import (
    ConnectionConfig,
    in_cluster_config,
    load_kubeconfig,
    ssl_context,
)
from svcnet.client.errors import ApiError, TransportError, map_transport_errors
from svcnet.client.resources import Resource
from svcnet.client.wire import (
    LineSplitter,
    delete_options,
    error_from_body,
    query_value,
    selector_string,
)

__all__ = ["Client", "selector_string"]

IDEMPOTENT = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE"})
PATCH_CONTENT_TYPES = {
    "merge": "application/merge-patch+json",
    "strategic": "application/strategic-merge-patch+json",
    "json": "application/json-patch+json",
    "apply": "application/apply-patch+yaml",
}
TOKEN_FILE_REFRESH = 60.0  # client-go re-reads projected tokens every minute


class Client:
    """An async Kubernetes REST client; use as ``async with Client...`` or call `close()`.

    Args:
        server: base URL (``https://host:port``); ignored path for unix sockets.
        ssl: an SSLContext, or False to disable verification, or None for defaults.
        token / token_file: bearer credentials (the file is re-read every minute).
        basic_auth: (username, password).
        unix_socket: connect to this unix socket instead of TCP.
        namespace: default namespace for namespaced calls that name none.
        timeout: total seconds for a non-watch request.
        max_retries: retries after the first attempt (see module docstring).
    """

    def __init__(
        self,
        server: str = "http://localhost",
        *,
        ssl: Any = None,
        token: str | None = None,
        token_file: str | None = None,
        basic_auth: tuple[str, str] | None = None,
        unix_socket: str | None = None,
        tls_server_name: str | None = None,
        namespace: str = "default",
        timeout: float = 60.0,
        connect_timeout: float = 10.0,
        max_retries: int = 3,
        retry_base: float = 0.2,
        retry_cap: float = 5.0,
        pool_size: int = 100,
        user_agent: str = "svcnet-client/0.1",
    ) -> None:
        self.server = server.rstrip("/")
        self.namespace = namespace
        self.max_retries = max_retries
        self.retry_base = retry_base
        self.retry_cap = retry_cap
        self.timeout = timeout
        self.connect_timeout = connect_timeout
        self._ssl = ssl
        self._token = token
        self._token_file = token_file
        self._token_read_at = -1e18
        self._basic = basic_auth
        self._unix_socket = unix_socket
        self._server_hostname = tls_server_name
        self._pool_size = pool_size
        self._headers = {"User-Agent": user_agent, "Accept": "application/json"}
        self._session: aiohttp.ClientSession | None = None

    # ------------------------------------------------------------ constructors
    @classmethod
    def from_config(cls, cfg: ConnectionConfig, **kw: Any) -> Client:
        """A client for a flattened `ConnectionConfig`."""
        if cfg.unix_socket:
            return cls(unix_socket=cfg.unix_socket, namespace=cfg.namespace, **kw)
        tls = ssl_context(cfg) if cfg.server.startswith("https") else None
        basic = (cfg.username, cfg.password or "") if cfg.username else None
        return cls(
            cfg.server,
            ssl=tls,
            token=cfg.token,
            token_file=cfg.token_file,
            basic_auth=basic,
            tls_server_name=cfg.tls_server_name,
            namespace=cfg.namespace,
            **kw,
        )

    @classmethod
    def from_kubeconfig(
        cls, path: str | Path | None = None, context: str | None = None, **kw: Any
    ) -> Client:
        """A client for a kubeconfig (default: ``$KUBECONFIG`` or ``~/.kube/config``)."""
        return cls.from_config(load_kubeconfig(path, context), **kw)

    @classmethod
    def from_unix_socket(cls, path: str | Path, **kw: Any) -> Client:
        """A client for svcnet's trusted unix socket (no credentials)."""
        return cls(unix_socket=str(path), **kw)

    @classmethod
    def in_cluster(cls, **kw: Any) -> Client:
        """A client for the API server seen from inside a pod."""
        return cls.from_config(in_cluster_config(), **kw)

    # -------------------------------------------------------------- lifecycle
    def _get_session(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            conn: aiohttp.BaseConnector
            if self._unix_socket:
                conn = aiohttp.UnixConnector(path=self._unix_socket, limit=self._pool_size)
            else:
                ssl_arg = True if self._ssl is None else self._ssl
                conn = aiohttp.TCPConnector(limit=self._pool_size, ssl=ssl_arg)
            self._session = aiohttp.ClientSession(
                connector=conn, headers=self._headers, auto_decompress=True
            )
        return self._session

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def __aenter__(self) -> Client:
        return self

    async def __aexit__(
        self, et: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.close()

    # --------------------------------------------------------------- plumbing
    def _auth_headers(self) -> dict[str, str]:
        if self._token_file and time.monotonic() - self._token_read_at > TOKEN_FILE_REFRESH:
            try:
                self._token = Path(self._token_file).read_text().strip()
                self._token_read_at = time.monotonic()
            except OSError:
                pass  # keep the last token; the server will say 401 if it expired
        if self._token:
            return {"Authorization": f"Bearer {self._token}"}
        if self._basic:
            raw = f"{self._basic[0]}:{self._basic[1]}".encode()
            return {"Authorization": "Basic " + base64.b64encode(raw).decode()}
        return {}

    def _url(self, path: str) -> str:
        base = "http://localhost" if self._unix_socket else self.server
        return base + path

    def _ns(self, res: Resource, namespace: str | None, body: Any = None) -> str | None:
        if not res.namespaced:
            return None
        if namespace:
            return namespace
        meta = body.get("metadata") if isinstance(body, dict) else None
        return (meta or {}).get("namespace") or self.namespace

    def _delay(self, attempt: int) -> float:
        d = min(self.retry_cap, self.retry_base * (2**attempt))
        return d * (0.5 + random.random() / 2)

    async def _send(
        self,
        method: str,
        path: str,
        params: Mapping[str, Any] | None,
        data: bytes | None,
        headers: dict[str, str],
        timeout: aiohttp.ClientTimeout,
    ) -> aiohttp.ClientResponse:
        """Send with retries; return a 2xx response (caller reads and releases it)."""
        session = self._get_session()
        q = {k: query_value(v) for k, v in (params or {}).items() if v is not None}
        attempt = 0
        while True:
            hdrs = {**self._auth_headers(), **headers}
            try:
                resp = await session.request(
                    method,
                    self._url(path),
                    params=q,
                    data=data,
                    headers=hdrs,
                    timeout=timeout,
                    server_hostname=self._server_hostname,
                )
            except (TimeoutError, aiohttp.ClientError, OSError) as e:
                if attempt < self.max_retries and _retryable(method, e):
                    await asyncio.sleep(self._delay(attempt))
                    attempt += 1
                    continue
                raise TransportError(f"{method} {path}: {type(e).__name__}: {e}") from e
            if resp.status < 300:
                return resp
            retry_after = resp.headers.get("Retry-After")
            if (
                retry_after is not None
                and (resp.status == 429 or resp.status >= 500)
                and attempt < self.max_retries
            ):
                resp.release()
                try:
                    wait = min(float(retry_after), 10.0)
                except ValueError:
                    wait = self._delay(attempt)
                await asyncio.sleep(max(0.0, wait))
                attempt += 1
                continue
            raise await _api_error(resp)

    async def request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        body: Any = None,
        content_type: str = "application/json",
        timeout: float | None = None,
    ) -> Any:
        """Send one request and return the decoded JSON answer (None if empty).

        ``body`` may be bytes (sent as is) or anything JSON-serialisable.

        Raises:
            ApiError: the server answered with a failure Status.
            TransportError: the request did not complete.
        """
        data: bytes | None = None
        headers: dict[str, str] = {}
        if body is not None:
            data = body if isinstance(body, bytes) else orjson.dumps(body)
            headers["Content-Type"] = content_type
        total = timeout if timeout is not None else self.timeout
        to = aiohttp.ClientTimeout(total=total, connect=self.connect_timeout)
        resp = await self._send(method.upper(), path, params, data, headers, to)
        try:
            with map_transport_errors(f"{method} {path}"):
                raw = await resp.read()
        finally:
            resp.release()
        if not raw:
            return None
        try:
            return orjson.loads(raw)
        except orjson.JSONDecodeError:
            return raw.decode("utf-8", "replace")

    # ------------------------------------------------------------------ verbs
    async def get(
        self,
        resource: Resource,
        name: str,
        namespace: str | None = None,
        subresource: str | None = None,
    ) -> dict[str, Any]:
        """One object (raises NotFoundError)."""
        path = resource.path(self._ns(resource, namespace), name, subresource)
        return await self.request("GET", path)

    async def list(
        self,
        resource: Resource,
        namespace: str | None = None,
        label_selector: str | Mapping[str, str] | None = None,
        field_selector: str | Mapping[str, str] | None = None,
        limit: int | None = None,
        continue_: str | None = None,
        resource_version: str | None = None,
    ) -> dict[str, Any]:
        """One page of a collection (all namespaces when ``namespace`` is None)."""
        params = {
            "labelSelector": selector_string(label_selector),
            "fieldSelector": selector_string(field_selector),
            "limit": limit,
            "continue": continue_,
            "resourceVersion": resource_version,
        }
        ns = namespace if resource.namespaced else None
        return await self.request("GET", resource.path(ns), params=params)

    async def list_all(
        self,
        resource: Resource,
        namespace: str | None = None,
        label_selector: str | Mapping[str, str] | None = None,
        field_selector: str | Mapping[str, str] | None = None,
        page_size: int | None = 500,
    ) -> tuple[list[dict[str, Any]], str]:
        """Every item, following continue tokens; returns (items, list resourceVersion).

        The resourceVersion is the first page's: the snapshot the pages belong
        to, from which a watch sees every later change.
        """
        items: list[dict[str, Any]] = []
        cont: str | None = None
        rv = ""
        while True:
            page = await self.list(
                resource, namespace, label_selector, field_selector, page_size, cont
            )
            items.extend(page.get("items") or [])
            meta = page.get("metadata") or {}
            rv = rv or str(meta.get("resourceVersion") or "")
            cont = meta.get("continue") or None
            if not cont:
                return items, rv

    async def create(
        self,
        resource: Resource,
        body: dict[str, Any],
        namespace: str | None = None,
        dry_run: bool = False,
        field_manager: str | None = None,
    ) -> dict[str, Any]:
        """POST a new object (raises AlreadyExistsError, InvalidError)."""
        path = resource.path(self._ns(resource, namespace, body))
        params = {"dryRun": "All" if dry_run else None, "fieldManager": field_manager}
        return await self.request("POST", path, params=params, body=body)

    async def update(
        self,
        resource: Resource,
        body: dict[str, Any],
        namespace: str | None = None,
        subresource: str | None = None,
        dry_run: bool = False,
    ) -> dict[str, Any]:
        """PUT an object (its metadata.resourceVersion makes it a compare-and-swap:
        ConflictError when stale)."""
        name = (body.get("metadata") or {}).get("name")
        if not name:
            raise ValueError("update needs metadata.name in the body")
        path = resource.path(self._ns(resource, namespace, body), name, subresource)
        params = {"dryRun": "All" if dry_run else None}
        return await self.request("PUT", path, params=params, body=body)

    async def update_status(
        self, resource: Resource, body: dict[str, Any], namespace: str | None = None
    ) -> dict[str, Any]:
        """PUT the status subresource."""
        return await self.update(resource, body, namespace, subresource="status")

    async def patch(
        self,
        resource: Resource,
        name: str,
        patch: Any,
        namespace: str | None = None,
        patch_type: str = "merge",
        subresource: str | None = None,
        field_manager: str | None = None,
        force: bool | None = None,
        dry_run: bool = False,
    ) -> dict[str, Any]:
        """PATCH an object; ``patch_type`` is merge, strategic, json or apply."""
        try:
            ctype = PATCH_CONTENT_TYPES[patch_type]
        except KeyError:
            raise ValueError(f"unknown patch type {patch_type!r}") from None
        path = resource.path(self._ns(resource, namespace), name, subresource)
        params = {
            "fieldManager": field_manager,
            "force": force,
            "dryRun": "All" if dry_run else None,
        }
        return await self.request("PATCH", path, params=params, body=patch, content_type=ctype)

    async def delete(
        self,
        resource: Resource,
        name: str,
        namespace: str | None = None,
        propagation_policy: str | None = None,
        grace_period_seconds: int | None = None,
        preconditions: Mapping[str, str] | None = None,
        dry_run: bool = False,
    ) -> dict[str, Any]:
        """DELETE an object; returns the Status or the object (when deletion is
        deferred by finalizers or grace periods)."""
        path = resource.path(self._ns(resource, namespace), name)
        return await self.request(
            "DELETE",
            path,
            body=delete_options(propagation_policy, grace_period_seconds, preconditions, dry_run),
        )

    async def delete_collection(
        self,
        resource: Resource,
        namespace: str | None = None,
        label_selector: str | Mapping[str, str] | None = None,
        field_selector: str | Mapping[str, str] | None = None,
        propagation_policy: str | None = None,
    ) -> dict[str, Any]:
        """DELETE every matching object of a collection."""
        params = {
            "labelSelector": selector_string(label_selector),
            "fieldSelector": selector_string(field_selector),
        }
        ns = self._ns(resource, namespace)
        body = delete_options(propagation_policy, None, None, False)
        return await self.request("DELETE", resource.path(ns), params=params, body=body)

    async def watch(
        self,
        resource: Resource,
        namespace: str | None = None,
        resource_version: str | None = None,
        label_selector: str | Mapping[str, str] | None = None,
        field_selector: str | Mapping[str, str] | None = None,
        timeout_seconds: int | None = None,
        allow_bookmarks: bool = True,
        send_initial_events: bool | None = None,
    ) -> AsyncIterator[tuple[str, dict[str, Any]]]:
        """Stream ``(type, object)`` events (ADDED, MODIFIED, DELETED, BOOKMARK).

        Without ``resource_version`` the server first sends the current
        objects as ADDED. Ends when the server closes the stream (e.g. after
        ``timeout_seconds``). Close it early with ``contextlib.aclosing``.

        Raises:
            ApiError: an error answer or an ERROR event (410 -> GoneError).
            TransportError: the connection failed or broke mid-stream.
        """
        params = {
            "watch": "true",
            "resourceVersion": resource_version,
            "labelSelector": selector_string(label_selector),
            "fieldSelector": selector_string(field_selector),
            "timeoutSeconds": timeout_seconds,
            "allowWatchBookmarks": "true" if allow_bookmarks else None,
            "sendInitialEvents": send_initial_events,
        }
        ns = namespace if resource.namespaced else None
        path = resource.path(ns)
        total = timeout_seconds + 30.0 if timeout_seconds else None
        to = aiohttp.ClientTimeout(total=total, connect=self.connect_timeout)
        resp = await self._send("GET", path, params, None, {}, to)
        try:
            with map_transport_errors(f"watch {path}"):
                async for line in _lines(resp.content):
                    ev = orjson.loads(line)
                    etype, obj = ev.get("type", ""), ev.get("object") or {}
                    if etype == "ERROR":
                        raise ApiError.from_status(obj)
                    yield etype, obj
        finally:
            resp.close()


def _retryable(method: str, e: BaseException) -> bool:
    """May a request that failed with ``e`` be sent again?"""
    if isinstance(e, aiohttp.ClientSSLError):
        return False  # TLS trust failures do not heal by retrying
    if method in IDEMPOTENT:
        return True
    # Any verb, when the request cannot have reached the server: the
    # connection never opened, or writing the request failed (a pooled
    # keep-alive connection the server had already closed).
    return isinstance(e, aiohttp.ClientConnectorError) or (
        isinstance(e, aiohttp.ClientOSError) and "write request body" in str(e)
    )


async def _api_error(resp: aiohttp.ClientResponse) -> ApiError:
    """The typed error for a failure answer (reads and releases the response)."""
    try:
        raw = await resp.read()
    except (TimeoutError, aiohttp.ClientError):
        raw = b""
    finally:
        resp.release()
    return error_from_body(resp.status, raw)


async def _lines(content: aiohttp.StreamReader) -> AsyncIterator[bytes]:
    """Newline-delimited records of a stream (see `LineSplitter`)."""
    splitter = LineSplitter()
    async for chunk in content.iter_any():
        for line in splitter.feed(chunk):
            yield line
    for line in splitter.flush():
        yield line
