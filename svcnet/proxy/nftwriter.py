"""nftables writer: applies one rendered transaction per sync to a node's network namespace.

Theory of operation: the renderer (``svcnet.proxy.nft_render``) decides
everything; the writer only moves a script into the kernel, in ONE
``nft -f`` run per sync (the kernel applies the batch atomically or not at
all). Two backends:

- **libnftables in-process** (``libnftables.so.1`` through ctypes): a
  dedicated worker thread enters the node's netns with ``setns(2)`` (a
  network namespace is per thread, so the rest of the process stays where
  it is) and owns the ``nft_ctx``; every call runs on that thread. No
  process spawn per sync.
- **subprocess** fallback: ``ip netns exec <ns> nft -f -`` (plain
  ``nft -f -`` with no netns), the script on stdin.

``use_libnftables=None`` picks the library when it loads and the netns can
be entered, else the subprocess. Failures of either become one ``NftError``
carrying nft's stderr (``NftError`` and ``NftApplier``, the protocol both
writers implement, live in ``svcnet.proxy.nftables``; re-exported here).
Conntrack cleanup (stale UDP flows) runs ``conntrack -D`` in the same netns;
"0 flow entries" is not an error.

``FakeNftWriter`` implements the same protocol for unit tests: it keeps the
applied transactions and a model of each table (``state(family)``), applying
ops with the kernel's rules (existence, references, element values) so a
badly ordered or stale partial transaction fails there too.

Cost (kernel 6.18, nft 1.0.6): libnftables saves the process spawn, but
nft itself re-reads the table (chains, sets, elements) before any batch
that adds rules or elements: 30 ms per partial sync at 1,000 Services x 10
endpoints, 1.3-2.4 s at 10,000. TODO: for upstream-class latency at that
scale, build the netlink batch directly instead of parsing nft syntax
(pyroute2 speaks nfnetlink), keeping the script for ``--dry-run`` and as
the fallback.
"""

from __future__ import annotations

import concurrent.futures
import ctypes
import ctypes.util
import os
import re
import subprocess
import threading
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from typing import Final, NoReturn

from svcnet.proxy.changes import ConntrackCleanup
from svcnet.proxy.model import FAMILIES, IPV4, IPV6, ip_family
from svcnet.proxy.nft_render import TABLE, TABLE_FAMILY, TableObjects, table_text
from svcnet.proxy.nftables import (
    AddChain,
    AddElement,
    AddSet,
    ConntrackError,
    DeleteChain,
    DeleteElement,
    DeleteSet,
    FillChain,
    FlushChain,
    NftApplier,
    NftError,
    Op,
    ReplaceTable,
    Transaction,
)

__all__ = [
    "BACKEND_LIBNFTABLES",
    "BACKEND_SUBPROCESS",
    "ConntrackError",
    "FakeNftWriter",
    "NftApplier",
    "NftError",
    "NftWriter",
    "conntrack_commands",
]

LIBNFTABLES: Final = "libnftables.so.1"
NETNS_DIR: Final = "/run/netns"
CLONE_NEWNET: Final = 0x40000000
BACKEND_LIBNFTABLES: Final = "libnftables"
BACKEND_SUBPROCESS: Final = "subprocess"


def _script(tx: Transaction | str) -> str:
    return tx if isinstance(tx, str) else tx.script


# --- libnftables ------------------------------------------------------------------------------


