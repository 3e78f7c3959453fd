"""Out, every bin: the live Delta table, retained MQTT topics, the HTTP API and the live page.

The service runs in a thread against a real Mosquitto, on the batch building's models, with a
clock the test sets: observations are published, the clock moves past a bin's close, and each
output must show the new bin.
"""

from __future__ import annotations

import json
import threading
import time
import urllib.request

import paho.mqtt.client as mqtt
import pandas as pd
import pytest
from conftest import free_port, wait_for_port
from live_building import PARITY_DAY

from snuk_assets.live.api import create_app, serve
from snuk_assets.live.auth import Principal, TokenStore
from snuk_assets.live.outputs import TABLE
from snuk_assets.live.service import LiveService, SetClock, parse_broker

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


def get(url: str, token: str | None = OPERATOR_TOKEN):
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    with urllib.request.urlopen(
        urllib.request.Request(url, headers=headers), timeout=10
    ) as response:
        body = response.read()
        return (
            json.loads(body) if response.headers.get_content_type() == "application/json" else body
        )


class Running:
    def __init__(self, batch_building, mosquitto):
        self.settings = batch_building.settings
        self.observations = batch_building.observations
        self.broker = parse_broker(mosquitto)
        self.clock = SetClock(FIRST)
        self.service = LiveService(
            self.settings, self.broker, client_id="snuk-live-outputs", clock=self.clock
        )
        self.building = self.settings.registry().building_id
        port = free_port()
        tokens = TokenStore.from_tokens({OPERATOR_TOKEN: Principal("ops", "operator")})
        self.server = serve(create_app(self.service.view, tokens=tokens), "127.0.0.1", port)
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


@pytest.fixture(scope="module")
def running(batch_building, mosquitto):
    live = Running(batch_building, mosquitto)
    # the morning from 06:00 (the first step closes the bins up to 07:55 at once)
    live.advance(DAY + pd.Timedelta(hours=8))
    live.wait_for_bin(DAY + pd.Timedelta(hours=7, minutes=55))
    yield live
    live.stop()


def test_api_rooms_and_forecast(running):
    rooms = get(f"{running.url}/buildings/{running.building}/rooms")
    latest = (DAY + pd.Timedelta(hours=7, minutes=55)).isoformat()
    with_forecast = [r for r in rooms if r["forecast"]]
    assert len(with_forecast) >= 2
    for room in with_forecast:
        assert room["bin_start"] == latest
        assert isinstance(room["occupied"], bool)
        assert [f["horizon"] for f in room["forecast"]] == list(range(1, 13))
        assert all(0 <= f["probability"] <= 1 for f in room["forecast"])
        assert room["forecast"][0]["bin_start"] == (DAY + pd.Timedelta(hours=8)).isoformat()
    room_id = with_forecast[0]["room_id"]
    one = get(f"{running.url}/buildings/{running.building}/rooms/{room_id}/forecast")
    assert one["forecast"] == with_forecast[0]["forecast"]
    health = get(f"{running.url}/health")
    assert health["status"] == "ok" and health["latest_bin"][running.building] == latest
    openapi = get(f"{running.url}/openapi.json")
    assert "/buildings/{building_id}/rooms/{room_id}/forecast" in openapi["paths"]
    assert b"swagger" in get(f"{running.url}/docs").lower()
    with pytest.raises(urllib.error.HTTPError) as missing:
        get(f"{running.url}/buildings/nowhere/rooms")
    assert missing.value.code == 404


def test_retained_mqtt_state_and_forecast(running):
    received: dict[str, dict] = {}
    client = mqtt.Client(callback_api_version=mqtt.CallbackAPIVersion.VERSION2)
    client.on_message = lambda c, u, msg: received.__setitem__(msg.topic, json.loads(msg.payload))
    client.connect(*running.broker)
    client.subscribe(f"snuk/{running.building}/rooms/#", qos=1)
    client.loop_start()

    # Retained messages come in the broker's order: wait for every room's state and a forecast.
    def complete() -> bool:
        topics = list(received)
        states = sum(t.endswith("/state") for t in topics)
        return states == 3 and any(t.endswith("/forecast") for t in topics)

    deadline = time.monotonic() + 20
    while time.monotonic() < deadline and not complete():
        time.sleep(0.1)
    client.loop_stop()
    client.disconnect()
    states = {t: m for t, m in received.items() if t.endswith("/state")}
    forecasts = {t: m for t, m in received.items() if t.endswith("/forecast")}
    assert len(states) == 3  # every room, retained: this subscriber came after the publish
    assert forecasts and all(len(m["forecast"]) == 12 for m in forecasts.values())


def test_live_table_gets_each_bin_and_the_page_moves(running, browser):
    lakehouse = running.settings.lakehouse()
    before = lakehouse.read(TABLE, dates=[PARITY_DAY]).to_pandas()
    assert before["anchor_bin_start"].max() == DAY + pd.Timedelta(hours=7, minutes=55)
    page = browser.new_page()
    page.goto(running.url + "/")
    page.fill("#token", OPERATOR_TOKEN)  # the page asks for a token first
    page.click("#sign-in")
    page.wait_for_function("document.querySelectorAll('.tile').length === 3")
    first = page.get_attribute("#status", "data-latest")
    assert first == (DAY + pd.Timedelta(hours=7, minutes=55)).isoformat()
    # one more bin: 08:00 .. 08:05 closes at 08:05:30
    running.advance(DAY + pd.Timedelta(hours=8, minutes=5))
    moved = (DAY + pd.Timedelta(hours=8)).isoformat()
    page.wait_for_function(
        f"document.querySelector('#status').dataset.latest === '{moved}'", timeout=30_000
    )
    tiles = page.locator(".tile.occupied, .tile.free").count()
    assert tiles == 3
    after = lakehouse.read(TABLE, dates=[PARITY_DAY]).to_pandas()
    assert after["anchor_bin_start"].max() == DAY + pd.Timedelta(hours=8)
    assert len(after) > len(before)
    page.close()


def test_files_too_gateway_uploads_are_followed(running):
    """A gateway file landing in today's folder reaches the live step (it is not archived)."""
    landing = running.settings.landing()
    when = running.clock.when - pd.Timedelta("10s")  # measured after the open bin's start
    sensor = sorted(running.settings.registry().sensor_ids())[0]
    ms = int(when.value // 1_000_000)
    lines = [f"sensor_id='{sensor}', timestamp={ms + k}, value=1.0," for k in range(3)]
    lines.append("garbage")
    path = f"raw_data/{when:%Y/%m/%d}/gateway-7-upload.txt"
    landing.write_bytes(path, ("\n".join(lines) + "\n").encode())
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and running.service.stats["files_followed"] < 1:
        time.sleep(0.2)
    assert running.service.stats["files_followed"] == 1
    assert running.service.stats["observations_followed"] == 3
    time.sleep(0.5)
    state = running.service.states[running.building].observations
    assert path in set(state["source_file"].to_pylist())
