"""Typed allocator errors, worded like upstream's so the API layer can quote them.

Upstream (``pkg/registry/core/service/ipallocator`` and ``portallocator``)
has a handful of sentinel errors that the Service REST layer switches on and
then embeds in field errors or internal errors. We keep one class per
sentinel, carrying the value and the range, and ``str(err)`` is exactly
upstream's ``err.Error()``:

===================  =====================================================================
error                ``str(err)``
===================  =====================================================================
Full                 ``range is full``
AlreadyAllocated     ``provided IP is already allocated`` / ``provided port is ...``
NotInRange (IP)      ``the provided IP (10.1.0.5) is not in the valid range. The range of
                     valid IPs is 10.0.0.0/16``
NotInRange (port)    ``provided port is not in the valid range. The range of valid ports
                     is 30000-32767``
MismatchedRange      ``the provided network does not match the current range`` /
                     ``the provided port range does not match the current port range``
===================  =====================================================================

The helper functions at the bottom build the surrounding text the REST layer
adds (``storage/alloc.go``), so a caller never re-types a message:

- static ClusterIP:  ``spec.clusterIPs: Invalid value: [...]`` with detail
  ``ip_allocation_detail(ip, err)`` -> ``failed to allocate IP 10.0.0.5: provided IP is
  already allocated`` (422).
- static NodePort:   ``spec.ports[i].nodePort: Invalid value: 30080`` with detail
  ``str(err)`` (422).
- dynamic ClusterIP / NodePort / HealthCheck NodePort failures are 500 Internal
  errors with ``next_ip_failure(err)``, ``next_node_port_failure(err)``,
  ``health_check_node_port_failure(err, requested)``.
"""

from __future__ import annotations

from typing import Literal

Kind = Literal["IP", "port"]


class AllocatorError(Exception):
    """Base of every error raised by :mod:`svcnet.allocators`."""


class Full(AllocatorError):
    """No free value is left in the range (upstream ``ErrFull``)."""

    def __init__(self, range_spec: str = "") -> None:
        super().__init__("range is full")
        self.range = range_spec


class AlreadyAllocated(AllocatorError):
    """The requested value is taken (upstream ``ErrAllocated``)."""

    def __init__(self, value: object, range_spec: str, kind: Kind = "IP") -> None:
        super().__init__(f"provided {kind} is already allocated")
        self.value = value
        self.range = range_spec
        self.kind = kind


class NotInRange(AllocatorError):
    """The requested value is outside the usable range (upstream ``ErrNotInRange``).

    For IPs the network address, the IPv4 broadcast address and (IPv6) any
    address past the bitmap cap are "not in range" too, exactly as upstream.
    """

    def __init__(self, value: object, range_spec: str, kind: Kind = "IP") -> None:
        if kind == "IP":
            msg = (
                f"the provided IP ({value}) is not in the valid range. "
                f"The range of valid IPs is {range_spec}"
            )
        else:
            msg = (
                f"provided port is not in the valid range. The range of valid ports is {range_spec}"
            )
        super().__init__(msg)
        self.value = value
        self.range = range_spec
        self.kind = kind


class MismatchedRange(AllocatorError):
    """A snapshot belongs to another range (upstream ``ErrMismatchedNetwork``)."""

    def __init__(self, expected: str, got: str, kind: Kind = "IP") -> None:
        if kind == "IP":
            msg = "the provided network does not match the current range"
        else:
            msg = "the provided port range does not match the current port range"
        super().__init__(msg)
        self.expected = expected
        self.got = got
        self.kind = kind


class InvalidRange(AllocatorError, ValueError):
    """A range given as configuration (CIDR, port range) cannot be parsed or used."""


def ip_allocation_detail(ip: str, err: AllocatorError) -> str:
    """Detail of the ``spec.clusterIPs`` field error for a static IP that failed.

    ``ip`` is the string the user wrote (upstream prints it unnormalised).
    """
    return f"failed to allocate IP {ip}: {err}"


def next_ip_failure(err: AllocatorError) -> str:
    """Message of the Internal error when no ClusterIP could be picked."""
    return f"failed to allocate a serviceIP: {err}"


def next_node_port_failure(err: AllocatorError) -> str:
    """Message of the Internal error when no NodePort could be picked."""
    return f"failed to allocate a nodePort: {err}"


def health_check_node_port_failure(err: AllocatorError, requested: int = 0) -> str:
    """Message of the Internal error for ``spec.healthCheckNodePort``.

    Upstream prints the port it was given for a requested port, and (a quirk
    of a shadowed variable) ``0`` when dynamic allocation failed.
    """
    if requested:
        return f"failed to allocate requested HealthCheck NodePort {requested}: {err}"
    return f"failed to allocate a HealthCheck NodePort 0: {err}"
