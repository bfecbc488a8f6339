"""Pod subresources with their own semantics: binding (and eviction).

`POST pods/<name>/binding` is how a scheduler assigns a pod to a node
(upstream `BindingREST`): it sets spec.nodeName once, adds the PodScheduled
condition, and answers 201 with a Success Status; binding a pod that is
already assigned is a 409 Conflict.
"""

from __future__ import annotations

from typing import Any

import orjson
from aiohttp import web

from svcnet.api import errors
from svcnet.apiserver.resources import Resources, rfc3339
from svcnet.apiserver.rest import RestHandler, Target
from svcnet.store import Conflict, NotFound


def bind(pod: dict[str, Any], node: str, now: str) -> dict[str, Any]:
    """The pod after binding it to ``node`` (pure). Raises APIError 409 when
    the pod is already assigned or is being deleted."""
    meta = pod.get("metadata") or {}
    spec = pod.setdefault("spec", {})
    name = meta.get("name", "")
    if meta.get("deletionTimestamp"):
        raise errors.conflict(
            "", "pods", name, "pod is being deleted, cannot be assigned to a host"
        )
    if spec.get("nodeName"):
        raise errors.conflict(
            "", "pods", name, f'pod {name} is already assigned to node "{spec["nodeName"]}"'
        )
    spec["nodeName"] = node
    status = pod.setdefault("status", {})
    conds = [c for c in status.get("conditions") or [] if c.get("type") != "PodScheduled"]
    conds.append(
        {"type": "PodScheduled", "status": "True", "lastProbeTime": None, "lastTransitionTime": now}
    )
    status["conditions"] = conds
    return pod


def make_binding_handler(resources: Resources, rest: RestHandler):
    async def handle(request: web.Request, t: Target) -> web.Response:
        if request.method != "POST":
            raise errors.method_not_supported("", "pods/binding", request.method)
        request["verb"] = "POST"
        body = await rest.body(request)
        target = (body or {}).get("target") if isinstance(body, dict) else None
        node = (target or {}).get("name") if isinstance(target, dict) else None
        if not node:
            from svcnet.api.validation import required

            raise errors.invalid("", "Binding", t.name, [required("target.name", "")])
        # Binding changes spec.nodeName and status together, which neither the
        # main resource nor the status subresource may do: write it directly.
        entry = await resources.get(t.spec, t.namespace, t.name)
        new = bind(entry.copy(), node, rfc3339(resources.clock()))
        new["metadata"].pop("resourceVersion", None)
        try:
            await resources.store.update(entry.key, new, expect_rv=entry.rv)
        except Conflict:
            raise errors.conflict("", "pods", t.name, errors.MODIFIED) from None
        except NotFound:
            raise errors.not_found("", "pods", t.name) from None
        status = {
            "kind": "Status",
            "apiVersion": "v1",
            "metadata": {},
            "status": "Success",
            "code": 201,
        }
        return web.Response(body=orjson.dumps(status), status=201, content_type="application/json")

    return handle
