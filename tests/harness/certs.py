"""Generate the throwaway certificates the harness needs: a CA, server, client and token signer."""

from __future__ import annotations

import datetime
import ipaddress
from dataclasses import dataclass
from pathlib import Path
from typing import Optional, Sequence, Union

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

# Short validity keeps a leaked test certificate useless; a day of back-dating absorbs clock skew.
_VALIDITY = datetime.timedelta(days=7)
_BACKDATE = datetime.timedelta(days=1)


@dataclass(frozen=True)
class CertPaths:
    """PEM files written by `generate_certs`; every key is an unencrypted RSA key."""

    directory: Path
    ca_cert: Path
    ca_key: Path
    server_cert: Path
    server_key: Path
    client_cert: Path
    client_key: Path
    token_cert: Path
    token_key: Path


def _new_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def _name(common_name: str) -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "oras test harness"),
            x509.NameAttribute(NameOID.COMMON_NAME, common_name),
        ]
    )


def _builder(
    subject: x509.Name,
    issuer: x509.Name,
    key: rsa.RSAPrivateKey,
    issuer_key: rsa.RSAPrivateKey,
) -> x509.CertificateBuilder:
    now = datetime.datetime.now(datetime.timezone.utc)
    return (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - _BACKDATE)
        .not_valid_after(now + _VALIDITY)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer_key.public_key()),
            critical=False,
        )
    )


def _leaf(
    common_name: str,
    ca_name: x509.Name,
    ca_key: rsa.RSAPrivateKey,
    usage: x509.ObjectIdentifier,
    san: Optional[x509.SubjectAlternativeName] = None,
) -> tuple[x509.Certificate, rsa.RSAPrivateKey]:
    key = _new_key()
    builder = (
        _builder(_name(common_name), ca_name, key, ca_key)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=True,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=False,
                crl_sign=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.ExtendedKeyUsage([usage]), critical=False)
    )
    if san is not None:
        builder = builder.add_extension(san, critical=False)
    return builder.sign(ca_key, hashes.SHA256()), key


def _write(
    directory: Path, stem: str, cert: x509.Certificate, key: rsa.RSAPrivateKey
) -> tuple[Path, Path]:
    cert_path = directory / f"{stem}.crt"
    key_path = directory / f"{stem}.key"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    key_path.chmod(0o600)
    return cert_path, key_path


def generate_certs(directory: Union[str, Path], server_names: Sequence[str] = ()) -> CertPaths:
    """Write a CA, a server cert for 127.0.0.1/localhost, a client cert and a token signer.

    `server_names` are extra DNS names for the server cert (a local stand-in for a public host).
    """
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)

    ca_key = _new_key()
    ca_name = _name("oras test CA")
    ca_cert = (
        _builder(ca_name, ca_name, ca_key, ca_key)
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
        .sign(ca_key, hashes.SHA256())
    )
    server_san = x509.SubjectAlternativeName(
        [
            x509.IPAddress(ipaddress.ip_address("127.0.0.1")),
            x509.DNSName("localhost"),
            *(x509.DNSName(name) for name in server_names),
        ]
    )
    server_cert, server_key = _leaf(
        "127.0.0.1", ca_name, ca_key, ExtendedKeyUsageOID.SERVER_AUTH, server_san
    )
    client_cert, client_key = _leaf(
        "oras test client", ca_name, ca_key, ExtendedKeyUsageOID.CLIENT_AUTH
    )

    # The token signer is self-signed: Distribution only reads its public key from the
    # rootcertbundle to match the JWT `kid`, it never builds a chain for it.
    token_key = _new_key()
    token_name = _name("oras test token signer")
    token_cert = (
        _builder(token_name, token_name, token_key, token_key)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .sign(token_key, hashes.SHA256())
    )

    ca_paths = _write(directory, "ca", ca_cert, ca_key)
    server_paths = _write(directory, "server", server_cert, server_key)
    client_paths = _write(directory, "client", client_cert, client_key)
    token_paths = _write(directory, "token-signer", token_cert, token_key)
    return CertPaths(
        directory=directory,
        ca_cert=ca_paths[0],
        ca_key=ca_paths[1],
        server_cert=server_paths[0],
        server_key=server_paths[1],
        client_cert=client_paths[0],
        client_key=client_paths[1],
        token_cert=token_paths[0],
        token_key=token_paths[1],
    )
