"""limit/continue paging (upstream: pages in key order, every object exactly once)."""

from __future__ import annotations

import pytest

from svcnet.api.builtin import builtin_registry
from svcnet.apiserver.resources import ListOptions, Resources, WriteOptions
from svcnet.store import MemoryStore


@pytest.mark.parametrize("limit", [1, 2, 3, 5, 100])
async def test_paging_across_namespaces_returns_everything_once(limit: int) -> None:
    """Regression: namespaces "app" and "app-2" ('-' sorts before '/')."""
    reg = builtin_registry()
    res = Resources(MemoryStore(), reg)
    ns_spec = reg.by_resource("", "v1", "namespaces")
    cm = reg.by_resource("", "v1", "configmaps")
    assert ns_spec is not None and cm is not None
    want = set()
    for ns in ("app", "app-2", "b"):
        await res.create(ns_spec, "", {"metadata": {"name": ns}}, WriteOptions())
        for i in range(3):
            await res.create(cm, ns, {"metadata": {"name": f"c{i}"}}, WriteOptions())
            want.add((ns, f"c{i}"))
    got: list[tuple[str, str]] = []
    token = ""
    for _ in range(50):
        page, _rv, token, remaining = await res.list(
            cm, None, ListOptions(limit=limit, continue_token=token)
        )
        got += [(e.key.namespace, e.key.name) for e in page]
        if not token:
            break
        assert remaining == len(want) - len(got)
    assert len(got) == len(want) and set(got) == want
    assert got == sorted(got)
