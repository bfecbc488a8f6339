"""PKI bootstrap for the API server: a private CA, a serving cert, an admin token.

Theory of operation: `ensure_pki(data_dir, hosts)` is level-driven and
idempotent. Each start it looks at what is on disk and creates only what is
missing or unusable:

  * ca.crt / ca.key: an EC P-256 CA valid for 10 years; generated once and
    reused while both files exist and match each other and the CA is not
    within `RENEW_BEFORE` of expiry (an existing RSA CA is reused as well).
  * apiserver.crt / apiserver.key: a serving certificate signed by that CA
    with SANs 127.0.0.1, ::1, localhost plus the requested hosts. Reissued
    when it is missing, not issued by the current CA, within
    `RENEW_BEFORE` of expiry, or lacking a requested SAN.
  * token: the admin bearer token (32 random bytes, urlsafe base64).

Invariants: private keys and the token are written with mode 0600 (and are
tightened to 0600 when reused); every file is written to a temporary name
and renamed into place, so a crash never leaves a half-written file.
"""

from __future__ import annotations

import base64
import contextlib
import datetime as dt
import ipaddress
import os
import secrets
import ssl
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import yaml
from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

__all__ = [
    "DEFAULT_HOSTS",
    "Pki",
    "PkiError",
    "ensure_pki",
    "write_kubeconfig",
]

DEFAULT_HOSTS: tuple[str, ...] = ("127.0.0.1", "::1", "localhost")

CA_CERT = "ca.crt"
CA_KEY = "ca.key"
SERVING_CERT = "apiserver.crt"
SERVING_KEY = "apiserver.key"
TOKEN = "token"

CA_VALIDITY = dt.timedelta(days=3650)
SERVING_VALIDITY = dt.timedelta(days=3650)
RENEW_BEFORE = dt.timedelta(days=30)
# Backdate notBefore so clients with a slightly slow clock accept new certs.
CLOCK_SKEW = dt.timedelta(hours=1)

PrivateKey = ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey

_PRIVATE = 0o600
_PUBLIC = 0o644


class PkiError(Exception):
    """A PKI file exists but cannot be used (unparsable, unreadable)."""


@dataclass(frozen=True)
class Pki:
    """Paths of the API server's PKI files, plus the CA PEM and admin token."""

    data_dir: Path
    ca_cert: Path
    ca_key: Path
    cert: Path
    key: Path
    token_file: Path
    ca_pem: bytes
    token: str

    def ssl_context(self) -> ssl.SSLContext:
        """Return a server-side TLS context presenting the serving certificate."""
        ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        ctx.minimum_version = ssl.TLSVersion.TLSv1_2
        ctx.load_cert_chain(self.cert, self.key)
        ctx.set_alpn_protocols(["http/1.1"])
        return ctx


# -- SANs ---------------------------------------------------------------------

SanValue = ipaddress.IPv4Address | ipaddress.IPv6Address | str


def _parse_host(host: str) -> SanValue | None:
    """Normalise one host to an IP address or a lowercase DNS name."""
    h = host.strip()
    if h.startswith("[") and h.endswith("]"):
        h = h[1:-1]
    if not h:
        return None
    try:
        return ipaddress.ip_address(h)
    except ValueError:
        return h.lower().rstrip(".")


def _wanted_sans(hosts: Iterable[str]) -> list[SanValue]:
    out: list[SanValue] = []
    for h in (*DEFAULT_HOSTS, *hosts):
        v = _parse_host(h)
        if v is not None and v not in out:
            out.append(v)
    return out


def _cert_sans(cert: x509.Certificate) -> set[SanValue]:
    try:
        ext = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        return set()
    dns = {n.lower().rstrip(".") for n in ext.get_values_for_type(x509.DNSName)}
    ips = set(ext.get_values_for_type(x509.IPAddress))
    return dns | ips


def _san_names(sans: Iterable[SanValue]) -> list[x509.GeneralName]:
    return [
        x509.DNSName(v) if isinstance(v, str) else x509.IPAddress(v)  # type: ignore[arg-type]
        for v in sans
    ]


# -- files --------------------------------------------------------------------


def _write_atomic(path: Path, data: bytes, mode: int) -> None:
    """Write `data` to `path` via a temporary file and rename, with `mode`."""
    tmp = path.with_name(f".{path.name}.tmp")
    with contextlib.suppress(FileNotFoundError):
        tmp.unlink()
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
        raise


def _read_optional(path: Path) -> bytes | None:
    try:
        return path.read_bytes()
    except FileNotFoundError:
        return None


def _tighten(path: Path) -> None:
    if path.stat().st_mode & 0o077:
        os.chmod(path, _PRIVATE)


def _key_pem(key: PrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def _load_pair(cert_path: Path, key_path: Path) -> tuple[x509.Certificate, PrivateKey] | None:
    """Load a cert and its key; None if either is missing or they don't match."""
    cert_pem, key_pem = _read_optional(cert_path), _read_optional(key_path)
    if cert_pem is None or key_pem is None:
        return None
    try:
        cert = x509.load_pem_x509_certificate(cert_pem)
        key = serialization.load_pem_private_key(key_pem, password=None)
    except (ValueError, TypeError) as e:
        raise PkiError(f"cannot parse {cert_path} / {key_path}: {e}") from e
    if not isinstance(key, ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey):
        raise PkiError(f"unsupported key type {type(key).__name__} in {key_path}")
    if key.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    ) != cert.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    ):
        return None
    _tighten(key_path)
    return cert, key


