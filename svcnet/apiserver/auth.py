"""Bearer-token authentication helpers (RFC 6750), pure and tiny."""

from __future__ import annotations

import hmac

__all__ = ["check_bearer"]


def check_bearer(header_value: str | None, token: str) -> bool:
    """Return True iff `header_value` is `Bearer <token>` for the expected token.

    The scheme is matched case-insensitively (RFC 7235 section 2.1); the
    credential is compared in constant time. An empty expected token never
    matches, so a misconfigured server fails closed.
    """
    if not header_value or not token:
        return False
    scheme, _, credential = header_value.strip().partition(" ")
    if scheme.lower() != "bearer":
        return False
    return hmac.compare_digest(credential.strip().encode(), token.encode())
