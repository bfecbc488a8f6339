"""A tiny, dependency-free Prometheus client.

Theory of operation: a `Registry` holds metric families (`Counter`, `Gauge`,
`Histogram`) in registration order and renders them in the Prometheus text
exposition format 0.0.4. A family without label names is its own (single)
child; a family with label names hands out one child per distinct label
value tuple via `.labels(...)`, created on first use and cached.

The hot path (`inc`, `set`, `observe`) does one lock round-trip and a few
arithmetic operations; everything string-shaped (escaped label sets, bucket
bounds) is computed once, when a child is created. Histograms keep
per-bucket (non-cumulative) counts and accumulate them at render time.

Invariants:
  * metric and label names are validated at construction time;
  * a child's label values never change, so its rendered label set is cached;
  * samples of a family render in child creation order, families in
    registration order; output always ends with a newline.
"""

from __future__ import annotations

import bisect
import math
import re
import threading
from collections.abc import Callable, Iterable, Sequence
from typing import Generic, TypeVar

__all__ = [
    "CONTENT_TYPE",
    "DEFAULT_BUCKETS",
    "REGISTRY",
    "Counter",
    "Gauge",
    "Histogram",
    "Metric",
    "Registry",
]

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"

DEFAULT_BUCKETS: tuple[float, ...] = (
    0.005,
    0.01,
    0.025,
    0.05,
    0.075,
    0.1,
    0.25,
    0.5,
    0.75,
    1.0,
    2.5,
    5.0,
    7.5,
    10.0,
    math.inf,
)

_METRIC_NAME_RE = re.compile(r"[a-zA-Z_:][a-zA-Z0-9_:]*\Z")
_LABEL_NAME_RE = re.compile(r"[a-zA-Z_][a-zA-Z0-9_]*\Z")


def _fmt_value(v: float) -> str:
    """Format a sample value: ints as-is, floats like the Python client."""
    if type(v) is int:
        return str(v)
    if v != v:
        return "NaN"
    if v == math.inf:
        return "+Inf"
    if v == -math.inf:
        return "-Inf"
    return repr(float(v))


def _escape_label_value(s: str) -> str:
    return s.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def _escape_help(s: str) -> str:
    return s.replace("\\", "\\\\").replace("\n", "\\n")


def _label_pairs(names: Sequence[str], values: Sequence[str]) -> str:
    """Render `a="x",b="y"` (no braces) for a child's label set."""
    return ",".join(f'{n}="{_escape_label_value(v)}"' for n, v in zip(names, values, strict=True))


def _braced(pairs: str) -> str:
    return "{" + pairs + "}" if pairs else ""


