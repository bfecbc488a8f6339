"""Label and field selectors with upstream's syntax, semantics and messages.

Theory of operation: a selector string is parsed once, at the HTTP edge or
when a watch starts, into an immutable `LabelSelector` / `FieldSelector`;
matching is then a pure function of a labels (or fields) mapping.

Label selectors (``k8s.io/apimachinery/pkg/labels``) are lexed and parsed
with upstream's grammar::

    <selector>    ::= <requirement> | <requirement> "," <selector>
    <requirement> ::= ["!"] KEY [ ("in" | "notin") "(" VALUES ")"
                                | ("=" | "==" | "!=" | ">" | "<") VALUE ]

Keys must be qualified names and values label values; requirements are
sorted by key, ``in``/``notin`` values are deduplicated and sorted, and
``str()`` gives upstream's canonical form. A parse failure raises
`SelectorError` whose message is upstream's, e.g. ``unable to parse
requirement: found '', expected: ',' or ')'``.

Nil and empty differ for the API object form (``metav1.LabelSelector``): an
absent selector selects nothing, an empty one everything. `NOTHING` and
`EVERYTHING` are the two shared instances.

Field selectors (``k8s.io/apimachinery/pkg/fields``) are comma-separated
``field=value``, ``field==value`` or ``field!=value`` terms; ``\\``, ``,``
and ``=`` in values are backslash-escaped. Field names are not checked here:
each kind declares its selectable fields and the API server rejects others.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Final, Literal, NamedTuple

from svcnet.api.validation import (
    FieldError,
    Path,
    aggregate,
    forbidden,
    go_quote,
    invalid,
    is_qualified_name,
    is_valid_label_value,
    not_supported,
    required,
    validate_labels,
)


class SelectorError(ValueError):
    """A selector that does not parse or validate; ``str()`` is upstream's message."""


class Operator(StrEnum):
    """Upstream ``selection.Operator`` (the values are upstream's strings)."""

    IN = "in"
    NOT_IN = "notin"
    EQUALS = "="
    DOUBLE_EQUALS = "=="
    NOT_EQUALS = "!="
    GREATER_THAN = "gt"
    LESS_THAN = "lt"
    EXISTS = "exists"
    DOES_NOT_EXIST = "!"


# Declaration order above is upstream's, which its messages list operators in.
_ALL_OPS: Final = tuple(Operator)
_BINARY_OPS: Final = _ALL_OPS[:7]
_OP_VALUES: Final = frozenset(o.value for o in Operator)
_INT64: Final = re.compile(r"[+-]?[0-9]+")


def _parse_int64(s: str) -> int | None:
    """Go's ``strconv.ParseInt(s, 10, 64)``, or None."""
    if not _INT64.fullmatch(s):
        return None
    n = int(s)
    return n if -(2**63) <= n < 2**63 else None


@dataclass(frozen=True)
class Requirement:
    """One ``key op values`` term of a label selector."""

    key: str
    operator: Operator
    values: tuple[str, ...] = ()

    def matches(self, labels: Mapping[str, str]) -> bool:
        """Upstream ``Requirement.Matches``; NotIn and != match absent keys."""
        op, has = self.operator, self.key in labels
        if op in (Operator.IN, Operator.EQUALS, Operator.DOUBLE_EQUALS):
            return has and labels[self.key] in self.values
        if op in (Operator.NOT_IN, Operator.NOT_EQUALS):
            return not has or labels[self.key] not in self.values
        if op is Operator.EXISTS:
            return has
        if op is Operator.DOES_NOT_EXIST:
            return not has
        if not has or len(self.values) != 1:
            return False
        have, want = _parse_int64(labels[self.key]), _parse_int64(self.values[0])
        if have is None or want is None:
            return False
        return have > want if op is Operator.GREATER_THAN else have < want

    def __str__(self) -> str:
        op = self.operator
        if op is Operator.EXISTS:
            return self.key
        if op is Operator.DOES_NOT_EXIST:
            return "!" + self.key
        vals = self.values[0] if len(self.values) == 1 else ",".join(sorted(self.values))
        if op in (Operator.IN, Operator.NOT_IN):
            return f"{self.key} {op.value} ({vals})"
        symbol = {Operator.GREATER_THAN: ">", Operator.LESS_THAN: "<"}.get(op, op.value)
        return f"{self.key}{symbol}{vals}"


