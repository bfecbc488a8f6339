"""The three Kubernetes patch types, as pure functions on decoded JSON.

Theory of operation: each function takes the current object and a decoded
patch body and returns a brand-new object. Inputs are copied once on entry
(`_copy`) so the internals may mutate their private copies; the result never
aliases what a caller holds. Result keys are the original's in order, then new
keys in patch order, so results are deterministic.

* `json_patch` is RFC 6902: operations apply in order and any failure fails
  the whole patch. Values compare as JSON (``1 == 1.0``, ``true != 1``).
* `merge_patch` is RFC 7386: objects merge recursively, null deletes, every
  other value replaces.
* `strategic_merge_patch` follows upstream apimachinery's server-side
  ``strategicpatch.StrategicMergeMapPatch``, driven by the schema's `Field`s:
  a ``strategy`` containing "merge" merges a list (objects by ``merge_key``,
  primitives as an ordered set); other lists, unknown fields and free-form
  values (`AnyValue`, `MapOf` values) merge like RFC 7386. Directives:
  ``$patch`` (delete / replace / merge), ``$retainKeys``,
  ``$setElementOrder/<list>`` and ``$deleteFromPrimitiveList/<list>``.

Upstream rules kept on purpose (the tests pin them):

* ``{"$patch": "delete"}`` on an existing map leaves ``{}``; on a key the
  original lacks it adds nothing.
* Merged lists are ordered by ``$setElementOrder``, then the patch list's
  order, then the live order. Without ``$setElementOrder`` an item new to the
  live list sorts before the live items; kubectl's own patches always carry
  ``$setElementOrder``, so ``kubectl apply`` and ``edit`` keep order.
* ``$retainKeys`` applies wherever it appears and must list every non-null
  key of its patch map.

Departures, all on inputs upstream mishandles: a patch value copied in where
the original has nothing (new key or list item, type change, replaced map or
list) is applied to an empty value, so its nulls and directives never leak
into the stored object; ``$patch: merge`` is accepted as the explicit default
in maps and merging lists; ``$deleteFromPrimitiveList`` deletes whatever the
field's strategy; ``{"$patch": "replace"}`` also works in primitive lists.

Errors: `InvalidPatch` (400 BadRequest: the patch itself is malformed) and
`PatchConflict` (422 Invalid: it does not apply to this object), with
`PatchTestFailed` for a failed RFC 6902 ``test``. Each carries ``code``.
"""

from __future__ import annotations

import enum
import json
import re
from collections.abc import Callable, Hashable
from typing import Any, ClassVar, Literal

from svcnet.api.schema import ArrayOf, Field, MapOf, Schema, Struct, child, resolve

JSONObject = dict[str, Any]


class PatchError(Exception):
    """A patch could not be applied; the message is shown to users."""

    code: ClassVar[int] = 422


class InvalidPatch(PatchError):
    """The patch document is malformed (wrong shape, unknown op or directive)."""

    code: ClassVar[int] = 400


class PatchConflict(PatchError):
    """The patch is well formed but does not apply to this document."""


class PatchTestFailed(PatchConflict):
    """An RFC 6902 ``test`` operation found a different value."""


# -- JSON values --------------------------------------------------------------


def _copy(v: Any) -> Any:
    """Deep copy of a decoded JSON value (faster than `copy.deepcopy`)."""
    if isinstance(v, dict):
        return {k: _copy(x) for k, x in v.items()}
    if isinstance(v, list):
        return [_copy(x) for x in v]
    return v


def _ident(v: Any) -> Hashable:
    """A hashable identity with JSON equality (1 == 1.0, True != 1)."""
    if isinstance(v, bool):
        return ("b", v)
    if isinstance(v, int | float):
        return ("n", v)
    if isinstance(v, str):
        return ("s", v)
    if isinstance(v, list):
        return ("a", tuple(_ident(x) for x in v))
    if isinstance(v, dict):
        return ("o", frozenset((k, _ident(x)) for k, x in v.items()))
    return ("z", None)


