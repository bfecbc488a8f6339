"""The nftables dataplane: transactions over the ``svcnet`` tables, and the sync loop's side of them.

Theory of operation (upstream ``pkg/proxy/nftables``). A ``Transaction`` is
one sync's changes as structured ops plus the nft script they render to,
applied in ONE ``nft -f`` batch (atomic: all or nothing):

- ``render_full`` replaces each family's table (``add table; delete table;
  table {...}``), which also drops ClientIP affinity entries (conntrack
  keeps established flows);
- ``render_partial`` diffs what the previous and current plans of the
  changed Services render to (``svcnet.proxy.nft_render``) and touches only
  those objects, in an order the kernel accepts in one batch: flush rewritten
  and obsolete chains, delete elements, delete chains and sets, add sets,
  add chains, add rules, add elements (a rule may only name chains and sets
  that exist at that point). Unchanged affinity sets are never touched, so
  stickiness survives endpoint changes. It must be given whole Services (all
  ports), and the previous plans must be what was last applied.

``NftablesDataplane`` remembers the plans it last programmed per family and
Service. A sync gets the trackers' new states (``svcnet.proxy.changes``) and
the Services that changed, renders a partial transaction for them, or a full
one on the first sync, after a failed one, when asked (``changed=None``, the
periodic resync) and when the node's IPs, name or topology labels change;
applies it through its writer, then the UDP conntrack cleanup. A failed apply
leaves the kernel unchanged, sets ``need_full_sync`` and re-raises
``NftError``: the sync runner logs, counts and retries, and the retry is full.

Everything here is pure but ``NftablesDataplane.sync``, whose I/O is the
injected writer (``NftWriter`` or ``FakeNftWriter`` in ``svcnet.proxy.nftwriter``).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol

from svcnet.proxy.changes import ConntrackCleanup
from svcnet.proxy.model import FAMILIES, IPV4, ProxyState, ServiceName
from svcnet.proxy.nft_render import (
    TABLE,
    TABLE_FAMILY,
    Chain,
    Element,
    NamedSet,
    RenderOptions,
    TableObjects,
    element_text,
    plans_objects,
    table_objects,
    table_text,
)
from svcnet.proxy.plan import ServicePlan, plan_services


class NftError(Exception):
    """An nft (or conntrack) command failed; ``stderr`` holds its message."""

    def __init__(
        self,
        message: str,
        *,
        stderr: str = "",
        command: Sequence[str] = (),
        returncode: int | None = None,
    ) -> None:
        super().__init__(f"{message}: {stderr.strip()}" if stderr else message)
        self.stderr = stderr
        self.command = tuple(command)
        self.returncode = returncode


class ConntrackError(NftError):
    """A conntrack cleanup command failed (the rules were applied)."""


# --- transactions ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ReplaceTable:
    """Recreate the family's table with exactly these objects."""

    objects: TableObjects


@dataclass(frozen=True, slots=True)
class FlushChain:
    family: str
    name: str


@dataclass(frozen=True, slots=True)
class DeleteElement:
    family: str
    element: Element


@dataclass(frozen=True, slots=True)
class DeleteChain:
    family: str
    name: str


@dataclass(frozen=True, slots=True)
class DeleteSet:
    family: str
    name: str


@dataclass(frozen=True, slots=True)
class AddSet:
    family: str
    set: NamedSet


@dataclass(frozen=True, slots=True)
class AddChain:
    """Create an empty chain (before any rule or element refers to it)."""

    family: str
    chain: Chain


@dataclass(frozen=True, slots=True)
class FillChain:
    """Append the chain's rules (the chain exists: created, or flushed, earlier in the batch)."""

    family: str
    chain: Chain


@dataclass(frozen=True, slots=True)
class AddElement:
    family: str
    element: Element


Op = (
    ReplaceTable
    | FlushChain
    | DeleteElement
    | DeleteChain
    | DeleteSet
    | AddSet
    | AddChain
    | FillChain
    | AddElement
)


@dataclass(frozen=True)
class Transaction:
    """One sync's changes: structured ``ops`` and the nft script they render to.

    ``full`` transactions replace whole tables; ``rules`` counts the rules
    written, ``chains`` the chains written or created. An empty partial
    transaction (nothing changed) is falsy and need not be applied.
    """

    ops: tuple[Op, ...]
    script: str
    full: bool
    families: tuple[str, ...]
    chains: int = 0
    rules: int = 0
    elements: int = 0

    def __bool__(self) -> bool:
        return bool(self.ops)

    def __str__(self) -> str:
        return self.script


class NftApplier(Protocol):
    """What the dataplane needs of a writer (``NftWriter`` and ``FakeNftWriter``)."""

    def apply(self, tx: Transaction | str) -> None: ...

    def dump(self, family: str = IPV4) -> str: ...

    def flush_conntrack(self, cleanup: ConntrackCleanup) -> int: ...


