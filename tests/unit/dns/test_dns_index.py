"""The record index as watch events arrive: every change is visible to the
next lookup, cached answers are dropped exactly when their data changes,
and the cache stays bounded."""

from __future__ import annotations

from dnslib import QTYPE

from svcnet.dns.index import RecordIndex
from svcnet.dns.views import ServiceView
from tests.unit.dns.helpers import ZONE, ep, eps, expect, got, headless, port, svc

WEB = "web.default.svc.cluster.local."
HL = "hl.default.svc.cluster.local."


def answer(idx: RecordIndex, name: str, qtype: str = "A") -> list[str]:
    ans = idx.lookup(name, qtype)
    assert ans is not None
    return got(ans.answer)


def rcode(idx: RecordIndex, name: str, qtype: str = "A") -> int | None:
    ans = idx.lookup(name, qtype)
    return None if ans is None else ans.rcode


def test_service_add_update_delete_seen_by_next_lookup() -> None:
    idx = RecordIndex(ZONE)
    assert rcode(idx, WEB) == 3
    idx.on_service_add(svc("web", ["10.96.0.20"]))
    assert answer(idx, WEB) == expect(f"{WEB} 5 IN A 10.96.0.20")
    old = idx.service("default", "web")
    assert old is not None
    idx.on_service_update(old, svc("web", ["10.96.0.21"]))
    assert answer(idx, WEB) == expect(f"{WEB} 5 IN A 10.96.0.21")
    idx.on_service_delete(svc("web", ["10.96.0.21"]))
    assert rcode(idx, WEB) == 3


def test_ptr_follows_clusterip_changes() -> None:
    idx = RecordIndex(ZONE)
    idx.set_service(svc("web", ["10.96.0.20"]))
    assert answer(idx, "20.0.96.10.in-addr.arpa.", "PTR") == expect(
        f"20.0.96.10.in-addr.arpa. 5 IN PTR {WEB}"
    )
    idx.set_service(svc("web", ["10.96.0.21"]))
    assert idx.lookup("20.0.96.10.in-addr.arpa.", "PTR") is None  # falls through now
    assert answer(idx, "21.0.96.10.in-addr.arpa.", "PTR") == expect(
        f"21.0.96.10.in-addr.arpa. 5 IN PTR {WEB}"
    )
    idx.delete_service("default", "web")
    assert idx.lookup("21.0.96.10.in-addr.arpa.", "PTR") is None


def test_headless_follows_its_slices() -> None:
    idx = RecordIndex(ZONE)
    # A slice may arrive before its Service.
    idx.set_endpointslice(eps("hl-a", "hl", [ep("10.244.1.1")], [port("http", "TCP", 80)]))
    assert rcode(idx, HL) == 3
    idx.set_service(headless("hl", [port("http", "TCP", 80)]))
    assert answer(idx, HL) == expect(f"{HL} 5 IN A 10.244.1.1")
    idx.set_endpointslice(eps("hl-b", "hl", [ep("10.244.1.2", hostname="b")]))
    assert answer(idx, HL) == expect([f"{HL} 5 IN A 10.244.1.1", f"{HL} 5 IN A 10.244.1.2"])
    assert answer(idx, "2.1.244.10.in-addr.arpa.", "PTR") == expect(
        f"2.1.244.10.in-addr.arpa. 5 IN PTR b.{HL}"
    )
    # The endpoint turns not ready: gone from A, hostname and PTR.
    idx.set_endpointslice(eps("hl-b", "hl", [ep("10.244.1.2", hostname="b", ready=False)]))
    assert answer(idx, HL) == expect(f"{HL} 5 IN A 10.244.1.1")
    assert rcode(idx, f"b.{HL}") == 3
    assert idx.lookup("2.1.244.10.in-addr.arpa.", "PTR") is None
    # Last slice gone: NXDOMAIN (spec 2.4.1).
    idx.delete_endpointslice("default", "hl-a")
    idx.delete_endpointslice("default", "hl-b")
    assert rcode(idx, HL) == 3


def test_slice_moving_to_another_service() -> None:
    idx = RecordIndex(ZONE)
    idx.set_service(headless("a"))
    idx.set_service(headless("b"))
    idx.set_endpointslice(eps("s", "a", [ep("10.244.0.1")]))
    assert rcode(idx, "a.default.svc.cluster.local.") == 0
    old = eps("s", "a", [ep("10.244.0.1")])
    idx.on_endpointslice_update(old, eps("s", "b", [ep("10.244.0.1")]))
    assert rcode(idx, "a.default.svc.cluster.local.") == 3
    assert answer(idx, "b.default.svc.cluster.local.") == expect(
        "b.default.svc.cluster.local. 5 IN A 10.244.0.1"
    )


