"""The live service in a thread against a real Mosquitto, driven by a clock the test sets.

``Running`` publishes the batch building's observations up to a time, waits until the service
has received them all, and only then moves the clock (so no step closes a bin with part of
them); the outputs' and the commands' tests share it.
"""

from __future__ import annotations

import json
import pathlib
import shutil
import tempfile
import threading
import time
import urllib.request

import paho.mqtt.client as mqtt
import pandas as pd
from deltalake import DeltaTable
from live_building import PARITY_DAY
from ports import free_port, wait_for_port

from snuk_assets.control.audit import AUDIT_TABLE
from snuk_assets.live.api import create_app, serve
from snuk_assets.live.auth import Principal, TokenStore
from snuk_assets.live.service import LiveService, SetClock, parse_broker
from snuk_assets.settings import SnukSettings

DAY = pd.Timestamp(PARITY_DAY, tz="UTC")
FIRST = DAY + pd.Timedelta(hours=6)


def publish(broker, building, rows: pd.DataFrame) -> None:
    client = mqtt.Client(callback_api_version=mqtt.CallbackAPIVersion.VERSION2)
    client.max_inflight_messages_set(200)
    client.connect(*broker)
    client.loop_start()
    infos = [
        client.publish(
            f"snuk/{building}/sensors/{s}",
            json.dumps({"timestamp": int(t.value // 1_000_000), "value": float(v)}),
            qos=1,
        )
        for s, t, v in zip(rows["sensor_id"], rows["ts"], rows["value"], strict=True)
    ]
    for info in infos:
        info.wait_for_publish(timeout=60)
    client.loop_stop()
    client.disconnect()


OPERATOR_TOKEN = "operator-token-for-the-output-tests-0123456789"


def get(url: str, token: str | None = OPERATOR_TOKEN, *, method: str = "GET", body=None):
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    data = None
    if body is not None:
        data = json.dumps(body).encode()
        headers["Content-Type"] = "application/json"
    request = urllib.request.Request(url, headers=headers, data=data, method=method)
    with urllib.request.urlopen(request, timeout=10) as response:
        body = response.read()
        return (
            json.loads(body) if response.headers.get_content_type() == "application/json" else body
        )


def building_copy(source: SnukSettings) -> SnukSettings:
    """Settings on a fresh copy of ``source``'s landing zone and lakehouse (same registry)."""
    root = pathlib.Path(tempfile.mkdtemp(prefix="snuk-live-service-"))
    for part in ("landing", "lakehouse"):
        shutil.copytree(pathlib.Path(getattr(source, f"{part}_uri")), root / part)
    return SnukSettings(
        landing_uri=str(root / "landing"),
        lakehouse_uri=str(root / "lakehouse"),
        registry_path=source.registry_path,
    )


class Running:
    """``service_options`` go to ``LiveService``; ``tokens`` (token -> Principal) to the API
    (the operator token alone by default)."""

    def __init__(
        self,
        batch_building,
        mosquitto,
        *,
        client_id: str = "snuk-live-outputs",
        tokens: dict | None = None,
        **service_options,
    ):
        # Each service on its own copy of the batch building: a service writes its tables
        # (live_room_forecasts, the control audit with its enabled rooms) and archives into
        # the landing zone, and the session's other services and tests must not see them.
        self.settings = building_copy(batch_building.settings)
        self.observations = batch_building.observations
        self.broker = parse_broker(mosquitto)
        self.clock = SetClock(FIRST)
        self.service = LiveService(
            self.settings, self.broker, client_id=client_id, clock=self.clock, **service_options
        )
        self.building = self.settings.registry().building_id
        port = free_port()
        tokens = TokenStore.from_tokens(tokens or {OPERATOR_TOKEN: Principal("ops", "operator")})
        app = create_app(
            self.service.view,
            self.service.health,
            tokens=tokens,
            actuation=self.service.actuation,
        )
        self.server = serve(app, "127.0.0.1", port)
        self.url = f"http://127.0.0.1:{port}"
        wait_for_port(port)
        self.thread = threading.Thread(target=self.service.run, daemon=True)
        self.thread.start()
        time.sleep(1)  # subscribed
        self.published_until = FIRST

    def advance(self, until: pd.Timestamp, timeout: float = 60) -> None:
        """Publish the observations up to ``until + 30 s``, then set the clock there.

        The clock stays where it was (no new bin closes) until the service has received every
        message: otherwise a step between two of its batches would close the bins with only
        part of the rooms' observations, and the rest would count from the next bin on.
        """
        ts = self.observations["ts"]
        rows = self.observations[(ts >= self.published_until) & (ts < until + pd.Timedelta("30s"))]
        expected = self.service.archive.counts.received + len(rows)
        publish(self.broker, self.building, rows)
        deadline = time.monotonic() + timeout
        while self.service.archive.counts.received < expected:
            if time.monotonic() > deadline:
                raise AssertionError(f"the service received {self.service.archive.counts}")
            time.sleep(0.05)
        self.clock.when = until + pd.Timedelta("30s")
        self.published_until = until + pd.Timedelta("30s")

    def wait_for_bin(self, bin_start: pd.Timestamp, timeout: float = 60) -> list[dict]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            rooms = get(f"{self.url}/buildings/{self.building}/rooms")
            if any(r["bin_start"] == bin_start.isoformat() for r in rooms):
                return rooms
            time.sleep(0.2)
        raise AssertionError(f"no room reached {bin_start}: {rooms}")

    def stop(self):
        self.service.stop()
        self.thread.join(timeout=30)
        self.server.should_exit = True


ADMIN_TOKEN = "admin-token-for-the-live-command-tests-0123456789"


def actuating(batch_building, mosquitto, *, client_id: str, **service_options) -> Running:
    """A service with ``control="actuate"``, an admin (``ADMIN_TOKEN``) beside the operator."""
    tokens = {
        OPERATOR_TOKEN: Principal("ops", "operator"),
        ADMIN_TOKEN: Principal("ada", "admin"),
    }
    return Running(
        batch_building,
        mosquitto,
        client_id=client_id,
        tokens=tokens,
        control="actuate",
        **service_options,
    )


def enable(live: Running, room_id: str, reason: str) -> dict:
    """The admin enables ``room_id`` for actuation through the API; its audit row."""
    return get(
        f"{live.url}/buildings/{live.building}/rooms/{room_id}/actuation",
        ADMIN_TOKEN,
        method="PUT",
        body={"enabled": True, "reason": reason},
    )


class Commands:
    """Every message on the building's command topics (subscribed before the first bin)."""

    def __init__(self, broker, building: str):
        self.messages: list[tuple[str, dict]] = []
        self._lock = threading.Lock()
        self.client = mqtt.Client(callback_api_version=mqtt.CallbackAPIVersion.VERSION2)
        self.client.on_message = self._received
        self.client.connect(*broker)
        self.client.subscribe(f"snuk/{building}/rooms/+/command", qos=1)
        self.client.loop_start()

    def _received(self, client, userdata, msg) -> None:
        with self._lock:
            self.messages.append((msg.topic, json.loads(msg.payload)))

    def received(self) -> list[tuple[str, dict]]:
        with self._lock:
            return list(self.messages)

    def close(self) -> None:
        self.client.loop_stop()
        self.client.disconnect()


def audit_rows(lakehouse, issued_by: str) -> pd.DataFrame:
    """The commands a service (``issued_by``: its client id) audited, by bin and room."""
    if not lakehouse.exists(AUDIT_TABLE):
        return pd.DataFrame(columns=["issued_by", "action"])
    rows = DeltaTable(lakehouse.table_uri(AUDIT_TABLE)).to_pandas()
    rows = rows[(rows["issued_by"] == issued_by) & (rows["action"] == "command")]
    rows = rows.assign(bin_start=[json.loads(p)["bin_start"] for p in rows["payload"]])
    return rows.sort_values(["bin_start", "room_id"]).reset_index(drop=True)


def wait_until(condition, what: str, timeout: float = 60):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")
