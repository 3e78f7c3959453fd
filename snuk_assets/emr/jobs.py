"""SNUK's stages as spark-submit entry points (``resources/emr/`` runs ``resample_main`` and
``train_main``), and the same stages on an existing SparkSession.

Each runs the stage function (``snuk_assets.stages``) on a ``SparkEngine`` bound to the
session: the same per-group functions, reads and one-commit writes as ``SNUK_ENGINE=spark``
under Dagster, with the settings the step was given whole (``--settings``, the JSON of
``SnukSettings.to_json``).
"""

from __future__ import annotations

import datetime as dt
import json
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import pandas as pd

from snuk_assets.transforms.models.params import TrainingParams

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

    from snuk_assets.lakehouse import WriteReport
    from snuk_assets.settings import SnukSettings


@dataclass(frozen=True)
class SparkResampleReport:
    """What one Spark resampling run wrote, and its sensors' summary rows."""

    write: WriteReport
    sensors: int
    summary: pd.DataFrame


def resample_on_spark(
    spark: SparkSession, settings: SnukSettings, days: Sequence[dt.date]
) -> SparkResampleReport:
    """Materialize ``resampled_series`` for measurement ``days`` on Spark, in one commit."""
    from snuk_assets.engines.spark import SparkEngine
    from snuk_assets.stages.resample import resample_days

    result = resample_days(SparkEngine.on(spark), settings, list(days))
    summary = result.summary
    return SparkResampleReport(result.write, int(summary["sensor_id"].nunique()), summary)


def train_on_spark(
    spark: SparkSession,
    settings: SnukSettings,
    days: Sequence[dt.date],
    params: TrainingParams = TrainingParams(),  # noqa: B008 (frozen, so shared safely)
) -> WriteReport:
    """Materialize ``occupancy_models`` for training ``days`` on Spark, in one commit.

    One group per training day and room, trained by the stage's own function on the feature
    windows of the ``params.train_days`` days ending that day.
    """
    from snuk_assets.engines.spark import SparkEngine
    from snuk_assets.stages.models import train_rooms

    return train_rooms(SparkEngine.on(spark), settings, list(days), params).write


def resample_main(argv: list[str] | None = None) -> int:
    """``resample_tseries.py``: ``resampled_series`` for ``--start .. --end``."""
    from snuk_assets.emr.entry import (
        day_range_parser,
        parse_day_range,
        require_table,
        settings_from_args,
        step_reporter,
    )
    from snuk_assets.engines.spark_session import spark_session
    from snuk_assets.stages.resample import checks

    parser = day_range_parser("materialize resampled_series for a range of days on Spark")
    parser.add_argument(
        "--report-checks",
        action="store_true",
        help="also report the asset's checks (when its Dagster asset declares them)",
    )
    args, days = parse_day_range(parser, sys.argv[1:] if argv is None else argv)
    settings = settings_from_args(args)
    with step_reporter("resampled_series") as report:
        require_table(
            settings,
            "raw_observations",
            needed_for=f"the arrival days around {days[0]}..{days[-1]}",
        )
        report.info(f"resampling {len(days)} days ({args.start}..{args.end}) from raw_observations")
        spark = spark_session("snuk-resample-tseries")
        try:
            result = resample_on_spark(spark, settings, days)
        finally:
            spark.stop()
        write = result.write
        report.info(f"wrote {write.rows} rows of {result.sensors} sensors, version {write.version}")
        report.materialized(write, sensors=result.sensors)
        if args.report_checks:
            report.checks(checks(result.summary, max_share=settings.max_offline_share))
    return 0


def train_main(argv: list[str] | None = None) -> int:
    """``train_occupancy.py``: ``occupancy_models`` for training days ``--start .. --end``."""
    from snuk_assets.emr.entry import (
        day_range_parser,
        parse_day_range,
        require_table,
        settings_from_args,
        step_reporter,
    )
    from snuk_assets.engines.spark_session import spark_session
    from snuk_assets.stages.models import RUN_CONFIG_FIELDS, params_from_run_config

    parser = day_range_parser("materialize occupancy_models for a range of training days")
    parser.add_argument(
        "--training",
        default="{}",
        help=f"JSON object of training settings ({', '.join(RUN_CONFIG_FIELDS)}); "
        "unset ones keep TrainingParams' defaults",
    )
    args, days = parse_day_range(parser, sys.argv[1:] if argv is None else argv)
    settings = settings_from_args(args)
    values = json.loads(args.training)
    unknown = sorted(set(values) - set(RUN_CONFIG_FIELDS))
    if unknown:
        parser.error(f"--training has unknown fields {unknown}: expected {RUN_CONFIG_FIELDS}")
    params = params_from_run_config(values)
    with step_reporter("occupancy_models") as report:
        require_table(
            settings, "feature_windows", needed_for=f"the {params.train_days} days up to {args.end}"
        )
        report.info(f"training {len(days)} days ({args.start}..{args.end}) on feature_windows")
        spark = spark_session("snuk-train-occupancy")
        try:
            write = train_on_spark(spark, settings, days, params)
        finally:
            spark.stop()
        report.info(f"wrote {write.rows} room models, version {write.version}")
        report.materialized(write)
    return 0
