"""A building that is not the reference office, raw files to forecasts.

Its sensor ids are UUIDs and names (``Room 2.14 CO2``), not the gateway's shape; its types come
from the registry: a CO2 sensor, a people counter (the room's occupancy), a door contact and a
type the registry declares itself. Bad ids and a timestamp in seconds are quarantined, and the
counts add up.
"""

from __future__ import annotations

import datetime as dt
import json

import numpy as np
import pandas as pd
import pytest
import yaml
from pipeline_runs import materialize_days

from snuk_assets.assets.feature_windows import feature_windows
from snuk_assets.assets.model_metrics import model_metrics
from snuk_assets.assets.occupancy_forecasts import occupancy_forecasts
from snuk_assets.assets.occupancy_models import occupancy_models
from snuk_assets.assets.raw_observations import raw_observations
from snuk_assets.assets.resampled_series import resampled_series
from snuk_assets.assets.room_series import room_series
from snuk_assets.settings import SnukSettings

START = dt.date(2016, 6, 6)  # a Monday
DAYS = 10
COUNTER = "7f3c2a9e-0b1d-4e5f-8a6b-2c4d6e8f0a1b"
CO2 = "Room 2.14 CO2"
VOC = "Room 2.14 VOC"
MOTION = "c0ffee00-1111-4222-8333-444455556666"
DOOR = "Room 2.15 door"
REGISTRY = {
    "building_id": "any-building",
    "name": "Any building",
    "timezone": "Europe/Berlin",
    "floors": [{"floor": 2, "name": "Second"}],
    "rooms": [
        {"room_id": "2.14", "floor": 2, "name": "Room 2.14", "kind": "office", "area_m2": 20},
        {"room_id": "2.15", "floor": 2, "name": "Room 2.15", "kind": "office", "area_m2": 18},
    ],
    "sensor_types": [
        {
            "name": "voc",
            "signal_model": "linear",
            "unit": "ppb",
            "min_value": 0,
            "max_value": 60000,
            "max_gap": "30min",
        }
    ],
    "sensors": [
        {"sensor_id": COUNTER, "room_id": "2.14", "type": "people_count"},
        {"sensor_id": CO2, "room_id": "2.14", "type": "co2"},
        {"sensor_id": VOC, "room_id": "2.14", "type": "voc"},
        {"sensor_id": MOTION, "room_id": "2.15", "type": "motion"},
        {"sensor_id": DOOR, "room_id": "2.15", "type": "contact"},
    ],
}
# Not ids: a control character, only blanks. A timestamp in seconds, where ms are expected. An
# id that is neither registered nor of the gateway's shape has no type.
BAD_LINES = [
    {"sensor_id": "bell\u0007", "timestamp": 1465200000000, "value": 1.0},
    {"sensor_id": "   ", "timestamp": 1465200000000, "value": 1.0},
    {"sensor_id": CO2, "timestamp": 1465200000, "value": 500.0},
    {"sensor_id": "Room 9.99 CO2", "timestamp": 1465200000000, "value": 500.0},  # unregistered
]


def occupied_minutes(day: dt.date, rng: np.random.Generator) -> np.ndarray:
    """Per minute of ``day`` (UTC), how many people are in: weekdays 07:00-15:00 UTC."""
    count = np.zeros(1440, dtype=int)
    if day.weekday() < 5:
        arrive, leave = 420 + rng.integers(-30, 30), 900 + rng.integers(-30, 30)
        count[arrive:leave] = rng.integers(1, 4)
        lunch = 660 + rng.integers(-20, 20)
        count[lunch : lunch + 45] = 0
    return count


