"""The broker as deployed (deploy/mosquitto/): TLS, passwords and ACLs refuse what they must.

A real Mosquitto runs ``mosquitto.prod.conf`` and ``acl`` with certificates and a password
file made by the test. MQTT 5 clients are told when the broker refuses a publish (PUBACK
"not authorized"); a subscriber with the right to read shows the message never arrived.
"""

from __future__ import annotations

import json
import ssl
import threading
import time

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.reasoncodes import ReasonCode
from secure_broker import BUILDING, OTHER_BUILDING

from snuk_assets.live.broker import MqttConnection
from snuk_assets.live.service import LiveService
from snuk_assets.settings import SnukSettings

NOT_AUTHORIZED = 135  # MQTT 5 reason code


def connection(broker, user: str | None, password: str | None = None, **kwargs):
    if user is None:
        return MqttConnection(ca_file=broker.ca_file, **kwargs)
    password = broker.passwords[user] if password is None else password
    return MqttConnection(username=user, password=password, ca_file=broker.ca_file, **kwargs)


def connect(broker, conn: MqttConnection, *, v5: bool = True) -> mqtt.Client:
    """A connected client (MQTT 5 unless told); raises if the broker refuses."""
    protocol = mqtt.MQTTv5 if v5 else mqtt.MQTTv311
    client = conn.client(protocol=protocol)
    outcome: dict = {}
    done = threading.Event()

    def on_connect(client, userdata, flags, reason_code, properties):
        outcome["rc"] = reason_code
        done.set()

    client.on_connect = on_connect
    client.connect(broker.host, broker.port)
    client.loop_start()
    assert done.wait(20), "no CONNACK"
    if outcome["rc"].is_failure:
        client.loop_stop()
        raise ConnectionRefusedError(str(outcome["rc"]))
    return client


def subscribe(client: mqtt.Client, topic: str) -> list:
    received: list = []
    subscribed = threading.Event()
    client.on_message = lambda c, u, msg: received.append((msg.topic, msg.payload))
    client.on_subscribe = lambda *args: subscribed.set()
    client.subscribe(topic, qos=1)
    assert subscribed.wait(10)
    return received


def publish(client: mqtt.Client, topic: str, payload: str) -> ReasonCode:
    """Publish at QoS 1 and return the broker's PUBACK reason code."""
    codes: dict = {}
    acked = threading.Event()

    def on_publish(client, userdata, mid, reason_code, properties):
        codes[mid] = reason_code
        acked.set()

    client.on_publish = on_publish
    info = client.publish(topic, payload, qos=1)
    assert acked.wait(10), "no PUBACK"
    return codes[info.mid]


