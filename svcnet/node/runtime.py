"""The container runtime of the node agent: pod sandboxes and containers as processes.

Theory of operation. A pod sandbox is a network namespace wired to the
node bridge by `svcnet.node.cni` (an IP per pod CIDR from
`svcnet.node.ipam.PodIPAM`, owner = the pod UID), with
``/etc/netns/<pod-ns>/{resolv.conf,hosts,hostname}``. A hostNetwork pod's
sandbox is the node namespace itself. A container is one process started as

    ip netns exec <pod-ns> unshare --uts sh -c 'hostname "$0"; exec "$@"' <hostname> ARGV...

every step of which execs the next, so the PID the agent holds is the
container's own: ``ip netns exec`` enters the namespace and bind-mounts the
pod's /etc files, ``unshare --uts`` gives the pod its hostname. All
containers of a pod share its namespace, so they talk over 127.0.0.1. Each
container is the leader of its own session and process group (so a
terminal's signals never reach it); stdin is /dev/null; stdout and stderr
go, interleaved as written, to ``<data>/logs/<ns>_<pod>_<uid>/<container>/<restart>.log``
(kubelet's /var/log/pods layout; the current and the previous instance
are kept, for ``kubectl logs`` and ``--previous``).

Exits are watched with a pidfd on the event loop (no SIGCHLD handler, no
thread per process). Stopping sends SIGTERM to the container process, waits
the grace period, then SIGKILLs its whole process group; when a container's
main process exits, what is left of its group is killed as a container
runtime would (the leader is still an unreaped zombie then, so its PID and
group cannot have been reused). Removing a sandbox kills every process
left in the pod namespace first.

Re-adoption: the sandbox (``<data>/pods/<uid>/sandbox.json``) and each
container (``<data>/pods/<uid>/containers/<name>.json``: pid, the process
start time from /proc/<pid>/stat so a reused PID is never mistaken for the
container, restart count, last terminations) are written on every change.
A restarted agent `Runtime.load` s them and watches the same processes
again without restarting them. Such a process is no longer the agent's
child, so when it exits its exit status is unknown: it is reported as
upstream reports a lost container (ContainerStatusUnknown, 137).

The pure helpers at the top compute a container's environment
(`container_env`: envFrom, env with ``$(VAR)`` expansion, fieldRef,
configMapKeyRef/secretKeyRef, Service variables, as the kubelet's
``makeEnvironmentVariables``) and the pod's DNS config (`dns_config`, per
dnsPolicy and dnsConfig, as the kubelet's ``GetPodDNS``).
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import contextlib
import dataclasses
import ipaddress
import json
import os
import re
import secrets
import shutil
import signal
import subprocess
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

from svcnet.node.podstatus import CONTAINER_STATUS_UNKNOWN, Terminated, Waiting, exit_code

Obj = Mapping[str, Any]

DEFAULT_PATH: Final = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
CONTAINER_ID_SCHEME: Final = "svcnet://"
KEPT_LOGS: Final = 2  # current + previous instance
HOSTNAME_SCRIPT: Final = 'hostname "$0" 2>/dev/null; exec "$@"'
LOST_EXIT_CODE: Final = 137
MAX_DNS_SEARCH: Final = 32  # upstream MaxDNSSearchPaths
MAX_DNS_NAMESERVERS: Final = 3


class ContainerRuntimeError(Exception):
    """Base of the runtime's errors."""


class ConfigError(ContainerRuntimeError):
    """A container's config cannot be built (CreateContainerConfigError)."""


class StartError(ContainerRuntimeError):
    """A container process could not be started (StartError, exit 128)."""


class SandboxError(ContainerRuntimeError):
    """A pod sandbox could not be created (FailedCreatePodSandBox)."""


# --- pure: environment ------------------------------------------------------------

_VAR_RE = re.compile(r"\$\$|\$\(([^)]*)\)")


def expand(text: str, lookup: Callable[[str], str | None]) -> str:
    """Kubernetes ``$(VAR)`` expansion: unknown references stay as written, ``$$`` is ``$``."""

    def sub(m: re.Match[str]) -> str:
        if m.group(0) == "$$":
            return "$"
        value = lookup(m.group(1))
        return m.group(0) if value is None else value

    return _VAR_RE.sub(sub, text)