def new_requirement(key: str, operator: str, values: Sequence[str] | None) -> Requirement:
    """Build a validated requirement (upstream ``labels.NewRequirement``).

    ``values=None`` stands for Go's nil slice (it renders as ``null``).

    Raises:
        SelectorError: with upstream's aggregated field errors, e.g.
            ``values: Invalid value: null: for 'in', 'notin' operators,
            values set can't be empty``.
    """
    errs: list[FieldError] = []
    if msgs := is_qualified_name(key):
        errs.append(invalid("key", key, "; ".join(msgs)))
    vals = list(values or [])
    op = Operator(operator) if operator in _OP_VALUES else None
    if op in (Operator.IN, Operator.NOT_IN) and not vals:
        errs.append(
            invalid("values", values, "for 'in', 'notin' operators, values set can't be empty")
        )
    elif op in (Operator.EQUALS, Operator.DOUBLE_EQUALS, Operator.NOT_EQUALS) and len(vals) != 1:
        errs.append(
            invalid("values", values, "exact-match compatibility requires one single value")
        )
    elif op in (Operator.EXISTS, Operator.DOES_NOT_EXIST) and vals:
        errs.append(
            invalid("values", values, "values set must be empty for exists and does not exist")
        )
    elif op in (Operator.GREATER_THAN, Operator.LESS_THAN):
        if len(vals) != 1:
            detail = "for 'Gt', 'Lt' operators, exactly one value is required"
            errs.append(invalid("values", values, detail))
        for i, v in enumerate(vals):
            if _parse_int64(v) is None:
                detail = "for 'Gt', 'Lt' operators, the value must be an integer"
                errs.append(invalid(Path("values").index(i), v, detail))
    elif op is None:
        errs.append(not_supported("operator", operator, [o.value for o in _ALL_OPS]))
    for i, v in enumerate(vals):
        if msgs := is_valid_label_value(v):
            errs.append(invalid(Path("values").index(i).key(key), v, "; ".join(msgs)))
    if errs:
        raise SelectorError(aggregate(errs))
    assert op is not None
    return Requirement(key, op, tuple(vals))


@dataclass(frozen=True)
class LabelSelector:
    """An AND of requirements; `NOTHING` is the distinct never-matching selector."""

    requirements: tuple[Requirement, ...] = ()
    selects_nothing: bool = False

    @property
    def empty(self) -> bool:
        """True if the selector does not restrict anything (matches all)."""
        return not self.requirements and not self.selects_nothing

    def matches(self, labels: Mapping[str, str]) -> bool:
        """Whether every requirement matches ``labels``."""
        return not self.selects_nothing and all(r.matches(labels) for r in self.requirements)

    def requires_exact_match(self, key: str) -> str | None:
        """The single value ``key`` must have, if the selector pins one."""
        for r in self.requirements:
            if r.key == key:
                exact = (Operator.EQUALS, Operator.DOUBLE_EQUALS, Operator.IN)
                return r.values[0] if r.operator in exact and len(r.values) == 1 else None
        return None

    def __str__(self) -> str:
        return ",".join(str(r) for r in self.requirements)


EVERYTHING: Final = LabelSelector()
NOTHING: Final = LabelSelector(selects_nothing=True)


def _sorted(reqs: list[Requirement]) -> LabelSelector:
    return LabelSelector(tuple(sorted(reqs, key=lambda r: r.key)))


# --------------------------------------------------------------------------
# Label selector lexer and parser


# Tokens are (kind, literal); a keyword's kind is its own text, the other
# kinds are these three (upper case, so they cannot clash with a keyword).
_IDENT: Final = "IDENT"
_EOS: Final = "EOS"
_ERROR: Final = "ERROR"
_KEYWORDS: Final = frozenset({")", ",", "!", "==", "=", ">", "in", "<", "!=", "notin", "("})
_SPECIAL: Final = frozenset("=!(),><")
_SPACE: Final = frozenset(" \t\r\n")
_TOKEN_OPS: Final = {
    "in": Operator.IN,
    "notin": Operator.NOT_IN,
    "=": Operator.EQUALS,
    "==": Operator.DOUBLE_EQUALS,
    "!=": Operator.NOT_EQUALS,
    ">": Operator.GREATER_THAN,
    "<": Operator.LESS_THAN,
}