class _Libnftables:
    """A ctypes binding of the few libnftables calls used; one context, used from one thread."""

    def __init__(self) -> None:
        lib = ctypes.CDLL(LIBNFTABLES, use_errno=True)
        lib.nft_ctx_new.restype = ctypes.c_void_p
        lib.nft_ctx_new.argtypes = [ctypes.c_uint32]
        lib.nft_ctx_free.argtypes = [ctypes.c_void_p]
        lib.nft_ctx_buffer_output.argtypes = [ctypes.c_void_p]
        lib.nft_ctx_buffer_error.argtypes = [ctypes.c_void_p]
        lib.nft_ctx_get_output_buffer.restype = ctypes.c_char_p
        lib.nft_ctx_get_output_buffer.argtypes = [ctypes.c_void_p]
        lib.nft_ctx_get_error_buffer.restype = ctypes.c_char_p
        lib.nft_ctx_get_error_buffer.argtypes = [ctypes.c_void_p]
        lib.nft_run_cmd_from_buffer.restype = ctypes.c_int
        lib.nft_run_cmd_from_buffer.argtypes = [ctypes.c_void_p, ctypes.c_char_p]
        lib.nft_ctx_set_dry_run.argtypes = [ctypes.c_void_p, ctypes.c_bool]
        self._lib = lib
        self._ctx = lib.nft_ctx_new(0)
        if not self._ctx:
            raise OSError("nft_ctx_new failed")
        if lib.nft_ctx_buffer_output(self._ctx) or lib.nft_ctx_buffer_error(self._ctx):
            raise OSError("cannot buffer libnftables output")

    def run(self, script: str, dry_run: bool = False) -> tuple[int, str, str]:
        """Run a script (one batch; ``dry_run`` checks without committing): (rc, stdout, stderr)."""
        self._lib.nft_ctx_set_dry_run(self._ctx, dry_run)
        rc = self._lib.nft_run_cmd_from_buffer(self._ctx, script.encode())
        out = (self._lib.nft_ctx_get_output_buffer(self._ctx) or b"").decode(errors="replace")
        err = (self._lib.nft_ctx_get_error_buffer(self._ctx) or b"").decode(errors="replace")
        return rc, out, err

    def close(self) -> None:
        if self._ctx:
            self._lib.nft_ctx_free(self._ctx)
            self._ctx = None


def _enter_netns(netns: str | None) -> None:
    """Move the calling thread into ``/run/netns/<netns>`` (no-op for None)."""
    if netns is None:
        return
    libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
    fd = os.open(os.path.join(NETNS_DIR, netns), os.O_RDONLY | os.O_CLOEXEC)
    try:
        if libc.setns(fd, CLONE_NEWNET) != 0:
            errno = ctypes.get_errno()
            raise OSError(errno, f"setns({netns}): {os.strerror(errno)}")
    finally:
        os.close(fd)


class _LibnftablesWorker:
    """A thread living in the node's netns, owning the libnftables context."""

    def __init__(self, netns: str | None) -> None:
        self._local = threading.local()
        self._pool = concurrent.futures.ThreadPoolExecutor(
            1, thread_name_prefix=f"nft-{netns or 'self'}"
        )
        try:
            self._pool.submit(self._start, netns).result()
        except BaseException:
            self._pool.shutdown(wait=True)
            raise

    def _start(self, netns: str | None) -> None:
        _enter_netns(netns)
        self._local.nft = _Libnftables()

    def run(self, script: str, dry_run: bool = False) -> tuple[int, str, str]:
        return self._pool.submit(lambda: self._local.nft.run(script, dry_run)).result()

    def close(self) -> None:
        def stop() -> None:
            nft = getattr(self._local, "nft", None)
            if nft is not None:
                nft.close()

        self._pool.submit(stop).result()
        self._pool.shutdown(wait=True)


# --- the writer -------------------------------------------------------------------------------


