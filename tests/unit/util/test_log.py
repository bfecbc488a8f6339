"""One structured line per record, in logfmt or JSON (svcnet.util.log)."""

from __future__ import annotations

import io
import json
import logging
import re
from collections.abc import Iterator

import pytest

from svcnet.util.log import LogfmtFormatter, get_logger, logfmt_value, parse_level, setup_logging

TS_RE = r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z"


@pytest.fixture
def stream() -> Iterator[io.StringIO]:
    """Install our handler on the root logger; restore the root afterwards."""
    root = logging.getLogger()
    saved_level = root.level
    buf = io.StringIO()
    handler = setup_logging("apiserver", "debug", "logfmt", stream=buf)
    yield buf
    root.removeHandler(handler)
    root.setLevel(saved_level)


def lines(buf: io.StringIO) -> list[str]:
    return buf.getvalue().splitlines()


def test_logfmt_line_shape(stream: io.StringIO) -> None:
    get_logger("svcnet.apiserver").info("listening", addr="127.0.0.1:6443", tls=True)
    [line] = lines(stream)
    assert re.fullmatch(
        rf"ts={TS_RE} level=info component=apiserver logger=svcnet.apiserver "
        r"msg=listening addr=127.0.0.1:6443 tls=true",
        line,
    ), line


@pytest.mark.parametrize(
    ("value", "rendered"),
    [
        pytest.param("plain", "plain", id="bare"),
        pytest.param("two words", '"two words"', id="space"),
        pytest.param("", '""', id="empty"),
        pytest.param("a=b", '"a=b"', id="equals"),
        pytest.param('say "hi"', '"say \\"hi\\""', id="quotes"),
        pytest.param("C:\\dir", '"C:\\\\dir"', id="backslash"),
        pytest.param("l1\nl2\r\tx", '"l1\\nl2\\r\\tx"', id="newline-cr-tab"),
        pytest.param("bell\x07", '"bell\\u0007"', id="control"),
        pytest.param("ünïcode", "ünïcode", id="utf8-bare"),
        pytest.param(None, "null", id="none"),
        pytest.param(False, "false", id="bool"),
        pytest.param(42, "42", id="int"),
        pytest.param(1.5, "1.5", id="float"),
        pytest.param(b"raw bytes", '"raw bytes"', id="bytes"),
        pytest.param(["a", 1], "\"['a', 1]\"", id="list-str"),
    ],
)
def test_logfmt_value_quoting(value: object, rendered: str) -> None:
    assert logfmt_value(value) == rendered


def test_message_with_newline_stays_one_line(stream: io.StringIO) -> None:
    get_logger("x").warning("first\nsecond", detail="a\nb")
    [line] = lines(stream)
    assert 'msg="first\\nsecond" detail="a\\nb"' in line
    assert " level=warning " in line


def test_exception_traceback_stays_one_line(stream: io.StringIO) -> None:
    log = get_logger("x")
    try:
        raise RuntimeError("boom")
    except RuntimeError:
        log.exception("sync failed", attempt=3)
    [line] = lines(stream)
    assert " level=error " in line
    assert 'msg="sync failed" attempt=3 exc="Traceback' in line
    assert "RuntimeError: boom" in line


def test_percent_args_and_levels(stream: io.StringIO) -> None:
    log = get_logger("x")
    log.debug("d %s", 1)
    log.info("i %d items", 2)
    log.error("e")
    log.critical("c")
    got = [re.search(r"level=(\w+) .* msg=(.*)$", ln).groups() for ln in lines(stream)]  # type: ignore[union-attr]
    assert got == [
        ("debug", '"d 1"'),
        ("info", '"i 2 items"'),
        ("error", "e"),
        ("critical", "c"),
    ]


def test_level_filtering() -> None:
    buf = io.StringIO()
    root = logging.getLogger()
    saved = root.level
    handler = setup_logging("proxy", "warn", stream=buf)
    try:
        log = get_logger("svcnet.proxy")
        log.info("hidden")
        log.warning("shown")
        assert len(lines(buf)) == 1
    finally:
        root.removeHandler(handler)
        root.setLevel(saved)


def test_setup_is_idempotent_and_keeps_foreign_handlers() -> None:
    root = logging.getLogger()
    saved = root.level
    foreign = logging.NullHandler()
    root.addHandler(foreign)
    first, second = io.StringIO(), io.StringIO()
    try:
        setup_logging("a", stream=first)
        handler = setup_logging("b", stream=second)
        get_logger("x").info("once")
        assert first.getvalue() == ""
        assert len(lines(second)) == 1
        assert foreign in root.handlers
        ours = [h for h in root.handlers if isinstance(h.formatter, LogfmtFormatter)]
        assert ours == [handler]
    finally:
        root.removeHandler(foreign)
        root.removeHandler(handler)
        root.setLevel(saved)


def test_bind_and_reserved_field_names(stream: io.StringIO) -> None:
    log = get_logger("x").bind(service="default/kubernetes")
    log.info("synced", level="shadow", rules=12)
    [line] = lines(stream)
    assert line.count(" level=") == 1
    assert line.endswith(" service=default/kubernetes _level=shadow rules=12")


def test_stdlib_loggers_use_the_same_format(stream: io.StringIO) -> None:
    logging.getLogger("aiohttp.access").info("GET /healthz %s", 200)
    [line] = lines(stream)
    assert 'logger=aiohttp.access msg="GET /healthz 200"' in line


def test_caller_location_is_the_call_site(stream: io.StringIO) -> None:
    records: list[logging.LogRecord] = []

    class Grab(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            records.append(record)

    grab = Grab()
    logging.getLogger().addHandler(grab)
    try:
        get_logger("x").info("here")
    finally:
        logging.getLogger().removeHandler(grab)
    assert records[0].funcName == "test_caller_location_is_the_call_site"


def test_json_format() -> None:
    buf = io.StringIO()
    root = logging.getLogger()
    saved = root.level
    handler = setup_logging("dns", "info", "json", stream=buf)
    try:
        log = get_logger("svcnet.dns")
        log.info("answer\nsent", qname="kubernetes.default.svc.", rcode=0, obj=object())
        try:
            raise ValueError("bad")
        except ValueError:
            log.exception("failed")
    finally:
        root.removeHandler(handler)
        root.setLevel(saved)
    first, second = lines(buf)
    rec = json.loads(first)
    assert list(rec)[:5] == ["ts", "level", "component", "logger", "msg"]
    assert re.fullmatch(TS_RE, rec["ts"])
    assert rec["level"] == "info"
    assert rec["component"] == "dns"
    assert rec["msg"] == "answer\nsent"
    assert rec["qname"] == "kubernetes.default.svc."
    assert rec["rcode"] == 0
    assert rec["obj"].startswith("<object")
    err = json.loads(second)
    assert err["level"] == "error"
    assert "ValueError: bad" in err["exc"]


@pytest.mark.parametrize(
    ("name", "level"),
    [("debug", 10), ("INFO", 20), ("warn", 30), ("Warning", 30), ("error", 40), (50, 50)],
)
def test_parse_level(name: str | int, level: int) -> None:
    assert parse_level(name) == level


def test_bad_level_and_format() -> None:
    with pytest.raises(ValueError):
        parse_level("verbose")
    with pytest.raises(ValueError):
        setup_logging("x", fmt="xml", stream=io.StringIO())  # type: ignore[arg-type]
