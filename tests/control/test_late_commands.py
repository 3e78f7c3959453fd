"""A command issued while the broker is unreachable is never delivered late.

Against a real Mosquitto that keeps its sessions across a restart (``persistence true``, as
``deploy/mosquitto/`` runs it) and an actuator with a persistent QoS 1 session: the broker is
stopped, a command is issued for an enabled room, the broker is started again. Paho would keep
a QoS 1 message published without a connection and send it on the reconnect, and the broker
would hand it to the actuator, for a bin long over; ``live.control.mqtt_publisher`` does not
hand it to paho, and the audit says so (its ``publish_failed`` row). Every command carries
``valid_until``, its bin's end, after which a receiver ignores it (README: Live); from the
service's MQTT 5 client it also carries that validity as its message expiry, so the broker
drops a command it kept for an offline actuator once it is stale.
"""

from __future__ import annotations

import datetime as dt
import getpass
import json
import socket
import subprocess
import threading
import time

import numpy as np
import paho.mqtt.client as mqtt
import pandas as pd
import pyarrow.compute as pc
import pytest
from ci_components import HANG_GUARD_S, require
from deltalake import DeltaTable

from snuk_assets.control.audit import AUDIT_TABLE
from snuk_assets.control.commands import CommandIssuer
from snuk_assets.control.plant import RoomPlant
from snuk_assets.control.policies import Reactive, Situation
from snuk_assets.control.safety import Actuation
from snuk_assets.lakehouse import Lakehouse
from snuk_assets.live.broker import MqttConnection, persistent_session
from snuk_assets.live.control import command_outcomes, mqtt_publisher

require("mosquitto", why=".ci/run installs mosquitto")

BIN = dt.timedelta(minutes=5)
FIRST = dt.datetime(2016, 6, 27, 10, 0, tzinfo=dt.UTC)  # simulated time: the issuer's clock
ROOM = "b"


def wait_for(condition, what: str) -> None:
    deadline = time.monotonic() + HANG_GUARD_S  # a hang guard, not a timing assertion
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError(what)
        time.sleep(0.05)


class Broker:
    """Mosquitto on one loopback port, stopped and started again with its sessions kept."""

    def __init__(self, root):
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        self.config = root / "mosquitto.conf"
        self.config.write_text(
            f"listener {self.port} 127.0.0.1\nallow_anonymous true\n"
            f"persistence true\npersistence_location {root}/\n"
            # Started as root, mosquitto becomes this user, not "mosquitto" (which could not
            # write its sessions to the test's folder).
            f"user {getpass.getuser()}\n"
        )
        self.log = (root / "mosquitto.log").open("a")
        self.process = None

    def start(self) -> None:
        self.process = subprocess.Popen(
            ["mosquitto", "-c", str(self.config)], stdout=self.log, stderr=self.log
        )

        def listening() -> bool:
            with socket.socket() as s:
                return s.connect_ex(("127.0.0.1", self.port)) == 0

        wait_for(listening, f"mosquitto on port {self.port}")

    def stop(self) -> None:
        self.process.terminate()  # SIGTERM: mosquitto writes its sessions to disk
        self.process.wait(timeout=30)


class Client:
    """A paho client that reconnects by itself and counts its connections."""

    def __init__(
        self, port: int, client_id: str, *, subscribe: str | None = None, v5: bool = False
    ):
        # v5: as the live service connects (live/service.py), else a 3.1.1 device
        if v5:
            self.client = MqttConnection().client(client_id=client_id, protocol=mqtt.MQTTv5)
            session = persistent_session()
        else:
            self.client = MqttConnection().client(client_id=client_id, clean_session=False)
            session = {}
        self.client.reconnect_delay_set(min_delay=1, max_delay=1)
        self.connects = self.disconnects = self.subscribed = 0
        self.received: list[tuple[str, dict | str]] = []
        self.lock = threading.Lock()

        def on_connect(client, userdata, flags, reason_code, properties):
            self.connects += 1
            if subscribe:
                client.subscribe(subscribe, qos=1)

        def on_subscribe(client, userdata, mid, reason_codes, properties):
            self.subscribed += 1

        def on_disconnect(client, userdata, flags, reason_code, properties):
            self.disconnects += 1

        def on_message(client, userdata, msg):
            text = msg.payload.decode()
            with self.lock:
                self.received.append((msg.topic, json.loads(text) if "{" in text else text))

        self.client.on_connect, self.client.on_subscribe = on_connect, on_subscribe
        self.client.on_disconnect, self.client.on_message = on_disconnect, on_message
        self.client.connect("127.0.0.1", port, keepalive=5, **session)
        self.client.loop_start()

    def close(self) -> None:
        self.client.loop_stop()
        self.client.disconnect()


@pytest.fixture
def broker(tmp_path):
    broker = Broker(tmp_path)
    broker.start()
    yield broker
    if broker.process.poll() is None:
        broker.stop()


def commands_at(bin_start: dt.datetime, plant: RoomPlant):
    """An occupied room's commands (lights on), and an empty one's (lights off)."""
    situation = Situation(
        bin_start=pd.Timestamp(bin_start),
        bin_minutes=5,
        motion=np.array([1.0, 0.0]),
        idle_minutes=np.array([0.0, 60.0]),
        temperature_c=np.array([22.0, 22.0]),
        forecast=np.full((2, 12), np.nan),
    )
    return Reactive()(situation, plant)


def building_with_room_b_enabled(tmp_path) -> tuple[RoomPlant, Lakehouse, Actuation]:
    """Two offices, ``a`` and ``b``; an admin enabled actuation in ``b`` only."""
    plant = RoomPlant.from_rooms(
        pd.DataFrame({"room_id": ["a", ROOM], "kind": ["office"] * 2, "area_m2": [20, 20]})
    )
    lakehouse = Lakehouse(str(tmp_path / "lakehouse"))
    actuation = Actuation(lakehouse, "bldg")
    actuation.set(ROOM, True, by="admin-1", role="admin", reason="test", when=FIRST)
    return plant, lakehouse, actuation


