"""The errors of svcnet.dns: one base, typed subclasses callers switch on."""

from __future__ import annotations

__all__ = ["DNSConfigError", "DNSError"]


class DNSError(Exception):
    """Base of every error raised by svcnet.dns."""


class DNSConfigError(DNSError, ValueError):
    """A bad option: an upstream that is no address, a port out of range."""
