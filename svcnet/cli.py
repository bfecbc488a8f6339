"""The `svcnet` command line (click)."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

import click

from svcnet import __version__


def default_data_dir(name: str = "svcnet") -> Path:
    base = os.environ.get("XDG_STATE_HOME") or os.path.expanduser("~/.local/state")
    return Path(base) / "svcnet" / name


def run_async(coro: object) -> None:
    """Run a coroutine on uvloop when available (falls back to asyncio)."""
    try:
        import uvloop

        uvloop.run(coro)  # type: ignore[arg-type]
    except ImportError:  # pragma: no cover - uvloop is a dependency on Linux
        asyncio.run(coro)  # type: ignore[arg-type]


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="svcnet")
def main() -> None:
    """svcnet: Kubernetes Service networking that really runs."""


@main.command()
@click.option(
    "--data-dir",
    type=click.Path(path_type=Path),
    default=None,
    help="State directory (default ~/.local/state/svcnet/svcnet).",
)
@click.option(
    "--listen",
    default="127.0.0.1:6443",
    show_default=True,
    help="HTTPS address (port 0 picks a free port).",
)
@click.option("--store", default="sqlite", show_default=True, help="sqlite | memory")
@click.option(
    "--insecure-http", is_flag=True, help="Serve plain HTTP on --listen (tests, benchmarks)."
)
@click.option("--service-cluster-ip-range", default="10.96.0.0/16", show_default=True)
@click.option("--service-node-port-range", default="30000-32767", show_default=True)
@click.option(
    "--allocation-repair-interval",
    default=60.0,
    show_default=True,
    help="Seconds between ClusterIP/NodePort repair passes (leaks are freed after 3 passes).",
)
@click.option(
    "--watch-history",
    default=50_000,
    show_default=True,
    help="Events kept for watches to resume from (older resourceVersions get 410).",
)
@click.option("--log-level", default="info", show_default=True)
@click.option(
    "--log-format", type=click.Choice(["logfmt", "json"]), default="logfmt", show_default=True
)
def apiserver(
    data_dir: Path | None,
    listen: str,
    store: str,
    insecure_http: bool,
    service_cluster_ip_range: str,
    service_node_port_range: str,
    allocation_repair_interval: float,
    watch_history: int,
    log_level: str,
    log_format: str,
) -> None:
    """Run the Kubernetes-compatible API server."""
    from svcnet.apiserver.server import Options, serve
    from svcnet.util.log import setup_logging

    setup_logging("apiserver", log_level, log_format)
    opts = Options(
        data_dir=data_dir or default_data_dir(),
        listen=listen,
        store=store,
        tls=not insecure_http,
        service_cluster_ip_range=service_cluster_ip_range,
        service_node_port_range=service_node_port_range,
        watch_history=watch_history,
        repair_interval=allocation_repair_interval,
    )
    run_async(serve(opts))


@main.command("controller-manager")
@click.option(
    "--kubeconfig",
    type=click.Path(path_type=Path),
    default=None,
    help="Kubeconfig of any API server (svcnet or a real cluster).",
)
@click.option(
    "--socket",
    "socket_",
    type=click.Path(path_type=Path),
    default=None,
    help="svcnet API unix socket (<data-dir>/api.sock), trusted, no token.",
)
@click.option(
    "--controllers",
    default="*",
    show_default=True,
    help="Comma-separated: '*' all, 'name' enable, '-name' disable.",
)
@click.option(
    "--cluster-cidr",
    default="10.244.0.0/16",
    show_default=True,
    help="Pod CIDR(s) for node IPAM (comma-separated for dual-stack).",
)
@click.option("--node-cidr-mask-size", default=24, show_default=True)
@click.option(
    "--max-endpoints-per-slice", default=100, show_default=True, type=click.IntRange(1, 1000)
)
@click.option(
    "--node-monitor-grace-period",
    default=40.0,
    show_default=True,
    help="Seconds without a heartbeat before a node is NotReady.",
)
@click.option("--workers", default=4, show_default=True)
@click.option(
    "--metrics-addr",
    default="127.0.0.1:10257",
    show_default=True,
    help="/healthz and /metrics (port 0 picks one).",
)
@click.option("--log-level", default="info", show_default=True)
@click.option(
    "--log-format", type=click.Choice(["logfmt", "json"]), default="logfmt", show_default=True
)
def controller_manager(
    kubeconfig: Path | None,
    socket_: Path | None,
    controllers: str,
    cluster_cidr: str,
    node_cidr_mask_size: int,
    max_endpoints_per_slice: int,
    node_monitor_grace_period: float,
    workers: int,
    metrics_addr: str,
    log_level: str,
    log_format: str,
) -> None:
    """Run the controllers (EndpointSlice, Endpoints, ReplicaSet, Deployment, scheduler, GC, node IPAM, node lifecycle)."""
    from svcnet.controllers.base import ManagerOptions
    from svcnet.controllers.manager import serve
    from svcnet.util.log import setup_logging

    if kubeconfig is None and socket_ is None:
        raise click.UsageError("give --kubeconfig or --socket")
    setup_logging("controller-manager", log_level, log_format)
    opts = ManagerOptions(
        cluster_cidr=cluster_cidr,
        node_cidr_mask_size=node_cidr_mask_size,
        max_endpoints_per_slice=max_endpoints_per_slice,
        node_monitor_grace_period=node_monitor_grace_period,
        workers=workers,
        controllers=tuple(c.strip() for c in controllers.split(",") if c.strip()),
    )
    run_async(serve(kubeconfig, socket_, opts, metrics_addr))


@main.command()
@click.option("--listen", default="127.0.0.1:53", show_default=True, help="UDP and TCP address.")
@click.option(
    "--metrics-addr",
    default="127.0.0.1:9153",
    show_default=True,
    help="/metrics, /health and /ready ('' disables).",
)
@click.option("--zone", default="cluster.local", show_default=True)
@click.option("--ttl", default=5, show_default=True)
@click.option("--upstream", multiple=True, help="Resolver IP[:port] for other names (repeatable).")
@click.option(
    "--resolv-conf",
    default="/etc/resolv.conf",
    show_default=True,
    help="Upstreams when no --upstream is given.",
)
@click.option("--kubeconfig", type=click.Path(path_type=Path), default=None)
@click.option("--socket", "socket_", type=click.Path(path_type=Path), default=None)
@click.option("--forward-timeout", default=2.0, show_default=True)
@click.option("--cache-size", default=10_000, show_default=True)
@click.option(
    "--lameduck", default=0.0, show_default=True, help="Seconds to keep serving after SIGTERM."
)
@click.option("--log-level", default="info", show_default=True)
@click.option(
    "--log-format", type=click.Choice(["logfmt", "json"]), default="logfmt", show_default=True
)
def dns(
    listen: str,
    metrics_addr: str,
    zone: str,
    ttl: int,
    upstream: tuple[str, ...],
    resolv_conf: str,
    kubeconfig: Path | None,
    socket_: Path | None,
    forward_timeout: float,
    cache_size: int,
    lameduck: float,
    log_level: str,
    log_format: str,
) -> None:
    """Run the cluster DNS server (Kubernetes DNS specification 1.1.0)."""
    from svcnet.dns.server import Options, serve
    from svcnet.util.log import setup_logging

    setup_logging("dns", log_level, log_format)
    opts = Options(
        listen=listen,
        metrics=metrics_addr,
        zone=zone,
        ttl=ttl,
        upstreams=list(upstream),
        resolv_conf=resolv_conf,
        kubeconfig=str(kubeconfig) if kubeconfig else None,
        socket=str(socket_) if socket_ else None,
        forward_timeout=forward_timeout,
        cache_size=cache_size,
        lameduck=lameduck,
    )
    try:
        run_async(serve(opts))
    except ValueError as e:
        raise click.UsageError(str(e)) from None


def _cluster_dir(name: str, data_dir: Path | None) -> Path:
    return (data_dir or default_data_dir(name)).resolve()


@main.command()
@click.option("--nodes", default=2, show_default=True, type=click.IntRange(1, 50))
@click.option(
    "--name", default="svcnet", show_default=True, help="Cluster name (prefix of every namespace)."
)
@click.option("--data-dir", type=click.Path(path_type=Path), default=None)
@click.option("--zones", default="", help="Comma-separated zones assigned to nodes round-robin.")
@click.option(
    "--proxy-mode",
    type=click.Choice(["nftables", "iptables", "userspace"]),
    default="nftables",
    show_default=True,
)
@click.option("--store", default="sqlite", show_default=True)
@click.option(
    "--listen",
    default="127.0.0.1:6443",
    show_default=True,
    help="API server address for kubectl (port 0 picks one).",
)
@click.option(
    "-d", "--detach", is_flag=True, help="Leave the cluster running; stop it with `svcnet down`."
)
def up(
    nodes: int,
    name: str,
    data_dir: Path | None,
    zones: str,
    proxy_mode: str,
    store: str,
    listen: str,
    detach: bool,
) -> None:
    """Start a multi-node cluster in network namespaces."""
    import signal as _signal
    import time as _time

    from rich.console import Console

    from svcnet.lab.cluster import ClusterSpec, Supervisor

    console = Console(stderr=True)
    d = _cluster_dir(name, data_dir)
    spec = ClusterSpec(
        name=name,
        nodes=nodes,
        zones=tuple(z.strip() for z in zones.split(",") if z.strip()),
        data_dir=d,
        listen=listen,
        store=store,
        proxy_mode=proxy_mode,
    )
    sup = Supervisor(spec, log=console.print)
    t0 = _time.monotonic()
    try:
        with console.status(f"building cluster {name!r} ({nodes} nodes)") as st:
            topo = sup.up()

            def progress(ready: int, total: int) -> None:
                st.update(f"waiting for nodes: {ready}/{total} Ready")

            run_async(sup.wait_ready(topo, progress=progress))
    except (Exception, KeyboardInterrupt) as e:
        console.print(f"[red]svcnet up failed:[/red] {e}")
        sup.down()
        raise SystemExit(1) from None
    took = _time.monotonic() - t0
    kc = d / "kubeconfig"
    console.print(f"[green]cluster {name!r}: {nodes} nodes Ready in {took:.1f} s[/green]")
    click.echo(f"export KUBECONFIG={kc}")
    console.print(
        "next steps:\n"
        "  kubectl get nodes -o wide\n"
        "  kubectl create deployment web --image=svcnet/netexec --replicas=3\n"
        "  kubectl expose deployment web --port=80 --target-port=8080"
    )
    if detach:
        return
    stop = {"now": False}

    def _stop(*_: object) -> None:
        stop["now"] = True

    _signal.signal(_signal.SIGINT, _stop)
    _signal.signal(_signal.SIGTERM, _stop)
    while not stop["now"]:
        _time.sleep(0.2)
    console.print("stopping cluster ...")
    sup.down()


@main.command()
@click.option("--name", default="svcnet", show_default=True)
@click.option("--data-dir", type=click.Path(path_type=Path), default=None)
def down(name: str, data_dir: Path | None) -> None:
    """Stop a cluster's processes and remove its namespaces."""
    from svcnet.lab.cluster import ClusterSpec, Supervisor

    Supervisor(ClusterSpec(name=name, data_dir=_cluster_dir(name, data_dir))).down()
    click.echo(f"cluster {name!r} removed")


