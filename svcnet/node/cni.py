"""Pod sandboxes on a node: bridge, veth, addresses, routes, /etc files (shell).

Theory of operation, as CNI's ``bridge`` + ``host-local`` plugins do it in
a real cluster, but over pyroute2 netlink sockets opened inside the
namespaces (no ``ip`` subprocess per step):

- `setup_node_bridge` makes ``cni0`` in the node namespace with the first
  address of each node pod CIDR (the pods' gateway) and a fixed MAC (a
  bridge with no set MAC takes its lowest port's MAC, which would change as
  pods come and go). It also turns forwarding on, so the bridge is usable
  even in a node namespace not made by `svcnet.lab.netns`.
- `add_pod` creates the pod namespace (``<cluster>-p-<8 hex>``, see
  `pod_netns_name`), a veth pair created in the node namespace with its
  peer placed straight into the pod namespace as ``eth0``; the node end is
  ``veth<8 hex>``, stable per sandbox, a hairpin-enabled port of ``cni0``
  (a pod reaching itself through a Service needs hairpin). Inside the pod:
  lo up, the IP(s), default route(s) via the bridge. It is idempotent, so
  a restarted agent can call it again for a running pod.
- `del_pod` deletes the veth, the namespace and ``/etc/netns/<pod-ns>``.
- `write_resolv_conf` / `write_hosts` write ``/etc/netns/<pod-ns>/...``,
  which ``ip netns exec`` bind-mounts over /etc for processes of the pod
  (so `svcnet.lab.netns.exec_in` is how pod processes must be started).

Addresses come from `svcnet.node.ipam.PodIPAM` (one per pod CIDR). Errors
are `svcnet.lab.errors.NetnsError` (netlink) and `CNIError` (bad input).
"""

from __future__ import annotations

import contextlib
import errno
import ipaddress
import os
import shutil
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from pyroute2 import IPRoute, NetlinkError

from svcnet.lab.errors import LabError
from svcnet.lab.netns import (
    ETC_NETNS_DIR,
    NO_DAD,
    add_address,
    create_netns,
    ipr,
    link_index,
    loop_safe,
    map_exceptions,
    netns_exists,
    remove_netns,
    replace_route,
    require_link,
    set_sysctls,
    set_up,
)
from svcnet.lab.topology import POD_BRIDGE, bridge_mac, host_veth_name, pod_netns_name

__all__ = [
    "POD_BRIDGE",
    "CNIError",
    "NodeBridge",
    "PodNetwork",
    "add_pod",
    "del_pod",
    "host_veth_name",
    "pod_netns_name",
    "render_hosts",
    "render_resolv_conf",
    "setup_node_bridge",
    "write_hosts",
    "write_resolv_conf",
]

POD_IFNAME: Final = "eth0"
BRIDGE_MODE_HAIRPIN: Final = 1
HOSTS_HEADER: Final = "# Kubernetes-managed hosts file."

Interface = ipaddress.IPv4Interface | ipaddress.IPv6Interface


class CNIError(LabError, ValueError):
    """Bad input to the CNI functions (an IP outside the bridge's subnets, ...)."""


@dataclass(frozen=True)
class NodeBridge:
    netns: str
    name: str
    addresses: tuple[str, ...]  # "10.244.1.1/24", the pods' gateways

    @property
    def gateways(self) -> tuple[str, ...]:
        return tuple(a.split("/")[0] for a in self.addresses)


@dataclass(frozen=True)
class PodNetwork:
    netns: str
    ifname: str
    host_veth: str
    addresses: tuple[str, ...]  # "10.244.1.5/24"
    gateways: tuple[str, ...]
    mac: str

    @property
    def ips(self) -> tuple[str, ...]:
        return tuple(a.split("/")[0] for a in self.addresses)


def _as_list(value: str | Sequence[str] | None) -> list[str]:
    if value is None:
        return []
    return [value] if isinstance(value, str) else list(value)


