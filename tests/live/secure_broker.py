"""A real Mosquitto run from ``deploy/mosquitto/mosquitto.prod.conf`` and ``acl``: TLS with
certificates made here (``cryptography``), a password file made by ``mosquitto_passwd``."""

from __future__ import annotations

import datetime as dt
import getpass
import ipaddress
import pathlib
import secrets
import shutil
import subprocess
from dataclasses import dataclass

REPO = pathlib.Path(__file__).resolve().parents[2]
BUILDING = "snuk-reference-office"  # the registry's building id: its gateway's username
OTHER_BUILDING = "other-building"


@dataclass(frozen=True)
class SecureBroker:
    host: str
    port: int
    ca_file: str
    passwords: dict[str, str]  # username -> password
    process: subprocess.Popen
    log: pathlib.Path

    @property
    def url(self) -> str:
        return f"mqtts://{self.host}:{self.port}"


def make_certificates(folder: pathlib.Path) -> dict[str, pathlib.Path]:
    """A CA and a server certificate for 127.0.0.1 and localhost, signed by it (PEM files)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    now = dt.datetime.now(dt.UTC)

    def name(common: str) -> x509.Name:
        return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common)])

    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca = (
        x509.CertificateBuilder()
        .subject_name(name("SNUK test CA"))
        .issuer_name(name("SNUK test CA"))
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(True, False, False, False, False, True, True, False, False),
            critical=True,
        )
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    server = (
        x509.CertificateBuilder()
        .subject_name(name("127.0.0.1"))
        .issuer_name(ca.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.IPAddress(ipaddress.ip_address("127.0.0.1")), x509.DNSName("localhost")]
            ),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .sign(ca_key, hashes.SHA256())
    )
    paths = {
        "ca": folder / "ca.crt",
        "cert": folder / "server.crt",
        "key": folder / "server.key",
    }
    paths["ca"].write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    paths["cert"].write_bytes(server.public_bytes(serialization.Encoding.PEM))
    paths["key"].write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    paths["key"].chmod(0o600)
    return paths


def write_password_file(path: pathlib.Path, passwords: dict[str, str]) -> None:
    binary = shutil.which("mosquitto_passwd") or "/usr/bin/mosquitto_passwd"
    for i, (user, password) in enumerate(passwords.items()):
        create = ["-c"] if i == 0 else []
        subprocess.run([binary, *create, "-b", str(path), user, password], check=True)


def broker_config(folder: pathlib.Path, port: int, certs: dict, passwd: pathlib.Path) -> str:
    """The deployed config with this test's port and paths, nothing else changed."""
    conf = (REPO / "deploy/mosquitto/mosquitto.prod.conf").read_text()
    replacements = {
        "listener 8883\n": f"listener {port} 127.0.0.1\n",
        "/etc/mosquitto/certs/server.crt": str(certs["cert"]),
        "/etc/mosquitto/certs/server.key": str(certs["key"]),
        "/etc/mosquitto/certs/ca.crt": str(certs["ca"]),
        "/etc/mosquitto/passwd": str(passwd),
        "/etc/mosquitto/snuk.acl": str(REPO / "deploy/mosquitto/acl"),
        "persistence true": "persistence false",
        "persistence_location /var/lib/mosquitto/\n": "",
    }
    for old, new in replacements.items():
        assert old in conf, f"deploy/mosquitto/mosquitto.prod.conf no longer has {old!r}"
        conf = conf.replace(old, new)
    # Run as root, mosquitto drops to the `mosquitto` user, which cannot read pytest's
    # private temporary folders; as anyone else this line changes nothing.
    return conf + f"user {getpass.getuser()}\n"


def new_passwords() -> dict[str, str]:
    return {user: secrets.token_urlsafe(18) for user in ("snuk", BUILDING, OTHER_BUILDING)}