_Item = tuple[str, str]


def _lex(s: str) -> list[_Item]:
    """Tokenise like upstream's Lexer, up to and including the end token.

    Go reads a NUL byte as "end of input": one at a token start ends the
    scan, one inside a token ends that token.
    """
    items: list[_Item] = []
    pos, n = 0, len(s)
    while True:
        while pos < n and s[pos] in _SPACE:
            pos += 1
        if pos >= n or s[pos] == "\0":
            items.append((_EOS, ""))
            return items
        start = pos
        if s[pos] in _SPECIAL:
            # Longest run of special characters that keeps forming a token.
            best: _Item | None = None
            while pos < n and s[pos] in _SPECIAL:
                run = s[start : pos + 1]
                if run not in _KEYWORDS and best is not None:
                    break
                pos += 1
                if run in _KEYWORDS:
                    best = (run, run)
            if pos < n and s[pos] == "\0":
                pos += 1
            items.append(best or (_ERROR, f"error expected: keyword found '{s[start:pos]}'"))
            continue
        while pos < n and s[pos] not in _SPECIAL and s[pos] not in _SPACE and s[pos] != "\0":
            pos += 1
        word = s[start:pos]
        if pos < n and s[pos] == "\0":
            pos += 1
        items.append((word if word in _KEYWORDS else _IDENT, word))


class _Parser:
    """Recursive descent over the token list, with upstream's error texts.

    ``in`` and ``notin`` are keywords only where an operator may appear;
    in key and value positions they are identifiers (upstream's Values
    context), so ``in in (in)`` is a valid selector.
    """

    def __init__(self, s: str) -> None:
        self.items = _lex(s)
        self.pos = 0

    def peek(self, values: bool = True) -> _Item:
        tok, lit = self.items[self.pos]
        return (_IDENT, lit) if values and tok in ("in", "notin") else (tok, lit)

    def take(self, values: bool = True) -> _Item:
        item = self.peek(values)
        self.pos += 1
        return item

    def parse(self) -> list[Requirement]:
        reqs: list[Requirement] = []
        while True:
            tok, lit = self.peek()
            if tok == _EOS:
                return reqs
            if tok not in (_IDENT, "!"):
                raise SelectorError(f"found '{lit}', expected: !, identifier, or 'end of string'")
            try:
                reqs.append(self.requirement())
            except SelectorError as e:
                raise SelectorError(f"unable to parse requirement: {e}") from None
            tok, lit = self.take()
            if tok == _EOS:
                return reqs
            if tok != ",":
                raise SelectorError(f"found '{lit}', expected: ',' or 'end of string'")
            tok, lit = self.peek()
            if tok not in (_IDENT, "!"):
                raise SelectorError(f"found '{lit}', expected: identifier after ','")

    def requirement(self) -> Requirement:
        op: str | None = None
        tok, key = self.take()
        if tok == "!":
            op = Operator.DOES_NOT_EXIST
            tok, key = self.take()
        if tok != _IDENT:
            raise SelectorError(f"found '{key}', expected: identifier")
        if msgs := is_qualified_name(key):
            raise SelectorError(invalid(None, key, "; ".join(msgs)).message())
        if op is None and self.peek()[0] in (_EOS, ","):
            op = Operator.EXISTS
        if op is not None:  # unary: anything after "!key" is the caller's problem
            return new_requirement(key, op, [])
        tok, lit = self.take(values=False)
        if tok not in _TOKEN_OPS:
            expected = ", ".join(o.value for o in _BINARY_OPS)
            raise SelectorError(f"found '{lit}', expected: {expected}")
        op = _TOKEN_OPS[tok]
        if op in (Operator.IN, Operator.NOT_IN):
            values = self.value_set()
        else:
            values = self.exact_value()
        return new_requirement(key, op, sorted(values))

    def value_set(self) -> set[str]:
        tok, lit = self.take()
        if tok != "(":
            raise SelectorError(f"found '{lit}' expected: '('")
        tok, lit = self.peek()
        if tok == ")":  # "()" is the set holding the empty value
            self.take()
            return {""}
        if tok not in (_IDENT, ","):
            raise SelectorError(f"found '{lit}', expected: ',', ')' or identifier")
        values = self.identifier_list()
        self.take()  # the ")" identifier_list stopped at
        return values

    def identifier_list(self) -> set[str]:
        """Comma-separated, possibly empty values; stops before ``)``."""
        values: set[str] = set()
        while True:
            tok, lit = self.take()
            if tok == _IDENT:
                values.add(lit)
                nxt, nlit = self.peek()
                if nxt == ")":
                    return values
                if nxt != ",":
                    raise SelectorError(f"found '{nlit}', expected: ',' or ')'")
            elif tok == ",":
                if not values:
                    values.add("")  # "(,"
                nxt = self.peek()[0]
                if nxt == ")":
                    values.add("")  # ",)"
                    return values
                if nxt == ",":
                    self.take()
                    values.add("")  # ",,"
            else:
                raise SelectorError(f"found '{lit}', expected: ',', or identifier")

    def exact_value(self) -> set[str]:
        if self.peek()[0] in (_EOS, ","):
            return {""}
        tok, lit = self.take()
        if tok != _IDENT:
            raise SelectorError(f"found '{lit}', expected: identifier")
        return {lit}