def until(predicate, timeout: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    return predicate()


def test_no_entry_without_a_password_tls_and_the_right_ca(secure_mosquitto, tmp_path):
    broker = secure_mosquitto
    with pytest.raises(ConnectionRefusedError):  # anonymous
        connect(broker, connection(broker, None))
    with pytest.raises(ConnectionRefusedError):  # a wrong password
        connect(broker, connection(broker, "snuk", password="guess"))
    # Plain MQTT on the TLS port: no CONNACK, the broker drops the connection.
    plain = mqtt.Client(callback_api_version=mqtt.CallbackAPIVersion.VERSION2)
    plain.username_pw_set("snuk", broker.passwords["snuk"])
    connected = threading.Event()
    plain.on_connect = lambda *args: connected.set()
    plain.connect(broker.host, broker.port)
    plain.loop_start()
    assert not connected.wait(3)
    plain.loop_stop()
    # A client that does not trust the test CA refuses the broker's certificate.
    with pytest.raises(ssl.SSLError):
        connect(broker, MqttConnection(username="snuk", password="x", tls=True))
    ok = connect(broker, connection(broker, "snuk"))  # the right credentials pass
    ok.disconnect()


def test_the_broker_refuses_a_forged_command(secure_mosquitto):
    broker = secure_mosquitto
    topic = f"snuk/{BUILDING}/rooms/7103/command"
    # The building's actuator controller (its gateway account) listens for its commands.
    actuator = connect(broker, connection(broker, BUILDING))
    received = subscribe(actuator, f"snuk/{BUILDING}/rooms/+/command")
    forged = json.dumps({"room_id": "7103", "lights": False, "hvac_mode": "setback"})
    for forger in (OTHER_BUILDING, BUILDING):  # another building's account, and its own
        client = connect(broker, connection(broker, forger))
        assert publish(client, topic, forged) == NOT_AUTHORIZED, forger
        client.disconnect()
    snuk = connect(broker, connection(broker, "snuk"))
    assert not publish(snuk, topic, json.dumps({"room_id": "7103", "from": "snuk"})).is_failure
    assert until(lambda: len(received) >= 1)
    time.sleep(0.5)  # a forged message that slipped through would have arrived before it
    assert [json.loads(payload)["from"] for _, payload in received] == ["snuk"]
    # ... and one building's account cannot even listen to another's commands.
    eavesdropper = connect(broker, connection(broker, OTHER_BUILDING))
    overheard = subscribe(eavesdropper, f"snuk/{BUILDING}/rooms/+/command")
    publish(snuk, topic, json.dumps({"room_id": "7103", "from": "snuk"}))
    assert until(lambda: len(received) >= 2)
    time.sleep(0.5)
    assert overheard == []
    for client in (actuator, snuk, eavesdropper):
        client.disconnect()


def test_a_gateway_publishes_only_its_own_buildings_sensors(secure_mosquitto):
    broker = secure_mosquitto
    snuk = connect(broker, connection(broker, "snuk"))
    received = subscribe(snuk, "snuk/+/sensors/#")
    gateway = connect(broker, connection(broker, BUILDING))
    reading = json.dumps({"timestamp": 1, "value": 1.0})
    assert publish(gateway, f"snuk/{OTHER_BUILDING}/sensors/1-2-3-4-m", reading) == NOT_AUTHORIZED
    assert publish(gateway, f"snuk/{BUILDING}/rooms/7103/state", reading) == NOT_AUTHORIZED
    assert not publish(gateway, f"snuk/{BUILDING}/sensors/1-2-3-4-m", reading).is_failure
    assert until(lambda: len(received) >= 1)
    time.sleep(0.5)
    assert [topic for topic, _ in received] == [f"snuk/{BUILDING}/sensors/1-2-3-4-m"]
    gateway.disconnect()
    snuk.disconnect()


def test_the_live_service_over_tls_with_its_credentials(secure_mosquitto, tmp_path, small_registry):
    """SNUK's user subscribes over TLS and archives what the building's gateway publishes."""
    broker = secure_mosquitto
    settings = SnukSettings(
        landing_uri=str(tmp_path / "landing"),
        lakehouse_uri=str(tmp_path / "lakehouse"),
        registry_path=small_registry(tmp_path / "building.yaml", ["7103"]),
    )
    (tmp_path / "landing").mkdir()
    registry = settings.registry()
    assert registry.building_id == BUILDING
    service = LiveService(
        settings,
        (broker.host, broker.port),
        client_id="snuk-live-tls",
        connection=MqttConnection.from_env(
            {
                "SNUK_MQTT_USERNAME": "snuk",
                "SNUK_MQTT_PASSWORD": broker.passwords["snuk"],
                "SNUK_MQTT_CA_FILE": broker.ca_file,
            }
        ),
        write_table=False,
        on_report=lambda *args: None,
        flush=__import__("pandas").Timedelta(0),
    )
    thread = threading.Thread(target=service.run, daemon=True)
    thread.start()
    try:
        assert service._connected.wait(20), "the service did not get through TLS and login"
        gateway = connect(broker, connection(broker, BUILDING), v5=False)
        now_ms = int(time.time() * 1000) - 60_000
        sensors = sorted(registry.sensor_ids())
        for i, sensor in enumerate(sensors):
            value = 1.0 if sensor.endswith("-m") else 21.0
            payload = json.dumps({"timestamp": now_ms + i, "value": value})
            gateway.publish(f"snuk/{BUILDING}/sensors/{sensor}", payload, qos=1).wait_for_publish(
                10
            )
        gateway.disconnect()
        assert until(lambda: service.archive.counts.accepted == len(sensors), timeout=30)
        assert service.archive.counts.quarantined == 0
    finally:
        service.stop()
        thread.join(timeout=30)


def test_credentials_come_from_the_environment_and_never_print(monkeypatch):
    from dagster import EnvVar

    monkeypatch.setenv("SNUK_MQTT_USERNAME", "snuk")
    monkeypatch.setenv("SNUK_MQTT_PASSWORD", "s3cret-for-the-test")
    held = MqttConnection(
        username=EnvVar("SNUK_MQTT_USERNAME"), password=EnvVar("SNUK_MQTT_PASSWORD")
    )
    resolved = held.process_config_and_initialize()  # as Dagster does for a run
    assert (resolved.username, resolved.password) == ("snuk", "s3cret-for-the-test")
    assert "s3cret" not in repr(resolved) and "s3cret" not in str(MqttConnection.from_env())
