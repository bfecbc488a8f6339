"""The built-in image table: which process a container of a given image runs (pure).

Theory of operation: svcnet runs containers as plain processes, without
image filesystems, so an image name has to be mapped to something runnable
on the node. `resolve(image, command, args)` does that in four steps:

1. parse the reference (`reference.parse_reference`); a malformed name is
   ``Unresolved(reason="InvalidImageName")`` as with the kubelet;
2. find the image's row in `BUILTIN_IMAGES` by path suffix, ignoring the
   registry, so mirrors (``registry.k8s.io``, ``k8s.gcr.io``,
   ``mirror.gcr.io/library/...``) match too;
3. build the argv the container runtime would exec from the image's
   ENTRYPOINT/CMD and the container's command/args, with the Kubernetes
   rule: ``command`` replaces ENTRYPOINT and drops CMD, ``args`` replace CMD;
4. map that argv: when it names the image's own program (``/agnhost
   netexec ...``, ``nginx -g 'daemon off;'``, ``/http-echo -text=hi``) it
   becomes ``python -m svcnet.workloads.<program>`` with the flags passed
   through; any other argv (``sh -c ...``) runs as given on the host
   filesystem. Shell images (busybox, alpine, python, debian, ubuntu) always
   run their argv on the host; in python images ``python``/``python3`` is
   the current interpreter.

An image outside the table runs only when the container has a command; with
none, svcnet cannot know what to run and returns
``Unresolved(reason="ImageNotSupported")`` whose message says how to fix it.

Invariants: no I/O, no environment lookups; the only input beside the
arguments is the interpreter path (``python``, default `sys.executable`),
so results are deterministic and table-testable. ``$(VAR)`` references in
command/args are expanded by the caller (it knows the container's env)
before calling `resolve`.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal

from svcnet.workloads.goflags import flag_value, split_listen
from svcnet.workloads.reference import ImageRef, InvalidReference, parse_reference

__all__ = [
    "AGNHOST_SUBCOMMANDS",
    "BUILTIN_IMAGES",
    "IMAGE_NOT_SUPPORTED",
    "INVALID_IMAGE_NAME",
    "BuiltinImage",
    "Resolved",
    "Unresolved",
    "container_argv",
    "markdown_table",
    "resolve",
]

IMAGE_NOT_SUPPORTED = "ImageNotSupported"
INVALID_IMAGE_NAME = "InvalidImageName"
MODULE_PREFIX = "svcnet.workloads."

# Environment every program svcnet starts for an image gets by default; the
# pod's own env wins. Unbuffered output keeps `kubectl logs` current.
DEFAULT_ENV: tuple[tuple[str, str], ...] = (("PYTHONUNBUFFERED", "1"),)

# agnhost subcommand -> svcnet.workloads module.
AGNHOST_SUBCOMMANDS: dict[str, str] = {
    "liveness": "liveness",
    "netexec": "netexec",
    "pause": "pause",
    "serve-hostname": "serve_hostname",
}

Kind = Literal["agnhost", "program", "host"]
_PYTHON_NAME = re.compile(r"python(?:3(?:\.\d+)?)?")


@dataclass(frozen=True)
class BuiltinImage:
    """One row of the image table.

    Attributes:
        key: short name of the row (``agnhost``, ``nginx``).
        matches: repository path suffixes this row claims (component-wise;
            ``agnhost`` matches ``e2e-test-images/agnhost``).
        kind: ``agnhost`` (dispatch on a subcommand), ``program`` (one
            built-in program), ``host`` (run the argv on the host).
        entrypoint, cmd: the image's ENTRYPOINT and CMD.
        binaries: basenames of argv[0] that mean "the image's own program".
        module: svcnet.workloads module for ``program`` rows.
        default_args: flags put before the container's own (theirs win).
        passthrough: whether the argv's flags are handed to the module
            (False for nginx, whose own flags and config svcnet ignores).
        default_subcommand: for ``agnhost`` rows, the subcommand assumed
            when argv has none or starts with a flag (``svcnet/netexec``).
        docs: one line for the README table.
    """

    key: str
    matches: tuple[str, ...]
    kind: Kind
    entrypoint: tuple[str, ...] = ()
    cmd: tuple[str, ...] = ()
    binaries: frozenset[str] = frozenset()
    module: str = ""
    default_args: tuple[str, ...] = ()
    passthrough: bool = True
    default_subcommand: str = ""
    docs: str = ""

    def claims(self, ref: ImageRef) -> bool:
        return any(ref.path_endswith(m) for m in self.matches)


BUILTIN_IMAGES: tuple[BuiltinImage, ...] = (
    BuiltinImage(
        key="svcnet/netexec",
        matches=("svcnet/netexec",),
        kind="agnhost",
        entrypoint=("/agnhost",),
        cmd=("netexec",),
        binaries=frozenset({"agnhost", "netexec"}),
        default_subcommand="netexec",
        docs="agnhost `netexec` by default (HTTP 8080: /hostname /clientip /echo?msg= /healthz /dial /shell /exit; UDP 8081); "
        "flags alone (`args: [--http-port=9000]`) or any agnhost subcommand below",
    ),
    BuiltinImage(
        key="registry.k8s.io/e2e-test-images/agnhost",
        matches=("agnhost",),
        kind="agnhost",
        entrypoint=("/agnhost",),
        cmd=("pause",),
        binaries=frozenset({"agnhost"}),
        docs="subcommands `netexec --http-port=8080 --udp-port=8081 [--delay-shutdown=S]`, "
        "`serve-hostname [--port=9376] [--tcp] [--udp] [--http=false] [--close]`, `liveness` (HTTP 8080, "
        "/healthz fails after 10 s), `pause` (the default); as `args: [netexec, ...]` or "
        "`command: [/agnhost, netexec, ...]`",
    ),
    BuiltinImage(
        key="nginx",
        matches=("library/nginx", "nginx/nginx", "e2e-test-images/nginx"),
        kind="program",
        entrypoint=("/docker-entrypoint.sh",),
        cmd=("nginx", "-g", "daemon off;"),
        binaries=frozenset({"nginx", "nginx-debug", "docker-entrypoint.sh"}),
        module="nginx",
        passthrough=False,
        docs='HTTP on 80: the "Welcome to nginx!" page, and files from /usr/share/nginx/html when that '
        "directory exists on the node; nginx flags and config are ignored",
    ),
    BuiltinImage(
        key="nginxinc/nginx-unprivileged",
        matches=("nginxinc/nginx-unprivileged", "nginx/nginx-unprivileged"),
        kind="program",
        entrypoint=("/docker-entrypoint.sh",),
        cmd=("nginx", "-g", "daemon off;"),
        binaries=frozenset({"nginx", "nginx-debug", "docker-entrypoint.sh"}),
        module="nginx",
        default_args=("--port=8080",),
        passthrough=False,
        docs="as nginx, on port 8080",
    ),
    BuiltinImage(
        key="hashicorp/http-echo",
        matches=("http-echo",),
        kind="program",
        entrypoint=("/http-echo",),
        binaries=frozenset({"http-echo"}),
        module="http_echo",
        docs="`-text=...` (or env ECHO_TEXT) `-listen=:5678` `-status-code=200`: answers every path with "
        'the text; /health answers `{"status":"ok"}`',
    ),
    BuiltinImage(
        key="kicbase/echo-server",
        matches=("kicbase/echo-server", "jmalloc/echo-server"),
        kind="program",
        entrypoint=("/bin/echo-server",),
        binaries=frozenset({"echo-server"}),
        module="echo_server",
        passthrough=False,
        docs="HTTP on 8080 (env PORT): echoes the request line, headers and body (jmalloc/echo-server format)",
    ),
    BuiltinImage(
        key="registry.k8s.io/echoserver",
        matches=("echoserver",),
        kind="program",
        entrypoint=("/usr/local/bin/run.sh",),
        binaries=frozenset({"run.sh", "nginx", "echoserver"}),
        module="echo_server",
        default_args=("--format=echoserver",),
        passthrough=False,
        docs="HTTP on 8080: the k8s.gcr.io/echoserver report (Hostname, Request Information, Request "
        "Headers, Request Body)",
    ),
    BuiltinImage(
        key="registry.k8s.io/pause",
        matches=("pause", "pause-amd64"),
        kind="program",
        entrypoint=("/pause",),
        binaries=frozenset({"pause"}),
        module="pause",
        passthrough=False,
        docs="sleeps until SIGTERM",
    ),
    BuiltinImage(
        key="busybox",
        matches=("busybox",),
        kind="host",
        cmd=("sh",),
        docs="runs command/args on the node's host filesystem (`sh -c ...`, `sleep 3600`); default `sh`",
    ),
    BuiltinImage(
        key="alpine",
        matches=("alpine",),
        kind="host",
        cmd=("/bin/sh",),
        docs="as busybox; default `/bin/sh`",
    ),
    BuiltinImage(
        key="debian",
        matches=("debian",),
        kind="host",
        cmd=("bash",),
        docs="as busybox; default `bash`",
    ),
    BuiltinImage(
        key="ubuntu",
        matches=("ubuntu",),
        kind="host",
        cmd=("/bin/bash",),
        docs="as busybox; default `/bin/bash`",
    ),
    BuiltinImage(
        key="python",
        matches=("python",),
        kind="host",
        cmd=("python3",),
        docs="as busybox; `python`, `python3`, `python3.X` run the node agent's interpreter; default `python3`",
    ),
)


@dataclass(frozen=True)
class Resolved:
    """What to run for a container.

    Attributes:
        argv: the process to exec (argv[0] may be a bare name: PATH lookup).
        workload: ``netexec``, ``serve-hostname``, ``liveness``, ``pause``,
            ``nginx``, ``http-echo``, ``echo-server`` or ``command`` (the
            given command on the host filesystem).
        image: the parsed reference.
        builtin: key of the table row, or "" for an image outside the table.
        ports: (protocol, port) the workload listens on, as far as its flags
            say; empty for commands.
        env: defaults for the process environment; the pod's env wins.
        notes: human-readable facts about the mapping, for events and logs.
    """

    argv: tuple[str, ...]
    workload: str
    image: ImageRef
    builtin: str = ""
    ports: tuple[tuple[str, int], ...] = ()
    env: tuple[tuple[str, str], ...] = ()
    notes: tuple[str, ...] = field(default=())


@dataclass(frozen=True)
class Unresolved:
    """Nothing can run: the container waits with this reason and message (like kubelet's Waiting state)."""

    reason: str
    message: str
    image: str


def container_argv(
    command: Sequence[str] | None,
    args: Sequence[str] | None,
    entrypoint: Sequence[str],
    cmd: Sequence[str],
) -> list[str]:
    """The argv a container runtime execs: ``command`` replaces ENTRYPOINT and drops CMD; ``args`` replace CMD."""
    if command:
        return [*command, *(args or ())]
    if args:
        return [*entrypoint, *args]
    return [*entrypoint, *cmd]


def _basename(path: str) -> str:
    return path.rstrip("/").rsplit("/", 1)[-1]


def _find(ref: ImageRef) -> BuiltinImage | None:
    for row in BUILTIN_IMAGES:
        if row.claims(ref):
            return row
    return None


def _int_flag(argv: Sequence[str], name: str, default: int) -> int | None:
    raw = flag_value(argv, name)
    if raw is None:
        return default
    try:
        return int(raw)
    except ValueError:
        return None


def _bool_flag(argv: Sequence[str], name: str, default: bool) -> bool:
    for arg in reversed(argv):
        key, eq, val = arg.partition("=")
        if key in (f"--{name}", f"-{name}"):
            return val.lower() in ("1", "t", "true") if eq else True
    return default


def _module_argv(python: str, module: str, args: Sequence[str]) -> tuple[str, ...]:
    return (python, "-m", MODULE_PREFIX + module, *args)


def _agnhost_ports(sub: str, flags: Sequence[str]) -> tuple[tuple[str, int], ...]:
    ports: list[tuple[str, int]] = []
    if sub == "netexec":
        http = _int_flag(flags, "http-port", 8080)
        udp = _int_flag(flags, "udp-port", 8081)
        if http is not None:
            ports.append(("TCP", http))
        if udp is not None and udp != -1:
            ports.append(("UDP", udp))
    elif sub == "serve-hostname":
        port = _int_flag(flags, "port", 9376)
        if port is not None:
            tcp = _bool_flag(flags, "tcp", False) or _bool_flag(flags, "http", True)
            if tcp:
                ports.append(("TCP", port))
            if _bool_flag(flags, "udp", False):
                ports.append(("UDP", port))
    elif sub == "liveness":
        ports.append(("TCP", 8080))
    return tuple(ports)


def _describe_ports(ports: Sequence[tuple[str, int]]) -> str:
    if not ports:
        return "no ports"
    return ", ".join(f"{proto} {port}" for proto, port in ports)


def _unsupported(image: str, why: str) -> Unresolved:
    builtins = ", ".join(r.key for r in BUILTIN_IMAGES if r.key != "nginxinc/nginx-unprivileged")
    return Unresolved(
        reason=IMAGE_NOT_SUPPORTED,
        message=(
            f"{why}. svcnet runs containers as processes without image filesystems: use one of the "
            f"built-in images ({builtins}) or give the container a command, which runs on the node's "
            'host filesystem (for example command: ["sh", "-c", "..."]).'
        ),
        image=image,
    )


def _host_command(
    ref: ImageRef, row: BuiltinImage | None, argv: list[str], python: str
) -> Resolved:
    notes = [
        f'image "{ref.familiar}" has no image filesystem in svcnet: the command runs on the '
        "node's host filesystem"
    ]
    env: tuple[tuple[str, str], ...] = ()
    if (
        row is not None
        and row.key == "python"
        and argv
        and _PYTHON_NAME.fullmatch(_basename(argv[0]))
    ):
        notes.append(f"{argv[0]} is the node agent's interpreter {python}")
        argv = [python, *argv[1:]]
        env = DEFAULT_ENV
    return Resolved(
        argv=tuple(argv),
        workload="command",
        image=ref,
        builtin=row.key if row is not None else "",
        env=env,
        notes=tuple(notes),
    )


def _resolve_agnhost(
    image: str, ref: ImageRef, row: BuiltinImage, argv: list[str], python: str
) -> Resolved | Unresolved:
    binary = _basename(argv[0])
    rest = argv[1:]
    if binary == "netexec" and row.default_subcommand:
        sub, flags = "netexec", rest
    elif not rest or rest[0].startswith("-"):
        if not row.default_subcommand:
            return _unsupported(
                image, f"agnhost needs a subcommand ({', '.join(sorted(AGNHOST_SUBCOMMANDS))})"
            )
        sub, flags = row.default_subcommand, rest
    else:
        sub, flags = rest[0], rest[1:]
    module = AGNHOST_SUBCOMMANDS.get(sub)
    if module is None:
        return _unsupported(
            image,
            f'agnhost subcommand "{sub}" is not built into svcnet (built in: '
            f"{', '.join(sorted(AGNHOST_SUBCOMMANDS))})",
        )
    ports = _agnhost_ports(sub, flags)
    return Resolved(
        argv=_module_argv(python, module, flags),
        workload=sub,
        image=ref,
        builtin=row.key,
        ports=ports,
        env=DEFAULT_ENV,
        notes=(f"agnhost {sub} built into svcnet ({_describe_ports(ports)})",),
    )


def _program_ports(row: BuiltinImage, args: Sequence[str]) -> tuple[tuple[str, int], ...]:
    if row.module == "http_echo":
        listen = flag_value(args, "listen") or ":5678"
        try:
            return (("TCP", split_listen(listen)[1]),)
        except ValueError:
            return ()
    if row.module == "pause":
        return ()
    default = 80 if row.module == "nginx" else 8080
    port = _int_flag(args, "port", default)
    return (("TCP", port),) if port is not None else ()


def _resolve_program(ref: ImageRef, row: BuiltinImage, argv: list[str], python: str) -> Resolved:
    own_flags = argv[1:]
    args = [*row.default_args, *(own_flags if row.passthrough else ())]
    ports = _program_ports(row, args)
    workload = row.module.replace("_", "-")
    notes = [f"{row.key} built into svcnet as {workload} ({_describe_ports(ports)})"]
    if not row.passthrough and argv != [*row.entrypoint, *row.cmd] and own_flags:
        notes.append(f"arguments {own_flags!r} of {_basename(argv[0])} are ignored")
    return Resolved(
        argv=_module_argv(python, row.module, args),
        workload=workload,
        image=ref,
        builtin=row.key,
        ports=ports,
        env=DEFAULT_ENV,
        notes=tuple(notes),
    )


def resolve(
    image: str,
    command: Sequence[str] | None,
    args: Sequence[str] | None,
    *,
    python: str = sys.executable,
) -> Resolved | Unresolved:
    """Map a container's image, command and args to the process svcnet runs.

    Args:
        image: the container's image reference as written in the pod spec.
        command: ``container.command`` (replaces the image ENTRYPOINT).
        args: ``container.args`` (replace the image CMD).
        python: interpreter that runs built-in programs and ``python`` in
            python images.

    Returns:
        `Resolved` with the argv to exec, or `Unresolved` with an
        upstream-style waiting reason (``InvalidImageName``,
        ``ImageNotSupported``) and a message saying how to fix it.
    """
    try:
        ref = parse_reference(image)
    except InvalidReference as e:
        return Unresolved(
            reason=INVALID_IMAGE_NAME,
            message=f'Failed to apply default image tag "{image}": couldn\'t parse image name '
            f'"{image}": {e}',
            image=image,
        )
    row = _find(ref)
    if row is None:
        if command:
            return _host_command(ref, None, container_argv(command, args, (), ()), python)
        why = f'image "{image}" is not one of svcnet\'s built-in images and the container has no command'
        if args:
            why += " (args alone need the image's ENTRYPOINT, which svcnet does not know)"
        return _unsupported(image, why)
    argv = container_argv(command, args, row.entrypoint, row.cmd)
    if not argv:
        return _unsupported(image, f'the container of image "{image}" has nothing to run')
    if row.kind == "host" or _basename(argv[0]) not in row.binaries:
        return _host_command(ref, row, argv, python)
    if row.kind == "agnhost":
        return _resolve_agnhost(image, ref, row, argv, python)
    return _resolve_program(ref, row, argv, python)


def markdown_table() -> str:
    """The image table as Markdown, for the README (kept true by generating it from `BUILTIN_IMAGES`)."""
    lines = [
        "| image | repository path ends in | runs | details |",
        "|---|---|---|---|",
    ]
    for row in BUILTIN_IMAGES:
        if row.kind == "host":
            runs = "the given command"
        elif row.kind == "agnhost":
            runs = "`svcnet.workloads.<subcommand>`"
        else:
            runs = f"`{MODULE_PREFIX}{row.module}`"
        matches = ", ".join(f"`{m}`" for m in row.matches)
        lines.append(f"| `{row.key}` | {matches} | {runs} | {row.docs} |")
    lines.append(
        "| any other image | | the given command, on the host filesystem | without a command the "
        "container waits with reason `ImageNotSupported` and a message saying how to fix it |"
    )
    return "\n".join(lines) + "\n"
