"""The ``room_series`` asset: each room's bins, its motion and climate sensors combined.

Rooms are combined one per group through the ``engine`` resource; the metadata comes from each
room's summary rows (``SUMMARY_SCHEMA``), not from the written bins.
"""

import datetime as dt
from functools import partial

import numpy as np
import pandas as pd
import pyarrow as pa
from dagster import AssetExecutionContext, BackfillPolicy, MaterializeResult, MetadataValue, asset

from snuk_assets.assets.resampled_series import picture_freq
from snuk_assets.engines import ComputeEngine, StageResult
from snuk_assets.partitions import daily_partitions, partition_dates
from snuk_assets.pictures import png_markdown, room_heatmap
from snuk_assets.settings import SnukSettings
from snuk_assets.transforms.rooms import room_series as combine_rooms

SERIES_COLUMNS = [
    "room_id",
    "sensor_type",
    "bin_start",
    "value",
    "coverage",
    "idle_minutes",
    "date",
]


@asset(
    deps=["resampled_series"],
    partitions_def=daily_partitions,
    backfill_policy=BackfillPolicy.single_run(),
    group_name="features",
    kinds={"delta"},
)
def room_series(
    context: AssetExecutionContext, settings: SnukSettings, engine: ComputeEngine
) -> MaterializeResult:
    """Per room and bin: occupancy (max motion ON share), mean climate, and their coverage."""
    days = partition_dates(context.partition_keys)
    result = combine_days(engine, settings, days)
    summary = result.summary
    per_room = summary.groupby("room_id")[["bins", "no_motion"]].sum()
    no_motion = per_room["no_motion"] / per_room["bins"]
    bins = int(summary["bins"].sum())
    pictures = {}
    if bins:
        heatmap = room_heatmap(
            summary.rename(columns={"picture_bin": "bin_start"}),
            value="occupancy",
            title=f"Occupancy per room, {days[0]} .. {days[-1]}",
            label="occupied share of bin (blank: no motion coverage)",
        )
        pictures["occupancy_by_room"] = MetadataValue.md(
            png_markdown(heatmap, alt="occupancy per room and bin")
        )
    return MaterializeResult(
        metadata={
            **pictures,
            "dagster/row_count": result.write.rows,
            "rooms": int(summary["room_id"].nunique()),
            "occupied_bin_share": int(summary["occupied"].sum()) / bins if bins else 0.0,
            "bins_without_motion_coverage": MetadataValue.json(
                {room: round(float(share), 4) for room, share in no_motion.items() if share > 0}
            ),
            "occupancy_estimator": "max over the room's motion sensors of the ON share "
            "(a lower bound of the union)",
            "table_uri": MetadataValue.path(result.write.table_uri),
            "delta_version": result.write.version,
        }
    )


def combine_days(engine: ComputeEngine, settings: SnukSettings, days: list[dt.date]) -> StageResult:
    """Replace ``room_series`` for ``days``, one room per group."""
    return engine.transform_partitions(
        settings.lakehouse(),
        source="resampled_series",
        source_dates=days,
        columns=SERIES_COLUMNS,
        key="room_id",
        fn=partial(combine_room, picture_freq=picture_freq(days, settings.bin_freq)),
        output_schema=SCHEMA,
        summary_schema=SUMMARY_SCHEMA,
        target="room_series",
        target_dates=days,
    )


def combine_room(series: pd.DataFrame, *, picture_freq: str) -> tuple[pd.DataFrame, pd.DataFrame]:
    """One room's sensor bins (``SERIES_COLUMNS``) to its ``SCHEMA`` rows and summary.

    The summary has one row per ``picture_freq`` interval: bins, occupied bins, bins without
    motion coverage and the mean occupancy (for the picture).
    """
    rooms = combine_rooms(series)
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
