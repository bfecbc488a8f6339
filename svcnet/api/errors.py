"""API errors shaped like upstream's `k8s.io/apimachinery/pkg/api/errors`.

Every failure the API server returns is an `APIError`, rendered at the HTTP
edge as a v1 Status with upstream's code, reason, message and details. The
constructors below mirror upstream's (`NewNotFound`, `NewInvalid`, ...) so the
messages users see match what a real kube-apiserver prints.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any


class APIError(Exception):
    """An error with an upstream-shaped Status."""

    def __init__(
        self,
        code: int,
        reason: str,
        message: str,
        details: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(message)
        self.code = code
        self.reason = reason
        self.message = message
        self.details = details

    def status(self) -> dict[str, Any]:
        """The v1 Status body."""
        st: dict[str, Any] = {
            "kind": "Status",
            "apiVersion": "v1",
            "metadata": {},
            "status": "Failure",
            "message": self.message,
            "reason": self.reason,
            "code": self.code,
        }
        if self.details:
            st["details"] = self.details
        return st


def qualified(group: str, resource: str) -> str:
    """``resource`` for core, ``resource.group`` otherwise (upstream GroupResource.String)."""
    return f"{resource}.{group}" if group else resource


def _details(group: str, kind: str, name: str | None) -> dict[str, Any]:
    d: dict[str, Any] = {}
    if name:
        d["name"] = name
    if group:
        d["group"] = group
    d["kind"] = kind
    return d


def not_found(group: str, resource: str, name: str) -> APIError:
    return APIError(
        404,
        "NotFound",
        f'{qualified(group, resource)} "{name}" not found',
        _details(group, resource, name),
    )


def already_exists(group: str, resource: str, name: str) -> APIError:
    return APIError(
        409,
        "AlreadyExists",
        f'{qualified(group, resource)} "{name}" already exists',
        _details(group, resource, name),
    )


def conflict(group: str, resource: str, name: str, why: str) -> APIError:
    return APIError(
        409,
        "Conflict",
        f'Operation cannot be fulfilled on {qualified(group, resource)} "{name}": {why}',
        _details(group, resource, name),
    )


MODIFIED = (
    "the object has been modified; please apply your changes to the latest version and try again"
)


def invalid(group: str, kind: str, name: str, errors: Sequence[Any]) -> APIError:
    """422 Invalid from a list of `svcnet.api.validation.FieldError`."""
    msgs = [e.message() for e in errors]
    joined = msgs[0] if len(msgs) == 1 else "[" + ", ".join(msgs) + "]"
    details = _details(group, kind, name)
    details["causes"] = [e.to_cause() for e in errors]
    return APIError(422, "Invalid", f'{kind} "{name}" is invalid: {joined}', details)


def bad_request(message: str) -> APIError:
    return APIError(400, "BadRequest", message)


def forbidden(group: str, resource: str, name: str, why: str) -> APIError:
    return APIError(
        403,
        "Forbidden",
        f'{qualified(group, resource)} "{name}" is forbidden: {why}',
        _details(group, resource, name),
    )


def method_not_supported(group: str, resource: str, verb: str) -> APIError:
    return APIError(
        405,
        "MethodNotAllowed",
        f"{verb} is not supported on resources of kind {qualified(group, resource)!r}",
        _details(group, resource, None),
    )


def not_acceptable(message: str) -> APIError:
    return APIError(406, "NotAcceptable", message)


def unsupported_media_type(content_type: str) -> APIError:
    return APIError(
        415,
        "UnsupportedMediaType",
        f"the body of the request was in an unknown format - accepted media types include: "
        f"application/json-patch+json, application/merge-patch+json, "
        f"application/apply-patch+yaml, application/strategic-merge-patch+json"
        f" (got {content_type!r})",
    )


def too_large(limit: int) -> APIError:
    return APIError(413, "RequestEntityTooLarge", f"request entity too large: limit is {limit}")


def expired(message: str) -> APIError:
    return APIError(410, "Expired", message)


def unauthorized() -> APIError:
    return APIError(401, "Unauthorized", "Unauthorized")


def internal(message: str) -> APIError:
    return APIError(500, "InternalError", f"Internal error occurred: {message}")


def timeout(message: str) -> APIError:
    return APIError(504, "Timeout", message)
