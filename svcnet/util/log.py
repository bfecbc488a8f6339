"""Structured logging on top of the stdlib `logging` module.

Theory of operation: `setup_logging()` installs ONE handler on the root
logger whose formatter renders every record as one line, either logfmt

    ts=2026-11-22T07:20:00.123Z level=info component=apiserver logger=svcnet.apiserver msg=listening addr=127.0.0.1:6443

or one JSON object. `get_logger(name)` returns a `StructLogger`, a thin
adapter whose methods take `(msg, *args, **fields)`; the fields travel on
the record (attribute `_fields`) and are rendered after the fixed keys.
Records from third-party loggers (aiohttp, asyncio) go through the same
formatter, so the whole process speaks one format.

Invariants:
  * one record -> exactly one line: newlines inside values and tracebacks
    are escaped, never emitted raw;
  * the fixed keys ts, level, component, logger, msg come first, in that
    order; a field that would shadow one of them is renamed with a leading
    underscore;
  * `setup_logging()` is idempotent: it replaces only the handler it
    installed earlier, leaving foreign handlers (pytest's caplog) alone.
"""

from __future__ import annotations

import json
import logging
import re
import sys
import time
from collections.abc import Mapping
from typing import Any, Literal, TextIO

__all__ = [
    "JsonFormatter",
    "LogfmtFormatter",
    "StructLogger",
    "get_logger",
    "logfmt_value",
    "setup_logging",
]

Format = Literal["logfmt", "json"]

_FIELDS_ATTR = "_fields"
_HANDLER_MARK = "_svcnet_log_handler"
_RESERVED = frozenset({"ts", "level", "component", "logger", "msg", "exc", "stack"})

_LEVEL_NAMES = {
    logging.DEBUG: "debug",
    logging.INFO: "info",
    logging.WARNING: "warning",
    logging.ERROR: "error",
    logging.CRITICAL: "critical",
}
_LEVELS = {
    "debug": logging.DEBUG,
    "info": logging.INFO,
    "warn": logging.WARNING,
    "warning": logging.WARNING,
    "error": logging.ERROR,
    "critical": logging.CRITICAL,
}


def parse_level(level: str | int) -> int:
    """Map "debug"/"info"/"warn[ing]"/"error"/"critical" (any case) or an int to a level."""
    if isinstance(level, int):
        return level
    try:
        return _LEVELS[level.strip().lower()]
    except KeyError:
        raise ValueError(f"unknown log level {level!r}") from None


def _level_name(levelno: int) -> str:
    return _LEVEL_NAMES.get(levelno) or logging.getLevelName(levelno).lower()


class _Clock:
    """RFC 3339 UTC timestamps with milliseconds; caches the per-second prefix."""

    __slots__ = ("_prefix", "_sec")

    def __init__(self) -> None:
        self._sec = -1
        self._prefix = ""

    def format(self, created: float) -> str:
        sec = int(created)
        if sec != self._sec:
            self._prefix = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(sec))
            self._sec = sec
        ms = int((created - sec) * 1000)
        return f"{self._prefix}.{ms:03d}Z"


# -- logfmt -------------------------------------------------------------------

_ESCAPES = {"\\": "\\\\", '"': '\\"', "\n": "\\n", "\r": "\\r", "\t": "\\t"}
# Space, '=', '"', backslash and control characters force quoting.
_NEEDS_QUOTING = re.compile(r'[\x00-\x20"=\\\x7f]').search
_TO_ESCAPE = re.compile(r'[\x00-\x1f"\\\x7f]')


def _escape_char(m: re.Match[str]) -> str:
    ch = m.group()
    return _ESCAPES.get(ch) or f"\\u{ord(ch):04x}"


def _needs_quoting(s: str) -> bool:
    return not s or _NEEDS_QUOTING(s) is not None


def _quote(s: str) -> str:
    return '"' + _TO_ESCAPE.sub(_escape_char, s) + '"'


def logfmt_value(v: object) -> str:
    """Render one logfmt value, quoting and escaping only when needed."""
    if v is None:
        s = "null"
    elif v is True:
        s = "true"
    elif v is False:
        s = "false"
    elif isinstance(v, str):
        s = v
    elif isinstance(v, bytes):
        s = v.decode("utf-8", "backslashreplace")
    else:
        s = str(v)
    return _quote(s) if _needs_quoting(s) else s


def _logfmt_key(k: str) -> str:
    if not k or _needs_quoting(k):
        return "".join("_" if ch <= " " or ch in '="\\' else ch for ch in k) or "_"
    return k


def _record_fields(record: logging.LogRecord) -> Mapping[str, Any]:
    return getattr(record, _FIELDS_ATTR, None) or {}


def _field_key(k: str) -> str:
    return "_" + k if k in _RESERVED else k


class LogfmtFormatter(logging.Formatter):
    """Render a record as one logfmt line."""

    def __init__(self, component: str) -> None:
        super().__init__()
        self.component = component
        self._clock = _Clock()
        self._fixed = " component=" + logfmt_value(component)

    def format(self, record: logging.LogRecord) -> str:
        parts = [
            "ts=",
            self._clock.format(record.created),
            " level=",
            _level_name(record.levelno),
            self._fixed,
            " logger=",
            logfmt_value(record.name),
            " msg=",
            logfmt_value(record.getMessage()),
        ]
        for k, v in _record_fields(record).items():
            parts += (" ", _logfmt_key(_field_key(k)), "=", logfmt_value(v))
        if record.exc_info and not record.exc_text:
            record.exc_text = self.formatException(record.exc_info)
        if record.exc_text:
            parts += (" exc=", logfmt_value(record.exc_text))
        if record.stack_info:
            parts += (" stack=", logfmt_value(record.stack_info))
        return "".join(parts)


