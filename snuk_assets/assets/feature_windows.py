"""The ``feature_windows`` asset: per room, the supervised windows anchored in each day.

The stage is ``stages.windows``; windows reach into the day before and the day after, hence
the dependency on room_series D-1 .. D+1.
"""

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

from snuk_assets.assets.metadata import table_metadata
from snuk_assets.engines import ComputeEngine
from snuk_assets.partitions import daily_partitions, partition_dates
from snuk_assets.settings import SnukSettings
from snuk_assets.stages.windows import DEFAULT_BSTEPS, DEFAULT_FSTEPS, window_days


class WindowConfig(Config):
    """How far windows look back and ahead, in bins of ``settings.bin_freq``."""

    bsteps: int = DEFAULT_BSTEPS
    fsteps: int = DEFAULT_FSTEPS


@asset(
    deps=[
        AssetDep(
            "room_series",
            partition_mapping=TimeWindowPartitionMapping(
                start_offset=-1, end_offset=1, allow_nonexistent_upstream_partitions=True
            ),
        )
    ],
    partitions_def=daily_partitions,
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
    days = partition_dates(context.partition_keys)
    result = window_days(engine, settings, days, bsteps=config.bsteps, fsteps=config.fsteps)
    dropped = {
        r.room_id: int(r.dropped) for r in result.summary.sort_values("room_id").itertuples()
    }
    return MaterializeResult(
        metadata={
            **table_metadata(result.write),
            "rooms": len(dropped),
            "bsteps": config.bsteps,
            "fsteps": config.fsteps,
            "windows_dropped": sum(dropped.values()),
            "windows_dropped_by_room": MetadataValue.json(dropped),
            "dropped_why": "a feature or target bin is offline or missing (never imputed)",
        }
    )
