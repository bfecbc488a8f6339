"""REST edge: map Kubernetes URLs and HTTP verbs onto `Resources`.

Theory of operation: one catch-all route receives every /api and /apis
request. `parse_path()` (pure) turns the path into a `Target` (kind spec,
namespace, name, subresource); the handler picks the verb from the method
and query, decodes the body (JSON or YAML, 3 MiB limit), calls the generic
`Resources` operation and encodes the answer (JSON, or a meta.k8s.io Table
when the client asks for one). Watches stream one JSON event per line.
Every failure becomes an upstream-shaped Status (svcnet.api.errors).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import orjson
import yaml
from aiohttp import web

from svcnet.api import errors, patch
from svcnet.api.errors import APIError
from svcnet.api.printers import DEFAULT_PRINTER, build_table
from svcnet.api.registry import KindSpec, Registry
from svcnet.api.validation import not_supported
from svcnet.apiserver.resources import (
    DeleteOptions,
    ListOptions,
    Resources,
    WriteOptions,
    parse_field_selector,
    parse_label_selector,
)

MAX_BODY = 3 * 1024 * 1024
BOOKMARK_INTERVAL = 10.0
JSON_TYPES = {"application/json", "application/yaml", "text/yaml", "application/x-yaml", ""}
PATCH_TYPES = {
    "application/json-patch+json": "json",
    "application/merge-patch+json": "merge",
    "application/strategic-merge-patch+json": "strategic",
    "application/apply-patch+yaml": "apply",
}


@dataclass(frozen=True)
class Target:
    spec: KindSpec
    namespace: str  # "" = all namespaces (collection) or cluster-scoped
    name: str
    subresource: str


def parse_path(registry: Registry, path: str) -> Target:
    """Resolve an /api or /apis path. Raises APIError 404 for unknown paths."""
    parts = [p for p in path.split("/") if p]
    if not parts:
        raise _not_found_path()
    if parts[0] == "api" and len(parts) >= 2:
        group, version, rest = "", parts[1], parts[2:]
    elif parts[0] == "apis" and len(parts) >= 3:
        group, version, rest = parts[1], parts[2], parts[3:]
    else:
        raise _not_found_path()
    if not rest:
        raise _not_found_path()
    namespace = ""
    if rest[0] == "namespaces" and len(rest) >= 3:
        cand = registry.by_resource(group, version, rest[2])
        if cand is not None and cand.namespaced:
            namespace, rest = rest[1], rest[2:]
    spec = registry.by_resource(group, version, rest[0])
    if spec is None or len(rest) > 3:
        raise _not_found_path()
    if spec.namespaced is False and namespace:
        raise _not_found_path()
    name = rest[1] if len(rest) >= 2 else ""
    sub = rest[2] if len(rest) == 3 else ""
    if sub and sub not in spec.subresources:
        raise _not_found_path()
    return Target(spec, namespace, name, sub)


def _not_found_path() -> APIError:
    return APIError(404, "NotFound", "the server could not find the requested resource")


def _qbool(v: str | None) -> bool:
    return v is not None and v.lower() in ("1", "true", "yes")


def wants_table(request: web.Request) -> bool:
    return "as=Table" in request.headers.get("Accept", "")


def _json(body: Any, status: int = 200, warnings: list[str] | None = None) -> web.Response:
    headers = {}
    if warnings:
        headers["Warning"] = ", ".join(f'299 - "{w.replace(chr(34), chr(39))}"' for w in warnings)
    return web.Response(
        body=orjson.dumps(body) if not isinstance(body, bytes) else body,
        status=status,
        content_type="application/json",
        headers=headers,
    )


def status_response(err: APIError) -> web.Response:
    return _json(err.status(), err.code)


class RestHandler:
    """aiohttp handler for all resource URLs."""

    def __init__(
        self,
        resources: Resources,
        extra_subresources: dict[tuple[str, str], Callable[..., Any]] | None = None,
    ) -> None:
        self.resources = resources
        self.registry = resources.registry
        # (plural, subresource) -> async handler(request, target) for e.g. pods/log.
        self.extra = extra_subresources or {}
        self.watchers = 0

    async def handle(self, request: web.Request) -> web.StreamResponse:
        target = parse_path(self.registry, request.path)
        request["target"] = target
        m = request.method
        q = request.query
        custom = self.extra.get((target.spec.plural, target.subresource))
        if custom is not None:
            return await custom(request, target)
        if target.subresource == "scale":
            return await self._scale(request, target)
        if m == "GET":
            if not target.name:
                if _qbool(q.get("watch")):
                    request["verb"] = "WATCH"
                    return await self.watch(request, target)
                request["verb"] = "LIST"
                return await self.list(request, target)
            request["verb"] = "GET"
            return await self.get(request, target)
        if m == "POST" and not target.name:
            request["verb"] = "POST"
            return await self.create(request, target)
        if m == "PUT" and target.name:
            request["verb"] = "PUT"
            return await self.update(request, target)
        if m == "PATCH" and target.name:
            request["verb"] = "PATCH"
            return await self.patch(request, target)
        if m == "DELETE":
            request["verb"] = "DELETE"
            if target.name:
                return await self.delete(request, target)
            return await self.delete_collection(request, target)
        raise errors.method_not_supported(target.spec.group, target.spec.plural, m)

    # -------------------------------------------------------------- body
    async def body(self, request: web.Request) -> Any:
        if request.content_length is not None and request.content_length > MAX_BODY:
            raise errors.too_large(MAX_BODY)
        data = await request.content.read(MAX_BODY + 1)
        if len(data) > MAX_BODY:
            raise errors.too_large(MAX_BODY)
        ctype = request.headers.get("Content-Type", "application/json").split(";")[0].strip()
        if request.method != "PATCH" and ctype not in JSON_TYPES:
            # client-go retries with JSON when a protobuf/CBOR body gets 415.
            raise errors.APIError(
                415,
                "UnsupportedMediaType",
                f"the body of the request was in an unknown format - accepted media types "
                f'include: application/json, application/yaml (got "{ctype}")',
            )
        if not data.strip():
            raise errors.bad_request("request body must not be empty")
        try:
            if "yaml" in ctype:
                return yaml.safe_load(data)
            return orjson.loads(data)
        except (orjson.JSONDecodeError, yaml.YAMLError, UnicodeDecodeError) as e:
            raise errors.bad_request(f"the body of the request could not be decoded: {e}") from None

    def write_opts(self, request: web.Request) -> WriteOptions:
        q = request.query
        dry = q.getall("dryRun", [])
        for d in dry:
            if d != "All":
                raise _invalid_options("CreateOptions", not_supported("dryRun", d, ["All"]))
        fv = q.get("fieldValidation", "Warn")
        if fv not in ("Ignore", "Warn", "Strict"):
            raise errors.bad_request(
                f'fieldValidation: Unsupported value: "{fv}": supported values: "Ignore", "Strict", "Warn"'
            )
        return WriteOptions(dry_run=bool(dry), field_validation=fv)

    def list_opts(self, request: web.Request) -> ListOptions:
        q = request.query
        limit = 0
        if q.get("limit"):
            try:
                limit = max(0, int(q["limit"]))
            except ValueError:
                raise errors.bad_request(f"invalid limit: {q['limit']!r}") from None
        return ListOptions(
            label_selector=parse_label_selector(q.get("labelSelector")),
            field_selector=parse_field_selector(q.get("fieldSelector")),
            limit=limit,
            continue_token=q.get("continue", ""),
        )

    # ------------------------------------------------------------- reads
    def _printer(self, spec: KindSpec) -> Any:
        return spec.printer or DEFAULT_PRINTER

    async def get(self, request: web.Request, t: Target) -> web.Response:
        if t.subresource and t.subresource != "status":
            raise errors.method_not_supported(t.spec.group, t.spec.plural, "get")
        entry = await self.resources.get(t.spec, t.namespace, t.name)
        if wants_table(request):
            table = build_table(
                self._printer(t.spec),
                [entry.obj],
                self.resources.clock(),
                include_object=request.query.get("includeObject", "Metadata"),
                list_meta={"resourceVersion": str(entry.rv)},
            )
            return _json(table)
        return _json(entry.raw)

    async def list(self, request: web.Request, t: Target) -> web.Response:
        opts = self.list_opts(request)
        ns = t.namespace or None
        entries, rv, cont, remaining = await self.resources.list(t.spec, ns, opts)
        meta: dict[str, Any] = {"resourceVersion": str(rv)}
        if cont:
            meta["continue"] = cont
            if remaining is not None:
                meta["remainingItemCount"] = remaining
        if wants_table(request):
            table = build_table(
                self._printer(t.spec),
                [e.obj for e in entries],
                self.resources.clock(),
                include_object=request.query.get("includeObject", "Metadata"),
                list_meta=meta,
            )
            return _json(table)
        head = orjson.dumps(
            {"kind": t.spec.kind + "List", "apiVersion": t.spec.api_version, "metadata": meta}
        )
        parts = [head[:-1], b',"items":[']
        for i, e in enumerate(entries):
            if i:
                parts.append(b",")
            parts.append(e.raw)
        parts.append(b"]}")
        return _json(b"".join(parts))

    async def watch(self, request: web.Request, t: Target) -> web.StreamResponse:
        q = request.query
        opts = self.list_opts(request)
        rv_param = q.get("resourceVersion", "")
        ns = t.namespace or None
        if t.name:
            from svcnet.api.selectors import parse_field_selector as pfs

            opts.field_selector = pfs(f"metadata.name={t.name}")
        timeout = None
        if q.get("timeoutSeconds"):
            try:
                timeout = max(0.0, float(q["timeoutSeconds"]))
            except ValueError:
                raise errors.bad_request("invalid timeoutSeconds") from None
        bookmarks = _qbool(q.get("allowWatchBookmarks"))
        table = wants_table(request)
        initial: list[Any] = []
        if rv_param in ("", "0") or _qbool(q.get("sendInitialEvents")):
            entries, since, _, _ = await self.resources.list(
                t.spec, ns, ListOptions(opts.label_selector, opts.field_selector)
            )
            initial = [("ADDED", e.obj, e.raw, e.rv) for e in entries]
        else:
            try:
                since = int(rv_param)
            except ValueError:
                raise errors.bad_request(f"invalid resourceVersion: {rv_param!r}") from None
            await self._wait_fresh(since)
        resp = web.StreamResponse(status=200)
        resp.content_type = "application/json"
        resp.enable_chunked_encoding()
        try:
            stream = self.resources.watch(t.spec, ns, since, opts)
        except APIError as e:
            if e.code != 410:
                raise
            await resp.prepare(request)
            await resp.write(orjson.dumps({"type": "ERROR", "object": e.status()}) + b"\n")
            return resp
        await resp.prepare(request)
        self.watchers += 1
        first = [True]

        def encode(etype: str, obj: Any, raw: bytes | None) -> bytes:
            if table:
                tbl = build_table(
                    self._printer(t.spec),
                    [obj],
                    self.resources.clock(),
                    include_object=q.get("includeObject", "Metadata"),
                    list_meta={"resourceVersion": obj["metadata"].get("resourceVersion", "")},
                )
                if not first[0]:
                    tbl["columnDefinitions"] = []
                first[0] = False
                return orjson.dumps({"type": etype, "object": tbl}) + b"\n"
            if raw is None:
                raw = orjson.dumps(obj)
            return b'{"type":"' + etype.encode() + b'","object":' + raw + b"}\n"

        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout if timeout is not None else None
        last_rv = since
        pending: asyncio.Future[Any] | None = None
        try:
            for etype, obj, raw, _rv in initial:
                await resp.write(encode(etype, obj, raw))
            if bookmarks and initial and _qbool(q.get("sendInitialEvents")):
                await resp.write(self._bookmark(t.spec, since, initial_end=True))
            it = stream.__aiter__()
            # One pending __anext__ survives quiet intervals: cancelling it (as
            # wait_for would on timeout) would end the async generator.
            while True:
                wait = BOOKMARK_INTERVAL
                if deadline is not None:
                    wait = min(wait, deadline - loop.time())
                    if wait <= 0:
                        break
                if pending is None:
                    pending = asyncio.ensure_future(it.__anext__())
                done, _ = await asyncio.wait({pending}, timeout=wait)
                if not done:
                    if bookmarks:
                        cur = max(last_rv, self.resources.store.revision)
                        await resp.write(self._bookmark(t.spec, cur))
                    continue
                fut, pending = pending, None
                try:
                    etype, obj, raw, rv = fut.result()
                except StopAsyncIteration:
                    break
                last_rv = rv
                await resp.write(encode(etype, obj, raw))
        except (ConnectionResetError, asyncio.CancelledError):
            pass
        finally:
            if pending is not None:
                pending.cancel()
                with contextlib.suppress(BaseException):
                    await pending
            self.watchers -= 1
            with contextlib.suppress(Exception):
                await stream.aclose()  # type: ignore[attr-defined]
        return resp

    async def _wait_fresh(self, rv: int, timeout: float = 3.0) -> None:
        """Upstream's watch cache waits up to 3 s for a resourceVersion ahead
        of it, then answers 504 "Too large resource version" (a client that
        resumes against a restarted, reset store must re-list, not hang)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while self.resources.store.revision < rv:
            if loop.time() >= deadline:
                current = self.resources.store.revision
                raise APIError(
                    504,
                    "Timeout",
                    f"Too large resource version: {rv}, current: {current}",
                    {
                        "causes": [
                            {
                                "reason": "ResourceVersionTooLarge",
                                "message": "Too large resource version",
                            }
                        ],
                        "retryAfterSeconds": 1,
                    },
                )
            await asyncio.sleep(0.05)

    def _bookmark(self, spec: KindSpec, rv: int, initial_end: bool = False) -> bytes:
        meta: dict[str, Any] = {"resourceVersion": str(rv)}
        if initial_end:
            meta["annotations"] = {"k8s.io/initial-events-end": "true"}
        obj = {"kind": spec.kind, "apiVersion": spec.api_version, "metadata": meta}
        return orjson.dumps({"type": "BOOKMARK", "object": obj}) + b"\n"

    # ------------------------------------------------------------ writes
    async def create(self, request: web.Request, t: Target) -> web.Response:
        if t.spec.namespaced and not t.namespace:
            raise errors.method_not_supported(t.spec.group, t.spec.plural, "create")
        body = await self.body(request)
        res = await self.resources.create(t.spec, t.namespace, body, self.write_opts(request))
        return _json(res.raw if res.raw is not None else res.obj, 201, res.warnings)

    async def update(self, request: web.Request, t: Target) -> web.Response:
        body = await self.body(request)
        res = await self.resources.update(
            t.spec, t.namespace, t.name, body, self.write_opts(request), t.subresource
        )
        code = 201 if res.created else 200
        return _json(res.raw if res.raw is not None else res.obj, code, res.warnings)

    async def patch(self, request: web.Request, t: Target) -> web.Response:
        ctype = request.headers.get("Content-Type", "").split(";")[0].strip()
        ptype = PATCH_TYPES.get(ctype)
        if ptype is None or ptype == "apply":
            raise errors.unsupported_media_type(ctype)
        body = await self.body(request)
        schema = t.spec.schema

        def apply(doc: dict[str, Any]) -> dict[str, Any]:
            try:
                if ptype == "json":
                    if not isinstance(body, list):
                        raise errors.bad_request("json patch must be a list of operations")
                    return patch.json_patch(doc, body)
                if not isinstance(body, dict):
                    raise errors.bad_request("the patch must be a JSON object")
                if ptype == "merge":
                    return patch.merge_patch(doc, body)
                return patch.strategic_merge_patch(doc, body, schema)
            except patch.PatchError as e:
                code = getattr(e, "code", 422)
                raise APIError(code, "BadRequest" if code == 400 else "Invalid", str(e)) from None

        res = await self.resources.patch(
            t.spec, t.namespace, t.name, apply, self.write_opts(request), t.subresource
        )
        return _json(res.raw if res.raw is not None else res.obj, 200, res.warnings)

    async def _delete_options(self, request: web.Request) -> DeleteOptions:
        q = request.query
        body: dict[str, Any] = {}
        if request.can_read_body:
            raw = await request.content.read(MAX_BODY + 1)
            if len(raw) > MAX_BODY:
                raise errors.too_large(MAX_BODY)
            if raw.strip():
                try:
                    body = orjson.loads(raw)
                except orjson.JSONDecodeError:
                    try:
                        body = yaml.safe_load(raw)
                    except yaml.YAMLError as e:
                        raise errors.bad_request(f"invalid DeleteOptions: {e}") from None
                if not isinstance(body, dict):
                    raise errors.bad_request("invalid DeleteOptions: not an object")
        grace = body.get("gracePeriodSeconds", q.get("gracePeriodSeconds"))
        try:
            grace_i = int(grace) if grace is not None else None
        except (TypeError, ValueError):
            raise errors.bad_request(f"invalid gracePeriodSeconds: {grace!r}") from None
        policy = body.get("propagationPolicy", q.get("propagationPolicy"))
        if body.get("orphanDependents") is True or q.get("orphanDependents") == "true":
            policy = policy or "Orphan"
        if policy not in (None, "Orphan", "Foreground", "Background"):
            raise _invalid_options(
                "DeleteOptions",
                not_supported("propagationPolicy", policy, ["Foreground", "Background", "Orphan"]),
            )
        dry_values = body.get("dryRun") or request.query.getall("dryRun", [])
        for d in dry_values if isinstance(dry_values, list) else [dry_values]:
            if d != "All":
                raise _invalid_options("DeleteOptions", not_supported("dryRun", d, ["All"]))
        pre = body.get("preconditions") or {}
        dry = body.get("dryRun") or request.query.getall("dryRun", [])
        return DeleteOptions(
            dry_run=bool(dry),
            grace_period_seconds=grace_i,
            propagation_policy=policy,
            precondition_uid=pre.get("uid"),
            precondition_rv=pre.get("resourceVersion"),
        )

    def _success_status(self, spec: KindSpec, obj: dict[str, Any]) -> dict[str, Any]:
        meta = obj.get("metadata", {})
        details: dict[str, Any] = {"name": meta.get("name", "")}
        if spec.group:
            details["group"] = spec.group
        details["kind"] = spec.plural
        details["uid"] = meta.get("uid", "")
        return {
            "kind": "Status",
            "apiVersion": "v1",
            "metadata": {},
            "status": "Success",
            "details": details,
        }

    async def delete(self, request: web.Request, t: Target) -> web.Response:
        opts = await self._delete_options(request)
        obj, raw, gone = await self.resources.delete(t.spec, t.namespace, t.name, opts)
        if gone and not t.spec.extra.get("return_deleted_object"):
            return _json(self._success_status(t.spec, obj))
        return _json(raw if raw is not None else obj, 200 if gone else 202 if False else 200)

    async def delete_collection(self, request: web.Request, t: Target) -> web.Response:
        if "deletecollection" not in t.spec.verbs:
            raise errors.method_not_supported(t.spec.group, t.spec.plural, "deletecollection")
        opts = await self._delete_options(request)
        lopts = self.list_opts(request)
        lopts.limit = 0
        entries, _, _, _ = await self.resources.list(t.spec, t.namespace or None, lopts)
        items = []
        for e in entries:
            try:
                obj, _, _ = await self.resources.delete(t.spec, e.key.namespace, e.key.name, opts)
                items.append(obj)
            except APIError as err:
                if err.code != 404:
                    raise
        return _json(
            {
                "kind": t.spec.kind + "List",
                "apiVersion": t.spec.api_version,
                "metadata": {"resourceVersion": str(self.resources.store.revision)},
                "items": items,
            }
        )

    # ------------------------------------------------------------- scale
    async def _scale(self, request: web.Request, t: Target) -> web.Response:
        """autoscaling/v1 Scale for kinds with spec.replicas (upstream scale subresource)."""
        spec = t.spec

        def to_scale(obj: dict[str, Any]) -> dict[str, Any]:
            meta = obj["metadata"]
            sel = ((obj.get("spec") or {}).get("selector") or {}).get("matchLabels") or {}
            return {
                "kind": "Scale",
                "apiVersion": "autoscaling/v1",
                "metadata": {
                    "name": meta["name"],
                    "namespace": meta.get("namespace", ""),
                    "uid": meta.get("uid"),
                    "resourceVersion": meta.get("resourceVersion"),
                    "creationTimestamp": meta.get("creationTimestamp"),
                },
                "spec": {"replicas": (obj.get("spec") or {}).get("replicas", 0)},
                "status": {
                    "replicas": (obj.get("status") or {}).get("replicas", 0),
                    "selector": ",".join(f"{k}={v}" for k, v in sorted(sel.items())),
                },
            }

        if request.method == "GET":
            request["verb"] = "GET"
            entry = await self.resources.get(spec, t.namespace, t.name)
            return _json(to_scale(entry.obj))
        if request.method not in ("PUT", "PATCH"):
            raise errors.method_not_supported(spec.group, spec.plural + "/scale", request.method)
        request["verb"] = request.method
        body = await self.body(request)
        ctype = request.headers.get("Content-Type", "").split(";")[0].strip()

        def apply(doc: dict[str, Any]) -> dict[str, Any]:
            scale = to_scale(doc)
            if request.method == "PUT":
                new_scale = body
            else:
                ptype = PATCH_TYPES.get(ctype)
                if ptype == "json":
                    new_scale = patch.json_patch(scale, body)
                elif ptype in ("merge", "strategic"):
                    new_scale = patch.merge_patch(scale, body)
                else:
                    raise errors.unsupported_media_type(ctype)
            if not isinstance(new_scale, dict):
                raise errors.bad_request("invalid Scale")
            want_rv = (new_scale.get("metadata") or {}).get("resourceVersion")
            replicas = (new_scale.get("spec") or {}).get("replicas", 0)
            if not isinstance(replicas, int) or isinstance(replicas, bool) or replicas < 0:
                from svcnet.api.validation import invalid

                raise errors.invalid(
                    "autoscaling",
                    "Scale",
                    t.name,
                    [invalid("spec.replicas", replicas, "must be greater than or equal to 0")],
                )
            doc.setdefault("spec", {})["replicas"] = replicas
            if want_rv and request.method == "PUT":
                doc["metadata"]["resourceVersion"] = want_rv
            else:
                doc["metadata"].pop("resourceVersion", None)
            return doc

        res = await self.resources.patch(spec, t.namespace, t.name, apply, WriteOptions())
        return _json(to_scale(res.obj))


def _invalid_options(kind: str, err: Any) -> APIError:
    """Upstream ValidateCreateOptions / ValidateDeleteOptions: 422 Invalid."""
    return errors.invalid("meta.k8s.io", kind, "", [err])


def dumps_pretty(obj: Any) -> bytes:
    return json.dumps(obj, indent=2).encode()
