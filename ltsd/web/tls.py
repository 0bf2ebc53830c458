"""HTTPS for the page: the user's certificate, or a self-signed one made once and kept.

Browsers lend a page their camera only on localhost or over HTTPS, so a phone on the LAN needs
this. The self-signed certificate names this machine's host name, localhost and its addresses;
the browser asks once to trust it.
"""

from __future__ import annotations

import datetime
import ipaddress
import os
import socket
import ssl
from pathlib import Path

from ltsd.config import WebConfig
from ltsd.errors import ConfigError

VALID_DAYS = 825  # the longest validity Apple's platforms accept for a server certificate


def tls_folder() -> Path:
    base = os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share"
    return Path(base) / "ltsd" / "tls"


def server_context(config: WebConfig) -> ssl.SSLContext:
    """An SSL context for the page's HTTPS site; a bad certificate or key is one ConfigError."""
    if bool(config.tls_cert) != bool(config.tls_key):
        raise ConfigError("web.tls_cert and web.tls_key: give both (or neither: self-signed)")
    if config.tls_cert:
        cert, key = Path(config.tls_cert), Path(config.tls_key)
    else:
        cert, key = self_signed(tls_folder())
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    try:
        context.load_cert_chain(cert, key)
    except (OSError, ssl.SSLError) as error:
        reason = getattr(error, "strerror", None) or getattr(error, "reason", None) or error
        raise ConfigError(f"web.tls_cert {cert}: cannot use it with its key ({reason})") from None
    return context


def self_signed(folder: Path) -> tuple[Path, Path]:
    """(certificate, key) in `folder`, made now if they are not there yet."""
    cert, key = folder / "ltsd-cert.pem", folder / "ltsd-key.pem"
    if cert.exists() and key.exists():
        return cert, key
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    host = socket.gethostname()
    names: list[x509.GeneralName] = [x509.DNSName("localhost"), x509.DNSName(host)]
    if "." not in host:
        names.append(x509.DNSName(f"{host}.local"))
    for address in {"127.0.0.1", *lan_addresses()}:
        names.append(x509.IPAddress(ipaddress.ip_address(address)))
    private = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, f"ltsd on {host}")])
    now = datetime.datetime.now(datetime.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(private.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=VALID_DAYS))
        .add_extension(x509.SubjectAlternativeName(names), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .sign(private, hashes.SHA256())
    )
    folder.mkdir(parents=True, exist_ok=True)
    key.write_bytes(private.private_bytes(serialization.Encoding.PEM,
                                          serialization.PrivateFormat.PKCS8,
                                          serialization.NoEncryption()))  # fmt: skip
    key.chmod(0o600)
    cert.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    return cert, key


def lan_addresses() -> list[str]:
    """This machine's address toward the LAN (no packet is sent), when it has one."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        try:
            probe.connect(("10.255.255.255", 1))
            address = probe.getsockname()[0]
        except OSError:
            return []
    return [] if ipaddress.ip_address(address).is_loopback else [address]
