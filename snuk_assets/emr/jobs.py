"""SNUK's stages on an existing SparkSession, for spark-submit entry points (resources/emr/).

Each runs the asset's own stage function on a ``SparkEngine`` bound to the session: the same
per-group functions, reads and one-commit writes as ``SNUK_ENGINE=spark`` under Dagster.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

    from snuk_assets.lakehouse import WriteReport
    from snuk_assets.settings import SnukSettings


@dataclass(frozen=True)
class SparkResampleReport:
    """What one Spark resampling run wrote."""

    write: WriteReport
    sensors: int


def resample_on_spark(
    spark: SparkSession, settings: SnukSettings, days: Sequence[dt.date]
) -> SparkResampleReport:
    """Materialize ``resampled_series`` for measurement ``days`` on Spark, in one commit."""
    # Dagster and delta-rs are imported only when a stage runs (on the driver).
    from snuk_assets.assets.resampled_series import resample_days
    from snuk_assets.engines.spark import SparkEngine

    result = resample_days(SparkEngine.on(spark), settings, list(days))
    return SparkResampleReport(write=result.write, sensors=result.summary["sensor_id"].nunique())


def train_on_spark(
    spark: SparkSession,
    settings: SnukSettings,
    days: Sequence[dt.date],
    *,
    train_days: int = 28,
    min_days: int = 3,
    test_fraction: float = 0.2,
    test_blocks: int = 3,
    n_estimators: int = 60,
    max_depth: int = 8,
    seed: int = 0,
) -> WriteReport:
    """Materialize ``occupancy_models`` for training ``days`` on Spark, in one commit.

    One group per training day and room, trained by the asset's own function on the feature
    windows of the ``train_days`` days ending that day; the keywords are ``TrainingConfig``'s.
    """
    from snuk_assets.assets.occupancy_models import TrainingConfig, train_rooms
    from snuk_assets.engines.spark import SparkEngine

    config = TrainingConfig(
        train_days=train_days,
        min_days=min_days,
        test_fraction=test_fraction,
        test_blocks=test_blocks,
        n_estimators=n_estimators,
        max_depth=max_depth,
        seed=seed,
    )
    return train_rooms(SparkEngine.on(spark), settings, list(days), config).write
