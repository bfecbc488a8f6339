"""Hostile and malformed requests against a real `svcnet apiserver`.

Every bad request must be answered with an upstream-shaped v1 Status
(``kind: Status``, ``status: Failure``, the HTTP code repeated in ``code`` and
upstream's ``reason``), never a 500 and never a dropped connection; after all
of them the server still answers /readyz and serves a normal create.

Requests go over HTTPS to the address in the kubeconfig, verified with the CA
the server generated (127.0.0.1 only). The upstream rules each case checks are
named in its id or comment (k8s.io/apiserver handlers and
k8s.io/apimachinery/pkg/api/errors).
"""

from __future__ import annotations

import base64
import http.client
import json
import ssl
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote, urlsplit

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.integration.conftest import Server

pytestmark = pytest.mark.integration

CM_PATH = "/api/v1/namespaces/default/configmaps"
MIB = 1024 * 1024


# ---------------------------------------------------------------- client
@dataclass
class Response:
    status: int
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


class RawClient:
    """A minimal HTTPS client that sends exactly the bytes it is given."""

    def __init__(self, server: Server) -> None:
        cfg = yaml.safe_load(server.kubeconfig.read_text())
        cluster = cfg["clusters"][0]["cluster"]
        ca_pem = base64.b64decode(cluster["certificate-authority-data"]).decode()
        self.ctx = ssl.create_default_context(cadata=ca_pem)
        url = urlsplit(cluster["server"])
        assert url.hostname == "127.0.0.1", url
        self.host, self.port = url.hostname, url.port
        self.token = cfg["users"][0]["user"]["token"]

    def request(
        self,
        method: str,
        path: str,
        body: bytes | None = None,
        content_type: str | None = "application/json",
        token: str | None = "",
        headers: dict[str, str] | None = None,
    ) -> Response:
        """Send one request on a fresh connection. ``token=""`` means the
        server's own token, ``None`` no Authorization header at all."""
        hdrs = dict(headers or {})
        if token is not None:
            hdrs["Authorization"] = f"Bearer {token or self.token}"
        if body is not None and content_type is not None:
            hdrs["Content-Type"] = content_type
        conn = http.client.HTTPSConnection(self.host, self.port, context=self.ctx, timeout=30)
        try:
            conn.request(method, path, body=body, headers=hdrs)
            resp = conn.getresponse()
            return Response(resp.status, {k.lower(): v for k, v in resp.getheaders()}, resp.read())
        finally:
            conn.close()


def assert_status(resp: Response, code: int, reason: str | None) -> dict[str, Any]:
    """The response is a v1 Status with ``code`` (and ``reason`` when given)."""
    assert resp.status == code, (resp.status, resp.body[:500])
    assert resp.headers.get("content-type", "").startswith("application/json"), resp.headers
    st_ = resp.json()
    assert st_["kind"] == "Status", st_
    assert st_["apiVersion"] == "v1", st_
    assert st_["status"] == "Failure", st_
    assert st_["code"] == code, st_
    if reason is not None:
        assert st_["reason"] == reason, st_
    assert isinstance(st_.get("message", ""), str)
    return st_


def assert_still_serving(cli: RawClient) -> None:
    """/readyz answers and a well-formed create still succeeds."""
    ready = cli.request("GET", "/readyz", token=None)
    assert ready.status == 200, ready
    name = f"alive-{uuid.uuid4().hex[:8]}"
    body = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name}, "data": {"k": "v"}}
    created = cli.request("POST", CM_PATH, json.dumps(body).encode())
    assert created.status == 201, created
    got = cli.request("GET", f"{CM_PATH}/{name}")
    assert got.status == 200 and got.json()["data"] == {"k": "v"}, got


@pytest.fixture(scope="module")
def cli(shared_server: Server) -> Iterator[RawClient]:
    c = RawClient(shared_server)
    existing = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "target"}}
    resp = c.request("POST", CM_PATH, json.dumps(existing).encode())
    assert resp.status == 201, resp
    yield c


# ------------------------------------------------------------------ auth
def test_no_token_is_401_status(cli: RawClient) -> None:
    resp = cli.request("GET", "/api/v1/namespaces", token=None)
    assert_status(resp, 401, "Unauthorized")


