"""Label and field selectors against upstream ``pkg/labels`` and ``pkg/fields``.

Each case names the upstream rule it checks; error messages are upstream's
literal text (``labels.Parse``, ``labels.NewRequirement``,
``metav1.LabelSelectorAsSelector``, ``fields.ParseSelector``).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from svcnet.api import selectors as sel
from svcnet.api.selectors import (
    EVERYTHING,
    NOTHING,
    FieldRequirement,
    SelectorError,
    parse_field_selector,
    parse_label_selector,
)

QNAME = (
    "name part must consist of alphanumeric characters, '-', '_' or '.', and must start and "
    "end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', "
    "regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')"
)
LABEL_VALUE = (
    "a valid label must be an empty string or consist of alphanumeric characters, '-', "
    "'_' or '.', and must start and end with an alphanumeric character (e.g. 'MyValue',  "
    "or 'my_value',  or '12345', regex used for validation is "
    "'(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')"
)
BINARY_OPS = "in, notin, =, ==, !=, gt, lt"

# --------------------------------------------------------------------------
# Label selector strings


@dataclass(frozen=True)
class ParseCase:
    id: str
    text: str
    canonical: str


PARSE_CASES = [
    ParseCase("labels.Parse: empty string selects everything", "", ""),
    ParseCase("labels.Parse: whitespace only", " \t\n", ""),
    ParseCase("labels.Parse: equality", "a=b", "a=b"),
    ParseCase("labels.Parse: double equals kept", "a==b", "a==b"),
    ParseCase("labels.Parse: not equals", "a!=b", "a!=b"),
    ParseCase("labels.Parse: exists", "a", "a"),
    ParseCase("labels.Parse: does not exist", "!a", "!a"),
    ParseCase("labels.Parse: in", "a in (x,y)", "a in (x,y)"),
    ParseCase("labels.Parse: notin", "a notin (x)", "a notin (x)"),
    ParseCase("labels.Parse: requirements sorted by key", "z=1,a=2,m", "a=2,m,z=1"),
    ParseCase(
        "labels.Parse: whitespace around tokens",
        "  a  =  b ,  c  in  ( x , y )  ",
        "a=b,c in (x,y)",
    ),
    ParseCase("labels.Parse: tab and newline are whitespace", "a\t=\nb", "a=b"),
    ParseCase("labels.Parse: set values deduplicated and sorted", "a in (y,x,y)", "a in (x,y)"),
    ParseCase(
        "labels.Parse: upstream doc example",
        "x in (foo,,baz),y,z notin ()",
        "x in (,baz,foo),y,z notin ()",
    ),
    ParseCase("labels.Parse: () is the empty value", "a in ()", "a in ()"),
    ParseCase("labels.Parse: (,) is the empty value", "a in (,)", "a in ()"),
    ParseCase("labels.Parse: leading comma adds empty value", "a in (,x)", "a in (,x)"),
    ParseCase("labels.Parse: trailing comma adds empty value", "a in (x,)", "a in (,x)"),
    ParseCase("labels.Parse: empty exact value", "a=", "a="),
    ParseCase("labels.Parse: empty exact value before comma", "a=,b", "a=,b"),
    ParseCase(
        "labels.Parse: keywords are identifiers in key/value position",
        "in in (in,notin)",
        "in in (in,notin)",
    ),
    ParseCase("labels.Parse: notin as a key", "notin=in", "notin=in"),
    ParseCase("labels.Parse: prefixed key", "example.com/app=web", "example.com/app=web"),
    ParseCase("labels.Parse: greater than", "a>1", "a>1"),
    ParseCase("labels.Parse: less than", "a<5", "a<5"),
    ParseCase("labels.Parse: operator without spaces", "a!=b,c==d", "a!=b,c==d"),
]


@pytest.mark.parametrize("case", PARSE_CASES, ids=lambda c: c.id)
def test_parse_label_selector(case: ParseCase) -> None:
    s = parse_label_selector(case.text)
    assert str(s) == case.canonical
    assert parse_label_selector(str(s)) == s  # canonical form round-trips
    assert s.empty == (case.canonical == "")


@dataclass(frozen=True)
class ParseErrorCase:
    id: str
    text: str
    message: str


PARSE_ERROR_CASES = [
    ParseErrorCase(
        "parseValues: unterminated parens",
        "a in (x",
        "unable to parse requirement: found '', expected: ',' or ')'",
    ),
    ParseErrorCase(
        "parseValues: unterminated after comma",
        "a in (x,y",
        "unable to parse requirement: found '', expected: ',' or ')'",
    ),
    ParseErrorCase(
        "parseIdentifiersList: space-separated values",
        "a in (x y)",
        "unable to parse requirement: found 'y', expected: ',' or ')'",
    ),
    ParseErrorCase(
        "parseValues: missing open paren (no comma in upstream text)",
        "a in x",
        "unable to parse requirement: found 'x' expected: '('",
    ),
    ParseErrorCase(
        "parseValues: nothing after in",
        "a in",
        "unable to parse requirement: found '' expected: '('",
    ),
    ParseErrorCase(
        "parseValues: operator inside parens",
        "a in (=)",
        "unable to parse requirement: found '=', expected: ',', ')' or identifier",
    ),
    ParseErrorCase(
        "parseIdentifiersList: operator after comma",
        "a in (x,=)",
        "unable to parse requirement: found '=', expected: ',', or identifier",
    ),
    ParseErrorCase(
        "parseOperator: two identifiers",
        "a b",
        f"unable to parse requirement: found 'b', expected: {BINARY_OPS}",
    ),
    ParseErrorCase(
        "parseOperator: open paren is not an operator",
        "a (b)",
        f"unable to parse requirement: found '(', expected: {BINARY_OPS}",
    ),
    ParseErrorCase(
        "parseExactValue: operator where value expected",
        "a=(",
        "unable to parse requirement: found '(', expected: identifier",
    ),
    ParseErrorCase(
        "parse: trailing identifier after requirement",
        "a=b c",
        "found 'c', expected: ',' or 'end of string'",
    ),
    ParseErrorCase(
        "parse: leading comma", ",a", "found ',', expected: !, identifier, or 'end of string'"
    ),
    ParseErrorCase("parse: trailing comma", "a,", "found '', expected: identifier after ','"),
    ParseErrorCase("parse: double comma", "a,,b", "found ',', expected: identifier after ','"),
    ParseErrorCase(
        "parse: starts with operator",
        "=a",
        "found '=', expected: !, identifier, or 'end of string'",
    ),
    ParseErrorCase(
        "parseKeyAndInferOperator: bare !",
        "!",
        "unable to parse requirement: found '', expected: identifier",
    ),
    ParseErrorCase(
        "parseKeyAndInferOperator: ! is unary, rest is trailing garbage",
        "!a=b",
        "found '=', expected: ',' or 'end of string'",
    ),
    ParseErrorCase(
        "validateLabelKey: invalid key (nil path)",
        "x+y=z",
        f'unable to parse requirement: <nil>: Invalid value: "x+y": {QNAME}',
    ),
    ParseErrorCase(
        "validateLabelKey: empty prefix",
        "/a",
        'unable to parse requirement: <nil>: Invalid value: "/a": prefix part must be non-empty',
    ),
    ParseErrorCase(
        "validateLabelKey: messages joined with '; '",
        "/-a",
        f'unable to parse requirement: <nil>: Invalid value: "/-a": prefix part must be non-empty; {QNAME}',
    ),
    ParseErrorCase(
        "validateLabelValue: invalid value keyed by label",
        "a=-x",
        f'unable to parse requirement: values[0][a]: Invalid value: "-x": {LABEL_VALUE}',
    ),
    ParseErrorCase(
        "validateLabelValue: index in sorted set",
        "a in (b,-x)",
        f'unable to parse requirement: values[0][a]: Invalid value: "-x": {LABEL_VALUE}',
    ),
    ParseErrorCase(
        "NewRequirement: Lt value is still a label value, so no negatives",
        "a<-1",
        f'unable to parse requirement: values[0][a]: Invalid value: "-1": {LABEL_VALUE}',
    ),
    ParseErrorCase(
        "NewRequirement: Gt needs an integer",
        "a>x",
        "unable to parse requirement: values[0]: Invalid value: \"x\": for 'Gt', 'Lt' operators, "
        "the value must be an integer",
    ),
]


@pytest.mark.parametrize("case", PARSE_ERROR_CASES, ids=lambda c: c.id)
def test_parse_label_selector_errors(case: ParseErrorCase) -> None:
    with pytest.raises(SelectorError) as exc:
        parse_label_selector(case.text)
    assert str(exc.value) == case.message
    assert isinstance(exc.value, ValueError)


@dataclass(frozen=True)
class MatchCase:
    id: str
    selector: str
    labels: dict[str, str]
    want: bool


MATCH_CASES = [
    MatchCase("Matches: empty selector matches anything", "", {"a": "b"}, True),
    MatchCase("Matches: equality", "a=b", {"a": "b"}, True),
    MatchCase("Matches: equality wrong value", "a=b", {"a": "c"}, False),
    MatchCase("Matches: equality absent key", "a=b", {}, False),
    MatchCase("Matches: empty value equals empty label", "a=", {"a": ""}, True),
    MatchCase("Matches: empty value needs the key", "a=", {}, False),
    MatchCase("Matches: != on absent key matches", "a!=b", {}, True),
    MatchCase("Matches: != on same value fails", "a!=b", {"a": "b"}, False),
    MatchCase("Matches: in", "a in (x,y)", {"a": "y"}, True),
    MatchCase("Matches: in absent", "a in (x,y)", {}, False),
    MatchCase("Matches: notin on absent key matches", "a notin (x)", {}, True),
    MatchCase("Matches: notin present value", "a notin (x)", {"a": "x"}, False),
    MatchCase("Matches: exists", "a", {"a": ""}, True),
    MatchCase("Matches: exists absent", "a", {"b": "x"}, False),
    MatchCase("Matches: does not exist", "!a", {"b": "x"}, True),
    MatchCase("Matches: does not exist present", "!a", {"a": "x"}, False),
    MatchCase("Matches: AND of requirements", "a=b,!c,d in (1,2)", {"a": "b", "d": "2"}, True),
    MatchCase("Matches: AND fails on one", "a=b,!c", {"a": "b", "c": ""}, False),
    MatchCase("Matches: gt integer compare", "a>9", {"a": "10"}, True),
    MatchCase("Matches: gt not greater", "a>10", {"a": "10"}, False),
    MatchCase("Matches: lt negative", "a<0", {"a": "-1"}, True),
    MatchCase("Matches: gt non-integer label never matches", "a>1", {"a": "x"}, False),
    MatchCase("Matches: gt absent key", "a>1", {}, False),
]


@pytest.mark.parametrize("case", MATCH_CASES, ids=lambda c: c.id)
def test_label_selector_matches(case: MatchCase) -> None:
    assert parse_label_selector(case.selector).matches(case.labels) is case.want


def test_nothing_and_everything() -> None:
    """labels.Nothing(): not empty, matches nothing, prints "";
    labels.Everything(): empty, matches all."""
    assert not NOTHING.empty and not NOTHING.matches({}) and str(NOTHING) == ""
    assert EVERYTHING.empty and EVERYTHING.matches({"a": "b"}) and str(EVERYTHING) == ""
    assert NOTHING != EVERYTHING


@pytest.mark.parametrize(
    ("selector", "key", "want"),
    [
        pytest.param("a=b,c", "a", "b", id="RequiresExactMatch: ="),
        pytest.param("a==b", "a", "b", id="RequiresExactMatch: =="),
        pytest.param("a in (b)", "a", "b", id="RequiresExactMatch: in with one value"),
        pytest.param("a in (b,c)", "a", None, id="RequiresExactMatch: in with two values"),
        pytest.param("a!=b", "a", None, id="RequiresExactMatch: != does not pin"),
        pytest.param("c", "a", None, id="RequiresExactMatch: key absent"),
    ],
)
def test_requires_exact_match(selector: str, key: str, want: str | None) -> None:
    assert parse_label_selector(selector).requires_exact_match(key) == want


@pytest.mark.parametrize(
    ("labels", "canonical"),
    [
        pytest.param(None, "", id="SelectorFromSet: nil is Everything"),
        pytest.param({}, "", id="SelectorFromSet: empty is Everything"),
        pytest.param(
            {"b": "2", "a": "1"}, "a=1,b=2", id="SelectorFromSet: equality per key, sorted"
        ),
    ],
)
def test_selector_from_map(labels: dict[str, str] | None, canonical: str) -> None:
    s = sel.selector_from_map(labels)
    assert str(s) == canonical
    assert s.matches({"a": "1", "b": "2", "c": "3"})
    if labels:
        assert not s.matches({"a": "1"})


# --------------------------------------------------------------------------
# metav1.LabelSelector objects


@dataclass(frozen=True)
class ObjectCase:
    id: str
    obj: dict[str, Any] | None
    canonical: str
    matches_empty_labels: bool


OBJECT_CASES = [
    ObjectCase("LabelSelectorAsSelector: nil selects nothing", None, "", False),
    ObjectCase("LabelSelectorAsSelector: empty selects everything", {}, "", True),
    ObjectCase(
        "LabelSelectorAsSelector: empty lists select everything",
        {"matchLabels": {}, "matchExpressions": []},
        "",
        True,
    ),
    ObjectCase(
        "LabelSelectorAsSelector: matchLabels",
        {"matchLabels": {"b": "2", "a": "1"}},
        "a=1,b=2",
        False,
    ),
    ObjectCase(
        "LabelSelectorAsSelector: all operators, sorted by key",
        {
            "matchLabels": {"m": "x"},
            "matchExpressions": [
                {"key": "z", "operator": "In", "values": ["2", "1"]},
                {"key": "y", "operator": "NotIn", "values": ["a"]},
                {"key": "b", "operator": "Exists"},
                {"key": "a", "operator": "DoesNotExist"},
            ],
        },
        "!a,b,m=x,y notin (a),z in (1,2)",
        False,
    ),
]


@pytest.mark.parametrize("case", OBJECT_CASES, ids=lambda c: c.id)
def test_selector_from_label_selector_object(case: ObjectCase) -> None:
    s = sel.selector_from_label_selector_object(case.obj)
    assert str(s) == case.canonical
    assert s.matches({}) is case.matches_empty_labels


def test_nil_selector_can_mean_everything() -> None:
    assert sel.selector_from_label_selector_object(None, nil="everything") is EVERYTHING
    assert sel.selector_from_label_selector_object(None) is NOTHING


OBJECT_ERROR_CASES = [
    ParseErrorCase(
        "LabelSelectorAsSelector: unknown operator",
        '{"matchExpressions": [{"key": "a", "operator": "Foo"}]}',
        '"Foo" is not a valid label selector operator',
    ),
    ParseErrorCase(
        "NewRequirement: In needs values (nil slice renders null)",
        '{"matchExpressions": [{"key": "a", "operator": "In"}]}',
        "values: Invalid value: null: for 'in', 'notin' operators, values set can't be empty",
    ),
    ParseErrorCase(
        "NewRequirement: NotIn with empty list",
        '{"matchExpressions": [{"key": "a", "operator": "NotIn", "values": []}]}',
        "values: Invalid value: null: for 'in', 'notin' operators, values set can't be empty",
    ),
    ParseErrorCase(
        "NewRequirement: Exists takes no values",
        '{"matchExpressions": [{"key": "a", "operator": "Exists", "values": ["x"]}]}',
        'values: Invalid value: []string{"x"}: values set must be empty for exists and does not exist',
    ),
    ParseErrorCase(
        "NewRequirement: key and value errors aggregated",
        '{"matchExpressions": [{"key": "-a", "operator": "In", "values": ["-x"]}]}',
        f'[key: Invalid value: "-a": {QNAME}, values[0][-a]: Invalid value: "-x": {LABEL_VALUE}]',
    ),
    ParseErrorCase(
        "NewRequirement: matchLabels value validated",
        '{"matchLabels": {"a": "b c"}}',
        f'values[0][a]: Invalid value: "b c": {LABEL_VALUE}',
    ),
]


@pytest.mark.parametrize("case", OBJECT_ERROR_CASES, ids=lambda c: c.id)
def test_selector_from_label_selector_object_errors(case: ParseErrorCase) -> None:
    with pytest.raises(SelectorError) as exc:
        sel.selector_from_label_selector_object(json.loads(case.text))
    assert str(exc.value) == case.message


@pytest.mark.parametrize(
    ("key", "op", "values", "message"),
    [
        pytest.param(
            "a",
            "=",
            ["x", "y"],
            'values: Invalid value: []string{"x", "y"}: exact-match compatibility requires one single value',
            id="NewRequirement: = needs exactly one value",
        ),
        pytest.param(
            "a",
            "gt",
            ["1", "2"],
            "values: Invalid value: []string{\"1\", \"2\"}: for 'Gt', 'Lt' operators, exactly one value is required",
            id="NewRequirement: gt needs exactly one value",
        ),
        pytest.param(
            "a",
            "~",
            ["x"],
            'operator: Unsupported value: "~": supported values: "in", "notin", "=", "==", "!=", '
            '"gt", "lt", "exists", "!"',
            id="NewRequirement: unknown operator lists upstream's operators",
        ),
    ],
)
def test_new_requirement_errors(key: str, op: str, values: list[str], message: str) -> None:
    with pytest.raises(SelectorError) as exc:
        sel.new_requirement(key, op, values)
    assert str(exc.value) == message


@dataclass(frozen=True)
class ValidateCase:
    id: str
    obj: dict[str, Any] | None
    want: list[str]


VALIDATE_CASES = [
    ValidateCase("ValidateLabelSelector: nil is valid", None, []),
    ValidateCase(
        "ValidateLabelSelector: valid",
        {"matchLabels": {"a": "b"}, "matchExpressions": [{"key": "c", "operator": "Exists"}]},
        [],
    ),
    ValidateCase(
        "ValidateLabelSelectorRequirement: In needs values",
        {"matchExpressions": [{"key": "a", "operator": "In"}]},
        [
            "spec.selector.matchExpressions[0].values: Required value: must be specified when `operator` is 'In' or 'NotIn'"
        ],
    ),
    ValidateCase(
        "ValidateLabelSelectorRequirement: DoesNotExist forbids values",
        {"matchExpressions": [{"key": "a", "operator": "DoesNotExist", "values": ["x"]}]},
        [
            "spec.selector.matchExpressions[0].values: Forbidden: may not be specified when "
            "`operator` is 'Exists' or 'DoesNotExist'"
        ],
    ),
    ValidateCase(
        "ValidateLabelSelectorRequirement: unknown operator",
        {"matchExpressions": [{"key": "a", "operator": "in", "values": ["x"]}]},
        [
            'spec.selector.matchExpressions[0].operator: Invalid value: "in": not a valid selector operator'
        ],
    ),
    ValidateCase(
        "ValidateLabelSelectorRequirement: key and values validated",
        {"matchExpressions": [{"key": "-a", "operator": "NotIn", "values": ["ok", "-x"]}]},
        [
            f'spec.selector.matchExpressions[0].key: Invalid value: "-a": {QNAME}',
            f'spec.selector.matchExpressions[0].values[1]: Invalid value: "-x": {LABEL_VALUE}',
        ],
    ),
    ValidateCase(
        "ValidateLabelSelector: matchLabels via ValidateLabels",
        {"matchLabels": {"a": "-"}},
        [f'spec.selector.matchLabels: Invalid value: "-": {LABEL_VALUE}'],
    ),
]


@pytest.mark.parametrize("case", VALIDATE_CASES, ids=lambda c: c.id)
def test_validate_label_selector(case: ValidateCase) -> None:
    errs = sel.validate_label_selector(case.obj, "spec.selector")
    assert [e.message() for e in errs] == case.want


# --------------------------------------------------------------------------
# Field selectors


@dataclass(frozen=True)
class FieldParseCase:
    id: str
    text: str
    requirements: tuple[tuple[str, str, str], ...]
    canonical: str


FIELD_PARSE_CASES = [
    FieldParseCase("fields.ParseSelector: empty", "", (), ""),
    FieldParseCase(
        "fields.ParseSelector: equality",
        "metadata.name=foo",
        (("metadata.name", "=", "foo"),),
        "metadata.name=foo",
    ),
    FieldParseCase("fields.ParseSelector: == is =", "a==b", (("a", "=", "b"),), "a=b"),
    FieldParseCase(
        "fields.ParseSelector: !=",
        "spec.nodeName!=",
        (("spec.nodeName", "!=", ""),),
        "spec.nodeName!=",
    ),
    FieldParseCase(
        "fields.ParseSelector: terms sorted",
        "b=1,a=2",
        (("a", "=", "2"), ("b", "=", "1")),
        "a=2,b=1",
    ),
    FieldParseCase(
        "fields.ParseSelector: empty terms skipped", ",a=b,,", (("a", "=", "b"),), "a=b"
    ),
    FieldParseCase(
        "fields.UnescapeValue: escaped comma", r"a=b\,c", (("a", "=", "b,c"),), r"a=b\,c"
    ),
    FieldParseCase(
        "fields.UnescapeValue: escaped equals", r"a=b\=c", (("a", "=", "b=c"),), r"a=b\=c"
    ),
    FieldParseCase(
        "fields.UnescapeValue: escaped backslash", r"a=b\\c", (("a", "=", "b\\c"),), r"a=b\\c"
    ),
    FieldParseCase("fields.splitTerm: != checked before =", "a!=b", (("a", "!=", "b"),), "a!=b"),
    FieldParseCase("fields.splitTerm: == checked before =", "a==b", (("a", "=", "b"),), "a=b"),
    FieldParseCase(
        "fields.splitTerm: whitespace not trimmed", "a = b", (("a ", "=", " b"),), "a = b"
    ),
]


@pytest.mark.parametrize("case", FIELD_PARSE_CASES, ids=lambda c: c.id)
def test_parse_field_selector(case: FieldParseCase) -> None:
    s = parse_field_selector(case.text)
    assert s.requirements == case.requirements
    assert all(isinstance(r, FieldRequirement) for r in s.requirements)
    assert str(s) == case.canonical
    assert s.empty == (not case.requirements)


FIELD_ERROR_CASES = [
    ParseErrorCase(
        "fields.parseSelector: no operator", "x", "invalid selector: 'x'; can't understand 'x'"
    ),
    ParseErrorCase(
        "fields.parseSelector: whole selector quoted in message",
        "a=b,cd",
        "invalid selector: 'a=b,cd'; can't understand 'cd'",
    ),
    ParseErrorCase(
        "fields.UnescapedRune: %v prints the code point",
        "a=b=c",
        "invalid field selector: unescaped character in value: 61",
    ),
    ParseErrorCase(
        "fields.splitTerm: first operator position wins, rest is value",
        "a!==b",
        "invalid field selector: unescaped character in value: 61",
    ),
    ParseErrorCase(
        "fields.InvalidEscapeSequence: unknown escape",
        r"a=b\x",
        "invalid field selector: invalid escape sequence: \\x",
    ),
    ParseErrorCase(
        "fields.InvalidEscapeSequence: trailing backslash",
        "a=b\\",
        "invalid field selector: invalid escape sequence: \\",
    ),
]


@pytest.mark.parametrize("case", FIELD_ERROR_CASES, ids=lambda c: c.id)
def test_parse_field_selector_errors(case: ParseErrorCase) -> None:
    with pytest.raises(SelectorError) as exc:
        parse_field_selector(case.text)
    assert str(exc.value) == case.message


@pytest.mark.parametrize(
    ("selector", "fields", "want"),
    [
        pytest.param("", {}, True, id="Everything matches"),
        pytest.param("metadata.name=a", {"metadata.name": "a"}, True, id="hasTerm: equal"),
        pytest.param("metadata.name=a", {"metadata.name": "b"}, False, id="hasTerm: different"),
        pytest.param("spec.nodeName=", {}, True, id="hasTerm: absent field is empty string"),
        pytest.param("spec.nodeName!=", {"spec.nodeName": "n1"}, True, id="notHasTerm: set field"),
        pytest.param("spec.nodeName!=", {}, False, id="notHasTerm: absent is empty"),
        pytest.param(
            "metadata.namespace=d,metadata.name!=x",
            {"metadata.namespace": "d", "metadata.name": "y"},
            True,
            id="andTerm: all terms",
        ),
        pytest.param(
            "metadata.namespace=d,metadata.name!=x",
            {"metadata.namespace": "d", "metadata.name": "x"},
            False,
            id="andTerm: one term fails",
        ),
    ],
)
def test_field_selector_matches(selector: str, fields: dict[str, str], want: bool) -> None:
    assert parse_field_selector(selector).matches(fields) is want


def test_field_selector_fields_and_exact_match() -> None:
    s = parse_field_selector("metadata.name=a,spec.x!=b,metadata.name!=c")
    assert s.fields() == ("metadata.name", "spec.x")
    assert s.requires_exact_match("metadata.name") == "a"
    assert s.requires_exact_match("spec.x") is None


@given(st.text())
def test_field_value_escape_round_trips(value: str) -> None:
    """fields.EscapeValue / UnescapeValue are inverses, and an escaped value
    survives a whole selector parse."""
    escaped = sel.escape_field_value(value)
    assert sel.unescape_field_value(escaped) == value
    assert parse_field_selector("f=" + escaped).requirements == (("f", "=", value),)
