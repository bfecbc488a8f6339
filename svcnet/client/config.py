"""Connection settings: kubeconfig files, in-cluster service accounts, TLS.

Theory of operation: `load_kubeconfig()` reads one or more kubeconfig files
(the ``$KUBECONFIG`` list, else ``~/.kube/config``), merges them the way
kubectl does (the first file to define a name or the current-context wins),
picks a context and flattens it into a `ConnectionConfig`: a plain
dataclass with the server URL, the TLS material as bytes, and the
credentials. `in_cluster_config()` builds the same from a pod's service
account. `ssl_context()` turns it into an `ssl.SSLContext`. Nothing here
opens a connection; `svcnet.client.rest.Client` consumes the result.

Relative file paths in a kubeconfig (certificate-authority, client-key,
tokenFile, ...) are resolved against the directory of the file that
names them, as kubectl does. Exec and auth-provider credential plugins are
not supported and raise `ConfigError` with a clear message.
"""

from __future__ import annotations

import base64
import os
import ssl
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from svcnet.client.errors import ConfigError

__all__ = [
    "SERVICE_ACCOUNT_DIR",
    "ConnectionConfig",
    "default_kubeconfig_paths",
    "in_cluster_config",
    "load_kubeconfig",
    "parse_kubeconfig",
    "ssl_context",
]

SERVICE_ACCOUNT_DIR = Path("/var/run/secrets/kubernetes.io/serviceaccount")


@dataclass(frozen=True)
class ConnectionConfig:
    """Everything needed to talk to one API server."""

    server: str
    ca_data: bytes | None = None
    insecure_skip_tls_verify: bool = False
    tls_server_name: str | None = None
    token: str | None = None
    token_file: str | None = None
    client_cert_data: bytes | None = None
    client_key_data: bytes | None = None
    username: str | None = None
    password: str | None = None
    namespace: str = "default"
    unix_socket: str | None = None


def default_kubeconfig_paths() -> list[Path]:
    """``$KUBECONFIG`` (a path list) or ``~/.kube/config``."""
    env = os.environ.get("KUBECONFIG", "")
    paths = [Path(p).expanduser() for p in env.split(os.pathsep) if p]
    return paths or [Path("~/.kube/config").expanduser()]


def load_kubeconfig(
    path: str | os.PathLike[str] | None = None, context: str | None = None
) -> ConnectionConfig:
    """Read kubeconfig file(s) and flatten the chosen context.

    Raises:
        ConfigError: no readable file, unknown context/cluster/user, bad data.
    """
    paths = [Path(path)] if path is not None else default_kubeconfig_paths()
    docs: list[tuple[dict[str, Any], Path]] = []
    for p in paths:
        try:
            doc = yaml.safe_load(p.read_text()) or {}
        except FileNotFoundError:
            continue
        except (OSError, yaml.YAMLError) as e:
            raise ConfigError(f"cannot read kubeconfig {p}: {e}") from e
        if not isinstance(doc, dict):
            raise ConfigError(f"kubeconfig {p} is not a mapping")
        docs.append((doc, p.resolve().parent))
    if not docs:
        raise ConfigError(f"no kubeconfig found (looked at {', '.join(map(str, paths))})")
    return parse_kubeconfig(docs, context)


def _named(
    docs: list[tuple[dict[str, Any], Path]], section: str, key: str
) -> dict[str, tuple[dict[str, Any], Path]]:
    out: dict[str, tuple[dict[str, Any], Path]] = {}
    for doc, base in docs:
        for entry in doc.get(section) or []:
            if isinstance(entry, dict) and "name" in entry:
                out.setdefault(str(entry["name"]), (entry.get(key) or {}, base))
    return out


