"""kubeconfig and in-cluster configuration (kubectl's loading rules) and TLS contexts."""

from __future__ import annotations

import base64
import ssl
from pathlib import Path
from typing import Any

import pytest
import yaml

from svcnet.apiserver.certs import ensure_pki
from svcnet.client.config import (
    ConnectionConfig,
    in_cluster_config,
    load_kubeconfig,
    ssl_context,
)
from svcnet.client.errors import ConfigError
from svcnet.client.rest import Client


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def kubeconfig(
    server: str = "https://127.0.0.1:6443",
    cluster: dict[str, Any] | None = None,
    user: dict[str, Any] | None = None,
    namespace: str | None = None,
    current: str = "c1",
) -> dict[str, Any]:
    ctx: dict[str, Any] = {"cluster": "k1", "user": "u1"}
    if namespace:
        ctx["namespace"] = namespace
    return {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": "k1", "cluster": {"server": server, **(cluster or {})}}],
        "users": [{"name": "u1", "user": user or {"token": "t0k"}}],
        "contexts": [
            {"name": "c1", "context": ctx},
            {"name": "other", "context": {"cluster": "k1", "user": "nobody"}},
        ],
        "current-context": current,
    }


def write(path: Path, doc: dict[str, Any]) -> Path:
    path.write_text(yaml.safe_dump(doc))
    return path


def test_token_and_inline_ca(tmp_path: Path) -> None:
    doc = kubeconfig(cluster={"certificate-authority-data": b64(b"CA PEM")}, namespace="team-a")
    cfg = load_kubeconfig(write(tmp_path / "kc", doc))
    assert cfg == ConnectionConfig(
        server="https://127.0.0.1:6443", ca_data=b"CA PEM", token="t0k", namespace="team-a"
    )


def test_relative_files_resolve_against_kubeconfig_dir(tmp_path: Path) -> None:
    (tmp_path / "pki").mkdir()
    (tmp_path / "pki" / "ca.crt").write_bytes(b"CA")
    (tmp_path / "pki" / "c.crt").write_bytes(b"CERT")
    (tmp_path / "pki" / "c.key").write_bytes(b"KEY")
    (tmp_path / "tok").write_text("from-file\n")
    doc = kubeconfig(
        cluster={"certificate-authority": "pki/ca.crt", "tls-server-name": "kubernetes"},
        user={"client-certificate": "pki/c.crt", "client-key": "pki/c.key", "tokenFile": "tok"},
    )
    cfg = load_kubeconfig(write(tmp_path / "kc", doc))
    assert cfg.ca_data == b"CA"
    assert (cfg.client_cert_data, cfg.client_key_data) == (b"CERT", b"KEY")
    assert cfg.token_file == str(tmp_path / "tok")
    assert cfg.tls_server_name == "kubernetes"
    assert cfg.namespace == "default"


def test_named_context_and_missing_user(tmp_path: Path) -> None:
    cfg = load_kubeconfig(write(tmp_path / "kc", kubeconfig()), context="other")
    assert cfg.token is None and cfg.server == "https://127.0.0.1:6443"


@pytest.mark.parametrize(
    ("doc", "context", "match"),
    [
        (kubeconfig(), "nope", "context 'nope' not found"),
        (kubeconfig(current=""), None, "no current-context"),
        (kubeconfig(user={"exec": {"command": "aws"}}), None, "credential plugin"),
        (kubeconfig(server=""), None, "has no server"),
        (kubeconfig(cluster={"certificate-authority-data": "!!!"}), None, "base64"),
    ],
    ids=["unknown-context", "no-current-context", "exec-plugin", "no-server", "bad-base64"],
)
def test_config_errors(
    tmp_path: Path, doc: dict[str, Any], context: str | None, match: str
) -> None:
    with pytest.raises(ConfigError, match=match):
        load_kubeconfig(write(tmp_path / "kc", doc), context=context)


def test_kubeconfig_env_list_merges_first_wins(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = kubeconfig(server="https://first:1")
    second = kubeconfig(server="https://second:2", current="other")
    second["clusters"].append({"name": "k2", "cluster": {"server": "https://k2:3"}})
    second["contexts"].append({"name": "c2", "context": {"cluster": "k2", "user": "u1"}})
    a, b = write(tmp_path / "a", first), write(tmp_path / "b", second)
    monkeypatch.setenv("KUBECONFIG", f"{tmp_path / 'missing'}:{a}:{b}")
    assert load_kubeconfig().server == "https://first:1"  # current-context from a
    assert load_kubeconfig(context="c2").server == "https://k2:3"  # names from b


def test_no_kubeconfig(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KUBECONFIG", str(tmp_path / "none"))
    with pytest.raises(ConfigError, match="no kubeconfig"):
        load_kubeconfig()


def test_in_cluster(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("KUBERNETES_SERVICE_HOST", raising=False)
    with pytest.raises(ConfigError, match="not in a cluster"):
        in_cluster_config(tmp_path)
    monkeypatch.setenv("KUBERNETES_SERVICE_HOST", "fd00:10:96::1")
    monkeypatch.setenv("KUBERNETES_SERVICE_PORT", "443")
    (tmp_path / "token").write_text("sa-token")
    (tmp_path / "namespace").write_text("kube-system\n")
    cfg = in_cluster_config(tmp_path)
    assert cfg.server == "https://[fd00:10:96::1]:443"
    assert cfg.token_file == str(tmp_path / "token")
    assert cfg.namespace == "kube-system"


def test_ssl_context_with_ca_and_client_cert(tmp_path: Path) -> None:
    pki = ensure_pki(tmp_path / "pki", ["127.0.0.1"])
    cfg = ConnectionConfig(
        server="https://x",
        ca_data=pki.ca_pem,
        # any certificate/key pair exercises the load path; reuse the serving pair
        client_cert_data=pki.cert.read_bytes(),
        client_key_data=pki.key.read_bytes(),
    )
    ctx = ssl_context(cfg)
    assert ctx.verify_mode == ssl.CERT_REQUIRED and ctx.check_hostname
    assert ctx.get_ca_certs()
    insecure = ssl_context(ConnectionConfig(server="https://x", insecure_skip_tls_verify=True))
    assert insecure.verify_mode == ssl.CERT_NONE


def test_ssl_context_rejects_bad_material() -> None:
    with pytest.raises(ConfigError):
        ssl_context(ConnectionConfig(server="https://x", ca_data=b"not a cert"))
    with pytest.raises(ConfigError, match="together"):
        ssl_context(ConnectionConfig(server="https://x", client_cert_data=b"c"))


async def test_client_from_kubeconfig_reads_token_file(tmp_path: Path) -> None:
    (tmp_path / "tok").write_text("tok-1\n")
    doc = kubeconfig(server="http://127.0.0.1:1", user={"tokenFile": "tok"}, namespace="ns9")
    client = Client.from_kubeconfig(write(tmp_path / "kc", doc))
    assert client.namespace == "ns9"
    assert client._auth_headers() == {"Authorization": "Bearer tok-1"}
    await client.close()