def test_service_type_change_clusterip_to_headless() -> None:
    idx = RecordIndex(ZONE)
    idx.set_service(svc("web", ["10.96.0.20"]))
    idx.set_endpointslice(eps("web-a", "web", [ep("10.244.0.7")]))
    assert answer(idx, WEB) == expect(f"{WEB} 5 IN A 10.96.0.20")
    idx.set_service(headless("web"))
    assert answer(idx, WEB) == expect(f"{WEB} 5 IN A 10.244.0.7")
    assert idx.lookup("20.0.96.10.in-addr.arpa.", "PTR") is None


def test_namespace_exists_while_it_has_services() -> None:
    idx = RecordIndex(ZONE)
    ns = "team.svc.cluster.local."
    assert rcode(idx, ns) == 3
    idx.set_service(svc("a", ns="team"))
    idx.set_service(svc("b", ["10.96.0.21"], ns="team"))
    assert rcode(idx, ns) == 0
    idx.delete_service("team", "a")
    assert rcode(idx, ns) == 0
    idx.delete_service("team", "b")
    assert rcode(idx, ns) == 3


def test_externalname_chase_follows_its_target() -> None:
    idx = RecordIndex(ZONE)
    idx.set_service(
        ServiceView(
            "default", "alias", type="ExternalName", external_name="web.default.svc.cluster.local"
        )
    )
    alias = "alias.default.svc.cluster.local."
    a = idx.lookup(alias, "A")
    assert a is not None and a.rcode == 3  # target missing: NXDOMAIN (RFC 6604)
    assert got(a.answer) == expect(f"{alias} 5 IN CNAME {WEB}")
    idx.set_service(svc("web", ["10.96.0.20"]))
    assert answer(idx, alias) == expect([f"{alias} 5 IN CNAME {WEB}", f"{WEB} 5 IN A 10.96.0.20"])


def test_cname_loop_is_bounded() -> None:
    idx = RecordIndex(ZONE)
    for a, b in (("x", "y"), ("y", "x")):
        idx.set_service(
            ServiceView(
                "default", a, type="ExternalName", external_name=f"{b}.default.svc.cluster.local"
            )
        )
    ans = idx.lookup("x.default.svc.cluster.local.", "A")
    assert ans is not None and 1 < len(ans.answer) <= 10


def test_externalname_ip_has_no_records() -> None:
    idx = RecordIndex(ZONE)
    idx.set_service(ServiceView("default", "ip", type="ExternalName", external_name="1.2.3.4"))
    assert rcode(idx, "ip.default.svc.cluster.local.") == 3


def test_two_services_sharing_an_endpoint_ip_give_two_ptrs() -> None:
    idx = RecordIndex(ZONE)
    for name in ("a", "b"):
        idx.set_service(headless(name))
        idx.set_endpointslice(eps(f"{name}-s", name, [ep("10.244.0.5", hostname="p")]))
    assert answer(idx, "5.0.244.10.in-addr.arpa.", "PTR") == expect(
        [
            "5.0.244.10.in-addr.arpa. 5 IN PTR p.a.default.svc.cluster.local.",
            "5.0.244.10.in-addr.arpa. 5 IN PTR p.b.default.svc.cluster.local.",
        ]
    )
    idx.delete_endpointslice("default", "a-s")
    assert answer(idx, "5.0.244.10.in-addr.arpa.", "PTR") == expect(
        "5.0.244.10.in-addr.arpa. 5 IN PTR p.b.default.svc.cluster.local."
    )


def test_unchanged_views_are_no_change() -> None:
    idx = RecordIndex(ZONE)
    idx.set_service(svc("web"))
    idx.set_endpointslice(eps("s", "web", [ep("10.244.0.1")]))
    changes, serial = idx.changes, idx.serial
    idx.on_service_update(svc("web"), svc("web"))  # a resync
    idx.set_endpointslice(eps("s", "web", [ep("10.244.0.1")]))
    assert (idx.changes, idx.serial) == (changes, serial)


