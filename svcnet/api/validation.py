"""Field errors and format validators shaped like upstream apimachinery.

Theory of operation: validation is a pure function from an object (plain JSON
dicts, already type-checked by `svcnet.api.structural`) to a list of
`FieldError`. Each error renders exactly as upstream's
``(*field.Error).Error()`` (``<path>: <Type label>[: <value>][: <detail>]``)
and becomes a v1 ``StatusCause`` via `FieldError.to_cause`, so kubectl shows
the same text a real kube-apiserver would.

Invariants:

* The format validators (``is_*``) return lists of message strings, the exact
  wording of ``k8s.io/apimachinery/pkg/util/validation``; an empty list means
  valid. Lengths are counted in UTF-8 bytes, as Go's ``len`` does.
* Bad values are rendered the way Go's ``fmt``/``encoding/json`` render them
  (strings ``%q``-quoted, numbers bare, everything else as compact JSON), so a
  caller passes the Python value it holds and never pre-formats it. Dicts are
  rendered in insertion order: pass struct-like values in Go field order.
* Messages follow the current upstream wording ("a lowercase RFC 1123 ...",
  "may not be more than N bytes"); the label-key validator keeps the long
  standing "a qualified name ..." wording.
"""

from __future__ import annotations

import ipaddress
import math
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum
from typing import Any, Final

# --------------------------------------------------------------------------
# Paths


@dataclass(frozen=True)
class Path:
    """A field path such as ``spec.ports[0].port`` (upstream ``field.Path``).

    Built fluently: ``Path("spec").child("ports").index(0).child("port")``;
    ``Path("metadata").child("labels").key("app")`` is ``metadata.labels[app]``.
    """

    text: str

    def child(self, name: str, *more: str) -> Path:
        """The path of a struct field (or nested fields) below this one."""
        return Path(".".join((self.text, name, *more)))

    def index(self, i: int) -> Path:
        """The path of list element ``i``."""
        return Path(f"{self.text}[{i}]")

    def key(self, k: str) -> Path:
        """The path of map entry ``k`` (unquoted, as upstream prints it)."""
        return Path(f"{self.text}[{k}]")

    def __str__(self) -> str:
        return self.text


PathLike = Path | str | None


def _path_str(p: PathLike) -> str:
    # Upstream prints a nil *field.Path as "<nil>" (seen in selector errors).
    return "<nil>" if p is None else str(p)


# --------------------------------------------------------------------------
# Go-compatible rendering of bad values


class _Omit:
    """Marker for "no value to show" (upstream's ``omitValue``)."""

    def __repr__(self) -> str:
        return "OMIT"


OMIT: Final = _Omit()

# Runes strconv.Quote writes as two-character escapes.
_GO_QUOTE_SHORT: Final = {
    c: "\\" + e for c, e in zip('\a\b\f\n\r\t\v\\"', 'abfnrtv\\"', strict=True)
}
# Runes encoding/json writes as two-character escapes (others below 0x20 as \u00XX).
_JSON_ESC: Final = {c: "\\" + e for c, e in zip('\b\f\n\r\t\\"', 'bfnrt\\"', strict=True)}


def _go_rune_escape(ch: str) -> str:
    n = ord(ch)
    return (
        f"\\x{n:02x}" if n < 0x20 or n == 0x7F else f"\\u{n:04x}" if n < 0x10000 else f"\\U{n:08x}"
    )


def go_quote(s: str) -> str:
    """``strconv.Quote``: double-quoted, Go escapes, printable runes kept."""
    body = (_GO_QUOTE_SHORT.get(c) or (c if c.isprintable() else _go_rune_escape(c)) for c in s)
    return '"' + "".join(body) + '"'


def _shortest_digits(f: float) -> tuple[str, int]:
    """Shortest round-trip digits of abs(f) and the exponent of the first digit."""
    _, digits, exp = Decimal(repr(abs(f))).as_tuple()
    ds = "".join(map(str, digits)).rstrip("0") or "0"
    assert isinstance(exp, int)
    return ds, exp + len(digits) - 1


