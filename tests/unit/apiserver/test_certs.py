"""PKI bootstrap: generation, reuse, real TLS verification, kubeconfig."""

from __future__ import annotations

import base64
import os
import socket
import ssl
import stat
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import yaml
from cryptography import x509

from svcnet.apiserver.certs import Pki, ensure_pki, write_kubeconfig

FILES = ("ca.crt", "ca.key", "apiserver.crt", "apiserver.key", "token")


def snapshot(d: Path) -> dict[str, bytes]:
    return {name: (d / name).read_bytes() for name in FILES}


def mode(p: Path) -> int:
    return stat.S_IMODE(p.stat().st_mode)


def sans(p: Path) -> set[str]:
    cert = x509.load_pem_x509_certificate(p.read_bytes())
    ext = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    return {str(v) for v in ext.get_values_for_type(x509.DNSName)} | {
        str(v) for v in ext.get_values_for_type(x509.IPAddress)
    }


@contextmanager
def tls_server(pki: Pki) -> Iterator[int]:
    """Serve TLS on 127.0.0.1:0 in a thread; each connection gets b"ok"."""
    ctx = pki.ssl_context()
    lsock = socket.create_server(("127.0.0.1", 0))
    lsock.settimeout(10)
    stop = threading.Event()

    def serve() -> None:
        while not stop.is_set():
            try:
                conn, _ = lsock.accept()
            except OSError:
                return
            if stop.is_set():
                conn.close()
                return
            try:
                with ctx.wrap_socket(conn, server_side=True) as tls:
                    tls.sendall(b"ok")
            except (ssl.SSLError, OSError):
                conn.close()  # the client rejected us; keep serving

    t = threading.Thread(target=serve, daemon=True)
    t.start()
    port = lsock.getsockname()[1]
    try:
        yield port
    finally:
        stop.set()
        # Closing a socket does not wake a thread blocked in accept(); a
        # throwaway connection does.
        with socket.create_connection(("127.0.0.1", port), timeout=10):
            pass
        t.join(timeout=10)
        lsock.close()


def fetch(port: int, ca_file: Path, server_hostname: str) -> bytes:
    client = ssl.create_default_context(cafile=str(ca_file))
    with (
        socket.create_connection(("127.0.0.1", port), timeout=10) as raw,
        client.wrap_socket(raw, server_hostname=server_hostname) as tls,
    ):
        return tls.recv(16)


def test_first_start_generates_everything_with_private_modes(tmp_path: Path) -> None:
    d = tmp_path / "pki"
    pki = ensure_pki(d, ["svcnet.example", "10.0.0.1"])
    for name in FILES:
        assert (d / name).is_file(), name
    for p in (pki.ca_key, pki.key, pki.token_file):
        assert mode(p) == 0o600, p
    assert mode(d) & 0o077 == 0
    assert pki.ca_pem == (d / "ca.crt").read_bytes()
    assert pki.token == (d / "token").read_text().strip()
    assert len(base64.urlsafe_b64decode(pki.token + "=" * (-len(pki.token) % 4))) == 32
    assert sans(pki.cert) == {"localhost", "svcnet.example", "127.0.0.1", "::1", "10.0.0.1"}
    ca = x509.load_pem_x509_certificate(pki.ca_pem)
    assert ca.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    days = (ca.not_valid_after_utc - ca.not_valid_before_utc).days
    assert days >= 3650


def test_second_start_reuses_files(tmp_path: Path) -> None:
    first = ensure_pki(tmp_path, ["svcnet.example"])
    before = snapshot(tmp_path)
    second = ensure_pki(tmp_path, ["svcnet.example"])
    assert snapshot(tmp_path) == before
    assert second == first
    # A subset of the hosts (and a differently spelt one) also needs nothing new.
    ensure_pki(tmp_path, ["SVCNET.example."])
    assert snapshot(tmp_path) == before