# --- scripts ---------------------------------------------------------------------------------


def _op_text(op: Op) -> list[str]:
    if isinstance(op, ReplaceTable):
        where = f"{TABLE_FAMILY[op.objects.family]} {TABLE}"
        return [f"add table {where}", f"delete table {where}", table_text(op.objects).rstrip("\n")]
    where = f"{TABLE_FAMILY[op.family]} {TABLE}"
    if isinstance(op, FlushChain):
        return [f"flush chain {where} {op.name}"]
    if isinstance(op, DeleteElement):
        return [f"delete element {where} {op.element.container} {{ {op.element.key} }}"]
    if isinstance(op, DeleteChain):
        return [f"delete chain {where} {op.name}"]
    if isinstance(op, DeleteSet):
        return [f"delete set {where} {op.name}"]
    if isinstance(op, AddSet):
        kind = "map" if op.set.is_map else "set"
        return [f"add {kind} {where} {op.set.name} {{ {'; '.join(op.set.spec)}; }}"]
    if isinstance(op, AddChain):
        comment = f' comment "{op.chain.comment}";' if op.chain.comment else ""
        return [f"add chain {where} {op.chain.name} {{{comment} }}"]
    if isinstance(op, FillChain):
        return [f"add rule {where} {op.chain.name} {rule}" for rule in op.chain.rules]
    return [f"add element {where} {op.element.container} {{ {element_text(op.element)} }}"]


def script_text(ops: Iterable[Op]) -> str:
    """The nft script (``nft -f``) of a list of ops."""
    lines = [line for op in ops for line in _op_text(op)]
    return "\n".join(lines) + "\n" if lines else ""


def _transaction(ops: list[Op], full: bool, families: Iterable[str]) -> Transaction:
    chains = rules = elements = 0
    for op in ops:
        if isinstance(op, ReplaceTable):
            chains += len(op.objects.chains)
            rules += op.objects.rule_count()
            elements += len(op.objects.elements)
        elif isinstance(op, FillChain):
            chains += 1
            rules += len(op.chain.rules)
        elif isinstance(op, AddElement):
            elements += 1
    return Transaction(tuple(ops), script_text(ops), full, tuple(families), chains, rules, elements)


# --- full and partial syncs ----------------------------------------------------------------------


def render_full(
    plans: Mapping[str, Iterable[ServicePlan]],
    node_ips: Mapping[str, Iterable[str]] | None = None,
    options: RenderOptions | None = None,
) -> Transaction:
    """Replace the table of every family in ``plans`` (its keys) atomically.

    Args:
        plans: per family, every service port's plan.
        node_ips: per family, the addresses accepting NodePorts.
        options: dataplane settings.
    """
    ips = node_ips or {}
    families = [f for f in FAMILIES if f in plans]
    ops: list[Op] = [
        ReplaceTable(table_objects(plans[f], f, ips.get(f, ()), options)) for f in families
    ]
    return _transaction(ops, True, families)


def diff_ops(old: TableObjects, new: TableObjects) -> list[Op]:
    """The ops turning a table holding ``old`` into one holding ``new`` (other objects untouched).

    Ordered so that nothing is deleted while still referenced and nothing is
    referenced before it exists: flushes, element deletions, chain and set
    deletions, set additions, chain creations, rules, element additions.
    """
    family = new.family
    redefined = {n for n, s in new.sets.items() if n in old.sets and old.sets[n] != s}
    new_sets = [s for n, s in new.sets.items() if n not in old.sets or n in redefined]
    gone_sets = [n for n in old.sets if n not in new.sets]

    def uses_redefined(chain: Chain) -> bool:
        return any(f"@{n} " in rule for n in redefined for rule in chain.rules)

    rewrite = [
        c
        for n, c in new.chains.items()
        if n in old.chains and (old.chains[n] != c or uses_redefined(old.chains[n]))
    ]
    create = [c for n, c in new.chains.items() if n not in old.chains]
    gone_chains = [n for n in old.chains if n not in new.chains]

    removed = [e for k, e in old.elements.items() if new.elements.get(k) != e]
    added = [e for k, e in new.elements.items() if old.elements.get(k) != e]

    ops: list[Op] = [FlushChain(family, c.name) for c in rewrite]
    ops += [FlushChain(family, n) for n in gone_chains]
    ops += [DeleteElement(family, e) for e in removed]
    ops += [DeleteChain(family, n) for n in gone_chains]
    ops += [DeleteSet(family, n) for n in (*gone_sets, *sorted(redefined))]
    ops += [AddSet(family, s) for s in new_sets]
    ops += [AddChain(family, c) for c in create]
    ops += [FillChain(family, c) for c in (*create, *rewrite)]
    ops += [AddElement(family, e) for e in added]
    return ops


