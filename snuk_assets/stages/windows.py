"""Feature windows: per room, the supervised windows anchored in each day.

A window anchored at the day's first bin looks back into the previous day and one anchored at
its last bin forward into the next day's first hour, so each room reads room_series D-1 .. D+1
(the next day may not exist yet: those last windows are then left out). Rooms are windowed one
per group through the engine (``transforms.windows.room_windows``).

The labels ``occupied_t+k`` are the ``occupancy_estimate``'s (estimate >= 0.5), with the motion
label's beside them (``motion_label_t+k``: room_series occupancy > 0) for comparison; the
estimates of D-1 .. D+1 are read on the driver and travel with the group function, as the
models do in ``stages.forecasts``. Without an ``occupancy_estimate`` table the labels are the
motion label's, as before the estimate existed (``labels_from`` says which).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from functools import partial
from typing import TYPE_CHECKING

import pandas as pd
import pyarrow as pa

from snuk_assets.stages.rooms import room_types
from snuk_assets.transforms.holidays import HolidayCalendar
from snuk_assets.transforms.rooms import (
    WINDOWED_COLUMNS,
    further_columns,
    has_occupancy,
    windowed_columns,
)
from snuk_assets.transforms.windows import (
    CALENDAR_COLUMNS,
    label_name,
    lag_name,
    motion_label_name,
    room_windows,
)

if TYPE_CHECKING:
    from snuk_assets.engines import ComputeEngine, StageResult
    from snuk_assets.lakehouse import Lakehouse
    from snuk_assets.settings import SnukSettings

# How far windows look back and ahead by default, in bins of ``settings.bin_freq``.
DEFAULT_BSTEPS = 12
DEFAULT_FSTEPS = 12
ESTIMATE_LABELS = "occupancy_estimate (estimate >= 0.5)"
MOTION_LABELS = "motion label (no occupancy_estimate table)"


def window_days(
    engine: ComputeEngine, settings: SnukSettings, days: list[dt.date], *, bsteps: int, fsteps: int
) -> StageResult:
    """Replace ``feature_windows`` for anchor ``days``, one room per group.

    Each room reads room_series of the day before through the day after (when it exists).
    Beside the ``WINDOWED_COLUMNS`` its sensors give, a room's windows carry the lags of its
    further types (``co2``, ...; NaN where missing), for a training that asks for them
    (``TrainingParams.feature_lags``).
    """
    registry = settings.registry()
    source_dates = [days[0] - dt.timedelta(days=1), *days, days[-1] + dt.timedelta(days=1)]
    estimates = room_estimates(settings.lakehouse(), source_dates)
    signals_of = registry.sensors.groupby("room_id")["sensor_type"].agg(set)
    counted = {room_id: types for room_id, types in signals_of.items() if has_occupancy(types)}
    per_room = partial(
        room_day_windows,
        signals={room_id: windowed_columns(types) for room_id, types in counted.items()},
        optional_signals={
            room_id: further_columns(sorted(types)) for room_id, types in counted.items()
        },
        bsteps=bsteps,
        fsteps=fsteps,
        estimates=estimates,
        freq=settings.bin_freq,
        timezone=registry.timezone,
        holidays=registry.holiday_calendar(),
        anchors=pd.date_range(
            pd.Timestamp(days[0], tz="UTC"),
            pd.Timestamp(days[-1] + dt.timedelta(days=1), tz="UTC"),
            freq=settings.bin_freq,
            inclusive="left",
        ),
    )
    return engine.transform_partitions(
        settings.lakehouse(),
        source="room_series",
        source_dates=source_dates,
        key="room_id",
        fn=per_room,
        output_schema=window_schema(bsteps, fsteps, further_columns(room_types(registry))),
        summary_schema=SUMMARY_SCHEMA,
        target="feature_windows",
        target_dates=days,
        missing_ok=True,
    )


def labels_from(lakehouse: Lakehouse) -> str:
    """Where ``window_days``' labels come from: the estimate, or the motion label without it."""
    return ESTIMATE_LABELS if lakehouse.exists("occupancy_estimate") else MOTION_LABELS


