"""Go-style command-line values the upstream images accept (pure).

The images svcnet imitates are Go programs: agnhost uses pflag/cobra
(``--http-port=8080``, ``--http-port 8080``, booleans as ``--udp`` or
``--http=false``), hashicorp/http-echo uses the stdlib ``flag`` package
(``-text=hi``, ``--text hi``). Manifests copy those spellings verbatim, so
the workload programs and the image table read them with these helpers
instead of guessing.
"""

from __future__ import annotations

import argparse
import re
from collections.abc import Sequence

__all__ = [
    "flag_value",
    "go_bool",
    "go_duration",
    "join_flag_values",
    "split_listen",
]

_TRUE = frozenset({"1", "t", "T", "true", "TRUE", "True"})
_FALSE = frozenset({"0", "f", "F", "false", "FALSE", "False"})
_DURATION_UNITS = {
    "ns": 1e-9,
    "us": 1e-6,
    "µs": 1e-6,
    "μs": 1e-6,
    "ms": 1e-3,
    "s": 1.0,
    "m": 60.0,
    "h": 3600.0,
}
_DURATION_PART = re.compile(r"(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|μs|ms|s|m|h)")


def go_bool(value: str) -> bool:
    """Parse a Go ``strconv.ParseBool`` value; raise `argparse.ArgumentTypeError` otherwise."""
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise argparse.ArgumentTypeError(f"invalid boolean value {value!r}")


def go_duration(value: str) -> float:
    """Parse a Go ``time.ParseDuration`` string (``1m30s``, ``500ms``, ``0``) into seconds.

    Raises:
        ValueError: not a Go duration (a bare number other than 0 has no unit).
    """
    s = value.strip()
    sign = 1.0
    if s[:1] in ("+", "-"):
        sign = -1.0 if s[0] == "-" else 1.0
        s = s[1:]
    if s == "0":
        return 0.0
    if not s:
        raise ValueError(f"invalid duration {value!r}")
    total, pos = 0.0, 0
    while pos < len(s):
        m = _DURATION_PART.match(s, pos)
        if m is None:
            raise ValueError(f"invalid duration {value!r}")
        total += float(m.group(1)) * _DURATION_UNITS[m.group(2)]
        pos = m.end()
    return sign * total


def flag_value(argv: Sequence[str], name: str) -> str | None:
    """The last value given for flag ``name`` in ``argv``, Go style, or None.

    Accepts ``--name=v``, ``-name=v``, ``--name v`` and ``-name v``; a later
    occurrence wins, as in Go. Parsing stops at ``--``.
    """
    found: str | None = None
    spellings = (f"--{name}", f"-{name}")
    i = 0
    while i < len(argv):
        arg = argv[i]
        if arg == "--":
            break
        key, eq, val = arg.partition("=")
        if key in spellings:
            if eq:
                found = val
            elif i + 1 < len(argv):
                found = argv[i + 1]
                i += 1
        i += 1
    return found


def join_flag_values(argv: Sequence[str], names: Sequence[str]) -> list[str]:
    """Rewrite ``-name value`` as ``--name=value`` for the value-taking flags ``names``.

    Go takes the next word as the value even when it starts with ``-``
    (``-text -``); argparse would not, so the programs normalise first.
    """
    spellings = {f"-{n}" for n in names} | {f"--{n}" for n in names}
    out: list[str] = []
    i = 0
    while i < len(argv):
        arg = argv[i]
        if arg == "--":
            out.extend(argv[i:])
            break
        if arg in spellings and i + 1 < len(argv):
            out.append(f"--{arg.lstrip('-')}={argv[i + 1]}")
            i += 2
            continue
        out.append(arg)
        i += 1
    return out


def split_listen(addr: str) -> tuple[str | None, int]:
    """Split a Go listen address (``:5678``, ``127.0.0.1:80``, ``[::1]:80``) into (host, port).

    An empty host means every address and comes back as None.

    Raises:
        ValueError: no port, or a port outside 0-65535.
    """
    host, sep, port_s = addr.rpartition(":")
    if not sep or not port_s.isdigit():
        raise ValueError(f"address {addr!r}: missing port")
    port = int(port_s)
    if port > 65535:
        raise ValueError(f"address {addr!r}: invalid port")
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    return (host or None), port
