"""The ``resampled_series`` asset: each sensor's observations as exact, gap-aware regular bins.

Day D's bins need every observation measured on D, wherever it landed (arrival days D .. D+3),
plus each sensor's last observation before midnight and first one after: the arrival days
D-1 .. D+4, declared as a time-window partition mapping so a late file marks exactly the days
it changes as stale.
"""

import datetime as dt

import pandas as pd
import pyarrow as pa
from dagster import (
    AssetCheckResult,
    AssetCheckSeverity,
    AssetCheckSpec,
    AssetDep,
    AssetExecutionContext,
    BackfillPolicy,
    MaterializeResult,
    MetadataValue,
    asset,
)

from snuk_assets.partitions import (
    arrival_days_for,
    daily_partitions,
    measured_day_mapping,
    partition_dates,
)
from snuk_assets.pictures import png_markdown, room_heatmap
from snuk_assets.sensor_types import SENSOR_TYPES
from snuk_assets.settings import SnukSettings
from snuk_assets.transforms.arrivals import latest_arrival_wins, with_sensor_type
from snuk_assets.transforms.resample import resample_observations

RAW_COLUMNS = ["sensor_id", "ts", "value", "date", "source_file"]


@asset(
    deps=[AssetDep("raw_observations", partition_mapping=measured_day_mapping())],
    check_specs=[
        AssetCheckSpec(
            "sensors_mostly_online",
            asset="resampled_series",
            description="No sensor is offline for more than max_offline_share of a day.",
        ),
        AssetCheckSpec(
            "values_in_range",
            asset="resampled_series",
            description="Every bin value lies in its sensor type's plausible range.",
        ),
    ],
    partitions_def=daily_partitions,
    backfill_policy=BackfillPolicy.single_run(),
    group_name="resample",
    kinds={"delta"},
)
def resampled_series(context: AssetExecutionContext, settings: SnukSettings):
    """Per sensor, exact time-weighted bins of each measurement day, with coverage and status."""
    days = partition_dates(context.partition_keys)
    lakehouse = settings.lakehouse()
    arrival_days = arrival_days_for(days)
    raw = lakehouse.read("raw_observations", dates=arrival_days, columns=RAW_COLUMNS)
    observations, arrivals = latest_arrival_wins(raw)
    context.log.info(
        f"{len(days)} days from {raw.num_rows} observations of arrival days "
        f"{arrival_days[0]} .. {arrival_days[-1]}; {arrivals.redelivered} redelivered, "
        f"{arrivals.conflicting} conflicting values resolved (latest arrival wins)"
    )

    start = pd.Timestamp(days[0], tz="UTC")
    end = pd.Timestamp(days[-1] + dt.timedelta(days=1), tz="UTC")
    series = resample_observations(
        with_sensor_type(observations.select(["sensor_id", "ts", "value"])),
        start=start,
        end=end,
        freq=settings.bin_freq,
        max_gap=settings.max_gap_by_type,
    )
    registry = settings.registry()
    series = series.merge(registry.sensors[["sensor_id", "room_id"]], on="sensor_id", how="left")
    series["date"] = series["bin_start"].dt.date
    table = pa.Table.from_pandas(series, schema=SCHEMA, preserve_index=False)
    report = lakehouse.replace_partitions("resampled_series", table, dates=days)

    offline = offline_summary(series)
    silent = sorted(set(registry.sensors["sensor_id"]) - set(series["sensor_id"]))
    if silent:
        context.log.warning(f"{len(silent)} registered sensors sent nothing: {silent[:20]}")
    pictures = {}
    if (series["sensor_type"] == "motion").any():
        title = f"Motion share per room, {days[0]} .. {days[-1]}"
        pictures["motion_by_room"] = MetadataValue.md(
            png_markdown(
                room_heatmap(
                    series[series["sensor_type"] == "motion"],
                    value="value",
                    title=title,
                    label="share of bin with motion",
                ),
                alt="motion share per room and bin",
            )
        )
    yield MaterializeResult(
        metadata={
            **pictures,
            "dagster/row_count": table.num_rows,
            "sensors": int(series["sensor_id"].nunique()),
            "bin_freq": settings.bin_freq,
            "offline_bin_share": float((series["status"] == "offline").mean())
            if len(series)
            else 0.0,
            "status_counts": MetadataValue.json(
                {k: int(v) for k, v in series["status"].value_counts().items()}
            ),
            "offline_sensors": MetadataValue.md(offline),
            "silent_sensors": MetadataValue.json(silent),
            "observations_redelivered": arrivals.redelivered,
            "observations_conflicting": arrivals.conflicting,
            "table_uri": MetadataValue.path(report.table_uri),
            "delta_version": report.version,
        }
    )
    yield offline_check(series, max_share=settings.max_offline_share)
    yield range_check(series)


def offline_check(series: pd.DataFrame, *, max_share: float) -> AssetCheckResult:
    """Warn about sensors offline for more than ``max_share`` of a day."""
    share = (series["status"] == "offline").groupby([series["date"], series["sensor_id"]]).mean()
    worst = share[share > max_share].sort_values(ascending=False)
    return AssetCheckResult(
        check_name="sensors_mostly_online",
        passed=worst.empty,
        severity=AssetCheckSeverity.WARN,
        description=f"{len(worst)} sensor-days offline for more than {max_share:.0%} of the day"
        if len(worst)
        else f"no sensor offline for more than {max_share:.0%} of a day",
        metadata={
            "sensor_days_over_limit": len(worst),
            "worst": MetadataValue.json(
                {
                    f"{day} {sensor}": round(float(v), 3)
                    for (day, sensor), v in worst.head(20).items()
                }
            ),
        },
    )


def range_check(series: pd.DataFrame) -> AssetCheckResult:
    """Every non-null bin value within its type's plausible range (sensor_types.py)."""
    bounds = series["sensor_type"].map(
        {name: (t.min_value, t.max_value) for name, t in SENSOR_TYPES.items()}
    )
    low = bounds.str[0].astype(float)
    high = bounds.str[1].astype(float)
    outside = series["value"].notna() & ((series["value"] < low) | (series["value"] > high))
    return AssetCheckResult(
        check_name="values_in_range",
        passed=not outside.any(),
        metadata={"bins_out_of_range": int(outside.sum())},
    )


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
        ("date", pa.date32()),
    ]
)


def offline_summary(series: pd.DataFrame, *, limit: int = 25) -> str:
    """A markdown table of the sensors with offline bins, the most offline first."""
    per_sensor = (
        series.assign(offline=series["status"] == "offline")
        .groupby(["date", "sensor_id", "room_id"], dropna=False)["offline"]
        .mean()
        .loc[lambda share: share > 0]
        .sort_values(ascending=False)
    )
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
