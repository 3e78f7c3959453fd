"""How SNUK connects to its MQTT broker: TLS and a username and password from the environment.

``SNUK_MQTT_USERNAME``, ``SNUK_MQTT_PASSWORD`` and ``SNUK_MQTT_CA_FILE`` (the CA that signed the
broker's certificate) are read by ``MqttConnection.from_env``; in Dagster, hold them as
``MqttConnection(username=EnvVar("SNUK_MQTT_USERNAME"), ...)`` so the UI and the run config
show the variable's name, never its value. With a CA file, or a ``mqtts://`` broker URL, the
connection is TLS with the broker's certificate and host name verified. The broker's side
(password file, ACLs) is ``deploy/mosquitto/``.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from urllib.parse import urlparse

from dagster import ConfigurableResource
from pydantic import Field

from snuk_assets.environment import mqtt_credentials

TLS_PORT = 8883
PLAIN_PORT = 1883


class MqttConnection(ConfigurableResource):
    """Credentials and TLS for the broker; an empty username connects anonymously."""

    username: str = Field(default="", description="MQTT user (SNUK_MQTT_USERNAME).")
    password: str = Field(default="", description="Its password (SNUK_MQTT_PASSWORD).")
    ca_file: str = Field(
        default="",
        description="PEM file of the CA that signed the broker's certificate "
        "(SNUK_MQTT_CA_FILE); set, the connection is TLS.",
    )
    tls: bool = Field(default=False, description="TLS even without a CA file (system CAs).")

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> MqttConnection:
        account = mqtt_credentials(environ)
        return cls(username=account.username, password=account.password, ca_file=account.ca_file)

    @property
    def uses_tls(self) -> bool:
        return self.tls or bool(self.ca_file)

    def __repr__(self) -> str:  # never the password, whoever prints the object
        return f"MqttConnection(username={self.username!r}, ca_file={self.ca_file!r})"

    __str__ = __repr__

    def configure(self, client) -> None:
        """Set credentials and TLS on a ``paho.mqtt.client.Client`` before it connects."""
        if self.password and not self.username:
            raise ValueError("SNUK_MQTT_PASSWORD is set but SNUK_MQTT_USERNAME is not")
        if self.username:
            client.username_pw_set(self.username, self.password or None)
        if self.uses_tls:
            if self.ca_file and not os.path.isfile(self.ca_file):
                raise FileNotFoundError(f"SNUK_MQTT_CA_FILE {self.ca_file!r} is not a file")
            # Certificate and host name verified (paho's defaults); TLS 1.2 at least.
            import ssl

            client.tls_set(ca_certs=self.ca_file or None, tls_version=ssl.PROTOCOL_TLS_CLIENT)

    def client(self, client_id: str = "", **kwargs):
        """A paho client (MQTT 3.1.1 unless ``protocol`` says otherwise; callback API 2)
        configured with these credentials."""
        import paho.mqtt.client as mqtt

        client = mqtt.Client(
            callback_api_version=mqtt.CallbackAPIVersion.VERSION2, client_id=client_id, **kwargs
        )
        self.configure(client)
        return client


def persistent_session():
    """``connect()`` arguments of an MQTT 5 session the broker keeps while the client is away.

    MQTT 5 ends a session at the disconnect unless the client asks for a Session Expiry
    Interval; 0xFFFFFFFF is "never", what a 3.1.1 ``clean_session=False`` session gets (the
    broker's ``persistent_client_expiration`` may still cap it).
    """
    from paho.mqtt.packettypes import PacketTypes
    from paho.mqtt.properties import Properties

    properties = Properties(PacketTypes.CONNECT)
    properties.SessionExpiryInterval = 0xFFFFFFFF
    return {"clean_start": False, "properties": properties}


def parse_broker(url: str, *, tls: bool = False) -> tuple[str, int]:
    """``mqtt://HOST:PORT`` or ``mqtts://HOST:PORT`` -> ``(HOST, PORT)``; the port defaults to
    1883, or 8883 for ``mqtts://`` and ``tls``."""
    parsed = urlparse(url if "://" in url else f"mqtt://{url}")
    if parsed.scheme not in ("mqtt", "tcp", "mqtts", "ssl"):
        raise ValueError(f"--broker must be mqtt://HOST:PORT or mqtts://HOST:PORT, not {url!r}")
    secure = tls or parsed.scheme in ("mqtts", "ssl")
    return parsed.hostname or "127.0.0.1", parsed.port or (TLS_PORT if secure else PLAIN_PORT)


def is_tls_url(url: str) -> bool:
    return urlparse(url).scheme in ("mqtts", "ssl")
