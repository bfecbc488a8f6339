"""The built-in image table: container image + command + args -> process (svcnet.workloads.images).

Each case names the upstream manifest style or kubelet rule it checks; the
container argv rule is Kubernetes' "command replaces ENTRYPOINT and drops
CMD, args replace CMD" (kuberuntime / docs "Define a Command and Arguments").
"""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from svcnet.workloads.images import (
    BUILTIN_IMAGES,
    IMAGE_NOT_SUPPORTED,
    INVALID_IMAGE_NAME,
    Resolved,
    Unresolved,
    container_argv,
    markdown_table,
    resolve,
)

PY = "/opt/py/bin/python"
AGNHOST = "registry.k8s.io/e2e-test-images/agnhost:2.47"


def mod(name: str, *args: str) -> tuple[str, ...]:
    return (PY, "-m", f"svcnet.workloads.{name}", *args)


@dataclass(frozen=True)
class Case:
    id: str
    image: str
    command: list[str] | None = None
    args: list[str] | None = None
    argv: tuple[str, ...] | None = None
    workload: str = ""
    ports: tuple[tuple[str, int], ...] | None = None
    reason: str = ""
    message_has: tuple[str, ...] = ()


CASES = [
    # agnhost, as test/e2e manifests write it
    Case(
        "agnhost netexec via args",
        AGNHOST,
        args=["netexec", "--http-port=8080", "--udp-port=8081"],
        argv=mod("netexec", "--http-port=8080", "--udp-port=8081"),
        workload="netexec",
        ports=(("TCP", 8080), ("UDP", 8081)),
    ),
    Case(
        "agnhost via command /agnhost netexec",
        AGNHOST,
        command=["/agnhost", "netexec", "--http-port", "9000"],
        argv=mod("netexec", "--http-port", "9000"),
        workload="netexec",
        ports=(("TCP", 9000), ("UDP", 8081)),
    ),
    Case(
        "agnhost via command /agnhost plus args netexec",
        AGNHOST,
        command=["/agnhost"],
        args=["netexec", "--udp-port=-1"],
        argv=mod("netexec", "--udp-port=-1"),
        workload="netexec",
        ports=(("TCP", 8080),),
    ),
    Case(
        "agnhost netexec defaults 8080/8081",
        AGNHOST,
        args=["netexec"],
        argv=mod("netexec"),
        ports=(("TCP", 8080), ("UDP", 8081)),
    ),
    Case(
        "agnhost netexec --delay-shutdown passes through",
        AGNHOST,
        args=["netexec", "--http-port=80", "--delay-shutdown=30"],
        argv=mod("netexec", "--http-port=80", "--delay-shutdown=30"),
    ),
    Case(
        "agnhost serve-hostname default port 9376",
        AGNHOST,
        args=["serve-hostname"],
        argv=mod("serve_hostname"),
        workload="serve-hostname",
        ports=(("TCP", 9376),),
    ),
    Case(
        "agnhost serve-hostname --udp --http=false",
        AGNHOST,
        args=["serve-hostname", "--udp", "--http=false", "--port", "9377"],
        argv=mod("serve_hostname", "--udp", "--http=false", "--port", "9377"),
        ports=(("UDP", 9377),),
    ),
    Case(
        "agnhost liveness (probe tutorial)",
        "registry.k8s.io/e2e-test-images/agnhost:2.40",
        args=["liveness"],
        argv=mod("liveness"),
        workload="liveness",
        ports=(("TCP", 8080),),
    ),
    Case(
        "agnhost without args is its CMD pause",
        AGNHOST,
        argv=mod("pause"),
        workload="pause",
        ports=(),
    ),
    Case(
        "agnhost on the old k8s.gcr.io registry",
        "k8s.gcr.io/e2e-test-images/agnhost:2.32",
        args=["netexec"],
        argv=mod("netexec"),
    ),
    Case(
        "agnhost by digest",
        "registry.k8s.io/e2e-test-images/agnhost@sha256:" + "a" * 64,
        args=["netexec"],
        argv=mod("netexec"),
    ),
    Case(
        "agnhost with a shell command runs it on the host",
        AGNHOST,
        command=["/bin/sh", "-c", "sleep 10"],
        argv=("/bin/sh", "-c", "sleep 10"),
        workload="command",
    ),
    Case(
        "agnhost unknown subcommand -> ImageNotSupported",
        AGNHOST,
        args=["porter"],
        reason=IMAGE_NOT_SUPPORTED,
        message_has=('agnhost subcommand "porter"', "netexec", "give the container a command"),
    ),
    # svcnet/netexec
    Case(
        "svcnet/netexec without args is netexec",
        "svcnet/netexec",
        argv=mod("netexec"),
        workload="netexec",
        ports=(("TCP", 8080), ("UDP", 8081)),
    ),
    Case(
        "svcnet/netexec with flags only",
        "svcnet/netexec:latest",
        args=["--http-port=9000", "--udp-port=-1"],
        argv=mod("netexec", "--http-port=9000", "--udp-port=-1"),
        ports=(("TCP", 9000),),
    ),
    Case(
        "svcnet/netexec with args [netexec, ...]",
        "docker.io/svcnet/netexec",
        args=["netexec", "--http-port=8081"],
        argv=mod("netexec", "--http-port=8081"),
    ),
    Case(
        "svcnet/netexec serve-hostname subcommand",
        "svcnet/netexec",
        args=["serve-hostname"],
        argv=mod("serve_hostname"),
    ),
    # nginx
    Case(
        "nginx default port 80",
        "nginx",
        argv=mod("nginx"),
        workload="nginx",
        ports=(("TCP", 80),),
    ),
    Case(
        "nginx fully qualified with tag",
        "docker.io/library/nginx:1.25",
        argv=mod("nginx"),
        ports=(("TCP", 80),),
    ),
    Case(
        "nginx by digest",
        "nginx@sha256:" + "0123456789abcdef" * 4,
        argv=mod("nginx"),
    ),
    Case(
        "nginx with command nginx -g daemon off",
        "nginx:alpine",
        command=["nginx", "-g", "daemon off;"],
        argv=mod("nginx"),
        workload="nginx",
    ),
    Case(
        "nginx e2e-test-images",
        "registry.k8s.io/e2e-test-images/nginx:1.14-4",
        argv=mod("nginx"),
    ),
    Case(
        "nginx-unprivileged listens on 8080",
        "nginxinc/nginx-unprivileged:1.25",
        argv=mod("nginx", "--port=8080"),
        ports=(("TCP", 8080),),
    ),
    Case(
        "bitnami/nginx is not the official image",
        "bitnami/nginx",
        reason=IMAGE_NOT_SUPPORTED,
    ),
    # hashicorp/http-echo
    Case(
        "http-echo args -text (kind ingress docs)",
        "hashicorp/http-echo:0.2.3",
        args=["-text=foo"],
        argv=mod("http_echo", "-text=foo"),
        workload="http-echo",
        ports=(("TCP", 5678),),
    ),
    Case(
        "http-echo -listen=:8080",
        "hashicorp/http-echo",
        args=["-listen=:8080", "-text", "bar"],
        argv=mod("http_echo", "-listen=:8080", "-text", "bar"),
        ports=(("TCP", 8080),),
    ),
    # echo servers
    Case(
        "kicbase/echo-server (minikube docs)",
        "kicbase/echo-server:1.0",
        argv=mod("echo_server"),
        workload="echo-server",
        ports=(("TCP", 8080),),
    ),
    Case(
        "k8s.gcr.io/echoserver format",
        "k8s.gcr.io/echoserver:1.4",
        argv=mod("echo_server", "--format=echoserver"),
        workload="echo-server",
        ports=(("TCP", 8080),),
    ),
    Case(
        "registry.k8s.io/echoserver",
        "registry.k8s.io/echoserver:1.10",
        argv=mod("echo_server", "--format=echoserver"),
    ),
    # pause
    Case("pause image", "registry.k8s.io/pause:3.9", argv=mod("pause"), workload="pause"),
    # shell images run on the host
    Case(
        "busybox sh -c via command",
        "busybox",
        command=["sh", "-c", "echo hi; sleep 3600"],
        argv=("sh", "-c", "echo hi; sleep 3600"),
        workload="command",
        ports=(),
    ),
    Case(
        "busybox args only (kubectl run -- sleep 3600)",
        "busybox:1.36",
        args=["sleep", "3600"],
        argv=("sleep", "3600"),
        workload="command",
    ),
    Case(
        "busybox probe tutorial args /bin/sh -c",
        "registry.k8s.io/busybox",
        args=["/bin/sh", "-c", "touch /tmp/healthy; sleep 30"],
        argv=("/bin/sh", "-c", "touch /tmp/healthy; sleep 30"),
    ),
    Case("busybox without command is CMD sh", "busybox", argv=("sh",)),
    Case("alpine default /bin/sh", "alpine:3.19", argv=("/bin/sh",)),
    Case("debian default bash", "debian:bookworm", argv=("bash",)),
    Case("ubuntu default /bin/bash", "ubuntu:22.04", argv=("/bin/bash",)),
    Case(
        "python maps python to the current interpreter",
        "python:3.12-slim",
        command=["python", "-m", "http.server", "8000"],
        argv=(PY, "-m", "http.server", "8000"),
        workload="command",
    ),
    Case(
        "python maps /usr/local/bin/python3 too",
        "python:3",
        command=["/usr/local/bin/python3", "-c", "print(1)"],
        argv=(PY, "-c", "print(1)"),
    ),
    Case("python without command is CMD python3", "python", argv=(PY,)),
    Case(
        "python image with a non-python command keeps it",
        "python",
        command=["sh", "-c", "pip --version"],
        argv=("sh", "-c", "pip --version"),
    ),
    # anything else
    Case(
        "unknown image without command -> ImageNotSupported",
        "quay.io/example/app:v1",
        reason=IMAGE_NOT_SUPPORTED,
        message_has=(
            '"quay.io/example/app:v1" is not one of svcnet\'s built-in images',
            "svcnet/netexec",
            "give the container a command",
        ),
    ),
    Case(
        "unknown image with args only -> ImageNotSupported (ENTRYPOINT unknown)",
        "example/app",
        args=["--port=80"],
        reason=IMAGE_NOT_SUPPORTED,
        message_has=("ENTRYPOINT",),
    ),
    Case(
        "unknown image with command runs it on the host",
        "example/app",
        command=["/usr/bin/env", "sleep", "1"],
        args=["2"],
        argv=("/usr/bin/env", "sleep", "1", "2"),
        workload="command",
    ),
    Case(
        "empty command list counts as unset",
        "example/app",
        command=[],
        reason=IMAGE_NOT_SUPPORTED,
    ),
    # invalid references (kubelet: InvalidImageName)
    Case(
        "upper-case repository -> InvalidImageName",
        "Nginx",
        reason=INVALID_IMAGE_NAME,
        message_has=("must be lowercase",),
    ),
    Case("empty image -> InvalidImageName", "", reason=INVALID_IMAGE_NAME),
    Case("bad digest -> InvalidImageName", "nginx@sha256:abc", reason=INVALID_IMAGE_NAME),
]


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_resolve(case: Case) -> None:
    got = resolve(case.image, case.command, case.args, python=PY)
    if case.reason:
        assert isinstance(got, Unresolved), got
        assert got.reason == case.reason
        assert got.image == case.image
        for part in case.message_has:
            assert part in got.message
        return
    assert isinstance(got, Resolved), got
    assert got.argv == case.argv
    if case.workload:
        assert got.workload == case.workload
    if case.ports is not None:
        assert got.ports == case.ports
    assert got.notes, "every mapping explains itself"


