"""Schema DSL: one declaration of each API type, read by three consumers.

Theory of operation: every kind svcnet serves is described once, as a tree of
`Struct`s whose `Field`s carry a value schema plus the patch metadata that
upstream encodes in Go struct tags (`patchStrategy`, `patchMergeKey`,
`+listType`, `+listMapKey`). From that single tree we derive

* the OpenAPI v3 documents kubectl uses for `explain`, validation and
  client-side apply (`svcnet.apiserver.openapi`),
* the strategic-merge-patch metadata (`svcnet.api.patch`), and
* structural checks of decoded bodies (wrong JSON types).

Invariants: schemas are immutable values; a `Struct` is named by its upstream
definition name (e.g. ``io.k8s.api.core.v1.ServiceSpec``) so generated
OpenAPI uses the same `$ref`s as upstream. Recursive types are expressed with
`Ref(name)` and resolved through `resolve()`.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Schema:
    """Base of every value schema."""


@dataclass(frozen=True)
class Prim(Schema):
    """A scalar: type is one of string, integer, number, boolean."""

    type: str
    format: str | None = None
    enum: tuple[str, ...] = ()


@dataclass(frozen=True)
class IntOrString(Schema):
    """``io.k8s.apimachinery.pkg.util.intstr.IntOrString``."""


@dataclass(frozen=True)
class Quantity(Schema):
    """``io.k8s.apimachinery.pkg.api.resource.Quantity`` (string or number)."""


@dataclass(frozen=True)
class Time(Schema):
    """RFC 3339 timestamp (``io.k8s.apimachinery.pkg.apis.meta.v1.Time``)."""

    micro: bool = False


@dataclass(frozen=True)
class AnyValue(Schema):
    """Free-form JSON (x-kubernetes-preserve-unknown-fields), e.g. RawExtension."""


@dataclass(frozen=True)
class ArrayOf(Schema):
    items: Schema


@dataclass(frozen=True)
class MapOf(Schema):
    """JSON object with arbitrary keys (additionalProperties)."""

    values: Schema


@dataclass(frozen=True)
class Ref(Schema):
    """Reference to a `Struct` registered under ``name`` (for recursion)."""

    name: str


@dataclass(frozen=True)
class Field:
    """One property of a `Struct`.

    Args:
        schema: the value schema.
        description: text shown by `kubectl explain`.
        required: listed in the struct's ``required``.
        merge_key: ``x-kubernetes-patch-merge-key`` (lists merged by this key).
        strategy: ``x-kubernetes-patch-strategy``: "merge", "replace",
            "retainKeys" or "merge,retainKeys".
        list_type: ``x-kubernetes-list-type``: "atomic", "map" or "set".
        map_keys: ``x-kubernetes-list-map-keys`` for list_type "map".
    """

    schema: Schema
    description: str = ""
    required: bool = False
    merge_key: str | None = None
    strategy: str | None = None
    list_type: str | None = None
    map_keys: tuple[str, ...] = ()


@dataclass(frozen=True)
class Struct(Schema):
    """A named object type with declared properties."""

    name: str
    fields: dict[str, Field] = field(default_factory=dict, hash=False, compare=False)
    description: str = ""

    def __hash__(self) -> int:
        return hash(self.name)


_REGISTRY: dict[str, Struct] = {}

# Convenience scalars used by the declarations.
STRING = Prim("string")
BOOL = Prim("boolean")
INT32 = Prim("integer", "int32")
INT64 = Prim("integer", "int64")
NUMBER = Prim("number", "double")
BYTES = Prim("string", "byte")
INT_OR_STRING = IntOrString()
QUANTITY = Quantity()
TIME = Time()
MICRO_TIME = Time(micro=True)
ANY = AnyValue()
STRING_MAP = MapOf(STRING)
STRING_LIST = ArrayOf(STRING)


def enum(*values: str) -> Prim:
    """A string restricted to ``values`` (shown in explain; enforced by validators)."""
    return Prim("string", None, tuple(values))


def struct(name: str, description: str = "", /, **fields: Field | Schema) -> Struct:
    """Declare and register a struct; bare schemas become optional fields."""
    norm = {k: (v if isinstance(v, Field) else Field(v)) for k, v in fields.items()}
    s = Struct(name=name, fields=norm, description=description)
    _REGISTRY[name] = s
    return s


def f(schema: Schema, description: str = "", **kw: object) -> Field:
    """Shorthand for `Field` (keeps declarations one line each)."""
    return Field(schema, description, **kw)  # type: ignore[arg-type]


def resolve(schema: Schema | None) -> Schema | None:
    """Follow a `Ref` to its registered struct (other schemas pass through)."""
    if isinstance(schema, Ref):
        return _REGISTRY[schema.name]
    return schema


def registry() -> dict[str, Struct]:
    """All declared structs by definition name."""
    return dict(_REGISTRY)


def walk_structs(roots: Iterable[Schema]) -> dict[str, Struct]:
    """Every struct reachable from ``roots`` (by name), for OpenAPI emission."""
    seen: dict[str, Struct] = {}
    stack: list[Schema] = list(roots)
    while stack:
        s = resolve(stack.pop())
        if isinstance(s, Struct):
            if s.name in seen:
                continue
            seen[s.name] = s
            stack.extend(fl.schema for fl in s.fields.values())
        elif isinstance(s, ArrayOf):
            stack.append(s.items)
        elif isinstance(s, MapOf):
            stack.append(s.values)
    return seen


def child(schema: Schema | None, key: str) -> tuple[Field | None, Schema | None]:
    """The field and resolved value schema of property ``key`` of a struct.

    Returns (None, None) when ``schema`` is not a struct or has no such field:
    callers then treat the value as free-form JSON.
    """
    s = resolve(schema)
    if isinstance(s, Struct):
        fl = s.fields.get(key)
        if fl is not None:
            return fl, resolve(fl.schema)
    return None, None