def test_answers_are_cached_and_invalidated_precisely() -> None:
    idx = RecordIndex(ZONE)
    idx.set_service(svc("web", ["10.96.0.20"]))
    idx.set_service(svc("db", ["10.96.0.30"]))
    a1 = idx.lookup_lower(WEB, QTYPE.A)
    d1 = idx.lookup_lower("db.default.svc.cluster.local.", QTYPE.A)
    assert idx.lookup_lower(WEB, QTYPE.A) is a1  # a hit
    assert idx.hits == 1
    idx.set_service(svc("web", ["10.96.0.21"]))
    assert idx.lookup_lower(WEB, QTYPE.A) is not a1  # dropped with its Service
    assert idx.lookup_lower("db.default.svc.cluster.local.", QTYPE.A) is d1  # untouched


def test_cache_is_bounded() -> None:
    idx = RecordIndex(ZONE, cache_size=10)
    idx.set_service(svc("web", ["10.96.0.20"]))
    for i in range(100):
        idx.lookup(f"n{i}.default.svc.cluster.local.", "A")
    assert idx.cached <= 10
    assert answer(idx, WEB) == expect(f"{WEB} 5 IN A 10.96.0.20")
    idx.set_service(svc("web", ["10.96.0.22"]))  # invalidation with evicted entries
    assert answer(idx, WEB) == expect(f"{WEB} 5 IN A 10.96.0.22")


def test_lookup_accepts_qtype_names_and_numbers() -> None:
    idx = RecordIndex(ZONE)
    idx.set_service(svc("web"))
    a = idx.lookup(WEB, "a")
    b = idx.lookup(WEB, 1)
    assert a is b


def test_case_echo_only_in_the_owner_that_was_asked() -> None:
    idx = RecordIndex(ZONE)
    idx.set_service(svc("web", ports=[port("http", "TCP", 80)]))
    ans = idx.lookup("_HTTP._tcp.Web.default.svc.cluster.local", "SRV")
    assert ans is not None
    assert [str(rr.rname) for rr in ans.answer] == ["_HTTP._tcp.Web.default.svc.cluster.local."]
    assert [str(rr.rname) for rr in ans.additional] == [WEB]


def test_any_returns_every_record_of_the_name() -> None:
    idx = RecordIndex(ZONE)
    idx.set_service(svc("dual", ["10.96.0.30", "fd00::30"], ports=[port("http", "TCP", 80)]))
    name = "dual.default.svc.cluster.local."
    assert answer(idx, name, "ANY") == expect(
        [
            f"{name} 5 IN A 10.96.0.30",
            f"{name} 5 IN AAAA fd00::30",
            f"{name} 5 IN SRV 0 100 80 {name}",
        ]
    )


def test_ttl_is_configurable() -> None:
    idx = RecordIndex(ZONE, ttl=30)
    idx.set_service(svc("web"))
    assert answer(idx, WEB) == expect(f"{WEB} 30 IN A 10.96.0.20")
    neg = idx.lookup("nope.default.svc.cluster.local.", "A")
    assert neg is not None
    assert got(neg.authority) == expect(
        "cluster.local. 30 IN SOA ns.dns.cluster.local. hostmaster.cluster.local. 1 7200 1800 86400 30"
    )


def test_other_zone() -> None:
    idx = RecordIndex("corp.example")
    idx.set_service(svc("web"))
    assert answer(idx, "web.default.svc.corp.example.") == expect(
        "web.default.svc.corp.example. 5 IN A 10.96.0.20"
    )
    assert idx.lookup("web.default.svc.cluster.local.", "A") is None


def test_headless_srv_uses_slice_ports_and_skips_unnamed() -> None:
    idx = RecordIndex(ZONE)
    idx.set_service(headless("hl", [port("http", "TCP", 80)]))
    idx.set_endpointslice(
        eps(
            "hl-a",
            "hl",
            [ep("10.244.0.1", hostname="a")],
            [port("http", "TCP", 8080), port("", "TCP", 9)],
        )
    )
    assert answer(idx, f"_http._tcp.{HL}", "SRV") == expect(
        f"_http._tcp.{HL} 5 IN SRV 0 100 8080 a.{HL}"
    )
    assert answer(idx, HL, "SRV") == expect(
        [f"{HL} 5 IN SRV 0 50 8080 a.{HL}", f"{HL} 5 IN SRV 0 50 9 a.{HL}"]
    )
