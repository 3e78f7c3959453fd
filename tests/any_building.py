"""A building that is not the reference office: its registry and its sensors' readings.

Its sensor ids are UUIDs and names (``Room 2.14 CO2``), not the gateway's shape; its types come
from the registry: a CO2 sensor, a people counter (the room's occupancy), a door contact and a
type the registry declares itself (``voc``). Shared by the batch test
(tests/assets/test_any_building.py) and the live ones (tests/live/test_any_building_live.py).
"""

from __future__ import annotations

import datetime as dt
import json
import pathlib

import numpy as np
import pandas as pd
import yaml

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


def write_building(root: pathlib.Path, days: int = DAYS, *, seed: int = 15) -> pathlib.Path:
    """The registry (``root/building.yaml``, returned) and ``days`` days of readings from
    ``START`` in the landing zone (``root/landing``), one JSON-lines file a day in that day's
    arrival folder; the first day also holds ``BAD_LINES``."""
    registry = root / "building.yaml"
    registry.write_text(yaml.safe_dump(REGISTRY))
    rng = np.random.default_rng(seed)
    for offset in range(days):
        day = START + dt.timedelta(days=offset)
        folder = root / "landing" / "raw_data" / day.strftime("%Y/%m/%d")
        folder.mkdir(parents=True)
        rows = readings(day, rng) + (BAD_LINES if offset == 0 else [])
        (folder / "export.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    return registry
