"""Generic resource operations: upstream's generic registry, for every kind.

Theory of operation: `Resources` implements the verbs once, driven by each
kind's `KindSpec` (svcnet.api.registry). It owns the write path order that
upstream's `genericregistry.Store` follows:

  decode -> prepare (strategy) -> default -> admission -> validate -> store

and the read path (get/list with selectors and paging, watch with selector
transitions). HTTP concerns (URLs, content negotiation, Status rendering)
stay in `svcnet.apiserver.rest`; this module raises `APIError` only.

Invariants: objects handed in are owned by this module (callers pass fresh
dicts); objects from the store are never mutated (`Entry.copy()` first).
"""

from __future__ import annotations

import base64
import bisect
import contextlib
import copy
import datetime as dt
import secrets
import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any, Protocol

import orjson

from svcnet.api import errors
from svcnet.api.errors import APIError
from svcnet.api.registry import KindSpec, Obj, Registry
from svcnet.api.selectors import FieldSelector, LabelSelector, SelectorError
from svcnet.api.structural import decode
from svcnet.api.validation import validate_object_meta, validate_object_meta_update
from svcnet.store import AlreadyExists, Conflict, Entry, Event, Expired, Key, NotFound, Store

Clock = Callable[[], dt.datetime]

# Upstream's generateName suffix alphabet (no vowels, no confusable digits).
_NAME_ALPHABET = "bcdfghjklmnpqrstvwxz2456789"
MAX_CONFLICT_RETRIES = 5


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def rfc3339(t: dt.datetime) -> str:
    return t.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class Admission(Protocol):
    """A plugin run on writes after defaulting, before validation (mutating)
    or after it (allocators). Raises APIError to reject."""

    async def admit_create(self, spec: KindSpec, obj: Obj, dry_run: bool) -> None: ...

    async def admit_update(self, spec: KindSpec, obj: Obj, old: Obj, dry_run: bool) -> None: ...

    async def admit_delete(self, spec: KindSpec, obj: Obj, dry_run: bool) -> None: ...


@dataclass
class ListOptions:
    label_selector: LabelSelector | None = None
    field_selector: FieldSelector | None = None
    limit: int = 0
    continue_token: str = ""


@dataclass
class WriteOptions:
    dry_run: bool = False
    field_validation: str = "Warn"  # Ignore | Warn | Strict


@dataclass
class DeleteOptions:
    dry_run: bool = False
    grace_period_seconds: int | None = None
    propagation_policy: str | None = None
    precondition_uid: str | None = None
    precondition_rv: str | None = None


@dataclass
class WriteResult:
    obj: Obj
    raw: bytes | None = None
    created: bool = False
    warnings: list[str] | None = None