@pytest.mark.parametrize(
    "header",
    [
        "Bearer wrong-token",
        "Bearer ",
        "Basic YWRtaW46YWRtaW4=",
        "bearer",
    ],
    ids=["wrong-token", "empty-token", "basic-scheme", "scheme-only"],
)
def test_wrong_credentials_are_401_status(cli: RawClient, header: str) -> None:
    resp = cli.request("GET", CM_PATH, token=None, headers={"Authorization": header})
    assert_status(resp, 401, "Unauthorized")


def test_wrong_token_cannot_write(cli: RawClient) -> None:
    body = json.dumps({"metadata": {"name": "sneaky"}}).encode()
    resp = cli.request("POST", CM_PATH, body, token="not-the-token")
    assert_status(resp, 401, "Unauthorized")
    assert cli.request("GET", f"{CM_PATH}/sneaky").status == 404


@pytest.mark.parametrize("path", ["/healthz", "/livez", "/readyz", "/version"])
def test_public_info_without_token(cli: RawClient, path: str) -> None:
    # Upstream's system:public-info-viewer role lets anyone read these.
    resp = cli.request("GET", path, token=None)
    assert resp.status == 200, resp


# ------------------------------------------------------------ bad inputs
def _deep_json(depth: int) -> bytes:
    return b'{"a":' * depth + b"1" + b"}" * depth


def _deep_dict(depth: int) -> dict[str, Any]:
    out: dict[str, Any] = {}
    cur = out
    for _ in range(depth):
        cur["a"] = {}
        cur = cur["a"]
    return out


def _cm(name: str = "x", **extra: Any) -> bytes:
    body = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name}}
    body.update(extra)
    return json.dumps(body).encode()


@dataclass
class Case:
    """One bad request and the Status upstream answers it with."""

    id: str
    method: str
    path: str
    body: bytes | None
    code: int | tuple[int, ...]
    reason: str | None
    content_type: str | None = "application/json"
    extra: dict[str, str] = field(default_factory=dict)


TARGET = f"{CM_PATH}/target"