def _go_float(f: float, *, json: bool = False) -> str:
    """``%v`` of a float64 (``json=False``) or its ``encoding/json`` form."""
    if math.isnan(f):
        return "NaN"
    if math.isinf(f):
        return "+Inf" if f > 0 else "-Inf"
    if f == 0:
        return "-0" if math.copysign(1, f) < 0 and not json else "0"
    ds, x = _shortest_digits(f)
    sign = "-" if f < 0 else ""
    # fmt's %g (shortest) switches to exponent form at 1e-4/1e6, JSON at 1e-6/1e21.
    use_exp = (x < -6 or x >= 21) if json else (x < -4 or x >= 6)
    if use_exp:
        mant = ds[0] + ("." + ds[1:] if len(ds) > 1 else "")
        width = 1 if json else 2  # encoding/json trims "e-07" to "e-7"
        return f"{sign}{mant}e{'-' if x < 0 else '+'}{abs(x):0{width}d}"
    if x < 0:
        return f"{sign}0.{'0' * (-x - 1)}{ds}"
    if len(ds) <= x + 1:
        return f"{sign}{ds}{'0' * (x + 1 - len(ds))}"
    return f"{sign}{ds[: x + 1]}.{ds[x + 1 :]}"


def _go_json_str(s: str) -> str:
    # Go also escapes the HTML-significant runes and the JS line separators.
    body = (
        _JSON_ESC.get(c) or (f"\\u{ord(c):04x}" if ord(c) < 0x20 or c in "<>&\u2028\u2029" else c)
        for c in s
    )
    return '"' + "".join(body) + '"'


def go_json(v: Any) -> str:
    """Compact JSON as Go's ``json.Marshal`` writes it."""
    if v is None:
        return "null"
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, float):
        return _go_float(v, json=True)
    if isinstance(v, str):
        return _go_json_str(v)
    if isinstance(v, Mapping):
        return "{" + ",".join(f"{_go_json_str(str(k))}:{go_json(x)}" for k, x in v.items()) + "}"
    if isinstance(v, Iterable):
        return "[" + ",".join(go_json(x) for x in v) + "]"
    return _go_json_str(str(v))


def go_value(v: Any) -> str:
    """A bad value as ``ErrorBody`` prints it in Kubernetes 1.31 (the version
    svcnet reports): ``%q`` strings, ``%v`` numbers and bools, ``%#v`` for
    string slices (``[]string{"a", "b"}``), and JSON for other composites:
    a dict may stand for a Go struct or map, whose ``%#v`` forms differ
    (upstream 1.34 switched to JSON for all composites)."""
    if isinstance(v, str):
        return go_quote(v)
    if isinstance(v, list) and v and all(isinstance(x, str) for x in v):
        return _go_string_slice(v)
    return _go_float(v) if isinstance(v, float) else go_json(v)


# --------------------------------------------------------------------------
# Field errors


class ErrorType(StrEnum):
    """Upstream ``field.ErrorType``: the value is the StatusCause reason and
    ``label`` the canonical text (``ErrorType.String()``)."""

    label: str

    def __new__(cls, reason: str, label: str) -> ErrorType:
        member = str.__new__(cls, reason)
        member._value_ = reason
        member.label = label
        return member

    NOT_FOUND = "FieldValueNotFound", "Not found"
    REQUIRED = "FieldValueRequired", "Required value"
    DUPLICATE = "FieldValueDuplicate", "Duplicate value"
    INVALID = "FieldValueInvalid", "Invalid value"
    NOT_SUPPORTED = "FieldValueNotSupported", "Unsupported value"
    FORBIDDEN = "FieldValueForbidden", "Forbidden"
    TOO_LONG = "FieldValueTooLong", "Too long"
    TOO_MANY = "FieldValueTooMany", "Too many"
    INTERNAL = "InternalError", "Internal error"
    TYPE_INVALID = "FieldValueTypeInvalid", "Invalid value"


# Types whose message never shows the bad value.
_VALUELESS: Final = frozenset(
    {ErrorType.REQUIRED, ErrorType.FORBIDDEN, ErrorType.TOO_LONG, ErrorType.INTERNAL}
)


