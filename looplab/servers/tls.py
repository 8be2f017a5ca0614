"""HTTPS for looplab's servers: a certificate made at start-up, and the CA that clients trust.

A server started with ``--tls`` makes a throw-away certificate authority with ``trustme`` (a
well-kept library for exactly this), issues a certificate for its address from it, serves HTTPS
with that, and writes the CA certificate next to its port file. Clients trust it the usual way:
:func:`trust_bundle` writes a bundle of the system's CAs plus this one, for ``SSL_CERT_FILE`` (which
httpx, httpx2 and ``ssl.create_default_context`` read), so a new client loads a CA bundle of the
usual size, as it would in production; :func:`client_context` gives an ``ssl.SSLContext``. Nothing
ever turns verification off.
"""

from __future__ import annotations

import ssl
from pathlib import Path


def ca_file_for(port_file: Path) -> Path:
    """Where a server started with ``--tls`` writes its CA certificate: next to its port file."""
    return Path(f"{port_file}.ca.pem")


def make_server_certificate(host: str, folder: Path) -> tuple[Path, Path, Path]:
    """A new CA and a certificate for ``host`` signed by it: (CA certificate, server certificate chain, key)."""
    import trustme

    ca = trustme.CA()
    certificate = ca.issue_cert(host, "localhost", "127.0.0.1")
    folder.mkdir(parents=True, exist_ok=True)
    ca_path, chain_path, key_path = folder / "ca.pem", folder / "server-chain.pem", folder / "server-key.pem"
    ca.cert_pem.write_to_path(str(ca_path))
    certificate.private_key_pem.write_to_path(str(key_path))
    chain_path.write_bytes(b"".join(blob.bytes() for blob in certificate.cert_chain_pems))
    return ca_path, chain_path, key_path


def system_bundle() -> Path | None:
    """The system's CA bundle, as OpenSSL finds it."""
    import os

    for candidate in (os.environ.get("SSL_CERT_FILE"), ssl.get_default_verify_paths().openssl_cafile,
                      ssl.get_default_verify_paths().cafile):
        if candidate and Path(candidate).is_file():
            return Path(candidate)
    return None


def trust_bundle(ca_file: Path) -> Path:
    """A bundle of the system's CAs plus ``ca_file`` (written beside it), for ``SSL_CERT_FILE``."""
    bundle = ca_file.with_name(ca_file.stem + ".bundle.pem")
    system = system_bundle()
    bundle.write_text((system.read_text() if system else "") + "\n" + ca_file.read_text())
    return bundle


def client_context(ca_file: Path) -> ssl.SSLContext:
    """An SSL context that verifies a server of ours (and nothing else)."""
    return ssl.create_default_context(cafile=str(ca_file))
