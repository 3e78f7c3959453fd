"""A small simulated building through the batch pipeline, its observations all on time.

The landing zone holds one JSON-lines file per measurement day in that day's folder (arrival =
measurement day: every observation on time), as the live service's archive writes them; the
batch tables and models come from the pipeline's own assets.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass

import pandas as pd
import pyarrow as pa

from snuk_assets.landing import LandingZone, day_folder
from snuk_assets.live.step import OBSERVATION_SCHEMA
from snuk_assets.simulate.observations import simulate_observations

# Two offices and an open space with eight motion sensors (a room of several sensors).
ROOMS = ["7101", "7103", "7104"]
START = dt.date(2016, 6, 1)  # a Wednesday
DAYS = 8
MODEL_DAY = dt.date(2016, 6, 6)  # Monday: trained on Wednesday .. Monday
PARITY_DAY = dt.date(2016, 6, 7)  # Tuesday


@dataclass(frozen=True)
class BatchBuilding:
    settings: object  # SnukSettings
    observations: pd.DataFrame  # sensor_id, ts (UTC), value: every simulated observation


def simulated_observations(registry, start: dt.date, days: int, seed: int) -> pd.DataFrame:
    """The simulator's observations (no files, no late uploads), sorted by time."""
    tables = list(simulate_observations(registry=registry, start=start, days=days, seed=seed))
    frame = pa.concat_tables(tables).to_pandas()
    out = pd.DataFrame(
        {
            "sensor_id": frame["sensor_id"].astype(str),
            "ts": pd.to_datetime(frame["timestamp_ms"], unit="ms", utc=True),
            "value": frame["value"].astype(float),
        }
    )
    return out.sort_values(["ts", "sensor_id"], kind="stable").reset_index(drop=True)


def write_on_time(landing: LandingZone, observations: pd.DataFrame) -> None:
    """One JSON-lines file per measurement day, in that day's arrival folder."""
    for day, rows in observations.groupby(observations["ts"].dt.date):
        lines = [
            json.dumps({"sensor_id": s, "timestamp": int(t.value // 1_000_000), "value": v})
            for s, t, v in zip(rows["sensor_id"], rows["ts"], rows["value"], strict=True)
        ]
        landing.write_bytes(f"{day_folder(day)}/on-time.jsonl", ("\n".join(lines) + "\n").encode())


def arrivals(observations: pd.DataFrame, source_file: str = "mqtt") -> pa.Table:
    """Observations as the live step takes them, on time: the arrival day is the measurement
    day."""
    return pa.table(
        {
            "sensor_id": observations["sensor_id"].to_numpy(),
            "ts": pa.array(observations["ts"], pa.timestamp("ms", tz="UTC")),
            "value": observations["value"].to_numpy(),
            "date": pa.array(observations["ts"].dt.date, pa.date32()),
            "source_file": pa.array([source_file] * len(observations), pa.string()),
        },
        schema=OBSERVATION_SCHEMA,
    )