def referenced_objects(pod: Obj) -> tuple[set[str], set[str]]:
    """(ConfigMap names, Secret names) the pod's containers take env from."""
    cms: set[str] = set()
    secs: set[str] = set()
    spec = pod.get("spec") or {}
    for c in [*(spec.get("initContainers") or ()), *(spec.get("containers") or ())]:
        for src in c.get("envFrom") or ():
            if (ref := src.get("configMapRef")) and ref.get("name"):
                cms.add(ref["name"])
            if (ref := src.get("secretRef")) and ref.get("name"):
                secs.add(ref["name"])
        for var in c.get("env") or ():
            vf = var.get("valueFrom") or {}
            if (ref := vf.get("configMapKeyRef")) and ref.get("name"):
                cms.add(ref["name"])
            if (ref := vf.get("secretKeyRef")) and ref.get("name"):
                secs.add(ref["name"])
    return cms, secs


def _secret_value(raw: str) -> str:
    try:
        return base64.b64decode(raw, validate=True).decode("utf-8", "replace")
    except (binascii.Error, ValueError):
        return raw


def _object_data(obj: Obj | None, secret: bool) -> dict[str, str]:
    if obj is None:
        return {}
    data = {k: _secret_value(v) if secret else str(v) for k, v in (obj.get("data") or {}).items()}
    if not secret:
        for k, v in (obj.get("binaryData") or {}).items():
            data.setdefault(k, _secret_value(v))
    return data


_LABEL_REF = re.compile(r"^metadata\.(labels|annotations)\['(.+)'\]$")


def field_ref(pod: Obj, path: str, pod_ips: Sequence[str], host_ips: Sequence[str]) -> str:
    """The value of a downward-API ``fieldRef`` (upstream podFieldSelectorRuntimeValue).

    Raises:
        ConfigError: an unsupported field path.
    """
    meta = pod.get("metadata") or {}
    spec = pod.get("spec") or {}
    simple = {
        "metadata.name": meta.get("name", ""),
        "metadata.namespace": meta.get("namespace", ""),
        "metadata.uid": meta.get("uid", ""),
        "spec.nodeName": spec.get("nodeName", ""),
        "spec.serviceAccountName": spec.get("serviceAccountName", ""),
        "status.podIP": pod_ips[0] if pod_ips else "",
        "status.podIPs": ",".join(pod_ips),
        "status.hostIP": host_ips[0] if host_ips else "",
        "status.hostIPs": ",".join(host_ips),
    }
    if path in simple:
        return str(simple[path])
    if m := _LABEL_REF.match(path):
        return str((meta.get(m.group(1)) or {}).get(m.group(2), ""))
    if path in ("metadata.labels", "metadata.annotations"):
        values = meta.get(path.split(".")[1]) or {}
        return "\n".join(f'{k}="{v}"' for k, v in sorted(values.items()))
    raise ConfigError(f'unsupported fieldRef fieldPath "{path}"')


def container_env(
    pod: Obj,
    container: Obj,
    *,
    configmaps: Mapping[str, Obj | None] | None = None,
    secrets_: Mapping[str, Obj | None] | None = None,
    service_env: Sequence[tuple[str, str]] = (),
    pod_ips: Sequence[str] = (),
    host_ips: Sequence[str] = (),
) -> list[tuple[str, str]]:
    """A container's declared environment, in the kubelet's order.

    envFrom sources first, then ``env`` (a later name overrides an earlier
    one in place), then the Service variables no declared name shadows.
    ``$(VAR)`` in a value expands from the variables declared before it and
    the Service variables. ``configmaps`` / ``secrets_`` map names to the
    objects (None: does not exist).

    Raises:
        ConfigError: a required ConfigMap/Secret or key is missing (the
            message is upstream's), or a fieldRef is unsupported.
    """
    meta = pod.get("metadata") or {}
    ns = meta.get("namespace", "")
    configmaps = configmaps or {}
    secrets_ = secrets_ or {}
    out: dict[str, str] = {}
    services = dict(service_env)

    for src in container.get("envFrom") or ():
        prefix = src.get("prefix") or ""
        for kind, ref_key, objs, secret in (
            ("configmap", "configMapRef", configmaps, False),
            ("secret", "secretRef", secrets_, True),
        ):
            ref = src.get(ref_key)
            if not ref:
                continue
            name = ref.get("name", "")
            obj = objs.get(name)
            if obj is None:
                if ref.get("optional"):
                    continue
                raise ConfigError(f'{kind} "{name}" not found')
            for k, v in _object_data(obj, secret).items():
                out[prefix + k] = v

    def lookup(name: str) -> str | None:
        return out[name] if name in out else services.get(name)

    for var in container.get("env") or ():
        name = var.get("name", "")
        if "value" in var or not var.get("valueFrom"):
            out[name] = expand(str(var.get("value") or ""), lookup)
            continue
        vf = var["valueFrom"]
        if fr := vf.get("fieldRef"):
            out[name] = field_ref(pod, fr.get("fieldPath", ""), pod_ips, host_ips)
        elif rr := vf.get("resourceFieldRef"):
            out[name] = _resource_value(container, rr)
        else:
            for kind, ref_key, objs, secret, title in (
                ("configmap", "configMapKeyRef", configmaps, False, "ConfigMap"),
                ("secret", "secretKeyRef", secrets_, True, "Secret"),
            ):
                ref = vf.get(ref_key)
                if not ref:
                    continue
                oname, key = ref.get("name", ""), ref.get("key", "")
                obj = objs.get(oname)
                if obj is None:
                    if ref.get("optional"):
                        break
                    raise ConfigError(f'{kind} "{oname}" not found')
                data = _object_data(obj, secret)
                if key not in data:
                    if ref.get("optional"):
                        break
                    raise ConfigError(f"couldn't find key {key} in {title} {ns}/{oname}")
                out[name] = data[key]
                break
    for k, v in service_env:
        out.setdefault(k, v)
    return list(out.items())


