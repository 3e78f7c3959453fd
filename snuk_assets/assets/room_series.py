"""The ``room_series`` asset: each room's bins, its motion and climate sensors combined.

The stage is ``stages.rooms``; the metadata comes from each room's summary rows.
"""

import datetime as dt

from dagster import AssetExecutionContext, BackfillPolicy, MaterializeResult, MetadataValue, asset

from snuk_assets.assets.buildings import building_runs, combined_metadata
from snuk_assets.assets.metadata import table_metadata
from snuk_assets.engines import ComputeEngine
from snuk_assets.partitions import pipeline_partitions
from snuk_assets.pictures import png_markdown, room_heatmap
from snuk_assets.settings import SnukSettings
from snuk_assets.stages.rooms import combine_days


@asset(
    deps=["resampled_series"],
    partitions_def=pipeline_partitions,
    backfill_policy=BackfillPolicy.single_run(),
    group_name="features",
    kinds={"delta"},
)
def room_series(
    context: AssetExecutionContext, settings: SnukSettings, engine: ComputeEngine
) -> MaterializeResult:
    """Per room and bin: occupancy (max motion ON share), mean climate, and their coverage."""
    return MaterializeResult(
        metadata=combined_metadata(
            {
                building: _building_metadata(engine, scoped, days)
                for building, scoped, days in building_runs(settings, context.partition_keys)
            }
        )
    )


def _building_metadata(
    engine: ComputeEngine, settings: SnukSettings, days: list[dt.date]
) -> dict[str, object]:
    result = combine_days(engine, settings, days)
    summary = result.summary
    per_room = summary.groupby("room_id")[["bins", "no_motion"]].sum()
    no_motion = per_room["no_motion"] / per_room["bins"]
    bins = int(summary["bins"].sum())
    pictures = {}
    if bins:
        heatmap = room_heatmap(
            summary.rename(columns={"picture_bin": "bin_start"}),
            value="occupancy",
            title=f"Occupancy per room, {days[0]} .. {days[-1]}",
            label="occupied share of bin (blank: no motion coverage)",
        )
        pictures["occupancy_by_room"] = MetadataValue.md(
            png_markdown(heatmap, alt="occupancy per room and bin")
        )
    return {
        **pictures,
        **table_metadata(result.write),
        "rooms": int(summary["room_id"].nunique()),
        "occupied_bin_share": int(summary["occupied"].sum()) / bins if bins else 0.0,
        "bins_without_motion_coverage": MetadataValue.json(
            {room: round(float(share), 4) for room, share in no_motion.items() if share > 0}
        ),
        "occupancy_estimator": "max over the room's motion sensors of the ON share "
        "(a lower bound of the union)",
    }
