"""Throwaway certificates for trying TLS and mutual TLS locally. Never for production.

`python -m stc_common.tools.devcerts --out DIR` writes into DIR:

- `ca.pem` (+ `ca-key.pem`): a fresh certificate authority, trusted by nothing else;
- `server.pem` / `server-key.pem`: a server certificate for `localhost` and `127.0.0.1`
  (subject alternative names; add more with `--host`), signed by that CA;
- `client.pem` / `client-key.pem`: a client certificate (CN from `--client-cn`) for mTLS.

Then start a service with `STC_TLS_CERT_FILE=DIR/server.pem STC_TLS_KEY_FILE=DIR/server-key.pem`
(plus `STC_TLS_CLIENT_CA_FILE=DIR/ca.pem` for mTLS) and point the CLI at it with
`STC_TLS_CA_FILE=DIR/ca.pem` (plus `STC_TLS_CLIENT_CERT_FILE` / `STC_TLS_CLIENT_KEY_FILE`).
Keys are ECDSA P-256, unencrypted, written with mode 0600.
"""

from __future__ import annotations

import argparse
import datetime as dt
import ipaddress
import os
import sys
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

DEFAULT_HOSTS = ("localhost", "127.0.0.1", "::1")


@dataclass(frozen=True)
class DevCerts:
    """Where the files of one generated set are."""

    ca: Path
    ca_key: Path
    server_cert: Path
    server_key: Path
    client_cert: Path
    client_key: Path


@dataclass(frozen=True)
class _Issued:
    cert: x509.Certificate
    key: ec.EllipticCurvePrivateKey


def _name(cn: str) -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "STC development (untrusted)"),
            x509.NameAttribute(NameOID.COMMON_NAME, cn),
        ]
    )


def _builder(subject: str, issuer: x509.Name, key, days: int) -> x509.CertificateBuilder:
    now = dt.datetime.now(dt.UTC)
    return (
        x509.CertificateBuilder()
        .subject_name(_name(subject))
        .issuer_name(issuer)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=days))
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
    )


def _key_usage(*, ca: bool) -> x509.KeyUsage:
    """Digital signatures always; signing certificates and CRLs only for a CA."""
    return x509.KeyUsage(
        digital_signature=True,
        key_cert_sign=ca,
        crl_sign=ca,
        content_commitment=False,
        key_encipherment=False,
        data_encipherment=False,
        key_agreement=False,
        encipher_only=False,
        decipher_only=False,
    )


def make_ca(cn: str = "STC development CA", days: int = 30) -> _Issued:
    """A self-signed CA that may sign leaf certificates only."""
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (
        _builder(cn, _name(cn), key, days)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            _key_usage(ca=True),
            critical=True,
        )
        .sign(key, hashes.SHA256())
    )
    return _Issued(cert, key)


def make_leaf(
    ca: _Issued, cn: str, *, server: bool, hosts: tuple[str, ...] = (), days: int = 30
) -> _Issued:
    """A server (serverAuth, SANs from `hosts`) or client (clientAuth) certificate."""
    key = ec.generate_private_key(ec.SECP256R1())
    builder = (
        _builder(cn, ca.cert.subject, key, days)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca.key.public_key()),
            critical=False,
        )
        .add_extension(
            _key_usage(ca=False),
            critical=True,
        )
        .add_extension(
            x509.ExtendedKeyUsage(
                [ExtendedKeyUsageOID.SERVER_AUTH if server else ExtendedKeyUsageOID.CLIENT_AUTH]
            ),
            critical=False,
        )
    )
    if hosts:
        builder = builder.add_extension(
            x509.SubjectAlternativeName([_san(h) for h in hosts]), critical=False
        )
    return _Issued(builder.sign(ca.key, hashes.SHA256()), key)


def _san(host: str) -> x509.GeneralName:
    try:
        return x509.IPAddress(ipaddress.ip_address(host))
    except ValueError:
        return x509.DNSName(host)


def _write(path: Path, data: bytes, *, secret: bool = False) -> Path:
    path.write_bytes(data)
    if secret:
        os.chmod(path, 0o600)
    return path


def _cert_pem(issued: _Issued) -> bytes:
    return issued.cert.public_bytes(serialization.Encoding.PEM)


def _key_pem(issued: _Issued) -> bytes:
    return issued.key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def write_dev_certs(
    out: Path,
    *,
    hosts: tuple[str, ...] = DEFAULT_HOSTS,
    server_cn: str = "localhost",
    client_cn: str = "stc-dev-client",
    days: int = 30,
) -> DevCerts:
    """Generate a CA, a server and a client certificate into `out` (created if missing)."""
    out.mkdir(parents=True, exist_ok=True)
    ca = make_ca(days=days)
    srv = make_leaf(ca, server_cn, server=True, hosts=hosts, days=days)
    cli = make_leaf(ca, client_cn, server=False, days=days)
    return DevCerts(
        ca=_write(out / "ca.pem", _cert_pem(ca)),
        ca_key=_write(out / "ca-key.pem", _key_pem(ca), secret=True),
        server_cert=_write(out / "server.pem", _cert_pem(srv)),
        server_key=_write(out / "server-key.pem", _key_pem(srv), secret=True),
        client_cert=_write(out / "client.pem", _cert_pem(cli)),
        client_key=_write(out / "client-key.pem", _key_pem(cli), secret=True),
    )


def main(argv: list[str] | None = None) -> int:
    """Command line entry point."""
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--out", type=Path, required=True, help="directory to write the PEM files to")
    p.add_argument(
        "--host",
        action="append",
        default=[],
        help="extra DNS name or IP address for the server certificate (repeatable)",
    )
    p.add_argument("--client-cn", default="stc-dev-client", help="client certificate CN")
    p.add_argument("--days", type=int, default=30, help="validity in days (default 30)")
    a = p.parse_args(argv)
    hosts = tuple(dict.fromkeys([*DEFAULT_HOSTS, *a.host]))
    certs = write_dev_certs(a.out, hosts=hosts, client_cn=a.client_cn, days=a.days)
    print(f"wrote a throwaway CA, server and client certificate to {a.out}")
    print(
        f"server (TLS):  STC_TLS_CERT_FILE={certs.server_cert} STC_TLS_KEY_FILE={certs.server_key}"
    )
    print(f"server (mTLS): also STC_TLS_CLIENT_CA_FILE={certs.ca}")
    print(f"CLI:           STC_TLS_CA_FILE={certs.ca}")
    print(
        f"CLI (mTLS):    also STC_TLS_CLIENT_CERT_FILE={certs.client_cert} "
        f"STC_TLS_CLIENT_KEY_FILE={certs.client_key}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