class NftWriter:
    """Applies transactions to the ``svcnet`` tables of one network namespace.

    Args:
        netns: a named namespace (``ip netns``), or None for the caller's own.
        use_libnftables: True requires the in-process library, False never
            uses it, None (default) uses it when it loads.
        nft, conntrack, ip: the commands of the subprocess paths.
        timeout: seconds before a subprocess is abandoned.
    """

    def __init__(
        self,
        netns: str | None = None,
        *,
        use_libnftables: bool | None = None,
        nft: str = "nft",
        conntrack: str = "conntrack",
        ip: str = "ip",
        timeout: float = 300.0,
    ) -> None:
        self.netns = netns
        self._nft = nft
        self._conntrack = conntrack
        self._ip = ip
        self._timeout = timeout
        self._worker: _LibnftablesWorker | None = None
        self.library_error: str = ""
        if use_libnftables is not False:
            try:
                self._worker = _LibnftablesWorker(netns)
            except (OSError, AttributeError) as exc:
                self.library_error = str(exc)
                if use_libnftables:
                    raise NftError(f"libnftables unavailable: {exc}") from exc

    @property
    def backend(self) -> str:
        return BACKEND_LIBNFTABLES if self._worker is not None else BACKEND_SUBPROCESS

    def _prefix(self) -> list[str]:
        return [self._ip, "netns", "exec", self.netns] if self.netns else []

    def _run_nft(self, script: str, *, dry_run: bool = False) -> str:
        """Run one script (one batch) with the library or ``nft -f -``; returns nft's output."""
        if self._worker is not None:
            rc, out, err = self._worker.run(script, dry_run)
            if rc != 0:
                raise NftError("nft failed", stderr=err, command=("libnftables",), returncode=rc)
            return out
        cmd = [*self._prefix(), self._nft, *(("-c",) if dry_run else ()), "-f", "-"]
        try:
            proc = subprocess.run(
                cmd,
                input=script,
                capture_output=True,
                text=True,
                timeout=self._timeout,
                check=False,
            )
        except (OSError, subprocess.TimeoutExpired) as exc:
            raise NftError(f"cannot run {cmd[0]}: {exc}", command=cmd) from exc
        if proc.returncode != 0:
            raise NftError(
                "nft failed", stderr=proc.stderr, command=cmd, returncode=proc.returncode
            )
        return proc.stdout

    def apply(self, tx: Transaction | str) -> None:
        """Apply one transaction in one nft batch (atomic: all or nothing).

        Raises:
            NftError: nft rejected the batch (nothing was changed).
        """
        script = _script(tx)
        if script:
            self._run_nft(script)

    def check(self, tx: Transaction | str) -> None:
        """Validate a transaction against the kernel without committing it (``nft -c``)."""
        script = _script(tx)
        if script:
            self._run_nft(script, dry_run=True)

    def dump(self, family: str = IPV4) -> str:
        """``nft list table <ip|ip6> svcnet``; empty when the table does not exist."""
        try:
            return self._run_nft(f"list table {TABLE_FAMILY[family]} {TABLE}\n")
        except NftError as exc:
            if "No such file or directory" in exc.stderr:
                return ""
            raise

    def delete_tables(self, families: Iterable[str] = FAMILIES) -> None:
        """Remove the ``svcnet`` tables (missing ones are fine), e.g. when the proxy stops."""
        script = "".join(
            f"add table {TABLE_FAMILY[f]} {TABLE}\ndelete table {TABLE_FAMILY[f]} {TABLE}\n"
            for f in families
        )
        self._run_nft(script)

    def flush_conntrack(self, cleanup: ConntrackCleanup) -> int:
        """Delete stale UDP conntrack entries; returns how many commands ran.

        Raises:
            ConntrackError: a conntrack command failed (other than matching nothing).
        """
        commands = conntrack_commands(cleanup)
        for args in commands:
            cmd = [*self._prefix(), self._conntrack, *args]
            try:
                proc = subprocess.run(
                    cmd, capture_output=True, text=True, timeout=self._timeout, check=False
                )
            except (OSError, subprocess.TimeoutExpired) as exc:
                raise ConntrackError(f"cannot run {cmd[0]}: {exc}", command=cmd) from exc
            # conntrack exits 1 when nothing matched ("0 flow entries have been deleted").
            if proc.returncode != 0 and "0 flow entries" not in proc.stderr:
                raise ConntrackError(
                    "conntrack failed", stderr=proc.stderr, command=cmd, returncode=proc.returncode
                )
        return len(commands)

    def close(self) -> None:
        if self._worker is not None:
            self._worker.close()
            self._worker = None

    def __enter__(self) -> NftWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _family_args(ip: str) -> list[str]:
    return ["-f", "ipv6"] if ip_family(ip) == IPV6 else []


def conntrack_commands(cleanup: ConntrackCleanup) -> list[list[str]]:
    """The ``conntrack`` argument lists deleting a cleanup's UDP entries (sorted, deterministic)."""
    cmds: list[list[str]] = []
    for ip, port in sorted(cleanup.service_ip_ports):
        cmds.append(["-D", *_family_args(ip), "-p", "udp", "--orig-dst", ip, "--dport", str(port)])
    for port in sorted(cleanup.node_ports):
        for fam in ("ipv4", "ipv6"):
            cmds.append(["-D", "-f", fam, "-p", "udp", "--dport", str(port)])
    for ip, port, ep in sorted(cleanup.endpoint_flows):
        cmds.append(
            [
                "-D",
                *_family_args(ip),
                "-p",
                "udp",
                "--orig-dst",
                ip,
                "--dport",
                str(port),
                "--reply-src",
                ep,
            ]
        )
    for port, ep in sorted(cleanup.node_port_endpoint_flows):
        cmds.append(["-D", *_family_args(ep), "-p", "udp", "--dport", str(port), "--reply-src", ep])
    return cmds


# --- the fake ---------------------------------------------------------------------------------