def parse_label_selector(s: str) -> LabelSelector:
    """Parse a label selector string (upstream ``labels.Parse``).

    Raises:
        SelectorError: with upstream's message.
    """
    return _sorted(_Parser(s).parse())


def selector_from_map(labels: Mapping[str, str] | None) -> LabelSelector:
    """Equality on every key (upstream ``SelectorFromSet``, as used for
    ``Service.spec.selector``). No validation; None or {} gives `EVERYTHING`,
    so callers that treat a missing selector as "select nothing" (the
    endpoints controllers) must check for it first, as upstream does."""
    if not labels:
        return EVERYTHING
    return _sorted([Requirement(k, Operator.EQUALS, (v,)) for k, v in labels.items()])


_OBJECT_OPERATORS: Final = {
    "In": Operator.IN,
    "NotIn": Operator.NOT_IN,
    "Exists": Operator.EXISTS,
    "DoesNotExist": Operator.DOES_NOT_EXIST,
}


def selector_from_label_selector_object(
    obj: Mapping[str, Any] | None, *, nil: Literal["nothing", "everything"] = "nothing"
) -> LabelSelector:
    """Convert a ``metav1.LabelSelector`` (upstream ``LabelSelectorAsSelector``).

    Args:
        obj: the API object form, or None when the field is absent.
        nil: what an absent selector means: upstream's conversion gives
            "nothing"; pass "everything" where a context treats nil as all.

    An empty object (no matchLabels, no matchExpressions) is `EVERYTHING`.

    Raises:
        SelectorError: e.g. ``"Foo" is not a valid label selector operator``.
    """
    if obj is None:
        return NOTHING if nil == "nothing" else EVERYTHING
    match_labels = obj.get("matchLabels") or {}
    exprs = obj.get("matchExpressions") or []
    if not match_labels and not exprs:
        return EVERYTHING
    reqs = [new_requirement(k, Operator.EQUALS, [v]) for k, v in sorted(match_labels.items())]
    for expr in exprs:
        op = _OBJECT_OPERATORS.get(expr.get("operator", ""))
        if op is None:
            raise SelectorError(
                f"{go_quote(expr.get('operator', ''))} is not a valid label selector operator"
            )
        reqs.append(new_requirement(expr.get("key", ""), op, expr.get("values") or None))
    return _sorted(reqs)


def validate_label_selector(obj: Mapping[str, Any] | None, path: Path | str) -> list[FieldError]:
    """API validation of a ``metav1.LabelSelector`` (upstream
    ``ValidateLabelSelector``): In/NotIn need values, Exists/DoesNotExist
    forbid them, keys are qualified names and values label values."""
    if obj is None:
        return []
    path = path if isinstance(path, Path) else Path(path)
    errs = validate_labels(obj.get("matchLabels"), path.child("matchLabels"))
    for i, expr in enumerate(obj.get("matchExpressions") or []):
        p = path.child("matchExpressions").index(i)
        op, key, values = expr.get("operator", ""), expr.get("key", ""), expr.get("values") or []
        if op in ("In", "NotIn") and not values:
            detail = "must be specified when `operator` is 'In' or 'NotIn'"
            errs.append(required(p.child("values"), detail))
        elif op in ("Exists", "DoesNotExist") and values:
            detail = "may not be specified when `operator` is 'Exists' or 'DoesNotExist'"
            errs.append(forbidden(p.child("values"), detail))
        elif op not in _OBJECT_OPERATORS:
            errs.append(invalid(p.child("operator"), op, "not a valid selector operator"))
        errs.extend(invalid(p.child("key"), key, m) for m in is_qualified_name(key))
        for j, v in enumerate(values):
            errs.extend(invalid(p.child("values").index(j), v, m) for m in is_valid_label_value(v))
    return errs