def room_estimates(lakehouse: Lakehouse, dates: list[dt.date]) -> dict[str, pd.Series] | None:
    """Per room, its ``occupancy_estimate`` by ``bin_start`` on ``dates`` (None: no table)."""
    table = lakehouse.read(
        "occupancy_estimate",
        dates=dates,
        columns=["room_id", "bin_start", "estimate"],
        missing_ok=True,
    )
    if table is None:
        return None
    frame = table.to_pandas()
    return {
        room_id: rows.set_index("bin_start")["estimate"]
        for room_id, rows in frame.groupby("room_id", sort=True)
    }


def room_day_windows(
    room: pd.DataFrame,
    *,
    signals: Mapping[str, list[str]],
    bsteps: int,
    fsteps: int,
    freq: str,
    timezone: str,
    anchors: pd.DatetimeIndex,
    holidays: HolidayCalendar,
    optional_signals: Mapping[str, list[str]] | None = None,
    estimates: Mapping[str, pd.Series] | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """One room's ``room_series`` rows to its windows anchored at ``anchors``, and a summary.

    ``signals`` maps each room with a motion sensor or a people counter to the signal
    columns it has; other rooms have no windows (no occupancy to learn). ``optional_signals``
    maps a room to further columns whose lags its windows carry without needing them
    complete. ``holidays``: the building's (or the dataset's), for the ``working_day`` feature;
    no default, so no caller gets Berlin's by omission. ``estimates``: per room, its
    ``occupancy_estimate`` by bin, the labels' source (None: the motion label's; a room or bin
    without one has no windows). The summary row counts the anchors dropped.
    """
    room_id = room["room_id"].iloc[0]
    if room_id not in signals:
        return pd.DataFrame(), pd.DataFrame(columns=SUMMARY_SCHEMA.names)
    label_column = None
    if estimates is not None:
        label_column = "estimate"
        estimate = estimates.get(room_id, pd.Series(dtype=float))
        room = room.assign(estimate=room["bin_start"].map(estimate))
    windows = room_windows(
        room,
        signals=signals[room_id],
        bsteps=bsteps,
        fsteps=fsteps,
        freq=freq,
        timezone=timezone,
        anchors=anchors,
        optional_signals=(optional_signals or {}).get(room_id, []),
        holidays=holidays,
        label_column=label_column,
    )
    frame = pd.concat([windows.features, windows.targets], axis=1)
    frame = frame.rename_axis("bin_start").reset_index().assign(room_id=room_id)
    frame["date"] = frame["bin_start"].dt.date
    return frame, pd.DataFrame({"room_id": [room_id], "dropped": [windows.dropped]})


def window_schema(bsteps: int, fsteps: int, further: list[str] = ()) -> pa.Schema:
    """Columns of ``feature_windows``: every signal's lags (null if the room lacks it), the
    ``WINDOWED_COLUMNS`` and then the ``further`` types', the labels and the motion labels
    (null where the labels are the motion label's)."""
    signals = [*WINDOWED_COLUMNS, *further]
    lags = [lag_name(column, lag) for column in signals for lag in range(-(bsteps - 1), 1)]
    return pa.schema(
        [
            ("room_id", pa.string()),
            ("bin_start", pa.timestamp("us", tz="UTC")),
            *((name, pa.float64()) for name in [*lags, *CALENDAR_COLUMNS]),
            *((label_name(step), pa.int64()) for step in range(1, fsteps + 1)),
            *((motion_label_name(step), pa.int64()) for step in range(1, fsteps + 1)),
            ("date", pa.date32()),
        ]
    )


# Per room with a motion sensor: the anchors left out (a bin offline or missing).
SUMMARY_SCHEMA = pa.schema([("room_id", pa.string()), ("dropped", pa.int64())])