def readings(day: dt.date, rng: np.random.Generator) -> list[dict]:
    """One day of every sensor's readings, as JSON-lines records."""
    minute_ms = (pd.Timestamp(day, tz="UTC").value // 1_000_000) + 60_000 * np.arange(1440)
    count = occupied_minutes(day, rng)
    presence = occupied_minutes(day, rng) > 0
    rows = []
    changes = np.flatnonzero(np.diff(count, prepend=-1))
    rows += [
        {"sensor_id": COUNTER, "timestamp": int(minute_ms[i]), "value": float(count[i])}
        for i in changes
    ]
    co2 = 420 + np.cumsum(np.where(count > 0, 3.0, -3.0)).clip(0, 600)
    rows += [
        {"sensor_id": CO2, "timestamp": int(t), "value": float(v)}
        for t, v in zip(minute_ms, co2, strict=True)
    ]
    rows += [
        {"sensor_id": VOC, "timestamp": int(t), "value": float(v)}
        for t, v in zip(minute_ms[::5], 100 + co2[::5] / 2, strict=True)
    ]
    motion = presence & (rng.random(1440) < 0.8)
    changes = np.flatnonzero(np.diff(motion.astype(int), prepend=-1))
    rows += [
        {"sensor_id": MOTION, "timestamp": int(minute_ms[i]), "value": float(motion[i])}
        for i in changes
    ]
    door = np.zeros(1440, dtype=int)
    door[presence] = rng.random(presence.sum()) < 0.1
    changes = np.flatnonzero(np.diff(door, prepend=-1))
    rows += [
        {"sensor_id": DOOR, "timestamp": int(minute_ms[i]), "value": float(door[i])}
        for i in changes
    ]
    return rows


@pytest.fixture(scope="module")
def building(tmp_path_factory):
    root = tmp_path_factory.mktemp("any_building")
    registry = root / "building.yaml"
    registry.write_text(yaml.safe_dump(REGISTRY))
    rng = np.random.default_rng(15)
    for offset in range(DAYS):
        day = START + dt.timedelta(days=offset)
        folder = root / "landing" / "raw_data" / day.strftime("%Y/%m/%d")
        folder.mkdir(parents=True)
        rows = readings(day, rng) + (BAD_LINES if offset == 0 else [])
        (folder / "export.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    settings = SnukSettings(
        landing_uri=str(root / "landing"),
        lakehouse_uri=str(root / "lakehouse"),
        registry_path=str(registry),
    )
    last = START + dt.timedelta(days=DAYS - 1)
    ingest = materialize_days([raw_observations], settings, START, last)
    materialize_days([resampled_series, room_series, feature_windows], settings, START, last)
    materialize_days([occupancy_models, model_metrics, occupancy_forecasts], settings, last, last)
    return settings.lakehouse(), ingest, last


def test_bad_ids_and_second_timestamps_are_quarantined_and_the_counts_add_up(building):
    lakehouse, ingest, _ = building
    checks = {c.check_name: c.passed for c in ingest.get_asset_check_evaluations()}
    assert checks == {"rows_add_up": True, "known_sensors": True}
    reasons = lakehouse.read("quarantined_observations", dates=[START])["reason"].to_pylist()
    assert len(reasons) == 4
    assert sum(r.startswith("unknown sensor type") for r in reasons) == 1
    assert sum("invalid sensor id" in r and "control character" in r for r in reasons) == 1
    assert sum("invalid sensor id" in r and "empty after trimming" in r for r in reasons) == 1
    assert sum(r.startswith("too late") and "like seconds" in r for r in reasons) == 1
    kept = lakehouse.read("raw_observations", dates=[START]).to_pandas()
    assert {COUNTER, CO2, VOC, MOTION, DOOR} == set(kept["sensor_id"])


def test_room_series_carries_every_type_and_occupancy_comes_from_the_counter(building):
    lakehouse, _, _ = building
    rooms = lakehouse.read("room_series", dates=[START]).to_pandas().set_index("room_id")
    for column in ("co2", "voc", "people_count", "contact"):
        assert {column, f"{column}_coverage"} <= set(rooms.columns)
    counted = rooms.loc["2.14"]
    assert counted["co2"].between(400, 1100).all()
    assert counted["co2_coverage"].eq(1).all()
    # Occupied exactly where some count was above 0 in the bin.
    assert counted["occupancy"].isin([0.0, 1.0]).all()
    assert ((counted["occupancy"] > 0) == (counted["people_count"] > 0)).all()
    assert counted["occupancy"].sum() > 0
    moving = rooms.loc["2.15"]  # occupancy from its motion sensor: ON shares
    assert moving["occupancy"].between(0, 1).all() and moving["people_count"].isna().all()
    assert moving["contact"].between(0, 1).all()


def test_every_room_is_trained_and_forecast(building):
    lakehouse, _, last = building
    models = lakehouse.read("occupancy_models", dates=[last]).to_pandas()
    assert dict(zip(models["room_id"], models["status"], strict=True)) == {
        "2.14": "trained",
        "2.15": "trained",
    }
    metrics = lakehouse.read("model_metrics", dates=[last]).to_pandas()
    assert set(metrics["model"]) == {"random_forest", "persistence", "time_of_week"}
    forecasts = lakehouse.read("occupancy_forecasts", dates=[last]).to_pandas()
    assert set(forecasts["room_id"]) == {"2.14", "2.15"}