class Registry:
    """An ordered set of metric families that renders to text format 0.0.4."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._metrics: dict[str, Metric] = {}

    def register(self, metric: Metric) -> None:
        """Add `metric`; raises ValueError if its name is already taken."""
        with self._lock:
            if metric.name in self._metrics:
                raise ValueError(f"metric {metric.name!r} already registered")
            self._metrics[metric.name] = metric

    def unregister(self, metric: Metric) -> None:
        with self._lock:
            if self._metrics.get(metric.name) is metric:
                del self._metrics[metric.name]

    def get(self, name: str) -> Metric | None:
        return self._metrics.get(name)

    def counter(self, name: str, help: str, labelnames: Iterable[str] = ()) -> Counter:
        return Counter(name, help, labelnames, registry=self)

    def gauge(self, name: str, help: str, labelnames: Iterable[str] = ()) -> Gauge:
        return Gauge(name, help, labelnames, registry=self)

    def histogram(
        self,
        name: str,
        help: str,
        labelnames: Iterable[str] = (),
        buckets: Iterable[float] = DEFAULT_BUCKETS,
    ) -> Histogram:
        return Histogram(name, help, labelnames, buckets=buckets, registry=self)

    def render(self) -> bytes:
        """Return every family in the Prometheus text exposition format 0.0.4."""
        with self._lock:
            metrics = list(self._metrics.values())
        out: list[str] = []
        for m in metrics:
            out.append(f"# HELP {m.name} {_escape_help(m.help)}\n")
            out.append(f"# TYPE {m.name} {m.type_name}\n")
            m._render(out)
        return "".join(out).encode()


REGISTRY = Registry()

_C = TypeVar("_C")


class Metric(Generic[_C]):
    """Shared family machinery: name/label validation and the child cache."""

    type_name = ""
    _reserved_labels: frozenset[str] = frozenset()

    def __init__(
        self,
        name: str,
        help: str,
        labelnames: Iterable[str] = (),
        registry: Registry | None = REGISTRY,
    ) -> None:
        if not _METRIC_NAME_RE.match(name):
            raise ValueError(f"invalid metric name {name!r}")
        names = tuple(labelnames)
        for ln in names:
            if not _LABEL_NAME_RE.match(ln) or ln.startswith("__"):
                raise ValueError(f"invalid label name {ln!r}")
            if ln in self._reserved_labels:
                raise ValueError(f"label name {ln!r} is reserved for {self.type_name}")
        if len(set(names)) != len(names):
            raise ValueError(f"duplicate label names in {names!r}")
        self.name = name
        self.help = help
        self.labelnames = names
        self._lock = threading.Lock()
        self._children: dict[tuple[str, ...], _C] = {}
        # An unlabelled family is its own single child, present from the start
        # so that it renders (as zero) before the first observation.
        self._solo: _C | None = None if names else self._new_child("")
        if self._solo is not None:
            self._children[()] = self._solo
        if registry is not None:
            registry.register(self)

    def _new_child(self, pairs: str) -> _C:
        raise NotImplementedError

    def _render(self, out: list[str]) -> None:
        raise NotImplementedError

    def labels(self, *values: object, **kv: object) -> _C:
        """Return the child for these label values (positional or by name)."""
        names = self.labelnames
        if not names:
            raise ValueError(f"metric {self.name!r} has no labels")
        if values:
            if kv or len(values) != len(names):
                raise ValueError(f"{self.name}: expected label values for {names!r}")
            key = tuple(map(str, values))
        else:
            if len(kv) != len(names):
                raise ValueError(f"{self.name}: expected labels {names!r}, got {tuple(kv)!r}")
            try:
                key = tuple(map(str, map(kv.__getitem__, names)))
            except KeyError as e:
                raise ValueError(f"{self.name}: missing label {e.args[0]!r}") from None
        child = self._children.get(key)
        if child is None:
            with self._lock:
                child = self._children.get(key)
                if child is None:
                    child = self._new_child(_label_pairs(names, key))
                    self._children[key] = child
        return child

    def remove(self, *values: object, **kv: object) -> None:
        """Drop the child for these label values (no-op if absent)."""
        if values:
            key = tuple(str(v) for v in values)
        else:
            key = tuple(str(kv.get(n, "")) for n in self.labelnames)
        with self._lock:
            self._children.pop(key, None)

    def clear(self) -> None:
        """Drop every labelled child (an unlabelled family is reset instead)."""
        with self._lock:
            self._children.clear()
            if self.labelnames:
                return
            self._solo = self._new_child("")
            self._children[()] = self._solo

    def _snapshot(self) -> list[_C]:
        with self._lock:
            return list(self._children.values())

    def _only(self) -> _C:
        if self._solo is None:
            raise ValueError(f"metric {self.name!r} has labels; use .labels(...) first")
        return self._solo


# -- Counter ------------------------------------------------------------------


class CounterChild:
    """One counter time series; only goes up."""

    __slots__ = ("_lock", "_pairs", "_value")

    def __init__(self, pairs: str) -> None:
        self._pairs = pairs
        self._lock = threading.Lock()
        self._value: float = 0

    def inc(self, amount: float = 1) -> None:
        if amount < 0:
            raise ValueError("counters can only increase")
        with self._lock:
            self._value += amount

    def get(self) -> float:
        return self._value


class Counter(Metric[CounterChild]):
    """A monotonically increasing count. By convention the name ends in `_total`."""

    type_name = "counter"

    def _new_child(self, pairs: str) -> CounterChild:
        return CounterChild(pairs)

    def inc(self, amount: float = 1) -> None:
        self._only().inc(amount)

    def get(self) -> float:
        return self._only().get()

    def _render(self, out: list[str]) -> None:
        name = self.name
        for c in self._snapshot():
            out.append(f"{name}{_braced(c._pairs)} {_fmt_value(c._value)}\n")


# -- Gauge --------------------------------------------------------------------


class GaugeChild:
    """One gauge time series: a settable value, or a function read at scrape time."""

    __slots__ = ("_fn", "_lock", "_pairs", "_value")

    def __init__(self, pairs: str) -> None:
        self._pairs = pairs
        self._lock = threading.Lock()
        self._value: float = 0
        self._fn: Callable[[], float] | None = None

    def set(self, value: float) -> None:
        self._value = value

    def inc(self, amount: float = 1) -> None:
        with self._lock:
            self._value += amount

    def dec(self, amount: float = 1) -> None:
        with self._lock:
            self._value -= amount

    def set_function(self, fn: Callable[[], float] | None) -> None:
        """Compute the value with `fn()` at every scrape (None to stop)."""
        self._fn = fn

    def get(self) -> float:
        fn = self._fn
        return fn() if fn is not None else self._value


class Gauge(Metric[GaugeChild]):
    """A value that can go up and down."""

    type_name = "gauge"

    def _new_child(self, pairs: str) -> GaugeChild:
        return GaugeChild(pairs)

    def set(self, value: float) -> None:
        self._only().set(value)

    def inc(self, amount: float = 1) -> None:
        self._only().inc(amount)

    def dec(self, amount: float = 1) -> None:
        self._only().dec(amount)

    def set_function(self, fn: Callable[[], float] | None) -> None:
        self._only().set_function(fn)

    def get(self) -> float:
        return self._only().get()

    def _render(self, out: list[str]) -> None:
        name = self.name
        for c in self._snapshot():
            out.append(f"{name}{_braced(c._pairs)} {_fmt_value(c.get())}\n")


# -- Histogram ----------------------------------------------------------------


class HistogramChild:
    """One histogram time series: per-bucket counts plus sum and count."""

    __slots__ = ("_bounds", "_counts", "_lock", "_pairs", "_sum")

    def __init__(self, pairs: str, bounds: tuple[float, ...]) -> None:
        self._pairs = pairs
        self._bounds = bounds  # sorted, last is +Inf
        self._lock = threading.Lock()
        self._counts = [0] * len(bounds)
        self._sum: float = 0

    def observe(self, value: float) -> None:
        # bisect_left finds the first bound >= value: Prometheus' `le`.
        if value != value:  # NaN would bisect to the first bucket; it belongs in +Inf only
            i = len(self._counts) - 1
        else:
            i = bisect.bisect_left(self._bounds, value)
        with self._lock:
            self._counts[i] += 1
            self._sum += value

    def snapshot(self) -> tuple[list[int], float]:
        """Return (cumulative bucket counts, sum), consistent with each other."""
        with self._lock:
            counts = list(self._counts)
            total = self._sum
        acc = 0
        for i, c in enumerate(counts):
            acc += c
            counts[i] = acc
        return counts, total


class Histogram(Metric[HistogramChild]):
    """Observations counted into cumulative buckets, with their sum and count."""

    type_name = "histogram"
    _reserved_labels = frozenset({"le"})

    def __init__(
        self,
        name: str,
        help: str,
        labelnames: Iterable[str] = (),
        buckets: Iterable[float] = DEFAULT_BUCKETS,
        registry: Registry | None = REGISTRY,
    ) -> None:
        bounds = [float(b) for b in buckets]
        if not bounds or any(math.isnan(b) for b in bounds):
            raise ValueError("histogram buckets must be non-empty numbers")
        if bounds != sorted(bounds) or len(set(bounds)) != len(bounds):
            raise ValueError("histogram buckets must be strictly increasing")
        if bounds[-1] != math.inf:
            bounds.append(math.inf)
        self.buckets = tuple(bounds)
        self._le = tuple(_fmt_value(b) for b in bounds)
        super().__init__(name, help, labelnames, registry)

    def _new_child(self, pairs: str) -> HistogramChild:
        return HistogramChild(pairs, self.buckets)

    def observe(self, value: float) -> None:
        self._only().observe(value)

    def _render(self, out: list[str]) -> None:
        name = self.name
        les = self._le
        for c in self._snapshot():
            counts, total = c.snapshot()
            prefix = "{" + c._pairs + "," if c._pairs else "{"
            for le, n in zip(les, counts, strict=True):
                out.append(f'{name}_bucket{prefix}le="{le}"}} {n}\n')
            braced = _braced(c._pairs)
            out.append(f"{name}_sum{braced} {_fmt_value(total)}\n")
            out.append(f"{name}_count{braced} {counts[-1]}\n")
