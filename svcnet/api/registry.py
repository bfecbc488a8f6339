"""Kind declarations: what the generic API machinery needs to serve a kind.

Theory of operation: the API server has ONE set of REST handlers. Everything
that differs between kinds (names, scope, subresources, schema, defaulting,
validation, strategy hooks, selectable fields, table columns) is data in a
`KindSpec`. Adding a kind means declaring a `KindSpec` and registering it;
no handler code changes.

Strategy hooks follow upstream's `rest.RESTCreateStrategy` /
`RESTUpdateStrategy`: `prepare_create` and `prepare_update` normalise an
object before validation (reset status on create, keep status on a main
resource update, keep spec on a status update), `default` fills defaults,
`validate` / `validate_update` return field errors. All hooks are pure
functions over JSON dicts they may mutate in place.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from svcnet.api.schema import Struct

Obj = dict[str, Any]
FieldErrors = list[Any]  # list[svcnet.api.validation.FieldError]


def _noop(obj: Obj) -> None:
    return None


def _noop_update(obj: Obj, old: Obj) -> None:
    return None


def _no_errors(obj: Obj) -> FieldErrors:
    return []


def _no_update_errors(obj: Obj, old: Obj) -> FieldErrors:
    return []


def _no_fields(obj: Obj) -> dict[str, str]:
    return {}


@dataclass(frozen=True)
class KindSpec:
    """Everything the generic machinery needs to serve one kind.

    Args:
        group: API group, "" for core.
        version: served (and storage) version.
        kind: e.g. "Service".
        plural / singular / short_names / categories: discovery names.
        namespaced: scope.
        schema: top-level struct of the kind (OpenAPI, patch, pruning).
        subresources: e.g. {"status", "scale", "log"}.
        verbs: verbs served on the main resource.
        default: fills defaults in place (after decode, before validation).
        prepare_create / prepare_update: strategy normalisation (in place).
        prepare_status_update: keeps everything but status from the old object.
        validate / validate_update: field errors (upstream paths and messages).
        fields: extra selectable fields (name/namespace are always there).
        printer: the table printer (`svcnet.api.printers.TablePrinter`).
        name_validator: validates metadata.name (returns messages).
        status_subresource_fields: top-level keys a status update may change.
    """

    group: str
    version: str
    kind: str
    plural: str
    singular: str
    namespaced: bool
    schema: Struct
    short_names: tuple[str, ...] = ()
    categories: tuple[str, ...] = ()
    subresources: frozenset[str] = frozenset()
    verbs: tuple[str, ...] = (
        "create",
        "delete",
        "deletecollection",
        "get",
        "list",
        "patch",
        "update",
        "watch",
    )
    default: Callable[[Obj], None] = _noop
    prepare_create: Callable[[Obj], None] = _noop
    prepare_update: Callable[[Obj, Obj], None] = _noop_update
    validate: Callable[[Obj], FieldErrors] = _no_errors
    validate_update: Callable[[Obj, Obj], FieldErrors] = _no_update_errors
    fields: Callable[[Obj], dict[str, str]] = _no_fields
    printer: Any = None
    name_validator: Callable[[str], list[str]] | None = None
    generation_tracked: bool = True
    extra: dict[str, Any] = field(default_factory=dict, hash=False, compare=False)

    @property
    def api_version(self) -> str:
        return f"{self.group}/{self.version}" if self.group else self.version

    @property
    def resource(self) -> str:
        """The store's resource key: "plural" or "group/plural"."""
        return f"{self.group}/{self.plural}" if self.group else self.plural

    @property
    def group_resource(self) -> str:
        return f"{self.plural}.{self.group}" if self.group else self.plural

    def selectable_fields(self, obj: Obj) -> dict[str, str]:
        """Fields a fieldSelector may use (upstream: metadata.name,
        metadata.namespace plus the kind's own)."""
        meta = obj.get("metadata") or {}
        out = {"metadata.name": meta.get("name", "")}
        if self.namespaced:
            out["metadata.namespace"] = meta.get("namespace", "")
        out.update(self.fields(obj))
        return out


class Registry:
    """All served kinds, indexed the ways the HTTP layer looks them up."""

    def __init__(self, specs: Iterable[KindSpec] = ()) -> None:
        self._by_gvr: dict[tuple[str, str, str], KindSpec] = {}
        self._by_gvk: dict[tuple[str, str, str], KindSpec] = {}
        for s in specs:
            self.add(s)

    def add(self, spec: KindSpec) -> None:
        self._by_gvr[(spec.group, spec.version, spec.plural)] = spec
        self._by_gvk[(spec.group, spec.version, spec.kind)] = spec

    def by_resource(self, group: str, version: str, plural: str) -> KindSpec | None:
        return self._by_gvr.get((group, version, plural))

    def by_kind(self, group: str, version: str, kind: str) -> KindSpec | None:
        return self._by_gvk.get((group, version, kind))

    def all(self) -> list[KindSpec]:
        return list(self._by_gvr.values())

    def groups(self) -> dict[str, list[str]]:
        """Group name -> served versions (core group is "")."""
        out: dict[str, list[str]] = {}
        for s in self._by_gvr.values():
            vs = out.setdefault(s.group, [])
            if s.version not in vs:
                vs.append(s.version)
        return out

    def in_group_version(self, group: str, version: str) -> list[KindSpec]:
        return sorted(
            (s for s in self._by_gvr.values() if s.group == group and s.version == version),
            key=lambda s: s.plural,
        )