def json_equal(a: Any, b: Any) -> bool:
    """Whether two decoded JSON values are equal as JSON."""
    return _ident(a) == _ident(b)


def _show(v: Any, limit: int = 200) -> str:
    s = json.dumps(v, sort_keys=True, default=str)
    return s if len(s) <= limit else s[: limit - 3] + "..."


# -- RFC 6902 JSON patch -------------------------------------------------------

_INDEX = re.compile(r"0|[1-9][0-9]*")
_BAD_ESCAPE = re.compile(r"~(?![01])")
_OPS = ("add", "remove", "replace", "move", "copy", "test")


def _pointer(op: JSONObject, member: str) -> list[str]:
    """Parse the JSON pointer (RFC 6901) in ``op[member]`` into reference tokens."""
    if member not in op:
        raise InvalidPatch(f'{op["op"]} operation is missing the "{member}" member')
    ptr = op[member]
    if not isinstance(ptr, str):
        raise InvalidPatch(f'{op["op"]} operation: "{member}" must be a string')
    if ptr == "":
        return []
    if not ptr.startswith("/"):
        raise InvalidPatch(f'{op["op"]} operation: JSON pointer {ptr!r} must start with "/"')
    tokens = ptr[1:].split("/")
    if any(_BAD_ESCAPE.search(t) for t in tokens):
        raise InvalidPatch(f"{op['op']} operation: JSON pointer {ptr!r} has an invalid ~ escape")
    # ~1 first, so "~01" decodes to "~1" and not "/" (RFC 6901 section 4).
    return [t.replace("~1", "/").replace("~0", "~") for t in tokens]


def _render(tokens: list[str]) -> str:
    return "".join("/" + t.replace("~", "~0").replace("/", "~1") for t in tokens)


def _array_index(token: str, size: int, where: str, *, end_ok: bool) -> int:
    """The array index ``token`` names; ``end_ok`` allows ``-`` and ``size`` (add)."""
    if token == "-" and end_ok:
        return size
    if not _INDEX.fullmatch(token):
        raise PatchConflict(f"{where}: {token!r} is not a valid array index")
    i = int(token)
    if i > size or (i == size and not end_ok):
        raise PatchConflict(f"{where}: array index {i} is out of bounds (length {size})")
    return i


def _walk(doc: Any, tokens: list[str], where: str) -> Any:
    """The value ``tokens`` names in ``doc``; it must exist."""
    cur = doc
    for n, t in enumerate(tokens):
        if isinstance(cur, dict) and t in cur:
            cur = cur[t]
        elif isinstance(cur, list):
            cur = cur[_array_index(t, len(cur), where, end_ok=False)]
        else:
            raise PatchConflict(f'{where}: doc is missing path "{_render(tokens[: n + 1])}"')
    return cur


def _add(doc: Any, tokens: list[str], value: Any, where: str) -> Any:
    if not tokens:
        return value
    parent, last = _walk(doc, tokens[:-1], where), tokens[-1]
    if isinstance(parent, dict):
        parent[last] = value
    elif isinstance(parent, list):
        parent.insert(_array_index(last, len(parent), where, end_ok=True), value)
    else:
        raise PatchConflict(f'{where}: "{_render(tokens[:-1])}" is not an object or array')
    return doc


def _locate(doc: Any, tokens: list[str], where: str) -> tuple[Any, Any]:
    """Container and key (or index) of the existing non-root value ``tokens`` names."""
    parent, last = _walk(doc, tokens[:-1], where), tokens[-1]
    if isinstance(parent, dict) and last in parent:
        return parent, last
    if isinstance(parent, list):
        return parent, _array_index(last, len(parent), where, end_ok=False)
    raise PatchConflict(f'{where}: doc is missing path "{_render(tokens)}"')


def _remove(doc: Any, tokens: list[str], where: str) -> Any:
    """Remove the value ``tokens`` names and return it."""
    if not tokens:
        raise PatchConflict(f"{where}: cannot remove the whole document")
    parent, k = _locate(doc, tokens, where)
    return parent.pop(k)