@dataclass(frozen=True)
class FieldError:
    """One field-level validation error (upstream ``field.Error``)."""

    type: ErrorType
    field: str
    bad_value: Any = OMIT
    detail: str = ""

    @property
    def reason(self) -> str:
        """The StatusCause reason, e.g. ``FieldValueInvalid``."""
        return self.type.value

    def error_message(self) -> str:
        """The message without the field path (upstream ``ErrorBody()``)."""
        s = self.type.label
        if self.type not in _VALUELESS and self.bad_value is not OMIT:
            s = f"{s}: {go_value(self.bad_value)}"
        if self.detail:
            s = f"{s}: {self.detail}"
        return s

    def message(self) -> str:
        """``<field>: <body>`` exactly as upstream's ``Error()``."""
        return f"{self.field}: {self.error_message()}"

    def to_cause(self) -> dict[str, str]:
        """The v1 StatusCause ``errors.NewInvalid`` builds (empty keys omitted)."""
        cause = {"reason": self.reason, "message": self.error_message(), "field": self.field}
        return {k: v for k, v in cause.items() if v}

    def __str__(self) -> str:
        return self.message()


def required(path: PathLike, detail: str = "") -> FieldError:
    """A missing value (``field.Required``)."""
    return FieldError(ErrorType.REQUIRED, _path_str(path), "", detail)


def invalid(path: PathLike, value: Any, detail: str) -> FieldError:
    """A malformed value (``field.Invalid``)."""
    return FieldError(ErrorType.INVALID, _path_str(path), value, detail)


def not_supported(path: PathLike, value: Any, supported: Sequence[Any]) -> FieldError:
    """A value outside an enumeration (``field.NotSupported``)."""
    detail = ""
    if supported:
        detail = "supported values: " + ", ".join(go_quote(str(v)) for v in supported)
    return FieldError(ErrorType.NOT_SUPPORTED, _path_str(path), value, detail)


def duplicate(path: PathLike, value: Any) -> FieldError:
    """A value that must be unique (``field.Duplicate``)."""
    return FieldError(ErrorType.DUPLICATE, _path_str(path), value)


def not_found(path: PathLike, value: Any) -> FieldError:
    """A reference that does not resolve (``field.NotFound``)."""
    return FieldError(ErrorType.NOT_FOUND, _path_str(path), value)


def forbidden(path: PathLike, detail: str) -> FieldError:
    """A value not permitted here (``field.Forbidden``)."""
    return FieldError(ErrorType.FORBIDDEN, _path_str(path), "", detail)


def too_long(path: PathLike, value: Any, max_len: int) -> FieldError:
    """A value over ``max_len`` bytes; the value is never shown (``field.TooLong``)."""
    del value  # upstream ignores it too
    if max_len >= 0:
        detail = f"may not be more than {max_len} {'byte' if max_len == 1 else 'bytes'}"
    else:
        detail = "value is too long"
    return FieldError(ErrorType.TOO_LONG, _path_str(path), "<value omitted>", detail)


def too_many(path: PathLike, actual: int, max_items: int) -> FieldError:
    """A list with more than ``max_items`` items (``field.TooMany``); a
    negative ``actual`` omits the count."""
    if max_items >= 0:
        detail = f"must have at most {max_items} {'item' if max_items == 1 else 'items'}"
    else:
        detail = "has too many items"
    return FieldError(ErrorType.TOO_MANY, _path_str(path), actual if actual >= 0 else OMIT, detail)


def internal_error(path: PathLike, detail: str) -> FieldError:
    """A failure not caused by user input (``field.InternalError``)."""
    return FieldError(ErrorType.INTERNAL, _path_str(path), OMIT, detail)


def aggregate(errors: Sequence[FieldError]) -> str:
    """``errs.ToAggregate().Error()``: messages deduplicated, bracketed if many."""
    msgs = list(dict.fromkeys(e.message() for e in errors))
    return msgs[0] if len(msgs) == 1 else "[" + ", ".join(msgs) + "]"


# --------------------------------------------------------------------------
# Format validators (pkg/util/validation)


def max_len_error(length: int) -> str:
    return f"must be no more than {length} characters"