def test_new_host_reissues_serving_cert_only(tmp_path: Path) -> None:
    ensure_pki(tmp_path, [])
    before = snapshot(tmp_path)
    pki = ensure_pki(tmp_path, ["[fd00::10]", "node-1"])
    after = snapshot(tmp_path)
    for name in ("ca.crt", "ca.key", "token"):
        assert after[name] == before[name], name
    assert after["apiserver.crt"] != before["apiserver.crt"]
    assert {"fd00::10", "node-1"} <= sans(pki.cert)
    assert mode(pki.key) == 0o600


def test_loose_key_modes_are_tightened_on_reuse(tmp_path: Path) -> None:
    pki = ensure_pki(tmp_path, [])
    for p in (pki.ca_key, pki.key, pki.token_file):
        os.chmod(p, 0o644)
    ensure_pki(tmp_path, [])
    for p in (pki.ca_key, pki.key, pki.token_file):
        assert mode(p) == 0o600, p


def test_missing_ca_reissues_serving_cert(tmp_path: Path) -> None:
    ensure_pki(tmp_path, [])
    before = snapshot(tmp_path)
    (tmp_path / "ca.key").unlink()
    pki = ensure_pki(tmp_path, [])
    after = snapshot(tmp_path)
    assert after["ca.crt"] != before["ca.crt"]
    assert after["apiserver.crt"] != before["apiserver.crt"]
    assert after["token"] == before["token"]
    with tls_server(pki) as port:
        assert fetch(port, pki.ca_cert, "localhost") == b"ok"


@pytest.mark.parametrize("server_hostname", ["127.0.0.1", "localhost", "svcnet.example"])
def test_serving_cert_verifies_against_ca_over_real_tls(
    tmp_path: Path, server_hostname: str
) -> None:
    pki = ensure_pki(tmp_path, ["svcnet.example"])
    with tls_server(pki) as port:
        assert fetch(port, pki.ca_cert, server_hostname) == b"ok"


def test_tls_rejects_unknown_hostname_and_foreign_ca(tmp_path: Path) -> None:
    pki = ensure_pki(tmp_path / "a", [])
    other = ensure_pki(tmp_path / "b", [])
    with tls_server(pki) as port:
        with pytest.raises(ssl.SSLCertVerificationError):
            fetch(port, pki.ca_cert, "not-in-sans.example")
        with pytest.raises(ssl.SSLCertVerificationError):
            fetch(port, other.ca_cert, "localhost")


def test_write_kubeconfig(tmp_path: Path) -> None:
    pki = ensure_pki(tmp_path / "pki", [])
    path = tmp_path / "out" / "kubeconfig"
    write_kubeconfig(path, "https://127.0.0.1:6443", pki.ca_pem, pki.token)
    assert mode(path) == 0o600
    cfg = yaml.safe_load(path.read_text())
    assert cfg["apiVersion"] == "v1"
    assert cfg["kind"] == "Config"
    assert cfg["current-context"] == "svcnet"
    [cluster] = cfg["clusters"]
    assert cluster["name"] == "svcnet"
    assert cluster["cluster"]["server"] == "https://127.0.0.1:6443"
    assert base64.b64decode(cluster["cluster"]["certificate-authority-data"]) == pki.ca_pem
    [user] = cfg["users"]
    assert user == {"name": "admin", "user": {"token": pki.token}}
    [ctx] = cfg["contexts"]
    assert ctx == {"name": "svcnet", "context": {"cluster": "svcnet", "user": "admin"}}


def test_write_kubeconfig_custom_names_and_overwrite(tmp_path: Path) -> None:
    path = tmp_path / "kubeconfig"
    path.write_text("stale")
    os.chmod(path, 0o644)
    write_kubeconfig(
        path, "https://[::1]:1234", "PEM", "t0k", cluster_name="c", user="u", context="x"
    )
    assert mode(path) == 0o600
    cfg = yaml.safe_load(path.read_text())
    assert cfg["current-context"] == "x"
    assert cfg["contexts"][0]["context"] == {"cluster": "c", "user": "u"}
    assert cfg["clusters"][0]["cluster"]["server"] == "https://[::1]:1234"