def _resource_value(container: Obj, ref: Obj) -> str:
    """``resourceFieldRef``: the limit or request, or a node-sized default."""
    resource = ref.get("resource", "")
    kind, _, name = resource.partition(".")
    value = ((container.get("resources") or {}).get(kind) or {}).get(name)
    if value is not None:
        return str(value)
    if name == "cpu":
        return str(os.cpu_count() or 1)
    return "0"


def container_argv(container: Obj, env: Sequence[tuple[str, str]]) -> tuple[list[str], list[str]]:
    """(command, args) with ``$(VAR)`` expanded from the container's env."""
    values = dict(env)
    command = [expand(str(a), values.get) for a in container.get("command") or ()]
    args = [expand(str(a), values.get) for a in container.get("args") or ()]
    return command, args


def process_env(declared: Sequence[tuple[str, str]], hostname: str) -> dict[str, str]:
    """The process environment: runtime defaults, then the declared variables."""
    env = {"PATH": DEFAULT_PATH, "HOSTNAME": hostname, "HOME": "/root"}
    for k, v in declared:
        if k and "\0" not in k and "=" not in k and "\0" not in v:
            env[k] = v
    return env


# --- pure: DNS ------------------------------------------------------------------


@dataclass(frozen=True)
class ResolvConf:
    nameservers: tuple[str, ...] = ()
    searches: tuple[str, ...] = ()
    options: tuple[str, ...] = ()  # "ndots:5", "edns0"


def parse_resolv_conf(text: str) -> ResolvConf:
    """Nameservers, search domains and options of a resolv.conf."""
    ns: list[str] = []
    search: list[str] = []
    opts: list[str] = []
    for line in text.splitlines():
        fields = line.split("#", 1)[0].split(";", 1)[0].split()
        if not fields:
            continue
        if fields[0] == "nameserver" and len(fields) > 1:
            ns.append(fields[1])
        elif fields[0] in ("search", "domain"):
            search = fields[1:]
        elif fields[0] == "options":
            opts += fields[1:]
    return ResolvConf(tuple(ns), tuple(search), tuple(opts))


def _merge_options(base: Iterable[str], extra: Iterable[Obj]) -> tuple[str, ...]:
    out: dict[str, str] = {}
    for o in base:
        out[o.split(":", 1)[0]] = o
    for o in extra:
        name = o.get("name", "")
        if name:
            out[name] = f"{name}:{o['value']}" if o.get("value") not in (None, "") else name
    return tuple(out.values())


