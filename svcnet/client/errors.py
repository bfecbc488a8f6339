"""Errors of `svcnet.client`, shaped like client-go's `k8s.io/apimachinery/pkg/api/errors`.

Theory of operation: every failure a caller can see is a `ClientError`.
A non-2xx answer from the API server (or an ERROR event inside a watch)
becomes an `ApiError` carrying the upstream v1 Status; `ApiError.from_status`
picks the typed subclass callers switch on (`NotFoundError`, `ConflictError`,
`AlreadyExistsError`, `GoneError`, ...), mirroring client-go's `IsNotFound`,
`IsConflict`, ... which look at the Status reason and code. Failures below
HTTP (refused connections, resets, TLS, timeouts) become `TransportError`
at the shell boundary (`map_transport_errors`), never deeper.

Upstream rule: 409 is shared by two reasons; client-go's IsAlreadyExists
checks reason AlreadyExists and IsConflict checks reason Conflict, so the
subclass is chosen by reason first and by code only when the reason is
missing or unknown.
"""

from __future__ import annotations

import contextlib
import ssl
from collections.abc import Iterator
from typing import Any

import aiohttp

__all__ = [
    "AlreadyExistsError",
    "ApiError",
    "ClientError",
    "ConfigError",
    "ConflictError",
    "ForbiddenError",
    "GoneError",
    "InvalidError",
    "NotFoundError",
    "TransportError",
    "UnauthorizedError",
    "is_already_exists",
    "is_conflict",
    "is_gone",
    "is_invalid",
    "is_not_found",
    "map_transport_errors",
    "status_for",
]

# Reasons upstream uses for each code when a server sends no Status body.
REASON_FOR_CODE = {
    400: "BadRequest",
    401: "Unauthorized",
    403: "Forbidden",
    404: "NotFound",
    405: "MethodNotAllowed",
    406: "NotAcceptable",
    409: "Conflict",
    410: "Expired",
    413: "RequestEntityTooLarge",
    415: "UnsupportedMediaType",
    422: "Invalid",
    429: "TooManyRequests",
    500: "InternalError",
    503: "ServiceUnavailable",
    504: "Timeout",
}


class ClientError(Exception):
    """Base of every error raised by svcnet.client."""


class ConfigError(ClientError):
    """A kubeconfig or in-cluster configuration that cannot be used."""


class TransportError(ClientError):
    """The request did not complete at the HTTP level (connect, TLS, reset, timeout)."""


class ApiError(ClientError):
    """The API server answered with a failure Status.

    Attributes:
        status: the v1 Status object as sent by the server.
        code: the HTTP status code (``status["code"]``).
        reason: the machine-readable reason (NotFound, Conflict, Expired, ...).
        message: the human-readable message.
    """

    def __init__(self, status: dict[str, Any]) -> None:
        self.status = status
        self.code = int(status.get("code") or 0)
        self.reason = str(status.get("reason") or "")
        self.message = str(status.get("message") or "")
        super().__init__(f"{self.code} {self.reason}: {self.message}")

    @property
    def details(self) -> dict[str, Any]:
        return self.status.get("details") or {}

    @staticmethod
    def from_status(status: dict[str, Any], code: int | None = None) -> ApiError:
        """Build the typed subclass for a Status (``code`` overrides a missing one)."""
        if code is not None and not status.get("code"):
            status = {**status, "code": code}
        c = int(status.get("code") or 0)
        reason = status.get("reason") or ""
        cls = _BY_REASON.get(reason) or _BY_CODE.get(c) or ApiError
        return cls(status)


class NotFoundError(ApiError):
    """404 NotFound."""


class AlreadyExistsError(ApiError):
    """409 AlreadyExists (create of a name that exists)."""


class ConflictError(ApiError):
    """409 Conflict (stale resourceVersion on update, failed precondition)."""


class GoneError(ApiError):
    """410 Expired/Gone: the resourceVersion is older than the server's history."""


class InvalidError(ApiError):
    """422 Invalid (validation failed; ``details.causes`` lists field errors)."""


class UnauthorizedError(ApiError):
    """401 Unauthorized."""


class ForbiddenError(ApiError):
    """403 Forbidden."""


_BY_REASON: dict[str, type[ApiError]] = {
    "NotFound": NotFoundError,
    "AlreadyExists": AlreadyExistsError,
    "Conflict": ConflictError,
    "Expired": GoneError,
    "Gone": GoneError,
    "Invalid": InvalidError,
    "Unauthorized": UnauthorizedError,
    "Forbidden": ForbiddenError,
}
_BY_CODE: dict[int, type[ApiError]] = {
    404: NotFoundError,
    409: ConflictError,
    410: GoneError,
    422: InvalidError,
    401: UnauthorizedError,
    403: ForbiddenError,
}


def status_for(code: int, text: str = "") -> dict[str, Any]:
    """A v1 Status for an error answer whose body is not a Status (proxies, HTML)."""
    return {
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Failure",
        "message": text.strip()[:1024] or f"the server responded with status {code}",
        "reason": REASON_FOR_CODE.get(code, "Unknown"),
        "code": code,
    }


def is_not_found(err: BaseException) -> bool:
    return isinstance(err, NotFoundError)


def is_already_exists(err: BaseException) -> bool:
    return isinstance(err, AlreadyExistsError)


def is_conflict(err: BaseException) -> bool:
    return isinstance(err, ConflictError)


def is_gone(err: BaseException) -> bool:
    return isinstance(err, GoneError)


def is_invalid(err: BaseException) -> bool:
    return isinstance(err, InvalidError)


@contextlib.contextmanager
def map_transport_errors(what: str) -> Iterator[None]:
    """Translate aiohttp/ssl/timeout failures into `TransportError`."""
    try:
        yield
    except (aiohttp.ClientError, ssl.SSLError, OSError) as e:
        raise TransportError(f"{what}: {type(e).__name__}: {e}") from e
    except TimeoutError as e:
        raise TransportError(f"{what}: timed out") from e
