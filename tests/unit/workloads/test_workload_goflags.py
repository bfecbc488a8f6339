"""Go flag values as the upstream images read them (pflag, stdlib flag, time.ParseDuration)."""

from __future__ import annotations

import argparse

import pytest

from svcnet.workloads.goflags import (
    flag_value,
    go_bool,
    go_duration,
    join_flag_values,
    split_listen,
)


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("0", 0.0),
        ("1s", 1.0),
        ("500ms", 0.5),
        ("1m30s", 90.0),
        ("1.5h", 5400.0),
        ("-2s", -2.0),
        ("10us", 1e-5),
    ],
)
def test_go_duration(text, seconds) -> None:
    assert go_duration(text) == pytest.approx(seconds)


@pytest.mark.parametrize("text", ["", "5", "1x", "s", "1s2"])
def test_go_duration_invalid(text) -> None:
    with pytest.raises(ValueError):
        go_duration(text)


def test_go_bool() -> None:
    assert go_bool("true") and go_bool("1") and go_bool("T")
    assert not go_bool("false") and not go_bool("0")
    with pytest.raises(argparse.ArgumentTypeError):
        go_bool("yes")


@pytest.mark.parametrize(
    ("argv", "want"),
    [
        (["--http-port=9000"], "9000"),
        (["--http-port", "9000"], "9000"),
        (["-http-port=9000"], "9000"),
        (["--http-port=1", "--http-port=2"], "2"),
        (["--udp-port=1"], None),
        (["--", "--http-port=1"], None),
        (["--http-port"], None),
    ],
    ids=["eq", "space", "single dash", "last wins", "absent", "after --", "no value"],
)
def test_flag_value(argv, want) -> None:
    assert flag_value(argv, "http-port") == want


def test_join_flag_values_keeps_dash_values() -> None:
    assert join_flag_values(["-text", "-", "-listen=:1", "x"], ["text", "listen"]) == [
        "--text=-",
        "-listen=:1",
        "x",
    ]


@pytest.mark.parametrize(
    ("addr", "want"),
    [(":5678", (None, 5678)), ("127.0.0.1:80", ("127.0.0.1", 80)), ("[::1]:8080", ("::1", 8080))],
)
def test_split_listen(addr, want) -> None:
    assert split_listen(addr) == want


@pytest.mark.parametrize("addr", ["5678", "host:", ":99999", "x:y"])
def test_split_listen_invalid(addr) -> None:
    with pytest.raises(ValueError):
        split_listen(addr)
