"""The ``feature_windows`` asset: per room, the supervised windows anchored in each day.

A window anchored at the day's first bin looks back into the previous day and one anchored at
its last bin forward into the next day's first hour, hence the dependency on room_series
D-1 .. D+1 (the next day may not exist yet: those last windows are then left out).
"""

import datetime as dt

import pandas as pd
import pyarrow as pa
from dagster import (
    AssetDep,
    AssetExecutionContext,
    BackfillPolicy,
    Config,
    MaterializeResult,
    MetadataValue,
    TimeWindowPartitionMapping,
    asset,
)

from snuk_assets.partitions import daily_partitions, partition_dates
from snuk_assets.settings import SnukSettings
from snuk_assets.transforms.rooms import SIGNAL_COLUMNS, SIGNALS
from snuk_assets.transforms.windows import CALENDAR_COLUMNS, label_name, lag_name, room_windows


class WindowConfig(Config):
    """How far windows look back and ahead, in bins of ``settings.bin_freq``."""

    bsteps: int = 12
    fsteps: int = 12


@asset(
    deps=[
        AssetDep(
            "room_series",
            partition_mapping=TimeWindowPartitionMapping(
                start_offset=-1, end_offset=1, allow_nonexistent_upstream_partitions=True
            ),
        )
    ],
    partitions_def=daily_partitions,
    backfill_policy=BackfillPolicy.single_run(),
    group_name="features",
    kinds={"delta"},
)
def feature_windows(
    context: AssetExecutionContext, config: WindowConfig, settings: SnukSettings
) -> MaterializeResult:
    """Per room, lagged signals and calendar of each anchor bin, with occupied labels ahead."""
    days = partition_dates(context.partition_keys)
    lakehouse = settings.lakehouse()
    span = [days[0] - dt.timedelta(days=1), *days, days[-1] + dt.timedelta(days=1)]
    rooms = lakehouse.read("room_series", dates=span, missing_ok=True)
    rooms = rooms.to_pandas() if rooms is not None else pd.DataFrame(columns=["room_id"])
    registry = settings.registry()
    signals_of = registry.sensors.groupby("room_id")["sensor_type"].agg(set)
    anchors = pd.date_range(
        pd.Timestamp(days[0], tz="UTC"),
        pd.Timestamp(days[-1] + dt.timedelta(days=1), tz="UTC"),
        freq=settings.bin_freq,
        inclusive="left",
    )
    frames, dropped = [], {}
    for room_id, room in rooms.groupby("room_id"):
        types = signals_of.get(room_id, set())
        if "motion" not in types:
            continue
        signals = [column for sensor_type, (column, _) in SIGNALS.items() if sensor_type in types]
        windows = room_windows(
            room,
            signals=signals,
            bsteps=config.bsteps,
            fsteps=config.fsteps,
            freq=settings.bin_freq,
            timezone=registry.timezone,
            anchors=anchors,
        )
        dropped[room_id] = windows.dropped
        frame = pd.concat([windows.features, windows.targets], axis=1)
        frames.append(frame.rename_axis("bin_start").reset_index().assign(room_id=room_id))
    schema = window_schema(config.bsteps, config.fsteps)
    table = _to_table(frames, schema)
    report = lakehouse.replace_partitions("feature_windows", table, dates=days)
    return MaterializeResult(
        metadata={
            "dagster/row_count": table.num_rows,
            "rooms": len(frames),
            "bsteps": config.bsteps,
            "fsteps": config.fsteps,
            "windows_dropped": sum(dropped.values()),
            "windows_dropped_by_room": MetadataValue.json(dropped),
            "dropped_why": "a feature or target bin is offline or missing (never imputed)",
            "table_uri": MetadataValue.path(report.table_uri),
            "delta_version": report.version,
        }
    )


def window_schema(bsteps: int, fsteps: int) -> pa.Schema:
    """Columns of ``feature_windows``: every signal's lags (null if the room lacks it)."""
    lags = [lag_name(column, lag) for column in SIGNAL_COLUMNS for lag in range(-(bsteps - 1), 1)]
    return pa.schema(
        [
            ("room_id", pa.string()),
            ("bin_start", pa.timestamp("us", tz="UTC")),
            *((name, pa.float64()) for name in [*lags, *CALENDAR_COLUMNS]),
            *((label_name(step), pa.int64()) for step in range(1, fsteps + 1)),
            ("date", pa.date32()),
        ]
    )


def _to_table(frames: list[pd.DataFrame], schema: pa.Schema) -> pa.Table:
    if not frames:
        return schema.empty_table()
    windows = pd.concat(frames, ignore_index=True)
    windows["date"] = windows["bin_start"].dt.date
    windows = windows.reindex(columns=schema.names)
    return pa.Table.from_pandas(windows, schema=schema, preserve_index=False)