# --------------------------------------------------------------------------
# Field selectors


class FieldRequirement(NamedTuple):
    """One ``field op value`` term; ``==`` is normalised to ``=``."""

    field: str
    operator: Literal["=", "!="]
    value: str


def escape_field_value(s: str) -> str:
    """Escape ``\\``, ``,`` and ``=`` for use in a field selector value."""
    return s.replace("\\", "\\\\").replace(",", "\\,").replace("=", "\\=")


def unescape_field_value(s: str) -> str:
    """Undo `escape_field_value` (upstream ``fields.UnescapeValue``).

    Raises:
        SelectorError: for an unknown escape or an unescaped ``,``/``=``.
            Upstream prints the offending rune with ``%v``, i.e. as its
            code point ("unescaped character in value: 61" for "=").
    """
    if not any(c in s for c in "\\,="):
        return s
    out: list[str] = []
    escaped = False
    for c in s:
        if escaped:
            if c not in "\\,=":
                raise SelectorError(f"invalid field selector: invalid escape sequence: \\{c}")
            out.append(c)
            escaped = False
        elif c == "\\":
            escaped = True
        elif c in ",=":
            raise SelectorError(f"invalid field selector: unescaped character in value: {ord(c)}")
        else:
            out.append(c)
    if escaped:
        raise SelectorError("invalid field selector: invalid escape sequence: \\")
    return "".join(out)


def _split_terms(s: str) -> list[str]:
    """Split on commas not preceded by an escaping backslash (kept in terms)."""
    terms: list[str] = []
    start, escaped = 0, False
    for i, c in enumerate(s):
        if escaped:
            escaped = False
        elif c == "\\":
            escaped = True
        elif c == ",":
            terms.append(s[start:i])
            start = i + 1
    terms.append(s[start:])
    return terms


def _split_term(term: str) -> tuple[str, str, str] | None:
    """Split at the first operator; the field part has no escaping."""
    for i in range(len(term)):
        for op in ("!=", "==", "="):
            if term.startswith(op, i):
                return term[:i], op, term[i + len(op) :]
    return None


@dataclass(frozen=True)
class FieldSelector:
    """An AND of field requirements (upstream ``fields.Selector``)."""

    requirements: tuple[FieldRequirement, ...] = ()

    @property
    def empty(self) -> bool:
        return not self.requirements

    def matches(self, fields: Mapping[str, str]) -> bool:
        """Whether every term holds; an absent field has the value ""."""
        return all(
            (fields.get(r.field, "") == r.value) == (r.operator == "=") for r in self.requirements
        )

    def fields(self) -> tuple[str, ...]:
        """Field names used, first occurrence order, without duplicates."""
        return tuple(dict.fromkeys(r.field for r in self.requirements))

    def requires_exact_match(self, field: str) -> str | None:
        """The value an ``=`` term pins ``field`` to, if any."""
        for r in self.requirements:
            if r.field == field and r.operator == "=":
                return r.value
        return None

    def __str__(self) -> str:
        return ",".join(
            f"{r.field}{r.operator}{escape_field_value(r.value)}" for r in self.requirements
        )


def parse_field_selector(s: str) -> FieldSelector:
    """Parse a field selector string (upstream ``fields.ParseSelector``).

    Terms are sorted as raw strings, as upstream does; whitespace is not
    trimmed (``a = b`` selects field ``"a "``).

    Raises:
        SelectorError: e.g. ``invalid selector: 'x'; can't understand 'x'``.
    """
    reqs: list[FieldRequirement] = []
    for term in sorted(_split_terms(s)) if s else []:
        if not term:
            continue
        parts = _split_term(term)
        if parts is None:
            raise SelectorError(f"invalid selector: '{s}'; can't understand '{term}'")
        lhs, op, rhs = parts
        reqs.append(FieldRequirement(lhs, "!=" if op == "!=" else "=", unescape_field_value(rhs)))
    return FieldSelector(tuple(reqs))
