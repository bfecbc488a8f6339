"""Fixtures for store tests.

Every behavioural test runs against BOTH backends through the parametrized
`make_store` / `store` fixtures: "memory" and "sqlite" (a fresh database in
pytest's ``tmp_path``). Keys use the resource "pods" in namespaces "a" and
"b" and the cluster-scoped resource "nodes" (namespace "").
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest

from svcnet.store import MemoryStore, SQLiteStore, Store

MakeStore = Callable[..., Store]


@pytest.fixture(params=["memory", "sqlite"])
async def make_store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[MakeStore]:
    """A factory ``make_store(history=..., watcher_queue=...)`` for the
    backend under test; every store it made is closed at teardown."""
    made: list[Store] = []

    def make(**kwargs: Any) -> Store:
        if request.param == "memory":
            s: Store = MemoryStore(**kwargs)
        else:
            s = SQLiteStore(tmp_path / f"store-{len(made)}.db", **kwargs)
        made.append(s)
        return s

    yield make
    for s in made:
        await s.close()


@pytest.fixture
def store(make_store: MakeStore) -> Store:
    """A fresh store with default bounds."""
    return make_store()