@loop_safe
def setup_node_bridge(
    node_netns: str, pod_cidr: str | Sequence[str], bridge: str = POD_BRIDGE
) -> NodeBridge:
    """Create (or complete) the pod bridge with the .1 of each pod CIDR; idempotent."""
    cidrs = _as_list(pod_cidr)
    if not cidrs:
        raise CNIError("setup_node_bridge needs at least one pod CIDR")
    try:
        nets = [ipaddress.ip_network(c, strict=False) for c in cidrs]
    except ValueError as e:
        raise CNIError(f"invalid pod CIDR: {e}") from None
    addresses = tuple(f"{n.network_address + 1}/{n.prefixlen}" for n in nets)
    sysctls = {
        **NO_DAD,
        "net.ipv4.ip_forward": "1",
        "net.bridge.bridge-nf-call-iptables": "1",
    }
    if any(n.version == 6 for n in nets):
        sysctls |= {
            "net.ipv6.conf.all.forwarding": "1",
            "net.bridge.bridge-nf-call-ip6tables": "1",
        }
    set_sysctls(node_netns, sysctls)
    with ipr(node_netns) as sock, map_exceptions(f"set up bridge {bridge}", node_netns):
        if link_index(sock, bridge) is None:
            try:
                sock.link("add", ifname=bridge, kind="bridge", address=bridge_mac(node_netns))
            except NetlinkError as e:
                if e.code != errno.EEXIST:
                    raise
        idx = require_link(sock, bridge)
        for a in addresses:
            add_address(sock, idx, a)
        set_up(sock, idx)
    return NodeBridge(node_netns, bridge, addresses)


def _bridge_networks(sock: IPRoute, bridge_idx: int) -> list[Interface]:
    out = []
    for a in sock.get_addr(index=bridge_idx):
        addr = a.get_attr("IFA_ADDRESS")
        if addr and not addr.startswith("fe80"):
            out.append(ipaddress.ip_interface(f"{addr}/{a['prefixlen']}"))
    return out


def _resolve(
    ips: list[str], gateways: list[str], bridge_ifaces: list[Interface]
) -> tuple[list[str], list[str]]:
    """Pod addresses with prefixes, and one gateway per family."""
    addresses = []
    for ip in ips:
        if "/" in ip:
            try:
                addresses.append(str(ipaddress.ip_interface(ip)))
            except ValueError as e:
                raise CNIError(f"invalid pod IP {ip!r}: {e}") from None
            continue
        try:
            addr = ipaddress.ip_address(ip)
        except ValueError as e:
            raise CNIError(f"invalid pod IP {ip!r}: {e}") from None
        net = next((b.network for b in bridge_ifaces if addr in b.network), None)
        if net is None:
            raise CNIError(f"pod IP {ip} is in none of the bridge's subnets; give it as IP/prefix")
        addresses.append(f"{addr}/{net.prefixlen}")
    if not addresses:
        raise CNIError("add_pod needs at least one IP")
    if not gateways:
        for a in addresses:
            iface = ipaddress.ip_interface(a)
            gw = next((b.ip for b in bridge_ifaces if iface.ip in b.network), None)
            if gw is not None:
                gateways.append(str(gw))
    versions = {ipaddress.ip_interface(a).version for a in addresses}
    gateways = [g for g in gateways if ipaddress.ip_address(g).version in versions]
    return addresses, gateways


@loop_safe
def add_pod(
    node_netns: str,
    pod_netns_name: str,
    ip: str | Sequence[str],
    gateway: str | Sequence[str] | None = None,
    ifname: str = POD_IFNAME,
    bridge: str = POD_BRIDGE,
) -> PodNetwork:
    """Wire a pod sandbox to the node bridge; idempotent.

    Args:
        ip: the pod IP(s), ``10.244.1.5`` (prefix taken from the bridge's
            subnet) or ``10.244.1.5/24``; one per family for dual-stack.
        gateway: default gateway(s); by default the bridge's address of each
            family.

    Raises:
        CNIError: an IP outside the bridge's subnets, or no IP.
        NetnsError: a netlink step failed (a fresh sandbox is removed again).
    """
    host_if = host_veth_name(pod_netns_name)
    fresh = not netns_exists(pod_netns_name)
    if fresh:
        create_netns(pod_netns_name)
    try:
        if fresh:
            # IPv6 link-local DAD would hold the pod off IPv6 for ~2 s.
            set_sysctls(pod_netns_name, NO_DAD)
        return _wire_pod(node_netns, pod_netns_name, host_if, ip, gateway, ifname, bridge)
    except BaseException:
        if fresh:
            with contextlib.suppress(Exception):
                del_pod(node_netns, pod_netns_name)
        raise


def _wire_pod(
    node_netns: str,
    pod_ns: str,
    host_if: str,
    ip: str | Sequence[str],
    gateway: str | Sequence[str] | None,
    ifname: str,
    bridge: str,
) -> PodNetwork:
    with ipr(node_netns) as node, map_exceptions(f"attach pod {pod_ns}", node_netns):
        br = require_link(node, bridge)
        addresses, gateways = _resolve(_as_list(ip), _as_list(gateway), _bridge_networks(node, br))
        if link_index(node, host_if) is None:
            node.link(
                "add",
                ifname=host_if,
                kind="veth",
                peer={"ifname": ifname, "net_ns_fd": pod_ns},
            )
        idx = require_link(node, host_if)
        set_up(node, idx, master=br)
        node.brport("set", index=idx, mode=BRIDGE_MODE_HAIRPIN)
    with ipr(pod_ns) as pod, map_exceptions("configure pod interface", pod_ns):
        set_up(pod, require_link(pod, "lo"))
        idx = require_link(pod, ifname)
        for a in addresses:
            add_address(pod, idx, a)
        set_up(pod, idx)
        for gw in gateways:
            replace_route(pod, "default", gw, idx)
        mac = pod.get_links(idx)[0].get_attr("IFLA_ADDRESS")
    return PodNetwork(pod_ns, ifname, host_if, tuple(addresses), tuple(gateways), mac)