def regex_error(msg: str, fmt: str, *examples: str) -> str:
    """Upstream ``RegexError`` (note its double space before each "or")."""
    if not examples:
        return f"{msg} (regex used for validation is '{fmt}')"
    shown = " or ".join(f"'{e}', " for e in examples)
    return f"{msg} (e.g. {shown}regex used for validation is '{fmt}')"


def empty_error() -> str:
    return "must be non-empty"


def inclusive_range_error(lo: int, hi: int) -> str:
    return f"must be between {lo} and {hi}, inclusive"


def _blen(s: str) -> int:
    return len(s.encode("utf-8", "surrogatepass"))


_QNAME_FMT: Final = "([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]"
_QNAME_MSG: Final = "must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character"
_QNAME_RE: Final = re.compile(_QNAME_FMT)
_LABEL_VALUE_FMT: Final = f"({_QNAME_FMT})?"
_LABEL_VALUE_MSG: Final = "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character"
_LABEL_VALUE_RE: Final = re.compile(_LABEL_VALUE_FMT)
_DNS1123_LABEL_FMT: Final = "[a-z0-9]([-a-z0-9]*[a-z0-9])?"
_DNS1123_LABEL_MSG: Final = "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character"
_DNS1123_LABEL_RE: Final = re.compile(_DNS1123_LABEL_FMT)
_DNS1123_SUB_FMT: Final = _DNS1123_LABEL_FMT + r"(\." + _DNS1123_LABEL_FMT + ")*"
_DNS1123_SUB_MSG: Final = "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character"
_DNS1123_SUB_RE: Final = re.compile(_DNS1123_SUB_FMT)
_DNS1035_FMT: Final = "[a-z]([-a-z0-9]*[a-z0-9])?"
_DNS1035_MSG: Final = "a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an alphabetic character, and end with an alphanumeric character"
_DNS1035_RE: Final = re.compile(_DNS1035_FMT)

DNS1123_LABEL_MAX_LENGTH: Final = 63
DNS1123_SUBDOMAIN_MAX_LENGTH: Final = 253
DNS1035_LABEL_MAX_LENGTH: Final = 63
LABEL_VALUE_MAX_LENGTH: Final = 63
QUALIFIED_NAME_MAX_LENGTH: Final = 63


def _check(value: str, max_len: int, rx: re.Pattern[str], err: str) -> list[str]:
    """The usual pair of checks: a byte-length limit, then a full regex match."""
    errs = [max_len_error(max_len)] if _blen(value) > max_len else []
    return errs if rx.fullmatch(value) else [*errs, err]


def is_dns1123_label(value: str) -> list[str]:
    """RFC 1123 label: lower-case alphanumerics and '-', at most 63 bytes."""
    err = regex_error(_DNS1123_LABEL_MSG, _DNS1123_LABEL_FMT, "my-name", "123-abc")
    if _DNS1123_SUB_RE.fullmatch(value):
        err = "must not contain dots"  # a valid subdomain: only the dots are wrong
    return _check(value, DNS1123_LABEL_MAX_LENGTH, _DNS1123_LABEL_RE, err)


def is_dns1123_subdomain(value: str) -> list[str]:
    """RFC 1123 subdomain: dot-separated labels, at most 253 bytes."""
    err = regex_error(_DNS1123_SUB_MSG, _DNS1123_SUB_FMT, "example.com")
    return _check(value, DNS1123_SUBDOMAIN_MAX_LENGTH, _DNS1123_SUB_RE, err)


def is_dns1035_label(value: str) -> list[str]:
    """RFC 1035 label: like RFC 1123 but must start with a letter."""
    err = regex_error(_DNS1035_MSG, _DNS1035_FMT, "my-name", "abc-123")
    return _check(value, DNS1035_LABEL_MAX_LENGTH, _DNS1035_RE, err)


