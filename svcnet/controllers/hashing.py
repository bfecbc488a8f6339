"""pod-template-hash: a short, stable name suffix for a pod template (pure).

Upstream (``controller.ComputeHash``) feeds the template through fnv32a,
appends the Deployment's ``status.collisionCount`` as little-endian bytes,
and renders the decimal sum with ``rand.SafeEncodeString`` (every digit
mapped into an alphabet without vowels, so no words appear in names).

Upstream hashes Go's in-memory struct dump, which Python cannot reproduce;
we hash the canonical JSON of the template (sorted keys, no whitespace).
The value therefore differs from upstream's bytes but keeps its
properties: deterministic across processes and machines (no ``hash()``),
different whenever the template (or the collision count) differs, and at
most ten characters from the same alphabet.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any, Final

# Upstream k8s.io/apimachinery/pkg/util/rand alphanums.
SAFE_ALPHABET: Final = "bcdfghjklmnpqrstvwxz2456789"
POD_TEMPLATE_HASH_LABEL: Final = "pod-template-hash"

_FNV32_OFFSET: Final = 0x811C9DC5
_FNV32_PRIME: Final = 0x01000193


def fnv32a(data: bytes) -> int:
    """The 32-bit FNV-1a hash of ``data`` (Go's ``hash/fnv.New32a``)."""
    h = _FNV32_OFFSET
    for b in data:
        h = ((h ^ b) * _FNV32_PRIME) & 0xFFFFFFFF
    return h


def safe_encode_string(s: str) -> str:
    """Upstream ``rand.SafeEncodeString``: each byte mapped into `SAFE_ALPHABET`."""
    return "".join(SAFE_ALPHABET[b % len(SAFE_ALPHABET)] for b in s.encode())


def canonical_json(obj: Any) -> bytes:
    """The byte form hashed: sorted keys, no whitespace, UTF-8."""
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def pod_template_hash(template: Mapping[str, Any], collision_count: int | None = None) -> str:
    """The pod-template-hash of ``template`` (upstream ``ComputeHash``).

    Args:
        template: a PodTemplateSpec (``metadata`` + ``spec``) as a JSON dict.
        collision_count: the Deployment's ``status.collisionCount``; None and
            0 differ, exactly as upstream (None appends nothing).
    """
    data = canonical_json(template)
    if collision_count is not None:
        # Upstream writes a uint32 into an 8-byte buffer, so 4 zero bytes follow.
        data += (collision_count & 0xFFFFFFFF).to_bytes(4, "little") + bytes(4)
    return safe_encode_string(str(fnv32a(data)))
