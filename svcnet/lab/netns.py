"""Make, inspect and remove a lab cluster's namespaces (shell, pyroute2).

Theory of operation. `apply_topology` realises a `Topology` (see
`svcnet.lab.topology`) with netlink sockets opened *inside* each namespace
(``IPRoute(netns=..., flags=0)``, which never creates a namespace by
accident). Veth pairs are created inside a lab namespace with the peer
placed directly into the other lab namespace (IFLA_NET_NS_FD on the peer),
so no link ever exists in the root namespace, not even for a moment.
Sysctls are written from a short-lived thread that has `setns`-ed into the
namespace (a thread's /proc/sys/net is its own namespace's), so there is
no subprocess per step; the thread exits afterwards and its namespace
change dies with it. pyroute2's blocking API cannot run on a thread that
runs an asyncio loop, so the public functions are `loop_safe` (they move
to a helper thread there); async callers should still use
``asyncio.to_thread`` so the loop is not blocked.

Safety invariants (../shared/DESIGN.md, absolute): nothing here adds an
address, route, rule or link to the root namespace; every namespace is
named ``<cluster>-...`` and matched exactly by `cluster_netns_re`, which is
also how `teardown` finds leftovers of a crashed run. The only root
namespace objects teardown ever deletes are links matching
`cluster_link_re` (none should exist; it is a belt-and-braces sweep).
Teardown removes the namespace names; processes still running inside keep
their (now nameless, unreachable) namespace alive, so supervisors stop
them first (`list_leftovers(name).pids`).
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import errno
import functools
import ipaddress
import os
import shutil
import socket
import subprocess
import sys
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final, ParamSpec, TypeVar

from pyroute2 import IPRoute, NetlinkError
from pyroute2 import netns as pyroute2_netns

from svcnet.lab.errors import CommandError, LabExistsError, NetnsError
from svcnet.lab.topology import (
    RTPROT_SVCNET,
    Route,
    Topology,
    cluster_link_re,
    cluster_netns_re,
    diff_routes,
)

NETNS_RUN_DIR: Final = "/run/netns"
ETC_NETNS_DIR: Final = "/etc/netns"
CLONE_NEWNET: Final = 0x40000000
IFA_F_NODAD: Final = 0x02  # IPv6 addresses usable at once, no DAD wait
MAIN_TABLE: Final = 254

NODE_SYSCTLS: Final[Mapping[str, str]] = {
    "net.ipv4.ip_forward": "1",
    # br_netfilter: pod-to-pod traffic on one bridge passes conntrack/NAT,
    # as real clusters require (hairpin Service traffic needs it).
    "net.bridge.bridge-nf-call-iptables": "1",
    "net.bridge.bridge-nf-call-ip6tables": "1",
}
# Duplicate address detection of the IPv6 link-local addresses would keep a
# fresh link off IPv6 forwarding/ND for ~2 s; in a lab nothing can clash.
NO_DAD: Final[Mapping[str, str]] = {
    "net.ipv6.conf.all.accept_dad": "0",
    "net.ipv6.conf.default.accept_dad": "0",
}
NODE_SYSCTLS_V6: Final[Mapping[str, str]] = {"net.ipv6.conf.all.forwarding": "1"}
UNDERLAY_SYSCTLS: Final[Mapping[str, str]] = {
    # The underlay is a plain switch and its gateway a dead end.
    "net.bridge.bridge-nf-call-iptables": "0",
    "net.bridge.bridge-nf-call-ip6tables": "0",
    "net.ipv4.ip_forward": "0",
}
# Sysctls that exist only when the kernel has the feature (br_netfilter).
OPTIONAL_SYSCTL_PREFIXES: Final = ("net.bridge.",)

T = TypeVar("T")
P = ParamSpec("P")
_libc = ctypes.CDLL(None, use_errno=True)


# --- low-level helpers, shared with svcnet.node.cni -------------------------


@contextlib.contextmanager
def map_exceptions(op: str, netns: str | None = None) -> Iterator[None]:
    """Turn netlink / OS errors into `NetnsError` naming the operation."""
    try:
        yield
    except NetnsError:
        raise
    except (NetlinkError, OSError) as e:
        raise NetnsError(op, netns, e) from e


def _check_netns_name(netns: str) -> None:
    # Never fall back to the root namespace, never escape /run/netns.
    if not netns or "/" in netns or netns in (".", ".."):
        raise ValueError(f"bad network namespace name {netns!r}")


def netns_path(netns: str) -> str:
    _check_netns_name(netns)
    return os.path.join(NETNS_RUN_DIR, netns)


def netns_exists(netns: str) -> bool:
    return os.path.exists(netns_path(netns))


def list_netns() -> list[str]:
    """Names under /run/netns."""
    try:
        return sorted(os.listdir(NETNS_RUN_DIR))
    except FileNotFoundError:
        return []


def create_netns(netns: str) -> None:
    """Create a named network namespace (exclusive: fails if it exists)."""
    _check_netns_name(netns)
    with map_exceptions("create netns", netns):
        pyroute2_netns.create(netns)


def remove_netns(netns: str) -> bool:
    """Remove a named namespace; False when it was not there."""
    if not netns_exists(netns):
        return False
    with map_exceptions("remove netns", netns):
        try:
            pyroute2_netns.remove(netns)
        except FileNotFoundError:
            return False
    return True


@contextlib.contextmanager
def ipr(netns: str) -> Iterator[IPRoute]:
    """An rtnetlink socket inside ``netns``; never creates the namespace."""
    path = netns_path(netns)
    with map_exceptions("open netlink socket", netns):
        if not os.path.exists(path):
            raise FileNotFoundError(errno.ENOENT, "no such network namespace", path)
        sock = IPRoute(netns=netns, flags=0)
    try:
        yield sock
    finally:
        sock.close()


def _in_thread(fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    box: dict[str, Any] = {}

    def target() -> None:
        try:
            box["value"] = fn(*args, **kwargs)
        except BaseException as e:  # re-raised in the caller's thread
            box["error"] = e

    t = threading.Thread(target=target, name=getattr(fn, "__name__", "lab"), daemon=True)
    t.start()
    t.join()
    if "error" in box:
        raise box["error"]
    return box["value"]


def loop_safe(fn: Callable[P, T]) -> Callable[P, T]:
    """Make a blocking pyroute2 function callable from inside an asyncio loop.

    pyroute2's synchronous API drives its own event loop and fails with
    "This event loop is already running" on a thread that runs one; such
    calls are moved to a helper thread (still blocking: async callers
    should prefer ``await asyncio.to_thread(fn, ...)``).
    """

    @functools.wraps(fn)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> T:
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            return fn(*args, **kwargs)
        return _in_thread(fn, *args, **kwargs)

    return wrapper


def run_in_netns(netns: str, fn: Callable[..., T], *args: Any) -> T:
    """Call ``fn(*args)`` on a fresh thread that has entered ``netns``.

    Only that thread changes namespace, and it exits afterwards, so the
    caller (and any asyncio loop) stays where it was.
    """
    path = netns_path(netns)

    def entered() -> T:
        fd = os.open(path, os.O_RDONLY)
        try:
            if _libc.setns(fd, CLONE_NEWNET) != 0:
                err = ctypes.get_errno()
                raise OSError(err, os.strerror(err), path)
        finally:
            os.close(fd)
        return fn(*args)

    return _in_thread(entered)


def _write_sysctls(values: Mapping[str, str]) -> dict[str, str]:
    done = {}
    for key, value in values.items():
        path = "/proc/sys/" + key.replace(".", "/")
        try:
            with open(path, "w") as f:
                f.write(value)
        except FileNotFoundError:
            if key.startswith(OPTIONAL_SYSCTL_PREFIXES):
                continue  # br_netfilter not available: nothing to set
            raise
        done[key] = value
    return done


def set_sysctls(netns: str, values: Mapping[str, str]) -> dict[str, str]:
    """Write sysctls inside ``netns``; returns the ones that exist and were set."""
    with map_exceptions("set sysctls", netns):
        return run_in_netns(netns, _write_sysctls, dict(values))


def read_sysctl(netns: str, key: str) -> str:
    def read() -> str:
        with open("/proc/sys/" + key.replace(".", "/")) as f:
            return f.read().strip()

    with map_exceptions(f"read sysctl {key}", netns):
        return run_in_netns(netns, read)


def link_index(sock: IPRoute, ifname: str) -> int | None:
    found = sock.link_lookup(ifname=ifname)
    return found[0] if found else None


def require_link(sock: IPRoute, ifname: str) -> int:
    idx = link_index(sock, ifname)
    if idx is None:
        raise OSError(errno.ENODEV, "no such device", ifname)
    return idx


def add_address(sock: IPRoute, index: int, cidr: str) -> None:
    """Add ``ip/prefix`` to a link (idempotent); IPv6 without DAD delay."""
    iface = ipaddress.ip_interface(cidr)
    kw: dict[str, Any] = {}
    if iface.version == 6:
        kw["flags"] = IFA_F_NODAD
    try:
        sock.addr(
            "add",
            index=index,
            address=str(iface.ip),
            prefixlen=iface.network.prefixlen,
            family=_family(iface.version),
            **kw,
        )
    except NetlinkError as e:
        if e.code != errno.EEXIST:
            raise


def set_up(sock: IPRoute, index: int, **kw: Any) -> None:
    sock.link("set", index=index, state="up", **kw)


def replace_route(sock: IPRoute, dst: str, via: str, oif: int) -> None:
    """``ip route replace dst via via dev oif proto 115`` (dst may be "default")."""
    version = ipaddress.ip_address(via).version
    if dst == "default":
        dst = "0.0.0.0/0" if version == 4 else "::/0"
    sock.route(
        "replace",
        dst=dst,
        gateway=via,
        oif=oif,
        proto=RTPROT_SVCNET,
        family=_family(version),
        table=MAIN_TABLE,
    )


def owned_routes(sock: IPRoute) -> list[Route]:
    """Non-default main-table routes with our protocol, as `Route` values."""
    names = {link["index"]: link.get_attr("IFLA_IFNAME") for link in sock.get_links()}
    out = []
    for family in (socket.AF_INET, socket.AF_INET6):
        for r in sock.get_routes(family=family, table=MAIN_TABLE):
            if r["proto"] != RTPROT_SVCNET or r["dst_len"] == 0:
                continue
            gw = r.get_attr("RTA_GATEWAY")
            dst = r.get_attr("RTA_DST")
            if gw is None or dst is None:
                continue
            out.append(Route(f"{dst}/{r['dst_len']}", gw, names.get(r.get_attr("RTA_OIF"), "")))
    return out


@loop_safe
def sync_host_routes(netns: str, desired: Iterable[Route]) -> tuple[list[Route], list[Route]]:
    """Make the node's host-gw routes exactly ``desired``; returns (put, deleted).

    Only routes with protocol `RTPROT_SVCNET` are touched, never the default
    route or the connected routes. The node agent calls this with
    `host_gw_routes(own_name, [NodeRouting.from_node(n) for n in nodes])`.
    """
    with ipr(netns) as sock, map_exceptions("sync host-gw routes", netns):
        put, delete = diff_routes(owned_routes(sock), desired)
        for r in delete:
            with contextlib.suppress(NetlinkError):
                sock.route(
                    "del",
                    dst=r.dst,
                    family=_family(r.family),
                    proto=RTPROT_SVCNET,
                    table=MAIN_TABLE,
                )
        for r in put:
            replace_route(sock, r.dst, r.via, require_link(sock, r.dev))
    return put, delete


def _family(version: int) -> int:
    return socket.AF_INET if version == 4 else socket.AF_INET6


# --- leftovers and teardown --------------------------------------------------


@dataclass(frozen=True)
class Leftovers:
    """What of cluster ``name`` exists on this machine."""

    name: str
    namespaces: tuple[str, ...] = ()
    root_links: tuple[str, ...] = ()  # should always be empty
    etc_dirs: tuple[str, ...] = ()  # /etc/netns/<ns> of pods
    pids: tuple[int, ...] = ()  # processes inside those namespaces

    def __bool__(self) -> bool:
        return bool(self.namespaces or self.root_links or self.etc_dirs or self.pids)


def _root_links(name: str) -> list[tuple[int, str]]:
    pattern = cluster_link_re(name)
    with IPRoute() as sock:  # read-only look at the root namespace
        return [
            (link["index"], ifname)
            for link in sock.get_links()
            if (ifname := link.get_attr("IFLA_IFNAME")) and pattern.match(ifname)
        ]


def _etc_dirs(name: str) -> list[str]:
    pattern = cluster_netns_re(name)
    try:
        return sorted(d for d in os.listdir(ETC_NETNS_DIR) if pattern.match(d))
    except FileNotFoundError:
        return []


def _pids_in(namespaces: Sequence[str]) -> list[int]:
    inodes = set()
    for ns in namespaces:
        with contextlib.suppress(OSError):
            st = os.stat(netns_path(ns))
            inodes.add((st.st_dev, st.st_ino))
    if not inodes:
        return []
    pids = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        with contextlib.suppress(OSError):
            st = os.stat(f"/proc/{entry}/ns/net")
            if (st.st_dev, st.st_ino) in inodes:
                pids.append(int(entry))
    return sorted(pids)


def cluster_namespaces(name: str) -> list[str]:
    pattern = cluster_netns_re(name)
    return [ns for ns in list_netns() if pattern.match(ns)]


@loop_safe
def list_leftovers(name: str) -> Leftovers:
    """Every namespace, stray link, /etc/netns dir and process of cluster ``name``."""
    namespaces = cluster_namespaces(name)
    with map_exceptions("list root links"):
        links = _root_links(name)
    return Leftovers(
        name=name,
        namespaces=tuple(namespaces),
        root_links=tuple(ifname for _, ifname in links),
        etc_dirs=tuple(_etc_dirs(name)),
        pids=tuple(_pids_in(namespaces)),
    )


@loop_safe
def teardown(name: str) -> Leftovers:
    """Remove every namespace, link and /etc/netns dir of cluster ``name``.

    Idempotent and safe after a crash: everything is found by its name
    alone. Returns what was removed. Pods go first so their veths vanish
    while the nodes still exist; the underlay last.
    """
    found = list_leftovers(name)

    def order(ns: str) -> int:
        suffix = ns[len(name) + 1 :]
        return 0 if suffix.startswith("p-") else 2 if suffix == "net" else 1

    errors: list[NetnsError] = []
    for ns in sorted(found.namespaces, key=order):
        try:
            remove_netns(ns)
        except NetnsError as e:
            errors.append(e)
    if found.root_links:
        with IPRoute() as sock:
            for index, ifname in _root_links(name):
                try:
                    sock.link("del", index=index)
                except NetlinkError as e:
                    if e.code != errno.ENODEV:
                        errors.append(NetnsError(f"delete link {ifname}", None, e))
    for d in found.etc_dirs:
        shutil.rmtree(os.path.join(ETC_NETNS_DIR, d), ignore_errors=True)
    if errors:
        raise errors[0]
    return found


# --- apply -------------------------------------------------------------------


@dataclass
class Lab:
    """A realised topology; `teardown` (or leaving the ``with``) removes it."""

    topology: Topology

    @property
    def name(self) -> str:
        return self.topology.name

    def teardown(self) -> Leftovers:
        return teardown(self.topology.name)

    def __enter__(self) -> Lab:
        return self

    def __exit__(self, *_: object) -> None:
        self.teardown()


def _make_veth(in_netns: str, ifname: str, peer_netns: str, peer_ifname: str) -> int:
    """A veth pair created in ``in_netns`` with its peer placed in ``peer_netns``."""
    with ipr(in_netns) as sock, map_exceptions(f"create veth {ifname}", in_netns):
        sock.link(
            "add",
            ifname=ifname,
            kind="veth",
            peer={"ifname": peer_ifname, "net_ns_fd": peer_netns},
        )
        return require_link(sock, ifname)


def _setup_endpoint(
    netns: str,
    ifname: str,
    addresses: Sequence[str],
    gateways: Sequence[str],
    routes: Sequence[Route],
) -> None:
    with ipr(netns) as sock, map_exceptions(f"configure {ifname}", netns):
        set_up(sock, require_link(sock, "lo"))
        idx = require_link(sock, ifname)
        for a in addresses:
            add_address(sock, idx, a)
        set_up(sock, idx)
        for gw in gateways:
            replace_route(sock, "default", gw, idx)
        for r in routes:
            replace_route(sock, r.dst, r.via, require_link(sock, r.dev))


@loop_safe
def apply_topology(topo: Topology, *, routes: bool = True, clean_leftovers: bool = False) -> Lab:
    """Create the namespaces, bridge, veths, addresses, routes and sysctls of ``topo``.

    Args:
        routes: install the planned host-gw routes (the node agent re-syncs
            them from the Nodes' real pod CIDRs with `sync_host_routes`).
        clean_leftovers: tear down an existing cluster of the same name first
            (the leftover of a crashed run) instead of failing.

    Raises:
        LabExistsError: namespaces of the cluster exist and not clean_leftovers.
        NetnsError: a step failed; whatever was made has been removed again.
    """
    existing = cluster_namespaces(topo.name)
    if existing:
        if not clean_leftovers:
            raise LabExistsError(topo.name, existing)
        teardown(topo.name)
    try:
        _apply(topo, routes)
    except BaseException:
        with contextlib.suppress(Exception):
            teardown(topo.name)
        raise
    return Lab(topo)


def _apply(topo: Topology, routes: bool) -> None:
    u = topo.underlay
    for ns in topo.namespaces:
        create_netns(ns)

    # One helper thread per namespace, before any link exists (links copy
    # the namespace's "default" settings when they are made).
    node_sysctls = {**NO_DAD, **NODE_SYSCTLS}
    if topo.dual_stack:
        node_sysctls.update(NODE_SYSCTLS_V6)
    set_sysctls(u.netns, {**NO_DAD, **UNDERLAY_SYSCTLS})
    for n in topo.nodes:
        set_sysctls(n.netns, node_sysctls)
    set_sysctls(topo.external.netns, NO_DAD)

    with ipr(u.netns) as sock, map_exceptions("create underlay bridge", u.netns):
        set_up(sock, require_link(sock, "lo"))
        sock.link("add", ifname=u.bridge, kind="bridge", address=u.bridge_mac)
        br = require_link(sock, u.bridge)
        for a in u.addresses:
            add_address(sock, br, a)
        set_up(sock, br)

    ports = [(n.netns, n.ifname, n.underlay_veth) for n in topo.nodes]
    ports.append((topo.external.netns, topo.external.ifname, topo.external.underlay_veth))
    for netns, ifname, port in ports:
        _make_veth(netns, ifname, u.netns, port)
    with ipr(u.netns) as sock, map_exceptions("attach underlay ports", u.netns):
        br = require_link(sock, u.bridge)
        for _, _, port in ports:
            set_up(sock, require_link(sock, port), master=br)

    for n in topo.nodes:
        _setup_endpoint(n.netns, n.ifname, n.addresses, n.gateways, n.routes if routes else ())
    ext = topo.external
    _setup_endpoint(ext.netns, ext.ifname, ext.addresses, (), ())


# --- running things inside ---------------------------------------------------


def exec_in(netns: str, argv: Sequence[str]) -> list[str]:
    """The argv that runs ``argv`` inside ``netns`` (for subprocess.Popen/run).

    ``ip netns exec`` also bind-mounts /etc/netns/<netns>/* over /etc, which
    is how pods get their resolv.conf and hosts.
    """
    _check_netns_name(netns)
    return ["ip", "netns", "exec", netns, *argv]


def run_in(
    netns: str,
    argv: Sequence[str],
    *,
    timeout: float = 10.0,
    check: bool = True,
    input: str | None = None,
) -> subprocess.CompletedProcess[str]:
    """Run ``argv`` inside ``netns`` and wait; `CommandError` on failure when ``check``."""
    cmd = exec_in(netns, argv)
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, input=input)
    if check and p.returncode != 0:
        raise CommandError(cmd, p.returncode, p.stderr or p.stdout)
    return p


def ping_argv(ip: str, count: int = 1, timeout: float = 1.0) -> list[str]:
    """``ping -c N -W T IP``, or the same flags of `svcnet.lab.probe` when no ping."""
    flags = ["-c", str(count), "-W", f"{timeout:g}"]
    if shutil.which("ping"):
        return ["ping", *flags, ip]
    return [sys.executable, "-m", "svcnet.lab.probe", "ping", *flags, ip]


def ping(netns: str, ip: str, count: int = 1, timeout: float = 1.0) -> bool:
    """True when ``ip`` answers an ICMP echo sent from inside ``netns``."""
    p = run_in(netns, ping_argv(ip, count, timeout), timeout=count * timeout + 10, check=False)
    return p.returncode == 0
