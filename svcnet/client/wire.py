"""Wire helpers of the REST client: query values, bodies, error decoding, line framing.

Pure functions and one sans-I/O class, kept apart from the aiohttp shell
(rest.py) so they are table-testable:

* `selector_string` / `query_value`: query parameters as the API expects;
* `delete_options`: the DeleteOptions body;
* `error_from_body`: a failure answer's bytes -> typed `ApiError` (the
  server's Status when it sent one, else one synthesised from the code);
* `LineSplitter`: watch streams are newline-delimited JSON; it is fed
  arbitrary chunks and returns complete lines, refusing to buffer more
  than a bound (aiohttp's own readline caps lines at 128 KiB, smaller
  than large objects).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import orjson

from svcnet.client.errors import ApiError, TransportError, status_for

__all__ = [
    "MAX_EVENT_BYTES",
    "LineSplitter",
    "delete_options",
    "error_from_body",
    "query_value",
    "selector_string",
]

MAX_EVENT_BYTES = 64 * 1024 * 1024


def selector_string(sel: str | Mapping[str, str] | None) -> str | None:
    """A label/field selector query value from a string or an equality mapping."""
    if sel is None or isinstance(sel, str):
        return sel or None
    return ",".join(f"{k}={v}" for k, v in sel.items()) or None


def query_value(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    return str(v)


def delete_options(
    policy: str | None = None,
    grace: int | None = None,
    preconditions: Mapping[str, str] | None = None,
    dry_run: bool = False,
) -> dict[str, Any] | None:
    """A v1 DeleteOptions body, or None when every option is default."""
    opts: dict[str, Any] = {}
    if policy is not None:
        opts["propagationPolicy"] = policy
    if grace is not None:
        opts["gracePeriodSeconds"] = grace
    if preconditions:
        opts["preconditions"] = dict(preconditions)
    if dry_run:
        opts["dryRun"] = ["All"]
    if not opts:
        return None
    return {"kind": "DeleteOptions", "apiVersion": "v1", **opts}


def error_from_body(code: int, raw: bytes) -> ApiError:
    """The typed error for an HTTP failure answer."""
    try:
        doc = orjson.loads(raw) if raw else None
    except orjson.JSONDecodeError:
        doc = None
    if isinstance(doc, dict) and doc.get("kind") == "Status":
        return ApiError.from_status(doc, code)
    return ApiError.from_status(status_for(code, raw.decode("utf-8", "replace")))


class LineSplitter:
    """Reassembles newline-terminated records from arbitrary chunks."""

    def __init__(self, limit: int = MAX_EVENT_BYTES) -> None:
        self.limit = limit
        self._buf = bytearray()

    def feed(self, chunk: bytes) -> list[bytes]:
        """Add bytes; return the complete non-blank lines (without newline).

        Raises:
            TransportError: an unterminated line grew beyond ``limit``.
        """
        self._buf += chunk
        out: list[bytes] = []
        start = 0
        while True:
            nl = self._buf.find(b"\n", start)
            if nl < 0:
                break
            line = bytes(self._buf[start:nl]).strip()
            start = nl + 1
            if line:
                out.append(line)
        del self._buf[:start]
        if len(self._buf) > self.limit:
            raise TransportError(f"watch event larger than {self.limit} bytes")
        return out

    def flush(self) -> list[bytes]:
        """The unterminated remainder at end of stream, if not blank."""
        rest = bytes(self._buf).strip()
        self._buf.clear()
        return [rest] if rest else []