CASES = [
    # Body decoding (apiserver handlers: transformDecodeError -> 400 BadRequest).
    Case("malformed-json", "POST", CM_PATH, b'{"metadata": {"name": ', 400, "BadRequest"),
    Case("json-trailing-garbage", "POST", CM_PATH, b'{"metadata":{}} }{', 400, "BadRequest"),
    Case(
        "malformed-yaml",
        "POST",
        CM_PATH,
        b"metadata: {name: x\n  data: [unclosed\n",
        400,
        "BadRequest",
        content_type="application/yaml",
    ),
    Case("empty-body", "POST", CM_PATH, b"", 400, "BadRequest"),
    Case("json-array", "POST", CM_PATH, b'[{"metadata": {"name": "x"}}]', 400, "BadRequest"),
    Case("json-number", "POST", CM_PATH, b"42", 400, "BadRequest"),
    Case("json-string", "POST", CM_PATH, b'"configmap"', 400, "BadRequest"),
    Case("json-null", "POST", CM_PATH, b"null", 400, "BadRequest"),
    Case("yaml-scalar", "POST", CM_PATH, b"just words", 400, "BadRequest", "application/yaml"),
    Case("non-utf8", "POST", CM_PATH, b"\xff\xfe\xfd\x80garbage", 400, "BadRequest"),
    Case("non-utf8-yaml", "POST", CM_PATH, b"\xff\xfe\xfd\x80", 400, "BadRequest", "text/yaml"),
    # Upstream's JSON decoder has a depth limit: too deep is a decode error.
    # Go's decoder stops past depth 10,000; at or below it the object decodes
    # and fails later (no name: 422). Either way a client error, never a crash.
    Case("json-depth-10000", "POST", CM_PATH, _deep_json(10_000), (400, 422), None),
    Case("json-depth-20000", "POST", CM_PATH, _deep_json(20_000), (400, 422), None),
    Case("json-array-depth-10000", "POST", CM_PATH, b"[" * 10_000 + b"]" * 10_000, 400, None),
    # The same for YAML: a nested document is refused or is not an object.
    Case(
        "yaml-depth-10000",
        "POST",
        CM_PATH,
        b"[" * 10_000 + b"]" * 10_000,
        400,
        None,
        content_type="application/yaml",
    ),
    Case(
        "yaml-block-depth-3000",
        "POST",
        CM_PATH,
        b"- " * 3000 + b"x\n",
        400,
        None,
        content_type="application/yaml",
    ),
    # Type errors while decoding into the Go struct -> 400 (not 422).
    Case("metadata-not-object", "POST", CM_PATH, b'{"metadata": "x"}', 400, "BadRequest"),
    Case("name-not-string", "POST", CM_PATH, b'{"metadata": {"name": 7}}', 400, "BadRequest"),
    Case("data-value-not-string", "POST", CM_PATH, _cm(data={"k": 1}), 400, "BadRequest"),
    Case(
        "labels-not-map",
        "POST",
        CM_PATH,
        b'{"metadata": {"name": "x", "labels": ["a"]}}',
        400,
        "BadRequest",
    ),
    # []byte fields are base64 in JSON: "illegal base64 data" is a decode error.
    Case("binarydata-not-base64", "POST", CM_PATH, _cm(binaryData={"b": "!!!"}), 400, "BadRequest"),
    # metadata.generation is an int64; metav1.Time must parse as RFC 3339.
    Case(
        "int64-overflow",
        "POST",
        CM_PATH,
        b'{"metadata": {"name": "x", "generation": 123456789012345678901234567890}}',
        400,
        "BadRequest",
    ),
    Case(
        "bad-timestamp",
        "POST",
        CM_PATH,
        b'{"metadata": {"name": "x", "creationTimestamp": "yesterday"}}',
        400,
        "BadRequest",
    ),
    # The body must describe the URL's kind, version and namespace.
    Case(
        "kind-mismatch",
        "POST",
        CM_PATH,
        json.dumps({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "x"}}).encode(),
        400,
        "BadRequest",
    ),
    Case(
        "apiversion-mismatch",
        "POST",
        CM_PATH,
        json.dumps(
            {"apiVersion": "apps/v1", "kind": "ConfigMap", "metadata": {"name": "x"}}
        ).encode(),
        400,
        "BadRequest",
    ),
    Case(
        "namespace-mismatch",
        "POST",
        CM_PATH,
        json.dumps({"metadata": {"name": "x", "namespace": "kube-system"}}).encode(),
        400,
        "BadRequest",
    ),
    Case(
        "name-mismatch-on-put",
        "PUT",
        TARGET,
        json.dumps({"metadata": {"name": "not-target"}}).encode(),
        400,
        "BadRequest",
    ),
    # Request size limit (upstream MaxRequestBodyBytes, 3 MiB).
    Case(
        "body-over-3MiB",
        "POST",
        CM_PATH,
        _cm("huge", data={"k": "x" * (3 * MIB + 1024)}),
        413,
        "RequestEntityTooLarge",
    ),
    # Routing.
    Case("unknown-resource", "GET", "/api/v1/foos", None, 404, "NotFound"),
    Case(
        "unknown-namespaced-resource",
        "GET",
        "/api/v1/namespaces/default/foos",
        None,
        404,
        "NotFound",
    ),
    Case("unknown-group", "GET", "/apis/nope.example.com/v1/things", None, 404, "NotFound"),
    Case("unknown-version", "GET", "/api/v9/configmaps", None, 404, "NotFound"),
    Case("unknown-subresource", "GET", f"{TARGET}/frobnicate", None, 404, "NotFound"),
    Case("missing-object", "GET", f"{CM_PATH}/does-not-exist", None, 404, "NotFound"),
    Case("post-to-item", "POST", TARGET, _cm("target"), 405, "MethodNotAllowed"),
    Case("put-to-collection", "PUT", CM_PATH, _cm("target"), 405, "MethodNotAllowed"),
    Case(
        "patch-collection",
        "PATCH",
        CM_PATH,
        b"{}",
        405,
        "MethodNotAllowed",
        content_type="application/merge-patch+json",
    ),
    # Selectors (labels.Parse / fields.ParseSelector and the kind's field labels).
    Case(
        "label-selector-unclosed",
        "GET",
        f"{CM_PATH}?labelSelector=" + quote("a in ("),
        None,
        400,
        "BadRequest",
    ),
    Case(
        "label-selector-bad-key",
        "GET",
        f"{CM_PATH}?labelSelector=" + quote("a b=c"),
        None,
        400,
        "BadRequest",
    ),
    Case(
        "field-selector-unknown-field",
        "GET",
        f"{CM_PATH}?fieldSelector=spec.foo%3Dbar",
        None,
        400,
        "BadRequest",
    ),
    Case(
        "field-selector-unknown-field-watch",
        "GET",
        f"{CM_PATH}?watch=true&fieldSelector=spec.nodeName%3Dn1",
        None,
        400,
        "BadRequest",
    ),
    Case("bad-limit", "GET", f"{CM_PATH}?limit=ten", None, 400, "BadRequest"),
    Case("bad-continue", "GET", f"{CM_PATH}?limit=1&continue=%%%%", None, 400, "BadRequest"),
    # ValidateCreateOptions in handlers/create.go: NewInvalid(CreateOptions).
    Case("bad-dry-run", "POST", f"{CM_PATH}?dryRun=Some", _cm("dry"), 422, "Invalid"),
    # Patches.
    Case(
        "patch-unsupported-content-type",
        "PATCH",
        TARGET,
        b'{"data": {"a": "b"}}',
        415,
        "UnsupportedMediaType",
        content_type="text/plain",
    ),
    Case(
        "patch-no-content-type",
        "PATCH",
        TARGET,
        b'{"data": {"a": "b"}}',
        415,
        "UnsupportedMediaType",
        content_type=None,
    ),
    Case(
        "post-unsupported-content-type",
        "POST",
        CM_PATH,
        _cm("plain"),
        415,
        "UnsupportedMediaType",
        content_type="text/plain",
    ),
    Case(
        "json-patch-bad-op",
        "PATCH",
        TARGET,
        b'[{"op": "frobnicate", "path": "/data/a", "value": "b"}]',
        (400, 422),
        None,
        content_type="application/json-patch+json",
    ),
    Case(
        "json-patch-not-a-list",
        "PATCH",
        TARGET,
        b'{"op": "add", "path": "/data", "value": {}}',
        400,
        "BadRequest",
        content_type="application/json-patch+json",
    ),
    Case(
        "merge-patch-malformed",
        "PATCH",
        TARGET,
        b'{"data": ',
        400,
        "BadRequest",
        content_type="application/merge-patch+json",
    ),
    Case(
        "merge-patch-not-object",
        "PATCH",
        TARGET,
        b"[1, 2]",
        (400, 422),
        None,
        content_type="application/merge-patch+json",
    ),
    Case(
        "delete-options-malformed",
        "DELETE",
        TARGET,
        b'{"propagationPolicy": ',
        400,
        "BadRequest",
    ),
    # ValidateDeleteOptions in handlers/delete.go: NewInvalid(DeleteOptions).
    Case(
        "delete-bad-propagation",
        "DELETE",
        TARGET,
        b'{"propagationPolicy": "Sideways"}',
        422,
        "Invalid",
    ),
    Case(
        "delete-bad-propagation-query",
        "DELETE",
        f"{TARGET}?propagationPolicy=Sideways",
        None,
        422,
        "Invalid",
    ),
]


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_bad_request_gets_status(cli: RawClient, case: Case) -> None:
    before = _cm_names(cli)
    try:
        resp = cli.request(
            case.method, case.path, case.body, content_type=case.content_type, headers=case.extra
        )
        codes = case.code if isinstance(case.code, tuple) else (case.code,)
        assert resp.status in codes, (resp.status, resp.body[:500])
        assert_status(resp, resp.status, case.reason)
    finally:
        # Nothing the bad request carried was stored (cleaned up either way,
        # so one failure does not cascade into the next case).
        leaked = sorted(_cm_names(cli) - before)
        for n in leaked:
            cli.request("DELETE", f"{CM_PATH}/{n}")
    assert not leaked, f"{case.id}: a rejected request stored {leaked}"
    target = cli.request("GET", TARGET)
    assert target.status == 200, target
    assert target.json().get("data") is None, target.json()
    assert target.json()["metadata"].get("deletionTimestamp") is None, target.json()


