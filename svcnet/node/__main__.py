"""``python -m svcnet.node``: run the node agent (the same options as ``svcnet node``).

`node_command` is a click command the top-level CLI can mount as ``svcnet node``.
"""

from __future__ import annotations

from pathlib import Path

import click


@click.command("node", context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--node-name", required=True, help="The Node's name.")
@click.option(
    "--netns", default=None, help="The node's network namespace (where cni0 and the pods live)."
)
@click.option("--node-ip", default="", help="InternalIP(s), comma-separated for dual-stack.")
@click.option("--zone", default=None, help="topology.kubernetes.io/zone label value.")
@click.option(
    "--socket",
    "socket_",
    type=click.Path(path_type=Path),
    default=None,
    help="svcnet API unix socket (<data-dir>/api.sock).",
)
@click.option("--kubeconfig", type=click.Path(path_type=Path), default=None)
@click.option(
    "--data-dir",
    type=click.Path(path_type=Path),
    required=True,
    help="Agent state: IPAM, pod records, container logs, kubelet.sock.",
)
@click.option(
    "--cluster-name", default="svcnet", show_default=True, help="Prefix of pod namespaces."
)
@click.option(
    "--cluster-dns",
    default="10.96.0.10",
    show_default=True,
    help="Cluster DNS IP(s) for ClusterFirst pods ('' = none).",
)
@click.option("--cluster-domain", default="cluster.local", show_default=True)
@click.option(
    "--healthz-addr",
    default="127.0.0.1:10248",
    show_default=True,
    help="/healthz and /metrics address ('' = only <data-dir>/kubelet.sock; port 0 picks one).",
)
@click.option("--max-pods", default=110, show_default=True)
@click.option("--log-level", default="info", show_default=True)
@click.option(
    "--log-format", type=click.Choice(["logfmt", "json"]), default="logfmt", show_default=True
)
def node_command(
    node_name: str,
    netns: str | None,
    node_ip: str,
    zone: str | None,
    socket_: Path | None,
    kubeconfig: Path | None,
    data_dir: Path,
    cluster_name: str,
    cluster_dns: str,
    cluster_domain: str,
    healthz_addr: str,
    max_pods: int,
    log_level: str,
    log_format: str,
) -> None:
    """Run the node agent (kubelet-lite + CNI bridge) for one node."""
    from svcnet.cli import run_async
    from svcnet.node.agent import NodeOptions, serve
    from svcnet.util.log import setup_logging

    if socket_ is None and kubeconfig is None:
        raise click.UsageError("give --socket or --kubeconfig")
    setup_logging(f"node/{node_name}", log_level, log_format)
    opts = NodeOptions(
        node_name=node_name,
        netns=netns,
        node_ip=node_ip,
        zone=zone,
        socket=socket_,
        kubeconfig=kubeconfig,
        data_dir=data_dir,
        cluster_name=cluster_name,
        cluster_dns=cluster_dns,
        cluster_domain=cluster_domain,
        healthz_addr=healthz_addr,
        max_pods=max_pods,
    )
    try:
        run_async(serve(opts))
    except ValueError as e:
        raise click.UsageError(str(e)) from None


if __name__ == "__main__":  # pragma: no cover
    node_command()
