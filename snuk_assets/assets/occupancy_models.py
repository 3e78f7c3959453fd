"""The ``occupancy_models`` asset: per room and training day, a forest over the trailing days.

The stage is ``stages.models``; the run config (``TrainingConfig``) is built from
``TrainingParams``' fields, so each training setting is defined once.
"""

import typing

import pydantic
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

from snuk_assets.assets.buildings import building_runs, combined_metadata
from snuk_assets.assets.metadata import table_metadata
from snuk_assets.engines import ComputeEngine
from snuk_assets.partitions import pipeline_mapping, pipeline_partitions
from snuk_assets.settings import SnukSettings
from snuk_assets.stages.models import (
    MAX_TRAIN_DAYS,
    RUN_CONFIG_TYPES,
    params_from_run_config,
    run_config_values,
    train_rooms,
)
from snuk_assets.transforms.models.params import TrainingParams

_HINTS = typing.get_type_hints(TrainingParams)
TrainingConfig: type[Config] = pydantic.create_model(
    "TrainingConfig",
    __base__=Config,
    __doc__="Training window, forest size, the held-out share (``test_blocks`` blocks of "
    "``test_fraction`` each, scored walking forward) and the features: ``feature_lags`` maps "
    "each room_series signal the models see to its lags, e.g. ``{occupancy: null, "
    "idle_minutes: 3, co2: 3}`` (``TrainingParams``' fields and defaults).",
    **{
        name: (RUN_CONFIG_TYPES.get(name, _HINTS[name]), default)
        for name, default in run_config_values(TrainingParams()).items()
    },
)


@asset(
    deps=[
        AssetDep(
            "feature_windows",
            partition_mapping=pipeline_mapping(
                TimeWindowPartitionMapping(
                    start_offset=-(MAX_TRAIN_DAYS - 1), allow_nonexistent_upstream_partitions=True
                )
            ),
        )
    ],
    partitions_def=pipeline_partitions,
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
    params = params_from_run_config(config.model_dump())
    by_building = {}
    for building, scoped, days in building_runs(settings, context.partition_keys):
        result = train_rooms(engine, scoped, days, params)
        summary = result.summary.sort_values(["date", "room_id"])
        for day in days:
            rooms = summary[summary["date"] == day]
            if rooms.empty:
                context.log.warning(
                    f"{building} {day}: no feature windows in the last {config.train_days} days"
                )
            else:
                trained = int((rooms["status"] == "trained").sum())
                context.log.info(f"{building} {day}: {trained} of {len(rooms)} rooms trained")
        skipped = {
            f"{r.date} {r.room_id}": r.reason for r in summary.itertuples() if r.status != "trained"
        }
        by_building[building] = {
            **table_metadata(result.write),
            "rooms_trained": result.write.rows - len(skipped),
            "rooms_skipped": MetadataValue.json(skipped),
            "serialization": "skops.io (loaded with an explicit allow-list of types)",
        }
    return MaterializeResult(metadata=combined_metadata(by_building))