def _replace(doc: Any, tokens: list[str], value: Any, where: str) -> Any:
    """Replace an existing value in place (RFC 6902 4.3: the target must exist)."""
    if not tokens:
        return value
    parent, k = _locate(doc, tokens, where)
    parent[k] = value
    return doc


def _apply_op(doc: Any, op: Any, n: int) -> Any:
    if not isinstance(op, dict):
        raise InvalidPatch(f"json patch operation {n} must be an object, got {_show(op)}")
    kind = op.get("op")
    if kind not in _OPS:
        raise InvalidPatch(f"json patch operation {n}: unknown op {_show(kind)}")
    where = f"jsonpatch {kind} operation does not apply"
    path = _pointer(op, "path")
    if kind in ("add", "replace", "test") and "value" not in op:
        raise InvalidPatch(f'{kind} operation is missing the "value" member')
    if kind == "add":
        return _add(doc, path, _copy(op["value"]), where)
    if kind == "remove":
        _remove(doc, path, where)
        return doc
    if kind == "replace":
        return _replace(doc, path, _copy(op["value"]), where)
    if kind == "test":
        where = "jsonpatch test operation failed"
        try:
            found = _walk(doc, path, where)
        except PatchConflict as e:
            raise PatchTestFailed(str(e)) from None
        if not json_equal(found, op["value"]):
            raise PatchTestFailed(
                f'jsonpatch test operation failed: value at "{_render(path)}" '
                f"is not {_show(op['value'])}"
            )
        return doc
    src = _pointer(op, "from")
    if kind == "copy":
        return _add(doc, path, _copy(_walk(doc, src, where)), where)
    if path == src:
        _walk(doc, src, where)
        return doc
    if path[: len(src)] == src:
        raise PatchConflict(f"{where}: cannot move a value into one of its children")
    return _add(doc, path, _remove(doc, src, where), where)


def json_patch(doc: Any, ops: Any) -> Any:
    """Apply an RFC 6902 JSON patch.

    Args:
        doc: the current document (not mutated).
        ops: the decoded patch, a list of operation objects.

    Returns:
        The patched document, sharing nothing with ``doc`` or ``ops``.

    Raises:
        InvalidPatch: ``ops`` is not a list of well-formed operations.
        PatchConflict: an operation does not apply (missing path, bad index).
        PatchTestFailed: a ``test`` operation failed.
    """
    if not isinstance(ops, list):
        raise InvalidPatch(f"a json patch must be a list of operations, got {_show(ops)}")
    out = _copy(doc)
    for n, op in enumerate(ops):
        out = _apply_op(out, op, n)
    return out


# -- RFC 7386 JSON merge patch -------------------------------------------------


def _merge(target: Any, patch: Any) -> Any:
    if not isinstance(patch, dict):
        return _copy(patch)
    out = target if isinstance(target, dict) else {}
    for k, v in patch.items():
        if v is None:
            out.pop(k, None)
        else:
            out[k] = _merge(out.get(k), v)
    return out


def merge_patch(doc: Any, patch: Any) -> Any:
    """Apply an RFC 7386 JSON merge patch (``doc`` is not mutated).

    A non-object patch replaces the whole document, as the RFC says; the API
    server rejects such bodies before calling this.
    """
    return _merge(_copy(doc), patch)


# -- Strategic merge patch -------------------------------------------------------

_DIRECTIVE = "$patch"
_RETAIN_KEYS = "$retainKeys"
_DELETE_PREFIX = "$deleteFromPrimitiveList"
_ORDER_PREFIX = "$setElementOrder"
_MAP_DIRECTIVES = ("delete", "replace", "merge")


class _Gone(enum.Enum):
    """What ``{"$patch": "delete"}`` on a map evaluates to."""

    DELETED = 0


_DELETED = _Gone.DELETED
_Merged = JSONObject | Literal[_Gone.DELETED]
_Keyer = Callable[[Any], Hashable]


def _sub(schema: Schema | None, key: str) -> tuple[Field | None, Schema | None]:
    """Patch metadata and value schema of ``key`` inside a value of ``schema``."""
    s = resolve(schema)
    if isinstance(s, Struct):
        return child(s, key)
    if isinstance(s, MapOf):
        return None, resolve(s.values)
    return None, None


