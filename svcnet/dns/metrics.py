"""Prometheus metrics of the DNS server, named as CoreDNS names them.

Theory of operation: one `DNSMetrics` per server owns a private
`Registry` (so tests can run many servers in one process) with CoreDNS's
families -- ``coredns_dns_requests_total``, ``coredns_dns_responses_total``,
``coredns_dns_request_duration_seconds``, ``coredns_cache_*``,
``coredns_forward_*``, ``coredns_kubernetes_dns_programming_duration_seconds``
-- plus a few ``svcnet_dns_*`` gauges about the index. The hot path calls
`observe()` once per reply; label children are looked up in plain dicts
keyed by label tuples, so a request costs two counter increments and one
histogram observation.
"""

from __future__ import annotations

from collections.abc import Callable

from svcnet.util.metrics import CONTENT_TYPE, Registry

__all__ = ["CONTENT_TYPE", "RCODE_NAMES", "DNSMetrics"]

# CoreDNS: prometheus.ExponentialBuckets(0.00025, 2, 16)
DURATION_BUCKETS = tuple(0.00025 * 2**i for i in range(16))
PROGRAMMING_BUCKETS = (0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60)

RCODE_NAMES = {
    0: "NOERROR",
    1: "FORMERR",
    2: "SERVFAIL",
    3: "NXDOMAIN",
    4: "NOTIMP",
    5: "REFUSED",
    16: "BADVERS",
}


class DNSMetrics:
    """The server's metric families (see the module docstring)."""

    def __init__(self, server: str, registry: Registry | None = None) -> None:
        self.server = server
        self.registry = r = registry or Registry()
        self.requests = r.counter(
            "coredns_dns_requests_total",
            "Counter of DNS requests made per zone, protocol and family.",
            ("server", "zone", "proto", "family", "type"),
        )
        self.responses = r.counter(
            "coredns_dns_responses_total",
            "Counter of response status codes.",
            ("server", "zone", "rcode", "plugin"),
        )
        self.duration = r.histogram(
            "coredns_dns_request_duration_seconds",
            "Histogram of the time (in seconds) each request took.",
            ("server", "zone", "type"),
            buckets=DURATION_BUCKETS,
        )
        self.malformed = r.counter(
            "svcnet_dns_malformed_requests_total",
            "Requests that could not be parsed, by what was done (formerr, dropped).",
            ("server", "action"),
        )
        self.cache_hits = r.counter(
            "coredns_cache_hits_total",
            "The count of cache hits (forwarded names).",
            ("server", "type"),
        )
        self.cache_misses = r.counter(
            "coredns_cache_misses_total", "The count of cache misses.", ("server",)
        )
        self.cache_entries = r.gauge(
            "coredns_cache_entries", "The number of elements in the cache.", ("server", "type")
        )
        self.forward_requests = r.counter(
            "coredns_forward_requests_total", "Counter of requests made per upstream.", ("to",)
        )
        self.forward_responses = r.counter(
            "coredns_forward_responses_total",
            "Counter of responses received per upstream (rcode TIMEOUT: no reply).",
            ("to", "rcode"),
        )
        self.forward_duration = r.histogram(
            "coredns_forward_request_duration_seconds",
            "Histogram of the time each upstream request took.",
            ("to", "rcode"),
            buckets=DURATION_BUCKETS,
        )
        self.programming = r.histogram(
            "coredns_kubernetes_dns_programming_duration_seconds",
            "Histogram of the time (in seconds) it took to program a dns instance "
            "(from the EndpointSlice's last-change-trigger-time).",
            ("service_kind",),
            buckets=PROGRAMMING_BUCKETS,
        )
        self.services = r.gauge("svcnet_dns_index_services", "Services in the record index.")
        self.slices = r.gauge("svcnet_dns_index_endpointslices", "EndpointSlices in the index.")
        self.answers = r.gauge(
            "svcnet_dns_index_cached_answers", "Answers cached by the record index."
        )
        self._req: dict[tuple[str, str, str, str], object] = {}
        self._resp: dict[tuple[str, int, str], object] = {}
        self._dur: dict[tuple[str, str], object] = {}

    def observe(
        self,
        zone: str,
        proto: str,
        family: str,
        qtype: str,
        rcode: int,
        plugin: str,
        seconds: float,
    ) -> None:
        """Count one request and its reply."""
        k1 = (zone, proto, family, qtype)
        c = self._req.get(k1)
        if c is None:
            c = self._req[k1] = self.requests.labels(self.server, zone, proto, family, qtype)
        c.inc()  # type: ignore[attr-defined]
        k2 = (zone, rcode, plugin)
        c = self._resp.get(k2)
        if c is None:
            name = RCODE_NAMES.get(rcode, str(rcode))
            c = self._resp[k2] = self.responses.labels(self.server, zone, name, plugin)
        c.inc()  # type: ignore[attr-defined]
        k3 = (zone, qtype)
        h = self._dur.get(k3)
        if h is None:
            h = self._dur[k3] = self.duration.labels(self.server, zone, qtype)
        h.observe(seconds)  # type: ignore[attr-defined]

    def malformed_request(self, action: str) -> None:
        self.malformed.labels(self.server, action).inc()

    def cache_hit(self, negative: bool) -> None:
        self.cache_hits.labels(self.server, "denial" if negative else "success").inc()

    def cache_miss(self) -> None:
        self.cache_misses.labels(self.server).inc()

    def upstream(self, to: str, rcode: int | None, seconds: float) -> None:
        name = "TIMEOUT" if rcode is None else RCODE_NAMES.get(rcode, str(rcode))
        self.forward_requests.labels(to).inc()
        self.forward_responses.labels(to, name).inc()
        self.forward_duration.labels(to, name).observe(seconds)

    def watch_gauges(
        self,
        services: Callable[[], float],
        slices: Callable[[], float],
        answers: Callable[[], float],
        cache_entries: Callable[[], float],
    ) -> None:
        """Read the index and cache sizes at scrape time."""
        self.services.set_function(services)
        self.slices.set_function(slices)
        self.answers.set_function(answers)
        self.cache_entries.labels(self.server, "success").set_function(cache_entries)

    def render(self) -> bytes:
        return self.registry.render()
