"""Structural decoding: check a decoded body against its kind's schema.

Upstream decodes JSON into Go structs, which (a) rejects values of the wrong
JSON type with a 400, (b) drops unknown fields (reported as an error under
``fieldValidation=Strict``, a warning under ``Warn``) and (c) turns nulls into
absent fields. `decode()` reproduces those three effects on plain dicts, so
stored objects hold only declared fields, like upstream's.
"""

from __future__ import annotations

import base64
import binascii
import re
from dataclasses import dataclass, field
from typing import Any

from svcnet.api.schema import (
    AnyValue,
    ArrayOf,
    IntOrString,
    MapOf,
    Prim,
    Quantity,
    Schema,
    Struct,
    Time,
    resolve,
)

_JSON_TYPE_NAMES = {
    dict: "object",
    list: "array",
    str: "string",
    bool: "bool",
    int: "number",
    float: "number",
}


@dataclass
class DecodeResult:
    obj: Any
    unknown: list[str] = field(default_factory=list)
    type_errors: list[str] = field(default_factory=list)


_INT_RANGES = {"int32": (-(2**31), 2**31 - 1), "int64": (-(2**63), 2**63 - 1)}
_RFC3339 = re.compile(r"^\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$")


def _type_name(v: Any) -> str:
    return _JSON_TYPE_NAMES.get(type(v), type(v).__name__)


def _go_type(s: Schema) -> str:
    if isinstance(s, Prim):
        return {
            ("integer", "int32"): "int32",
            ("integer", "int64"): "int64",
            ("integer", None): "int",
            ("number", "double"): "float64",
            ("boolean", None): "bool",
        }.get((s.type, s.format), s.type)
    if isinstance(s, Struct):
        return s.name.rsplit(".", 1)[-1]
    if isinstance(s, ArrayOf):
        return "[]" + _go_type(resolve(s.items) or s.items)
    if isinstance(s, MapOf):
        return "map[string]" + _go_type(resolve(s.values) or s.values)
    return "value"


def _value_error(s: Schema, v: Any) -> str | None:
    """Why a well-typed scalar still fails to decode (Go's decoders), or None."""
    if isinstance(s, Prim) and s.type == "integer" and isinstance(v, int):
        lo, hi = _INT_RANGES.get(s.format or "int64", _INT_RANGES["int64"])
        if not lo <= v <= hi:
            return f"number {v} overflows {s.format or 'int64'}"
    if isinstance(s, Prim) and s.format == "byte" and isinstance(v, str):
        try:
            base64.b64decode(v, validate=True)
        except (binascii.Error, ValueError):
            return f"illegal base64 data in {v[:32]!r}"
    if isinstance(s, Time) and isinstance(v, str) and not _RFC3339.match(v):
        return f'parsing time "{v}" as "2006-01-02T15:04:05Z07:00": cannot parse as RFC 3339'
    return None


def _scalar_ok(s: Schema, v: Any) -> bool:
    if isinstance(s, Prim):
        if s.type == "string":
            return isinstance(v, str)
        if s.type == "boolean":
            return isinstance(v, bool)
        if s.type == "integer":
            return (isinstance(v, int) and not isinstance(v, bool)) or (
                isinstance(v, float) and v.is_integer()
            )
        if s.type == "number":
            return isinstance(v, int | float) and not isinstance(v, bool)
    if isinstance(s, IntOrString):
        return isinstance(v, str) or (isinstance(v, int) and not isinstance(v, bool))
    if isinstance(s, Quantity):
        return isinstance(v, str | int | float) and not isinstance(v, bool)
    if isinstance(s, Time):
        return isinstance(v, str)
    return True


def decode(obj: Any, schema: Schema) -> DecodeResult:
    """Prune ``obj`` to ``schema``; collect unknown field paths and type errors.

    Unknown-field paths are dotted like upstream's strict decoding errors
    (``spec.ports[0].foo``). The input is not mutated.
    """
    res = DecodeResult(None)
    res.obj = _walk(obj, schema, "", res, "")
    return res


def _join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


def _walk(v: Any, s: Schema | None, path: str, res: DecodeResult, owner: str) -> Any:
    s = resolve(s)
    if s is None or isinstance(s, AnyValue):
        return v
    if isinstance(s, Struct):
        if not isinstance(v, dict):
            res.type_errors.append(
                f"json: cannot unmarshal {_type_name(v)} into Go struct field "
                f"{owner or s.name.rsplit('.', 1)[-1]}.{path} of type {_go_type(s)}"
            )
            return None
        out: dict[str, Any] = {}
        name = s.name.rsplit(".", 1)[-1]
        for k, item in v.items():
            if item is None:
                continue
            fl = s.fields.get(k)
            if fl is None:
                res.unknown.append(_join(path, k))
                continue
            out[k] = _walk(item, fl.schema, _join(path, k), res, name)
        return out
    if isinstance(s, ArrayOf):
        if not isinstance(v, list):
            res.type_errors.append(
                f"json: cannot unmarshal {_type_name(v)} into Go struct field "
                f"{owner}.{path} of type {_go_type(s)}"
            )
            return None
        return [
            _walk(item, s.items, f"{path}[{i}]", res, owner)
            for i, item in enumerate(v)
            if item is not None
        ]
    if isinstance(s, MapOf):
        if not isinstance(v, dict):
            res.type_errors.append(
                f"json: cannot unmarshal {_type_name(v)} into Go struct field "
                f"{owner}.{path} of type {_go_type(s)}"
            )
            return None
        return {k: _walk(item, s.values, f"{path}[{k}]", res, owner) for k, item in v.items()}
    if not _scalar_ok(s, v):
        res.type_errors.append(
            f"json: cannot unmarshal {_type_name(v)} into Go struct field "
            f"{owner}.{path} of type {_go_type(s)}"
        )
        return None
    if isinstance(s, Prim) and s.type == "integer" and isinstance(v, float):
        v = int(v)
    why = _value_error(s, v)
    if why is not None:
        res.type_errors.append(f"json: cannot unmarshal {why} into Go struct field {owner}.{path}")
        return None
    return v