def is_qualified_name(value: str) -> list[str]:
    """Label/annotation key: ``[prefix/]name``, prefix a DNS subdomain."""
    errs: list[str] = []
    parts = value.split("/")
    if len(parts) == 1:
        name = parts[0]
    elif len(parts) == 2:
        prefix, name = parts
        if not prefix:
            errs.append("prefix part " + empty_error())
        else:
            errs.extend("prefix part " + m for m in is_dns1123_subdomain(prefix))
    else:
        return [
            "a qualified name "
            + regex_error(_QNAME_MSG, _QNAME_FMT, "MyName", "my.name", "123-abc")
            + " with an optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName')"
        ]
    if not name:
        errs.append("name part " + empty_error())
    elif _blen(name) > QUALIFIED_NAME_MAX_LENGTH:
        errs.append("name part " + max_len_error(QUALIFIED_NAME_MAX_LENGTH))
    if not _QNAME_RE.fullmatch(name):
        errs.append(
            "name part " + regex_error(_QNAME_MSG, _QNAME_FMT, "MyName", "my.name", "123-abc")
        )
    return errs


def is_valid_label_value(value: str) -> list[str]:
    """Label value: empty, or a qualified-name-like token of at most 63 bytes."""
    err = regex_error(_LABEL_VALUE_MSG, _LABEL_VALUE_FMT, "MyValue", "my_value", "12345")
    return _check(value, LABEL_VALUE_MAX_LENGTH, _LABEL_VALUE_RE, err)


def is_in_range(value: int, lo: int, hi: int) -> list[str]:
    return [] if lo <= value <= hi else [inclusive_range_error(lo, hi)]


def is_valid_port_num(port: int) -> list[str]:
    """A non-zero TCP/UDP port."""
    return is_in_range(port, 1, 65535)


_PORT_NAME_CHARSET: Final = re.compile("[-a-z0-9]+")


def is_valid_port_name(port: str) -> list[str]:
    """IANA_SVC_NAME: 1-15 of [-a-z0-9], a letter, no '--', no edge '-'."""
    errs: list[str] = []
    if _blen(port) > 15:
        errs.append(max_len_error(15))
    if not _PORT_NAME_CHARSET.fullmatch(port):
        errs.append("must contain only alpha-numeric characters (a-z, 0-9), and hyphens (-)")
    if not re.search("[a-z]", port):
        errs.append("must contain at least one letter (a-z)")
    if "--" in port:
        errs.append("must not contain consecutive hyphens")
    if port and (port[0] == "-" or port[-1] == "-"):
        errs.append("must not begin or end with a hyphen")
    return errs


_IPV4_SLOPPY: Final = re.compile(r"[0-9]+(\.[0-9]+){3}")


