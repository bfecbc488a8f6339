"""ClusterIP and NodePort allocation for Services, as upstream's Service REST.

Theory of operation:

* `allocate_service(new, old, ips, ports)` is the pure decision: given the
  defaulted Service (and the stored one on update) it takes, keeps and
  releases ClusterIPs and node ports in the allocators it is handed (copies),
  fills spec.clusterIP(s), spec.ports[].nodePort and spec.healthCheckNodePort,
  and returns field errors for static requests that cannot be honoured.
* `ServiceAllocation` is the shell, an admission plugin of the generic
  registry. Every change runs as a transaction: copy the allocators, decide,
  then persist each changed range (one object per IP family plus one for node
  ports, `RangeSnapshot` form) with compare-and-swap on its resourceVersion;
  on a conflict it reloads from the store and redoes the decision, so no
  value is handed out twice, even with several API servers on one store.
* A level-driven repair pass (`repair_once`, at start and periodically)
  rebuilds the maps from the stored Services: values of Services deleted
  behind the server's back are freed after `LEAK_PASSES` passes, values held
  by Services but missing from the map are set again.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
from collections.abc import Callable
from typing import Any

from svcnet.allocators import (
    AllocatorError,
    DualStackAllocator,
    Full,
    MismatchedRange,
    NodePortAllocator,
    PortRange,
    RangeSnapshot,
    collect_node_ports,
    ip_allocation_detail,
    next_ip_failure,
    next_node_port_failure,
    repair_ips,
    repair_ports,
    service_cluster_ips,
)
from svcnet.api import errors
from svcnet.api.registry import KindSpec, Obj
from svcnet.api.validation import FieldError, invalid
from svcnet.store import Conflict, Key, NotFound, Store
from svcnet.util.log import get_logger

log = get_logger(__name__)

RESOURCE = "_internal/rangeallocations"
NODE_PORTS = "servicenodeports"
MAX_ATTEMPTS = 8
REPAIR_INTERVAL = 60.0


class AllocationFailed(Exception):
    """A dynamic allocation failed (range full): upstream answers 500."""


class AllocationInvalid(Exception):
    """Static requests that cannot be honoured: a 422 with these causes."""

    def __init__(self, errs: list[FieldError]) -> None:
        super().__init__(errs)
        self.errs = errs


def _wants_ips(spec: Obj) -> bool:
    return spec.get("type", "ClusterIP") != "ExternalName" and spec.get("clusterIP") != "None"


def _needs_node_ports(spec: Obj) -> bool:
    t = spec.get("type", "ClusterIP")
    return t == "NodePort" or (
        t == "LoadBalancer" and spec.get("allocateLoadBalancerNodePorts", True)
    )


def allocate_service(
    new: Obj, old: Obj | None, ips: DualStackAllocator, ports: NodePortAllocator
) -> None:
    """Decide the Service's ClusterIPs and node ports (mutates ``new`` and the
    allocators). Raises AllocationInvalid (422) or AllocationFailed (500)."""
    spec = new.setdefault("spec", {})
    errs: list[FieldError] = []
    old_spec = (old or {}).get("spec") or {}
    old_ips = service_cluster_ips(old) if old else []
    # ---------------------------------------------------------- ClusterIPs
    if _wants_ips(spec):
        families = list(spec.get("ipFamilies") or [ips.primary_family])
        requested = list(
            spec.get("clusterIPs") or ([spec["clusterIP"]] if spec.get("clusterIP") else [])
        )
        result: list[str] = []
        for i, fam in enumerate(families):
            want = requested[i] if i < len(requested) else ""
            if i < len(old_ips) and want in ("", old_ips[i]):
                result.append(old_ips[i])
                continue
            if want:
                try:
                    ips.allocate(want)
                except AllocatorError as e:
                    errs.append(
                        invalid("spec.clusterIPs", requested, ip_allocation_detail(want, e))
                    )
                result.append(want)
                continue
            try:
                result.append(ips.allocate_next(fam))
            except AllocatorError as e:
                raise AllocationFailed(next_ip_failure(e)) from None
        for ip in old_ips:
            if ip not in result:
                ips.release(ip)
        spec["clusterIPs"] = result
        spec["clusterIP"] = result[0]
    else:
        for ip in old_ips:
            ips.release(ip)
        if spec.get("type") == "ExternalName":
            for k in ("clusterIP", "clusterIPs", "ipFamilies", "ipFamilyPolicy"):
                spec.pop(k, None)
    # ---------------------------------------------------------- node ports
    old_held = set(collect_node_ports(old)) if old else set()
    held: list[int] = []
    if _needs_node_ports(spec) or spec.get("type") == "LoadBalancer":
        by_port: dict[int, int] = {}
        auto = _needs_node_ports(spec)
        for i, p in enumerate(spec.get("ports") or []):
            np = int(p.get("nodePort") or 0)
            if np:
                if np not in old_held and np not in held and by_port.get(p.get("port", 0)) != np:
                    try:
                        ports.allocate(np)
                    except AllocatorError as e:
                        errs.append(invalid(f"spec.ports[{i}].nodePort", np, str(e)))
            elif auto:
                np = by_port.get(p.get("port", 0), 0)
                if not np:
                    try:
                        np = ports.allocate_next()
                    except AllocatorError as e:
                        raise AllocationFailed(next_node_port_failure(e)) from None
                p["nodePort"] = np
            if np:
                by_port[p.get("port", 0)] = np
                held.append(np)
    else:
        for p in spec.get("ports") or []:
            p.pop("nodePort", None)
    # ------------------------------------------------- health check node port
    if spec.get("type") == "LoadBalancer" and spec.get("externalTrafficPolicy") == "Local":
        hc = int(spec.get("healthCheckNodePort") or 0)
        old_hc = int(old_spec.get("healthCheckNodePort") or 0)
        if hc:
            if hc != old_hc and hc not in held:
                try:
                    ports.allocate(hc)
                except AllocatorError as e:
                    errs.append(invalid("spec.healthCheckNodePort", hc, str(e)))
        else:
            if old_hc:
                hc = old_hc
            else:
                try:
                    hc = ports.allocate_next()
                except AllocatorError as e:
                    raise AllocationFailed(next_node_port_failure(e)) from None
            spec["healthCheckNodePort"] = hc
        held.append(hc)
    else:
        spec.pop("healthCheckNodePort", None)
    for np in old_held:
        if np not in held:
            ports.release(np)
    if errs:
        raise AllocationInvalid(errs)


def release_service(svc: Obj, ips: DualStackAllocator, ports: NodePortAllocator) -> None:
    """Release everything a deleted Service held."""
    for ip in service_cluster_ips(svc):
        with contextlib.suppress(AllocatorError):
            ips.release(ip)
    for np in collect_node_ports(svc):
        with contextlib.suppress(AllocatorError):
            ports.release(np)


class ServiceAllocation:
    """Admission plugin: allocation of Service ClusterIPs and node ports."""

    def __init__(
        self,
        store: Store,
        cidrs: str,
        node_port_range: str,
        rng: random.Random | None = None,
        record_event: Callable[[Any], Any] | None = None,
    ) -> None:
        self.store = store
        self.rng = rng or random.Random()
        self.ips = DualStackAllocator(cidrs, self.rng)
        self.ports = NodePortAllocator(PortRange.parse(node_port_range), self.rng)
        self._rv: dict[str, int] = {}
        self._ip_leaks: dict[str, int] = {}
        self._port_leaks: dict[int, int] = {}
        self.record_event = record_event

    # ---------------------------------------------------------- persistence
    def _names(self) -> dict[str, Any]:
        out: dict[str, Any] = {f"serviceips-{fam}": fam for fam in self.ips.families}
        out[NODE_PORTS] = None
        return out

    def _snapshots(
        self, ips: DualStackAllocator, ports: NodePortAllocator
    ) -> dict[str, RangeSnapshot]:
        snaps = {f"serviceips-{fam}": s for fam, s in ips.snapshot().items()}
        snaps[NODE_PORTS] = ports.snapshot()
        return snaps

    async def load(self) -> None:
        """Read (or create) the persisted range objects into the allocators."""
        current = self._snapshots(self.ips, self.ports)
        ip_snaps: dict[str, RangeSnapshot] = {}
        for name, fam in self._names().items():
            key = Key(RESOURCE, "", name)
            try:
                entry = await self.store.get(key)
            except NotFound:
                obj = {"apiVersion": "v1", "kind": "RangeAllocation", "metadata": {"name": name}}
                obj.update(current[name].to_dict())
                entry = await self.store.create(key, obj)
            self._rv[name] = entry.rv
            snap = RangeSnapshot.from_dict(entry.obj)
            try:
                if fam is None:
                    self.ports.restore(snap)
                else:
                    ip_snaps[fam] = snap
            except MismatchedRange:
                log.warning("node port range changed; repair will rebuild it", range=snap.range)
        for fam, snap in ip_snaps.items():
            try:
                self.ips.restore({fam: snap})
            except MismatchedRange:
                log.warning("service CIDR changed; repair will rebuild it", range=snap.range)

    async def _persist(self, ips: DualStackAllocator, ports: NodePortAllocator) -> None:
        before = self._snapshots(self.ips, self.ports)
        after = self._snapshots(ips, ports)
        for name, snap in after.items():
            if before.get(name) == snap:
                continue
            obj = {"apiVersion": "v1", "kind": "RangeAllocation", "metadata": {"name": name}}
            obj.update(snap.to_dict())
            entry = await self.store.update(Key(RESOURCE, "", name), obj, expect_rv=self._rv[name])
            self._rv[name] = entry.rv

    async def transact(
        self, decide: Callable[[DualStackAllocator, NodePortAllocator], None], dry_run: bool = False
    ) -> None:
        """Run ``decide`` on copies and persist the result with compare-and-swap."""
        for _ in range(MAX_ATTEMPTS):
            ips, ports = self.ips.copy(self.rng), self.ports.copy(self.rng)
            decide(ips, ports)
            if dry_run:
                return
            try:
                await self._persist(ips, ports)
            except Conflict:
                await self.load()
                continue
            self.ips, self.ports = ips, ports
            return
        raise errors.conflict("", "services", "", "allocation state changed too often; retry")

    # ------------------------------------------------------------ admission
    async def admit_create(self, spec: KindSpec, obj: Obj, dry_run: bool) -> None:
        if spec.kind == "Service" and spec.group == "":
            await self._run(obj, None, dry_run)

    async def admit_update(self, spec: KindSpec, obj: Obj, old: Obj, dry_run: bool) -> None:
        if spec.kind == "Service" and spec.group == "":
            await self._run(obj, old, dry_run)

    async def admit_delete(self, spec: KindSpec, obj: Obj, dry_run: bool) -> None:
        if spec.kind == "Service" and spec.group == "" and not dry_run:
            await self.transact(lambda ips, ports: release_service(obj, ips, ports))

    async def _run(self, obj: Obj, old: Obj | None, dry_run: bool) -> None:
        # Each attempt decides on a fresh copy of the spec: a retried
        # transaction must not see values picked by the failed attempt.
        original = obj.get("spec") or {}
        decided: list[Obj] = []

        def decide(ips: DualStackAllocator, ports: NodePortAllocator) -> None:
            work = dict(obj)
            work["spec"] = _deep(original)
            allocate_service(work, old, ips, ports)
            decided[:] = [work["spec"]]

        try:
            await self.transact(decide, dry_run)
        except AllocationInvalid as e:
            name = obj.get("metadata", {}).get("name", "")
            raise errors.invalid("", "Service", name, e.errs) from None
        except AllocationFailed as e:
            raise errors.internal(str(e)) from None
        obj["spec"] = decided[0]

    def is_cluster_ip(self, ip: str) -> bool:
        """Whether ``ip`` is an allocated ClusterIP (endpoint validation)."""
        try:
            return self.ips.has(ip)
        except AllocatorError:
            return False

    # --------------------------------------------------------------- repair
    async def repair_once(self) -> None:
        """One level-driven repair pass over the stored Services."""
        await self.load()
        entries, _ = await self.store.list("services")
        services = [e.obj for e in entries]
        r_ips = repair_ips(self.ips, services, self._ip_leaks)
        r_ports = repair_ports(self.ports, services, self._port_leaks)
        if r_ips.changed or r_ports.changed:
            try:
                await self._persist(r_ips.rebuilt, r_ports.rebuilt)
            except Conflict:
                return
            self.ips, self.ports = r_ips.rebuilt, r_ports.rebuilt
        self._ip_leaks, self._port_leaks = dict(r_ips.leaks), dict(r_ports.leaks)
        for ev in [*r_ips.events, *r_ports.events]:
            log.warning(
                "service allocation repair",
                reason=ev.reason,
                service=f"{ev.namespace}/{ev.name}",
                message=ev.message,
            )
            if self.record_event is not None:
                with contextlib.suppress(Exception):
                    await self.record_event(ev)

    async def run_repair(self, interval: float = REPAIR_INTERVAL) -> None:
        while True:
            try:
                await self.repair_once()
            except Exception:
                log.exception("service allocation repair failed; will retry")
            await asyncio.sleep(interval)


def _deep(v: Any) -> Any:
    if isinstance(v, dict):
        return {k: _deep(x) for k, x in v.items()}
    if isinstance(v, list):
        return [_deep(x) for x in v]
    return v


__all__ = [
    "AllocationFailed",
    "AllocationInvalid",
    "Full",
    "ServiceAllocation",
    "allocate_service",
    "release_service",
]
