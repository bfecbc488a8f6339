"""Human-readable ages, as upstream's `k8s.io/apimachinery/pkg/util/duration`.

Theory of operation: kubectl's AGE column (and every "X ago" in a cell) is
`translateTimestampSince(ts)`, i.e. `duration.HumanDuration(now - ts)`, or
`<unknown>` when the timestamp is unset. The clock is injected: callers pass
`now`, nothing here reads the time.

Invariants (upstream's): durations are truncated, never rounded; anything
below -1s is `<invalid>` (clock skew up to 2s counts as "now"); precision
is ~2-3 significant figures ("3m2s", "7h59m", "5d3h", "2y45d").
"""

from __future__ import annotations

import datetime as dt

_SECOND_US = 1_000_000
_MINUTE_US = 60 * _SECOND_US
_HOUR_US = 60 * _MINUTE_US

# Go's zero time.Time, as the default table convertor prints an unset timestamp.
ZERO_TIME = "0001-01-01T00:00:00Z"


def _micros(d: float | dt.timedelta) -> int:
    if isinstance(d, dt.timedelta):
        return d // dt.timedelta(microseconds=1)
    return int(d * _SECOND_US)


def _trunc_div(a: int, b: int) -> int:
    """Integer division truncating toward zero (Go's `/` on integers)."""
    q = abs(a) // b
    return q if a >= 0 else -q


def human_duration(d: float | dt.timedelta) -> str:
    """Format a duration like upstream `duration.HumanDuration`.

    Args:
        d: seconds (int or float) or a timedelta.
    """
    us = _micros(d)
    seconds = _trunc_div(us, _SECOND_US)
    if seconds < -1:
        return "<invalid>"
    if seconds < 0:
        return "0s"
    if seconds < 60 * 2:
        return f"{seconds}s"
    minutes = us // _MINUTE_US
    if minutes < 10:
        s = seconds % 60
        return f"{minutes}m" if s == 0 else f"{minutes}m{s}s"
    if minutes < 60 * 3:
        return f"{minutes}m"
    hours = us // _HOUR_US
    if hours < 8:
        m = minutes % 60
        return f"{hours}h" if m == 0 else f"{hours}h{m}m"
    if hours < 48:
        return f"{hours}h"
    if hours < 24 * 8:
        h = hours % 24
        return f"{hours // 24}d" if h == 0 else f"{hours // 24}d{h}h"
    if hours < 24 * 365 * 2:
        return f"{hours // 24}d"
    if hours < 24 * 365 * 8:
        dy = (hours // 24) % 365
        years = hours // 24 // 365
        return f"{years}y" if dy == 0 else f"{years}y{dy}d"
    return f"{hours // 24 // 365}y"


def short_human_duration(d: float | dt.timedelta) -> str:
    """Format a duration like upstream `duration.ShortHumanDuration` (one unit)."""
    us = _micros(d)
    seconds = _trunc_div(us, _SECOND_US)
    if seconds < -1:
        return "<invalid>"
    if seconds < 0:
        return "0s"
    if seconds < 60:
        return f"{seconds}s"
    minutes = us // _MINUTE_US
    if minutes < 60:
        return f"{minutes}m"
    hours = us // _HOUR_US
    if hours < 24:
        return f"{hours}h"
    if hours < 24 * 365:
        return f"{hours // 24}d"
    return f"{hours // 24 // 365}y"


def parse_time(value: object) -> dt.datetime | None:
    """Parse an RFC 3339 Time/MicroTime as the API stores it; None if unset.

    A datetime passes through. A naive result is taken as UTC.
    """
    if isinstance(value, dt.datetime):
        return _aware(value)
    if not isinstance(value, str) or not value:
        return None
    try:
        t = dt.datetime.fromisoformat(value)
    except ValueError:
        return None
    return t if t.tzinfo else t.replace(tzinfo=dt.UTC)


def _aware(now: dt.datetime) -> dt.datetime:
    return now if now.tzinfo else now.replace(tzinfo=dt.UTC)


def translate_timestamp_since(value: object, now: dt.datetime) -> str:
    """Upstream `translateTimestampSince`: age of `value` at `now`, or `<unknown>`."""
    t = parse_time(value)
    if t is None:
        return "<unknown>"
    return human_duration(_aware(now) - t)


def rfc3339(value: object) -> str:
    """`Time.UTC().Format(time.RFC3339)`; Go's zero time when unset."""
    t = parse_time(value)
    if t is None:
        return ZERO_TIME
    return t.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
