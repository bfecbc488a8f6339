"""The record index: cluster DNS data, built incrementally from watch events. Pure.

Theory of operation: the index keeps the Service and EndpointSlice views
it is given (`set_service`, `delete_service`, `set_endpointslice`,
`delete_endpointslice`, and informer-shaped ``on_*`` aliases) and answers
`lookup(qname, qtype)` with an `Answer`. Three layers make lookups cheap:

1. `parse_request` classifies the name (pure, see parse.py);
2. per-Service `ServiceRecords` (records.py) are built lazily on the first
   query after the Service or one of its slices changed;
3. an LRU of finished Answers keyed by (lowercase name, qtype). Every
   cached Answer carries the *tags* of the data it read -- ``("svc",
   key)`` for a Service (present or absent), ``("ns", ns)`` for a
   namespace's existence, ``("ip", addr)`` for a reverse name -- and a
   change invalidates exactly the Answers holding its tags. A change is
   therefore visible to the very next query: nothing is rebuilt on a timer.

Eagerly kept (small): the reverse map address -> PTR targets, and the
number of Services per namespace (``<ns>.svc.<zone>`` exists while it has
one; DNS's empty non-terminal rule).

Negative answers follow RFC 2308 like CoreDNS: NXDOMAIN when the name does
not exist, NODATA (NOERROR, empty answer) when it exists without the asked
type; both carry the zone's SOA in the authority section:
``<zone> ttl IN SOA ns.dns.<zone> hostmaster.<zone> serial 7200 1800 86400 ttl``.
The serial counts changes (the shell seeds it with the start time).
Cached negative answers may carry an older serial; nothing reads it.

``lookup_lower`` is the server's entry (a lowercase FQDN, cached Answers);
``lookup`` echoes the query's case in the owner names, as CoreDNS does.
`None` from either means "not mine": outside the zone, or a reverse name
the index has no PTR for (CoreDNS's ``fallthrough in-addr.arpa ip6.arpa``),
so the server forwards it.

Invariants: a cached Answer equals what a fresh computation would return,
except for the SOA serial; the index never performs I/O and never raises
on well-formed views.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterable

from dnslib import AAAA, NS, PTR, QTYPE, RR, SOA, TXT, A

from svcnet.dns.answer import NOERROR, NXDOMAIN, Answer
from svcnet.dns.parse import Kind, Request, fqdn, in_zone, parse_request
from svcnet.dns.records import ServiceRecords, ptr_targets, service_records
from svcnet.dns.views import EndpointSliceView, ServiceView

__all__ = ["DNS_SCHEMA_VERSION", "RecordIndex"]

DNS_SCHEMA_VERSION = "1.1.0"
MAX_CHASE = 8  # CNAME chain length followed inside the zone

T_A, T_AAAA, T_NS, T_SOA = QTYPE.A, QTYPE.AAAA, QTYPE.NS, QTYPE.SOA
T_PTR, T_TXT, T_SRV, T_CNAME, T_ANY = QTYPE.PTR, QTYPE.TXT, QTYPE.SRV, QTYPE.CNAME, QTYPE.ANY

Key = tuple[str, str]
Tag = tuple[str, object]


def _qtype(qtype: int | str) -> int:
    if isinstance(qtype, str):
        return int(getattr(QTYPE, qtype.upper()))
    return int(qtype)


class RecordIndex:
    """Cluster DNS records for one zone (see the module docstring).

    Args:
        zone: the cluster domain ("cluster.local").
        ttl: TTL of every record, and the SOA minimum (CoreDNS default 5).
        cache_size: Answers kept in the LRU.
        serial: the first SOA serial.
        dns_service: (namespace, name) of the Service fronting this DNS;
            its ClusterIPs answer ``ns.dns.<zone>`` (the apex NS target).
    """

    def __init__(
        self,
        zone: str = "cluster.local",
        ttl: int = 5,
        *,
        cache_size: int = 100_000,
        serial: int = 1,
        dns_service: Key = ("kube-system", "kube-dns"),
    ) -> None:
        self.zone = fqdn(zone)
        self.ttl = ttl
        self.cache_size = max(1, cache_size)
        self.serial = serial & 0xFFFFFFFF
        self.dns_service = dns_service
        self.changes = 0
        self.hits = 0
        self.misses = 0
        self._services: dict[Key, ServiceView] = {}
        self._slices: dict[Key, EndpointSliceView] = {}
        self._slices_by_svc: dict[Key, dict[str, EndpointSliceView]] = {}
        self._records: dict[Key, ServiceRecords] = {}
        self._ptr_of: dict[Key, dict[str, str]] = {}
        self._reverse: dict[str, dict[Key, str]] = {}
        self._ns_services: dict[str, int] = {}
        self._cache: OrderedDict[tuple[str, int], tuple[Answer, tuple[Tag, ...]]] = OrderedDict()
        self._by_tag: dict[Tag, set[tuple[str, int]]] = {}

    # ----------------------------------------------------------- introspection
    @property
    def services(self) -> int:
        return len(self._services)

    @property
    def endpointslices(self) -> int:
        return len(self._slices)

    @property
    def cached(self) -> int:
        return len(self._cache)

    def service(self, namespace: str, name: str) -> ServiceView | None:
        return self._services.get((namespace, name))

    # ----------------------------------------------------------------- updates
    def set_service(self, svc: ServiceView) -> None:
        """Add or replace a Service."""
        key = svc.key
        old = self._services.get(key)
        if old == svc:
            return  # a resync or an update DNS does not see
        self._services[key] = svc
        if old is None:
            self._ns_count(svc.namespace, +1)
        self._service_changed(key)

    def delete_service(self, namespace: str, name: str) -> None:
        key = (namespace, name)
        if self._services.pop(key, None) is None:
            return
        self._ns_count(namespace, -1)
        self._service_changed(key)

    def set_endpointslice(self, sl: EndpointSliceView) -> None:
        """Add or replace an EndpointSlice (it may move to another Service)."""
        old = self._slices.get(sl.key)
        if old == sl:
            return
        if old is not None and old.service_key != sl.service_key:
            self._unlink_slice(old)
        self._slices[sl.key] = sl
        if sl.service:
            self._slices_by_svc.setdefault(sl.service_key, {})[sl.name] = sl
            self._service_changed(sl.service_key)

    def delete_endpointslice(self, namespace: str, name: str) -> None:
        old = self._slices.pop((namespace, name), None)
        if old is not None:
            self._unlink_slice(old)

    # Informer-shaped handlers (views in, as made by views.slim).
    def on_service_add(self, svc: ServiceView) -> None:
        self.set_service(svc)

    def on_service_update(self, old: ServiceView, new: ServiceView) -> None:
        if old.key != new.key:
            self.delete_service(*old.key)
        self.set_service(new)

    def on_service_delete(self, svc: ServiceView) -> None:
        self.delete_service(*svc.key)

    def on_endpointslice_add(self, sl: EndpointSliceView) -> None:
        self.set_endpointslice(sl)

    def on_endpointslice_update(self, old: EndpointSliceView, new: EndpointSliceView) -> None:
        if old.key != new.key:
            self.delete_endpointslice(*old.key)
        self.set_endpointslice(new)

    def on_endpointslice_delete(self, sl: EndpointSliceView) -> None:
        self.delete_endpointslice(*sl.key)

    def _unlink_slice(self, sl: EndpointSliceView) -> None:
        if not sl.service:
            return
        by_name = self._slices_by_svc.get(sl.service_key)
        if by_name is not None and by_name.get(sl.name) is not None:
            del by_name[sl.name]
            if not by_name:
                del self._slices_by_svc[sl.service_key]
            self._service_changed(sl.service_key)

    def _ns_count(self, ns: str, delta: int) -> None:
        n = self._ns_services.get(ns, 0) + delta
        if n > 0:
            self._ns_services[ns] = n
        else:
            self._ns_services.pop(ns, None)
        if (n > 0) != (n - delta > 0):
            self._invalidate(("ns", ns))

    def _service_changed(self, key: Key) -> None:
        self.changes += 1
        self.serial = (self.serial + 1) & 0xFFFFFFFF
        self._records.pop(key, None)
        self._invalidate(("svc", key))
        svc = self._services.get(key)
        new = ptr_targets(svc, self._slices_of(key), self.zone) if svc is not None else {}
        old = self._ptr_of.pop(key, {})
        if new:
            self._ptr_of[key] = new
        for ip in old.keys() | new.keys():
            if old.get(ip) == new.get(ip):
                continue
            owners = self._reverse.get(ip)
            if ip in new:
                if owners is None:
                    owners = self._reverse[ip] = {}
                owners[key] = new[ip]
            elif owners is not None:
                owners.pop(key, None)
                if not owners:
                    del self._reverse[ip]
            self._invalidate(("ip", ip))

    def _slices_of(self, key: Key) -> Iterable[EndpointSliceView]:
        return self._slices_by_svc.get(key, {}).values()

    def _records_for(self, key: Key, svc: ServiceView) -> ServiceRecords:
        recs = self._records.get(key)
        if recs is None:
            recs = service_records(svc, self._slices_of(key), self.zone, self.ttl)
            self._records[key] = recs
        return recs

    # ------------------------------------------------------------------- cache
    def _invalidate(self, tag: Tag) -> None:
        keys = self._by_tag.pop(tag, None)
        if not keys:
            return
        for k in keys:
            entry = self._cache.pop(k, None)
            if entry is not None:
                self._untag(k, entry[1], skip=tag)

    def _untag(self, k: tuple[str, int], tags: tuple[Tag, ...], skip: Tag | None = None) -> None:
        for t in tags:
            if t == skip:
                continue
            s = self._by_tag.get(t)
            if s is not None:
                s.discard(k)
                if not s:
                    del self._by_tag[t]

    def clear_cache(self) -> None:
        self._cache.clear()
        self._by_tag.clear()

    # ------------------------------------------------------------------ lookup
    def lookup(self, qname: str, qtype: int | str) -> Answer | None:
        """Answer ``qname``/``qtype`` with the query's case echoed in owner names."""
        qt = _qtype(qtype)
        name = fqdn(qname)
        ans = self.lookup_lower(name, qt)
        asked = qname if qname.endswith(".") else qname + "."
        if ans is None or asked == name:
            return ans
        out = Answer(
            ans.rcode,
            [_echo(rr, name, asked) for rr in ans.answer],
            ans.authority,
            ans.additional,
            ans.chase,
        )
        return out

    def lookup_lower(self, name: str, qtype: int) -> Answer | None:
        """Answer a lowercase FQDN (cached); None when the name is not ours."""
        key = (name, qtype)
        entry = self._cache.get(key)
        if entry is not None:
            self._cache.move_to_end(key)
            self.hits += 1
            return entry[0]
        self.misses += 1
        tags: set[Tag] = set()
        ans = self._answer(parse_request(name, self.zone), qtype, tags, 0)
        if ans is None:
            return None
        frozen = tuple(tags)
        self._cache[key] = (ans, frozen)
        for t in frozen:
            self._by_tag.setdefault(t, set()).add(key)
        if len(self._cache) > self.cache_size:
            old_key, (_, old_tags) = self._cache.popitem(last=False)
            self._untag(old_key, old_tags)
        return ans

    # ----------------------------------------------------------------- answers
    def soa(self) -> RR:
        z = self.zone
        times = (self.serial, 7200, 1800, 86400, self.ttl)
        return RR(z, T_SOA, ttl=self.ttl, rdata=SOA(f"ns.dns.{z}", f"hostmaster.{z}", times))

    def _negative(self, rcode: int) -> Answer:
        return Answer(rcode, authority=(self.soa(),))

    def _answer(self, req: Request, qtype: int, tags: set[Tag], depth: int) -> Answer | None:
        kind = req.kind
        if kind in (Kind.SERVICE, Kind.ENDPOINT, Kind.PORT, Kind.PROTO):
            return self._service_answer(req, qtype, tags, depth)
        if kind is Kind.OUTSIDE:
            return None
        if kind is Kind.REVERSE:
            return self._reverse_answer(req, qtype, tags)
        if kind is Kind.POD:
            return self._pod_answer(req, qtype)
        if kind is Kind.NAMESPACE:
            tags.add(("ns", req.namespace))
            return self._negative(NOERROR if req.namespace in self._ns_services else NXDOMAIN)
        if kind is Kind.APEX:
            return self._apex_answer(req, qtype, tags)
        if kind is Kind.VERSION:
            if qtype in (T_TXT, T_ANY):
                rr = RR(req.name, T_TXT, ttl=self.ttl, rdata=TXT(DNS_SCHEMA_VERSION))
                return Answer(NOERROR, (rr,))
            return self._negative(NOERROR)
        if kind is Kind.DNS_NS:
            return self._ns_address_answer(req, qtype, tags)
        if kind in (Kind.SVC_ROOT, Kind.POD_ENT, Kind.DNS_ENT):
            return self._negative(NOERROR)
        return self._negative(NXDOMAIN)

    def _service_answer(self, req: Request, qtype: int, tags: set[Tag], depth: int) -> Answer:
        key = req.service_key
        tags.add(("svc", key))
        svc = self._services.get(key)
        if svc is None:
            return self._negative(NXDOMAIN)
        recs = self._records_for(key, svc)
        types = recs.names.get(req.name)
        if types is None:
            return self._negative(NXDOMAIN)
        cname = types.get(T_CNAME)
        if cname and qtype not in (T_CNAME, T_ANY):
            return self._chase(cname, recs.cname, qtype, tags, depth)
        if qtype == T_ANY:
            rrs = [rr for group in types.values() for rr in group]
        else:
            rrs = types.get(qtype, [])
        if not rrs:
            return self._negative(NOERROR)
        additional: list[RR] = []
        if qtype == T_SRV:
            seen: set[str] = set()
            for rr in rrs:
                target = str(rr.rdata.target).lower()
                if target not in seen:
                    seen.add(target)
                    additional.extend(recs.addresses.get(target, ()))
        return Answer(NOERROR, rrs, additional=additional)

    def _chase(
        self, cname: list[RR], target: str, qtype: int, tags: set[Tag], depth: int
    ) -> Answer:
        """A CNAME answer, followed inside the zone (CoreDNS resolves in-zone
        targets itself); an outside target is left for the server to chase."""
        target = fqdn(target)
        if not in_zone(target, self.zone):
            return Answer(NOERROR, cname, chase=target)
        if depth >= MAX_CHASE:
            return Answer(NOERROR, cname)
        sub = self._answer(parse_request(target, self.zone), qtype, tags, depth + 1)
        if sub is None:
            return Answer(NOERROR, cname)
        return Answer(
            sub.rcode,
            [*cname, *sub.answer],
            sub.authority,
            sub.additional,
            sub.chase,
        )

    def _pod_answer(self, req: Request, qtype: int) -> Answer:
        """Spec 2.6 / CoreDNS "pods insecure": the address is read from the name."""
        ip = req.ip
        if not ip:
            return self._negative(NXDOMAIN)
        want = T_AAAA if ":" in ip else T_A
        if qtype not in (want, T_ANY):
            return self._negative(NOERROR)
        return Answer(NOERROR, (_addr(req.name, ip, self.ttl),))

    def _reverse_answer(self, req: Request, qtype: int, tags: set[Tag]) -> Answer | None:
        if not req.ip:
            return None
        tags.add(("ip", req.ip))
        owners = self._reverse.get(req.ip)
        if not owners:
            return None
        if qtype not in (T_PTR, T_ANY):
            return self._negative(NOERROR)
        targets = sorted(set(owners.values()))
        rrs = [RR(req.name, T_PTR, ttl=self.ttl, rdata=PTR(t)) for t in targets]
        return Answer(NOERROR, rrs)

    def _apex_answer(self, req: Request, qtype: int, tags: set[Tag]) -> Answer:
        z = self.zone
        rrs: list[RR] = []
        additional: list[RR] = []
        if qtype in (T_SOA, T_ANY):
            rrs.append(self.soa())
        if qtype in (T_NS, T_ANY):
            target = f"ns.dns.{z}"
            rrs.append(RR(z, T_NS, ttl=self.ttl, rdata=NS(target)))
            tags.add(("svc", self.dns_service))
            additional = [_addr(target, ip, self.ttl) for ip in self._dns_ips()]
        if not rrs:
            return self._negative(NOERROR)
        return Answer(NOERROR, rrs, additional=additional)

    def _dns_ips(self) -> tuple[str, ...]:
        svc = self._services.get(self.dns_service)
        return svc.cluster_ips if svc is not None else ()

    def _ns_address_answer(self, req: Request, qtype: int, tags: set[Tag]) -> Answer:
        tags.add(("svc", self.dns_service))
        ips = self._dns_ips()
        if not ips:
            return self._negative(NXDOMAIN)
        rrs = [
            _addr(req.name, ip, self.ttl)
            for ip in ips
            if qtype == T_ANY or qtype == (T_AAAA if ":" in ip else T_A)
        ]
        return Answer(NOERROR, rrs, () if rrs else (self.soa(),))


def _addr(owner: str, ip: str, ttl: int) -> RR:
    if ":" in ip:
        return RR(owner, T_AAAA, ttl=ttl, rdata=AAAA(ip))
    return RR(owner, T_A, ttl=ttl, rdata=A(ip))


def _echo(rr: RR, lower: str, asked: str) -> RR:
    """``rr`` with owner ``asked`` when its owner is the (lowercase) query name."""
    if str(rr.rname).lower() != lower:
        return rr
    return RR(asked, rr.rtype, rr.rclass, rr.ttl, rr.rdata)
