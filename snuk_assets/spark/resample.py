"""``resampled_series`` on Spark: the same pure transforms as the asset, one sensor per group.

Each sensor's observations from the arrival days that measurement days need are resolved
(latest arrival wins) and resampled in one pandas call per sensor, on the executors; the driver
joins the rooms and commits the days through delta-rs. The result equals the asset's rows.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import partial
from typing import TYPE_CHECKING

import pandas as pd
import pyarrow as pa

from snuk_assets.transforms.arrivals import latest_arrival_wins, with_sensor_type
from snuk_assets.transforms.resample import resample_observations

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession

    from snuk_assets.lakehouse import WriteReport
    from snuk_assets.settings import SnukSettings

RAW_COLUMNS = ["sensor_id", "ts", "value", "date", "source_file"]
# What the per-sensor function returns: the table's columns except room_id, joined later.
SENSOR_SERIES_DDL = (
    "sensor_id string, sensor_type string, bin_start timestamp, value double, "
    "coverage double, n_obs long, status string, date date"
)


@dataclass(frozen=True)
class SparkResampleReport:
    """What one Spark resampling run wrote."""

    write: WriteReport
    sensors: int


def resample_sensor(
    raw: pd.DataFrame,
    *,
    start: pd.Timestamp,
    end: pd.Timestamp,
    freq: str,
    max_gap: Mapping[str, pd.Timedelta],
) -> pd.DataFrame:
    """One sensor's raw rows (``RAW_COLUMNS``) to its bins over ``[start, end)`` with ``date``.

    Runs on the executors, once per ``sensor_id``; the rule and the bins are exactly the
    asset's, because it calls the same transforms on the same rows.
    """
    table = pa.Table.from_pandas(raw[RAW_COLUMNS], preserve_index=False)
    observations, _ = latest_arrival_wins(table)
    series = resample_observations(
        with_sensor_type(observations.select(["sensor_id", "ts", "value"])),
        start=start,
        end=end,
        freq=freq,
        max_gap=max_gap,
    )
    series["date"] = series["bin_start"].dt.date
    return series


def resampled_series_frame(
    spark: SparkSession, settings: SnukSettings, days: Sequence[dt.date]
) -> DataFrame:
    """The ``resampled_series`` rows of measurement ``days``, lazily: ``SCHEMA``'s columns."""
    from pyspark.sql import functions as F

    from snuk_assets.partitions import arrival_days_for
    from snuk_assets.spark.delta_io import read_partitions

    days = sorted(set(days))
    raw = read_partitions(
        spark,
        settings.lakehouse(),
        "raw_observations",
        dates=arrival_days_for(days),
        columns=RAW_COLUMNS,
    )
    per_sensor = partial(
        resample_sensor,
        start=pd.Timestamp(days[0], tz="UTC"),
        end=pd.Timestamp(days[-1] + dt.timedelta(days=1), tz="UTC"),
        freq=settings.bin_freq,
        max_gap=settings.max_gap_by_type,
    )
    series = raw.groupBy("sensor_id").applyInPandas(per_sensor, schema=SENSOR_SERIES_DDL)
    rooms = spark.createDataFrame(settings.registry().sensors[["sensor_id", "room_id"]])
    return series.join(F.broadcast(rooms), on="sensor_id", how="left")


def resample_on_spark(
    spark: SparkSession, settings: SnukSettings, days: Sequence[dt.date]
) -> SparkResampleReport:
    """Materialize ``resampled_series`` for measurement ``days`` on Spark, in one commit."""
    # The asset module imports Dagster; only the driver needs its schema.
    from snuk_assets.assets.resampled_series import SCHEMA
    from snuk_assets.spark.delta_io import replace_partitions

    series = resampled_series_frame(spark, settings, days)
    series = series.cache()
    try:
        sensors = series.select("sensor_id").distinct().count()
        report = replace_partitions(
            series, settings.lakehouse(), "resampled_series", dates=days, schema=SCHEMA
        )
    finally:
        series.unpersist()
    return SparkResampleReport(write=report, sensors=sensors)
