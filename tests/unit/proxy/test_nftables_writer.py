"""The nft writer's plumbing, without a kernel: stub ``nft``/``conntrack`` commands.

Upstream: ``pkg/proxy/conntrack/cleanup.go`` (which UDP entries are deleted:
by original destination ip:port, by NodePort, and per endpoint through the
reply source). Real nft batches against a kernel are in
``tests/integration/test_nftables_dataplane.py`` (inside namespaces).

Conventions: the stub commands are shell scripts in ``tmp_path`` that log
their arguments and stdin; no netns is given, so nothing but the stubs runs.
"""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from svcnet.proxy.changes import ConntrackCleanup
from svcnet.proxy.nftwriter import (
    BACKEND_SUBPROCESS,
    ConntrackError,
    FakeNftWriter,
    NftError,
    NftWriter,
    conntrack_commands,
)


def stub(tmp_path: Path, name: str, body: str) -> str:
    path = tmp_path / name
    path.write_text(f"#!/bin/sh\n{body}\n")
    path.chmod(path.stat().st_mode | stat.S_IEXEC)
    return str(path)


def test_apply_runs_one_nft_with_the_script_on_stdin(tmp_path: Path) -> None:
    log = tmp_path / "log"
    nft = stub(tmp_path, "nft", f'echo "$@" >> {log}; cat >> {log}')
    writer = NftWriter(None, use_libnftables=False, nft=nft)
    assert writer.backend == BACKEND_SUBPROCESS
    writer.apply("add table ip svcnet\n")
    writer.apply("")  # nothing to do: no process
    assert log.read_text() == "-f -\nadd table ip svcnet\n"


def test_nft_failure_is_one_error_with_stderr(tmp_path: Path) -> None:
    nft = stub(tmp_path, "nft", 'echo "Error: Could not process rule: File exists" >&2; exit 1')
    writer = NftWriter(None, use_libnftables=False, nft=nft)
    with pytest.raises(NftError) as info:
        writer.apply("add element ip svcnet x { 1 }\n")
    assert "File exists" in info.value.stderr
    assert info.value.returncode == 1
    assert info.value.command[-2:] == ("-f", "-")


def test_missing_binary_is_an_nft_error(tmp_path: Path) -> None:
    writer = NftWriter(None, use_libnftables=False, nft=str(tmp_path / "absent"))
    with pytest.raises(NftError, match="cannot run"):
        writer.apply("add table ip svcnet\n")


def test_dump_of_missing_table_is_empty(tmp_path: Path) -> None:
    nft = stub(tmp_path, "nft", 'echo "Error: No such file or directory" >&2; exit 1')
    assert NftWriter(None, use_libnftables=False, nft=nft).dump() == ""


def test_netns_prefix(tmp_path: Path) -> None:
    log = tmp_path / "log"
    ip = stub(tmp_path, "ip", f'echo "$@" >> {log}')
    writer = NftWriter("t-abc123-node", use_libnftables=False, ip=ip)
    writer.apply("add table ip svcnet\n")
    assert log.read_text() == "netns exec t-abc123-node nft -f -\n"


def test_required_library_in_missing_netns_fails() -> None:
    with pytest.raises(NftError, match="libnftables unavailable"):
        NftWriter("t-no-such-netns", use_libnftables=True)


def test_library_falls_back_to_subprocess() -> None:
    writer = NftWriter("t-no-such-netns")
    assert writer.backend == BACKEND_SUBPROCESS
    assert writer.library_error


CLEANUP = ConntrackCleanup(
    service_ip_ports=frozenset({("10.96.0.10", 53), ("fd00:10:96::a", 53)}),
    node_ports=frozenset({30053}),
    endpoint_flows=frozenset({("10.96.0.10", 53, "10.244.1.5")}),
    node_port_endpoint_flows=frozenset({(30053, "10.244.1.5")}),
)


def test_conntrack_commands() -> None:
    """Upstream ``CleanStaleEntries``: by service ip:port, NodePort, and per endpoint reply source."""
    assert conntrack_commands(CLEANUP) == [
        ["-D", "-p", "udp", "--orig-dst", "10.96.0.10", "--dport", "53"],
        ["-D", "-f", "ipv6", "-p", "udp", "--orig-dst", "fd00:10:96::a", "--dport", "53"],
        ["-D", "-f", "ipv4", "-p", "udp", "--dport", "30053"],
        ["-D", "-f", "ipv6", "-p", "udp", "--dport", "30053"],
        [
            "-D",
            "-p",
            "udp",
            "--orig-dst",
            "10.96.0.10",
            "--dport",
            "53",
            "--reply-src",
            "10.244.1.5",
        ],
        ["-D", "-p", "udp", "--dport", "30053", "--reply-src", "10.244.1.5"],
    ]


def test_conntrack_nothing_matched_is_fine(tmp_path: Path) -> None:
    ct = stub(tmp_path, "conntrack", 'echo "0 flow entries have been deleted." >&2; exit 1')
    writer = NftWriter(None, use_libnftables=False, conntrack=ct)
    assert writer.flush_conntrack(CLEANUP) == 6


def test_conntrack_failure(tmp_path: Path) -> None:
    ct = stub(tmp_path, "conntrack", 'echo "conntrack v1.4.7: Operation failed" >&2; exit 1')
    writer = NftWriter(None, use_libnftables=False, conntrack=ct)
    with pytest.raises(ConntrackError, match="Operation failed"):
        writer.flush_conntrack(CLEANUP)


def test_fake_records_conntrack_and_refuses_scripts() -> None:
    fake = FakeNftWriter()
    assert fake.flush_conntrack(CLEANUP) == 6
    assert fake.conntrack == [CLEANUP]
    assert fake.dump() == ""
    with pytest.raises(TypeError):
        fake.apply("add table ip svcnet\n")