@loop_safe
def del_pod(node_netns: str, pod_netns_name: str) -> bool:
    """Remove a pod sandbox's veth, namespace and /etc/netns files; idempotent.

    Returns False when there was nothing to remove. Processes of the pod
    must be stopped first: a namespace still used by a process lives on
    (nameless) until they exit.
    """
    removed = False
    host_if = host_veth_name(pod_netns_name)
    if netns_exists(node_netns):
        with ipr(node_netns) as node, map_exceptions(f"delete {host_if}", node_netns):
            idx = link_index(node, host_if)
            if idx is not None:
                try:
                    node.link("del", index=idx)
                    removed = True
                except NetlinkError as e:
                    if e.code != errno.ENODEV:
                        raise
    removed = remove_netns(pod_netns_name) or removed
    etc = _etc_dir(pod_netns_name)
    if etc.exists():
        shutil.rmtree(etc, ignore_errors=True)
        removed = True
    return removed


# --- per-pod /etc files -------------------------------------------------------


def _etc_dir(pod_netns: str) -> Path:
    if not pod_netns or "/" in pod_netns or pod_netns in (".", ".."):
        raise CNIError(f"bad pod namespace name {pod_netns!r}")
    return Path(ETC_NETNS_DIR) / pod_netns


def render_resolv_conf(
    nameservers: str | Sequence[str],
    search: Sequence[str] = (),
    ndots: int | None = None,
    options: Sequence[str] = (),
) -> str:
    """A resolv.conf as kubelet writes it (search, nameserver, options)."""
    lines = []
    if search:
        lines.append("search " + " ".join(search))
    lines += [f"nameserver {ns}" for ns in _as_list(nameservers)]
    opts = ([f"ndots:{ndots}"] if ndots is not None else []) + [
        o for o in options if not (ndots is not None and o.startswith("ndots:"))
    ]
    if opts:
        lines.append("options " + " ".join(opts))
    return "\n".join(lines) + "\n"


def render_hosts(
    hostname: str,
    ips: Iterable[str],
    fqdn: str | None = None,
    host_aliases: Sequence[tuple[str, Sequence[str]]] = (),
) -> str:
    """/etc/hosts as kubelet writes it: localhost lines, the pod, its HostAliases."""
    lines = [
        HOSTS_HEADER,
        "127.0.0.1\tlocalhost",
        "::1\tlocalhost ip6-localhost ip6-loopback",
        "fe00::0\tip6-localnet",
        "fe00::0\tip6-mcastprefix",
        "fe00::1\tip6-allnodes",
        "fe00::2\tip6-allrouters",
    ]
    names = f"{fqdn}\t{hostname}" if fqdn else hostname
    lines += [f"{ip}\t{names}" for ip in ips]
    if host_aliases:
        lines += ["", "# Entries added by HostAliases."]
        lines += ["\t".join([ip, *hosts]) for ip, hosts in host_aliases]
    return "\n".join(lines) + "\n"


def _write(pod_netns: str, filename: str, content: str) -> Path:
    d = _etc_dir(pod_netns)
    d.mkdir(parents=True, exist_ok=True)
    path = d / filename
    tmp = d / f".{filename}.tmp"
    tmp.write_text(content)
    os.chmod(tmp, 0o644)
    os.replace(tmp, path)
    return path


def write_resolv_conf(
    pod_netns_name: str,
    nameserver: str | Sequence[str],
    search: Sequence[str] = (),
    ndots: int | None = None,
    options: Sequence[str] = (),
) -> Path:
    """Write /etc/netns/<pod-ns>/resolv.conf (see `render_resolv_conf`)."""
    return _write(
        pod_netns_name, "resolv.conf", render_resolv_conf(nameserver, search, ndots, options)
    )


def write_hosts(
    pod_netns_name: str,
    hostname: str,
    ips: Iterable[str],
    fqdn: str | None = None,
    host_aliases: Sequence[tuple[str, Sequence[str]]] = (),
) -> Path:
    """Write /etc/netns/<pod-ns>/hosts (see `render_hosts`)."""
    return _write(pod_netns_name, "hosts", render_hosts(hostname, ips, fqdn, host_aliases))