def _strategies(fl: Field | None) -> set[str]:
    return {p.strip() for p in (fl.strategy or "").split(",")} if fl else set()


def _list_meta(fl: Field | None, s: Schema | None) -> tuple[bool, str | None, Schema | None]:
    """(merges, merge key, item schema) of a list-valued field."""
    items = resolve(s.items) if isinstance(s, ArrayOf) else None
    return "merge" in _strategies(fl), fl.merge_key if fl else None, items


def _keyer(key: str | None) -> _Keyer:
    """Identity of a list item: its merge key's value for maps, else itself."""

    def key_of(item: Any) -> Hashable:
        if key is not None and isinstance(item, dict):
            return ("key", _ident(item[key])) if key in item else ("nokey", id(item))
        return _ident(item)

    return key_of


def _suffix(key: str, prefix: str) -> str:
    head, sep, name = key.partition("/")
    if head != prefix or not sep or not name:
        raise InvalidPatch(f"invalid patch format: {key!r} must look like {prefix}/<field>")
    return name


def _matches(item: Any, key: str, value: Any) -> bool:
    """Whether list item ``item`` has merge key ``key`` equal to ``value``."""
    return isinstance(item, dict) and key in item and json_equal(item[key], value)


def _is_special(item: Any) -> bool:
    return isinstance(item, dict) and _DIRECTIVE in item


def _merge_map(orig: JSONObject, patch: JSONObject, schema: Schema | None) -> _Merged:
    """Merge ``patch`` into ``orig`` (both private copies; ``orig`` is reused)."""
    if _DIRECTIVE in patch:
        directive = patch.pop(_DIRECTIVE)
        if directive not in _MAP_DIRECTIVES:
            raise InvalidPatch(f"unknown patch type: {_show(directive)} in map: {_show(patch)}")
        if directive == "delete":
            return _DELETED
        if directive == "replace":
            orig = {}
    _apply_retain_keys(orig, patch)
    _apply_element_orders(orig, patch, schema)
    deletions: list[tuple[str, Any]] = []
    for k, v in patch.items():
        if k.startswith(_DELETE_PREFIX):
            # After the additions, so "add c, delete b" order never matters.
            deletions.append((_suffix(k, _DELETE_PREFIX), v))
            continue
        if v is None:
            orig.pop(k, None)
            continue
        fl, s = _sub(schema, k)
        merged = _merge_value(orig[k], v, fl, s) if k in orig else _fresh(v, fl, s)
        if merged is _DELETED:
            orig.pop(k, None)
        else:
            orig[k] = merged
    for name, values in deletions:
        _delete_from_primitive_list(orig, name, values)
    return orig


def _merge_value(orig: Any, patch: Any, fl: Field | None, s: Schema | None) -> Any:
    """Merge one present field; returns `_DELETED` to drop the key."""
    if isinstance(orig, dict) and isinstance(patch, dict):
        if "replace" in _strategies(fl):
            return _fresh(patch, fl, s)
        merged = _merge_map(orig, patch, s)
        return {} if merged is _DELETED else merged  # upstream keeps an empty map
    if isinstance(orig, list) and isinstance(patch, list):
        merges, key, items = _list_meta(fl, s)
        if merges:
            return _merge_list(orig, patch, key, items)
    return _fresh(patch, fl, s)


def _fresh(patch: Any, fl: Field | None, s: Schema | None) -> Any:
    """``patch`` applied to nothing: nulls and directives stripped."""
    if isinstance(patch, dict):
        return _merge_map({}, patch, s)
    if isinstance(patch, list):
        merges, key, items = _list_meta(fl, s)
        return _merge_list([], patch, key, items) if merges else _replace_list(patch, items)
    return patch


