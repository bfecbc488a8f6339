"""Pod IP allocation for one node, in the manner of CNI's host-local plugin.

Theory of operation. The pure core is `IPRange` (which addresses of the
node's pod CIDR may be handed out) and `IPRange.next_free` (the next one not
in use, scanning round-robin from the last one reserved, so a just-released
IP is not reused at once and conntrack entries of a dead pod do not hit
a new one). `PodIPAM` is the thin persistence shell, laid out like
host-local's ``/var/lib/cni/networks/<net>/``:

- one file per IP in use, named by the IP, holding ``<owner>\\n<ifname>``;
  creating it with O_EXCL is the reservation, so an IP is never given twice
  while its file exists, even across processes or a crash mid-way;
- ``last_reserved_ip.<4|6>``: where the round-robin scan continues;
- ``lock``: an flock held for each operation.

The owner is the pod UID. `allocate` is idempotent per owner (a restarted
agent gets the pod's IP back), `release` frees everything the owner has.
Both families work; one `PodIPAM` per pod CIDR, and they may share a
directory (each only reads the files of its own range).

Range rules (host-local): the network address, the gateway (default
``.1``) and, for IPv4, the broadcast address are never handed out.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import ipaddress
import os
from collections.abc import Callable, Collection, Container, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Final

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
Address = ipaddress.IPv4Address | ipaddress.IPv6Address

LOCK_FILE: Final = "lock"
LAST_RESERVED_PREFIX: Final = "last_reserved_ip."
DEFAULT_IFNAME: Final = "eth0"


class IPAMError(Exception):
    """Base of the pod IPAM errors."""


class InvalidRange(IPAMError, ValueError):
    """The CIDR / range / gateway given to IPAM is unusable."""


class RangeFull(IPAMError):
    """Every address of the range is in use (host-local's wording)."""

    def __init__(self, rng: IPRange) -> None:
        super().__init__(f"no IP addresses available in range set: {rng.start}-{rng.end}")
        self.range = rng


class InvalidOwner(IPAMError, ValueError):
    """An owner id that cannot be stored (empty, or with a line break)."""


# --- pure core ---------------------------------------------------------------


@dataclass(frozen=True)
class IPRange:
    """The allocatable addresses of one subnet: start..end minus the gateway."""

    subnet: Network
    start: Address
    end: Address
    gateway: Address | None

    @classmethod
    def from_cidr(
        cls,
        cidr: str,
        gateway: str | None = "",
        range_start: str | None = None,
        range_end: str | None = None,
    ) -> IPRange:
        """The range of ``cidr`` (host bits ignored).

        Args:
            gateway: the gateway to skip; "" means the first host (``.1``),
                None means no gateway.
            range_start / range_end: narrow the range (inclusive).

        Raises:
            InvalidRange: bad CIDR, a subnet too small, or bounds outside it.
        """
        try:
            net = ipaddress.ip_network(cidr, strict=False)
        except (ValueError, TypeError) as e:
            raise InvalidRange(f"invalid pod CIDR {cidr!r}: {e}") from None
        first = net.network_address + 1
        last = net.broadcast_address - (1 if net.version == 4 else 0)
        if net.num_addresses < (4 if net.version == 4 else 2):
            raise InvalidRange(f"pod CIDR {net} is too small")
        gw = first if gateway == "" else _addr_in("gateway", gateway, net) if gateway else None
        start = _addr_in("range start", range_start, net) if range_start else first
        end = _addr_in("range end", range_end, net) if range_end else last
        if not first <= start <= end <= last:
            raise InvalidRange(f"range {start}-{end} is not inside {first}-{last} of {net}")
        return cls(net, start, end, gw)

    @property
    def version(self) -> int:
        return self.subnet.version

    @property
    def size(self) -> int:
        """How many addresses can be handed out."""
        n = int(self.end) - int(self.start) + 1
        return n - (1 if self.gateway is not None and self.contains(self.gateway) else 0)

    def contains(self, ip: Address) -> bool:
        return ip.version == self.version and self.start <= ip <= self.end

    def allocatable(self, ip: Address) -> bool:
        return self.contains(ip) and ip != self.gateway

    def next_free(self, used: Collection[Address], last: Address | None = None) -> Address:
        """The first allocatable address after ``last`` not in ``used`` (wrapping).

        The scan is bounded by how many addresses are in use, so even an
        IPv6 /64 costs O(len(used)).

        Raises:
            RangeFull: nothing is free.
        """
        in_use = sum(1 for ip in used if self.allocatable(ip))
        if in_use >= self.size:
            raise RangeFull(self)
        span = int(self.end) - int(self.start) + 1
        begin = int(last) + 1 if last is not None and self.contains(last) else int(self.start)
        for step in range(min(span, in_use + 2)):
            ip = ipaddress.ip_address(int(self.start) + (begin - int(self.start) + step) % span)
            if ip != self.gateway and ip not in used:
                return ip
        raise RangeFull(self)


def _addr_in(what: str, value: str, net: Network) -> Address:
    try:
        ip = ipaddress.ip_address(value)
    except ValueError as e:
        raise InvalidRange(f"invalid {what} {value!r}: {e}") from None
    if ip not in net:
        raise InvalidRange(f"{what} {ip} is not in {net}")
    return ip


def parse_allocation(text: str) -> tuple[str, str]:
    """(owner, ifname) of an allocation file's content."""
    lines = text.splitlines()
    owner = lines[0].strip() if lines else ""
    ifname = lines[1].strip() if len(lines) > 1 else ""
    return owner, ifname


def render_allocation(owner: str, ifname: str) -> str:
    return f"{owner}\n{ifname}"


def check_owner(owner: str) -> str:
    if not isinstance(owner, str) or not owner.strip() or any(c in owner for c in "\r\n\0"):
        raise InvalidOwner(f"invalid IPAM owner {owner!r}")
    return owner.strip()


# --- persistence shell -------------------------------------------------------


class PodIPAM:
    """Host-local style allocator of one node pod CIDR, persisted in ``state_dir``."""

    def __init__(
        self,
        cidr: str,
        state_dir: str | os.PathLike[str],
        *,
        gateway: str | None = "",
        range_start: str | None = None,
        range_end: str | None = None,
    ) -> None:
        self.range = IPRange.from_cidr(cidr, gateway, range_start, range_end)
        self.state_dir = Path(state_dir)
        self.state_dir.mkdir(parents=True, exist_ok=True)
        self._last_file = self.state_dir / f"{LAST_RESERVED_PREFIX}{self.range.version}"

    @property
    def cidr(self) -> str:
        return str(self.range.subnet)

    @property
    def prefixlen(self) -> int:
        return self.range.subnet.prefixlen

    @property
    def gateway(self) -> str | None:
        return str(self.range.gateway) if self.range.gateway is not None else None

    def interface_address(self, ip: str) -> str:
        """``ip/prefix`` for the pod's interface."""
        return f"{ip}/{self.prefixlen}"

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        fd = os.open(self.state_dir / LOCK_FILE, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            os.close(fd)  # releases the flock

    def _read_locked(self) -> dict[Address, str]:
        out: dict[Address, str] = {}
        for entry in os.scandir(self.state_dir):
            try:
                ip = ipaddress.ip_address(entry.name)
            except ValueError:
                continue  # lock, last_reserved_ip.*, anything else
            if not self.range.contains(ip):
                continue  # another range sharing the directory
            with contextlib.suppress(FileNotFoundError):
                out[ip] = parse_allocation(Path(entry.path).read_text())[0]
        return out

    def _last_locked(self) -> Address | None:
        try:
            return ipaddress.ip_address(self._last_file.read_text().strip())
        except (FileNotFoundError, ValueError):
            return None

    def allocations(self) -> dict[str, str]:
        """IP -> owner of every allocation in this range."""
        with self._locked():
            return {str(ip): owner for ip, owner in sorted(self._read_locked().items())}

    def lookup(self, owner: str) -> str | None:
        """The IP ``owner`` holds in this range, if any."""
        owner = check_owner(owner)
        with self._locked():
            return next((str(ip) for ip, o in self._read_locked().items() if o == owner), None)

    def owner(self, ip: str) -> str | None:
        with self._locked():
            return self._read_locked().get(ipaddress.ip_address(ip))

    def allocate(self, owner: str, ifname: str = DEFAULT_IFNAME) -> str:
        """An IP for ``owner`` (its existing one when it has one).

        Raises:
            RangeFull: every address is in use.
            InvalidOwner: ``owner`` cannot be stored.
        """
        owner = check_owner(owner)
        with self._locked():
            used = self._read_locked()
            for ip, o in sorted(used.items()):
                if o == owner:
                    return str(ip)
            taken = set(used)
            last = self._last_locked()
            while True:
                ip = self.range.next_free(taken, last)
                try:
                    fd = os.open(
                        self.state_dir / str(ip), os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644
                    )
                except FileExistsError:  # raced by a process not using the lock
                    taken.add(ip)
                    continue
                with os.fdopen(fd, "w") as f:
                    f.write(render_allocation(owner, ifname))
                self._last_file.write_text(str(ip))
                return str(ip)

    def release(self, owner: str) -> list[str]:
        """Free every IP ``owner`` holds in this range (idempotent); returns them."""
        owner = check_owner(owner)
        return self._release_where(lambda o: o == owner)

    def release_ip(self, ip: str) -> bool:
        """Free one IP whoever holds it; False when it was free."""
        addr = ipaddress.ip_address(ip)
        with self._locked():
            return self._unlink(addr)

    def release_unless(self, keep: Container[str]) -> list[str]:
        """Free the IPs of owners not in ``keep`` (garbage collection after a restart)."""
        return self._release_where(lambda o: o not in keep)

    def _release_where(self, match: Callable[[str], bool]) -> list[str]:
        with self._locked():
            freed = [ip for ip, o in sorted(self._read_locked().items()) if match(o)]
            return [str(ip) for ip in freed if self._unlink(ip)]

    def _unlink(self, ip: Address) -> bool:
        try:
            os.unlink(self.state_dir / str(ip))
        except OSError as e:
            if e.errno == errno.ENOENT:
                return False
            raise
        return True
