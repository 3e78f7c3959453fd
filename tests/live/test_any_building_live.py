"""A building whose ids are UUIDs and names, live: typed by its registry, as the batch types it.

The building of tests/any_building.py (a people counter, a CO2 sensor, a type the registry
declares) replayed through the live step gives the batch's bins, room rows and forecasts (of
models that see the room's CO2: ``feature_lags``); the archive
accepts and refuses its messages as the batch ingest does; and the service, from a real
Mosquitto, takes the room's occupancy from the counter.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import signal
import time
import urllib.request

import paho.mqtt.client as mqtt
import pandas as pd
import pytest
from any_building import CO2, COUNTER, DOOR, MOTION, START, VOC, write_building
from pipeline_runs import materialize_days
from ports import free_port, wait_for_port
from test_mqtt import publish, start_service
from test_step import BIN_COLUMNS, assert_same, replay_day

from snuk_assets.assets.feature_windows import feature_windows
from snuk_assets.assets.occupancy_forecasts import occupancy_forecasts
from snuk_assets.assets.occupancy_models import occupancy_models
from snuk_assets.assets.raw_observations import raw_observations
from snuk_assets.assets.resampled_series import resampled_series
from snuk_assets.assets.room_series import room_series
from snuk_assets.landing import LandingZone
from snuk_assets.live.ingest import Archive, Message
from snuk_assets.live.step import building_config
from snuk_assets.registry import load_registry
from snuk_assets.settings import SnukSettings
from snuk_assets.transforms.rooms import room_series_columns

DAYS = 5
MODEL_DAY = START + dt.timedelta(days=2)  # trained on Monday .. Wednesday
PARITY_DAY = START + dt.timedelta(days=3)  # Thursday: its three days before written
# The models see the room's CO2 beside its occupancy: a declared type's lags, live too.
FEATURE_LAGS = {"occupancy": None, "idle_minutes": 3, "co2": 3}
UNREGISTERED = "Room 9.99 CO2"


@pytest.fixture(scope="module")
def any_batch(tmp_path_factory):
    """The building's first days through the batch pipeline, with models that see CO2."""
    root = tmp_path_factory.mktemp("any_building_live")
    settings = SnukSettings(
        landing_uri=str(root / "landing"),
        lakehouse_uri=str(root / "lakehouse"),
        registry_path=str(write_building(root, DAYS)),
    )
    last = START + dt.timedelta(days=DAYS - 1)
    materialize_days([raw_observations], settings, START, last)
    materialize_days([resampled_series, room_series, feature_windows], settings, START, last)
    config = {"ops": {"occupancy_models": {"config": {"feature_lags": FEATURE_LAGS}}}}
    materialize_days([occupancy_models], settings, MODEL_DAY, MODEL_DAY, config=config)
    materialize_days([occupancy_forecasts], settings, PARITY_DAY, PARITY_DAY)
    return settings


def test_the_live_step_types_by_the_registry_and_gives_the_batch_bins(any_batch):
    lakehouse = any_batch.lakehouse()
    kept = lakehouse.read("raw_observations").to_pandas()  # what the batch ingest accepted
    observations = pd.DataFrame(
        {
            "sensor_id": kept["sensor_id"].astype(str),
            "ts": pd.to_datetime(kept["ts"], utc=True),
            "value": kept["value"].astype(float),
        }
    ).sort_values(["ts", "sensor_id"], ignore_index=True)
    config = building_config(any_batch, PARITY_DAY, delay=pd.Timedelta(seconds=90))
    assert config.catalog.type_name(COUNTER) == "people_count"
    assert "co2_t" in config.models["2.14"].feature_names
    bins, rooms, forecasts, _ = replay_day(observations, config, PARITY_DAY)
    batch_bins = lakehouse.read("resampled_series", dates=[PARITY_DAY]).to_pandas()
    batch_rooms = lakehouse.read("room_series", dates=[PARITY_DAY]).to_pandas()
    assert set(bins["sensor_id"]) == {COUNTER, CO2, VOC, MOTION, DOOR}
    assert_same(bins, batch_bins, ["sensor_id", "bin_start"], BIN_COLUMNS)
    assert (
        bins.sort_values(["sensor_id", "bin_start"])["sensor_type"].to_numpy()
        == batch_bins.sort_values(["sensor_id", "bin_start"])["sensor_type"].to_numpy()
    ).all()
    # every numeric type of the room, as room_series carries it: co2, voc, people_count, ...
    columns = room_series_columns(config.room_types)[2:]
    assert {"co2", "voc", "people_count", "contact"} <= set(columns) <= set(rooms.columns)
    assert_same(rooms, batch_rooms, ["room_id", "bin_start"], columns)
    counted = rooms[rooms["room_id"] == "2.14"]
    assert counted["occupancy"].isin([0.0, 1.0]).all() and counted["occupancy"].sum() > 0
    # the batch's forecast of the day (its last complete window) is the live one
    batch = lakehouse.read("occupancy_forecasts", dates=[PARITY_DAY]).to_pandas()
    merged = batch.merge(
        forecasts, on=["room_id", "anchor_bin_start", "horizon"], suffixes=("", "_live")
    )
    assert set(merged["room_id"]) == {"2.14", "2.15"} and len(merged) == len(batch)
    difference = merged["occupied_probability"] - merged["occupied_probability_live"]
    assert difference.abs().max() <= 1e-9


