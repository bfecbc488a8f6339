"""WriteTracker: the controllers' expectations (upstream ControllerExpectations)."""

from __future__ import annotations

from svcnet.controllers.loops_endpoints import WriteTracker


def obj(name: str, rv: int) -> dict:
    return {"metadata": {"name": name, "resourceVersion": str(rv)}}


class Clock:
    def __init__(self) -> None:
        self.t = 0.0

    def __call__(self) -> float:
        return self.t


def test_created_object_is_expected_until_the_cache_has_it() -> None:
    t = WriteTracker()
    t.wrote("ns/a", obj("p1", 10))
    assert t.stale("ns/a", [])
    assert t.stale("ns/a", [obj("p1", 9)])
    assert not t.stale("ns/a", [obj("p1", 10)])


def test_deleted_object_is_expected_gone() -> None:
    t = WriteTracker()
    t.deleted("ns/a", "p1")
    assert t.stale("ns/a", [obj("p1", 3)])
    assert not t.stale("ns/a", [])


def test_terminating_object_that_vanished_is_satisfied() -> None:
    """Regression: a pod deleted gracefully and then removed before the next
    sync used to stall its ReplicaSet forever."""
    t = WriteTracker()
    t.wrote("ns/rs", obj("p1", 10), may_vanish=True)
    assert not t.stale("ns/rs", [])


def test_expectations_expire() -> None:
    clock = Clock()
    t = WriteTracker(ttl=10, clock=clock)
    t.wrote("ns/a", obj("p1", 10))
    assert t.stale("ns/a", [])
    clock.t = 11
    assert not t.stale("ns/a", [])


def test_own_write_echo_is_recognised() -> None:
    t = WriteTracker()
    t.wrote("ns/svc", obj("s1", 7))
    assert t.is_own("ns/svc", obj("s1", 7))
    assert not t.is_own("ns/svc", obj("s1", 8))
    assert not t.is_own("ns/svc", obj("s2", 7))
