"""Resampling: each sensor's raw observations (every arrival day) to exact, gap-aware bins.

Day D's bins need every observation measured on D, wherever it landed (arrival days D ..
D+lateness), plus each sensor's last observation before midnight (up to 3 days before: a motion
report holds through a quiet weekend) and first one after: ``partitions.arrival_days_for``.
Sensors are resampled one per group through the engine; each group also returns its summary
rows (``SUMMARY_SCHEMA``), from which the asset's metadata and checks are computed.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from functools import partial
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
import pyarrow as pa

from snuk_assets.days import arrival_days_for
from snuk_assets.sensor_types import SENSOR_TYPES, SensorCatalog, SensorType
from snuk_assets.transforms.resample.arrivals import (
    ArrivalStats,
    latest_arrival_wins,
    with_sensor_type,
)
from snuk_assets.transforms.resample.bins import STATUSES, resample_observations

if TYPE_CHECKING:
    from snuk_assets.engines import ComputeEngine, StageResult
    from snuk_assets.settings import SnukSettings

RAW_COLUMNS = ["sensor_id", "ts", "value", "date", "source_file"]


def resample_days(
    engine: ComputeEngine, settings: SnukSettings, days: list[dt.date]
) -> StageResult:
    """Replace ``resampled_series`` for measurement ``days``, one sensor per group.

    The metadata comes from each sensor's summary rows (``SUMMARY_SCHEMA``), never from the
    written bins: on Spark those stay on the executors.
    """
    days = sorted(set(days))
    registry = settings.registry()
    per_sensor = partial(
        resample_sensor,
        start=pd.Timestamp(days[0], tz="UTC"),
        end=pd.Timestamp(days[-1] + dt.timedelta(days=1), tz="UTC"),
        freq=settings.bin_freq,
        max_gap=settings.max_gap_by_type,
        max_on=pd.Timedelta(settings.max_on),
        rooms=dict(zip(registry.sensors["sensor_id"], registry.sensors["room_id"], strict=True)),
        catalog=registry.catalog(),
        picture_freq=picture_freq(days, settings.bin_freq),
    )
    return engine.transform_partitions(
        settings.lakehouse(),
        source="raw_observations",
        source_dates=arrival_days_for(days, max_lateness_days=settings.max_lateness_days),
        columns=RAW_COLUMNS,
        key="sensor_id",
        fn=per_sensor,
        output_schema=SCHEMA,
        summary_schema=SUMMARY_SCHEMA,
        target="resampled_series",
        target_dates=days,
    )


def resample_sensor(
    raw: pd.DataFrame,
    *,
    start: pd.Timestamp,
    end: pd.Timestamp,
    freq: str,
    max_gap: Mapping[str, pd.Timedelta],
    max_on: pd.Timedelta,
    rooms: Mapping[str, str],
    picture_freq: str,
    catalog: SensorCatalog | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """One sensor's raw rows (``RAW_COLUMNS``, every arrival day) to its bins and summary.

    Returns the ``SCHEMA`` rows over ``[start, end)`` (``room_id`` from ``rooms``, null for
    an unregistered sensor) and the ``SUMMARY_SCHEMA`` rows of the sensor. The type is the
    registry's (``catalog``), else a gateway id's letter; a sensor with neither has no bins
    (ingest quarantines its rows; only a registry edited since has such rows here).
    """
    catalog = catalog or SensorCatalog()
    table = pa.Table.from_pandas(raw[RAW_COLUMNS], preserve_index=False)
    observations, arrivals = latest_arrival_wins(table)
    typed = with_sensor_type(observations.select(["sensor_id", "ts", "value"]), catalog)
    if typed.num_rows and typed["sensor_type"].null_count == typed.num_rows:
        return pd.DataFrame(columns=SCHEMA.names), pd.DataFrame(columns=SUMMARY_SCHEMA.names)
    series = resample_observations(
        typed,
        start=start,
        end=end,
        freq=freq,
        max_gap=max_gap,
        max_on=max_on,
        sensor_types=catalog.types,
    )
    series["room_id"] = series["sensor_id"].map(rooms)
    series["date"] = series["bin_start"].dt.date
    return series, sensor_summary(
        series, arrivals, picture_freq=picture_freq, sensor_types=catalog.types
    )


def sensor_summary(
    series: pd.DataFrame,
    arrivals: ArrivalStats,
    *,
    picture_freq: str,
    sensor_types: Mapping[str, SensorType] = SENSOR_TYPES,
) -> pd.DataFrame:
    """One sensor's bins counted per ``picture_freq`` interval (``SUMMARY_SCHEMA``).

    ``motion`` is the interval's mean ON share (motion sensors only), for the picture; the
    arrival counts are on the sensor's first row only, so they add up over rows.
    """
    if series.empty:
        return pd.DataFrame(columns=SUMMARY_SCHEMA.names)
    # numpy, not a pandas groupby: this runs once per sensor and must stay cheap.
    width = pd.Timedelta(picture_freq).value
    starts, interval = np.unique(
        pd.DatetimeIndex(series["bin_start"]).asi8 // width * width, return_inverse=True
    )

    def count(flags) -> np.ndarray:
        return np.bincount(interval, weights=flags, minlength=len(starts)).astype(np.int64)

    sensor_type = series["sensor_type"].iloc[0]
    limits = sensor_types[sensor_type]
    value = series["value"].to_numpy(dtype=float)
    status = series["status"].to_numpy(dtype=object)
    with np.errstate(invalid="ignore"):
        out_of_range = (value < limits.min_value) | (value > limits.max_value)
    motion = np.full(len(starts), np.nan)
    if sensor_type == "motion":
        covered = ~np.isnan(value)
        with np.errstate(invalid="ignore", divide="ignore"):
            motion = np.bincount(
                interval, weights=np.where(covered, value, 0.0), minlength=len(starts)
            ) / count(covered)
    picture_bin = pd.DatetimeIndex(starts.astype("datetime64[ns]"), tz="UTC")
    return pd.DataFrame(
        {
            "sensor_id": series["sensor_id"].iloc[0],
            "sensor_type": sensor_type,
            "room_id": series["room_id"].iloc[0],
            "date": picture_bin.date,
            "picture_bin": picture_bin,
            "bins": count(np.ones(len(value))),
            **{name: count(status == name) for name in STATUSES},
            "out_of_range": count(out_of_range),
            "motion": motion,
            "redelivered": np.where(np.arange(len(starts)) == 0, arrivals.redelivered, 0),
            "conflicting": np.where(np.arange(len(starts)) == 0, arrivals.conflicting, 0),
        }
    )


def picture_freq(days: list[dt.date], bin_freq: str) -> str:
    """The picture's time resolution: the bins for a day or two, hours for longer ranges."""
    return bin_freq if len(days) <= 2 else "1h"