def dns_config(
    pod: Obj,
    cluster_dns: Sequence[str],
    cluster_domain: str,
    host: ResolvConf,
) -> ResolvConf | None:
    """The pod's resolv.conf by dnsPolicy (upstream ``GetPodDNS``), or None: the host's.

    ClusterFirst (and ClusterFirstWithHostNet): the cluster DNS IP(s),
    ``<ns>.svc.<domain> svc.<domain> <domain>``, ``ndots:5``. Default: the
    host's. None: only spec.dnsConfig. dnsConfig nameservers and searches
    are appended (deduplicated), options override by name. ClusterFirst
    falls back to Default for hostNetwork pods and when no cluster DNS IP
    is configured (upstream's MissingClusterDNS).
    """
    spec = pod.get("spec") or {}
    ns = (pod.get("metadata") or {}).get("namespace") or "default"
    policy = spec.get("dnsPolicy") or "ClusterFirst"
    host_network = bool(spec.get("hostNetwork"))
    if policy == "ClusterFirst" and host_network:
        policy = "Default"
    if policy in ("ClusterFirst", "ClusterFirstWithHostNet") and not cluster_dns:
        policy = "Default"
    if policy in ("ClusterFirst", "ClusterFirstWithHostNet"):
        d = cluster_domain.strip(".")
        base = ResolvConf(tuple(cluster_dns), (f"{ns}.svc.{d}", f"svc.{d}", d), ("ndots:5",))
    elif policy == "None":
        base = ResolvConf()
    else:
        if host_network and not spec.get("dnsConfig"):
            return None
        base = host
    cfg = spec.get("dnsConfig") or {}
    nameservers = list(base.nameservers)
    for n in cfg.get("nameservers") or ():
        if n not in nameservers:
            nameservers.append(n)
    searches = list(base.searches)
    for s in cfg.get("searches") or ():
        if s not in searches:
            searches.append(s)
    options = _merge_options(base.options, cfg.get("options") or ())
    return ResolvConf(
        tuple(nameservers[:MAX_DNS_NAMESERVERS]), tuple(searches[:MAX_DNS_SEARCH]), options
    )


def pod_hostname(pod: Obj, cluster_domain: str) -> tuple[str, str | None]:
    """(hostname, FQDN or None): spec.hostname or the name; FQDN with spec.subdomain."""
    meta = pod.get("metadata") or {}
    spec = pod.get("spec") or {}
    hostname = (spec.get("hostname") or meta.get("name") or "pod")[:63]
    sub = spec.get("subdomain")
    if sub:
        ns = meta.get("namespace") or "default"
        return hostname, f"{hostname}.{sub}.{ns}.svc.{cluster_domain.strip('.')}"
    return hostname, None


def host_aliases(pod: Obj) -> list[tuple[str, list[str]]]:
    return [
        (a.get("ip", ""), list(a.get("hostnames") or ()))
        for a in (pod.get("spec") or {}).get("hostAliases") or ()
        if a.get("ip")
    ]


# --- pure: layout ------------------------------------------------------------------


def pod_log_dir(data_dir: str | os.PathLike[str], namespace: str, name: str, uid: str) -> Path:
    """``<data>/logs/<ns>_<pod>_<uid>`` (kubelet's /var/log/pods/<ns>_<pod>_<uid>)."""
    return Path(data_dir) / "logs" / f"{namespace}_{name}_{uid}"


def container_log_path(
    data_dir: str | os.PathLike[str],
    namespace: str,
    name: str,
    uid: str,
    container: str,
    restart: int,
) -> Path:
    """The log file of one container instance: ``.../<container>/<restart>.log``."""
    return pod_log_dir(data_dir, namespace, name, uid) / container / f"{restart}.log"


# --- shell: processes ----------------------------------------------------------------


