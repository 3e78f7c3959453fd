"""The ``feature_windows`` asset: per room, the supervised windows anchored in each day.

The stage is ``stages.windows``; windows reach into the day before and the day after, hence
the dependency on room_series D-1 .. D+1, and on occupancy_estimate D-1 .. D+1 (the labels).
"""

from dagster import (
    AssetDep,
    AssetExecutionContext,
    BackfillPolicy,
    Config,
    MaterializeResult,
    MetadataValue,
    PartitionMapping,
    TimeWindowPartitionMapping,
    asset,
)

from snuk_assets.assets.buildings import building_runs, combined_metadata
from snuk_assets.assets.metadata import table_metadata
from snuk_assets.engines import ComputeEngine
from snuk_assets.partitions import pipeline_mapping, pipeline_partitions
from snuk_assets.settings import SnukSettings
from snuk_assets.stages.windows import (
    DEFAULT_BSTEPS,
    DEFAULT_FSTEPS,
    MOTION_LABELS,
    labels_from,
    window_days,
)


class WindowConfig(Config):
    """How far windows look back and ahead, in bins of ``settings.bin_freq``."""

    bsteps: int = DEFAULT_BSTEPS
    fsteps: int = DEFAULT_FSTEPS


def _day_before_to_day_after() -> PartitionMapping | None:
    return pipeline_mapping(
        TimeWindowPartitionMapping(
            start_offset=-1, end_offset=1, allow_nonexistent_upstream_partitions=True
        )
    )


@asset(
    deps=[
        AssetDep("room_series", partition_mapping=_day_before_to_day_after()),
        AssetDep("occupancy_estimate", partition_mapping=_day_before_to_day_after()),
    ],
    partitions_def=pipeline_partitions,
    backfill_policy=BackfillPolicy.single_run(),
    group_name="features",
    kinds={"delta"},
)
def feature_windows(
    context: AssetExecutionContext,
    config: WindowConfig,
    settings: SnukSettings,
    engine: ComputeEngine,
) -> MaterializeResult:
    """Per room, lagged signals and calendar of each anchor bin, with occupied labels ahead."""
    by_building = {}
    for building, scoped, days in building_runs(settings, context.partition_keys):
        labels = labels_from(scoped.lakehouse())
        if labels == MOTION_LABELS:
            context.log.warning(
                f"{building}: no occupancy_estimate table: the labels are the motion label's"
            )
        result = window_days(engine, scoped, days, bsteps=config.bsteps, fsteps=config.fsteps)
        dropped = {
            r.room_id: int(r.dropped) for r in result.summary.sort_values("room_id").itertuples()
        }
        by_building[building] = {
            **table_metadata(result.write),
            "rooms": len(dropped),
            "labels_from": labels,
            "bsteps": config.bsteps,
            "fsteps": config.fsteps,
            "windows_dropped": sum(dropped.values()),
            "windows_dropped_by_room": MetadataValue.json(dropped),
            "dropped_why": "a feature or target bin is offline or missing, or a label bin has "
            "no estimate (never imputed)",
        }
    return MaterializeResult(metadata=combined_metadata(by_building))
