"""Text exposition format 0.0.4 as rendered by svcnet.util.metrics."""

from __future__ import annotations

import math
import threading

import pytest

from svcnet.util.metrics import (
    DEFAULT_BUCKETS,
    REGISTRY,
    Counter,
    Gauge,
    Histogram,
    Registry,
)


def render(reg: Registry) -> str:
    return reg.render().decode()


def test_counter_unlabelled_renders_zero_then_counts() -> None:
    reg = Registry()
    c = Counter("svcnet_requests_total", "Requests served.", registry=reg)
    assert render(reg) == (
        "# HELP svcnet_requests_total Requests served.\n"
        "# TYPE svcnet_requests_total counter\n"
        "svcnet_requests_total 0\n"
    )
    c.inc()
    c.inc(2)
    assert c.get() == 3
    assert render(reg).endswith("svcnet_requests_total 3\n")
    c.inc(0.5)
    assert render(reg).endswith("svcnet_requests_total 3.5\n")


def test_counter_rejects_decrease() -> None:
    c = Counter("c_total", "h", registry=Registry())
    with pytest.raises(ValueError):
        c.inc(-1)


def test_labelled_counter_exact_output() -> None:
    reg = Registry()
    c = reg.counter("apiserver_request_total", "API requests.", ["verb", "code"])
    c.labels(verb="GET", code="200").inc()
    c.labels("GET", 200).inc()  # positional, non-str values are str()-ed
    c.labels(code="404", verb="LIST").inc(5)
    assert render(reg) == (
        "# HELP apiserver_request_total API requests.\n"
        "# TYPE apiserver_request_total counter\n"
        'apiserver_request_total{verb="GET",code="200"} 2\n'
        'apiserver_request_total{verb="LIST",code="404"} 5\n'
    )


def test_labelled_family_without_children_renders_headers_only() -> None:
    reg = Registry()
    reg.gauge("g", "A gauge.", ["x"])
    assert render(reg) == "# HELP g A gauge.\n# TYPE g gauge\n"


@pytest.mark.parametrize(
    ("value", "rendered"),
    [
        pytest.param('a"b', 'a\\"b', id="double-quote"),
        pytest.param("a\\b", "a\\\\b", id="backslash"),
        pytest.param("a\nb", "a\\nb", id="newline"),
        pytest.param("ünï cødé", "ünï cødé", id="utf8-verbatim"),
        pytest.param("", "", id="empty"),
    ],
)
def test_label_value_escaping(value: str, rendered: str) -> None:
    reg = Registry()
    reg.gauge("g", "h", ["v"]).labels(v=value).set(1)
    assert render(reg).splitlines()[-1] == f'g{{v="{rendered}"}} 1'


def test_help_escaping() -> None:
    reg = Registry()
    Counter("c_total", 'line1\nback\\slash "quoted"', registry=reg)
    assert render(reg).splitlines()[0] == '# HELP c_total line1\\nback\\\\slash "quoted"'


def test_labels_argument_errors() -> None:
    c = Counter("c_total", "h", ["a", "b"], registry=Registry())
    with pytest.raises(ValueError):
        c.labels(a="1")
    with pytest.raises(ValueError):
        c.labels(a="1", c="2")
    with pytest.raises(ValueError):
        c.labels("1")
    with pytest.raises(ValueError):
        c.inc()  # labelled family has no solo child
    with pytest.raises(ValueError):
        Counter("plain_total", "h", registry=Registry()).labels(a="1")


@pytest.mark.parametrize(
    ("name", "labels"),
    [
        pytest.param("1bad", (), id="metric-starts-with-digit"),
        pytest.param("bad-name", (), id="metric-dash"),
        pytest.param("ok", ("__reserved",), id="label-double-underscore"),
        pytest.param("ok", ("a-b",), id="label-dash"),
        pytest.param("ok", ("a", "a"), id="label-duplicate"),
    ],
)
def test_invalid_names(name: str, labels: tuple[str, ...]) -> None:
    with pytest.raises(ValueError):
        Gauge(name, "h", labels, registry=Registry())


def test_duplicate_registration_rejected_and_unregister() -> None:
    reg = Registry()
    g = Gauge("g", "h", registry=reg)
    with pytest.raises(ValueError):
        Gauge("g", "h", registry=reg)
    reg.unregister(g)
    Gauge("g", "h", registry=reg)


def test_gauge_set_inc_dec_and_special_values() -> None:
    reg = Registry()
    g = Gauge("g", "h", registry=reg)
    g.set(10)
    g.inc(2)
    g.dec(0.5)
    assert render(reg).endswith("g 11.5\n")
    for v, s in [(math.inf, "+Inf"), (-math.inf, "-Inf"), (math.nan, "NaN"), (-3, "-3")]:
        g.set(v)
        assert render(reg).endswith(f"g {s}\n")


