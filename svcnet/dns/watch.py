"""Feeding the record index from the API: informers in, index updates out.

Theory of operation: `IndexSync` runs one informer for Services and one
for EndpointSlices (all namespaces) through svcnet.client, with the
`views.slim` transform, so the informer caches hold views, never whole
objects. Their handlers apply each event to the `RecordIndex` at once, on
the event loop that also answers queries: the next query after an event
sees it (no batching timer between the watch and the answers).

`synced` turns true when both informers have listed; until then the
handler answers SERVFAIL instead of NXDOMAIN. ``listeners`` are called
after each applied event with ``(kind, event, view)`` (tests measure
programming latency with them). For headless Services the time from the
EndpointSlice's ``endpoints.kubernetes.io/last-change-trigger-time`` to
now feeds CoreDNS's ``coredns_kubernetes_dns_programming_duration_seconds``.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import datetime
from typing import Any

from svcnet.client import ENDPOINTSLICES, SERVICES, Client, InformerFactory
from svcnet.dns.index import RecordIndex
from svcnet.dns.metrics import DNSMetrics
from svcnet.dns.views import (
    EndpointSliceView,
    ServiceView,
    endpointslice_view,
    service_view,
    slim,
    view_of,
)
from svcnet.util.log import get_logger

__all__ = ["IndexSync", "Listener"]

log = get_logger(__name__)

Listener = Callable[[str, str, Any], None]


def _parse_time(text: str) -> float | None:
    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()
    except ValueError:
        return None


class IndexSync:
    """Keep a `RecordIndex` in step with the API (see the module docstring)."""

    def __init__(
        self,
        client: Client,
        index: RecordIndex,
        metrics: DNSMetrics | None = None,
        wall_clock: Callable[[], float] = time.time,
    ) -> None:
        self.index = index
        self.metrics = metrics
        self.wall_clock = wall_clock
        self.listeners: list[Listener] = []
        self.factory = InformerFactory(client)
        self.services = self.factory.informer(SERVICES, transform=slim(service_view))
        self.slices = self.factory.informer(ENDPOINTSLICES, transform=slim(endpointslice_view))
        self.services.add_handler(self._svc_add, self._svc_update, self._svc_delete)
        self.slices.add_handler(self._eps_add, self._eps_update, self._eps_delete)

    @property
    def synced(self) -> bool:
        return self.services.has_synced and self.slices.has_synced

    def start(self) -> None:
        self.factory.start()

    async def wait_synced(self, timeout: float | None = None) -> bool:
        return await self.factory.wait_for_cache_sync(timeout)

    async def stop(self) -> None:
        await self.factory.shutdown()

    # -------------------------------------------------------------- handlers
    def _notify(self, kind: str, event: str, view: Any) -> None:
        for fn in list(self.listeners):
            try:
                fn(kind, event, view)
            except Exception:
                log.exception("dns index listener failed")

    def _svc_add(self, obj: dict[str, Any]) -> None:
        v: ServiceView = view_of(obj)
        self.index.on_service_add(v)
        self._notify("service", "add", v)

    def _svc_update(self, old: dict[str, Any], new: dict[str, Any]) -> None:
        v: ServiceView = view_of(new)
        self.index.on_service_update(view_of(old), v)
        self._notify("service", "update", v)

    def _svc_delete(self, obj: dict[str, Any]) -> None:
        v: ServiceView = view_of(obj)
        self.index.on_service_delete(v)
        self._notify("service", "delete", v)

    def _eps_add(self, obj: dict[str, Any]) -> None:
        v: EndpointSliceView = view_of(obj)
        self.index.on_endpointslice_add(v)
        self._programmed(v)
        self._notify("endpointslice", "add", v)

    def _eps_update(self, old: dict[str, Any], new: dict[str, Any]) -> None:
        v: EndpointSliceView = view_of(new)
        self.index.on_endpointslice_update(view_of(old), v)
        if view_of(old) != v:
            self._programmed(v)
        self._notify("endpointslice", "update", v)

    def _eps_delete(self, obj: dict[str, Any]) -> None:
        v: EndpointSliceView = view_of(obj)
        self.index.on_endpointslice_delete(v)
        self._notify("endpointslice", "delete", v)

    def _programmed(self, sl: EndpointSliceView) -> None:
        if self.metrics is None or not sl.last_change or not self.synced:
            return
        svc = self.index.service(sl.namespace, sl.service)
        if svc is None or not svc.headless:
            return  # ClusterIP answers do not depend on endpoints
        t = _parse_time(sl.last_change)
        if t is None:
            return
        kind = "headless_with_selector" if svc.has_selector else "headless_without_selector"
        self.metrics.programming.labels(kind).observe(max(0.0, self.wall_clock() - t))