def message(building: str, sensor: str, ts_ms: int, value: float, arrival_ms: int) -> Message:
    payload = json.dumps({"timestamp": ts_ms, "value": value}).encode()
    return Message(f"snuk/{building}/sensors/{sensor}", payload, arrival_ms)


def test_the_archive_accepts_registered_free_form_ids_and_refuses_as_the_batch(tmp_path):
    registry = load_registry(write_building(tmp_path, 0))
    (tmp_path / "landing").mkdir()
    landing = LandingZone.from_uri(str(tmp_path / "landing"))
    b = registry.building_id
    archive = Archive(
        landing,
        known_buildings=frozenset([b]),
        known_sensor_ids=registry.sensor_ids(),
        catalog=registry.catalog(),
    )
    now_ms = int(time.time() * 1000)
    messages = [
        message(b, COUNTER, now_ms - 2000, 2.0, now_ms),
        message(b, CO2, now_ms - 2000, 640.0, now_ms),
        message(b, VOC, now_ms - 2000, 70_000.0, now_ms),  # above the declared 60000 ppb
        message(b, UNREGISTERED, now_ms - 2000, 500.0, now_ms),
    ]
    result = archive.ingest(messages)
    assert sorted(result.observations[b]["sensor_id"].to_pylist()) == sorted([COUNTER, CO2])
    reasons = {json.loads(r["payload"])["value"]: r["reason"] for r in result.quarantined}
    assert reasons[70_000.0].startswith("value out of range: 70000.0 from voc sensor")
    assert reasons[500.0].startswith("unknown sensor type")
    # Without the registry's catalog a UUID has no type: what the live service did before.
    untyped = Archive(landing, name="untyped", known_buildings=frozenset([b]))
    refused = untyped.ingest([message(b, COUNTER, now_ms - 3000, 1.0, now_ms)]).quarantined
    assert [r["reason"].split(":")[0] for r in refused] == ["unknown sensor type"]


def retained_state(broker: str, topic: str, timeout: float = 30) -> dict:
    """The retained message on ``topic`` (a room's state), as JSON."""
    host, port = broker.removeprefix("mqtt://").split(":")
    got: list[bytes] = []
    client = mqtt.Client(callback_api_version=mqtt.CallbackAPIVersion.VERSION2)
    client.on_message = lambda _client, _userdata, msg: got.append(msg.payload)
    client.connect(host, int(port))
    client.subscribe(topic, qos=1)
    client.loop_start()
    deadline = time.monotonic() + timeout
    while not got and time.monotonic() < deadline:
        time.sleep(0.1)
    client.loop_stop()
    client.disconnect()
    assert got, f"no retained message on {topic}"
    return json.loads(got[-1])


@pytest.mark.slow
def test_the_service_takes_a_counted_rooms_occupancy_from_its_uuid_counter(mosquitto, tmp_path):
    registry = load_registry(write_building(tmp_path, 0))
    (tmp_path / "landing").mkdir()
    env = {
        **os.environ,
        "SNUK_LANDING_URI": str(tmp_path / "landing"),
        "SNUK_LAKEHOUSE_URI": str(tmp_path / "lakehouse"),
        "SNUK_REGISTRY": str(tmp_path / "building.yaml"),
    }
    b = registry.building_id
    # The last 30 minutes: two people in room 2.14 throughout, its CO2 every minute.
    end_ms = int(time.time() * 1000) // 60_000 * 60_000 - 60_000
    minutes = [end_ms - 60_000 * k for k in range(30, 0, -1)]
    readings = [(COUNTER, minutes[0], 2.0), (UNREGISTERED, minutes[0], 500.0)]
    readings += [(CO2, ts, 600.0 + k) for k, ts in enumerate(minutes)]
    port = free_port()
    service = start_service(env, mosquitto, port)
    try:
        wait_for_port(port, timeout=60)
        publish(
            mosquitto,
            [
                (f"snuk/{b}/sensors/{s}", json.dumps({"timestamp": ts, "value": v}).encode())
                for s, ts, v in readings
            ],
        )
        deadline = time.monotonic() + 60
        health = {}
        while time.monotonic() < deadline:
            health = json.loads(urllib.request.urlopen(f"http://127.0.0.1:{port}/health").read())
            if health["ingest"]["received"] == len(readings) and health["published"]:
                break
            time.sleep(0.2)
        state = retained_state(mosquitto, f"snuk/{b}/rooms/2.14/state")
    finally:
        service.send_signal(signal.SIGTERM)
        service.wait(timeout=30)
    assert health["ingest"]["accepted"] == len(readings) - 1
    assert health["ingest"]["quarantined"] == 1  # the unregistered id only
    assert health["bins_closed"] > 0
    assert state["occupied"] is True and state["occupancy"] == 1.0
