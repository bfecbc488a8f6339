"""Field errors, format validators and ObjectMeta validation against upstream.

Expected strings are upstream's (apimachinery ``util/validation``,
``util/validation/field/errors.go``, ``api/validation/objectmeta.go``),
written out literally so a wording drift fails here.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest

from svcnet.api import validation as v
from svcnet.api.validation import FieldError, Path

# Upstream's regex error texts (note RegexError's double space before "or").
QNAME = (
    "must consist of alphanumeric characters, '-', '_' or '.', and must start and end "
    "with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', "
    "regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')"
)
LABEL_VALUE = (
    "a valid label must be an empty string or consist of alphanumeric characters, '-', "
    "'_' or '.', and must start and end with an alphanumeric character (e.g. 'MyValue',  "
    "or 'my_value',  or '12345', regex used for validation is "
    "'(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')"
)
SUBDOMAIN = (
    "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, "
    "'-' or '.', and must start and end with an alphanumeric character (e.g. "
    "'example.com', regex used for validation is "
    "'[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')"
)
LABEL_1123 = (
    "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or "
    "'-', and must start and end with an alphanumeric character (e.g. 'my-name',  or "
    "'123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')"
)
LABEL_1035 = (
    "a DNS-1035 label must consist of lower case alphanumeric characters or '-', start "
    "with an alphabetic character, and end with an alphanumeric character (e.g. "
    "'my-name',  or 'abc-123', regex used for validation is '[a-z]([-a-z0-9]*[a-z0-9])?')"
)


# --------------------------------------------------------------------------
# Paths


@dataclass(frozen=True)
class PathCase:
    id: str
    path: Path
    want: str


PATH_CASES = [
    PathCase("field.Path: root", Path("spec"), "spec"),
    PathCase(
        "field.Path: child, index, child",
        Path("spec").child("ports").index(0).child("port"),
        "spec.ports[0].port",
    ),
    PathCase(
        "field.Path: map key unquoted",
        Path("metadata").child("labels").key("k"),
        "metadata.labels[k]",
    ),
    PathCase("field.Path: Child with several names", Path("a").child("b", "c"), "a.b.c"),
    PathCase("field.Path: nested index", Path("x").index(1).index(2), "x[1][2]"),
]


@pytest.mark.parametrize("case", PATH_CASES, ids=lambda c: c.id)
def test_path_string(case: PathCase) -> None:
    assert str(case.path) == case.want


# --------------------------------------------------------------------------
# FieldError rendering


@dataclass(frozen=True)
class ErrorCase:
    id: str
    err: FieldError
    message: str
    reason: str


ERROR_CASES = [
    ErrorCase(
        "Invalid: int value printed bare",
        v.invalid(
            Path("spec").child("ports").index(0).child("port"),
            0,
            "must be between 1 and 65535, inclusive",
        ),
        "spec.ports[0].port: Invalid value: 0: must be between 1 and 65535, inclusive",
        "FieldValueInvalid",
    ),
    ErrorCase(
        "Required: value omitted",
        v.required("metadata.name", "name or generateName is required"),
        "metadata.name: Required value: name or generateName is required",
        "FieldValueRequired",
    ),
    ErrorCase(
        "Required: no detail, no trailing colon",
        v.required(Path("metadata").child("namespace")),
        "metadata.namespace: Required value",
        "FieldValueRequired",
    ),
    ErrorCase(
        "NotSupported: quoted supported values",
        v.not_supported(
            "spec.type", "Foo", ["ClusterIP", "ExternalName", "LoadBalancer", "NodePort"]
        ),
        'spec.type: Unsupported value: "Foo": supported values: "ClusterIP", "ExternalName", '
        '"LoadBalancer", "NodePort"',
        "FieldValueNotSupported",
    ),
    ErrorCase(
        "NotSupported: empty list gives no detail",
        v.not_supported("x", "y", []),
        'x: Unsupported value: "y"',
        "FieldValueNotSupported",
    ),
    ErrorCase(
        "Duplicate: value shown",
        v.duplicate("spec.ports[1].name", "http"),
        'spec.ports[1].name: Duplicate value: "http"',
        "FieldValueDuplicate",
    ),
    ErrorCase(
        "Duplicate: struct value as JSON in field order",
        v.duplicate("spec.ports[1]", {"port": 80, "protocol": "TCP"}),
        'spec.ports[1]: Duplicate value: {"port":80,"protocol":"TCP"}',
        "FieldValueDuplicate",
    ),
    ErrorCase(
        "Forbidden: value omitted",
        v.forbidden("metadata.namespace", "not allowed on this type"),
        "metadata.namespace: Forbidden: not allowed on this type",
        "FieldValueForbidden",
    ),
    ErrorCase(
        "TooLong: bytes, value never shown",
        v.too_long("metadata.annotations", "x" * 10, 262144),
        "metadata.annotations: Too long: may not be more than 262144 bytes",
        "FieldValueTooLong",
    ),
    ErrorCase(
        "TooLong: singular byte",
        v.too_long("f", "xx", 1),
        "f: Too long: may not be more than 1 byte",
        "FieldValueTooLong",
    ),
    ErrorCase(
        "TooLong: negative limit",
        v.too_long("f", "xx", -1),
        "f: Too long: value is too long",
        "FieldValueTooLong",
    ),
    ErrorCase(
        "TooMany: actual shown",
        v.too_many("spec.ports", 5, 3),
        "spec.ports: Too many: 5: must have at most 3 items",
        "FieldValueTooMany",
    ),
    ErrorCase(
        "TooMany: negative actual omitted, singular item",
        v.too_many("spec.ports", -1, 1),
        "spec.ports: Too many: must have at most 1 item",
        "FieldValueTooMany",
    ),
    ErrorCase(
        "InternalError: detail only",
        v.internal_error("metadata.name", "boom"),
        "metadata.name: Internal error: boom",
        "InternalError",
    ),
    ErrorCase(
        "NotFound: value shown",
        v.not_found("spec.x", "y"),
        'spec.x: Not found: "y"',
        "FieldValueNotFound",
    ),
    ErrorCase(
        "ErrorBody: bool printed with %v",
        v.invalid("f", True, "d"),
        "f: Invalid value: true: d",
        "FieldValueInvalid",
    ),
    ErrorCase(
        "ErrorBody: float64 printed with %v",
        v.invalid("f", 1000000.0, "d"),
        "f: Invalid value: 1e+06: d",
        "FieldValueInvalid",
    ),
    ErrorCase(
        "ErrorBody: nil pointer is JSON null",
        v.invalid("f", None, "d"),
        "f: Invalid value: null: d",
        "FieldValueInvalid",
    ),
    ErrorCase(
        "ErrorBody: []string as Go %#v (Kubernetes 1.31)",
        v.invalid("f", ["a", "b"], "d"),
        'f: Invalid value: []string{"a", "b"}: d',
        "FieldValueInvalid",
    ),
    ErrorCase(
        "ErrorBody: strconv.Quote escapes",
        v.invalid("f", 'a"b\\c\n\x01\u00ad', "d"),
        'f: Invalid value: "a\\"b\\\\c\\n\\x01\\u00ad": d',
        "FieldValueInvalid",
    ),
    ErrorCase(
        "ErrorBody: printable unicode kept",
        v.invalid("f", "héllo", "d"),
        'f: Invalid value: "héllo": d',
        "FieldValueInvalid",
    ),
    ErrorCase(
        "ErrorBody: json.Marshal HTML-escapes",
        v.invalid("f", {"k": "<&>"}, "d"),
        'f: Invalid value: {"k":"\\u003c\\u0026\\u003e"}: d',
        "FieldValueInvalid",
    ),
    ErrorCase(
        "Invalid: empty detail",
        v.invalid("f", "x", ""),
        'f: Invalid value: "x"',
        "FieldValueInvalid",
    ),
    ErrorCase(
        "field.Path: nil path prints <nil>",
        v.invalid(None, "x", "d"),
        '<nil>: Invalid value: "x": d',
        "FieldValueInvalid",
    ),
]


@pytest.mark.parametrize("case", ERROR_CASES, ids=lambda c: c.id)
def test_field_error_message(case: ErrorCase) -> None:
    assert case.err.message() == case.message
    assert str(case.err) == case.message
    assert case.err.reason == case.reason
    body = case.message.split(": ", 1)[1]
    assert case.err.error_message() == body


@pytest.mark.parametrize(
    ("err", "cause"),
    [
        pytest.param(
            v.invalid("spec.ports[0].port", 0, "must be between 1 and 65535, inclusive"),
            {
                "reason": "FieldValueInvalid",
                "message": "Invalid value: 0: must be between 1 and 65535, inclusive",
                "field": "spec.ports[0].port",
            },
            id="NewInvalid: cause carries ErrorBody and field",
        ),
        pytest.param(
            v.required("metadata.namespace"),
            {
                "reason": "FieldValueRequired",
                "message": "Required value",
                "field": "metadata.namespace",
            },
            id="NewInvalid: required cause",
        ),
        pytest.param(
            v.forbidden("", "nope"),
            {"reason": "FieldValueForbidden", "message": "Forbidden: nope"},
            id="StatusCause: empty field omitted (omitempty)",
        ),
    ],
)
def test_to_cause(err: FieldError, cause: dict[str, str]) -> None:
    assert err.to_cause() == cause


@pytest.mark.parametrize(
    ("errs", "want"),
    [
        pytest.param([v.required("a")], "a: Required value", id="ToAggregate: single error bare"),
        pytest.param(
            [v.required("a"), v.forbidden("b", "x")],
            "[a: Required value, b: Forbidden: x]",
            id="ToAggregate: many bracketed",
        ),
        pytest.param(
            [v.required("a"), v.required("a"), v.forbidden("b", "x")],
            "[a: Required value, b: Forbidden: x]",
            id="ToAggregate: duplicate messages collapse",
        ),
    ],
)
def test_aggregate(errs: list[FieldError], want: str) -> None:
    assert v.aggregate(errs) == want


# --------------------------------------------------------------------------
# Format validators


@dataclass(frozen=True)
class FormatCase:
    id: str
    fn: Callable[[Any], list[str]]
    value: Any
    want: list[str] = field(default_factory=list)


FORMAT_CASES = [
    # IsDNS1123Label
    FormatCase("IsDNS1123Label: simple", v.is_dns1123_label, "my-name"),
    FormatCase("IsDNS1123Label: leading digit ok", v.is_dns1123_label, "123-abc"),
    FormatCase("IsDNS1123Label: 63 chars ok", v.is_dns1123_label, "a" * 63),
    FormatCase(
        "IsDNS1123Label: 64 chars",
        v.is_dns1123_label,
        "a" * 64,
        ["must be no more than 63 characters"],
    ),
    FormatCase("IsDNS1123Label: upper case", v.is_dns1123_label, "Abc", [LABEL_1123]),
    FormatCase("IsDNS1123Label: empty", v.is_dns1123_label, "", [LABEL_1123]),
    FormatCase("IsDNS1123Label: trailing dash", v.is_dns1123_label, "abc-", [LABEL_1123]),
    FormatCase(
        "IsDNS1123Label: valid subdomain reports dots",
        v.is_dns1123_label,
        "a.b",
        ["must not contain dots"],
    ),
    # IsDNS1123Subdomain
    FormatCase("IsDNS1123Subdomain: dotted", v.is_dns1123_subdomain, "example.com"),
    FormatCase(
        "IsDNS1123Subdomain: 253 chars ok", v.is_dns1123_subdomain, ("a" * 63 + ".") * 3 + "a" * 61
    ),
    FormatCase(
        "IsDNS1123Subdomain: 254 chars",
        v.is_dns1123_subdomain,
        ("a" * 63 + ".") * 3 + "a" * 62,
        ["must be no more than 253 characters"],
    ),
    FormatCase("IsDNS1123Subdomain: double dot", v.is_dns1123_subdomain, "a..b", [SUBDOMAIN]),
    FormatCase("IsDNS1123Subdomain: underscore", v.is_dns1123_subdomain, "a_b", [SUBDOMAIN]),
    FormatCase(
        "IsDNS1123Subdomain: trailing newline ($ is end of text)",
        v.is_dns1123_subdomain,
        "ab\n",
        [SUBDOMAIN],
    ),
    # IsDNS1035Label
    FormatCase("IsDNS1035Label: simple", v.is_dns1035_label, "my-svc"),
    FormatCase("IsDNS1035Label: leading digit", v.is_dns1035_label, "1abc", [LABEL_1035]),
    FormatCase(
        "IsDNS1035Label: too long and bad",
        v.is_dns1035_label,
        "1" + "a" * 63,
        ["must be no more than 63 characters", LABEL_1035],
    ),
    # IsQualifiedName
    FormatCase("IsQualifiedName: plain", v.is_qualified_name, "app"),
    FormatCase("IsQualifiedName: prefixed", v.is_qualified_name, "example.com/MyName"),
    FormatCase("IsQualifiedName: 63 char name", v.is_qualified_name, "p.io/" + "a" * 63),
    FormatCase(
        "IsQualifiedName: empty",
        v.is_qualified_name,
        "",
        ["name part must be non-empty", "name part " + QNAME],
    ),
    FormatCase(
        "IsQualifiedName: empty prefix",
        v.is_qualified_name,
        "/a",
        ["prefix part must be non-empty"],
    ),
    FormatCase(
        "IsQualifiedName: bad prefix",
        v.is_qualified_name,
        "Example.com/a",
        ["prefix part " + SUBDOMAIN],
    ),
    FormatCase(
        "IsQualifiedName: name too long",
        v.is_qualified_name,
        "a" * 64,
        ["name part must be no more than 63 characters"],
    ),
    FormatCase("IsQualifiedName: bad name", v.is_qualified_name, "-a", ["name part " + QNAME]),
    FormatCase(
        "IsQualifiedName: two slashes",
        v.is_qualified_name,
        "a/b/c",
        [
            "a qualified name "
            + QNAME
            + " with an optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName')"
        ],
    ),
    # IsValidLabelValue
    FormatCase("IsValidLabelValue: empty ok", v.is_valid_label_value, ""),
    FormatCase("IsValidLabelValue: mixed", v.is_valid_label_value, "My_value-1.2"),
    FormatCase("IsValidLabelValue: slash", v.is_valid_label_value, "a/b", [LABEL_VALUE]),
    FormatCase(
        "IsValidLabelValue: 64 chars",
        v.is_valid_label_value,
        "a" * 64,
        ["must be no more than 63 characters"],
    ),
    FormatCase(
        "IsValidLabelValue: length counts bytes",
        v.is_valid_label_value,
        "é" * 32,
        ["must be no more than 63 characters", LABEL_VALUE],
    ),
    # IsValidPortNum
    FormatCase("IsValidPortNum: 1", v.is_valid_port_num, 1),
    FormatCase("IsValidPortNum: 65535", v.is_valid_port_num, 65535),
    FormatCase(
        "IsValidPortNum: 0", v.is_valid_port_num, 0, ["must be between 1 and 65535, inclusive"]
    ),
    FormatCase(
        "IsValidPortNum: 65536",
        v.is_valid_port_num,
        65536,
        ["must be between 1 and 65535, inclusive"],
    ),
    # IsValidPortName
    FormatCase("IsValidPortName: http", v.is_valid_port_name, "http"),
    FormatCase("IsValidPortName: digits and letter", v.is_valid_port_name, "h2c-8080"),
    FormatCase(
        "IsValidPortName: too long",
        v.is_valid_port_name,
        "a" * 16,
        ["must be no more than 15 characters"],
    ),
    FormatCase(
        "IsValidPortName: bad charset and no letter",
        v.is_valid_port_name,
        "80_80",
        [
            "must contain only alpha-numeric characters (a-z, 0-9), and hyphens (-)",
            "must contain at least one letter (a-z)",
        ],
    ),
    FormatCase(
        "IsValidPortName: consecutive and edge hyphens",
        v.is_valid_port_name,
        "-a--b",
        ["must not contain consecutive hyphens", "must not begin or end with a hyphen"],
    ),
    FormatCase(
        "IsValidPortName: empty",
        v.is_valid_port_name,
        "",
        [
            "must contain only alpha-numeric characters (a-z, 0-9), and hyphens (-)",
            "must contain at least one letter (a-z)",
        ],
    ),
    # IsValidIP / IsValidCIDR
    FormatCase("IsValidIP: v4", v.is_valid_ip, "10.9.8.7"),
    FormatCase("IsValidIP: v6", v.is_valid_ip, "2001:db8::ffff"),
    FormatCase("IsValidIP: v4-mapped v6", v.is_valid_ip, "::ffff:1.2.3.4"),
    FormatCase("IsValidIP: sloppy leading zeros accepted", v.is_valid_ip, "010.001.0.1"),
]
_BAD_IP = ["must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)"]
_BAD_CIDR = ["must be a valid CIDR value, (e.g. 10.9.8.0/24 or 2001:db8::/64)"]
FORMAT_CASES += [
    FormatCase("IsValidIP: octet over 255", v.is_valid_ip, "1.2.3.256", _BAD_IP),
    FormatCase("IsValidIP: three octets", v.is_valid_ip, "1.2.3", _BAD_IP),
    FormatCase("IsValidIP: zone rejected", v.is_valid_ip, "fe80::1%eth0", _BAD_IP),
    FormatCase("IsValidIP: hostname", v.is_valid_ip, "example.com", _BAD_IP),
    FormatCase("IsValidIP: empty", v.is_valid_ip, "", _BAD_IP),
    FormatCase("IsValidCIDR: v4", v.is_valid_cidr, "10.9.8.0/24"),
    FormatCase("IsValidCIDR: v6", v.is_valid_cidr, "2001:db8::/64"),
    FormatCase("IsValidCIDR: host bits allowed", v.is_valid_cidr, "10.9.8.7/24"),
    FormatCase("IsValidCIDR: no prefix length", v.is_valid_cidr, "10.9.8.0", _BAD_CIDR),
    FormatCase("IsValidCIDR: v4 prefix too long", v.is_valid_cidr, "10.0.0.0/33", _BAD_CIDR),
    FormatCase("IsValidCIDR: v6 /128 ok", v.is_valid_cidr, "::1/128"),
    FormatCase(
        "IsValidCIDR: netmask form rejected", v.is_valid_cidr, "10.0.0.0/255.0.0.0", _BAD_CIDR
    ),
]


@pytest.mark.parametrize("case", FORMAT_CASES, ids=lambda c: c.id)
def test_format_validators(case: FormatCase) -> None:
    assert case.fn(case.value) == case.want


@pytest.mark.parametrize(
    ("name", "want"),
    [
        pytest.param(
            "web-", "wea", id="maskTrailingDash: drops dash and the char before, appends a"
        ),
        pytest.param("-", "-", id="maskTrailingDash: single dash untouched"),
        pytest.param("web", "web", id="maskTrailingDash: no dash"),
    ],
)
def test_mask_trailing_dash(name: str, want: str) -> None:
    assert v.mask_trailing_dash(name) == want


# --------------------------------------------------------------------------
# ObjectMeta


@dataclass(frozen=True)
class MetaCase:
    id: str
    meta: dict[str, Any]
    want: list[str]
    namespaced: bool = True
    name_validator: Callable[[str], list[str]] = v.is_dns1123_subdomain


META_CASES = [
    MetaCase("ValidateObjectMeta: valid namespaced", {"name": "web", "namespace": "default"}, []),
    MetaCase("ValidateObjectMeta: valid cluster-scoped", {"name": "n1"}, [], namespaced=False),
    MetaCase(
        "ValidateObjectMeta: name or generateName required",
        {"namespace": "default"},
        ["metadata.name: Required value: name or generateName is required"],
    ),
    MetaCase(
        "ValidateObjectMeta: name format via nameFn",
        {"name": "Web", "namespace": "default"},
        [f'metadata.name: Invalid value: "Web": {SUBDOMAIN}'],
    ),
    MetaCase(
        "ValidateObjectMeta: DNS-1035 nameFn (Service)",
        {"name": "1web", "namespace": "default"},
        [f'metadata.name: Invalid value: "1web": {LABEL_1035}'],
        name_validator=v.is_dns1035_label,
    ),
    MetaCase(
        "ValidateObjectMeta: generateName checked as masked prefix",
        {"name": "web-abcde", "generateName": "web-", "namespace": "default"},
        [],
        name_validator=v.is_dns1035_label,
    ),
    MetaCase(
        "ValidateObjectMeta: bad generateName",
        {"name": "x1", "generateName": "1x-", "namespace": "default"},
        [f'metadata.generateName: Invalid value: "1x-": {LABEL_1035}'],
        name_validator=v.is_dns1035_label,
    ),
    MetaCase(
        "ValidateObjectMeta: namespace required when namespaced",
        {"name": "web"},
        ["metadata.namespace: Required value"],
    ),
    MetaCase(
        "ValidateObjectMeta: namespace must be a DNS label",
        {"name": "web", "namespace": "a.b"},
        ['metadata.namespace: Invalid value: "a.b": must not contain dots'],
    ),
    MetaCase(
        "ValidateObjectMeta: namespace forbidden when cluster-scoped",
        {"name": "n1", "namespace": "default"},
        ["metadata.namespace: Forbidden: not allowed on this type"],
        namespaced=False,
    ),
    MetaCase(
        "ValidateObjectMeta: negative generation",
        {"name": "web", "namespace": "d", "generation": -1},
        ["metadata.generation: Invalid value: -1: must be greater than or equal to 0"],
    ),
    MetaCase(
        "ValidateLabels: key and value errors on the map path",
        {"name": "web", "namespace": "d", "labels": {"-bad": "ok", "app": "no way"}},
        [
            f'metadata.labels: Invalid value: "-bad": name part {QNAME}',
            f'metadata.labels: Invalid value: "no way": {LABEL_VALUE}',
        ],
    ),
    MetaCase(
        "ValidateAnnotations: keys case-insensitive, values free-form",
        {"name": "web", "namespace": "d", "annotations": {"Example.COM/Key": "any thing!"}},
        [],
    ),
    MetaCase(
        "ValidateAnnotations: bad key",
        {"name": "web", "namespace": "d", "annotations": {"a b": ""}},
        [f'metadata.annotations: Invalid value: "a b": name part {QNAME}'],
    ),
    MetaCase(
        "ValidateAnnotations: total size limit 256 KiB",
        {"name": "web", "namespace": "d", "annotations": {"k": "x" * (256 * 1024)}},
        ["metadata.annotations: Too long: may not be more than 262144 bytes"],
    ),
    MetaCase(
        "ValidateAnnotations: exactly at the limit",
        {"name": "web", "namespace": "d", "annotations": {"k": "x" * (256 * 1024 - 1)}},
        [],
    ),
    MetaCase(
        "ValidateOwnerReferences: required parts",
        {"name": "w", "namespace": "d", "ownerReferences": [{"apiVersion": "apps/"}]},
        [
            'metadata.ownerReferences.apiVersion: Invalid value: "apps/": version must not be empty',
            'metadata.ownerReferences.kind: Invalid value: "": must not be empty',
            'metadata.ownerReferences.name: Invalid value: "": must not be empty',
            'metadata.ownerReferences.uid: Invalid value: "": must not be empty',
        ],
    ),
    MetaCase(
        "ValidateOwnerReferences: v1 Event banned",
        {
            "name": "w",
            "namespace": "d",
            "ownerReferences": [{"apiVersion": "v1", "kind": "Event", "name": "e", "uid": "u"}],
        },
        [
            'metadata.ownerReferences: Invalid value: {"apiVersion":"v1","kind":"Event",'
            '"name":"e","uid":"u"}: /v1, Kind=Event is disallowed from being an owner'
        ],
    ),
    MetaCase(
        "ValidateOwnerReferences: only one controller",
        {
            "name": "w",
            "namespace": "d",
            "ownerReferences": [
                {
                    "apiVersion": "apps/v1",
                    "kind": "ReplicaSet",
                    "name": "a",
                    "uid": "1",
                    "controller": True,
                },
                {
                    "apiVersion": "apps/v1",
                    "kind": "ReplicaSet",
                    "name": "b",
                    "uid": "2",
                    "controller": True,
                },
            ],
        },
        [
            'metadata.ownerReferences: Invalid value: [{"apiVersion":"apps/v1","kind":"ReplicaSet",'
            '"name":"a","uid":"1","controller":true},{"apiVersion":"apps/v1","kind":"ReplicaSet",'
            '"name":"b","uid":"2","controller":true}]: Only one reference can have Controller set '
            'to true. Found "true" in references for ReplicaSet/a and ReplicaSet/b'
        ],
    ),
    MetaCase(
        "ValidateFinalizers: qualified names",
        {"name": "w", "namespace": "d", "finalizers": ["example.com/ok", "bad name"]},
        [f'metadata.finalizers: Invalid value: "bad name": name part {QNAME}'],
    ),
    MetaCase(
        "ValidateFinalizers: orphan and foregroundDeletion conflict",
        {"name": "w", "namespace": "d", "finalizers": ["orphan", "foregroundDeletion"]},
        [
            'metadata.finalizers: Invalid value: []string{"orphan", "foregroundDeletion"}: '
            "finalizer orphan and foregroundDeletion cannot be both set"
        ],
    ),
]


@pytest.mark.parametrize("case", META_CASES, ids=lambda c: c.id)
def test_validate_object_meta(case: MetaCase) -> None:
    errs = v.validate_object_meta(
        case.meta, namespaced=case.namespaced, name_validator=case.name_validator
    )
    assert [e.message() for e in errs] == case.want


def test_validate_object_meta_custom_path() -> None:
    errs = v.validate_object_meta(
        {}, namespaced=False, path=Path("spec").child("template", "metadata")
    )
    assert [e.field for e in errs] == ["spec.template.metadata.name"]


OLD = {
    "name": "web",
    "namespace": "default",
    "uid": "u-1",
    "resourceVersion": "5",
    "generation": 2,
    "creationTimestamp": "2024-01-01T00:00:00Z",
}


@dataclass(frozen=True)
class UpdateCase:
    id: str
    new: dict[str, Any]
    want: list[str]
    old: dict[str, Any] = field(default_factory=lambda: OLD)


UPDATE_CASES = [
    UpdateCase("ValidateObjectMetaUpdate: unchanged", dict(OLD), []),
    UpdateCase(
        "ValidateObjectMetaUpdate: name immutable",
        {**OLD, "name": "other"},
        ['metadata.name: Invalid value: "other": field is immutable'],
    ),
    UpdateCase(
        "ValidateObjectMetaUpdate: namespace immutable",
        {**OLD, "namespace": "kube-system"},
        ['metadata.namespace: Invalid value: "kube-system": field is immutable'],
    ),
    UpdateCase(
        "ValidateObjectMetaUpdate: uid immutable",
        {**OLD, "uid": "u-2"},
        ['metadata.uid: Invalid value: "u-2": field is immutable'],
    ),
    UpdateCase(
        "ValidateObjectMetaUpdate: creationTimestamp immutable (cleared renders null)",
        {k: x for k, x in OLD.items() if k != "creationTimestamp"},
        ["metadata.creationTimestamp: Invalid value: null: field is immutable"],
    ),
    UpdateCase(
        "ValidateObjectMetaUpdate: deletionTimestamp immutable",
        {**OLD, "deletionTimestamp": "2024-02-01T00:00:00Z"},
        ['metadata.deletionTimestamp: Invalid value: "2024-02-01T00:00:00Z": field is immutable'],
    ),
    UpdateCase(
        "ValidateObjectMetaUpdate: deletionGracePeriodSeconds immutable",
        {**OLD, "deletionGracePeriodSeconds": 30},
        ["metadata.deletionGracePeriodSeconds: Invalid value: 30: field is immutable"],
    ),
    UpdateCase(
        "ValidateObjectMetaUpdate: resourceVersion required",
        {k: x for k, x in OLD.items() if k != "resourceVersion"},
        ['metadata.resourceVersion: Invalid value: "": must be specified for an update'],
    ),
    UpdateCase(
        "ValidateObjectMetaUpdate: generation not decremented",
        {**OLD, "generation": 1},
        ["metadata.generation: Invalid value: 1: must not be decremented"],
    ),
    UpdateCase(
        "ValidateNoNewFinalizers: none added while deleting",
        {**OLD, "deletionTimestamp": "2024-02-01T00:00:00Z", "finalizers": ["a", "b/c", "z"]},
        [
            "metadata.finalizers: Forbidden: no new finalizers can be added if the object is being "
            'deleted, found new finalizers []string{"b/c", "z"}'
        ],
        old={**OLD, "deletionTimestamp": "2024-02-01T00:00:00Z", "finalizers": ["a"]},
    ),
    UpdateCase(
        "ValidateObjectMetaUpdate: finalizers may be removed while deleting",
        {**OLD, "deletionTimestamp": "2024-02-01T00:00:00Z"},
        [],
        old={**OLD, "deletionTimestamp": "2024-02-01T00:00:00Z", "finalizers": ["a"]},
    ),
    UpdateCase(
        "ValidateObjectMetaUpdate: labels revalidated",
        {**OLD, "labels": {"a": "-"}},
        [f'metadata.labels: Invalid value: "-": {LABEL_VALUE}'],
    ),
]


@pytest.mark.parametrize("case", UPDATE_CASES, ids=lambda c: c.id)
def test_validate_object_meta_update(case: UpdateCase) -> None:
    assert [e.message() for e in v.validate_object_meta_update(case.new, case.old)] == case.want


def test_update_unconditional_skips_resource_version() -> None:
    new = {k: x for k, x in OLD.items() if k != "resourceVersion"}
    assert v.validate_object_meta_update(new, OLD, require_resource_version=False) == []