class JsonFormatter(logging.Formatter):
    """Render a record as one JSON object (compact, one line)."""

    def __init__(self, component: str) -> None:
        super().__init__()
        self.component = component
        self._clock = _Clock()

    def format(self, record: logging.LogRecord) -> str:
        obj: dict[str, Any] = {
            "ts": self._clock.format(record.created),
            "level": _level_name(record.levelno),
            "component": self.component,
            "logger": record.name,
            "msg": record.getMessage(),
        }
        for k, v in _record_fields(record).items():
            obj[_field_key(k)] = v
        if record.exc_info and not record.exc_text:
            record.exc_text = self.formatException(record.exc_info)
        if record.exc_text:
            obj["exc"] = record.exc_text
        if record.stack_info:
            obj["stack"] = record.stack_info
        return json.dumps(obj, default=str, ensure_ascii=False, separators=(",", ":"))


def setup_logging(
    component: str,
    level: str | int = "info",
    fmt: Format = "logfmt",
    stream: TextIO | None = None,
) -> logging.Handler:
    """Configure the root logger to emit one structured line per record.

    Args:
        component: value of the `component` key on every line.
        level: root level name ("debug", "info", "warn", ...) or number.
        fmt: "logfmt" or "json".
        stream: where lines go; defaults to the current `sys.stderr`.

    Returns:
        The installed handler (replaced on the next call).

    Raises:
        ValueError: unknown level or format.
    """
    levelno = parse_level(level)
    if fmt == "logfmt":
        formatter: logging.Formatter = LogfmtFormatter(component)
    elif fmt == "json":
        formatter = JsonFormatter(component)
    else:
        raise ValueError(f"unknown log format {fmt!r}")
    handler = logging.StreamHandler(sys.stderr if stream is None else stream)
    handler.setFormatter(formatter)
    setattr(handler, _HANDLER_MARK, True)
    root = logging.getLogger()
    for h in list(root.handlers):
        if getattr(h, _HANDLER_MARK, False):
            root.removeHandler(h)
    root.addHandler(handler)
    root.setLevel(levelno)
    return handler


class StructLogger:
    """A logger whose methods take `(msg, *args, **fields)`.

    `*args` are %-style arguments for `msg` as in stdlib logging; the
    keywords `exc_info` and `stack_info` keep their stdlib meaning; all
    other keywords become structured fields. `bind(**fields)` returns a
    logger that adds `fields` to every record.
    """

    __slots__ = ("_bound", "_logger")

    def __init__(self, logger: logging.Logger, bound: Mapping[str, Any] | None = None) -> None:
        self._logger = logger
        self._bound: dict[str, Any] = dict(bound or {})

    @property
    def name(self) -> str:
        return self._logger.name

    @property
    def logger(self) -> logging.Logger:
        return self._logger

    def bind(self, **fields: Any) -> StructLogger:
        return StructLogger(self._logger, {**self._bound, **fields})

    def is_enabled_for(self, level: int) -> bool:
        return self._logger.isEnabledFor(level)

    def log(
        self,
        level: int,
        msg: str,
        *args: object,
        exc_info: Any = None,
        stack_info: bool = False,
        **fields: Any,
    ) -> None:
        if not self._logger.isEnabledFor(level):
            return
        self._emit(level, msg, args, exc_info, stack_info, fields)

    def _emit(
        self,
        level: int,
        msg: str,
        args: tuple[object, ...],
        exc_info: Any,
        stack_info: bool,
        fields: dict[str, Any],
    ) -> None:
        if self._bound:
            fields = {**self._bound, **fields}
        # stacklevel=3 points funcName/lineno at our caller, not this adapter.
        self._logger._log(
            level,
            msg,
            args,
            exc_info=exc_info,
            stack_info=stack_info,
            extra={_FIELDS_ATTR: fields} if fields else None,
            stacklevel=3,
        )

    def debug(self, msg: str, *args: object, exc_info: Any = None, **fields: Any) -> None:
        if self._logger.isEnabledFor(logging.DEBUG):
            self._emit(logging.DEBUG, msg, args, exc_info, False, fields)

    def info(self, msg: str, *args: object, exc_info: Any = None, **fields: Any) -> None:
        if self._logger.isEnabledFor(logging.INFO):
            self._emit(logging.INFO, msg, args, exc_info, False, fields)

    def warning(self, msg: str, *args: object, exc_info: Any = None, **fields: Any) -> None:
        if self._logger.isEnabledFor(logging.WARNING):
            self._emit(logging.WARNING, msg, args, exc_info, False, fields)

    warn = warning

    def error(self, msg: str, *args: object, exc_info: Any = None, **fields: Any) -> None:
        if self._logger.isEnabledFor(logging.ERROR):
            self._emit(logging.ERROR, msg, args, exc_info, False, fields)

    def exception(self, msg: str, *args: object, exc_info: Any = True, **fields: Any) -> None:
        """Log at error level with the current exception's traceback."""
        if self._logger.isEnabledFor(logging.ERROR):
            self._emit(logging.ERROR, msg, args, exc_info, False, fields)

    def critical(self, msg: str, *args: object, exc_info: Any = None, **fields: Any) -> None:
        if self._logger.isEnabledFor(logging.CRITICAL):
            self._emit(logging.CRITICAL, msg, args, exc_info, False, fields)


def get_logger(name: str, **bound: Any) -> StructLogger:
    """Return a structured logger for `name` (usually `__name__`)."""
    return StructLogger(logging.getLogger(name), bound)