# -- issuance -----------------------------------------------------------------


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _new_ca(now: dt.datetime) -> tuple[x509.Certificate, PrivateKey]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "svcnet"),
            x509.NameAttribute(NameOID.COMMON_NAME, f"svcnet-ca@{int(now.timestamp())}"),
        ]
    )
    ski = x509.SubjectKeyIdentifier.from_public_key(key.public_key())
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - CLOCK_SKEW)
        .not_valid_after(now + CA_VALIDITY)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(ski, critical=False)
        .sign(key, hashes.SHA256())
    )
    return cert, key


def _new_serving(
    ca_cert: x509.Certificate,
    ca_key: PrivateKey,
    sans: list[SanValue],
    now: dt.datetime,
) -> tuple[x509.Certificate, PrivateKey]:
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (
        x509.CertificateBuilder()
        .subject_name(
            x509.Name(
                [
                    x509.NameAttribute(NameOID.ORGANIZATION_NAME, "svcnet"),
                    x509.NameAttribute(NameOID.COMMON_NAME, "svcnet-apiserver"),
                ]
            )
        )
        .issuer_name(ca_cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - CLOCK_SKEW)
        .not_valid_after(min(now + SERVING_VALIDITY, ca_cert.not_valid_after_utc))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=False,
                crl_sign=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(x509.SubjectAlternativeName(_san_names(sans)), critical=False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()),
            critical=False,
        )
        .sign(ca_key, hashes.SHA256())
    )
    return cert, key


def _serving_ok(
    cert: x509.Certificate, ca_cert: x509.Certificate, sans: list[SanValue], now: dt.datetime
) -> bool:
    try:
        cert.verify_directly_issued_by(ca_cert)
    except (ValueError, TypeError, InvalidSignature):
        return False
    if cert.not_valid_after_utc - RENEW_BEFORE <= now:
        return False
    return set(sans) <= _cert_sans(cert)


def ensure_pki(data_dir: Path, hosts: list[str]) -> Pki:
    """Create or reuse the CA, serving certificate and admin token in `data_dir`.

    Args:
        data_dir: directory for the files; created (mode 0700) if missing.
        hosts: extra DNS names or IP addresses the serving cert must cover.

    Returns:
        The `Pki` describing the files, with the CA PEM and token loaded.

    Raises:
        PkiError: an existing file cannot be parsed.
    """
    data_dir = Path(data_dir)
    data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    paths = {
        "ca_cert": data_dir / CA_CERT,
        "ca_key": data_dir / CA_KEY,
        "cert": data_dir / SERVING_CERT,
        "key": data_dir / SERVING_KEY,
        "token_file": data_dir / TOKEN,
    }
    now = _now()
    sans = _wanted_sans(hosts)

    ca = _load_pair(paths["ca_cert"], paths["ca_key"])
    if ca is None or ca[0].not_valid_after_utc - RENEW_BEFORE <= now:
        ca = _new_ca(now)
        # Key first: a cert on disk without its key would be rejected anyway.
        _write_atomic(paths["ca_key"], _key_pem(ca[1]), _PRIVATE)
        _write_atomic(paths["ca_cert"], ca[0].public_bytes(serialization.Encoding.PEM), _PUBLIC)
    ca_cert, ca_key = ca

    serving = _load_pair(paths["cert"], paths["key"])
    if serving is None or not _serving_ok(serving[0], ca_cert, sans, now):
        cert, key = _new_serving(ca_cert, ca_key, sans, now)
        _write_atomic(paths["key"], _key_pem(key), _PRIVATE)
        _write_atomic(paths["cert"], cert.public_bytes(serialization.Encoding.PEM), _PUBLIC)

    raw = _read_optional(paths["token_file"])
    token = raw.decode("ascii", "replace").strip() if raw is not None else ""
    if token:
        _tighten(paths["token_file"])
    else:
        token = secrets.token_urlsafe(32)
        _write_atomic(paths["token_file"], token.encode() + b"\n", _PRIVATE)

    return Pki(
        data_dir=data_dir,
        ca_pem=paths["ca_cert"].read_bytes(),
        token=token,
        **paths,
    )


def write_kubeconfig(
    path: Path,
    server_url: str,
    ca_pem: bytes | str,
    token: str,
    cluster_name: str = "svcnet",
    user: str = "admin",
    context: str = "svcnet",
) -> None:
    """Write a kubeconfig (CA inline, bearer token) that kubectl uses as is; mode 0600."""
    if isinstance(ca_pem, str):
        ca_pem = ca_pem.encode()
    doc = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [
            {
                "name": cluster_name,
                "cluster": {
                    "server": server_url,
                    "certificate-authority-data": base64.b64encode(ca_pem).decode("ascii"),
                },
            }
        ],
        "users": [{"name": user, "user": {"token": token}}],
        "contexts": [
            {"name": context, "context": {"cluster": cluster_name, "user": user}},
        ],
        "current-context": context,
        "preferences": {},
    }
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    _write_atomic(path, yaml.safe_dump(doc, sort_keys=False).encode(), _PRIVATE)