def parse_ip_sloppy(value: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    """Go's ``netutils.ParseIPSloppy``: leading zeros in IPv4 octets are
    decimal, zones and other decorations are rejected; None if invalid."""
    if _IPV4_SLOPPY.fullmatch(value):
        octets = [int(o) for o in value.split(".")]
        if all(o <= 255 for o in octets):
            return ipaddress.IPv4Address(".".join(map(str, octets)))
        return None
    if ":" not in value or "%" in value:
        return None
    try:
        return ipaddress.IPv6Address(value)
    except ValueError:
        return None


def is_valid_ip(value: str) -> list[str]:
    """An IPv4 or IPv6 address."""
    if parse_ip_sloppy(value) is None:
        return ["must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)"]
    return []


def is_valid_cidr(value: str) -> list[str]:
    """An IPv4 or IPv6 CIDR (host bits may be set, as Go's ParseCIDR allows)."""
    addr, sep, bits = value.partition("/")
    ip = parse_ip_sloppy(addr) if sep else None
    width = 32 if isinstance(ip, ipaddress.IPv4Address) else 128
    if ip is None or not bits.isascii() or not bits.isdigit() or int(bits) > width:
        return ["must be a valid CIDR value, (e.g. 10.9.8.0/24 or 2001:db8::/64)"]
    return []


def mask_trailing_dash(name: str) -> str:
    """Upstream's generateName fix-up before validating a name prefix
    (it really drops two characters and appends "a")."""
    return name[:-2] + "a" if len(name) > 1 and name.endswith("-") else name


# --------------------------------------------------------------------------
# ObjectMeta (pkg/api/validation/objectmeta.go)

FIELD_IMMUTABLE: Final = "field is immutable"
TOTAL_ANNOTATION_SIZE_LIMIT: Final = 256 * 1024
FINALIZER_ORPHAN: Final = "orphan"
FINALIZER_FOREGROUND: Final = "foregroundDeletion"
_BANNED_OWNERS: Final = frozenset({("", "v1", "Event")})

# Immutable metadata: absent Go strings compare as "", absent pointers and
# metav1.Time as null (which is also how they render).
_IMMUTABLE_STRINGS: Final = ("name", "namespace", "uid")
_IMMUTABLE_OTHERS: Final = ("creationTimestamp", "deletionTimestamp", "deletionGracePeriodSeconds")

NameValidator = Callable[[str], list[str]]


def _as_path(p: Path | str) -> Path:
    return p if isinstance(p, Path) else Path(p)


def validate_labels(labels: Mapping[str, str] | None, path: Path | str) -> list[FieldError]:
    """Keys are qualified names, values label values; errors sit on the map
    path itself (upstream does not key them)."""
    errs: list[FieldError] = []
    for k, v in sorted((labels or {}).items()):
        errs.extend(invalid(path, k, m) for m in is_qualified_name(k))
        errs.extend(invalid(path, v, m) for m in is_valid_label_value(v))
    return errs


def validate_annotations(
    annotations: Mapping[str, str] | None, path: Path | str
) -> list[FieldError]:
    """Keys are case-insensitive qualified names; total size <= 256 KiB."""
    annotations = annotations or {}
    errs: list[FieldError] = []
    for k in sorted(annotations):
        errs.extend(invalid(path, k, m) for m in is_qualified_name(k.lower()))
    if sum(_blen(k) + _blen(v) for k, v in annotations.items()) > TOTAL_ANNOTATION_SIZE_LIMIT:
        errs.append(too_long(path, "", TOTAL_ANNOTATION_SIZE_LIMIT))
    return errs


def _parse_group_version(api_version: str) -> tuple[str, str]:
    parts = api_version.split("/")
    if len(parts) > 2:
        return "", ""  # unparseable: upstream keeps only the kind
    return ("", parts[0]) if len(parts) == 1 else (parts[0], parts[1])


def _owner_ref_view(ref: Mapping[str, Any]) -> dict[str, Any]:
    """An OwnerReference in Go field order, for rendering as a bad value."""
    view = {k: ref.get(k, "") for k in ("apiVersion", "kind", "name", "uid")}
    view.update({k: ref[k] for k in ("controller", "blockOwnerDeletion") if k in ref})
    return view


def validate_owner_references(
    refs: Sequence[Mapping[str, Any]] | None, path: Path | str
) -> list[FieldError]:
    """Each reference needs apiVersion (with a version), kind, name, uid; at
    most one may be the controller; v1 Events may not own anything."""
    path = _as_path(path)
    errs: list[FieldError] = []
    first_controller = ""
    for ref in refs or []:
        group, version = _parse_group_version(ref.get("apiVersion", ""))
        kind = ref.get("kind", "")
        if not version:
            errs.append(
                invalid(
                    path.child("apiVersion"), ref.get("apiVersion", ""), "version must not be empty"
                )
            )
        for key in ("kind", "name", "uid"):
            if not ref.get(key):
                errs.append(invalid(path.child(key), ref.get(key, ""), "must not be empty"))
        if (group, version, kind) in _BANNED_OWNERS:
            gvk = f"{group}/{version}, Kind={kind}"
            errs.append(
                invalid(path, _owner_ref_view(ref), f"{gvk} is disallowed from being an owner")
            )
        if ref.get("controller") is True:
            current = f"{kind}/{ref.get('name', '')}"
            if first_controller:
                errs.append(
                    invalid(
                        path,
                        [_owner_ref_view(r) for r in refs or []],
                        "Only one reference can have Controller set to true. "
                        f'Found "true" in references for {first_controller} and {current}',
                    )
                )
            else:
                first_controller = current
    return errs


def validate_finalizers(finalizers: Sequence[str] | None, path: Path | str) -> list[FieldError]:
    """Finalizers are qualified names; orphan and foregroundDeletion conflict."""
    finalizers = list(finalizers or [])
    errs = [invalid(path, f, m) for f in finalizers for m in is_qualified_name(f)]
    if FINALIZER_ORPHAN in finalizers and FINALIZER_FOREGROUND in finalizers:
        errs.append(
            invalid(
                path,
                finalizers,
                f"finalizer {FINALIZER_ORPHAN} and {FINALIZER_FOREGROUND} cannot be both set",
            )
        )
    return errs


def validate_object_meta(
    meta: Mapping[str, Any],
    *,
    namespaced: bool,
    name_validator: NameValidator = is_dns1123_subdomain,
    path: Path | str = "metadata",
) -> list[FieldError]:
    """Validate metadata on create (upstream ``ValidateObjectMeta``).

    Name generation must already have happened; ``generateName`` is still
    checked as a prefix (after `mask_trailing_dash`).
    """
    path = _as_path(path)
    errs: list[FieldError] = []
    generate_name = meta.get("generateName") or ""
    if generate_name:
        for m in name_validator(mask_trailing_dash(generate_name)):
            errs.append(invalid(path.child("generateName"), generate_name, m))
    name = meta.get("name") or ""
    if not name:
        errs.append(required(path.child("name"), "name or generateName is required"))
    else:
        errs.extend(invalid(path.child("name"), name, m) for m in name_validator(name))
    namespace = meta.get("namespace") or ""
    if namespaced:
        if not namespace:
            errs.append(required(path.child("namespace")))
        else:
            errs.extend(
                invalid(path.child("namespace"), namespace, m) for m in is_dns1123_label(namespace)
            )
    elif namespace:
        errs.append(forbidden(path.child("namespace"), "not allowed on this type"))
    generation = meta.get("generation") or 0
    if generation < 0:
        errs.append(
            invalid(path.child("generation"), generation, "must be greater than or equal to 0")
        )
    errs.extend(validate_labels(meta.get("labels"), path.child("labels")))
    errs.extend(validate_annotations(meta.get("annotations"), path.child("annotations")))
    errs.extend(
        validate_owner_references(meta.get("ownerReferences"), path.child("ownerReferences"))
    )
    errs.extend(validate_finalizers(meta.get("finalizers"), path.child("finalizers")))
    return errs


def _go_string_slice(items: Iterable[str]) -> str:
    """``%#v`` of a ``[]string``."""
    return "[]string{" + ", ".join(go_quote(s) for s in items) + "}"


def validate_object_meta_update(
    new: Mapping[str, Any],
    old: Mapping[str, Any],
    *,
    path: Path | str = "metadata",
    require_resource_version: bool = True,
) -> list[FieldError]:
    """Validate metadata on update (upstream ``ValidateObjectMetaUpdate``).

    Args:
        require_resource_version: upstream rejects an empty resourceVersion;
            callers doing an unconditional update fill it in first, or pass
            False.
    """
    path = _as_path(path)
    errs: list[FieldError] = []
    if old.get("deletionTimestamp"):
        added = sorted(set(new.get("finalizers") or []) - set(old.get("finalizers") or []))
        if added:
            errs.append(
                forbidden(
                    path.child("finalizers"),
                    "no new finalizers can be added if the object is being deleted, "
                    f"found new finalizers {_go_string_slice(added)}",
                )
            )
    if require_resource_version and not new.get("resourceVersion"):
        errs.append(invalid(path.child("resourceVersion"), "", "must be specified for an update"))
    new_gen, old_gen = new.get("generation") or 0, old.get("generation") or 0
    if new_gen < old_gen:
        errs.append(invalid(path.child("generation"), new_gen, "must not be decremented"))
    for key in (*_IMMUTABLE_STRINGS, *_IMMUTABLE_OTHERS):
        absent = "" if key in _IMMUTABLE_STRINGS else None
        nv, ov = new.get(key, absent), old.get(key, absent)
        if nv != ov:
            errs.append(invalid(path.child(key), nv, FIELD_IMMUTABLE))
    errs.extend(validate_labels(new.get("labels"), path.child("labels")))
    errs.extend(validate_annotations(new.get("annotations"), path.child("annotations")))
    errs.extend(
        validate_owner_references(new.get("ownerReferences"), path.child("ownerReferences"))
    )
    return errs