def _cm_names(cli: RawClient) -> set[str]:
    resp = cli.request("GET", CM_PATH)
    assert resp.status == 200, resp
    return {item["metadata"]["name"] for item in resp.json()["items"]}


@pytest.mark.parametrize(
    "ctype",
    [
        "application/merge-patch+json",
        "application/strategic-merge-patch+json",
        "application/json-patch+json",
    ],
)
@pytest.mark.parametrize("where", ["unknown-field", "data", "annotations"])
def test_deep_patch_is_not_a_crash(cli: RawClient, ctype: str, where: str) -> None:
    """A patch nested 900 levels deep (well within the JSON decoders' depth
    limits) is applied or refused, never a 5xx. Upstream merges it and then
    drops the unknown field (200), or fails decoding the result into the
    typed object (4xx)."""
    deep = _deep_dict(900)
    field_ = {"unknown-field": "/spec", "data": "/data", "annotations": "/metadata/annotations"}
    if ctype == "application/json-patch+json":
        body: Any = [{"op": "add", "path": field_[where], "value": deep}]
    elif where == "annotations":
        body = {"metadata": {"annotations": deep}}
    else:
        body = {field_[where].strip("/"): deep}
    resp = cli.request("PATCH", TARGET, json.dumps(body).encode(), content_type=ctype)
    assert resp.status < 500, (resp.status, resp.body[:300])
    if resp.status >= 400:
        assert_status(resp, resp.status, None)
    else:
        assert "spec" not in resp.json(), "an unknown field was stored"
    ready = cli.request("GET", "/readyz", token=None)
    assert ready.status == 200, ready