class Resources:
    """The verbs of the generic registry over one `Store`."""

    def __init__(
        self,
        store: Store,
        registry: Registry,
        admission: list[Admission] | None = None,
        clock: Clock = utcnow,
    ) -> None:
        self.store = store
        self.registry = registry
        self.admission = admission or []
        self.clock = clock

    # ----------------------------------------------------------- helpers
    def key(self, spec: KindSpec, namespace: str, name: str) -> Key:
        return Key(spec.resource, namespace if spec.namespaced else "", name)

    def _decode(self, spec: KindSpec, body: Any, field_validation: str) -> tuple[Obj, list[str]]:
        """Check apiVersion/kind and prune to schema (upstream decoding)."""
        if not isinstance(body, dict):
            raise errors.bad_request(
                f"{spec.kind} in version {spec.version!r} cannot be handled as a {spec.kind}: "
                "the body must be a JSON object"
            )
        api_version = body.get("apiVersion")
        kind = body.get("kind")
        if kind is not None and kind != spec.kind:
            raise errors.bad_request(
                f"the kind in the request body ({kind}) does not match the resource "
                f"{spec.group_resource} ({spec.kind})"
            )
        if api_version is not None and api_version != spec.api_version:
            raise errors.bad_request(
                f"the API version in the data ({api_version}) does not match the expected "
                f"API version ({spec.api_version})"
            )
        res = decode(body, spec.schema)
        if res.type_errors:
            raise errors.bad_request(
                f"{spec.kind} in version {spec.version!r} cannot be handled as a {spec.kind}: "
                + res.type_errors[0]
            )
        warnings: list[str] = []
        if res.unknown and field_validation != "Ignore":
            msgs = [f'unknown field "{p}"' for p in res.unknown]
            if field_validation == "Strict":
                raise errors.bad_request("strict decoding error: " + ", ".join(msgs))
            warnings = msgs
        obj = res.obj
        obj["apiVersion"] = spec.api_version
        obj["kind"] = spec.kind
        obj.setdefault("metadata", {})
        return obj, warnings

    def _check_namespace(self, spec: KindSpec, obj: Obj, namespace: str) -> None:
        meta = obj["metadata"]
        if spec.namespaced:
            body_ns = meta.get("namespace")
            if body_ns and body_ns != namespace:
                raise errors.bad_request(
                    "the namespace of the provided object does not match the namespace "
                    "sent on the request"
                )
            meta["namespace"] = namespace
        else:
            meta.pop("namespace", None)

    async def _namespace_admit(self, spec: KindSpec, namespace: str, name: str = "") -> None:
        """Upstream NamespaceLifecycle admission for creates."""
        if not spec.namespaced:
            return
        try:
            ns = await self.store.get(Key("namespaces", "", namespace))
        except NotFound:
            raise errors.not_found("", "namespaces", namespace) from None
        if ns.obj.get("metadata", {}).get("deletionTimestamp") or (
            ns.obj.get("status", {}).get("phase") == "Terminating"
        ):
            raise errors.forbidden(
                spec.group,
                spec.plural,
                name,
                f"unable to create new content in namespace {namespace} "
                "because it is being terminated",
            )

    def _invalid(self, spec: KindSpec, obj: Obj, errs: list[Any]) -> APIError:
        return errors.invalid(spec.group, spec.kind, obj["metadata"].get("name", ""), errs)

    # ------------------------------------------------------------- reads
    async def get(self, spec: KindSpec, namespace: str, name: str) -> Entry:
        try:
            return await self.store.get(self.key(spec, namespace, name))
        except NotFound:
            raise errors.not_found(spec.group, spec.plural, name) from None

    def matches(self, spec: KindSpec, obj: Obj, opts: ListOptions) -> bool:
        if opts.label_selector is not None and not opts.label_selector.empty:
            labels = (obj.get("metadata") or {}).get("labels") or {}
            if not opts.label_selector.matches(labels):
                return False
        if opts.field_selector is not None:
            return opts.field_selector.matches(spec.selectable_fields(obj))
        return True

    def check_field_selector(self, spec: KindSpec, fs: FieldSelector | None) -> None:
        """400 for fields the kind does not support (upstream message)."""
        if fs is None:
            return
        sample = spec.selectable_fields({"metadata": {}})
        extra = spec.extra.get("field_labels", ())
        for name in fs.fields():
            if name not in sample and name not in extra:
                raise errors.bad_request(
                    f'"{name}" is not a known field selector: only "'
                    + '", "'.join(sorted([*sample, *extra]))
                    + '"'
                )

    async def list(
        self, spec: KindSpec, namespace: str | None, opts: ListOptions
    ) -> tuple[list[Entry], int, str, int | None]:
        """Entries matching, the list revision, a continue token and the
        remaining item count (when paging)."""
        self.check_field_selector(spec, opts.field_selector)
        entries, rv = await self.store.list(spec.resource, namespace if spec.namespaced else None)
        begin = 0
        if opts.continue_token:
            start, rv = _decode_continue(opts.continue_token, rv)
            # Entries are sorted by (namespace, name): resume right after the
            # token's key (a tuple compare; "ns/name" strings would misorder
            # namespaces like "app" and "app-2").
            begin = bisect.bisect_right(entries, start, key=lambda e: (e.key.namespace, e.key.name))
        filtering = (opts.label_selector is not None and not opts.label_selector.empty) or (
            opts.field_selector is not None
        )
        if not filtering:
            out = entries[begin:]
        else:
            out = [e for e in entries[begin:] if self.matches(spec, e.obj, opts)]
        if opts.limit and len(out) > opts.limit:
            page = out[: opts.limit]
            last = page[-1].key
            token = _encode_continue(rv, (last.namespace, last.name))
            return page, rv, token, len(out) - opts.limit
        return list(out), rv, "", None

    # ------------------------------------------------------------ create
    async def create(
        self, spec: KindSpec, namespace: str, body: Any, opts: WriteOptions
    ) -> WriteResult:
        obj, warnings = self._decode(spec, body, opts.field_validation)
        self._check_namespace(spec, obj, namespace)
        meta = obj["metadata"]
        if not meta.get("name") and meta.get("generateName"):
            meta["name"] = meta["generateName"] + "".join(
                secrets.choice(_NAME_ALPHABET) for _ in range(5)
            )
        for k in ("resourceVersion", "deletionTimestamp", "deletionGracePeriodSeconds", "selfLink"):
            meta.pop(k, None)
        meta["uid"] = str(uuid.uuid4())
        meta["creationTimestamp"] = rfc3339(self.clock())
        if spec.generation_tracked:
            meta["generation"] = 1
        else:
            meta.pop("generation", None)
        spec.prepare_create(obj)
        spec.default(obj)
        await self._namespace_admit(spec, meta.get("namespace", ""), meta.get("name", ""))
        errs = _validate_meta(spec, meta)
        errs += spec.validate(obj)
        if errs:
            raise self._invalid(spec, obj, errs)
        for plugin in self.admission:
            await plugin.admit_create(spec, obj, opts.dry_run)
        if opts.dry_run:
            return WriteResult(obj, created=True, warnings=warnings)
        try:
            entry = await self.store.create(self.key(spec, namespace, meta["name"]), obj)
        except AlreadyExists:
            for plugin in self.admission:
                await plugin.admit_delete(spec, obj, False)
            raise errors.already_exists(spec.group, spec.plural, meta["name"]) from None
        return WriteResult(entry.obj, entry.raw, created=True, warnings=warnings)

    # ------------------------------------------------------------ update
    async def update(
        self,
        spec: KindSpec,
        namespace: str,
        name: str,
        body: Any,
        opts: WriteOptions,
        subresource: str = "",
    ) -> WriteResult:
        obj, warnings = self._decode(spec, body, opts.field_validation)
        self._check_namespace(spec, obj, namespace)
        body_name = obj["metadata"].get("name")
        if body_name and body_name != name:
            raise errors.bad_request(
                f"the name of the object ({body_name}) does not match the name on the URL ({name})"
            )
        obj["metadata"]["name"] = name
        try:
            old = await self.store.get(self.key(spec, namespace, name))
        except NotFound:
            if spec.extra.get("allow_create_on_update") and not subresource:
                return await self.create(spec, namespace, obj, opts)
            raise errors.not_found(spec.group, spec.plural, name) from None
        rv = obj["metadata"].get("resourceVersion")
        if rv and rv != str(old.rv):
            raise errors.conflict(spec.group, spec.plural, name, errors.MODIFIED)
        res = await self._apply_update(spec, old, obj, opts, subresource)
        res.warnings = warnings
        return res

    def _merge_for_update(self, spec: KindSpec, old: Obj, new: Obj, subresource: str) -> Obj:
        """Strategy normalisation: what an update of the main resource or of
        the status subresource may change (upstream PrepareForUpdate)."""
        if subresource == "status":
            merged = copy.deepcopy(old)
            if "status" in new:
                merged["status"] = new["status"]
            else:
                merged.pop("status", None)
            return merged
        old_meta = old["metadata"]
        meta = new["metadata"]
        for k in (
            "uid",
            "creationTimestamp",
            "deletionTimestamp",
            "deletionGracePeriodSeconds",
            "generation",
            "namespace",
        ):
            if k in old_meta:
                meta[k] = old_meta[k]
            else:
                meta.pop(k, None)
        if "status" in spec.subresources:
            if "status" in old:
                new["status"] = copy.deepcopy(old["status"])
            else:
                new.pop("status", None)
        return new

    async def _apply_update(
        self, spec: KindSpec, old_entry: Entry, new: Obj, opts: WriteOptions, subresource: str
    ) -> WriteResult:
        old = old_entry.obj
        new = self._merge_for_update(spec, old, new, subresource)
        new["metadata"]["resourceVersion"] = str(old_entry.rv)
        if subresource != "status":
            spec.prepare_update(new, old)
            spec.default(new)
        if spec.generation_tracked and _spec_changed(old, new):
            new["metadata"]["generation"] = int(old["metadata"].get("generation", 0)) + 1
        errs = validate_object_meta_update(new["metadata"], old["metadata"])
        errs += _validate_meta(spec, new["metadata"])
        errs += spec.validate(new) + spec.validate_update(new, old)
        if errs:
            raise self._invalid(spec, new, errs)
        for plugin in self.admission:
            await plugin.admit_update(spec, new, old, opts.dry_run)
        if new == old:
            return WriteResult(old, old_entry.raw)
        new["metadata"].pop("resourceVersion", None)
        if opts.dry_run:
            return WriteResult(new)
        meta = new["metadata"]
        if (
            meta.get("deletionTimestamp")
            and not meta.get("finalizers")
            and (old.get("metadata") or {}).get("finalizers")
        ):
            # Removing the last finalizer of an object being deleted deletes
            # it; other updates (e.g. a terminating pod's status) are kept.
            try:
                entry = await self.store.delete(old_entry.key, expect_rv=old_entry.rv)
            except Conflict:
                raise errors.conflict(
                    spec.group, spec.plural, meta["name"], errors.MODIFIED
                ) from None
            for plugin in self.admission:
                await plugin.admit_delete(spec, new, False)
            return WriteResult(entry.obj, entry.raw)
        try:
            entry = await self.store.update(old_entry.key, new, expect_rv=old_entry.rv)
        except Conflict:
            raise errors.conflict(spec.group, spec.plural, meta["name"], errors.MODIFIED) from None
        except NotFound:
            raise errors.not_found(spec.group, spec.plural, meta["name"]) from None
        return WriteResult(entry.obj, entry.raw)

    async def patch(
        self,
        spec: KindSpec,
        namespace: str,
        name: str,
        apply_patch: Callable[[Obj], Obj],
        opts: WriteOptions,
        subresource: str = "",
    ) -> WriteResult:
        """Read-modify-write with retries on conflicts the client did not ask for."""
        for attempt in range(MAX_CONFLICT_RETRIES):
            old = await self.get(spec, namespace, name)
            patched = apply_patch(old.copy())
            if not isinstance(patched, dict):
                raise errors.bad_request("the patch did not produce a JSON object")
            wanted_rv = (patched.get("metadata") or {}).get("resourceVersion")
            if wanted_rv and wanted_rv != str(old.rv):
                raise errors.conflict(spec.group, spec.plural, name, errors.MODIFIED)
            patched, warnings = self._decode(spec, patched, opts.field_validation)
            self._check_namespace(spec, patched, namespace)
            if (patched["metadata"].get("name") or name) != name:
                raise errors.bad_request(
                    f"the name of the object ({patched['metadata'].get('name')}) does not match "
                    f"the name on the URL ({name})"
                )
            patched["metadata"]["name"] = name
            try:
                res = await self._apply_update(spec, old, patched, opts, subresource)
                res.warnings = warnings
                return res
            except APIError as e:
                if e.reason == "Conflict" and not wanted_rv and attempt + 1 < MAX_CONFLICT_RETRIES:
                    continue
                raise
        raise errors.conflict(spec.group, spec.plural, name, errors.MODIFIED)

    # ------------------------------------------------------------ delete
    async def delete(
        self, spec: KindSpec, namespace: str, name: str, opts: DeleteOptions
    ) -> tuple[Obj, bytes | None, bool]:
        """Delete or start deleting. Returns (object, raw, deleted_now)."""
        for _attempt in range(MAX_CONFLICT_RETRIES):
            entry = await self.get(spec, namespace, name)
            obj = entry.obj
            meta = obj["metadata"]
            if opts.precondition_uid and opts.precondition_uid != meta.get("uid"):
                raise errors.conflict(
                    spec.group,
                    spec.plural,
                    name,
                    f"Precondition failed: UID in precondition: {opts.precondition_uid}, "
                    f"UID in object meta: {meta.get('uid')}",
                )
            if opts.precondition_rv and opts.precondition_rv != str(entry.rv):
                raise errors.conflict(
                    spec.group,
                    spec.plural,
                    name,
                    f"Precondition failed: ResourceVersion in precondition: "
                    f"{opts.precondition_rv}, ResourceVersion in object meta: {entry.rv}",
                )
            new = entry.copy()
            nmeta = new["metadata"]
            finalizers = list(nmeta.get("finalizers") or [])
            policy = opts.propagation_policy or spec.extra.get("default_propagation", "Background")
            if policy == "Orphan" and "orphan" not in finalizers:
                finalizers.append("orphan")
            elif policy == "Foreground" and "foregroundDeletion" not in finalizers:
                finalizers.append("foregroundDeletion")
            grace = self._grace(spec, obj, opts)
            hook = spec.extra.get("before_delete")
            if hook is not None:
                hook(new, self.clock())
            pending = spec.extra.get("delete_pending")
            if finalizers or grace or (pending is not None and pending(new)):
                already = meta.get("deletionTimestamp") and finalizers == list(
                    meta.get("finalizers") or []
                )
                # Already being deleted: a second delete may only shorten the grace period.
                if already and (
                    not grace or grace >= int(meta.get("deletionGracePeriodSeconds") or 0)
                ):
                    return obj, entry.raw, False
                nmeta["finalizers"] = finalizers
                if not finalizers:
                    nmeta.pop("finalizers")
                now = self.clock()
                nmeta["deletionTimestamp"] = rfc3339(now + dt.timedelta(seconds=grace or 0))
                nmeta["deletionGracePeriodSeconds"] = grace or 0
                if opts.dry_run:
                    return new, None, False
                try:
                    upd = await self.store.update(entry.key, new, expect_rv=entry.rv)
                except Conflict:
                    continue
                return upd.obj, upd.raw, False
            if opts.dry_run:
                return obj, entry.raw, True
            try:
                gone = await self.store.delete(entry.key, expect_rv=entry.rv)
            except Conflict:
                continue
            except NotFound:
                raise errors.not_found(spec.group, spec.plural, name) from None
            for plugin in self.admission:
                await plugin.admit_delete(spec, gone.obj, False)
            return gone.obj, gone.raw, True
        raise errors.conflict(spec.group, spec.plural, name, errors.MODIFIED)

    def _grace(self, spec: KindSpec, obj: Obj, opts: DeleteOptions) -> int:
        """Graceful deletion period (upstream: pods bound to a node that are
        not terminal wait for the kubelet; everything else is immediate)."""
        policy = spec.extra.get("graceful_delete")
        if policy is None:
            return 0
        return int(policy(obj, opts.grace_period_seconds))

    # ------------------------------------------------------------- watch
    def watch(
        self, spec: KindSpec, namespace: str | None, since_rv: int, opts: ListOptions
    ) -> AsyncIterator[tuple[str, Obj, bytes | None, int]]:
        """Yield (type, object, raw-or-None, rv) after selector transitions.
        Raises APIError 410 when since_rv is too old."""
        self.check_field_selector(spec, opts.field_selector)
        try:
            w = self.store.watch(spec.resource, namespace if spec.namespaced else None, since_rv)
        except Expired as e:
            raise errors.expired(f"too old resource version: {e.requested} ({e.oldest})") from None
        return self._filtered(spec, w, opts)

    async def _filtered(
        self, spec: KindSpec, w: Any, opts: ListOptions
    ) -> AsyncIterator[tuple[str, Obj, bytes | None, int]]:
        filtering = (opts.label_selector is not None and not opts.label_selector.empty) or (
            opts.field_selector is not None
        )
        try:
            async for ev in w:
                if not filtering:
                    yield ev.type, ev.obj, ev.raw, ev.rv
                    continue
                t = _transition(self, spec, ev, opts)
                if t is not None:
                    yield t
        finally:
            with contextlib.suppress(Exception):
                w.close()


