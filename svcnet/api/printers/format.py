"""Cell formatting helpers shared by the printers (upstream's small helpers).

Each function mirrors one upstream helper and its exact output:
`labels.FormatLabels`, `metav1.FormatLabelSelector`,
`metav1.LabelSelectorAsSelector(...).String()`, `layoutContainerCells`,
`listWithMoreString` and `net.JoinHostPort`. Inputs are the JSON dicts the
API stores; missing fields read as Go zero values.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

Obj = dict[str, Any]

MORE_LIMIT = 3  # upstream prints at most 3 items, then "+ N more..."


def dig(obj: Mapping[str, Any] | None, *path: str) -> Any:
    """obj[path[0]][path[1]]..., or None as soon as a step is missing/null."""
    cur: Any = obj
    for key in path:
        if not isinstance(cur, Mapping):
            return None
        cur = cur.get(key)
    return cur


def text(obj: Mapping[str, Any] | None, *path: str) -> str:
    """A string field, "" when unset (Go's zero string)."""
    v = dig(obj, *path)
    return v if isinstance(v, str) else ""


def number(obj: Mapping[str, Any] | None, *path: str, default: int = 0) -> int:
    """An integer field, `default` when unset."""
    v = dig(obj, *path)
    return v if isinstance(v, int) and not isinstance(v, bool) else default


def items(obj: Mapping[str, Any] | None, *path: str) -> list[Any]:
    """A list field, [] when unset."""
    v = dig(obj, *path)
    return v if isinstance(v, list) else []


def mapping(obj: Mapping[str, Any] | None, *path: str) -> dict[str, Any]:
    """A map field, {} when unset."""
    v = dig(obj, *path)
    return v if isinstance(v, dict) else {}


def name_of(obj: Obj) -> str:
    return text(obj, "metadata", "name")


def format_labels(labels: Mapping[str, Any] | None) -> str:
    """`labels.FormatLabels`: sorted "k=v,k=v", `<none>` when empty."""
    if not labels:
        return "<none>"
    return ",".join(f"{k}={labels[k]}" for k in sorted(labels))


class SelectorError(ValueError):
    """A LabelSelector that `LabelSelectorAsSelector` would reject."""


_OPERATORS = {"In": "in", "NotIn": "notin", "Exists": "", "DoesNotExist": "!"}


def _requirement(key: str, op: str, values: list[str]) -> str:
    if op == "=":
        return f"{key}={values[0]}"
    if op in ("in", "notin"):
        if not values:
            raise SelectorError(f"{key}: for 'in', 'notin' operators, values set can't be empty")
        return f"{key} {op} ({','.join(sorted(values))})"
    if values:
        raise SelectorError(f"{key}: values set must be empty for exists and does not exist")
    return f"{op}{key}"


def selector_string(selector: Mapping[str, Any] | None) -> str:
    """`metav1.LabelSelectorAsSelector(selector).String()`.

    A nil selector selects nothing and an empty one everything; both print
    as "". Requirements are sorted by key, set values sorted.

    Raises:
        SelectorError: an unknown operator or a malformed value set.
    """
    if not selector:
        return ""
    reqs: list[tuple[str, str]] = []
    for k, v in sorted(mapping(selector, "matchLabels").items()):
        reqs.append((k, _requirement(k, "=", [str(v)])))
    for expr in items(selector, "matchExpressions"):
        op = text(expr, "operator")
        if op not in _OPERATORS:
            raise SelectorError(f"{op!r} is not a valid label selector operator")
        key = text(expr, "key")
        values = [str(v) for v in items(expr, "values")]
        reqs.append((key, _requirement(key, _OPERATORS[op], values)))
    reqs.sort(key=lambda r: r[0])
    return ",".join(r for _, r in reqs)


def format_label_selector(selector: Mapping[str, Any] | None) -> str:
    """`metav1.FormatLabelSelector`: `<none>` when empty, `<error>` when invalid."""
    try:
        s = selector_string(selector)
    except SelectorError:
        return "<error>"
    return s or "<none>"


def layout_container_cells(containers: Iterable[Mapping[str, Any]]) -> tuple[str, str]:
    """Upstream `layoutContainerCells`: comma-joined names and images."""
    cs = list(containers)
    return ",".join(text(c, "name") for c in cs), ",".join(text(c, "image") for c in cs)


def list_with_more(shown: list[str], count: int, limit: int = MORE_LIMIT) -> str:
    """Upstream `listWithMoreString`: "a,b,c + N more...", `<unset>` when empty."""
    ret = ",".join(shown)
    if count > limit:
        return f"{ret} + {count - limit} more..."
    return ret or "<unset>"


def join_host_port(host: str, port: int | str) -> str:
    """`net.JoinHostPort`: brackets around hosts containing a colon (IPv6)."""
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def load_balancer_ingress(status: Mapping[str, Any] | None) -> str:
    """Upstream `loadBalancerStatusStringer` as the server calls it (wide).

    The set of ingress IPs, or hostnames when an entry has no IP, sorted and
    comma-joined. The server converts with Wide=true, so the 16-byte clipping
    kubectl's client-side printer applies never happens here.
    """
    seen: set[str] = set()
    for ing in items(status, "ingress"):
        ip, host = text(ing, "ip"), text(ing, "hostname")
        if ip:
            seen.add(ip)
        elif host:
            seen.add(host)
    return ",".join(sorted(seen))