def test_server_survives_all_bad_inputs(cli: RawClient) -> None:
    for case in CASES:
        cli.request(case.method, case.path, case.body, content_type=case.content_type)
    assert_still_serving(cli)


# ------------------------------------------------------------ fuzzing
FUZZ_NS = "fuzz"

_scalars = (
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20)
)
_jsonish = st.recursive(
    _scalars,
    lambda children: (
        st.lists(children, max_size=5) | st.dictionaries(st.text(max_size=10), children, max_size=5)
    ),
    max_leaves=25,
)
_dns_names = st.one_of(
    st.from_regex(r"[a-z0-9]([-a-z0-9]{0,20}[a-z0-9])?", fullmatch=True),
    st.text(max_size=70),
)
_configmapish = st.fixed_dictionaries(
    {
        "apiVersion": st.sampled_from(["v1", "apps/v1", ""]) | st.text(max_size=5),
        "kind": st.sampled_from(["ConfigMap", "Secret"]) | _jsonish,
        "metadata": st.fixed_dictionaries(
            {"name": _dns_names | _jsonish},
            optional={
                "namespace": st.sampled_from([FUZZ_NS, "default"]) | _jsonish,
                "generateName": _dns_names,
                "labels": st.dictionaries(
                    st.text(max_size=70), st.text(max_size=70) | _jsonish, max_size=3
                ),
                "annotations": st.dictionaries(st.text(max_size=20), _jsonish, max_size=3),
                "finalizers": _jsonish,
                "ownerReferences": _jsonish,
                "resourceVersion": _jsonish,
                "uid": _jsonish,
            },
        )
        | _jsonish,
    },
    optional={
        "data": st.dictionaries(st.text(max_size=20), _jsonish, max_size=3) | _jsonish,
        "binaryData": st.dictionaries(st.text(max_size=20), st.text(max_size=20), max_size=3),
        "immutable": _jsonish,
    },
)
_bodies = st.one_of(
    _jsonish.map(lambda v: ("application/json", json.dumps(v).encode())),
    _configmapish.map(lambda v: ("application/json", json.dumps(v).encode())),
    _configmapish.map(lambda v: ("application/yaml", yaml.safe_dump(v).encode())),
    st.tuples(st.sampled_from(["application/json", "application/yaml"]), st.binary(max_size=200)),
)


@pytest.fixture(scope="module")
def fuzz_ns(cli: RawClient) -> str:
    body = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": FUZZ_NS}}
    resp = cli.request("POST", "/api/v1/namespaces", json.dumps(body).encode())
    assert resp.status == 201, resp
    return FUZZ_NS


@settings(
    max_examples=300,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(body=_bodies)
def test_random_bodies_never_5xx(cli: RawClient, fuzz_ns: str, body: tuple[str, bytes]) -> None:
    ctype, raw = body
    resp = cli.request("POST", f"/api/v1/namespaces/{fuzz_ns}/configmaps", raw, content_type=ctype)
    assert resp.status < 500, (resp.status, raw[:300], resp.body[:300])
    if resp.status >= 400:
        assert_status(resp, resp.status, None)
    else:
        assert resp.status == 201, resp
        assert resp.json()["kind"] == "ConfigMap"


def test_still_serving_after_fuzzing(cli: RawClient, fuzz_ns: str) -> None:
    assert_still_serving(cli)
    listed = cli.request("GET", f"/api/v1/namespaces/{fuzz_ns}/configmaps")
    assert listed.status == 200, listed
    for item in listed.json()["items"]:
        assert item["metadata"]["namespace"] == fuzz_ns