def render_partial(
    previous: Mapping[str, Iterable[ServicePlan]],
    current: Mapping[str, Iterable[ServicePlan]],
    options: RenderOptions | None = None,
) -> Transaction:
    """Rewrite only the objects of changed Services, in one atomic transaction.

    Args:
        previous: per family, the plans last applied for the changed
            Services (every port of each; empty for an added Service).
        current: per family, their plans now (empty for a deleted Service).
        options: dataplane settings (as in the last full sync).

    Node IPs or options changing need ``render_full``.
    """
    families = [f for f in FAMILIES if f in previous or f in current]
    ops: list[Op] = []
    for family in families:
        old = plans_objects(previous.get(family, ()), family, options)
        new = plans_objects(current.get(family, ()), family, options)
        ops += diff_ops(old, new)
    return _transaction(ops, False, families)


def render_states(
    states: Mapping[str, ProxyState], options: RenderOptions | None = None
) -> Transaction:
    """Plan every Service of each family's state and render a full sync (``--dry-run``)."""
    opts = options or RenderOptions()
    plans = {f: list(plan_services(s, None, opts.plan).values()) for f, s in states.items()}
    return render_full(plans, {f: s.node_ips for f, s in states.items()}, opts)


# --- the dataplane ------------------------------------------------------------------------------

_Programmed = dict[str, dict[ServiceName, tuple[ServicePlan, ...]]]


def _by_service(plans: Iterable[ServicePlan]) -> dict[ServiceName, tuple[ServicePlan, ...]]:
    grouped: dict[ServiceName, list[ServicePlan]] = {}
    for plan in plans:
        grouped.setdefault(plan.name.service, []).append(plan)
    return {svc: tuple(p) for svc, p in grouped.items()}


class NftablesDataplane:
    """Programs ``svcnet`` tables from proxy states, incrementally when it can.

    Args:
        writer: applies transactions (``NftWriter`` or ``FakeNftWriter``).
        options: rendering and planning options (fixed for the dataplane's life).
    """

    def __init__(self, writer: NftApplier, options: RenderOptions | None = None) -> None:
        self.writer = writer
        self.options = options or RenderOptions()
        self.need_full_sync = True
        self._programmed: _Programmed = {}
        self._node: dict[str, tuple[str, tuple[str, ...], dict[str, str]]] = {}

    def _node_changed(self, states: Mapping[str, ProxyState]) -> bool:
        now = {f: (s.node_name, tuple(s.node_ips), dict(s.node_labels)) for f, s in states.items()}
        return now != self._node

    def render(
        self, states: Mapping[str, ProxyState], changed: Iterable[ServiceName] | None = None
    ) -> tuple[Transaction, _Programmed]:
        """The transaction the next sync would apply, and what would then be programmed (pure)."""
        families = [f for f in FAMILIES if f in states]
        opts = self.options
        if self.need_full_sync or changed is None or self._node_changed(states):
            plans = {f: list(plan_services(states[f], None, opts.plan).values()) for f in families}
            tx = render_full(plans, {f: states[f].node_ips for f in families}, opts)
            return tx, {f: _by_service(plans[f]) for f in families}
        services = sorted(set(changed))
        previous: dict[str, list[ServicePlan]] = {}
        current: dict[str, list[ServicePlan]] = {}
        programmed = {f: dict(self._programmed.get(f, {})) for f in families}
        for family in families:
            known = programmed[family]
            previous[family] = [p for svc in services for p in known.get(svc, ())]
            now = _by_service(plan_services(states[family], services, opts.plan).values())
            current[family] = [p for plans in now.values() for p in plans]
            for svc in services:
                if svc in now:
                    known[svc] = now[svc]
                else:
                    known.pop(svc, None)
        return render_partial(previous, current, opts), programmed

    def sync(
        self,
        states: Mapping[str, ProxyState],
        changed: Iterable[ServiceName] | None = None,
        conntrack: ConntrackCleanup | None = None,
    ) -> Transaction:
        """Program ``states``: only the ``changed`` Services when possible, else everything.

        Args:
            states: per family, the trackers' current state.
            changed: Services whose ports or endpoints changed since the last
                sync (``ApplyResult.changed``); None forces a full sync.
            conntrack: stale UDP entries to delete once the rules are in.

        Returns:
            The transaction applied (falsy when nothing needed changing).

        Raises:
            NftError: the transaction (nothing applied; the next sync is
                full) or the conntrack cleanup (rules applied) failed.
        """
        tx, programmed = self.render(states, changed)
        try:
            if tx:
                self.writer.apply(tx)
        except NftError:
            self.need_full_sync = True
            raise
        self._programmed = programmed
        self._node = {
            f: (s.node_name, tuple(s.node_ips), dict(s.node_labels)) for f, s in states.items()
        }
        self.need_full_sync = False
        if conntrack:
            self.writer.flush_conntrack(conntrack)
        return tx

    def programmed(self, family: str) -> dict[ServiceName, tuple[ServicePlan, ...]]:
        """The plans last applied for ``family``, by Service."""
        return dict(self._programmed.get(family, {}))