def test_builtin_programs_run_unbuffered() -> None:
    got = resolve("svcnet/netexec", None, None, python=PY)
    assert isinstance(got, Resolved)
    assert ("PYTHONUNBUFFERED", "1") in got.env


def test_ignored_nginx_flags_are_noted() -> None:
    got = resolve("nginx", ["nginx", "-c", "/etc/nginx/custom.conf"], None, python=PY)
    assert isinstance(got, Resolved)
    assert any("ignored" in n for n in got.notes)
    default = resolve("nginx", None, None, python=PY)
    assert isinstance(default, Resolved)
    assert not any("ignored" in n for n in default.notes)


def test_default_python_is_current_interpreter() -> None:
    import sys

    got = resolve("svcnet/netexec", None, None)
    assert isinstance(got, Resolved)
    assert got.argv[0] == sys.executable


@pytest.mark.parametrize(
    ("command", "args", "want"),
    [
        (None, None, ["/ep", "cmd"]),
        (["c"], None, ["c"]),
        (["c"], ["a"], ["c", "a"]),
        (None, ["a"], ["/ep", "a"]),
        ([], [], ["/ep", "cmd"]),
    ],
    ids=[
        "neither: ENTRYPOINT+CMD",
        "command drops CMD",
        "command+args",
        "args replace CMD",
        "empty lists are unset",
    ],
)
def test_container_argv(command, args, want) -> None:
    assert container_argv(command, args, ["/ep"], ["cmd"]) == want


def test_markdown_table_lists_every_row() -> None:
    table = markdown_table()
    for row in BUILTIN_IMAGES:
        assert f"`{row.key}`" in table
    assert "ImageNotSupported" in table
