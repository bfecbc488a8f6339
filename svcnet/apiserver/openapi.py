"""OpenAPI v3 documents generated from the schema declarations (pure).

kubectl reads /openapi/v3 for `explain`, to learn whether the server
supports server-side field validation (a `fieldValidation` query parameter
on the kind's PATCH operation, tagged with x-kubernetes-group-version-kind)
and to compute client-side apply patches from the
x-kubernetes-patch-merge-key / x-kubernetes-patch-strategy extensions. One
document is produced per group-version, with every struct reachable from
its kinds under components/schemas, named like upstream's definitions.
"""

from __future__ import annotations

import hashlib
from typing import Any

import orjson

from svcnet.api.registry import KindSpec, Registry
from svcnet.api.schema import (
    AnyValue,
    ArrayOf,
    Field,
    IntOrString,
    MapOf,
    Prim,
    Quantity,
    Ref,
    Schema,
    Struct,
    Time,
    walk_structs,
)

INT_OR_STRING = "io.k8s.apimachinery.pkg.util.intstr.IntOrString"
QUANTITY = "io.k8s.apimachinery.pkg.api.resource.Quantity"
TIME = "io.k8s.apimachinery.pkg.apis.meta.v1.Time"
MICRO_TIME = "io.k8s.apimachinery.pkg.apis.meta.v1.MicroTime"


def _ref(name: str) -> dict[str, Any]:
    return {"$ref": f"#/components/schemas/{name}"}


def value_schema(s: Schema) -> dict[str, Any]:
    """OpenAPI for a value schema (structs by reference)."""
    if isinstance(s, Ref):
        return {"allOf": [_ref(s.name)], "default": {}}
    if isinstance(s, Struct):
        return {"allOf": [_ref(s.name)], "default": {}}
    if isinstance(s, Prim):
        out: dict[str, Any] = {"type": s.type}
        if s.format:
            out["format"] = s.format
        if s.enum:
            out["enum"] = list(s.enum)
        if s.type == "string":
            out["default"] = ""
        return out
    if isinstance(s, IntOrString):
        return {"allOf": [_ref(INT_OR_STRING)]}
    if isinstance(s, Quantity):
        return {"allOf": [_ref(QUANTITY)]}
    if isinstance(s, Time):
        return {"allOf": [_ref(MICRO_TIME if s.micro else TIME)]}
    if isinstance(s, ArrayOf):
        return {"type": "array", "items": value_schema(s.items)}
    if isinstance(s, MapOf):
        return {"type": "object", "additionalProperties": value_schema(s.values)}
    if isinstance(s, AnyValue):
        return {"type": "object", "x-kubernetes-preserve-unknown-fields": True}
    raise TypeError(f"unknown schema {s!r}")


def field_schema(fl: Field) -> dict[str, Any]:
    out = value_schema(fl.schema)
    if fl.description:
        out["description"] = fl.description
    if fl.merge_key:
        out["x-kubernetes-patch-merge-key"] = fl.merge_key
    if fl.strategy:
        out["x-kubernetes-patch-strategy"] = fl.strategy
    if fl.list_type:
        out["x-kubernetes-list-type"] = fl.list_type
    if fl.map_keys:
        out["x-kubernetes-list-map-keys"] = list(fl.map_keys)
    return out