def test_gauge_set_function_is_read_at_scrape_time() -> None:
    reg = Registry()
    g = Gauge("queue_depth", "h", ["queue"], registry=reg)
    depth = [1]
    g.labels(queue="sync").set_function(lambda: depth[0])
    assert render(reg).endswith('queue_depth{queue="sync"} 1\n')
    depth[0] = 7
    assert render(reg).endswith('queue_depth{queue="sync"} 7\n')
    assert g.labels(queue="sync").get() == 7


def test_histogram_exact_output_and_cumulative_buckets() -> None:
    reg = Registry()
    h = Histogram("lat_seconds", "Latency.", ["verb"], buckets=[0.1, 1, 5], registry=reg)
    child = h.labels(verb="GET")
    for v in (0.05, 0.1, 0.5, 2, 100):
        child.observe(v)
    assert h.buckets == (0.1, 1.0, 5.0, math.inf)
    assert render(reg) == (
        "# HELP lat_seconds Latency.\n"
        "# TYPE lat_seconds histogram\n"
        'lat_seconds_bucket{verb="GET",le="0.1"} 2\n'
        'lat_seconds_bucket{verb="GET",le="1.0"} 3\n'
        'lat_seconds_bucket{verb="GET",le="5.0"} 4\n'
        'lat_seconds_bucket{verb="GET",le="+Inf"} 5\n'
        'lat_seconds_sum{verb="GET"} 102.65\n'
        'lat_seconds_count{verb="GET"} 5\n'
    )


def test_histogram_unlabelled_default_buckets() -> None:
    reg = Registry()
    h = Histogram("d_seconds", "h", registry=reg)
    assert h.buckets == DEFAULT_BUCKETS
    h.observe(0.003)
    h.observe(7)
    lines = render(reg).splitlines()
    buckets = [ln for ln in lines if ln.startswith("d_seconds_bucket")]
    assert buckets[0] == 'd_seconds_bucket{le="0.005"} 1'
    assert buckets[-1] == 'd_seconds_bucket{le="+Inf"} 2'
    assert len(buckets) == len(DEFAULT_BUCKETS)
    counts = [int(ln.rsplit(" ", 1)[1]) for ln in buckets]
    assert counts == sorted(counts), "buckets must be cumulative"
    assert lines[-2:] == ["d_seconds_sum 7.003", "d_seconds_count 2"]


def test_histogram_nan_counts_only_in_inf_bucket() -> None:
    reg = Registry()
    h = Histogram("h", "h", buckets=[1], registry=reg)
    h.observe(math.nan)
    out = render(reg)
    assert 'h_bucket{le="1.0"} 0\n' in out
    assert 'h_bucket{le="+Inf"} 1\n' in out


@pytest.mark.parametrize(
    "buckets",
    [
        pytest.param([], id="empty"),
        pytest.param([2, 1], id="unsorted"),
        pytest.param([1, 1], id="dup"),
    ],
)
def test_histogram_bad_buckets(buckets: list[float]) -> None:
    with pytest.raises(ValueError):
        Histogram("h", "h", buckets=buckets, registry=Registry())


def test_histogram_le_label_reserved() -> None:
    with pytest.raises(ValueError):
        Histogram("h", "h", ["le"], registry=Registry())


def test_remove_and_clear() -> None:
    reg = Registry()
    g = Gauge("g", "h", ["a"], registry=reg)
    g.labels(a="x").set(1)
    g.labels(a="y").set(2)
    g.remove(a="x")
    assert render(reg).splitlines()[2:] == ['g{a="y"} 2']
    g.clear()
    assert render(reg).splitlines()[2:] == []


def test_registry_order_and_isolation() -> None:
    reg = Registry()
    Gauge("b", "h", registry=reg)
    Counter("a_total", "h", registry=reg)
    names = [ln.split()[2] for ln in render(reg).splitlines() if ln.startswith("# TYPE")]
    assert names == ["b", "a_total"]
    assert reg.get("b") is not None
    assert REGISTRY.get("b") is None


def test_concurrent_increments_are_not_lost() -> None:
    reg = Registry()
    c = Counter("c_total", "h", ["w"], registry=reg)
    h = Histogram("h", "h", buckets=[1], registry=reg)

    def work() -> None:
        for _ in range(10_000):
            c.labels(w="x").inc()
            h.observe(0.5)

    threads = [threading.Thread(target=work) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert c.labels(w="x").get() == 40_000
    assert "h_count 40000\n" in render(reg)