def _start_ticks(pid: int) -> int | None:
    """Field 22 of /proc/<pid>/stat (start time), None when the process is gone."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            stat = f.read()
    except OSError:
        return None
    try:
        return int(stat[stat.rindex(b")") + 2 :].split()[19])
    except (ValueError, IndexError):
        return None


def _netns_inode(path: str) -> tuple[int, int] | None:
    try:
        st = os.stat(path)
    except OSError:
        return None
    return st.st_dev, st.st_ino


def pids_in_netns(netns_path: str) -> list[int]:
    """PIDs of the processes whose network namespace is the one at ``netns_path``."""
    target = _netns_inode(netns_path)
    if target is None:
        return []
    out = []
    for entry in os.listdir("/proc"):
        if entry.isdigit() and _netns_inode(f"/proc/{entry}/ns/net") == target:
            out.append(int(entry))
    return out


class ContainerProcess:
    """One running container instance: a child process, or one adopted after a restart."""

    def __init__(
        self,
        pid: int,
        start_ticks: int,
        container_id: str,
        started_at: float,
        log_path: Path,
        popen: subprocess.Popen[bytes] | None = None,
    ) -> None:
        self.pid = pid
        self.start_ticks = start_ticks
        self.container_id = container_id
        self.started_at = started_at
        self.log_path = log_path
        self.popen = popen
        self.returncode: int | None = None
        self.finished_at: float | None = None
        self._pidfd: int | None = None
        self._exited = asyncio.Event()
        self._on_exit: Callable[[ContainerProcess], None] | None = None

    @property
    def adopted(self) -> bool:
        return self.popen is None

    @property
    def exited(self) -> bool:
        return self._exited.is_set()

    def watch(self, on_exit: Callable[[ContainerProcess], None] | None = None) -> None:
        """Call ``on_exit(self)`` on the running loop when the process exits."""
        self._on_exit = on_exit
        loop = asyncio.get_running_loop()
        try:
            self._pidfd = os.pidfd_open(self.pid)
        except ProcessLookupError:
            loop.call_soon(self._reap)
            return
        loop.add_reader(self._pidfd, self._reap)

    def _close_fd(self) -> None:
        if self._pidfd is not None:
            with contextlib.suppress(Exception):
                asyncio.get_running_loop().remove_reader(self._pidfd)
            with contextlib.suppress(OSError):
                os.close(self._pidfd)
            self._pidfd = None

    def _reap(self) -> None:
        if self._exited.is_set():
            return
        if self.popen is not None:
            # The leader is a zombie until reaped: its group cannot be reused yet.
            with contextlib.suppress(OSError):
                os.killpg(self.pid, signal.SIGKILL)
            self.returncode = self.popen.poll()
            if self.returncode is None:
                return  # spurious wake-up
        self._close_fd()
        self.finished_at = time.time()
        self._exited.set()
        if self._on_exit is not None:
            self._on_exit(self)

    def unwatch(self) -> None:
        """Stop watching (agent shutdown); the process keeps running."""
        self._close_fd()

    def send(self, sig: int) -> bool:
        """Signal the container process; False when it is gone."""
        if self._exited.is_set():
            return False
        try:
            if self._pidfd is not None:
                signal.pidfd_send_signal(self._pidfd, sig)
            elif _start_ticks(self.pid) == self.start_ticks:
                os.kill(self.pid, sig)
            else:
                return False
        except ProcessLookupError:
            return False
        return True

    def kill_group(self) -> None:
        """SIGKILL the container's process group (only while the leader is ours)."""
        if self._exited.is_set() or _start_ticks(self.pid) != self.start_ticks:
            return
        with contextlib.suppress(OSError):
            os.killpg(self.pid, signal.SIGKILL)

    async def wait(self) -> None:
        await self._exited.wait()

    def termination(self) -> Terminated:
        """The `Terminated` state of this instance (after it exited)."""
        finished = self.finished_at or time.time()
        cid = CONTAINER_ID_SCHEME + self.container_id
        if self.returncode is None:
            return Terminated(
                LOST_EXIT_CODE,
                CONTAINER_STATUS_UNKNOWN,
                self.started_at,
                finished,
                "The container exited while the node agent was restarting; its exit status is unknown",
                container_id=cid,
            )
        code = exit_code(self.returncode)
        sig = -self.returncode if self.returncode < 0 else None
        reason = "Completed" if code == 0 else "Error"
        return Terminated(code, reason, self.started_at, finished, signal=sig, container_id=cid)


# --- shell: records ---------------------------------------------------------------------


def _term_to_dict(t: Terminated) -> dict[str, Any]:
    return dataclasses.asdict(t)


def _term_from_dict(d: Mapping[str, Any]) -> Terminated | None:
    try:
        return Terminated(
            **{f.name: d[f.name] for f in dataclasses.fields(Terminated) if f.name in d}
        )
    except TypeError:
        return None


@dataclass
class ContainerRecord:
    """The agent's memory of one container: current instance, restarts, last exits."""

    name: str
    image: str = ""
    process: ContainerProcess | None = None
    restart_count: int = 0
    runs: int = 0  # instances started; restart_count == runs - 1 once it ran
    terminations: list[Terminated] = field(default_factory=list)  # last two, newest last
    waiting: Waiting | None = None

    @property
    def running(self) -> bool:
        return self.process is not None and not self.process.exited

    @property
    def last_termination(self) -> Terminated | None:
        return self.terminations[-1] if self.terminations else None

    def add_termination(self, t: Terminated) -> None:
        self.terminations = [*self.terminations, t][-2:]

    def to_json(self) -> dict[str, Any]:
        p = self.process
        return {
            "name": self.name,
            "image": self.image,
            "restartCount": self.restart_count,
            "runs": self.runs,
            "terminations": [_term_to_dict(t) for t in self.terminations],
            "process": None
            if p is None or p.exited
            else {
                "pid": p.pid,
                "startTicks": p.start_ticks,
                "containerID": p.container_id,
                "startedAt": p.started_at,
                "log": str(p.log_path),
            },
        }