def _replace_list(patch: list[Any], items: Schema | None) -> list[Any]:
    """A non-merging list: the patch's items, directive items dropped."""
    out: list[Any] = []
    for item in patch:
        if _is_special(item):
            directive = item[_DIRECTIVE]
            if directive == "merge":
                raise InvalidPatch("merging lists cannot yet be specified in the patch")
            if directive not in _MAP_DIRECTIVES:
                raise InvalidPatch(f"unknown patch type: {_show(directive)} in list item")
            continue
        out.append(_merge_map({}, item, items) if isinstance(item, dict) else item)
    return out


def _merge_list(
    orig: list[Any], patch: list[Any], key: str | None, items: Schema | None
) -> list[Any]:
    """Merge a list whose field strategy is "merge"."""
    plain: list[Any] = []
    replace = False
    for item in patch:
        if not _is_special(item):
            plain.append(item)
            continue
        directive = item[_DIRECTIVE]
        if directive == "replace":
            replace = True  # keep looping: the other special items are still checked
        elif directive == "delete":
            if key is None or key not in item:
                raise InvalidPatch(
                    f"$patch: delete list item {_show(item)} has no merge key"
                    + (f" {key!r}" if key else "; use $deleteFromPrimitiveList")
                )
            orig = [o for o in orig if not _matches(o, key, item[key])]
        elif directive != "merge":
            raise InvalidPatch(f"unknown patch type: {_show(directive)} in list item")
    if replace:
        return _replace_list(plain, items)
    values = orig + plain
    if any(isinstance(v, list) for v in values):
        raise PatchConflict("lists of lists cannot be merged")
    if any(isinstance(v, dict) for v in values):
        if not all(isinstance(v, dict) for v in values):
            raise PatchConflict(f"list item types are not identical: {_show(values)}")
        if key is None:
            raise PatchConflict("cannot merge a list of objects without a merge key")
        merged = _merge_by_key(orig, plain, key, items)
    else:
        merged = _dedupe(values)
    return _normalize_order(merged, plain, orig, _keyer(key))


def _merge_by_key(
    orig: list[JSONObject], patch: list[JSONObject], key: str, items: Schema | None
) -> list[Any]:
    merged: list[Any] = list(orig)
    for item in patch:
        if key not in item:
            raise PatchConflict(f"map: {_show(item)} does not contain declared merge key: {key}")
        at = next((i for i, o in enumerate(merged) if _matches(o, key, item[key])), None)
        if at is None:
            merged.append(_merge_map({}, item, items))
        else:
            merged[at] = _merge_map(merged[at], item, items)
    return merged


def _dedupe(values: list[Any]) -> list[Any]:
    seen: set[Hashable] = set()
    out: list[Any] = []
    for v in values:
        if (i := _ident(v)) not in seen:
            seen.add(i)
            out.append(v)
    return out


def _normalize_order(
    merged: list[Any], patch_order: list[Any], server_order: list[Any], key_of: _Keyer
) -> list[Any]:
    """Order ``merged``: items named in ``patch_order`` follow it; the rest keep
    their live order; the two runs interleave by live position.

    An item that is not in the live list sorts before the next server-only item
    (upstream ``mergeSortedSlice`` takes the patch side unless both sides are
    live and the server-only one comes first).
    """
    pidx: dict[Hashable, int] = {}
    for i, item in enumerate(patch_order):
        pidx.setdefault(key_of(item), i)
    sidx: dict[Hashable, int] = {}
    for i, item in enumerate(server_order):
        sidx.setdefault(key_of(item), i)
    ours = sorted((m for m in merged if key_of(m) in pidx), key=lambda m: pidx[key_of(m)])
    theirs = sorted(
        (m for m in merged if key_of(m) not in pidx),
        key=lambda m: sidx.get(key_of(m), len(sidx)),
    )
    out: list[Any] = []
    i = j = 0
    while i < len(theirs) and j < len(ours):
        li, ri = sidx.get(key_of(theirs[i])), sidx.get(key_of(ours[j]))
        if li is not None and ri is not None and li < ri:
            out.append(theirs[i])
            i += 1
        else:
            out.append(ours[j])
            j += 1
    return out + theirs[i:] + ours[j:]