def offline_shares(summary: pd.DataFrame) -> pd.Series:
    """The offline share of each day, sensor and room, from summary rows or from the bins."""
    if "bins" not in summary.columns:
        summary = summary.assign(bins=1, offline=summary["status"] == "offline")
    per_day = summary.groupby(["date", "sensor_id", "room_id"], dropna=False)[
        ["offline", "bins"]
    ].sum()
    return per_day["offline"] / per_day["bins"]


def offline_summary(summary: pd.DataFrame, *, limit: int = 25) -> str:
    """A markdown table of the sensors with offline bins, the most offline first."""
    per_sensor = offline_shares(summary).loc[lambda share: share > 0].sort_values(ascending=False)
    if per_sensor.empty:
        return "No sensor was offline."
    lines = ["| day | sensor | room | offline share |", "|---|---|---|---:|"]
    lines += [
        f"| {day} | {sensor} | {room} | {share:.0%} |"
        for (day, sensor, room), share in per_sensor.head(limit).items()
    ]
    if len(per_sensor) > limit:
        lines.append(f"| ... | {len(per_sensor) - limit} more | | |")
    return "\n".join(lines)


@dataclass(frozen=True)
class CheckVerdict:
    """One asset check's outcome, without Dagster: the asset (or a spark-submit step, through
    Pipes) reports it as the check ``name`` of ``resampled_series``."""

    name: str
    passed: bool
    warn_only: bool
    description: str
    metadata: dict[str, object]


def offline_verdict(summary: pd.DataFrame, *, max_share: float) -> CheckVerdict:
    """Are sensors offline for more than ``max_share`` of a day? (a warning, not an error)

    ``summary`` is ``SUMMARY_SCHEMA`` rows, or the bins themselves (``SCHEMA``). The metadata
    names the 20 worst sensor-days (``worst``, as JSON-ready values).
    """
    share = offline_shares(summary).droplevel("room_id")
    worst = share[share > max_share].sort_values(ascending=False)
    return CheckVerdict(
        name="sensors_mostly_online",
        passed=worst.empty,
        warn_only=True,
        description=f"{len(worst)} sensor-days offline for more than {max_share:.0%} of the day"
        if len(worst)
        else f"no sensor offline for more than {max_share:.0%} of a day",
        metadata={
            "sensor_days_over_limit": len(worst),
            "worst": {
                f"{day} {sensor}": round(float(v), 3) for (day, sensor), v in worst.head(20).items()
            },
        },
    )


def range_verdict(summary: pd.DataFrame) -> CheckVerdict:
    """Is every non-null bin value within its type's plausible range (sensor_types.py)?"""
    outside = int(summary["out_of_range"].sum())
    return CheckVerdict(
        name="values_in_range",
        passed=outside == 0,
        warn_only=False,
        description="",
        metadata={"bins_out_of_range": outside},
    )


def checks(summary: pd.DataFrame, *, max_share: float) -> list[CheckVerdict]:
    """Both checks of ``resampled_series``, in the order the asset declares them."""
    return [offline_verdict(summary, max_share=max_share), range_verdict(summary)]


def status_counts(summary: pd.DataFrame) -> dict[str, int]:
    """Bins per status (statuses with none left out)."""
    return {s: int(summary[s].sum()) for s in STATUSES if summary[s].sum()}


SCHEMA = pa.schema(
    [
        ("sensor_id", pa.string()),
        ("sensor_type", pa.string()),
        ("room_id", pa.string()),
        ("bin_start", pa.timestamp("us", tz="UTC")),
        ("value", pa.float64()),
        ("coverage", pa.float64()),
        ("n_obs", pa.int64()),
        ("status", pa.string()),
        ("idle_minutes", pa.float64()),
        ("date", pa.date32()),
    ]
)
# Per sensor and picture interval: bin counts by status, out-of-range bins, the mean motion
# share (motion sensors), and the sensor's arrival counts on its first row.
SUMMARY_SCHEMA = pa.schema(
    [
        ("sensor_id", pa.string()),
        ("sensor_type", pa.string()),
        ("room_id", pa.string()),
        ("date", pa.date32()),
        ("picture_bin", pa.timestamp("us", tz="UTC")),
        ("bins", pa.int64()),
        *((status, pa.int64()) for status in STATUSES),
        ("out_of_range", pa.int64()),
        ("motion", pa.float64()),
        ("redelivered", pa.int64()),
        ("conflicting", pa.int64()),
    ]
)
