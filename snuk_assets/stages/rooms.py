"""Room series: each room's bins, its motion and climate sensors combined bin by bin.

Rooms are combined one per group through the engine (``transforms.rooms.combine_sensors``);
each group also returns its summary rows (``SUMMARY_SCHEMA``), from which the asset's metadata
and picture come, so the written bins never pass through the driver.
"""

from __future__ import annotations

import datetime as dt
from functools import partial
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
import pyarrow as pa

from snuk_assets.stages.resample import picture_freq
from snuk_assets.transforms.rooms import combine_sensors, room_series_columns

if TYPE_CHECKING:
    from snuk_assets.engines import ComputeEngine, StageResult
    from snuk_assets.registry import BuildingRegistry
    from snuk_assets.settings import SnukSettings

SERIES_COLUMNS = [
    "room_id",
    "sensor_type",
    "bin_start",
    "value",
    "coverage",
    "idle_minutes",
    "date",
]


def combine_days(engine: ComputeEngine, settings: SnukSettings, days: list[dt.date]) -> StageResult:
    """Replace ``room_series`` for ``days``, one room per group.

    Its columns: ``SCHEMA``, plus a value and a coverage column for every further type among
    the registry's sensors (``co2``, ``people_count``, ...).
    """
    sensor_types = room_types(settings.registry())
    return engine.transform_partitions(
        settings.lakehouse(),
        source="resampled_series",
        source_dates=days,
        columns=SERIES_COLUMNS,
        key="room_id",
        fn=partial(
            combine_room,
            picture_freq=picture_freq(days, settings.bin_freq),
            sensor_types=sensor_types,
        ),
        output_schema=room_schema(sensor_types),
        summary_schema=SUMMARY_SCHEMA,
        target="room_series",
        target_dates=days,
    )


def room_types(registry: BuildingRegistry) -> list[str]:
    """The sensor types of the registry's sensors, sorted: what ``room_series`` carries."""
    return sorted(set(registry.sensors["sensor_type"]))


def room_schema(sensor_types: list[str]) -> pa.Schema:
    """``SCHEMA`` with a float64 value and coverage column for each further type, before
    ``date``."""
    extra = room_series_columns(sensor_types)[len(SCHEMA.names) - 1 :]
    return pa.schema(
        [*list(SCHEMA)[:-1], *((name, pa.float64()) for name in extra), SCHEMA.field("date")]
    )


def combine_room(
    series: pd.DataFrame, *, picture_freq: str, sensor_types: list[str] = ()
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """One room's sensor bins (``SERIES_COLUMNS``) to its ``room_schema`` rows and summary.

    The summary has one row per ``picture_freq`` interval: bins, occupied bins, bins without
    motion coverage and the mean occupancy (for the picture).
    """
    rooms = combine_sensors(series, sensor_types=sensor_types)
    if rooms.empty:  # the sensors without a room
        return rooms, pd.DataFrame(columns=SUMMARY_SCHEMA.names)
    rooms["date"] = rooms["bin_start"].dt.date
    occupancy = rooms["occupancy"]
    counts = pd.DataFrame(
        {
            "bins": np.ones(len(rooms), dtype=np.int64),
            "occupied": (occupancy > 0).astype(np.int64),
            "no_motion": occupancy.isna().astype(np.int64),
            "occupancy": occupancy,
        }
    )
    intervals = rooms["bin_start"].dt.floor(picture_freq).rename("picture_bin")
    summary = (
        counts.groupby([rooms["room_id"], intervals], sort=True)
        .agg({"bins": "sum", "occupied": "sum", "no_motion": "sum", "occupancy": "mean"})
        .reset_index()
    )
    summary["date"] = summary["picture_bin"].dt.date
    return rooms, summary


SCHEMA = pa.schema(
    [
        ("room_id", pa.string()),
        ("bin_start", pa.timestamp("us", tz="UTC")),
        ("occupancy", pa.float64()),
        ("temperature", pa.float64()),
        ("humidity", pa.float64()),
        ("luminosity", pa.float64()),
        ("idle_minutes", pa.float64()),
        ("occupancy_coverage", pa.float64()),
        ("temperature_coverage", pa.float64()),
        ("humidity_coverage", pa.float64()),
        ("luminosity_coverage", pa.float64()),
        ("date", pa.date32()),
    ]
)
# Per room and picture interval (the bins for a day or two, hours for longer ranges).
SUMMARY_SCHEMA = pa.schema(
    [
        ("room_id", pa.string()),
        ("date", pa.date32()),
        ("picture_bin", pa.timestamp("us", tz="UTC")),
        ("bins", pa.int64()),
        ("occupied", pa.int64()),
        ("no_motion", pa.int64()),
        ("occupancy", pa.float64()),
    ]
)