def _apply_retain_keys(orig: JSONObject, patch: JSONObject) -> None:
    """``$retainKeys``: drop original keys not listed; the patch must list its own."""
    if _RETAIN_KEYS not in patch:
        return
    keep = patch.pop(_RETAIN_KEYS)
    if not isinstance(keep, list) or not all(isinstance(k, str) for k in keep):
        raise InvalidPatch(f"invalid patch format of retainKeys: {_show(keep)}")
    for k, v in patch.items():
        if v is None or k.startswith((_DELETE_PREFIX, _ORDER_PREFIX)):
            continue
        if k not in keep:
            raise InvalidPatch(f"patch content doesn't match retainKeys list: {k!r} not in {keep}")
    for k in [k for k in orig if k not in keep]:
        del orig[k]


def _apply_element_orders(orig: JSONObject, patch: JSONObject, schema: Schema | None) -> None:
    """``$setElementOrder/<name>``: merge ``<name>`` now and order it as listed."""
    for directive in [k for k in patch if k.startswith(_ORDER_PREFIX)]:
        order = patch.pop(directive)
        name = _suffix(directive, _ORDER_PREFIX)
        if not isinstance(order, list):
            raise InvalidPatch(f"invalid patch format of {directive}: {_show(order)}")
        fl, s = _sub(schema, name)
        merges, key, items = _list_meta(fl, s)
        if key is not None and any(isinstance(o, dict) and key not in o for o in order):
            raise InvalidPatch(f"{directive}: every item must carry the merge key {key!r}")
        key_of = _keyer(key)
        live = orig.get(name)
        live = live if isinstance(live, list) else None
        if name in patch:
            plist = patch.pop(name)
            if not isinstance(plist, list):
                raise InvalidPatch(f"{directive} is given but {name} is not a list")
            _check_order(plist, order, key_of, directive)
            if merges:
                merged = _merge_list(live or [], plist, key, items)
            else:
                merged = _replace_list(plist, items)
        elif live is not None:
            merged = live
        else:
            continue
        orig[name] = _normalize_order(merged, order, live or [], key_of)


def _check_order(plist: list[Any], order: list[Any], key_of: _Keyer, directive: str) -> None:
    """The patch list's items must appear in ``order``, in the same relative order."""
    rest = iter([key_of(o) for o in order])
    for item in plist:
        if _is_special(item):
            continue
        k = key_of(item)
        if not any(k == o for o in rest):
            raise InvalidPatch(
                f"the order in patch list {_show(plist)} doesn't match {directive} list {_show(order)}"
            )


def _delete_from_primitive_list(orig: JSONObject, name: str, values: Any) -> None:
    if not isinstance(values, list):
        raise InvalidPatch(f"invalid patch format of primitive list: {_show(values)}")
    live = orig.get(name)
    if not isinstance(live, list):
        return
    if any(isinstance(v, dict | list) for v in live):
        raise PatchConflict(f"{_DELETE_PREFIX}/{name}: {name} is not a list of primitives")
    gone = {_ident(v) for v in values}
    orig[name] = [v for v in live if _ident(v) not in gone]


def strategic_merge_patch(doc: Any, patch: Any, schema: Schema | None) -> JSONObject:
    """Apply a Kubernetes strategic merge patch.

    Args:
        doc: the current object (not mutated).
        patch: the decoded patch; must be a JSON object.
        schema: the kind's root schema; None merges everything like RFC 7386
            (lists replaced) while still honouring directives.

    Returns:
        The patched object, sharing nothing with ``doc`` or ``patch``.

    Raises:
        InvalidPatch: malformed patch or directive.
        PatchConflict: the patch does not fit the object (e.g. a list item
            without its merge key).
    """
    if not isinstance(patch, dict):
        raise InvalidPatch(f"a strategic merge patch must be a JSON object, got {_show(patch)}")
    if not isinstance(doc, dict):
        raise PatchConflict("a strategic merge patch applies only to a JSON object")
    merged = _merge_map(_copy(doc), _copy(patch), resolve(schema))
    return {} if merged is _DELETED else merged
