"""The ``occupancy_models`` asset: per room and training day, a forest over the trailing days.

Each room trains on the feature windows of the ``train_days`` days ending at the partition day
(fewer at the start of the calendar), scored on the span's last part against two baselines.
Rooms train in parallel (one per group) through the ``engine`` resource.
"""

import datetime as dt
import functools

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

from snuk_assets.engines import TARGET_DATE, ComputeEngine, StageResult
from snuk_assets.partitions import daily_partitions, partition_dates
from snuk_assets.settings import SnukSettings
from snuk_assets.transforms.models.training import TrainingParams, train_room

MAX_TRAIN_DAYS = 28


class TrainingConfig(Config):
    """Forest size, training window, and the held-out share: ``test_blocks`` blocks of
    ``test_fraction`` each, scored walking forward."""

    train_days: int = MAX_TRAIN_DAYS
    min_days: int = 3
    test_fraction: float = 0.2
    test_blocks: int = 3
    n_estimators: int = 60
    max_depth: int = 8
    seed: int = 0


@asset(
    deps=[
        AssetDep(
            "feature_windows",
            partition_mapping=TimeWindowPartitionMapping(
                start_offset=-(MAX_TRAIN_DAYS - 1), allow_nonexistent_upstream_partitions=True
            ),
        )
    ],
    partitions_def=daily_partitions,
    backfill_policy=BackfillPolicy.single_run(),
    group_name="models",
    kinds={"delta", "sklearn"},
)
def occupancy_models(
    context: AssetExecutionContext,
    config: TrainingConfig,
    settings: SnukSettings,
    engine: ComputeEngine,
) -> MaterializeResult:
    """Per room, a multi-horizon random forest (skops bytes) and its held-out scores."""
    days = partition_dates(context.partition_keys)
    result = train_rooms(engine, settings, days, config)
    summary = result.summary.sort_values(["date", "room_id"])
    for day in days:
        rooms = summary[summary["date"] == day]
        if rooms.empty:
            context.log.warning(f"{day}: no feature windows in the last {config.train_days} days")
        else:
            trained = int((rooms["status"] == "trained").sum())
            context.log.info(f"{day}: {trained} of {len(rooms)} rooms trained")
    skipped = {
        f"{r.date} {r.room_id}": r.reason for r in summary.itertuples() if r.status != "trained"
    }
    return MaterializeResult(
        metadata={
            "dagster/row_count": result.write.rows,
            "rooms_trained": result.write.rows - len(skipped),
            "rooms_skipped": MetadataValue.json(skipped),
            "serialization": "skops.io (loaded with an explicit allow-list of types)",
            "table_uri": MetadataValue.path(result.write.table_uri),
            "delta_version": result.write.version,
        }
    )


def train_rooms(
    engine: ComputeEngine, settings: SnukSettings, days: list[dt.date], config: TrainingConfig
) -> StageResult:
    """Replace ``occupancy_models`` for training ``days``, one room and day per group.

    Each day's rooms train on the feature windows of the ``config.train_days`` days ending
    that day (those that exist).
    """
    if not 1 <= config.train_days <= MAX_TRAIN_DAYS:
        raise ValueError(f"train_days must be 1 .. {MAX_TRAIN_DAYS}, not {config.train_days}")
    params = TrainingParams(
        n_estimators=config.n_estimators,
        max_depth=config.max_depth,
        test_fraction=config.test_fraction,
        test_blocks=config.test_blocks,
        min_days=config.min_days,
        seed=config.seed,
        timezone=settings.registry().timezone,
        freq=settings.bin_freq,
    )
    return engine.transform_partitions(
        settings.lakehouse(),
        source="feature_windows",
        source_dates={
            day: [day - dt.timedelta(days=n) for n in range(config.train_days)] for day in days
        },
        key="room_id",
        fn=functools.partial(train_room_of_day, params=params),
        output_schema=SCHEMA,
        summary_schema=SUMMARY_SCHEMA,
        target="occupancy_models",
        target_dates=days,
        missing_ok=True,
        parallel=True,  # a forest takes seconds per room
    )


def train_room_of_day(
    windows: pd.DataFrame, *, params: TrainingParams
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """One room's windows of one training day's span (``target_date``) to its model row.

    Returns the ``SCHEMA`` row (``train_room``'s, dated by the training day) and a summary
    row: ``date``, ``room_id``, ``status``, ``reason``.
    """
    day = windows[TARGET_DATE].iloc[0]
    model = train_room(windows.drop(columns=[TARGET_DATE]), params).assign(date=day)
    return model, model[SUMMARY_SCHEMA.names]


def read_models(lakehouse, dates, *, columns=None) -> pd.DataFrame | None:
    """Rows of ``occupancy_models`` for ``dates`` as pandas (None if the table is missing)."""
    models = lakehouse.read("occupancy_models", dates=dates, columns=columns, missing_ok=True)
    if models is None:
        return None
    # DataFusion reads list<string> as list<string_view>, which pandas cannot convert.
    if "feature_names" in models.column_names:
        index = models.schema.get_field_index("feature_names")
        models = models.set_column(
            index, "feature_names", models["feature_names"].cast(pa.list_(pa.string()))
        )
    return models.to_pandas()


MODEL_SCHEMA = pa.schema(
    [
        ("room_id", pa.string()),
        ("status", pa.string()),
        ("reason", pa.string()),
        ("model", pa.binary()),
        ("feature_names", pa.list_(pa.string())),
        ("horizons", pa.list_(pa.int64())),
        ("n_train", pa.int64()),
        ("n_test", pa.int64()),
        ("train_start", pa.timestamp("us", tz="UTC")),
        ("train_end", pa.timestamp("us", tz="UTC")),
        ("test_start", pa.timestamp("us", tz="UTC")),
        ("test_end", pa.timestamp("us", tz="UTC")),
        ("library_versions", pa.string()),
        ("metrics", pa.string()),
    ]
)
SCHEMA = MODEL_SCHEMA.append(pa.field("date", pa.date32()))
SUMMARY_SCHEMA = pa.schema(
    [
        ("date", pa.date32()),
        ("room_id", pa.string()),
        ("status", pa.string()),
        ("reason", pa.string()),
    ]
)
