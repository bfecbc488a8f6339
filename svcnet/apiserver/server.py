"""svcnet apiserver: the aiohttp application and its listeners.

Theory of operation: one aiohttp app serves two sites: HTTPS on a TCP
address for people (bearer-token authentication, kubeconfig written into
the data dir) and a unix socket (mode 0600) for trusted local agents. A
middleware chain maps every failure to an upstream Status, authenticates
TCP requests and records Prometheus metrics. Resource URLs go to
`RestHandler`; discovery, OpenAPI, health and version are answered here.
On start the built-in namespaces are created; SIGTERM stops accepting,
closes watches and flushes the store.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson
from aiohttp import web

from svcnet.api import errors
from svcnet.api.builtin import builtin_registry
from svcnet.api.errors import APIError
from svcnet.api.registry import Registry
from svcnet.api.service import ServiceConfig
from svcnet.apiserver import discovery
from svcnet.apiserver.auth import check_bearer
from svcnet.apiserver.certs import ensure_pki, write_kubeconfig
from svcnet.apiserver.nsfinalizer import NamespaceFinalizer
from svcnet.apiserver.openapi import OpenAPIv3
from svcnet.apiserver.podsubresources import make_binding_handler
from svcnet.apiserver.resources import Admission, Resources, WriteOptions
from svcnet.apiserver.rest import RestHandler, status_response
from svcnet.apiserver.serviceallocation import ServiceAllocation
from svcnet.store import Key, NotFound, Store, open_store
from svcnet.util.log import get_logger
from svcnet.util.metrics import Counter, Gauge, Histogram
from svcnet.util.metrics import Registry as MetricsRegistry

log = get_logger(__name__)

KUBE_VERSION = {
    "major": "1",
    "minor": "31",
    "gitVersion": "v1.31.9",
    "gitCommit": "svcnet",
    "gitTreeState": "clean",
    "buildDate": "2026-01-01T00:00:00Z",
    "goVersion": "go1.22.12",
    "compiler": "gc",
    "platform": "linux/amd64",
}
SYSTEM_NAMESPACES = ("default", "kube-system", "kube-public", "kube-node-lease")
PUBLIC_PATHS = ("/healthz", "/livez", "/readyz", "/version")


@dataclass
class Options:
    data_dir: Path
    listen: str = "127.0.0.1:6443"
    store: str = "sqlite"
    tls: bool = True
    service_cluster_ip_range: str = "10.96.0.0/16"
    service_node_port_range: str = "30000-32767"
    unix_socket: bool = True
    repair_interval: float = 60.0
    watch_history: int = 50_000
    extra_admission: list[Admission] = field(default_factory=list)


class Metrics:
    def __init__(self, store: Store, registry: Registry, rest: RestHandler) -> None:
        self.registry = MetricsRegistry()
        r = self.registry
        self.requests = Counter(
            "apiserver_request_total",
            "Counter of apiserver requests broken out by verb, resource and HTTP code.",
            ["verb", "resource", "subresource", "code"],
            registry=r,
        )
        self.duration = Histogram(
            "apiserver_request_duration_seconds",
            "Response latency distribution in seconds for each verb and resource.",
            ["verb", "resource", "subresource"],
            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60),
            registry=r,
        )
        Gauge(
            "apiserver_registered_watchers",
            "Number of currently open watch streams.",
            registry=r,
        ).set_function(lambda: rest.watchers)
        objects = Gauge(
            "apiserver_storage_objects",
            "Number of stored objects per resource.",
            ["resource"],
            registry=r,
        )
        for spec in registry.all():
            res = spec.resource
            objects.labels(resource=spec.group_resource).set_function(
                lambda res=res: store.count(res)
            )
        Gauge(
            "apiserver_storage_revision",
            "The latest resourceVersion handed out by the store.",
            registry=r,
        ).set_function(lambda: store.revision)


Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


class APIServer:
    """The assembled server (also used in-process by tests and benchmarks)."""

    def __init__(self, opts: Options, store: Store | None = None) -> None:
        self.opts = opts
        self.data_dir = opts.data_dir
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.store = store or open_store(opts.store, self.data_dir, history=opts.watch_history)
        self.allocation = ServiceAllocation(
            self.store, opts.service_cluster_ip_range, opts.service_node_port_range
        )
        lo, _, hi = opts.service_node_port_range.partition("-")
        service_config = ServiceConfig(
            cidrs=tuple(c.strip() for c in opts.service_cluster_ip_range.split(",") if c.strip()),
            node_port_range=(int(lo), int(hi or lo)),
        )
        self.registry = builtin_registry(service_config, self.allocation.is_cluster_ip)
        self.resources = Resources(
            self.store, self.registry, [self.allocation, *opts.extra_admission]
        )
        self.rest = RestHandler(self.resources)
        self.rest.extra[("pods", "binding")] = make_binding_handler(self.resources, self.rest)
        self.openapi = OpenAPIv3(self.registry, KUBE_VERSION["gitVersion"])
        self.metrics = Metrics(self.store, self.registry, self.rest)
        self.token = ""
        self.url = ""
        self.port = 0
        self.runner: web.AppRunner | None = None
        self.ns_finalizer = NamespaceFinalizer(self.resources)
        self._tasks: list[asyncio.Task[Any]] = []
        self.app = self._build_app()

    # ---------------------------------------------------------------- app
    def _build_app(self) -> web.Application:
        app = web.Application(
            middlewares=[self._errors_mw, self._auth_mw, self._metrics_mw],
            client_max_size=4 * 1024 * 1024,
        )
        app.router.add_get("/healthz", self._health)
        app.router.add_get("/livez", self._health)
        app.router.add_get("/readyz", self._health)
        app.router.add_get("/version", self._version)
        app.router.add_get("/metrics", self._metrics)
        app.router.add_get("/api", self._api)
        app.router.add_get("/apis", self._apis)
        app.router.add_get("/openapi/v3", self._openapi_index)
        app.router.add_get("/openapi/v3/{path:.*}", self._openapi_doc)
        app.router.add_get("/openapi/v2", self._openapi_v2)
        app.router.add_route("*", "/api/{tail:.*}", self._api_tail)
        app.router.add_route("*", "/apis/{tail:.*}", self._apis_tail)
        app.router.add_route("*", "/{tail:.*}", self._unknown)
        return app

    @web.middleware
    async def _errors_mw(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        try:
            return await handler(request)
        except APIError as e:
            return status_response(e)
        except web.HTTPRequestEntityTooLarge:
            return status_response(errors.too_large(3 * 1024 * 1024))
        except web.HTTPException as e:
            if e.status >= 400:
                return status_response(
                    APIError(e.status, e.reason.replace(" ", ""), e.text or e.reason)
                )
            raise
        except (ConnectionResetError, asyncio.CancelledError):
            raise
        except RecursionError:
            return status_response(errors.bad_request("the object is nested too deeply"))
        except Exception as e:  # a bug: keep serving, tell the client, log the trace
            log.exception("internal error", path=request.path, method=request.method)
            return status_response(errors.internal(f"{type(e).__name__}: {e}"))

    @web.middleware
    async def _auth_mw(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        # Unix-socket peers (sockname is a path) are trusted local agents;
        # every TCP request needs the bearer token but the public paths.
        sock = request.transport.get_extra_info("sockname") if request.transport else None
        trusted = isinstance(sock, str | bytes)
        if (
            not trusted
            and request.path not in PUBLIC_PATHS
            and not check_bearer(request.headers.get("Authorization"), self.token)
        ):
            raise errors.unauthorized()
        return await handler(request)

    @web.middleware
    async def _metrics_mw(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        start = time.perf_counter()
        code = 500
        try:
            resp = await handler(request)
            code = resp.status
            return resp
        except APIError as e:
            code = e.code
            raise
        finally:
            target = request.get("target")
            resource = target.spec.plural if target is not None else ""
            sub = target.subresource if target is not None else ""
            verb = request.get("verb", request.method)
            self.metrics.requests.labels(
                verb=verb, resource=resource, subresource=sub, code=str(code)
            ).inc()
            if verb != "WATCH":
                self.metrics.duration.labels(verb=verb, resource=resource, subresource=sub).observe(
                    time.perf_counter() - start
                )

    # ----------------------------------------------------------- handlers
    async def _health(self, request: web.Request) -> web.Response:
        name = request.path.strip("/")
        if "verbose" in request.query:
            text = f"[+]ping ok\n[+]etcd ok\n{name} check passed\n"
            return web.Response(text=text)
        return web.Response(text="ok")

    async def _version(self, request: web.Request) -> web.Response:
        return web.json_response(KUBE_VERSION)

    async def _metrics(self, request: web.Request) -> web.Response:
        return web.Response(
            body=self.metrics.registry.render(), content_type="text/plain", charset="utf-8"
        )

    def _server_address(self) -> str:
        return f"127.0.0.1:{self.port}"

    async def _api(self, request: web.Request) -> web.Response:
        agg = discovery.negotiate_aggregated(request.headers.get("Accept", ""))
        if agg:
            doc = discovery.aggregated(self.registry, legacy=True, api_version=_agg_version(agg))
            return _typed_json(doc, agg)
        return web.json_response(discovery.api_versions(self._server_address()))

    async def _apis(self, request: web.Request) -> web.Response:
        agg = discovery.negotiate_aggregated(request.headers.get("Accept", ""))
        if agg:
            doc = discovery.aggregated(self.registry, legacy=False, api_version=_agg_version(agg))
            return _typed_json(doc, agg)
        return web.json_response(discovery.api_group_list(self.registry))

    async def _api_tail(self, request: web.Request) -> web.StreamResponse:
        parts = [p for p in request.path.split("/") if p]
        if len(parts) == 2 and request.method == "GET":
            doc = discovery.resource_list(self.registry, "", parts[1])
            if doc is None:
                raise _not_found()
            return web.json_response(doc)
        return await self.rest.handle(request)

    async def _apis_tail(self, request: web.Request) -> web.StreamResponse:
        parts = [p for p in request.path.split("/") if p]
        if len(parts) == 2 and request.method == "GET":
            versions = self.registry.groups().get(parts[1])
            if not versions or not parts[1]:
                raise _not_found()
            return web.json_response(discovery.api_group(parts[1], versions))
        if len(parts) == 3 and request.method == "GET":
            doc = discovery.resource_list(self.registry, parts[1], parts[2])
            if doc is None:
                raise _not_found()
            return web.json_response(doc)
        return await self.rest.handle(request)

    async def _openapi_index(self, request: web.Request) -> web.Response:
        return web.json_response(self.openapi.index())

    async def _openapi_doc(self, request: web.Request) -> web.Response:
        found = self.openapi.document(request.match_info["path"])
        if found is None:
            raise _not_found()
        raw, digest = found
        headers = {"Etag": f'"{digest}"'}
        if "hash" in request.query:
            headers["Cache-Control"] = "public, immutable"
        return web.Response(body=raw, content_type="application/json", headers=headers)

    async def _openapi_v2(self, request: web.Request) -> web.Response:
        # kubectl asks for the protobuf v2 document only when v3 is missing.
        raise APIError(
            406,
            "NotAcceptable",
            "svcnet serves OpenAPI v3 only (/openapi/v3)",
        )

    async def _unknown(self, request: web.Request) -> web.Response:
        raise _not_found()

    # ---------------------------------------------------------- lifecycle
    async def bootstrap(self) -> None:
        """Create the built-in namespaces and Service default/kubernetes
        (idempotent), after loading and repairing the allocation maps."""
        await self.allocation.load()
        await self.allocation.repair_once()
        spec = self.registry.by_resource("", "v1", "namespaces")
        assert spec is not None
        for ns in SYSTEM_NAMESPACES:
            try:
                await self.store.get(Key("namespaces", "", ns))
            except NotFound:
                body = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}}
                await self.resources.create(spec, "", body, WriteOptions())
        await self._ensure_kubernetes_service()

    async def _ensure_kubernetes_service(self) -> None:
        """Upstream's master Service: the first IP of the primary range."""
        spec = self.registry.by_resource("", "v1", "services")
        assert spec is not None
        try:
            await self.store.get(Key("services", "default", "kubernetes"))
            return
        except NotFound:
            pass
        port = int(self.opts.listen.rpartition(":")[2] or 6443) or 6443
        body = {
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": {
                "name": "kubernetes",
                "namespace": "default",
                "labels": {"component": "apiserver", "provider": "kubernetes"},
            },
            "spec": {
                "clusterIP": self.allocation.ips.first_ip,
                "ports": [{"name": "https", "port": 443, "protocol": "TCP", "targetPort": port}],
                "sessionAffinity": "None",
                "type": "ClusterIP",
            },
        }
        await self.resources.create(spec, "default", body, WriteOptions())

    async def start(self) -> None:
        await self.bootstrap()
        self.runner = web.AppRunner(self.app, access_log=None, handle_signals=False)
        await self.runner.setup()
        host, _, port = self.opts.listen.rpartition(":")
        host = host.strip("[]") or "127.0.0.1"
        ssl_ctx = None
        pki = ensure_pki(self.data_dir, [host])
        self.token = pki.token
        if self.opts.tls:
            ssl_ctx = pki.ssl_context()
        site = web.TCPSite(self.runner, host, int(port), ssl_context=ssl_ctx, backlog=1024)
        await site.start()
        server = site._server
        assert server is not None
        self.port = server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        scheme = "https" if self.opts.tls else "http"
        shown = f"[{host}]" if ":" in host else host
        self.url = f"{scheme}://{shown}:{self.port}"
        if self.opts.unix_socket:
            sock_path = self.data_dir / "api.sock"
            with contextlib.suppress(FileNotFoundError):
                sock_path.unlink()
            old_umask = os.umask(0o177)
            try:
                usite = web.UnixSite(self.runner, str(sock_path), backlog=1024)
                await usite.start()
            finally:
                os.umask(old_umask)
            os.chmod(sock_path, 0o600)
        write_kubeconfig(self.data_dir / "kubeconfig", self.url, pki.ca_pem, self.token)
        self._tasks.append(asyncio.create_task(self.ns_finalizer.run()))
        self._tasks.append(asyncio.create_task(self._repair_loop()))
        log.info("listening", url=self.url, data_dir=str(self.data_dir), store=self.opts.store)

    async def _repair_loop(self) -> None:
        await asyncio.sleep(self.opts.repair_interval)
        await self.allocation.run_repair(self.opts.repair_interval)

    async def stop(self) -> None:
        for t in self._tasks:
            t.cancel()
        for t in self._tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await t
        if self.runner is not None:
            await self.runner.shutdown()
            await self.store.close()
            await self.runner.cleanup()
        else:
            await self.store.close()
        log.info("stopped")


def _agg_version(media: str) -> str:
    return "apidiscovery.k8s.io/v2beta1" if "v2beta1" in media else "apidiscovery.k8s.io/v2"


def _typed_json(doc: Any, media: str) -> web.Response:
    resp = web.Response(body=orjson.dumps(doc))
    resp.headers["Content-Type"] = media
    return resp


def _not_found() -> APIError:
    return APIError(404, "NotFound", "the server could not find the requested resource")


async def serve(opts: Options) -> None:
    """Run until SIGTERM or SIGINT."""
    server = APIServer(opts)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await server.start()
    await stop.wait()
    log.info("shutting down")
    await server.stop()