def _transition(
    res: Resources, spec: KindSpec, ev: Event, opts: ListOptions
) -> tuple[str, Obj, bytes | None, int] | None:
    """Upstream watch-cache filtering: objects entering the selection are
    ADDED, leaving it DELETED (the previous state at the new revision)."""
    cur = res.matches(spec, ev.obj, opts)
    if ev.type == "ADDED":
        return (ev.type, ev.obj, ev.raw, ev.rv) if cur else None
    if ev.type == "DELETED":
        return (ev.type, ev.obj, ev.raw, ev.rv) if cur else None
    prev = ev.prev is not None and res.matches(spec, ev.prev, opts)
    if cur and prev:
        return ev.type, ev.obj, ev.raw, ev.rv
    if cur:
        return "ADDED", ev.obj, ev.raw, ev.rv
    if prev and ev.prev is not None:
        old = copy.deepcopy(ev.prev)
        old.setdefault("metadata", {})["resourceVersion"] = str(ev.rv)
        return "DELETED", old, None, ev.rv
    return None


def _validate_meta(spec: KindSpec, meta: Obj) -> list[Any]:
    if spec.name_validator is None:
        return validate_object_meta(meta, namespaced=spec.namespaced)
    return validate_object_meta(
        meta, namespaced=spec.namespaced, name_validator=spec.name_validator
    )


