"""The ``occupancy_models`` asset: per room and training day, a forest over the trailing days.

Each room trains on the feature windows of the ``train_days`` days ending at the partition day
(fewer at the start of the calendar), scored on the span's last part against two baselines.
Rooms train in parallel through the ``engine`` resource.
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

from snuk_assets.engines import ComputeEngine
from snuk_assets.partitions import daily_partitions, partition_dates
from snuk_assets.settings import SnukSettings
from snuk_assets.transforms.models import TrainingParams, train_room

MAX_TRAIN_DAYS = 28


class TrainingConfig(Config):
    """Forest size, training window and held-out share."""

    train_days: int = MAX_TRAIN_DAYS
    min_days: int = 3
    test_fraction: float = 0.2
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
    if not 1 <= config.train_days <= MAX_TRAIN_DAYS:
        raise ValueError(f"train_days must be 1 .. {MAX_TRAIN_DAYS}, not {config.train_days}")
    days = partition_dates(context.partition_keys)
    lakehouse = settings.lakehouse()
    params = TrainingParams(
        n_estimators=config.n_estimators,
        max_depth=config.max_depth,
        test_fraction=config.test_fraction,
        min_days=config.min_days,
        seed=config.seed,
        timezone=settings.registry().timezone,
        freq=settings.bin_freq,
    )
    results = []
    for day in days:
        span = [day - dt.timedelta(days=n) for n in range(config.train_days)]
        windows = lakehouse.read("feature_windows", dates=span, missing_ok=True)
        if windows is None or windows.num_rows == 0:
            context.log.warning(f"{day}: no feature windows in the last {config.train_days} days")
            continue
        models = engine.apply_per_group(
            windows.to_pandas(),
            key="room_id",
            fn=functools.partial(train_room, params=params),
            output_schema=MODEL_SCHEMA,
        )
        results.append(models.assign(date=day))
        trained = int((models["status"] == "trained").sum())
        context.log.info(f"{day}: {trained} of {len(models)} rooms trained")
    table = (
        pa.concat_tables(
            [pa.Table.from_pandas(r, schema=SCHEMA, preserve_index=False) for r in results]
        )
        if results
        else SCHEMA.empty_table()
    )
    report = lakehouse.replace_partitions("occupancy_models", table, dates=days)
    skipped = {
        f"{r.date} {r.room_id}": r.reason
        for r in table.select(["date", "room_id", "status", "reason"]).to_pandas().itertuples()
        if r.status != "trained"
    }
    return MaterializeResult(
        metadata={
            "dagster/row_count": table.num_rows,
            "rooms_trained": table.num_rows - len(skipped),
            "rooms_skipped": MetadataValue.json(skipped),
            "serialization": "skops.io (loaded with an explicit allow-list of types)",
            "table_uri": MetadataValue.path(report.table_uri),
            "delta_version": report.version,
        }
    )


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