def issue_commands(issuer, plant, bin_start: dt.datetime, valid_for: dt.timedelta = BIN):
    """The issuer's commands for ``bin_start``, issued at its start, valid for ``valid_for``."""
    return issuer.issue(
        commands_at(bin_start, plant),
        plant.room_ids,
        issued_at=bin_start,
        policy="reactive",
        bin_start=bin_start.isoformat(),
        valid_until=bin_start + valid_for,
    )


def test_a_command_issued_while_the_broker_is_down_is_audited_and_never_delivered(broker, tmp_path):
    plant, lakehouse, actuation = building_with_room_b_enabled(tmp_path)
    actuator = Client(broker.port, "actuator-bldg-b", subscribe="snuk/bldg/#")
    snuk = Client(broker.port, "snuk-late-commands")
    wait_for(lambda: actuator.subscribed == 1 and snuk.connects == 1, "both clients connected")
    issuer = CommandIssuer(
        "bldg",
        lakehouse,
        publisher=mqtt_publisher(snuk.client),
        actuation=actuation,
        dry_run=False,
    )

    issue_commands(issuer, plant, FIRST)
    wait_for(lambda: len(actuator.received) == 1, "the first command at the actuator")

    broker.stop()
    wait_for(lambda: snuk.disconnects == 1 and actuator.disconnects == 1, "both disconnected")
    # minutes before the broker is back: stale by then
    offline = issue_commands(issuer, plant, FIRST + BIN)
    broker.start()
    wait_for(lambda: snuk.connects == 2 and actuator.subscribed == 2, "both reconnected")
    snuk.client.publish("snuk/bldg/end", "marker", qos=1)  # after anything paho had queued
    wait_for(lambda: ("snuk/bldg/end", "marker") in actuator.received, "the marker")
    snuk.close()
    actuator.close()

    commands = [m for t, m in actuator.received if t.endswith("/command")]
    assert [m["bin_start"] for m in commands] == [FIRST.isoformat()]
    assert commands[0]["valid_until"] == (FIRST + BIN).isoformat()
    # The stale command's decision is in the audit: issued (sent to the publisher), then
    # publish_failed because there was no connection, so it was never queued.
    audit = DeltaTable(lakehouse.table_uri(AUDIT_TABLE)).to_pandas()
    mine = audit[(audit["room_id"] == ROOM) & (audit["action"] != "enable")]
    mine = mine.assign(bin_start=[json.loads(p)["bin_start"] for p in mine["payload"]])
    late = mine[mine["bin_start"] == (FIRST + BIN).isoformat()].sort_values("action")
    assert late[["action", "sent"]].values.tolist() == [
        ["command", True],
        ["publish_failed", False],
    ]
    why = late["not_sent_because"].iloc[1]
    assert "not connected to the broker" in why and "never sent late" in why
    assert command_outcomes(offline)["failed"] == 1


def test_the_broker_drops_a_command_that_went_stale_while_its_actuator_was_offline(
    broker, tmp_path
):
    plant, lakehouse, actuation = building_with_room_b_enabled(tmp_path)
    actuator = Client(broker.port, "actuator-bldg-b", subscribe="snuk/bldg/#")
    snuk = Client(broker.port, "snuk-expiry", v5=True)
    wait_for(lambda: actuator.subscribed == 1 and snuk.connects == 1, "both clients connected")
    actuator.close()  # offline: its persistent session keeps what arrives for it
    issuer = CommandIssuer(
        "bldg", lakehouse, publisher=mqtt_publisher(snuk.client), actuation=actuation, dry_run=False
    )

    issue_commands(issuer, plant, FIRST, dt.timedelta(seconds=1))  # its message expiry: 1 s
    time.sleep(2.5)  # the stale command's expiry passes while the actuator is away
    issue_commands(issuer, plant, FIRST + BIN)  # still valid when the actuator returns
    snuk.client.publish("snuk/bldg/end", "marker", qos=1)
    actuator = Client(broker.port, "actuator-bldg-b", subscribe="snuk/bldg/#")
    wait_for(lambda: ("snuk/bldg/end", "marker") in actuator.received, "the marker")
    snuk.close()
    actuator.close()

    commands = [m for t, m in actuator.received if t.endswith("/command")]
    # the session did queue for the actuator (the valid command came), the stale one was dropped
    assert [m["bin_start"] for m in commands] == [(FIRST + BIN).isoformat()]


def test_a_decision_for_a_bin_already_over_is_audited_as_expired_and_not_sent(tmp_path):
    plant, lakehouse, actuation = building_with_room_b_enabled(tmp_path)
    sent = []
    issued = CommandIssuer(
        "bldg",
        lakehouse,
        publisher=lambda topic, payload, _valid_for_s: sent.append(topic),
        actuation=actuation,
        dry_run=False,
    ).issue(
        commands_at(FIRST, plant),
        plant.room_ids,
        issued_at=FIRST + BIN + dt.timedelta(seconds=10),  # a step that ran late
        policy="reactive",
        bin_start=FIRST.isoformat(),
        valid_until=FIRST + BIN,
    )
    assert sent == []
    row = issued.filter(pc.equal(issued["room_id"], ROOM)).to_pylist()[0]
    assert row["sent"] is False
    until = (FIRST + BIN).isoformat()
    assert row["not_sent_because"] == f"expired before it was sent: valid until {until}"
    assert command_outcomes(issued)["expired"] == 2  # both rooms: expiry comes before enabling