def _spec_changed(old: Obj, new: Obj) -> bool:
    for k in set(old) | set(new):
        if k in ("metadata", "status", "apiVersion", "kind"):
            continue
        if old.get(k) != new.get(k):
            return True
    return False


def _encode_continue(rv: int, start: tuple[str, str]) -> str:
    raw = orjson.dumps({"v": "meta.k8s.io/v1", "rv": rv, "ns": start[0], "name": start[1]})
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _decode_continue(token: str, current_rv: int) -> tuple[tuple[str, str], int]:
    try:
        pad = "=" * (-len(token) % 4)
        data = orjson.loads(base64.urlsafe_b64decode(token + pad))
        return (str(data["ns"]), str(data["name"])), int(data.get("rv", current_rv))
    except Exception:
        raise errors.bad_request(
            "continue key is not valid: the continue token could not be decoded"
        ) from None


def parse_label_selector(s: str | None) -> LabelSelector | None:
    """Parse the labelSelector query parameter (400 on errors)."""
    if not s:
        return None
    from svcnet.api.selectors import parse_label_selector as _p

    try:
        return _p(s)
    except SelectorError as e:
        raise errors.bad_request(f"unable to parse requirement: {e}") from None


def parse_field_selector(s: str | None) -> FieldSelector | None:
    """Parse the fieldSelector query parameter (400 on errors)."""
    if not s:
        return None
    from svcnet.api.selectors import parse_field_selector as _p

    try:
        return _p(s)
    except (SelectorError, ValueError) as e:
        raise errors.bad_request(f"invalid field selector: {e}") from None
