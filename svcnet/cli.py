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
    )
    run_async(serve(opts))


if __name__ == "__main__":  # pragma: no cover
    main()