def parse_kubeconfig(
    docs: list[tuple[dict[str, Any], Path]], context: str | None = None
) -> ConnectionConfig:
    """Merge parsed kubeconfig documents (each with its directory) and flatten
    one context (the current-context when ``context`` is None). Pure but for
    reading the files the kubeconfig points at."""
    if context is None:
        context = next((d.get("current-context") for d, _ in docs if d.get("current-context")), "")
        if not context:
            raise ConfigError("kubeconfig has no current-context and none was given")
    contexts = _named(docs, "contexts", "context")
    if context not in contexts:
        raise ConfigError(f"context {context!r} not found in kubeconfig")
    ctx, _ = contexts[context]
    clusters = _named(docs, "clusters", "cluster")
    users = _named(docs, "users", "user")
    cluster_name, user_name = ctx.get("cluster", ""), ctx.get("user", "")
    if cluster_name not in clusters:
        raise ConfigError(f"cluster {cluster_name!r} of context {context!r} not found")
    cluster, cbase = clusters[cluster_name]
    user, ubase = users.get(user_name, ({}, cbase))
    server = str(cluster.get("server") or "")
    if not server:
        raise ConfigError(f"cluster {cluster_name!r} has no server")
    if user.get("exec") or user.get("auth-provider"):
        raise ConfigError(
            f"user {user_name!r} uses a credential plugin (exec/auth-provider), which "
            "svcnet.client does not run; use a token or client certificate"
        )
    token_file = user.get("tokenFile")
    return ConnectionConfig(
        server=server.rstrip("/"),
        ca_data=_data_or_file(cluster, "certificate-authority", cbase),
        insecure_skip_tls_verify=bool(cluster.get("insecure-skip-tls-verify")),
        tls_server_name=cluster.get("tls-server-name") or None,
        token=user.get("token") or None,
        token_file=str(_resolve(token_file, ubase)) if token_file else None,
        client_cert_data=_data_or_file(user, "client-certificate", ubase),
        client_key_data=_data_or_file(user, "client-key", ubase),
        username=user.get("username") or None,
        password=user.get("password") or None,
        namespace=ctx.get("namespace") or "default",
    )


def _resolve(p: str, base: Path) -> Path:
    path = Path(p).expanduser()
    return path if path.is_absolute() else base / path


def _data_or_file(section: dict[str, Any], key: str, base: Path) -> bytes | None:
    data = section.get(f"{key}-data")
    if data:
        try:
            return base64.b64decode(data, validate=True)
        except (ValueError, TypeError) as e:
            raise ConfigError(f"{key}-data is not valid base64: {e}") from e
    path = section.get(key)
    if path:
        try:
            return _resolve(path, base).read_bytes()
        except OSError as e:
            raise ConfigError(f"cannot read {key} {path}: {e}") from e
    return None


def in_cluster_config(sa_dir: Path = SERVICE_ACCOUNT_DIR) -> ConnectionConfig:
    """The API server as seen from inside a pod (KUBERNETES_SERVICE_HOST/PORT
    plus the mounted service account token, CA and namespace)."""
    host = os.environ.get("KUBERNETES_SERVICE_HOST")
    port = os.environ.get("KUBERNETES_SERVICE_PORT")
    if not host or not port:
        raise ConfigError("not in a cluster: KUBERNETES_SERVICE_HOST/PORT are not set")
    token_file = sa_dir / "token"
    if not token_file.exists():
        raise ConfigError(f"service account token {token_file} not found")
    if ":" in host:
        host = f"[{host}]"
    ns_file = sa_dir / "namespace"
    ca_file = sa_dir / "ca.crt"
    return ConnectionConfig(
        server=f"https://{host}:{port}",
        ca_data=ca_file.read_bytes() if ca_file.exists() else None,
        token_file=str(token_file),
        namespace=ns_file.read_text().strip() if ns_file.exists() else "default",
    )


def ssl_context(cfg: ConnectionConfig) -> ssl.SSLContext:
    """A client TLS context: the cluster CA (or the system store), optional
    client certificate, or no verification when insecure-skip-tls-verify."""
    ctx = ssl.create_default_context(ssl.Purpose.SERVER_AUTH)
    try:
        if cfg.ca_data:
            ctx.load_verify_locations(cadata=cfg.ca_data.decode("ascii", "replace"))
        if cfg.insecure_skip_tls_verify:
            ctx.check_hostname = False
            ctx.verify_mode = ssl.CERT_NONE
        if cfg.client_cert_data and cfg.client_key_data:
            # ssl loads certificate chains from files only: write them to a
            # private directory just long enough to load them.
            with tempfile.TemporaryDirectory(prefix="svcnet-client-") as d:
                cert, key = Path(d) / "tls.crt", Path(d) / "tls.key"
                for p, data in ((cert, cfg.client_cert_data), (key, cfg.client_key_data)):
                    fd = os.open(p, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
                    with os.fdopen(fd, "wb") as f:
                        f.write(data)
                ctx.load_cert_chain(str(cert), str(key))
        elif cfg.client_cert_data or cfg.client_key_data:
            raise ConfigError("client certificate and key must be given together")
    except ssl.SSLError as e:
        raise ConfigError(f"invalid TLS material in config: {e}") from e
    return ctx
