"""The ``occupancy_forecasts`` asset: per room, the next bins' occupancy probabilities.

The stage is ``stages.forecasts``: rooms are forecast per group through the ``engine``.
"""

from dagster import (
    AssetDep,
    AssetExecutionContext,
    BackfillPolicy,
    MaterializeResult,
    MetadataValue,
    TimeWindowPartitionMapping,
    asset,
)

from snuk_assets.assets.buildings import building_runs, combined_metadata
from snuk_assets.assets.metadata import table_metadata
from snuk_assets.engines import ComputeEngine
from snuk_assets.partitions import cross_building_mapping, pipeline_mapping, pipeline_partitions
from snuk_assets.settings import SnukSettings
from snuk_assets.stages.forecasts import (
    forecast_days,
    rooms_borrowing,
    rooms_free_ahead,
    rooms_skipped,
)


@asset(
    deps=[
        # A portfolio's room without a model of its own borrows another building's (cold start).
        AssetDep("occupancy_models", partition_mapping=cross_building_mapping()),
        AssetDep(
            "room_series",
            partition_mapping=pipeline_mapping(TimeWindowPartitionMapping(start_offset=-1)),
        ),
    ],
    partitions_def=pipeline_partitions,
    backfill_policy=BackfillPolicy.single_run(),
    group_name="forecasts",
    kinds={"delta"},
)
def occupancy_forecasts(
    context: AssetExecutionContext, settings: SnukSettings, engine: ComputeEngine
) -> MaterializeResult:
    """Per room, the probability of occupancy for each of the next bins after the day's end."""
    by_building = {}
    for building, scoped, days in building_runs(settings, context.partition_keys):
        result = forecast_days(engine, scoped, days)
        summary = result.summary
        for room_day, reason in rooms_skipped(summary).items():
            context.log.warning(f"{building} {room_day}: no forecast: {reason}")
        by_building[building] = {
            **table_metadata(result.write),
            "rooms_forecast": int(summary["reason"].isna().sum()),
            "rooms_free_ahead": MetadataValue.json(rooms_free_ahead(summary)),
            "rooms_skipped": MetadataValue.json(rooms_skipped(summary)),
            "models_borrowed": MetadataValue.json(rooms_borrowing(summary)),
        }
    return MaterializeResult(metadata=combined_metadata(by_building))