@dataclass
class Sandbox:
    """A pod's network sandbox (or the node's namespace for hostNetwork pods)."""

    uid: str
    namespace: str
    name: str
    netns: str
    ips: tuple[str, ...] = ()
    host_network: bool = False
    hostname: str = ""
    created_at: float = 0.0
    removed: bool = False  # network torn down (the pod finished); records kept

    def to_json(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_json(cls, d: Mapping[str, Any]) -> Sandbox:
        names = {f.name for f in dataclasses.fields(cls)}
        kw = {k: v for k, v in d.items() if k in names}
        kw["ips"] = tuple(kw.get("ips") or ())
        return cls(**kw)


def _write_json(path: Path, obj: Any) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(json.dumps(obj, indent=1))
    os.replace(tmp, path)


# --- shell: the runtime ---------------------------------------------------------------------


@dataclass(frozen=True)
class Launch:
    """What to run for one container instance."""

    name: str
    argv: tuple[str, ...]
    env: Mapping[str, str]
    working_dir: str = ""


class Runtime:
    """Pod sandboxes and container processes of one node, persisted under ``data_dir``.

    Args:
        data_dir: the node agent's state directory.
        cluster: the cluster name, prefix of every pod namespace.
        node_netns: the node's namespace (where ``cni0`` lives); None for
            an agent without pod networking (hostNetwork pods only).
        node_ips: the node's IPs (hostNetwork pods get them).
    """

    def __init__(
        self,
        data_dir: str | os.PathLike[str],
        cluster: str,
        node_netns: str | None,
        node_ips: Sequence[str] = (),
    ) -> None:
        self.data_dir = Path(data_dir)
        self.cluster = cluster
        self.node_netns = node_netns
        self.node_ips = tuple(node_ips)
        self.ipams: list[Any] = []  # PodIPAM, one per pod CIDR
        self._ip = shutil.which("ip") or "/usr/sbin/ip"
        self._unshare = shutil.which("unshare")
        self._sh = shutil.which("sh") or "/bin/sh"

    # ---------------------------------------------------------------- layout
    @property
    def pods_dir(self) -> Path:
        return self.data_dir / "pods"

    @property
    def ipam_dir(self) -> Path:
        return self.data_dir / "ipam"

    def pod_dir(self, uid: str) -> Path:
        if not uid or "/" in uid or uid in (".", ".."):
            raise ValueError(f"bad pod uid {uid!r}")
        return self.pods_dir / uid

    def set_pod_cidrs(self, cidrs: Sequence[str]) -> None:
        """Use these pod CIDRs (the Node's spec.podCIDRs) for pod IPs."""
        from svcnet.node.ipam import PodIPAM

        if [i.cidr for i in self.ipams] != [
            str(ipaddress.ip_network(c, strict=False)) for c in cidrs
        ]:
            self.ipams = [PodIPAM(c, self.ipam_dir) for c in cidrs]

    # ---------------------------------------------------------------- sandboxes
    def exec_argv(self, sb: Sandbox, argv: Sequence[str]) -> list[str]:
        """The argv that runs ``argv`` in the pod's namespace with its hostname."""
        from svcnet.lab.netns import exec_in

        inner = list(argv)
        if self._unshare and sb.hostname:
            inner = [self._unshare, "--uts", self._sh, "-c", HOSTNAME_SCRIPT, sb.hostname, *inner]
        return exec_in(sb.netns, inner)

    async def create_sandbox(
        self,
        pod: Obj,
        resolv: ResolvConf | None,
        hostname: str,
        fqdn: str | None = None,
        aliases: Sequence[tuple[str, Sequence[str]]] = (),
    ) -> Sandbox:
        """Make (or complete, idempotently) the pod's sandbox.

        Raises:
            SandboxError: no pod CIDR yet, IPAM exhausted, or netlink failed.
        """
        from svcnet.lab.errors import LabError
        from svcnet.lab.netns import ETC_NETNS_DIR
        from svcnet.lab.topology import pod_netns_name
        from svcnet.node import cni
        from svcnet.node.ipam import IPAMError

        meta = pod.get("metadata") or {}
        uid = meta.get("uid", "")
        host_network = bool((pod.get("spec") or {}).get("hostNetwork"))
        if host_network:
            if self.node_netns is None:
                raise SandboxError("the node agent has no node namespace")
            sb = Sandbox(
                uid,
                meta.get("namespace", ""),
                meta.get("name", ""),
                self.node_netns,
                self.node_ips,
                True,
                hostname,
                time.time(),
            )
            _write_json(self.pod_dir(uid) / "sandbox.json", sb.to_json())
            return sb
        if self.node_netns is None or not self.ipams:
            raise SandboxError("network is not ready: the node has no pod CIDR yet")
        netns = pod_netns_name(self.cluster, uid)
        ipams = list(self.ipams)

        def build() -> tuple[str, ...]:
            ips: list[str] = []
            try:
                for ipam in ipams:
                    ips.append(ipam.allocate(uid))
                cni.add_pod(
                    self.node_netns,
                    netns,
                    [ipam.interface_address(ip) for ipam, ip in zip(ipams, ips, strict=True)],
                )
                if resolv is not None:
                    cni.write_resolv_conf(
                        netns, resolv.nameservers, resolv.searches, None, resolv.options
                    )
                cni.write_hosts(netns, hostname, ips, fqdn, aliases)
                (Path(ETC_NETNS_DIR) / netns / "hostname").write_text(hostname + "\n")
            except BaseException:
                for ipam in ipams:
                    with contextlib.suppress(Exception):
                        ipam.release(uid)
                with contextlib.suppress(Exception):
                    cni.del_pod(self.node_netns, netns)
                raise
            return tuple(ips)

        try:
            ips = await asyncio.to_thread(build)
        except (LabError, IPAMError, OSError) as e:
            raise SandboxError(str(e)) from e
        sb = Sandbox(
            uid,
            meta.get("namespace", ""),
            meta.get("name", ""),
            netns,
            ips,
            False,
            hostname,
            time.time(),
        )
        _write_json(self.pod_dir(uid) / "sandbox.json", sb.to_json())
        return sb

    async def remove_sandbox(self, sb: Sandbox) -> None:
        """Kill what is left in the pod namespace, delete it, release the IPs; idempotent."""
        from svcnet.lab.netns import netns_path
        from svcnet.node import cni

        if not sb.host_network and not sb.removed:

            def teardown() -> None:
                path = netns_path(sb.netns)
                for _ in range(20):
                    pids = [p for p in pids_in_netns(path) if p != os.getpid()]
                    if not pids:
                        break
                    for pid in pids:
                        with contextlib.suppress(ProcessLookupError):
                            os.kill(pid, signal.SIGKILL)
                    time.sleep(0.05)
                if self.node_netns is not None:
                    cni.del_pod(self.node_netns, sb.netns)

            await asyncio.to_thread(teardown)
            for ipam in self.ipams:
                await asyncio.to_thread(ipam.release, sb.uid)
        sb.removed = True
        if self.pod_dir(sb.uid).exists():
            _write_json(self.pod_dir(sb.uid) / "sandbox.json", sb.to_json())

    def forget_pod(self, uid: str, namespace: str = "", name: str = "") -> None:
        """Delete the pod's records and logs (the pod is gone from the API)."""
        shutil.rmtree(self.pod_dir(uid), ignore_errors=True)
        if namespace and name:
            shutil.rmtree(pod_log_dir(self.data_dir, namespace, name, uid), ignore_errors=True)

    def release_unknown_ips(self, keep: Iterable[str]) -> list[str]:
        """Free IPs whose owner has no sandbox record (crash between allocate and record)."""
        keep = set(keep)
        freed: list[str] = []
        for ipam in self.ipams:
            freed += ipam.release_unless(keep)
        return freed

    # ---------------------------------------------------------------- containers
    def save(self, sb: Sandbox, rec: ContainerRecord) -> None:
        _write_json(self.pod_dir(sb.uid) / "containers" / f"{rec.name}.json", rec.to_json())

    def start(self, sb: Sandbox, rec: ContainerRecord, launch: Launch) -> ContainerProcess:
        """Start one container instance in the sandbox (not yet watched: call ``watch``).

        Raises:
            StartError: the executable does not exist, or spawning failed.
        """
        if not launch.argv:
            raise StartError("no command specified")
        exe = launch.argv[0]
        path = launch.env.get("PATH", DEFAULT_PATH)
        if "/" in exe:
            if not os.access(exe, os.X_OK):
                raise StartError(f'exec: "{exe}": stat {exe}: no such file or directory')
        elif shutil.which(exe, path=path) is None:
            raise StartError(f'exec: "{exe}": executable file not found in $PATH')
        restart = rec.runs
        log_path = container_log_path(
            self.data_dir, sb.namespace, sb.name, sb.uid, rec.name, restart
        )
        log_path.parent.mkdir(parents=True, exist_ok=True)
        for old in log_path.parent.glob("*.log"):
            with contextlib.suppress(ValueError, OSError):
                if int(old.stem) <= restart - KEPT_LOGS:
                    old.unlink()
        cwd = launch.working_dir or "/"
        if not os.path.isdir(cwd):
            raise StartError(
                f'chdir to cwd ("{cwd}") set in config.json failed: no such file or directory'
            )
        fd = os.open(log_path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o640)
        try:
            popen = subprocess.Popen(
                self.exec_argv(sb, launch.argv),
                executable=self._ip,
                stdin=subprocess.DEVNULL,
                stdout=fd,
                stderr=fd,
                env=dict(launch.env),
                cwd=cwd,
                start_new_session=True,
                close_fds=True,
            )
        except OSError as e:
            raise StartError(f"starting container process: {e}") from e
        finally:
            os.close(fd)
        ticks = _start_ticks(popen.pid) or 0
        proc = ContainerProcess(
            popen.pid, ticks, secrets.token_hex(32), time.time(), log_path, popen
        )
        rec.process = proc
        rec.runs += 1
        rec.restart_count = max(0, rec.runs - 1)
        rec.waiting = None
        self.save(sb, rec)
        return proc

    async def stop(self, proc: ContainerProcess, grace: float) -> None:
        """SIGTERM, wait up to ``grace`` seconds, then SIGKILL the process group."""
        if proc.exited:
            return
        if proc.send(signal.SIGTERM):
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(proc.wait(), max(0.0, grace))
        if not proc.exited:
            proc.kill_group()
            proc.send(signal.SIGKILL)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(proc.wait(), 5.0)

    async def run_command(
        self, argv: Sequence[str], env: Mapping[str, str] | None, timeout: float
    ) -> tuple[int | None, str]:
        """Run a short command (exec probes) to completion: (status or None on timeout, output)."""

        def run() -> tuple[int | None, str]:
            try:
                p = subprocess.run(
                    list(argv),
                    executable=self._ip if argv and argv[0] == "ip" else None,
                    stdin=subprocess.DEVNULL,
                    capture_output=True,
                    env=dict(env) if env is not None else {"PATH": DEFAULT_PATH},
                    timeout=timeout,
                    cwd="/",
                    start_new_session=True,
                )
            except subprocess.TimeoutExpired:
                return None, ""
            except OSError as e:
                return 126, str(e)
            out = (p.stdout + p.stderr).decode("utf-8", "replace")
            return p.returncode, out

        return await asyncio.to_thread(run)

    # ---------------------------------------------------------------- re-adoption
    def load(self) -> dict[str, tuple[Sandbox, dict[str, ContainerRecord]]]:
        """The sandboxes and containers a previous agent left, with live processes.

        Processes are matched by PID *and* start time; a container whose
        process is gone gets a ContainerStatusUnknown termination.
        """
        out: dict[str, tuple[Sandbox, dict[str, ContainerRecord]]] = {}
        if not self.pods_dir.is_dir():
            return out
        for d in sorted(self.pods_dir.iterdir()):
            try:
                sb = Sandbox.from_json(json.loads((d / "sandbox.json").read_text()))
            except (OSError, ValueError, TypeError):
                continue
            records: dict[str, ContainerRecord] = {}
            for f in sorted((d / "containers").glob("*.json")):
                try:
                    raw = json.loads(f.read_text())
                except (OSError, ValueError):
                    continue
                rec = ContainerRecord(
                    name=raw.get("name", f.stem),
                    image=raw.get("image", ""),
                    restart_count=int(raw.get("restartCount") or 0),
                    runs=int(raw.get("runs") or 0),
                    terminations=[
                        t for x in raw.get("terminations") or () if (t := _term_from_dict(x))
                    ],
                )
                p = raw.get("process")
                if p:
                    proc = ContainerProcess(
                        int(p["pid"]),
                        int(p["startTicks"]),
                        p["containerID"],
                        float(p["startedAt"]),
                        Path(p["log"]),
                    )
                    if _start_ticks(proc.pid) == proc.start_ticks:
                        rec.process = proc
                    else:
                        proc.finished_at = time.time()
                        proc._exited.set()  # gone while nobody watched
                        rec.add_termination(proc.termination())
                records[rec.name] = rec
            out[sb.uid] = (sb, records)
        return out
