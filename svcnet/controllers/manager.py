"""`svcnet controller-manager`: runs the reconcile loops against any API server.

Connects with a kubeconfig (svcnet's or a real cluster's) or svcnet's unix
socket, starts one shared informer per watched collection, waits for their
caches to sync, then runs every enabled controller's workers. Serves
/healthz (informers synced, loops running) and /metrics; SIGTERM drains.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
from collections.abc import Callable
from pathlib import Path

from aiohttp import web

from svcnet.client import Client, InformerFactory
from svcnet.controllers.base import Context, Controller, ManagerOptions
from svcnet.util.log import get_logger

log = get_logger(__name__)


def controller_classes() -> dict[str, Callable[[Context], Controller]]:
    """Every controller by its upstream name (kube-controller-manager --controllers)."""
    from svcnet.controllers import loops_cluster, loops_endpoints, loops_workloads

    out: dict[str, Callable[[Context], Controller]] = {}
    for mod in (loops_endpoints, loops_workloads, loops_cluster):
        out.update(mod.CONTROLLERS)
    return out


def enabled(names: tuple[str, ...], available: list[str]) -> list[str]:
    """kube-controller-manager's --controllers semantics: '*' = all,
    'foo' enables, '-foo' disables (pure)."""
    want = set()
    for n in names:
        if n == "*":
            want |= set(available)
    for n in names:
        if n.startswith("-"):
            want.discard(n[1:])
        elif n != "*":
            if n not in available:
                raise ValueError(f"unknown controller {n!r}; known: {', '.join(sorted(available))}")
            want.add(n)
    return [n for n in available if n in want]


class ControllerManager:
    def __init__(self, client: Client, options: ManagerOptions) -> None:
        self.client = client
        self.options = options
        self.factory = InformerFactory(client)
        self.ctx = Context(client, self.factory, options)
        classes = controller_classes()
        self.controllers = [
            classes[n](self.ctx) for n in enabled(options.controllers, list(classes))
        ]
        self._tasks: list[asyncio.Task[None]] = []
        self.synced = False

    async def start(self) -> None:
        for c in self.controllers:
            c.setup()
        self.factory.start()
        while not await self.factory.wait_for_cache_sync(timeout=30):
            log.warning("waiting for informer caches to sync")
        self.synced = True
        for c in self.controllers:
            self._tasks.append(asyncio.create_task(c.run(self.options.workers), name=c.name))
        log.info("controllers running", controllers=",".join(c.name for c in self.controllers))

    def healthy(self) -> bool:
        return self.synced and all(not t.done() for t in self._tasks)

    async def stop(self) -> None:
        for c in self.controllers:
            c.stop()
        for t in self._tasks:
            t.cancel()
        for t in self._tasks:
            with contextlib.suppress(BaseException):
                await t
        if self.ctx.events is not None:
            await self.ctx.events.flush()
        await self.factory.shutdown()
        await self.client.close()


async def _serve_http(cm: ControllerManager, addr: str) -> web.AppRunner:
    async def healthz(_: web.Request) -> web.Response:
        return web.Response(
            text="ok" if cm.healthy() else "not ready", status=200 if cm.healthy() else 503
        )

    async def metrics(_: web.Request) -> web.Response:
        return web.Response(body=cm.ctx.metrics.render(), content_type="text/plain")

    app = web.Application()
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/readyz", healthz)
    app.router.add_get("/metrics", metrics)
    runner = web.AppRunner(app, access_log=None, handle_signals=False)
    await runner.setup()
    host, _, port = addr.rpartition(":")
    await web.TCPSite(runner, host or "127.0.0.1", int(port)).start()
    return runner


async def serve(
    kubeconfig: Path | None, socket: Path | None, options: ManagerOptions, metrics_addr: str
) -> None:
    """Run until SIGTERM/SIGINT."""
    if socket is not None:
        client = Client.from_unix_socket(socket)
    else:
        client = Client.from_kubeconfig(kubeconfig)
    cm = ControllerManager(client, options)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    runner = await _serve_http(cm, metrics_addr)
    starter = asyncio.create_task(cm.start())
    await stop.wait()
    log.info("shutting down")
    starter.cancel()
    with contextlib.suppress(BaseException):
        await starter
    await cm.stop()
    await runner.cleanup()