def struct_schema(s: Struct, gvk: dict[str, str] | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {"type": "object"}
    if s.description:
        out["description"] = s.description
    out["properties"] = {k: field_schema(fl) for k, fl in s.fields.items()}
    req = sorted(k for k, fl in s.fields.items() if fl.required)
    if req:
        out["required"] = req
    if gvk:
        out["x-kubernetes-group-version-kind"] = [gvk]
    return out


_BUILTIN_SCHEMAS: dict[str, dict[str, Any]] = {
    INT_OR_STRING: {
        "description": "An integer or a string (e.g. a port number or a named port).",
        "type": "string",
        "format": "int-or-string",
    },
    QUANTITY: {
        "description": "A fixed-point number with an optional unit suffix, e.g. 100m or 1Gi.",
        "type": "string",
    },
    TIME: {"description": "RFC 3339 time in UTC.", "type": "string", "format": "date-time"},
    MICRO_TIME: {
        "description": "RFC 3339 time with microseconds.",
        "type": "string",
        "format": "date-time",
    },
}


def _gvk(spec: KindSpec) -> dict[str, str]:
    return {"group": spec.group, "kind": spec.kind, "version": spec.version}


def _param(name: str, where: str = "query", required: bool = False) -> dict[str, Any]:
    p: dict[str, Any] = {
        "name": name,
        "in": where,
        "schema": {"type": "string", "uniqueItems": True},
    }
    if required:
        p["required"] = True
    return p


def _op(
    spec: KindSpec, action: str, op_id: str, schema_ref: str, params: list[str]
) -> dict[str, Any]:
    content = {
        "application/json": {"schema": _ref(schema_ref)},
        "application/yaml": {"schema": _ref(schema_ref)},
    }
    op: dict[str, Any] = {
        "tags": [spec.group or "core"],
        "operationId": op_id,
        "parameters": [_param(p) for p in params],
        "responses": {"200": {"description": "OK", "content": content}},
        "x-kubernetes-action": action,
        "x-kubernetes-group-version-kind": _gvk(spec),
    }
    if action in ("post", "put", "patch"):
        ctypes = (
            [
                "application/json-patch+json",
                "application/merge-patch+json",
                "application/strategic-merge-patch+json",
            ]
            if action == "patch"
            else ["application/json", "application/yaml"]
        )
        op["requestBody"] = {
            "content": {c: {"schema": _ref(schema_ref)} for c in ctypes},
            "required": True,
        }
    return op


def _paths(spec: KindSpec) -> dict[str, Any]:
    prefix = f"/api/{spec.version}" if not spec.group else f"/apis/{spec.group}/{spec.version}"
    coll = (
        f"{prefix}/namespaces/{{namespace}}/{spec.plural}"
        if spec.namespaced
        else f"{prefix}/{spec.plural}"
    )
    item = f"{coll}/{{name}}"
    ref = spec.schema.name
    kind = spec.kind
    write = ["dryRun", "fieldManager", "fieldValidation", "pretty"]
    paths: dict[str, Any] = {
        coll: {
            "get": _op(
                spec,
                "list",
                f"list{kind}",
                ref,
                ["labelSelector", "fieldSelector", "limit", "continue", "resourceVersion", "watch"],
            ),
            "post": _op(spec, "post", f"create{kind}", ref, write),
            "delete": _op(
                spec,
                "deletecollection",
                f"deleteCollection{kind}",
                ref,
                ["labelSelector", "fieldSelector"],
            ),
            "parameters": [_param("namespace", "path", True)] if spec.namespaced else [],
        },
        item: {
            "get": _op(spec, "get", f"read{kind}", ref, ["pretty"]),
            "put": _op(spec, "put", f"replace{kind}", ref, write),
            "patch": _op(spec, "patch", f"patch{kind}", ref, [*write, "force"]),
            "delete": _op(
                spec,
                "delete",
                f"delete{kind}",
                ref,
                ["gracePeriodSeconds", "propagationPolicy", "dryRun"],
            ),
            "parameters": [_param("name", "path", True)]
            + ([_param("namespace", "path", True)] if spec.namespaced else []),
        },
    }
    if spec.namespaced:
        paths[f"{prefix}/{spec.plural}"] = {
            "get": _op(
                spec, "list", f"list{kind}ForAllNamespaces", ref, ["labelSelector", "fieldSelector"]
            )
        }
    if "status" in spec.subresources:
        paths[f"{item}/status"] = {
            "get": _op(spec, "get", f"read{kind}Status", ref, ["pretty"]),
            "put": _op(spec, "put", f"replace{kind}Status", ref, write),
            "patch": _op(spec, "patch", f"patch{kind}Status", ref, [*write, "force"]),
        }
    return paths


def group_version_doc(
    registry: Registry, group: str, version: str, server_version: str
) -> dict[str, Any] | None:
    """The OpenAPI v3 document for one group-version (None if not served)."""
    specs = registry.in_group_version(group, version)
    if not specs:
        return None
    from svcnet.api.types import SCALE, STATUS

    roots: list[Schema] = [s.schema for s in specs] + [STATUS, SCALE]
    structs = walk_structs(roots)
    gvks = {s.schema.name: _gvk(s) for s in specs}
    schemas: dict[str, Any] = dict(_BUILTIN_SCHEMAS)
    for name, st in sorted(structs.items()):
        schemas[name] = struct_schema(st, gvks.get(name))
    paths: dict[str, Any] = {}
    for s in specs:
        paths.update(_paths(s))
    return {
        "openapi": "3.0.0",
        "info": {"title": "Kubernetes", "version": server_version},
        "paths": paths,
        "components": {"schemas": schemas},
    }


class OpenAPIv3:
    """Caches encoded documents and the index (they only change with the registry)."""

    def __init__(self, registry: Registry, server_version: str) -> None:
        self._docs: dict[str, bytes] = {}
        self._hashes: dict[str, str] = {}
        for group, versions in registry.groups().items():
            for v in versions:
                path = f"api/{v}" if not group else f"apis/{group}/{v}"
                doc = group_version_doc(registry, group, v, server_version)
                if doc is None:
                    continue
                raw = orjson.dumps(doc)
                self._docs[path] = raw
                self._hashes[path] = hashlib.sha512(raw).hexdigest()[:64].upper()

    def index(self) -> dict[str, Any]:
        return {
            "paths": {
                p: {"serverRelativeURL": f"/openapi/v3/{p}?hash={h}"}
                for p, h in sorted(self._hashes.items())
            }
        }

    def document(self, path: str) -> tuple[bytes, str] | None:
        raw = self._docs.get(path)
        if raw is None:
            return None
        return raw, self._hashes[path]