@main.command()
@click.option("--name", default="svcnet", show_default=True)
@click.option("--data-dir", type=click.Path(path_type=Path), default=None)
def status(name: str, data_dir: Path | None) -> None:
    """Show a cluster's processes and namespaces."""
    import json as _json

    from svcnet.lab.cluster import status as cluster_status

    click.echo(_json.dumps(cluster_status(_cluster_dir(name, data_dir)), indent=2))


@main.command("exec", context_settings={"ignore_unknown_options": True})
@click.option("--name", default="svcnet", show_default=True, help="Cluster name.")
@click.option("--data-dir", type=click.Path(path_type=Path), default=None)
@click.option("-n", "--namespace", default="default", show_default=True, help="Pod namespace.")
@click.argument("target")
@click.argument("command", nargs=-1, required=True, type=click.UNPROCESSED)
def exec_(
    name: str, data_dir: Path | None, namespace: str, target: str, command: tuple[str, ...]
) -> None:
    """Run COMMAND in a node's or a pod's network namespace."""
    import os as _os

    from svcnet.lab.netns import exec_in, netns_exists
    from svcnet.lab.topology import pod_netns_name

    netns = f"{name}-{target}" if not target.startswith(f"{name}-") else target
    if not netns_exists(netns):
        import asyncio as _asyncio

        from svcnet.client import PODS, Client

        async def _uid() -> str:
            c = Client.from_unix_socket(_cluster_dir(name, data_dir) / "api.sock")
            try:
                pod = await c.get(PODS, target, namespace=namespace)
                return pod["metadata"]["uid"]
            finally:
                await c.close()

        try:
            netns = pod_netns_name(name, _asyncio.run(_uid()))
        except Exception as e:
            raise click.UsageError(
                f"{target!r} is neither a node nor a pod of cluster {name!r}: {e}"
            ) from None
    argv = exec_in(netns, list(command))
    _os.execvp(argv[0], argv)


def _register_node_command() -> None:
    from svcnet.node.__main__ import node_command

    main.add_command(node_command, "node")


_register_node_command()


if __name__ == "__main__":  # pragma: no cover
    main()
