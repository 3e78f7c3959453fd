"""Out, every bin: the live Delta table, retained MQTT topics, the HTTP API and the live page.

The service runs in a thread against a real Mosquitto, on the batch building's models, with a
clock the test sets: observations are published, the clock moves past a bin's close, and each
output must show the new bin.
"""

from __future__ import annotations

import json
import time
import urllib.error

import paho.mqtt.client as mqtt
import pandas as pd
import pytest
from live_building import PARITY_DAY
from running import DAY, OPERATOR_TOKEN, Running, audit_rows, get

from snuk_assets.live.outputs import TABLE


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


def test_decisions_are_audited_as_a_dry_run_by_default(running):
    """Without ``control="actuate"`` each closed bin's decisions are audited, none sent."""
    rows = audit_rows(running.settings.lakehouse(), "snuk-live-outputs")
    assert len(rows) >= 3  # the first step's decisions, for every room
    assert rows["dry_run"].all() and not rows["sent"].any()
    assert set(rows["not_sent_because"]) == {"dry run"}
    commands = get(f"{running.url}/health", None)["commands"]
    assert commands["dry_run"] >= len(rows)  # counted once audited; /health read after
    assert commands["sent"] == commands["failed"] == 0
