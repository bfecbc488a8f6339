"""Errors of the lab package: one base, typed subclasses callers switch on.

- `TopologyError` (also a ValueError): `plan_topology` got bad input; carries
  the offending field so a CLI can say ``--nodes: must be at least 1``.
- `LabExistsError`: `apply_topology` found namespaces of the cluster already
  there (a running cluster, or the leftover of a crashed one).
- `NetnsError`: a netlink or namespace operation failed; carries the
  operation and the namespace it ran in.
- `CommandError`: a subprocess (``ip netns exec ...``) failed; carries argv,
  the exit status and stderr.
"""

from __future__ import annotations

from collections.abc import Sequence


class LabError(Exception):
    """Base of every lab error."""


class TopologyError(LabError, ValueError):
    """Invalid input to the topology planner."""

    def __init__(self, field: str, detail: str) -> None:
        super().__init__(f"{field}: {detail}")
        self.field = field
        self.detail = detail


class LabExistsError(LabError):
    """Namespaces of this cluster exist already."""

    def __init__(self, name: str, namespaces: Sequence[str]) -> None:
        super().__init__(
            f"cluster {name!r} already has network namespaces ({', '.join(namespaces)}); "
            f"stop it first, or clean a crashed run's leftovers with teardown({name!r})"
        )
        self.name = name
        self.namespaces = tuple(namespaces)


class NetnsError(LabError):
    """A netlink / namespace operation failed."""

    def __init__(self, op: str, netns: str | None, cause: BaseException) -> None:
        where = f" in netns {netns}" if netns else ""
        super().__init__(f"{op}{where}: {cause}")
        self.op = op
        self.netns = netns
        self.cause = cause


class CommandError(LabError):
    """A subprocess exited non-zero."""

    def __init__(self, argv: Sequence[str], returncode: int, stderr: str) -> None:
        super().__init__(f"{' '.join(argv)} exited {returncode}: {stderr.strip()}")
        self.argv = tuple(argv)
        self.returncode = returncode
        self.stderr = stderr