@dataclass
class FakeNftWriter:
    """A writer keeping applied transactions and a model of each table (for unit tests).

    ``fail_next`` makes the next ``apply`` raise it (the state is unchanged,
    as the kernel's would be). Ops are checked like the kernel does: a flush
    or delete of something missing, a deletion of a referenced chain or set,
    or re-adding an element with another value fails the whole transaction.
    """

    applied: list[Transaction] = field(default_factory=list)
    conntrack: list[ConntrackCleanup] = field(default_factory=list)
    tables: dict[str, TableObjects] = field(default_factory=dict)
    fail_next: NftError | None = None

    def apply(self, tx: Transaction | str) -> None:
        if self.fail_next is not None:
            exc, self.fail_next = self.fail_next, None
            raise exc
        if isinstance(tx, str):
            raise TypeError("FakeNftWriter applies Transactions, not scripts")
        tables = {f: t.copy() for f, t in self.tables.items()}
        for op in tx.ops:
            _apply_op(tables, op)
        self.tables = tables
        self.applied.append(tx)

    def state(self, family: str = IPV4) -> TableObjects | None:
        return self.tables.get(family)

    def dump(self, family: str = IPV4) -> str:
        table = self.tables.get(family)
        return table_text(table) if table is not None else ""

    def flush_conntrack(self, cleanup: ConntrackCleanup) -> int:
        self.conntrack.append(cleanup)
        return len(conntrack_commands(cleanup))


def _fail(message: str) -> NoReturn:
    raise NftError("nft failed", stderr=message)


_CHAIN_REF = re.compile(r"\b(?:goto|jump) ([^\s,}]+)")
_SET_REF = re.compile(r"@([^\s,}]+)")


def _references(text: str) -> tuple[list[str], list[str]]:
    """The chains and the sets a rule or element value names."""
    return _CHAIN_REF.findall(text), _SET_REF.findall(text)


def _referenced(table: TableObjects, name: str, *, is_set: bool = False) -> bool:
    texts = [r for c in table.chains.values() for r in c.rules]
    texts += [e.value for e in table.elements.values() if e.value]
    return any(name in _references(text)[1 if is_set else 0] for text in texts)


def _check_refs(table: TableObjects, text: str) -> None:
    chains, sets = _references(text)
    for name in chains:
        if name not in table.chains:
            _fail(f"no chain {name} (referenced by: {text})")
    for name in sets:
        if name not in table.sets:
            _fail(f"no set {name} (referenced by: {text})")


def _apply_op(tables: dict[str, TableObjects], op: Op) -> None:
    """Apply one op to the model, failing where the kernel would."""
    if isinstance(op, ReplaceTable):
        tables[op.objects.family] = op.objects.copy()
        return
    table = tables.get(op.family)
    if table is None:
        _fail(f"table {TABLE_FAMILY[op.family]} {TABLE} does not exist")
    if isinstance(op, FlushChain):
        chain = table.chains.get(op.name)
        if chain is None:
            _fail(f"flush: no chain {op.name}")
        table.chains[op.name] = replace(chain, rules=())
    elif isinstance(op, DeleteElement):
        if table.elements.pop((op.element.container, op.element.key), None) is None:
            _fail(f"delete: no element {op.element.key} in {op.element.container}")
    elif isinstance(op, DeleteChain):
        chain = table.chains.get(op.name)
        if chain is None or chain.rules:
            _fail(f"delete: chain {op.name} missing or not empty")
        if _referenced(table, op.name):
            _fail(f"delete: chain {op.name} is still referenced")
        del table.chains[op.name]
    elif isinstance(op, DeleteSet):
        if op.name not in table.sets or _referenced(table, op.name, is_set=True):
            _fail(f"delete: set {op.name} missing or still referenced")
        del table.sets[op.name]
        for key in [k for k in table.elements if k[0] == op.name]:
            del table.elements[key]
    elif isinstance(op, AddSet):
        table.sets[op.set.name] = op.set
    elif isinstance(op, AddChain):
        table.chains.setdefault(op.chain.name, replace(op.chain, rules=()))
    elif isinstance(op, FillChain):
        existing = table.chains.get(op.chain.name)
        if existing is None:
            _fail(f"add rule: no chain {op.chain.name}")
        for rule in op.chain.rules:
            _check_refs(table, rule)
        table.chains[op.chain.name] = replace(existing, rules=existing.rules + op.chain.rules)
    elif isinstance(op, AddElement):
        key = (op.element.container, op.element.key)
        old = table.elements.get(key)
        if old is not None and old.value != op.element.value:
            _fail(f"add element: {op.element.key} exists with another value")
        if op.element.container not in table.sets:
            _fail(f"add element: no set {op.element.container}")
        _check_refs(table, op.element.value or "")
        table.elements[key] = op.element
